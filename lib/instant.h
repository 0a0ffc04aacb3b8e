/*
 * instant.h: a point on the monotonic clock, kept apart from durations.
 *
 * An instant is a struct, a duration a plain double of milliseconds
 * named *_ms: adding two instants, or passing a duration where an
 * instant is meant, does not compile.  The origin is whatever the clock's
 * is; only differences between instants mean anything.
 */
#ifndef MANNERS_INSTANT_H
#define MANNERS_INSTANT_H

#include <time.h>

struct instant {
	double		 ms;		/* since the clock's origin */
};

/* Now, on the monotonic clock (for the daemon and benchmarks: policy
 * functions take their instants as arguments). */
static inline struct instant
instant_now(void)
{
	struct timespec	 ts;
	struct instant	 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now.ms = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
	return now;
}

/* The instant `ms` milliseconds after `t` (before it when negative). */
static inline struct instant
instant_add(struct instant t, double ms)
{
	struct instant	 r = { t.ms + ms };

	return r;
}

/* Milliseconds from `from` to `to` (negative when `to` is earlier). */
static inline double
instant_since(struct instant to, struct instant from)
{
	return to.ms - from.ms;
}

/* Is `a` earlier than `b`? */
static inline int
instant_before(struct instant a, struct instant b)
{
	return a.ms < b.ms;
}

/* The later of two instants. */
static inline struct instant
instant_max(struct instant a, struct instant b)
{
	return a.ms > b.ms ? a : b;
}

#endif
