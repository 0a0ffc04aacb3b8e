/*
 * submit.c: POST /v1/campaigns, a submission's way through the daemon as
 * named states, each run where it belongs:
 *
 *   SUBMIT_PARSE    parser thread: read the document, weigh its HTML;
 *   SUBMIT_MEASURE  loop: measure remote images (HEAD requests), if on;
 *   SUBMIT_ADMIT    writer thread: refuse a campaign that is too heavy,
 *                   or decide per recipient and queue, in one transaction;
 *   SUBMIT_REPLY    loop: answer, log, count, and let go.
 *
 * submit_drive() runs on the loop after each step and starts the next one
 * on its thread; a step that refuses the campaign goes to SUBMIT_REPLY.
 * The request waits; the loop does not.  Parsing has a thread of its own
 * so that a large document does not hold up the writer's commits.
 *
 * Pass one is cut in two when the document's header comes whole before
 * its recipients (campaign_read_head()): the header is weighed and
 * admitted while the parser thread checks the recipients (SUBMIT_PARSE's
 * second half, submit_rest()), and the admission waits for that check
 * before it keeps anything (admit_request's gate).  A refused recipient
 * list refuses the campaign as before; a header element after the
 * recipients (rare) has the whole document read again, in one piece.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "instant.h"
#include "log.h"
#include "mannersd.h"
#include "store.h"
#include "util.h"
#include "weigh.h"

enum submit_state {
	SUBMIT_PARSE,
	SUBMIT_MEASURE,
	SUBMIT_ADMIT,
	SUBMIT_REPLY
};

struct submit {
	struct wjob		 w;
	enum submit_state	 state;	/* the step to run next */
	struct mannersd		*md;
	struct evhttp_request	*req;
	struct evbuffer		*in;	/* the request's body */
	struct iovec		*iov;	/* its pieces, read where they lie */
	size_t			 niov;
	int			 dry_run;
	int64_t			 now;
	struct conf		*conf;	/* as it was when the request came */
	struct campaign		*c;
	struct weigh		*weight;
	struct measure		*measure;
	struct admit_report	 rep;
	json_t			*warnings;
	json_t			*weight_report;
	/* Pass one's second half (see above); the lock guards rest_rc. */
	struct wjob		 wrest;
	struct campaign_reading	*reading;	/* NULL: not cut in two */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	int			 rest_rc;	/* REST_PENDING until checked */
	struct campaign_error	 rest_err;
	int			 rest_started;
	int			 rest_back;	/* its done() has run */
	int			 reply_waiting;	/* the answer waits for it */
	int			 whole;		/* read in one piece */
	struct instant		 received;	/* the body is in */
	double			 parse_ms;	/* SUBMIT_PARSE's own time */
	double			 admit_ms;	/* SUBMIT_ADMIT's own time */
	/* results */
	int			 status;
	json_t			*answer;
	char			*log;
	int			 queued;
};

#define REST_PENDING	(-2)

static void	submit_drive(struct submit *);

/* The bodies must show the recipient a way out. */
static int
submit_has_unsubscribe(const struct campaign *c)
{
	return (c->text != NULL && strstr(c->text, "{{unsubscribe_url}}")) ||
	    (c->html != NULL && strstr(c->html, "{{unsubscribe_url}}"));
}

/* End the pipeline with an error answer and its log line. */
static void
submit_refuse(struct submit *sb, int status, json_t *answer, char *log)
{
	sb->status = status;
	sb->answer = answer;
	sb->log = log;
	sb->state = SUBMIT_REPLY;
}

/* End the pipeline with pass one's refusal of the document. */
static void
submit_refuse_document(struct submit *sb, struct campaign_error *err)
{
	json_t	*detail = json_array();
	char	*log;
	size_t	 i;

	for (i = 0; i < err->nproblems; i++)
		json_array_append_new(detail, json_string(err->problems[i]));
	xasprintf(&log, "campaign refused status=%d problem=\"%s\"",
	    err->status, err->nproblems > 0 ? err->problems[0] : "");
	json_decref(sb->answer);
	free(sb->log);
	submit_refuse(sb, err->status, json_pack("{s:s, s:o}", "error",
	    err->status == 400 ? "malformed campaign document" :
	    err->status == 413 ? "campaign too large" :
	    "invalid campaign", "detail", detail), log);
	campaign_error_free(err);
}

