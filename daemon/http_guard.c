/*
 * http_guard.c: the hardening both listeners share (see http_guard.h).
 *
 * libevent 2.1's evhttp reads the first Content-Length it finds, lets a
 * NUL cut a header value short, answers its own errors with bare HTML,
 * and only times out idleness.  It has no hook before it parses a
 * request, but it takes each connection's bufferevent from us
 * (evhttp_set_bevcb), and a callback on that bufferevent's input buffer
 * runs as bytes arrive, before evhttp's read callback.  There the bytes
 * just read are taken out and put back only once lib/http_frame has
 * checked them: evhttp never sees a request that was refused.
 *
 * (A filtering bufferevent would be the textbook place, but evhttp
 * takes an empty filter output for "written" and frees the connection
 * with the answer still in the socket's buffer: a closing answer would
 * be lost.)
 *
 * A refusal is written to the socket under evhttp, which is then shut
 * for writing and read for a moment (so the client reads the answer
 * rather than a reset) before evhttp is told the connection failed and
 * frees it.  One struct http_guard_conn per connection, freed by
 * evhttp's close callback; the guard is counted by its connections, so
 * it outlives evhttp_free() whatever order things go in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "conf.h"
#include "http_frame.h"
#include "http_guard.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

#define HTTP_GUARD_LINGER	2	/* seconds to drain after a refusal */
/* evhttp_send_error()'s page, and its end. */
#define HTTP_GUARD_PAGE		"<HTML><HEAD>\n<TITLE>"
#define HTTP_GUARD_PAGE_END	"</BODY></HTML>\n"
#define HTTP_GUARD_CONTROL_HEAD	(64 * 1024)

struct http_guard {
	struct http_guard_opts	 opts;
	void			*arg;		/* the opts' functions' */
	struct event_base	*base;
	unsigned		 open;		/* connections */
	unsigned		 refs;		/* 1 + open */
};

/* A connection's life, as the guard sees it. */
enum http_guard_phase {
	HG_OPEN,	/* checked requests pass on to evhttp */
	HG_LINGER	/* refused, answered and shut; draining */
};

struct http_guard_conn {
	struct http_guard		*g;
	struct bufferevent		*bev;	/* evhttp's */
	struct evhttp_connection	*evcon;	/* once known */
	struct evbuffer_cb_entry	*incb;
	struct evbuffer_cb_entry	*outcb;
	struct evbuffer			*raw;	/* read, not yet checked */
	struct http_frame		*frame;
	struct event			*deadline;	/* request_timeout */
	struct event			*next;		/* the phase's next step */
	enum http_guard_phase		 phase;
	int				 over;	/* over max_connections */
	int				 busy;	/* rewriting a buffer: our own changes */
	int				 hangup; /* close once the answer is out */
};

/* Let go of the guard when the last holder does. */
static void
http_guard_unref(struct http_guard *g)
{
	if (--g->refs == 0)
		free(g);
}

/* evhttp closes the connection: let go of ours. */
static void
http_guard_closecb(struct evhttp_connection *evcon, void *arg)
{
	struct http_guard_conn	*c = arg;

	/* A reset may come before the free: only the first counts. */
	evhttp_connection_set_closecb(evcon, NULL, NULL);
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->incb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->outcb);
	c->g->open--;
	http_guard_unref(c->g);
	event_free(c->deadline);
	event_free(c->next);
	evbuffer_free(c->raw);
	http_frame_free(c->frame);
	free(c);
}

/* Find evhttp's connection behind the bufferevent, to hear it close. */
static void
http_guard_adopt(struct http_guard_conn *c)
{
	void	*arg = NULL;

	if (c->evcon != NULL)
		return;
	bufferevent_getcb(c->bev, NULL, NULL, NULL, &arg);
	if ((c->evcon = arg) != NULL)
		evhttp_connection_set_closecb(c->evcon, http_guard_closecb, c);
}

