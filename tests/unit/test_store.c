/*
 * test_store.c: the LMDB store: recipient records, the queue and its
 * cursor, delivery states, list and recipient ids, campaign records,
 * counters, aborted transactions, a full map, the format marker and the
 * migration from format 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <lmdb.h>

#include "store.h"
#include "util.h"

#include "store_fixture.h"

FIXTURE_SUITE(store, NULL);

/* A history entry. */
static struct store_hist
hist(int64_t time, uint32_t lid, int state, const char *campaign)
{
	struct store_hist	 h;

	memset(&h, 0, sizeof h);
	h.time = time;
	h.lid = lid;
	h.state = (uint8_t)state;
	snprintf(h.campaign, sizeof h.campaign, "%s", campaign);
	return h;
}

/* Give a record unsubscribe entries (the store has no public adder). */
static void
set_unsubs(struct store_rcpt *r, const struct store_unsub *u, size_t n)
{
	free(r->unsub);
	r->unsub = xcalloc(n, sizeof *r->unsub);
	memcpy(r->unsub, u, n * sizeof *u);
	r->nunsub = r->cap_unsub = n;
}

/* Write one recipient record in its own transaction. */
static void
put_rcpt(const char *naddr, struct store_rcpt *r)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	char			*cause = NULL;

	cr_assert_eq(store_rcpt_put(t, naddr, r, &cause), 0, "%s", cause);
	fixture_commit(t);
}

/* Read one recipient record in its own transaction. */
static int
get_rcpt(const char *naddr, struct store_rcpt *r)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	char			*cause = NULL;
	int			 rc;

	rc = store_rcpt_get(t, naddr, r, &cause);
	cr_assert_geq(rc, 0, "%s", cause);
	store_abort(t);
	return rc;
}

/* A job for the queue. */
static struct store_job
job(int64_t due, const char *campaign, const char *addr)
{
	struct store_job	 j;

	memset(&j, 0, sizeof j);
	j.due = due;
	j.queued = NOW;
	j.lid = 7;
	j.rid = 42;
	snprintf(j.campaign, sizeof j.campaign, "%s", campaign);
	snprintf(j.addr, sizeof j.addr, "%s", addr);
	return j;
}

Test(store, keeps_every_field_of_a_recipient_across_a_round_trip)
{
	struct store_unsub	 u[2] = {
		{ 3, NOW - DAY, STORE_SRC_LINK },
		{ 0, NOW - HOUR, STORE_SRC_ADMIN }
	};
	struct store_hist	 h1 = hist(NOW - 2 * DAY, 3, STORE_HIST_SENT,
	    "october");
	struct store_hist	 h2 = hist(NOW + DAY, 4, STORE_HIST_RESERVED,
	    "november");
	struct store_rcpt	 r, back;

	store_rcpt_init(&r);
	store_rcpt_init(&back);
	r.suppressed = NOW - 3 * DAY;
	snprintf(r.suppress_why, sizeof r.suppress_why, "550 5.1.1 no such "
	    "user");
	r.pref_count = 1;
	r.pref_window = 30 * DAY;
	r.pref_time = NOW - 4 * DAY;
	r.pref_source = STORE_SRC_ONECLICK;
	set_unsubs(&r, u, 2);
	store_rcpt_add_hist(&r, &h1);
	store_rcpt_add_hist(&r, &h2);
	put_rcpt("alice@example.org", &r);
	cr_expect_eq(r.rid, 1, "a new recipient gets the first id");

	cr_assert_eq(get_rcpt("alice@example.org", &back), 0);
	cr_expect_eq(back.rid, 1);
	cr_expect_eq(back.suppressed, NOW - 3 * DAY);
	cr_expect_str_eq(back.suppress_why, "550 5.1.1 no such user");
	cr_expect_eq(back.pref_count, 1);
	cr_expect_eq(back.pref_window, 30 * DAY);
	cr_expect_eq(back.pref_time, NOW - 4 * DAY);
	cr_expect_eq(back.pref_source, STORE_SRC_ONECLICK);
	cr_assert_eq(back.nunsub, 2);
	cr_expect_eq(back.unsub[0].lid, 3);
	cr_expect_eq(back.unsub[0].time, NOW - DAY);
	cr_expect_eq(back.unsub[0].source, STORE_SRC_LINK);
	cr_expect_eq(back.unsub[1].lid, 0);
	cr_expect_eq(back.unsub[1].time, NOW - HOUR);
	cr_expect_eq(back.unsub[1].source, STORE_SRC_ADMIN);
	cr_assert_eq(back.nhist, 2);
	cr_expect_eq(back.hist[0].time, NOW - 2 * DAY);
	cr_expect_eq(back.hist[0].lid, 3);
	cr_expect_eq(back.hist[0].state, STORE_HIST_SENT);
	cr_expect_str_eq(back.hist[0].campaign, "october");
	cr_expect_eq(back.hist[1].time, NOW + DAY);
	cr_expect_eq(back.hist[1].lid, 4);
	cr_expect_eq(back.hist[1].state, STORE_HIST_RESERVED);
	cr_expect_str_eq(back.hist[1].campaign, "november");
	store_rcpt_free(&r);
	store_rcpt_free(&back);
}

Test(store, keeps_a_recipient_id_when_the_record_is_rewritten)
{
	struct store_rcpt	 a, b, back;

	store_rcpt_init(&a);
	store_rcpt_init(&b);
	store_rcpt_init(&back);
	put_rcpt("a@example.org", &a);
	put_rcpt("b@example.org", &b);
	cr_expect_eq(a.rid, 1);
	cr_expect_eq(b.rid, 2);
	cr_assert_eq(get_rcpt("a@example.org", &back), 0);
	back.pref_count = 2;
	back.pref_window = 7 * DAY;
	put_rcpt("a@example.org", &back);
	cr_expect_eq(back.rid, 1, "a rewrite must not allocate a new id");
	cr_assert_eq(get_rcpt("a@example.org", &back), 0);
	cr_expect_eq(back.rid, 1);
	cr_expect_eq(back.pref_count, 2);
	store_rcpt_free(&a);
	store_rcpt_free(&b);
	store_rcpt_free(&back);
}

