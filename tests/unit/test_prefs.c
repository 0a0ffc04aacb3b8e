/*
 * test_prefs.c: a recipient's own choices and the re-timing of what is
 * already queued for them: the planner row by row, then the store (jobs
 * moved to new keys or dropped as frequency_cap in the choice's own
 * transaction, counters, reservations), the record's old version, and a
 * job sent from its old key after it was moved.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "addr.h"
#include "admit.h"
#include "campaign_record.h"
#include "ledger.h"
#include "policy.h"
#include "prefs.h"
#include "store.h"
#include "util.h"

#include "store_fixture.h"

#define MAXJ	6
#define WEEK	(7 * DAY)
#define MONTH	(30 * DAY)
#define NEVER	INT64_MAX

/* One planner situation; times are offsets from NOW. */
struct plan_row {
	const char	*name;
	int64_t		 sent[MAXJ];
	size_t		 nsent;
	int64_t		 due[MAXJ];
	size_t		 ndue;
	int64_t		 expires;	/* offset, the same for every job */
	struct conf_cap	 cap;		/* the list's */
	uint64_t	 gap;
	struct conf_cap	 pref;
	int64_t		 pause;		/* offset; 0: none */
	int64_t		 want[MAXJ];	/* offsets; NEVER: dropped */
};

static const struct plan_row plan_rows[] = {
	{ .name = "no choice keeps every job where it is",
	  .due = { 10, 20, 30 }, .ndue = 3, .expires = 7 * DAY,
	  .want = { 10, 20, 30 } },

	{ .name = "monthly: the next queued job waits a month after the "
	    "last one sent (the issue's 16 seconds)",
	  .sent = { -4 }, .nsent = 1, .due = { 16 }, .ndue = 1,
	  .expires = 60 * DAY, .pref = { 1, MONTH },
	  .want = { MONTH - 4 } },

	{ .name = "monthly: two queued jobs are spread a month apart",
	  .due = { 0, 60 }, .ndue = 2, .expires = 90 * DAY,
	  .pref = { 1, MONTH }, .want = { 0, MONTH } },

	{ .name = "monthly: a job that cannot wait past its expiry is "
	    "dropped",
	  .sent = { -DAY }, .nsent = 1, .due = { 60 }, .ndue = 1,
	  .expires = 7 * DAY, .pref = { 1, MONTH }, .want = { NEVER } },

	{ .name = "the moment of expiry itself is too late",
	  .sent = { -DAY }, .nsent = 1, .due = { 60 }, .ndue = 1,
	  .expires = MONTH - DAY, .pref = { 1, MONTH }, .want = { NEVER } },

	{ .name = "a dropped job frees its slot for the next one",
	  .due = { 0, 60, 120 }, .ndue = 3, .expires = 40 * DAY,
	  .pref = { 1, MONTH }, .want = { 0, MONTH, NEVER } },

	{ .name = "weekly: a job already a week after the last stays",
	  .sent = { -8 * DAY }, .nsent = 1, .due = { 0, 3 * DAY }, .ndue = 2,
	  .expires = 30 * DAY, .pref = { 1, WEEK },
	  .want = { 0, WEEK } },

	{ .name = "the list's own cap still holds with the recipient's",
	  .sent = { -DAY }, .nsent = 1, .due = { 0 }, .ndue = 1,
	  .expires = 30 * DAY, .cap = { 1, 3 * DAY }, .pref = { 1, WEEK },
	  .want = { 6 * DAY } },

	{ .name = "the list's minimum gap still holds",
	  .due = { 0, WEEK + 10 }, .ndue = 2, .expires = 30 * DAY,
	  .gap = 8 * DAY, .pref = { 1, WEEK }, .want = { 0, 8 * DAY } },

	{ .name = "a pause moves every job to its end, spread by the cap",
	  .due = { 10, 20 }, .ndue = 2, .expires = 200 * DAY,
	  .pref = { 1, WEEK }, .pause = 91 * DAY,
	  .want = { 91 * DAY, 98 * DAY } },

	{ .name = "a pause past a campaign's expiry drops its job",
	  .due = { 10 }, .ndue = 1, .expires = 30 * DAY, .pause = 91 * DAY,
	  .want = { NEVER } },

	{ .name = "a pause already over changes nothing",
	  .due = { 10 }, .ndue = 1, .expires = 30 * DAY, .pause = -DAY,
	  .want = { 10 } },

	{ .name = "no job ever moves earlier, even when a cap is lifted",
	  .sent = { -DAY }, .nsent = 1, .due = { 20 * DAY }, .ndue = 1,
	  .expires = 60 * DAY, .want = { 20 * DAY } },
};

