/*
 * quiet_policy.h: the caps' decision composed with quiet hours.
 *
 * A message the caps make due while its recipient sleeps is due at the
 * end of their quiet time instead; the caps are asked again from there
 * (a slot reserved in the morning must keep the gap to what is already
 * reserved then), until one instant suits both.  The history reserves
 * that final instant only.  Pure: reads no clock and no store.
 */
#ifndef MANNERS_QUIET_POLICY_H
#define MANNERS_QUIET_POLICY_H

#include "policy.h"
#include "quiet.h"

/* Why an admitted message is not due at once. */
enum quiet_policy_cause {
	QUIET_CAUSE_NONE,	/* accepted: due now (or at send-after) */
	QUIET_CAUSE_CAPS,	/* deferred by the caps alone */
	QUIET_CAUSE_QUIET	/* deferred to the end of a quiet time */
};

/*
 * policy_decide(), then quiet time in zone z under rules r (z NULL or
 * no rules: the caps' decision as it is).  A message that only quiet
 * time pushes to or past `expires` is rejected as POLICY_QUIET_HOURS.
 */
void	quiet_policy_decide(const struct policy_input *, struct quiet_zone *,
	    const struct quiet_rules *, struct policy_decision *,
	    enum quiet_policy_cause *);

#endif
