/*
 * test_admit.c: admission of a campaign into the store: the decision per
 * recipient, the jobs and their history reservations written together,
 * dry runs, resubmissions, caps across campaigns and a full store.
 *
 * Documents are built here and parsed with campaign_parse() first, as
 * the daemon does.  Every time is relative to NOW.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "admit.h"
#include "campaign.h"
#include "ledger.h"
#include "policy.h"
#include "campaign_record.h"
#include "store.h"
#include "util.h"

#include "store_fixture.h"

#define OTHER_LIST	"shop.example.com"

/* The news list allows one message a day; no minimum gap. */
static const char conf_text[] =
    "[caps]\n"
    "per_recipient = 4/30d\n"
    "min_gap = 0\n"
    "[list news.example.com]\n"
    "per_recipient = 1/1d\n";

FIXTURE_SUITE(admit, conf_text);

/* Parse and admit a document at `now`; returns admit_campaign's answer. */
static int
submit_xml(const char *xml, int64_t now, int dry_run, struct admit_report *rep,
    int *status, char **cause)
{
	return fixture_admit(&fx, xml, now, dry_run, rep, status, cause);
}

/* Admit a campaign that must be admitted; returns the HTTP status. */
static int
submit_ok(const struct spec *sp, const char *const *rcpts, int64_t now,
    struct admit_report *rep)
{
	return fixture_submit(&fx, sp, rcpts, now, rep);
}

/* Admit a campaign that must be refused; returns the status, frees cause. */
static int
submit_refused(const struct spec *sp, const char *const *rcpts, int64_t now,
    const char *cause_has)
{
	struct admit_report	 rep;
	char			*xml = fixture_doc(sp, rcpts), *cause = NULL;
	int			 status = 0;

	cr_assert_eq(submit_xml(xml, now, 0, &rep, &status, &cause), -1,
	    "%s must be refused", sp->id);
	cr_assert_not_null(cause);
	cr_expect_not_null(strstr(cause, cause_has), "cause \"%s\" lacks "
	    "\"%s\"", cause, cause_has);
	free(cause);
	free(xml);
	return status;
}