/* Plan one row and compare, naming the row on failure. */
static void
check_plan(const struct plan_row *r)
{
	struct prefs_job	 jobs[MAXJ];
	int64_t			 sent[MAXJ];
	size_t			 i;

	for (i = 0; i < r->nsent; i++)
		sent[i] = NOW + r->sent[i];
	for (i = 0; i < r->ndue; i++) {
		memset(&jobs[i], 0, sizeof jobs[i]);
		jobs[i].due = NOW + r->due[i];
		jobs[i].expires = NOW + r->expires;
		jobs[i].cap = r->cap;
		jobs[i].min_gap = r->gap;
	}
	prefs_retime_plan(jobs, r->ndue, sent, r->nsent, &r->pref,
	    r->pause != 0 ? NOW + r->pause : 0);
	for (i = 0; i < r->ndue; i++) {
		int64_t	 want = r->want[i] == NEVER ? NEVER : NOW + r->want[i];

		cr_expect_eq(jobs[i].new_due, want, "%s: job %zu at %lld, "
		    "want %lld", r->name, i, (long long)(jobs[i].new_due -
		    NOW), (long long)r->want[i]);
	}
}

Test(prefs_plan, every_row)
{
	size_t	 i;

	for (i = 0; i < nitems(plan_rows); i++)
		check_plan(&plan_rows[i]);
}

/* ------------------------------------------------------------------ */
/* In the store. */

static const char conf_text[] =
    "[caps]\n"
    "per_recipient = 10/1d\n"
    "min_gap = 0\n"
    "[domain quota.example]\n"
    "daily_limit = 100\n"
    "[domain full.example]\n"
    "daily_limit = 1\n";

FIXTURE_SUITE(prefs, conf_text);

static void
admit(const char *id, int64_t now, int64_t expires, const char *addr)
{
	const char		*rcpts[] = { addr, NULL };
	struct spec		 sp = { id, NULL, NULL, 0, expires };
	struct admit_report	 rep;

	fixture_submit(&fx, &sp, rcpts, now, &rep);
	cr_assert_eq(rep.accepted + rep.deferred, 1, "%s admitted", id);
}

/* Apply a change in its own transaction; the result. */
static struct prefs_result
apply(const char *addr, const struct prefs_change *c, int64_t now)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	struct prefs_result	 res;
	json_t			*states = json_object();
	char			*cause = NULL;

	if (prefs_apply(t, fx.conf, addr, c, now, states, &res, &cause) != 0)
		cr_assert_fail("prefs_apply: %s", cause);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	return res;
}

static struct store_cr
cr_of(const char *campaign, const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;
	struct store_cr		 cr;

	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, addr, &r, NULL), 0);
	memset(&cr, 0, sizeof cr);
	cr_assert_eq(store_cr_get(t, campaign, r.rid, &cr, NULL), 0);
	store_rcpt_free(&r);
	store_abort(t);
	return cr;
}

/* The job a delivery state points at; 1 when it is there. */
static int
job_at(const struct store_cr *cr, struct store_job *j)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	int			 rc = store_queue_get(t, cr->key, j, NULL);

	store_abort(t);
	return rc == 0;
}

