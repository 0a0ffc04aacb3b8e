/*
 * test_quota_admit.c: daily quotas at admission, one test per
 * situation: two campaigns cannot both overfill a day, a job without a
 * day before its expiry is rejected as daily_limit, a provider's domains
 * share one quota, a ramp sets each day's room, a dry run reserves
 * nothing.  NOW is 2027-01-15T08:00Z; the UTC quota day ends 16 h on.
 */
#include <criterion/criterion.h>

#include "ledger.h"
#include "policy.h"
#include "store.h"

#include "store_fixture.h"

#define TOMORROW	(NOW + 16 * HOUR)	/* 2027-01-16T00:00Z */

static const char conf_text[] =
    "[caps]\nper_recipient = unlimited\nmin_gap = 0\n"
    "[domain quota.example]\ndaily_limit = 2\n"
    "[provider big]\ndomains = a.example, b.example\ndaily_limit = 3\n"
    "[warmup w]\nstart = 2027-01-15\nvolumes = 1, 2\n"
    "applies = ramp.example\n"
    "[provider g]\nmx = google.com\ndaily_limit = 2\n";

FIXTURE_SUITE(quota_admit, conf_text);

/* The due time of a campaign's queued job for an address; 0 if none. */
static int64_t
due_of(const char *campaign, const char *addr)
{
	struct store_job	 j;

	return fixture_find_job(&fx, campaign, addr, &j) ? j.due : 0;
}

Test(quota_admit, two_campaigns_cannot_both_overfill_a_day)
{
	struct admit_report	 a, b;
	struct spec		 one = { "one", NULL, NULL, 0, NOW + 5 * DAY };
	struct spec		 two = { "two", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r1[] = { "a1@quota.example", "a2@quota.example",
	    "a3@quota.example", NULL };
	const char		*r2[] = { "b1@quota.example", "b2@quota.example",
	    "b3@quota.example", "x@elsewhere.example", NULL };

	fixture_submit(&fx, &one, r1, NOW, &a);
	cr_expect_eq(a.accepted, 2, "today holds two");
	cr_expect_eq(a.deferred, 1, "the third waits for tomorrow");
	cr_expect_eq(due_of("one", "a3@quota.example"), TOMORROW);
	fixture_submit(&fx, &two, r2, NOW + 1, &b);
	cr_expect_eq(b.accepted, 1, "only the domain without a quota goes now");
	cr_expect_eq(b.deferred, 3);
	cr_expect_eq(due_of("two", "b1@quota.example"), TOMORROW,
	    "tomorrow had one place left");
	cr_expect_eq(due_of("two", "b2@quota.example"), TOMORROW + DAY);
	cr_expect_eq(due_of("two", "b3@quota.example"), TOMORROW + DAY);
}

Test(quota_admit, a_job_without_a_day_before_its_expiry_is_rejected)
{
	struct admit_report	 a, b;
	struct spec		 fill = { "fill", NULL, NULL, 0, NOW + DAY };
	struct spec		 late = { "late", NULL, NULL, 0, NOW + HOUR };
	const char		*r1[] = { "a1@quota.example", "a2@quota.example",
	    NULL };
	const char		*r2[] = { "c@quota.example", NULL };

	fixture_submit(&fx, &fill, r1, NOW, &a);
	cr_expect_eq(a.accepted, 2);
	fixture_submit(&fx, &late, r2, NOW + 1, &b);
	cr_expect_eq(b.accepted + b.deferred, 0);
	cr_expect_eq(b.rejected[POLICY_DAILY_LIMIT], 1);
	cr_expect_str_eq(policy_reason_name(POLICY_DAILY_LIMIT), "daily_limit");
	cr_expect_eq(due_of("late", "c@quota.example"), 0, "nothing queued");
}

Test(quota_admit, a_providers_domains_share_one_quota)
{
	struct admit_report	 a;
	struct spec		 sp = { "big", NULL, NULL, 0, NOW + 3 * DAY };
	const char		*r[] = { "p@a.example", "q@b.example",
	    "r@a.example", "s@b.example", NULL };

	fixture_submit(&fx, &sp, r, NOW, &a);
	cr_expect_eq(a.accepted, 3);
	cr_expect_eq(a.deferred, 1);
	cr_expect_eq(due_of("big", "s@b.example"), TOMORROW);
}

Test(quota_admit, a_ramp_sets_each_days_room_until_it_is_complete)
{
	struct admit_report	 a;
	struct spec		 sp = { "ramp", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r[] = { "r1@ramp.example", "r2@ramp.example",
	    "r3@ramp.example", "r4@ramp.example", "r5@ramp.example", NULL };

	fixture_submit(&fx, &sp, r, NOW, &a);
	cr_expect_eq(a.accepted, 1, "ramp day 1: one");
	cr_expect_eq(due_of("ramp", "r2@ramp.example"), TOMORROW,
	    "ramp day 2: two");
	cr_expect_eq(due_of("ramp", "r3@ramp.example"), TOMORROW);
	cr_expect_eq(due_of("ramp", "r4@ramp.example"), TOMORROW + DAY,
	    "the ramp is complete on its third day: no quota");
	cr_expect_eq(due_of("ramp", "r5@ramp.example"), TOMORROW + DAY);
}

Test(quota_admit, a_dry_run_reserves_nothing)
{
	struct admit_report	 a, b;
	struct spec		 sp = { "dry", NULL, NULL, 0, NOW + 3 * DAY };
	const char		*r[] = { "a1@quota.example", "a2@quota.example",
	    NULL };
	char			*xml = fixture_doc(&sp, r), *cause = NULL;
	int			 status;

	cr_assert_eq(fixture_admit(&fx, xml, NOW, 1, &a, &status, &cause), 0);
	cr_expect_eq(a.accepted, 2);
	free(xml);
	fixture_submit(&fx, &sp, r, NOW, &b);
	cr_expect_eq(b.accepted, 2, "the dry run took no place");
}

/* The places taken in quota.example's day of NOW ("+quota.example"). */
static uint64_t
reserved_today(const char *unit)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	uint64_t		 n = 0;
	char			 key[64];

	snprintf(key, sizeof key, "+%s", unit);
	cr_assert_eq(store_quota_get(t, key, 20270115, &n, NULL), 0);
	store_abort(t);
	return n;
}

/* The queued job of a campaign for an address (cr_assert it is there). */
static void
job_of(const char *campaign, const char *addr, struct store_job *out)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	int			 found = 0;

	cr_assert_eq(store_queue_first(t, &c, NULL), 0);
	while (store_cursor_job(c, &j)) {
		if (strcmp(j.campaign, campaign) == 0 &&
		    strcmp(j.addr, addr) == 0) {
			*out = j;
			found = 1;
		}
		store_cursor_next(c);
	}
	store_cursor_close(c);
	store_abort(t);
	cr_assert(found, "%s's job for %s is queued", campaign, addr);
}

