/*
 * measure.c: the sizes of a campaign's remote images, measured at
 * submission with HEAD requests (a one-byte ranged GET when HEAD gives
 * no length) on the event loop.  http and https only, redirects only to
 * http(s), a short timeout, at most remote_max_requests per campaign,
 * each URL once.  The submission waits; the loop does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "mannersd.h"
#include "probe.h"
#include "util.h"
#include "weigh.h"

struct measure {
	struct event_base	*base;
	struct curlev		*cv;
	struct weigh		*w;
	const struct conf	*conf;
	size_t			 pending;
	struct probe		**probes;	/* by image, NULL when done */
	size_t			 nprobes;
	void			(*done)(void *);
	void			*arg;
};

/* Report on a fresh loop turn, so the owner may free us at once. */
static void
measure_report(evutil_socket_t fd, short events, void *arg)
{
	struct measure	*m = arg;

	(void)fd;
	(void)events;
	weigh_check(m->w);
	m->done(m->arg);
}

/* One probe less to wait for; report when none is left. */
static void
measure_finish(struct measure *m)
{
	struct timeval	 now = { 0, 0 };

	if (--m->pending == 0)
		event_base_once(m->base, -1, EV_TIMEOUT, measure_report, m,
		    &now);
}

/* A probe's try ended: try again, or record the size or the reason. */
static void
measure_done(CURL *e, CURLcode res, void *arg)
{
	struct measure	*m = arg;
	struct probe	*pr = probe_of(e);
	size_t		 idx = (size_t)(uintptr_t)probe_arg(pr);

	/* The multi handle lets go of e; probe_done() frees it. */
	if (probe_done(pr, res) == PROBE_AGAIN && probe_easy(pr) != NULL) {
		curlev_add(m->cv, probe_easy(pr));
		curlev_kick(m->cv);
		return;
	}
	weigh_set_remote_size(m->w, idx, probe_size(pr), probe_why(pr));
	probe_free(pr);
	m->probes[idx] = NULL;
	measure_finish(m);
}

/*
 * Measure the report's remote images, then call done(arg) on the loop;
 * done is called at once when there is nothing to measure.
 */
struct measure *
measure_start(struct mannersd *md, struct weigh *w, const struct conf *conf,
    void (*done)(void *), void *arg)
{
	struct measure	*m;
	struct probe	*pr;
	size_t		 i, n = weigh_remote_count(w), asked = 0;

	m = xcalloc(1, sizeof *m);
	m->w = w;
	m->conf = conf;
	m->done = done;
	m->arg = arg;
	m->pending = 1;		/* held until every probe is started */
	m->base = md->base;
	m->cv = curlev_new(md->base, measure_done, m);
	m->probes = xcalloc(n + 1, sizeof *m->probes);
	m->nprobes = n;
	for (i = 0; i < n; i++) {
		if (!weigh_remote_fetchable(w, i))
			continue;
		if (asked >= conf->remote_max_requests) {
			weigh_set_remote_size(w, i, -1, "not measured: more "
			    "remote images than remote_max_requests");
			continue;
		}
		asked++;
		pr = probe_new(weigh_remote_url(w, i),
		    (long)conf->remote_timeout, (void *)(uintptr_t)i);
		if (probe_easy(pr) == NULL) {
			weigh_set_remote_size(w, i, -1, "not measured: "
			    "curl_easy_init failed");
			probe_free(pr);
			continue;
		}
		m->probes[i] = pr;
		m->pending++;
		curlev_add(m->cv, probe_easy(pr));
		curlev_kick(m->cv);
	}
	measure_finish(m);
	return m;
}

/* Free the measurement, with the probes still running. */
void
measure_free(struct measure *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->nprobes; i++) {
		if (m->probes[i] == NULL)
			continue;
		if (probe_easy(m->probes[i]) != NULL)
			curlev_remove(m->cv, probe_easy(m->probes[i]));
		probe_free(m->probes[i]);
	}
	free(m->probes);
	curlev_free(m->cv);
	free(m);
}
