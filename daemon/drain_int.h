/*
 * drain_int.h: what the drain's files share, and nothing else includes.
 *
 *	drain.c		lifecycle, the public drain_* calls, metrics
 *	drain_sched.c	domains, claims, read-ahead, scan and pick, timers
 *	drain_campaign.c campaigns' content cached for rendering
 *	drain_xfer.c	easy handles, libcurl callbacks, starting transfers,
 *			their outcomes and the latency histogram
 *	drain_commit.c	commit groups to the writer, retry back-off
 *	drain_units.c	pacing units: provider groups (by list or MX) and
 *			domains on their own
 *	drain_quota.c	daily quotas and warm-up ramps
 *	drain_shape.c	reply-driven shaping actions
 *	drain_status.c	GET /v1/domains and the units' metrics
 *
 * The rules themselves (which send goes next and when, what a 4xx
 * costs, how long a retry waits) are lib/schedule.c's.
 */
#ifndef MANNERS_DRAIN_INT_H
#define MANNERS_DRAIN_INT_H

#include <sys/queue.h>

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "addr.h"
#include "campaign.h"
#include "hashtab.h"
#include "instant.h"
#include "ledger.h"
#include "message.h"
#include "pace.h"
#include "quota.h"
#include "quiet.h"
#include "schedule.h"
#include "shaping.h"
#include "store.h"
#include "warmup.h"

#define DRAIN_NLAT		12	/* latency histogram buckets */
#define DRAIN_IDLE_HANDLES	64	/* easy handles kept for reuse */
#define DRAIN_ZONES		1024	/* recipients' time zones kept open */

struct mannersd;
struct smtp_threads;

enum xfer_state {
	XFER_STAGED,		/* due and read from the queue, not started */
	XFER_RUNNING,		/* submitted to an SMTP thread */
	XFER_DONE		/* outcome known, waiting for the commit */
};

/* The same values as enum ledger_outcome. */
enum xfer_outcome {
	OUTCOME_SENT = LEDGER_SENT,
	OUTCOME_RETRY = LEDGER_RETRY,
	OUTCOME_FAILED = LEDGER_FAILED,
	OUTCOME_DROPPED = LEDGER_DROPPED,	/* unsubscribed meanwhile */
	OUTCOME_BOUNCED = LEDGER_BOUNCED,	/* suppress the address */
	OUTCOME_DEFERRED = LEDGER_DEFERRED,	/* over today's quota */
	OUTCOME_WAIT = LEDGER_WAIT		/* quiet hours: due later */
};

/*
 * A pacing unit: a recipient domain on its own, or a provider group
 * (drain_units.c): its cadence, transfers in flight, quota and actions.
 */
struct dom {
	char			 name[256];	/* the domain, or provider */
	int			 group;		/* a [provider]'s */
	/*
	 * A domain of a group shaped apart (a scope=domain action): its
	 * own line, held by its actions and by the group's limits; the
	 * group counts its sends, in flight and in the quota.  NULL: none.
	 */
	struct dom		*parent;
	struct schedule_dom	 s;		/* the rules' cadence, counts */
	TAILQ_HEAD(, xfer)	 staged;	/* its due jobs, in queue order */
	TAILQ_ENTRY(dom)	 sentry;	/* in d->sdoms while s.staged */
	/* configured */
	struct conf_rate	 rate;
	unsigned		 conns;		/* 0: no limit */
	uint64_t		 daily_limit;	/* 0: none */
	const struct conf_warmup *warmup;	/* of the conf in force */
	int			 tracked;	/* counted in the store */
	/* the day */
	int			 day_known;
	struct quota_day	 day;
	uint64_t		 used;		/* started today, not failed */
	uint64_t		 limit;		/* today's quota; 0: none */
	struct warmup_status	 ramp;
	uint64_t		 deferred;	/* jobs moved to a later day */
	int32_t			 full_logged;	/* the day its "used" was logged */
	/* shaping and MX */
	unsigned		 nactions;	/* actions on it */
	unsigned		 resolving;	/* its domains' MX lookups */
	unsigned		 nrdoms;	/* struct rdom pointing here */
};
TAILQ_HEAD(domq, dom);

/* A recipient domain: which unit paces it, and its MX lookup. */
enum rdom_mx {
	RDOM_LISTED,		/* by name, or no provider has mx = */
	RDOM_RESOLVING,
	RDOM_RESOLVED		/* until mx_until */
};

struct rdom {
	char			 name[256];
	struct dom		*unit;
	enum rdom_mx		 mx;
	int64_t			 mx_until;
	char			 via[128];	/* the MX host that placed it */
};

/* An action of a shaping rule, running. */
struct rep_action {
	struct shaping_action	 a;
	struct dom		*unit;		/* NULL: scope all, campaign */
	struct pace		 pace;		/* a campaign's slow: its own
						   cadence across all units */
};

/*
 * A campaign under scope=campaign actions, and how far the read ahead
 * has taken its jobs (schedule_read()): a suspended one's are passed
 * over, a shaped one has at most DRAIN_CAMPAIGN_AHEAD staged and the
 * rest are read by its own read, from `from` (drain_sched.c).
 */
