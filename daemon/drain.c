/*
 * drain.c: due jobs from the queue to the SMTP relay through libcurl.
 *
 * Everything is decided on the event loop: what is due, in what order,
 * at what cadence, and what each outcome means.  Only the transfers run
 * elsewhere, on the SMTP threads (smtp_threads.c), one connection each, because
 * libcurl blocks while the relay answers the end of a message's data.
 *
 * A job is "claimed" while its transfer runs and until its outcome is
 * committed; claimed jobs are skipped by the scan.  Outcomes are
 * committed in groups (commit_batch or commit_interval_ms, whichever
 * comes first), so a crash can resend at most the transfers in flight
 * and the last uncommitted group, each with the same Message-ID.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "addr.h"
#include "campaign.h"
#include "conf.h"
#include "smtp_threads.h"
#include "hashtab.h"
#include "ledger.h"
#include "log.h"
#include "mannersd.h"
#include "message.h"
#include "pace.h"
#include "schedule.h"
#include "campaign_record.h"
#include "smtp_reply.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define DRAIN_SCAN_MAX		4096	/* queue entries looked at per read */
#define DRAIN_STAGE_MAX		4096	/* due jobs read ahead, at most */
#define DRAIN_STAGE_BATCH	256	/* read ahead at a time while sending */
#define DRAIN_IDLE_MS		1000	/* rescan period when idle */
#define DRAIN_NLAT		12
#define DRAIN_CAMPAIGNS_MAX	256	/* campaigns' content kept for rendering */
#define DRAIN_IDLE_HANDLES	64	/* easy handles kept for reuse */

/* SMTP transaction latency histogram bounds, in seconds. */
static const double drain_lat_le[DRAIN_NLAT] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};

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
	OUTCOME_BOUNCED = LEDGER_BOUNCED	/* suppress the address */
};

/* Per recipient domain: its cadence and transfers in flight. */
struct dom {
	char			 name[256];
	struct schedule_dom	 s;		/* the rules' cadence, counts */
	TAILQ_HEAD(, xfer)	 staged;	/* its due jobs, in queue order */
	TAILQ_ENTRY(dom)	 sentry;	/* in d->sdoms while nstaged */
};
TAILQ_HEAD(domq, dom);

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
	int			 unsent;	/* counted in dom->unsent */
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
	TAILQ_ENTRY(xfer)	 entry;
};
TAILQ_HEAD(xferq, xfer);

/* A campaign's content, cached for rendering. */
struct dcampaign {
	struct campaign		*c;
	struct message_tpl	*tpl;		/* its bodies, encoded once */
	char			 state[16];
	TAILQ_ENTRY(dcampaign)	 entry;
};
TAILQ_HEAD(dcampaignq, dcampaign);

struct drain {
	struct mannersd		*md;
	struct smtp_threads		*threads;		/* the SMTP threads */
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
	uint64_t		 lat_bucket[DRAIN_NLAT + 1];
	double			 lat_sum;
	uint64_t		 lat_count;
	struct pace		 pace;		/* the global cadence */
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
	 * Due jobs read ahead from the queue, claimed, by domain: picking the
	 * next send looks at one job per domain instead of walking the queue
	 * past every job of a domain whose cadence holds it.
	 */
	struct domq		 sdoms;		/* domains with staged jobs */
	size_t			 nstaged;
};

static void	drain_scan(struct drain *);
static void	drain_soon(struct drain *);
static void	drain_flush(struct drain *);
static void	drain_check_done(struct drain *);
static void	drain_check_stopped(struct drain *);
static void	drain_xfer_free(struct xfer *);
static void	drain_easy_drop(struct drain *);
static void	drain_unstage(struct drain *);
static void	drain_stop_timeout_cb(evutil_socket_t, short, void *);

