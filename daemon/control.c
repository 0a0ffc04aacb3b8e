/*
 * control.c: the control API's socket (bound here, or passed by systemd),
 * its HTTP server and its JSON answers, evhttp's own 413 included.
 *
 * Routes are in control_routes.c, write operations in control_ops.c and
 * the submission pipeline in submit.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <systemd/sd-daemon.h>

#include "conf.h"
#include "http_guard.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

#define CONTROL_MAX_HEADERS	(64 * 1024)

/* Whether the request's Content-Type is type, or alt (NULL: none),
 * parameters aside; a request without one is neither. */
int
control_content_type(struct evhttp_request *req, const char *type,
    const char *alt)
{
	const char	*ct;
	size_t		 n;

	ct = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (ct == NULL)
		return 0;
	n = strcspn(ct, "; \t");
	return (n == strlen(type) && strncasecmp(ct, type, n) == 0) ||
	    (alt != NULL && n == strlen(alt) && strncasecmp(ct, alt, n) == 0);
}

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

/*
 * Read the request's body as a JSON object whose members are all in
 * `keys` with their exact types (null is not a string): a key missing,
 * unknown or of another type is answered 422 naming it, a body that is not
 * an object 400 with `example`.  Returns the object, or NULL once answered.
 */
json_t *
control_json_body(struct evhttp_request *req,
    const struct control_json_key *keys, size_t nkeys, const char *example)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	json_error_t	 jerr;
	json_t		*j, *v;
	const char	*k, *why = NULL, *field = NULL;
	size_t		 i, len = evbuffer_get_length(in);

	j = json_loadb(len > 0 ? (const char *)evbuffer_pullup(in, -1) : "",
	    len, JSON_REJECT_DUPLICATES, &jerr);
	if (j == NULL || !json_is_object(j)) {
		control_reply_error(req, 400, "the body must be a JSON object",
		    j == NULL ? json_pack("{s:s, s:s, s:i, s:i}", "example",
		    example, "json", jerr.text, "line", jerr.line, "column",
		    jerr.column) : json_pack("{s:s}", "example", example));
		json_decref(j);
		return NULL;
	}
	json_object_foreach(j, k, v) {
		for (i = 0; i < nkeys && strcmp(keys[i].name, k) != 0; i++)
			;
		if (i == nkeys) {
			why = "unknown field";
			field = k;
			break;
		}
		if (json_typeof(v) != keys[i].type) {
			why = json_is_null(v) ? "null is not allowed here; "
			    "leave the field out instead" : "wrong type";
			field = k;
			break;
		}
	}
	for (i = 0; why == NULL && i < nkeys; i++)
		if (keys[i].required && json_object_get(j, keys[i].name) ==
		    NULL) {
			why = "missing field";
			field = keys[i].name;
		}
	if (why == NULL)
		return j;
	control_reply_error(req, 422, why, json_pack("{s:s, s:s}", "field",
	    field, "example", example));
	json_decref(j);
	return NULL;
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

/* Listen on the control socket and start the submission parser. */
int
control_start(struct mannersd *md, char **cause)
{
	int	 fd, n;

	if (submit_start(md, cause) == -1)
		return -1;
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
	/* http_guard enforces max_request first; this is the backstop. */
	evhttp_set_max_body_size(md->control,
	    (ev_ssize_t)md->conf->max_request);
	evhttp_set_max_headers_size(md->control, CONTROL_MAX_HEADERS);
	evhttp_set_timeout(md->control, (int)md->conf->request_timeout);
	/* The routes answer 404 or 405 to every method, not evhttp's 501. */
	evhttp_set_allowed_methods(md->control, (ev_uint16_t)
	    control_routes_all_methods());
	evhttp_set_gencb(md->control, control_routes_request, md);
	/* Framing, deadlines and the connection bound, before evhttp reads. */
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
	submit_free(md);
}
