/*
 * drain_sched.c: which due job goes next, and when.
 *
 * Due jobs are read ahead from the queue ("staged"), claimed, into one
 * line per recipient domain, so that picking the next send looks at one
 * job per domain instead of walking the queue past every job of a
 * domain whose cadence holds it.  A scan starts what the global cadence,
 * the domains' cadences and the free connections allow (the rules are
 * lib/schedule.c's), then sets two timers: the scan timer for the next
 * job to fall due, and a timerfd for the next cadence slot.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "campaign.h"
#include "campaign_record.h"
#include "conf.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "prefs.h"
#include "rcpt_zone.h"
#include "util.h"

#define DRAIN_SCAN_MAX		4096	/* queue entries looked at per read */
#define DRAIN_STAGE_MAX		4096	/* due jobs read ahead, at most */
#define DRAIN_STAGE_BATCH	256	/* read ahead at a time while sending */
#define DRAIN_IDLE_MS		1000	/* rescan period when idle */
/*
 * Jobs of a campaign slowed or narrowed by a scope=campaign action read
 * ahead, at most: the pick passes over at most these in a line for it,
 * and its jobs never fill the read ahead, whatever their number.
 */
#define DRAIN_CAMPAIGN_AHEAD	64

/*
 * Scan again in `wake_ms` milliseconds, to the microsecond: a cadence's
 * next slot.  Its own timerfd, because libevent's timers wake to the
 * whole millisecond and its precise mode costs a system call on every
 * turn of the loop, paced or not.
 */
void
drain_sched_wake(struct drain *d, double wake_ms)
{
	struct itimerspec	 its;
	long long		 ns = (long long)(wake_ms * 1e6);
	struct instant		 due = instant_add(drain_clock(), wake_ms);

	/*
	 * An earlier wake-up already armed serves: it scans, then re-arms.
	 * So does one that has fired but not been handled yet (re-arming
	 * the timerfd would drop it).
	 */
	if (d->pace_armed && !instant_before(due, d->pace_due))
		return;
	d->pace_due = due;
	d->pace_armed = 1;
	if (ns < 1)
		ns = 1;		/* 0 would disarm it */
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)(ns / 1000000000);
	its.it_value.tv_nsec = (long)(ns % 1000000000);
	if (timerfd_settime(d->pace_fd, 0, &its, NULL) == -1)
		fatal("drain: timerfd_settime");
}

/* The hash of a queue key: of its sequence part, which is unique. */
static uint64_t
drain_sched_claim_hash(const uint8_t *key)
{
	return hashtab_hash(key + STORE_KEY_LEN - 8, 8);
}

/* Is the transfer `item` the one for queue key `key`? */
static int
drain_sched_claim_eq(const void *item, const void *key)
{
	return memcmp(((const struct xfer *)item)->job.key, key,
	    STORE_KEY_LEN) == 0;
}

/* Is this job's key claimed by a transfer that is not yet committed? */
static int
drain_sched_claimed(struct drain *d, const uint8_t *key)
{
	return hashtab_find(d->claims, drain_sched_claim_hash(key),
	    drain_sched_claim_eq, key) != NULL;
}

/* A transfer holds its job from its start until its outcome is committed. */
static void
drain_sched_claim(struct drain *d, struct xfer *x)
{
	hashtab_add(d->claims, drain_sched_claim_hash(x->job.key), x);
}

/* The transfer's job may be staged again (or is gone from the queue). */
void
drain_sched_unclaim(struct drain *d, struct xfer *x)
{
	hashtab_remove(d->claims, drain_sched_claim_hash(x->job.key), x);
}

/* Read a due job ahead: claimed, waiting in its unit's line. */
static struct xfer *
drain_sched_stage(struct drain *d, struct store_txn *t,
    const struct store_job *j, int64_t now_s)
{
	struct xfer		*x;
	struct rep_campaign	*rc;
	struct dom		*dm = drain_units_of(d, addr_domain(j->addr),
				    now_s);

	x = xcalloc(1, sizeof *x);
	x->d = d;
	x->job = *j;
	x->dom = dm;
	message_out_init(&x->msg);
	x->state = XFER_STAGED;
	if ((rc = drain_shape_campaign(d, j->campaign)) != NULL &&
	    rc->s.shaped) {
		rc->s.staged++;
		x->ahead = 1;
	}
	drain_sched_claim(d, x);
	drain_quota_check_day(d, t, drain_units_quota(dm), now_s);
	if (dm->s.staged++ == 0)
		TAILQ_INSERT_TAIL(&d->sdoms, dm, sentry);
	TAILQ_INSERT_TAIL(&dm->staged, x, entry);
	d->nstaged++;
	return x;
}