/* Unsubscribe an address from a list (NULL: from every list). */
static void
unsubscribe(const char *addr, const char *list)
{
	struct ledger_unsub_result	 res;
	struct store_txn		*t;
	uint32_t			 lid;
	json_t				*states = json_object();

	lid = list != NULL ? fixture_list_id(&fx, list) : 0;
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_unsubscribe(t, addr, lid, STORE_SRC_ADMIN, NOW -
	    DAY, states, &res, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
}

/* Record a hard bounce for an address. */
static void
suppress(const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	json_t			*states = json_object();
	uint64_t		 dropped;

	cr_assert_eq(ledger_suppress(t, addr, "550 5.1.1 unknown user", NOW -
	    DAY, states, &dropped, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
}

/* What one recipient's situation is before the campaign arrives. */
enum situation {
	S_NEW,
	S_UNSUB_LIST,
	S_UNSUB_OTHER_LIST,
	S_UNSUB_ALL,
	S_SUPPRESSED,
	S_MAILED_HOUR_AGO,	/* a campaign on this list, an hour ago */
	S_MAILED_DAY_AGO	/* and one a day and an hour ago */
};

/* One row: a situation, a campaign window, and the expected decision. */
struct decision_row {
	const char		*name;
	const char		*addr;		/* as in the document */
	enum situation		 situation;
	int64_t			 send_after;	/* offsets from NOW; 0: none */
	int64_t			 expires;
	enum policy_verdict	 verdict;
	enum policy_reason	 reason;	/* for REJECT */
	int64_t			 due;		/* offset, if not REJECT */
};

static const struct decision_row decision_rows[] = {
	{ "a new address is accepted now", "pat@example.org", S_NEW, 0, 0,
	    POLICY_ACCEPT, POLICY_OK, 0 },
	{ "an address without a domain is invalid", "pat", S_NEW, 0, 0,
	    POLICY_REJECT, POLICY_INVALID_ADDRESS, 0 },
	{ "an address whose domain is not a hostname is invalid",
	    "pat@-bad-.example", S_NEW, 0, 0,
	    POLICY_REJECT, POLICY_INVALID_ADDRESS, 0 },
	{ "an address with a local part over 64 octets is invalid",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "@example.org", S_NEW, 0, 0,
	    POLICY_REJECT, POLICY_INVALID_ADDRESS, 0 },
	{ "unsubscribed from this list is rejected as unsubscribed",
	    "pat@example.org", S_UNSUB_LIST, 0, 0,
	    POLICY_REJECT, POLICY_UNSUBSCRIBED, 0 },
	{ "unsubscribed from another list is still accepted",
	    "pat@example.org", S_UNSUB_OTHER_LIST, 0, 0,
	    POLICY_ACCEPT, POLICY_OK, 0 },
	{ "unsubscribed from every list is rejected as unsubscribed",
	    "pat@example.org", S_UNSUB_ALL, 0, 0,
	    POLICY_REJECT, POLICY_UNSUBSCRIBED, 0 },
	{ "an unsubscribe matches the address in any case",
	    "PAT@Example.ORG", S_UNSUB_LIST, 0, 0,
	    POLICY_REJECT, POLICY_UNSUBSCRIBED, 0 },
	{ "a hard-bounced address is rejected as suppressed",
	    "pat@example.org", S_SUPPRESSED, 0, 0,
	    POLICY_REJECT, POLICY_SUPPRESSED, 0 },
	{ "mailed an hour ago, expiring in three days, is deferred a day",
	    "pat@example.org", S_MAILED_HOUR_AGO, 0, 3 * DAY,
	    POLICY_DEFER, POLICY_OK, DAY - HOUR },
	{ "mailed an hour ago, expiring in an hour, is rejected by the cap",
	    "pat@example.org", S_MAILED_HOUR_AGO, 0, HOUR,
	    POLICY_REJECT, POLICY_FREQUENCY_CAP, 0 },
	{ "mailed an hour ago as another case, is deferred all the same",
	    "Pat@EXAMPLE.org", S_MAILED_HOUR_AGO, 0, 3 * DAY,
	    POLICY_DEFER, POLICY_OK, DAY - HOUR },
	{ "mailed a day and an hour ago is accepted now",
	    "pat@example.org", S_MAILED_DAY_AGO, 0, 0,
	    POLICY_ACCEPT, POLICY_OK, 0 },
	{ "a send-after in two hours is accepted for then",
	    "pat@example.org", S_NEW, 2 * HOUR, 0,
	    POLICY_ACCEPT, POLICY_OK, 2 * HOUR },
	{ "a send-after past the cap's wait is accepted, not deferred",
	    "pat@example.org", S_MAILED_HOUR_AGO, 2 * DAY, 3 * DAY,
	    POLICY_ACCEPT, POLICY_OK, 2 * DAY },
};

/* Put the recipient into its situation. */
static void
prepare(enum situation s)
{
	struct admit_report	 rep;
	struct spec		 earlier = { "earlier", NULL, NULL, 0, 0 };
	const char		*who[] = { "pat@example.org", NULL };

	switch (s) {
	case S_NEW:
		break;
	case S_UNSUB_LIST:
		unsubscribe("pat@example.org", LIST);
		break;
	case S_UNSUB_OTHER_LIST:
		unsubscribe("pat@example.org", OTHER_LIST);
		break;
	case S_UNSUB_ALL:
		unsubscribe("pat@example.org", NULL);
		break;
	case S_SUPPRESSED:
		suppress("pat@example.org");
		break;
	case S_MAILED_HOUR_AGO:
		submit_ok(&earlier, who, NOW - HOUR, &rep);
		cr_assert_eq(rep.accepted, 1);
		break;
	case S_MAILED_DAY_AGO:
		submit_ok(&earlier, who, NOW - DAY - HOUR, &rep);
		cr_assert_eq(rep.accepted, 1);
		break;
	}
}

/* Run one row in a fresh store. */
static void
check_decision(const struct decision_row *row)
{
	struct admit_report	 rep;
	struct spec		 sp = { "row", NULL, NULL, 0, 0 };
	struct store_job	 j;
	const char		*rcpts[] = { row->addr, NULL };
	size_t			 i;
	int			 status;

	fixture_close(&fx);
	fixture_open(&fx, MAP_SIZE, conf_text);
	prepare(row->situation);
	if (row->send_after != 0)
		sp.send_after = NOW + row->send_after;
	if (row->expires != 0)
		sp.expires = NOW + row->expires;
	status = submit_ok(&sp, rcpts, NOW, &rep);
	cr_expect_eq(status, 202, "%s: status %d", row->name, status);
	cr_expect_eq(rep.recipients, 1, "%s", row->name);
	cr_expect_eq(rep.accepted, row->verdict == POLICY_ACCEPT, "%s",
	    row->name);
	cr_expect_eq(rep.deferred, row->verdict == POLICY_DEFER, "%s",
	    row->name);
	for (i = 1; i < POLICY_NREASONS; i++)
		cr_expect_eq(rep.rejected[i], row->verdict == POLICY_REJECT &&
		    row->reason == i, "%s: rejected %s = %llu", row->name,
		    policy_reason_name(i),
		    (unsigned long long)rep.rejected[i]);
	if (row->verdict == POLICY_REJECT) {
		cr_expect_eq(fixture_find_job(&fx, "row", row->addr, &j), 0,
		    "%s: a rejection queues nothing", row->name);
		return;
	}
	cr_assert_eq(fixture_find_job(&fx, "row", row->addr, &j), 1,
	    "%s: no job", row->name);
	cr_expect_str_eq(j.campaign, "row", "%s", row->name);
	cr_expect_eq(j.due, NOW + row->due, "%s: due %lld, want %lld",
	    row->name, (long long)(j.due - NOW), (long long)row->due);
	cr_expect_eq(rep.first_due, NOW + row->due, "%s", row->name);
	cr_expect_eq((j.flags & STORE_JOB_DEFERRED) != 0,
	    row->verdict == POLICY_DEFER, "%s: deferred flag", row->name);
	cr_expect_str_eq(j.addr, row->addr, "%s: address as given",
	    row->name);
}

Test(admit, decides_each_situation_as_its_row_says)
{
	size_t	 i;

	for (i = 0; i < nitems(decision_rows); i++)
		check_decision(&decision_rows[i]);
}

Test(admit, counts_accepted_deferred_and_rejected_by_reason)
{
	struct admit_report	 rep, prior;
	struct spec		 sp = { "mixed", NULL, NULL, 0, NOW + 3 * DAY };
	struct spec		 earlier = { "earlier", NULL, NULL, 0, 0 };
	const char		*busy[] = { "busy@example.org", NULL };
	const char		*rcpts[] = {
		"Ann|ann@example.org", "bob@example.org",
		"ANN@example.org",		/* duplicate in the document */
		"bob@example.org",		/* and another */
		"not-an-address", "two@@example.org",
		"gone@example.org", "everything@example.org",
		"bounced@example.org", "busy@example.org", NULL
	};
	json_t			*st, *o;
	struct campaign		 c;
	int			 status;

	submit_ok(&earlier, busy, NOW - HOUR, &prior);
	unsubscribe("gone@example.org", LIST);
	unsubscribe("everything@example.org", NULL);
	suppress("bounced@example.org");

	status = submit_ok(&sp, rcpts, NOW, &rep);
	cr_expect_eq(status, 202, "a new campaign answers 202");
	cr_expect_eq(rep.recipients, 10);
	cr_expect_eq(rep.accepted, 2);
	cr_expect_eq(rep.deferred, 1);
	cr_expect_eq(rep.rejected[POLICY_DUPLICATE], 2);
	cr_expect_eq(rep.rejected[POLICY_INVALID_ADDRESS], 2);
	cr_expect_eq(rep.rejected[POLICY_UNSUBSCRIBED], 2);
	cr_expect_eq(rep.rejected[POLICY_SUPPRESSED], 1);
	cr_expect_eq(rep.rejected[POLICY_FREQUENCY_CAP], 0);
	cr_expect_eq(rep.resubmitted, 0);
	cr_expect_eq(rep.first_due, NOW);
	cr_expect_eq(rep.last_due, NOW - HOUR + DAY);
	cr_expect_eq(fixture_queue_count(&fx), 1 + 3,
	    "the earlier job and three new");

	/* The report as JSON, and the stored counters agree. */
	memset(&c, 0, sizeof c);
	c.id = (char *)"mixed";
	c.list = (char *)LIST;
	c.expires = NOW + 3 * DAY;
	o = admit_report_json(&c, &rep, 0);
	cr_expect_eq(json_integer_value(json_object_get(o, "accepted")), 2);
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(o,
	    "rejected"), "invalid_address")), 2);
	cr_expect_null(json_object_get(json_object_get(o, "rejected"),
	    "frequency_cap"), "a reason that did not occur is left out");
	cr_expect_null(json_object_get(o, "dry_run"));
	json_decref(o);

	cr_assert_not_null(st = fixture_campaign(&fx, "mixed"));
	cr_expect_str_eq(campaign_record_state(st), CAMPAIGN_ACTIVE);
	cr_expect_eq(campaign_record_count(st, "recipients"), 10);
	cr_expect_eq(campaign_record_count(st, "accepted"), 2);
	cr_expect_eq(campaign_record_count(st, "deferred"), 1);
	cr_expect_eq(campaign_record_count(st, "queued"), 3);
	cr_expect_eq(campaign_record_count(st, "queued_deferred"), 1);
	o = json_object_get(json_object_get(st, "counts"), "rejected");
	cr_expect_eq(json_integer_value(json_object_get(o, "duplicate")), 2);
	cr_expect_eq(json_integer_value(json_object_get(o, "unsubscribed")),
	    2);
	cr_expect_eq(json_integer_value(json_object_get(o, "suppressed")), 1);
	cr_expect_eq(json_integer_value(json_object_get(o,
	    "invalid_address")), 2);
	json_decref(st);
}

