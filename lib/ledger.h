/*
 * ledger.h: every change to queued work after admission, as store
 * operations inside a caller's write transaction: delivery outcomes,
 * unsubscribes, suppressions, cancel, pause and resume, and the
 * recipient report.  Campaign counters are gathered in a JSON object
 * (id -> state record) and written once per transaction by
 * ledger_flush_states().
 */
#ifndef MANNERS_LEDGER_H
#define MANNERS_LEDGER_H

#include <stdint.h>

#include <jansson.h>

#include "store.h"

struct conf;

enum ledger_outcome {
	LEDGER_SENT,
	LEDGER_RETRY,		/* job->due and attempts already updated */
	LEDGER_FAILED,
	LEDGER_DROPPED,		/* unsubscribed or suppressed meanwhile */
	LEDGER_BOUNCED,		/* failed for good: suppress the address */
	LEDGER_DEFERRED,	/* over a daily quota: job->due is the next
				   day's start; not an attempt */
	LEDGER_WAIT		/* quiet hours: job->due is their end */
};

struct ledger_unsub_result {
	int		 changed;	/* the flag was not already there */
	uint64_t	 dropped;	/* queued jobs removed */
};

/* why: the relay's answer, kept with a suppression (may be NULL). */
int	 ledger_outcome(struct store_txn *, struct store_job *,
	    enum ledger_outcome, const char *, int64_t, json_t *, char **);
int	 ledger_flush_states(struct store_txn *, json_t *, char **);
/* Drop every queued job of a recipient (an erasure) and its slots. */
int	 ledger_drop_reserved(struct store_txn *, struct store_rcpt *, int64_t,
	    json_t *, uint64_t *, char **);
/* A campaign's state record, from this transaction's cache of them
 * (read from the store the first time); 1 if there is no campaign. */
int	 ledger_state(struct store_txn *, json_t *, const char *, json_t **,
	    char **);

/*
 * A change to one recipient's record begins with ledger_rcpt_open(): addr
 * normalised into naddr (ADDR_MAX + 1 bytes) and its record read into r
 * (an empty one when the store has none): 0, 1 for none, or < 0 with
 * *cause; r is to be freed either way.  ledger_rcpt_close() ends it: with
 * rc >= 0 (nothing failed on the way) r is written back; r is freed;
 * returns 0 or the first error.
 */
int	 ledger_rcpt_open(struct store_txn *, const char *, char *,
	    struct store_rcpt *, char **);
int	 ledger_rcpt_close(struct store_txn *, const char *,
	    struct store_rcpt *, int, char **);

/* lid 0: every list.  source: STORE_SRC_*. */
int	 ledger_unsubscribe(struct store_txn *, const char *, uint32_t,
	    uint8_t, int64_t, json_t *, struct ledger_unsub_result *, char **);
int	 ledger_resubscribe(struct store_txn *, const char *, int, uint32_t,
	    int *, char **);
int	 ledger_suppress(struct store_txn *, const char *, const char *,
	    int64_t, json_t *, uint64_t *, char **);
int	 ledger_set_preference(struct store_txn *, const char *, uint32_t,
	    uint32_t, uint8_t, int64_t, char **);
/* Is this recipient still to be mailed on list lid? */
int	 ledger_may_send(struct store_txn *, const char *, uint32_t, char **);

int	 ledger_cancel(struct store_txn *, const char *, int64_t, uint64_t *,
	    char **);
int	 ledger_set_campaign_state(struct store_txn *, const char *,
	    const char *, char **);

json_t	*ledger_recipient_json(struct store_txn *, const struct conf *,
	    const char *, int64_t, char **);
const char *ledger_source_name(uint8_t);

#endif
