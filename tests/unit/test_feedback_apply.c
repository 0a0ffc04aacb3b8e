/*
 * test_feedback_apply.c: what returned mail changes in the store, once a
 * campaign went out: who it is attributed to (only through a token that
 * verifies), what it does, that a replay changes nothing, and the
 * circuit breakers.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "campaign_record.h"
#include "feedback.h"
#include "feedback_apply.h"
#include "ledger.h"
#include "store_fixture.h"
#include "token.h"

static struct fixture		 fx;
static struct token_keys	*keys, *other_keys;

static void
setup(void)
{
	unsigned char	 k[2 * TOKEN_KEY_LEN];

	memset(k, 0x5a, TOKEN_KEY_LEN);
	memset(k + TOKEN_KEY_LEN, 0xa5, TOKEN_KEY_LEN);
	fixture_open(&fx, MAP_SIZE, "[caps]\nper_recipient = 10/30d\n"
	    "min_gap = 0\n");
	keys = token_keys_from_memory(k, 1);
	other_keys = token_keys_from_memory(k + TOKEN_KEY_LEN, 1);
}

static void
teardown(void)
{
	token_keys_free(keys);
	token_keys_free(other_keys);
	fixture_close(&fx);
}

TestSuite(feedback_apply, .init = setup, .fini = teardown);

/* Admit campaign id to rcpts and mark every job of it sent. */
static void
send_campaign(const char *id, const char *const *rcpts)
{
	struct admit_report	 rep;
	struct spec		 sp = { id, NULL, NULL, 0, 0 };
	struct store_txn	*t;
	struct store_cursor	*c = NULL;
	struct store_job	 j, jobs[16];
	json_t			*states = json_object();
	size_t			 n = 0, i;
	char			*cause = NULL;

	fixture_submit(&fx, &sp, rcpts, NOW, &rep);
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_queue_first(t, &c, NULL), 0);
	for (; store_cursor_job(c, &j) == 1 && n < 16; store_cursor_next(c))
		if (strcmp(j.campaign, id) == 0)
			jobs[n++] = j;
	store_cursor_close(c);
	store_abort(t);
	t = fixture_begin(&fx, 1);
	for (i = 0; i < n; i++)
		cr_assert_eq(ledger_outcome(t, &jobs[i], LEDGER_SENT, NULL,
		    NOW + 1, states, &cause), 0, "%s", cause);
	cr_assert_eq(ledger_flush_states(t, states, &cause), 0, "%s", cause);
	fixture_commit(t);
	json_decref(states);
}

/* The recipient record of an address that must be there. */
static uint64_t
rid_of(const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;
	uint64_t		 rid;

	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, addr, &r, NULL), 0, "no %s", addr);
	rid = r.rid;
	store_rcpt_free(&r);
	store_abort(t);
	return rid;
}

static uint32_t
lid_of(const char *list)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	uint32_t		 lid = 0;

	cr_assert_eq(store_list_id(t, list, 0, &lid, NULL), 0);
	store_abort(t);
	return lid;
}

/* A parsed message of a kind carrying one token. */
static struct feedback
msg(enum feedback_kind kind, int bad_mailbox, enum feedback_where where,
    enum feedback_shape shape, const char *tok)
{
	struct feedback	 fb;

	memset(&fb, 0, sizeof fb);
	fb.kind = kind;
	fb.bad_mailbox = bad_mailbox;
	snprintf(fb.status, sizeof fb.status, "%s", kind == FEEDBACK_BOUNCE ?
	    "5.1.1" : "");
	snprintf(fb.diagnostic, sizeof fb.diagnostic, "smtp; 550 5.1.1 no");
	if (tok != NULL) {
		fb.ntokens = 1;
		fb.tokens[0].where = where;
		fb.tokens[0].shape = shape;
		snprintf(fb.tokens[0].tok, sizeof fb.tokens[0].tok, "%s", tok);
	}
	return fb;
}

