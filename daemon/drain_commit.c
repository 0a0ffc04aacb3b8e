/*
 * drain_commit.c: transfers' outcomes committed to the store in groups.
 *
 * An outcome is parked until commit_batch of them wait or
 * commit_interval_ms has passed, then the group goes to the writer
 * thread as one transaction (a retry gets its back-off there), and its
 * jobs' claims are released back on the loop.  A crash can so resend at
 * most the transfers in flight and the last uncommitted group.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "conf.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

/* One outcome in a commit group: copies, the loop keeps its own. */
struct commit_item {
	struct store_job	 job;
	enum xfer_outcome	 outcome;
	int			 expired;	/* retried past max_age */
	char			 reply[256];
	int64_t			 defer_to;	/* OUTCOME_DEFERRED's new due */
	int32_t			 qday;		/* a sent one's quota day */
	char			 qunit[256];	/* and unit, if counted */
};

/* A group of outcomes on its way through the writer thread. */
struct commit_group {
	struct wjob		 w;
	struct drain		*d;
	struct commit_item	*items;	/* copies: the loop keeps its own */
	size_t			 n;
	int64_t			 now;
	uint64_t		 retry_min;
	uint64_t		 retry_max;
	uint64_t		 max_age;
	int			 ok;
	char			*cause;
};

static void	drain_commit_check_stopped(struct drain *);

/* Park a transfer's outcome until the next commit group. */
void
drain_commit_finish(struct drain *d, struct xfer *x, enum xfer_outcome o)
{
	drain_quota_finished(d, x, o);
	drain_xfer_release(d, x);
	x->state = XFER_DONE;
	x->outcome = o;
	TAILQ_INSERT_TAIL(&d->done, x, entry);
	d->ndone++;
	if (d->ndone >= d->md->conf->commit_batch)
		drain_commit_flush(d);
	else if (!evtimer_pending(d->flush_timer, NULL))
		drain_timer_in(d->flush_timer,
		    (long)d->md->conf->commit_interval_ms);
}

/* Record, without sending, a job whose recipient may no longer be mailed. */
void
drain_commit_drop(struct drain *d, struct xfer *x)
{
	log_info("drain: dropping campaign=%s: recipient unsubscribed or "
	    "suppressed since admission", x->job.campaign);
	drain_commit_finish(d, x, OUTCOME_DROPPED);
}

/* The back-off before attempt n+1: doubling from retry_min, jittered. */
static int64_t
drain_commit_backoff(const struct commit_group *f, uint32_t attempts)
{
	return schedule_backoff_s(f->retry_min, f->retry_max, attempts,
	    (unsigned long)random());
}

/*
 * A job moved to the next quota day takes a place in that day ("+UNIT",
 * as admission's: lib/quota_admit.c) instead of the one it held, so
 * later admissions see the day fill; ledger_outcome() moves it.
 */
static void
drain_commit_move(struct store_job *j, const struct commit_item *it)
{
	j->qday = it->qunit[0] != '\0' ? it->qday : 0;
	snprintf(j->qunit, sizeof j->qunit, "%s", it->qunit);
}

/* Sends counted per unit and day, written once per pair. */
struct commit_tally {
	const char	*unit;
	int32_t		 day;
	uint64_t	 n;
};
#define COMMIT_TALLY_MAX	16

/* Write the tallied counts into the quota records. */
static int
drain_commit_tally_flush(struct store_txn *t, struct commit_tally *ct,
    size_t *n, char **cause)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (store_quota_add(t, ct[i].unit, ct[i].day, ct[i].n, cause) < 0)
			return -1;
	*n = 0;
	return 0;
}

/* Count one send of a unit on a day (a group holds few units). */
static int
drain_commit_tally(struct store_txn *t, struct commit_tally *ct, size_t *n,
    const struct commit_item *it, char **cause)
{
	size_t	 i;

	for (i = 0; i < *n; i++)
		if (ct[i].day == it->qday && strcmp(ct[i].unit, it->qunit) == 0) {
			ct[i].n++;
			return 0;
		}
	if (*n == COMMIT_TALLY_MAX && drain_commit_tally_flush(t, ct, n,
	    cause) < 0)
		return -1;
	ct[*n].unit = it->qunit;
	ct[*n].day = it->qday;
	ct[(*n)++].n = 1;
	return 0;
}

/* On the writer thread: every outcome of the group in one transaction. */
static void
drain_commit_run(struct wjob *w, struct store *store)
{
	struct commit_group	*f = (struct commit_group *)w;
	struct store_txn	*t = NULL;
	json_t			*states = json_object();
	struct commit_tally	 tally[COMMIT_TALLY_MAX];
	size_t			 i, ntally = 0;

	if (store_begin(store, 1, &t, &f->cause) < 0)
		goto out;
	for (i = 0; i < f->n; i++) {
		struct commit_item	*it = &f->items[i];
		struct store_job *j = &it->job;

		if (it->outcome == OUTCOME_DEFERRED) {
			/* A quota day later than max_age allows fails it. */
			if (it->defer_to - j->queued > (int64_t)f->max_age) {
				it->outcome = OUTCOME_FAILED;
				it->expired = 1;
				snprintf(it->reply, sizeof it->reply, "not sent: "
				    "daily_limit (no quota day before max_age)");
			} else {
				drain_commit_move(j, it);
				j->due = it->defer_to;
			}
		} else if (it->outcome == OUTCOME_SENT && it->qunit[0] != '\0' &&
		    drain_commit_tally(t, tally, &ntally, it, &f->cause) < 0)
			goto out;
		if (it->outcome == OUTCOME_RETRY) {
			if (schedule_retry_expired(f->now - j->queued,
			    drain_commit_backoff(f, j->attempts + 1),
			    f->max_age)) {
				it->outcome = OUTCOME_FAILED;
				it->expired = 1;
			} else {
				j->attempts++;
				j->due = f->now +
				    drain_commit_backoff(f, j->attempts);
			}
		}
		if (ledger_outcome(t, j, (enum ledger_outcome)it->outcome,
		    it->reply, f->now, states, &f->cause) < 0)
			goto out;
	}
	if (drain_commit_tally_flush(t, tally, &ntally, &f->cause) < 0 ||
	    ledger_flush_states(t, states, &f->cause) < 0)
		goto out;
	f->ok = store_commit(t, &f->cause) == 0;
	t = NULL;
out:
	store_abort(t);
	json_decref(states);
}