/* The whole answer to a refusal of c's request: status, headers, body. */
static void
http_guard_answer(struct http_guard_conn *c, int code, const char *why,
    struct evbuffer *out)
{
	struct http_guard		*g = c->g;
	struct http_guard_refusal	 r = { code, why,
					    http_frame_language(c->frame) };
	struct evbuffer			*body = evbuffer_new();

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n", code,
	    http_frame_reason(code));
	if (code == 405 && g->opts.allow != NULL)
		evbuffer_add_printf(out, "Allow: %s\r\n", g->opts.allow);
	g->opts.render(g->arg, &r, out, body);
	evbuffer_add_printf(out, "Content-Length: %zu\r\nConnection: close\r\n"
	    "\r\n", evbuffer_get_length(body));
	evbuffer_add_buffer(out, body);
	evbuffer_free(body);
}

/* The answer is out: shut the connection as after a refusal. */
static void
http_guard_hang_up(struct http_guard_conn *c)
{
	struct timeval	 tv = { HTTP_GUARD_LINGER, 0 };

	if (c->phase != HG_OPEN)
		return;
	c->phase = HG_LINGER;
	evtimer_del(c->deadline);
	shutdown(bufferevent_getfd(c->bev), SHUT_WR);
	evtimer_add(c->next, &tv);
}

/*
 * The backstop: should evhttp still refuse something itself (its bare
 * HTML page), replace that answer in its output with ours.
 */
static void
http_guard_outcb(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_guard_conn	*c = arg;
	struct evbuffer_ptr	 page, end, at, head;
	struct evbuffer		*tmp;
	char			 status[16], why[64];
	int			 code;

	if (c->hangup && info->n_deleted > 0 && evbuffer_get_length(buf) == 0)
		http_guard_hang_up(c);
	if (info->n_added == 0 || c->busy)
		return;
	page = evbuffer_search(buf, HTTP_GUARD_PAGE, strlen(HTTP_GUARD_PAGE),
	    NULL);
	if (page.pos == -1 || (end = evbuffer_search(buf, HTTP_GUARD_PAGE_END,
	    strlen(HTTP_GUARD_PAGE_END), &page)).pos == -1)
		return;		/* none, or not all written yet */
	/* Its status line: the last "HTTP/1." before the page. */
	head.pos = -1;
	at = evbuffer_search(buf, "HTTP/1.", 7, NULL);
	while (at.pos != -1 && at.pos < page.pos) {
		head = at;
		evbuffer_ptr_set(buf, &at, 1, EVBUFFER_PTR_ADD);
		at = evbuffer_search(buf, "HTTP/1.", 7, &at);
	}
	if (head.pos == -1 || evbuffer_copyout_from(buf, &head, status,
	    sizeof status - 1) < 12)
		return;
	status[12] = '\0';
	code = atoi(status + 9);
	c->busy = 1;
	tmp = evbuffer_new();
	evbuffer_remove_buffer(buf, tmp, (size_t)head.pos);
	evbuffer_drain(buf, (size_t)(end.pos - head.pos) +
	    strlen(HTTP_GUARD_PAGE_END));
	snprintf(why, sizeof why, "the request could not be read (%d %s)",
	    code, http_frame_reason(code));
	http_guard_answer(c, code, why, tmp);
	evbuffer_add_buffer(tmp, buf);
	evbuffer_add_buffer(buf, tmp);
	evbuffer_free(tmp);
	c->busy = 0;
	log_info("%s: refused with %d by evhttp: %s", c->g->opts.name, code,
	    why);
}