/* Now on the monotonic clock, for cadence. */
static struct instant
drain_clock(void)
{
	struct timespec	 ts;
	struct instant	 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now.ms = (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
	return now;
}

/* Is the domain `item` the one named `key` (any case)? */
static int
drain_dom_eq(const void *item, const void *key)
{
	return strcasecmp(((const struct dom *)item)->name, key) == 0;
}

/* The domain's entry, created with its configured cadence. */
static struct dom *
drain_dom(struct drain *d, const char *addr)
{
	const struct conf	*conf = d->md->conf;
	const char		*name = addr_domain(addr);
	uint64_t		 h = hashtab_hash_caseless(name);
	struct conf_rate	 r;
	struct dom		*dm;
	unsigned		 limit = 0;
	size_t			 i;

	if ((dm = hashtab_find(d->doms, h, drain_dom_eq, name)) != NULL)
		return dm;
	dm = xcalloc(1, sizeof *dm);
	TAILQ_INIT(&dm->staged);
	snprintf(dm->name, sizeof dm->name, "%s", name);
	for (i = 0; dm->name[i] != '\0'; i++)
		dm->name[i] = (char)tolower((unsigned char)dm->name[i]);
	r = conf_domain_rate(conf, dm->name);
	for (i = 0; i < conf->ndomains; i++)
		if (strcmp(conf->domains[i].name, dm->name) == 0)
			limit = conf->domains[i].concurrency;
	schedule_dom_init(&dm->s, &r, limit);
	hashtab_add(d->doms, h, dm);
	return dm;
}

/* Apply a reloaded configuration's cadences (the queue is untouched). */
void
drain_reconfigure(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	struct conf_rate	 r;
	struct dom		*dm;
	size_t			 pos = 0, i;
	char			*cause = NULL;

	pace_reconfigure(&d->pace, &conf->rate, (unsigned)conf->burst);
	while ((dm = hashtab_next(d->doms, &pos)) != NULL) {
		r = conf_domain_rate(conf, dm->name);
		pace_reconfigure(&dm->s.pace, &r, 1);
		dm->s.limit = 0;
		for (i = 0; i < conf->ndomains; i++)
			if (strcmp(conf->domains[i].name, dm->name) == 0)
				dm->s.limit = conf->domains[i].concurrency;
	}
	if (smtp_threads_grow(d->threads, conf->concurrency, &cause) == -1) {
		log_warnx("drain: %s; sending on %zu connections", cause,
		    smtp_threads_count(d->threads));
		free(cause);
	}
	drain_easy_drop(d);
	d->gen++;
	log_info("drain: cadence now rate=%.3g/s concurrency=%u",
	    pace_rate(&d->pace), conf->concurrency);
}

static void
drain_timer_in(struct event *ev, long ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/*
 * Scan again in `wake_ms` milliseconds, to the microsecond: a cadence's
 * next slot.  Its own timerfd, because libevent's timers wake to the
 * whole millisecond and its precise mode costs a system call on every
 * turn of the loop, paced or not.
 */
static void
drain_pace_wake(struct drain *d, double wake_ms)
{
	struct itimerspec	 its;
	long long		 ns = (long long)(wake_ms * 1e6);
	struct instant		 due = instant_add(drain_clock(), wake_ms);

	/*
	 * An earlier wake-up already armed serves: it scans, then re-arms.
	 * So does one that has fired but not been handled yet (re-arming
	 * the timerfd would drop it).
	 */
	if (d->pace_armed && !instant_before(due, d->pace_due))
		return;
	d->pace_due = due;
	d->pace_armed = 1;
	if (ns < 1)
		ns = 1;		/* 0 would disarm it */
	memset(&its, 0, sizeof its);
	its.it_value.tv_sec = (time_t)(ns / 1000000000);
	its.it_value.tv_nsec = (long)(ns % 1000000000);
	if (timerfd_settime(d->pace_fd, 0, &its, NULL) == -1)
		fatal("drain: timerfd_settime");
}

/* The hash of a queue key: of its sequence part, which is unique. */
static uint64_t
drain_claim_hash(const uint8_t *key)
{
	return hashtab_hash(key + STORE_KEY_LEN - 8, 8);
}

/* Is the transfer `item` the one for queue key `key`? */
static int
drain_claim_eq(const void *item, const void *key)
{
	return memcmp(((const struct xfer *)item)->job.key, key,
	    STORE_KEY_LEN) == 0;
}

/* Is this job's key claimed by a transfer that is not yet committed? */
static int
drain_claimed(struct drain *d, const uint8_t *key)
{
	return hashtab_find(d->claims, drain_claim_hash(key), drain_claim_eq,
	    key) != NULL;
}

/* A transfer holds its job from its start until its outcome is committed. */
static void
drain_claim(struct drain *d, struct xfer *x)
{
	hashtab_add(d->claims, drain_claim_hash(x->job.key), x);
}

/* The transfer's job may be staged again (or is gone from the queue). */
static void
drain_unclaim(struct drain *d, struct xfer *x)
{
	hashtab_remove(d->claims, drain_claim_hash(x->job.key), x);
}

static void
drain_campaign_free(struct dcampaign *dc)
{
	message_tpl_free(dc->tpl);
	campaign_free(dc->c);
	free(dc);
}

/* A campaign's content and state if cached (most recently used first). */
static struct dcampaign *
drain_campaign_cached(struct drain *d, const char *id)
{
	struct dcampaign	*dc;

	TAILQ_FOREACH(dc, &d->campaigns, entry) {
		if (strcmp(dc->c->id, id) == 0) {
			if (dc != TAILQ_FIRST(&d->campaigns)) {
				TAILQ_REMOVE(&d->campaigns, dc, entry);
				TAILQ_INSERT_HEAD(&d->campaigns, dc, entry);
			}
			return dc;
		}
	}
	return NULL;
}

/* A campaign's cached content and state, loading it on first use. */
static struct dcampaign *
drain_campaign(struct drain *d, struct store_txn *t, const char *id)
{
	struct dcampaign	*dc;
	json_t			*body = NULL, *state = NULL;
	char			*cause = NULL;

	if ((dc = drain_campaign_cached(d, id)) != NULL)
		return dc;
	if (store_campaign_body_get(t, id, &body, &cause) != 0 ||
	    store_campaign_get(t, id, &state, &cause) != 0) {
		if (cause != NULL) {
			log_warnx("drain: cannot load campaign=%s: %s", id,
			    cause);
			free(cause);
		}
		json_decref(body);
		return NULL;
	}
	dc = xcalloc(1, sizeof *dc);
	if ((dc->c = campaign_record_body_campaign(body)) == NULL) {
		log_warnx("drain: campaign=%s has a corrupt record", id);
		free(dc);
		json_decref(body);
		json_decref(state);
		return NULL;
	}
	dc->tpl = message_tpl_new(dc->c);
	snprintf(dc->state, sizeof dc->state, "%s", campaign_record_state(state));
	json_decref(body);
	json_decref(state);
	TAILQ_INSERT_HEAD(&d->campaigns, dc, entry);
	if (++d->ncampaigns > DRAIN_CAMPAIGNS_MAX) {
		struct dcampaign	*old = TAILQ_LAST(&d->campaigns,
		    dcampaignq);

		TAILQ_REMOVE(&d->campaigns, old, entry);
		drain_campaign_free(old);
		d->ncampaigns--;
	}
	return dc;
}

/* Drop a campaign from the cache (its state or content changed). */
void
drain_forget(struct drain *d, const char *id)
{
	struct dcampaign	*dc;

	drain_unstage(d);
	TAILQ_FOREACH(dc, &d->campaigns, entry) {
		if (strcmp(dc->c->id, id) == 0) {
			TAILQ_REMOVE(&d->campaigns, dc, entry);
			drain_campaign_free(dc);
			d->ncampaigns--;
			return;
		}
	}
}

/* libcurl pulls the message body from here. */
static size_t
drain_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;

	return message_out_read(&x->msg, &x->pi, &x->off, ptr, size * nmemb);
}

/* libcurl hands us each line the relay answers: keep the last one. */
static size_t
drain_reply(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, k = n;

	/* The answer to MAIL FROM: it has reached the relay (drain_prereq). */
	if (x->notice) {
		x->notice = 0;
		smtp_threads_started(x->d->threads, x, drain_clock().ms);
	}

	/* "221 Bye" after a refusal is not the answer that matters. */
	if (n >= 3 && memcmp(ptr, "221", 3) == 0)
		return n;
	while (k > 0 && (ptr[k - 1] == '\r' || ptr[k - 1] == '\n'))
		k--;
	if (k >= sizeof x->reply)
		k = sizeof x->reply - 1;
	memcpy(x->reply, ptr, k);
	x->reply[k] = '\0';
	return n;
}

/*
 * On an SMTP thread: libcurl is about to send MAIL FROM, so the message
 * really starts now, perhaps well after the drain started it (it may
 * have waited for a connection).  The loop hears of it in drain_started()
 * once the relay has answered the MAIL FROM: told now, the loop could
 * take this thread's CPU before the command is out, and the domain's next
 * slot would count from too early a time.
 */
static int
drain_prereq(void *arg, char *ip, char *local, int port, int lport)
{
	struct xfer	*x = arg;

	(void)ip;
	(void)local;
	(void)port;
	(void)lport;
	/* x->unsent is the loop's, but it changes only after the notice. */
	if (x != NULL && x->unsent)
		x->notice = 1;
	return CURL_PREREQFUNC_OK;
}

/*
 * A paced domain counts its next slot from the real start (the relay's
 * answer to MAIL FROM), and sends nothing more until then, so no delay
 * before one message can bunch it with the next at the relay.
 */
static void
drain_started(void *job, double ms)
{
	struct xfer	*x = job;
	struct instant	 started = { ms };

	if (x->state != XFER_RUNNING || !x->unsent)
		return;
	x->unsent = 0;
	x->dom->s.unsent--;
	pace_started(&x->dom->s.pace, started);
	/* Its next slot may have moved past the wake-up already set. */
	if (x->dom->s.staged > 0)
		drain_pace_wake(x->d, pace_wait(&x->dom->s.pace,
		    drain_clock()));
}

/* On an SMTP thread, now and then: give up when the drain says so. */
static int
drain_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct xfer	*x = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return x != NULL && __atomic_load_n(&x->abort, __ATOMIC_RELAXED);
}