/* The request body's pieces, as iovecs for the parser. */
static void
submit_pieces(struct submit *sb)
{
	struct evbuffer_iovec	*v;
	int			 i, n;

	if ((n = evbuffer_peek(sb->in, -1, NULL, NULL, 0)) <= 0)
		return;
	v = xcalloc((size_t)n, sizeof *v);
	n = evbuffer_peek(sb->in, -1, NULL, v, n);
	sb->iov = xcalloc((size_t)n, sizeof *sb->iov);
	for (i = 0; i < n; i++) {
		sb->iov[i].iov_base = v[i].iov_base;
		sb->iov[i].iov_len = v[i].iov_len;
	}
	sb->niov = (size_t)n;
	free(v);
}

/* SUBMIT_PARSE's end: weigh the HTML part under the list's limits. */
static void
submit_weigh(struct submit *sb)
{
	struct conf_policy	 pol;
	char			*cause = NULL, *log;

	if (sb->c->html == NULL || *sb->c->html == '\0')
		return;
	conf_policy_for(sb->conf, sb->c->list, &pol);
	if (weigh_html(sb->c->html, strlen(sb->c->html), &pol.weigh,
	    &sb->weight, &cause) == -1) {
		xasprintf(&log, "campaign refused campaign=%s status=422 "
		    "problem=\"%s\"", sb->c->id, cause);
		submit_refuse(sb, 422, json_pack("{s:s, s:[s]}", "error",
		    "invalid campaign", "detail", cause), log);
		free(cause);
	}
}

/* SUBMIT_PARSE, parser thread: read the document and weigh it. */
static void
submit_parse(struct wjob *w, struct store *store)
{
	struct submit		*sb = (struct submit *)w;
	struct campaign_error	 err;
	char			*log;
	struct instant		 t0 = instant_now();

	(void)store;
	sb->state = SUBMIT_MEASURE;
	/*
	 * The document is read in the request buffer's pieces, where they
	 * lie (the loop leaves this buffer alone until we answer): making
	 * 50 MB contiguous would cost time and as much memory again.
	 */
	if (sb->iov == NULL)
		submit_pieces(sb);
	if (campaign_read_head(sb->iov, sb->niov, sb->conf->max_recipients,
	    !sb->whole, &sb->c, &sb->reading, &err) == -1) {
		submit_refuse_document(sb, &err);
		return;
	}
	if (!submit_has_unsubscribe(sb->c)) {
		if (sb->conf->require_unsubscribe_link) {
			xasprintf(&log, "campaign refused campaign=%s "
			    "status=422 problem=\"no unsubscribe link\"",
			    sb->c->id);
			submit_refuse(sb, 422, json_pack("{s:s, s:[s]}",
			    "error", "invalid campaign", "detail", "body: no "
			    "{{unsubscribe_url}} in the text or HTML part, and "
			    "require_unsubscribe_link = yes"), log);
			return;
		}
		json_array_append_new(sb->warnings, json_string("body: no "
		    "{{unsubscribe_url}} in the text or HTML part; recipients "
		    "see no unsubscribe link (List-Unsubscribe is still sent)"));
	}
	submit_weigh(sb);
	sb->parse_ms = instant_since(instant_now(), t0);
}

/* SUBMIT_MEASURE's end, on the loop: on to admission. */
static void
submit_measured(void *arg)
{
	struct submit	*sb = arg;

	sb->state = SUBMIT_ADMIT;
	submit_drive(sb);
}

/* SUBMIT_MEASURE, loop: measure remote images when asked to. */
static void
submit_measure(struct submit *sb)
{
	if (sb->weight != NULL && sb->conf->remote_images_measure &&
	    weigh_remote_count(sb->weight) > 0) {
		sb->measure = measure_start(sb->md, sb->weight, sb->conf,
		    submit_measured, sb);
		return;
	}
	submit_measured(sb);
}