static int64_t
count_of(const char *campaign, const char *key, int rejected)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	json_t			*st = NULL, *counts;
	int64_t			 v;

	cr_assert_eq(store_campaign_get(t, campaign, &st, NULL), 0);
	counts = json_object_get(st, "counts");
	if (rejected)
		counts = json_object_get(counts, "rejected");
	v = json_integer_value(json_object_get(counts, key));
	json_decref(st);
	store_abort(t);
	return v;
}

static uint64_t
queue_count(void)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	uint64_t		 n = store_count(t, STORE_QUEUE);

	store_abort(t);
	return n;
}

Test(prefs, monthly_moves_a_queued_job_in_the_same_transaction)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_MONTH,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_job	 j;
	struct store_cr		 before, after;
	struct store_rcpt	 r;
	struct store_txn	*t;

	admit("c1", NOW, NOW + 90 * DAY, "pat@example.org");
	admit("c2", NOW + 10, NOW + 90 * DAY, "pat@example.org");
	before = cr_of("c2", "pat@example.org");
	res = apply("pat@example.org", &c, NOW + 12);
	cr_expect_eq(res.moved, 1);
	cr_expect_eq(res.dropped, 0);
	after = cr_of("c2", "pat@example.org");
	cr_expect_neq(memcmp(before.key, after.key, STORE_KEY_LEN), 0,
	    "the job has a new key");
	cr_assert(job_at(&after, &j));
	cr_expect_eq(j.due, NOW + MONTH, "a month after the first");
	cr_expect(j.flags & STORE_JOB_DEFERRED);
	cr_expect_not(job_at(&before, &j), "nothing at the old key");
	cr_expect_eq(queue_count(), 2);
	cr_expect_eq(count_of("c2", "queued_deferred", 0), 1);
	/* The reservation moved with it; the first job stays. */
	t = fixture_begin(&fx, 0);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "pat@example.org", &r, NULL), 0);
	store_abort(t);
	cr_expect_eq(r.pref_count, 1);
	cr_expect_eq(r.pref_window, PREFS_MONTH);
	cr_expect_eq(r.pref_source, STORE_SRC_LINK);
	cr_assert_eq(r.nhist, 2);
	cr_expect_eq(r.hist[0].time, NOW);
	cr_expect_eq(r.hist[1].time, NOW + MONTH);
	store_rcpt_free(&r);
	/* A campaign admitted now goes after both. */
	admit("c3", NOW + 20, NOW + 120 * DAY, "pat@example.org");
	after = cr_of("c3", "pat@example.org");
	cr_assert(job_at(&after, &j));
	cr_expect_eq(j.due, NOW + 2 * MONTH);
}

Test(prefs, a_job_with_no_time_left_is_dropped_as_frequency_cap)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_WEEK,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_cr		 cr;
	struct store_rcpt	 r;
	struct store_txn	*t;

	admit("c1", NOW, NOW + 30 * DAY, "pat@example.org");
	admit("c2", NOW + 10, NOW + 2 * DAY, "pat@example.org");
	res = apply("pat@example.org", &c, NOW + 12);
	cr_expect_eq(res.dropped, 1);
	cr_expect_eq(res.moved, 0);
	cr = cr_of("c2", "pat@example.org");
	cr_expect_eq(cr.state, STORE_CR_CAPPED);
	cr_expect_eq(cr.time, NOW + 12);
	cr_expect_eq(queue_count(), 1);
	cr_expect_eq(count_of("c2", "queued", 0), 0);
	cr_expect_eq(count_of("c2", "frequency_cap", 1), 1);
	t = fixture_begin(&fx, 0);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "pat@example.org", &r, NULL), 0);
	store_abort(t);
	cr_expect_eq(r.nhist, 1, "the dropped job's slot is released");
	store_rcpt_free(&r);
}

/* The places admission took in quota.example's day of NOW. */
static uint64_t
quota_places(void)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	uint64_t		 n = 0;

	cr_assert_eq(store_quota_get(t, "+quota.example", 20270115, &n, NULL),
	    0);
	store_abort(t);
	return n;
}