/*
 * An easy handle with the relay's settings.  Handles are reused, as
 * libcurl recommends: a new one per message costs its allocations and
 * the option setting every time.
 */
static CURL *
drain_easy_get(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	CURL			*e;

	if (d->nidle > 0)
		return d->idle[--d->nidle];
	if ((e = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(e, CURLOPT_URL, d->url);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, drain_read);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, drain_reply);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, drain_prereq);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, drain_progress);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)conf->smtp_timeout);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
	    (long)(conf->smtp_timeout < 30 ? conf->smtp_timeout : 30));
	curl_easy_setopt(e, CURLOPT_USE_SSL,
	    conf->smtp_starttls == CONF_STARTTLS_REQUIRE ? CURLUSESSL_ALL :
	    conf->smtp_starttls == CONF_STARTTLS_TRY ? CURLUSESSL_TRY :
	    CURLUSESSL_NONE);
	if (conf->smtp_username != NULL) {
		curl_easy_setopt(e, CURLOPT_USERNAME, conf->smtp_username);
		curl_easy_setopt(e, CURLOPT_PASSWORD,
		    d->password != NULL ? d->password : "");
	}
	return e;
}

/*
 * Let a handle go, and its connection without a word: libcurl would send
 * QUIT and wait, here on the loop, for the relay's answer (for the whole
 * response timeout if the relay has stalled).  Shut down, the socket
 * fails that at once.  Connections close only on reload, shutdown or a
 * transfer cut short, and relays take a dropped connection in stride.
 */
static void
drain_easy_close(CURL *e)
{
	curl_socket_t	 s;

	if (e == NULL)
		return;
	if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &s) == CURLE_OK &&
	    s != CURL_SOCKET_BAD)
		shutdown(s, SHUT_RDWR);
	curl_easy_cleanup(e);
}

/*
 * Keep a handle whose transfer is over for the next, unless the settings
 * it was made with were reloaded meanwhile.
 */
static void
drain_easy_put(struct drain *d, CURL *e, unsigned gen)
{
	if (e == NULL)
		return;
	if (gen == d->gen && d->nidle < DRAIN_IDLE_HANDLES &&
	    d->nidle < d->md->conf->concurrency && !d->stopping) {
		/* Nothing of this transfer may reach the next one's. */
		curl_easy_setopt(e, CURLOPT_ERRORBUFFER, NULL);
		curl_easy_setopt(e, CURLOPT_MAIL_RCPT, NULL);
		curl_easy_setopt(e, CURLOPT_READDATA, NULL);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, NULL);
		curl_easy_setopt(e, CURLOPT_PREREQDATA, NULL);
		curl_easy_setopt(e, CURLOPT_XFERINFODATA, NULL);
		d->idle[d->nidle++] = e;
	} else
		drain_easy_close(e);
}

/* Let the kept handles go (the relay's settings changed, or shutdown). */
static void
drain_easy_drop(struct drain *d)
{
	while (d->nidle > 0)
		drain_easy_close(d->idle[--d->nidle]);
}

/*
 * Render a staged job's message and hand it to libcurl at `slot`: its
 * SMTP thread waits for the slot when it is still ahead.
 */
static int
drain_start(struct drain *d, struct dcampaign *dc, struct xfer *x,
    const struct schedule_slot *slot)
{
	const struct conf	*conf = d->md->conf;
	const struct store_job	*j = &x->job;
	struct message_in	 in;
	char			 tok[TOKEN_LEN + 1], *url = NULL, *cause = NULL;
	char			*mailto = NULL;
	int			 rc;

	x->started = slot->at;
	memset(&in, 0, sizeof in);
	in.campaign = dc->c;
	in.to_addr = j->addr;
	in.to_name = j->name[0] != '\0' ? j->name : NULL;
	in.hostname = d->md->hostname;
	in.date = mannersd_now();
	if (token_issue(d->md->keys, j->rid, j->lid, (uint32_t)in.date,
	    tok) == 0) {
		xasprintf(&url, "%s/u/%s", conf->public_url, tok);
		in.unsub_url = url;
		if (conf->unsubscribe_mailto != NULL) {
			xasprintf(&mailto, "mailto:%s?subject=unsubscribe%%20%s",
			    conf->unsubscribe_mailto, tok);
			in.unsub_mailto = mailto;
		}
	}
	x->tpl = message_tpl_ref(dc->tpl);
	rc = message_render_out(x->tpl, &in, &x->msg, &cause);
	free(url);
	free(mailto);
	if (rc == -1) {
		/* Admission refuses such values; a job that has one anyway fails. */
		log_warnx("drain: cannot render campaign=%s: %s; the job fails",
		    j->campaign, cause);
		snprintf(x->reply, sizeof x->reply, "not sent: %s", cause);
		free(cause);
		return -1;
	}

	x->easy = drain_easy_get(d);
	x->gen = d->gen;
	snprintf(x->from, sizeof x->from, "<%s>", dc->c->from_addr);
	x->rcpt = curl_slist_append(NULL, j->addr);
	curl_easy_setopt(x->easy, CURLOPT_MAIL_FROM, x->from);
	curl_easy_setopt(x->easy, CURLOPT_MAIL_RCPT, x->rcpt);
	curl_easy_setopt(x->easy, CURLOPT_READDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_PREREQDATA, x);
	curl_easy_setopt(x->easy, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(x->easy, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)x->msg.len);
	curl_easy_setopt(x->easy, CURLOPT_ERRORBUFFER, x->errbuf);
	x->state = XFER_RUNNING;
	TAILQ_INSERT_TAIL(&d->running, x, entry);
	d->nrunning++;
	x->dom->s.inflight++;
	if (pace_limited(&x->dom->s.pace)) {
		x->unsent = 1;
		x->dom->s.unsent++;
	}
	/* From here until drain_xfer_done() the SMTP thread owns x's I/O. */
	smtp_threads_submit(d->threads, x->easy, x,
	    slot->wait_ms > 0 ? slot->at.ms : 0);
	log_debug("drain: sending campaign=%s domain=%s attempt=%u",
	    j->campaign, x->dom->name, j->attempts + 1);
	return 0;
}

