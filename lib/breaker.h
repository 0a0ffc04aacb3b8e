/*
 * breaker.h: the campaign circuit breakers, as a pure decision.
 *
 * Mailbox providers judge a sender by its complaint and bounce rates
 * (Gmail and Yahoo ask for complaints under 0.3 %).  A campaign whose
 * rate reaches a limit is paused before it does more harm.  The rates
 * count what went out since the breaker was last released (a resume
 * sets that baseline), so an operator who resumes a campaign is not
 * stopped again by the complaints that tripped it, only by new ones at
 * the same rate.
 */
#ifndef MANNERS_BREAKER_H
#define MANNERS_BREAKER_H

#include <stdint.h>

/* Rates in parts per million (0.3 % is 3000): whole numbers compare
 * exactly, where 0.003 * 1000 in floating point need not be 3. */
#define BREAKER_PPM	1000000

struct breaker_limits {
	uint32_t	 complaint_ppm;		/* 0: off */
	uint32_t	 bounce_ppm;		/* 0: off */
	uint64_t	 min_sent;		/* no trip on fewer */
};

struct breaker_counts {
	uint64_t	 sent;
	uint64_t	 bounces;		/* hard bounces */
	uint64_t	 complaints;
};

enum breaker_trip {
	BREAKER_NONE = 0,
	BREAKER_COMPLAINTS,
	BREAKER_BOUNCES
};

/*
 * Whether a campaign with counts now, and base at its last release
 * (all zero if never), must be paused, and why.  When it must, a reason
 * for the status and the log is written to why (whysz bytes).
 */
enum breaker_trip breaker_check(const struct breaker_limits *,
		    const struct breaker_counts *, const struct breaker_counts *,
		    char *, size_t);
/* "complaint_rate", "bounce_rate", or "" for BREAKER_NONE. */
const char	*breaker_name(enum breaker_trip);

#endif
