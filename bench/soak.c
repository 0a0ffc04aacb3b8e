/*
 * soak.c: a simulated year of a weekly newsletter against libmanners,
 * with a simulated clock (policy and retention take `now`; nothing here
 * feeds them the real one), to show that the store stops growing.
 *
 * Each week: a campaign of -n recipients (most of them the same people
 * every week: a fixed core, and a share that rotates through a bounded
 * pool of others) is admitted, every job due before the next week is
 * delivered (ledger_outcome, in commits of 10,000, as the drain commits
 * groups), and a retention pass runs in slices of 1,000 items.  After
 * every simulated quarter it prints the store's size (LMDB's last page:
 * freed pages are reused, so a flat figure means no growth), the
 * campaigns kept, and the writer's transaction times: admission, delivery
 * commits and retention slices (p99 and max, real time).
 *
 * usage: soak [-n RECIPIENTS] [-w WEEKS] [-r RETENTION] [-d DIR]
 *	-r 0 keeps every campaign, for comparison.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "ledger.h"
#include "retention.h"
#include "store.h"
#include "util.h"

#define WEEK		(7 * 86400)
#define T0		INT64_C(1798761600)	/* 2027-01-01T00:00:00Z */
#define CORE_SHARE	0.9	/* of each campaign: the same people */
#define POOL_FACTOR	2	/* the others rotate through 2x their number */
#define COMMIT_JOBS	10000
#define SLICE_BUDGET	1000