/* Take a staged job out of its domain's line (to start, drop or free it). */
static void
drain_sched_take(struct drain *d, struct xfer *x)
{
	struct dom		*dm = x->dom;
	struct rep_campaign	*rc;

	TAILQ_REMOVE(&dm->staged, x, entry);
	if (--dm->s.staged == 0)
		TAILQ_REMOVE(&d->sdoms, dm, sentry);
	d->nstaged--;
	/* Its campaign's hold changed since: it was unstaged and reset. */
	if (x->ahead && (rc = drain_shape_campaign(d, x->job.campaign)) !=
	    NULL && rc->s.staged > 0)
		rc->s.staged--;
	x->ahead = 0;
}

/*
 * Forget every staged job (their campaign or recipient changed, new work
 * came in, or the drain stops); the next scan reads the queue afresh.
 */
void
drain_sched_unstage(struct drain *d)
{
	struct dom		*dm;
	struct xfer		*x;
	struct rep_campaign	*rc;

	while ((dm = TAILQ_FIRST(&d->sdoms)) != NULL) {
		x = TAILQ_FIRST(&dm->staged);
		drain_sched_take(d, x);
		drain_xfer_free(x);
	}
	d->have_resume = 0;
	d->passed = 0;
	/* Everything is read afresh: nothing is left behind. */
	TAILQ_FOREACH(rc, &d->rep.campaigns, entry) {
		rc->s.staged = 0;
		rc->s.behind = 0;
	}
}

/* Back to the queue until the end of the recipient's quiet time. */
static void
drain_sched_hold(struct drain *d, struct xfer *x, int64_t until)
{
	log_debug("drain: campaign=%s held for the end of its recipient's "
	    "quiet time, due=%lld", x->job.campaign, (long long)until);
	x->job.due = until;
	drain_commit_finish(d, x, OUTCOME_WAIT);
}

/*
 * A staged job whose recipient is in quiet time now (retries, or a
 * configuration changed since admission, brought it into the night)
 * goes back to the queue for the end of it.
 */
static void
drain_sched_quiet(struct drain *d, struct store_txn *t, struct dcampaign *dc,
    struct xfer *x, int64_t now_s)
{
	struct conf_policy	 pol;
	int64_t			 until;

	conf_policy_for(d->md->conf, dc->c->list, &pol);
	if (rcpt_zone_allowed(d->zones, t, x->job.rid, &pol.quiet, now_s,
	    &until, x->zone, NULL) < 0 || until <= now_s)
		return;
	drain_sched_take(d, x);
	drain_sched_hold(d, x, until);
}

/*
 * A staged job about to start: has its recipient's quiet time begun
 * since it was read?  (A domain's cadence may hold it for minutes.)
 * The zone was read with it, so this needs no store.
 */
static int
drain_sched_asleep(struct drain *d, struct dcampaign *dc, struct xfer *x)
{
	struct conf_policy	 pol;
	struct quiet_zone	*z;
	int64_t			 now_s = mannersd_now(), until;

	if (x->zone[0] == '\0')
		return 0;
	conf_policy_for(d->md->conf, dc->c->list, &pol);
	if ((z = quiet_cache_get(d->zones, x->zone, NULL)) == NULL ||
	    (until = quiet_next_allowed(z, &pol.quiet.rules, now_s)) <= now_s)
		return 0;
	drain_sched_hold(d, x, until);
	return 1;
}

/* Move the resume point past a claimed job while no unclaimed one is behind. */
static void
drain_sched_advance(struct drain *d, int prefix, const uint8_t *key)
{
	if (!prefix)
		return;
	memcpy(d->resume, key, STORE_KEY_LEN);
	d->have_resume = 1;
}

/*
 * Stage a due job read from the queue; an unsubscribe or a bounce may
 * have come after admission, and plain text is read here too (a choice
 * unstages, prefs.h).
 */
static void
drain_sched_read(struct drain *d, struct store_txn *t, struct dcampaign *dc,
    const struct store_job *j, int64_t now_s)
{
	struct xfer	*x = drain_sched_stage(d, t, j, now_s);

	if (prefs_send_view(t, j->addr, j->lid, &x->plain, NULL) == 0) {
		drain_sched_take(d, x);
		drain_commit_drop(d, x);
	} else
		drain_sched_quiet(d, t, dc, x, now_s);
}

