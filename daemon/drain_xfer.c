/*
 * drain_xfer.c: one message's transfer to the relay, from its start to
 * what the relay's answer means.
 *
 * Easy handles are set up once and reused; a transfer renders its
 * message, hands the handle to an SMTP thread (smtp_threads.c) and hears
 * back on the loop in drain_xfer_done(), which classifies the answer
 * (lib/smtp_reply.c), records its latency and parks the outcome for the
 * next commit group (drain_commit.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "campaign.h"
#include "conf.h"
#include "drain_int.h"
#include "feedback.h"
#include "log.h"
#include "mannersd.h"
#include "smtp_reply.h"
#include "smtp_threads.h"
#include "token.h"
#include "util.h"

/* SMTP transaction latency histogram bounds, in seconds. */
static const double drain_xfer_lat_le[DRAIN_NLAT] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};

static void	drain_xfer_check_done(struct drain *);

/* libcurl pulls the message body from here. */
static size_t
drain_xfer_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;

	return message_out_read(&x->msg, &x->pi, &x->off, ptr, size * nmemb);
}

/* libcurl hands us each line the relay answers: keep the last one. */
static size_t
drain_xfer_reply(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb, k = n;

	/* The answer to MAIL FROM: it reached the relay (drain_xfer_prereq). */
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
 * have waited for a connection).  The loop hears of it in drain_xfer_started()
 * once the relay has answered the MAIL FROM: told now, the loop could
 * take this thread's CPU before the command is out, and the domain's next
 * slot would count from too early a time.
 */
static int
drain_xfer_prereq(void *arg, char *ip, char *local, int port, int lport)
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
void
drain_xfer_started(void *job, double ms)
{
	struct xfer	*x = job;
	struct instant	 started = { ms };	/* drain_clock()'s, relayed */
	struct dom	*u;
	int		 bit;

	if (x->state != XFER_RUNNING || !x->unsent)
		return;
	/* The domain, and the group of a domain shaped apart. */
	for (u = x->dom, bit = 1; u != NULL; u = u->parent, bit <<= 1) {
		if (!(x->unsent & bit))
			continue;
		u->s.unsent--;
		pace_started(&u->s.pace, started);
		/* Its next slot may have moved past the wake-up already set. */
		if (x->d->nstaged > 0)
			drain_sched_wake(x->d, pace_wait(&u->s.pace,
			    drain_clock()));
	}
	x->unsent = 0;
}

/* On an SMTP thread, now and then: give up when the drain says so. */
static int
drain_xfer_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
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
drain_xfer_easy_get(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	CURL			*e;

	if (d->nidle > 0)
		return d->idle[--d->nidle];
	if ((e = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(e, CURLOPT_URL, d->url);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, drain_xfer_read);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, drain_xfer_reply);
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, drain_xfer_prereq);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, drain_xfer_progress);
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
drain_xfer_easy_close(CURL *e)
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
drain_xfer_easy_put(struct drain *d, CURL *e, unsigned gen)
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
		drain_xfer_easy_close(e);
}

/* Let the kept handles go (the relay's settings changed, or shutdown). */
void
drain_xfer_easy_drop(struct drain *d)
{
	while (d->nidle > 0)
		drain_xfer_easy_close(d->idle[--d->nidle]);
}

/*
 * The envelope sender: return_path with the recipient's and campaign's
 * signed token (bounces+TOKEN@domain), so that what comes back can be
 * attributed; the From address when there is no return_path or no key.
 */
static void
drain_xfer_return_path(struct drain *d, const struct dcampaign *dc,
    const struct store_job *j, int64_t now, struct xfer *x)
{
	const struct conf	*conf = d->md->conf;
	char			 tok[TOKEN_LEN + 1], verp[ADDR_MAX + 1];

	if (conf->return_path != NULL && token_issue_return(d->md->keys,
	    j->rid, dc->ref, (uint32_t)now, tok) == 0 &&
	    feedback_return_path(conf->return_path, tok, verp, sizeof verp,
	    NULL) == 0) {
		snprintf(x->from, sizeof x->from, "<%s>", verp);
		return;
	}
	snprintf(x->from, sizeof x->from, "<%s>", dc->c->from_addr);
}

/*
 * A transfer counts in flight in its unit and, for a domain shaped apart
 * from its group, in the group too (how = 1: it starts; 0: it no longer
 * runs; -1: only its unanswered MAIL FROM is forgotten).  A paced unit
 * waits for its MAIL FROM's answer (x->unsent: a bit per level).
 */