Test(store, answers_not_found_with_an_empty_record_for_an_unknown_address)
{
	struct store_rcpt	 r;
	struct store_hist	 h = hist(NOW, 1, STORE_HIST_SENT, "x");

	store_rcpt_init(&r);
	/* A record that held data before must come back empty. */
	store_rcpt_add_hist(&r, &h);
	r.suppressed = NOW;
	cr_expect_eq(get_rcpt("nobody@example.org", &r), 1);
	cr_expect_eq(r.nhist, 0);
	cr_expect_eq(r.nunsub, 0);
	cr_expect_eq(r.rid, 0);
	cr_expect_eq(r.suppressed, 0);
	store_rcpt_free(&r);
}

Test(store, keeps_many_history_entries_with_long_campaign_ids_in_order)
{
	struct store_rcpt	 r, back;
	struct store_hist	 h;
	char			 id[72];
	size_t			 i, n = 250;

	store_rcpt_init(&r);
	store_rcpt_init(&back);
	for (i = 0; i < n; i++) {
		/* 64 characters: the longest campaign id. */
		snprintf(id, sizeof id, "%060zu-%03zu", i, i % 1000);
		h = hist(NOW - (int64_t)(n - i) * HOUR, (uint32_t)(i % 5 + 1),
		    i % 2 ? STORE_HIST_SENT : STORE_HIST_RESERVED, id);
		store_rcpt_add_hist(&r, &h);
	}
	put_rcpt("many@example.org", &r);
	cr_assert_eq(get_rcpt("many@example.org", &back), 0);
	cr_assert_eq(back.nhist, n);
	for (i = 0; i < n; i++) {
		cr_expect_eq(back.hist[i].time, r.hist[i].time, "entry %zu", i);
		cr_expect_eq(back.hist[i].lid, r.hist[i].lid, "entry %zu", i);
		cr_expect_eq(back.hist[i].state, r.hist[i].state, "entry %zu",
		    i);
		cr_expect_str_eq(back.hist[i].campaign, r.hist[i].campaign,
		    "entry %zu", i);
	}
	cr_expect_eq(strlen(back.hist[0].campaign), 64);
	store_rcpt_free(&r);
	store_rcpt_free(&back);
}

/* One entry of the prune table: does it survive prune(NOW - DAY)? */
struct prune_row {
	const char	*name;
	int		 state;
	int64_t		 time;
	int		 kept;
};

Test(store, prunes_old_sent_history_and_keeps_every_reservation)
{
	static const struct prune_row	 rows[] = {
		{ "a sent message older than the horizon is dropped",
		    STORE_HIST_SENT, NOW - 2 * DAY, 0 },
		{ "a sent message one second before the horizon is dropped",
		    STORE_HIST_SENT, NOW - DAY - 1, 0 },
		{ "a sent message exactly at the horizon is kept",
		    STORE_HIST_SENT, NOW - DAY, 1 },
		{ "a recent sent message is kept",
		    STORE_HIST_SENT, NOW - HOUR, 1 },
		{ "an old reservation is kept (its job is still queued)",
		    STORE_HIST_RESERVED, NOW - 10 * DAY, 1 },
		{ "a future reservation is kept",
		    STORE_HIST_RESERVED, NOW + DAY, 1 },
	};
	struct store_rcpt	 r;
	struct store_hist	 h;
	size_t			 i, j;
	char			 id[16];
	int			 found;

	store_rcpt_init(&r);
	for (i = 0; i < nitems(rows); i++) {
		snprintf(id, sizeof id, "row%zu", i);
		h = hist(rows[i].time, 1, rows[i].state, id);
		store_rcpt_add_hist(&r, &h);
	}
	store_rcpt_prune(&r, NOW - DAY);
	for (i = 0; i < nitems(rows); i++) {
		snprintf(id, sizeof id, "row%zu", i);
		found = 0;
		for (j = 0; j < r.nhist; j++)
			if (strcmp(r.hist[j].campaign, id) == 0)
				found = 1;
		cr_expect_eq(found, rows[i].kept, "%s", rows[i].name);
	}
	store_rcpt_free(&r);
}

Test(store, keeps_only_the_newest_256_history_entries)
{
	struct store_rcpt	 r;
	struct store_hist	 h;
	char			 id[16];
	size_t			 i, n = 300;

	store_rcpt_init(&r);
	for (i = 0; i < n; i++) {
		snprintf(id, sizeof id, "c%zu", i);
		h = hist(NOW - (int64_t)(n - i) * MINUTE, 1,
		    i + 1 == n ? STORE_HIST_RESERVED : STORE_HIST_SENT, id);
		store_rcpt_add_hist(&r, &h);
	}
	store_rcpt_prune(&r, NOW - 400 * DAY);
	cr_assert_eq(r.nhist, 256);
	cr_expect_str_eq(r.hist[0].campaign, "c44", "the oldest go first");
	cr_expect_eq(r.hist[0].time, NOW - 256 * MINUTE);
	cr_expect_str_eq(r.hist[255].campaign, "c299");
	cr_expect_eq(r.hist[255].state, STORE_HIST_RESERVED,
	    "the newest reservation stays");
	/* And the pruned record still round-trips. */
	put_rcpt("busy@example.org", &r);
	store_rcpt_free(&r);
	cr_assert_eq(get_rcpt("busy@example.org", &r), 0);
	cr_expect_eq(r.nhist, 256);
	store_rcpt_free(&r);
}

Test(store, marks_or_releases_the_history_entry_of_one_campaign)
{
	struct store_rcpt	 r;
	struct store_hist	 a = hist(NOW, 1, STORE_HIST_RESERVED, "a");
	struct store_hist	 b = hist(NOW + DAY, 1, STORE_HIST_RESERVED,
	    "b");
	struct store_hist	 c = hist(NOW + 2 * DAY, 1,
	    STORE_HIST_RESERVED, "c");

	store_rcpt_init(&r);
	store_rcpt_add_hist(&r, &a);
	store_rcpt_add_hist(&r, &b);
	store_rcpt_add_hist(&r, &c);
	cr_expect_eq(store_rcpt_hist_set(&r, "a", STORE_HIST_SENT, NOW + 5),
	    0);
	cr_expect_eq(r.hist[0].state, STORE_HIST_SENT);
	cr_expect_eq(r.hist[0].time, NOW + 5, "sent time replaces due time");
	cr_expect_eq(store_rcpt_hist_set(&r, "b", 0, NOW), 0);
	cr_assert_eq(r.nhist, 2, "state 0 releases the slot");
	cr_expect_str_eq(r.hist[0].campaign, "a");
	cr_expect_str_eq(r.hist[1].campaign, "c");
	cr_expect_eq(store_rcpt_hist_set(&r, "b", 0, NOW), 1,
	    "an unknown campaign is reported");
	cr_expect_eq(store_rcpt_hist_set(&r, "zzz", STORE_HIST_SENT, NOW), 1);
	cr_expect_eq(r.nhist, 2);
	store_rcpt_free(&r);
}

