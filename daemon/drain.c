/*
 * drain.c: due jobs from the queue to the SMTP relay through libcurl.
 *
 * Everything is decided on the event loop: what is due, in what order,
 * at what cadence, and what each outcome means.  Only the transfers run
 * elsewhere, on the SMTP threads (smtp_threads.c), one connection each,
 * because libcurl blocks while the relay answers the end of a message's
 * data.
 *
 * A job is "claimed" while its transfer runs and until its outcome is
 * committed; claimed jobs are skipped by the scan.  Outcomes are
 * committed in groups (commit_batch or commit_interval_ms, whichever
 * comes first), so a crash can resend at most the transfers in flight
 * and the last uncommitted group, each with the same Message-ID.
 *
 * This file is the drain's life (start, reload, stop) and what the
 * daemon asks of it; drain_int.h says where the rest is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "smtp_threads.h"
#include "util.h"

static void	drain_stop_timeout_cb(evutil_socket_t, short, void *);

/* Now on the monotonic clock, for cadence. */
struct instant
drain_clock(void)
{
	return instant_now();
}

/* Apply a reloaded configuration's cadences (the queue is untouched). */
void
drain_reconfigure(struct drain *d)
{
	const struct conf	*conf = d->md->conf;
	char			*cause = NULL;

	pace_reconfigure(&d->pace, &conf->rate, (unsigned)conf->burst);
	drain_sched_reconfigure(d);
	if (smtp_threads_grow(d->threads, conf->concurrency, &cause) == -1) {
		log_warnx("drain: %s; sending on %zu connections", cause,
		    smtp_threads_count(d->threads));
		free(cause);
	}
	drain_xfer_easy_drop(d);
	d->gen++;
	log_info("drain: cadence now rate=%.3g/s concurrency=%u",
	    pace_rate(&d->pace), conf->concurrency);
}

/* Arm a libevent timer `ms` milliseconds on (at once if negative). */
void
drain_timer_in(struct event *ev, long ms)
{
	struct timeval	 tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(ev, &tv);
}

/* Drop a campaign from the cache (its state or content changed). */
void
drain_forget(struct drain *d, const char *id)
{
	/* Its jobs read ahead were staged by what it was. */
	drain_sched_unstage(d);
	drain_campaign_forget(d, id);
}

/* New work from outside (a submission, an unsubscribe): look from the start. */
void
drain_kick(struct drain *d)
{
	drain_sched_unstage(d);
	drain_sched_soon(d);
}

/* Read the relay password once; its file must not be world-readable. */
static int
drain_password(struct drain *d, const char *path, char **cause)
{
	char	 buf[1024];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return set_cause(cause, "[smtp] password_file %s: %s", path,
		    strerror(errno));
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0)
		return set_cause(cause, "[smtp] password_file %s: %s", path,
		    strerror(errno));
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	d->password = xstrdup(buf);
	explicit_bzero(buf, sizeof buf);
	return 0;
}

/* The drain, ready on the loop; NULL and a cause when it cannot start. */
struct drain *
drain_new(struct mannersd *md, char **cause)
{
	const struct conf	*conf = md->conf;
	struct drain		*d;
	const char		*path;

	d = xcalloc(1, sizeof *d);
	d->md = md;
	TAILQ_INIT(&d->running);
	TAILQ_INIT(&d->done);
	TAILQ_INIT(&d->committing);
	TAILQ_INIT(&d->campaigns);
	TAILQ_INIT(&d->sdoms);
	TAILQ_INIT(&d->rep.campaigns);
	pace_init(&d->pace, &conf->rate, (unsigned)conf->burst);
	if (conf->smtp_password_file != NULL && drain_password(d,
	    conf->smtp_password_file, cause) == -1) {
		free(d);
		return NULL;
	}
	/*
	 * libcurl takes the HELO/EHLO name from the URL's path; without
	 * [smtp] helo it is the name the Message-IDs carry (md->hostname,
	 * fully qualified), not libcurl's short default.
	 */
	path = strstr(conf->smtp_url, "://");
	path = path != NULL ? strchr(path + 3, '/') : NULL;
	if (path == NULL || path[1] == '\0')
		xasprintf(&d->url, "%.*s/%s", (int)(path != NULL ?
		    (size_t)(path - conf->smtp_url) : strlen(conf->smtp_url)),
		    conf->smtp_url, conf->smtp_helo != NULL ? conf->smtp_helo :
		    md->hostname);
	else
		d->url = xstrdup(conf->smtp_url);
	if ((d->threads = smtp_threads_new(md->base, conf->concurrency,
	    drain_xfer_done, drain_xfer_started, cause)) == NULL) {
		free(d->url);
		free(d->password);
		free(d);
		return NULL;
	}
	d->claims = hashtab_new();
	d->doms = hashtab_new();
	d->zones = quiet_cache_new(DRAIN_ZONES);
	d->scan_timer = evtimer_new(md->base, drain_sched_scan_cb, d);
	d->scan_now = event_new(md->base, -1, 0, drain_sched_scan_cb, d);
	if ((d->pace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK |
	    TFD_CLOEXEC)) == -1)
		fatal("drain: timerfd_create");
	d->pace_ev = event_new(md->base, d->pace_fd, EV_READ | EV_PERSIST,
	    drain_sched_pace_cb, d);
	event_add(d->pace_ev, NULL);
	d->flush_timer = evtimer_new(md->base, drain_commit_timer_cb, d);
	d->stop_timer = evtimer_new(md->base, drain_stop_timeout_cb, d);
	if (drain_units_init(d, cause) == -1) {
		drain_free(d);
		return NULL;
	}
	drain_kick(d);
	return d;
}

