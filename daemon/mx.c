/*
 * mx.c: MX lookups with c-ares on the event loop (see mx.h).
 */
#include <sys/queue.h>

#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>

#include "log.h"
#include "mx.h"
#include "util.h"

#define MX_MAX_SOCKS	16	/* c-ares opens few: one per server */
#define MX_MAX_HOSTS	16
#define MX_TIMEOUT_MS	2000
#define MX_TRIES	2
/* Lookups on their way at once; more wait their turn, in order. */
#define MX_MAX_PENDING	128

struct mx_sock {
	ares_socket_t	 fd;
	struct event	*ev;
};

struct mx_query {
	struct mx_resolver	*r;
	char			 domain[256];
	TAILQ_ENTRY(mx_query)	 entry;
};
TAILQ_HEAD(mx_queryq, mx_query);

struct mx_resolver {
	struct event_base	*base;
	ares_channel		 ch;
	struct mx_sock		 socks[MX_MAX_SOCKS];
	struct event		*timer;
	mx_cb			 cb;
	void			*arg;
	size_t			 pending;	/* asked, not answered */
	struct mx_queryq	 waiting;	/* not asked yet */
	int			 freeing;
};

static void	mx_arm(struct mx_resolver *);
static void	mx_send(struct mx_resolver *, struct mx_query *);

/* A socket of c-ares's is readable or writable: let it work. */
static void
mx_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mx_resolver	*r = arg;

	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	mx_arm(r);
}

/* c-ares's timeout has come: let it retry or give up. */
static void
mx_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct mx_resolver	*r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	mx_arm(r);
}

/* The timer for c-ares's next timeout, while lookups wait. */
static void
mx_arm(struct mx_resolver *r)
{
	struct timeval	 tv, max = { 5, 0 };

	if (r->pending == 0) {
		evtimer_del(r->timer);
		return;
	}
	if (ares_timeout(r->ch, &max, &tv) != NULL)
		evtimer_add(r->timer, &tv);
}

/* c-ares opens, changes or closes a socket: follow it with an event. */
static void
mx_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct mx_resolver	*r = data;
	struct mx_sock		*s = NULL, *free_s = NULL;
	size_t			 i;

	for (i = 0; i < MX_MAX_SOCKS; i++) {
		if (r->socks[i].ev != NULL && r->socks[i].fd == fd)
			s = &r->socks[i];
		else if (r->socks[i].ev == NULL && free_s == NULL)
			free_s = &r->socks[i];
	}
	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable)
		return;
	if ((s = s != NULL ? s : free_s) == NULL)
		fatalx("mx: c-ares opened more than %d sockets", MX_MAX_SOCKS);
	s->fd = fd;
	s->ev = event_new(r->base, fd, (short)((readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0) | EV_PERSIST), mx_sock_cb, r);
	event_add(s->ev, NULL);
}