/* A transfer no longer runs: out of the running list and its counts. */
static void
drain_unrun(struct drain *d, struct xfer *x)
{
	if (x->state == XFER_RUNNING) {
		TAILQ_REMOVE(&d->running, x, entry);
		d->nrunning--;
		if (x->dom != NULL)
			x->dom->s.inflight--;
	}
	if (x->unsent) {
		x->unsent = 0;
		x->dom->s.unsent--;
	}
}

/* Tell every running transfer's SMTP thread to give up (drain_progress). */
static void
drain_cut_short(struct drain *d)
{
	struct xfer	*x;

	TAILQ_FOREACH(x, &d->running, entry)
		__atomic_store_n(&x->abort, 1, __ATOMIC_RELAXED);
}

/* Park a transfer's outcome until the next commit group. */
static void
drain_finish(struct drain *d, struct xfer *x, enum xfer_outcome o)
{
	drain_unrun(d, x);
	/*
	 * Only the job and the outcome wait for the commit: let the message
	 * and the handle (with libcurl's buffers) go now, not a group later.
	 */
	drain_easy_put(d, x->easy, x->gen);
	x->easy = NULL;
	curl_slist_free_all(x->rcpt);
	x->rcpt = NULL;
	message_out_free(&x->msg);
	message_tpl_free(x->tpl);
	x->tpl = NULL;
	x->state = XFER_DONE;
	x->outcome = o;
	TAILQ_INSERT_TAIL(&d->done, x, entry);
	d->ndone++;
	if (d->ndone >= d->md->conf->commit_batch)
		drain_flush(d);
	else if (!evtimer_pending(d->flush_timer, NULL))
		drain_timer_in(d->flush_timer,
		    (long)d->md->conf->commit_interval_ms);
}

/*
 * A transfer that shutdown_timeout cut short: it was never committed as
 * sent, so its job stays queued and goes out (with the same Message-ID)
 * after the restart.
 */
static void
drain_abandon(struct drain *d, struct xfer *x)
{
	drain_unrun(d, x);
	d->have_resume = 0;	/* its job is no longer claimed */
	drain_xfer_free(x);	/* and its connection with it */
	if (d->nrunning == 0)
		log_warnx("drain: the transfers cut short at shutdown_timeout "
		    "stay queued");
}

/* A transfer ended (on the loop again): classify the relay's answer. */
static void
drain_xfer_done(CURL *e, CURLcode res, void *arg)
{
	struct xfer		*x = arg;
	struct drain		*d = x->d;
	struct dom		*dm;
	enum smtp_reply_verdict	 v;

	if (res == CURLE_ABORTED_BY_CALLBACK &&
	    __atomic_load_n(&x->abort, __ATOMIC_RELAXED)) {
		drain_abandon(d, x);
		drain_check_done(d);
		return;
	}
	{
		double	 secs;
		size_t	 b;

		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->code);
		dm = x->dom;
		secs = instant_since(drain_clock(), x->started) / 1000.0;
		for (b = 0; b < DRAIN_NLAT && secs > drain_lat_le[b]; b++)
			;
		d->lat_bucket[b]++;
		d->lat_sum += secs;
		d->lat_count++;
		/* A transfer error with a 2xx code (cut during DATA) retries. */
		v = res == CURLE_OK ? SMTP_REPLY_SENT : smtp_reply_classify(
		    x->code >= 300 ? x->code : 0, x->reply);
		switch (v) {
		case SMTP_REPLY_SENT:
			schedule_dom_sent(&dm->s);
			drain_finish(d, x, OUTCOME_SENT);
			break;
		case SMTP_REPLY_RETRY:
			log_info("drain: temporary failure campaign=%s "
			    "domain=%s code=%ld reply=\"%s\" error=\"%s\"; "
			    "will retry", x->job.campaign, dm->name, x->code,
			    x->reply, x->errbuf[0] != '\0' ? x->errbuf :
			    curl_easy_strerror(res));
			if (schedule_dom_tempfail(&dm->s, x->code))
				log_warnx("drain: domain=%s answers 4xx "
				    "repeatedly; slowing it to %.3g/s",
				    dm->name, pace_rate(&dm->s.pace));
			drain_finish(d, x, OUTCOME_RETRY);
			break;
		case SMTP_REPLY_FAILED:
		case SMTP_REPLY_BOUNCED:
			log_warnx("drain: permanent failure campaign=%s "
			    "domain=%s code=%ld reply=\"%s\"%s",
			    x->job.campaign, dm->name, x->code, x->reply,
			    v == SMTP_REPLY_BOUNCED ? "; address suppressed" : "");
			drain_finish(d, x, v == SMTP_REPLY_BOUNCED ?
			    OUTCOME_BOUNCED : OUTCOME_FAILED);
			break;
		}
	}
	drain_check_done(d);
}

/* After transfers end: finish a shutdown, or look for more work. */
static void
drain_check_done(struct drain *d)
{
	if (d->stopping && d->nrunning == 0) {
		evtimer_del(d->stop_timer);
		drain_flush(d);
		return;
	}
	drain_soon(d);
}

struct fitem {
	struct store_job	 job;
	enum xfer_outcome	 outcome;
	int			 expired;	/* retried past max_age */
	char			 reply[256];
};

struct flush {
	struct wjob		 w;
	struct drain		*d;
	struct fitem		*items;		/* copies: the loop keeps its own */
	size_t			 n;
	int64_t			 now;
	uint64_t		 retry_min;
	uint64_t		 retry_max;
	uint64_t		 max_age;
	int			 ok;
	char			*cause;
};

/* The back-off before attempt n+1: doubling from retry_min, jittered. */
static int64_t
drain_backoff(const struct flush *f, uint32_t attempts)
{
	return schedule_backoff_s(f->retry_min, f->retry_max, attempts,
	    (unsigned long)random());
}

