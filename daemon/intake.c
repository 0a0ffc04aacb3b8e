/*
 * intake.c: POST /v1/feedback, one message that came back (a bounce, a
 * complaint report, a mailto: unsubscribe, an automatic reply), from an
 * MTA's pipe (mannersctl feedback), the mailbox poller or any client.
 *
 * The message is read on the parser thread (GMime: no I/O, but a large
 * report takes a while), applied on the writer thread in one transaction
 * (feedback_apply.c attributes it only through a token that verifies),
 * and answered on the loop:
 *
 *   {"kind": ..., "address": ..., "campaign": ..., "list": ...,
 *    "action": "suppressed" | "unsubscribed" | "recorded" | "none"}
 *
 * A message that cannot be read is refused with 422 and changes nothing;
 * a store error is a 5xx, so that the MTA keeps the message and retries.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "addr.h"
#include "conf.h"
#include "feedback.h"
#include "feedback_apply.h"
#include "ledger.h"
#include "log.h"
#include "mannersd.h"
#include "store.h"
#include "util.h"

enum intake_step {
	INTAKE_PARSE,		/* on the parser thread */
	INTAKE_APPLY,		/* on the writer thread */
	INTAKE_REPLY		/* on the loop */
};

struct intake {
	struct wjob			 w;
	enum intake_step		 step;
	struct mannersd			*md;
	intake_done_fn			 done;
	void				*arg;
	struct conf			*conf;
	char				*msg;
	size_t				 len;
	char				*rcpt;		/* NULL: not given */
	char				*unsub;		/* mailto: address */
	int64_t				 now;
	struct feedback			 fb;
	struct feedback_apply_out	 out;
	int				 status;
	char				*cause;
};

/* The address of unsubscribe_mailto ("addr" or "mailto:addr?..."). */
static char *
intake_unsub_addr(const struct conf *conf)
{
	const char	*m = conf->unsubscribe_mailto;

	if (m == NULL)
		return NULL;
	if (strncasecmp(m, "mailto:", 7) == 0)
		m += 7;
	return xstrndup(m, strcspn(m, "?"));
}

/* The breaker limits: the [feedback] settings. */
static struct breaker_limits
intake_limits(const struct conf *conf)
{
	struct breaker_limits	 l;

	l.complaint_ppm = conf->pause_complaint_ppm;
	l.bounce_ppm = conf->pause_bounce_ppm;
	l.min_sent = conf->pause_min_sent;
	return l;
}

/* On the writer: attribute and apply in one transaction. */
static void
intake_apply(struct intake *in, struct store *store)
{
	struct feedback_apply_in	 ai;
	struct store_txn		*t = NULL;
	json_t				*states = json_object();
	int				 rc;

	memset(&ai, 0, sizeof ai);
	ai.fb = &in->fb;
	ai.keys = in->md->keys;
	ai.limits = intake_limits(in->conf);
	ai.now = in->now;
	in->status = 500;
	if ((rc = store_begin(store, 1, &t, &in->cause)) == 0 &&
	    (rc = feedback_apply(t, &ai, states, &in->out, &in->cause)) == 0 &&
	    (rc = ledger_flush_states(t, states, &in->cause)) == 0) {
		rc = store_commit(t, &in->cause);
		t = NULL;
	}
	store_abort(t);
	json_decref(states);
	if (rc == 0)
		in->status = 200;
	else if (rc == STORE_FULL)
		in->status = 507;
}

/* On a thread: the step's work. */
static void
intake_run(struct wjob *w, struct store *store)
{
	struct intake		*in = (struct intake *)w;
	struct feedback_opts	 o;

	if (in->step == INTAKE_APPLY) {
		intake_apply(in, store);
		return;
	}
	o.rcpt = in->rcpt;
	o.unsubscribe_addr = in->unsub;
	if (feedback_parse(in->msg, in->len, &o, &in->fb, &in->cause) == -1)
		in->status = 422;
	/* The message is not needed past this point. */
	free(in->msg);
	in->msg = NULL;
}

