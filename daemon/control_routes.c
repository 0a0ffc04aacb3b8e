/*
 * control_routes.c: the control API's routes, one row each, and the one
 * place that decodes and checks what a path or a query carries.
 *
 * A request is matched against every row's path pattern; a pattern's
 * "{id}" stands for one path segment, percent-decoded and checked here
 * (no control character, valid UTF-8, then the row's kind: a campaign id
 * or an address) before the handler sees it.  A path that matches a row
 * but not with this method answers 405 with the methods it takes in
 * Allow; a path that matches no row answers 404.
 */
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "addr.h"
#include "campaign.h"
#include "conf.h"
#include "ledger.h"
#include "log.h"
#include "mannersd.h"
#include "store.h"
#include "text.h"
#include "util.h"

/* What a route's {id} names, and so how it is checked. */
enum control_routes_id {
	CONTROL_ID_NONE,	/* the pattern has no {id} */
	CONTROL_ID_CAMPAIGN,	/* campaign_valid_id(), else 404 */
	CONTROL_ID_ADDRESS	/* addr_check(), else 422 */
};

struct control_route {
	int			 methods;	/* EVHTTP_REQ_* it takes */
	const char		*pattern;
	enum control_routes_id	 id;
	control_fn		 fn;
};

static void	control_routes_health(struct mannersd *, struct evhttp_request *,
		    const char *);
static void	control_routes_metrics(struct mannersd *,
		    struct evhttp_request *, const char *);
static void	control_routes_campaigns(struct mannersd *,
		    struct evhttp_request *, const char *);
static void	control_routes_campaign(struct mannersd *,
		    struct evhttp_request *, const char *);
static void	control_routes_recipient(struct mannersd *,
		    struct evhttp_request *, const char *);
static void	control_routes_domains(struct mannersd *,
		    struct evhttp_request *, const char *);

/* The API: adding a route is adding a row. */
static const struct control_route control_routes[] = {
	{ EVHTTP_REQ_GET, "/metrics", CONTROL_ID_NONE,
	  control_routes_metrics },
	{ EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/v1/health", CONTROL_ID_NONE,
	  control_routes_health },
	{ EVHTTP_REQ_GET, "/v1/campaigns", CONTROL_ID_NONE,
	  control_routes_campaigns },
	{ EVHTTP_REQ_POST, "/v1/campaigns", CONTROL_ID_NONE,
	  submit_request },
	{ EVHTTP_REQ_GET, "/v1/campaigns/{id}", CONTROL_ID_CAMPAIGN,
	  control_routes_campaign },
	{ EVHTTP_REQ_DELETE, "/v1/campaigns/{id}", CONTROL_ID_CAMPAIGN,
	  control_ops_campaign },
	{ EVHTTP_REQ_POST, "/v1/campaigns/{id}/pause", CONTROL_ID_CAMPAIGN,
	  control_ops_campaign },
	{ EVHTTP_REQ_POST, "/v1/campaigns/{id}/resume", CONTROL_ID_CAMPAIGN,
	  control_ops_campaign },
	{ EVHTTP_REQ_GET, "/v1/recipients/{id}", CONTROL_ID_ADDRESS,
	  control_routes_recipient },
	{ EVHTTP_REQ_DELETE, "/v1/recipients/{id}", CONTROL_ID_ADDRESS,
	  control_ops_erase },
	{ EVHTTP_REQ_POST, "/v1/unsubscribes", CONTROL_ID_NONE,
	  control_ops_unsubscribe },
	{ EVHTTP_REQ_POST, "/v1/feedback", CONTROL_ID_NONE, intake_request },
	{ EVHTTP_REQ_POST, "/v1/backup", CONTROL_ID_NONE, backup_request },
	{ EVHTTP_REQ_DELETE, "/v1/unsubscribes/{id}", CONTROL_ID_ADDRESS,
	  control_ops_resubscribe },
	{ EVHTTP_REQ_GET, "/v1/domains", CONTROL_ID_NONE,
	  control_routes_domains },
};