/* Queue the jobs and return them, keys filled in. */
static void
queue_jobs(struct store_job *jobs, size_t n)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < n; i++)
		cr_assert_eq(store_queue_put(t, &jobs[i], &cause), 0, "%s",
		    cause);
	fixture_commit(t);
}

/*
 * The queue, read in its order, holds the addresses of `order` and no
 * more; with `jobs`, each under the key that job was given.
 */
static void
expect_queue(const char *const *order, size_t n, const struct store_job *jobs,
    size_t njobs)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	char			*cause = NULL;
	size_t			 i, at = 0;

	cr_expect_eq(store_count(t, STORE_QUEUE), n);
	cr_assert_eq(store_queue_first(t, &c, &cause), 0, "%s", cause);
	while (store_cursor_job(c, &j) == 1) {
		cr_assert_lt(at, n);
		cr_expect_str_eq(j.addr, order[at], "position %zu", at);
		for (i = 0; i < njobs; i++)
			if (strcmp(jobs[i].addr, j.addr) == 0)
				cr_expect_eq(memcmp(jobs[i].key, j.key,
				    STORE_KEY_LEN), 0, "%s", j.addr);
		at++;
		store_cursor_next(c);
	}
	cr_expect_eq(at, n);
	cr_expect_eq(store_cursor_next(c), 0, "the end stays the end");
	store_cursor_close(c);
	store_abort(t);
}

/* Queue the jobs in one transaction, staging those marked. */
static struct store_txn *
stage_jobs(struct store_job *jobs, const int *staged, size_t n)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	char			*cause = NULL;
	size_t			 i;

	for (i = 0; i < n; i++)
		cr_assert_eq((staged[i] ? store_queue_stage : store_queue_put)(
		    t, &jobs[i], &cause), 0, "%s", cause);
	return t;
}

/*
 * Staged jobs (admission's deferred ones) are written at the commit, yet
 * the queue reads as if each had been put when it was staged: by due
 * time, then in the order of the calls.  An abort keeps none of them.
 */
Test(store, staged_jobs_take_their_place_in_queue_order_at_the_commit)
{
	struct store_job	 jobs[] = {
		job(NOW, "c", "now1@example.org"),
		job(NOW + 7 * HOUR, "c", "tokyo1@example.org"),
		job(NOW + 3 * HOUR, "c", "berlin1@example.org"),
		job(NOW, "c", "now2@example.org"),
		job(NOW + 7 * HOUR, "c", "tokyo2@example.org"),
		job(NOW + 3 * HOUR, "c", "berlin2@example.org"),
		job(NOW, "c", "now3@example.org"),
	};
	/* Which are staged: the ones due later. */
	static const int	 staged[] = { 0, 1, 1, 0, 1, 1, 0 };
	static const char	*order[] = {
		"now1@example.org", "now2@example.org", "now3@example.org",
		"berlin1@example.org", "berlin2@example.org",
		"tokyo1@example.org", "tokyo2@example.org"
	};
	/* Aborted: nothing of it stays, staged or not. */
	store_abort(stage_jobs(jobs, staged, nitems(jobs)));
	expect_queue(order, 0, NULL, 0);
	/* Each job is found under the key it was given when staged. */
	fixture_commit(stage_jobs(jobs, staged, nitems(jobs)));
	expect_queue(order, nitems(order), jobs, nitems(jobs));
}

/* An explicit flush writes the staged jobs at once; the commit then has
 * nothing left to write, and a job staged after it still counts. */
Test(store, a_flush_writes_what_is_staged_and_staging_goes_on)
{
	struct store_job	 a = job(NOW + HOUR, "c", "a@example.org");
	struct store_job	 b = job(NOW + HOUR, "c", "b@example.org");
	struct store_job	 got;
	struct store_txn	*t;
	char			*cause = NULL;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_queue_stage(t, &a, &cause), 0, "%s", cause);
	cr_expect_eq(store_queue_get(t, a.key, &got, &cause), 1,
	    "not written before the flush");
	cr_assert_eq(store_queue_flush(t, &cause), 0, "%s", cause);
	cr_expect_eq(store_queue_get(t, a.key, &got, &cause), 0, "%s", cause);
	cr_assert_eq(store_queue_stage(t, &b, &cause), 0, "%s", cause);
	fixture_commit(t);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_QUEUE), 2);
	cr_expect_eq(store_queue_get(t, b.key, &got, &cause), 0, "%s", cause);
	cr_expect_str_eq(got.addr, "b@example.org");
	store_abort(t);
}

Test(store, walks_the_queue_by_due_time_then_by_queueing_order)
{
	struct store_job	 jobs[] = {
		job(NOW + 30, "c", "late@example.org"),
		job(NOW + 10, "c", "first@example.org"),
		job(NOW + 20, "c", "middle@example.org"),
		job(NOW + 10, "c", "second@example.org"),
		job(NOW + 10, "c", "third@example.org"),
		job(NOW - 50, "c", "overdue@example.org"),
	};
	static const char	*order[] = {
		"overdue@example.org", "first@example.org",
		"second@example.org", "third@example.org",
		"middle@example.org", "late@example.org"
	};

	queue_jobs(jobs, nitems(jobs));
	expect_queue(order, nitems(order), NULL, 0);
}

Test(store, keeps_every_job_field_and_derives_due_from_the_key)
{
	struct store_job	 in = job(NOW + HOUR, "nov-update",
	    "Alice@Example.org"), out;
	struct store_txn	*t;
	char			*cause = NULL;

	in.attempts = 3;
	in.flags = STORE_JOB_DEFERRED;
	in.queued = NOW - DAY;
	snprintf(in.name, sizeof in.name, "Alice Ünicode");
	queue_jobs(&in, 1);
	t = fixture_begin(&fx, 0);
	memset(&out, 0, sizeof out);
	cr_assert_eq(store_queue_get(t, in.key, &out, &cause), 0, "%s", cause);
	store_abort(t);
	cr_expect_eq(memcmp(out.key, in.key, STORE_KEY_LEN), 0);
	cr_expect_eq(out.due, NOW + HOUR);
	cr_expect_eq(out.queued, NOW - DAY);
	cr_expect_eq(out.attempts, 3);
	cr_expect_eq(out.flags, STORE_JOB_DEFERRED);
	cr_expect_eq(out.lid, 7);
	cr_expect_eq(out.rid, 42);
	cr_expect_str_eq(out.campaign, "nov-update");
	cr_expect_str_eq(out.addr, "Alice@Example.org", "as given, not "
	    "normalised");
	cr_expect_str_eq(out.name, "Alice Ünicode");
	cr_expect_eq(out.qday, 0, "no quota place");
	cr_expect_str_eq(out.qunit, "");
}