/* Apply one message in its own transaction. */
static struct feedback_apply_out
apply(const struct feedback *fb, uint32_t complaint_ppm, uint64_t min_sent)
{
	struct feedback_apply_in	 in;
	struct feedback_apply_out	 out;
	struct store_txn		*t = fixture_begin(&fx, 1);
	json_t				*states = json_object();
	char				*cause = NULL;

	memset(&in, 0, sizeof in);
	in.fb = fb;
	in.keys = keys;
	in.limits.complaint_ppm = complaint_ppm;
	in.limits.bounce_ppm = 0;
	in.limits.min_sent = min_sent;
	in.now = NOW + 100;
	cr_assert_eq(feedback_apply(t, &in, states, &out, &cause), 0, "%s",
	    cause);
	cr_assert_eq(ledger_flush_states(t, states, &cause), 0, "%s", cause);
	fixture_commit(t);
	json_decref(states);
	return out;
}

/* A campaign's state record. */
static json_t *
state_of(const char *id)
{
	json_t	*st = fixture_campaign(&fx, id);

	cr_assert_not_null(st, "no campaign %s", id);
	return st;
}

static int64_t
count_of(const char *id, const char *key)
{
	json_t	*st = state_of(id);
	int64_t	 n = campaign_record_count(st, key);

	json_decref(st);
	return n;
}

static struct store_rcpt
rcpt_of(const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;

	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, addr, &r, NULL), 0);
	store_abort(t);
	return r;
}

/* A return-path token for addr and campaign, signed with k. */
static const char *
verp(struct token_keys *k, const char *addr, const char *campaign)
{
	static char	 tok[TOKEN_LEN + 1];

	cr_assert_eq(token_issue_return(k, rid_of(addr),
	    token_campaign_ref(campaign), (uint32_t)NOW, tok), 0);
	return tok;
}

/* An unsubscribe-link token for addr on the default list. */
static const char *
link_tok(const char *addr)
{
	static char	 tok[TOKEN_LEN + 1];

	cr_assert_eq(token_issue(keys, rid_of(addr), lid_of(LIST),
	    (uint32_t)NOW, tok), 0);
	return tok;
}

static const char *const two[] = { "ann@example.org", "bob@example.org",
    NULL };

Test(feedback_apply, a_hard_bounce_by_return_path_suppresses_once)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	struct store_rcpt		 r;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_BOUNCE, 1, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(keys, "ann@example.org", "c1"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "bounce");
	cr_assert_str_eq(out.action, "suppressed");
	cr_assert_str_eq(out.address, "ann@example.org");
	cr_assert_str_eq(out.campaign, "c1");
	cr_assert_str_eq(out.list, LIST);
	cr_assert_eq(out.changed, 1);
	r = rcpt_of("ann@example.org");
	cr_assert_eq(r.suppressed, NOW + 100);
	cr_assert_not_null(strstr(r.suppress_why, "bounce 5.1.1"), "%s",
	    r.suppress_why);
	store_rcpt_free(&r);
	cr_assert_eq(count_of("c1", "bounces"), 1);

	/* The same bounce again changes nothing. */
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.action, "suppressed");
	cr_assert_eq(out.changed, 0);
	cr_assert_eq(count_of("c1", "bounces"), 1);
	r = rcpt_of("ann@example.org");
	cr_assert_eq(r.suppressed, NOW + 100, "the first time is kept");
	store_rcpt_free(&r);
	r = rcpt_of("bob@example.org");
	cr_assert_eq(r.suppressed, 0, "only the token's recipient");
	store_rcpt_free(&r);
}

Test(feedback_apply, a_forged_token_or_none_changes_nothing)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	struct store_rcpt		 r;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_BOUNCE, 1, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(other_keys, "ann@example.org", "c1"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "unattributed");
	cr_assert_str_eq(out.action, "none");
	cr_assert_str_eq(out.address, "");
	cr_assert_not_null(strstr(out.unattributed_why, "rcpt token: token: "), "%s",
	    out.unattributed_why);
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_RCPT, FEEDBACK_VERP, NULL);
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "unattributed");
	r = rcpt_of("ann@example.org");
	cr_assert_eq(r.suppressed, 0);
	cr_assert_eq(r.nunsub, 0);
	store_rcpt_free(&r);
	cr_assert_eq(count_of("c1", "bounces"), 0);
	cr_assert_eq(count_of("c1", "complaints"), 0);
}

