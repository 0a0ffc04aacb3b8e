/*
 * test_ledger.c: what happens to queued work after admission: delivery
 * outcomes, unsubscribes, suppressions, preferences, cancel, pause and
 * resume, and the recipient report.
 *
 * Jobs are put in the queue by admitting real campaigns; each ledger
 * call runs in its own write transaction, with its campaign counters
 * flushed before the commit, as the daemon does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "admit.h"
#include "ledger.h"
#include "policy.h"
#include "campaign_record.h"
#include "store.h"
#include "util.h"

#include "store_fixture.h"

#define SHOP		"shop.example.com"
#define OTHER		"other.example.com"

/* News: one a day.  Every other list: four in 30 days.  No gap. */
static const char conf_text[] =
    "[caps]\n"
    "per_recipient = 4/30d\n"
    "min_gap = 0\n"
    "[list news.example.com]\n"
    "per_recipient = 1/1d\n";

FIXTURE_SUITE(ledger, conf_text);

/* Admit one campaign; the report. */
static struct admit_report
admit(const char *id, const char *list, int64_t now, int64_t expires,
    const char *const *rcpts)
{
	struct admit_report	 rep;
	struct spec		 sp = { id, list, NULL, 0, expires };

	fixture_submit(&fx, &sp, rcpts, now, &rep);
	return rep;
}

/* The job that must be there. */
static struct store_job
job_of(const char *campaign, const char *addr)
{
	struct store_job	 j;

	cr_assert_eq(fixture_find_job(&fx, campaign, addr, &j), 1,
	    "no job %s/%s", campaign, addr);
	return j;
}

/* A write transaction and its counter cache. */
struct wtx {
	struct store_txn	*t;
	json_t			*states;
};

static struct wtx
wbegin(void)
{
	struct wtx	 w;

	w.t = fixture_begin(&fx, 1);
	w.states = json_object();
	return w;
}

/* Flush the counters and commit. */
static void
wcommit(struct wtx *w)
{
	char	*cause = NULL;

	cr_assert_eq(ledger_flush_states(w->t, w->states, &cause), 0, "%s",
	    cause);
	fixture_commit(w->t);
	json_decref(w->states);
}

/* Record one outcome in its own transaction. */
static void
outcome(struct store_job *j, enum ledger_outcome o, int64_t now)
{
	struct wtx	 w = wbegin();
	char		*cause = NULL;

	cr_assert_eq(ledger_outcome(w.t, j, o, o == LEDGER_BOUNCED ?
	    "550 5.1.1 no such user" : NULL, now, w.states, &cause), 0, "%s",
	    cause);
	wcommit(&w);
}

/* A delivery state that must exist. */
static struct store_cr
cr_of(const char *campaign, const char *naddr)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;
	struct store_cr		 cr;

	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, naddr, &r, NULL), 0, "no record %s",
	    naddr);
	cr_assert_eq(store_cr_get(t, campaign, r.rid, &cr, NULL), 0,
	    "no delivery state %s/%s", campaign, naddr);
	store_rcpt_free(&r);
	store_abort(t);
	return cr;
}

/* A whole recipient record (the caller frees). */
static int
rcpt_of(const char *naddr, struct store_rcpt *r)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	int			 rc;

	store_rcpt_init(r);
	rc = store_rcpt_get(t, naddr, r, NULL);
	store_abort(t);
	return rc;
}

/* One counter of a campaign's state record. */
static int64_t
count_of(const char *id, const char *counter)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	json_t			*st = NULL;
	int64_t			 n;

	cr_assert_eq(store_campaign_get(t, id, &st, NULL), 0, "no campaign %s",
	    id);
	store_abort(t);
	n = campaign_record_count(st, counter);
	json_decref(st);
	return n;
}

/* A campaign's state name ("active", ...). */
static char *
state_of(const char *id)
{
	json_t	*st = fixture_campaign(&fx, id);
	char	*s;

	cr_assert_not_null(st, "no campaign %s", id);
	s = xstrdup(campaign_record_state(st));
	json_decref(st);
	return s;
}

/* The id of a list, created if need be. */
static uint32_t
lid_of(const char *list)
{
	return fixture_list_id(&fx, list);
}

static int
may_send(const char *addr, uint32_t lid)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	int			 ok;

	ok = ledger_may_send(t, addr, lid, NULL);
	store_abort(t);
	return ok;
}

static struct ledger_unsub_result
unsubscribe(const char *addr, uint32_t lid, uint8_t source, int64_t now)
{
	struct ledger_unsub_result	 res;
	struct wtx			 w = wbegin();
	char				*cause = NULL;

	cr_assert_eq(ledger_unsubscribe(w.t, addr, lid, source, now, w.states,
	    &res, &cause), 0, "%s", cause);
	wcommit(&w);
	return res;
}