Test(admit, writes_each_job_together_with_its_history_reservation)
{
	struct admit_report	 rep, prior;
	struct spec		 earlier = { "earlier", NULL, NULL, 0, 0 };
	struct spec		 sp = { "together", NULL, NULL, 0,
	    NOW + 3 * DAY };
	const char		*first[] = { "dee@example.org", NULL };
	const char		*rcpts[] = { "Ann@Example.org",
	    "bob@example.org", "cy@example.net", "dee@example.org",
	    "bad address", NULL };
	struct store_txn	*t;
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	struct store_rcpt	 r;
	struct store_cr		 cr;
	char			 naddr[ADDR_MAX + 1], back[ADDR_MAX + 1];
	size_t			 i, n = 0, reserved;
	uint32_t		 lid;

	submit_ok(&earlier, first, NOW - HOUR, &prior);
	submit_ok(&sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.accepted, 3);
	cr_expect_eq(rep.deferred, 1);
	cr_expect_eq(fixture_queue_count(&fx), 1 + rep.accepted + rep.deferred);

	lid = fixture_list_id(&fx, LIST);
	store_rcpt_init(&r);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_queue_first(t, &c, NULL), 0);
	for (; store_cursor_job(c, &j) == 1; store_cursor_next(c)) {
		if (strcmp(j.campaign, "together") != 0)
			continue;
		n++;
		addr_normalize(j.addr, naddr, sizeof naddr);
		cr_expect_eq(j.lid, lid, "%s: list id", naddr);
		cr_expect_eq(j.queued, NOW);
		cr_assert_eq(store_rcpt_get(t, naddr, &r, NULL), 0,
		    "%s has a record", naddr);
		cr_expect_eq(j.rid, r.rid, "%s: the job carries its id", naddr);
		cr_assert_eq(store_rid_addr(t, j.rid, back, sizeof back), 0);
		cr_expect_str_eq(back, naddr);
		reserved = 0;
		for (i = 0; i < r.nhist; i++) {
			if (strcmp(r.hist[i].campaign, "together") != 0)
				continue;
			reserved++;
			cr_expect_eq(r.hist[i].state, STORE_HIST_RESERVED,
			    "%s", naddr);
			cr_expect_eq(r.hist[i].time, j.due, "%s: reserved at "
			    "the job's due time", naddr);
			cr_expect_eq(r.hist[i].lid, lid);
		}
		cr_expect_eq(reserved, 1, "%s: one reservation", naddr);
		cr_assert_eq(store_cr_get(t, "together", r.rid, &cr, NULL), 0);
		cr_expect_eq(cr.state, STORE_CR_QUEUED, "%s", naddr);
		cr_expect_eq(memcmp(cr.key, j.key, STORE_KEY_LEN), 0,
		    "%s: the delivery state points at the job", naddr);
	}
	cr_expect_eq(n, 4);
	cr_expect_eq(store_rcpt_get(t, "bad address", &r, NULL), 1,
	    "an invalid address leaves no record, so no delivery state");
	store_cursor_close(c);
	store_abort(t);
	store_rcpt_free(&r);
}

