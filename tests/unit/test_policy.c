/*
 * test_policy.c: the decision for one recipient, one named row per
 * situation, and the earliest allowed time for awkward histories.
 *
 * Every time is relative to a fixed NOW: the functions read no clock.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "policy.h"
#include "util.h"

#define NOW	INT64_C(1800000000)
#define H	INT64_C(3600)
#define D	INT64_C(86400)
#define MAXT	8

#define CAP(n, w)	{ (n), (uint64_t)(w) }
#define NOCAP		{ 0, 0 }

/* One situation: the history as offsets from NOW, and what to expect. */
struct row {
	const char		*name;
	int64_t			 t[MAXT];	/* offsets from NOW */
	size_t			 nt;
	struct conf_cap		 cap;
	int64_t			 gap;
	struct conf_cap		 pref;
	int64_t			 send_after;	/* offset; 0: none */
	int64_t			 pause;		/* offset; 0: none */
	int64_t			 expires;	/* offset */
	unsigned		 flags;
	enum policy_verdict	 verdict;
	enum policy_reason	 reason;
	int64_t			 due;		/* offset, when not REJECT */
};

#define F_INVALID	0x01
#define F_DUPLICATE	0x02
#define F_SUPPRESSED	0x04
#define F_UNSUB_LIST	0x08
#define F_UNSUB_ALL	0x10

static const char *
verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ACCEPT:
		return "accept";
	case POLICY_DEFER:
		return "defer";
	case POLICY_REJECT:
		return "reject";
	}
	return "?";
}

/* Decide one row and compare, naming the row on failure. */
static void
check_row(const struct row *r)
{
	struct policy_input	 in;
	struct policy_decision	 d;
	int64_t			 times[MAXT];
	size_t			 i;

	for (i = 0; i < r->nt; i++)
		times[i] = NOW + r->t[i];
	memset(&in, 0, sizeof in);
	in.times = times;
	in.ntimes = r->nt;
	in.invalid = (r->flags & F_INVALID) != 0;
	in.duplicate = (r->flags & F_DUPLICATE) != 0;
	in.suppressed = (r->flags & F_SUPPRESSED) != 0;
	in.unsub_list = (r->flags & F_UNSUB_LIST) != 0;
	in.unsub_all = (r->flags & F_UNSUB_ALL) != 0;
	in.cap = r->cap;
	in.min_gap = (uint64_t)r->gap;
	in.pause_until = r->pause != 0 ? NOW + r->pause : 0;
	in.pref = r->pref;
	in.send_after = r->send_after != 0 ? NOW + r->send_after : 0;
	in.expires = NOW + r->expires;
	in.now = NOW;

	memset(&d, 0xa5, sizeof d);
	policy_decide(&in, &d);
	cr_expect_eq(d.verdict, r->verdict, "%s: %s, want %s", r->name,
	    verdict_name(d.verdict), verdict_name(r->verdict));
	cr_expect_eq(d.reason, r->reason, "%s: reason %s, want %s", r->name,
	    policy_reason_name(d.reason), policy_reason_name(r->reason));
	if (r->verdict != POLICY_REJECT)
		cr_expect_eq(d.due, NOW + r->due, "%s: due NOW%+lld s, want "
		    "NOW%+lld s", r->name, (long long)(d.due - NOW),
		    (long long)r->due);
	else
		cr_expect_eq(d.due, 0, "%s: a rejection carries due %lld",
		    r->name, (long long)d.due);
}