Test(store, keeps_a_jobs_quota_day_and_unit)
{
	struct store_job	 in = job(NOW, "c", "a@example.org"), out;
	struct store_txn	*t;

	in.qday = 20270115;
	snprintf(in.qunit, sizeof in.qunit, "google");
	queue_jobs(&in, 1);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_queue_get(t, in.key, &out, NULL), 0);
	store_abort(t);
	cr_expect_eq(out.qday, 20270115);
	cr_expect_str_eq(out.qunit, "google");
}

Test(store, seeks_the_cursor_to_the_first_job_due_at_or_after_a_key)
{
	struct store_job	 jobs[] = {
		job(NOW + 10, "c", "a@example.org"),
		job(NOW + 20, "c", "b@example.org"),
		job(NOW + 30, "c", "c@example.org"),
	};
	struct store_txn	*t;
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	uint8_t			 key[STORE_KEY_LEN];
	char			*cause = NULL;

	queue_jobs(jobs, nitems(jobs));
	t = fixture_begin(&fx, 0);
	store_queue_key(key, NOW + 15, 0);
	cr_assert_eq(store_queue_seek(t, key, &c, &cause), 0, "%s", cause);
	cr_assert_eq(store_cursor_job(c, &j), 1);
	cr_expect_str_eq(j.addr, "b@example.org");
	store_cursor_close(c);
	/* An exact key finds its own job. */
	cr_assert_eq(store_queue_seek(t, jobs[2].key, &c, &cause), 0);
	cr_assert_eq(store_cursor_job(c, &j), 1);
	cr_expect_str_eq(j.addr, "c@example.org");
	cr_expect_eq(store_cursor_next(c), 0);
	cr_expect_eq(store_cursor_job(c, &j), 0);
	store_cursor_close(c);
	/* Past the last job there is nothing. */
	store_queue_key(key, NOW + 31, 0);
	cr_assert_eq(store_queue_seek(t, key, &c, &cause), 0);
	cr_expect_eq(store_cursor_job(c, &j), 0);
	store_cursor_close(c);
	store_abort(t);
}

Test(store, finds_nothing_to_walk_in_an_empty_queue)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	char			*cause = NULL;

	cr_expect_eq(store_count(t, STORE_QUEUE), 0);
	cr_assert_eq(store_queue_first(t, &c, &cause), 0, "%s", cause);
	cr_expect_eq(store_cursor_job(c, &j), 0);
	store_cursor_close(c);
	store_abort(t);
}

Test(store, orders_a_negative_due_time_first)
{
	uint8_t	 neg[STORE_KEY_LEN], zero[STORE_KEY_LEN], pos[STORE_KEY_LEN];

	store_queue_key(neg, -5, 1);
	store_queue_key(zero, 0, 1);
	store_queue_key(pos, 1, 0);
	cr_expect_eq(memcmp(neg, zero, STORE_KEY_LEN), 0,
	    "a time before the epoch is clamped to 0");
	cr_expect_lt(memcmp(zero, pos, STORE_KEY_LEN), 0);
}

Test(store, gets_and_deletes_one_job_by_key)
{
	struct store_job	 jobs[] = {
		job(NOW, "c", "a@example.org"),
		job(NOW, "c", "b@example.org"),
	};
	struct store_txn	*t;
	struct store_job	 j;
	char			*cause = NULL;

	queue_jobs(jobs, nitems(jobs));
	t = fixture_begin(&fx, 1);
	cr_expect_eq(store_queue_get(t, jobs[0].key, &j, &cause), 0);
	cr_expect_str_eq(j.addr, "a@example.org");
	cr_expect_eq(store_queue_del(t, jobs[0].key, &cause), 0);
	cr_expect_eq(store_queue_get(t, jobs[0].key, &j, &cause), 1,
	    "a deleted job is not found");
	cr_expect_eq(store_queue_del(t, jobs[0].key, &cause), 1,
	    "deleting twice answers not found");
	cr_expect_eq(store_count(t, STORE_QUEUE), 1);
	fixture_commit(t);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_QUEUE), 1);
	cr_expect_eq(store_queue_get(t, jobs[1].key, &j, &cause), 0);
	cr_expect_str_eq(j.addr, "b@example.org");
	store_abort(t);
}

/* Collect what store_cr_each visits. */
struct each_seen {
	uint64_t rids[8];
	uint8_t	 states[8];
	size_t	 n;
	size_t	 stop_after;	/* 0: never stop */
};

static int
each_collect(uint64_t rid, struct store_cr *cr, void *arg)
{
	struct each_seen	*s = arg;

	cr_assert_lt(s->n, 8);
	s->rids[s->n] = rid;
	s->states[s->n] = cr->state;
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after;
}

/* A delivery state. */
static struct store_cr
cr_of(int state, int64_t time)
{
	struct store_cr	 cr;

	memset(&cr, 0, sizeof cr);
	cr.state = (uint8_t)state;
	cr.time = time;
	store_queue_key(cr.key, time, 9);
	return cr;
}