Test(admit, writes_nothing_on_a_dry_run_yet_reports_the_same)
{
	struct admit_report	 dry, real;
	struct spec		 sp = { "dry", NULL, NULL, 0, 0 };
	const char		*rcpts[] = { "a@example.org", "b@example.org",
	    "b@example.org", "nope", NULL };
	struct store_txn	*t;
	struct store_rcpt	 r;
	struct store_cr		 cr;
	json_t			*st = NULL;
	char			*xml = fixture_doc(&sp, rcpts), *cause = NULL;
	uint32_t		 lid;
	int			 status;
	size_t			 i;

	cr_assert_eq(submit_xml(xml, NOW, 1, &dry, &status, &cause), 0, "%s",
	    cause);
	cr_expect_eq(dry.accepted, 2);
	cr_expect_eq(dry.rejected[POLICY_DUPLICATE], 1);
	cr_expect_eq(dry.rejected[POLICY_INVALID_ADDRESS], 1);

	cr_expect_eq(fixture_queue_count(&fx), 0, "a dry run queues nothing");
	store_rcpt_init(&r);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_campaign_get(t, "dry", &st, NULL), 1,
	    "not even the campaign");
	cr_expect_eq(store_campaign_body_get(t, "dry", &st, NULL), 1);
	cr_expect_eq(store_rcpt_get(t, "a@example.org", &r, NULL), 1,
	    "no history");
	cr_expect_eq(store_cr_get(t, "dry", 1, &cr, NULL), 1);
	cr_expect_eq(store_list_id(t, LIST, 0, &lid, NULL), 1);
	store_abort(t);
	store_rcpt_free(&r);

	/* The real submission answers the same. */
	cr_assert_eq(submit_xml(xml, NOW, 0, &real, &status, &cause), 0);
	cr_expect_eq(status, 202, "the dry run left no campaign behind");
	cr_expect_eq(real.recipients, dry.recipients);
	cr_expect_eq(real.accepted, dry.accepted);
	cr_expect_eq(real.deferred, dry.deferred);
	for (i = 0; i < POLICY_NREASONS; i++)
		cr_expect_eq(real.rejected[i], dry.rejected[i], "%s",
		    policy_reason_name(i));
	cr_expect_eq(real.first_due, dry.first_due);
	cr_expect_eq(fixture_queue_count(&fx), 2);
	free(xml);
}