static void
drain_xfer_count(struct xfer *x, int how)
{
	struct dom	*u;
	int		 bit;

	for (u = x->dom, bit = 1; u != NULL; u = u->parent, bit <<= 1) {
		if (how == 1) {
			u->s.inflight++;
			if (pace_limited(&u->s.pace)) {
				x->unsent |= bit;
				u->s.unsent++;
			}
			continue;
		}
		if (how == 0)
			u->s.inflight--;
		if (x->unsent & bit)
			u->s.unsent--;
	}
	if (how != 1)
		x->unsent = 0;
}

/*
 * Render a staged job's message and hand it to libcurl at `slot`: its
 * SMTP thread waits for the slot when it is still ahead.
 */
int
drain_xfer_start(struct drain *d, struct dcampaign *dc, struct xfer *x,
    const struct schedule_slot *slot)
{
	const struct conf	*conf = d->md->conf;
	const struct store_job	*j = &x->job;
	struct message_in	 in;
	char			 tok[TOKEN_LEN + 1], *url = NULL, *cause = NULL;
	char			*mailto = NULL, fbid[256];
	int			 rc;

	x->started = slot->at;
	memset(&in, 0, sizeof in);
	in.campaign = dc->c;
	in.to_addr = j->addr;
	in.to_name = j->name[0] != '\0' ? j->name : NULL;
	in.hostname = d->md->hostname;
	in.date = mannersd_now();
	in.plain = x->plain;
	/* Gmail's form: up to three identifiers, then the sender's. */
	snprintf(fbid, sizeof fbid, "%s:%s:newsletter:%s", dc->c->id,
	    dc->c->list, conf->feedback_sender_id);
	in.feedback_id = fbid;
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

	x->easy = drain_xfer_easy_get(d);
	x->gen = d->gen;
	drain_xfer_return_path(d, dc, j, in.date, x);
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
	drain_xfer_count(x, 1);
	/* From here until drain_xfer_done() the SMTP thread owns x's I/O. */
	smtp_threads_submit(d->threads, x->easy, x,
	    slot->wait_ms > 0 ? slot->at.ms : 0);
	log_debug("drain: sending campaign=%s domain=%s attempt=%u",
	    j->campaign, x->dom->name, j->attempts + 1);
	return 0;
}

/* A transfer no longer runs: out of the running list and its counts. */
static void
drain_xfer_unrun(struct drain *d, struct xfer *x)
{
	if (x->state == XFER_RUNNING) {
		TAILQ_REMOVE(&d->running, x, entry);
		d->nrunning--;
		drain_xfer_count(x, 0);
	}
	if (x->unsent)
		drain_xfer_count(x, -1);
}

/*
 * A transfer is over, its outcome known: out of the running counts, and
 * only the job and the outcome wait for the commit: let the message and
 * the handle (with libcurl's buffers) go now, not a group later.
 */
void
drain_xfer_release(struct drain *d, struct xfer *x)
{
	drain_xfer_unrun(d, x);
	drain_xfer_easy_put(d, x->easy, x->gen);
	x->easy = NULL;
	curl_slist_free_all(x->rcpt);
	x->rcpt = NULL;
	message_out_free(&x->msg);
	message_tpl_free(x->tpl);
	x->tpl = NULL;
}

/* Tell every running transfer's thread to give up (drain_xfer_progress). */
void
drain_xfer_cut_short(struct drain *d)
{
	struct xfer	*x;

	TAILQ_FOREACH(x, &d->running, entry)
		__atomic_store_n(&x->abort, 1, __ATOMIC_RELAXED);
}

/*
 * A transfer that shutdown_timeout cut short: it was never committed as
 * sent, so its job stays queued and goes out (with the same Message-ID)
 * after the restart.
 */
static void
drain_xfer_abandon(struct drain *d, struct xfer *x)
{
	drain_xfer_unrun(d, x);
	d->have_resume = 0;	/* its job is no longer claimed */
	drain_xfer_free(x);	/* and its connection with it */
	if (d->nrunning == 0)
		log_warnx("drain: the transfers cut short at shutdown_timeout "
		    "stay queued");
}

