/*
 * quiet_policy.c: the caps and quiet hours agreeing on one instant (see
 * quiet_policy.h).
 */
#include <stdint.h>

#include "quiet_policy.h"

/*
 * Each round moves the instant forward (to a quiet time's end, then to
 * the caps' next slot): a few rounds settle any real case; more means
 * the two keep pushing each other away, and the message is refused.
 */
#define QUIET_POLICY_ROUNDS	64

void
quiet_policy_decide(const struct policy_input *in, struct quiet_zone *z,
    const struct quiet_rules *r, struct policy_decision *d,
    enum quiet_policy_cause *cause)
{
	int64_t	 from, capped, t, q;
	int	 round, agreed = 0;

	policy_decide(in, d);
	*cause = d->verdict == POLICY_DEFER ? QUIET_CAUSE_CAPS :
	    QUIET_CAUSE_NONE;
	if (d->verdict == POLICY_REJECT || z == NULL || !quiet_any(r))
		return;
	from = in->send_after > in->now ? in->send_after : in->now;
	capped = t = d->due;
	for (round = 0; round < QUIET_POLICY_ROUNDS; round++) {
		if ((q = quiet_next_allowed(z, r, t)) == t) {
			agreed = 1;
			break;
		}
		if (q >= in->expires)
			break;
		/* The caps again from the morning: never two slots. */
		t = policy_next_allowed(in->times, in->ntimes, &in->cap,
		    in->min_gap, &in->pref, q);
		if (t == INT64_MAX || t >= in->expires)
			break;
	}
	if (!agreed) {
		d->verdict = POLICY_REJECT;
		d->reason = POLICY_QUIET_HOURS;
		d->due = 0;
		*cause = QUIET_CAUSE_NONE;
		return;
	}
	d->due = t;
	d->verdict = t == from ? POLICY_ACCEPT : POLICY_DEFER;
	if (t != capped)
		*cause = QUIET_CAUSE_QUIET;
}
