/*
 * admit.c: per-recipient decisions and their reservations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "erase.h"
#include "retention.h"
#include "campaign_record.h"
#include "quota_admit.h"
#include "store.h"
#include "util.h"

/* Keep a recipient's sent history this long at least. */

/* Check a resubmission against the stored campaign. */
static int
admit_existing(struct store_txn *t, struct campaign *c, const char *digest,
    int64_t now, json_t **state, int *status, char **cause)
{
	json_t		*body = NULL;
	const char	*old;
	int		 rc;

	if ((rc = store_campaign_get(t, c->id, state, cause)) != 0)
		return rc;
	if (strcmp(campaign_record_state(*state), CAMPAIGN_CANCELLED) == 0) {
		*status = 409;
		return set_cause(cause, "campaign %s was cancelled; submit it "
		    "under a new id", c->id);
	}
	if ((rc = store_campaign_body_get(t, c->id, &body, cause)) != 0)
		return rc < 0 ? rc : set_cause(cause, "campaign %s: content "
		    "missing", c->id);
	old = json_string_value(json_object_get(body, "digest"));
	if (old == NULL || strcmp(old, digest) != 0) {
		json_decref(body);
		*status = 409;
		return set_cause(cause, "campaign %s already exists with other "
		    "content (subject, sender, bodies or times differ); a "
		    "resubmission may only add recipients", c->id);
	}
	/* Without <expires>, the horizon stays that of the first submission. */
	c->expires = json_integer_value(json_object_get(body, "expires"));
	json_decref(body);
	if (c->expires <= now) {
		*status = 422;
		return set_cause(cause, "expires: campaign %s expired before "
		    "this resubmission", c->id);
	}
	return 0;
}

/* Collect the times of messages in history (sent and reserved). */
static int64_t *
admit_times(const struct store_rcpt *r, int64_t **buf, size_t *cap)
{
	size_t	 i;

	if (r->nhist > *cap) {
		*cap = r->nhist;
		*buf = xreallocarray(*buf, *cap, sizeof **buf);
	}
	for (i = 0; i < r->nhist; i++)
		(*buf)[i] = r->hist[i].time;
	return *buf;
}

/* Has this campaign an entry in the recipient's history? */
static int
admit_in_hist(const struct store_rcpt *r, const char *campaign)
{
	size_t	 i;

	for (i = 0; i < r->nhist; i++)
		if (strcmp(r->hist[i].campaign, campaign) == 0)
			return 1;
	return 0;
}

/* Is the recipient unsubscribed from list `lid` or from everything? */
static void
admit_unsub(const struct store_rcpt *r, uint32_t lid, int *list, int *all)
{
	size_t	 i;

	*list = *all = 0;
	for (i = 0; i < r->nunsub; i++) {
		if (r->unsub[i].lid == 0)
			*all = 1;
		else if (r->unsub[i].lid == lid)
			*list = 1;
	}
}

/* One admission's state, from its transaction's start to its end. */
struct admit_run {
	const struct admit_request *ar;
	struct admit_report	*rep;
	struct store_txn	*t;
	struct conf_policy	 pol;
	struct store_rcpt	 r;	/* the recipient at hand, reused */
	struct store_job	 job;	/* the campaign's fields set once */
	struct store_hist	 h;	/* likewise */
	json_t			*state;
	json_t			*body;	/* a new campaign's content */
	int64_t			*times;
	size_t			 ntimes_cap;
	int			 exists;
	struct quota_admit	*quota;	/* NULL: no daily quotas */
	struct admit_quiet	*quiet;	/* the recipients' zones */
	int			 erased_any;	/* erasure records to check */
	int64_t			 keep;		/* history that still counts */
	int			 gate_closed;	/* the gate said no */
};

/*
 * Open the transaction and find or start the campaign's record; the
 * digest covers the times the document gives.
 */