static const struct row rows[] = {
	{ .name = "a paused recipient is deferred to the pause's end",
	  .cap = CAP(4, 30 * D), .pause = 91 * D, .expires = 100 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 91 * D },

	{ .name = "a pause that outlasts the campaign rejects as "
	    "frequency_cap",
	  .cap = CAP(4, 30 * D), .pause = 91 * D, .expires = 91 * D,
	  .verdict = POLICY_REJECT, .reason = POLICY_FREQUENCY_CAP },

	{ .name = "a pause that is over changes nothing",
	  .cap = CAP(4, 30 * D), .pause = -D, .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "after a pause the caps still apply",
	  .t = { -5 * D }, .nt = 1,
	  .cap = CAP(1, 30 * D), .pause = 10 * D, .expires = 60 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 25 * D },

	{ .name = "a recipient with no history is accepted now",
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "a recipient under the cap is accepted now",
	  .t = { -20 * D, -10 * D, -5 * D }, .nt = 3,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "a recipient at the cap is deferred until the oldest "
	    "message leaves the window",
	  .t = { -5 * D, -20 * D }, .nt = 2,
	  .cap = CAP(2, 30 * D), .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 10 * D },

	{ .name = "a recipient over the cap (after a config change) waits "
	    "until enough messages leave",
	  .t = { -25 * D, -20 * D, -15 * D, -10 * D }, .nt = 4,
	  .cap = CAP(2, 30 * D), .expires = 60 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 15 * D },

	{ .name = "a message exactly one window old is outside the window",
	  .t = { -30 * D }, .nt = 1,
	  .cap = CAP(1, 30 * D), .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "a message one second inside the window still counts",
	  .t = { -30 * D + 1 }, .nt = 1,
	  .cap = CAP(1, 30 * D), .expires = 7 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 1 },

	{ .name = "the minimum gap defers a message right after another",
	  .t = { -1 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 7 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 1 * D },

	{ .name = "a message exactly min_gap ago does not defer",
	  .t = { -2 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "the minimum gap holds against a reservation ahead too",
	  .t = { 1 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 7 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 3 * D },

	{ .name = "min gap with reservations on both sides skips past the "
	    "later one",
	  .t = { -1 * D, 2 * D }, .nt = 2,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 4 * D },

	{ .name = "min gap with reservations on both sides fits between "
	    "them when there is room",
	  .t = { -1 * D, 5 * D }, .nt = 2,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 1 * D },

	{ .name = "a reservation ahead far enough leaves now free",
	  .t = { 2 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .expires = 30 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "a reservation ahead fills the window that now would open",
	  .t = { 3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 10 * D },

	{ .name = "a stricter list override (1/7d) defers what [caps] "
	    "(4/30d) would accept",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 4 * D },

	{ .name = "a preference of 1/30d stricter than the list defers",
	  .t = { -10 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .pref = CAP(1, 30 * D), .expires = 60 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 20 * D },

	{ .name = "a preference stricter than the list past expiry rejects",
	  .t = { -10 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .pref = CAP(1, 30 * D), .expires = 7 * D,
	  .verdict = POLICY_REJECT, .reason = POLICY_FREQUENCY_CAP },

	{ .name = "a preference looser than the list does not loosen it",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .pref = CAP(10, 1 * D), .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 4 * D },

	{ .name = "a preference applies even when the list is unlimited",
	  .t = { -10 * D }, .nt = 1,
	  .cap = NOCAP, .pref = CAP(1, 30 * D), .expires = 60 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 20 * D },

	{ .name = "a deferral that fits before expiry is a deferral",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .expires = 5 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 4 * D },

	{ .name = "a deferral that does not fit before expiry is a "
	    "frequency_cap rejection",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .expires = 3 * D,
	  .verdict = POLICY_REJECT, .reason = POLICY_FREQUENCY_CAP },

	{ .name = "a deferral landing exactly on expiry is rejected",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .expires = 4 * D,
	  .verdict = POLICY_REJECT, .reason = POLICY_FREQUENCY_CAP },

	{ .name = "a deferral one second before expiry is kept",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .expires = 4 * D + 1,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 4 * D },

	{ .name = "send_after in the future with free caps is accepted for "
	    "send_after",
	  .t = { -20 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .send_after = 2 * D,
	  .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 2 * D },

	{ .name = "send_after in the past means now",
	  .cap = CAP(4, 30 * D), .send_after = -1 * D, .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "send_after inside a capped stretch defers past it",
	  .t = { -3 * D }, .nt = 1,
	  .cap = CAP(1, 7 * D), .send_after = 1 * D, .expires = 30 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 4 * D },

	{ .name = "send_after clears the min gap on its own",
	  .t = { -1 * D }, .nt = 1,
	  .cap = CAP(4, 30 * D), .gap = 2 * D, .send_after = 3 * D,
	  .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 3 * D },

	{ .name = "unsubscribed from this list is rejected",
	  .cap = CAP(4, 30 * D), .expires = 7 * D, .flags = F_UNSUB_LIST,
	  .verdict = POLICY_REJECT, .reason = POLICY_UNSUBSCRIBED },

	{ .name = "unsubscribed from all lists is rejected",
	  .cap = CAP(4, 30 * D), .expires = 7 * D, .flags = F_UNSUB_ALL,
	  .verdict = POLICY_REJECT, .reason = POLICY_UNSUBSCRIBED },

	{ .name = "a duplicate of this campaign is rejected",
	  .cap = CAP(4, 30 * D), .expires = 7 * D, .flags = F_DUPLICATE,
	  .verdict = POLICY_REJECT, .reason = POLICY_DUPLICATE },

	{ .name = "a suppressed (hard-bounced) address is rejected",
	  .cap = CAP(4, 30 * D), .expires = 7 * D, .flags = F_SUPPRESSED,
	  .verdict = POLICY_REJECT, .reason = POLICY_SUPPRESSED },

	{ .name = "an invalid address wins over every other reason",
	  .t = { -1 }, .nt = 1,
	  .cap = CAP(1, 30 * D), .gap = 2 * D, .expires = 1,
	  .flags = F_INVALID | F_DUPLICATE | F_SUPPRESSED | F_UNSUB_LIST |
	      F_UNSUB_ALL,
	  .verdict = POLICY_REJECT, .reason = POLICY_INVALID_ADDRESS },

	{ .name = "unsubscribed wins over suppressed, duplicate and the cap",
	  .t = { -1 }, .nt = 1,
	  .cap = CAP(1, 30 * D), .expires = 1,
	  .flags = F_DUPLICATE | F_SUPPRESSED | F_UNSUB_LIST,
	  .verdict = POLICY_REJECT, .reason = POLICY_UNSUBSCRIBED },

	{ .name = "suppressed wins over duplicate",
	  .cap = CAP(4, 30 * D), .expires = 7 * D,
	  .flags = F_DUPLICATE | F_SUPPRESSED,
	  .verdict = POLICY_REJECT, .reason = POLICY_SUPPRESSED },

	{ .name = "a duplicate wins over a full cap",
	  .t = { -1 }, .nt = 1,
	  .cap = CAP(1, 30 * D), .expires = 1, .flags = F_DUPLICATE,
	  .verdict = POLICY_REJECT, .reason = POLICY_DUPLICATE },

	{ .name = "a cap of 0 is unlimited",
	  .t = { -4 * H, -3 * H, -2 * H, -1 * H, -1, 1, 2 * H }, .nt = 7,
	  .cap = NOCAP, .expires = 7 * D,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },

	{ .name = "a cap of 0 still honours the minimum gap",
	  .t = { -1 * H }, .nt = 1,
	  .cap = NOCAP, .gap = 2 * H, .expires = 7 * D,
	  .verdict = POLICY_DEFER, .reason = POLICY_OK, .due = 1 * H },

	{ .name = "no cap and no gap accepts even a message sent this second",
	  .t = { 0 }, .nt = 1,
	  .cap = NOCAP, .expires = 1,
	  .verdict = POLICY_ACCEPT, .reason = POLICY_OK, .due = 0 },
};

Test(policy, decides_every_situation_of_the_table)
{
	size_t	 i;

	for (i = 0; i < nitems(rows); i++)
		check_row(&rows[i]);
}

Test(policy, decides_the_same_whatever_the_history_order)
{
	static const int64_t	 a[] = { -1 * D, 2 * D, -20 * D };
	static const int64_t	 b[] = { 2 * D, -20 * D, -1 * D };
	struct conf_cap		 cap = CAP(3, 30 * D);
	int64_t			 ta[3], tb[3];
	size_t			 i;

	for (i = 0; i < 3; i++) {
		ta[i] = NOW + a[i];
		tb[i] = NOW + b[i];
	}
	cr_expect_eq(policy_next_allowed(ta, 3, &cap, 2 * D, NULL, NOW),
	    policy_next_allowed(tb, 3, &cap, 2 * D, NULL, NOW));
	/* +4d clears the gaps, but [-20d, +10d) would hold four. */
	cr_expect_eq(policy_next_allowed(ta, 3, &cap, 2 * D, NULL, NOW),
	    NOW + 10 * D);
}

/* policy_next_allowed with offsets from NOW; returns an offset. */
static int64_t
next_allowed(const int64_t *off, size_t n, struct conf_cap cap, int64_t gap,
    const struct conf_cap *pref, int64_t from)
{
	int64_t	 ts[16], t;
	size_t	 i;

	cr_assert_leq(n, nitems(ts));
	for (i = 0; i < n; i++)
		ts[i] = NOW + off[i];
	t = policy_next_allowed(ts, n, &cap, (uint64_t)gap, pref, NOW + from);
	return t == INT64_MAX ? INT64_MAX : t - NOW;
}

/*
 * Brute force: the first second from `from` at which no window of the
 * cap (and of pref) holds more than N, and the gap holds.
 */
static int64_t
brute_next(const int64_t *off, size_t n, struct conf_cap cap, int64_t gap,
    const struct conf_cap *pref, int64_t from, int64_t step, int64_t limit)
{
	const struct conf_cap	*caps[2] = { &cap, pref };
	int64_t			 t, s, w;
	size_t			 i, j, k;
	uint64_t		 cnt;
	int			 ok;

	for (t = from; t <= limit; t += step) {
		ok = 1;
		for (i = 0; i < n && ok; i++) {
			int64_t	 d = t > off[i] ? t - off[i] : off[i] - t;

			if (d < gap)
				ok = 0;
		}
		for (k = 0; k < 2 && ok; k++) {
			if (caps[k] == NULL || caps[k]->count == 0)
				continue;
			w = (int64_t)caps[k]->window;
			/* Every window start s with t in [s, s + w). */
			for (s = t - w + step; s <= t && ok; s += step) {
				cnt = 1;
				for (j = 0; j < n; j++)
					if (off[j] >= s && off[j] < s + w)
						cnt++;
				if (cnt > caps[k]->count)
					ok = 0;
			}
		}
		if (ok)
			return t;
	}
	return INT64_MAX;
}

Test(policy, next_allowed_is_from_for_an_empty_history)
{
	struct conf_cap	 cap = CAP(1, 7 * D);

	cr_expect_eq(next_allowed(NULL, 0, cap, 2 * D, NULL, 0), 0);
	cr_expect_eq(next_allowed(NULL, 0, cap, 2 * D, NULL, 5 * D), 5 * D);
}

Test(policy, next_allowed_waits_out_a_cluster_of_messages)
{
	/* Three messages a day apart, cap 2/10d: the middle one must leave. */
	static const int64_t	 h[] = { -3 * D, -2 * D, -1 * D };

	cr_expect_eq(next_allowed(h, 3, (struct conf_cap)CAP(2, 10 * D), 0,
	    NULL, 0), 8 * D);
	/* With cap 3/10d the oldest leaving is enough. */
	cr_expect_eq(next_allowed(h, 3, (struct conf_cap)CAP(3, 10 * D), 0,
	    NULL, 0), 7 * D);
	/* With room left, now. */
	cr_expect_eq(next_allowed(h, 3, (struct conf_cap)CAP(4, 10 * D), 0,
	    NULL, 0), 0);
}

Test(policy, next_allowed_handles_two_per_window)
{
	/* cap 2/7d: one message at the window's start, one near its end. */
	static const int64_t	 h[] = { -6 * D, 0 };

	cr_expect_eq(next_allowed(h, 2, (struct conf_cap)CAP(2, 7 * D), 0,
	    NULL, 0), 1 * D);
	/* A gap of 2d pushes it further. */
	cr_expect_eq(next_allowed(h, 2, (struct conf_cap)CAP(2, 7 * D),
	    2 * D, NULL, 0), 2 * D);
}

Test(policy, next_allowed_never_squeezes_a_third_into_a_window)
{
	/*
	 * cap 2/10d with reservations at +5d and +12d: now would make
	 * [now, now + 10d) hold two, and [+5d, +15d) still two: allowed.
	 * From +8d, any time before +15d would make [+5d, +15d) hold three;
	 * at +15d, [+12d, +22d) holds two.
	 */
	static const int64_t	 h[] = { 5 * D, 12 * D };
	struct conf_cap		 cap = CAP(2, 10 * D);

	cr_expect_eq(next_allowed(h, 2, cap, 0, NULL, 0), 0);
	cr_expect_eq(next_allowed(h, 2, cap, 0, NULL, 8 * D), 15 * D);
}

Test(policy, next_allowed_applies_the_preference_window_too)
{
	static const int64_t	 h[] = { -10 * D };
	struct conf_cap		 pref = CAP(1, 30 * D), nopref = NOCAP;

	cr_expect_eq(next_allowed(h, 1, (struct conf_cap)CAP(4, 30 * D), 0,
	    &pref, 0), 20 * D);
	cr_expect_eq(next_allowed(h, 1, (struct conf_cap)CAP(4, 30 * D), 0,
	    &nopref, 0), 0, "a preference of count 0 is none");
	cr_expect_eq(next_allowed(h, 1, (struct conf_cap)CAP(4, 30 * D), 0,
	    NULL, 0), 0);
}

Test(policy, next_allowed_matches_a_brute_force_search)
{
	/* Small, dense histories on an hour grid, checked hour by hour. */
	static const struct {
		int64_t		 h[6];
		size_t		 n;
		struct conf_cap	 cap;
		int64_t		 gap;
		struct conf_cap	 pref;
	} cases[] = {
		{ { -5 * H, -3 * H, -1 * H }, 3, CAP(2, 6 * H), 0, NOCAP },
		{ { -5 * H, -3 * H, 2 * H }, 3, CAP(2, 6 * H), 1 * H, NOCAP },
		{ { -9 * H, -2 * H, 1 * H, 4 * H }, 4, CAP(3, 10 * H), 2 * H,
		    CAP(1, 4 * H) },
		{ { -1 * H, 3 * H, 7 * H, 11 * H }, 4, CAP(2, 8 * H), 0,
		    NOCAP },
		{ { 0, 1 * H, 2 * H, 3 * H, 4 * H, 5 * H }, 6, CAP(3, 5 * H),
		    0, CAP(5, 24 * H) },
		{ { -2 * H, 6 * H }, 2, NOCAP, 3 * H, NOCAP },
		{ { -23 * H, -12 * H, -1 * H }, 3, CAP(4, 24 * H), 0,
		    CAP(2, 24 * H) },
	};
	size_t	 i;
	int64_t	 from, got, want;

	for (i = 0; i < nitems(cases); i++) {
		for (from = -2 * H; from <= 14 * H; from += H) {
			const struct conf_cap	*pref = cases[i].pref.count ?
			    &cases[i].pref : NULL;

			got = next_allowed(cases[i].h, cases[i].n, cases[i].cap,
			    cases[i].gap, pref, from);
			want = brute_next(cases[i].h, cases[i].n, cases[i].cap,
			    cases[i].gap, pref, from, H, 200 * H);
			cr_expect_eq(got, want, "case %zu from %+lldh: got "
			    "%+lldh, want %+lldh", i, (long long)(from / H),
			    (long long)(got / H), (long long)(want / H));
		}
	}
}

Test(policy, names_every_reason)
{
	cr_expect_str_eq(policy_reason_name(POLICY_OK), "ok");
	cr_expect_str_eq(policy_reason_name(POLICY_UNSUBSCRIBED),
	    "unsubscribed");
	cr_expect_str_eq(policy_reason_name(POLICY_FREQUENCY_CAP),
	    "frequency_cap");
	cr_expect_str_eq(policy_reason_name(POLICY_DUPLICATE), "duplicate");
	cr_expect_str_eq(policy_reason_name(POLICY_INVALID_ADDRESS),
	    "invalid_address");
	cr_expect_str_eq(policy_reason_name(POLICY_SUPPRESSED), "suppressed");
	cr_expect_str_eq(policy_reason_name(POLICY_NREASONS), "unknown");
	cr_expect_str_eq(policy_reason_name((enum policy_reason)-1), "unknown");
}

Test(policy, does_not_change_its_input)
{
	int64_t			 times[] = { NOW - 3 * D, NOW + 1 * D };
	struct policy_input	 in, copy;
	struct policy_decision	 d;

	memset(&in, 0, sizeof in);
	in.times = times;
	in.ntimes = 2;
	in.cap = (struct conf_cap)CAP(1, 7 * D);
	in.min_gap = (uint64_t)(2 * D);
	in.expires = NOW + 30 * D;
	in.now = NOW;
	copy = in;
	policy_decide(&in, &d);
	cr_expect(memcmp(&in, &copy, sizeof in) == 0);
	cr_expect_eq(times[0], NOW - 3 * D);
	cr_expect_eq(times[1], NOW + 1 * D);
	cr_expect_eq(d.verdict, POLICY_DEFER);
	cr_expect_eq(d.due, NOW + 8 * D);
}