static int
resubscribe(const char *addr, int all, uint32_t lid)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	int			 found = -1;

	cr_assert_eq(ledger_resubscribe(t, addr, all, lid, &found, NULL), 0);
	fixture_commit(t);
	return found;
}

/* One outcome for a queued job: where the job and its slot end up. */
struct outcome_row {
	const char		*name;
	enum ledger_outcome	 outcome;
	int			 cr_state;
	int			 hist_state;	/* 0: the slot is released */
	const char		*counter;	/* the counter that rose */
	int64_t			 queued;	/* "queued" afterwards */
	uint64_t		 jobs;		/* left in the queue */
};

static const struct outcome_row outcome_rows[] = {
	{ "a delivered job leaves the queue and its history says sent",
	    LEDGER_SENT, STORE_CR_SENT, STORE_HIST_SENT, "sent", 0, 0 },
	{ "a job to retry stays queued, reserved, under a new key",
	    LEDGER_RETRY, STORE_CR_QUEUED, STORE_HIST_RESERVED, "retries", 1,
	    1 },
	{ "a failed job leaves the queue and releases its slot",
	    LEDGER_FAILED, STORE_CR_FAILED, 0, "failed", 0, 0 },
	{ "a dropped job leaves the queue and releases its slot",
	    LEDGER_DROPPED, STORE_CR_DROPPED, 0, "dropped", 0, 0 },
	{ "a bounced job fails, releases its slot and suppresses the address",
	    LEDGER_BOUNCED, STORE_CR_FAILED, 0, "failed", 0, 0 },
};

Test(ledger, records_each_outcome_of_a_queued_job_as_its_row_says)
{
	const char		*pat[] = { "Pat@Example.org", NULL };
	const struct outcome_row *row;
	struct store_job	 j, old, moved;
	struct store_cr		 cr;
	struct store_hist	 h;
	struct store_txn	*t;
	size_t			 i;
	int			 found;

	for (i = 0; i < nitems(outcome_rows); i++) {
		row = &outcome_rows[i];
		fixture_close(&fx);
		fixture_open(&fx, MAP_SIZE, conf_text);
		admit("c1", NULL, NOW, 0, pat);
		j = old = job_of("c1", "pat@example.org");
		if (row->outcome == LEDGER_RETRY) {
			j.due = NOW + 5 * MINUTE;
			j.attempts = 1;
		}
		outcome(&j, row->outcome, NOW + 10);

		cr_expect_eq(fixture_queue_count(&fx), row->jobs, "%s",
		    row->name);
		cr = cr_of("c1", "pat@example.org");
		cr_expect_eq(cr.state, row->cr_state, "%s: state %d", row->name,
		    cr.state);
		found = fixture_hist(&fx, "pat@example.org", "c1", &h);
		cr_expect_eq(found, row->hist_state != 0, "%s: history",
		    row->name);
		if (found && row->hist_state != 0)
			cr_expect_eq(h.state, row->hist_state, "%s", row->name);
		if (row->outcome == LEDGER_SENT)
			cr_expect_eq(h.time, NOW + 10, "%s: at the send time",
			    row->name);
		cr_expect_eq(count_of("c1", row->counter), 1, "%s: %s",
		    row->name, row->counter);
		cr_expect_eq(count_of("c1", "queued"), row->queued,
		    "%s: queued", row->name);
		cr_expect_eq(may_send("pat@example.org", lid_of(LIST)),
		    row->outcome != LEDGER_BOUNCED, "%s: may send", row->name);
		if (row->outcome != LEDGER_RETRY)
			continue;
		t = fixture_begin(&fx, 0);
		cr_expect_eq(store_queue_get(t, old.key, &moved, NULL), 1,
		    "%s: the old key is gone", row->name);
		cr_expect_eq(store_queue_get(t, j.key, &moved, NULL), 0,
		    "%s: the new key holds the job", row->name);
		store_abort(t);
		cr_expect_eq(moved.due, NOW + 5 * MINUTE);
		cr_expect_eq(moved.attempts, 1);
		cr_expect_str_eq(moved.addr, "Pat@Example.org");
		cr_expect_eq(memcmp(cr.key, j.key, STORE_KEY_LEN), 0,
		    "%s: the delivery state follows the job", row->name);
		cr_expect_neq(memcmp(old.key, j.key, STORE_KEY_LEN), 0);
	}
}

