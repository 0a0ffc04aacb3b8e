/*
 * test_rcpt_zone.c: a recipient's zone as the store keeps it, the end of
 * their quiet time at send time, and a job held for it (LEDGER_WAIT):
 * queued again for the morning with its history slot moved along.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "ledger.h"
#include "rcpt_zone.h"
#include "store.h"
#include "util.h"

#include "store_fixture.h"

FIXTURE_SUITE(rcpt_zone, "[caps]\nmin_gap = 0\n[quiet]\n"
    "hours = 21:00-08:00\ntimezone = Europe/Berlin\n");

/* NOW is 2027-01-15T08:00Z: 09:00 in Berlin, 03:00 in New York. */
Test(rcpt_zone, uses_the_kept_zone_else_the_lists_else_utc)
{
	struct quiet_cache	*c = quiet_cache_new(8);
	struct store_txn	*t = fixture_begin(&fx, 1);
	struct quiet_zone	*z;
	struct conf_policy	 pol;
	int64_t			 until;
	char			 zone[QUIET_ZONE_MAX + 1];

	conf_policy_for(fx.conf, LIST, &pol);
	cr_assert_eq(store_zone_put(t, 5, "America/New_York", NULL), 0);
	cr_assert_eq(store_zone_put(t, 6, "Gone/Zone", NULL), 0);
	cr_assert_eq(rcpt_zone_get(c, t, 5, "Europe/Berlin", &z, NULL), 0);
	cr_expect_str_eq(quiet_zone_name(z), "America/New_York");
	cr_assert_eq(rcpt_zone_get(c, t, 6, "Europe/Berlin", &z, NULL), 0);
	cr_expect_str_eq(quiet_zone_name(z), "Europe/Berlin",
	    "a kept zone ICU does not know gives way to the default");
	cr_assert_eq(rcpt_zone_get(c, t, 0, "Nowhere/Land", &z, NULL), 0);
	cr_expect_str_eq(quiet_zone_name(z), "UTC");

	cr_assert_eq(rcpt_zone_allowed(c, t, 5, &pol.quiet, NOW, &until,
	    zone, NULL), 0);
	cr_expect_eq(until, NOW + 5 * HOUR, "08:00 in New York");
	cr_expect_str_eq(zone, "America/New_York");
	cr_assert_eq(rcpt_zone_allowed(c, t, 7, &pol.quiet, NOW, &until,
	    zone, NULL), 0);
	cr_expect_eq(until, NOW, "09:00 in Berlin, the list's zone");
	cr_expect_str_eq(zone, "Europe/Berlin");
	memset(&pol.quiet.rules, 0, sizeof pol.quiet.rules);
	cr_assert_eq(rcpt_zone_allowed(c, t, 5, &pol.quiet, NOW, &until,
	    zone, NULL), 0);
	cr_expect_eq(until, NOW, "no quiet hours: now");
	cr_expect_str_eq(zone, "", "no zone needed");
	store_abort(t);
	quiet_cache_free(c);
}

Test(rcpt_zone, a_held_job_is_queued_again_with_its_slot_moved)
{
	static const char	*rcpts[] = { "b@example.org tz=America/New_York",
				    NULL };
	struct spec		 sp = { .id = "c1" };
	struct admit_report	 rep;
	struct store_txn	*t;
	struct store_cursor	*cur = NULL;
	struct store_job	 j, again;
	struct store_rcpt	 r;
	json_t			*states = json_object(), *st = NULL;
	int64_t			 morning = NOW + DAY + 5 * HOUR;

	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_queue_first(t, &cur, NULL), 0);
	cr_assert_eq(store_cursor_job(cur, &j), 1);
	store_cursor_close(cur);
	/* A retry brought it to 03:00 the next night; held to 08:00. */
	j.due = morning;
	cr_assert_eq(ledger_outcome(t, &j, LEDGER_WAIT, NULL, NOW + DAY,
	    states, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);

	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_QUEUE), 1, "one job, not two");
	cr_assert_eq(store_queue_first(t, &cur, NULL), 0);
	cr_assert_eq(store_cursor_job(cur, &again), 1);
	store_cursor_close(cur);
	cr_expect_eq(again.due, morning);
	cr_expect_eq(again.attempts, j.attempts, "no attempt was spent");
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "b@example.org", &r, NULL), 0);
	cr_assert_eq(r.nhist, 1);
	cr_expect_eq(r.hist[0].time, morning, "the slot moved with the job");
	cr_expect_eq(r.hist[0].state, STORE_HIST_RESERVED);
	store_rcpt_free(&r);
	cr_assert_eq(store_campaign_get(t, "c1", &st, NULL), 0);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(st,
	    "counts"), "quiet_waits")), 1);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(st,
	    "counts"), "retries")), 0, "a wait is no retry");
	json_decref(st);
	store_abort(t);
}

Test(rcpt_zone, the_recipient_report_shows_the_zone_and_the_local_morning)
{
	static const char	*rcpts[] = { "b@example.org tz=America/New_York",
				    "d@example.org", NULL };
	struct spec		 sp = { .id = "c1", .list = "other.example.com" };
	struct admit_report	 rep;
	struct store_txn	*t;
	json_t			*o;

	fixture_submit(&fx, &sp, rcpts, NOW - 2 * DAY, &rep);
	t = fixture_begin(&fx, 0);
	o = ledger_recipient_json(t, fx.conf, "b@example.org", NOW, NULL);
	cr_assert_not_null(o);
	cr_expect_str_eq(json_string_value(json_object_get(o, "time_zone")),
	    "America/New_York");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(o,
	    "next_allowed"), "other.example.com")), NOW + 5 * HOUR,
	    "the caps allow now; 03:00 in New York waits for 08:00");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o,
	    "next_allowed_local"), "other.example.com")),
	    "2027-01-15 08:00 -05:00");
	json_decref(o);
	o = ledger_recipient_json(t, fx.conf, "d@example.org", NOW, NULL);
	cr_expect(json_is_null(json_object_get(o, "time_zone")),
	    "nothing kept: the list's zone counts");
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o,
	    "next_allowed_local"), "other.example.com")),
	    "2027-01-15 09:00 +01:00", "09:00 in Berlin, [quiet]'s zone");
	json_decref(o);
	store_abort(t);
}