Test(quota_admit, a_job_knows_the_day_and_unit_it_holds_a_place_in)
{
	struct admit_report	 a;
	struct spec		 sp = { "one", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r[] = { "a1@quota.example", "a2@quota.example",
	    "a3@quota.example", "p@a.example", "x@elsewhere.example", NULL };
	struct store_job	 j;

	fixture_submit(&fx, &sp, r, NOW, &a);
	job_of("one", "a1@quota.example", &j);
	cr_expect_eq(j.qday, 20270115);
	cr_expect_str_eq(j.qunit, "quota.example");
	job_of("one", "a3@quota.example", &j);
	cr_expect_eq(j.qday, 20270116, "the third moved to tomorrow");
	job_of("one", "p@a.example", &j);
	cr_expect_str_eq(j.qunit, "big", "a provider's domain: the provider");
	job_of("one", "x@elsewhere.example", &j);
	cr_expect_eq(j.qday, 0, "no quota: no place");
	cr_expect_str_eq(j.qunit, "");
}

Test(quota_admit, a_cancel_gives_the_days_places_back)
{
	struct admit_report	 a, b;
	struct spec		 one = { "one", NULL, NULL, 0, NOW + HOUR };
	struct spec		 two = { "two", NULL, NULL, 0, NOW + HOUR };
	const char		*r1[] = { "a1@quota.example", "a2@quota.example",
	    NULL };
	const char		*r2[] = { "b1@quota.example", "b2@quota.example",
	    NULL };
	struct store_txn	*t;
	uint64_t		 dropped = 0;

	fixture_submit(&fx, &one, r1, NOW, &a);
	cr_expect_eq(a.accepted, 2);
	cr_expect_eq(reserved_today("quota.example"), 2);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_cancel(t, "one", NOW + 1, &dropped, NULL), 0);
	fixture_commit(t);
	cr_expect_eq(dropped, 2);
	cr_expect_eq(reserved_today("quota.example"), 0,
	    "the cancel gave both places back");
	fixture_submit(&fx, &two, r2, NOW + 2, &b);
	cr_expect_eq(b.accepted, 2, "a second campaign uses the freed room");
	cr_expect_eq(b.rejected[POLICY_DAILY_LIMIT], 0);
}