/* On the loop: release the group's claims, or park it again. */
static void
drain_commit_done(struct wjob *w)
{
	struct commit_group	*f = (struct commit_group *)w;
	struct drain	*d = f->d;
	struct xfer	*x;
	int		 unstage = 0;

	d->flushing = 0;
	if (!f->ok) {
		/* Keep the outcomes; the next flush tries again. */
		log_warnx("drain: cannot commit %zu delivery outcomes: %s; will "
		    "retry (messages already sent may be sent again after a "
		    "crash)", f->n, f->cause);
		while ((x = TAILQ_LAST(&d->committing, xferq)) != NULL) {
			TAILQ_REMOVE(&d->committing, x, entry);
			TAILQ_INSERT_HEAD(&d->done, x, entry);
			d->ndone++;
		}
		drain_timer_in(d->flush_timer, 1000);
	} else {
		for (size_t i = 0; i < f->n; i++)
			if (f->items[i].expired)
				log_warnx("drain: giving up campaign=%s after %u "
				    "attempts (max_age reached)",
				    f->items[i].job.campaign,
				    f->items[i].job.attempts + 1);
		while ((x = TAILQ_FIRST(&d->committing)) != NULL) {
			TAILQ_REMOVE(&d->committing, x, entry);
			if (x->outcome == OUTCOME_SENT) {
				d->sent++;
				d->throttled_sent += x->waited != 0;
			} else if (x->outcome == OUTCOME_FAILED)
				d->failed++;
			else if (x->outcome == OUTCOME_BOUNCED) {
				d->failed++;
				d->bounced++;
				/* Now suppressed: its staged jobs must go. */
				unstage = 1;
			} else if (x->outcome == OUTCOME_DROPPED)
				d->dropped++;
			else if (x->outcome == OUTCOME_RETRY)
				d->retried++;
			else if (x->outcome == OUTCOME_WAIT)
				d->quiet_waits++;
			drain_xfer_free(x);
		}
		if (unstage)
			drain_sched_unstage(d);
		log_debug("drain: committed %zu outcomes", f->n);
		if (d->ndone >= d->md->conf->commit_batch)
			drain_commit_flush(d);
		else if (d->ndone > 0)
			drain_timer_in(d->flush_timer,
			    (long)d->md->conf->commit_interval_ms);
	}
	free(f->cause);
	free(f->items);
	free(f);
	drain_commit_check_stopped(d);
	drain_sched_soon(d);
}

/* Hand every parked outcome to the writer as one commit group. */
void
drain_commit_flush(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	struct commit_group	*f;
	struct xfer		*x;
	size_t			 i = 0;

	evtimer_del(d->flush_timer);
	if (d->ndone == 0 || d->flushing) {
		drain_commit_check_stopped(d);
		return;
	}
	f = xcalloc(1, sizeof *f);
	f->w.run = drain_commit_run;
	f->w.done = drain_commit_done;
	f->d = d;
	f->now = mannersd_now();
	f->retry_min = conf->retry_min;
	f->retry_max = conf->retry_max;
	f->max_age = conf->max_age;
	f->items = xcalloc(d->ndone, sizeof *f->items);
	TAILQ_FOREACH(x, &d->done, entry) {
		f->items[i].job = x->job;
		memcpy(f->items[i].reply, x->reply, sizeof x->reply);
		f->items[i].defer_to = x->defer_to;
		if ((x->qday != 0 || x->defer_day != 0) && x->dom != NULL) {
			f->items[i].qday = x->defer_day != 0 ? x->defer_day :
			    x->qday;
			memcpy(f->items[i].qunit, drain_units_quota(
			    x->dom)->name, sizeof f->items[i].qunit);
		}
		f->items[i++].outcome = x->outcome;
	}
	f->n = i;
	TAILQ_CONCAT(&d->committing, &d->done, entry);
	d->ndone = 0;
	d->flushing = 1;
	writer_submit(d->md->writer, &f->w);
}

/* Tell the daemon once nothing is in flight or uncommitted. */
static void
drain_commit_check_stopped(struct drain *d)
{
	void	(*cb)(struct mannersd *);

	if (!d->stopping || d->nrunning != 0 || d->ndone != 0 || d->flushing ||
	    d->stopped == NULL)
		return;
	cb = d->stopped;
	d->stopped = NULL;
	cb(d->md);
}

/* commit_interval_ms passed since the first parked outcome: commit. */
void
drain_commit_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	drain_commit_flush(arg);
}
