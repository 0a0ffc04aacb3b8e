/*
 * control.c: the control API, HTTP/1.1 on a Unix socket (evhttp).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <systemd/sd-daemon.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "addr.h"
#include "http_guard.h"
#include "ledger.h"
#include "log.h"
#include "mannersd.h"
#include "campaign_record.h"
#include "store.h"
#include "util.h"
#include "weigh.h"

#define CONTROL_MAX_HEADERS	(64 * 1024)

/*
 * evhttp refuses a body over its limit by itself, before reading it, with
 * an HTML page.  The control API answers in JSON, so a callback on each
 * connection's output buffer replaces that one answer as it is written.
 */
#define CONTROL_413_HEAD	"HTTP/1.1 413 Request Entity Too Large\r\n"
#define CONTROL_413_END		"</HTML>\n"

/* Send a JSON body with a status code. */
void
control_reply_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer	*out = evbuffer_new();
	char		*s;

	s = json_dumps(body, JSON_COMPACT);
	evbuffer_add_printf(out, "%s\n", s != NULL ? s : "{}");
	free(s);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
}

/* {"error": message, "detail": ...}; steals `detail`. */
void
control_reply_error(struct evhttp_request *req, int code, const char *msg,
    json_t *detail)
{
	json_t	*o = json_object();

	json_object_set_new(o, "error", json_string(msg));
	if (detail != NULL)
		json_object_set_new(o, "detail", detail);
	control_reply_json(req, code, o);
	json_decref(o);
}

/* Is the request's Content-Type XML? */
static int
control_is_xml(struct evhttp_request *req)
{
	const char	*ct;
	size_t		 n;

	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	return (n == 15 && strncasecmp(ct, "application/xml", n) == 0) ||
	    (n == 8 && strncasecmp(ct, "text/xml", n) == 0);
}

/* The value of a query parameter, or NULL. */
static int
control_query_flag(struct evhttp_request *req, const char *name)
{
	struct evkeyvalq	 q;
	const char		*query, *v;
	int			 on = 0;

	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query == NULL)
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) == 0 &&
	    (v = evhttp_find_header(&q, name)) != NULL)
		on = strcmp(v, "1") == 0 || strcmp(v, "true") == 0 ||
		    strcmp(v, "yes") == 0;
	evhttp_clear_headers(&q);
	return on;
}

static void
control_health(struct mannersd *md, struct evhttp_request *req)
{
	json_t	*o;

	o = json_pack("{s:s, s:o}", "status", md->stopping ? "stopping" : "ok",
	    "drain", drain_stats(md->drain));
	control_reply_json(req, md->stopping ? 503 : 200, o);
	json_decref(o);
}

/*
 * POST /v1/campaigns, in three steps:
 *   1. on the writer thread: read the document and weigh its HTML;
 *   2. on the loop: measure remote images (HEAD requests), if enabled;
 *   3. on the writer thread: refuse a campaign that is too heavy, or
 *      decide per recipient and queue, in one transaction.
 * The request waits; the loop does not.
 */
struct submit {
	struct wjob		 w;
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
	/* results */
	int			 status;
	json_t			*answer;
	char			*log;
	int			 queued;
};

static void	submit_admit_run(struct wjob *, struct store *);
static void	submit_reply(struct wjob *);

