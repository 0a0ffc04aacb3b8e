/*
 * fuzz_http.c: libFuzzer target for the control API and the public
 * unsubscribe pages, from raw HTTP bytes to the real request handlers.
 *
 * The daemon's own control.c, unsub_http.c and metrics.c are compiled in, and
 * their servers are started by control_start() and unsub_http_start() with a
 * real store in a private directory; the public server also accepts on a
 * Unix socket next to the control socket.  Each input is written to a
 * fresh connection; once the server has read it all and answered what it
 * could, the write side is shut and the loop runs until the server
 * closes.  (evhttp drops an answer it is still writing when the client's
 * end of file arrives, so shutting at once would lose the answers.)
 * Every request in the input, pipelined ones included, is parsed by
 * evhttp and routed by control_routes_request() or unsub_http_request().
 *
 * The writer and parser threads are replaced by a synchronous
 * writer_submit() and jobthread_submit(), and the drain by stubs, so an
 * input's effect is complete when its answer is.
 * After an input that wrote, the store is recreated and seeded again (the
 * campaign below: list 1, alice rid 1, bob rid 2), so every input starts
 * from the same state and the clock stands still at FUZZ_HTTP_NOW.
 *
 * Input: the first byte picks the server (odd: control, even: public;
 * the corpus uses 'c' and 'p'); the rest is sent as is.
 *
 * Findings: an answer 500; evhttp's own bare HTML error page (every
 * refusal must be the listener's: http_guard.c); HTML on the control
 * socket; a public answer without the pages' security headers; a
 * connection the server keeps after its client went (FUZZ_HTTP_STUCK).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <linux/sockios.h>
#include <poll.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/bufferevent.h>
#include <event2/event.h>

#include "../../daemon/control.c"
#include "../../daemon/control_ops.c"
#include "../../daemon/control_routes.c"
#include "../../daemon/http_guard.c"
#include "../../daemon/intake.c"
#include "../../daemon/submit.c"
#include "../../daemon/metrics.c"
#include "../../daemon/unsub_http.c"

/* 2026-01-01T00:00:00Z: tokens in the corpus are issued at this time. */
#define FUZZ_HTTP_NOW		INT64_C(1767225600)
/* A server that has not closed by then is stuck: a finding. */
#define FUZZ_HTTP_STUCK		10
/* Answers kept for the checks; more is read and dropped. */
#define FUZZ_HTTP_KEEP		(256 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* The seeded state: one campaign to list news.example.com. */
static const char fuzz_http_seed[] =
    "<campaign id=\"nov-update\" list=\"news.example.com\">\n"
    "  <from name=\"Example Shop\">news@example.com</from>\n"
    "  <subject>Our November update</subject>\n"
    "  <text>Hi {{name}} ... {{unsubscribe_url}}</text>\n"
    "  <recipients>\n"
    "    <to name=\"Alice\">alice@example.org</to>\n"
    "    <to>bob@example.net</to>\n"
    "  </recipients>\n"
    "</campaign>\n";

struct fuzz_http {
	struct mannersd	 md;
	char		 dir[64];		/* private directory */
	char		 state[96];		/* its store */
	char		 public_sock[96];	/* the public Unix socket */
	int		 public_fd;
	int		 dirty;			/* a writer job ran */
	struct bufferevent *bev;		/* the server's end */
};

static struct fuzz_http	*fuzz_http;

/* One connection: what is left to send, and what came back. */
struct fuzz_http_client {
	struct event_base	*base;
	struct event		*rev;
	struct event		*wev;
	struct event		*stuck;
	int			 fd;
	const uint8_t		*data;
	size_t			 len;
	size_t			 off;
	int			 shut;		/* write side shut */
	int			 closed;	/* the server closed */
	size_t			 last_in;	/* the server's unread bytes */
	int			 still;		/* loop turns without change */
	struct buf		 in;
};

/* The daemon's functions that control.c, unsub_http.c and metrics.c call. */

int64_t
mannersd_now(void)
{
	return FUZZ_HTTP_NOW;
}

void
mannersd_shutdown(struct mannersd *md)
{
	md->stopping = 1;
}