Test(admit, adds_only_new_recipients_when_the_same_campaign_is_resubmitted)
{
	struct admit_report	 rep;
	struct spec		 sp = { "again", NULL, NULL, 0, 0 };
	const char		*first[] = { "a@example.org", "b@example.org",
	    NULL };
	const char		*second[] = { "A@example.org", "b@example.org",
	    "c@example.org", "c@example.org", NULL };
	json_t			*st;

	cr_expect_eq(submit_ok(&sp, first, NOW, &rep), 202);
	cr_expect_eq(rep.accepted, 2);
	/* A minute later, as a client retrying after a timeout would. */
	cr_expect_eq(submit_ok(&sp, second, NOW + MINUTE, &rep), 200,
	    "a resubmission answers 200");
	cr_expect_eq(rep.resubmitted, 1);
	cr_expect_eq(rep.recipients, 4);
	cr_expect_eq(rep.accepted, 1);
	cr_expect_eq(rep.rejected[POLICY_DUPLICATE], 3);
	cr_expect_eq(fixture_queue_count(&fx), 3);

	cr_assert_not_null(st = fixture_campaign(&fx, "again"));
	/* The campaign has three distinct recipients, whatever was resent. */
	cr_expect_eq(campaign_record_count(st, "recipients"), 3);
	cr_expect_eq(campaign_record_count(st, "accepted"), 3);
	cr_expect_eq(campaign_record_count(st, "queued"), 3);
	cr_expect_null(json_object_get(json_object_get(json_object_get(st,
	    "counts"), "rejected"), "duplicate"), "a resubmission's "
	    "duplicates are not counted as the campaign's");
	cr_expect_eq(json_integer_value(json_object_get(st, "created")), NOW,
	    "the first submission's record is kept");
	json_decref(st);
}