/* The kinds and actions counted for /metrics, in mstats' order. */
static const char *intake_kinds[MSTATS_FEEDBACK_KINDS] = {
	"bounce", "delay", "complaint", "unsubscribe", "auto_reply", "other",
	"unattributed"
};
static const char *intake_actions[MSTATS_FEEDBACK_ACTIONS] = {
	"none", "recorded", "suppressed", "unsubscribed"
};

/* The index of s in names, or n. */
static size_t
intake_index(const char **names, size_t n, const char *s)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			break;
	return i;
}

/* Count the answer for /metrics. */
static void
intake_count(struct mannersd *md, const struct feedback_apply_out *out)
{
	size_t	 k, a;

	k = intake_index(intake_kinds, nitems(intake_kinds), out->kind);
	a = intake_index(intake_actions, nitems(intake_actions), out->action);
	if (k < nitems(intake_kinds) && a < nitems(intake_actions))
		md->stats.feedback[k][a]++;
}

/* manners_feedback_total{kind,action} for /metrics. */
void
intake_metrics(struct mannersd *md, struct evbuffer *b)
{
	size_t	 k, a;

	evbuffer_add_printf(b, "# HELP manners_feedback_total Messages that "
	    "came back (bounces, complaints, mailto: unsubscribes, "
	    "auto-replies), by kind and what manners did.\n"
	    "# TYPE manners_feedback_total counter\n");
	for (k = 0; k < nitems(intake_kinds); k++)
		for (a = 0; a < nitems(intake_actions); a++)
			evbuffer_add_printf(b, "manners_feedback_total{kind="
			    "\"%s\",action=\"%s\"} %llu\n", intake_kinds[k],
			    intake_actions[a],
			    (unsigned long long)md->stats.feedback[k][a]);
}

/* On the loop: the log line, the counts and the drain's wake-up. */
static void
intake_finish(struct intake *in)
{
	struct feedback_apply_out	*o = &in->out;
	int				 personal = log_getlevel() <
					    LOG_LVL_DEBUG;

	if (in->status != 200) {
		log_warnx("feedback: %s message refused (%d): %s", in->status ==
		    422 ? "unreadable" : "store error on a", in->status,
		    in->cause != NULL ? in->cause : "?");
		return;
	}
	intake_count(in->md, o);
	if (strcmp(o->kind, "unattributed") == 0)
		log_debug("feedback: %s message not attributed: %s",
		    feedback_kind_name(in->fb.kind), o->unattributed_why);
	else if (strcmp(o->action, "none") == 0)
		log_debug("feedback: %s for campaign=%s, nothing to do", o->kind,
		    o->campaign);
	else
		log_info("feedback: %s %s address=%s campaign=%s%s%s", o->kind,
		    o->action, personal ? "(hidden)" : o->address, o->campaign,
		    in->fb.status[0] != '\0' ? " status=" : "", in->fb.status);
	/* A DSN's diagnostic passes the shaping rules as a reply would. */
	if ((in->fb.kind == FEEDBACK_BOUNCE || in->fb.kind == FEEDBACK_DELAY) &&
	    o->address[0] != '\0' && in->fb.diagnostic[0] != '\0')
		drain_feedback(in->md->drain, o->address, o->campaign,
		    in->fb.diagnostic);
	if (o->trip != BREAKER_NONE) {
		log_warnx("feedback: campaign %s paused: %s; resume it with "
		    "mannersctl resume %s once the cause is understood",
		    o->campaign, o->trip_why, o->campaign);
		drain_forget(in->md->drain, o->campaign);
	}
	if (o->changed)
		drain_kick(in->md->drain);
}

