/*
 * drain_quota.c: daily quotas and warm-up ramps in the drain.
 *
 * A unit counts what it started today (what the relay refuses gives its
 * count back; what it accepts is counted in the store at the commit).
 * The day and its quota come from lib/quota.c and lib/warmup.c; a unit
 * over today's quota has its due jobs moved, in queue order, to the
 * start of the next quota day.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "mx.h"
#include "util.h"


/*
 * Make sure the unit knows the quota day holding now_s: its count from
 * the store (what was sent and committed), the ramp's day, the limit.
 */
int
drain_quota_check_day(struct drain *d, struct store_txn *t, struct dom *u,
    int64_t now_s)
{
	struct quota_day	 day;
	uint64_t		 stored;
	unsigned		 sent_days = 0;
	char			*cause = NULL;

	if (!u->tracked || (u->day_known && now_s < u->day.end &&
	    now_s >= u->day.start))
		return 0;
	quota_day_of(d->rep.clock, now_s, &day);
	if (store_quota_get(t, u->name, day.date, &stored, &cause) < 0 ||
	    (u->warmup != NULL && store_quota_days(t, u->name,
	    u->warmup->start, day.date, &sent_days, &cause) < 0)) {
		log_warnx("drain: cannot read the quota of %s: %s", u->name,
		    cause);
		free(cause);
		return -1;
	}
	/* The same day again (a reload): keep what is not committed yet. */
	if (!u->day_known || u->day.date != day.date || stored > u->used)
		u->used = stored;
	if (u->day_known && u->day.date != day.date)
		log_info("drain: %s: a new quota day %d begins", u->name,
		    (int)day.date);
	u->day = day;
	u->day_known = 1;
	if (u->warmup != NULL)
		warmup_at(u->warmup->volumes, u->warmup->nvolumes,
		    u->warmup->start, day.date, sent_days, &u->ramp);
	u->limit = quota_limit(u->daily_limit, u->warmup != NULL ? &u->ramp :
	    NULL);
	return 0;
}

/* Has the unit (or the group of a domain shaped apart) used today's quota? */
int
drain_quota_over(const struct dom *u)
{
	if (u->parent != NULL)
		u = u->parent;
	return u->tracked && u->day_known && quota_room(u->limit, u->used, 1)
	    == 0;
}

/*
 * Move the line's staged jobs, in queue order, to the next quota day of
 * its unit (a domain shaped apart: its group's).
 */
void
drain_quota_defer(struct drain *d, struct dom *line)
{
	struct dom		*u = drain_units_quota(line);
	struct quota_day	 next;
	struct xfer		*x;
	size_t			 n = 0;

	quota_day_of(d->rep.clock, u->day.end, &next);
	while ((x = TAILQ_FIRST(&line->staged)) != NULL) {
		TAILQ_REMOVE(&line->staged, x, entry);
		line->s.staged--;
		d->nstaged--;
		x->defer_to = next.start;
		x->defer_day = next.date;
		drain_commit_finish(d, x, OUTCOME_DEFERRED);
		n++;
	}
	TAILQ_REMOVE(&d->sdoms, line, sentry);
	/* Once a day at info; the batches after it at debug. */
	if (u->full_logged != u->day.date)
		log_info("drain: %s used its quota of %" PRIu64 " for %d; its "
		    "due jobs move to the next day (%zu now)", u->name,
		    u->limit, (int)u->day.date, n);
	else
		log_debug("drain: %s: %zu more jobs move to the next day",
		    u->name, n);
	u->full_logged = u->day.date;
	u->deferred += n;
}

/* A transfer starts: it counts against its unit's day. */
void
drain_quota_started(struct drain *d, struct xfer *x)
{
	struct dom	*u = drain_units_quota(x->dom);

	(void)d;
	if (!u->tracked || !u->day_known)
		return;
	u->used++;
	x->qday = u->day.date;
}

/* A transfer ended: one that did not go out gives its count back. */
void
drain_quota_finished(struct drain *d, struct xfer *x, enum xfer_outcome o)
{
	struct dom	*u;

	(void)d;
	if (x->qday == 0 || o == OUTCOME_SENT)
		return;
	u = drain_units_quota(x->dom);
	if (u->day.date == x->qday && u->used > 0)
		u->used--;
	x->qday = 0;
}
