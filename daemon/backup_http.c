/*
 * backup_http.c: POST /v1/backup, a hot backup of the store into a file.
 *
 * The copy runs on a thread of its own ("manners-backup"), neither the
 * event loop nor the writer: it reads from one LMDB read transaction, so
 * admission and delivery go on and commit meanwhile (lib/backup.h).  One
 * backup runs at a time; another request meanwhile is a 409.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backup.h"
#include "conf.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

struct backup {
	struct jobthread	*jt;
	int			 busy;
};

struct backup_job {
	struct wjob		 w;
	struct mannersd		*md;
	struct evhttp_request	*req;
	char			*path;
	char			*state_dir;
	int			 overwrite;
	int			 status;
	uint64_t		 bytes;
	double			 seconds;
	char			*cause;
};

/* The body POST /v1/backup takes. */
static const struct control_json_key backup_keys[] = {
	{ "path", JSON_STRING, 1 },
};

/* A monotonic clock in seconds, for the answer's duration only. */
static double
backup_clock(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On the backup thread: the copy, its sync and its rename. */
static void
backup_run(struct wjob *w, struct store *store)
{
	struct backup_job	*b = (struct backup_job *)w;
	double			 t0 = backup_clock();

	backup_write(store, b->state_dir, b->path, b->overwrite, &b->bytes,
	    &b->status, &b->cause);
	b->seconds = backup_clock() - t0;
}

/* On the loop: answer and log. */
static void
backup_done(struct wjob *w)
{
	struct backup_job	*b = (struct backup_job *)w;

	b->md->backup->busy = 0;
	if (b->status == 200) {
		log_info("backup: %s written, %llu bytes in %.1f s", b->path,
		    (unsigned long long)b->bytes, b->seconds);
		json_t	*o = json_pack("{s:s, s:I, s:f}", "path", b->path,
		    "bytes", (json_int_t)b->bytes, "seconds", b->seconds);

		control_reply_json(b->req, 200, o);
		json_decref(o);
	} else {
		if (b->status == 500)
			log_warnx("backup: %s failed: %s", b->path, b->cause);
		control_reply_error(b->req, b->status, b->cause != NULL ?
		    b->cause : "backup failed", json_pack("{s:s}", "field",
		    "path"));
	}
	free(b->cause);
	free(b->path);
	free(b->state_dir);
	free(b);
}

/* POST /v1/backup[?overwrite=1] {"path": "/abs/file"}. */
void
backup_request(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	struct backup_job	*b;
	json_t			*j;
	char			*ow = NULL, *cause = NULL;
	int			 rc;

	(void)id;
	if ((rc = control_routes_query(req, "overwrite", &ow)) == -1)
		return;
	if (rc == 1 && strcmp(ow, "1") != 0 && strcmp(ow, "0") != 0) {
		free(ow);
		control_reply_error(req, 422, "overwrite must be 1 or 0",
		    json_pack("{s:s}", "field", "overwrite"));
		return;
	}
	if ((j = control_json_body(req, backup_keys, nitems(backup_keys),
	    "{\"path\": \"/var/backups/manners/store.mdb\"}")) == NULL) {
		free(ow);
		return;
	}
	if (backup_check_path(json_string_value(json_object_get(j, "path")),
	    md->conf->state_dir, &cause) == -1) {
		control_reply_error(req, 422, cause, json_pack("{s:s}",
		    "field", "path"));
		free(cause);
	} else if (md->backup->busy)
		control_reply_error(req, 409, "a backup is already running; "
		    "try again when it has finished", NULL);
	else {
		b = xcalloc(1, sizeof *b);
		b->w.run = backup_run;
		b->w.done = backup_done;
		b->md = md;
		b->req = req;
		b->path = xstrdup(json_string_value(json_object_get(j,
		    "path")));
		b->state_dir = xstrdup(md->conf->state_dir);
		b->overwrite = ow != NULL && strcmp(ow, "1") == 0;
		md->backup->busy = 1;
		jobthread_submit(md->backup->jt, &b->w);
	}
	free(ow);
	json_decref(j);
}

/* The backup thread, idle until a request. */
struct backup *
backup_new(struct mannersd *md, char **cause)
{
	struct backup	*bk = xcalloc(1, sizeof *bk);

	if ((bk->jt = jobthread_new(md->base, "manners-backup", md->store,
	    cause)) == NULL) {
		free(bk);
		return NULL;
	}
	return bk;
}

/* Let a backup under way finish and answer, then stop the thread. */
void
backup_free(struct backup *bk)
{
	if (bk == NULL)
		return;
	jobthread_free(bk->jt);
	free(bk);
}
