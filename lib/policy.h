/*
 * policy.h: the decision, for one recipient of one campaign, whether a
 * message is welcome now, later or never.  A pure function: it reads no
 * clock and no database; the store feeds it.
 */
#ifndef MANNERS_POLICY_H
#define MANNERS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"

enum policy_verdict {
	POLICY_ACCEPT,
	POLICY_DEFER,
	POLICY_REJECT
};

enum policy_reason {
	POLICY_OK = 0,
	POLICY_UNSUBSCRIBED,
	POLICY_FREQUENCY_CAP,
	POLICY_DUPLICATE,
	POLICY_INVALID_ADDRESS,
	POLICY_SUPPRESSED,
	POLICY_DAILY_LIMIT,	/* no quota day before expires has room */
	POLICY_QUIET_HOURS,	/* no time out of quiet hours before expiry */
	POLICY_NREASONS
};

struct policy_input {
	const int64_t		*times;	/* every message sent or reserved */
	size_t			 ntimes;
	int			 invalid;
	int			 duplicate;
	int			 suppressed;
	int			 unsub_list;
	int			 unsub_all;
	struct conf_cap		 cap;	/* the list's cap */
	uint64_t		 min_gap;
	struct conf_cap		 pref;	/* the recipient's own; count 0: none */
	int64_t			 send_after;	/* 0: none */
	int64_t			 pause_until;	/* the recipient's; 0: none */
	int64_t			 expires;
	int64_t			 now;
};

struct policy_decision {
	enum policy_verdict	 verdict;
	enum policy_reason	 reason;
	int64_t			 due;
};

void		 policy_decide(const struct policy_input *,
		    struct policy_decision *);
/* The earliest time >= from that every cap allows; INT64_MAX: never. */
int64_t		 policy_next_allowed(const int64_t *, size_t,
		    const struct conf_cap *, uint64_t, const struct conf_cap *,
		    int64_t);
const char	*policy_reason_name(enum policy_reason);

#endif
