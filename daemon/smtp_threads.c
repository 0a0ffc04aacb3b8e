/*
 * smtp_threads.c: worker threads that run libcurl transfers (see smtp_threads.h).
 *
 * Submitted transfers wait in a ring until a worker takes one; results
 * (and started notices) go back to the loop through a hand-back
 * (handback.c), in order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handback.h"
#include "smtp_threads.h"
#include "log.h"
#include "util.h"

enum lane_kind {
	LANE_DONE,
	LANE_STARTED
};

struct lane_msg {
	enum lane_kind	 kind;
	CURL		*easy;
	void		*job;
	CURLcode	 res;
	double		 ms;		/* STARTED: when; DONE: start at */
};

struct smtp_threads {
	smtp_threads_done_fn	 done;
	smtp_threads_started_fn started;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	pthread_t	*threads;
	size_t		 nthreads;
	int		 quit;
	/* submitted, not yet taken: a ring */
	struct lane_msg	*todo;
	size_t		 todo_cap;
	size_t		 todo_head;
	size_t		 ntodo;
	struct handback	*back;		/* results and notices, to the loop */
};

/* Sleep until `ms` on the monotonic clock (the owner's cadence slot). */
static void
smtp_threads_sleep_until(double ms)
{
	struct timespec	 ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000.0);
	ts.tv_nsec = (long)((ms - (double)ts.tv_sec * 1000.0) * 1e6);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	} else if (ts.tv_nsec < 0)
		ts.tv_nsec = 0;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
	    EINTR)
		;
}

static void *
smtp_threads_main(void *arg)
{
	struct smtp_threads	*l = arg;
	struct lane_msg	 m;

	pthread_mutex_lock(&l->lock);
	for (;;) {
		while (l->ntodo == 0 && !l->quit)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->ntodo == 0)
			break;
		m = l->todo[l->todo_head];
		l->todo_head = (l->todo_head + 1) % l->todo_cap;
		l->ntodo--;
		pthread_mutex_unlock(&l->lock);
		smtp_threads_sleep_until(m.ms);
		m.res = curl_easy_perform(m.easy);
		m.kind = LANE_DONE;
		pthread_mutex_lock(&l->lock);
		/* Once quitting, the owner frees the jobs itself. */
		if (!l->quit)
			handback_push(l->back, &m);
	}
	pthread_mutex_unlock(&l->lock);
	return NULL;
}

/* On the loop: hand one result or notice over. */
static void
smtp_threads_cb(void *item, void *arg)
{
	struct smtp_threads	*l = arg;
	struct lane_msg		*m = item;

	if (m->kind == LANE_STARTED)
		l->started(m->job, m->ms);
	else
		l->done(m->easy, m->res, m->job);
}

struct smtp_threads *
smtp_threads_new(struct event_base *base, size_t n, smtp_threads_done_fn done,
    smtp_threads_started_fn started, char **cause)
{
	struct smtp_threads	*l;

	l = xcalloc(1, sizeof *l);
	l->done = done;
	l->started = started;
	if ((l->back = handback_new(base, sizeof(struct lane_msg),
	    smtp_threads_cb, l, cause)) == NULL) {
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	if (smtp_threads_grow(l, n, cause) == -1) {
		smtp_threads_free(l);
		return NULL;
	}
	return l;
}

/* At least n workers (a reload may raise concurrency; never lowers). */
int
smtp_threads_grow(struct smtp_threads *l, size_t n, char **cause)
{
	struct lane_msg	*todo;
	size_t		 i;
	char		 name[16];

	if (n <= l->nthreads)
		return 0;
	pthread_mutex_lock(&l->lock);
	/* The ring holds at most one transfer per worker: re-lay it. */
	todo = xcalloc(n, sizeof *todo);
	for (i = 0; i < l->ntodo; i++)
		todo[i] = l->todo[(l->todo_head + i) % l->todo_cap];
	free(l->todo);
	l->todo = todo;
	l->todo_cap = n;
	l->todo_head = 0;
	pthread_mutex_unlock(&l->lock);
	l->threads = xreallocarray(l->threads, n, sizeof *l->threads);
	while (l->nthreads < n) {
		if ((errno = pthread_create(&l->threads[l->nthreads], NULL,
		    smtp_threads_main, l)) != 0)
			return set_cause(cause, "cannot start SMTP thread %zu "
			    "of %zu: %s", l->nthreads + 1, n, strerror(errno));
		snprintf(name, sizeof name, "manners-smtp%zu", l->nthreads);
		pthread_setname_np(l->threads[l->nthreads], name);
		l->nthreads++;
	}
	return 0;
}

size_t
smtp_threads_count(const struct smtp_threads *l)
{
	return l->nthreads;
}

/*
 * Run a set-up handle on the next free worker, not before `at` (monotonic
 * milliseconds; 0: at once); done(easy, res, job) follows.
 */
void
smtp_threads_submit(struct smtp_threads *l, CURL *easy, void *job, double at)
{
	struct lane_msg	*m;

	pthread_mutex_lock(&l->lock);
	if (l->ntodo == l->todo_cap)
		fatalx("smtp threads: more transfers submitted than SMTP threads");
	m = &l->todo[(l->todo_head + l->ntodo) % l->todo_cap];
	memset(m, 0, sizeof *m);
	m->easy = easy;
	m->job = job;
	m->ms = at;
	l->ntodo++;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* From a worker (a libcurl callback): job really began at ms. */
void
smtp_threads_started(struct smtp_threads *l, void *job, double ms)
{
	struct lane_msg	 m;

	memset(&m, 0, sizeof m);
	m.kind = LANE_STARTED;
	m.job = job;
	m.ms = ms;
	pthread_mutex_lock(&l->lock);
	if (!l->quit)
		handback_push(l->back, &m);
	pthread_mutex_unlock(&l->lock);
}

/*
 * Stop and join the workers.  Transfers still running finish first (the
 * owner aborts them through their progress callbacks); their results are
 * dropped, so the owner frees their jobs itself afterwards.
 */
void
smtp_threads_free(struct smtp_threads *l)
{
	size_t	 i;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->lock);
	l->quit = 1;
	l->ntodo = 0;		/* not started: nothing to wait for */
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	for (i = 0; i < l->nthreads; i++)
		pthread_join(l->threads[i], NULL);
	handback_free(l->back);
	pthread_mutex_destroy(&l->lock);
	pthread_cond_destroy(&l->cond);
	free(l->threads);
	free(l->todo);
	free(l);
}
