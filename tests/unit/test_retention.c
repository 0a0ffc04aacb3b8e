/*
 * test_retention.c: the history window every cap needs, the retention of
 * ended campaigns, and a pass cut into slices that removes exactly what
 * is past them.
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

#include "store_fixture.h"

FIXTURE_SUITE(retention, "[daemon]\ncampaign_retention = 10d\n"
    "[caps]\nper_recipient = 4/20d\nmin_gap = 0\n");

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
	while (cur.phase != 2) {
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