/* The places admission (or a re-timing) took in a unit's day. */
static uint64_t
places(const char *unit, int32_t day)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	uint64_t		 n = 0;

	cr_assert_eq(store_quota_get(t, unit, day, &n, NULL), 0);
	store_abort(t);
	return n;
}

Test(prefs, a_retimed_or_dropped_job_gives_its_quota_place_back)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_MONTH,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_cr		 cr;
	struct store_job	 j;

	admit("c1", NOW, NOW + 90 * DAY, "q@quota.example");
	admit("c2", NOW + 10, NOW + 90 * DAY, "q@quota.example");
	admit("c3", NOW + 11, NOW + 2 * DAY, "q@quota.example");
	cr_expect_eq(quota_places(), 3);
	res = apply("q@quota.example", &c, NOW + 12);
	cr_expect_eq(res.moved, 1);
	cr_expect_eq(res.dropped, 1);
	cr_expect_eq(quota_places(), 1, "only the first still holds today");
	cr = cr_of("c2", "q@quota.example");
	cr_assert(job_at(&cr, &j));
	cr_expect_eq(j.due, NOW + MONTH);
	cr_expect_eq(j.qday, 20270214, "the moved job holds a place in the "
	    "day it moved to, not in today's");
	cr_expect_eq(places("+quota.example", 20270214), 1);
}

/*
 * full.example takes one message a day.  x@ has c1 today (the 15th) and
 * c2 admitted for tomorrow (today is full); y@ already holds the day a
 * week on (the 22nd).  x@ then asks for at most one a week: c2 must wait
 * until the 22nd, which is full.
 */
static void
fill_full_example(int64_t c2_expires)
{
	struct spec		 week = { "f1", NULL, NULL, NOW + WEEK,
				    NOW + 90 * DAY };
	const char		*y[] = { "y@full.example", NULL };
	struct admit_report	 rep;
	struct store_job	 j;

	admit("c1", NOW, NOW + 90 * DAY, "x@full.example");
	fixture_submit(&fx, &week, y, NOW + 1, &rep);
	cr_assert_eq(rep.accepted + rep.deferred, 1);
	cr_assert_eq(places("+full.example", 20270122), 1);
	admit("c2", NOW + 10, c2_expires, "x@full.example");
	cr_assert(fixture_find_job(&fx, "c2", "x@full.example", &j));
	cr_assert_eq(j.qday, 20270116, "c2 was admitted for tomorrow");
	cr_assert_eq(places("+full.example", 20270116), 1);
}

Test(prefs, a_retimed_job_reserves_the_next_day_with_room)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_WEEK,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_job	 j;

	fill_full_example(NOW + 90 * DAY);
	res = apply("x@full.example", &c, NOW + 12);
	cr_expect_eq(res.moved, 1);
	cr_expect_eq(res.dropped, 0);
	cr_assert(fixture_find_job(&fx, "c2", "x@full.example", &j));
	cr_expect_eq(j.due, NOW + WEEK + 16 * HOUR, "the 22nd is full: the "
	    "start of the 23rd");
	cr_expect_eq(j.qday, 20270123);
	cr_expect_str_eq(j.qunit, "full.example");
	cr_expect_eq(places("+full.example", 20270116), 0,
	    "tomorrow's place is given back");
	cr_expect_eq(places("+full.example", 20270122), 1, "y@ keeps the 22nd");
	cr_expect_eq(places("+full.example", 20270123), 1);
	cr_expect_eq(count_of("c2", "queued", 0), 1);
}