static int
admit_open(struct admit_run *a, const char *digest, int *status, char **cause)
{
	struct campaign	*c = a->ar->campaign;
	uint32_t	 lid;
	int		 err;

	if ((err = store_begin(a->ar->store, 1, &a->t, cause)) < 0)
		return err;
	if ((err = admit_existing(a->t, c, digest, a->ar->now, &a->state,
	    status, cause)) < 0)
		return err;
	a->exists = err == 0;
	a->rep->resubmitted = a->exists;
	a->erased_any = a->ar->keys != NULL && store_erased_count(a->t) > 0;
	if ((err = store_list_id(a->t, c->list, 1, &lid, cause)) < 0)
		return err;
	/* The pages name the list's sender as its latest campaign does. */
	if (!a->exists && (err = store_list_brand_put(a->t, lid, c->from_name,
	    cause)) < 0)
		return err;
	if (!a->exists) {
		a->state = campaign_record_state_new(c, lid, a->ar->now);
		a->body = campaign_record_body_new(c, digest);
	}
	a->job.queued = a->ar->now;
	a->job.lid = lid;
	snprintf(a->job.campaign, sizeof a->job.campaign, "%s", c->id);
	a->h.lid = lid;
	a->h.state = STORE_HIST_RESERVED;
	snprintf(a->h.campaign, sizeof a->h.campaign, "%s", c->id);
	return 0;
}

/* Fill the policy's input from the recipient's record at naddr. */
static int
admit_lookup(struct admit_run *a, const char *naddr,
    struct policy_input *in, char **cause)
{
	struct campaign	*c = a->ar->campaign;
	struct store_cr	 cr;
	int		 err;

	if ((err = store_rcpt_get(a->t, naddr, &a->r, cause)) < 0)
		return err;
	/*
	 * A recipient never seen (no id yet) has no delivery state.  A new
	 * campaign's only earlier entries for this address are from this
	 * document, and those are in the history already.
	 */
	if (a->exists && a->r.rid != 0) {
		if ((err = store_cr_get(a->t, c->id, a->r.rid, &cr,
		    cause)) < 0)
			return err;
		in->duplicate = err == 0;
	} else if (!a->exists)
		in->duplicate = admit_in_hist(&a->r, c->id);
	admit_unsub(&a->r, a->job.lid, &in->unsub_list, &in->unsub_all);
	in->suppressed = a->r.suppressed != 0;
	/* An erased person's "stop" survives as a keyed hash (erase.h). */
	if (a->erased_any && (err = erase_check(a->t, a->ar->keys, naddr,
	    a->job.lid, &in->unsub_list, &in->unsub_all, &in->suppressed,
	    cause)) < 0)
		return err;
	in->pause_until = a->r.pause_until;
	if (a->r.pref_count != 0) {
		in->pref.count = a->r.pref_count;
		in->pref.window = a->r.pref_window;
	}
	in->times = admit_times(&a->r, &a->times, &a->ntimes_cap);
	in->ntimes = a->r.nhist;
	return 0;
}

/* Queue an accepted or deferred recipient and reserve its history. */
static int
admit_queue(struct admit_run *a, const struct campaign_rcpt *rc,
    const char *naddr, const struct policy_decision *d, char **cause)
{
	struct store_job	*job = &a->job;
	struct store_cr		 cr;
	size_t			 namelen;
	int			 err;

	job->due = d->due;
	job->flags = d->verdict == POLICY_DEFER ? STORE_JOB_DEFERRED : 0;
	memcpy(job->addr, rc->addr, rc->addrlen);	/* checked: <= 254 */
	job->addr[rc->addrlen] = '\0';
	namelen = rc->name != NULL ? strlen(rc->name) : 0;
	if (namelen >= sizeof job->name)
		namelen = sizeof job->name - 1;
	memcpy(job->name, rc->name != NULL ? rc->name : "", namelen);
	job->name[namelen] = '\0';
	a->h.time = d->due;
	store_rcpt_add_hist(&a->r, &a->h);
	store_rcpt_prune(&a->r, a->ar->now - (a->keep >
	    (int64_t)a->r.pref_window ? a->keep : (int64_t)a->r.pref_window));
	/* The record gets its id here, and the job carries it. */
	if ((err = store_rcpt_put(a->t, naddr, &a->r, cause)) < 0)
		return err;
	job->rid = a->r.rid;
	/* A deferred job waits to be written in order (store.h). */
	if ((err = (d->verdict == POLICY_DEFER ? store_queue_stage :
	    store_queue_put)(a->t, job, cause)) < 0)
		return err;
	cr.state = STORE_CR_QUEUED;
	memcpy(cr.key, job->key, sizeof cr.key);
	cr.time = a->ar->now;
	cr.feedback = 0;
	return store_cr_put(a->t, a->ar->campaign->id, a->r.rid, &cr, cause);
}