/* On the loop, after each step: the next one. */
static void
intake_stepped(struct wjob *w)
{
	struct intake	*in = (struct intake *)w;

	if (in->step == INTAKE_PARSE && in->status == 0) {
		in->step = INTAKE_APPLY;
		writer_submit(in->md->writer, &in->w);
		return;
	}
	in->step = INTAKE_REPLY;
	intake_finish(in);
	in->done(in->arg, in->status, &in->out, in->cause);
	writer_release(in->md->writer);
	conf_free(in->conf);
	free(in->msg);
	free(in->rcpt);
	free(in->unsub);
	free(in->cause);
	free(in);
}

/*
 * Read and apply one message (taken: freed here) whose envelope
 * recipient is rcpt (NULL: unknown); done(arg, status, out, cause) runs
 * on the loop once it is committed (200), refused as unreadable (422)
 * or not stored (5xx).
 */
void
intake_message(struct mannersd *md, char *msg, size_t len, const char *rcpt,
    intake_done_fn done, void *arg)
{
	struct intake	*in;

	in = xcalloc(1, sizeof *in);
	in->w.run = intake_run;
	in->w.done = intake_stepped;
	in->md = md;
	in->done = done;
	in->arg = arg;
	in->conf = conf_ref(md->conf);
	in->msg = msg;
	in->len = len;
	in->rcpt = rcpt != NULL ? xstrdup(rcpt) : NULL;
	in->unsub = intake_unsub_addr(md->conf);
	in->now = mannersd_now();
	/* Shutdown waits for this answer as for the writer's own jobs. */
	writer_hold(md->writer);
	jobthread_submit(md->parser, &in->w);
}

/* The HTTP answer to POST /v1/feedback. */
static void
intake_http_done(void *arg, int status, const struct feedback_apply_out *o,
    const char *cause)
{
	struct evhttp_request	*req = arg;
	json_t			*answer;

	if (status != 200) {
		control_reply_error(req, status, status == 422 ? "the message "
		    "cannot be read as feedback" : "the store cannot take the "
		    "message now; try again", json_pack("{s:s}", "cause",
		    cause != NULL ? cause : "?"));
		return;
	}
	answer = json_pack("{s:s, s:s?, s:s?, s:s?, s:s}", "kind", o->kind,
	    "address", o->address[0] != '\0' ? o->address : NULL, "campaign",
	    o->campaign[0] != '\0' ? o->campaign : NULL, "list",
	    o->list[0] != '\0' ? o->list : NULL, "action", o->action);
	control_reply_json(req, 200, answer);
	json_decref(answer);
}

/* POST /v1/feedback[?rcpt=ADDR]: check the request, then read it. */
void
intake_request(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	struct evbuffer	*body = evhttp_request_get_input_buffer(req);
	char		*rcpt = NULL, *why = NULL, *msg;
	size_t		 len = evbuffer_get_length(body);

	(void)id;
	if (md->stopping) {
		control_reply_error(req, 503, "mannersd is shutting down; "
		    "deliver the message again once it is back", NULL);
		return;
	}
	if (!control_content_type(req, "message/rfc822", NULL)) {
		control_reply_error(req, 415, "feedback is one mail message: "
		    "send it with Content-Type: message/rfc822", NULL);
		return;
	}
	if (len > FEEDBACK_MAX_BYTES) {
		control_reply_error(req, 413, "the message is larger than "
		    "feedback accepts", json_pack("{s:I, s:i}", "size",
		    (json_int_t)len, "limit", FEEDBACK_MAX_BYTES));
		return;
	}
	if (control_routes_query(req, "rcpt", &rcpt) == -1)
		return;
	if (rcpt != NULL && addr_check(rcpt, strlen(rcpt), &why) == -1) {
		control_reply_error(req, 422, "invalid rcpt (the envelope "
		    "recipient)", json_pack("{s:s, s:s}", "field", "rcpt",
		    "address", why));
		free(why);
		free(rcpt);
		return;
	}
	msg = xmalloc(len + 1);
	evbuffer_copyout(body, msg, len);
	msg[len] = '\0';
	intake_message(md, msg, len, rcpt, intake_http_done, req);
	free(rcpt);
}