struct rep_campaign {
	char			 id[CAMPAIGN_ID_MAX + 1];
	unsigned		 nactions;	/* its running actions */
	struct schedule_campaign s;		/* suspended, shaped, staged,
						   behind */
	uint8_t			 from[STORE_KEY_LEN]; /* the first job left
						   behind, or before it */
	TAILQ_ENTRY(rep_campaign) entry;
};
TAILQ_HEAD(rep_campaignq, rep_campaign);

/* The reputation guards' state (drain_units.c, drain_quota.c,
 * drain_shape.c). */
struct drain_rep {
	struct shaping_rules	*rules;
	struct shaping_state	*state;
	int			 rules_2xx;	/* a rule may match a 2xx */
	struct rep_action	*actions;
	size_t			 nactions;
	int64_t			 next_end;	/* of the first to end */
	unsigned		 conns;		/* scope all: 0 none */
	int			 suspended;	/* scope all */
	unsigned		 ncampaign;	/* scope campaign actions */
	unsigned		 ncampaign_shaped; /* of them, slow or
						   connections */
	struct rep_campaignq	 campaigns;	/* those under them */
	struct quota_clock	*clock;
	struct hashtab		*rdoms;		/* struct rdom by name */
	struct mx_resolver	*mx;		/* made when mx = first appears */
	int			 use_mx;	/* some provider has mx = */
	char			*dns;		/* the servers it was made with */
	uint64_t		 mx_lookups;
	uint64_t		 mx_failures;
};

struct xfer {
	struct drain		*d;
	enum xfer_state		 state;
	enum xfer_outcome	 outcome;
	CURL			*easy;
	struct curl_slist	*rcpt;
	struct store_job	 job;
	struct message_out	 msg;		/* rendered, in pieces */
	struct message_tpl	*tpl;		/* held while msg points in */
	size_t			 pi;		/* read position: piece, */
	size_t			 off;		/* and offset in it */
	unsigned		 gen;		/* d->gen when the handle was set */
	int			 unsent;	/* counted in dom->s.unsent (bit
						   0) and its parent's (bit 1) */
	int			 waited;	/* its domain's cadence held it */
	int			 ahead;		/* counted in its campaign's
						   staged (struct rep_campaign) */
	int			 plain;		/* the reader chose plain text */
	int32_t			 qday;		/* counted in dom->used then */
	int64_t			 defer_to;	/* OUTCOME_DEFERRED: new due, */
	int32_t			 defer_day;	/* its quota day */
	int			 abort;		/* stop now (atomic: the thread
						   running it reads it) */
	int			 notice;	/* the thread's: tell the loop at
						   the answer to MAIL FROM */
	long			 code;
	char			 reply[256];	/* the relay's last answer */
	struct dom		*dom;
	struct instant		 started;	/* its slot */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 from[ADDR_MAX + 3];
	char			 zone[QUIET_ZONE_MAX + 1];	/* the
				   recipient's, read when staged; "": no
				   quiet hours */
	TAILQ_ENTRY(xfer)	 entry;
};
TAILQ_HEAD(xferq, xfer);

/* A campaign's content, cached for rendering. */
struct dcampaign {
	struct campaign		*c;
	struct message_tpl	*tpl;		/* its bodies, encoded once */
	uint32_t		 ref;		/* token_campaign_ref() */
	char			 state[16];
	TAILQ_ENTRY(dcampaign)	 entry;
};
TAILQ_HEAD(dcampaignq, dcampaign);

struct drain {
	struct mannersd		*md;
	struct smtp_threads	*threads;	/* the SMTP threads */
	struct event		*scan_timer;
	struct event		*scan_now;	/* a scan later in this loop turn */
	int			 pace_fd;	/* timerfd: the next cadence slot */
	struct event		*pace_ev;
	struct instant		 pace_due;	/* when it fires, */
	int			 pace_armed;	/* if it is armed */
	struct event		*flush_timer;
	struct xferq		 running;
	struct xferq		 done;
	struct xferq		 committing;	/* handed to the writer */
	struct hashtab		*claims;	/* all three, by queue key */
	int			 flushing;
	size_t			 nrunning;
	size_t			 ndone;
	struct dcampaignq	 campaigns;
	size_t			 ncampaigns;
	int			 stopping;
	void			(*stopped)(struct mannersd *);
	uint64_t		 sent;
	uint64_t		 failed;
	uint64_t		 retried;
	uint64_t		 bounced;
	uint64_t		 dropped;
	uint64_t		 throttled;	/* sends held back by a cadence */
	uint64_t		 throttled_sent; /* messages sent that waited */
	uint64_t		 lat_bucket[DRAIN_NLAT + 1];
	double			 lat_sum;
	uint64_t		 lat_count;
	struct pace		 pace;		/* the global cadence */
	struct quiet_cache	*zones;		/* recipients' time zones */
	uint64_t		 quiet_waits;	/* jobs held for the morning */
	struct hashtab		*doms;		/* by name, any case */
	char			*password;
	char			*url;		/* smtp url with the HELO name */
	CURL			*idle[DRAIN_IDLE_HANDLES]; /* set up, unused */
	size_t			 nidle;
	unsigned		 gen;		/* of the relay settings */
	struct event		*stop_timer;
	/*
	 * Where the next scan starts: every queued job before this key is
	 * claimed (running, done or committing), so the scan need not walk
	 * them again after each transfer.  Jobs only enter the queue after
	 * it (due >= now, rising sequence); anything else resets it.
	 */
	uint8_t			 resume[STORE_KEY_LEN];
	int			 have_resume;
	/*
	 * The resume point moved past jobs left queued (a paused or held
	 * campaign's): an idle scan must not read them all again; the
	 * change that lets them go unstages, which clears it.
	 */
	int			 passed;
	/*
	 * Due jobs read ahead from the queue, claimed, by domain: picking the
	 * next send looks at one job per domain instead of walking the queue
	 * past every job of a domain whose cadence holds it.
	 */
	struct domq		 sdoms;		/* domains with staged jobs */
	size_t			 nstaged;
	struct drain_rep	 rep;
};