Test(store, keeps_the_delivery_states_of_a_campaign_apart_from_its_prefixes)
{
	struct store_txn	*t;
	struct store_cr		 x = cr_of(STORE_CR_QUEUED, NOW),
	    y = cr_of(STORE_CR_SENT, NOW + 1), z = cr_of(STORE_CR_FAILED,
	    NOW + 2), w = cr_of(STORE_CR_DROPPED, NOW + 3), got;
	struct each_seen	 seen;
	char			*cause = NULL;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_cr_put(t, "a", 7, &y, &cause), 0);
	cr_assert_eq(store_cr_put(t, "a", 2, &x, &cause), 0);
	cr_assert_eq(store_cr_put(t, "ab", 1, &z, &cause), 0);
	cr_assert_eq(store_cr_put(t, "", 3, &w, &cause), 0);
	cr_assert_eq(store_cr_put(t, "b", 1, &w, &cause), 0);
	/* Ids are big-endian: a large one sorts after the small ones. */
	cr_assert_eq(store_cr_put(t, "a", UINT64_C(0x6200000000000001), &w,
	    &cause), 0);
	fixture_commit(t);

	t = fixture_begin(&fx, 0);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(store_cr_each(t, "a", each_collect, &seen, &cause), 0);
	cr_assert_eq(seen.n, 3, "campaign \"a\" must not see \"ab\"");
	cr_expect_eq(seen.rids[0], 2, "in recipient id order");
	cr_expect_eq(seen.states[0], STORE_CR_QUEUED);
	cr_expect_eq(seen.rids[1], 7);
	cr_expect_eq(seen.states[1], STORE_CR_SENT);
	cr_expect_eq(seen.rids[2], UINT64_C(0x6200000000000001));

	memset(&seen, 0, sizeof seen);
	cr_assert_eq(store_cr_each(t, "ab", each_collect, &seen, &cause), 0);
	cr_assert_eq(seen.n, 1);
	cr_expect_eq(seen.rids[0], 1);
	cr_expect_eq(seen.states[0], STORE_CR_FAILED);

	memset(&seen, 0, sizeof seen);
	cr_assert_eq(store_cr_each(t, "nothing", each_collect, &seen,
	    &cause), 0);
	cr_expect_eq(seen.n, 0);

	memset(&seen, 0, sizeof seen);
	seen.stop_after = 1;
	cr_assert_eq(store_cr_each(t, "a", each_collect, &seen, &cause), 0);
	cr_expect_eq(seen.n, 1, "a non-zero return stops the walk");

	memset(&got, 0, sizeof got);
	cr_assert_eq(store_cr_get(t, "ab", 1, &got, &cause), 0);
	cr_expect_eq(got.state, STORE_CR_FAILED);
	cr_expect_eq(got.time, NOW + 2);
	cr_expect_eq(memcmp(got.key, z.key, STORE_KEY_LEN), 0);
	cr_expect_eq(store_cr_get(t, "a", 1, &got, &cause), 1);
	cr_expect_eq(store_cr_get(t, "abc", 2, &got, &cause), 1);
	store_abort(t);
}

Test(store, replaces_a_delivery_state_in_place)
{
	struct store_txn	*t;
	struct store_cr		 q = cr_of(STORE_CR_QUEUED, NOW), s =
	    cr_of(STORE_CR_SENT, NOW + 60), got;
	struct each_seen	 seen;
	char			*cause = NULL;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_cr_put(t, "c", 4, &q, &cause), 0);
	cr_assert_eq(store_cr_put(t, "c", 4, &s, &cause), 0);
	cr_assert_eq(store_cr_get(t, "c", 4, &got, &cause), 0);
	cr_expect_eq(got.state, STORE_CR_SENT);
	cr_expect_eq(got.time, NOW + 60);
	memset(&seen, 0, sizeof seen);
	store_cr_each(t, "c", each_collect, &seen, &cause);
	cr_expect_eq(seen.n, 1);
	store_abort(t);
}

/*
 * Delivery states written in ascending order are appended; anything
 * else is inserted where it belongs, within a transaction and across
 * transactions, and the last key is learnt again by each.
 */
Test(store, appends_delivery_states_that_sort_last_and_inserts_the_others)
{
	struct store_txn	*t;
	struct store_cr		 q = cr_of(STORE_CR_QUEUED, NOW), s =
	    cr_of(STORE_CR_SENT, NOW + 1), got;
	struct each_seen	 seen;
	const uint64_t		 want[] = { 1, 3, 5, 6, 7, 300, 301 };
	char			*cause = NULL;
	size_t			 i;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_cr_put(t, "m", 5, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "m", 6, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "m", 7, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "m", 3, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "m", 6, &s, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "a", 9, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "z", 1, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "m", 300, &q, &cause), 0, "%s", cause);
	fixture_commit(t);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_cr_put(t, "m", 1, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "m", 301, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "zz", 1, &q, &cause), 0, "%s", cause);
	cr_assert_eq(store_cr_put(t, "zz", 2, &q, &cause), 0, "%s", cause);
	fixture_commit(t);

	t = fixture_begin(&fx, 0);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(store_cr_each(t, "m", each_collect, &seen, &cause), 0);
	cr_assert_eq(seen.n, nitems(want));
	for (i = 0; i < nitems(want); i++)
		cr_expect_eq(seen.rids[i], want[i], "entry %zu", i);
	cr_assert_eq(store_cr_get(t, "m", 6, &got, &cause), 0);
	cr_expect_eq(got.state, STORE_CR_SENT, "replaced, not added");
	cr_expect_eq(store_cr_get(t, "a", 9, &got, &cause), 0);
	cr_expect_eq(store_cr_get(t, "z", 1, &got, &cause), 0);
	cr_expect_eq(store_cr_get(t, "zz", 2, &got, &cause), 0);
	store_abort(t);
}

/* Raw LMDB on a store's directory, as an older mannersd left it. */
static void
raw_open(const char *dir, MDB_env **env, MDB_txn **txn, MDB_dbi *meta,
    MDB_dbi *cr)
{
	cr_assert_eq(mdb_env_create(env), 0);
	mdb_env_set_maxdbs(*env, 16);
	mdb_env_set_mapsize(*env, MAP_SIZE);
	cr_assert_eq(mdb_env_open(*env, dir, MDB_NOTLS, 0640), 0);
	cr_assert_eq(mdb_txn_begin(*env, NULL, 0, txn), 0);
	cr_assert_eq(mdb_dbi_open(*txn, "meta", 0, meta), 0);
	cr_assert_eq(mdb_dbi_open(*txn, "cr", 0, cr), 0);
}

