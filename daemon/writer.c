/*
 * writer.c: one thread that performs every write transaction.
 *
 * LMDB allows one writer at a time and a commit waits for fsync; doing
 * writes here keeps the event loop free to answer while a million
 * recipients are admitted or a commit group is synced.  The loop thread
 * only reads (MVCC read transactions never wait for the writer).
 *
 * A job's run() executes on the writer thread and must not touch the
 * event loop or evhttp; its done() then runs on the loop thread.  Jobs
 * run in submission order.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"
#include "mannersd.h"
#include "util.h"

TAILQ_HEAD(wjobq, wjob);

struct writer {
	struct mannersd		*md;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct wjobq		 todo;
	struct wjobq		 done;
	int			 quit;
	int			 efd;
	struct event		*ev;
	size_t			 pending;	/* submitted, done() not yet run */
};

static void *
writer_main(void *arg)
{
	struct writer	*w = arg;
	struct wjob	*j;
	uint64_t	 one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (TAILQ_EMPTY(&w->todo) && !w->quit)
			pthread_cond_wait(&w->cond, &w->lock);
		if ((j = TAILQ_FIRST(&w->todo)) == NULL)
			break;
		TAILQ_REMOVE(&w->todo, j, entry);
		pthread_mutex_unlock(&w->lock);
		j->run(j, w->md->store);
		pthread_mutex_lock(&w->lock);
		TAILQ_INSERT_TAIL(&w->done, j, entry);
		if (write(w->efd, &one, sizeof one) == -1 && errno != EAGAIN)
			log_warn("writer: eventfd");
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* On the loop: run the done() of every finished job. */
static void
writer_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct writer	*w = arg;
	struct wjobq	 ready;
	struct wjob	*j;
	uint64_t	 n;

	(void)events;
	if (read(fd, &n, sizeof n) == -1 && errno != EAGAIN)
		log_warn("writer: eventfd");
	TAILQ_INIT(&ready);
	pthread_mutex_lock(&w->lock);
	TAILQ_CONCAT(&ready, &w->done, entry);
	pthread_mutex_unlock(&w->lock);
	while ((j = TAILQ_FIRST(&ready)) != NULL) {
		TAILQ_REMOVE(&ready, j, entry);
		w->pending--;
		j->done(j);
	}
}

struct writer *
writer_new(struct mannersd *md, char **cause)
{
	struct writer	*w;

	w = xcalloc(1, sizeof *w);
	w->md = md;
	TAILQ_INIT(&w->todo);
	TAILQ_INIT(&w->done);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		set_cause(cause, "eventfd: %s", strerror(errno));
		free(w);
		return NULL;
	}
	w->ev = event_new(md->base, w->efd, EV_READ | EV_PERSIST,
	    writer_done_cb, w);
	event_add(w->ev, NULL);
	if ((errno = pthread_create(&w->thread, NULL, writer_main, w)) != 0) {
		set_cause(cause, "cannot start the writer thread: %s",
		    strerror(errno));
		event_free(w->ev);
		close(w->efd);
		free(w);
		return NULL;
	}
	/* So `top -H` and `ps -L` tell it from the event loop. */
	pthread_setname_np(w->thread, "manners-writer");
	return w;
}

/* Queue a job; its done() will run on the loop thread. */
void
writer_submit(struct writer *w, struct wjob *j)
{
	pthread_mutex_lock(&w->lock);
	TAILQ_INSERT_TAIL(&w->todo, j, entry);
	w->pending++;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Jobs submitted whose done() has not run yet. */
size_t
writer_pending(struct writer *w)
{
	return w->pending;
}

/* Finish queued jobs, run their done(), and stop the thread. */
void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->lock);
	w->quit = 1;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	writer_done_cb(w->efd, EV_READ, w);
	event_free(w->ev);
	close(w->efd);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w);
}