/* Method names for Allow, in libevent's bit order. */
static const struct {
	int		 method;
	const char	*name;
} control_routes_methods[] = {
	{ EVHTTP_REQ_GET, "GET" },
	{ EVHTTP_REQ_POST, "POST" },
	{ EVHTTP_REQ_HEAD, "HEAD" },
	{ EVHTTP_REQ_PUT, "PUT" },
	{ EVHTTP_REQ_DELETE, "DELETE" },
	{ EVHTTP_REQ_OPTIONS, "OPTIONS" },
	{ EVHTTP_REQ_TRACE, "TRACE" },
	{ EVHTTP_REQ_CONNECT, "CONNECT" },
	{ EVHTTP_REQ_PATCH, "PATCH" },
};

/* Every method libevent parses: evhttp hands each one to us. */
int
control_routes_all_methods(void)
{
	size_t	 i;
	int	 all = 0;

	for (i = 0; i < nitems(control_routes_methods); i++)
		all |= control_routes_methods[i].method;
	return all;
}

/*
 * Percent-decode n bytes of a path segment or query value ('+' is a space
 * when plus), refusing a broken escape, a control character (NUL, C0,
 * DEL, C1) or invalid UTF-8: such a value would be cut short or read
 * differently further on.  Returns the value or NULL with *cause.
 */
char *
control_routes_decode(const char *s, size_t n, int plus, char **cause)
{
	const char	*why;
	char		*out;
	size_t		 i, o = 0;
	int		 hi, lo;

	out = xmalloc(n + 1);
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3 || (hi = hexdigit(s[i + 1])) == -1 ||
			    (lo = hexdigit(s[i + 2])) == -1) {
				set_cause(cause, "a %% not followed by two hex "
				    "digits");
				free(out);
				return NULL;
			}
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else if (plus && s[i] == '+')
			out[o++] = ' ';
		else
			out[o++] = s[i];
	}
	/* NUL, C0, DEL, C1 or invalid UTF-8 (lib/text.c). */
	if (text_check(out, o, TEXT_LINE, &why) == -1) {
		set_cause(cause, "%s", why);
		free(out);
		return NULL;
	}
	out[o] = '\0';
	return out;
}

/*
 * A query parameter, decoded and checked: 1 with *value (the caller frees
 * it), 0 when absent, -1 after answering 400 for a malformed value.
 */
int
control_routes_query(struct evhttp_request *req, const char *name,
    char **value)
{
	const char	*q, *p, *end, *eq;
	char		*cause = NULL;
	size_t		 nlen = strlen(name);

	*value = NULL;
	q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	for (p = q; p != NULL && *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		eq = memchr(p, '=', (size_t)(end - p));
		if (eq == NULL || (size_t)(eq - p) != nlen ||
		    strncmp(p, name, nlen) != 0)
			continue;
		/* The first one counts, as evhttp_find_header() did. */
		eq++;
		if ((*value = control_routes_decode(eq, (size_t)(end - eq), 1,
		    &cause)) == NULL) {
			control_reply_error(req, 400, "malformed query "
			    "parameter", json_pack("{s:s, s:s}", "parameter",
			    name, "problem", cause));
			free(cause);
			return -1;
		}
		return 1;
	}
	return 0;
}

/*
 * Does path match pattern?  Each "{id}" takes one non-empty segment,
 * whose raw bytes are returned in *id and *idlen.
 */
static int
control_routes_match(const char *pattern, const char *path, const char **id,
    size_t *idlen)
{
	const char	*brace;
	size_t		 n;

	*id = NULL;
	*idlen = 0;
	if ((brace = strstr(pattern, "{id}")) == NULL)
		return strcmp(pattern, path) == 0;
	n = (size_t)(brace - pattern);
	if (strncmp(pattern, path, n) != 0)
		return 0;
	*id = path + n;
	*idlen = strcspn(*id, "/");
	if (*idlen == 0)
		return 0;
	return strcmp(brace + 4, *id + *idlen) == 0;
}

/* Decode and check a route's id; answers and returns NULL when refused. */
static char *
control_routes_id(const struct control_route *r, struct evhttp_request *req,
    const char *raw, size_t len)
{
	char	*id, *cause = NULL;

	if ((id = control_routes_decode(raw, len, 0, &cause)) == NULL) {
		control_reply_error(req, 400, "malformed id in the path",
		    json_pack("{s:s}", "problem", cause));
		free(cause);
		return NULL;
	}
	switch (r->id) {
	case CONTROL_ID_CAMPAIGN:
		if (campaign_valid_id(id))
			return id;
		control_reply_error(req, 404, "no such campaign (bad id)",
		    NULL);
		break;
	case CONTROL_ID_ADDRESS:
		if (addr_check(id, strlen(id), &cause) == 0)
			return id;
		control_reply_error(req, 422, "invalid address",
		    json_pack("{s:s}", "address", cause));
		free(cause);
		break;
	case CONTROL_ID_NONE:
		return id;
	}
	free(id);
	return NULL;
}

