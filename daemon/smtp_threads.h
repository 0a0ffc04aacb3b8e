/*
 * smtp_threads.h: libcurl transfers run on worker threads, one at a time each.
 *
 * libcurl 7.88 waits, blocking, for an SMTP relay's answer to the end of
 * a message's data, even under the multi interface (curl issue 8555).
 * Run on the event loop, that wait froze the control API, the
 * unsubscribe pages and every other transfer for as long as the relay
 * took to answer, up to the SMTP timeout.  A lane is a thread that
 * performs one transfer at a time with curl_easy_perform(), so such a
 * wait holds only its own connection.
 *
 * The owner sets up a handle and submits it, to start at once or at a
 * given time (a worker keeps a cadence slot more exactly than the loop's
 * timer, which a busy machine may wake late); done() later runs on the
 * event loop with the result.  A handle keeps its connection between
 * transfers, whichever lane runs it.  started() relays, to the loop, a
 * worker's word that a transfer really began (smtp_threads_started(), from a
 * libcurl callback).  Nothing else runs on the workers, so the owner
 * must not touch a submitted handle or its callback data until done().
 */
#ifndef MANNERS_SMTP_THREADS_H
#define MANNERS_SMTP_THREADS_H

#include <stddef.h>

#include <curl/curl.h>
#include <event2/event.h>

struct smtp_threads;

typedef void	(*smtp_threads_done_fn)(CURL *, CURLcode, void *job);
typedef void	(*smtp_threads_started_fn)(void *job, double ms);

struct smtp_threads	*smtp_threads_new(struct event_base *, size_t, smtp_threads_done_fn,
		    smtp_threads_started_fn, char **);
int		 smtp_threads_grow(struct smtp_threads *, size_t, char **);
size_t		 smtp_threads_count(const struct smtp_threads *);
void		 smtp_threads_submit(struct smtp_threads *, CURL *, void *, double);
void		 smtp_threads_started(struct smtp_threads *, void *, double);
void		 smtp_threads_free(struct smtp_threads *);

#endif
