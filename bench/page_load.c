/*
 * page_load.c: C concurrent clients against the unsubscribe pages, each on
 * its own keep-alive connection sending one request after another (a
 * closed loop), every request timed from its send to its complete answer.
 *
 * usage: page_load -p PORT -c CLIENTS -n REQUESTS [-r RATE] [-b BODY] TOKENFILE
 *	-p	the public listener's port on 127.0.0.1
 *	-c	concurrent clients (connections), default 200
 *	-n	requests in all, default 20000
 *	-r	offer RATE requests a second in all, each client on its own
 *		schedule (an open loop: a slow answer does not slow the
 *		offer); without it, each client sends as soon as answered
 *	-b	POST this application/x-www-form-urlencoded body (else GET)
 *	TOKENFILE  one /u/ token a line; requests take them in turn
 *
 * Prints "requests R errors E seconds S rate X/s p50 A ms p99 B ms max C ms".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

struct client {
	struct evhttp_connection *conn;
	struct event		*timer;
	double			 t0;
	double			 next;		/* -r: when to send next */
};

static struct event_base	*base;
static char			**tokens;
static size_t			 ntokens, next_token;
static long			 todo, started, done, errors;
static double			*lat;
static const char		*body;
static int			 port;
static double			 gap_ms;	/* -r: per client, 0: none */

static double
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void	client_next(struct client *);
static void	client_send(struct client *);

static void
client_timer(evutil_socket_t fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	client_send(arg);
}

/* The next request: at once, or at this client's next slot (-r). */
static void
client_next(struct client *cl)
{
	struct timeval	 tv;
	double		 wait;

	if (started >= todo)
		return;
	if (gap_ms <= 0) {
		client_send(cl);
		return;
	}
	wait = cl->next - now_ms();
	cl->next += gap_ms;
	if (wait <= 0) {
		client_send(cl);
		return;
	}
	tv.tv_sec = (time_t)(wait / 1e3);
	tv.tv_usec = (suseconds_t)((wait - (double)tv.tv_sec * 1e3) * 1e3);
	evtimer_add(cl->timer, &tv);
}

static void
client_done(struct evhttp_request *req, void *arg)
{
	struct client	*cl = arg;

	if (req == NULL || evhttp_request_get_response_code(req) != 200)
		errors++;
	lat[done++] = now_ms() - cl->t0;
	if (done == todo)
		event_base_loopbreak(base);
	else
		client_next(cl);
}

static void
client_send(struct client *cl)
{
	struct evhttp_request	*req;
	struct evkeyvalq	*h;
	char			 path[128];

	if (started >= todo)
		return;
	started++;
	req = evhttp_request_new(client_done, cl);
	h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Host", "127.0.0.1");
	evhttp_add_header(h, "Accept-Language", "de-DE,de;q=0.9,en;q=0.5");
	snprintf(path, sizeof path, "/u/%s", tokens[next_token++ % ntokens]);
	cl->t0 = now_ms();
	if (body != NULL) {
		evhttp_add_header(h, "Content-Type",
		    "application/x-www-form-urlencoded");
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
		    strlen(body));
		evhttp_make_request(cl->conn, req, EVHTTP_REQ_POST, path);
	} else
		evhttp_make_request(cl->conn, req, EVHTTP_REQ_GET, path);
}

static int
cmp(const void *a, const void *b)
{
	double	 x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
read_tokens(const char *path)
{
	FILE	*f = fopen(path, "r");
	char	 line[256];
	size_t	 cap = 0;

	if (f == NULL) {
		perror(path);
		exit(2);
	}
	while (fgets(line, sizeof line, f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (ntokens == cap) {
			cap = cap ? cap * 2 : 1024;
			tokens = realloc(tokens, cap * sizeof *tokens);
		}
		tokens[ntokens++] = strdup(line);
	}
	fclose(f);
	if (ntokens == 0) {
		fprintf(stderr, "%s: no tokens\n", path);
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	struct client	*cls;
	long		 nclients = 200, i;
	double		 t0, secs;
	int		 ch;

	todo = 20000;
	while ((ch = getopt(argc, argv, "b:c:n:p:r:")) != -1) {
		switch (ch) {
		case 'r':
			gap_ms = atof(optarg);
			break;
		case 'b':
			body = optarg;
			break;
		case 'c':
			nclients = atol(optarg);
			break;
		case 'n':
			todo = atol(optarg);
			break;
		case 'p':
			port = atoi(optarg);
			break;
		default:
			goto usage;
		}
	}
	if (optind + 1 != argc || port <= 0 || nclients <= 0 || todo <= 0)
		goto usage;
	read_tokens(argv[optind]);
	lat = calloc((size_t)todo, sizeof *lat);
	base = event_base_new();
	cls = calloc((size_t)nclients, sizeof *cls);
	for (i = 0; i < nclients; i++) {
		cls[i].conn = evhttp_connection_base_new(base, NULL,
		    "127.0.0.1", (unsigned short)port);
		evhttp_connection_set_timeout(cls[i].conn, 30);
	}
	if (gap_ms > 0)
		gap_ms = 1e3 * (double)nclients / gap_ms;
	t0 = now_ms();
	for (i = 0; i < nclients; i++) {
		cls[i].timer = evtimer_new(base, client_timer, &cls[i]);
		/* Spread the clients' first sends over one gap. */
		cls[i].next = t0 + gap_ms * (double)i / (double)nclients;
		client_next(&cls[i]);
	}
	event_base_dispatch(base);
	secs = (now_ms() - t0) / 1e3;
	qsort(lat, (size_t)done, sizeof *lat, cmp);
	printf("requests %ld errors %ld seconds %.2f rate %.0f/s p50 %.2f ms "
	    "p99 %.2f ms max %.2f ms\n", done, errors, secs, done / secs,
	    lat[done / 2], lat[(size_t)((double)done * 0.99)],
	    lat[done - 1]);
	for (i = 0; i < nclients; i++) {
		evhttp_connection_free(cls[i].conn);
		event_free(cls[i].timer);
	}
	event_base_free(base);
	return errors > 0;
usage:
	fprintf(stderr, "usage: page_load -p PORT [-c CLIENTS] [-n REQUESTS] "
	    "[-r RATE] [-b BODY] TOKENFILE\n");
	return 2;
}