/*
 * What the read does with a due job nobody holds, by its campaign's
 * state and hold (schedule_read()); `*rcp` is the hold, if any.
 */
static enum schedule_read
drain_sched_verdict(struct drain *d, const struct dcampaign *dc,
    const char *campaign, struct rep_campaign **rcp)
{
	struct schedule_campaign	 none = { 0 };

	*rcp = NULL;
	if (dc == NULL || strcmp(dc->state, CAMPAIGN_ACTIVE) != 0) {
		/* A pause, resume or cancel unstages: read again then. */
		none.paused = dc != NULL;
		return schedule_read(&none, DRAIN_CAMPAIGN_AHEAD);
	}
	if ((*rcp = drain_shape_campaign(d, campaign)) == NULL)
		return SCHEDULE_STAGE;
	return schedule_read(&(*rcp)->s, DRAIN_CAMPAIGN_AHEAD);
}

/*
 * A shaped campaign's job left in the queue for its own read
 * (drain_sched_catch_up()), which starts at the first one left.
 */
static void
drain_sched_behind(struct rep_campaign *rc, const uint8_t *key)
{
	if (!rc->s.behind || memcmp(key, rc->from, STORE_KEY_LEN) < 0)
		memcpy(rc->from, key, STORE_KEY_LEN);
	rc->s.behind = 1;
}

/*
 * Stage up to `max_new` more due jobs from the queue (DRAIN_STAGE_MAX in
 * all), from where the last read stopped; `due_ms` is lowered to the
 * time until the first job not yet due.  A held campaign's jobs are
 * passed over (schedule_read()), and the resume point moves past them:
 * however many they are, the jobs behind them are reached.  Returns 1
 * when it stopped because it had staged its fill, or had looked at
 * DRAIN_SCAN_MAX jobs and moved the resume point past them all (more
 * jobs may be due), 0 otherwise, -1 when the queue cannot be read.
 */
static int
drain_sched_refill(struct drain *d, struct store_txn *t, int64_t now_s,
    size_t max_new, double *due_ms)
{
	struct store_cursor	*cur = NULL;
	struct store_job	 j;
	struct dcampaign	*dc;
	struct rep_campaign	*rc;
	char			*cause = NULL;
	size_t			 looked = 0, limit = d->nstaged + max_new;
	int			 prefix = 1;	/* all jobs so far claimed
						   or passed over */

	if (limit > DRAIN_STAGE_MAX)
		limit = DRAIN_STAGE_MAX;
	if (store_queue_seek(t, d->have_resume ? d->resume : NULL, &cur,
	    &cause) < 0) {
		log_warnx("drain: cannot read the queue: %s", cause);
		free(cause);
		return -1;
	}
	while (d->nstaged < limit && looked < DRAIN_SCAN_MAX &&
	    store_cursor_job(cur, &j)) {
		looked++;
		if (j.due > now_s) {
			/* Sorted by due time: nothing later is due either. */
			if ((double)(j.due - now_s) * 1000.0 < *due_ms)
				*due_ms = (double)(j.due - now_s) * 1000.0;
			looked = 0;
			break;
		}
		store_cursor_next(cur);
		if (drain_sched_claimed(d, j.key)) {
			drain_sched_advance(d, prefix, j.key);
			continue;
		}
		dc = drain_campaign_get(d, t, j.campaign);
		switch (drain_sched_verdict(d, dc, j.campaign, &rc)) {
		case SCHEDULE_SKIP:
			prefix = 0;
			continue;
		case SCHEDULE_BEHIND:
			drain_sched_behind(rc, j.key);
			/* FALLTHROUGH */
		case SCHEDULE_PASS:
			/* Read again when the hold changes (unstaged). */
			d->passed = 1;
			drain_sched_advance(d, prefix, j.key);
			continue;
		case SCHEDULE_STAGE:
			break;
		}
		drain_sched_read(d, t, dc, &j, now_s);
		drain_sched_advance(d, prefix, j.key);
	}
	store_cursor_close(cur);
	/*
	 * Only a full fill, or a full read that moved the resume point on,
	 * says more: a read that stopped at DRAIN_SCAN_MAX jobs it could
	 * not stage nor pass (a paused campaign's) must not be redone at
	 * once, turn after turn.
	 */
	return d->nstaged >= limit || (looked >= DRAIN_SCAN_MAX && prefix);
}

