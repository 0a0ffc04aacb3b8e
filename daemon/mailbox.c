/*
 * mailbox.c: polling [feedback] mailbox, the third way returned mail
 * comes in (besides POST /v1/feedback and mannersctl feedback in an MTA's
 * pipe), through libcurl's IMAP and POP3 on the event loop (curlev.c).
 *
 * A round, every mailbox_interval, is a small state machine on one
 * connection:
 *
 *   MB_LIST    IMAP "UID SEARCH NOT DELETED", or POP3 LIST
 *   MB_FETCH   one message (IMAP ;UID=n, POP3 RETR n)
 *   MB_INTAKE  the message read and applied (intake.c); wait for commit
 *   MB_REMOVE  IMAP "UID STORE n +FLAGS.SILENT (\Deleted)" or
 *              "UID MOVE n FOLDER", POP3 DELE n
 *   MB_CLOSE   IMAP EXPUNGE; POP3 QUIT, closing the round's session
 *
 * A message leaves the mailbox only after its outcome is committed, so a
 * crash between fetch and commit reads it again next round, and the
 * intake's replay changes nothing.  A message the intake cannot read
 * (unreadable or over its size limit) is removed too, with a warning:
 * it never becomes readable.  A store error ends the round and keeps the
 * message.  POP3 numbers messages per session, so a round that finds its
 * connection renewed after the list stops before removing anything.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "feedback.h"
#include "feedback_apply.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

/* Most messages read in one round; the rest wait for the next. */
#define MAILBOX_ROUND_MAX	200
/* One IMAP or POP3 command's time limit, in seconds. */
#define MAILBOX_TIMEOUT		60

enum mb_state {
	MB_IDLE,
	MB_LIST,
	MB_FETCH,
	MB_INTAKE,
	MB_REMOVE,
	MB_CLOSE
};

struct mailbox {
	struct mannersd		*md;
	struct curlev		*cv;
	CURL			*easy;
	struct event		*timer;
	enum mb_state		 state;
	int			 pop3;
	char			*url;		/* without a trailing '/' */
	char			*password;
	char			*move_to;	/* NULL: delete */
	struct buf		 body;		/* what the command answered */
	int			 too_big;	/* the fetch passed the limit */
	unsigned long		 ids[MAILBOX_ROUND_MAX];
	size_t			 nids;
	size_t			 cur;
	size_t			 removed;
	int			 stopping;
};

static void	mailbox_next(struct mailbox *);
static void	mailbox_release(struct mailbox *);

/* libcurl's write callback: keep what the server sends, to the limit. */
static size_t
mailbox_write(char *p, size_t size, size_t n, void *arg)
{
	struct mailbox	*mb = arg;

	if (mb->body.len + size * n > FEEDBACK_MAX_BYTES) {
		mb->too_big = 1;
		return 0;	/* ends the transfer: CURLE_WRITE_ERROR */
	}
	buf_add(&mb->body, p, size * n);
	return size * n;
}

/* Start one command: path after the mailbox URL, and a custom request. */
static void
mailbox_command(struct mailbox *mb, const char *path, const char *request,
    int nobody)
{
	char	*url;

	buf_reset(&mb->body);
	mb->too_big = 0;
	xasprintf(&url, "%s%s", mb->url, path != NULL ? path : "");
	curl_easy_setopt(mb->easy, CURLOPT_URL, url);
	curl_easy_setopt(mb->easy, CURLOPT_CUSTOMREQUEST, request);
	curl_easy_setopt(mb->easy, CURLOPT_NOBODY, (long)nobody);
	free(url);
	curlev_add(mb->cv, mb->easy);
	curlev_kick(mb->cv);
}

/* The message numbers of a LIST (POP3) or UID SEARCH (IMAP) answer. */
static void
mailbox_parse_list(struct mailbox *mb)
{
	const char	*p = mb->body.data, *line;
	unsigned long	 id;
	char		*end;

	mb->nids = mb->cur = mb->removed = 0;
	if (p == NULL)
		return;
	if (!mb->pop3) {
		/* "* SEARCH 3 7 9" */
		if ((line = strstr(p, "* SEARCH")) == NULL)
			return;
		for (p = line + 8; mb->nids < MAILBOX_ROUND_MAX; p = end) {
			while (*p == ' ')
				p++;
			id = strtoul(p, &end, 10);
			if (end == p || id == 0)
				break;
			mb->ids[mb->nids++] = id;
		}
		return;
	}
	/* "1 1234\r\n2 567\r\n": a number and a size a line. */
	for (line = p; *line != '\0' && mb->nids < MAILBOX_ROUND_MAX;) {
		id = strtoul(line, &end, 10);
		if (end != line && id != 0 && *end == ' ')
			mb->ids[mb->nids++] = id;
		if ((line = strchr(line, '\n')) == NULL)
			break;
		line++;
	}
}

