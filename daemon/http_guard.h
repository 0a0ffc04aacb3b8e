/*
 * http_guard.h: what stands between a hostile client and evhttp, on
 * both listeners.
 *
 * Every connection's bytes pass a filter (lib/http_frame) before evhttp
 * parses them: a request whose framing is ambiguous or malformed is
 * refused in the listener's own style (JSON on the control socket, a
 * page with its security headers on the public listener) and the
 * connection closed.  A request must arrive whole within
 * request_timeout of its first byte, and a listener holds at most
 * max_connections connections.
 */
#ifndef MANNERS_HTTP_GUARD_H
#define MANNERS_HTTP_GUARD_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct evhttp;
struct event_base;
struct mannersd;
struct http_guard;

/* Read for each connection and request, so a reload applies. */
struct http_guard_limits {
	unsigned	 request_timeout;	/* seconds, first byte to last */
	unsigned	 max_connections;
	uint64_t	 max_body;
};

struct http_guard_refusal {
	int		 code;
	const char	*why;		/* what is wrong, one sentence */
	const char	*accept_language;	/* the request's, where it
					   could be read safely; "": not */
};

struct http_guard_opts {
	const char	*name;		/* "control", "public": the log's */
	size_t		 max_head;
	const char	*allow;		/* Allow: of a 405 before routing */
	void		 (*limits)(void *, struct http_guard_limits *);
	/* Does a POST to this target (path and query) need a body?  Then
	   one without a length is 411.  NULL: never. */
	int		 (*needs_body)(void *, const char *, size_t);
	/* The refusal's header lines ("Name: value\r\n") and body. */
	void		 (*render)(void *, const struct http_guard_refusal *,
			    struct evbuffer *, struct evbuffer *);
};

/* arg: what the opts' functions are called with. */
struct http_guard	*http_guard_attach(struct evhttp *, struct event_base *,
			    const struct http_guard_opts *, void *, char **);
void			 http_guard_free(struct http_guard *);
struct http_guard	*http_guard_control(struct mannersd *, char **);

#endif