/*
 * shutdown_timeout passed with transfers still running: cut them short.
 * libcurl checks within a second (drain_xfer_progress()); each comes back
 * through drain_xfer_abandon(), unless it ended first, and the stop goes on
 * once none runs.
 */
static void
drain_stop_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	struct drain	*d = arg;

	(void)fd;
	(void)events;
	drain_xfer_cut_short(d);
	log_warnx("drain: shutdown_timeout reached; cutting short %zu "
	    "transfers, whose jobs stay queued", d->nrunning);
}

/* Stop starting transfers; call `done` once in-flight ones are settled. */
void
drain_stop(struct drain *d, void (*done)(struct mannersd *))
{
	d->stopping = 1;
	d->stopped = done;
	evtimer_del(d->scan_timer);
	event_del(d->scan_now);
	event_del(d->pace_ev);
	drain_sched_unstage(d);
	if (d->nrunning == 0)
		drain_commit_flush(d);
	else
		drain_timer_in(d->stop_timer,
		    (long)d->md->conf->shutdown_timeout * 1000);
}

/* The drain's counters for GET /v1/health. */
json_t *
drain_stats(struct drain *d)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:f}",
	    "in_flight", (json_int_t)d->nrunning,
	    "uncommitted", (json_int_t)(d->ndone + (d->flushing ? 1 : 0)),
	    "sent", (json_int_t)d->sent,
	    "failed", (json_int_t)d->failed,
	    "bounced", (json_int_t)d->bounced,
	    "retried", (json_int_t)d->retried,
	    "quiet_waits", (json_int_t)d->quiet_waits,
	    /* Messages, each once: sent after waiting for a rate limit. */
	    "throttled", (json_int_t)d->throttled_sent,
	    "cadence_waits", (json_int_t)d->throttled,
	    "rate", pace_rate(&d->pace));
}

/*
 * Forget domains with nothing in flight, no pending slot and no
 * slow-down, so a long run over many domains does not grow forever.
 */
void
drain_tidy(struct drain *d)
{
	size_t	 n;

	if ((n = drain_sched_tidy(d)) > 0)
		log_debug("drain: forgot %zu idle domains", n);
}

/* Transfers running now. */
size_t
drain_in_flight(struct drain *d)
{
	return d->nrunning;
}

/* The drain's part of /metrics. */
void
drain_metrics(struct drain *d, struct evbuffer *b)
{
	evbuffer_add_printf(b, "# HELP manners_sends_total Delivery outcomes "
	    "committed, by outcome.\n# TYPE manners_sends_total counter\n");
	evbuffer_add_printf(b, "manners_sends_total{outcome=\"sent\"} %llu\n"
	    "manners_sends_total{outcome=\"retry\"} %llu\n"
	    "manners_sends_total{outcome=\"failed\"} %llu\n"
	    "manners_sends_total{outcome=\"bounced\"} %llu\n"
	    "manners_sends_total{outcome=\"dropped\"} %llu\n",
	    (unsigned long long)d->sent, (unsigned long long)d->retried,
	    (unsigned long long)(d->failed - d->bounced),
	    (unsigned long long)d->bounced, (unsigned long long)d->dropped);
	evbuffer_add_printf(b, "# HELP manners_throttle_waits_total Sends "
	    "held back by the global or a domain cadence.\n"
	    "# TYPE manners_throttle_waits_total counter\n"
	    "manners_throttle_waits_total %llu\n",
	    (unsigned long long)d->throttled);
	evbuffer_add_printf(b, "# HELP manners_smtp_in_flight SMTP transfers "
	    "running.\n# TYPE manners_smtp_in_flight gauge\n"
	    "manners_smtp_in_flight %zu\n", d->nrunning);
	evbuffer_add_printf(b, "# HELP manners_smtp_rate_per_second The "
	    "global cadence in force.\n# TYPE manners_smtp_rate_per_second "
	    "gauge\nmanners_smtp_rate_per_second %g\n", pace_rate(&d->pace));
	drain_xfer_metrics(d, b);
	drain_status_metrics(d, b);
}

/* A delayed or failed DSN's diagnostic, for the shaping rules. */
void
drain_feedback(struct drain *d, const char *addr, const char *campaign,
    const char *diagnostic)
{
	drain_shape_feedback(d, addr, campaign, diagnostic);
}

/* GET /v1/domains: the pacing units, their quotas, ramps and actions. */
json_t *
drain_domains(struct drain *d)
{
	return drain_status_domains(d);
}

/* Cut transfers short, wait for the SMTP threads, and free everything. */
void
drain_free(struct drain *d)
{
	struct xfer		*x;

	if (d == NULL)
		return;
	drain_sched_unstage(d);
	/* Transfers still running are cut short; smtp_threads_free() waits. */
	drain_xfer_cut_short(d);
	smtp_threads_free(d->threads);
	while ((x = TAILQ_FIRST(&d->running)) != NULL) {
		TAILQ_REMOVE(&d->running, x, entry);
		drain_xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&d->done)) != NULL) {
		TAILQ_REMOVE(&d->done, x, entry);
		drain_xfer_free(x);
	}
	while ((x = TAILQ_FIRST(&d->committing)) != NULL) {
		TAILQ_REMOVE(&d->committing, x, entry);
		drain_xfer_free(x);
	}
	drain_campaign_clear(d);
	drain_units_free(d);
	drain_sched_clear(d);
	drain_xfer_easy_drop(d);
	event_free(d->scan_timer);
	event_free(d->scan_now);
	event_free(d->pace_ev);
	close(d->pace_fd);
	event_free(d->flush_timer);
	event_free(d->stop_timer);
	if (d->password != NULL)
		explicit_bzero(d->password, strlen(d->password));
	free(d->password);
	free(d->url);
	free(d);
}
