/*
 * policy.c: frequency caps, minimum gaps and the verdict.
 *
 * A cap "N/W" means: no half-open interval [s, s + W) holds more than N
 * messages.  History holds sent messages and reserved (queued) ones,
 * which may lie in the future, so a candidate time is checked against
 * messages on both sides.
 */
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const char *policy_reason_names[POLICY_NREASONS] = {
	"ok", "unsubscribed", "frequency_cap", "duplicate", "invalid_address",
	"suppressed", "daily_limit", "quiet_hours"
};

const char *
policy_reason_name(enum policy_reason r)
{
	if ((unsigned)r >= POLICY_NREASONS)
		return "unknown";
	return policy_reason_names[r];
}

/* Would a message at t keep every window of `cap` at or under N? */
static int
policy_cap_ok(const int64_t *ts, size_t n, const struct conf_cap *cap,
    int64_t t)
{
	int64_t		 w = (int64_t)cap->window, s;
	uint64_t	 count;
	size_t		 i, j;

	if (cap->count == 0)
		return 1;
	/*
	 * The fullest window holding t starts at t or at a message in
	 * (t - W, t]; count the messages in [s, s + W) for each such s.
	 */
	for (i = 0; i <= n; i++) {
		s = i == n ? t : ts[i];
		if (s > t || s <= t - w)
			continue;
		count = 1;	/* the candidate itself */
		for (j = 0; j < n; j++)
			if (ts[j] >= s && ts[j] < s + w)
				count++;
		if (count > cap->count)
			return 0;
	}
	return 1;
}

/* Is t at least `gap` away from every message? */
static int
policy_gap_ok(const int64_t *ts, size_t n, uint64_t gap, int64_t t)
{
	size_t	 i;

	for (i = 0; i < n && gap > 0; i++) {
		int64_t	 d = t > ts[i] ? t - ts[i] : ts[i] - t;

		if ((uint64_t)d < gap)
			return 0;
	}
	return 1;
}

/* Does t satisfy everything? */
static int
policy_ok(const int64_t *ts, size_t n, const struct conf_cap *cap,
    uint64_t gap, const struct conf_cap *pref, int64_t t)
{
	return policy_gap_ok(ts, n, gap, t) && policy_cap_ok(ts, n, cap, t) &&
	    (pref == NULL || policy_cap_ok(ts, n, pref, t));
}

/*
 * Only a few instants can be the earliest allowed time: `from` itself,
 * or the moment some message stops blocking (ts + gap, ts + window).
 */
int64_t
policy_next_allowed(const int64_t *ts, size_t n, const struct conf_cap *cap,
    uint64_t gap, const struct conf_cap *pref, int64_t from)
{
	int64_t		 best = INT64_MAX, c;
	size_t		 i, k;
	int64_t		 adds[3];

	if (pref != NULL && pref->count == 0)
		pref = NULL;
	if (policy_ok(ts, n, cap, gap, pref, from))
		return from;
	for (i = 0; i < n; i++) {
		adds[0] = (int64_t)gap;
		adds[1] = (int64_t)cap->window;
		adds[2] = pref != NULL ? (int64_t)pref->window : 0;
		for (k = 0; k < 3; k++) {
			if (adds[k] <= 0)
				continue;
			c = ts[i] + adds[k];
			if (c <= from || c >= best)
				continue;
			if (policy_ok(ts, n, cap, gap, pref, c))
				best = c;
		}
	}
	return best;
}

void
policy_decide(const struct policy_input *in, struct policy_decision *d)
{
	int64_t	 from, t;

	d->verdict = POLICY_REJECT;
	d->due = 0;
	/* Order matters: the most final reason wins the report. */
	if (in->invalid)
		d->reason = POLICY_INVALID_ADDRESS;
	else if (in->unsub_all || in->unsub_list)
		d->reason = POLICY_UNSUBSCRIBED;
	else if (in->suppressed)
		d->reason = POLICY_SUPPRESSED;
	else if (in->duplicate)
		d->reason = POLICY_DUPLICATE;
	else
		d->reason = POLICY_OK;
	if (d->reason != POLICY_OK)
		return;
	from = in->send_after > in->now ? in->send_after : in->now;
	/* A recipient's pause defers, as a cap does; it ends by itself. */
	t = policy_next_allowed(in->times, in->ntimes, &in->cap, in->min_gap,
	    &in->pref, in->pause_until > from ? in->pause_until : from);
	if (t == INT64_MAX || t >= in->expires) {
		d->reason = POLICY_FREQUENCY_CAP;
		return;
	}
	d->verdict = t == from ? POLICY_ACCEPT : POLICY_DEFER;
	d->due = t;
}
