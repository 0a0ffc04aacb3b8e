/*
 * feedback_apply.c: attributing a returned message and applying it (see
 * feedback_apply.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign_record.h"
#include "feedback.h"
#include "feedback_apply.h"
#include "ledger.h"
#include "token.h"
#include "util.h"

/* Who a verified token names. */
struct fa_who {
	uint64_t	 rid;
	int		 has_ref;	/* a return-path token: campaign ref */
	uint32_t	 ref;
	int		 has_lid;	/* a link token: list id */
	uint32_t	 lid;
};

/*
 * How much a candidate is trusted for this kind of message, best first;
 * the person's own mailto: message is best read by its subject and
 * text, anything else by the return path it came back to.
 */
static int
fa_rank(const struct feedback *fb, const struct feedback_token *t)
{
	int	 own = t->where == FEEDBACK_AT_SUBJECT ||
		    t->where == FEEDBACK_AT_BODY;

	if (fb->kind == FEEDBACK_UNSUBSCRIBE)
		return own ? (t->shape == FEEDBACK_VERP ? 1 : 0) : 2;
	if (t->shape == FEEDBACK_VERP)
		return t->where == FEEDBACK_AT_RCPT ? 0 :
		    t->where == FEEDBACK_AT_HEADER ? 1 : 2;
	return 3;
}

/* The best candidate that verifies; -1 if none does. */
static int
fa_attribute(const struct feedback_apply_in *in, struct fa_who *w,
    char *why, size_t whysz)
{
	const struct feedback		*fb = in->fb;
	const struct feedback_token	*t;
	struct token_claims		 c;
	char				*cause = NULL;
	size_t				 i;
	int				 rank, rc;

	snprintf(why, whysz, "no token");
	for (rank = 0; rank <= 3; rank++) {
		for (i = 0; i < fb->ntokens; i++) {
			t = &fb->tokens[i];
			if (fa_rank(fb, t) != rank)
				continue;
			free(cause);
			cause = NULL;
			rc = t->shape == FEEDBACK_VERP ?
			    token_verify_return(in->keys, t->tok,
			    strlen(t->tok), (uint64_t)in->now, &c, &cause) :
			    token_verify(in->keys, t->tok, strlen(t->tok),
			    (uint64_t)in->now, &c, &cause);
			if (rc != 0) {
				snprintf(why, whysz, "%s token: %s",
				    feedback_where_name(t->where), cause);
				continue;
			}
			memset(w, 0, sizeof *w);
			w->rid = c.rid;
			w->has_ref = t->shape == FEEDBACK_VERP;
			w->has_lid = !w->has_ref;
			w->ref = w->has_ref ? c.lid : 0;
			w->lid = w->has_lid ? c.lid : 0;
			free(cause);
			return 0;
		}
	}
	free(cause);
	return -1;
}

/* The campaign a return-path token names, from the recipient's history
 * or, once that is pruned, from the campaigns kept. */
static int
fa_campaign_by_ref(struct store_txn *t, const struct store_rcpt *r,
    uint32_t ref, struct feedback_apply_out *out, uint32_t *lid,
    char **cause)
{
	json_t		*ids = NULL, *st = NULL;
	const char	*id;
	size_t		 i;
	int		 rc;

	for (i = 0; i < r->nhist; i++)
		if (token_campaign_ref(r->hist[i].campaign) == ref) {
			snprintf(out->campaign, sizeof out->campaign, "%s",
			    r->hist[i].campaign);
			*lid = r->hist[i].lid;
			return 0;
		}
	if ((rc = store_campaign_list(t, &ids, cause)) != 0)
		return rc;
	for (i = 0; i < json_array_size(ids); i++) {
		id = json_string_value(json_array_get(ids, i));
		if (id == NULL || token_campaign_ref(id) != ref)
			continue;
		snprintf(out->campaign, sizeof out->campaign, "%s", id);
		if ((rc = store_campaign_get(t, id, &st, cause)) == 0) {
			*lid = (uint32_t)json_integer_value(json_object_get(st,
			    "lid"));
			json_decref(st);
		}
		break;
	}
	json_decref(ids);
	return rc < 0 ? rc : 0;
}

