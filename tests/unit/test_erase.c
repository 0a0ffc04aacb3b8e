/*
 * test_erase.c: an erasure forgets the person (record, id, delivery
 * states, queued jobs) and keeps only a keyed hash of their "stop", which
 * admission still honours, under every token key, until an
 * administrator lifts it at the person's request.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "admit.h"
#include "campaign.h"
#include "erase.h"
#include "ledger.h"
#include "policy.h"
#include "prefs.h"
#include "store.h"
#include "token.h"
#include "util.h"

#include "store_fixture.h"

#define OTHER	"shop.example.com"

static struct fixture	 fx;
static struct token_keys *keys;
static unsigned char	 raw_keys[2 * TOKEN_KEY_LEN];

static void
setup(void)
{
	fixture_open(&fx, MAP_SIZE, "[caps]\nper_recipient = unlimited\n"
	    "min_gap = 0\n");
	memset(raw_keys, 0x11, TOKEN_KEY_LEN);
	memset(raw_keys + TOKEN_KEY_LEN, 0x22, TOKEN_KEY_LEN);
	keys = token_keys_from_memory(raw_keys + TOKEN_KEY_LEN, 1);
}

static void
teardown(void)
{
	token_keys_free(keys);
	fixture_close(&fx);
}

TestSuite(erase, .init = setup, .fini = teardown);

/* Admit a campaign with the token keys, as the daemon does. */
static void
admit(const char *id, const char *list, const char *const *rcpts,
    int64_t now, struct admit_report *rep)
{
	struct spec		 sp = { id, list, NULL, 0, 0 };
	char			*xml = fixture_doc(&sp, rcpts), *cause = NULL;
	struct campaign_error	 err;
	struct campaign		*c = NULL;
	struct iovec		 iov = { xml, strlen(xml) };
	struct admit_request	 ar = { .store = fx.s, .conf = fx.conf,
				    .iov = &iov, .niov = 1, .now = now,
				    .keys = keys };
	int			 status;

	cr_assert_eq(campaign_parse(xml, strlen(xml), 1000000, &c, &err), 0);
	ar.campaign = c;
	if (admit_campaign(&ar, rep, &status, &cause) != 0)
		cr_assert_fail("admit %s: %s", id, cause);
	campaign_free(c);
	free(xml);
}

/* Run fn's change in one committed transaction. */
static void
unsubscribe(const char *addr, const char *list)
{
	struct store_txn		*t = fixture_begin(&fx, 1);
	struct ledger_unsub_result	 ur;
	json_t				*states = json_object();
	uint32_t			 lid = 0;

	if (list != NULL)
		cr_assert_eq(store_list_id(t, list, 1, &lid, NULL), 0);
	cr_assert_eq(ledger_unsubscribe(t, addr, lid, STORE_SRC_LINK, NOW,
	    states, &ur, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	json_decref(states);
	fixture_commit(t);
}

/* A hard bounce for addr: suppressed, in one commit. */
static void
suppress(const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	uint64_t		 dropped;

	cr_assert_eq(ledger_suppress(t, addr, "550 5.1.1", NOW, NULL,
	    &dropped, NULL), 0);
	fixture_commit(t);
}

/* The key rotates: the old one is kept for checking, a new one signs. */
static void
rotate_keys(void)
{
	token_keys_free(keys);
	memcpy(raw_keys, raw_keys + TOKEN_KEY_LEN, TOKEN_KEY_LEN);
	memset(raw_keys + TOKEN_KEY_LEN, 0x33, TOKEN_KEY_LEN);
	keys = token_keys_from_memory(raw_keys, 2);
}

static int
erase(const char *addr, struct erase_result *er)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	json_t			*states = json_object();
	char			*cause = NULL;
	int			 rc;

	rc = erase_recipient(t, keys, addr, NOW + MINUTE, states, er, &cause);
	cr_assert_geq(rc, 0, "erase: %s", cause);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	json_decref(states);
	fixture_commit(t);
	return rc;
}

/* store_rcpt_get()'s answer for addr: 0 there is a record, 1 none. */
static int
record(const char *addr)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	struct store_rcpt	 r;
	int			 rc;

	store_rcpt_init(&r);
	rc = store_rcpt_get(t, addr, &r, NULL);
	store_rcpt_free(&r);
	store_abort(t);
	return rc;
}