static void
drain_xfer_free(struct xfer *x)
{
	drain_unclaim(x->d, x);
	drain_easy_close(x->easy);
	curl_slist_free_all(x->rcpt);
	message_out_free(&x->msg);
	message_tpl_free(x->tpl);
	free(x);
}

/* On the writer thread: every outcome of the group in one transaction. */
static void
drain_flush_run(struct wjob *w, struct store *store)
{
	struct flush		*f = (struct flush *)w;
	struct store_txn	*t = NULL;
	json_t			*states = json_object();
	size_t			 i;

	if (store_begin(store, 1, &t, &f->cause) < 0)
		goto out;
	for (i = 0; i < f->n; i++) {
		struct fitem	*it = &f->items[i];
		struct store_job *j = &it->job;

		if (it->outcome == OUTCOME_RETRY) {
			if (schedule_retry_expired(f->now - j->queued,
			    drain_backoff(f, j->attempts + 1), f->max_age)) {
				it->outcome = OUTCOME_FAILED;
				it->expired = 1;
			} else {
				j->attempts++;
				j->due = f->now + drain_backoff(f, j->attempts);
			}
		}
		if (ledger_outcome(t, j, (enum ledger_outcome)it->outcome,
		    it->reply, f->now, states, &f->cause) < 0)
			goto out;
	}
	if (ledger_flush_states(t, states, &f->cause) < 0)
		goto out;
	f->ok = store_commit(t, &f->cause) == 0;
	t = NULL;
out:
	store_abort(t);
	json_decref(states);
}

/* On the loop: release the group's claims, or park it again. */
static void
drain_flush_done(struct wjob *w)
{
	struct flush	*f = (struct flush *)w;
	struct drain	*d = f->d;
	struct xfer	*x;
	int		 unstage = 0;

	d->flushing = 0;
	if (!f->ok) {
		/* Keep the outcomes; the next flush tries again. */
		log_warnx("drain: cannot commit %zu delivery outcomes: %s; will "
		    "retry (messages already sent may be sent again after a "
		    "crash)", f->n, f->cause);
		while ((x = TAILQ_LAST(&d->committing, xferq)) != NULL) {
			TAILQ_REMOVE(&d->committing, x, entry);
			TAILQ_INSERT_HEAD(&d->done, x, entry);
			d->ndone++;
		}
		drain_timer_in(d->flush_timer, 1000);
	} else {
		for (size_t i = 0; i < f->n; i++)
			if (f->items[i].expired)
				log_warnx("drain: giving up campaign=%s after %u "
				    "attempts (max_age reached)",
				    f->items[i].job.campaign,
				    f->items[i].job.attempts + 1);
		while ((x = TAILQ_FIRST(&d->committing)) != NULL) {
			TAILQ_REMOVE(&d->committing, x, entry);
			if (x->outcome == OUTCOME_SENT)
				d->sent++;
			else if (x->outcome == OUTCOME_FAILED)
				d->failed++;
			else if (x->outcome == OUTCOME_BOUNCED) {
				d->failed++;
				d->bounced++;
				/* Now suppressed: its staged jobs must go. */
				unstage = 1;
			} else if (x->outcome == OUTCOME_DROPPED)
				d->dropped++;
			else if (x->outcome == OUTCOME_RETRY)
				d->retried++;
			drain_xfer_free(x);
		}
		if (unstage)
			drain_unstage(d);
		log_debug("drain: committed %zu outcomes", f->n);
		if (d->ndone >= d->md->conf->commit_batch)
			drain_flush(d);
		else if (d->ndone > 0)
			drain_timer_in(d->flush_timer,
			    (long)d->md->conf->commit_interval_ms);
	}
	free(f->cause);
	free(f->items);
	free(f);
	drain_check_stopped(d);
	drain_soon(d);
}

/* Hand every parked outcome to the writer as one commit group. */
static void
drain_flush(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	struct flush		*f;
	struct xfer		*x;
	size_t			 i = 0;

	evtimer_del(d->flush_timer);
	if (d->ndone == 0 || d->flushing) {
		drain_check_stopped(d);
		return;
	}
	f = xcalloc(1, sizeof *f);
	f->w.run = drain_flush_run;
	f->w.done = drain_flush_done;
	f->d = d;
	f->now = mannersd_now();
	f->retry_min = conf->retry_min;
	f->retry_max = conf->retry_max;
	f->max_age = conf->max_age;
	f->items = xcalloc(d->ndone, sizeof *f->items);
	TAILQ_FOREACH(x, &d->done, entry) {
		f->items[i].job = x->job;
		memcpy(f->items[i].reply, x->reply, sizeof x->reply);
		f->items[i++].outcome = x->outcome;
	}
	f->n = i;
	TAILQ_CONCAT(&d->committing, &d->done, entry);
	d->ndone = 0;
	d->flushing = 1;
	writer_submit(d->md->writer, &f->w);
}

/* Tell the daemon once nothing is in flight or uncommitted. */
static void
drain_check_stopped(struct drain *d)
{
	void	(*cb)(struct mannersd *);

	if (!d->stopping || d->nrunning != 0 || d->ndone != 0 || d->flushing ||
	    d->stopped == NULL)
		return;
	cb = d->stopped;
	d->stopped = NULL;
	cb(d->md);
}

static void
drain_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	drain_flush(arg);
}

/* Record, without sending, a job whose recipient may no longer be mailed. */
static void
drain_drop(struct drain *d, struct xfer *x)
{
	log_info("drain: dropping campaign=%s: recipient unsubscribed or "
	    "suppressed since admission", x->job.campaign);
	drain_finish(d, x, OUTCOME_DROPPED);
}

/* Read a due job ahead: claimed, waiting in its domain's line. */
static struct xfer *
drain_stage(struct drain *d, const struct store_job *j)
{
	struct xfer	*x;
	struct dom	*dm = drain_dom(d, j->addr);

	x = xcalloc(1, sizeof *x);
	x->d = d;
	x->job = *j;
	x->dom = dm;
	message_out_init(&x->msg);
	x->state = XFER_STAGED;
	drain_claim(d, x);
	if (dm->s.staged++ == 0)
		TAILQ_INSERT_TAIL(&d->sdoms, dm, sentry);
	TAILQ_INSERT_TAIL(&dm->staged, x, entry);
	d->nstaged++;
	return x;
}

/* Take a staged job out of its domain's line (to start, drop or free it). */
static void
drain_take(struct drain *d, struct xfer *x)
{
	struct dom	*dm = x->dom;

	TAILQ_REMOVE(&dm->staged, x, entry);
	if (--dm->s.staged == 0)
		TAILQ_REMOVE(&d->sdoms, dm, sentry);
	d->nstaged--;
}