/* The writer, synchronous: run() then done(), as the loop would see. */
void
writer_submit(struct writer *w, struct wjob *j)
{
	(void)w;
	/* Reading and weighing a campaign (the parser's job) writes nothing. */
	fuzz_http->dirty = 1;
	j->run(j, fuzz_http->md.store);
	j->done(j);
}

void
writer_hold(struct writer *w)
{
	(void)w;
}

void
writer_release(struct writer *w)
{
	(void)w;
}

/* The submission parser's thread, synchronous as the writer is. */
struct jobthread *
jobthread_new(struct event_base *base, const char *name, struct store *store,
    char **cause)
{
	static char	 parser;

	(void)base;
	(void)name;
	(void)store;
	(void)cause;
	return (struct jobthread *)(void *)&parser;
}

void
jobthread_submit(struct jobthread *jt, struct wjob *j)
{
	(void)jt;
	j->run(j, NULL);
	j->done(j);
}

void
jobthread_submit_first(struct jobthread *jt, struct wjob *j)
{
	jobthread_submit(jt, j);
}

void
jobthread_free(struct jobthread *jt)
{
	(void)jt;
}

json_t *
drain_stats(struct drain *d)
{
	(void)d;
	return json_pack("{s:i}", "in_flight", 0);
}

void
drain_feedback(struct drain *d, const char *addr, const char *campaign,
    const char *diag)
{
	(void)d;
	(void)addr;
	(void)campaign;
	(void)diag;
}

json_t *
drain_domains(struct drain *d)
{
	(void)d;
	return json_pack("{s:[]}", "units");
}

void
drain_kick(struct drain *d)
{
	(void)d;
}

void
drain_units_prefetch(struct drain *d, const struct quota_admit_unplaced *u)
{
	(void)d;
	(void)u;
}

void
drain_forget(struct drain *d, const char *id)
{
	(void)d;
	(void)id;
}

void
drain_metrics(struct drain *d, struct evbuffer *b)
{
	(void)d;
	(void)b;
}

void
prune_metrics(struct prune *p, struct evbuffer *b)
{
	(void)p;
	(void)b;
}

/*
 * POST /v1/backup writes a file wherever its body says: the fuzzer checks
 * the body as the daemon does and writes nothing.
 */
void
backup_request(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	static const struct control_json_key keys[] = {
		{ "path", JSON_STRING, 1 },
	};
	json_t	*j;

	(void)md;
	(void)id;
	if ((j = control_json_body(req, keys, nitems(keys), "{}")) == NULL)
		return;
	control_reply_error(req, 422, "the fuzzer writes no backup", NULL);
	json_decref(j);
}

/* remote_images = ignore: never called. */
struct measure *
measure_start(struct mannersd *md, struct weigh *w, const struct conf *c,
    void (*done)(void *), void *arg)
{
	(void)md;
	(void)w;
	(void)c;
	(void)done;
	(void)arg;
	fatalx("fuzz_http: measure_start called with remote_images = ignore");
}

void
measure_free(struct measure *m)
{
	if (m != NULL)
		fatalx("fuzz_http: a measure to free");
}

/* Remove the private directory and what is in it. */
static void
fuzz_http_cleanup(void)
{
	struct fuzz_http	*fh = fuzz_http;
	char			 p[128];
	static const char	*files[] = { "state/data.mdb", "state/lock.mdb",
				    "control.sock", "public.sock" };
	size_t			 i;

	if (fh == NULL)
		return;
	control_free(&fh->md);
	unsub_http_free(&fh->md);
	if (fh->public_fd != -1)
		close(fh->public_fd);
	if (fh->md.store != NULL)
		store_close(fh->md.store);
	token_keys_free(fh->md.keys);
	conf_free(fh->md.conf);
	event_base_free(fh->md.base);
	for (i = 0; i < nitems(files); i++) {
		snprintf(p, sizeof p, "%s/%s", fh->dir, files[i]);
		unlink(p);
	}
	rmdir(fh->state);
	rmdir(fh->dir);
	free(fh);
	fuzz_http = NULL;
}

