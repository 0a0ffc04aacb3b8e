/*
 * pace.h: even spacing of sends (GCRA: the generic cell rate algorithm,
 * a token bucket expressed as one "theoretical arrival time").
 *
 * With burst 1, sends are exactly one interval apart, never bunched at
 * second boundaries.  Instants are struct instant on any monotonic
 * clock, passed in by the caller; durations are milliseconds.  The
 * struct is public so that owners can embed it; read it through the
 * functions below.
 */
#ifndef MANNERS_PACE_H
#define MANNERS_PACE_H

#include "conf.h"
#include "instant.h"

struct pace {
	double		 interval;	/* ms between sends; 0: unlimited */
	double		 base;		/* the configured interval, ms */
	struct instant	 tat;		/* theoretical arrival time */
	unsigned	 burst;
	unsigned	 slowed;	/* times halved since last at base */
};

void	 pace_init(struct pace *, const struct conf_rate *, unsigned);
/* Apply a new configured rate, keeping the schedule. */
void	 pace_reconfigure(struct pace *, const struct conf_rate *, unsigned);
/* Milliseconds to wait before a send is allowed at `now` (0: now). */
double	 pace_wait(const struct pace *, struct instant);
/* A send at `at` takes its slot: the next comes one interval later. */
void	 pace_take(struct pace *, struct instant);
/*
 * A send at `at` takes its slot, but the cadence keeps its schedule: a
 * send a late timer let through less than one interval after its slot
 * counts from the slot, so the timer's latency does not add to every
 * interval.
 */
void	 pace_take_on_schedule(struct pace *, struct instant);
/*
 * The send taken last really began at `started` (later than when it was
 * taken, say after waiting for a connection): the next one may come no
 * sooner than one interval after that.
 */
void	 pace_started(struct pace *, struct instant);
/* After a rate became faster: the next slot no later than one new
 * interval from `now`. */
void	 pace_clamp(struct pace *, struct instant);
int	 pace_limited(const struct pace *);	/* not unlimited */
/* Nothing to remember at `now`: no slow-down, no slot still ahead. */
int	 pace_idle(const struct pace *, struct instant);
/* A temporary failure: halve the rate (at most down to 1/min). */
void	 pace_slow_down(struct pace *);
/* A success: win back 2% of the interval towards the configured one. */
void	 pace_recover(struct pace *);
double	 pace_rate(const struct pace *);	/* current sends per second */
double	 pace_interval_ms(const struct pace *);	/* now; 0: unlimited */

#endif