Test(ledger, finds_a_retried_job_at_its_new_key_to_unsubscribe_or_cancel)
{
	const char			*two[] = { "pat@example.org",
	    "sam@example.org", NULL };
	struct ledger_unsub_result	 res;
	struct store_job		 j;
	struct store_txn		*t;
	uint64_t			 dropped = 0;

	admit("c1", NULL, NOW, 0, two);
	j = job_of("c1", "pat@example.org");
	j.due = NOW + HOUR;
	j.attempts = 1;
	outcome(&j, LEDGER_RETRY, NOW + 10);
	j = job_of("c1", "sam@example.org");
	j.due = NOW + 2 * HOUR;
	j.attempts = 1;
	outcome(&j, LEDGER_RETRY, NOW + 10);
	cr_assert_eq(fixture_queue_count(&fx), 2);

	res = unsubscribe("pat@example.org", lid_of(LIST), STORE_SRC_LINK,
	    NOW + 20);
	cr_expect_eq(res.dropped, 1, "the moved job is found and dropped");
	cr_expect_eq(fixture_queue_count(&fx), 1);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_cancel(t, "c1", NOW + 30, &dropped, NULL), 0);
	fixture_commit(t);
	cr_expect_eq(dropped, 1, "and so is the other on cancel");
	cr_expect_eq(fixture_queue_count(&fx), 0);
	cr_expect_eq(count_of("c1", "queued"), 0);
	cr_expect_eq(count_of("c1", "retries"), 2);
}

Test(ledger, frees_the_slot_of_a_failed_job_for_another_campaign)
{
	const char		*pat[] = { "pat@example.org", NULL };
	struct admit_report	 rep;
	struct store_job	 j;

	admit("c1", NULL, NOW, 0, pat);
	j = job_of("c1", "pat@example.org");
	outcome(&j, LEDGER_FAILED, NOW + 10);
	rep = admit("c2", NULL, NOW + 20, 0, pat);
	cr_expect_eq(rep.accepted, 1, "one a day, but the first never went");
	cr_expect_eq(rep.first_due, NOW + 20);
}

/* An outcome for a job that a cancel removed from the queue meanwhile. */
struct late_row {
	const char		*name;
	enum ledger_outcome	 outcome;
	int			 cr_state;
	int			 sent;		/* history says sent */
};

static const struct late_row late_rows[] = {
	{ "a retry of a cancelled job is ignored", LEDGER_RETRY,
	    STORE_CR_CANCELLED, 0 },
	{ "a failure of a cancelled job is ignored", LEDGER_FAILED,
	    STORE_CR_CANCELLED, 0 },
	{ "a drop of a cancelled job is ignored", LEDGER_DROPPED,
	    STORE_CR_CANCELLED, 0 },
	{ "a delivery of a cancelled job is still recorded", LEDGER_SENT,
	    STORE_CR_SENT, 1 },
};

Test(ledger, ignores_an_outcome_for_a_cancelled_job_unless_it_was_sent)
{
	const char		*pat[] = { "pat@example.org", NULL };
	const struct late_row	*row;
	struct store_job	 j;
	struct store_hist	 h;
	struct store_txn	*t;
	struct admit_report	 rep;
	uint64_t		 dropped;
	size_t			 i;

	for (i = 0; i < nitems(late_rows); i++) {
		row = &late_rows[i];
		fixture_close(&fx);
		fixture_open(&fx, MAP_SIZE, conf_text);
		admit("c1", NULL, NOW, 0, pat);
		/* The drain holds the job while the cancel comes in. */
		j = job_of("c1", "pat@example.org");
		t = fixture_begin(&fx, 1);
		cr_assert_eq(ledger_cancel(t, "c1", NOW + 5, &dropped, NULL),
		    0);
		fixture_commit(t);
		cr_assert_eq(dropped, 1);
		if (row->outcome == LEDGER_RETRY)
			j.due = NOW + HOUR;
		outcome(&j, row->outcome, NOW + 10);

		cr_expect_eq(fixture_queue_count(&fx), 0,
		    "%s: nothing queued again", row->name);
		cr_expect_eq(cr_of("c1", "pat@example.org").state,
		    row->cr_state, "%s", row->name);
		cr_expect_eq(fixture_hist(&fx, "pat@example.org", "c1", &h),
		    row->sent, "%s: history", row->name);
		if (row->sent) {
			cr_expect_eq(h.state, STORE_HIST_SENT, "%s", row->name);
			cr_expect_eq(h.time, NOW + 10, "%s", row->name);
		}
		cr_expect_eq(count_of("c1", "sent"), row->sent, "%s: sent",
		    row->name);
		cr_expect_eq(count_of("c1", "queued"), 0,
		    "%s: queued is not counted down twice", row->name);
		cr_expect_eq(count_of("c1", "cancelled"), !row->sent,
		    "%s: cancelled", row->name);
		cr_expect_eq(count_of("c1", "retries") + count_of("c1",
		    "failed") + count_of("c1", "dropped"), 0, "%s", row->name);
		/* A message that did go out still counts against the cap. */
		rep = admit("c2", NULL, NOW + 20, NOW + HOUR, pat);
		cr_expect_eq(rep.accepted, !row->sent, "%s: next campaign",
		    row->name);
		cr_expect_eq(rep.rejected[POLICY_FREQUENCY_CAP], row->sent,
		    "%s: next campaign", row->name);
	}
}

