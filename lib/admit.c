/*
 * admit.c: per-recipient decisions and their reservations.
 */
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "campaign_record.h"
#include "store.h"
#include "util.h"

/* Keep a recipient's sent history this long at least. */
#define ADMIT_HISTORY_KEEP	(400 * 86400)

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

int
admit_campaign(struct store *s, const struct conf *conf, struct campaign *c,
    const char *doc, size_t len, int64_t now, int dry_run,
    struct admit_report *rep, int *status, char **cause)
{
	struct iovec	 iov = { (void *)doc, len };

	return admit_campaign_iov(s, conf, c, &iov, 1, now, dry_run, rep,
	    status, cause);
}

int
admit_campaign_iov(struct store *s, const struct conf *conf,
    struct campaign *c, const struct iovec *iov, size_t niov, int64_t now,
    int dry_run, struct admit_report *rep, int *status, char **cause)
{
	struct store_txn	*t = NULL;
	struct campaign_rcpts	*it = NULL;
	struct campaign_rcpt	 rc;
	struct store_rcpt	 r;
	struct store_cr		 cr;
	struct store_job	 job;
	struct store_hist	 h;
	struct policy_input	 in;
	struct policy_decision	 d;
	struct conf_policy	 pol;
	json_t			*state = NULL, *body = NULL;
	char			 naddr[ADDR_MAX + 1], digest[65];
	int64_t			*times = NULL;
	size_t			 ntimes_cap = 0;
	uint32_t		 lid;
	size_t			 namelen;
	int			 err, exists = 0;

	memset(rep, 0, sizeof *rep);
	*status = 500;
	store_rcpt_init(&r);
	/*
	 * The digest covers the times the document gives: a default expiry
	 * depends on `now`, and the same document resubmitted a minute later
	 * must still match.
	 */
	campaign_record_digest(c, digest, sizeof digest);
	if (c->expires == 0)
		c->expires = (c->send_after > now ? c->send_after : now) +
		    ADMIT_DEFAULT_EXPIRY;
	if (c->expires <= now) {
		*status = 422;
		return set_cause(cause, "expires: the campaign expired before "
		    "it was submitted");
	}
	conf_policy_for(conf, c->list, &pol);

	if ((err = store_begin(s, 1, &t, cause)) < 0)
		goto fail;
	if ((err = admit_existing(t, c, digest, now, &state, status,
	    cause)) < 0)
		goto fail;
	exists = err == 0;
	rep->resubmitted = exists;
	if ((err = store_list_id(t, c->list, 1, &lid, cause)) < 0)
		goto fail;
	if (!exists) {
		state = campaign_record_state_new(c, lid, now);
		body = campaign_record_body_new(c, digest);
	}

	memset(&job, 0, sizeof job);
	job.queued = now;
	job.lid = lid;
	snprintf(job.campaign, sizeof job.campaign, "%s", c->id);
	memset(&h, 0, sizeof h);
	h.lid = lid;
	h.state = STORE_HIST_RESERVED;
	snprintf(h.campaign, sizeof h.campaign, "%s", c->id);
	it = campaign_rcpt_open_iov(iov, niov);
	while (campaign_rcpt_next(it, &rc) == 1) {
		rep->recipients++;
		memset(&in, 0, sizeof in);
		in.now = now;
		in.send_after = c->send_after;
		in.expires = c->expires;
		in.cap = pol.per_recipient;
		in.min_gap = pol.min_gap;
		if (addr_check(rc.addr, rc.addrlen, NULL) == -1) {
			in.invalid = 1;
			goto decide;
		}
		addr_normalize(rc.addr, naddr, sizeof naddr);
		if ((err = store_rcpt_get(t, naddr, &r, cause)) < 0)
			goto fail;
		/*
		 * A recipient never seen (no id yet) has no delivery state.
		 * A new campaign's only earlier entries for this address are
		 * from this document, and those are in the history already.
		 */
		if (exists && r.rid != 0) {
			if ((err = store_cr_get(t, c->id, r.rid, &cr,
			    cause)) < 0)
				goto fail;
			in.duplicate = err == 0;
		} else if (!exists)
			in.duplicate = admit_in_hist(&r, c->id);
		admit_unsub(&r, lid, &in.unsub_list, &in.unsub_all);
		in.suppressed = r.suppressed != 0;
		if (r.pref_count != 0) {
			in.pref.count = r.pref_count;
			in.pref.window = r.pref_window;
		}
		in.times = admit_times(&r, &times, &ntimes_cap);
		in.ntimes = r.nhist;
decide:
		policy_decide(&in, &d);
		if (d.verdict == POLICY_REJECT) {
			rep->rejected[d.reason]++;
			continue;
		}
		if (d.verdict == POLICY_ACCEPT)
			rep->accepted++;
		else
			rep->deferred++;
		if (rep->first_due == 0 || d.due < rep->first_due)
			rep->first_due = d.due;
		if (d.due > rep->last_due)
			rep->last_due = d.due;

		/* The campaign's fields are set once, before the loop. */
		job.due = d.due;
		job.flags = d.verdict == POLICY_DEFER ? STORE_JOB_DEFERRED : 0;
		memcpy(job.addr, rc.addr, rc.addrlen);	/* checked: <= 254 */
		job.addr[rc.addrlen] = '\0';
		namelen = rc.name != NULL ? strlen(rc.name) : 0;
		if (namelen >= sizeof job.name)
			namelen = sizeof job.name - 1;
		memcpy(job.name, rc.name != NULL ? rc.name : "", namelen);
		job.name[namelen] = '\0';
		h.time = d.due;
		store_rcpt_add_hist(&r, &h);
		store_rcpt_prune(&r, now - ADMIT_HISTORY_KEEP);
		/* The record gets its id here, and the job carries it. */
		if ((err = store_rcpt_put(t, naddr, &r, cause)) < 0)
			goto fail;
		job.rid = r.rid;
		if ((err = store_queue_put(t, &job, cause)) < 0)
			goto fail;
		cr.state = STORE_CR_QUEUED;
		memcpy(cr.key, job.key, sizeof cr.key);
		cr.time = now;
		cr.feedback = 0;
		if ((err = store_cr_put(t, c->id, r.rid, &cr, cause)) < 0)
			goto fail;
	}
	campaign_rcpt_close(it);
	it = NULL;

	campaign_record_count_add(state, "recipients", (int64_t)rep->recipients);
	campaign_record_count_add(state, "accepted", (int64_t)rep->accepted);
	campaign_record_count_add(state, "deferred", (int64_t)rep->deferred);
	campaign_record_count_add(state, "queued", (int64_t)(rep->accepted +
	    rep->deferred));
	campaign_record_count_add(state, "queued_deferred", (int64_t)rep->deferred);
	for (size_t i = 1; i < POLICY_NREASONS; i++)
		if (rep->rejected[i] != 0)
			campaign_record_reject_add(state, policy_reason_name(i),
			    (int64_t)rep->rejected[i]);
	if ((err = store_campaign_put(t, c->id, state, cause)) < 0)
		goto fail;
	if (body != NULL && (err = store_campaign_body_put(t, c->id, body,
	    cause)) < 0)
		goto fail;
	if (dry_run)
		store_abort(t);
	else if ((err = store_commit(t, cause)) < 0) {
		t = NULL;
		goto fail;
	}
	json_decref(state);
	json_decref(body);
	store_rcpt_free(&r);
	free(times);
	*status = exists ? 200 : 202;
	return 0;

fail:
	if (err == STORE_FULL)
		*status = 507;
	campaign_rcpt_close(it);
	store_abort(t);
	json_decref(state);
	json_decref(body);
	store_rcpt_free(&r);
	free(times);
	return -1;
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
	json_object_set_new(o, "rejected", rej);
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
