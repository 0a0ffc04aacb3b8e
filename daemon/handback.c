/*
 * handback.c: finished work handed from threads back to the event loop
 * (see handback.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "handback.h"
#include "log.h"
#include "util.h"

struct handback {
	handback_fn	 fn;
	void		*arg;
	size_t		 size;		/* of one item */
	pthread_mutex_t	 lock;
	unsigned char	*items;		/* nitems of `size` bytes each */
	size_t		 nitems;
	size_t		 cap;
	int		 efd;
	struct event	*ev;
};

/* The loop's side: swap the queue out and run every item, in order. */
static void
handback_cb(evutil_socket_t fd, short events, void *arg)
{
	struct handback	*hb = arg;
	unsigned char	*batch;
	size_t		 i, n;
	uint64_t	 v;

	(void)events;
	/* Read first: a push after this wakes us again. */
	if (read(fd, &v, sizeof v) == -1 && errno != EAGAIN)
		log_warn("handback: eventfd");
	pthread_mutex_lock(&hb->lock);
	batch = hb->items;
	n = hb->nitems;
	hb->items = NULL;
	hb->nitems = hb->cap = 0;
	pthread_mutex_unlock(&hb->lock);
	for (i = 0; i < n; i++)
		hb->fn(batch + i * hb->size, hb->arg);
	free(batch);
}

/* A hand-back of items of `size` bytes; fn(item, arg) runs on the loop. */
struct handback *
handback_new(struct event_base *base, size_t size, handback_fn fn, void *arg,
    char **cause)
{
	struct handback	*hb;

	hb = xcalloc(1, sizeof *hb);
	hb->fn = fn;
	hb->arg = arg;
	hb->size = size;
	pthread_mutex_init(&hb->lock, NULL);
	if ((hb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		set_cause(cause, "eventfd: %s", strerror(errno));
		pthread_mutex_destroy(&hb->lock);
		free(hb);
		return NULL;
	}
	hb->ev = event_new(base, hb->efd, EV_READ | EV_PERSIST, handback_cb,
	    hb);
	event_add(hb->ev, NULL);
	return hb;
}

/* From any thread: queue a copy of `item`, waking the loop if idle. */
void
handback_push(struct handback *hb, const void *item)
{
	uint64_t	 one = 1;

	pthread_mutex_lock(&hb->lock);
	if (hb->nitems == hb->cap) {
		hb->cap = hb->cap == 0 ? 16 : hb->cap * 2;
		hb->items = xreallocarray(hb->items, hb->cap, hb->size);
	}
	memcpy(hb->items + hb->nitems * hb->size, item, hb->size);
	/* One wake-up per batch: the loop takes everything queued. */
	if (++hb->nitems == 1 && write(hb->efd, &one, sizeof one) == -1 &&
	    errno != EAGAIN)
		log_warn("handback: eventfd");
	pthread_mutex_unlock(&hb->lock);
}

/* On the loop, outside the event: run what is queued now (at shutdown). */
void
handback_run(struct handback *hb)
{
	handback_cb(hb->efd, EV_READ, hb);
}

/* Free the hand-back; items still queued are dropped, not run. */
void
handback_free(struct handback *hb)
{
	if (hb == NULL)
		return;
	event_free(hb->ev);
	close(hb->efd);
	pthread_mutex_destroy(&hb->lock);
	free(hb->items);
	free(hb);
}
