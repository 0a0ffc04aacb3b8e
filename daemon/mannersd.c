/*
 * mannersd.c: start-up, signals and the event loop.
 *
 * Set up everything, then dispatch; handlers only record state.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libxml/parser.h>
#include <systemd/sd-daemon.h>

#include "conf.h"
#include "conf_check.h"
#include "hostname.h"
#include "log.h"
#include "mannersd.h"
#include "shaping.h"
#include "store.h"
#include "token.h"
#include "util.h"
#include "version.h"

/* Where `make run` (no -c) finds its catalogs: set by the Makefile. */
#ifndef MANNERSD_DEV_LOCALEDIR
#define MANNERSD_DEV_LOCALEDIR "build/default/locale"
#endif

/* The usage, on stdout for --help (exit 0), else on stderr (exit 2). */
static void
usage(int help)
{
	fprintf(help ? stdout : stderr,
	    "usage: mannersd [-tvq] [-c config]\n"
	    "  -c FILE    configuration (default: development settings "
	    "under ./var/)\n"
	    "  -t         check the configuration, print any warning, and "
	    "exit\n"
	    "  -v, -q     more or less logging\n"
	    "  --version  print the version and exit\n"
	    "  --help     this text\n"
	    "See mannersd(8) and manners.conf(5).\n");
	exit(help ? 0 : 2);
}

/* The only clock read in manners. */
int64_t
mannersd_now(void)
{
	return (int64_t)time(NULL);
}

/* A warning about a valid configuration, logged. */
static void
mannersd_advice(void *arg, const char *text)
{
	(void)arg;
	log_warnx("%s", text);
}

/* Create the parent directory of a path (one level is enough for ./var). */
static void
mannersd_mkparent(const char *path)
{
	char	*dir, *slash;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0750) == -1 && errno != EEXIST)
			log_warn("cannot create directory %s", dir);
	}
	free(dir);
}

/* Leave the loop once the writer has answered everything queued. */
static void
mannersd_exit_check(evutil_socket_t fd, short events, void *arg)
{
	struct mannersd	*md = arg;
	struct timeval	 tv = { 0, 50 * 1000 };

	(void)fd;
	(void)events;
	if (writer_pending(md->writer) == 0) {
		event_base_loopexit(md->base, NULL);
		return;
	}
	evtimer_add(md->ev_exit, &tv);
}

/* Called once the drain has let its transfers finish. */
static void
mannersd_exit_loop(struct mannersd *md)
{
	mannersd_exit_check(-1, 0, md);
}

/* Stop taking work and let the drain finish what is in flight. */
void
mannersd_shutdown(struct mannersd *md)
{
	if (md->stopping)
		return;
	md->stopping = 1;
	sd_notify(0, "STOPPING=1");
	log_info("shutting down: no new work, waiting for transfers in "
	    "flight");
	control_stop(md);
	unsub_http_stop(md);
	drain_stop(md->drain, mannersd_exit_loop);
}

/* Settings a running daemon cannot change: keep the old, say so. */
static void
mannersd_keep(const char *name, char **newv, const char *oldv)
{
	if ((*newv == NULL) != (oldv == NULL) || (oldv != NULL &&
	    strcmp(*newv, oldv) != 0))
		log_warnx("reload: %s changed; restart mannersd to apply it "
		    "(keeping %s)", name, oldv != NULL ? oldv : "none");
	free(*newv);
	*newv = oldv != NULL ? xstrdup(oldv) : NULL;
}

/* Poll the mailbox the new configuration names, if any. */
static void
mannersd_reload_mailbox(struct mannersd *md)
{
	char	*cause = NULL;

	mailbox_free(md->mailbox);
	if ((md->mailbox = mailbox_start(md, &cause)) == NULL &&
	    cause != NULL) {
		log_warnx("reload: the mailbox is not polled: %s", cause);
		free(cause);
	}
}

/*
 * SIGHUP: read the file again; apply it whole, or keep the running
 * configuration if anything is wrong.  The queue is not touched.
 */