/*
 * Forget every staged job (their campaign or recipient changed, new work
 * came in, or the drain stops); the next scan reads the queue afresh.
 */
static void
drain_unstage(struct drain *d)
{
	struct dom	*dm;
	struct xfer	*x;

	while ((dm = TAILQ_FIRST(&d->sdoms)) != NULL) {
		x = TAILQ_FIRST(&dm->staged);
		drain_take(d, x);
		drain_xfer_free(x);
	}
	d->have_resume = 0;
}

/* Move the resume point past a claimed job while no unclaimed one is behind. */
static void
drain_advance(struct drain *d, int prefix, const uint8_t *key)
{
	if (!prefix)
		return;
	memcpy(d->resume, key, STORE_KEY_LEN);
	d->have_resume = 1;
}

/*
 * Stage up to `max_new` more due jobs from the queue (DRAIN_STAGE_MAX in
 * all), from where the last read stopped; `due_ms` is lowered to the
 * time until the first job not yet due.  Returns 1 when it stopped because it
 * had staged its fill (more jobs may be due), 0 otherwise, -1 when the
 * queue cannot be read.
 */
static int
drain_refill(struct drain *d, struct store_txn *t, int64_t now_s,
    size_t max_new, double *due_ms)
{
	struct store_cursor	*cur = NULL;
	struct store_job	 j;
	struct dcampaign	*dc;
	struct xfer		*x;
	char			*cause = NULL;
	size_t			 looked = 0, limit = d->nstaged + max_new;
	int			 prefix = 1;	/* all jobs so far claimed */

	if (limit > DRAIN_STAGE_MAX)
		limit = DRAIN_STAGE_MAX;
	if (store_queue_seek(t, d->have_resume ? d->resume : NULL, &cur,
	    &cause) < 0) {
		log_warnx("drain: cannot read the queue: %s", cause);
		free(cause);
		return -1;
	}
	while (d->nstaged < limit && looked++ < DRAIN_SCAN_MAX &&
	    store_cursor_job(cur, &j)) {
		if (j.due > now_s) {
			/* Sorted by due time: nothing later is due either. */
			if ((double)(j.due - now_s) * 1000.0 < *due_ms)
				*due_ms = (double)(j.due - now_s) * 1000.0;
			break;
		}
		store_cursor_next(cur);
		if (drain_claimed(d, j.key)) {
			drain_advance(d, prefix, j.key);
			continue;
		}
		if ((dc = drain_campaign(d, t, j.campaign)) == NULL ||
		    strcmp(dc->state, CAMPAIGN_ACTIVE) != 0) {
			prefix = 0;
			continue;
		}
		x = drain_stage(d, &j);
		drain_advance(d, prefix, j.key);
		/* An unsubscribe or a bounce may have come after admission. */
		if (ledger_may_send(t, j.addr, j.lid, NULL) == 0) {
			drain_take(d, x);
			drain_drop(d, x);
		}
	}
	store_cursor_close(cur);
	/*
	 * Only a full fill says more: a read that stopped at DRAIN_SCAN_MAX
	 * jobs it could not stage (a paused campaign's) must not be redone
	 * at once, turn after turn.
	 */
	return d->nstaged >= limit;
}

/*
 * The staged job to send at `slot` (schedule_pick_offer() says which); the
 * held domains are counted as throttled, and `wait_ms` is lowered to the
 * soonest a domain held by its cadence may send after the slot.
 */
static struct xfer *
drain_pick(struct drain *d, struct instant slot, double *wait_ms)
{
	struct schedule_pick	 p;
	struct dom		*dm;
	struct xfer		*x;

	schedule_pick_begin(&p, slot, STORE_KEY_LEN);
	TAILQ_FOREACH(dm, &d->sdoms, sentry) {
		x = TAILQ_FIRST(&dm->staged);
		schedule_pick_offer(&p, &dm->s, x->job.key, x);
	}
	d->throttled += p.held;
	if (p.paced && p.wait_ms < *wait_ms)
		*wait_ms = p.wait_ms;
	return p.best;
}

/* How early a paced send may be picked before its slot, now. */
static double
drain_lead(const struct drain *d)
{
	return schedule_lead_ms(d->nrunning, d->md->conf->concurrency);
}

/* The scan's read transaction, begun when it first needs the store. */
static int
drain_txn(struct drain *d, struct store_txn **t)
{
	char	*cause = NULL;

	if (*t != NULL)
		return 0;
	if (store_begin(d->md->store, 0, t, &cause) < 0) {
		log_warnx("drain: cannot read the queue: %s", cause);
		free(cause);
		return -1;
	}
	return 0;
}

/*
 * Start a picked job at `slot`, and take the slot from the global and
 * its domain's cadence.  Returns -1 when the store cannot be read.
 */
static int
drain_scan_start(struct drain *d, struct store_txn **t, struct xfer *x,
    const struct schedule_slot *slot)
{
	struct dcampaign	*dc;

	drain_take(d, x);
	/*
	 * Whether the recipient may be mailed was read when the job was
	 * staged; every unsubscribe, suppression, pause and cancel since
	 * then has dropped the staged jobs (drain_kick, drain_forget, a
	 * bounce committed), so starting needs no further read of the store.
	 */
	if ((dc = drain_campaign_cached(d, x->job.campaign)) == NULL) {
		if (drain_txn(d, t) < 0) {
			drain_xfer_free(x);
			d->have_resume = 0;
			return -1;
		}
		dc = drain_campaign(d, *t, x->job.campaign);
	}
	if (dc == NULL || strcmp(dc->state, CAMPAIGN_ACTIVE) != 0) {
		drain_xfer_free(x);
		d->have_resume = 0;
		return 0;
	}
	if (drain_start(d, dc, x, slot) == -1) {
		drain_finish(d, x, OUTCOME_FAILED);
		return 0;
	}
	/* Domain cadences are ceilings and stay strict. */
	pace_take_on_schedule(&d->pace, slot->at);
	pace_take(&x->dom->s.pace, slot->at);
	return 0;
}

/*
 * Start transfers for due jobs while there is room.  Two waits come out
 * of it: `due_ms`, until the first queued job not yet due (the scan
 * timer), and `wake_ms`, until a cadence lets a staged job go (the
 * cadence timer).
 */