Test(feedback_apply, a_policy_bounce_is_counted_not_suppressed)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	struct store_rcpt		 r;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_BOUNCE, 0, FEEDBACK_AT_HEADER, FEEDBACK_VERP,
	    verp(keys, "bob@example.org", "c1"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.action, "recorded");
	r = rcpt_of("bob@example.org");
	cr_assert_eq(r.suppressed, 0);
	store_rcpt_free(&r);
	cr_assert_eq(count_of("c1", "bounces"), 1);
}

Test(feedback_apply, a_delay_is_recorded_and_counted_once)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_DELAY, 0, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(keys, "bob@example.org", "c1"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "delay");
	cr_assert_str_eq(out.action, "recorded");
	out = apply(&fb, 0, 0);
	cr_assert_eq(count_of("c1", "delays"), 1);
}

Test(feedback_apply, a_complaint_unsubscribes_from_the_list_by_link_token)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	struct store_rcpt		 r;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_QUOTED, FEEDBACK_LINK,
	    link_tok("bob@example.org"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "complaint");
	cr_assert_str_eq(out.action, "unsubscribed");
	cr_assert_str_eq(out.campaign, "c1", "found by the list's history");
	r = rcpt_of("bob@example.org");
	cr_assert_eq(r.nunsub, 1);
	cr_assert_eq(r.unsub[0].lid, lid_of(LIST));
	cr_assert_eq(r.unsub[0].source, STORE_SRC_COMPLAINT);
	cr_assert_str_eq(ledger_source_name(r.unsub[0].source), "complaint");
	store_rcpt_free(&r);
	cr_assert_eq(count_of("c1", "complaints"), 1);
	out = apply(&fb, 0, 0);
	cr_assert_eq(out.changed, 0, "a replay changes nothing");
	cr_assert_eq(count_of("c1", "complaints"), 1);
}

/*
 * A complaint can come back before the drain has committed the message's
 * "sent": the history still holds it reserved.  A job already due names
 * its campaign; one not due yet cannot have sent the message.
 */
Test(feedback_apply, a_complaint_before_the_sent_is_committed_names_the_campaign)
{
	struct spec			 due = { "c1", NULL, NULL, 0, 0 };
	struct spec			 later = { "c2", NULL, NULL, 0, 0 };
	struct admit_report		 rep;
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	static const char *const	 carl[] = { "carl@example.org", NULL };
	static const char *const	 dora[] = { "dora@example.org", NULL };

	fixture_submit(&fx, &due, carl, NOW, &rep);
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_QUOTED, FEEDBACK_LINK,
	    link_tok("carl@example.org"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.action, "unsubscribed");
	cr_assert_str_eq(out.campaign, "c1", "the due job's campaign");
	cr_assert_eq(count_of("c1", "complaints"), 1);

	/* Admitted with a due time after the complaint: not its campaign. */
	fixture_submit(&fx, &later, dora, NOW + 3600, &rep);
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_QUOTED, FEEDBACK_LINK,
	    link_tok("dora@example.org"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.action, "unsubscribed");
	cr_assert_str_eq(out.campaign, "", "a job not due sent nothing");
	cr_assert_eq(count_of("c2", "complaints"), 0);
}

Test(feedback_apply, a_mailto_unsubscribe_is_recorded_as_mail)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	struct store_rcpt		 r;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_UNSUBSCRIBE, 0, FEEDBACK_AT_SUBJECT, FEEDBACK_BARE,
	    link_tok("ann@example.org"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "unsubscribe");
	cr_assert_str_eq(out.action, "unsubscribed");
	r = rcpt_of("ann@example.org");
	cr_assert_eq(r.nunsub, 1);
	cr_assert_eq(r.unsub[0].source, STORE_SRC_MAIL);
	store_rcpt_free(&r);
}