Test(admit, keeps_the_first_expiry_of_a_resubmitted_campaign_without_one)
{
	struct admit_report	 rep;
	struct spec		 sp = { "horizon", NULL, NULL, 0, 0 };
	const char		*first[] = { "a@example.org", NULL };
	const char		*second[] = { "b@example.org", NULL };
	json_t			*st;

	submit_ok(&sp, first, NOW, &rep);
	submit_ok(&sp, second, NOW + DAY, &rep);
	cr_expect_eq(rep.resubmitted, 1);
	cr_expect_eq(rep.accepted, 1);
	cr_assert_not_null(st = fixture_campaign(&fx, "horizon"));
	cr_expect_eq(json_integer_value(json_object_get(st, "expires")),
	    NOW + ADMIT_DEFAULT_EXPIRY);
	json_decref(st);
	/* Once that first horizon has passed the campaign is over. */
	cr_expect_eq(submit_refused(&sp, second, NOW + ADMIT_DEFAULT_EXPIRY,
	    "expired"), 422);
}

Test(admit, refuses_a_resubmission_with_other_content_and_changes_nothing)
{
	struct admit_report	 rep;
	struct spec		 sp = { "again", NULL, NULL, 0, 0 };
	struct spec		 other = { "again", NULL, "Different", 0, 0 };
	struct spec		 later = { "again", NULL, NULL, 0, NOW + DAY };
	const char		*first[] = { "a@example.org", NULL };
	const char		*second[] = { "d@example.org", NULL };
	json_t			*before, *after;

	submit_ok(&sp, first, NOW, &rep);
	before = fixture_campaign(&fx, "again");
	cr_expect_eq(submit_refused(&other, second, NOW + MINUTE,
	    "other content"), 409, "another subject");
	cr_expect_eq(submit_refused(&later, second, NOW + MINUTE,
	    "other content"), 409, "another expiry");
	cr_expect_eq(fixture_queue_count(&fx), 1);
	after = fixture_campaign(&fx, "again");
	cr_expect(json_equal(before, after), "the campaign record is as it "
	    "was");
	json_decref(before);
	json_decref(after);
}

Test(admit, refuses_to_revive_a_cancelled_campaign)
{
	struct admit_report	 rep;
	struct spec		 sp = { "gone", NULL, NULL, 0, 0 };
	const char		*first[] = { "a@example.org", NULL };
	const char		*second[] = { "b@example.org", NULL };
	struct store_txn	*t;
	uint64_t		 dropped;

	submit_ok(&sp, first, NOW, &rep);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_cancel(t, "gone", NOW + 1, &dropped, NULL), 0);
	fixture_commit(t);
	cr_expect_eq(submit_refused(&sp, second, NOW + 2, "cancelled"), 409);
	cr_expect_eq(fixture_queue_count(&fx), 0);
}

Test(admit, defers_a_second_campaign_a_day_under_one_per_day_or_rejects_it)
{
	struct admit_report	 a, b, c;
	struct spec		 first = { "first", NULL, NULL, 0, 0 };
	struct spec		 roomy = { "third", NULL, NULL, 0,
	    NOW + 3 * DAY };
	struct spec		 tight = { "second", NULL, NULL, 0,
	    NOW + HOUR };
	const char		*pat[] = { "pat@example.org", NULL };
	const char		*PAT[] = { "PAT@example.org", NULL };
	struct store_job	 j;
	json_t			*st;

	submit_ok(&first, pat, NOW, &a);
	cr_expect_eq(a.accepted, 1);
	cr_expect_eq(a.first_due, NOW);

	submit_ok(&tight, PAT, NOW + 1, &b);
	cr_expect_eq(b.accepted + b.deferred, 0, "no slot before expiry");
	cr_expect_eq(b.rejected[POLICY_FREQUENCY_CAP], 1);

	submit_ok(&roomy, pat, NOW + 2, &c);
	cr_expect_eq(c.accepted, 0);
	cr_expect_eq(c.deferred, 1);
	cr_expect_eq(c.first_due, a.first_due + DAY,
	    "deferred to exactly a day after the first");
	cr_assert_eq(fixture_find_job(&fx, "third", "pat@example.org", &j), 1);
	cr_expect_eq(j.due, NOW + DAY);
	cr_expect_eq(j.flags & STORE_JOB_DEFERRED, STORE_JOB_DEFERRED);
	cr_expect_eq(fixture_queue_count(&fx), 2);

	cr_assert_not_null(st = fixture_campaign(&fx, "third"));
	cr_expect_eq(campaign_record_count(st, "deferred"), 1);
	cr_expect_eq(campaign_record_count(st, "queued_deferred"), 1);
	json_decref(st);
	cr_assert_not_null(st = fixture_campaign(&fx, "second"));
	cr_expect_eq(campaign_record_count(st, "queued"), 0);
	json_decref(st);
}

