/*
 * mannersd.h: the daemon's internal interfaces, one section per file.
 */
#ifndef MANNERSD_H
#define MANNERSD_H

#include <stdint.h>
#include <sys/queue.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

struct conf;
struct store;
struct token_keys;
struct drain;
struct store;
struct writer;
struct http_guard;

/* Counters since start, for /metrics. */
struct mstats {
	uint64_t	 submissions;
	uint64_t	 refused;		/* answered 4xx/5xx */
	uint64_t	 accepted;
	uint64_t	 deferred;
	uint64_t	 rejected[8];		/* by enum policy_reason */
	uint64_t	 unsubscribes;
	uint64_t	 grown;			/* map growths */
};

/* The daemon's context: passed to whatever needs it, never global. */
struct mannersd {
	struct event_base	*base;
	struct conf		*conf;
	struct store		*store;
	struct token_keys	*keys;
	struct drain		*drain;
	struct writer		*writer;
	struct evhttp		*control;
	struct evhttp_bound_socket *control_bound;
	struct evhttp		*public;
	struct evhttp_bound_socket *public_bound;
	char			*public_csp;	/* the pages' CSP header */
	struct http_guard	*control_guard;	/* http_guard.c */
	struct http_guard	*public_guard;
	struct event		*ev_exit;
	char			*hostname;
	int			 control_fd;
	int			 stopping;
	int			 control_rewriting;
	int			 socket_activated;
	struct mstats		 stats;
	struct evhttp		*metrics;
	struct event		*ev_care;
	struct event		*ev_watchdog;
	uint64_t		 watchdog_usec;
	struct event		*ev_term;
	struct event		*ev_int;
	struct event		*ev_hup;
	struct event		*ev_pipe;
	struct event		*ev_stop;
};

/* mannersd.c */
int64_t	 mannersd_now(void);
void	 mannersd_shutdown(struct mannersd *);

/* control.c */
int	 control_start(struct mannersd *, char **);
void	 control_stop(struct mannersd *);
void	 control_free(struct mannersd *);
void	 control_reply_json(struct evhttp_request *, int, json_t *);
void	 control_reply_error(struct evhttp_request *, int, const char *,
	    json_t *);

/* writer.c: every write transaction, on its own thread */
struct wjob {
	void			(*run)(struct wjob *, struct store *);
	void			(*done)(struct wjob *);
	TAILQ_ENTRY(wjob)	 entry;
};
struct writer	*writer_new(struct mannersd *, char **);
void		 writer_submit(struct writer *, struct wjob *);
size_t		 writer_pending(struct writer *);
void		 writer_free(struct writer *);

/* unsub_http.c: the unsubscribe pages on public_listen */
int	 unsub_http_start(struct mannersd *, char **);
void	 unsub_http_stop(struct mannersd *);
void	 unsub_http_free(struct mannersd *);

/* curlev.c: a libcurl multi handle on the event loop */
struct curlev;
struct curlev	*curlev_new(struct event_base *,
		    void (*)(CURL *, CURLcode, void *), void *);
CURLM		*curlev_multi(struct curlev *);
void		 curlev_add(struct curlev *, CURL *);
void		 curlev_remove(struct curlev *, CURL *);
void		 curlev_kick(struct curlev *);
void		 curlev_free(struct curlev *);

/* measure.c: remote image sizes for the weigher */
struct measure;
struct weigh;
struct measure	*measure_start(struct mannersd *, struct weigh *,
		    const struct conf *, void (*)(void *), void *);
void		 measure_free(struct measure *);

/* metrics.c: Prometheus text on /metrics */
void	 metrics_render(struct mannersd *, struct evbuffer *);
void	 metrics_reply(struct mannersd *, struct evhttp_request *);
int	 metrics_start(struct mannersd *, char **);
void	 metrics_free(struct mannersd *);

/* drain.c */
struct drain	*drain_new(struct mannersd *, char **);
void		 drain_free(struct drain *);
void		 drain_kick(struct drain *);
void		 drain_stop(struct drain *, void (*)(struct mannersd *));
void		 drain_forget(struct drain *, const char *);
void		 drain_reconfigure(struct drain *);
json_t		*drain_stats(struct drain *);
void		 drain_metrics(struct drain *, struct evbuffer *);
size_t		 drain_in_flight(struct drain *);
void		 drain_tidy(struct drain *);

#endif