/* drain.c */
struct instant	 drain_clock(void);
void		 drain_timer_in(struct event *, long);

/* drain_sched.c */
void		 drain_sched_scan_cb(evutil_socket_t, short, void *);
void		 drain_sched_pace_cb(evutil_socket_t, short, void *);
void		 drain_sched_soon(struct drain *);
void		 drain_sched_wake(struct drain *, double);
void		 drain_sched_unclaim(struct drain *, struct xfer *);
void		 drain_sched_unstage(struct drain *);
void		 drain_sched_reconfigure(struct drain *);
size_t		 drain_sched_tidy(struct drain *);
void		 drain_sched_clear(struct drain *);

/* drain_campaign.c */
struct dcampaign *drain_campaign_cached(struct drain *, const char *);
struct dcampaign *drain_campaign_get(struct drain *, struct store_txn *,
		    const char *);
void		 drain_campaign_forget(struct drain *, const char *);
void		 drain_campaign_clear(struct drain *);

/* drain_xfer.c */
void		 drain_xfer_started(void *, double);
void		 drain_xfer_done(CURL *, CURLcode, void *);
int		 drain_xfer_start(struct drain *, struct dcampaign *,
		    struct xfer *, const struct schedule_slot *);
void		 drain_xfer_release(struct drain *, struct xfer *);
void		 drain_xfer_cut_short(struct drain *);
void		 drain_xfer_easy_drop(struct drain *);
void		 drain_xfer_free(struct xfer *);
void		 drain_xfer_metrics(struct drain *, struct evbuffer *);

/* drain_units.c */
int		 drain_units_init(struct drain *, char **);
int		 drain_units_reconfigure(struct drain *, char **);
struct dom	*drain_units_of(struct drain *, const char *, int64_t);
struct dom	*drain_units_split(struct drain *, const char *, struct dom *);
void		 drain_units_merge(struct drain *, struct dom *);
struct dom	*drain_units_quota(struct dom *);
size_t		 drain_units_tidy(struct drain *);
void		 drain_units_free(struct drain *);

/* drain_quota.c */
int		 drain_quota_check_day(struct drain *, struct store_txn *,
		    struct dom *, int64_t);
int		 drain_quota_over(const struct dom *);
void		 drain_quota_defer(struct drain *, struct dom *);
void		 drain_quota_started(struct drain *, struct xfer *);
void		 drain_quota_finished(struct drain *, struct xfer *,
		    enum xfer_outcome);

/* drain_shape.c */
int		 drain_shape_load(struct drain *, char **);
void		 drain_shape_apply(struct drain *, struct dom *);
void		 drain_shape_reply(struct drain *, struct xfer *);
void		 drain_shape_feedback(struct drain *, const char *, const char *,
		    const char *);
struct rep_campaign *drain_shape_campaign(const struct drain *,
		    const char *);
int		 drain_shape_campaign_wait(const struct drain *,
		    const struct xfer *, struct instant, double *);
void		 drain_shape_campaign_take(struct drain *, const struct xfer *,
		    struct instant);
void		 drain_shape_tick(struct drain *, int64_t);
void		 drain_shape_describe(const struct shaping_rule *, char *,
		    size_t);
unsigned	 drain_shape_concurrency(const struct drain *);
void		 drain_shape_free(struct drain *);

/* drain_status.c */
json_t		*drain_status_domains(struct drain *);
void		 drain_status_metrics(struct drain *, struct evbuffer *);

/* drain_commit.c */
void		 drain_commit_finish(struct drain *, struct xfer *,
		    enum xfer_outcome);
void		 drain_commit_drop(struct drain *, struct xfer *);
void		 drain_commit_flush(struct drain *);
void		 drain_commit_timer_cb(evutil_socket_t, short, void *);

#endif