static void
drain_scan(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	struct store_txn	*t = NULL;
	struct schedule_slot	 slot;
	struct instant		 now;
	struct xfer		*x;
	int64_t			 now_s = mannersd_now(); /* the queue's */
	double			 due_ms = DRAIN_IDLE_MS;
	double			 wake_ms = DRAIN_IDLE_MS;
	double			 lead_ms, held_ms, w_ms;
	int			 refilled = 0, more = 0;

	if (d->stopping || d->nrunning >= conf->concurrency)
		return;
	/* Nothing claimed: nothing to skip (and a stepped clock is healed). */
	if (d->nrunning == 0 && d->ndone == 0 && !d->flushing &&
	    d->nstaged == 0)
		d->have_resume = 0;
	/*
	 * A paced send is picked up to a lead before its slot, and its SMTP
	 * thread waits for the slot itself: a loop woken late by a busy
	 * machine then still sends on time (schedule_lead_ms()).
	 */
	now = drain_clock();
	if (!schedule_slot(&d->pace, now, drain_lead(d), &slot, &w_ms)) {
		d->throttled++;
		drain_pace_wake(d, w_ms);
		return;
	}
	/* Keep a few jobs ahead of the free slots; read in batches. */
	if (d->nstaged < 2 * (size_t)conf->concurrency) {
		if (drain_txn(d, &t) < 0 || (more = drain_refill(d, t, now_s,
		    DRAIN_STAGE_BATCH, &due_ms)) < 0)
			goto out;
		refilled = 1;
	}
	while (d->nrunning < conf->concurrency) {
		lead_ms = drain_lead(d);
		if (!schedule_slot(&d->pace, now, lead_ms, &slot, &w_ms)) {
			if (w_ms < wake_ms)
				wake_ms = w_ms;
			d->throttled++;
			break;
		}
		held_ms = DRAIN_IDLE_MS;
		x = drain_pick(d, slot.at, &held_ms);
		/* A held domain's own slot, seen from now, with the lead. */
		if (held_ms < DRAIN_IDLE_MS && (w_ms =
		    schedule_held_wake_ms(&slot, held_ms, lead_ms)) < wake_ms)
			wake_ms = w_ms;
		if (x != NULL) {
			if (drain_scan_start(d, &t, x, &slot) < 0)
				goto out;
			continue;
		}
		/*
		 * Every staged domain is held: read further, a batch per turn
		 * of the loop, so that reading thousands of held jobs never
		 * delays a send that is due.
		 */
		if (refilled || d->nstaged >= DRAIN_STAGE_MAX)
			break;
		if (drain_txn(d, &t) < 0 || (more = drain_refill(d, t, now_s,
		    DRAIN_STAGE_BATCH, &due_ms)) < 0)
			goto out;
		refilled = 1;
	}
out:
	store_abort(t);
	/* Jobs may be due beyond what was read: read on in the next turn. */
	if (more > 0 && d->nrunning < conf->concurrency &&
	    d->nstaged < DRAIN_STAGE_MAX)
		event_active(d->scan_now, EV_TIMEOUT, 1);
	if (wake_ms < due_ms)
		drain_pace_wake(d, wake_ms);
	if (!evtimer_pending(d->scan_timer, NULL) || due_ms < DRAIN_IDLE_MS)
		drain_timer_in(d->scan_timer, (long)(due_ms + 0.999));
}

static void
drain_scan_cb(evutil_socket_t fd, short events, void *arg)
{
	struct drain	*d = arg;

	(void)fd;
	(void)events;
	drain_scan(d);
}

static void
drain_pace_cb(evutil_socket_t fd, short events, void *arg)
{
	uint64_t	 n;

	(void)events;
	if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("drain: reading the cadence timer");
	((struct drain *)arg)->pace_armed = 0;
	drain_scan(arg);
}

/*
 * Ask for a scan (a transfer slot came free, a group committed).  It runs
 * in this turn of the loop, once, after the callbacks already due: the
 * next message goes out on a connection libcurl just handed back without
 * a trip through epoll, and however many transfers end together, one
 * scan refills their slots.
 */
static void
drain_soon(struct drain *d)
{
	if (d->stopping)
		return;
	if (d->nrunning < d->md->conf->concurrency)
		event_active(d->scan_now, EV_TIMEOUT, 1);
}

/* New work from outside (a submission, an unsubscribe): look from the start. */
void
drain_kick(struct drain *d)
{
	drain_unstage(d);
	drain_soon(d);
}

/* Read the relay password once; its file must not be world-readable. */
static int
drain_password(struct drain *d, const char *path, char **cause)
{
	char	 buf[1024];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return set_cause(cause, "[smtp] password_file %s: %s", path,
		    strerror(errno));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return set_cause(cause, "[smtp] password_file %s: %s", path,
		    strerror(errno));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	d->password = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

struct drain *
drain_new(struct mannersd *md, char **cause)
{
	const struct conf	*conf = md->conf;
	struct drain		*d;
	const char		*path;

	d = xcalloc(1, sizeof *d);
	d->md = md;
	TAILQ_INIT(&d->running);
	TAILQ_INIT(&d->done);
	TAILQ_INIT(&d->committing);
	TAILQ_INIT(&d->campaigns);
	TAILQ_INIT(&d->sdoms);
	pace_init(&d->pace, &conf->rate, (unsigned)conf->burst);
	if (conf->smtp_password_file != NULL && drain_password(d,
	    conf->smtp_password_file, cause) == -1) {
		free(d);
		return NULL;
	}
	/* libcurl takes the HELO/EHLO name from the URL's path. */
	path = strstr(conf->smtp_url, "://");
	path = path != NULL ? strchr(path + 3, '/') : NULL;
	if (conf->smtp_helo != NULL && (path == NULL || path[1] == '\0'))
		xasprintf(&d->url, "%.*s/%s", (int)(path != NULL ?
		    (size_t)(path - conf->smtp_url) : strlen(conf->smtp_url)),
		    conf->smtp_url, conf->smtp_helo);
	else
		d->url = xstrdup(conf->smtp_url);
	if ((d->threads = smtp_threads_new(md->base, conf->concurrency,
	    drain_xfer_done, drain_started, cause)) == NULL) {
		free(d->url);
		free(d->password);
		free(d);
		return NULL;
	}
	d->claims = hashtab_new();
	d->doms = hashtab_new();
	d->scan_timer = evtimer_new(md->base, drain_scan_cb, d);
	d->scan_now = event_new(md->base, -1, 0, drain_scan_cb, d);
	if ((d->pace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		fatal("drain: timerfd_create");
	d->pace_ev = event_new(md->base, d->pace_fd, EV_READ | EV_PERSIST,
	    drain_pace_cb, d);
	event_add(d->pace_ev, NULL);
	d->flush_timer = evtimer_new(md->base, drain_flush_cb, d);
	d->stop_timer = evtimer_new(md->base, drain_stop_timeout_cb, d);
	drain_kick(d);
	return d;
}

/*
 * shutdown_timeout passed with transfers still running: cut them short.
 * libcurl checks within a second (drain_progress()); each comes back
 * through drain_abandon(), unless it ended first, and the stop goes on
 * once none runs.
 */
static void
drain_stop_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct drain	*d = arg;

	(void)fd;
	(void)events;
	drain_cut_short(d);
	log_warnx("drain: shutdown_timeout reached; cutting short %zu "
	    "transfers, whose jobs stay queued", d->nrunning);
}

/* Stop starting transfers; call `done` once in-flight ones are settled. */
void
drain_stop(struct drain *d, void (*done)(struct mannersd *))
{
	d->stopping = 1;
	d->stopped = done;
	evtimer_del(d->scan_timer);
	event_del(d->scan_now);
	event_del(d->pace_ev);
	drain_unstage(d);
	if (d->nrunning == 0)
		drain_flush(d);
	else
		drain_timer_in(d->stop_timer,
		    (long)d->md->conf->shutdown_timeout * 1000);
}

json_t *
drain_stats(struct drain *d)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
	    "in_flight", (json_int_t)d->nrunning,
	    "uncommitted", (json_int_t)(d->ndone + (d->flushing ? 1 : 0)),
	    "sent", (json_int_t)d->sent,
	    "failed", (json_int_t)d->failed,
	    "bounced", (json_int_t)d->bounced,
	    "retried", (json_int_t)d->retried,
	    "throttled", (json_int_t)d->throttled,
	    "rate", pace_rate(&d->pace));
}