static void
mannersd_reload(struct mannersd *md)
{
	struct conf	*c = NULL, *old = md->conf;
	char		*cause = NULL;

	if (old->path == NULL) {
		log_warnx("reload: mannersd runs on built-in defaults (no -c); "
		    "nothing to reload");
		return;
	}
	sd_notify(0, "RELOADING=1");
	if (conf_load(old->path, &c, &cause) == -1) {
		log_errorx("reload failed, the running configuration stays in "
		    "force: %s", cause);
		free(cause);
		sd_notify(0, "READY=1");
		return;
	}
	mannersd_keep("[daemon] socket", &c->socket, old->socket);
	mannersd_keep("[daemon] state_dir", &c->state_dir, old->state_dir);
	mannersd_keep("[daemon] public_listen", &c->public_listen,
	    old->public_listen);
	mannersd_keep("[daemon] secret_file", &c->secret_file,
	    old->secret_file);
	mannersd_keep("[daemon] metrics_listen", &c->metrics_listen,
	    old->metrics_listen);
	mannersd_keep("[smtp] password_file", &c->smtp_password_file,
	    old->smtp_password_file);
	mannersd_keep("[smtp] url", &c->smtp_url, old->smtp_url);
	mannersd_keep("[smtp] helo", &c->smtp_helo, old->smtp_helo);
	if (c->map_size != old->map_size)
		log_warnx("reload: map_size changed; restart mannersd to "
		    "apply it");
	c->map_size = old->map_size;
	md->conf = c;
	conf_free(old);
	conf_check_advice(c, mannersd_advice, NULL);
	if (md->control != NULL) {
		evhttp_set_max_body_size(md->control,
		    (ev_ssize_t)c->max_request);
		evhttp_set_timeout(md->control, (int)c->request_timeout);
	}
	drain_reconfigure(md->drain);
	mannersd_reload_mailbox(md);
	log_info("reload: configuration %s applied", c->path);
	sd_notify(0, "READY=1");
}

#define MANNERSD_CARE_SECS	5

/* Store care, on the writer thread: grow the map, clear dead readers. */
struct care {
	struct wjob		 w;
	struct mannersd		*md;
	uint64_t		 max;
	uint64_t		 grown;
	int			 dead;
	char			*cause;
};

/* Writer thread: clear dead readers and grow the map if needed. */
static void
mannersd_care_run(struct wjob *w, struct store *store)
{
	struct care	*c = (struct care *)w;

	c->dead = store_reader_check(store);
	store_care(store, c->max, 0, &c->grown, &c->cause);
}

/* Loop: report what the store care did. */
static void
mannersd_care_done(struct wjob *w)
{
	struct care	*c = (struct care *)w;

	if (c->grown != 0) {
		c->md->stats.grown++;
		log_info("store: map grown to %llu bytes",
		    (unsigned long long)c->grown);
	}
	if (c->cause != NULL)
		log_warnx("store: %s", c->cause);
	if (c->dead > 0)
		log_info("store: cleared %d stale reader slots", c->dead);
	free(c->cause);
	free(c);
}

/* Every few seconds: store care and a status line for systemd. */
static void
mannersd_care(evutil_socket_t fd, short events, void *arg)
{
	struct mannersd	*md = arg;
	struct timeval	 tv = { MANNERSD_CARE_SECS, 0 };
	struct care	*c;
	json_t		*st;

	(void)fd;
	(void)events;
	if (!md->stopping && writer_pending(md->writer) < 4) {
		c = xcalloc(1, sizeof *c);
		c->w.run = mannersd_care_run;
		c->w.done = mannersd_care_done;
		c->md = md;
		c->max = md->conf->map_max;
		writer_submit(md->writer, &c->w);
	}
	drain_tidy(md->drain);
	st = drain_stats(md->drain);
	sd_notifyf(0, "STATUS=%s; in flight %lld, sent %lld, failed %lld "
	    "since start", md->stopping ? "stopping" : "running",
	    (long long)json_integer_value(json_object_get(st, "in_flight")),
	    (long long)json_integer_value(json_object_get(st, "sent")),
	    (long long)json_integer_value(json_object_get(st, "failed")));
	json_decref(st);
	evtimer_add(md->ev_care, &tv);
}

/* The loop is alive: tell systemd's watchdog. */
static void
mannersd_watchdog(evutil_socket_t fd, short events, void *arg)
{
	struct mannersd	*md = arg;
	struct timeval	 tv;

	(void)fd;
	(void)events;
	sd_notify(0, "WATCHDOG=1");
	tv.tv_sec = (time_t)(md->watchdog_usec / 2 / 1000000);
	tv.tv_usec = (suseconds_t)(md->watchdog_usec / 2 % 1000000);
	evtimer_add(md->ev_watchdog, &tv);
}

