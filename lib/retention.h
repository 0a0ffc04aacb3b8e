/*
 * retention.h: a bounded store.  Send history older than the longest
 * window any cap uses decides nothing and is pruned; a campaign whose
 * last job ended more than [daemon] campaign_retention ago loses its
 * record, its content and its delivery states.  The work is cut into
 * slices of at most `budget` items, one write transaction each, so the
 * writer never stalls on it.  Nothing here reads the clock.
 */
#ifndef MANNERS_RETENTION_H
#define MANNERS_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct store_txn;

/* History kept at least this long, for GET /v1/recipients to show. */
#define RETENTION_HISTORY_MIN	(7 * 86400)

/* Where a pass stands between slices. */
struct retention_cursor {
	int		 phase;		/* 0 history, 1 campaigns, 2 done */
	char		 rcpt[256];	/* the last address looked at */
	char		 campaign[80];	/* the campaign being removed */
};

struct retention_result {
	uint64_t	 records;	/* recipient records looked at */
	uint64_t	 pruned;	/* history entries pruned */
	uint64_t	 ended;		/* campaigns seen ending */
	uint64_t	 campaigns;	/* campaigns removed */
	uint64_t	 states;	/* delivery states removed */
};

/*
 * History older than this is pruned: every cap's and gap's window (a
 * recipient's own "at most monthly" keeps theirs longer).
 */
int64_t	 retention_history_window(const struct conf *);
/*
 * Is a campaign that ended at `ended` (0: not yet) past `retention`
 * seconds at `now` (retention 0: kept for ever)?
 */
int	 retention_campaign_due(int64_t, uint64_t, int64_t);
/*
 * One slice of a pass at `now`, in the write transaction: at most
 * `budget` items (records looked at, states removed).  Returns 0 with
 * cur advanced (cur->phase 2: the pass is complete; start a new one
 * from a zeroed cursor), or -1 (STORE_FULL) with *cause.
 */
int	 retention_slice(struct store_txn *, const struct conf *, int64_t,
	    size_t, struct retention_cursor *, struct retention_result *,
	    char **);

#endif
