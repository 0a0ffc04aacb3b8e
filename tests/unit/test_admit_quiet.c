/*
 * test_admit_quiet.c: quiet hours at admission: each recipient's zone
 * from the document, from an earlier campaign or from the list, the
 * deferral to the end of their quiet time (with the caps), the report's
 * deferrals by cause, unknown zones counted, and expiry.
 *
 * NOW is 2027-01-15T08:00Z, a Friday: 17:00 in Tokyo, 03:00 in New
 * York, 00:00 in Los Angeles.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "admit.h"
#include "store.h"
#include "util.h"

#include "store_fixture.h"

#define OTHER	"other.example.com"

/* Quiet 21:00-08:00; news allows one message a day. */
static const char conf_text[] =
    "[caps]\n"
    "per_recipient = 4/30d\n"
    "min_gap = 0\n"
    "[quiet]\n"
    "hours = 21:00-08:00\n"
    "[list news.example.com]\n"
    "per_recipient = 1/1d\n";

FIXTURE_SUITE(admit_quiet, conf_text);

/* The queued job of a campaign for an address; 0 if none. */
static int
job_due(const char *campaign, const char *addr, int64_t *due)
{
	struct store_job	 j;

	if (!fixture_find_job(&fx, campaign, addr, &j))
		return 0;
	*due = j.due;
	return 1;
}

/* A recipient's history times for one campaign: how many, the last. */
static size_t
hist_times(const char *naddr, const char *campaign, int64_t *time)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;
	size_t			 i, n = 0;

	store_rcpt_init(&r);
	if (store_rcpt_get(t, naddr, &r, NULL) == 0)
		for (i = 0; i < r.nhist; i++)
			if (strcmp(r.hist[i].campaign, campaign) == 0) {
				*time = r.hist[i].time;
				n++;
			}
	store_rcpt_free(&r);
	store_abort(t);
	return n;
}

/* The zone kept for an address; "" if none. */
static const char *
kept_zone(const char *naddr, char *out, size_t outsz)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;

	out[0] = '\0';
	store_rcpt_init(&r);
	if (store_rcpt_get(t, naddr, &r, NULL) == 0 && r.rid != 0 &&
	    store_zone_get(t, r.rid, out, outsz, NULL) != 0)
		out[0] = '\0';
	store_rcpt_free(&r);
	store_abort(t);
	return out;
}

Test(admit_quiet, defers_each_sleeping_recipient_to_their_own_morning)
{
	static const char	*rcpts[] = {
		"a@example.org tz=Asia/Tokyo",
		"b@example.org tz=America/New_York",
		"Carol|c@example.org tz=America/Los_Angeles",
		"d@example.org",
		"e@example.org tz=Mars/Olympus_Mons",
		NULL
	};
	struct spec		 sp = { .id = "c1", .list = OTHER };
	struct campaign		 c = { .id = "c1", .list = OTHER };
	struct admit_report	 rep;
	json_t			*o, *q, *w;
	int64_t			 due, h;
	char			 z[80];

	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.accepted, 3, "Tokyo, UTC and the unknown zone");
	cr_expect_eq(rep.deferred, 2, "New York and Los Angeles sleep");
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_QUIET], 2);
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_CAPS], 0);
	cr_expect_eq(rep.quiet.first_due[QUIET_CAUSE_QUIET], NOW + 5 * HOUR,
	    "08:00 EST is 13:00Z");
	cr_expect_eq(rep.quiet.last_due[QUIET_CAUSE_QUIET], NOW + 8 * HOUR,
	    "08:00 PST is 16:00Z");
	cr_expect_eq(rep.quiet.unknown_tz, 1);
	cr_expect_str_eq(rep.quiet.unknown_example, "Mars/Olympus_Mons");
	cr_expect_eq(rep.quiet.unknown_line, 10, "line %u",
	    rep.quiet.unknown_line);
	cr_assert(job_due("c1", "b@example.org", &due));
	cr_expect_eq(due, NOW + 5 * HOUR);
	cr_assert_eq(hist_times("b@example.org", "c1", &h), 1);
	cr_expect_eq(h, due, "the history reserves the job's final time");
	cr_assert(job_due("c1", "a@example.org", &due));
	cr_expect_eq(due, NOW);
	cr_expect_str_eq(kept_zone("c@example.org", z, sizeof z),
	    "America/Los_Angeles");
	cr_expect_str_eq(kept_zone("e@example.org", z, sizeof z), "",
	    "an unknown zone is not kept");

	o = admit_report_json(&c, &rep, 0);
	q = json_object_get(json_object_get(o, "deferred_by"), "quiet_hours");
	cr_assert_not_null(q);
	cr_expect_eq(json_integer_value(json_object_get(q, "count")), 2);
	cr_expect_eq(json_integer_value(json_object_get(q, "first_due")),
	    NOW + 5 * HOUR);
	cr_expect_null(json_object_get(json_object_get(o, "deferred_by"),
	    "caps"));
	cr_expect_eq(json_integer_value(json_object_get(o, "unknown_tz")), 1);
	json_decref(o);
	w = admit_report_warning(&rep);
	cr_assert_not_null(w);
	cr_expect_not_null(strstr(json_string_value(w), "\"Mars/Olympus_Mons\""
	    ", on line 10"), "%s", json_string_value(w));
	json_decref(w);
}

