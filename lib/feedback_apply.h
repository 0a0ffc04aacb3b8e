/*
 * feedback_apply.h: what a returned message changes, inside the
 * caller's write transaction.
 *
 * The message is attributed to a recipient only through a token that
 * verifies (a return-path token names the recipient and the campaign, a
 * link token the recipient and the list); without one nothing changes.
 * Then, as DESIGN.md's flow says:
 *   bounce of a bad mailbox   -> the address is suppressed
 *   other bounce, delay       -> recorded and counted
 *   complaint (ARF abuse)     -> unsubscribed from the list, "complaint"
 *   mailto: unsubscribe       -> unsubscribed from the list, "mail"
 *   auto-reply, anything else -> nothing
 * Each kind is counted once per delivery (a replay changes nothing), and
 * a campaign whose complaint or bounce rate reaches its limit is paused.
 */
#ifndef MANNERS_FEEDBACK_APPLY_H
#define MANNERS_FEEDBACK_APPLY_H

#include <stdint.h>

#include <jansson.h>

#include "breaker.h"
#include "store.h"

struct feedback;
struct store_txn;
struct token_keys;

struct feedback_apply_in {
	const struct feedback		*fb;
	const struct token_keys		*keys;
	struct breaker_limits		 limits;
	int64_t				 now;
};

struct feedback_apply_out {
	const char	*kind;		/* feedback_kind_name(), or
					   "unattributed" */
	const char	*action;	/* "suppressed", "unsubscribed",
					   "recorded" or "none" */
	char		 address[STORE_ADDR_MAX + 1];	/* "" if unattributed */
	char		 campaign[72];			/* "" if not known */
	char		 list[256];			/* "" if not known */
	int		 changed;	/* a flag or a counter changed */
	uint64_t	 dropped;	/* queued jobs dropped */
	enum breaker_trip trip;		/* the campaign was paused by it */
	char		 trip_why[256];
	char		 unattributed_why[128];	/* for the debug log */
};

/*
 * Attribute and apply one parsed message.  Campaign counters go to
 * states (ledger_flush_states() writes them).  Returns 0, or a store
 * error (< 0) with *cause set: the caller aborts the transaction.
 */
int	feedback_apply(struct store_txn *, const struct feedback_apply_in *,
	    json_t *, struct feedback_apply_out *, char **);

#endif