/*
 * Forget domains with nothing in flight, no pending slot and no
 * slow-down, so a long run over many domains does not grow forever.
 */
void
drain_tidy(struct drain *d)
{
	struct dom	*dm;
	struct instant	 now = drain_clock();
	size_t		 pos = 0, n = 0;

	while ((dm = hashtab_next(d->doms, &pos)) != NULL) {
		if (schedule_dom_idle(&dm->s, now)) {
			hashtab_remove_current(d->doms, &pos);
			free(dm);
			n++;
		}
	}
	if (n > 0)
		log_debug("drain: forgot %zu idle domains", n);
}

size_t
drain_in_flight(struct drain *d)
{
	return d->nrunning;
}

/* The drain's part of /metrics. */
void
drain_metrics(struct drain *d, struct evbuffer *b)
{
	uint64_t	 cum = 0;
	size_t		 i;

	evbuffer_add_printf(b, "# HELP manners_sends_total Delivery outcomes "
	    "committed, by outcome.\n# TYPE manners_sends_total counter\n");
	evbuffer_add_printf(b, "manners_sends_total{outcome=\"sent\"} %llu\n"
	    "manners_sends_total{outcome=\"retry\"} %llu\n"
	    "manners_sends_total{outcome=\"failed\"} %llu\n"
	    "manners_sends_total{outcome=\"bounced\"} %llu\n"
	    "manners_sends_total{outcome=\"dropped\"} %llu\n",
	    (unsigned long long)d->sent, (unsigned long long)d->retried,
	    (unsigned long long)(d->failed - d->bounced),
	    (unsigned long long)d->bounced, (unsigned long long)d->dropped);
	evbuffer_add_printf(b, "# HELP manners_throttle_waits_total Sends "
	    "held back by the global or a domain cadence.\n"
	    "# TYPE manners_throttle_waits_total counter\n"
	    "manners_throttle_waits_total %llu\n",
	    (unsigned long long)d->throttled);
	evbuffer_add_printf(b, "# HELP manners_smtp_in_flight SMTP transfers "
	    "running.\n# TYPE manners_smtp_in_flight gauge\n"
	    "manners_smtp_in_flight %zu\n", d->nrunning);
	evbuffer_add_printf(b, "# HELP manners_smtp_rate_per_second The "
	    "global cadence in force.\n# TYPE manners_smtp_rate_per_second "
	    "gauge\nmanners_smtp_rate_per_second %g\n", pace_rate(&d->pace));
	evbuffer_add_printf(b, "# HELP manners_smtp_duration_seconds Time of "
	    "one SMTP transaction.\n# TYPE manners_smtp_duration_seconds "
	    "histogram\n");
	for (i = 0; i < DRAIN_NLAT; i++) {
		cum += d->lat_bucket[i];
		evbuffer_add_printf(b, "manners_smtp_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", drain_lat_le[i],
		    (unsigned long long)cum);
	}
	cum += d->lat_bucket[DRAIN_NLAT];
	evbuffer_add_printf(b, "manners_smtp_duration_seconds_bucket"
	    "{le=\"+Inf\"} %llu\nmanners_smtp_duration_seconds_sum %g\n"
	    "manners_smtp_duration_seconds_count %llu\n",
	    (unsigned long long)cum, d->lat_sum,
	    (unsigned long long)d->lat_count);
}

void
drain_free(struct drain *d)
{
	struct xfer		*x;
	struct dcampaign	*dc;
	struct dom		*dm;
	size_t			 pos = 0;

	if (d == NULL)
		return;
	drain_unstage(d);
	/* Transfers still running are cut short; smtp_threads_free() waits. */
	drain_cut_short(d);
	smtp_threads_free(d->threads);
	while ((x = TAILQ_FIRST(&d->running)) != NULL) {
		TAILQ_REMOVE(&d->running, x, entry);
		drain_xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&d->done)) != NULL) {
		TAILQ_REMOVE(&d->done, x, entry);
		drain_xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&d->committing)) != NULL) {
		TAILQ_REMOVE(&d->committing, x, entry);
		drain_xfer_free(x);
	}
	while ((dc = TAILQ_FIRST(&d->campaigns)) != NULL) {
		TAILQ_REMOVE(&d->campaigns, dc, entry);
		drain_campaign_free(dc);
	}
	while ((dm = hashtab_next(d->doms, &pos)) != NULL)
		free(dm);
	hashtab_free(d->doms);
	hashtab_free(d->claims);
	drain_easy_drop(d);
	event_free(d->scan_timer);
	event_free(d->scan_now);
	event_free(d->pace_ev);
	close(d->pace_fd);
	event_free(d->flush_timer);
	event_free(d->stop_timer);
	if (d->password != NULL)
		explicit_bzero(d->password, strlen(d->password));
	free(d->password);
	free(d->url);
	free(d);
}
