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

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "log.h"
#include "mannersd.h"
#include "record.h"
#include "store.h"
#include "util.h"

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
 * POST /v1/campaigns.  Reading the document and admitting its recipients
 * run on the writer thread (a million recipients take seconds); the
 * request waits, the loop does not.
 */
struct submit {
	struct wjob		 w;
	struct mannersd		*md;
	struct evhttp_request	*req;
	const char		*doc;	/* the request's own buffer */
	size_t			 len;
	int			 dry_run;
	int64_t			 now;
	uint64_t		 max_recipients;
	/* results */
	int			 status;
	json_t			*answer;
	char			*log;
	int			 queued;
};

/* On the writer thread: parse, then decide and queue in one transaction. */
static void
submit_run(struct wjob *w, struct store *store)
{
	struct submit		*sb = (struct submit *)w;
	struct campaign_error	 err;
	struct campaign		*c = NULL;
	struct admit_report	 rep;
	char			*cause = NULL;
	json_t			*detail;
	size_t			 i;

	if (campaign_parse(sb->doc, sb->len, sb->max_recipients, &c,
	    &err) == -1) {
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
	if (admit_campaign(store, sb->md->conf, c, sb->doc, sb->len, sb->now,
	    sb->dry_run, &rep, &sb->status, &cause) == -1) {
		sb->answer = json_pack("{s:s}", "error", cause);
		xasprintf(&sb->log, "campaign not admitted campaign=%s "
		    "status=%d reason=\"%s\"", c->id, sb->status, cause);
		free(cause);
		campaign_free(c);
		return;
	}
	sb->answer = admit_report_json(c, &rep, sb->dry_run);
	if (sb->dry_run)
		sb->status = 200;
	sb->queued = !sb->dry_run && rep.accepted + rep.deferred > 0;
	xasprintf(&sb->log, "campaign %s campaign=%s list=%s recipients=%llu "
	    "accepted=%llu deferred=%llu", sb->dry_run ? "dry-run" :
	    "admitted", c->id, c->list, (unsigned long long)rep.recipients,
	    (unsigned long long)rep.accepted,
	    (unsigned long long)rep.deferred);
	campaign_free(c);
}

/* On the loop: answer the client. */
static void
submit_done(struct wjob *w)
{
	struct submit	*sb = (struct submit *)w;

	control_reply_json(sb->req, sb->status, sb->answer);
	log_info("%s", sb->log);
	if (sb->queued)
		drain_kick(sb->md->drain);
	json_decref(sb->answer);
	free(sb->log);
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
	sb->w.run = submit_run;
	sb->w.done = submit_done;
	sb->md = md;
	sb->req = req;
	sb->len = len;
	/* One contiguous copy inside the request; it lives until we answer. */
	sb->doc = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	sb->dry_run = control_query_flag(req, "dry_run");
	sb->now = mannersd_now();
	sb->max_recipients = md->conf->max_recipients;
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

	if (store_begin(md->store, 0, &t, &cause) < 0 ||
	    store_campaign_list(t, &ids, &cause) < 0) {
		control_reply_error(req, 500, cause, NULL);
		free(cause);
		return;
	}
	store_abort(t);
	o = json_pack("{s:o}", "campaigns", ids);
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
		dec = evhttp_uridecode(path + 14, 0, NULL);
		if (dec == NULL || !campaign_valid_id(dec)) {
			control_reply_error(req, 404, "no such campaign "
			    "(bad id)", NULL);
			free(dec);
			return;
		}
		if (m == EVHTTP_REQ_GET)
			control_campaign_get(md, req, dec);
		else {
			free(dec);
			goto method;
		}
		free(dec);
		return;
	}
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
	int	 fd;

	if ((fd = control_bind(md->conf->socket, cause)) == -1)
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
	if (md->conf->socket != NULL)
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
}