/* Answer with a refusal, under evhttp, and shut the connection. */
static void
http_guard_refuse(struct http_guard_conn *c, int code, const char *why)
{
	struct evbuffer			*out;
	struct timeval			 tv = { HTTP_GUARD_LINGER, 0 };
	evutil_socket_t			 fd = bufferevent_getfd(c->bev);
	unsigned char			*p;
	size_t				 len;
	ssize_t				 n;

	if (c->phase != HG_OPEN)
		return;
	c->phase = HG_LINGER;
	evtimer_del(c->deadline);
	out = evbuffer_new();
	http_guard_answer(c, code, why, out);
	/*
	 * Straight to the socket: evhttp's own output callbacks belong to
	 * its last answer.  A refusal is small and the socket's buffer
	 * empty; what does not fit is a client not reading: dropped.
	 */
	len = evbuffer_get_length(out);
	p = evbuffer_pullup(out, -1);
	while (fd != -1 && len > 0 && (n = send(fd, p, len, MSG_NOSIGNAL |
	    MSG_DONTWAIT)) > 0) {
		p += n;
		len -= (size_t)n;
	}
	if (fd != -1)
		shutdown(fd, SHUT_WR);
	evbuffer_free(out);
	evtimer_add(c->next, &tv);
	log_info("%s: refused with %d: %s", c->g->opts.name, code, why);
}

/*
 * The next step of a connection: hear about its close and refuse one
 * over the limit (just after accept), or close one that has lingered.
 */
static void
http_guard_next(evutil_socket_t fd, short what, void *arg)
{
	struct http_guard_conn	*c = arg;
	char			 why[96];

	(void)fd;
	(void)what;
	http_guard_adopt(c);
	if (c->phase == HG_OPEN && c->over) {
		snprintf(why, sizeof why, "too many connections (%u open, "
		    "max_connections)", c->g->open);
		http_guard_refuse(c, 503, why);
	} else if (c->phase == HG_LINGER && c->evcon != NULL) {
		/* evhttp frees the connection (and c) on this. */
		bufferevent_trigger_event(c->bev, BEV_EVENT_ERROR |
		    BEV_EVENT_READING, 0);
	}
}

/* A request took longer than request_timeout to arrive. */
static void
http_guard_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct http_guard_conn	*c = arg;
	struct http_guard_limits lim;
	char			 why[120];

	(void)fd;
	(void)what;
	c->g->opts.limits(c->g->arg, &lim);
	snprintf(why, sizeof why, "the request did not arrive within "
	    "request_timeout (%us)", lim.request_timeout);
	http_guard_refuse(c, 408, why);
}

/* Start the clock on a request's first byte, with the limits now. */
static void
http_guard_arm(struct http_guard_conn *c)
{
	struct http_guard_limits lim;
	struct http_frame_limits fl;
	struct timeval		 tv;

	if (evtimer_pending(c->deadline, NULL))
		return;
	c->g->opts.limits(c->g->arg, &lim);
	fl.max_head = c->g->opts.max_head;
	fl.max_body = lim.max_body;
	http_frame_set_limits(c->frame, &fl);
	tv.tv_sec = lim.request_timeout;
	tv.tv_usec = 0;
	evtimer_add(c->deadline, &tv);
}

/* Hand evhttp (in) what http_frame has checked of c->raw. */
static void
http_guard_check(struct http_guard_conn *c, struct evbuffer *in)
{
	struct http_frame_step	 st;
	size_t			 avail, want;
	const char		*p;

	while (c->phase == HG_OPEN && (avail = evbuffer_get_length(c->raw)) > 0) {
		http_guard_arm(c);
		want = http_frame_want(c->frame, avail);
		p = want > 0 ? (const char *)evbuffer_pullup(c->raw,
		    (ev_ssize_t)want) : NULL;
		http_frame_feed(c->frame, p, want > 0 ? want : avail, &st);
		if (st.act == HTTP_FRAME_MORE)
			break;
		if (st.act == HTTP_FRAME_PASS && st.no_length &&
		    c->g->opts.needs_body != NULL && c->g->opts.needs_body(
		    c->g->arg, st.target, st.target_len)) {
			st.code = 411;
			snprintf(st.why, sizeof st.why, "this POST needs a "
			    "Content-Length (or Transfer-Encoding: chunked)");
			st.act = HTTP_FRAME_REFUSE;
		}
		if (st.act == HTTP_FRAME_REFUSE) {
			http_guard_refuse(c, st.code, st.why);
			break;
		}
		/* evhttp answers CONNECT without a length (a tunnel would
		   follow) and keeps the connection: only its end can end
		   the answer.  Hang up once the answer is out. */
		if (st.method != NULL && strcmp(st.method, "CONNECT") == 0)
			c->hangup = 1;
		if (st.act == HTTP_FRAME_PASS)
			evbuffer_remove_buffer(c->raw, in, st.take);
		else {
			evbuffer_drain(c->raw, st.take);
			evbuffer_add(in, st.emit, st.emitlen);
		}
		if (st.done)
			evtimer_del(c->deadline);
	}
}