Test(store, migrates_delivery_states_keyed_by_address_to_recipient_ids)
{
	struct store_txn	*t;
	struct store_rcpt	 a, b;
	struct store_cr		 got;
	struct each_seen	 seen;
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 meta, crdb;
	MDB_val			 k, v;
	uint8_t			 val[1 + STORE_KEY_LEN + 8];
	char			*cause = NULL;
	const char		*old[] = { "c\0a@example.org",
	    "c\0b@example.org", "d\0b@example.org", "c\0gone@example.org" };
	const size_t		 oldlen[] = { 15, 15, 15, 18 };
	size_t			 i;

	store_rcpt_init(&a);
	store_rcpt_init(&b);
	put_rcpt("a@example.org", &a);
	put_rcpt("b@example.org", &b);
	cr_assert_eq(get_rcpt("a@example.org", &a), 0);
	cr_assert_eq(get_rcpt("b@example.org", &b), 0);
	store_close(fx.s);
	fx.s = NULL;

	/* Format 1: no marker, cr keyed by campaign NUL address. */
	raw_open(fx.dir, &env, &txn, &meta, &crdb);
	k.mv_size = 6;
	k.mv_data = (void *)"format";
	cr_assert_eq(mdb_del(txn, meta, &k, NULL), 0);
	for (i = 0; i < nitems(old); i++) {
		memset(val, 0, sizeof val);
		val[0] = (uint8_t)(STORE_CR_QUEUED + i);
		be64enc(val + 1 + STORE_KEY_LEN, (uint64_t)(NOW + (int)i));
		k.mv_size = oldlen[i];
		k.mv_data = (void *)old[i];
		v.mv_size = sizeof val;
		v.mv_data = val;
		cr_assert_eq(mdb_put(txn, crdb, &k, &v, 0), 0);
	}
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_cr_get(t, "c", a.rid, &got, &cause), 0);
	cr_expect_eq(got.state, STORE_CR_QUEUED);
	cr_expect_eq(got.time, NOW);
	cr_assert_eq(store_cr_get(t, "c", b.rid, &got, &cause), 0);
	cr_expect_eq(got.state, STORE_CR_QUEUED + 1);
	cr_assert_eq(store_cr_get(t, "d", b.rid, &got, &cause), 0);
	cr_expect_eq(got.state, STORE_CR_QUEUED + 2);
	memset(&seen, 0, sizeof seen);
	cr_assert_eq(store_cr_each(t, "c", each_collect, &seen, &cause), 0);
	cr_expect_eq(seen.n, 2, "an address without a record is dropped");
	store_abort(t);

	/* Migrated once: a second open finds format 2 and changes nothing. */
	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_cr_get(t, "d", b.rid, &got, &cause), 0);
	store_abort(t);
	store_rcpt_free(&a);
	store_rcpt_free(&b);
}

Test(store, reads_a_job_of_format_1_as_holding_no_quota_place)
{
	struct store_job	 out;
	struct store_txn	*t;
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 meta, crdb, queue;
	MDB_val			 k, v;
	uint8_t			 key[STORE_KEY_LEN], val[64], *p = val;

	store_close(fx.s);
	fx.s = NULL;
	/* version 1, queued, attempts, flags, lid, rid, campaign, addr, name */
	raw_open(fx.dir, &env, &txn, &meta, &crdb);
	cr_assert_eq(mdb_dbi_open(txn, "queue", 0, &queue), 0);
	store_queue_key(key, NOW, 9);
	*p++ = 1;
	be64enc(p, (uint64_t)(NOW - DAY));
	p += 8;
	memcpy(p, "\0\0\0\2", 4);
	p += 4;
	*p++ = STORE_JOB_DEFERRED;
	memcpy(p, "\0\0\0\7", 4);
	p += 4;
	be64enc(p, 42);
	p += 8;
	*p++ = 1;
	*p++ = 'c';
	*p++ = 13;
	memcpy(p, "a@example.org", 13);
	p += 13;
	*p++ = 0;
	k.mv_size = STORE_KEY_LEN;
	k.mv_data = key;
	v.mv_size = (size_t)(p - val);
	v.mv_data = val;
	cr_assert_eq(mdb_put(txn, queue, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 0);
	memset(&out, 0x55, sizeof out);
	cr_assert_eq(store_queue_get(t, key, &out, NULL), 0);
	store_abort(t);
	cr_expect_eq(out.due, NOW);
	cr_expect_eq(out.queued, NOW - DAY);
	cr_expect_eq(out.attempts, 2);
	cr_expect_eq(out.flags, STORE_JOB_DEFERRED);
	cr_expect_eq(out.lid, 7);
	cr_expect_eq(out.rid, 42);
	cr_expect_str_eq(out.campaign, "c");
	cr_expect_str_eq(out.addr, "a@example.org");
	cr_expect_str_eq(out.name, "");
	cr_expect_eq(out.qday, 0);
	cr_expect_str_eq(out.qunit, "");
}

Test(store, takes_back_from_a_quota_count_never_below_nothing)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	uint64_t		 n = 9;
	unsigned		 days = 9;

	cr_assert_eq(store_quota_add(t, "+u", 20270115, 3, NULL), 0);
	cr_assert_eq(store_quota_sub(t, "+u", 20270115, 1, NULL), 0);
	cr_assert_eq(store_quota_get(t, "+u", 20270115, &n, NULL), 0);
	cr_expect_eq(n, 2);
	cr_assert_eq(store_quota_sub(t, "+u", 20270115, 5, NULL), 0);
	cr_assert_eq(store_quota_get(t, "+u", 20270115, &n, NULL), 0);
	cr_expect_eq(n, 0);
	cr_assert_eq(store_quota_days(t, "+u", 20270101, 20270201, &days,
	    NULL), 0);
	cr_expect_eq(days, 0, "an emptied day is no sending day");
	cr_assert_eq(store_quota_sub(t, "+u", 20270116, 1, NULL), 0,
	    "nothing to take back from is no error");
	fixture_commit(t);
}

Test(store, keeps_where_mx_records_placed_a_domain)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	char			 group[64];
	int64_t			 until = 0;

	cr_expect_eq(store_mx_get(t, "ws.example", group, sizeof group,
	    &until, NULL), 1, "none yet");
	cr_assert_eq(store_mx_put(t, "WS.Example", "google", NOW + HOUR, NULL),
	    0);
	fixture_commit(t);
	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_mx_get(t, "ws.EXAMPLE", group, sizeof group,
	    &until, NULL), 0, "any case, after a restart");
	cr_expect_str_eq(group, "google");
	cr_expect_eq(until, NOW + HOUR);
	cr_assert_eq(store_mx_del(t, "ws.example", NULL), 0);
	cr_expect_eq(store_mx_get(t, "ws.example", group, sizeof group,
	    &until, NULL), 1, "forgotten");
	cr_expect_eq(store_mx_del(t, "ws.example", NULL), 1);
	fixture_commit(t);
}

