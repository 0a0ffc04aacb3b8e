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
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"
#include "weigh.h"

struct probe {
	struct measure		*m;
	size_t			 idx;		/* in the weigh report */
	int			 ranged;	/* second try: GET 0-0 */
	long long		 total;		/* from Content-Range */
	char			 err[CURL_ERROR_SIZE];
	CURL			*easy;
};

struct measure {
	struct event_base	*base;
	struct curlev		*cv;
	struct weigh		*w;
	const struct conf	*conf;
	size_t			 pending;
	void			(*done)(void *);
	void			*arg;
};

static void	measure_start_probe(struct measure *, struct probe *);

/* Keep the total of "Content-Range: bytes 0-0/12345". */
static size_t
measure_header(char *p, size_t size, size_t n, void *arg)
{
	struct probe	*pr = arg;
	size_t		 len = size * n;
	char		 line[256];
	const char	*slash;

	if (len < sizeof line && strncasecmp(p, "Content-Range:", 14) == 0) {
		memcpy(line, p, len);
		line[len] = '\0';
		if ((slash = strchr(line, '/')) != NULL && slash[1] != '*')
			pr->total = strtoll(slash + 1, NULL, 10);
	}
	return len;
}

/* The body is never wanted: stop at its first byte. */
static size_t
measure_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)size;
	(void)n;
	(void)arg;
	return 0;
}

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

static void
measure_finish(struct measure *m)
{
	struct timeval	 now = { 0, 0 };

	if (--m->pending == 0)
		event_base_once(m->base, -1, EV_TIMEOUT, measure_report, m,
		    &now);
}

static void
measure_done(CURL *e, CURLcode res, void *arg)
{
	struct measure	*m = arg;
	struct probe	*pr;
	curl_off_t	 len = -1;
	long		 code = 0;
	char		 why[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&pr);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	curl_easy_cleanup(e);
	pr->easy = NULL;
	/* A GET stopped at its first body byte ends in a write error. */
	if ((res == CURLE_OK || (pr->ranged && res == CURLE_WRITE_ERROR)) &&
	    code >= 200 && code < 300) {
		if (pr->ranged && pr->total >= 0)
			len = pr->total;
		else if (pr->ranged && code == 206)
			len = -1;
		if (len >= 0) {
			weigh_set_remote_size(m->w, pr->idx, (long long)len,
			    NULL);
			free(pr);
			measure_finish(m);
			return;
		}
	}
	if (!pr->ranged && (res == CURLE_OK || code == 405 || code == 501)) {
		/* HEAD said nothing useful: ask for one byte instead. */
		pr->ranged = 1;
		measure_start_probe(m, pr);
		return;
	}
	if (res == CURLE_UNSUPPORTED_PROTOCOL)
		snprintf(why, sizeof why, "refused: a redirect to a scheme "
		    "other than http or https");
	else if (res == CURLE_OPERATION_TIMEDOUT)
		snprintf(why, sizeof why, "no answer within %llus",
		    (unsigned long long)m->conf->remote_timeout);
	else if (res != CURLE_OK && res != CURLE_WRITE_ERROR)
		snprintf(why, sizeof why, "%s", pr->err[0] != '\0' ? pr->err :
		    curl_easy_strerror(res));
	else if (code >= 300)
		snprintf(why, sizeof why, "HTTP %ld", code);
	else
		snprintf(why, sizeof why, "the server gave no size");
	weigh_set_remote_size(m->w, pr->idx, -1, why);
	free(pr);
	measure_finish(m);
}

static void
measure_start_probe(struct measure *m, struct probe *pr)
{
	CURL	*e;

	if ((e = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	pr->easy = e;
	pr->total = -1;
	pr->err[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, weigh_remote_url(m->w, pr->idx));
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, (long)m->conf->remote_timeout);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "manners-weigh/1");
	curl_easy_setopt(e, CURLOPT_PRIVATE, pr);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pr->err);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, measure_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, pr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, measure_body);
	if (pr->ranged)
		curl_easy_setopt(e, CURLOPT_RANGE, "0-0");
	else
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	curlev_add(m->cv, e);
	curlev_kick(m->cv);
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
	for (i = 0; i < n; i++) {
		if (!weigh_remote_fetchable(w, i))
			continue;
		if (asked >= conf->remote_max_requests) {
			weigh_set_remote_size(w, i, -1, "not measured: more "
			    "remote images than remote_max_requests");
			continue;
		}
		asked++;
		pr = xcalloc(1, sizeof *pr);
		pr->m = m;
		pr->idx = i;
		m->pending++;
		measure_start_probe(m, pr);
	}
	measure_finish(m);
	return m;
}

void
measure_free(struct measure *m)
{
	if (m == NULL)
		return;
	curlev_free(m->cv);
	free(m);
}
