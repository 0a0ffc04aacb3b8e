/*
 * curlev.c: a libcurl multi handle driven by the event loop (libcurl's
 * socket and timer callbacks mapped onto libevent events, the shape of
 * libcurl's hiperfifo example), for the image measurer's HTTP requests.
 * (SMTP runs on threads of its own: see smtp_threads.h.)
 */
#include <stdlib.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "mannersd.h"
#include "util.h"

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	void			(*done)(CURL *, CURLcode, void *);
	void			*arg;
};

/* One socket libcurl asked us to watch, and what for. */
struct curlev_sock {
	struct event	*ev;
	short		 kind;
};

/* Hand every finished transfer to the owner. */
static void
curlev_check(struct curlev *cv)
{
	CURLMsg	*m;
	CURL	*e;
	int	 left;

	while ((m = curl_multi_info_read(cv->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		e = m->easy_handle;
		curl_multi_remove_handle(cv->multi, e);
		cv->done(e, m->data.result, cv->arg);
	}
}

static void
curlev_sock_cb(evutil_socket_t fd, short events, void *arg)
{
	struct curlev	*cv = arg;
	int		 flags = 0, running;

	/*
	 * A readable socket goes to libcurl as "unknown" (0), so it tests the
	 * socket itself, writability included.  Told only "readable", an SMTP
	 * transfer that has just read the relay's 354 would not send the body
	 * until it asked for, and we delivered, a write event: two epoll_ctl
	 * calls and a loop turn more per message.
	 */
	if (events & EV_WRITE)
		flags |= CURL_CSELECT_OUT | ((events & EV_READ) ?
		    CURL_CSELECT_IN : 0);
	curl_multi_socket_action(cv->multi, fd, flags, &running);
	curlev_check(cv);
}

static int
curlev_socketfunction(CURL *e, curl_socket_t s, int what, void *userp,
    void *sockp)
{
	struct curlev		*cv = userp;
	struct curlev_sock	*cs = sockp;
	short			 kind;

	(void)e;
	if (what == CURL_POLL_REMOVE) {
		if (cs != NULL) {
			event_free(cs->ev);
			free(cs);
		}
		curl_multi_assign(cv->multi, s, NULL);
		return 0;
	}
	kind = EV_PERSIST | ((what & CURL_POLL_IN) ? EV_READ : 0) |
	    ((what & CURL_POLL_OUT) ? EV_WRITE : 0);
	if (cs == NULL) {
		cs = xcalloc(1, sizeof *cs);
		cs->ev = event_new(cv->base, s, kind, curlev_sock_cb, cv);
		curl_multi_assign(cv->multi, s, cs);
	} else if (cs->kind == kind)
		return 0;
	else {
		/* Re-aim the same event: no allocation per direction change. */
		event_del(cs->ev);
		event_assign(cs->ev, cv->base, s, kind, curlev_sock_cb, cv);
	}
	cs->kind = kind;
	event_add(cs->ev, NULL);
	return 0;
}

static void
curlev_timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct curlev	*cv = arg;
	int		 running;

	(void)fd;
	(void)events;
	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_check(cv);
}

static int
curlev_timerfunction(CURLM *multi, long ms, void *userp)
{
	struct curlev	*cv = userp;
	struct timeval	 tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(cv->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(cv->timer, &tv);
	return 0;
}

struct curlev *
curlev_new(struct event_base *base, void (*done)(CURL *, CURLcode, void *),
    void *arg)
{
	struct curlev	*cv;

	cv = xcalloc(1, sizeof *cv);
	cv->base = base;
	cv->done = done;
	cv->arg = arg;
	if ((cv->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION,
	    curlev_socketfunction);
	curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION,
	    curlev_timerfunction);
	curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv);
	cv->timer = evtimer_new(base, curlev_timer_cb, cv);
	return cv;
}

CURLM *
curlev_multi(struct curlev *cv)
{
	return cv->multi;
}

/* Start a transfer; the owner's done() gets it back when it ends. */
void
curlev_add(struct curlev *cv, CURL *e)
{
	curl_multi_add_handle(cv->multi, e);
}

/* Take back a transfer that has not ended (shutdown, cancel). */
void
curlev_remove(struct curlev *cv, CURL *e)
{
	curl_multi_remove_handle(cv->multi, e);
}

/* Let libcurl act at once on handles just added. */
void
curlev_kick(struct curlev *cv)
{
	int	 running;

	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_check(cv);
}

void
curlev_free(struct curlev *cv)
{
	if (cv == NULL)
		return;
	curl_multi_cleanup(cv->multi);
	event_free(cv->timer);
	free(cv);
}