/* Remove the current message: IMAP flag (or move), POP3 DELE. */
static void
mailbox_remove(struct mailbox *mb)
{
	char	 req[256], path[32];

	mb->state = MB_REMOVE;
	if (mb->pop3) {
		snprintf(path, sizeof path, "/%lu", mb->ids[mb->cur]);
		mailbox_command(mb, path, "DELE", 1);
		return;
	}
	if (mb->move_to != NULL)
		snprintf(req, sizeof req, "UID MOVE %lu %s", mb->ids[mb->cur],
		    mb->move_to);
	else
		snprintf(req, sizeof req, "UID STORE %lu +FLAGS.SILENT "
		    "(\\Deleted)", mb->ids[mb->cur]);
	mailbox_command(mb, NULL, req, 0);
}

/* The intake's answer for the current message. */
static void
mailbox_intake_done(void *arg, int status, const struct feedback_apply_out *o,
    const char *cause)
{
	struct mailbox	*mb = arg;

	(void)o;
	if (mb->stopping) {
		/* mailbox_free() waited for this answer to let go. */
		mailbox_release(mb);
		return;
	}
	if (status == 200 || status == 422) {
		if (status == 422)
			log_warnx("mailbox: message %lu cannot be read as "
			    "feedback (%s); removing it", mb->ids[mb->cur],
			    cause != NULL ? cause : "?");
		mailbox_remove(mb);
		return;
	}
	log_warnx("mailbox: message %lu not stored (%s); it stays for the "
	    "next round", mb->ids[mb->cur], cause != NULL ? cause : "?");
	mb->nids = mb->cur;	/* end the round here */
	mailbox_next(mb);
}

/* Fetch the next message, or close the round. */
static void
mailbox_next(struct mailbox *mb)
{
	char	 path[32];

	if (mb->cur < mb->nids) {
		mb->state = MB_FETCH;
		snprintf(path, sizeof path, mb->pop3 ? "/%lu" : "/;UID=%lu",
		    mb->ids[mb->cur]);
		mailbox_command(mb, path, NULL, 0);
		return;
	}
	if (mb->removed > 0 && !mb->pop3 && mb->move_to == NULL) {
		mb->state = MB_CLOSE;
		mailbox_command(mb, NULL, "EXPUNGE", 0);
		return;
	}
	if (mb->pop3) {
		/*
		 * POP3 deletes at QUIT, which closing the connection sends,
		 * and a session sees only what was there when it began: each
		 * round has a session of its own.
		 */
		mb->state = MB_CLOSE;
		curl_easy_setopt(mb->easy, CURLOPT_FORBID_REUSE, 1L);
		mailbox_command(mb, NULL, "NOOP", 1);
		return;
	}
	mb->state = MB_IDLE;
}

/* A fetched message goes to the intake, which takes it. */
static void
mailbox_fetched(struct mailbox *mb)
{
	size_t	 len;
	char	*msg;

	mb->state = MB_INTAKE;
	msg = buf_steal(&mb->body, &len);
	intake_message(mb->md, msg, len, NULL, mailbox_intake_done, mb);
}

/* Whether the connection was made anew for the last command. */
static int
mailbox_reconnected(struct mailbox *mb)
{
	long	 n = 0;

	curl_easy_getinfo(mb->easy, CURLINFO_NUM_CONNECTS, &n);
	return n > 0;
}

/* A command finished: go on from the state it was in. */
static void
mailbox_done(CURL *e, CURLcode res, void *arg)
{
	struct mailbox	*mb = arg;

	(void)e;
	if (mb->stopping)
		return;
	if (mb->state == MB_FETCH && res == CURLE_WRITE_ERROR && mb->too_big) {
		log_warnx("mailbox: message %lu is larger than feedback reads "
		    "(%d bytes); removing it", mb->ids[mb->cur],
		    FEEDBACK_MAX_BYTES);
		mailbox_remove(mb);
		return;
	}
	if (res != CURLE_OK) {
		log_warnx("mailbox: %s: %s; trying again in %llu s", mb->url,
		    curl_easy_strerror(res), (unsigned long long)
		    mb->md->conf->mailbox_interval);
		mb->state = MB_IDLE;
		return;
	}
	switch (mb->state) {
	case MB_LIST:
		mailbox_parse_list(mb);
		if (mb->nids > 0)
			log_debug("mailbox: %zu messages to read", mb->nids);
		mailbox_next(mb);
		break;
	case MB_FETCH:
		if (mb->pop3 && mailbox_reconnected(mb)) {
			log_warnx("mailbox: the POP3 connection was renewed "
			    "during a round; starting over next round");
			mb->state = MB_IDLE;
			break;
		}
		mailbox_fetched(mb);
		break;
	case MB_REMOVE:
		mb->removed++;
		mb->cur++;
		mailbox_next(mb);
		break;
	case MB_CLOSE:
		curl_easy_setopt(mb->easy, CURLOPT_FORBID_REUSE, 0L);
		/* FALLTHROUGH */
	case MB_IDLE:
	case MB_INTAKE:
		mb->state = MB_IDLE;
		break;
	}
}