/*
 * Body bytes of a known length are counted, not read (http_frame_want()
 * is 0 for them), so they may stay where they arrived: moving every read
 * of a 54 MB submission out of evhttp's input and back made admission
 * quadratic (15 s instead of 2.5 for a million recipients).  Returns 1
 * when the new bytes were all such bytes; otherwise 0, with the frame
 * untouched or, when the body ends inside them, the bytes after its end
 * moved to c->raw for http_guard_check().
 */
static int
http_guard_body(struct http_guard_conn *c, struct evbuffer *in,
    const struct evbuffer_cb_info *info)
{
	struct http_frame_step	 st;
	struct evbuffer		*tmp;

	if (c->over || c->phase != HG_OPEN || evbuffer_get_length(c->raw) > 0 ||
	    http_frame_want(c->frame, info->n_added) != 0)
		return 0;
	http_guard_arm(c);
	http_frame_feed(c->frame, NULL, info->n_added, &st);
	if (st.act != HTTP_FRAME_PASS)
		return 0;	/* nothing taken: http_guard_check() decides */
	if (st.done)
		evtimer_del(c->deadline);
	if (st.take == info->n_added)
		return 1;
	/* The next request begins inside this read: check it as usual. */
	tmp = evbuffer_new();
	evbuffer_remove_buffer(in, tmp, info->orig_size + st.take);
	evbuffer_add_buffer(c->raw, in);
	evbuffer_add_buffer(in, tmp);
	evbuffer_free(tmp);
	http_guard_check(c, in);
	return 1;
}

/*
 * Bytes were read into evhttp's input: take them back out, and put back
 * what passes.  Runs inside the socket read, before evhttp looks.
 */
static void
http_guard_incb(struct evbuffer *in, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct http_guard_conn	*c = arg;
	struct evbuffer		*checked;

	if (info->n_added == 0 || c->busy)
		return;
	c->busy = 1;
	http_guard_adopt(c);
	if (http_guard_body(c, in, info)) {
		c->busy = 0;
		return;
	}
	/* What was there before is checked already and stays in front. */
	checked = evbuffer_new();
	evbuffer_remove_buffer(in, checked, info->orig_size);
	evbuffer_add_buffer(c->raw, in);
	evbuffer_add_buffer(in, checked);
	evbuffer_free(checked);
	/* One over max_connections is refused on the next turn, unread. */
	if (c->over || c->phase != HG_OPEN)
		evbuffer_drain(c->raw, evbuffer_get_length(c->raw));
	else
		http_guard_check(c, in);
	c->busy = 0;
}

/* evhttp asks for a new connection's bufferevent. */
static struct bufferevent *
http_guard_bevcb(struct event_base *base, void *arg)
{
	struct http_guard	*g = arg;
	struct http_guard_conn	*c = xcalloc(1, sizeof *c);
	struct http_guard_limits lim;
	struct http_frame_limits fl;

	g->opts.limits(g->arg, &lim);
	fl.max_head = g->opts.max_head;
	fl.max_body = lim.max_body;
	c->g = g;
	c->frame = http_frame_new(&fl);
	c->raw = evbuffer_new();
	c->deadline = evtimer_new(base, http_guard_deadline, c);
	c->next = evtimer_new(base, http_guard_next, c);
	if ((c->bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL)
		fatalx("%s: cannot make a connection's bufferevent",
		    g->opts.name);
	c->incb = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    http_guard_incb, c);
	c->outcb = evbuffer_add_cb(bufferevent_get_output(c->bev),
	    http_guard_outcb, c);
	g->open++;
	g->refs++;
	c->over = g->open > lim.max_connections;
	/* On the next turn of the loop evhttp has made its connection:
	   adopt it, and refuse it if it is one too many. */
	event_active(c->next, EV_TIMEOUT, 1);
	return c->bev;
}