/* The bodies must show the recipient a way out. */
static int
submit_has_unsubscribe(const struct campaign *c)
{
	return (c->text != NULL && strstr(c->text, "{{unsubscribe_url}}")) ||
	    (c->html != NULL && strstr(c->html, "{{unsubscribe_url}}"));
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

/* Step 1, writer thread: parse and weigh. */
static void
submit_parse_run(struct wjob *w, struct store *store)
{
	struct submit		*sb = (struct submit *)w;
	struct campaign_error	 err;
	struct conf_policy	 pol;
	char			*cause = NULL;
	json_t			*detail;
	size_t			 i;

	(void)store;
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
		sb->status = err.status;
		sb->answer = json_pack("{s:s, s:o}", "error", err.status ==
		    400 ? "malformed campaign document" : err.status == 413 ?
		    "campaign too large" : "invalid campaign", "detail",
		    detail);
		xasprintf(&sb->log, "campaign refused status=%d problem=\"%s\"",
		    err.status, err.nproblems > 0 ? err.problems[0] : "");
		campaign_error_free(&err);
		return;
	}
	if (!submit_has_unsubscribe(sb->c)) {
		if (sb->conf->require_unsubscribe_link) {
			sb->status = 422;
			sb->answer = json_pack("{s:s, s:[s]}", "error",
			    "invalid campaign", "detail", "body: no "
			    "{{unsubscribe_url}} in the text or HTML part, and "
			    "require_unsubscribe_link = yes");
			xasprintf(&sb->log, "campaign refused campaign=%s "
			    "status=422 problem=\"no unsubscribe link\"",
			    sb->c->id);
			return;
		}
		json_array_append_new(sb->warnings, json_string("body: no "
		    "{{unsubscribe_url}} in the text or HTML part; recipients "
		    "see no unsubscribe link (List-Unsubscribe is still sent)"));
	}
	if (sb->c->html != NULL && *sb->c->html != '\0') {
		conf_policy_for(sb->conf, sb->c->list, &pol);
		if (weigh_html(sb->c->html, strlen(sb->c->html), &pol.weigh,
		    &sb->weight, &cause) == -1) {
			sb->status = 422;
			sb->answer = json_pack("{s:s, s:[s]}", "error",
			    "invalid campaign", "detail", cause);
			xasprintf(&sb->log, "campaign refused campaign=%s "
			    "status=422 problem=\"%s\"", sb->c->id, cause);
			free(cause);
			return;
		}
	}
}

/* Step 2 done (or skipped): on to admission. */
static void
submit_measured(void *arg)
{
	struct submit	*sb = arg;

	sb->w.run = submit_admit_run;
	sb->w.done = submit_reply;
	writer_submit(sb->md->writer, &sb->w);
}

/* Back on the loop after step 1. */
static void
submit_parsed(struct wjob *w)
{
	struct submit	*sb = (struct submit *)w;

	if (sb->answer != NULL) {
		submit_reply(w);
		return;
	}
	if (sb->weight != NULL && sb->conf->remote_images_measure &&
	    weigh_remote_count(sb->weight) > 0) {
		sb->measure = measure_start(sb->md, sb->weight, sb->conf,
		    submit_measured, sb);
		return;
	}
	submit_measured(sb);
}

/* Step 3, writer thread: too heavy, or decide and queue. */
static void
submit_admit_run(struct wjob *w, struct store *store)
{
	struct submit		*sb = (struct submit *)w;
	struct campaign		*c = sb->c;
	struct admit_report	 rep;
	char			*cause = NULL;
	json_t			*report = NULL;

	if (sb->weight != NULL) {
		report = weigh_report_json(sb->weight);
		if (weigh_check(sb->weight) > 0) {
			sb->status = 422;
			sb->answer = json_pack("{s:s, s:s, s:o}", "error",
			    "campaign too heavy: nothing was queued; see "
			    "detail.over_limit", "campaign", c->id, "detail",
			    report);
			xasprintf(&sb->log, "campaign refused campaign=%s "
			    "status=422 problem=\"over weight limits\"",
			    c->id);
			return;
		}
	}
	if (admit_campaign_iov(store, sb->conf, c, sb->iov, sb->niov, sb->now,
	    sb->dry_run, &rep, &sb->status, &cause) == -1 &&
	    sb->status == 507) {
		uint64_t	 grown;

		/* Out of room: grow the map (up to map_max) and try again. */
		free(cause);
		cause = NULL;
		if (store_care(store, sb->conf->map_max, 1, &grown,
		    &cause) == 0) {
			log_info("store: map grown to %llu bytes for "
			    "campaign=%s", (unsigned long long)grown, c->id);
			free(cause);
			cause = NULL;
			if (admit_campaign_iov(store, sb->conf, c, sb->iov,
			    sb->niov, sb->now, sb->dry_run, &rep, &sb->status,
			    &cause) == 0)
				goto admitted;
		} else
			sb->status = 507;
	}
	if (cause != NULL) {
		sb->answer = json_pack("{s:s}", "error", cause);
		xasprintf(&sb->log, "campaign not admitted campaign=%s "
		    "status=%d reason=\"%s\"", c->id, sb->status, cause);
		free(cause);
		json_decref(report);
		return;
	}
admitted:
	sb->answer = admit_report_json(c, &rep, sb->dry_run);
	json_object_set_new(sb->answer, "weight", report != NULL ? report :
	    json_null());
	json_object_set(sb->answer, "warnings", sb->warnings);
	if (sb->dry_run)
		sb->status = 200;
	sb->queued = !sb->dry_run && rep.accepted + rep.deferred > 0;
	if (!sb->dry_run)
		sb->rep = rep;
	xasprintf(&sb->log, "campaign %s campaign=%s list=%s recipients=%llu "
	    "accepted=%llu deferred=%llu", sb->dry_run ? "dry-run" :
	    "admitted", c->id, c->list, (unsigned long long)rep.recipients,
	    (unsigned long long)rep.accepted,
	    (unsigned long long)rep.deferred);
}