static int
count_one(const struct store_consent *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
	return 0;
}

/* How many consent changes rid has. */
static int
consents(uint64_t rid)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	int			 n = 0;

	cr_assert_eq(store_consent_each(t, rid, count_one, &n, NULL), 0);
	store_abort(t);
	return n;
}

Test(erase, forgets_the_record_the_id_the_states_and_the_queued_jobs)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	struct store_rcpt	 r;
	struct store_txn	*t;
	struct store_cr		 cr;
	const char		*rcpts[] = { "Zed Person|zed@example.org",
	    "other@example.org", NULL };
	char			 buf[256];
	uint64_t		 rid;

	admit("c1", NULL, rcpts, NOW, &rep);
	cr_assert_eq(rep.accepted, 2);
	t = fixture_begin(&fx, 0);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "zed@example.org", &r, NULL), 0);
	rid = r.rid;
	store_rcpt_free(&r);
	store_abort(t);

	/* A resubscribe from the page leaves a consent record. */
	t = fixture_begin(&fx, 1);
	{
		struct store_consent	 cs = { NOW, 1, STORE_CONSENT_RESUBSCRIBE,
		    STORE_SRC_LINK };

		cr_assert_eq(store_consent_add(t, rid, &cs, NULL), 0);
	}
	/* A campaign gave a time zone for them. */
	cr_assert_eq(store_zone_put(t, rid, "Asia/Tokyo", NULL), 0);
	fixture_commit(t);
	cr_assert_eq(consents(rid), 1);
	cr_assert_eq(erase("Zed@Example.org", &er), 0);
	cr_expect_eq(consents(rid), 0, "its consent changes go");
	cr_expect_eq(er.dropped, 1, "its queued job goes");
	cr_expect_eq(er.states, 1, "its delivery state goes");
	cr_expect_eq(er.kept_lists, 0, "nothing asked for, nothing kept");
	t = fixture_begin(&fx, 0);
	store_rcpt_init(&r);
	cr_expect_eq(store_rcpt_get(t, "zed@example.org", &r, NULL), 1);
	cr_expect_eq(store_rid_addr(t, rid, buf, sizeof buf), 1);
	cr_expect_eq(store_zone_get(t, rid, buf, sizeof buf, NULL), 1,
	    "its time zone goes");
	cr_expect_eq(store_cr_get(t, "c1", rid, &cr, NULL), 1);
	cr_expect_eq(store_count(t, STORE_QUEUE), 1,
	    "the other one stays queued");
	cr_expect_eq(store_count(t, STORE_ERASED), 0);
	store_rcpt_free(&r);
	store_abort(t);
	/* Twice: nothing is known any more. */
	cr_expect_eq(erase("zed@example.org", &er), 1);
}

Test(erase, an_outcome_in_flight_does_not_bring_the_address_back)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	struct store_txn	*t;
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	const char		*rcpts[] = { "fly@example.org", NULL };
	json_t			*states = json_object();

	admit("c1", NULL, rcpts, NOW, &rep);
	/* The drain took the job ... */
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_queue_first(t, &c, NULL), 0);
	cr_assert_eq(store_cursor_job(c, &j), 1);
	store_cursor_close(c);
	store_abort(t);
	/* ... the person is erased while it is in flight ... */
	cr_assert_eq(erase("fly@example.org", &er), 0);
	/* ... and the relay's answers come back. */
	t = fixture_begin(&fx, 1);
	cr_assert_eq(ledger_outcome(t, &j, LEDGER_SENT, NULL, NOW + HOUR,
	    states, NULL), 0);
	cr_assert_eq(ledger_outcome(t, &j, LEDGER_BOUNCED, "550 5.1.1",
	    NOW + HOUR, states, NULL), 0);
	cr_assert_eq(ledger_flush_states(t, states, NULL), 0);
	fixture_commit(t);
	json_decref(states);
	cr_expect_eq(record("fly@example.org"), 1, "no record again");
}