Test(ledger, drops_queued_jobs_of_one_list_on_an_unsubscribe_from_it)
{
	const char			*pat[] = { "pat@example.org", NULL };
	struct ledger_unsub_result	 res;
	struct store_rcpt		 r;
	uint32_t			 news, shop;

	admit("n1", NULL, NOW, 0, pat);
	admit("s1", SHOP, NOW, 0, pat);
	news = lid_of(LIST);
	shop = lid_of(SHOP);
	cr_assert_eq(fixture_queue_count(&fx), 2);

	res = unsubscribe("Pat@EXAMPLE.org", news, STORE_SRC_LINK, NOW + 5);
	cr_expect_eq(res.changed, 1);
	cr_expect_eq(res.dropped, 1);
	cr_expect_eq(fixture_queue_count(&fx), 1);
	job_of("s1", "pat@example.org");
	cr_expect_eq(cr_of("n1", "pat@example.org").state, STORE_CR_DROPPED);
	cr_expect_eq(cr_of("n1", "pat@example.org").time, NOW + 5);
	cr_expect_eq(cr_of("s1", "pat@example.org").state, STORE_CR_QUEUED);
	cr_expect_eq(fixture_hist(&fx, "pat@example.org", "n1", NULL), 0,
	    "the news slot is released");
	cr_expect_eq(fixture_hist(&fx, "pat@example.org", "s1", NULL), 1);
	cr_expect_eq(count_of("n1", "dropped"), 1);
	cr_expect_eq(count_of("n1", "queued"), 0);
	cr_expect_eq(count_of("s1", "queued"), 1);

	cr_assert_eq(rcpt_of("pat@example.org", &r), 0);
	cr_assert_eq(r.nunsub, 1);
	cr_expect_eq(r.unsub[0].lid, news);
	cr_expect_eq(r.unsub[0].time, NOW + 5);
	cr_expect_eq(r.unsub[0].source, STORE_SRC_LINK);
	store_rcpt_free(&r);
	cr_expect_eq(may_send("pat@example.org", news), 0);
	cr_expect_eq(may_send("PAT@example.org", shop), 1);

	res = unsubscribe("pat@example.org", news, STORE_SRC_ADMIN, NOW + 50);
	cr_expect_eq(res.changed, 0, "the second unsubscribe changes nothing");
	cr_expect_eq(res.dropped, 0);
	cr_assert_eq(rcpt_of("pat@example.org", &r), 0);
	cr_expect_eq(r.nunsub, 1);
	cr_expect_eq(r.unsub[0].time, NOW + 5, "the first time is kept");
	cr_expect_eq(r.unsub[0].source, STORE_SRC_LINK);
	store_rcpt_free(&r);
	cr_expect_eq(fixture_queue_count(&fx), 1);
}

Test(ledger, drops_queued_jobs_of_every_list_on_an_unsubscribe_from_all)
{
	const char			*pat[] = { "pat@example.org",
	    "sam@example.org", NULL };
	struct ledger_unsub_result	 res;
	uint32_t			 news, shop;

	admit("n1", NULL, NOW, 0, pat);
	admit("s1", SHOP, NOW, 0, pat);
	news = lid_of(LIST);
	shop = lid_of(SHOP);
	res = unsubscribe("pat@example.org", 0, STORE_SRC_ONECLICK, NOW + 5);
	cr_expect_eq(res.changed, 1);
	cr_expect_eq(res.dropped, 2);
	cr_expect_eq(fixture_queue_count(&fx), 2, "only sam's jobs are left");
	job_of("n1", "sam@example.org");
	job_of("s1", "sam@example.org");
	cr_expect_eq(may_send("pat@example.org", news), 0);
	cr_expect_eq(may_send("pat@example.org", shop), 0);
	cr_expect_eq(may_send("pat@example.org", lid_of(OTHER)), 0,
	    "and every list yet to come");
	cr_expect_eq(may_send("sam@example.org", news), 1);
	res = unsubscribe("pat@example.org", 0, STORE_SRC_ADMIN, NOW + 6);
	cr_expect_eq(res.changed, 0);
	/* A list unsubscribe on top of "all" is a new flag, nothing more. */
	res = unsubscribe("pat@example.org", news, STORE_SRC_ADMIN, NOW + 7);
	cr_expect_eq(res.changed, 1);
	cr_expect_eq(res.dropped, 0);
}

