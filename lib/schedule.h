/*
 * schedule.h: the drain's scheduling rules, pure: which send goes next and
 * when, what a temporary failure costs a domain, and how long a retry
 * waits.  Nothing here reads a clock, the queue or the network; the
 * drain passes instants in (see instant.h) and acts on the answers.
 *
 * A send is picked at a slot of the global cadence, up to a lead before
 * it (its SMTP thread then waits for the slot itself).  At that slot,
 * among the domains with due jobs read ahead, those at their concurrency,
 * with a send not yet begun, or with their own cadence's next slot
 * later, are held; of the others, the one whose first job comes first in
 * queue order sends.
 */
#ifndef MANNERS_SCHEDULE_H
#define MANNERS_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "instant.h"
#include "pace.h"

/* A picked send this early before its slot, when connections allow. */
#define SCHEDULE_LEAD_MS		10.0
/* Consecutive 4xx answers that halve a domain's rate. */
#define SCHEDULE_SLOW_AFTER	2

/* What the rules know of one destination domain. */
struct schedule_dom {
	struct pace	 pace;		/* its own cadence */
	unsigned	 inflight;	/* transfers running */
	unsigned	 limit;		/* own concurrency; 0: none */
	unsigned	 unsent;	/* started, MAIL FROM unanswered */
	unsigned	 tempfails;	/* consecutive 4xx answers */
	size_t		 staged;	/* due jobs read ahead */
	int		 blocked;	/* held whatever else (a suspension,
					   an MX lookup on its way) */
	/*
	 * A domain shaped apart inside a provider group (a rule with
	 * scope=domain) is held by the group's limits too: the stricter
	 * of both.  NULL: none.
	 */
	const struct schedule_dom *parent;
};

/* Why a domain does not send at a slot. */
enum schedule_hold {
	SCHEDULE_FREE = 0,		/* it may send */
	SCHEDULE_BLOCKED,		/* suspended, or its MX is awaited */
	SCHEDULE_FULL,		/* at its concurrency */
	SCHEDULE_UNSENT,		/* its last send has not begun yet */
	SCHEDULE_PACED		/* its cadence's next slot is later */
};

/* The global cadence's next slot, seen from now. */
struct schedule_slot {
	struct instant	 at;		/* now, or up to the lead on */
	double		 wait_ms;	/* from now to it */
};

/*
 * What the read ahead knows of a due job's campaign, for
 * schedule_read(): a campaign held by a scope=campaign action must never
 * fill the lines nor stop the read, whatever its number of jobs.
 */
struct schedule_campaign {
	int		 active;	/* known, and neither paused nor
					   cancelled */
	int		 paused;	/* known, and paused or cancelled
					   (every change unstages) */
	int		 suspended;	/* by a scope=campaign action */
	int		 shaped;	/* slowed or narrowed by one */
	size_t		 staged;	/* its jobs read ahead, while shaped */
	int		 behind;	/* some of its due jobs were left in
					   the queue for its own read */
};

/* What the read ahead does with a due job nobody holds. */
enum schedule_read {
	SCHEDULE_STAGE = 0,	/* into its line */
	SCHEDULE_PASS,		/* leave it queued; the read goes on past
				   it, and starts again when the hold ends */
	SCHEDULE_BEHIND,	/* leave it queued for its campaign's own
				   read, which starts at the first such job */
	SCHEDULE_SKIP		/* leave it queued (its campaign is not
				   known yet); the next read looks at it
				   again */
};

/* One pick over the staged domains, offered one at a time. */
struct schedule_pick {
	struct instant	 at;		/* the slot picked for */
	size_t		 keylen;	/* of the queue keys compared */
	const uint8_t	*key;		/* the best so far's; NULL: none */
	void		*best;		/* the caller's item for it */
	double		 wait_ms;	/* soonest a paced one is free */
	int		 paced;		/* a domain was held by its cadence */
	size_t		 held;		/* domains held, for any reason */
};

void	 schedule_dom_init(struct schedule_dom *, const struct conf_rate *,
	    unsigned);
enum schedule_hold
	 schedule_dom_hold(const struct schedule_dom *, struct instant,
	    double *);
int	 schedule_dom_idle(const struct schedule_dom *, struct instant);
void	 schedule_dom_sent(struct schedule_dom *);
int	 schedule_dom_tempfail(struct schedule_dom *, long);

double	 schedule_lead_ms(size_t, size_t);
int	 schedule_slot(const struct pace *, struct instant, double,
	    struct schedule_slot *, double *);
double	 schedule_held_wake_ms(const struct schedule_slot *, double, double);

enum schedule_read
	 schedule_read(const struct schedule_campaign *, size_t);

void	 schedule_pick_begin(struct schedule_pick *, struct instant, size_t);
void	 schedule_pick_offer(struct schedule_pick *,
	    const struct schedule_dom *, const uint8_t *, void *);

int64_t	 schedule_backoff_s(uint64_t, uint64_t, uint32_t, unsigned long);
int	 schedule_retry_expired(int64_t, int64_t, uint64_t);

#endif