Test(erase, keeps_unsubscribes_and_a_suppression_only_as_a_hash)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	struct store_txn	*t;
	const char		*first[] = { "Ann|ann@example.org",
	    "bo@example.org", NULL };
	const char		*again[] = { "ann@example.org",
	    "bo@example.org", NULL };

	admit("c1", NULL, first, NOW, &rep);
	unsubscribe("ann@example.org", LIST);
	suppress("bo@example.org");

	cr_assert_eq(erase("ann@example.org", &er), 0);
	cr_expect_eq(er.kept_lists, 1);
	cr_expect_eq(er.kept_suppressed, 0);
	cr_assert_eq(erase("bo@example.org", &er), 0);
	cr_expect_eq(er.kept_suppressed, 1);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_ERASED), 2);
	store_abort(t);

	/* A later campaign of that list still rejects both, for the reason. */
	admit("c2", NULL, again, NOW + HOUR, &rep);
	cr_expect_eq(rep.accepted, 0);
	cr_expect_eq(rep.rejected[POLICY_UNSUBSCRIBED], 1);
	cr_expect_eq(rep.rejected[POLICY_SUPPRESSED], 1);
	/* Another list: Ann asked to stop only the first; Bo's box is dead. */
	admit("c3", OTHER, again, NOW + HOUR, &rep);
	cr_expect_eq(rep.accepted, 1);
	cr_expect_eq(rep.rejected[POLICY_SUPPRESSED], 1);
	/* Ann is back in the store (c3), yet c4 of the first list skips her. */
	admit("c4", NULL, again, NOW + 2 * HOUR, &rep);
	cr_expect_eq(rep.rejected[POLICY_UNSUBSCRIBED], 1);
	cr_expect_eq(rep.accepted, 0);
}

Test(erase, a_second_erasure_merges_and_an_old_key_still_counts)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	const char		*rcpts[] = { "kim@example.org", NULL };

	admit("c1", NULL, rcpts, NOW, &rep);
	unsubscribe("kim@example.org", NULL);	/* every list */
	cr_assert_eq(erase("kim@example.org", &er), 0);
	cr_expect_eq(er.kept_lists, 1);
	rotate_keys();
	admit("c2", OTHER, rcpts, NOW + HOUR, &rep);
	cr_expect_eq(rep.rejected[POLICY_UNSUBSCRIBED], 1, "hashed under the "
	    "old key, still honoured");
}

Test(erase, checks_nothing_without_keys_or_records)
{
	struct store_txn	*t = fixture_begin(&fx, 0);
	int			 ul = 0, ua = 0, sp = 0;

	cr_expect_eq(erase_check(t, keys, "x@example.org", 1, &ul, &ua, &sp,
	    NULL), 0);
	cr_expect(!ul && !ua && !sp);
	store_abort(t);
}

/* An administrator's resubscribe at the person's request, in one commit. */
static int
resubscribe(const char *addr, const char *list)
{
	struct store_txn	*t = fixture_begin(&fx, 1);
	struct prefs_resub	 rs = { .addr = addr, .all = list == NULL,
				    .source = STORE_SRC_ADMIN,
				    .now = NOW + DAY, .keys = keys };
	int			 found = -1;

	if (list != NULL)
		cr_assert_eq(store_list_id(t, list, 0, &rs.lid, NULL), 0);
	cr_assert_eq(prefs_resubscribe(t, &rs, &found, NULL), 0);
	fixture_commit(t);
	return found;
}

static int
last_consent(const struct store_consent *c, void *arg)
{
	*(struct store_consent *)arg = *c;
	return 0;
}