/* A new, empty store holding the seed campaign. */
static void
fuzz_http_store_reset(struct fuzz_http *fh)
{
	struct mannersd		*md = &fh->md;
	struct campaign		*c;
	struct campaign_error	 err;
	struct admit_report	 rep;
	struct admit_request	 ar;
	struct iovec		 iov;
	char			 p[128], *cause = NULL;
	int			 status;

	if (md->store != NULL)
		store_close(md->store);
	md->store = NULL;
	snprintf(p, sizeof p, "%s/data.mdb", fh->state);
	unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", fh->state);
	unlink(p);
	if (store_open(fh->state, md->conf->map_size, &md->store,
	    &cause) == -1)
		fatalx("fuzz_http: %s", cause);
	if (campaign_parse(fuzz_http_seed, strlen(fuzz_http_seed), 10, &c,
	    &err) == -1)
		fatalx("fuzz_http: seed: %s", err.problems[0]);
	memset(&ar, 0, sizeof ar);
	iov.iov_base = (void *)fuzz_http_seed;
	iov.iov_len = strlen(fuzz_http_seed);
	ar.store = md->store;
	ar.conf = md->conf;
	ar.campaign = c;
	ar.iov = &iov;
	ar.niov = 1;
	ar.now = FUZZ_HTTP_NOW;
	if (admit_campaign(&ar, &rep, &status, &cause) == -1)
		fatalx("fuzz_http: seed admission: %s", cause);
	campaign_free(c);
	fh->dirty = 0;
}

/* A listening Unix socket at path. */
static int
fuzz_http_listen(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1 || bind(fd, (struct sockaddr *)&sun, sizeof sun) == -1 ||
	    listen(fd, 128) == -1)
		fatal("fuzz_http: listen on %s", path);
	return fd;
}

/* A connection's bufferevent, made by http_guard.c; remember it. */
static struct bufferevent *
fuzz_http_bev(struct event_base *base, void *arg)
{
	return fuzz_http->bev = http_guard_bevcb(base, arg);
}

/* Start both servers as mannersd does, on a private directory. */
static void
fuzz_http_init(void)
{
	struct fuzz_http	*fh;
	struct mannersd		*md;
	unsigned char		 raw[TOKEN_KEY_LEN];
	char			*text, *cause = NULL, port[32];
	const char		*tmp;
	size_t			 i;
	int			 try;

	fuzz_http = fh = xcalloc(1, sizeof *fh);
	md = &fh->md;
	/* As mannersd does: an answer to a client gone is EPIPE, not death
	   (http_guard shuts a refused connection for writing). */
	signal(SIGPIPE, SIG_IGN);
	fh->public_fd = -1;
	log_setlevel(getenv("FUZZ_HTTP_DEBUG") != NULL ? LOG_LVL_DEBUG :
	    LOG_LVL_ERROR);
	/* LMDB syncs on every commit: keep the store in memory. */
	tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fh->dir, sizeof fh->dir, "%s/manners-fuzz-http.XXXXXX",
	    tmp);
	if (mkdtemp(fh->dir) == NULL)
		fatal("fuzz_http: mkdtemp");
	snprintf(fh->state, sizeof fh->state, "%s/state", fh->dir);
	snprintf(fh->public_sock, sizeof fh->public_sock, "%s/public.sock",
	    fh->dir);
	xasprintf(&text,
	    "[daemon]\n"
	    "socket = %s/control.sock\n"
	    "state_dir = %s\n"
	    "public_listen = 127.0.0.1:8025\n"
	    "public_url = http://127.0.0.1:8025\n"
	    "secret_file = %s/secret\n"
	    "max_request = 8k\n"
	    "max_recipients = 100\n"
	    "request_timeout = 10s\n"
	    "map_size = 2m\n"
	    "map_max = 4m\n"
	    "hostname = mail.example.com\n"
	    "[caps]\n"
	    "remote_images = ignore\n", fh->dir, fh->state, fh->dir);
	if (conf_parse(text, strlen(text), "fuzz_http.conf", &md->conf,
	    &cause) == -1)
		fatalx("fuzz_http: %s", cause);
	free(text);
	atexit(fuzz_http_cleanup);

	if ((md->base = event_base_new()) == NULL)
		fatalx("fuzz_http: event_base_new");
	for (i = 0; i < TOKEN_KEY_LEN; i++)
		raw[i] = (unsigned char)(i * 7 + 1);
	md->keys = token_keys_from_memory(raw, 1);
	fuzz_http_store_reset(fh);

	if (control_start(md, &cause) == -1)
		fatalx("fuzz_http: %s", cause);
	evhttp_set_bevcb(md->control, fuzz_http_bev, md->control_guard);
	/* public_listen must be free: try a few ports. */
	for (try = 0;; try++) {
		snprintf(port, sizeof port, "127.0.0.1:%u", 20000 +
		    ((unsigned)getpid() * 7919U + (unsigned)try * 104729U) %
		    40000U);
		free(md->conf->public_listen);
		md->conf->public_listen = xstrdup(port);
		if (unsub_http_start(md, &cause) == 0)
			break;
		unsub_http_free(md);
		if (try == 20)
			fatalx("fuzz_http: %s", cause);
		free(cause);
		cause = NULL;
	}
	/* The same server on a Unix socket: no TCP per input. */
	fh->public_fd = fuzz_http_listen(fh->public_sock);
	if (evhttp_accept_socket_with_handle(md->public,
	    fh->public_fd) == NULL)
		fatalx("fuzz_http: cannot accept on %s", fh->public_sock);
	evhttp_set_bevcb(md->public, fuzz_http_bev, md->public_guard);
}

