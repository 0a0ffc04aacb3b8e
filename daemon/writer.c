/*
 * writer.c: the store writer, one thread that performs every write
 * transaction.
 *
 * LMDB allows one writer at a time and a commit waits for fsync; doing
 * writes here keeps the event loop free to answer while a million
 * recipients are admitted or a commit group is synced.  The loop thread
 * only reads (MVCC read transactions never wait for the writer).  Jobs
 * run in submission order, each given the store (see jobthread.c).
 */
#include <stdlib.h>

#include "mannersd.h"
#include "util.h"

struct writer {
	struct jobthread	*jt;
	size_t			 held;	/* work on its way here */
};

/* Start the writer thread over the daemon's store. */
struct writer *
writer_new(struct mannersd *md, char **cause)
{
	struct writer	*w;

	w = xcalloc(1, sizeof *w);
	if ((w->jt = jobthread_new(md->base, "manners-writer", md->store,
	    cause)) == NULL) {
		free(w);
		return NULL;
	}
	return w;
}

/* Queue a job; its done() will run on the loop thread. */
void
writer_submit(struct writer *w, struct wjob *j)
{
	jobthread_submit(w->jt, j);
}

/*
 * Count work that will reach the writer later (a submission still being
 * read or measured) as pending, so that shutdown waits for its answer.
 */
void
writer_hold(struct writer *w)
{
	w->held++;
}

/* That work has been answered. */
void
writer_release(struct writer *w)
{
	w->held--;
}

/* Jobs submitted or held whose answer has not gone yet. */
size_t
writer_pending(struct writer *w)
{
	return jobthread_pending(w->jt) + w->held;
}

/* Finish queued jobs, run their done(), and stop the thread. */
void
writer_free(struct writer *w)
{
	if (w == NULL)
		return;
	jobthread_free(w->jt);
	free(w);
}