/* Count a finished transaction's time in the latency histogram. */
static void
drain_xfer_latency(struct drain *d, const struct xfer *x)
{
	double	 secs = instant_since(drain_clock(), x->started) / 1000.0;
	size_t	 b;

	for (b = 0; b < DRAIN_NLAT && secs > drain_xfer_lat_le[b]; b++)
		;
	d->lat_bucket[b]++;
	d->lat_sum += secs;
	d->lat_count++;
}

/* What the relay's answer means for the job, logged; the domain learns. */
static enum xfer_outcome
drain_xfer_outcome(struct xfer *x, CURLcode res)
{
	struct dom		*dm = x->dom;
	enum smtp_reply_verdict	 v;

	/* Every reply passes the shaping rules. */
	drain_shape_reply(x->d, x);
	/* A transfer error with a 2xx code (cut during DATA) retries. */
	v = res == CURLE_OK ? SMTP_REPLY_SENT : smtp_reply_classify(
	    x->code >= 300 ? x->code : 0, x->reply);
	switch (v) {
	case SMTP_REPLY_SENT:
		schedule_dom_sent(&dm->s);
		return OUTCOME_SENT;
	case SMTP_REPLY_RETRY:
		log_info("drain: temporary failure campaign=%s domain=%s "
		    "code=%ld reply=\"%s\" error=\"%s\"; will retry",
		    x->job.campaign, dm->name, x->code, x->reply,
		    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(res));
		if (schedule_dom_tempfail(&dm->s, x->code))
			log_warnx("drain: domain=%s answers 4xx repeatedly; "
			    "slowing it to %.3g/s", dm->name,
			    pace_rate(&dm->s.pace));
		return OUTCOME_RETRY;
	case SMTP_REPLY_FAILED:
	case SMTP_REPLY_BOUNCED:
		break;
	}
	log_warnx("drain: permanent failure campaign=%s domain=%s code=%ld "
	    "reply=\"%s\"%s", x->job.campaign, dm->name, x->code, x->reply,
	    v == SMTP_REPLY_BOUNCED ? "; address suppressed" : "");
	return v == SMTP_REPLY_BOUNCED ? OUTCOME_BOUNCED : OUTCOME_FAILED;
}

/* A transfer ended (on the loop again): classify the relay's answer. */
void
drain_xfer_done(CURL *e, CURLcode res, void *arg)
{
	struct xfer	*x = arg;
	struct drain	*d = x->d;

	if (res == CURLE_ABORTED_BY_CALLBACK &&
	    __atomic_load_n(&x->abort, __ATOMIC_RELAXED)) {
		drain_xfer_abandon(d, x);
		drain_xfer_check_done(d);
		return;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->code);
	drain_xfer_latency(d, x);
	drain_commit_finish(d, x, drain_xfer_outcome(x, res));
	drain_xfer_check_done(d);
}

/* After transfers end: finish a shutdown, or look for more work. */
static void
drain_xfer_check_done(struct drain *d)
{
	if (d->stopping && d->nrunning == 0) {
		evtimer_del(d->stop_timer);
		drain_commit_flush(d);
		return;
	}
	drain_sched_soon(d);
}

/* Free a transfer and its claim, closing its connection if it has one. */
void
drain_xfer_free(struct xfer *x)
{
	drain_sched_unclaim(x->d, x);
	drain_xfer_easy_close(x->easy);
	curl_slist_free_all(x->rcpt);
	message_out_free(&x->msg);
	message_tpl_free(x->tpl);
	free(x);
}

/* The latency histogram's part of /metrics. */
void
drain_xfer_metrics(struct drain *d, struct evbuffer *b)
{
	uint64_t	 cum = 0;
	size_t		 i;

	evbuffer_add_printf(b, "# HELP manners_smtp_duration_seconds Time of "
	    "one SMTP transaction.\n# TYPE manners_smtp_duration_seconds "
	    "histogram\n");
	for (i = 0; i < DRAIN_NLAT; i++) {
		cum += d->lat_bucket[i];
		evbuffer_add_printf(b, "manners_smtp_duration_seconds_bucket"
		    "{le=\"%g\"} %llu\n", drain_xfer_lat_le[i],
		    (unsigned long long)cum);
	}
	cum += d->lat_bucket[DRAIN_NLAT];
	evbuffer_add_printf(b, "manners_smtp_duration_seconds_bucket"
	    "{le=\"+Inf\"} %llu\nmanners_smtp_duration_seconds_sum %g\n"
	    "manners_smtp_duration_seconds_count %llu\n",
	    (unsigned long long)cum, d->lat_sum,
	    (unsigned long long)d->lat_count);
}