/*
 * The campaign of list lid a link token's message came from: the latest
 * one the recipient's history has sent, or, when none is recorded sent
 * yet, the latest one already due.  A reader can complain about a message
 * before the drain has committed its "sent" (the outcomes are written in
 * batches); such a message is still reserved, with a due time in the past.
 * A job not due yet cannot have produced the message, so it is never
 * named.
 */
static void
fa_campaign_by_list(const struct store_rcpt *r, uint32_t lid, int64_t now,
    struct feedback_apply_out *out)
{
	const struct store_hist	*sent = NULL, *due = NULL, *h;
	size_t			 i;

	for (i = 0; i < r->nhist; i++) {
		h = &r->hist[i];
		if (h->lid != lid)
			continue;
		if (h->state == STORE_HIST_SENT) {
			if (sent == NULL || h->time > sent->time)
				sent = h;
		} else if (h->state == STORE_HIST_RESERVED &&
		    h->time <= now) {
			if (due == NULL || h->time > due->time)
				due = h;
		}
	}
	if ((h = sent != NULL ? sent : due) != NULL)
		snprintf(out->campaign, sizeof out->campaign, "%s",
		    h->campaign);
}

/* Whether a campaign's state record says it is active. */
static int
fa_active(json_t *st)
{
	return strcmp(campaign_record_state(st), CAMPAIGN_ACTIVE) == 0;
}

/* A count of the campaign's since its breaker's last release. */
static uint64_t
fa_base(json_t *st, const char *key)
{
	return (uint64_t)json_integer_value(json_object_get(json_object_get(st,
	    "breaker_base"), key));
}

/* Pause a campaign whose rates reached a limit, saying why and when. */
static void
fa_breaker(const struct feedback_apply_in *in, json_t *st,
    struct feedback_apply_out *out)
{
	struct breaker_counts	 now, base;

	if (!fa_active(st))
		return;
	now.sent = (uint64_t)campaign_record_count(st, "sent");
	now.bounces = (uint64_t)campaign_record_count(st, "bounces");
	now.complaints = (uint64_t)campaign_record_count(st, "complaints");
	base.sent = fa_base(st, "sent");
	base.bounces = fa_base(st, "bounces");
	base.complaints = fa_base(st, "complaints");
	out->trip = breaker_check(&in->limits, &now, &base, out->trip_why,
	    sizeof out->trip_why);
	if (out->trip == BREAKER_NONE)
		return;
	campaign_record_set_state(st, CAMPAIGN_PAUSED);
	json_object_set_new(st, "paused_by", json_string(breaker_name(
	    out->trip)));
	json_object_set_new(st, "paused_why", json_string(out->trip_why));
	json_object_set_new(st, "paused_at", json_integer(in->now));
}

/* Count one kind once for this delivery; the breaker looks after. */
static int
fa_count(struct store_txn *t, const struct feedback_apply_in *in,
    uint64_t rid, uint8_t bit, const char *key, json_t *states,
    struct feedback_apply_out *out, char **cause)
{
	struct store_cr	 cr;
	json_t		*st;
	int		 rc;

	if (out->campaign[0] == '\0')
		return 0;
	if ((rc = store_cr_get(t, out->campaign, rid, &cr, cause)) != 0)
		return rc < 0 ? rc : 0;
	if (cr.feedback & bit)
		return 0;		/* a replay: counted already */
	cr.feedback |= bit;
	if ((rc = store_cr_put(t, out->campaign, rid, &cr, cause)) < 0)
		return rc;
	if ((rc = ledger_state(t, states, out->campaign, &st, cause)) != 0)
		return rc < 0 ? rc : 0;
	campaign_record_count_add(st, key, 1);
	out->changed = 1;
	if (bit != STORE_CR_FB_DELAY)
		fa_breaker(in, st, out);
	return 0;
}

/* Unsubscribe from the list (every list when none is known: the
 * person said stop, and a list that cannot be named is no reason to
 * go on mailing them). */
static int
fa_unsubscribe(struct store_txn *t, const struct feedback_apply_in *in,
    uint32_t lid, uint8_t source, json_t *states,
    struct feedback_apply_out *out, char **cause)
{
	struct ledger_unsub_result	 res;
	int				 rc;