Test(feedback_apply, an_auto_reply_is_attributed_and_changes_nothing)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_AUTO_REPLY, 0, FEEDBACK_AT_HEADER, FEEDBACK_VERP,
	    verp(keys, "ann@example.org", "c1"));
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "auto_reply");
	cr_assert_str_eq(out.action, "none");
	cr_assert_str_eq(out.address, "ann@example.org");
	cr_assert_eq(out.changed, 0);
}

Test(feedback_apply, complaints_at_the_limit_pause_the_campaign)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	json_t				*st;

	send_campaign("c1", two);
	/* One complaint of two sent is 50 %: over 0.3 % from 2 sent. */
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(keys, "ann@example.org", "c1"));
	out = apply(&fb, 3000, 2);
	cr_assert_eq(out.trip, BREAKER_COMPLAINTS);
	st = state_of("c1");
	cr_assert_str_eq(campaign_record_state(st), CAMPAIGN_PAUSED);
	cr_assert_str_eq(json_string_value(json_object_get(st, "paused_by")),
	    "complaint_rate");
	cr_assert_eq(json_integer_value(json_object_get(st, "paused_at")),
	    NOW + 100);
	json_decref(st);
}

Test(feedback_apply, no_pause_below_min_sent)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	json_t				*st;

	send_campaign("c1", two);
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(keys, "ann@example.org", "c1"));
	out = apply(&fb, 3000, 1000);
	cr_assert_eq(out.trip, BREAKER_NONE);
	st = state_of("c1");
	cr_assert_str_eq(campaign_record_state(st), CAMPAIGN_ACTIVE);
	json_decref(st);
}

Test(feedback_apply, a_token_for_an_unknown_recipient_is_unattributed)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	char				 tok[TOKEN_LEN + 1];

	send_campaign("c1", two);
	cr_assert_eq(token_issue_return(keys, 999999, token_campaign_ref("c1"),
	    (uint32_t)NOW, tok), 0);
	fb = msg(FEEDBACK_BOUNCE, 1, FEEDBACK_AT_RCPT, FEEDBACK_VERP, tok);
	out = apply(&fb, 0, 0);
	cr_assert_str_eq(out.kind, "unattributed");
	cr_assert_not_null(strstr(out.unattributed_why, "not in the store"));
}

Test(feedback_apply, a_resume_releases_the_breaker_until_new_complaints)
{
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	struct store_txn		*t;
	json_t				*st;
	const char *const		 three[] = { "ann@example.org",
					    "bob@example.org",
					    "cy@example.org", NULL };

	send_campaign("c1", three);
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(keys, "ann@example.org", "c1"));
	out = apply(&fb, 3000, 1);
	cr_assert_eq(out.trip, BREAKER_COMPLAINTS);
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_set_campaign_state(t, "c1", CAMPAIGN_ACTIVE,
	    NULL), 0);
	fixture_commit(t);
	st = state_of("c1");
	cr_assert_str_eq(campaign_record_state(st), CAMPAIGN_ACTIVE);
	cr_assert_null(json_object_get(st, "paused_by"));
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(st,
	    "breaker_base"), "complaints")), 1);
	json_decref(st);
	/* The same complaint again counts nothing new: no trip. */
	out = apply(&fb, 3000, 1);
	cr_assert_eq(out.trip, BREAKER_NONE);
	/* A new complaint since the resume, with nothing sent since, does
	 * not trip either: min_sent counts from the resume. */
	fb = msg(FEEDBACK_COMPLAINT, 0, FEEDBACK_AT_RCPT, FEEDBACK_VERP,
	    verp(keys, "bob@example.org", "c1"));
	out = apply(&fb, 3000, 1);
	cr_assert_eq(out.trip, BREAKER_NONE);
	cr_assert_eq(count_of("c1", "complaints"), 2);
}