Test(ledger, records_an_unsubscribe_for_an_address_never_seen)
{
	struct ledger_unsub_result	 res;
	struct store_rcpt		 r;
	struct admit_report		 rep;
	const char			*who[] = { "new@example.org", NULL };

	res = unsubscribe("New@Example.org", 0, STORE_SRC_ADMIN, NOW);
	cr_expect_eq(res.changed, 1);
	cr_expect_eq(res.dropped, 0);
	cr_assert_eq(rcpt_of("new@example.org", &r), 0);
	cr_expect_eq(r.nunsub, 1);
	store_rcpt_free(&r);
	rep = admit("n1", NULL, NOW + 1, 0, who);
	cr_expect_eq(rep.rejected[POLICY_UNSUBSCRIBED], 1);
}

Test(ledger, lifts_one_list_or_every_unsubscribe_on_resubscribe)
{
	uint32_t	 news = lid_of(LIST), shop = lid_of(SHOP);
	struct store_rcpt r;

	unsubscribe("pat@example.org", news, STORE_SRC_LINK, NOW);
	unsubscribe("pat@example.org", shop, STORE_SRC_LINK, NOW);
	cr_expect_eq(resubscribe("PAT@example.org", 0, news), 1);
	cr_expect_eq(may_send("pat@example.org", news), 1);
	cr_expect_eq(may_send("pat@example.org", shop), 0);
	cr_expect_eq(resubscribe("pat@example.org", 0, news), 0,
	    "nothing left to lift on that list");
	unsubscribe("pat@example.org", 0, STORE_SRC_ADMIN, NOW);
	cr_expect_eq(resubscribe("pat@example.org", 1, 0), 1);
	cr_expect_eq(may_send("pat@example.org", news), 1);
	cr_expect_eq(may_send("pat@example.org", shop), 1);
	cr_assert_eq(rcpt_of("pat@example.org", &r), 0);
	cr_expect_eq(r.nunsub, 0);
	store_rcpt_free(&r);
	cr_expect_eq(resubscribe("stranger@example.org", 1, 0), 0);
	cr_expect_eq(rcpt_of("stranger@example.org", &r), 1,
	    "no record is made for a stranger");
	store_rcpt_free(&r);
}

Test(ledger, drops_everything_queued_for_a_suppressed_address)
{
	const char		*pat[] = { "pat@example.org", NULL };
	struct store_txn	*t;
	struct store_rcpt	 r;
	struct admit_report	 rep;
	json_t			*states = json_object();
	uint64_t		 dropped = 0;

	admit("n1", NULL, NOW, 0, pat);
	admit("s1", SHOP, NOW, 0, pat);
	cr_expect_eq(may_send("pat@example.org", lid_of(LIST)), 1);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_suppress(t, "Pat@example.org", "550 5.1.1 no "
	    "such user", NOW + 30, states, &dropped, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	cr_expect_eq(dropped, 2);
	cr_expect_eq(fixture_queue_count(&fx), 0);
	cr_expect_eq(cr_of("s1", "pat@example.org").state, STORE_CR_DROPPED);
	cr_expect_eq(count_of("s1", "dropped"), 1);
	cr_expect_eq(may_send("pat@example.org", lid_of(LIST)), 0);
	cr_expect_eq(may_send("pat@example.org", lid_of(SHOP)), 0);
	cr_expect_eq(may_send("pat@example.org", 0), 0);
	cr_assert_eq(rcpt_of("pat@example.org", &r), 0);
	cr_expect_eq(r.suppressed, NOW + 30);
	cr_expect_str_eq(r.suppress_why, "550 5.1.1 no such user");
	cr_expect_eq(r.nhist, 0, "every reservation is released");
	store_rcpt_free(&r);
	rep = admit("s2", SHOP, NOW + 40, 0, pat);
	cr_expect_eq(rep.rejected[POLICY_SUPPRESSED], 1);
}

Test(ledger, says_an_unknown_address_may_be_mailed)
{
	struct store_rcpt	 r;

	cr_expect_eq(may_send("nobody@example.org", 1), 1);
	cr_expect_eq(rcpt_of("nobody@example.org", &r), 1);
	store_rcpt_free(&r);
}

Test(ledger, caps_a_recipient_by_their_own_stricter_preference)
{
	const char		*both[] = { "pat@example.org",
	    "sam@example.org", NULL };
	struct store_txn	*t;
	struct store_rcpt	 r;
	struct admit_report	 rep;

	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_preference(t, "PAT@example.org", 1,
	    30 * DAY, STORE_SRC_LINK, NOW - DAY, NULL), 0);
	fixture_commit(t);
	cr_assert_eq(rcpt_of("pat@example.org", &r), 0);
	cr_expect_eq(r.pref_count, 1);
	cr_expect_eq(r.pref_window, 30 * DAY);
	cr_expect_eq(r.pref_time, NOW - DAY);
	cr_expect_eq(r.pref_source, STORE_SRC_LINK);
	store_rcpt_free(&r);

	/* The shop list allows 4 in 30 days; pat allows one. */
	rep = admit("s1", SHOP, NOW, 0, both);
	cr_expect_eq(rep.accepted, 2);
	rep = admit("s2", SHOP, NOW + HOUR, NOW + 5 * DAY, both);
	cr_expect_eq(rep.accepted, 1, "sam follows the list's cap");
	cr_expect_eq(rep.rejected[POLICY_FREQUENCY_CAP], 1,
	    "pat's own cap has no slot within the campaign's 5 days");
	job_of("s2", "sam@example.org");

	/* Count 0 clears the preference. */
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_preference(t, "pat@example.org", 0, 30 * DAY,
	    STORE_SRC_ADMIN, NOW + 2 * HOUR, NULL), 0);
	fixture_commit(t);
	cr_assert_eq(rcpt_of("pat@example.org", &r), 0);
	cr_expect_eq(r.pref_count, 0);
	cr_expect_eq(r.pref_window, 0);
	store_rcpt_free(&r);
	rep = admit("s3", SHOP, NOW + 3 * HOUR, 0, both);
	cr_expect_eq(rep.accepted, 2);
}