static void
fuzz_http_stuck(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	/* The server kept a connection open after its client went. */
	fprintf(stderr, "fuzz_http: the server did not close within %d s\n",
	    FUZZ_HTTP_STUCK);
	abort();
}

/* Send what is left, then shut the write side. */
static void
fuzz_http_write(evutil_socket_t fd, short events, void *arg)
{
	struct fuzz_http_client	*cl = arg;
	ssize_t			 n;

	(void)events;
	if (cl->off < cl->len) {
		n = send(fd, cl->data + cl->off, cl->len - cl->off,
		    MSG_NOSIGNAL);
		if (n > 0)
			cl->off += (size_t)n;
		else if (n == -1 && errno != EAGAIN && errno != EINTR)
			cl->off = cl->len;	/* the server closed first */
	}
	if (cl->off == cl->len)
		event_del(cl->wev);
}

/*
 * Has the server read everything and answered what it could?  Its
 * input must stay the same for a few turns of the loop: a partial
 * request waits there for bytes that will never come.
 */
static int
fuzz_http_quiet(struct fuzz_http *fh, struct fuzz_http_client *cl)
{
	struct pollfd	 pfd;
	size_t		 in;
	int		 outq;

	/* Something to read, or the server closing: the bufferevent may
	   be gone, and there is nothing to wait for. */
	pfd.fd = cl->fd;
	pfd.events = POLLIN | POLLRDHUP;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0 || fh->bev == NULL ||
	    ioctl(cl->fd, SIOCOUTQ, &outq) == -1 || outq != 0 ||
	    evbuffer_get_length(bufferevent_get_output(fh->bev)) != 0) {
		cl->still = 0;
		return 0;
	}
	in = evbuffer_get_length(bufferevent_get_input(fh->bev));
	if (in != cl->last_in) {
		cl->last_in = in;
		cl->still = 0;
		return 0;
	}
	return ++cl->still >= 3;
}