/* SUBMIT_ADMIT's first test: refuse a campaign over its weight limits. */
static int
submit_too_heavy(struct submit *sb)
{
	char	*log;

	if (sb->weight == NULL)
		return 0;
	sb->weight_report = weigh_report_json(sb->weight);
	if (weigh_check(sb->weight) <= 0)
		return 0;
	xasprintf(&log, "campaign refused campaign=%s status=422 "
	    "problem=\"over weight limits\"", sb->c->id);
	submit_refuse(sb, 422, json_pack("{s:s, s:s, s:O}", "error",
	    "campaign too heavy: nothing was queued; see detail.over_limit",
	    "campaign", sb->c->id, "detail", sb->weight_report), log);
	return 1;
}

/* The submission a pass-one-second-half job belongs to. */
static struct submit *
submit_of_rest(struct wjob *w)
{
	return (struct submit *)(void *)((char *)w - offsetof(struct submit,
	    wrest));
}

/* SUBMIT_PARSE's second half, parser thread: check the recipients. */
static void
submit_rest(struct wjob *w, struct store *store)
{
	struct submit		*sb = submit_of_rest(w);
	struct campaign_error	 err;
	struct instant		 t0 = instant_now();
	int			 rc;

	(void)store;
	rc = campaign_read_rest(sb->reading, &err);
	pthread_mutex_lock(&sb->lock);
	sb->reading = NULL;
	sb->rest_err = err;
	sb->parse_ms += instant_since(instant_now(), t0);
	sb->rest_rc = rc;
	pthread_cond_broadcast(&sb->cond);
	pthread_mutex_unlock(&sb->lock);
}

/* The second half is back on the loop: an answer may be waiting for it. */
static void
submit_rest_back(struct wjob *w)
{
	struct submit	*sb = submit_of_rest(w);

	sb->rest_back = 1;
	if (sb->reply_waiting)
		submit_drive(sb);
}

/* Writer thread, before anything is kept: wait for the recipients'
 * check; non-zero (refused, or read again) abandons the admission. */
static int
submit_gate(void *arg)
{
	struct submit	*sb = arg;
	int		 rc;

	pthread_mutex_lock(&sb->lock);
	while (sb->rest_rc == REST_PENDING)
		pthread_cond_wait(&sb->cond, &sb->lock);
	rc = sb->rest_rc;
	pthread_mutex_unlock(&sb->lock);
	return rc != 0;
}

/* Admission, growing the map once (up to map_max) when it is full. */
static int
submit_admit_grow(struct submit *sb, struct store *store, char **cause)
{
	struct admit_request	 ar = {
		.store = store,
		.conf = sb->conf,
		.campaign = sb->c,
		.iov = sb->iov,
		.niov = sb->niov,
		.now = sb->now,
		.dry_run = sb->dry_run,
		.read_ahead = 1,
		.keys = sb->md->keys,
		.gate = sb->rest_started ? submit_gate : NULL,
		.gate_arg = sb
	};
	uint64_t		 grown;

	if (admit_campaign(&ar, &sb->rep, &sb->status, cause) == 0)
		return 0;
	if (sb->status != 507)
		return -1;
	free(*cause);
	*cause = NULL;
	if (store_care(store, sb->conf->map_max, 1, &grown, cause) == -1) {
		sb->status = 507;
		return -1;
	}
	log_info("store: map grown to %llu bytes for campaign=%s",
	    (unsigned long long)grown, sb->c->id);
	free(*cause);
	*cause = NULL;
	return admit_campaign(&ar, &sb->rep, &sb->status, cause);
}