Test(store, refuses_a_store_of_a_newer_format)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 meta, crdb;
	MDB_val		 k, v;
	struct store	*s = NULL;
	uint8_t		 b[8];
	char		*cause = NULL;

	store_close(fx.s);
	fx.s = NULL;
	raw_open(fx.dir, &env, &txn, &meta, &crdb);
	be64enc(b, 3);
	k.mv_size = 6;
	k.mv_data = (void *)"format";
	v.mv_size = 8;
	v.mv_data = b;
	cr_assert_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	cr_assert_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);

	cr_assert_eq(store_open(fx.dir, MAP_SIZE, &s, &cause), -1);
	cr_assert_not_null(cause);
	cr_expect(strstr(cause, "format 3") != NULL, "%s", cause);
	cr_expect_null(s);
	free(cause);
}

Test(store, gives_lists_stable_ids_that_map_back_to_their_names)
{
	struct store_txn	*t;
	uint32_t		 news = 0, shop = 0, again = 0, none = 99;
	char			 name[64], *cause = NULL;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_list_id(t, "news.example.com", 1, &news, &cause),
	    0);
	cr_assert_eq(store_list_id(t, "shop.example.com", 1, &shop, &cause),
	    0);
	cr_expect_eq(news, 1);
	cr_expect_eq(shop, 2);
	cr_expect_eq(store_list_id(t, "other.example.com", 0, &none, &cause),
	    1, "without create an unknown list is not found");
	cr_expect_eq(none, 99, "and the id is left alone");
	fixture_commit(t);

	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_list_id(t, "news.example.com", 1, &again, &cause),
	    0);
	cr_expect_eq(again, news, "the same name keeps its id");
	cr_assert_eq(store_list_id(t, "shop.example.com", 0, &again, &cause),
	    0);
	cr_expect_eq(again, shop);
	cr_assert_eq(store_list_name(t, news, name, sizeof name), 0);
	cr_expect_str_eq(name, "news.example.com");
	cr_assert_eq(store_list_name(t, shop, name, sizeof name), 0);
	cr_expect_str_eq(name, "shop.example.com");
	cr_expect_eq(store_list_name(t, 77, name, sizeof name), 1);
	cr_expect_eq(store_list_name(t, 0, name, sizeof name), 1,
	    "0 means every list and names none");
	store_abort(t);
}

Test(store, maps_recipient_ids_back_to_their_addresses)
{
	struct store_rcpt	 a, b;
	struct store_txn	*t;
	char			 addr[STORE_ADDR_MAX + 1];

	store_rcpt_init(&a);
	store_rcpt_init(&b);
	put_rcpt("a@example.org", &a);
	put_rcpt("b@example.net", &b);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_rid_addr(t, a.rid, addr, sizeof addr), 0);
	cr_expect_str_eq(addr, "a@example.org");
	cr_assert_eq(store_rid_addr(t, b.rid, addr, sizeof addr), 0);
	cr_expect_str_eq(addr, "b@example.net");
	cr_expect_eq(store_rid_addr(t, 999, addr, sizeof addr), 1);
	store_abort(t);
	store_rcpt_free(&a);
	store_rcpt_free(&b);
}

Test(store, keeps_campaign_state_and_body_records_apart)
{
	struct store_txn	*t;
	json_t			*st, *body, *got = NULL, *ids = NULL;
	char			*cause = NULL;

	st = json_pack("{s:s, s:{s:i}}", "state", "active", "counts",
	    "queued", 3);
	body = json_pack("{s:s, s:s}", "subject", "Hello", "digest", "abc");
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_campaign_put(t, "nov", st, &cause), 0, "%s", cause);
	cr_assert_eq(store_campaign_body_put(t, "nov", body, &cause), 0);
	/* A body without a state (never happens) is not a campaign. */
	cr_assert_eq(store_campaign_body_put(t, "orphan", body, &cause), 0);
	cr_assert_eq(store_campaign_put(t, "dec", st, &cause), 0);
	fixture_commit(t);

	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_campaign_get(t, "nov", &got, &cause), 0);
	cr_expect(json_equal(got, st), "state round trip");
	json_decref(got);
	cr_assert_eq(store_campaign_body_get(t, "nov", &got, &cause), 0);
	cr_expect(json_equal(got, body), "body round trip");
	json_decref(got);
	cr_expect_eq(store_campaign_get(t, "orphan", &got, &cause), 1);
	cr_expect_null(got);
	cr_expect_eq(store_campaign_body_get(t, "dec", &got, &cause), 1);
	cr_expect_eq(store_campaign_get(t, "unknown", &got, &cause), 1);
	cr_assert_eq(store_campaign_list(t, &ids, &cause), 0);
	cr_assert_eq(json_array_size(ids), 2, "only campaigns with a state");
	cr_expect_str_eq(json_string_value(json_array_get(ids, 0)), "dec");
	cr_expect_str_eq(json_string_value(json_array_get(ids, 1)), "nov");
	json_decref(ids);
	store_abort(t);
	json_decref(st);
	json_decref(body);
}

Test(store, counts_each_named_counter_from_one_and_keeps_it_across_restarts)
{
	struct store_txn	*t;
	uint64_t		 id;
	char			*cause = NULL;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_next_id(t, "alpha", &id, &cause), 0);
	cr_expect_eq(id, 1);
	cr_assert_eq(store_next_id(t, "alpha", &id, &cause), 0);
	cr_expect_eq(id, 2);
	cr_assert_eq(store_next_id(t, "beta", &id, &cause), 0);
	cr_expect_eq(id, 1, "counters are independent");
	fixture_commit(t);
	fixture_reopen(&fx, MAP_SIZE);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_next_id(t, "alpha", &id, &cause), 0);
	cr_expect_eq(id, 3);
	store_abort(t);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_next_id(t, "alpha", &id, &cause), 0);
	cr_expect_eq(id, 3, "an aborted increment is not used up");
	store_abort(t);
}