/* Count a submission's outcome for /metrics. */
static void
md_count_submission(struct mannersd *md, int status,
    const struct admit_report *rep)
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

/* On the loop: answer the client and let go of everything. */
static void
submit_reply(struct wjob *w)
{
	struct submit	*sb = (struct submit *)w;

	control_reply_json(sb->req, sb->status, sb->answer);
	log_info("%s", sb->log);
	md_count_submission(sb->md, sb->status, &sb->rep);
	if (sb->queued)
		drain_kick(sb->md->drain);
	json_decref(sb->answer);
	json_decref(sb->warnings);
	free(sb->log);
	measure_free(sb->measure);
	weigh_free(sb->weight);
	campaign_free(sb->c);
	conf_free(sb->conf);
	free(sb->iov);
	free(sb);
}

static void
control_submit(struct mannersd *md, struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	struct submit	*sb;
	size_t		 len;

	if (md->stopping) {
		control_reply_error(req, 503, "mannersd is shutting down; "
		    "submit again once it is back", NULL);
		return;
	}
	if (!control_is_xml(req)) {
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
	sb = xcalloc(1, sizeof *sb);
	sb->w.run = submit_parse_run;
	sb->w.done = submit_parsed;
	sb->warnings = json_array();
	sb->md = md;
	sb->req = req;
	sb->in = in;
	sb->dry_run = control_query_flag(req, "dry_run");
	sb->now = mannersd_now();
	sb->conf = conf_ref(md->conf);
	writer_submit(md->writer, &sb->w);
}

/* GET /v1/campaigns/{id}. */
static void
control_campaign_get(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	struct store_txn	*t;
	json_t			*state = NULL;
	char			*cause = NULL;
	int			 rc;

	if (store_begin(md->store, 0, &t, &cause) < 0) {
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	rc = store_campaign_get(t, id, &state, &cause);
	store_abort(t);
	if (rc < 0) {
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	if (rc == 1) {
		control_reply_error(req, 404, "no such campaign",
		    json_pack("{s:s}", "campaign", id));
		return;
	}
	control_reply_json(req, 200, state);
	json_decref(state);
}

/* GET /v1/campaigns: every campaign's id. */
static void
control_campaign_list(struct mannersd *md, struct evhttp_request *req)
{
	struct store_txn	*t;
	json_t			*ids = NULL, *o;
	char			*cause = NULL;

	if (store_begin(md->store, 0, &t, &cause) < 0) {
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	if (store_campaign_list(t, &ids, &cause) < 0) {
		store_abort(t);
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	store_abort(t);
	o = json_pack("{s:o}", "campaigns", ids);
	control_reply_json(req, 200, o);
	json_decref(o);
}

/*
 * Write operations of the API (cancel, pause, resume, unsubscribe,
 * resubscribe) run on the writer thread like everything that writes.
 */
enum op_kind {
	OP_CANCEL,
	OP_PAUSE,
	OP_RESUME,
	OP_UNSUBSCRIBE,
	OP_RESUBSCRIBE
};

struct op {
	struct wjob		 w;
	struct mannersd		*md;
	struct evhttp_request	*req;
	enum op_kind		 kind;
	char			*id;	/* campaign id or address */
	char			*list;	/* NULL: every list */
	int64_t			 now;
	int			 status;
	json_t			*answer;
};

/* A list's id inside a write transaction; 1 when it was never used. */
static int
op_list_id(struct store_txn *t, const char *list, uint32_t *lid, char **cause)
{
	if (list == NULL) {
		*lid = 0;
		return 0;
	}
	return store_list_id(t, list, 0, lid, cause);
}

static void
op_run(struct wjob *w, struct store *store)
{
	struct op			*op = (struct op *)w;
	struct store_txn		*t = NULL;
	struct ledger_unsub_result	 ur;
	json_t				*states = json_object();
	char				*cause = NULL;
	uint64_t			 n;
	uint32_t			 lid;
	int				 rc, found;

	op->status = 500;
	if ((rc = store_begin(store, 1, &t, &cause)) < 0)
		goto fail;
	switch (op->kind) {
	case OP_CANCEL:
		if ((rc = ledger_cancel(t, op->id, op->now, &n, &cause)) != 0)
			break;
		op->answer = json_pack("{s:s, s:s, s:I}", "campaign", op->id,
		    "state", CAMPAIGN_CANCELLED, "dropped", (json_int_t)n);
		break;
	case OP_PAUSE:
	case OP_RESUME:
		if ((rc = ledger_set_campaign_state(t, op->id, op->kind ==
		    OP_PAUSE ? CAMPAIGN_PAUSED : CAMPAIGN_ACTIVE, &cause)) != 0) {
			if (rc == -1)
				op->status = 409;
			break;
		}
		op->answer = json_pack("{s:s, s:s}", "campaign", op->id,
		    "state", op->kind == OP_PAUSE ? CAMPAIGN_PAUSED :
		    CAMPAIGN_ACTIVE);
		break;
	case OP_UNSUBSCRIBE:
		lid = 0;
		if (op->list != NULL && (rc = store_list_id(t, op->list, 1,
		    &lid, &cause)) < 0)
			break;
		if ((rc = ledger_unsubscribe(t, op->id, lid, STORE_SRC_ADMIN,
		    op->now, states, &ur, &cause)) < 0 ||
		    (rc = ledger_flush_states(t, states, &cause)) < 0)
			break;
		op->answer = json_pack("{s:s, s:s?, s:b, s:I}", "address",
		    op->id, "list", op->list, "changed", ur.changed,
		    "dropped", (json_int_t)ur.dropped);
		break;
	case OP_RESUBSCRIBE:
		if ((rc = op_list_id(t, op->list, &lid, &cause)) < 0)
			break;
		found = 0;
		if (rc == 0 && (rc = ledger_resubscribe(t, op->id,
		    op->list == NULL, lid, &found, &cause)) < 0)
			break;
		rc = 0;
		if (!found) {
			rc = 1;
			break;
		}
		op->answer = json_pack("{s:s, s:s?, s:b}", "address", op->id,
		    "list", op->list, "resubscribed", 1);
		break;
	}
	if (rc == 1) {
		op->status = 404;
		op->answer = json_pack("{s:s, s:s}", "error", op->kind ==
		    OP_RESUBSCRIBE ? "no such unsubscribe" : "no such campaign",
		    "detail", op->id);
		goto fail;
	}
	if (rc < 0)
		goto fail;
	if ((rc = store_commit(t, &cause)) < 0) {
		t = NULL;
		goto fail;
	}
	json_decref(states);
	op->status = 200;
	return;
fail:
	if (rc == STORE_FULL)
		op->status = 507;
	if (op->answer == NULL)
		op->answer = json_pack("{s:s}", "error", cause != NULL ? cause :
		    "internal error");
	free(cause);
	store_abort(t);
	json_decref(states);
}

static void
op_done(struct wjob *w)
{
	struct op	*op = (struct op *)w;
	static const char *names[] = { "cancel", "pause", "resume",
	    "unsubscribe", "resubscribe" };

	control_reply_json(op->req, op->status, op->answer);
	if (op->status == 200) {
		log_info("control: %s %s=%s%s%s", names[op->kind],
		    op->kind >= OP_UNSUBSCRIBE ? "address" : "campaign",
		    op->kind >= OP_UNSUBSCRIBE && log_getlevel() <
		    LOG_LVL_DEBUG ? "(hidden)" : op->id,
		    op->list != NULL ? " list=" : "",
		    op->list != NULL ? op->list : "");
		if (op->kind <= OP_RESUME)
			drain_forget(op->md->drain, op->id);
		else
			op->md->stats.unsubscribes++;
		drain_kick(op->md->drain);
	}
	json_decref(op->answer);
	free(op->id);
	free(op->list);
	free(op);
}

static void
control_op(struct mannersd *md, struct evhttp_request *req, enum op_kind k,
    const char *id, const char *list)
{
	struct op	*op;

	op = xcalloc(1, sizeof *op);
	op->w.run = op_run;
	op->w.done = op_done;
	op->md = md;
	op->req = req;
	op->kind = k;
	op->id = xstrdup(id);
	op->list = list != NULL ? xstrdup(list) : NULL;
	op->now = mannersd_now();
	writer_submit(md->writer, &op->w);
}

/* Check an address from a URL or a body; answers 422 when invalid. */
static int
control_address(struct evhttp_request *req, const char *a)
{
	char	*why = NULL;

	if (addr_check(a, strlen(a), &why) == 0)
		return 0;
	control_reply_error(req, 422, "invalid address", json_pack("{s:s}",
	    "address", why));
	free(why);
	return -1;
}

/* Check a list name; answers 422 when invalid. */
static int
control_list(struct evhttp_request *req, const char *l)
{
	if (l == NULL || addr_check_hostname(l, strlen(l), NULL) == 0)
		return 0;
	control_reply_error(req, 422, "invalid list name (want a domain-like "
	    "name, e.g. news.example.com)", NULL);
	return -1;
}

/* POST /v1/unsubscribes {"address": ..., "list": ...}. */
static void
control_unsubscribe(struct mannersd *md, struct evhttp_request *req)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	json_error_t	 jerr;
	json_t		*j, *a, *l;
	char		*list = NULL;
	size_t		 len = evbuffer_get_length(in);

	j = json_loadb(len > 0 ? (const char *)evbuffer_pullup(in, -1) : "",
	    len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		control_reply_error(req, 400, "the body must be a JSON object "
		    "such as {\"address\": \"a@example.org\", \"list\": "
		    "\"news.example.com\"}", j == NULL ? json_pack("{s:s, s:i, "
		    "s:i}", "json", jerr.text, "line", jerr.line, "column",
		    jerr.column) : NULL);
		json_decref(j);
		return;
	}
	a = json_object_get(j, "address");
	l = json_object_get(j, "list");
	if (!json_is_string(a) || (l != NULL && !json_is_null(l) &&
	    !json_is_string(l))) {
		control_reply_error(req, 422, "address (a string) is required; "
		    "list, if given, is a string (omit it for every list)",
		    NULL);
		json_decref(j);
		return;
	}
	if (json_is_string(l))
		list = xstrtolower(json_string_value(l));
	if (control_address(req, json_string_value(a)) == 0 &&
	    control_list(req, list) == 0)
		control_op(md, req, OP_UNSUBSCRIBE, json_string_value(a), list);
	free(list);
	json_decref(j);
}

/* A query parameter's value, or NULL (the caller frees it). */
static char *
control_query_value(struct evhttp_request *req, const char *name)
{
	struct evkeyvalq	 q;
	const char		*query, *v;
	char			*r = NULL;

	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query == NULL)
		return NULL;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) == 0 &&
	    (v = evhttp_find_header(&q, name)) != NULL)
		r = xstrdup(v);
	evhttp_clear_headers(&q);
	return r;
}

/* GET /v1/recipients/{address}. */
static void
control_recipient(struct mannersd *md, struct evhttp_request *req,
    const char *addr)
{
	struct store_txn	*t;
	json_t			*o;
	char			*cause = NULL;

	if (control_address(req, addr) == -1)
		return;
	if (store_begin(md->store, 0, &t, &cause) < 0) {
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	o = ledger_recipient_json(t, md->conf, addr, mannersd_now(), &cause);
	store_abort(t);
	if (o == NULL) {
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	control_reply_json(req, 200, o);
	json_decref(o);
}

/* Route a request by method and path. */
static void
control_request(struct evhttp_request *req, void *arg)
{
	struct mannersd	*md = arg;
	enum evhttp_cmd_type m = evhttp_request_get_command(req);
	const char	*path;
	char		*dec = NULL;

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL)
		path = "/";
	if (strcmp(path, "/metrics") == 0) {
		if (m != EVHTTP_REQ_GET)
			goto method;
		metrics_reply(md, req);
		return;
	}
	if (strcmp(path, "/v1/health") == 0) {
		if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD)
			goto method;
		control_health(md, req);
		return;
	}
	if (strcmp(path, "/v1/campaigns") == 0) {
		if (m == EVHTTP_REQ_POST)
			control_submit(md, req);
		else if (m == EVHTTP_REQ_GET)
			control_campaign_list(md, req);
		else
			goto method;
		return;
	}
	if (strncmp(path, "/v1/campaigns/", 14) == 0 && path[14] != '\0') {
		const char	*slash = strchr(path + 14, '/');

		if (slash != NULL) {
			int	 pause = strcmp(slash, "/pause") == 0;

			if (!pause && strcmp(slash, "/resume") != 0)
				goto notfound;
			if (m != EVHTTP_REQ_POST)
				goto method;
			dec = xstrndup(path + 14, (size_t)(slash - path - 14));
			if (!campaign_valid_id(dec))
				control_reply_error(req, 404, "no such campaign "
				    "(bad id)", NULL);
			else
				control_op(md, req, pause ? OP_PAUSE :
				    OP_RESUME, dec, NULL);
			free(dec);
			return;
		}
		dec = evhttp_uridecode(path + 14, 0, NULL);
		if (dec == NULL || !campaign_valid_id(dec)) {
			control_reply_error(req, 404, "no such campaign "
			    "(bad id)", NULL);
			free(dec);
			return;
		}
		if (m == EVHTTP_REQ_GET)
			control_campaign_get(md, req, dec);
		else if (m == EVHTTP_REQ_DELETE)
			control_op(md, req, OP_CANCEL, dec, NULL);
		else {
			free(dec);
			goto method;
		}
		free(dec);
		return;
	}
	if (strcmp(path, "/v1/unsubscribes") == 0) {
		if (m != EVHTTP_REQ_POST)
			goto method;
		control_unsubscribe(md, req);
		return;
	}
	if (strncmp(path, "/v1/unsubscribes/", 17) == 0 && path[17] != '\0') {
		char	*list;

		if (m != EVHTTP_REQ_DELETE)
			goto method;
		dec = evhttp_uridecode(path + 17, 0, NULL);
		list = control_query_value(req, "list");
		if (list != NULL) {
			char	*low = xstrtolower(list);

			free(list);
			list = low;
		}
		if (dec != NULL && control_address(req, dec) == 0 &&
		    control_list(req, list) == 0)
			control_op(md, req, OP_RESUBSCRIBE, dec, list);
		free(list);
		free(dec);
		return;
	}
	if (strncmp(path, "/v1/recipients/", 15) == 0 && path[15] != '\0') {
		if (m != EVHTTP_REQ_GET)
			goto method;
		dec = evhttp_uridecode(path + 15, 0, NULL);
		if (dec != NULL)
			control_recipient(md, req, dec);
		free(dec);
		return;
	}
notfound:
	control_reply_error(req, 404, "no such route", json_pack("{s:s}",
	    "path", path));
	return;
method:
	control_reply_error(req, 405, "method not allowed on this route",
	    json_pack("{s:s}", "path", path));
}

/* Rewrite evhttp's HTML 413 answer into JSON, in place. */
static void
control_out_cb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct mannersd		*md = arg;
	struct evbuffer_ptr	 at, end;
	struct evbuffer		*tmp;
	char			 body[160];
	int			 n;

	if (info->n_added == 0 || md->control_rewriting)
		return;
	at = evbuffer_search(buf, CONTROL_413_HEAD,
	    strlen(CONTROL_413_HEAD), NULL);
	if (at.pos == -1)
		return;
	end = evbuffer_search(buf, CONTROL_413_END, strlen(CONTROL_413_END),
	    &at);
	if (end.pos == -1)
		return;		/* the body is not written yet */
	md->control_rewriting = 1;
	tmp = evbuffer_new();
	evbuffer_remove_buffer(buf, tmp, (size_t)at.pos);
	evbuffer_drain(buf, (size_t)(end.pos - at.pos) +
	    strlen(CONTROL_413_END));
	n = snprintf(body, sizeof body, "{\"error\":\"the request body is "
	    "larger than max_request\",\"detail\":{\"max_request\":%llu}}\n",
	    (unsigned long long)md->conf->max_request);
	evbuffer_add_printf(tmp, "HTTP/1.1 413 Payload Too Large\r\n"
	    "Content-Type: application/json\r\nContent-Length: %d\r\n"
	    "Connection: close\r\n\r\n%s", n, body);
	evbuffer_add_buffer(tmp, buf);
	evbuffer_add_buffer(buf, tmp);
	evbuffer_free(tmp);
	md->control_rewriting = 0;
	log_info("control: request refused: body over max_request=%llu",
	    (unsigned long long)md->conf->max_request);
}