/* SUBMIT_ADMIT, writer thread: too heavy, or decide and queue. */
static void
submit_admit(struct wjob *w, struct store *store)
{
	struct submit		*sb = (struct submit *)w;
	struct admit_report	*rep = &sb->rep;
	json_t			*tzw;
	char			*cause = NULL, *log;
	struct instant		 t0 = instant_now();
	int			 rc;

	sb->state = SUBMIT_REPLY;
	if (submit_too_heavy(sb))
		return;
	rc = submit_admit_grow(sb, store, &cause);
	sb->admit_ms = instant_since(instant_now(), t0);
	if (rc == -1) {
		xasprintf(&log, "campaign not admitted campaign=%s status=%d "
		    "reason=\"%s\"", sb->c->id, sb->status, cause);
		submit_refuse(sb, sb->status, json_pack("{s:s}", "error",
		    cause != NULL ? cause : "internal error"), log);
		free(cause);
		memset(rep, 0, sizeof *rep);
		return;
	}
	sb->answer = admit_report_json(sb->c, rep, sb->dry_run);
	json_object_set(sb->answer, "weight", sb->weight_report != NULL ?
	    sb->weight_report : json_null());
	if ((tzw = admit_report_warning(rep)) != NULL)
		json_array_append_new(sb->warnings, tzw);
	json_object_set(sb->answer, "warnings", sb->warnings);
	if (sb->dry_run)
		sb->status = 200;
	sb->queued = !sb->dry_run && rep->accepted + rep->deferred > 0;
	/* Where the time went: reading, then deciding and committing; what
	 * is left of the request's time was waiting for a thread. */
	xasprintf(&sb->log, "campaign %s campaign=%s list=%s recipients=%llu "
	    "accepted=%llu deferred=%llu parse=%.3fs admit=%.3fs total=%.3fs",
	    sb->dry_run ? "dry-run" : "admitted", sb->c->id, sb->c->list,
	    (unsigned long long)rep->recipients,
	    (unsigned long long)rep->accepted,
	    (unsigned long long)rep->deferred, sb->parse_ms / 1000.0,
	    sb->admit_ms / 1000.0, instant_since(instant_now(), sb->received) /
	    1000.0);
	/* A dry run's decisions are not counted as admissions. */
	if (sb->dry_run)
		memset(rep, 0, sizeof *rep);
}

/* Count a submission's outcome for /metrics. */
static void
submit_count(struct mannersd *md, int status, const struct admit_report *rep)
{
	size_t	 i;

	md->stats.submissions++;
	if (status >= 400) {
		md->stats.refused++;
		return;
	}
	md->stats.accepted += rep->accepted;
	md->stats.deferred += rep->deferred;
	for (i = 1; i < POLICY_NREASONS && i < nitems(md->stats.rejected); i++)
		md->stats.rejected[i] += rep->rejected[i];
}

/* Let go of what reading, weighing and admitting the document made. */
static void
submit_forget(struct submit *sb)
{
	json_decref(sb->answer);
	json_decref(sb->warnings);
	json_decref(sb->weight_report);
	free(sb->log);
	measure_free(sb->measure);
	weigh_free(sb->weight);
	campaign_free(sb->c);
	sb->answer = sb->warnings = sb->weight_report = NULL;
	sb->log = NULL;
	sb->measure = NULL;
	sb->weight = NULL;
	sb->c = NULL;
}

/* SUBMIT_REPLY, loop: answer the client and let go of everything. */
static void
submit_reply(struct submit *sb)
{
	control_reply_json(sb->req, sb->status, sb->answer);
	log_info("%s", sb->log);
	submit_count(sb->md, sb->status, &sb->rep);
	if (sb->queued) {
		drain_units_prefetch(sb->md->drain, &sb->rep.unplaced);
		drain_kick(sb->md->drain);
	}
	writer_release(sb->md->writer);
	submit_forget(sb);
	conf_free(sb->conf);
	free(sb->iov);
	pthread_cond_destroy(&sb->cond);
	pthread_mutex_destroy(&sb->lock);
	free(sb);
}

/* Loop: hand the recipients' check to the parser thread. */
static void
submit_rest_start(struct submit *sb)
{
	if (sb->reading == NULL || sb->rest_started)
		return;
	sb->rest_started = 1;
	sb->rest_back = 0;
	sb->rest_rc = REST_PENDING;
	sb->wrest.run = submit_rest;
	sb->wrest.done = submit_rest_back;
	/* Ahead of other documents: the writer will wait for this one. */
	jobthread_submit_first(sb->md->parser, &sb->wrest);
}

/* Loop: read the whole document again, in one piece (a header element
 * came after the recipients; nothing was kept). */