/* The smallest TTL of the answer's records; 0 if unreadable. */
static int64_t
mx_ttl(const unsigned char *abuf, int alen)
{
	const unsigned char	*p = abuf + NS_HFIXEDSZ;
	char			*name;
	long			 enc;
	int			 qd, an, i;
	int64_t			 ttl, best = -1;

	if (alen < NS_HFIXEDSZ)
		return 0;
	qd = abuf[4] << 8 | abuf[5];
	an = abuf[6] << 8 | abuf[7];
	for (i = 0; i < qd + an; i++) {
		if (ares_expand_name(p, abuf, alen, &name, &enc) != ARES_SUCCESS)
			return best < 0 ? 0 : best;
		ares_free_string(name);
		p += enc;
		if (i < qd) {
			p += NS_QFIXEDSZ;
			continue;
		}
		if (p + NS_RRFIXEDSZ > abuf + alen)
			break;
		ttl = (int64_t)((uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 |
		    (uint32_t)p[6] << 8 | p[7]);
		if (best < 0 || ttl < best)
			best = ttl;
		p += NS_RRFIXEDSZ + (p[8] << 8 | p[9]);
	}
	return best < 0 ? 0 : best;
}

/* An answer (or a failure) for one query. */
static void
mx_answer(void *arg, int status, int timeouts, unsigned char *abuf,
    int alen)
{
	struct mx_query		*q = arg;
	struct mx_resolver	*r = q->r;
	struct ares_mx_reply	*mx = NULL, *m;
	const char		*hosts[MX_MAX_HOSTS];
	char			 err[128];
	size_t			 n = 0;

	(void)timeouts;
	r->pending--;
	if (r->freeing || status == ARES_EDESTRUCTION) {
		free(q);
		return;
	}
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	if (status != ARES_SUCCESS) {
		snprintf(err, sizeof err, "%s", ares_strerror(status));
		r->cb(r->arg, q->domain, NULL, 0, 0, err);
	} else {
		for (m = mx; m != NULL && n < MX_MAX_HOSTS; m = m->next)
			hosts[n++] = m->host;
		r->cb(r->arg, q->domain, hosts, n, mx_ttl(abuf, alen), NULL);
	}
	ares_free_data(mx);
	free(q);
	if (!r->freeing && (q = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, q, entry);
		mx_send(r, q);
	}
}

struct mx_resolver *
mx_new(struct event_base *base, const char *servers, mx_cb cb, void *arg,
    char **cause)
{
	struct mx_resolver	*r;
	struct ares_options	 o;
	int			 rc;

	if ((rc = ares_library_init(ARES_LIB_INIT_ALL)) != ARES_SUCCESS) {
		set_cause(cause, "c-ares: %s", ares_strerror(rc));
		return NULL;
	}
	r = xcalloc(1, sizeof *r);
	r->base = base;
	r->cb = cb;
	r->arg = arg;
	memset(&o, 0, sizeof o);
	o.sock_state_cb = mx_sock_state;
	o.sock_state_cb_data = r;
	o.timeout = MX_TIMEOUT_MS;
	o.tries = MX_TRIES;
	if ((rc = ares_init_options(&r->ch, &o, ARES_OPT_SOCK_STATE_CB |
	    ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES)) != ARES_SUCCESS) {
		set_cause(cause, "c-ares: cannot start a resolver: %s",
		    ares_strerror(rc));
		free(r);
		ares_library_cleanup();
		return NULL;
	}
	if (servers != NULL && (rc = ares_set_servers_ports_csv(r->ch,
	    servers)) != ARES_SUCCESS) {
		set_cause(cause, "[dns] servers = %s: %s (want IP[:PORT] "
		    "separated by commas)", servers, ares_strerror(rc));
		ares_destroy(r->ch);
		free(r);
		ares_library_cleanup();
		return NULL;
	}
	r->timer = evtimer_new(base, mx_timer_cb, r);
	TAILQ_INIT(&r->waiting);
	return r;
}

/* Ask c-ares for one query's MX records. */
static void
mx_send(struct mx_resolver *r, struct mx_query *q)
{
	r->pending++;
	ares_query(r->ch, q->domain, ns_c_in, ns_t_mx, mx_answer, q);
	mx_arm(r);
}

void
mx_lookup(struct mx_resolver *r, const char *domain)
{
	struct mx_query	*q = xcalloc(1, sizeof *q);

	q->r = r;
	snprintf(q->domain, sizeof q->domain, "%s", domain);
	if (r->pending >= MX_MAX_PENDING) {
		TAILQ_INSERT_TAIL(&r->waiting, q, entry);
		return;
	}
	mx_send(r, q);
}

size_t
mx_pending(const struct mx_resolver *r)
{
	return r->pending;
}

void
mx_free(struct mx_resolver *r)
{
	struct mx_query	*q;
	size_t		 i;

	if (r == NULL)
		return;
	r->freeing = 1;
	while ((q = TAILQ_FIRST(&r->waiting)) != NULL) {
		TAILQ_REMOVE(&r->waiting, q, entry);
		free(q);
	}
	ares_destroy(r->ch);
	for (i = 0; i < MX_MAX_SOCKS; i++)
		if (r->socks[i].ev != NULL)
			event_free(r->socks[i].ev);
	event_free(r->timer);
	free(r);
	ares_library_cleanup();
}