Test(prefs, the_jobs_after_one_a_full_day_moved_keep_the_recipients_cap)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_WEEK,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_job	 j;

	fill_full_example(NOW + 90 * DAY);
	admit("c3", NOW + 20, NOW + 90 * DAY, "x@full.example");
	res = apply("x@full.example", &c, NOW + 12);
	cr_expect_eq(res.moved, 2);
	cr_assert(fixture_find_job(&fx, "c2", "x@full.example", &j));
	cr_expect_eq(j.due, NOW + WEEK + 16 * HOUR, "the 22nd is full");
	cr_assert(fixture_find_job(&fx, "c3", "x@full.example", &j));
	cr_expect_eq(j.due, NOW + 2 * WEEK + 16 * HOUR, "a week after c2 "
	    "where it went, not a week after where it was planned");
	cr_expect_eq(j.qday, 20270130);
	cr_expect_eq(places("+full.example", 20270129), 0);
	cr_expect_eq(places("+full.example", 20270130), 1);
	cr_expect_eq(places("+full.example", 20270117), 0,
	    "c3's place of the 17th is given back");
}

Test(prefs, a_retimed_job_without_a_day_before_its_expiry_is_dropped)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_WEEK,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_cr		 cr;
	struct store_rcpt	 r;
	struct store_txn	*t;

	/* c2 may still go on the 22nd (the plan keeps it), not on the 23rd. */
	fill_full_example(NOW + WEEK + 2 * HOUR);
	res = apply("x@full.example", &c, NOW + 12);
	cr_expect_eq(res.moved, 0);
	cr_expect_eq(res.dropped, 1);
	cr_expect_eq(res.daily_limit, 1);
	cr = cr_of("c2", "x@full.example");
	cr_expect_eq(cr.state, STORE_CR_QUOTA);
	cr_expect_eq(cr.time, NOW + 12);
	cr_expect_eq(count_of("c2", "queued", 0), 0);
	cr_expect_eq(count_of("c2", "daily_limit", 1), 1,
	    "counted as admission counts it");
	cr_expect_eq(count_of("c2", "frequency_cap", 1), 0);
	cr_expect_eq(places("+full.example", 20270116), 0);
	cr_expect_eq(places("+full.example", 20270123), 0);
	cr_expect_eq(queue_count(), 2, "c1 and y@'s f1");
	t = fixture_begin(&fx, 0);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "x@full.example", &r, NULL), 0);
	store_abort(t);
	cr_expect_eq(r.nhist, 1, "the dropped job's slot is released");
	store_rcpt_free(&r);
}

