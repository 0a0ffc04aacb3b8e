/*
 * pace.c: GCRA pacing with adaptive slow-down.
 */
#include "pace.h"

#define PACE_SLOWEST_MS		60000.0	/* never slower than 1/min */

static double
pace_interval(const struct conf_rate *r)
{
	if (r->count == 0)
		return 0.0;
	return 1000.0 * (double)r->per / (double)r->count;
}

void
pace_init(struct pace *p, const struct conf_rate *r, unsigned burst)
{
	p->base = p->interval = pace_interval(r);
	p->tat = 0.0;
	p->burst = burst == 0 ? 1 : burst;
	p->slowed = 0;
}

void
pace_reconfigure(struct pace *p, const struct conf_rate *r, unsigned burst)
{
	double	 old = p->base;

	p->base = pace_interval(r);
	p->burst = burst == 0 ? 1 : burst;
	if (p->base == 0.0 || old == 0.0 || p->interval < p->base)
		p->interval = p->base;
	else if (p->slowed == 0)
		p->interval = p->base;
}

double
pace_wait(const struct pace *p, double now)
{
	double	 allowed;

	if (p->interval == 0.0)
		return 0.0;
	allowed = p->tat - (double)(p->burst - 1) * p->interval;
	return allowed > now ? allowed - now : 0.0;
}

void
pace_take(struct pace *p, double now)
{
	if (p->interval == 0.0)
		return;
	p->tat = (p->tat > now ? p->tat : now) + p->interval;
}

int
pace_limited(const struct pace *p)
{
	return p->interval != 0.0;
}

void
pace_started(struct pace *p, double started)
{
	if (p->interval == 0.0)
		return;
	if (p->tat < started + p->interval)
		p->tat = started + p->interval;
}

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

double
pace_rate(const struct pace *p)
{
	return p->interval == 0.0 ? 0.0 : 1000.0 / p->interval;
}