Test(ledger, cancels_a_campaign_dropping_what_is_queued_and_keeping_sent)
{
	const char		*three[] = { "a@example.org", "b@example.org",
	    "c@example.org", NULL };
	const char		*b[] = { "b@example.org", NULL };
	struct store_txn	*t;
	struct store_job	 j;
	struct store_hist	 h;
	struct admit_report	 rep;
	json_t			*st = NULL;
	uint64_t		 dropped = 99;
	char			*state;

	admit("c", NULL, NOW, 0, three);
	j = job_of("c", "a@example.org");
	outcome(&j, LEDGER_SENT, NOW + 5);

	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_cancel(t, "c", NOW + 10, &dropped, NULL), 0);
	fixture_commit(t);
	cr_expect_eq(dropped, 2);
	cr_expect_eq(fixture_queue_count(&fx), 0);
	cr_expect_eq(cr_of("c", "a@example.org").state, STORE_CR_SENT);
	cr_expect_eq(cr_of("c", "b@example.org").state, STORE_CR_CANCELLED);
	cr_expect_eq(cr_of("c", "c@example.org").state, STORE_CR_CANCELLED);
	cr_expect_eq(cr_of("c", "c@example.org").time, NOW + 10);
	cr_assert_eq(fixture_hist(&fx, "a@example.org", "c", &h), 1,
	    "what was sent stays in history");
	cr_expect_eq(h.state, STORE_HIST_SENT);
	cr_expect_eq(fixture_hist(&fx, "b@example.org", "c", NULL), 0);
	cr_expect_eq(fixture_hist(&fx, "c@example.org", "c", NULL), 0);
	state = state_of("c");
	cr_expect_str_eq(state, CAMPAIGN_CANCELLED);
	free(state);
	cr_expect_eq(count_of("c", "cancelled"), 2);
	cr_expect_eq(count_of("c", "queued"), 0);
	cr_expect_eq(count_of("c", "sent"), 1);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_campaign_get(t, "c", &st, NULL), 0);
	store_abort(t);
	cr_expect_eq(json_integer_value(json_object_get(st, "cancelled_at")),
	    NOW + 10);
	json_decref(st);

	/* b's slot is free again under one a day. */
	rep = admit("d", NULL, NOW + 20, 0, b);
	cr_expect_eq(rep.accepted, 1);

	t = fixture_begin(&fx, 1);
	cr_expect_eq(ledger_cancel(t, "unknown", NOW, &dropped, NULL), 1);
	cr_expect_eq(dropped, 0);
	store_abort(t);
}

