/*
 * test_quota_admit.c: daily quotas at admission, one test per
 * situation: two campaigns cannot both overfill a day, a job without a
 * day before its expiry is rejected as daily_limit, a provider's domains
 * share one quota, a ramp sets each day's room, a dry run reserves
 * nothing.  NOW is 2027-01-15T08:00Z; the UTC quota day ends 16 h on.
 */
#include <criterion/criterion.h>

#include "policy.h"
#include "store.h"

#include "store_fixture.h"

#define TOMORROW	(NOW + 16 * HOUR)	/* 2027-01-16T00:00Z */

static const char conf_text[] =
    "[caps]\nper_recipient = unlimited\nmin_gap = 0\n"
    "[domain quota.example]\ndaily_limit = 2\n"
    "[provider big]\ndomains = a.example, b.example\ndaily_limit = 3\n"
    "[warmup w]\nstart = 2027-01-15\nvolumes = 1, 2\n"
    "applies = ramp.example\n";

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
