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

#include "i18n.h"

struct conf;
struct store;
struct token_keys;
struct quiet_cache;
struct drain;
struct store;
struct writer;
struct http_guard;

#define MSTATS_FEEDBACK_KINDS	7
#define MSTATS_FEEDBACK_ACTIONS	4

/* Counters since start, for /metrics. */
struct mstats {
	uint64_t	 submissions;
	uint64_t	 refused;		/* answered 4xx/5xx */
	uint64_t	 accepted;
	uint64_t	 deferred;
	uint64_t	 rejected[8];		/* by enum policy_reason */
	uint64_t	 unsubscribes;
	uint64_t	 grown;			/* map growths */
	/* POST /v1/feedback answers, by kind and action (intake.c) */
	uint64_t	 feedback[MSTATS_FEEDBACK_KINDS][MSTATS_FEEDBACK_ACTIONS];
};

/* The daemon's context: passed to whatever needs it, never global. */
struct mannersd {
	struct event_base	*base;
	struct conf		*conf;
	struct store		*store;
	struct token_keys	*keys;
	struct drain		*drain;
	struct writer		*writer;
	struct backup		*backup;	/* backup_http.c */
	struct prune		*prune;		/* prune.c */
	struct mailbox		*mailbox;	/* NULL: no [feedback] mailbox */
	struct jobthread	*parser;	/* submit.c: reads documents */
	struct evhttp		*control;
	struct evhttp_bound_socket *control_bound;
	struct evhttp		*public;
	struct evhttp_bound_socket *public_bound;
	char			*public_csp;	/* the pages' CSP header */
	struct i18n_set		 public_i18n;	/* the pages' languages */
	struct quiet_cache	*public_zones;	/* the readers' time zones */
	struct http_guard	*control_guard;	/* http_guard.c */
	struct http_guard	*public_guard;
	struct event		*ev_exit;
	char			*hostname;
	int			 control_fd;
	int			 stopping;
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

/* control.c: the control socket, its server and its JSON answers */
/* A member a JSON body may hold, and its one type (null is not a string). */
struct control_json_key {
	const char	*name;
	json_type	 type;
	int		 required;
};
int	 control_start(struct mannersd *, char **);
void	 control_stop(struct mannersd *);
void	 control_free(struct mannersd *);
void	 control_reply_json(struct evhttp_request *, int, json_t *);
int	 control_content_type(struct evhttp_request *, const char *,
	    const char *);
void	 control_reply_error(struct evhttp_request *, int, const char *,
	    json_t *);
json_t	*control_json_body(struct evhttp_request *,
	    const struct control_json_key *, size_t, const char *);

/* control_routes.c: the route table; ids and queries decoded in one place */
/* A route's handler: the path's {id} decoded and checked, or NULL. */
typedef void	(*control_fn)(struct mannersd *, struct evhttp_request *,
		    const char *);
void	 control_routes_request(struct evhttp_request *, void *);
int	 control_routes_all_methods(void);
char	*control_routes_decode(const char *, size_t, int, char **);
int	 control_routes_query(struct evhttp_request *, const char *, char **);

/* control_ops.c: the write operations, on the writer thread */
void	 control_ops_campaign(struct mannersd *, struct evhttp_request *,
	    const char *);
void	 control_ops_erase(struct mannersd *, struct evhttp_request *,
	    const char *);
void	 control_ops_unsubscribe(struct mannersd *, struct evhttp_request *,
	    const char *);
void	 control_ops_resubscribe(struct mannersd *, struct evhttp_request *,
	    const char *);

/* submit.c: POST /v1/campaigns, parse -> measure -> admit -> reply */
void	 submit_request(struct mannersd *, struct evhttp_request *,
	    const char *);
int	 submit_start(struct mannersd *, char **);
void	 submit_free(struct mannersd *);

/* intake.c: POST /v1/feedback, a message that came back */
struct feedback_apply_out;
typedef void	(*intake_done_fn)(void *, int,
		    const struct feedback_apply_out *, const char *);
void	 intake_message(struct mannersd *, char *, size_t, const char *,
	    intake_done_fn, void *);
void	 intake_request(struct mannersd *, struct evhttp_request *,
	    const char *);
void	 intake_metrics(struct mannersd *, struct evbuffer *);

/* mailbox.c: polling [feedback] mailbox for returned mail */
struct mailbox;
struct mailbox	*mailbox_start(struct mannersd *, char **);
void		 mailbox_free(struct mailbox *);

/* jobthread.c: a thread that runs jobs in order, done() on the loop */
struct wjob {
	void			(*run)(struct wjob *, struct store *);
	void			(*done)(struct wjob *);
	TAILQ_ENTRY(wjob)	 entry;
};
struct jobthread;
struct jobthread *jobthread_new(struct event_base *, const char *,
		    struct store *, char **);
void		 jobthread_submit(struct jobthread *, struct wjob *);
void		 jobthread_submit_first(struct jobthread *, struct wjob *);
size_t		 jobthread_pending(struct jobthread *);
void		 jobthread_free(struct jobthread *);

/* prune.c: retention passes, one slice per writer job */
struct prune	*prune_new(struct mannersd *);
void		 prune_free(struct prune *);
void		 prune_metrics(struct prune *, struct evbuffer *);

/* backup_http.c: POST /v1/backup on a thread of its own */
struct backup	*backup_new(struct mannersd *, char **);
void		 backup_free(struct backup *);
void		 backup_request(struct mannersd *, struct evhttp_request *,
		    const char *);

/* writer.c: every write transaction, on its own thread */
struct writer	*writer_new(struct mannersd *, char **);
void		 writer_submit(struct writer *, struct wjob *);
void		 writer_hold(struct writer *);
void		 writer_release(struct writer *);
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
/* drain_units.c: look up the MX of domains admission could not place */
struct quota_admit_unplaced;
void		 drain_units_prefetch(struct drain *,
		    const struct quota_admit_unplaced *);
void		 drain_stop(struct drain *, void (*)(struct mannersd *));
void		 drain_forget(struct drain *, const char *);
void		 drain_reconfigure(struct drain *);
json_t		*drain_stats(struct drain *);
json_t		*drain_domains(struct drain *);
void		 drain_feedback(struct drain *, const char *, const char *,
		    const char *);
void		 drain_metrics(struct drain *, struct evbuffer *);
size_t		 drain_in_flight(struct drain *);
void		 drain_tidy(struct drain *);

#endif