Test(admit, accepts_for_later_a_campaign_whose_send_after_is_in_the_future)
{
	struct admit_report	 rep;
	struct spec		 sp = { "later", NULL, NULL, NOW + 5 * HOUR,
	    0 };
	const char		*rcpts[] = { "a@example.org", NULL };
	struct store_job	 j;
	struct store_hist	 h;
	json_t			*st;

	submit_ok(&sp, rcpts, NOW, &rep);
	cr_expect_eq(rep.accepted, 1);
	cr_expect_eq(rep.deferred, 0);
	cr_assert_eq(fixture_find_job(&fx, "later", "a@example.org", &j), 1);
	cr_expect_eq(j.due, NOW + 5 * HOUR);
	cr_expect_eq(j.flags & STORE_JOB_DEFERRED, 0);
	cr_assert_eq(fixture_hist(&fx, "a@example.org", "later", &h), 1);
	cr_expect_eq(h.time, NOW + 5 * HOUR);
	cr_assert_not_null(st = fixture_campaign(&fx, "later"));
	cr_expect_eq(json_integer_value(json_object_get(st, "expires")),
	    NOW + 5 * HOUR + ADMIT_DEFAULT_EXPIRY,
	    "without <expires>, a week after send-after");
	json_decref(st);
}

Test(admit, refuses_a_campaign_that_expired_before_it_arrived)
{
	struct spec		 sp = { "stale", NULL, NULL, 0, NOW - HOUR };
	struct spec		 edge = { "edge", NULL, NULL, 0, NOW };
	const char		*rcpts[] = { "a@example.org", NULL };
	struct store_txn	*t;
	json_t			*st = NULL;

	cr_expect_eq(submit_refused(&sp, rcpts, NOW, "expire"), 422);
	cr_expect_eq(submit_refused(&edge, rcpts, NOW, "expire"), 422,
	    "expiring at this very second is too late");
	cr_expect_eq(fixture_queue_count(&fx), 0);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_campaign_get(t, "stale", &st, NULL), 1);
	store_abort(t);
}

Test(admit, answers_507_and_leaves_nothing_when_the_store_is_full)
{
	struct admit_report	 rep;
	struct spec		 sp = { "huge", NULL, NULL, 0, 0 };
	struct spec		 small = { "small", NULL, NULL, 0, 0 };
	const char		*one[] = { "one@example.org", NULL };
	const char		**rcpts;
	struct store_txn	*t;
	struct store_rcpt	 r;
	json_t			*st = NULL;
	char			*xml, *cause = NULL;
	size_t			 i, n = 20000;
	int			 status = 0;

	fixture_close(&fx);
	fixture_open(&fx, TINY_MAP, conf_text);
	rcpts = xcalloc(n + 1, sizeof *rcpts);
	for (i = 0; i < n; i++)
		xasprintf((char **)&rcpts[i], "user%zu@example.org", i);
	xml = fixture_doc(&sp, rcpts);
	cr_assert_eq(submit_xml(xml, NOW, 0, &rep, &status, &cause), -1,
	    "20000 recipients cannot fit in 1 MiB");
	cr_expect_eq(status, 507);
	cr_assert_not_null(cause);
	cr_expect_not_null(strstr(cause, "map_size"), "cause: %s", cause);
	free(cause);
	cr_expect_eq(fixture_queue_count(&fx), 0, "nothing partial is queued");
	store_rcpt_init(&r);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_campaign_get(t, "huge", &st, NULL), 1);
	cr_expect_eq(store_rcpt_get(t, "user0@example.org", &r, NULL), 1);
	store_abort(t);
	store_rcpt_free(&r);

	/* A small campaign still fits afterwards. */
	cr_expect_eq(submit_ok(&small, one, NOW, &rep), 202);
	cr_expect_eq(fixture_queue_count(&fx), 1);
	for (i = 0; i < n; i++)
		free((char *)rcpts[i]);
	free(rcpts);
	free(xml);
}

/* Cut xml into pieces of `size` bytes, as a request buffer holds it. */
static struct iovec *
pieces(char *xml, size_t size, size_t *n)
{
	size_t		 len = strlen(xml), i;
	struct iovec	*iov;

	*n = (len + size - 1) / size;
	iov = xcalloc(*n, sizeof *iov);
	for (i = 0; i < *n; i++) {
		iov[i].iov_base = xml + i * size;
		iov[i].iov_len = i + 1 < *n ? size : len - i * size;
	}
	return iov;
}