/* SIGTERM and SIGINT shut down, SIGHUP reloads: a libevent signal event,
   so this runs in the loop, not in the signal handler. */
static void
mannersd_signal(evutil_socket_t sig, short events, void *arg)
{
	struct mannersd	*md = arg;

	(void)events;
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		mannersd_shutdown(md);
		break;
	case SIGHUP:
		mannersd_reload(md);
		break;
	}
}

/* Read the command line: -c FILE, -t, -v, -q. */
static void
mannersd_options(int argc, char **argv, const char **conf_path,
    int *check_only, int *level)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int	 ch;

	while ((ch = getopt_long(argc, argv, "c:tvqh", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			*conf_path = optarg;
			break;
		case 't':
			*check_only = 1;
			break;
		case 'v':
			*level = LOG_LVL_DEBUG;
			break;
		case 'q':
			*level = LOG_LVL_WARN;
			break;
		case 'h':
			usage(1);
			break;
		case 'V':
			printf("mannersd %s\n", MANNERS_VERSION);
			exit(0);
		default:
			usage(0);
		}
	}
	if (optind != argc)
		usage(0);
}

/*
 * The name for EHLO and Message-IDs: the configured one or the host's
 * fully qualified name; a name without a domain is worth a warning.
 */
static char *
mannersd_hostname(const struct conf *conf)
{
	char	*name, *warning = NULL;

	if (conf->hostname != NULL) {
		if (!hostname_qualified(conf->hostname))
			log_warnx("[daemon] hostname = %s is not fully "
			    "qualified; receiving servers check the EHLO name "
			    "and Message-IDs carry it: give a name with a "
			    "domain", conf->hostname);
		return xstrdup(conf->hostname);
	}
	name = hostname_default(&warning);
	if (warning != NULL)
		log_warnx("%s", warning);
	free(warning);
	return name;
}


