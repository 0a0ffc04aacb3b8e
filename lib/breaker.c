/*
 * breaker.c: the campaign circuit breakers (see breaker.h).
 */
#include <stddef.h>
#include <stdio.h>

#include "breaker.h"

/* A count since the baseline; a baseline above it (a store restored
 * from an older backup) counts as zero. */
static uint64_t
breaker_since(uint64_t now, uint64_t base)
{
	return now > base ? now - base : 0;
}

/* Whether n of sent reaches ppm parts per million (0: off). */
static int
breaker_reached(uint64_t n, uint64_t sent, uint32_t ppm)
{
	return ppm > 0 && n > 0 && n * BREAKER_PPM >= (uint64_t)ppm * sent;
}

/*
 * Whether n of sent reaches the limit of key (ppm parts per million; 0:
 * off), with the sentence for the status and the log in why.
 */
static int
breaker_trips(uint64_t n, uint64_t sent, uint32_t ppm, const char *what,
    const char *key, char *why, size_t whysz)
{
	if (!breaker_reached(n, sent, ppm))
		return 0;
	snprintf(why, whysz, "%s rate %.2f %% (%llu of %llu sent) reached "
	    "%s %.2f %%", what, 100.0 * (double)n / (double)sent,
	    (unsigned long long)n, (unsigned long long)sent, key,
	    ppm / 10000.0);
	return 1;
}

enum breaker_trip
breaker_check(const struct breaker_limits *lim, const struct breaker_counts *c,
    const struct breaker_counts *base, char *why, size_t whysz)
{
	uint64_t	 sent;

	sent = breaker_since(c->sent, base->sent);
	if (sent == 0 || sent < lim->min_sent)
		return BREAKER_NONE;
	/* Complaints first: they cost a sender the most. */
	if (breaker_trips(breaker_since(c->complaints, base->complaints), sent,
	    lim->complaint_ppm, "complaint", "pause_complaint_rate", why,
	    whysz))
		return BREAKER_COMPLAINTS;
	if (breaker_trips(breaker_since(c->bounces, base->bounces), sent,
	    lim->bounce_ppm, "hard-bounce", "pause_bounce_rate", why, whysz))
		return BREAKER_BOUNCES;
	return BREAKER_NONE;
}

const char *
breaker_name(enum breaker_trip t)
{
	switch (t) {
	case BREAKER_COMPLAINTS:
		return "complaint_rate";
	case BREAKER_BOUNCES:
		return "bounce_rate";
	case BREAKER_NONE:
		break;
	}
	return "";
}
