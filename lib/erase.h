/*
 * erase.h: forgetting a person (DELETE /v1/recipients/{address}).
 *
 * An erasure removes the recipient's record (address, history,
 * preference, pause, plain-text choice), its id's address, its consent
 * changes (resubscribes), its delivery states and its queued jobs
 * (which hold the address and the name).  What must survive for the
 * person's own sake, their unsubscribes and a suppression after a hard
 * bounce, is kept under HMAC-SHA256 of the normalised address with the
 * token key (store's "erased" database): admission hashes each address
 * and still rejects it as `unsubscribed` or `suppressed`, without the
 * store holding the address.
 */
#ifndef MANNERS_ERASE_H
#define MANNERS_ERASE_H

#include <stdint.h>

#include <jansson.h>

struct store_txn;
struct token_keys;

struct erase_result {
	uint64_t	 dropped;	/* queued jobs dropped */
	uint64_t	 states;	/* delivery states removed */
	size_t		 kept_lists;	/* unsubscribes kept as a hash */
	int		 kept_suppressed;
};

/*
 * Erase the recipient at addr in the transaction: 0 with *res, 1 when the
 * store holds no record of the address, -1 (or STORE_FULL) with *cause.
 * The campaigns' counters of dropped jobs go into `states`
 * (ledger_flush_states()).
 */
int	erase_recipient(struct store_txn *, const struct token_keys *,
	    const char *, int64_t, json_t *, struct erase_result *, char **);
/*
 * What an earlier erasure kept for the normalised address naddr, for a
 * campaign of list lid: sets *unsub_list, *unsub_all and *suppressed
 * (leaves them alone when nothing was kept); 0, or -1 with *cause.
 */
int	erase_check(struct store_txn *, const struct token_keys *,
	    const char *, uint32_t, int *, int *, int *, char **);
/*
 * An administrator's resubscribe of the normalised address naddr, at the
 * person's request: lift the unsubscribe of list lid an earlier erasure
 * kept (all: every list's, "every list" included), under every key.  A
 * suppression (a dead mailbox) stays.  *lifted says whether anything
 * was; 0, or -1 (or STORE_FULL) with *cause.
 */
int	erase_lift(struct store_txn *, const struct token_keys *,
	    const char *, int, uint32_t, int *, char **);

#endif