/* Transaction times of one kind, for the p99. */
struct times {
	double		*v;
	size_t		 n, cap;
};

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
times_add(struct times *t, double s)
{
	if (t->n == t->cap) {
		t->cap = t->cap == 0 ? 1024 : t->cap * 2;
		t->v = xreallocarray(t->v, t->cap, sizeof *t->v);
	}
	t->v[t->n++] = s;
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* "p99 X ms, max Y ms" of the times gathered, then forget them. */
static void
times_print(const char *what, struct times *t)
{
	if (t->n == 0)
		return;
	qsort(t->v, t->n, sizeof *t->v, cmp);
	printf("  %-18s %7zu txns, p99 %8.2f ms, max %8.2f ms\n", what, t->n,
	    t->v[(t->n * 99 + 99) / 100 - 1] * 1e3, t->v[t->n - 1] * 1e3);
	t->n = 0;
}

/* The week's document: the core, then this week's share of the pool. */
static char *
soak_doc(int week, size_t n, size_t *len)
{
	struct buf	 b;
	size_t		 core = (size_t)((double)n * CORE_SHARE), rest = n - core;
	size_t		 pool = rest * POOL_FACTOR, i, k;
	char		 t1[32], t2[32];
	time_t		 sa = (time_t)(T0 + (int64_t)week * WEEK);
	time_t		 ex = sa + 6 * 86400;

	strftime(t1, sizeof t1, "%Y-%m-%dT%H:%M:%SZ", gmtime(&sa));
	strftime(t2, sizeof t2, "%Y-%m-%dT%H:%M:%SZ", gmtime(&ex));
	buf_init(&b);
	buf_printf(&b, "<campaign id=\"week-%02d\" list=\"news.example.com\">\n"
	    "<from name=\"Example\">news@example.com</from>\n<subject>Week %d"
	    "</subject>\n<send-after>%s</send-after><expires>%s</expires>\n"
	    "<text>Hi {{name}} {{unsubscribe_url}}</text>\n<recipients>\n",
	    week, week, t1, t2);
	for (i = 0; i < core; i++)
		buf_printf(&b, "<to name=\"Reader %zu\">c%07zu@example.org</to>\n",
		    i, i);
	for (i = 0; i < rest; i++) {
		k = ((size_t)week * rest + i) % pool;
		buf_printf(&b, "<to>p%07zu@example.net</to>\n", k);
	}
	buf_adds(&b, "</recipients>\n</campaign>\n");
	*len = b.len;
	return buf_steal(&b, NULL);
}

/* Admit the week's campaign at its send-after. */
static void
soak_admit(struct store *s, struct conf *conf, int week, size_t n,
    struct times *tt)
{
	struct campaign_error	 err;
	struct campaign		*c = NULL;
	struct admit_report	 rep;
	struct admit_request	 ar;
	struct iovec		 iov;
	char			*doc, *cause = NULL;
	size_t			 len;
	int			 status;
	double			 t0;

	doc = soak_doc(week, n, &len);
	if (campaign_parse(doc, len, n + 1, &c, &err) == -1) {
		fprintf(stderr, "soak: parse: %s\n", err.nproblems ?
		    err.problems[0] : "?");
		exit(1);
	}
	memset(&ar, 0, sizeof ar);
	iov.iov_base = doc;
	iov.iov_len = len;
	ar.store = s;
	ar.conf = conf;
	ar.campaign = c;
	ar.iov = &iov;
	ar.niov = 1;
	ar.now = T0 + (int64_t)week * WEEK;
	t0 = mono();
	if (admit_campaign(&ar, &rep, &status, &cause) == -1) {
		fprintf(stderr, "soak: admit week %d: %d %s\n", week, status,
		    cause);
		exit(1);
	}
	times_add(tt, mono() - t0);
	campaign_free(c);
	free(doc);
}

/* Deliver every job due before `until`, COMMIT_JOBS per transaction. */
static uint64_t
soak_deliver(struct store *s, int64_t until, struct times *tt)
{
	struct store_txn	*t;
	struct store_cursor	*c = NULL;
	struct store_job	*j = xcalloc(COMMIT_JOBS, sizeof *j);
	json_t			*states;
	char			*cause = NULL;
	size_t			 n, i;
	uint64_t		 total = 0;
	double			 t0;

	do {
		t0 = mono();
		if (store_begin(s, 1, &t, &cause) != 0 ||
		    store_queue_first(t, &c, &cause) != 0)
			goto fail;
		for (n = 0; n < COMMIT_JOBS && store_cursor_job(c, &j[n]) ==
		    1 && j[n].due < until; n++)
			store_cursor_next(c);
		store_cursor_close(c);
		states = json_object();
		for (i = 0; i < n; i++)
			if (ledger_outcome(t, &j[i], LEDGER_SENT, NULL,
			    j[i].due, states, &cause) < 0)
				goto fail;
		if (ledger_flush_states(t, states, &cause) < 0 ||
		    store_commit(t, &cause) != 0)
			goto fail;
		json_decref(states);
		times_add(tt, mono() - t0);
		total += n;
	} while (n == COMMIT_JOBS);
	free(j);
	return total;
fail:
	fprintf(stderr, "soak: deliver: %s\n", cause);
	exit(1);
}

/* A whole retention pass at `now`, in slices. */
static void
soak_retain(struct store *s, struct conf *conf, int64_t now,
    struct retention_result *res, struct times *tt)
{
	struct retention_cursor	 cur;
	struct store_txn	*t;
	char			*cause = NULL;
	double			 t0;

	memset(&cur, 0, sizeof cur);
	while (cur.phase != RETENTION_DONE) {
		t0 = mono();
		if (store_begin(s, 1, &t, &cause) != 0 ||
		    retention_slice(t, conf, now, SLICE_BUDGET, &cur, res,
		    &cause) != 0 || store_commit(t, &cause) != 0) {
			fprintf(stderr, "soak: retention: %s\n", cause);
			exit(1);
		}
		times_add(tt, mono() - t0);
	}
}

/* remove(3) for nftw. */
static int
rm(const char *p, const struct stat *st, int f, struct FTW *w)
{
	(void)st;
	(void)f;
	(void)w;
	return remove(p);
}

/* The campaigns the store holds. */
static size_t
soak_campaigns(struct store *s)
{
	struct store_txn	*t;
	json_t			*ids = NULL;
	size_t			 n = 0;

	if (store_begin(s, 0, &t, NULL) == 0 &&
	    store_campaign_list(t, &ids, NULL) == 0)
		n = json_array_size(ids);
	json_decref(ids);
	store_abort(t);
	return n;
}

/* One quarter's line: the store's size and what the writer spent. */
static void
soak_quarter(struct store *s, int week, const struct retention_result *rr,
    struct times tt[3])
{
	uint64_t	 map, used;

	store_usage(s, &map, &used);
	printf("quarter %d (after week %d): store %.1f MiB, %zu campaigns; "
	    "history pruned %llu, campaigns removed %llu (%llu delivery "
	    "states)\n", (week + 1) / 13, week + 1, (double)used / 1048576.0,
	    soak_campaigns(s), (unsigned long long)rr->pruned,
	    (unsigned long long)rr->campaigns,
	    (unsigned long long)rr->states);
	times_print("admission", &tt[0]);
	times_print("delivery commits", &tt[1]);
	times_print("retention slices", &tt[2]);
	fflush(stdout);
}

int
main(int argc, char **argv)
{
	struct retention_result	 rr;
	struct times		 tt[3];
	struct store		*s = NULL;
	struct conf		*conf = NULL;
	char			 dir[] = "/tmp/manners-soak.XXXXXX", *text;
	char			*cause = NULL, *retention = "180d";
	size_t			 n = 200000;
	int			 ch, weeks = 52, w;

	while ((ch = getopt(argc, argv, "n:w:r:")) != -1) {
		if (ch == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (ch == 'w')
			weeks = atoi(optarg);
		else if (ch == 'r')
			retention = optarg;
		else {
			fprintf(stderr, "usage: soak [-n RECIPIENTS] "
			    "[-w WEEKS] [-r RETENTION]\n");
			return 2;
		}
	}
	xasprintf(&text, "[daemon]\ncampaign_retention = %s\nmax_recipients = "
	    "%zu\n[caps]\nper_recipient = 4/30d\nmin_gap = 2d\n", retention,
	    n + 1);
	if (conf_parse(text, strlen(text), "soak.conf", &conf, &cause) != 0 ||
	    mkdtemp(dir) == NULL ||
	    store_open(dir, UINT64_C(16) << 30, &s, &cause) != 0) {
		fprintf(stderr, "soak: %s\n", cause != NULL ? cause : dir);
		return 1;
	}
	xmlInitParser();
	printf("soak: %d weekly campaigns of %zu recipients (%.0f%% the same "
	    "people each week), campaign_retention = %s, history window "
	    "%lld d, store in %s\n", weeks, n, CORE_SHARE * 100, retention,
	    (long long)(retention_history_window(conf) / 86400), dir);
	memset(tt, 0, sizeof tt);
	memset(&rr, 0, sizeof rr);
	for (w = 0; w < weeks; w++) {
		soak_admit(s, conf, w, n, &tt[0]);
		soak_deliver(s, T0 + (int64_t)(w + 1) * WEEK, &tt[1]);
		soak_retain(s, conf, T0 + (int64_t)(w + 1) * WEEK - 1, &rr,
		    &tt[2]);
		if ((w + 1) % 13 == 0 || w + 1 == weeks)
			soak_quarter(s, w, &rr, tt);
	}
	store_close(s);
	conf_free(conf);
	free(text);
	nftw(dir, rm, 8, FTW_DEPTH | FTW_PHYS);
	return 0;
}