/*
 * A shaped campaign's own read: from the first of its due jobs left in
 * the queue, stage the next ones up to its read-ahead, in queue order,
 * passing over every other campaign's.  `from` only moves on, so its
 * jobs are looked at once each however long the hold.  Returns -1 when
 * the queue cannot be read.
 */
static int
drain_sched_catch_up_one(struct drain *d, struct store_txn *t,
    struct rep_campaign *rc, int64_t now_s)
{
	struct store_cursor	*cur = NULL;
	struct store_job	 j;
	struct dcampaign	*dc;
	char			*cause = NULL;
	size_t			 looked = 0;

	if ((dc = drain_campaign_get(d, t, rc->id)) == NULL ||
	    strcmp(dc->state, CAMPAIGN_ACTIVE) != 0)
		return 0;	/* its jobs are skipped until it changes */
	if (store_queue_seek(t, rc->from, &cur, &cause) < 0) {
		log_warnx("drain: cannot read the queue: %s", cause);
		free(cause);
		return -1;
	}
	rc->s.behind = 0;	/* unless a job is left below */
	while (store_cursor_job(cur, &j) && j.due <= now_s) {
		if (rc->s.staged >= DRAIN_CAMPAIGN_AHEAD ||
		    looked++ >= DRAIN_SCAN_MAX) {
			drain_sched_behind(rc, j.key);
			break;
		}
		store_cursor_next(cur);
		if (strcmp(j.campaign, rc->id) == 0 &&
		    !drain_sched_claimed(d, j.key))
			drain_sched_read(d, t, dc, &j, now_s);
	}
	store_cursor_close(cur);
	return 0;
}

