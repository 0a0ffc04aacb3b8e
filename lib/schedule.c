/*
 * schedule.c: the drain's scheduling rules (see schedule.h).
 */
#include <string.h>

#include "schedule.h"

/* A domain with its configured cadence and concurrency, nothing staged. */
void
schedule_dom_init(struct schedule_dom *s, const struct conf_rate *r,
    unsigned limit)
{
	memset(s, 0, sizeof *s);
	pace_init(&s->pace, r, 1);
	s->limit = limit;
}

/* May the domain send at `at` by its own limits alone? */
static enum schedule_hold
schedule_dom_hold_own(const struct schedule_dom *s, struct instant at,
    double *wait_ms)
{
	double	 w;

	*wait_ms = 0.0;
	if (s->blocked)
		return SCHEDULE_BLOCKED;
	if (s->limit != 0 && s->inflight >= s->limit)
		return SCHEDULE_FULL;
	/*
	 * A paced domain counts its next slot from the real start of the
	 * last (pace_started()); until then that slot is not known.
	 */
	if (s->unsent > 0)
		return SCHEDULE_UNSENT;
	if ((w = pace_wait(&s->pace, at)) > 0) {
		*wait_ms = w;
		return SCHEDULE_PACED;
	}
	return SCHEDULE_FREE;
}

/*
 * May the domain send at slot `at`?  When its cadence holds it, `*wait_ms`
 * is how long after `at` it may.  A domain inside a group (s->parent)
 * must also be let go by the group: a hold other than the cadence wins,
 * and of two cadences the later slot.
 */
enum schedule_hold
schedule_dom_hold(const struct schedule_dom *s, struct instant at,
    double *wait_ms)
{
	enum schedule_hold	 h, ph;
	double			 pw;

	h = schedule_dom_hold_own(s, at, wait_ms);
	if (s->parent == NULL || (h != SCHEDULE_FREE && h != SCHEDULE_PACED))
		return h;
	ph = schedule_dom_hold_own(s->parent, at, &pw);
	if (ph != SCHEDULE_FREE && ph != SCHEDULE_PACED)
		return ph;
	if (ph == SCHEDULE_PACED && pw > *wait_ms) {
		*wait_ms = pw;
		h = SCHEDULE_PACED;
	}
	return h;
}

/* Has the domain nothing worth remembering at `now` (it may be forgotten)? */
int
schedule_dom_idle(const struct schedule_dom *s, struct instant now)
{
	return s->inflight == 0 && s->staged == 0 && s->tempfails == 0 &&
	    pace_idle(&s->pace, now);
}

/* A message accepted: the run of 4xx ends, and a slowed rate recovers. */
void
schedule_dom_sent(struct schedule_dom *s)
{
	s->tempfails = 0;
	pace_recover(&s->pace);
}

/*
 * A temporary failure with SMTP code `code` (0: none, say a timeout).
 * Returns 1 when it halved the domain's rate: SCHEDULE_SLOW_AFTER 4xx
 * answers in a row.  A failure without a 4xx is the relay's or the
 * network's, not the domain's, and costs it nothing.
 */
int
schedule_dom_tempfail(struct schedule_dom *s, long code)
{
	if (code < 400 || code >= 500)
		return 0;
	if (++s->tempfails < SCHEDULE_SLOW_AFTER)
		return 0;
	pace_slow_down(&s->pace);
	s->tempfails = 0;
	return 1;
}

/*
 * How early a paced send may be picked before its slot, with `running`
 * of `concurrency` connections busy: SCHEDULE_LEAD_MS, but never with the
 * last free connection, which waiting for the slot would keep from the
 * sends due meanwhile.
 */
double
schedule_lead_ms(size_t running, size_t concurrency)
{
	return running + 1 < concurrency ? SCHEDULE_LEAD_MS : 0.0;
}

/*
 * The global cadence's next slot from `now`, with `lead_ms`: returns 1
 * and fills `slot` when a send may be picked now, else 0 with `*wake_ms`
 * the time until one may (its slot less the lead).
 */
int
schedule_slot(const struct pace *global, struct instant now, double lead_ms,
    struct schedule_slot *slot, double *wake_ms)
{
	double	 w = pace_wait(global, now);

	if (w > lead_ms) {
		*wake_ms = w - lead_ms;
		return 0;
	}
	slot->wait_ms = w;
	slot->at = instant_add(now, w);
	return 1;
}

/*
 * When to look again for a domain its cadence holds `dom_wait_ms` past
 * the slot: from now, with the lead, and never in the past.
 */
double
schedule_held_wake_ms(const struct schedule_slot *slot, double dom_wait_ms,
    double lead_ms)
{
	double	 w = slot->wait_ms + dom_wait_ms - lead_ms;

	return w > 0 ? w : 0.0;
}

/* Start a pick for slot `at` over queue keys of `keylen` bytes. */
void
schedule_pick_begin(struct schedule_pick *p, struct instant at, size_t keylen)
{
	memset(p, 0, sizeof *p);
	p->at = at;
	p->keylen = keylen;
}

/*
 * Offer a staged domain whose first job has queue key `key`: it becomes
 * the pick when it may send and its job comes first in queue order.
 */
void
schedule_pick_offer(struct schedule_pick *p, const struct schedule_dom *s,
    const uint8_t *key, void *item)
{
	double	 w;

	switch (schedule_dom_hold(s, p->at, &w)) {
	case SCHEDULE_FREE:
		break;
	case SCHEDULE_PACED:
		if (!p->paced || w < p->wait_ms)
			p->wait_ms = w;
		p->paced = 1;
		/* FALLTHROUGH */
	default:
		p->held++;
		return;
	}
	if (p->key == NULL || memcmp(key, p->key, p->keylen) < 0) {
		p->key = key;
		p->best = item;
	}
}

/*
 * Whether to read a due job ahead, given its campaign: a shaped campaign
 * has at most `ahead` jobs staged (so the pick passes at most that many
 * of its jobs in a line), and once one of its jobs is left for its own
 * read, the later ones wait for that read too (queue order within the
 * campaign).  A paused, cancelled or suspended campaign's jobs are passed
 * over: a pause of a campaign with thousands of jobs due must not hold up
 * the others behind them.
 */
enum schedule_read
schedule_read(const struct schedule_campaign *c, size_t ahead)
{
	if (c->paused)
		return SCHEDULE_PASS;
	if (!c->active)
		return SCHEDULE_SKIP;
	if (c->suspended)
		return SCHEDULE_PASS;
	if (c->shaped && (c->behind || c->staged >= ahead))
		return SCHEDULE_BEHIND;
	return SCHEDULE_STAGE;
}

/*
 * Seconds before attempt `attempts` + 1: doubling from `min_s` up to
 * `max_s`, less up to a quarter (`rnd` picks how much) so that the
 * retries of one burst spread out; at least a second.
 */
int64_t
schedule_backoff_s(uint64_t min_s, uint64_t max_s, uint32_t attempts,
    unsigned long rnd)
{
	uint64_t	 b = min_s;
	uint32_t	 i;

	for (i = 1; i < attempts && b < max_s; i++)
		b *= 2;
	if (b > max_s)
		b = max_s;
	b -= (uint64_t)(rnd % (b / 4 + 1));
	return (int64_t)(b == 0 ? 1 : b);
}

/*
 * Does a retry give up: would it come more than `max_age_s` after the
 * job was queued, `age_s` ago, waiting `backoff_s` more?
 */
int
schedule_retry_expired(int64_t age_s, int64_t backoff_s, uint64_t max_age_s)
{
	return age_s + backoff_s > (int64_t)max_age_s;
}