Test(prefs, a_pause_moves_everything_to_its_end_and_admission_waits_too)
{
	struct prefs_change	 c = { .set = PREFS_SET_PAUSE,
				    .pause_until = NOW + PREFS_PAUSE,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct admit_report	 rep;
	struct store_job	 j;
	struct store_cr		 cr;
	struct spec		 sp = { "c3", NULL, NULL, 0, NOW + 200 * DAY };
	const char		*pat[] = { "pat@example.org", NULL };

	admit("c1", NOW, NOW + 200 * DAY, "pat@example.org");
	admit("c2", NOW, NOW + 30 * DAY, "pat@example.org");
	res = apply("pat@example.org", &c, NOW + 1);
	cr_expect_eq(res.moved, 1);
	cr_expect_eq(res.dropped, 1, "c2 expires before the pause ends");
	cr = cr_of("c1", "pat@example.org");
	cr_assert(job_at(&cr, &j));
	cr_expect_eq(j.due, NOW + PREFS_PAUSE);
	fixture_submit(&fx, &sp, pat, NOW + 2, &rep);
	cr_expect_eq(rep.deferred, 1);
	cr_expect_eq(rep.first_due, NOW + PREFS_PAUSE,
	    "within the list's 10 a day, right at the pause's end");
	/* Resuming moves nothing earlier but admits at once again. */
	c.pause_until = 0;
	res = apply("pat@example.org", &c, NOW + 3);
	cr_expect_eq(res.moved + res.dropped, 0);
	sp.id = "c4";
	fixture_submit(&fx, &sp, pat, NOW + 4, &rep);
	cr_expect_eq(rep.accepted, 1);
}

Test(prefs, plain_text_is_a_flag_and_moves_nothing)
{
	struct prefs_change	 c = { .set = PREFS_SET_PLAIN, .plain = 1,
				    .source = STORE_SRC_LINK };
	struct prefs_result	 res;
	struct store_txn	*t;
	int			 plain = -1;

	admit("c1", NOW, 0, "pat@example.org");
	res = apply("pat@example.org", &c, NOW + 1);
	cr_expect_eq(res.moved + res.dropped, 0);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(prefs_send_view(t, "Pat@example.org", 1, &plain, NULL),
	    1);
	cr_expect_eq(plain, 1);
	store_abort(t);
	c.plain = 0;
	apply("pat@example.org", &c, NOW + 2);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(prefs_send_view(t, "pat@example.org", 1, &plain, NULL),
	    1);
	cr_expect_eq(plain, 0);
	cr_expect_eq(prefs_send_view(t, "nobody@example.org", 1, &plain,
	    NULL), 1, "an unknown address may be mailed");
	store_abort(t);
}

Test(prefs, a_job_sent_from_its_old_key_removes_the_moved_copy)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_MONTH,
				    .source = STORE_SRC_LINK };
	struct store_job	 j, old;
	struct store_cr		 cr;
	struct store_txn	*t;
	json_t			*states = json_object();

	admit("c1", NOW, NOW + 90 * DAY, "pat@example.org");
	admit("c2", NOW + 10, NOW + 90 * DAY, "pat@example.org");
	/* The drain took c2 from its old key... */
	cr = cr_of("c2", "pat@example.org");
	cr_assert(job_at(&cr, &old));
	/* ...when the choice moved it... */
	apply("pat@example.org", &c, NOW + 12);
	cr = cr_of("c2", "pat@example.org");
	cr_assert(job_at(&cr, &j));
	/* ...and then it went out after all. */
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_outcome(t, &old, LEDGER_SENT, NULL, NOW + 13,
	    states, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	cr_expect_not(job_at(&cr, &j), "the moved copy is gone");
	cr_expect_eq(cr_of("c2", "pat@example.org").state, STORE_CR_SENT);
	cr_expect_eq(queue_count(), 1, "only c1 is left");
	cr_expect_eq(count_of("c2", "queued", 0), 0);
	cr_expect_eq(count_of("c2", "queued_deferred", 0), 0);
	cr_expect_eq(count_of("c2", "sent", 0), 1);
}

Test(prefs, the_moved_copy_removed_gives_its_new_days_place_back)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_MONTH,
				    .source = STORE_SRC_LINK };
	struct store_job	 old;
	struct store_cr		 cr;
	struct store_txn	*t;
	json_t			*states = json_object();

	admit("c1", NOW, NOW + 90 * DAY, "q@quota.example");
	admit("c2", NOW + 10, NOW + 90 * DAY, "q@quota.example");
	cr = cr_of("c2", "q@quota.example");
	cr_assert(job_at(&cr, &old));
	apply("q@quota.example", &c, NOW + 12);
	cr_assert_eq(places("+quota.example", 20270214), 1);
	/* Sent from its old key: it counts for today, not a month on. */
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_outcome(t, &old, LEDGER_SENT, NULL, NOW + 13,
	    states, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	cr_expect_eq(queue_count(), 1, "only c1 is left");
	cr_expect_eq(places("+quota.example", 20270214), 0,
	    "the moved copy's place is given back with it");
}