static void
submit_restart(struct submit *sb)
{
	log_info("campaign %s: a header element follows <recipients>; the "
	    "document is read again in one piece", sb->c->id);
	submit_forget(sb);
	sb->warnings = json_array();
	memset(&sb->rep, 0, sizeof sb->rep);
	sb->status = 0;
	sb->queued = 0;
	sb->whole = 1;
	sb->rest_started = sb->rest_back = sb->reply_waiting = 0;
	sb->state = SUBMIT_PARSE;
	submit_drive(sb);
}

/*
 * Loop, before answering: has the recipients' check come back, and what
 * did it say?  0 means wait (or read again): the answer is not given yet.
 */
static int
submit_joined(struct submit *sb)
{
	if (!sb->rest_started) {
		/* Refused before the check began: it never will. */
		campaign_reading_free(sb->reading);
		sb->reading = NULL;
		return 1;
	}
	if (!sb->rest_back) {
		sb->reply_waiting = 1;
		return 0;
	}
	sb->reply_waiting = 0;
	if (sb->rest_rc == CAMPAIGN_LATE_HEADER) {
		submit_restart(sb);
		return 0;
	}
	/* The document's own refusal comes first, as it did in one pass. */
	if (sb->rest_rc != 0) {
		memset(&sb->rep, 0, sizeof sb->rep);
		sb->queued = 0;
		submit_refuse_document(sb, &sb->rest_err);
	}
	return 1;
}

/* A step on a thread is done: back on the loop, go on. */
static void
submit_stepped(struct wjob *w)
{
	submit_drive((struct submit *)w);
}

/* On the loop: start the step sb->state names, where it runs. */
static void
submit_drive(struct submit *sb)
{
	switch (sb->state) {
	case SUBMIT_PARSE:
		sb->w.run = submit_parse;
		sb->w.done = submit_stepped;
		jobthread_submit(sb->md->parser, &sb->w);
		break;
	case SUBMIT_MEASURE:
		submit_rest_start(sb);
		submit_measure(sb);
		break;
	case SUBMIT_ADMIT:
		sb->w.run = submit_admit;
		sb->w.done = submit_stepped;
		writer_submit(sb->md->writer, &sb->w);
		break;
	case SUBMIT_REPLY:
		if (submit_joined(sb))
			submit_reply(sb);
		break;
	}
}

/* POST /v1/campaigns[?dry_run=1]: check the request, then drive it. */
void
submit_request(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	struct submit	*sb;
	char		*v = NULL;
	size_t		 len;
	int		 dry_run;

	(void)id;
	if (md->stopping) {
		control_reply_error(req, 503, "mannersd is shutting down; "
		    "submit again once it is back", NULL);
		return;
	}
	if (!control_content_type(req, "application/xml", "text/xml")) {
		control_reply_error(req, 415, "a campaign is an XML document: "
		    "send it with Content-Type: application/xml", NULL);
		return;
	}
	len = evbuffer_get_length(in);
	if (len > md->conf->max_request) {
		control_reply_error(req, 413, "the request body is larger than "
		    "max_request", json_pack("{s:I, s:I}", "size",
		    (json_int_t)len, "max_request",
		    (json_int_t)md->conf->max_request));
		return;
	}
	if (control_routes_query(req, "dry_run", &v) == -1)
		return;
	dry_run = v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") ==
	    0 || strcmp(v, "yes") == 0);
	free(v);
	sb = xcalloc(1, sizeof *sb);
	pthread_mutex_init(&sb->lock, NULL);
	pthread_cond_init(&sb->cond, NULL);
	sb->state = SUBMIT_PARSE;
	sb->warnings = json_array();
	sb->md = md;
	sb->req = req;
	sb->in = in;
	sb->received = instant_now();
	sb->dry_run = dry_run;
	sb->now = mannersd_now();
	sb->conf = conf_ref(md->conf);
	/* Shutdown waits for this answer as for the writer's own jobs. */
	writer_hold(md->writer);
	submit_drive(sb);
}

/* Start the parser thread. */
int
submit_start(struct mannersd *md, char **cause)
{
	if ((md->parser = jobthread_new(md->base, "manners-parse", NULL,
	    cause)) == NULL)
		return -1;
	return 0;
}

/* Stop the parser thread (nothing is queued there by then). */
void
submit_free(struct mannersd *md)
{
	jobthread_free(md->parser);
	md->parser = NULL;
}
