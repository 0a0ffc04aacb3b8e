/*
 * store.h: the durable state, in LMDB.
 *
 * Databases (all in one environment under state_dir):
 *   meta       counters: next queue sequence, next recipient id, ...
 *   campaigns  "s" id -> JSON state and counters; "b" id -> content
 *   queue      due time (8, BE) | sequence (8, BE) -> job
 *   rcpt       normalised address -> recipient record (history, flags)
 *   rids       recipient id (8, BE) -> normalised address
 *   lists      "n" name -> list id, "i" id (4, BE) -> name,
 *              "f" id (4, BE) -> the latest campaign's <from name>
 *   cr         campaign id NUL recipient id (8, BE) -> delivery state
 *   zones      recipient id (8, BE) -> the last time zone a campaign gave
 *   erased     HMAC-SHA256 of an erased address -> its surviving flags
 *   consent    recipient id (8, BE) | time (8, BE) | list id (4, BE) ->
 *              action, source: consent given back (a resubscribe)
 *   quota      UNIT NUL day (8, BE) -> count: sent ("UNIT") and
 *              reserved at admission ("+UNIT"), per quota day
 *   mx         recipient domain (lower case) -> until (8, BE) | group:
 *              the provider group its MX records placed it in
 *
 * Callers never see LMDB types.  Functions return 0 on success, 1 for
 * "not found" where that is a normal answer, and -1 on error with
 * *cause set; STORE_FULL marks an error caused by a full map.
 */
#ifndef MANNERS_STORE_H
#define MANNERS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define STORE_KEY_LEN	16
#define STORE_ADDR_MAX	255

struct store;
struct store_txn;
struct store_cursor;

/* A queued delivery. */
struct store_job {
	uint8_t		 key[STORE_KEY_LEN];	/* due | seq */
	int64_t		 due;
	int64_t		 queued;	/* first queued, for max_age */
	uint32_t	 attempts;
	uint8_t		 flags;		/* STORE_JOB_* */
	uint32_t	 lid;
	uint64_t	 rid;
	char		 campaign[72];
	char		 addr[STORE_ADDR_MAX + 1];	/* as given */
	char		 name[256];			/* may be empty */
	/*
	 * The quota day it holds a place in at admission (or where a daily
	 * quota moved it), and its pacing unit, counted under "+UNIT" in
	 * the quota records: given back when the job leaves the queue
	 * unsent.  qday 0: none (and a job of format 1).
	 */
	int32_t		 qday;
	char		 qunit[256];
};

#define STORE_JOB_DEFERRED	0x01	/* admitted for later, not now */

enum store_hist_state {
	STORE_HIST_RESERVED = 1,	/* queued, not yet sent */
	STORE_HIST_SENT = 2
};

struct store_hist {
	int64_t		 time;		/* due time, or when sent */
	uint32_t	 lid;
	uint8_t		 state;
	char		 campaign[72];
};

enum store_source {
	STORE_SRC_ADMIN = 1,
	STORE_SRC_LINK = 2,
	STORE_SRC_ONECLICK = 3,
	STORE_SRC_BOUNCE = 4,
	STORE_SRC_COMPLAINT = 5,	/* a spam complaint (ARF) */
	STORE_SRC_MAIL = 6		/* a mailto: unsubscribe */
};

struct store_unsub {
	uint32_t	 lid;		/* 0: every list */
	int64_t		 time;
	uint8_t		 source;
};

/* Everything known about one recipient. */
struct store_rcpt {
	uint64_t		 rid;
	int64_t			 suppressed;	/* 0: not suppressed */
	char			 suppress_why[128];
	uint32_t		 pref_count;	/* 0: no preference */
	uint32_t		 pref_window;
	int64_t			 pref_time;
	uint8_t			 pref_source;
	int64_t			 pause_until;	/* 0: not paused */
	uint8_t			 pref_flags;	/* STORE_PREF_* */
	struct store_unsub	*unsub;
	size_t			 nunsub;
	struct store_hist	*hist;
	size_t			 nhist;
	size_t			 cap_unsub;	/* allocated sizes */
	size_t			 cap_hist;
};

#define STORE_PREF_PLAIN	0x01	/* text/plain only */

enum store_cr_state {
	STORE_CR_QUEUED = 1,
	STORE_CR_SENT = 2,
	STORE_CR_FAILED = 3,
	STORE_CR_CANCELLED = 4,
	STORE_CR_DROPPED = 5,		/* unsubscribed while queued */
	STORE_CR_CAPPED = 6,		/* the recipient's own frequency
					   choice left no time before expiry */
	STORE_CR_QUOTA = 7		/* re-timed by the recipient's choice,
					   no quota day before expiry had
					   room (daily_limit) */
};

