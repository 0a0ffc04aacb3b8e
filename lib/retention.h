/*
 * retention.h: a bounded store.  Send history older than the longest
 * window any cap uses decides nothing and is pruned; a campaign whose
 * last job ended more than [daemon] campaign_retention ago loses its
 * record, its content and its delivery states.  Daily quota records of
 * days before yesterday are pruned, except the sending days a warm-up
 * ramp counts its days from; MX placements expired for more than
 * RETENTION_MX_GRACE are removed.  The work is cut into slices of at
 * most `budget` items, one write transaction each, so the writer never
 * stalls on it.  Nothing here reads the clock.
 */
#ifndef MANNERS_RETENTION_H
#define MANNERS_RETENTION_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct store_txn;

/* History kept at least this long, for GET /v1/recipients to show. */
#define RETENTION_HISTORY_MIN	(7 * 86400)

/*
 * An MX placement expired this long ago is removed.  Nothing reads an
 * expired one (admission counts the domain on its own and the drain
 * looks it up again), but a domain mailed every day is looked up again
 * within a day: its record is rewritten, not removed and written anew
 * by every pass.
 */
#define RETENTION_MX_GRACE	86400

/* The parts of a pass, in order. */
enum retention_phase {
	RETENTION_HISTORY = 0,
	RETENTION_CAMPAIGNS,
	RETENTION_QUOTA,
	RETENTION_MX,
	RETENTION_DONE
};

/* Where a pass stands between slices. */
struct retention_cursor {
	int		 phase;		/* enum retention_phase */
	char		 rcpt[256];	/* the last address looked at */
	char		 campaign[80];	/* the campaign being removed */
	char		 qunit[258];	/* the last quota record looked at */
	int32_t		 qday;
	unsigned	 qrank;		/* sending days of qunit's ramp so far */
	char		 mx[256];	/* the last MX placement looked at */
};

struct retention_result {
	uint64_t	 records;	/* recipient records looked at */
	uint64_t	 pruned;	/* history entries pruned */
	uint64_t	 ended;		/* campaigns seen ending */
	uint64_t	 campaigns;	/* campaigns removed */
	uint64_t	 states;	/* delivery states removed */
	uint64_t	 quota;		/* quota records pruned */
	uint64_t	 mx;		/* MX placements removed */
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
 * Is a quota record of `day` pruned, when every rule reads `keep_from`
 * (yesterday) and later?  A past day of a unit under a warm-up ramp of
 * `ramp_days` days is kept when it is one of the first ramp_days sending
 * days from the ramp's start (`rank`, 1-based; 0: not a sending day of
 * a ramp, or a record of reservations): the ramp counts its day from
 * them (store_quota_days()), so it must neither fall back nor restart.
 */
int	 retention_quota_due(int32_t, int32_t, unsigned, size_t);
/* Is an MX placement valid until `until` past its grace at `now`? */
int	 retention_mx_due(int64_t, int64_t);
/*
 * One slice of a pass at `now`, in the write transaction: at most
 * `budget` items (records looked at, states removed).  Returns 0 with
 * cur advanced (cur->phase RETENTION_DONE: the pass is complete; start
 * a new one from a zeroed cursor), or -1 (STORE_FULL) with *cause.
 */
int	 retention_slice(struct store_txn *, const struct conf *, int64_t,
	    size_t, struct retention_cursor *, struct retention_result *,
	    char **);

#endif
