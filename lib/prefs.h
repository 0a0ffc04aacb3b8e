/*
 * prefs.h: a recipient's own choices (at most N messages per window, a
 * pause that ends by itself, plain text only) and what they do to the
 * jobs already queued for that recipient.
 *
 * A choice is applied inside the caller's write transaction together
 * with the re-timing of the recipient's queued jobs: a job the new
 * choice no longer allows moves to the first moment it allows, or is
 * dropped (reason frequency_cap, delivery state STORE_CR_CAPPED) when
 * that moment is at or after its campaign's expiry.  A moved job takes
 * a place in the quota day it now falls in, as admission reserves one
 * (lib/quota_admit.h): a full day moves it on to the first day with
 * room, and when no day before its expiry has room it is dropped
 * (reason daily_limit, delivery state STORE_CR_QUOTA).  So the choice and
 * the queue never disagree in the store; the caller kicks the drain so
 * that nothing it read ahead under the old keys is sent (drain_kick),
 * and ledger_outcome() removes a moved copy whose original was already
 * on its way.
 *
 * prefs_retime_plan() is the pure decision, with table-driven tests.
 */
#ifndef MANNERS_PREFS_H
#define MANNERS_PREFS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"

struct store_txn;
struct store_rcpt;
struct token_keys;

#define PREFS_WEEK	(7 * 24 * 60 * 60)
#define PREFS_MONTH	(30 * 24 * 60 * 60)
#define PREFS_PAUSE	(91 * 24 * 60 * 60)	/* "three months" */

/* One queued job of the recipient, as the planner sees it. */
struct prefs_job {
	int64_t		 due;
	int64_t		 expires;	/* its campaign's */
	struct conf_cap	 cap;		/* its list's per-recipient cap */
	uint64_t	 min_gap;	/* its list's */
	int64_t		 new_due;	/* out: when it may go; INT64_MAX: drop */
};

/*
 * Re-time `jobs` (sorted by due) against the messages already sent
 * (`sent`), the recipient's own cap `pref` (count 0: none) and pause.
 * A job keeps its time when still allowed there; otherwise it moves to
 * the first allowed moment, or to INT64_MAX (drop) when that is at or
 * after its expiry.  Jobs never move earlier.
 */
void	 prefs_retime_plan(struct prefs_job *, size_t, const int64_t *,
	    size_t, const struct conf_cap *, int64_t);

/* What a choice sets; fields without their PREFS_SET_* bit are kept. */
#define PREFS_SET_CAP	0x01
#define PREFS_SET_PAUSE	0x02
#define PREFS_SET_PLAIN	0x04

struct prefs_change {
	unsigned	 set;		/* PREFS_SET_* */
	uint32_t	 count;		/* 0: no cap of one's own */
	uint32_t	 window;
	int64_t		 pause_until;	/* 0: no pause */
	int		 plain;
	uint8_t		 source;	/* STORE_SRC_* */
};

struct prefs_result {
	uint64_t	 moved;		/* queued jobs given a later time */
	uint64_t	 dropped;	/* queued jobs dropped (frequency_cap
					   or daily_limit) */
	uint64_t	 daily_limit;	/* of those, for daily_limit */
};

/*
 * Apply a change to the recipient at addr and re-time its queued jobs
 * (conf gives each list's caps); campaign counters go to `states`
 * (ledger_flush_states()).  0, or -1/STORE_FULL with *cause.
 */
int	 prefs_apply(struct store_txn *, const struct conf *, const char *,
	    const struct prefs_change *, int64_t, json_t *,
	    struct prefs_result *, char **);

/* Where a recipient stands, for the page they open. */
enum prefs_flag {
	PREFS_SUBSCRIBED = 0,
	PREFS_OWN,		/* unsubscribed by their own choice */
	PREFS_KEPT		/* by an administrator or a complaint: the
				   page shows it and cannot lift it */
};

struct prefs_view {
	enum prefs_flag	 list;		/* this list */
	enum prefs_flag	 all;		/* every list */
	int		 suppressed;	/* a hard bounce or an administrator */
	uint32_t	 cap_count;	/* 0: none of their own */
	uint32_t	 cap_window;
	int64_t		 pause_until;	/* 0: not paused (or over) */
	int		 plain;
};

/* The view of the recipient at addr on list lid at `now`; 0 or -1. */
int	 prefs_view_get(struct store_txn *, const char *, uint32_t, int64_t,
	    struct prefs_view *, char **);
/* A resubscribe: whose, which unsubscribe, and who asked. */
struct prefs_resub {
	const char		*addr;
	uint32_t		 lid;	/* the list's (0: "every list") */
	int			 all;	/* every unsubscribe; lid is 0 */
	uint8_t			 source;	/* STORE_SRC_* */
	int64_t			 now;
	/*
	 * An administrator's: also lift what an erasure kept under these
	 * keys (erase_lift()); NULL (the page) leaves it.
	 */
	const struct token_keys	*keys;
};

/* What prefs_resubscribe() lifted, or'ed. */
#define PREFS_RESUB_RECORD	0x1	/* an unsubscribe of the record */
#define PREFS_RESUB_ERASED	0x2	/* one an erasure kept as a hash */

/*
 * Lift the unsubscribe(s) the request names and keep a record of it
 * (store_consent_add(), shown by GET /v1/recipients) with its source and
 * list (0 for all); *found says what was lifted (PREFS_RESUB_*, 0:
 * nothing, and nothing is recorded).  After an erasure there is no
 * record: the resubscribe makes one to hold that consent.  0, or -1 (or
 * STORE_FULL) with *cause.
 */
int	 prefs_resubscribe(struct store_txn *, const struct prefs_resub *,
	    int *, char **);
/* May the reader lift an unsubscribe of this source from the page? */
int	 prefs_source_own(uint8_t);

/*
 * May the recipient at addr be mailed on list lid now, and in what form
 * (*plain)?  1 yes, 0 no (unsubscribed or suppressed), -1 on error.
 */
int	 prefs_send_view(struct store_txn *, const char *, uint32_t, int *,
	    char **);

#endif