Test(quota_admit, an_unsubscribe_dropping_a_queued_job_gives_its_place_back)
{
	struct admit_report	 a;
	struct spec		 sp = { "one", NULL, NULL, 0, NOW + HOUR };
	const char		*r[] = { "a1@quota.example", "a2@quota.example",
	    NULL };
	struct ledger_unsub_result res;
	struct store_txn	*t;
	json_t			*states = json_object();

	fixture_submit(&fx, &sp, r, NOW, &a);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_unsubscribe(t, "a1@quota.example", 0,
	    STORE_SRC_LINK, NOW + 1, states, &res, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	cr_expect_eq(res.dropped, 1);
	cr_expect_eq(reserved_today("quota.example"), 1);
}

/* Commit one outcome of a queued job as the drain does. */
static void
outcome(struct store_job *j, enum ledger_outcome o, int64_t now)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	json_t			*states = json_object();

	cr_assert_eq(ledger_outcome(t, j, o, "550 5.1.1 no", now, states,
	    NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
}

Test(quota_admit, a_permanent_failure_gives_its_place_back_and_a_send_keeps_it)
{
	struct admit_report	 a;
	struct spec		 sp = { "one", NULL, NULL, 0, NOW + HOUR };
	const char		*r[] = { "a1@quota.example", "a2@quota.example",
	    NULL };
	struct store_job	 j;

	fixture_submit(&fx, &sp, r, NOW, &a);
	job_of("one", "a1@quota.example", &j);
	outcome(&j, LEDGER_FAILED, NOW + 1);
	cr_expect_eq(reserved_today("quota.example"), 1, "a failure gave back");
	job_of("one", "a2@quota.example", &j);
	outcome(&j, LEDGER_SENT, NOW + 2);
	cr_expect_eq(reserved_today("quota.example"), 1, "a send keeps its place");
}

Test(quota_admit, a_retry_keeps_its_place_and_a_quota_move_takes_the_new_day)
{
	struct admit_report	 a;
	struct spec		 sp = { "one", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r[] = { "a1@quota.example", NULL };
	struct store_job	 j;
	struct store_txn	*t;
	uint64_t		 tomorrow = 0;

	fixture_submit(&fx, &sp, r, NOW, &a);
	job_of("one", "a1@quota.example", &j);
	j.due = NOW + MINUTE;
	j.attempts++;
	outcome(&j, LEDGER_RETRY, NOW + 1);
	cr_expect_eq(reserved_today("quota.example"), 1);
	job_of("one", "a1@quota.example", &j);
	cr_expect_eq(j.qday, 20270115, "the retry still holds today");
	/* The drain moves it to tomorrow (drain_commit_move()). */
	j.due = TOMORROW;
	j.qday = 20270116;
	outcome(&j, LEDGER_DEFERRED, NOW + 2);
	cr_expect_eq(reserved_today("quota.example"), 0);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_quota_get(t, "+quota.example", 20270116, &tomorrow,
	    NULL), 0);
	store_abort(t);
	cr_expect_eq(tomorrow, 1, "its place moved with it");
	job_of("one", "a1@quota.example", &j);
	cr_expect_eq(j.qday, 20270116);
}

/* Record an MX placement as the drain does (store_mx_put()). */
static void
placed(const char *domain, const char *group, int64_t until)
{
	struct store_txn	*t = fixture_begin(&fx, 1);

	cr_assert_eq(store_mx_put(t, domain, group, until, NULL), 0);
	fixture_commit(t);
}

Test(quota_admit, a_domain_placed_by_mx_shares_its_groups_quota)
{
	struct admit_report	 a;
	struct spec		 sp = { "ws", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r[] = { "a@ws.example", "b@ws.example",
	    "c@ws.example", NULL };
	struct store_job	 j;

	placed("WS.example", "g", NOW + HOUR);
	fixture_submit(&fx, &sp, r, NOW, &a);
	cr_expect_eq(a.accepted, 2, "the group's two of today");
	cr_expect_eq(a.deferred, 1);
	cr_expect_eq(due_of("ws", "c@ws.example"), TOMORROW);
	job_of("ws", "a@ws.example", &j);
	cr_expect_str_eq(j.qunit, "g");
}

Test(quota_admit, an_expired_or_unknown_placement_leaves_the_domain_alone)
{
	struct admit_report	 a, b;
	struct spec		 one = { "one", NULL, NULL, 0, NOW + 5 * DAY };
	struct spec		 two = { "two", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r1[] = { "a@old.example", "b@old.example",
	    "c@old.example", NULL };
	const char		*r2[] = { "a@gone.example", "b@gone.example",
	    "c@gone.example", NULL };

	placed("old.example", "g", NOW);
	fixture_submit(&fx, &one, r1, NOW, &a);
	cr_expect_eq(a.accepted, 3, "an answer past its TTL places nothing");
	placed("gone.example", "nosuch", NOW + HOUR);
	fixture_submit(&fx, &two, r2, NOW, &b);
	cr_expect_eq(b.accepted, 3, "a provider no longer configured");
}

Test(quota_admit, names_the_domains_no_mx_answer_has_placed_yet)
{
	struct admit_report	 a;
	struct spec		 sp = { "u", NULL, NULL, 0, NOW + 5 * DAY };
	const char		*r[] = { "a@new.example", "b@new.example",
	    "c@ws.example", "d@a.example", "e@stale.example", NULL };

	placed("ws.example", "g", NOW + HOUR);
	placed("stale.example", "g", NOW - 1);
	fixture_submit(&fx, &sp, r, NOW, &a);
	cr_assert_eq(a.unplaced.n, 2, "new.example once, stale.example");
	cr_expect_str_eq(a.unplaced.name[0], "new.example");
	cr_expect_str_eq(a.unplaced.name[1], "stale.example");
}