/* Keep the answers until the server closes. */
static void
fuzz_http_read(evutil_socket_t fd, short events, void *arg)
{
	struct fuzz_http_client	*cl = arg;
	char			 b[16384];
	ssize_t			 n;

	(void)events;
	n = read(fd, b, sizeof b);
	if (n > 0) {
		if (cl->in.len + (size_t)n <= FUZZ_HTTP_KEEP)
			buf_add(&cl->in, b, (size_t)n);
		return;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	cl->closed = 1;
	event_base_loopbreak(cl->base);
}

/* A finding: show the answer and stop. */
static void
fuzz_http_finding(const char *what, const char *p, const char *end)
{
	fprintf(stderr, "fuzz_http: %s:\n%.*s\n", what,
	    (int)(end - p > 400 ? 400 : end - p), p);
	abort();
}

/*
 * Each answer's head (p, up to its blank line): never a 500 (an internal
 * error on garbage input), never evhttp's bare error page, JSON or text
 * on the control socket, the pages' security headers on the public one.
 */
static void
fuzz_http_check_head(const char *p, const char *end, int control)
{
	const char	*blank;
	size_t		 n;

	if ((blank = memmem(p, (size_t)(end - p), "\r\n\r\n", 4)) == NULL)
		return;		/* cut short: the harness keeps 256 KB */
	if (p[9] == '1')
		return;		/* 100 Continue: not an answer */
	n = (size_t)(blank - p);
	if (memcmp(p + 8, " 500", 4) == 0)
		fuzz_http_finding("answered 500", p, end);
	if (blank + 4 + 20 <= end && memcmp(blank + 4, "<HTML><HEAD>\n<TITLE>",
	    20) == 0)
		fuzz_http_finding("evhttp's own error page went out", p, end);
	if (control && memmem(p, n, "Content-Type: text/html", 23) != NULL)
		fuzz_http_finding("HTML on the control socket", p, end);
	if (!control && (memmem(p, n, "X-Content-Type-Options: nosniff",
	    31) == NULL || memmem(p, n, "Content-Security-Policy: ", 25) ==
	    NULL))
		fuzz_http_finding("a public answer without the pages' "
		    "security headers", p, end);
}

/* Check every answer in what came back. */
static void
fuzz_http_check(const struct buf *in, int control)
{
	const char	*p, *end;

	if (in->len == 0)
		return;
	p = in->data;
	end = in->data + in->len;
	while (p != NULL && p < end) {
		if (end - p >= 12 && memcmp(p, "HTTP/1.", 7) == 0)
			fuzz_http_check_head(p, end, control);
		if ((p = memchr(p, '\n', (size_t)(end - p))) != NULL)
			p++;
	}
}

/* Connect to path, send data, read until the server closes. */
static void
fuzz_http_send(struct fuzz_http *fh, const char *path, const uint8_t *data,
    size_t len)
{
	struct fuzz_http_client	 cl;
	struct sockaddr_un	 sun;
	struct timeval		 tv = { FUZZ_HTTP_STUCK, 0 };

	memset(&cl, 0, sizeof cl);
	cl.base = fh->md.base;
	cl.data = data;
	cl.len = len;
	buf_init(&cl.in);
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	if ((cl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1 ||
	    connect(cl.fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		fatal("fuzz_http: connect to %s", path);
	cl.rev = event_new(cl.base, cl.fd, EV_READ | EV_PERSIST,
	    fuzz_http_read, &cl);
	cl.wev = event_new(cl.base, cl.fd, EV_WRITE | EV_PERSIST,
	    fuzz_http_write, &cl);
	cl.stuck = evtimer_new(cl.base, fuzz_http_stuck, &cl);
	event_add(cl.rev, NULL);
	event_add(cl.wev, NULL);
	evtimer_add(cl.stuck, &tv);
	fh->bev = NULL;
	while (!cl.closed) {
		if (cl.off < cl.len || cl.shut) {
			event_base_loop(cl.base, EVLOOP_ONCE);
			continue;
		}
		event_base_loop(cl.base, EVLOOP_NONBLOCK);
		if (!cl.closed && fuzz_http_quiet(fh, &cl)) {
			shutdown(cl.fd, SHUT_WR);
			cl.shut = 1;
		}
	}
	fh->bev = NULL;
	event_free(cl.rev);
	event_free(cl.wev);
	event_free(cl.stuck);
	close(cl.fd);
	/* Let the server finish its side of the close. */
	event_base_loop(cl.base, EVLOOP_NONBLOCK);
	/* FUZZ_HTTP_ECHO=1 shows the answers, to check a corpus by eye. */
	if (getenv("FUZZ_HTTP_ECHO") != NULL && cl.in.len > 0)
		fprintf(stderr, "%.*s\n", (int)cl.in.len, cl.in.data);
	fuzz_http_check(&cl.in, strcmp(path, fh->md.conf->socket) == 0);
	buf_free(&cl.in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_http	*fh;

	if (fuzz_http == NULL)
		fuzz_http_init();
	fh = fuzz_http;
	if (size == 0)
		return 0;
	if (fh->dirty)
		fuzz_http_store_reset(fh);
	memset(&fh->md.stats, 0, sizeof fh->md.stats);
	fuzz_http_send(fh, (data[0] & 1) ? fh->md.conf->socket :
	    fh->public_sock, data + 1, size - 1);
	return 0;
}
