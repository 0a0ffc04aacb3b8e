/*
 * test_retention.c: the history window every cap needs, the retention of
 * ended campaigns, the quota days and MX placements a pass keeps, and a
 * pass cut into slices that removes exactly what is past them.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "admit.h"
#include "campaign_record.h"
#include "conf.h"
#include "ledger.h"
#include "retention.h"
#include "store.h"
#include "util.h"
#include "warmup.h"

#include "store_fixture.h"

FIXTURE_SUITE(retention, "[daemon]\ncampaign_retention = 10d\n"
    "[caps]\nper_recipient = 4/20d\nmin_gap = 0\n"
    "[warmup w]\nstart = 2027-01-01\nvolumes = 1, 2, 3\n"
    "applies = ramp.example\n");

Test(retention, keeps_history_for_the_longest_window_any_cap_uses)
{
	static const struct {
		const char	*what, *text;
		int64_t		 want;
	} cases[] = {
		{ "a week's cap",
		    "[caps]\nper_recipient = 4/7d\nmin_gap = 1d\n", 7 * DAY },
		{ "a gap longer than the cap",
		    "[caps]\nper_recipient = 4/3d\nmin_gap = 9d\n", 9 * DAY },
		{ "the global cap", "[caps]\nper_recipient = 4/90d\n",
		    90 * DAY },
		{ "a list's cap", "[caps]\nper_recipient = 4/7d\n"
		    "[list a.example]\nper_recipient = 1/120d\n", 120 * DAY },
		{ "a list's gap", "[caps]\nper_recipient = 4/7d\n"
		    "[list a.example]\nmin_gap = 60d\n",
		    60 * DAY },
		{ "an unlimited cap counts no window",
		    "[caps]\nper_recipient = unlimited\nmin_gap = 0\n",
		    7 * DAY },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		struct conf	*c;
		char		*cause = NULL;

		cr_assert_eq(conf_parse(cases[i].text, strlen(cases[i].text),
		    "t.conf", &c, &cause), 0, "%s", cause);
		cr_expect_eq(retention_history_window(c), cases[i].want, "%s",
		    cases[i].what);
		conf_free(c);
	}
}

Test(retention, removes_a_campaign_only_past_its_retention)
{
	static const struct {
		const char	*what;
		int64_t		 ended, now;
		uint64_t	 retention;
		int		 due;
	} cases[] = {
		{ "not ended yet", 0, NOW, DAY, 0 },
		{ "ended a moment ago", NOW, NOW + 1, DAY, 0 },
		{ "ended exactly the retention ago", NOW, NOW + DAY, DAY, 1 },
		{ "long past", NOW, NOW + 100 * DAY, DAY, 1 },
		{ "kept for ever (0)", NOW, NOW + 1000 * DAY, 0, 0 },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		cr_expect_eq(retention_campaign_due(cases[i].ended,
		    cases[i].retention, cases[i].now), cases[i].due, "%s",
		    cases[i].what);
}

/* Admit a campaign at `now` and deliver all its jobs at `now`. */
static void
send_campaign(const char *id, int64_t now, const char *const *rcpts)
{
	struct spec		 sp = { id, NULL, NULL, 0, 0 };
	struct admit_report	 rep;
	struct store_txn	*t;
	struct store_cursor	*c = NULL;
	struct store_job	 j[16];
	json_t			*states = json_object();
	size_t			 n = 0, i;

	cr_assert_eq(fixture_submit(&fx, &sp, rcpts, now, &rep), 202);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_queue_first(t, &c, NULL), 0);
	while (n < nitems(j) && store_cursor_job(c, &j[n]) == 1) {
		n++;
		store_cursor_next(c);
	}
	store_cursor_close(c);
	for (i = 0; i < n; i++)
		cr_assert_eq(ledger_outcome(t, &j[i], LEDGER_SENT, NULL, now,
		    states, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	json_decref(states);
	fixture_commit(t);
}

/* A whole pass at `now`, one transaction per slice of `budget`. */
static struct retention_result
pass(int64_t now, size_t budget, int *slices)
{
	struct retention_cursor	 cur;
	struct retention_result	 res;
	char			*cause = NULL;

	memset(&cur, 0, sizeof cur);
	memset(&res, 0, sizeof res);
	*slices = 0;
	while (cur.phase != RETENTION_DONE) {
		struct store_txn	*t = fixture_begin(&fx, 1);

		cr_assert_eq(retention_slice(t, fx.conf, now, budget, &cur,
		    &res, &cause), 0, "%s", cause);
		fixture_commit(t);
		cr_assert_lt(++*slices, 1000, "the pass does not end");
	}
	return res;
}

static size_t
history_of(const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;
	size_t			 n;

	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, addr, &r, NULL), 0);
	n = r.nhist;
	store_rcpt_free(&r);
	store_abort(t);
	return n;
}

