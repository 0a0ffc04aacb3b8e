/*
 * metrics.c: the Prometheus text exposition on GET /metrics (control
 * socket) and, when metrics_listen is set, on a TCP listener.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "breaker.h"
#include "conf.h"
#include "hostport.h"
#include "log.h"
#include "mannersd.h"
#include "policy.h"
#include "campaign_record.h"
#include "store.h"
#include "util.h"

/* One metric's HELP and TYPE lines. */
static void
metrics_head(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* Count a paused campaign under the breaker that paused it, if any. */
static void
metrics_count_breaker(json_t *st, int64_t *by_breaker)
{
	const char	*by;
	int		 k;

	by = json_string_value(json_object_get(st, "paused_by"));
	if (by == NULL)
		return;
	for (k = BREAKER_COMPLAINTS; k <= BREAKER_BOUNCES; k++)
		if (strcmp(by, breaker_name(k)) == 0)
			by_breaker[k]++;
}

/*
 * The due time of the first job in the queue whose campaign is not
 * paused (jobs are keyed by due time), or 0 for none.  At most
 * METRICS_SCAN_MAX entries are read, so that a paused campaign of
 * millions at the head of the queue cannot make a scrape slow; past
 * that, 0 as well.
 */
#define METRICS_SCAN_MAX	100000
static int64_t
metrics_oldest_due(struct store_txn *t, json_t *pausedset)
{
	struct store_cursor	*c = NULL;
	struct store_job	 j;
	char			*cause = NULL;
	int64_t			 due = 0;
	size_t			 n = 0;

	if (store_queue_first(t, &c, &cause) != 0) {
		free(cause);
		return 0;
	}
	while (n++ < METRICS_SCAN_MAX && store_cursor_job(c, &j) == 1) {
		if (json_object_get(pausedset, j.campaign) == NULL) {
			due = j.due;
			break;
		}
		if (!store_cursor_next(c))
			break;
	}
	store_cursor_close(c);
	return due;
}

/* Queue depth by state, summed over the campaigns' counters. */
static void
metrics_queue(struct mannersd *md, struct evbuffer *b)
{
	struct store_txn	*t;
	json_t			*ids = NULL, *st, *v;
	char			*cause = NULL;
	size_t			 i;
	int			 k;
	int64_t			 due = 0, later = 0, paused = 0, q, qd;
	int64_t			 by_breaker[BREAKER_BOUNCES + 1] = { 0 };
	json_t			*pausedset = json_object();
	uint64_t		 mapsize, used, total = 0;
	int64_t			 oldest;

	if (store_begin(md->store, 0, &t, &cause) < 0) {
		log_warnx("metrics: %s", cause);
		free(cause);
		return;
	}
	if (store_campaign_list(t, &ids, &cause) == 0) {
		json_array_foreach(ids, i, v) {
			if (store_campaign_get(t, json_string_value(v), &st,
			    NULL) != 0)
				continue;
			q = campaign_record_count(st, "queued");
			qd = campaign_record_count(st, "queued_deferred");
			if (strcmp(campaign_record_state(st), CAMPAIGN_PAUSED) == 0) {
				paused += q;
				json_object_set_new(pausedset,
				    json_string_value(v), json_true());
				metrics_count_breaker(st, by_breaker);
			}
			else if (strcmp(campaign_record_state(st), CAMPAIGN_ACTIVE) == 0) {
				due += q - qd;
				later += qd;
			}
			json_decref(st);
		}
	}
	free(cause);
	total = store_count(t, STORE_QUEUE);
	oldest = metrics_oldest_due(t, pausedset);
	json_decref(pausedset);
	store_abort(t);
	json_decref(ids);
	metrics_head(b, "manners_queue_jobs", "gauge", "Jobs in the queue by "
	    "state (due: admitted for now or retrying; deferred: admitted "
	    "for later by a cap; paused: of paused campaigns).");
	evbuffer_add_printf(b, "manners_queue_jobs{state=\"due\"} %lld\n"
	    "manners_queue_jobs{state=\"deferred\"} %lld\n"
	    "manners_queue_jobs{state=\"paused\"} %lld\n", (long long)due,
	    (long long)later, (long long)paused);
	metrics_head(b, "manners_queue_entries", "gauge", "Entries in the "
	    "LMDB queue.");
	evbuffer_add_printf(b, "manners_queue_entries %llu\n",
	    (unsigned long long)total);
	metrics_head(b, "manners_queue_oldest_due_timestamp_seconds", "gauge",
	    "Due time of the earliest job of a campaign that is not paused "
	    "(0: none); now minus this is how late the drain is.");
	evbuffer_add_printf(b, "manners_queue_oldest_due_timestamp_seconds "
	    "%lld\n", (long long)oldest);
	metrics_head(b, "manners_campaigns_paused_by_breaker", "gauge",
	    "Campaigns paused by a feedback breaker, by breaker.");
	for (k = BREAKER_COMPLAINTS; k <= BREAKER_BOUNCES; k++)
		evbuffer_add_printf(b, "manners_campaigns_paused_by_breaker"
		    "{breaker=\"%s\"} %lld\n", breaker_name(k),
		    (long long)by_breaker[k]);
	store_usage(md->store, &mapsize, &used);
	metrics_head(b, "manners_store_map_bytes", "gauge", "Size of the LMDB "
	    "map.");
	evbuffer_add_printf(b, "manners_store_map_bytes %llu\n",
	    (unsigned long long)mapsize);
	metrics_head(b, "manners_store_map_max_bytes", "gauge", "Largest "
	    "size the LMDB map may grow to (map_max).");
	evbuffer_add_printf(b, "manners_store_map_max_bytes %llu\n",
	    (unsigned long long)md->conf->map_max);
	metrics_head(b, "manners_store_used_bytes", "gauge", "Bytes of the "
	    "LMDB map in use.");
	evbuffer_add_printf(b, "manners_store_used_bytes %llu\n",
	    (unsigned long long)used);
	metrics_head(b, "manners_store_grown_total", "counter", "Times the "
	    "LMDB map was grown.");
	evbuffer_add_printf(b, "manners_store_grown_total %llu\n",
	    (unsigned long long)md->stats.grown);
}

/* The Prometheus text of every counter and gauge. */
void
metrics_render(struct mannersd *md, struct evbuffer *b)
{
	const struct mstats	*s = &md->stats;
	int			 r;

	metrics_head(b, "manners_up", "gauge", "1 while mannersd runs.");
	evbuffer_add_printf(b, "manners_up 1\n");
	metrics_head(b, "manners_submissions_total", "counter", "Campaign "
	    "submissions, and those refused whole.");
	evbuffer_add_printf(b, "manners_submissions_total %llu\n"
	    "manners_submissions_refused_total %llu\n",
	    (unsigned long long)s->submissions,
	    (unsigned long long)s->refused);
	metrics_head(b, "manners_admissions_total", "counter", "Recipients "
	    "admitted, by decision.");
	evbuffer_add_printf(b,
	    "manners_admissions_total{decision=\"accepted\"} %llu\n"
	    "manners_admissions_total{decision=\"deferred\"} %llu\n",
	    (unsigned long long)s->accepted, (unsigned long long)s->deferred);
	metrics_head(b, "manners_rejections_total", "counter", "Recipients "
	    "rejected at admission, by reason.");
	for (r = 1; r < POLICY_NREASONS; r++)
		evbuffer_add_printf(b, "manners_rejections_total{reason=\"%s\"} "
		    "%llu\n", policy_reason_name(r),
		    (unsigned long long)s->rejected[r]);
	metrics_head(b, "manners_unsubscribes_total", "counter",
	    "Unsubscribes and resubscriptions through the control API.");
	evbuffer_add_printf(b, "manners_unsubscribes_total %llu\n",
	    (unsigned long long)s->unsubscribes);
	drain_metrics(md->drain, b);
	prune_metrics(md->prune, b);
	intake_metrics(md, b);
	metrics_queue(md, b);
}

/* Answer a /metrics request. */
void
metrics_reply(struct mannersd *md, struct evhttp_request *req)
{
	struct evbuffer	*b = evbuffer_new();

	metrics_render(md, b);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/* GET /metrics on the TCP listener. */
static void
metrics_request(struct evhttp_request *req, void *arg)
{
	const char	*path;

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (path == NULL || strcmp(path, "/metrics") != 0) {
		evhttp_send_error(req, 404, "only /metrics here");
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, "GET only");
		return;
	}
	metrics_reply(arg, req);
}

/* The optional TCP listener, metrics_listen = HOST:PORT. */
int
metrics_start(struct mannersd *md, char **cause)
{
	const char	*spec = md->conf->metrics_listen;
	char		*host;
	uint16_t	 port;

	if (spec == NULL)
		return 0;
	if (hostport_parse(spec, "metrics_listen", &host, &port, cause) == -1)
		return -1;
	md->metrics = evhttp_new(md->base);
	evhttp_set_max_headers_size(md->metrics, 8192);
	evhttp_set_max_body_size(md->metrics, 0);
	evhttp_set_timeout(md->metrics, 10);
	evhttp_set_gencb(md->metrics, metrics_request, md);
	if (evhttp_bind_socket(md->metrics, host, port) != 0) {
		set_cause(cause, "cannot listen on %s for metrics; is the port "
		    "in use? (metrics_listen)", spec);
		free(host);
		return -1;
	}
	free(host);
	log_info("metrics on http://%s/metrics", spec);
	return 0;
}

/* Close the metrics listener. */
void
metrics_free(struct mannersd *md)
{
	if (md->metrics != NULL)
		evhttp_free(md->metrics);
	md->metrics = NULL;
}
