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

enum breaker_trip
breaker_check(const struct breaker_limits *lim, const struct breaker_counts *c,
    const struct breaker_counts *base, char *why, size_t whysz)
{
	uint64_t	 sent, n;

	sent = breaker_since(c->sent, base->sent);
	if (sent == 0 || sent < lim->min_sent)
		return BREAKER_NONE;
	/* Complaints first: they cost a sender the most. */
	n = breaker_since(c->complaints, base->complaints);
	if (breaker_reached(n, sent, lim->complaint_ppm)) {
		snprintf(why, whysz, "complaint rate %.2f %% (%llu of %llu "
		    "sent) reached pause_complaint_rate %.2f %%",
		    100.0 * (double)n / (double)sent, (unsigned long long)n,
		    (unsigned long long)sent, lim->complaint_ppm / 10000.0);
		return BREAKER_COMPLAINTS;
	}
	n = breaker_since(c->bounces, base->bounces);
	if (breaker_reached(n, sent, lim->bounce_ppm)) {
		snprintf(why, whysz, "hard-bounce rate %.2f %% (%llu of %llu "
		    "sent) reached pause_bounce_rate %.2f %%",
		    100.0 * (double)n / (double)sent, (unsigned long long)n,
		    (unsigned long long)sent, lim->bounce_ppm / 10000.0);
		return BREAKER_BOUNCES;
	}
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