Test(admit_quiet, uses_the_kept_zone_for_a_later_campaign_without_tz)
{
	static const char	*first[] = { "b@example.org tz=America/New_York",
				    "d@example.org", NULL };
	static const char	*later[] = { "b@example.org", "d@example.org",
				    NULL };
	static const char	*moved[] = { "b@example.org tz=Asia/Tokyo",
				    NULL };
	struct spec		 s1 = { .id = "c1", .list = OTHER };
	struct spec		 s2 = { .id = "c2", .list = OTHER };
	struct spec		 s3 = { .id = "c3", .list = OTHER };
	struct admit_report	 rep;
	int64_t			 due;
	char			 z[80];

	fixture_submit(&fx, &s1, first, NOW, &rep);
	/* Two days on, 03:00 in New York again. */
	fixture_submit(&fx, &s2, later, NOW + 2 * DAY, &rep);
	cr_expect_eq(rep.accepted, 1, "d has no zone: UTC, 08:00");
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_QUIET], 1);
	cr_assert(job_due("c2", "b@example.org", &due));
	cr_expect_eq(due, NOW + 2 * DAY + 5 * HOUR, "New York's morning");
	cr_expect_str_eq(kept_zone("b@example.org", z, sizeof z),
	    "America/New_York", "a campaign without tz keeps the zone");
	fixture_submit(&fx, &s3, moved, NOW + 3 * DAY, &rep);
	cr_expect_eq(rep.accepted, 1, "17:00 in Tokyo");
	cr_expect_str_eq(kept_zone("b@example.org", z, sizeof z),
	    "Asia/Tokyo", "the last zone given is kept");
}

Test(admit_quiet, rejects_as_quiet_hours_a_morning_after_expiry)
{
	static const char	*rcpts[] = { "b@example.org tz=America/New_York",
				    "a@example.org tz=Asia/Tokyo", NULL };
	struct spec		 sp = { .id = "c1", .list = OTHER,
				    .expires = NOW + 2 * HOUR };
	struct admit_report	 rep;
	int64_t			 due;
	char			 z[80];

	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.accepted, 1);
	cr_expect_eq(rep.rejected[POLICY_QUIET_HOURS], 1);
	cr_expect_eq(rep.deferred, 0);
	cr_expect(!job_due("c1", "b@example.org", &due), "nothing queued");
	cr_expect_str_eq(kept_zone("b@example.org", z, sizeof z), "",
	    "a recipient never stored keeps nothing");
}