Test(prefs, a_job_dropped_as_daily_limit_then_sent_is_counted_sent_only)
{
	struct prefs_change	 c = { .set = PREFS_SET_CAP, .count = 1,
				    .window = PREFS_WEEK,
				    .source = STORE_SRC_LINK };
	struct store_job	 old;
	struct store_txn	*t;
	json_t			*states = json_object();

	fill_full_example(NOW + WEEK + 2 * HOUR);
	/* The drain took c2 from its key before the choice dropped it. */
	cr_assert(fixture_find_job(&fx, "c2", "x@full.example", &old));
	cr_assert_eq(apply("x@full.example", &c, NOW + 12).daily_limit, 1);
	cr_assert_eq(count_of("c2", "daily_limit", 1), 1);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_outcome(t, &old, LEDGER_SENT, NULL, NOW + 13,
	    states, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	cr_expect_eq(cr_of("c2", "x@full.example").state, STORE_CR_SENT);
	cr_expect_eq(count_of("c2", "daily_limit", 1), 0,
	    "the rejection is taken back");
	cr_expect_eq(count_of("c2", "sent", 0), 1);
	cr_expect_eq(count_of("c2", "queued", 0), 0);
}

/* A version 1 record (before pause and plain text) still reads. */
Test(prefs, reads_a_version_1_recipient_record)
{
	static const uint8_t	 v1[] = {
		1,				/* version */
		0, 0, 0, 0, 0, 0, 0, 7,		/* rid */
		0, 0, 0, 0, 0, 0, 0, 0,		/* suppressed */
		0,				/* suppress_why "" */
		0, 0, 0, 1,			/* pref_count */
		0, 0x27, 0x8d, 0,		/* pref_window 2592000 */
		0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0, /* pref_time */
		2,				/* pref_source: link */
		0, 1,				/* one unsubscribe */
		0, 0, 0, 3,  0, 0, 0, 0, 0x6b, 0x49, 0xd2, 0,  3,
		0, 0				/* no history */
	};
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k = { 15, "old@example.org" }, v = { sizeof v1,
			    (void *)v1 };
	struct store_txn	*t;
	struct store_rcpt	 r;

	store_close(fx.s);
	fx.s = NULL;
	cr_assert_eq(mdb_env_create(&env), 0);
	cr_assert_eq(mdb_env_set_maxdbs(env, 32), 0);
	cr_assert_eq(mdb_env_set_mapsize(env, MAP_SIZE), 0);
	cr_assert_eq(mdb_env_open(env, fx.dir, 0, 0600), 0);
	cr_assert_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	cr_assert_eq(mdb_dbi_open(txn, "rcpt", 0, &dbi), 0);
	cr_assert_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 1);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "old@example.org", &r, NULL), 0);
	cr_expect_eq(r.rid, 7);
	cr_expect_eq(r.pref_count, 1);
	cr_expect_eq(r.pref_window, 2592000);
	cr_expect_eq(r.pref_time, 1800000000);
	cr_expect_eq(r.pref_source, STORE_SRC_LINK);
	cr_expect_eq(r.pause_until, 0);
	cr_expect_eq(r.pref_flags, 0);
	cr_assert_eq(r.nunsub, 1);
	cr_expect_eq(r.unsub[0].lid, 3);
	cr_expect_eq(r.unsub[0].source, STORE_SRC_ONECLICK);
	/* Written back, it is version 2 and keeps everything. */
	r.pref_flags = STORE_PREF_PLAIN;
	r.pause_until = NOW + DAY;
	cr_assert_eq(store_rcpt_put(t, "old@example.org", &r, NULL), 0);
	fixture_commit(t);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_rcpt_get(t, "old@example.org", &r, NULL), 0);
	store_abort(t);
	cr_expect_eq(r.pref_flags, STORE_PREF_PLAIN);
	cr_expect_eq(r.pause_until, NOW + DAY);
	cr_expect_eq(r.pref_count, 1);
	cr_expect_eq(r.nunsub, 1);
	store_rcpt_free(&r);
}

/* The pages name a list's sender as its latest campaign does. */
Test(prefs, a_list_keeps_the_latest_senders_name)
{
	struct store_txn	*t;
	char			 name[64];
	uint32_t		 lid;

	admit("c1", NOW, 0, "pat@example.org");
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_list_id(t, LIST, 0, &lid, NULL), 0);
	cr_assert_eq(store_list_brand_get(t, lid, name, sizeof name), 0);
	cr_expect_str_eq(name, "Example Shop");
	cr_assert_eq(store_list_brand_put(t, lid, "Example Shop Ltd", NULL), 0);
	cr_assert_eq(store_list_brand_get(t, lid, name, sizeof name), 0);
	cr_expect_str_eq(name, "Example Shop Ltd");
	cr_assert_eq(store_list_brand_put(t, lid, NULL, NULL), 0);
	cr_expect_eq(store_list_brand_get(t, lid, name, sizeof name), 1);
	cr_expect_eq(store_list_brand_get(t, lid + 1, name, sizeof name), 1);
	fixture_commit(t);
}