Test(retention, prunes_history_and_removes_ended_campaigns_in_slices)
{
	const char		*rcpts[] = { "a@example.org", "b@example.org",
	    "c@example.org", NULL };
	struct retention_result	 res;
	struct store_txn	*t;
	struct store_cr		 cr;
	json_t			*st;
	int			 slices;

	send_campaign("old", NOW, rcpts);
	send_campaign("new", NOW + 15 * DAY, rcpts);
	cr_assert_eq(history_of("a@example.org"), 2);

	/* Day 16: both within 20 days; both campaigns are seen ending. */
	res = pass(NOW + 16 * DAY, 1, &slices);
	cr_expect_eq(res.records, 3);
	cr_expect_eq(res.pruned, 0);
	cr_expect_eq(res.ended, 2);
	cr_expect_eq(res.campaigns, 0);
	cr_expect_geq(slices, 4, "one record per slice, then the campaigns");
	cr_expect_eq(history_of("a@example.org"), 2);

	/* Day 21: "old" left the 20-day window; not yet 10 days ended. */
	res = pass(NOW + 21 * DAY, 2, &slices);
	cr_expect_eq(res.pruned, 3);
	cr_expect_eq(res.campaigns, 0);
	cr_expect_eq(history_of("a@example.org"), 1);

	/* Day 26: both ended 10 days ago (day 16): removed, states too. */
	res = pass(NOW + 26 * DAY, 2, &slices);
	cr_expect_eq(res.campaigns, 2);
	cr_expect_eq(res.states, 6);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_campaign_get(t, "old", &st, NULL), 1);
	cr_expect_eq(store_campaign_get(t, "new", &st, NULL), 1);
	cr_expect_eq(store_cr_get(t, "old", 1, &cr, NULL), 1);
	store_abort(t);
	/* The recipients and their unexpired history stay. */
	cr_expect_eq(history_of("a@example.org"), 1);
}

Test(retention, keeps_a_campaign_with_jobs_still_queued)
{
	const char		*rcpts[] = { "q@example.org", NULL };
	struct spec		 sp = { "waiting", NULL, NULL, 0, 0 };
	struct admit_report	 rep;
	struct retention_result	 res;
	struct store_txn	*t;
	json_t			*st;
	int			 slices;

	cr_assert_eq(fixture_submit(&fx, &sp, rcpts, NOW, &rep), 202);
	res = pass(NOW + 400 * DAY, 100, &slices);
	cr_expect_eq(res.ended, 0);
	cr_expect_eq(res.campaigns, 0);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_campaign_get(t, "waiting", &st, NULL), 0);
	json_decref(st);
	cr_expect_eq(store_count(t, STORE_QUEUE), 1);
	store_abort(t);
}

Test(retention, keeps_a_monthly_preference_s_history_for_its_month)
{
	const char		*rcpts[] = { "m@example.org", "n@example.org",
	    NULL };
	struct store_txn	*t;
	int			 slices;

	send_campaign("one", NOW, rcpts);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_preference(t, "m@example.org", 1, 30 * DAY,
	    STORE_SRC_LINK, NOW, NULL), 0);
	fixture_commit(t);
	/* Day 25: past the 20-day cap, inside m's own month. */
	pass(NOW + 25 * DAY, 10, &slices);
	cr_expect_eq(history_of("n@example.org"), 0);
	cr_expect_eq(history_of("m@example.org"), 1);
	pass(NOW + 31 * DAY, 10, &slices);
	cr_expect_eq(history_of("m@example.org"), 0);
}