Test(admit_quiet, moves_a_cap_slot_that_falls_at_night_and_reserves_it_once)
{
	static const char	*first[] = { "x@example.org", NULL };
	static const char	*later[] = { "x@example.org tz=America/New_York",
				    NULL };
	struct spec		 s1 = { .id = "c1" };
	struct spec		 s2 = { .id = "c2" };
	struct admit_report	 rep;
	int64_t			 due, h;

	/* news: one a day.  The first goes now (08:00 UTC, its zone). */
	fixture_submit(&fx, &s1, first, NOW, &rep);
	cr_expect_eq(rep.accepted, 1);
	/* The cap frees 08:00Z tomorrow: 03:00 in New York. */
	fixture_submit(&fx, &s2, later, NOW + HOUR, &rep);
	cr_expect_eq(rep.deferred, 1);
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_QUIET], 1,
	    "the final move was quiet time's");
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_CAPS], 0);
	cr_assert(job_due("c2", "x@example.org", &due));
	cr_expect_eq(due, NOW + DAY + 5 * HOUR);
	cr_assert_eq(hist_times("x@example.org", "c2", &h), 1,
	    "one slot reserved, not the cap's and the morning's");
	cr_expect_eq(h, due);
}

Test(admit_quiet, counts_a_deferral_by_the_caps_alone_as_caps)
{
	static const char	*first[] = { "x@example.org", NULL };
	struct spec		 s1 = { .id = "c1" }, s2 = { .id = "c2" };
	struct admit_report	 rep;

	fixture_submit(&fx, &s1, first, NOW, &rep);
	/* 10:00Z; the cap frees 08:00Z tomorrow, not quiet in UTC. */
	fixture_submit(&fx, &s2, first, NOW + 2 * HOUR, &rep);
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_CAPS], 1);
	cr_expect_eq(rep.quiet.first_due[QUIET_CAUSE_CAPS], NOW + DAY);
	cr_expect_eq(rep.quiet.deferred[QUIET_CAUSE_QUIET], 0);
}

Test(admit_quiet, without_quiet_hours_decides_as_before_and_keeps_zones)
{
	static const char	*rcpts[] = { "b@example.org tz=America/New_York",
				    "e@example.org tz=No/Where", NULL };
	struct spec		 sp = { .id = "c1", .list = OTHER };
	struct admit_report	 rep;
	char			 z[80];

	fixture_close(&fx);
	fixture_open(&fx, MAP_SIZE, "[caps]\nmin_gap = 0\n");
	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.accepted, 2, "no quiet hours: today's behaviour");
	cr_expect_eq(rep.deferred, 0);
	cr_expect_eq(rep.quiet.unknown_tz, 1, "still a warning");
	cr_expect_str_eq(kept_zone("b@example.org", z, sizeof z),
	    "America/New_York", "kept for when quiet hours come on");
}

Test(admit_quiet, follows_the_lists_own_timezone_and_hours)
{
	static const char	*rcpts[] = { "d@example.org", NULL };
	struct spec		 sp = { .id = "c1", .list = OTHER };
	struct admit_report	 rep;
	int64_t			 due;

	fixture_close(&fx);
	fixture_open(&fx, MAP_SIZE, "[caps]\nmin_gap = 0\n"
	    "[quiet]\nhours = 21:00-08:00\ntimezone = Europe/Berlin\n"
	    "[list other.example.com]\ntimezone = America/Los_Angeles\n"
	    "quiet_hours = 22:00-09:00\n");
	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.deferred, 1, "00:00 in Los Angeles");
	cr_assert(job_due("c1", "d@example.org", &due));
	cr_expect_eq(due, NOW + 9 * HOUR, "09:00 PST, the list's own end");
	sp.id = "c2";
	sp.list = NULL;
	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.accepted, 1, "09:00 in Berlin: [quiet]'s zone");
}