Test(prefs, the_view_tells_own_from_kept_flags)
{
	struct store_txn		*t;
	struct ledger_unsub_result	 ur;
	struct prefs_view		 v;
	json_t				*states = json_object();
	uint32_t			 lid;

	admit("c1", NOW, 0, "pat@example.org");
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_list_id(t, LIST, 0, &lid, NULL), 0);
	cr_assert_eq(ledger_unsubscribe(t, "pat@example.org", lid,
	    STORE_SRC_ONECLICK, NOW, states, &ur, NULL), 0);
	cr_assert_eq(ledger_unsubscribe(t, "pat@example.org", 0,
	    STORE_SRC_ADMIN, NOW, states, &ur, NULL), 0);
	cr_assert_eq(prefs_view_get(t, "PAT@example.org", lid, NOW, &v, NULL),
	    0);
	cr_expect_eq(v.list, PREFS_OWN);
	cr_expect_eq(v.all, PREFS_KEPT);
	cr_expect_eq(v.suppressed, 0);
	cr_assert_eq(prefs_view_get(t, "nobody@example.org", lid, NOW, &v,
	    NULL), 0);
	cr_expect_eq(v.list, PREFS_SUBSCRIBED);
	store_abort(t);
	json_decref(states);
}

static int
consent_collect(const struct store_consent *c, void *arg)
{
	struct store_consent	*out = arg;
	size_t			 i;

	for (i = 0; out[i].action != 0; i++)
		;
	out[i] = *c;
	return 0;
}

/* A resubscribe lifts the flag and is kept with its time and source. */
Test(prefs, a_resubscribe_is_kept_with_its_source)
{
	struct store_txn		*t;
	struct ledger_unsub_result	 ur;
	struct store_consent		 got[4];
	struct store_rcpt		 r;
	json_t				*states = json_object();
	struct prefs_resub		 rs = { .source = STORE_SRC_LINK,
					    .now = NOW };
	uint32_t			 lid;
	int				 found = -1;

	admit("c1", NOW, 0, "pat@example.org");
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_list_id(t, LIST, 0, &lid, NULL), 0);
	rs.addr = "pat@example.org";
	rs.lid = lid;
	cr_assert_eq(prefs_resubscribe(t, &rs, &found, NULL), 0);
	cr_expect_eq(found, 0, "nothing to lift: nothing kept");
	cr_assert_eq(ledger_unsubscribe(t, "pat@example.org", lid,
	    STORE_SRC_LINK, NOW, states, &ur, NULL), 0);
	rs.addr = "Pat@example.org";
	rs.now = NOW + 5;
	cr_assert_eq(prefs_resubscribe(t, &rs, &found, NULL), 0);
	cr_expect_eq(found, PREFS_RESUB_RECORD);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "pat@example.org", &r, NULL), 0);
	cr_expect_eq(r.nunsub, 0);
	memset(got, 0, sizeof got);
	cr_assert_eq(store_consent_each(t, r.rid, consent_collect, got, NULL),
	    0);
	cr_expect_eq(got[0].action, STORE_CONSENT_RESUBSCRIBE);
	cr_expect_eq(got[0].lid, lid);
	cr_expect_eq(got[0].time, NOW + 5);
	cr_expect_eq(got[0].source, STORE_SRC_LINK);
	cr_expect_eq(got[1].action, 0, "one record only");
	memset(got, 0, sizeof got);
	cr_assert_eq(store_consent_each(t, r.rid + 1, consent_collect, got,
	    NULL), 0);
	cr_expect_eq(got[0].action, 0, "another recipient has none");
	store_rcpt_free(&r);
	fixture_commit(t);
	json_decref(states);
}