Test(erase, an_admin_resubscribe_lifts_what_the_erasure_kept)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	struct store_consent	 c;
	struct store_rcpt	 r;
	struct store_txn	*t;
	const char		*rcpts[] = { "ann@example.org", NULL };
	uint32_t		 lid;

	admit("c1", NULL, rcpts, NOW, &rep);
	admit("c2", OTHER, rcpts, NOW, &rep);
	unsubscribe("ann@example.org", LIST);
	unsubscribe("ann@example.org", OTHER);
	cr_assert_eq(erase("ann@example.org", &er), 0);
	cr_assert_eq(er.kept_lists, 2);

	/* Ann asks to be mailed again on the first list only. */
	cr_expect_eq(resubscribe("Ann@Example.org", LIST), PREFS_RESUB_ERASED);
	admit("c3", NULL, rcpts, NOW + 2 * DAY, &rep);
	cr_expect_eq(rep.accepted, 1, "the first list mails her again");
	admit("c4", OTHER, rcpts, NOW + 2 * DAY, &rep);
	cr_expect_eq(rep.rejected[POLICY_UNSUBSCRIBED], 1,
	    "the other list still does not");

	/* The consent is recorded, from the administrator, for that list. */
	t = fixture_begin(&fx, 0);
	cr_assert_eq(store_list_id(t, LIST, 0, &lid, NULL), 0);
	store_rcpt_init(&r);
	cr_assert_eq(store_rcpt_get(t, "ann@example.org", &r, NULL), 0);
	memset(&c, 0, sizeof c);
	cr_assert_eq(store_consent_each(t, r.rid, last_consent, &c, NULL), 0);
	cr_expect_eq(c.action, STORE_CONSENT_RESUBSCRIBE);
	cr_expect_eq(c.source, STORE_SRC_ADMIN);
	cr_expect_eq(c.lid, lid);
	cr_expect_eq(c.time, NOW + DAY);
	store_rcpt_free(&r);
	cr_expect_eq(store_count(t, STORE_ERASED), 1,
	    "the other list is still kept");
	store_abort(t);

	/* The same again: nothing is left to lift. */
	cr_expect_eq(resubscribe("ann@example.org", LIST), 0);
	/* Every list: the rest goes, and so does the hash. */
	cr_expect_eq(resubscribe("ann@example.org", NULL), PREFS_RESUB_ERASED);
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_ERASED), 0, "nothing kept any more");
	store_abort(t);
	admit("c5", OTHER, rcpts, NOW + 3 * DAY, &rep);
	cr_expect_eq(rep.accepted, 1);
}

Test(erase, an_admin_resubscribe_leaves_a_suppression_and_other_people)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	struct store_txn	*t;
	const char		*rcpts[] = { "bo@example.org", "cy@example.org",
	    NULL };
	const char		*bo[] = { "bo@example.org", NULL };

	admit("c1", NULL, rcpts, NOW, &rep);
	unsubscribe("bo@example.org", NULL);
	unsubscribe("cy@example.org", NULL);
	suppress("bo@example.org");
	cr_assert_eq(erase("bo@example.org", &er), 0);
	cr_assert_eq(erase("cy@example.org", &er), 0);

	/* Someone never erased and never unsubscribed: nothing to lift. */
	cr_expect_eq(resubscribe("dee@example.org", NULL), 0);
	cr_expect_eq(record("dee@example.org"), 1,
	    "no record made for nothing");

	cr_expect_eq(resubscribe("bo@example.org", NULL), PREFS_RESUB_ERASED);
	admit("c2", NULL, bo, NOW + 2 * DAY, &rep);
	cr_expect_eq(rep.rejected[POLICY_SUPPRESSED], 1,
	    "a dead mailbox stays suppressed");
	t = fixture_begin(&fx, 0);
	cr_expect_eq(store_count(t, STORE_ERASED), 2,
	    "Bo's suppression and Cy's unsubscribe are still kept");
	store_abort(t);
}

Test(erase, an_admin_resubscribe_lifts_a_hash_made_under_an_old_key)
{
	struct admit_report	 rep;
	struct erase_result	 er;
	const char		*rcpts[] = { "kim@example.org", NULL };

	admit("c1", NULL, rcpts, NOW, &rep);
	unsubscribe("kim@example.org", NULL);
	cr_assert_eq(erase("kim@example.org", &er), 0);
	rotate_keys();
	cr_expect_eq(resubscribe("kim@example.org", NULL), PREFS_RESUB_ERASED);
	admit("c2", NULL, rcpts, NOW + 2 * DAY, &rep);
	cr_expect_eq(rep.accepted, 1);
}