Test(ledger, pauses_and_resumes_a_campaign_but_never_a_cancelled_one)
{
	const char		*a[] = { "a@example.org", NULL };
	struct store_txn	*t;
	uint64_t		 dropped;
	char			*cause = NULL, *state;

	admit("c", NULL, NOW, 0, a);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_campaign_state(t, "c", CAMPAIGN_PAUSED, NULL), 0);
	fixture_commit(t);
	state = state_of("c");
	cr_expect_str_eq(state, CAMPAIGN_PAUSED);
	free(state);
	cr_expect_eq(fixture_queue_count(&fx), 1, "a pause keeps the jobs");
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_campaign_state(t, "c", CAMPAIGN_ACTIVE, NULL), 0);
	cr_expect_eq(ledger_set_campaign_state(t, "nope", CAMPAIGN_PAUSED,
	    NULL), 1, "an unknown campaign");
	fixture_commit(t);
	state = state_of("c");
	cr_expect_str_eq(state, CAMPAIGN_ACTIVE);
	free(state);

	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_cancel(t, "c", NOW + 1, &dropped, NULL), 0);
	cr_expect_eq(ledger_set_campaign_state(t, "c", CAMPAIGN_ACTIVE, &cause),
	    -1);
	cr_assert_not_null(cause);
	cr_expect_not_null(strstr(cause, "cancelled"), "%s", cause);
	free(cause);
	fixture_commit(t);
	state = state_of("c");
	cr_expect_str_eq(state, CAMPAIGN_CANCELLED);
	free(state);
}

Test(ledger, names_every_source_of_a_flag)
{
	static const struct {
		uint8_t		 source;
		const char	*name;
	} rows[] = {
		{ STORE_SRC_ADMIN, "admin" },
		{ STORE_SRC_LINK, "link" },
		{ STORE_SRC_ONECLICK, "one-click" },
		{ STORE_SRC_BOUNCE, "bounce" },
		{ 0, "unknown" },
		{ 200, "unknown" },
	};
	size_t	 i;

	for (i = 0; i < nitems(rows); i++)
		cr_expect_str_eq(ledger_source_name(rows[i].source),
		    rows[i].name, "source %u", rows[i].source);
}

/* The recipient report at `now`; the caller decrefs. */
static json_t *
report(const char *addr, int64_t now)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	json_t			*o;
	char			*cause = NULL;

	o = ledger_recipient_json(t, fx.conf, addr, now, &cause);
	cr_assert_not_null(o, "%s", cause);
	store_abort(t);
	return o;
}

/* The history entry of a campaign in a report. */
static json_t *
report_hist(json_t *o, const char *campaign)
{
	json_t	*h;
	size_t	 i;

	json_array_foreach(json_object_get(o, "history"), i, h)
		if (strcmp(json_string_value(json_object_get(h, "campaign")),
		    campaign) == 0)
			return h;
	return NULL;
}

Test(ledger, reports_a_recipients_history_flags_preference_and_next_times)
{
	const char		*pat[] = { "pat@example.org", NULL };
	struct store_txn	*t;
	struct store_job	 j;
	json_t			*o, *h, *f, *p, *next;

	admit("n1", NULL, NOW - 2 * HOUR, 0, pat);
	j = job_of("n1", "pat@example.org");
	outcome(&j, LEDGER_SENT, NOW - 2 * HOUR);
	admit("s1", SHOP, NOW - HOUR, 0, pat);
	unsubscribe("pat@example.org", lid_of(OTHER), STORE_SRC_ONECLICK,
	    NOW - MINUTE);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_preference(t, "pat@example.org", 2, 7 * DAY,
	    STORE_SRC_LINK, NOW - 30 * MINUTE, NULL), 0);
	fixture_commit(t);

	o = report("Pat@Example.ORG", NOW);
	cr_expect_str_eq(json_string_value(json_object_get(o, "address")),
	    "pat@example.org", "the normalised address");
	cr_expect(json_is_true(json_object_get(o, "known")));

	cr_assert_eq(json_array_size(json_object_get(o, "history")), 2);
	cr_assert_not_null(h = report_hist(o, "n1"));
	cr_expect_str_eq(json_string_value(json_object_get(h, "state")),
	    "sent");
	cr_expect_str_eq(json_string_value(json_object_get(h, "list")), LIST);
	cr_expect_eq(json_integer_value(json_object_get(h, "time")),
	    NOW - 2 * HOUR);
	cr_assert_not_null(h = report_hist(o, "s1"));
	cr_expect_str_eq(json_string_value(json_object_get(h, "state")),
	    "queued");
	cr_expect_str_eq(json_string_value(json_object_get(h, "list")), SHOP);
	cr_expect_eq(json_integer_value(json_object_get(h, "time")),
	    NOW - HOUR);

	cr_assert_eq(json_array_size(json_object_get(o, "flags")), 1);
	f = json_array_get(json_object_get(o, "flags"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(f, "flag")),
	    "unsubscribed");
	cr_expect_str_eq(json_string_value(json_object_get(f, "list")), OTHER);
	cr_expect_str_eq(json_string_value(json_object_get(f, "source")),
	    "one-click");
	cr_expect_eq(json_integer_value(json_object_get(f, "time")),
	    NOW - MINUTE);

	cr_assert(json_is_object(p = json_object_get(o, "preference")));
	cr_expect_eq(json_integer_value(json_object_get(p, "max")), 2);
	cr_expect_eq(json_integer_value(json_object_get(p, "window")),
	    7 * DAY);
	cr_expect_eq(json_integer_value(json_object_get(p, "time")),
	    NOW - 30 * MINUTE);
	cr_expect_str_eq(json_string_value(json_object_get(p, "source")),
	    "link");
	cr_expect(json_is_null(json_object_get(o, "suppressed")));

	/* Two messages in the last two hours: the preference (2/7d) waits
	 * for the first to leave its week, on every list. */
	next = json_object_get(o, "next_allowed");
	cr_expect_eq(json_integer_value(json_object_get(next, LIST)),
	    NOW - 2 * HOUR + 7 * DAY);
	cr_expect_eq(json_integer_value(json_object_get(next, SHOP)),
	    NOW - 2 * HOUR + 7 * DAY);
	cr_assert_not_null(json_object_get(next, OTHER));
	cr_expect(json_is_null(json_object_get(next, OTHER)),
	    "null where unsubscribed");
	json_decref(o);

	/* Without the preference each list's own cap decides. */
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_preference(t, "pat@example.org", 0, 0,
	    STORE_SRC_LINK, NOW, NULL), 0);
	fixture_commit(t);
	o = report("pat@example.org", NOW);
	cr_expect(json_is_null(json_object_get(o, "preference")));
	next = json_object_get(o, "next_allowed");
	cr_expect_eq(json_integer_value(json_object_get(next, LIST)),
	    NOW - HOUR + DAY, "one a day on news");
	cr_expect_eq(json_integer_value(json_object_get(next, SHOP)), NOW,
	    "four in 30 days on shop");
	json_decref(o);
}

