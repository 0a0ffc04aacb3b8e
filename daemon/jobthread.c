/*
 * jobthread.c: a thread that runs jobs in submission order and hands
 * each back to the event loop, whose done() then runs there.
 *
 * A job's run() executes on the thread and must not touch the event loop
 * or evhttp; done() runs on the loop thread.  The store writer (writer.c)
 * and the submission parser (submit.c) are each one of these.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "handback.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

TAILQ_HEAD(wjobq, wjob);

struct jobthread {
	struct store		*store;		/* passed to run(); may be NULL */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct wjobq		 todo;
	int			 quit;
	struct handback		*back;		/* finished jobs, to the loop */
	size_t			 pending;	/* submitted, done() not yet run */
};

/* The thread: run each job, then hand it back. */
static void *
jobthread_main(void *arg)
{
	struct jobthread	*jt = arg;
	struct wjob		*j;

	pthread_mutex_lock(&jt->lock);
	for (;;) {
		while (TAILQ_EMPTY(&jt->todo) && !jt->quit)
			pthread_cond_wait(&jt->cond, &jt->lock);
		/* Quitting still finishes what was queued. */
		if ((j = TAILQ_FIRST(&jt->todo)) == NULL)
			break;
		TAILQ_REMOVE(&jt->todo, j, entry);
		pthread_mutex_unlock(&jt->lock);
		j->run(j, jt->store);
		handback_push(jt->back, &j);
		pthread_mutex_lock(&jt->lock);
	}
	pthread_mutex_unlock(&jt->lock);
	return NULL;
}

/* On the loop: one finished job's done(). */
static void
jobthread_done(void *item, void *arg)
{
	struct jobthread	*jt = arg;
	struct wjob		*j = *(struct wjob **)item;

	jt->pending--;
	j->done(j);
}

/* Start a thread called `name` (for `top -H`) whose jobs get `store`. */
struct jobthread *
jobthread_new(struct event_base *base, const char *name, struct store *store,
    char **cause)
{
	struct jobthread	*jt;

	jt = xcalloc(1, sizeof *jt);
	jt->store = store;
	TAILQ_INIT(&jt->todo);
	if ((jt->back = handback_new(base, sizeof(struct wjob *),
	    jobthread_done, jt, cause)) == NULL) {
		free(jt);
		return NULL;
	}
	pthread_mutex_init(&jt->lock, NULL);
	pthread_cond_init(&jt->cond, NULL);
	if ((errno = pthread_create(&jt->thread, NULL, jobthread_main,
	    jt)) != 0) {
		set_cause(cause, "cannot start the %s thread: %s", name,
		    strerror(errno));
		handback_free(jt->back);
		pthread_mutex_destroy(&jt->lock);
		pthread_cond_destroy(&jt->cond);
		free(jt);
		return NULL;
	}
	pthread_setname_np(jt->thread, name);
	return jt;
}

/* Queue a job, at the end or at the front. */
static void
jobthread_queue(struct jobthread *jt, struct wjob *j, int first)
{
	pthread_mutex_lock(&jt->lock);
	if (first)
		TAILQ_INSERT_HEAD(&jt->todo, j, entry);
	else
		TAILQ_INSERT_TAIL(&jt->todo, j, entry);
	jt->pending++;
	pthread_cond_signal(&jt->cond);
	pthread_mutex_unlock(&jt->lock);
}

/* Queue a job; its done() will run on the loop thread. */
void
jobthread_submit(struct jobthread *jt, struct wjob *j)
{
	jobthread_queue(jt, j, 0);
}

/* Run this job before those waiting (one another thread waits for). */
void
jobthread_submit_first(struct jobthread *jt, struct wjob *j)
{
	jobthread_queue(jt, j, 1);
}

/* Jobs submitted whose done() has not run yet. */
size_t
jobthread_pending(struct jobthread *jt)
{
	return jt->pending;
}

/* Finish queued jobs, run their done(), and stop the thread. */
void
jobthread_free(struct jobthread *jt)
{
	if (jt == NULL)
		return;
	pthread_mutex_lock(&jt->lock);
	jt->quit = 1;
	pthread_cond_signal(&jt->cond);
	pthread_mutex_unlock(&jt->lock);
	pthread_join(jt->thread, NULL);
	handback_run(jt->back);
	handback_free(jt->back);
	pthread_mutex_destroy(&jt->lock);
	pthread_cond_destroy(&jt->cond);
	free(jt);
}
