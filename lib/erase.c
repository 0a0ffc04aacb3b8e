/*
 * erase.c: forgetting a person, keeping only a keyed hash of what they
 * asked for (see erase.h).
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "erase.h"
#include "ledger.h"
#include "store.h"
#include "token.h"
#include "util.h"

/* The label of these digests under the token keys. */
#define ERASE_LABEL	"manners erased address"

/* The keyed hash of a normalised address under key i. */
static int
erase_hash(const struct token_keys *keys, size_t i, const char *naddr,
    uint8_t out[STORE_ERASED_HASH], char **cause)
{
	if (token_keys_digest(keys, i, ERASE_LABEL, naddr, strlen(naddr),
	    out) == -1)
		return set_cause(cause, "erase: cannot compute HMAC-SHA256");
	return 0;
}

/* The erasure record of naddr under key k, its hash in h: 0, 1 if none. */
static int
erase_get(struct store_txn *t, const struct token_keys *keys, size_t k,
    const char *naddr, uint8_t h[STORE_ERASED_HASH], struct store_erased *e,
    char **cause)
{
	if (erase_hash(keys, k, naddr, h, cause) == -1)
		return -1;
	return store_erased_get(t, h, e, cause);
}

/* Add a list id to what is kept, once. */
static void
erase_keep_list(struct store_erased *e, uint32_t lid)
{
	size_t	 i;

	for (i = 0; i < e->nlids; i++)
		if (e->lids[i] == lid)
			return;
	/* Past the limit, "every list" keeps the person's word for all. */
	if (e->nlids == STORE_ERASED_LISTS) {
		e->lids[0] = 0;
		e->nlids = 1;
		return;
	}
	e->lids[e->nlids++] = lid;
}

/* Remove the recipient's delivery state from every campaign. */
static int
erase_states(struct store_txn *t, uint64_t rid, uint64_t *n, char **cause)
{
	json_t		*ids = NULL, *v;
	size_t		 i;
	int		 rc;

	if ((rc = store_campaign_list(t, &ids, cause)) < 0)
		return rc;
	json_array_foreach(ids, i, v) {
		if (!json_is_string(v))
			continue;
		if ((rc = store_cr_del(t, json_string_value(v), rid,
		    cause)) < 0)
			break;
		*n += rc == 0;
		rc = 0;
	}
	json_decref(ids);
	return rc;
}

/* Merge what the record says must survive into the erasure record. */
static int
erase_keep(struct store_txn *t, const struct token_keys *keys,
    const char *naddr, const struct store_rcpt *r, struct erase_result *res,
    char **cause)
{
	struct store_erased	 e;
	uint8_t			 h[STORE_ERASED_HASH];
	size_t			 i;
	int			 rc;

	if (r->nunsub == 0 && r->suppressed == 0)
		return 0;
	if ((rc = erase_get(t, keys, token_keys_count(keys) - 1, naddr, h, &e,
	    cause)) < 0)
		return rc;
	if (rc == 1)
		memset(&e, 0, sizeof e);
	e.suppressed |= r->suppressed != 0;
	for (i = 0; i < r->nunsub; i++)
		erase_keep_list(&e, r->unsub[i].lid);
	res->kept_lists = e.nlids;
	res->kept_suppressed = e.suppressed;
	return store_erased_put(t, h, &e, cause);
}

int
erase_recipient(struct store_txn *t, const struct token_keys *keys,
    const char *addr, int64_t now, json_t *states, struct erase_result *res,
    char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	uint64_t		 consents;
	int			 rc;

	memset(res, 0, sizeof *res);
	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) != 0)
		goto out;
	/* Queued jobs hold the address and the name: they go first. */
	if ((rc = ledger_drop_reserved(t, &r, now, states, &res->dropped,
	    cause)) < 0 ||
	    (rc = erase_keep(t, keys, naddr, &r, res, cause)) < 0 ||
	    (rc = erase_states(t, r.rid, &res->states, cause)) < 0 ||
	    (rc = store_consent_del(t, r.rid, &consents, cause)) < 0 ||
	    (rc = store_zone_del(t, r.rid, cause)) < 0 ||
	    (rc = store_rcpt_del(t, naddr, r.rid, cause)) < 0)
		goto out;
	rc = 0;
out:
	store_rcpt_free(&r);
	return rc;
}

int
erase_check(struct store_txn *t, const struct token_keys *keys,
    const char *naddr, uint32_t lid, int *unsub_list, int *unsub_all,
    int *suppressed, char **cause)
{
	struct store_erased	 e;
	uint8_t			 h[STORE_ERASED_HASH];
	size_t			 i, k;
	int			 rc;

	/* Every key: an erasure made before a key rotation still counts. */
	for (k = 0; k < token_keys_count(keys); k++) {
		if ((rc = erase_get(t, keys, k, naddr, h, &e, cause)) < 0)
			return rc;
		if (rc == 1)
			continue;
		if (e.suppressed)
			*suppressed = 1;
		for (i = 0; i < e.nlids; i++) {
			if (e.lids[i] == 0)
				*unsub_all = 1;
			else if (e.lids[i] == lid)
				*unsub_list = 1;
		}
	}
	return 0;
}

/* Drop list lid (all: every list) from one erasure record; 1 if any was. */
static int
erase_lift_lists(struct store_erased *e, int all, uint32_t lid)
{
	size_t	 i, j = 0;

	for (i = 0; i < e->nlids; i++)
		if (!all && e->lids[i] != lid)
			e->lids[j++] = e->lids[i];
	if (j == e->nlids)
		return 0;
	e->nlids = j;
	return 1;
}

int
erase_lift(struct store_txn *t, const struct token_keys *keys,
    const char *naddr, int all, uint32_t lid, int *lifted, char **cause)
{
	struct store_erased	 e;
	uint8_t			 h[STORE_ERASED_HASH];
	size_t			 k;
	int			 rc;

	*lifted = 0;
	/* Every key, as erase_check() honours an entry under any of them. */
	for (k = 0; k < token_keys_count(keys); k++) {
		if ((rc = erase_get(t, keys, k, naddr, h, &e, cause)) < 0)
			return rc;
		if (rc == 1 || !erase_lift_lists(&e, all, lid))
			continue;
		*lifted = 1;
		/* A record that keeps nothing any more goes altogether. */
		if (e.nlids == 0 && !e.suppressed)
			rc = store_erased_del(t, h, cause);
		else
			rc = store_erased_put(t, h, &e, cause);
		if (rc < 0)
			return rc;
	}
	return 0;
}
