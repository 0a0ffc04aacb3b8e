/*
 * prune.c: keeping the store bounded (lib/retention.h) from the loop.
 *
 * A pass (history, ended campaigns, past quota days, expired MX
 * placements) runs every PRUNE_INTERVAL_S: one slice of at most
 * PRUNE_BUDGET items per writer job, the next submitted only when the
 * last has been answered, so admissions and delivery commits queued
 * meanwhile take their turn between two slices.  Each slice's transaction time is kept
 * for its p99 and maximum on GET /metrics.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "conf.h"
#include "log.h"
#include "mannersd.h"
#include "retention.h"
#include "store.h"
#include "util.h"

#define PRUNE_INTERVAL_S	60
#define PRUNE_BUDGET		1000	/* records or states per slice */
#define PRUNE_SAMPLES		1024	/* slice times kept for the p99 */

struct prune {
	struct mannersd		*md;
	struct event		*timer;
	struct retention_cursor	 cur;
	struct retention_result	 pass;	/* this pass so far */
	struct retention_result	 total;	/* since start */
	int			 running;
	double			 times[PRUNE_SAMPLES];
	size_t			 ntimes;
	double			 max;
};

struct prune_job {
	struct wjob		 w;
	struct prune		*p;
	struct conf		*conf;
	int64_t			 now;
	struct retention_cursor	 cur;
	struct retention_result	 res;
	double			 seconds;
	int			 rc;
	char			*cause;
};

static void	prune_next(struct prune *);

static double
prune_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On the writer: one slice in one transaction. */
static void
prune_run(struct wjob *w, struct store *store)
{
	struct prune_job	*j = (struct prune_job *)w;
	struct store_txn	*t = NULL;
	double			 t0 = prune_clock();

	if ((j->rc = store_begin(store, 1, &t, &j->cause)) == 0 &&
	    (j->rc = retention_slice(t, j->conf, j->now, PRUNE_BUDGET,
	    &j->cur, &j->res, &j->cause)) == 0)
		j->rc = store_commit(t, &j->cause);
	else
		store_abort(t);
	j->seconds = prune_clock() - t0;
}

/* Add a slice's counts to a sum. */
static void
prune_add(struct retention_result *to, const struct retention_result *r)
{
	to->records += r->records;
	to->pruned += r->pruned;
	to->ended += r->ended;
	to->campaigns += r->campaigns;
	to->states += r->states;
	to->quota += r->quota;
	to->mx += r->mx;
}

/* On the loop: keep the time, go on with the pass or wait for the next. */
static void
prune_done(struct wjob *w)
{
	struct prune_job	*j = (struct prune_job *)w;
	struct prune		*p = j->p;
	struct timeval		 tv = { PRUNE_INTERVAL_S, 0 };

	p->times[p->ntimes++ % PRUNE_SAMPLES] = j->seconds;
	if (j->seconds > p->max)
		p->max = j->seconds;
	conf_free(j->conf);
	if (j->rc != 0) {
		log_warnx("retention: a slice failed, retrying in %d s: %s",
		    PRUNE_INTERVAL_S, j->cause);
		free(j->cause);
		free(j);
		p->running = 0;
		evtimer_add(p->timer, &tv);
		return;
	}
	p->cur = j->cur;
	prune_add(&p->pass, &j->res);
	free(j);
	if (p->cur.phase != RETENTION_DONE && !p->md->stopping) {
		prune_next(p);
		return;
	}
	if (p->pass.pruned != 0 || p->pass.campaigns != 0)
		log_info("retention: %llu history entries pruned, %llu "
		    "campaigns removed with %llu delivery states",
		    (unsigned long long)p->pass.pruned,
		    (unsigned long long)p->pass.campaigns,
		    (unsigned long long)p->pass.states);
	if (p->pass.quota != 0 || p->pass.mx != 0)
		log_info("retention: %llu past quota days and %llu expired MX "
		    "placements removed", (unsigned long long)p->pass.quota,
		    (unsigned long long)p->pass.mx);
	prune_add(&p->total, &p->pass);
	p->running = 0;
	evtimer_add(p->timer, &tv);
}

/* Hand the next slice to the writer. */
static void
prune_next(struct prune *p)
{
	struct prune_job	*j = xcalloc(1, sizeof *j);

	j->w.run = prune_run;
	j->w.done = prune_done;
	j->p = p;
	j->conf = conf_ref(p->md->conf);
	j->now = mannersd_now();
	j->cur = p->cur;
	writer_submit(p->md->writer, &j->w);
}

/* The timer: start a pass. */
static void
prune_tick(evutil_socket_t fd, short events, void *arg)
{
	struct prune	*p = arg;

	(void)fd;
	(void)events;
	if (p->running || p->md->stopping)
		return;
	memset(&p->cur, 0, sizeof p->cur);
	memset(&p->pass, 0, sizeof p->pass);
	p->running = 1;
	prune_next(p);
}

struct prune *
prune_new(struct mannersd *md)
{
	struct prune	*p = xcalloc(1, sizeof *p);
	struct timeval	 tv = { PRUNE_INTERVAL_S, 0 };

	p->md = md;
	p->timer = evtimer_new(md->base, prune_tick, p);
	evtimer_add(p->timer, &tv);
	return p;
}

void
prune_free(struct prune *p)
{
	if (p == NULL)
		return;
	event_free(p->timer);
	free(p);
}

/* Compare doubles for qsort. */
static int
prune_cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The retention metrics: counts and slice transaction times. */
void
prune_metrics(struct prune *p, struct evbuffer *b)
{
	double	 s[PRUNE_SAMPLES], p99 = 0;
	size_t	 n = p->ntimes < PRUNE_SAMPLES ? p->ntimes : PRUNE_SAMPLES;

	memcpy(s, p->times, n * sizeof *s);
	qsort(s, n, sizeof *s, prune_cmp);
	if (n > 0)
		p99 = s[(n * 99 + 99) / 100 - 1];
	evbuffer_add_printf(b, "# HELP manners_retention_pruned_total History "
	    "entries pruned past the longest cap window\n"
	    "# TYPE manners_retention_pruned_total counter\n"
	    "manners_retention_pruned_total %llu\n"
	    "# HELP manners_retention_campaigns_removed_total Campaigns "
	    "removed after campaign_retention\n"
	    "# TYPE manners_retention_campaigns_removed_total counter\n"
	    "manners_retention_campaigns_removed_total %llu\n"
	    "# HELP manners_retention_quota_pruned_total Quota records of "
	    "past days pruned\n"
	    "# TYPE manners_retention_quota_pruned_total counter\n"
	    "manners_retention_quota_pruned_total %llu\n"
	    "# HELP manners_retention_mx_removed_total MX placements removed "
	    "past their expiry's grace\n"
	    "# TYPE manners_retention_mx_removed_total counter\n"
	    "manners_retention_mx_removed_total %llu\n"
	    "# HELP manners_retention_slice_seconds The writer's transaction "
	    "time per retention slice (last %d slices)\n"
	    "# TYPE manners_retention_slice_seconds summary\n"
	    "manners_retention_slice_seconds{quantile=\"0.99\"} %.6f\n"
	    "manners_retention_slice_seconds{quantile=\"1\"} %.6f\n",
	    (unsigned long long)(p->total.pruned + p->pass.pruned),
	    (unsigned long long)(p->total.campaigns + p->pass.campaigns),
	    (unsigned long long)(p->total.quota + p->pass.quota),
	    (unsigned long long)(p->total.mx + p->pass.mx),
	    PRUNE_SAMPLES, p99, p->max);
}