Test(store, leaves_nothing_behind_when_a_transaction_is_aborted)
{
	struct store_txn	*t;
	struct store_rcpt	 r;
	struct store_hist	 h = hist(NOW, 1, STORE_HIST_RESERVED, "c");
	struct store_job	 j = job(NOW, "c", "a@example.org");
	struct store_cr		 cr = cr_of(STORE_CR_QUEUED, NOW), got;
	struct store_cursor	*c = NULL;
	json_t			*st = json_object(), *out = NULL;
	uint32_t		 lid;
	uint64_t		 id;
	char			 addr[STORE_ADDR_MAX + 1], *cause = NULL;

	store_rcpt_init(&r);
	store_rcpt_add_hist(&r, &h);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_list_id(t, "news.example.com", 1, &lid, &cause),
	    0);
	cr_assert_eq(store_rcpt_put(t, "a@example.org", &r, &cause), 0);
	cr_assert_eq(store_queue_put(t, &j, &cause), 0);
	cr_assert_eq(store_cr_put(t, "c", r.rid, &cr, &cause), 0);
	cr_assert_eq(store_campaign_put(t, "c", st, &cause), 0);
	cr_assert_eq(store_campaign_body_put(t, "c", st, &cause), 0);
	cr_expect_eq(store_count(t, STORE_QUEUE), 1, "visible inside");
	store_abort(t);

	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_QUEUE), 0);
	cr_assert_eq(store_queue_first(t, &c, &cause), 0);
	cr_expect_eq(store_cursor_job(c, &j), 0);
	store_cursor_close(c);
	cr_expect_eq(store_rcpt_get(t, "a@example.org", &r, &cause), 1);
	cr_expect_eq(store_rid_addr(t, 1, addr, sizeof addr), 1);
	cr_expect_eq(store_cr_get(t, "c", 1, &got, &cause), 1);
	cr_expect_eq(store_campaign_get(t, "c", &out, &cause), 1);
	cr_expect_eq(store_campaign_body_get(t, "c", &out, &cause), 1);
	cr_expect_eq(store_list_id(t, "news.example.com", 0, &lid, &cause),
	    1);
	cr_expect_eq(store_list_name(t, 1, addr, sizeof addr), 1);
	store_abort(t);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_next_id(t, "rid", &id, &cause), 0);
	cr_expect_eq(id, 1, "the aborted recipient id was not used up");
	cr_assert_eq(store_next_id(t, "seq", &id, &cause), 0);
	cr_expect_eq(id, 1, "nor the aborted queue sequence");
	store_abort(t);
	json_decref(st);
	store_rcpt_free(&r);
}

Test(store, a_read_transaction_sees_commits_made_before_it_began)
{
	struct store_txn	*rd, *wr;
	struct store_job	 j = job(NOW, "c", "a@example.org");
	char			*cause = NULL;

	rd = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(rd, STORE_QUEUE), 0);
	store_abort(rd);
	wr = fixture_begin(&fx, 1);
	cr_assert_eq(store_queue_put(wr, &j, &cause), 0);
	fixture_commit(wr);
	rd = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(rd, STORE_QUEUE), 1);
	store_abort(rd);
}

Test(store, reports_a_full_map_as_store_full_with_a_cause_naming_map_size)
{
	struct store_txn	*t;
	struct store_rcpt	 r;
	struct store_hist	 h;
	uint64_t		 mapsize, used;
	char			 addr[64], *cause = NULL;
	size_t			 i;
	int			 rc = 0;

	fixture_close(&fx);
	fixture_open(&fx, TINY_MAP, NULL);
	store_usage(fx.s, &mapsize, &used);
	cr_expect_eq(mapsize, TINY_MAP);
	store_rcpt_init(&r);
	for (i = 0; i < 40; i++) {
		h = hist(NOW + (int64_t)i, 1, STORE_HIST_SENT,
		    "a-campaign-with-a-rather-long-identifier-0123456789");
		store_rcpt_add_hist(&r, &h);
	}
	t = fixture_begin(&fx, 1);
	/* About 3 KB each: 1 MiB holds a few hundred at most. */
	for (i = 0; i < 100000 && rc == 0; i++) {
		snprintf(addr, sizeof addr, "user%zu@example.org", i);
		r.rid = 0;
		rc = store_rcpt_put(t, addr, &r, &cause);
	}
	store_abort(t);
	cr_assert_eq(rc, STORE_FULL, "rc %d after %zu records: %s", rc, i,
	    cause != NULL ? cause : "(no cause)");
	cr_assert_not_null(cause);
	cr_expect_not_null(strstr(cause, "map_size"), "cause: %s", cause);
	cr_expect_gt(i, 10, "the map held something before it filled");
	free(cause);
	cause = NULL;

	/* The store is still usable and the aborted writes are gone. */
	t = fixture_begin(&fx, 1);
	cr_expect_eq(store_rcpt_get(t, "user0@example.org", &r, &cause), 1);
	r.rid = 0;
	cr_expect_eq(store_rcpt_put(t, "after@example.org", &r, &cause), 0,
	    "%s", cause);
	fixture_commit(t);

	/* Grown, the map takes what did not fit before. */
	cr_assert_eq(store_grow(fx.s, 64 * TINY_MAP, &cause), 0, "%s", cause);
	store_usage(fx.s, &mapsize, &used);
	cr_expect_eq(mapsize, 64 * TINY_MAP);
	t = fixture_begin(&fx, 1);
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof addr, "user%zu@example.org", i);
		r.rid = 0;
		cr_assert_eq(store_rcpt_put(t, addr, &r, &cause), 0, "%s",
		    cause);
	}
	fixture_commit(t);
	store_rcpt_free(&r);
}

Test(store, keeps_the_last_time_zone_of_a_recipient_id_apart)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	char			 zone[65], *cause = NULL;

	cr_expect_eq(store_zone_get(t, 7, zone, sizeof zone, &cause), 1,
	    "no zone kept yet");
	cr_assert_eq(store_zone_put(t, 7, "Asia/Tokyo", &cause), 0, "%s",
	    cause);
	cr_assert_eq(store_zone_put(t, 8, "America/New_York", &cause), 0);
	cr_assert_eq(store_zone_put(t, 3, "Asia/Kathmandu", &cause), 0,
	    "an id before the others is inserted, not appended");
	cr_assert_eq(store_zone_put(t, 8, "America/New_York", &cause), 0,
	    "the same zone again changes nothing");
	fixture_commit(t);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(store_zone_get(t, 7, zone, sizeof zone, &cause), 0);
	cr_expect_str_eq(zone, "Asia/Tokyo");
	cr_assert_eq(store_zone_put(t, 7, "Europe/Berlin", &cause), 0);
	store_abort(t);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_zone_get(t, 7, zone, sizeof zone, &cause), 0);
	cr_expect_str_eq(zone, "Asia/Tokyo", "an aborted change is not kept");
	cr_assert_eq(store_zone_get(t, 8, zone, sizeof zone, &cause), 0);
	cr_expect_str_eq(zone, "America/New_York");
	cr_expect_eq(store_zone_get(t, 9, zone, sizeof zone, &cause), 1);
	cr_assert_eq(store_zone_get(t, 3, zone, sizeof zone, &cause), 0);
	cr_expect_str_eq(zone, "Asia/Kathmandu");
	store_abort(t);
}