/* Feedback already counted for one delivery, so a replay counts once. */
#define STORE_CR_FB_BOUNCE	0x01
#define STORE_CR_FB_COMPLAINT	0x02
#define STORE_CR_FB_DELAY	0x04

struct store_cr {
	uint8_t		 state;
	uint8_t		 key[STORE_KEY_LEN];	/* queue key while queued */
	int64_t		 time;
	uint8_t		 feedback;		/* STORE_CR_FB_* */
};

/* A consent change kept for the record (unsubscribes are flags). */
enum store_consent_action {
	STORE_CONSENT_RESUBSCRIBE = 1
};

struct store_consent {
	int64_t		 time;
	uint32_t	 lid;		/* 0: every list */
	uint8_t		 action;	/* STORE_CONSENT_* */
	uint8_t		 source;	/* STORE_SRC_* */
};

#define STORE_FULL	(-2)

int	 store_open(const char *, uint64_t, struct store **, char **);
void	 store_close(struct store *);
int	 store_sync(struct store *, char **);
/* Map size and bytes in use, for metrics and growth. */
void	 store_usage(struct store *, uint64_t *, uint64_t *);
int	 store_grow(struct store *, uint64_t, char **);
int	 store_care(struct store *, uint64_t, int, uint64_t *, char **);
int	 store_reader_check(struct store *);
/* A compacted, consistent copy into a file descriptor (a hot backup). */
int	 store_copy(struct store *, int, char **);

int	 store_begin(struct store *, int, struct store_txn **, char **);
int	 store_commit(struct store_txn *, char **);
void	 store_abort(struct store_txn *);

int	 store_next_id(struct store_txn *, const char *, uint64_t *, char **);

int	 store_campaign_get(struct store_txn *, const char *, json_t **,
	    char **);
int	 store_campaign_put(struct store_txn *, const char *, json_t *,
	    char **);
int	 store_campaign_body_get(struct store_txn *, const char *, json_t **,
	    char **);
int	 store_campaign_body_put(struct store_txn *, const char *, json_t *,
	    char **);
int	 store_campaign_list(struct store_txn *, json_t **, char **);

int	 store_list_id(struct store_txn *, const char *, int, uint32_t *,
	    char **);
int	 store_list_name(struct store_txn *, uint32_t, char *, size_t);
/* The sender's name of a list's latest campaign ("f" id); NULL or ""
 * removes it.  _get: 1 when there is none. */
int	 store_list_brand_put(struct store_txn *, uint32_t, const char *,
	    char **);
int	 store_list_brand_get(struct store_txn *, uint32_t, char *, size_t);
int	 store_rid_addr(struct store_txn *, uint64_t, char *, size_t);

void	 store_rcpt_init(struct store_rcpt *);
void	 store_rcpt_free(struct store_rcpt *);
int	 store_rcpt_get(struct store_txn *, const char *, struct store_rcpt *,
	    char **);
int	 store_rcpt_put(struct store_txn *, const char *,
	    const struct store_rcpt *, char **);
void	 store_rcpt_add_hist(struct store_rcpt *, const struct store_hist *);
void	 store_rcpt_prune(struct store_rcpt *, int64_t);
/* Mark or drop the history entry of one campaign. */
int	 store_rcpt_hist_set(struct store_rcpt *, const char *, int, int64_t);

int	 store_queue_put(struct store_txn *, struct store_job *, char **);
/*
 * Queue a job due later than most of the transaction's (admission's
 * deferred jobs): its key is given now, the write waits for
 * store_queue_flush() or the commit, so the jobs due now stay appends.
 * At most STORE_STAGE_MAX bytes wait; past that they are written out.
 * Nothing in the same transaction may read a staged job before then.
 */
#define STORE_STAGE_MAX	(48u * 1024 * 1024)
int	 store_queue_stage(struct store_txn *, struct store_job *, char **);
int	 store_queue_flush(struct store_txn *, char **);
int	 store_queue_get(struct store_txn *, const uint8_t *,
	    struct store_job *, char **);
int	 store_queue_del(struct store_txn *, const uint8_t *, char **);
void	 store_queue_key(uint8_t *, int64_t, uint64_t);
/* Walk the queue from the start, in due order. */
int	 store_queue_first(struct store_txn *, struct store_cursor **,
	    char **);
int	 store_queue_seek(struct store_txn *, const uint8_t *,
	    struct store_cursor **, char **);