/* The interval timer: start a round unless one is still going. */
static void
mailbox_tick(evutil_socket_t fd, short events, void *arg)
{
	struct mailbox	*mb = arg;

	(void)fd;
	(void)events;
	if (mb->state != MB_IDLE || mb->md->stopping)
		return;
	mb->state = MB_LIST;
	mailbox_command(mb, mb->pop3 ? "/" : NULL, mb->pop3 ? NULL :
	    "UID SEARCH NOT DELETED", 0);
}

/* The password file's first line. */
static char *
mailbox_password(const char *path, char **cause)
{
	char	 line[1024];
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		set_cause(cause, "cannot read mailbox_password_file %s: %m",
		    path);
		return NULL;
	}
	if (fgets(line, sizeof line, f) == NULL)
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	return xstrdup(line);
}

/* Set up the handle every command of this mailbox uses. */
static int
mailbox_handle(struct mailbox *mb, const struct conf *conf, char **cause)
{
	if ((mb->easy = curl_easy_init()) == NULL)
		return set_cause(cause, "cannot create a libcurl handle");
	curl_easy_setopt(mb->easy, CURLOPT_WRITEFUNCTION, mailbox_write);
	curl_easy_setopt(mb->easy, CURLOPT_WRITEDATA, mb);
	curl_easy_setopt(mb->easy, CURLOPT_PRIVATE, mb);
	curl_easy_setopt(mb->easy, CURLOPT_TIMEOUT, (long)MAILBOX_TIMEOUT);
	curl_easy_setopt(mb->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(mb->easy, CURLOPT_PROTOCOLS_STR,
	    "imap,imaps,pop3,pop3s");
	if (conf->mailbox_user != NULL)
		curl_easy_setopt(mb->easy, CURLOPT_USERNAME,
		    conf->mailbox_user);
	if (mb->password != NULL)
		curl_easy_setopt(mb->easy, CURLOPT_PASSWORD, mb->password);
	return 0;
}

struct mailbox *
mailbox_start(struct mannersd *md, char **cause)
{
	const struct conf	*conf = md->conf;
	struct mailbox		*mb;
	struct timeval		 tv;
	size_t			 n;

	if (conf->mailbox == NULL)
		return NULL;
	mb = xcalloc(1, sizeof *mb);
	mb->md = md;
	buf_init(&mb->body);
	mb->pop3 = strncasecmp(conf->mailbox, "pop3", 4) == 0;
	mb->url = xstrdup(conf->mailbox);
	n = strlen(mb->url);
	while (n > 0 && mb->url[n - 1] == '/')
		mb->url[--n] = '\0';
	if (strncmp(conf->mailbox_after, "move:", 5) == 0)
		mb->move_to = xstrdup(conf->mailbox_after + 5);
	if ((mb->pop3 && mb->move_to != NULL) || (conf->mailbox_password_file !=
	    NULL && (mb->password = mailbox_password(
	    conf->mailbox_password_file, cause)) == NULL) ||
	    mailbox_handle(mb, conf, cause) == -1) {
		if (mb->pop3 && mb->move_to != NULL)
			set_cause(cause, "mailbox_after = move: needs an IMAP "
			    "mailbox; POP3 can only delete");
		mailbox_free(mb);
		return NULL;
	}
	mb->cv = curlev_new(md->base, mailbox_done, mb);
	mb->timer = event_new(md->base, -1, EV_PERSIST, mailbox_tick, mb);
	tv.tv_sec = (time_t)conf->mailbox_interval;
	tv.tv_usec = 0;
	event_add(mb->timer, &tv);
	/* The first round at once: mail may have waited while we were down. */
	event_active(mb->timer, EV_TIMEOUT, 0);
	log_info("mailbox: polling %s every %llu s, then %s", mb->url,
	    (unsigned long long)conf->mailbox_interval, mb->move_to != NULL ?
	    conf->mailbox_after : "delete");
	return mb;
}

/* Free what is left once nothing can call back. */
static void
mailbox_release(struct mailbox *mb)
{
	buf_free(&mb->body);
	if (mb->password != NULL)
		explicit_bzero(mb->password, strlen(mb->password));
	free(mb->password);
	free(mb->move_to);
	free(mb->url);
	free(mb);
}

/* Stop polling; a message in the intake is let go when it answers. */
void
mailbox_free(struct mailbox *mb)
{
	if (mb == NULL)
		return;
	mb->stopping = 1;
	if (mb->timer != NULL)
		event_free(mb->timer);
	mb->timer = NULL;
	if (mb->cv != NULL && mb->easy != NULL)
		curlev_remove(mb->cv, mb->easy);
	if (mb->easy != NULL)
		curl_easy_cleanup(mb->easy);
	mb->easy = NULL;
	curlev_free(mb->cv);
	mb->cv = NULL;
	if (mb->state != MB_INTAKE)
		mailbox_release(mb);
}
