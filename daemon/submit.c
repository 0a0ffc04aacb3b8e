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
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
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
	/* results */
	int			 status;
	json_t			*answer;
	char			*log;
	int			 queued;
};

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
	json_t			*detail;
	char			*log;
	size_t			 i;

	(void)store;
	sb->state = SUBMIT_MEASURE;
	/*
	 * The document is read in the request buffer's pieces, where they
	 * lie (the loop leaves this buffer alone until we answer): making
	 * 50 MB contiguous would cost time and as much memory again.
	 */
	submit_pieces(sb);
	if (campaign_parse_iov(sb->iov, sb->niov, sb->conf->max_recipients,
	    &sb->c, &err) == -1) {
		detail = json_array();
		for (i = 0; i < err.nproblems; i++)
			json_array_append_new(detail,
			    json_string(err.problems[i]));
		xasprintf(&log, "campaign refused status=%d problem=\"%s\"",
		    err.status, err.nproblems > 0 ? err.problems[0] : "");
		submit_refuse(sb, err.status, json_pack("{s:s, s:o}", "error",
		    err.status == 400 ? "malformed campaign document" :
		    err.status == 413 ? "campaign too large" :
		    "invalid campaign", "detail", detail), log);
		campaign_error_free(&err);
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
		.keys = sb->md->keys
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

	sb->state = SUBMIT_REPLY;
	if (submit_too_heavy(sb))
		return;
	if (submit_admit_grow(sb, store, &cause) == -1) {
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
	xasprintf(&sb->log, "campaign %s campaign=%s list=%s recipients=%llu "
	    "accepted=%llu deferred=%llu", sb->dry_run ? "dry-run" :
	    "admitted", sb->c->id, sb->c->list,
	    (unsigned long long)rep->recipients,
	    (unsigned long long)rep->accepted,
	    (unsigned long long)rep->deferred);
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
	json_decref(sb->answer);
	json_decref(sb->warnings);
	json_decref(sb->weight_report);
	free(sb->log);
	measure_free(sb->measure);
	weigh_free(sb->weight);
	campaign_free(sb->c);
	conf_free(sb->conf);
	free(sb->iov);
	free(sb);
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
		submit_measure(sb);
		break;
	case SUBMIT_ADMIT:
		sb->w.run = submit_admit;
		sb->w.done = submit_stepped;
		writer_submit(sb->md->writer, &sb->w);
		break;
	case SUBMIT_REPLY:
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
	sb->state = SUBMIT_PARSE;
	sb->warnings = json_array();
	sb->md = md;
	sb->req = req;
	sb->in = in;
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