Test(retention, keeps_the_quota_days_a_rule_still_reads)
{
	/* Today is the 15th; every rule reads the 14th (keep_from) on. */
	static const struct {
		const char	*what;
		int32_t		 day;
		unsigned	 rank;
		size_t		 ramp_days;
		int		 due;
	} cases[] = {
		{ "today is kept", 20270115, 0, 0, 0 },
		{ "yesterday is kept: a delivery started then commits after "
		    "midnight", 20270114, 0, 0, 0 },
		{ "a reservation for a later day is kept", 20270301, 0, 0, 0 },
		{ "the day before yesterday is pruned", 20270113, 0, 0, 1 },
		{ "last year's day is pruned", 20261231, 0, 0, 1 },
		{ "a past day's reservations are pruned under a ramp too",
		    20270110, 0, 3, 1 },
		{ "a ramp's first sending day is kept", 20270102, 1, 3, 0 },
		{ "a ramp's last sending day is kept", 20270105, 3, 3, 0 },
		{ "a sending day after the ramp is complete is pruned",
		    20270106, 4, 3, 1 },
		{ "yesterday is kept after the ramp too", 20270114, 9, 3, 0 },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		cr_expect_eq(retention_quota_due(cases[i].day, 20270114,
		    cases[i].rank, cases[i].ramp_days), cases[i].due, "%s",
		    cases[i].what);
}

Test(retention, removes_an_mx_placement_past_its_grace)
{
	static const struct {
		const char	*what;
		int64_t		 until;
		int		 due;
	} cases[] = {
		{ "still valid", NOW + HOUR, 0 },
		{ "expired a moment ago", NOW - 1, 0 },
		{ "expired just within the grace", NOW - RETENTION_MX_GRACE + 1,
		    0 },
		{ "expired exactly the grace ago", NOW - RETENTION_MX_GRACE, 1 },
		{ "expired long ago", NOW - 300 * DAY, 1 },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		cr_expect_eq(retention_mx_due(cases[i].until, NOW),
		    cases[i].due, "%s", cases[i].what);
}

/* One quota record in the store, and whether a pass at NOW keeps it. */
struct quota_row {
	const char	*what, *unit;
	int32_t		 day;
	int		 kept;
};

/*
 * ramp.example warms up from the 1st over 3 sending days (w); NOW is the
 * 15th, 08:00 UTC.
 */
static const struct quota_row quota_rows[] = {
	{ "past reservations", "+quota.example", 20270110, 0 },
	{ "a past day's sends", "quota.example", 20270110, 0 },
	{ "the day before yesterday's sends", "quota.example", 20270113, 0 },
	{ "yesterday's sends", "quota.example", 20270114, 1 },
	{ "today's sends", "quota.example", 20270115, 1 },
	{ "today's reservations", "+quota.example", 20270115, 1 },
	{ "a later day's reservations", "+quota.example", 20270120, 1 },
	{ "sends before the ramp's start", "ramp.example", 20261231, 0 },
	{ "the ramp's first sending day", "ramp.example", 20270102, 1 },
	{ "the ramp's second sending day", "ramp.example", 20270104, 1 },
	{ "the ramp's third and last sending day", "ramp.example", 20270105,
	    1 },
	{ "a sending day after the ramp was complete", "ramp.example",
	    20270106, 0 },
	{ "a later one", "ramp.example", 20270110, 0 },
	{ "the ramp's past reservations", "+ramp.example", 20270102, 0 },
	{ "the ramp unit's yesterday", "ramp.example", 20270114, 1 },
};

/* Where the ramp of ramp.example stands today, from the store. */
static void
ramp_today(struct warmup_status *st)
{
	static const uint64_t	 vols[] = { 1, 2, 3 };
	struct store_txn	*t = fixture_begin(&fx, 0);
	unsigned		 days = 0;

	cr_assert_eq(store_quota_days(t, "ramp.example", 20270101, 20270115,
	    &days, NULL), 0);
	store_abort(t);
	warmup_at(vols, nitems(vols), 20270101, 20270115, days, st);
}

/* Does the store hold each row's record as it should after a pass? */
static void
check_quota_rows(const char *when)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	uint64_t		 n;
	size_t			 i;

	for (i = 0; i < nitems(quota_rows); i++) {
		cr_assert_eq(store_quota_get(t, quota_rows[i].unit,
		    quota_rows[i].day, &n, NULL), 0);
		cr_expect_eq(n != 0, quota_rows[i].kept, "%s: %s is %s", when,
		    quota_rows[i].what, n != 0 ? "kept" : "removed");
	}
	store_abort(t);
}

Test(retention, prunes_past_quota_days_and_old_mx_placements_in_slices)
{
	static const struct {
		const char	*domain;
		int64_t		 until;
		int		 kept;
	} mx[] = {
		{ "valid.example", NOW + HOUR, 1 },
		{ "within-grace.example", NOW - HOUR, 1 },
		{ "old.example", NOW - 2 * DAY, 0 },
		{ "older.example", NOW - 90 * DAY, 0 },
	};
	struct retention_result	 res;
	struct warmup_status	 st;
	struct store_txn	*t;
	char			 group[64];
	int64_t			 until;
	size_t			 i, budgets[] = { 1, 3, 1000 }, b, removed = 0;
	int			 slices;

	for (b = 0; b < nitems(budgets); b++) {
		t = fixture_begin(&fx, 1);
		for (i = 0; i < nitems(quota_rows); i++)
			cr_assert_eq(store_quota_add(t, quota_rows[i].unit,
			    quota_rows[i].day, 2, NULL), 0);
		for (i = 0; i < nitems(mx); i++)
			cr_assert_eq(store_mx_put(t, mx[i].domain, "google",
			    mx[i].until, NULL), 0);
		fixture_commit(t);
		ramp_today(&st);
		cr_assert(st.complete, "6 sending days of a 3-day ramp");

		res = pass(NOW, budgets[b], &slices);
		for (i = removed = 0; i < nitems(quota_rows); i++)
			removed += !quota_rows[i].kept;
		cr_expect_eq(res.quota, removed, "budget %zu", budgets[b]);
		cr_expect_eq(res.mx, 2, "budget %zu", budgets[b]);
		check_quota_rows("after a pass");
		ramp_today(&st);
		cr_expect(st.complete, "the ramp stays complete, not back at "
		    "day %u", st.day);
		t = fixture_begin(&fx, 0);
		for (i = 0; i < nitems(mx); i++)
			cr_expect_eq(store_mx_get(t, mx[i].domain, group,
			    sizeof group, &until, NULL) == 0, mx[i].kept,
			    "%s", mx[i].domain);
		store_abort(t);

		/* The next pass finds nothing more (ranks are stable). */
		res = pass(NOW, budgets[b], &slices);
		cr_expect_eq(res.quota + res.mx, 0, "budget %zu", budgets[b]);
		check_quota_rows("after a second pass");
	}
}

Test(retention, keeps_every_sending_day_of_a_ramp_under_way)
{
	static const int32_t	 days[] = { 20270102, 20270104 };
	struct retention_result	 res;
	struct warmup_status	 st;
	struct store_txn	*t;
	size_t			 i;
	int			 slices;

	t = fixture_begin(&fx, 1);
	for (i = 0; i < nitems(days); i++)
		cr_assert_eq(store_quota_add(t, "ramp.example", days[i], 1,
		    NULL), 0);
	fixture_commit(t);
	res = pass(NOW, 1, &slices);
	cr_expect_eq(res.quota, 0);
	ramp_today(&st);
	cr_expect_eq(st.day, 3, "two sending days: today is ramp day 3");
	cr_expect_eq(st.volume, 3);
}