int	 store_cursor_job(struct store_cursor *, struct store_job *);
int	 store_cursor_next(struct store_cursor *);
void	 store_cursor_close(struct store_cursor *);

/* What store_count() counts. */
enum store_countable {
	STORE_QUEUE,		/* queued jobs */
	STORE_ERASED		/* erasure records (none: admission skips
				   the look-up) */
};
uint64_t store_count(struct store_txn *, enum store_countable);

/* A campaign's delivery state for one recipient (by id). */
int	 store_cr_get(struct store_txn *, const char *, uint64_t,
	    struct store_cr *, char **);
int	 store_cr_put(struct store_txn *, const char *, uint64_t,
	    const struct store_cr *, char **);
/* Call fn for every (recipient id, state) of a campaign, in id order;
 * stop on non-zero. */
int	 store_cr_each(struct store_txn *, const char *,
	    int (*)(uint64_t, struct store_cr *, void *), void *, char **);

/* A recipient's time zone (the last a campaign gave): 0, or 1 if none. */
int	 store_zone_get(struct store_txn *, uint64_t, char *, size_t, char **);
int	 store_zone_put(struct store_txn *, uint64_t, const char *, char **);
int	 store_zone_del(struct store_txn *, uint64_t, char **);
/* What an erasure keeps, under a keyed hash of the address. */
#define STORE_ERASED_HASH	32
#define STORE_ERASED_LISTS	256
struct store_erased {
	uint8_t		 suppressed;
	size_t		 nlids;			/* unsubscribed lists; */
	uint32_t	 lids[STORE_ERASED_LISTS];	/* 0: every list */
};

int	 store_rcpt_del(struct store_txn *, const char *, uint64_t, char **);
int	 store_cr_del(struct store_txn *, const char *, uint64_t, char **);
int	 store_erased_get(struct store_txn *, const uint8_t *,
	    struct store_erased *, char **);
int	 store_erased_put(struct store_txn *, const uint8_t *,
	    const struct store_erased *, char **);
int	 store_erased_del(struct store_txn *, const uint8_t *, char **);
/* store_count(t, STORE_ERASED), by the name lib/admit.c calls. */
uint64_t store_erased_count(struct store_txn *);

/* For retention (lib/retention.c): walk, prune and remove. */
int	 store_rcpt_next_key(struct store_txn *, const char *, char *, size_t,
	    char **);
int	 store_campaign_del(struct store_txn *, const char *, char **);
int	 store_cr_del_some(struct store_txn *, const char *, size_t,
	    uint64_t *, char **);

int	 store_consent_add(struct store_txn *, uint64_t,
	    const struct store_consent *, char **);
int	 store_consent_each(struct store_txn *, uint64_t,
	    int (*)(const struct store_consent *, void *), void *, char **);
int	 store_consent_del(struct store_txn *, uint64_t, uint64_t *, char **);

/*
 * Daily sending counts by pacing unit (a domain or a provider) and
 * calendar day (YYYYMMDD): read (0 when none), add, and how many days
 * from `from` to before `before` sent anything (a warm-up's sending days).
 */
int	 store_quota_get(struct store_txn *, const char *, int32_t, uint64_t *,
	    char **);
int	 store_quota_add(struct store_txn *, const char *, int32_t, uint64_t,
	    char **);
int	 store_quota_days(struct store_txn *, const char *, int32_t, int32_t,
	    unsigned *, char **);
/*
 * Where a domain's MX records placed it: a provider group, until a time
 * (the answer's TTL).  _get: 0 found, 1 none; _del: 1 when there was none.
 */
int	 store_mx_put(struct store_txn *, const char *, const char *, int64_t,
	    char **);
int	 store_mx_get(struct store_txn *, const char *, char *, size_t,
	    int64_t *, char **);
int	 store_mx_del(struct store_txn *, const char *, char **);
/* Take n back from a count (not below 0; a count of 0 is removed). */
int	 store_quota_sub(struct store_txn *, const char *, int32_t, uint64_t,
	    char **);
/*
 * For retention (lib/retention.c): the quota record after (unit, day) in
 * key order (unit "": the first), 0 with its unit, day and count, or 1
 * at the end; remove one (1 when there was none).  The MX placement
 * after domain `after` ("": the first), 0 with its domain and until, or
 * 1 at the end.
 */
int	 store_quota_next(struct store_txn *, const char *, int32_t, char *,
	    size_t, int32_t *, uint64_t *, char **);
int	 store_quota_del(struct store_txn *, const char *, int32_t, char **);
int	 store_mx_next(struct store_txn *, const char *, char *, size_t,
	    int64_t *, char **);

#endif