/* Process-wide settings and libraries, before anything else runs. */
static void
mannersd_process_init(void)
{
	/*
	 * Keep freed memory instead of handing it back to the kernel after
	 * every message and fault it in again (glibc's dynamic thresholds
	 * cost ~20% of delivery throughput here).
	 */
	mallopt(M_TRIM_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
	signal(SIGPIPE, SIG_IGN);
	xmlInitParser();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("curl_global_init failed");
}

/* Open the store and the token keys; a failure is fatal. */
static void
mannersd_open_state(struct mannersd *md)
{
	char	*cause = NULL;

	mannersd_mkparent(md->conf->state_dir);
	if (store_open(md->conf->state_dir, md->conf->map_size, &md->store,
	    &cause) == -1)
		fatalx("%s", cause);
	mannersd_mkparent(md->conf->secret_file);
	if ((md->keys = token_keys_load(md->conf->secret_file, 1, &cause)) ==
	    NULL)
		fatalx("%s", cause);
}

/* The event base and the signals, which only change state. */
static void
mannersd_loop_new(struct mannersd *md)
{
	struct event_config *evcfg;

	/*
	 * The changelist folds libcurl's "stop watching, watch again" on a
	 * reused connection into one epoll_ctl (or none).  Nothing here
	 * dup()s a watched descriptor, the changelist's one hazard.  (The
	 * drain keeps its cadence on a timerfd of its own, to the
	 * microsecond; libevent's precise-timer mode would cost a system call
	 * on every turn of the loop.)
	 */
	if ((evcfg = event_config_new()) == NULL)
		fatalx("event_config_new failed");
	event_config_set_flag(evcfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	/* Look at the sockets again after this many callbacks in one turn. */
	event_config_set_max_dispatch_interval(evcfg, NULL, 64, 0);
	if ((md->base = event_base_new_with_config(evcfg)) == NULL)
		fatalx("event_base_new failed");
	event_config_free(evcfg);
	md->ev_term = evsignal_new(md->base, SIGTERM, mannersd_signal, md);
	md->ev_int = evsignal_new(md->base, SIGINT, mannersd_signal, md);
	md->ev_hup = evsignal_new(md->base, SIGHUP, mannersd_signal, md);
	evsignal_add(md->ev_term, NULL);
	evsignal_add(md->ev_int, NULL);
	evsignal_add(md->ev_hup, NULL);
	md->ev_exit = evtimer_new(md->base, mannersd_exit_check, md);
}

/* The writer, the listeners, the drain and the timers; fatal on failure. */
static void
mannersd_start_parts(struct mannersd *md)
{
	char	*cause = NULL;

	if ((md->writer = writer_new(md, &cause)) == NULL ||
	    (md->backup = backup_new(md, &cause)) == NULL)
		fatalx("%s", cause);
	mannersd_mkparent(md->conf->socket);
	if (control_start(md, &cause) == -1)
		fatalx("%s", cause);
	if (unsub_http_start(md, &cause) == -1)
		fatalx("%s", cause);
	if ((md->drain = drain_new(md, &cause)) == NULL)
		fatalx("%s", cause);
	if (metrics_start(md, &cause) == -1)
		fatalx("%s", cause);
	if ((md->mailbox = mailbox_start(md, &cause)) == NULL && cause != NULL)
		fatalx("%s", cause);
	md->ev_care = evtimer_new(md->base, mannersd_care, md);
	mannersd_care(-1, 0, md);
	md->prune = prune_new(md);
	md->ev_watchdog = evtimer_new(md->base, mannersd_watchdog, md);
	if (sd_watchdog_enabled(0, &md->watchdog_usec) > 0 &&
	    md->watchdog_usec > 0)
		mannersd_watchdog(-1, 0, md);
}

/* Free everything once the loop has returned, the writer first. */
static void
mannersd_free(struct mannersd *md)
{
	mailbox_free(md->mailbox);
	writer_free(md->writer);
	prune_free(md->prune);
	backup_free(md->backup);
	drain_free(md->drain);
	metrics_free(md);
	event_free(md->ev_care);
	event_free(md->ev_watchdog);
	control_free(md);
	unsub_http_free(md);
	event_free(md->ev_exit);
	event_free(md->ev_term);
	event_free(md->ev_int);
	event_free(md->ev_hup);
	event_base_free(md->base);
	token_keys_free(md->keys);
	store_close(md->store);
	conf_free(md->conf);
	free(md->hostname);
	curl_global_cleanup();
	xmlCleanupParser();
}

/* Set up, then dispatch, and nothing after but freeing. */
int
main(int argc, char **argv)
{
	struct mannersd	 md;
	char		*cause = NULL;
	const char	*conf_path = NULL;
	int		 check_only = 0, level = LOG_LVL_INFO;

	mannersd_options(argc, argv, &conf_path, &check_only, &level);
	log_init(level, "mannersd");

	memset(&md, 0, sizeof md);
	md.control_fd = -1;
	/* -t checks what start-up checks: conf_parse() tests every key,
	   the listen addresses among them. */
	if (conf_path == NULL) {
		md.conf = conf_defaults();
		/* `make run`: the catalogs this build compiled, found from
		   the tree like ./var/, not the installed ones. */
		free(md.conf->locale_dir);
		md.conf->locale_dir = xstrdup(MANNERSD_DEV_LOCALEDIR);
	} else if (conf_load(conf_path, &md.conf, &cause) == -1)
		fatalx("%s; configuration not loaded", cause);
	conf_check_advice(md.conf, mannersd_advice, NULL);
	md.hostname = mannersd_hostname(md.conf);
	if (check_only) {
		/* The shaping rules a start or a reload would read. */
		if (md.conf->shaping_rules != NULL && strcmp(
		    md.conf->shaping_rules, "none") != 0) {
			struct shaping_rules *rs = shaping_load(
			    md.conf->shaping_rules, &cause);

			if (rs == NULL)
				fatalx("%s", cause);
			shaping_rules_free(rs);
		}
		printf("%s: configuration ok (hostname %s)\n", conf_path !=
		    NULL ? conf_path : "(built-in defaults)", md.hostname);
		free(md.hostname);
		conf_free(md.conf);
		return 0;
	}
	mannersd_process_init();
	mannersd_open_state(&md);
	mannersd_loop_new(&md);
	mannersd_start_parts(&md);

	log_info("mannersd started config=%s socket=%s state=%s smtp=%s",
	    conf_path != NULL ? conf_path : "(defaults)", md.conf->socket,
	    md.conf->state_dir, md.conf->smtp_url);
	sd_notify(0, "READY=1");
	event_base_dispatch(md.base);

	mannersd_free(&md);
	log_info("mannersd stopped");
	return 0;
}