Test(admit, reads_a_request_in_pieces_as_it_reads_a_whole_document)
{
	struct admit_report	 whole, cut;
	struct spec		 sp = { "pieces", NULL, NULL, 0, 0 };
	const char		*rcpts[] = { "Ann|a@example.org",
	    "b@example.org", "b@example.org", "nope", "C|c@example.org",
	    NULL };
	struct campaign		*c;
	struct campaign_error	 err;
	struct admit_request	 ar;
	struct iovec		*iov;
	char			*xml = fixture_doc(&sp, rcpts), *cause = NULL;
	size_t			 niov, i;
	int			 status;

	cr_assert_eq(submit_xml(xml, NOW, 1, &whole, &status, &cause), 0,
	    "%s", cause);
	/* Seven bytes a piece cuts every element and name in two. */
	iov = pieces(xml, 7, &niov);
	cr_assert_eq(campaign_parse_iov(iov, niov, 100, &c, &err), 0);
	memset(&ar, 0, sizeof ar);
	ar.store = fx.s;
	ar.conf = fx.conf;
	ar.campaign = c;
	ar.iov = iov;
	ar.niov = niov;
	ar.now = NOW;
	cr_assert_eq(admit_campaign(&ar, &cut, &status, &cause), 0, "%s",
	    cause);
	cr_expect_eq(status, 202);
	cr_expect_eq(cut.recipients, 5);
	cr_expect_eq(cut.accepted, 3);
	cr_expect_eq(cut.recipients, whole.recipients);
	cr_expect_eq(cut.accepted, whole.accepted);
	for (i = 0; i < POLICY_NREASONS; i++)
		cr_expect_eq(cut.rejected[i], whole.rejected[i], "%s",
		    policy_reason_name(i));
	cr_expect_eq(fixture_queue_count(&fx), 3);
	cr_expect_eq(c->expires, NOW + ADMIT_DEFAULT_EXPIRY,
	    "the request's campaign gets its default expiry");
	campaign_free(c);
	free(iov);
	free(xml);
}

Test(admit, names_the_first_hundred_invalid_addresses_with_the_reason)
{
	struct admit_report	 rep;
	struct spec		 sp = { "bad-ones", NULL, NULL, 0, 0 };
	const char		*rcpts[ADMIT_INVALID_LIST + 6];
	char			*made[ADMIT_INVALID_LIST + 2];
	struct campaign		 cm = { .id = (char *)"bad-ones",
				    .list = (char *)"news.example.com" };
	json_t			*j, *list;
	size_t			 i, n = 0;

	rcpts[n++] = "ok@example.org";
	rcpts[n++] = "no-at-sign.example.org";
	rcpts[n++] = "two..dots@example.org";
	for (i = 0; i < ADMIT_INVALID_LIST; i++) {
		xasprintf(&made[i], "user%zu@nodot", i);
		rcpts[n++] = made[i];
	}
	rcpts[n] = NULL;
	cr_expect_eq(submit_ok(&sp, rcpts, NOW, &rep), 202);
	cr_expect_eq(rep.accepted, 1);
	cr_expect_eq(rep.rejected[POLICY_INVALID_ADDRESS],
	    ADMIT_INVALID_LIST + 2);
	cr_assert_eq(rep.ninvalid, ADMIT_INVALID_LIST, "only the first ones");
	cr_expect_str_eq(rep.invalid[0].addr, "no-at-sign.example.org");
	cr_expect_str_eq(rep.invalid[0].why, "no @ in address");
	cr_expect_str_eq(rep.invalid[1].addr, "two..dots@example.org");
	cr_expect_not_null(strstr(rep.invalid[1].why, "two dots"), "%s",
	    rep.invalid[1].why);
	cr_expect_str_eq(rep.invalid[2].addr, "user0@nodot");
	cr_expect_str_eq(rep.invalid[2].why, "domain \"nodot\" has no dot");

	j = admit_report_json(&cm, &rep, 0);
	list = json_object_get(j, "invalid");
	cr_assert(json_is_array(list));
	cr_expect_eq(json_array_size(list), ADMIT_INVALID_LIST);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
	    list, 0), "reason")), "no @ in address");
	json_decref(j);
	for (i = 0; i < ADMIT_INVALID_LIST; i++)
		free(made[i]);
}