/* Name an invalid address in the report (the first ones only). */
static void
admit_note_invalid(struct admit_report *rep, const char *addr, size_t len,
    const char *why)
{
	struct admit_invalid	*iv;
	size_t			 n = len;

	if (rep->ninvalid == ADMIT_INVALID_LIST)
		return;
	iv = &rep->invalid[rep->ninvalid++];
	if (n > ADMIT_INVALID_ADDR) {
		/* Cut between UTF-8 characters, and say it was cut. */
		n = ADMIT_INVALID_ADDR;
		while (n > 0 && ((unsigned char)addr[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(iv->addr, addr, n);
	strcpy(iv->addr + n, n < len ? "..." : "");
	snprintf(iv->why, sizeof iv->why, "%s", why != NULL ? why : "invalid");
}

/* Decide one recipient, and queue it unless rejected. */
static int
admit_one(struct admit_run *a, const struct campaign_rcpt *rc, char **cause)
{
	struct campaign		*c = a->ar->campaign;
	struct admit_report	*rep = a->rep;
	struct policy_input	 in;
	struct policy_decision	 d;
	char			 naddr[ADDR_MAX + 1] = "", *why = NULL;
	int			 err, known;

	rep->recipients++;
	memset(&in, 0, sizeof in);
	in.now = a->ar->now;
	in.send_after = c->send_after;
	in.expires = c->expires;
	in.cap = a->pol.per_recipient;
	in.min_gap = a->pol.min_gap;
	/* An invalid address has no record to look up. */
	if (addr_check(rc->addr, rc->addrlen, &why) == -1) {
		in.invalid = 1;
		admit_note_invalid(rep, rc->addr, rc->addrlen, why);
		free(why);
	} else {
		addr_normalize(rc->addr, naddr, sizeof naddr);
		if ((err = admit_lookup(a, naddr, &in, cause)) < 0)
			return err;
	}
	/* The caps and quiet hours in the recipient's zone. */
	known = !in.invalid && a->r.rid != 0;
	if ((err = admit_quiet_decide(a->quiet, a->t, known ? a->r.rid : 0,
	    rc->tz, rc->line, &in, &d, &rep->quiet, cause)) < 0)
		return err;
	/* The day's quota of its domain or provider, reserved here too. */
	if (d.verdict != POLICY_REJECT && (err = quota_admit_reserve(
	    a->quota, a->t, addr_domain(naddr), c->expires, &d, &a->job,
	    cause)) != 0) {
		if (err < 0)
			return err;
		d.verdict = POLICY_REJECT;
		d.reason = POLICY_DAILY_LIMIT;
	}
	if (d.verdict == POLICY_REJECT) {
		rep->rejected[d.reason]++;
		return known ? admit_quiet_keep(a->quiet, a->t, a->r.rid,
		    cause) : 0;
	}
	if (d.verdict == POLICY_ACCEPT)
		rep->accepted++;
	else
		rep->deferred++;
	if (rep->first_due == 0 || d.due < rep->first_due)
		rep->first_due = d.due;
	if (d.due > rep->last_due)
		rep->last_due = d.due;
	if ((err = admit_queue(a, rc, naddr, &d, cause)) < 0)
		return err;
	return admit_quiet_keep(a->quiet, a->t, a->r.rid, cause);
}

/* Add the counts to the campaign's record, store it and commit. */
static int
admit_close(struct admit_run *a, char **cause)
{
	const struct admit_report	*rep = a->rep;
	json_t				*state = a->state;
	uint64_t			 again = 0;
	size_t				 i;
	int				 err;

	/*
	 * A resubmission's duplicates and invalid addresses were counted by
	 * the submission that first held them: a 3-recipient campaign sent
	 * twice still has 3 recipients.
	 */
	if (a->exists)
		again = rep->rejected[POLICY_DUPLICATE] +
		    rep->rejected[POLICY_INVALID_ADDRESS];
	campaign_record_count_add(state, "recipients",
	    (int64_t)(rep->recipients - again));
	campaign_record_count_add(state, "accepted", (int64_t)rep->accepted);
	campaign_record_count_add(state, "deferred", (int64_t)rep->deferred);
	campaign_record_count_add(state, "queued", (int64_t)(rep->accepted +
	    rep->deferred));
	campaign_record_count_add(state, "queued_deferred",
	    (int64_t)rep->deferred);
	campaign_record_count_add(state, "deferred_quiet_hours",
	    (int64_t)rep->quiet.deferred[QUIET_CAUSE_QUIET]);
	for (i = 1; i < POLICY_NREASONS; i++)
		if (rep->rejected[i] != 0 && !(a->exists &&
		    (i == POLICY_DUPLICATE || i == POLICY_INVALID_ADDRESS)))
			campaign_record_reject_add(state, policy_reason_name(i),
			    (int64_t)rep->rejected[i]);
	if ((err = quota_admit_flush(a->quota, a->t, cause)) < 0)
		return err;
	/* The document's own check has the last word (admit.h). */
	if (a->ar->gate != NULL && a->ar->gate(a->ar->gate_arg) != 0) {
		a->gate_closed = 1;
		return set_cause(cause, "the document was refused");
	}
	if ((err = store_campaign_put(a->t, a->ar->campaign->id, state,
	    cause)) < 0)
		return err;
	if (a->body != NULL && (err = store_campaign_body_put(a->t,
	    a->ar->campaign->id, a->body, cause)) < 0)
		return err;
	/* A dry run decides everything and keeps nothing. */
	if (a->ar->dry_run) {
		store_abort(a->t);
		a->t = NULL;
		return 0;
	}
	err = store_commit(a->t, cause);
	a->t = NULL;
	return err;
}

/*
 * Decide every recipient of the request's document and queue those
 * accepted or deferred, in one transaction: 0 with *status 202 (new) or
 * 200 (a resubmission), or -1 with *status and *cause.
 */
int
admit_campaign(const struct admit_request *ar, struct admit_report *rep,
    int *status, char **cause)
{
	struct campaign		*c = ar->campaign;
	struct admit_run	 a;
	struct campaign_rcpts	*it = NULL;
	struct campaign_rcpt	 rc;
	char			 digest[65];
	int			 err;

	memset(rep, 0, sizeof *rep);
	memset(&a, 0, sizeof a);
	a.ar = ar;
	a.rep = rep;
	*status = 500;
	store_rcpt_init(&a.r);
	/*
	 * The digest covers the times the document gives: a default expiry
	 * depends on `now`, and the same document resubmitted a minute later
	 * must still match.
	 */
	campaign_record_digest(c, digest, sizeof digest);
	if (c->expires == 0)
		c->expires = (c->send_after > ar->now ? c->send_after :
		    ar->now) + ADMIT_DEFAULT_EXPIRY;
	if (c->expires <= ar->now) {
		*status = 422;
		store_rcpt_free(&a.r);
		return set_cause(cause, "expires: the campaign expired before "
		    "it was submitted");
	}
	conf_policy_for(ar->conf, c->list, &a.pol);
	a.quiet = admit_quiet_new(&a.pol.quiet);
	a.keep = retention_history_window(ar->conf);
	a.quota = quota_admit_new(ar->conf, ar->now, cause);
	if (a.quota == NULL && cause != NULL && *cause != NULL)
		err = -1;
	else if ((err = admit_open(&a, digest, status, cause)) == 0) {
		if (!ar->read_ahead || (it = campaign_rcpt_open_ahead(ar->iov,
		    ar->niov)) == NULL)
			it = campaign_rcpt_open_iov(ar->iov, ar->niov);
		while (err == 0 && campaign_rcpt_next(it, &rc) == 1)
			err = admit_one(&a, &rc, cause);
		campaign_rcpt_close(it);
	}
	if (err == 0)
		err = admit_close(&a, cause);
	if (err == 0)
		quota_admit_unplaced(a.quota, &rep->unplaced);
	if (err == 0)
		*status = a.exists ? 200 : 202;
	else if (err == STORE_FULL)
		*status = 507;
	else if (a.gate_closed)
		*status = ADMIT_GATE_CLOSED;
	store_abort(a.t);
	json_decref(a.state);
	json_decref(a.body);
	store_rcpt_free(&a.r);
	free(a.times);
	admit_quiet_free(a.quiet);
	quota_admit_free(a.quota);
	return err == 0 ? 0 : -1;
}

/* The deferrals by cause, each with its first and last due time. */
static json_t *
admit_deferred_json(const struct admit_quiet_report *q)
{
	static const char	*names[] = { NULL, "caps", "quiet_hours" };
	json_t			*o = json_object();
	size_t			 i;

	for (i = QUIET_CAUSE_CAPS; i <= QUIET_CAUSE_QUIET; i++)
		if (q->deferred[i] != 0)
			json_object_set_new(o, names[i], json_pack("{s:I, s:I, "
			    "s:I}", "count", (json_int_t)q->deferred[i],
			    "first_due", (json_int_t)q->first_due[i],
			    "last_due", (json_int_t)q->last_due[i]));
	return o;
}

/* The warning for tz attributes ICU does not know; NULL if none. */
json_t *
admit_report_warning(const struct admit_report *rep)
{
	const struct admit_quiet_report	*q = &rep->quiet;

	if (q->unknown_tz == 0)
		return NULL;
	return json_sprintf("recipients: %llu tz attribute(s) name no time "
	    "zone this system knows (the first, \"%s\", on line %u); their "
	    "recipients' kept zone or the list's timezone was used",
	    (unsigned long long)q->unknown_tz, q->unknown_example,
	    q->unknown_line);
}

/* The first invalid addresses: [{"address", "reason"}, ...]. */
static json_t *
admit_invalid_json(const struct admit_report *rep)
{
	json_t	*a = json_array();
	size_t	 i;

	for (i = 0; i < rep->ninvalid; i++)
		json_array_append_new(a, json_pack("{s:s?, s:s}", "address",
		    rep->invalid[i].addr, "reason", rep->invalid[i].why));
	return a;
}

/* The submission's answer: counts by outcome. */
json_t *
admit_report_json(const struct campaign *c, const struct admit_report *rep,
    int dry_run)
{
	json_t	*o = json_object(), *rej = json_object();
	size_t	 i;

	json_object_set_new(o, "campaign", json_string(c->id));
	json_object_set_new(o, "list", json_string(c->list));
	json_object_set_new(o, "recipients", json_integer(
	    (json_int_t)rep->recipients));
	json_object_set_new(o, "accepted", json_integer(
	    (json_int_t)rep->accepted));
	json_object_set_new(o, "deferred", json_integer(
	    (json_int_t)rep->deferred));
	for (i = 1; i < POLICY_NREASONS; i++)
		if (rep->rejected[i] != 0)
			json_object_set_new(rej, policy_reason_name(i),
			    json_integer((json_int_t)rep->rejected[i]));
	json_object_set_new(o, "deferred_by", admit_deferred_json(
	    &rep->quiet));
	if (rep->quiet.unknown_tz != 0)
		json_object_set_new(o, "unknown_tz", json_integer(
		    (json_int_t)rep->quiet.unknown_tz));
	json_object_set_new(o, "rejected", rej);
	if (rep->ninvalid > 0)
		json_object_set_new(o, "invalid", admit_invalid_json(rep));
	if (rep->first_due != 0) {
		json_object_set_new(o, "first_due", json_integer(
		    rep->first_due));
		json_object_set_new(o, "last_due", json_integer(
		    rep->last_due));
	}
	json_object_set_new(o, "expires", json_integer(c->expires));
	if (rep->resubmitted)
		json_object_set_new(o, "resubmission", json_true());
	if (dry_run)
		json_object_set_new(o, "dry_run", json_true());
	return o;
}