/*
 * Guard the server http: every connection through the filter, every
 * method evhttp knows let through to the handler (which answers 404 or
 * 405 itself: evhttp's own 501 is a bare page).
 */
struct http_guard *
http_guard_attach(struct evhttp *http, struct event_base *base,
    const struct http_guard_opts *opts, void *arg, char **cause)
{
	struct http_guard	*g;

	if (opts->limits == NULL || opts->render == NULL) {
		set_cause(cause, "%s: a guard needs limits and a renderer",
		    opts->name);
		return NULL;
	}
	g = xcalloc(1, sizeof *g);
	g->opts = *opts;
	g->arg = arg;
	g->base = base;
	g->refs = 1;
	evhttp_set_bevcb(http, http_guard_bevcb, g);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	return g;
}

/* Drop the guard; call after evhttp_free() (connections may outlive it
   until libevent finalises them). */
void
http_guard_free(struct http_guard *g)
{
	if (g != NULL)
		http_guard_unref(g);
}

/* The control socket's limits, from the configuration now. */
static void
http_guard_control_limits(void *arg, struct http_guard_limits *lim)
{
	struct mannersd	*md = arg;

	lim->request_timeout = (unsigned)md->conf->request_timeout;
	lim->max_connections = (unsigned)md->conf->max_connections;
	lim->max_body = md->conf->max_request;
}

/* The control routes whose POST carries a document (pause and resume
   take none). */
static int
http_guard_control_needs_body(void *arg, const char *target, size_t len)
{
	static const char *const routes[] = { "/v1/campaigns",
	    "/v1/unsubscribes", "/v1/feedback", "/v1/backup" };
	const char	*q = memchr(target, '?', len);
	size_t		 i, n = q != NULL ? (size_t)(q - target) : len;

	(void)arg;
	/* target is the request line's bytes: not NUL-terminated. */
	for (i = 0; i < nitems(routes); i++)
		if (strlen(routes[i]) == n && memcmp(target, routes[i], n) == 0)
			return 1;
	return 0;
}

/* The control API's JSON error, {"error": ..., "detail": ...}. */
static void
http_guard_control_render(void *arg, const struct http_guard_refusal *r,
    struct evbuffer *head, struct evbuffer *body)
{
	struct mannersd	*md = arg;
	json_t		*o;
	char		*s;

	if (r->code == 413)
		o = json_pack("{s:s, s:{s:I}}", "error", "the request body is "
		    "larger than max_request", "detail", "max_request",
		    (json_int_t)md->conf->max_request);
	else
		o = json_pack("{s:s, s:{s:i}}", "error", r->why, "detail",
		    "status", r->code);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	evbuffer_add_printf(head, "Content-Type: application/json\r\n");
	evbuffer_add_printf(body, "%s\n", s != NULL ? s :
	    "{\"error\":\"bad request\"}");
	free(s);
	json_decref(o);
}

/* The control socket's guard: JSON refusals, the API's methods. */
static const struct http_guard_opts http_guard_control_opts = {
	.name = "control",
	.max_head = HTTP_GUARD_CONTROL_HEAD,
	.allow = "GET, HEAD, POST, DELETE",
	.limits = http_guard_control_limits,
	.needs_body = http_guard_control_needs_body,
	.render = http_guard_control_render,
};

/* Guard the control socket's server, md->control. */
struct http_guard *
http_guard_control(struct mannersd *md, char **cause)
{
	return http_guard_attach(md->control, md->base,
	    &http_guard_control_opts, md, cause);
}
