/*
 * pace.c: GCRA pacing with adaptive slow-down.
 */
#include "pace.h"

#define PACE_SLOWEST_MS		60000.0	/* never slower than 1/min */

/* Milliseconds between sends at a configured rate; 0: unlimited. */
static double
pace_rate_interval(const struct conf_rate *r)
{
	if (r->count == 0)
		return 0.0;
	return 1000.0 * (double)r->per / (double)r->count;
}

/* A cadence at a configured rate, with its first slot free at once. */
void
pace_init(struct pace *p, const struct conf_rate *r, unsigned burst)
{
	p->base = p->interval = pace_rate_interval(r);
	p->tat.ms = 0.0;
	p->burst = burst == 0 ? 1 : burst;
	p->slowed = 0;
}

/* A new configured rate: a slow-down slower than it is kept. */
void
pace_reconfigure(struct pace *p, const struct conf_rate *r, unsigned burst)
{
	double	 old = p->base;

	p->base = pace_rate_interval(r);
	p->burst = burst == 0 ? 1 : burst;
	if (p->base == 0.0 || old == 0.0 || p->interval < p->base)
		p->interval = p->base;
	else if (p->slowed == 0)
		p->interval = p->base;
}

/* Milliseconds from `now` until a send is allowed. */
double
pace_wait(const struct pace *p, struct instant now)
{
	struct instant	 allowed;

	if (p->interval == 0.0)
		return 0.0;
	/* A burst lets that many sends come before the arrival time. */
	allowed = instant_add(p->tat, -(double)(p->burst - 1) * p->interval);
	return instant_before(now, allowed) ? instant_since(allowed, now) : 0.0;
}

/* A send at `at`: the next slot is one interval after the later of both. */
void
pace_take(struct pace *p, struct instant at)
{
	if (p->interval == 0.0)
		return;
	p->tat = instant_add(instant_max(p->tat, at), p->interval);
}

/* A send at `at`, counted from its slot when only a little late. */
void
pace_take_on_schedule(struct pace *p, struct instant at)
{
	if (instant_before(p->tat, at) &&
	    instant_since(at, p->tat) < p->interval)
		at = p->tat;
	pace_take(p, at);
}

/*
 * A faster rate now than when the next slot was set (a slow-down ended):
 * that slot comes no later than one interval of the new rate from now.
 */
void
pace_clamp(struct pace *p, struct instant now)
{
	struct instant	 latest = instant_add(now, p->interval);

	if (instant_before(latest, p->tat))
		p->tat = latest;
}

/* Is there a cadence at all? */
int
pace_limited(const struct pace *p)
{
	return p->interval != 0.0;
}

/* Neither slowed down nor holding a slot after `now`. */
int
pace_idle(const struct pace *p, struct instant now)
{
	return p->slowed == 0 && instant_before(p->tat, now);
}

/* The send really began at `started`: no next one before an interval. */
void
pace_started(struct pace *p, struct instant started)
{
	if (p->interval == 0.0)
		return;
	p->tat = instant_max(p->tat, instant_add(started, p->interval));
}

/* Halve the rate, down to one a minute, but never faster than configured. */
void
pace_slow_down(struct pace *p)
{
	if (p->interval == 0.0)
		return;
	p->interval *= 2.0;
	if (p->interval > PACE_SLOWEST_MS)
		p->interval = PACE_SLOWEST_MS;
	if (p->interval < p->base)
		p->interval = p->base;
	p->slowed++;
}

/* Shorten a slowed interval by 2%, back to the configured one. */
void
pace_recover(struct pace *p)
{
	if (p->interval <= p->base)
		return;
	p->interval *= 0.98;
	if (p->interval <= p->base) {
		p->interval = p->base;
		p->slowed = 0;
	}
}

/* Sends per second now; 0: unlimited. */
double
pace_rate(const struct pace *p)
{
	return p->interval == 0.0 ? 0.0 : 1000.0 / p->interval;
}

/* Milliseconds between sends now; 0: unlimited. */
double
pace_interval_ms(const struct pace *p)
{
	return p->interval;
}
