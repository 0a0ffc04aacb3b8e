/*
 * handback.h: finished work handed from threads back to the event loop.
 *
 * A thread pushes a finished item (copied by value, of the size given at
 * creation); the loop is woken through one eventfd, written only when the
 * queue was empty, and runs the callback on every item in push order.
 * The loop reads the eventfd before it swaps the queue out, so an item
 * pushed in between is never left without a wake-up.
 */
#ifndef MANNERS_HANDBACK_H
#define MANNERS_HANDBACK_H

#include <stddef.h>

#include <event2/event.h>

struct handback;

typedef void	(*handback_fn)(void *item, void *arg);

struct handback	*handback_new(struct event_base *, size_t, handback_fn,
		    void *, char **);
void		 handback_push(struct handback *, const void *);
void		 handback_run(struct handback *);
void		 handback_free(struct handback *);

#endif