Test(ledger, reports_every_list_blocked_for_a_suppressed_or_fully_gone_address)
{
	const char		*pat[] = { "pat@example.org", NULL };
	struct store_txn	*t;
	json_t			*o, *next, *v, *f, *s;
	const char		*name;
	json_t			*states = json_object();
	uint64_t		 dropped;

	admit("n1", NULL, NOW, 0, pat);
	admit("s1", SHOP, NOW, 0, pat);
	unsubscribe("pat@example.org", 0, STORE_SRC_ADMIN, NOW + 1);
	o = report("pat@example.org", NOW + 2);
	f = json_array_get(json_object_get(o, "flags"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(f, "list")), "*",
	    "every list");
	cr_expect_str_eq(json_string_value(json_object_get(f, "source")),
	    "admin");
	next = json_object_get(o, "next_allowed");
	cr_expect_geq(json_object_size(next), 1);
	json_object_foreach(next, name, v)
		cr_expect(json_is_null(v), "%s is blocked", name);
	json_decref(o);

	resubscribe("pat@example.org", 1, 0);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_suppress(t, "pat@example.org", "550 5.1.1 gone",
	    NOW + 3, states, &dropped, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	o = report("pat@example.org", NOW + 4);
	s = json_object_get(o, "suppressed");
	cr_assert(json_is_object(s));
	cr_expect_eq(json_integer_value(json_object_get(s, "time")), NOW + 3);
	cr_expect_str_eq(json_string_value(json_object_get(s, "reason")),
	    "550 5.1.1 gone");
	next = json_object_get(o, "next_allowed");
	cr_expect(json_is_null(json_object_get(next, LIST)));
	json_object_foreach(next, name, v)
		cr_expect(json_is_null(v), "%s is blocked", name);
	json_decref(o);
}

Test(ledger, reports_an_address_never_seen_as_unknown_and_free)
{
	const char	*sam[] = { "sam@example.org", NULL };
	json_t		*o, *next;

	admit("n1", NULL, NOW, 0, sam);	/* the news list exists */
	o = report("Pat@example.org", NOW);
	cr_expect(json_is_false(json_object_get(o, "known")));
	cr_expect_eq(json_array_size(json_object_get(o, "history")), 0);
	cr_expect_eq(json_array_size(json_object_get(o, "flags")), 0);
	cr_expect(json_is_null(json_object_get(o, "preference")));
	next = json_object_get(o, "next_allowed");
	cr_expect_eq(json_integer_value(json_object_get(next, LIST)), NOW,
	    "a configured list is shown, and open now");
	json_decref(o);
}