/* evhttp asks for each connection's bufferevent. */
static struct bufferevent *
control_bevcb(struct event_base *base, void *arg)
{
	struct mannersd		*md = arg;
	struct bufferevent	*bev;

	bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (bev != NULL)
		evbuffer_add_cb(bufferevent_get_output(bev), control_out_cb,
		    md);
	return bev;
}

/* Bind the Unix socket, refusing to steal it from a live daemon. */
static int
control_bind(const char *path, char **cause)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path)
		return set_cause(cause, "socket path %s is longer than %zu "
		    "bytes", path, sizeof sun.sun_path - 1);
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return set_cause(cause, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0) {
		close(fd);
		return set_cause(cause, "another mannersd is already "
		    "listening on %s; stop it first (or use another socket)",
		    path);
	}
	close(fd);
	/* Nobody answers: the file (if any) is stale. */
	if (unlink(path) == -1 && errno != ENOENT)
		return set_cause(cause, "cannot remove stale socket %s: %s",
		    path, strerror(errno));
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0)) == -1)
		return set_cause(cause, "socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    chmod(path, 0660) == -1 || listen(fd, 128) == -1) {
		set_cause(cause, "cannot listen on %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
control_start(struct mannersd *md, char **cause)
{
	int	 fd, n;

	/* Socket activation (mannersd.socket) hands us the listener. */
	if ((n = sd_listen_fds(1)) > 1)
		return set_cause(cause, "systemd passed %d sockets; "
		    "mannersd.socket must define exactly one", n);
	if (n == 1) {
		fd = SD_LISTEN_FDS_START;
		if (sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0) <= 0)
			return set_cause(cause, "the socket systemd passed is "
			    "not a listening Unix stream socket");
		evutil_make_socket_nonblocking(fd);
		md->socket_activated = 1;
		log_info("control: using the socket from systemd "
		    "(socket activation)");
	} else if ((fd = control_bind(md->conf->socket, cause)) == -1)
		return -1;
	md->control_fd = fd;
	if ((md->control = evhttp_new(md->base)) == NULL)
		return set_cause(cause, "evhttp_new failed");
	/* The filter enforces max_request; this is the backstop. */
	evhttp_set_max_body_size(md->control,
	    (ev_ssize_t)md->conf->max_request);
	evhttp_set_bevcb(md->control, control_bevcb, md);
	evhttp_set_max_headers_size(md->control, CONTROL_MAX_HEADERS);
	evhttp_set_timeout(md->control, (int)md->conf->request_timeout);
	evhttp_set_allowed_methods(md->control, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_PUT | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(md->control, control_request, md);
	if ((md->control_guard = http_guard_control(md, cause)) == NULL)
		return -1;
	if ((md->control_bound = evhttp_accept_socket_with_handle(md->control,
	    fd)) == NULL)
		return set_cause(cause, "cannot accept on %s",
		    md->conf->socket);
	return 0;
}

/* Stop accepting connections; requests in progress still get answers. */
void
control_stop(struct mannersd *md)
{
	if (md->control_bound == NULL)
		return;
	evhttp_del_accept_socket(md->control, md->control_bound);
	md->control_bound = NULL;
	/* systemd owns an activated socket's file. */
	if (md->conf->socket != NULL && !md->socket_activated)
		unlink(md->conf->socket);
}

/* Free the HTTP server, closing what is still open. */
void
control_free(struct mannersd *md)
{
	control_stop(md);
	if (md->control != NULL)
		evhttp_free(md->control);
	md->control = NULL;
	http_guard_free(md->control_guard);
	md->control_guard = NULL;
}