	if ((rc = ledger_unsubscribe(t, out->address, lid, source, in->now,
	    states, &res, cause)) < 0)
		return rc;
	out->action = "unsubscribed";
	out->changed |= res.changed;
	out->dropped = res.dropped;
	return 0;
}

/* Suppress a bad mailbox, unless a replay finds it suppressed already. */
static int
fa_suppress(struct store_txn *t, const struct feedback_apply_in *in,
    const struct store_rcpt *r, json_t *states,
    struct feedback_apply_out *out, char **cause)
{
	char	 why[128];
	int	 rc;

	out->action = "suppressed";
	if (r->suppressed != 0)
		return 0;
	snprintf(why, sizeof why, "bounce %s: %.100s", in->fb->status,
	    in->fb->diagnostic);
	if ((rc = ledger_suppress(t, out->address, why, in->now, states,
	    &out->dropped, cause)) < 0)
		return rc;
	out->changed = 1;
	return 0;
}

/* Apply an attributed message by its kind. */
static int
fa_act(struct store_txn *t, const struct feedback_apply_in *in,
    const struct store_rcpt *r, uint32_t lid, json_t *states,
    struct feedback_apply_out *out, char **cause)
{
	int	 rc = 0;

	out->action = "none";
	switch (in->fb->kind) {
	case FEEDBACK_BOUNCE:
		out->action = "recorded";
		if (in->fb->bad_mailbox &&
		    (rc = fa_suppress(t, in, r, states, out, cause)) < 0)
			return rc;
		return fa_count(t, in, r->rid, STORE_CR_FB_BOUNCE, "bounces",
		    states, out, cause);
	case FEEDBACK_DELAY:
		out->action = "recorded";
		return fa_count(t, in, r->rid, STORE_CR_FB_DELAY, "delays",
		    states, out, cause);
	case FEEDBACK_COMPLAINT:
		if ((rc = fa_unsubscribe(t, in, lid, STORE_SRC_COMPLAINT,
		    states, out, cause)) < 0)
			return rc;
		return fa_count(t, in, r->rid, STORE_CR_FB_COMPLAINT,
		    "complaints", states, out, cause);
	case FEEDBACK_UNSUBSCRIBE:
		return fa_unsubscribe(t, in, lid, STORE_SRC_MAIL, states, out,
		    cause);
	case FEEDBACK_AUTO_REPLY:
	case FEEDBACK_OTHER:
		break;
	}
	return 0;
}

int
feedback_apply(struct store_txn *t, const struct feedback_apply_in *in,
    json_t *states, struct feedback_apply_out *out, char **cause)
{
	struct store_rcpt	 r;
	struct fa_who		 w;
	uint32_t		 lid = 0;
	int			 rc;

	memset(out, 0, sizeof *out);
	out->kind = "unattributed";
	out->action = "none";
	if (fa_attribute(in, &w, out->unattributed_why,
	    sizeof out->unattributed_why) == -1)
		return 0;
	if (store_rid_addr(t, w.rid, out->address, sizeof out->address) != 0) {
		snprintf(out->unattributed_why, sizeof out->unattributed_why,
		    "recipient id %llu is not in the store (erased?)",
		    (unsigned long long)w.rid);
		out->address[0] = '\0';
		return 0;
	}
	store_rcpt_init(&r);
	if ((rc = store_rcpt_get(t, out->address, &r, cause)) < 0)
		goto out;
	r.rid = w.rid;
	if (w.has_ref) {
		if ((rc = fa_campaign_by_ref(t, &r, w.ref, out, &lid,
		    cause)) < 0)
			goto out;
	} else {
		lid = w.lid;
		fa_campaign_by_list(&r, lid, in->now, out);
	}
	if (lid != 0 && store_list_name(t, lid, out->list,
	    sizeof out->list) != 0)
		out->list[0] = '\0';
	out->kind = feedback_kind_name(in->fb->kind);
	rc = fa_act(t, in, &r, lid, states, out, cause);
out:
	store_rcpt_free(&r);
	return rc < 0 ? rc : 0;
}