/* The scan's read transaction, begun when it first needs the store. */
static int
drain_sched_txn(struct drain *d, struct store_txn **t)
{
	char	*cause = NULL;

	if (*t != NULL)
		return 0;
	if (store_begin(d->md->store, 0, t, &cause) < 0) {
		log_warnx("drain: cannot read the queue: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Give each shaped campaign with jobs left behind its next ones, before
 * its read-ahead runs dry, so that its own cadence is what paces it.
 */
static int
drain_sched_catch_up(struct drain *d, struct store_txn **t, int64_t now_s)
{
	struct rep_campaign	*rc;

	TAILQ_FOREACH(rc, &d->rep.campaigns, entry) {
		if (!rc->s.behind || rc->s.suspended ||
		    rc->s.staged > DRAIN_CAMPAIGN_AHEAD / 2)
			continue;
		if (drain_sched_txn(d, t) < 0 ||
		    drain_sched_catch_up_one(d, *t, rc, now_s) < 0)
			return -1;
	}
	return 0;
}

/*
 * The first job of a line its campaign's actions let go at `slot`
 * (scope=campaign slow or connections, drain_shape_campaign_wait()):
 * those of a held campaign are passed over, so that other campaigns'
 * jobs in the same line keep their pace.  A shaped campaign has at most
 * DRAIN_CAMPAIGN_AHEAD jobs staged, so this walks past at most that many
 * per shaped campaign, whatever its number of jobs.  NULL when every job
 * is held; `*wait_ms` is lowered to the soonest a paced one may go.
 */
static struct xfer *
drain_sched_first(struct drain *d, struct dom *dm, struct instant slot,
    double *wait_ms)
{
	struct xfer	*x;
	double		 w;

	TAILQ_FOREACH(x, &dm->staged, entry) {
		switch (drain_shape_campaign_wait(d, x, slot, &w)) {
		case 0:
			return x;
		case 2:
			if (w < *wait_ms)
				*wait_ms = w;
			break;
		default:
			break;
		}
	}
	return NULL;
}

/*
 * The staged job to send at `slot` (schedule_pick_offer() says which); the
 * held domains are counted as throttled, and `wait_ms` is lowered to the
 * soonest a domain held by its cadence may send after the slot.
 */
static struct xfer *
drain_sched_pick(struct drain *d, struct instant slot, double *wait_ms)
{
	struct schedule_pick	 p;
	struct dom		*dm;
	struct xfer		*x;
	struct dom		*next;

	schedule_pick_begin(&p, slot, STORE_KEY_LEN);
	for (dm = TAILQ_FIRST(&d->sdoms); dm != NULL; dm = next) {
		size_t		 held = p.held;

		next = TAILQ_NEXT(dm, sentry);
		/* Over today's quota: its jobs wait for the next day. */
		if (drain_quota_over(dm)) {
			drain_quota_defer(d, dm);
			continue;
		}
		x = TAILQ_FIRST(&dm->staged);
		if (d->rep.ncampaign_shaped > 0 && (x = drain_sched_first(d,
		    dm, slot, wait_ms)) == NULL) {
			p.held++;
			continue;
		}
		schedule_pick_offer(&p, &dm->s, x->job.key, x);
		if (p.held != held)
			x->waited = 1;	/* counted once, when it is sent */
	}
	d->throttled += p.held;
	if (p.paced && p.wait_ms < *wait_ms)
		*wait_ms = p.wait_ms;
	return p.best;
}

/* How early a paced send may be picked before its slot, now. */
static double
drain_sched_lead(const struct drain *d)
{
	return schedule_lead_ms(d->nrunning, drain_shape_concurrency(d));
}

/*
 * Start a picked job at `slot`, and take the slot from the global and
 * its domain's cadence.  Returns -1 when the store cannot be read.
 */
static int
drain_sched_start(struct drain *d, struct store_txn **t, struct xfer *x,
    const struct schedule_slot *slot)
{
	struct dcampaign	*dc;

	drain_sched_take(d, x);
	/*
	 * Whether the recipient may be mailed was read when the job was
	 * staged; every unsubscribe, suppression, pause and cancel since
	 * then has dropped the staged jobs (drain_kick, drain_forget, a
	 * bounce committed), so starting needs no further read of the store.
	 */
	if ((dc = drain_campaign_cached(d, x->job.campaign)) == NULL) {
		if (drain_sched_txn(d, t) < 0) {
			drain_xfer_free(x);
			d->have_resume = 0;
			return -1;
		}
		dc = drain_campaign_get(d, *t, x->job.campaign);
	}
	if (dc == NULL || strcmp(dc->state, CAMPAIGN_ACTIVE) != 0) {
		drain_xfer_free(x);
		d->have_resume = 0;
		return 0;
	}
	if (drain_sched_asleep(d, dc, x))
		return 0;
	if (drain_xfer_start(d, dc, x, slot) == -1) {
		drain_commit_finish(d, x, OUTCOME_FAILED);
		return 0;
	}
	drain_quota_started(d, x);
	/* Domain cadences are ceilings and stay strict. */
	pace_take_on_schedule(&d->pace, slot->at);
	pace_take(&x->dom->s.pace, slot->at);
	if (x->dom->parent != NULL)
		pace_take(&x->dom->parent->s.pace, slot->at);
	drain_shape_campaign_take(d, x, slot->at);
	return 0;
}

/*
 * Start transfers for due jobs while there is room.  Two waits come out
 * of it: `due_ms`, until the first queued job not yet due (the scan
 * timer), and `wake_ms`, until a cadence lets a staged job go (the
 * cadence timer).
 */
static void
drain_sched_scan(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	struct store_txn	*t = NULL;
	struct schedule_slot	 slot;
	struct instant		 now;
	struct xfer		*x;
	int64_t			 now_s = mannersd_now(); /* the queue's */
	double			 due_ms = DRAIN_IDLE_MS;
	double			 wake_ms = DRAIN_IDLE_MS;
	double			 lead_ms, held_ms, w_ms;
	int			 refilled = 0, more = 0;

	drain_shape_tick(d, now_s);
	if (d->stopping || d->nrunning >= drain_shape_concurrency(d))
		return;
	/*
	 * Nothing claimed: nothing to skip (and a stepped clock is healed);
	 * unless a paused or held campaign's jobs were passed over, which a
	 * read from the start would look at all over again.
	 */
	if (d->nrunning == 0 && d->ndone == 0 && !d->flushing &&
	    d->nstaged == 0 && d->rep.ncampaign == 0 && !d->passed)
		d->have_resume = 0;
	/*
	 * A paced send is picked up to a lead before its slot, and its SMTP
	 * thread waits for the slot itself: a loop woken late by a busy
	 * machine then still sends on time (schedule_lead_ms()).
	 */
	now = drain_clock();
	if (!schedule_slot(&d->pace, now, drain_sched_lead(d), &slot, &w_ms)) {
		d->throttled++;
		drain_sched_wake(d, w_ms);
		return;
	}
	/* Keep a few jobs ahead of the free slots; read in batches. */
	if (d->nstaged < 2 * (size_t)conf->concurrency) {
		if (drain_sched_txn(d, &t) < 0 || (more = drain_sched_refill(d,
		    t, now_s, DRAIN_STAGE_BATCH, &due_ms)) < 0)
			goto out;
		refilled = 1;
	}
	if (d->rep.ncampaign_shaped > 0 && drain_sched_catch_up(d, &t,
	    now_s) < 0)
		goto out;
	while (d->nrunning < drain_shape_concurrency(d)) {
		lead_ms = drain_sched_lead(d);
		if (!schedule_slot(&d->pace, now, lead_ms, &slot, &w_ms)) {
			if (w_ms < wake_ms)
				wake_ms = w_ms;
			d->throttled++;
			break;
		}
		held_ms = DRAIN_IDLE_MS;
		x = drain_sched_pick(d, slot.at, &held_ms);
		/* A held domain's own slot, seen from now, with the lead. */
		if (held_ms < DRAIN_IDLE_MS && (w_ms =
		    schedule_held_wake_ms(&slot, held_ms, lead_ms)) < wake_ms)
			wake_ms = w_ms;
		if (x != NULL) {
			if (drain_sched_start(d, &t, x, &slot) < 0)
				goto out;
			continue;
		}
		/*
		 * Every staged domain is held: read further, a batch per turn
		 * of the loop, so that reading thousands of held jobs never
		 * delays a send that is due.
		 */
		if (refilled || d->nstaged >= DRAIN_STAGE_MAX)
			break;
		if (drain_sched_txn(d, &t) < 0 || (more = drain_sched_refill(d,
		    t, now_s, DRAIN_STAGE_BATCH, &due_ms)) < 0)
			goto out;
		refilled = 1;
	}
out:
	store_abort(t);
	/* Jobs may be due beyond what was read: read on in the next turn. */
	if (more > 0 && d->nrunning < drain_shape_concurrency(d) &&
	    d->nstaged < DRAIN_STAGE_MAX)
		event_active(d->scan_now, EV_TIMEOUT, 1);
	if (wake_ms < due_ms)
		drain_sched_wake(d, wake_ms);
	if (!evtimer_pending(d->scan_timer, NULL) || due_ms < DRAIN_IDLE_MS)
		drain_timer_in(d->scan_timer, (long)(due_ms + 0.999));
}

/* The scan timer, or a scan asked for in this turn (drain_sched_soon()). */
void
drain_sched_scan_cb(evutil_socket_t fd, short events, void *arg)
{
	struct drain	*d = arg;

	(void)fd;
	(void)events;
	drain_sched_scan(d);
}

/* The cadence timerfd fired: a slot has come; scan. */
void
drain_sched_pace_cb(evutil_socket_t fd, short events, void *arg)
{
	uint64_t	 n;

	(void)events;
	if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("drain: reading the cadence timer");
	((struct drain *)arg)->pace_armed = 0;
	drain_sched_scan(arg);
}

/*
 * Ask for a scan (a transfer slot came free, a group committed).  It runs
 * in this turn of the loop, once, after the callbacks already due: the
 * next message goes out on a connection libcurl just handed back without
 * a trip through epoll, and however many transfers end together, one
 * scan refills their slots.
 */
void
drain_sched_soon(struct drain *d)
{
	if (d->stopping)
		return;
	if (d->nrunning < drain_shape_concurrency(d))
		event_active(d->scan_now, EV_TIMEOUT, 1);
}

/* Apply a reloaded configuration to the units (drain_units.c). */
void
drain_sched_reconfigure(struct drain *d)
{
	char	*cause = NULL;

	if (drain_units_reconfigure(d, &cause) == -1) {
		log_warnx("drain: %s", cause);
		free(cause);
	}
}

/* Forget idle units and domains (drain_units_tidy()); returns how many. */
size_t
drain_sched_tidy(struct drain *d)
{
	return drain_units_tidy(d);
}

/* Free the domains and the claims (every transfer is freed already). */
void
drain_sched_clear(struct drain *d)
{
	struct dom	*dm;
	size_t		 pos = 0;

	while ((dm = hashtab_next(d->doms, &pos)) != NULL)
		free(dm);
	hashtab_free(d->doms);
	hashtab_free(d->claims);
	d->doms = d->claims = NULL;
	quiet_cache_free(d->zones);
	d->zones = NULL;
}