/* 405 for a path that takes other methods, naming them in Allow. */
static void
control_routes_not_allowed(struct evhttp_request *req, const char *path,
    int allowed)
{
	char	 allow[96];
	size_t	 i, n = 0;

	/* Nine names of at most 7 letters and their commas fit. */
	allow[0] = '\0';
	for (i = 0; i < nitems(control_routes_methods); i++) {
		if ((allowed & control_routes_methods[i].method) == 0)
			continue;
		n += (size_t)snprintf(allow + n, sizeof allow - n, "%s%s",
		    n > 0 ? ", " : "", control_routes_methods[i].name);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	control_reply_error(req, 405, "method not allowed on this route",
	    json_pack("{s:s, s:s}", "path", path, "allow", allow));
}

/* The answer is written out: close the connection under evhttp. */
static void
control_routes_hang_up(struct evhttp_request *req, void *arg)
{
	struct evhttp_connection	*evcon;

	(void)arg;
	/* The client sees the end; evhttp sees it too, and frees. */
	if ((evcon = evhttp_request_get_connection(req)) != NULL)
		shutdown(bufferevent_getfd(evhttp_connection_get_bufferevent(
		    evcon)), SHUT_RDWR);
}

/* evhttp's callback: route a request by the table. */
void
control_routes_request(struct evhttp_request *req, void *arg)
{
	struct mannersd			*md = arg;
	const struct control_route	*r, *hit = NULL;
	enum evhttp_cmd_type		 m = evhttp_request_get_command(req);
	const char			*path, *raw = NULL, *at;
	char				*id = NULL;
	size_t				 i, len, atlen;
	int				 allowed = 0;

	/*
	 * evhttp sends CONNECT's answer without a length and then keeps
	 * the connection: only its end can end the answer for the client.
	 */
	if (m == EVHTTP_REQ_CONNECT)
		evhttp_request_set_on_complete_cb(req, control_routes_hang_up,
		    NULL);
	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || *path == '\0')
		path = "/";
	for (i = 0; i < nitems(control_routes); i++) {
		r = &control_routes[i];
		if (!control_routes_match(r->pattern, path, &at, &atlen))
			continue;
		allowed |= r->methods;
		if ((r->methods & (int)m) != 0 && hit == NULL) {
			hit = r;
			raw = at;
			len = atlen;
		}
	}
	if (hit == NULL && allowed != 0) {
		control_routes_not_allowed(req, path, allowed);
		return;
	}
	if (hit == NULL) {
		control_reply_error(req, 404, "no such route",
		    json_pack("{s:s}", "path", path));
		return;
	}
	if (raw != NULL && (id = control_routes_id(hit, req, raw,
	    len)) == NULL)
		return;
	hit->fn(md, req, id);
	free(id);
}

/* GET /v1/health. */
static void
control_routes_health(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	json_t	*o;

	(void)id;
	o = json_pack("{s:s, s:o}", "status", md->stopping ? "stopping" : "ok",
	    "drain", drain_stats(md->drain));
	control_reply_json(req, md->stopping ? 503 : 200, o);
	json_decref(o);
}

/* GET /v1/domains: pacing units, quotas, ramps, shaping actions. */
static void
control_routes_domains(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	json_t	*o;

	(void)id;
	o = drain_domains(md->drain);
	control_reply_json(req, 200, o);
	json_decref(o);
}

/* GET /metrics. */
static void
control_routes_metrics(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	(void)id;
	metrics_reply(md, req);
}

/* GET /v1/campaigns: every campaign's id. */
static void
control_routes_campaigns(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	struct store_txn	*t;
	json_t			*ids = NULL, *o;
	char			*cause = NULL;

	(void)id;
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

/* GET /v1/campaigns/{id}: its state and counters. */
static void
control_routes_campaign(struct mannersd *md, struct evhttp_request *req,
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

/* GET /v1/recipients/{address}. */
static void
control_routes_recipient(struct mannersd *md, struct evhttp_request *req,
    const char *addr)
{
	struct store_txn	*t;
	json_t			*o;
	char			*cause = NULL;

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
