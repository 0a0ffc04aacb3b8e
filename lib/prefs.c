/*
 * prefs.c: a recipient's own choices, and the re-timing of the jobs
 * already queued for that recipient, in the same transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "campaign_record.h"
#include "erase.h"
#include "ledger.h"
#include "policy.h"
#include "prefs.h"
#include "quota_admit.h"
#include "store.h"
#include "util.h"

void
prefs_retime_plan(struct prefs_job *jobs, size_t n, const int64_t *sent,
    size_t nsent, const struct conf_cap *pref, int64_t pause_until)
{
	int64_t	*times, from, t;
	size_t	 i, nt = nsent;

	times = xcalloc(nsent + n + 1, sizeof *times);
	if (nsent > 0)
		memcpy(times, sent, nsent * sizeof *times);
	/*
	 * In due order, each job against what is sent and the jobs before
	 * it at their new times: the later ones move after them, as the
	 * admission of a new campaign would have placed them.
	 */
	for (i = 0; i < n; i++) {
		from = jobs[i].due > pause_until ? jobs[i].due : pause_until;
		t = policy_next_allowed(times, nt, &jobs[i].cap,
		    jobs[i].min_gap, pref, from);
		if (t == INT64_MAX || t >= jobs[i].expires) {
			jobs[i].new_due = INT64_MAX;
			continue;
		}
		jobs[i].new_due = t;
		times[nt++] = t;
	}
	free(times);
}

/* A queued job of the recipient, with where it is found. */
struct prefs_queued {
	struct prefs_job	 p;
	struct store_job	 job;
	struct store_cr		 cr;
	int			 left;	/* off the queue, its place given back */
};

/* What the planner weighs a recipient's queued jobs against. */
struct prefs_plan_in {
	const int64_t		*sent;
	size_t			 nsent;
	struct conf_cap		 pref;
	int64_t			 pause_until;
};

/*
 * Plan q[from..n) (from 0: all of them), weighing q[0..from) at the
 * times they finally took like messages already sent.
 */
static void
prefs_plan(struct prefs_queued *q, size_t n, size_t from,
    const struct prefs_plan_in *in)
{
	struct prefs_job	*plan = xcalloc(n - from + 1, sizeof *plan);
	int64_t			*times = xcalloc(in->nsent + n + 1,
				    sizeof *times);
	size_t			 i, nt = in->nsent;

	if (in->nsent > 0)
		memcpy(times, in->sent, in->nsent * sizeof *times);
	for (i = 0; i < from; i++)
		if (q[i].p.new_due != INT64_MAX)
			times[nt++] = q[i].p.new_due;
	/* The planner reads its input from a packed array. */
	for (i = from; i < n; i++)
		plan[i - from] = q[i].p;
	prefs_retime_plan(plan, n - from, times, nt, &in->pref,
	    in->pause_until);
	for (i = from; i < n; i++)
		q[i].p.new_due = plan[i - from].new_due;
	free(plan);
	free(times);
}

static int
prefs_by_due(const void *a, const void *b)
{
	const struct prefs_queued	*x = a, *y = b;

	if (x->p.due != y->p.due)
		return x->p.due < y->p.due ? -1 : 1;
	return memcmp(x->job.key, y->job.key, STORE_KEY_LEN);
}

/* The caps of list lid and the expiry of a campaign, for the planner. */
static int
prefs_limits(struct store_txn *t, const struct conf *conf, json_t *states,
    const struct store_job *j, struct prefs_job *p, char **cause)
{
	struct conf_policy	 pol;
	json_t			*st;
	char			 lname[256];
	int			 rc;

	if (store_list_name(t, j->lid, lname, sizeof lname) != 0)
		lname[0] = '\0';
	conf_policy_for(conf, lname, &pol);
	p->cap = pol.per_recipient;
	p->min_gap = pol.min_gap;
	p->expires = INT64_MAX;
	if ((rc = ledger_state(t, states, j->campaign, &st, cause)) < 0)
		return rc;
	if (rc == 0 && json_integer_value(json_object_get(st, "expires")) > 0)
		p->expires = json_integer_value(json_object_get(st, "expires"));
	p->due = j->due;
	return 0;
}

/*
 * Collect the recipient's queued jobs (into *out, sorted by due) and the
 * times of everything else in its history (into sent).
 */
static int
prefs_collect(struct store_txn *t, const struct conf *conf, json_t *states,
    const struct store_rcpt *r, struct prefs_queued **out, size_t *nout,
    int64_t *sent, size_t *nsent, char **cause)
{
	struct prefs_queued	*q = xcalloc(r->nhist + 1, sizeof *q);
	size_t			 i, n = 0;
	int			 rc;

	*nsent = 0;
	for (i = 0; i < r->nhist; i++) {
		const struct store_hist	*h = &r->hist[i];
		struct prefs_queued	*e = &q[n];

		if (h->state == STORE_HIST_RESERVED && r->rid != 0) {
			if ((rc = store_cr_get(t, h->campaign, r->rid, &e->cr,
			    cause)) < 0)
				goto fail;
			if (rc == 0 && e->cr.state == STORE_CR_QUEUED) {
				if ((rc = store_queue_get(t, e->cr.key,
				    &e->job, cause)) < 0)
					goto fail;
				if (rc == 0) {
					if ((rc = prefs_limits(t, conf, states,
					    &e->job, &e->p, cause)) < 0)
						goto fail;
					n++;
					continue;
				}
			}
		}
		sent[(*nsent)++] = h->time;
	}
	qsort(q, n, sizeof *q, prefs_by_due);
	*out = q;
	*nout = n;
	return 0;
fail:
	free(q);
	return rc;
}

/*
 * A job that changes leaves its old key and gives its quota day's place
 * back, before any new place is reserved: the places it frees are then
 * free for the recipient's other jobs too.
 */
static int
prefs_leave(struct store_txn *t, struct prefs_queued *e, char **cause)
{
	int	 rc;

	if ((rc = store_queue_del(t, e->job.key, cause)) < 0)
		return rc;
	e->left = 1;
	return quota_admit_release(t, &e->job, cause);
}

/*
 * Drop one job (already off the queue) the choice leaves no time for
 * before its expiry (reason frequency_cap), or whose new time leaves no
 * quota day with room before it (daily_limit, as admission would).
 */
static int
prefs_drop(struct store_txn *t, struct store_rcpt *r, struct prefs_queued *e,
    enum policy_reason why, int64_t now, json_t *states, char **cause)
{
	json_t	*st;
	int	 rc;

	if ((rc = ledger_state(t, states, e->job.campaign, &st, cause)) < 0)
		return rc;
	if (rc == 0) {
		campaign_record_count_add(st, "queued", -1);
		if (e->job.flags & STORE_JOB_DEFERRED)
			campaign_record_count_add(st, "queued_deferred", -1);
		campaign_record_reject_add(st, policy_reason_name(why), 1);
	}
	e->cr.state = why == POLICY_DAILY_LIMIT ? STORE_CR_QUOTA :
	    STORE_CR_CAPPED;
	e->cr.time = now;
	if ((rc = store_cr_put(t, e->job.campaign, r->rid, &e->cr, cause)) < 0)
		return rc;
	/* The slot is released. */
	store_rcpt_hist_set(r, e->job.campaign, 0, 0);
	return 0;
}

/*
 * Reserve a place for a job moved to new_due in the quota day it now
 * falls in, as admission does: a full day moves it to the start of the
 * first later day with room; 1 when no day before its campaign expires
 * has room (the job is dropped, daily_limit).  Its qday names the day.
 */
static int
prefs_reserve(struct quota_admit *qa, struct store_txn *t,
    struct prefs_queued *e, char **cause)
{
	struct policy_decision	 d;
	char			 naddr[ADDR_MAX + 1];
	int			 rc;

	memset(&d, 0, sizeof d);
	d.verdict = POLICY_DEFER;
	d.due = e->p.new_due;
	addr_normalize(e->job.addr, naddr, sizeof naddr);
	if ((rc = quota_admit_reserve(qa, t, addr_domain(naddr),
	    e->p.expires, &d, &e->job, cause)) != 0)
		return rc;
	e->p.new_due = d.due;
	return 0;
}

/* Put one job (already off the queue) at its new time, deferred. */
static int
prefs_move(struct store_txn *t, struct store_rcpt *r, struct prefs_queued *e,
    json_t *states, char **cause)
{
	json_t	*st;
	int	 rc;

	if (!(e->job.flags & STORE_JOB_DEFERRED)) {
		e->job.flags |= STORE_JOB_DEFERRED;
		if ((rc = ledger_state(t, states, e->job.campaign, &st,
		    cause)) < 0)
			return rc;
		if (rc == 0)
			campaign_record_count_add(st, "queued_deferred", 1);
	}
	e->job.due = e->p.new_due;
	if ((rc = store_queue_put(t, &e->job, cause)) < 0)
		return rc;
	memcpy(e->cr.key, e->job.key, STORE_KEY_LEN);
	if ((rc = store_cr_put(t, e->job.campaign, r->rid, &e->cr, cause)) < 0)
		return rc;
	store_rcpt_hist_set(r, e->job.campaign, STORE_HIST_RESERVED,
	    e->p.new_due);
	return 0;
}

/*
 * Give each changed job its new place: a quota day's place, then the
 * queue at its new time; or drop it.  qa NULL: no quota configured.
 */
static int
prefs_place(struct store_txn *t, struct quota_admit *qa,
    struct store_rcpt *r, struct prefs_queued *e, int64_t now,
    json_t *states, struct prefs_result *res, char **cause)
{
	enum policy_reason	 why = POLICY_FREQUENCY_CAP;
	int			 rc = 0;

	if (e->p.new_due != INT64_MAX && (rc = prefs_reserve(qa, t, e,
	    cause)) < 0)
		return rc;
	if (rc == 1) {
		why = POLICY_DAILY_LIMIT;
		e->p.new_due = INT64_MAX;
		res->daily_limit++;
	}
	if (e->p.new_due == INT64_MAX) {
		res->dropped++;
		return prefs_drop(t, r, e, why, now, states, cause);
	}
	res->moved++;
	return prefs_move(t, r, e, states, cause);
}

/*
 * Give each job that changes its new place, in due order.  A job a full
 * quota day moved later (or dropped) changes what the jobs after it may
 * do: they are planned again from where it went, so the recipient's own
 * cap holds between them too.
 */
static int
prefs_place_all(struct store_txn *t, struct quota_admit *qa,
    struct store_rcpt *r, struct prefs_queued *q, size_t n,
    const struct prefs_plan_in *in, int64_t now, json_t *states,
    struct prefs_result *res, char **cause)
{
	int64_t	 planned;
	size_t	 i;
	int	 rc = 0;

	for (i = 0; i < n && rc >= 0; i++) {
		if (q[i].p.new_due == q[i].p.due && !q[i].left)
			continue;
		/*
		 * Changed only by a new plan: its place goes back now (the
		 * quota days already read count it still: at worst its old
		 * day looks one fuller than it is).
		 */
		if (!q[i].left && (rc = prefs_leave(t, &q[i], cause)) < 0)
			break;
		planned = q[i].p.new_due;
		if ((rc = prefs_place(t, qa, r, &q[i], now, states, res,
		    cause)) >= 0 && q[i].p.new_due != planned)
			prefs_plan(q, n, i + 1, in);
	}
	return rc;
}

/* Re-time the recipient's queued jobs under its current choices. */
static int
prefs_retime(struct store_txn *t, const struct conf *conf,
    struct store_rcpt *r, int64_t now, json_t *states,
    struct prefs_result *res, char **cause)
{
	struct prefs_queued	*q = NULL;
	struct quota_admit	*qa = NULL;
	struct prefs_plan_in	 in;
	int64_t			*sent;
	size_t			 i, n = 0, nsent = 0;
	int			 rc;

	sent = xcalloc(r->nhist + 1, sizeof *sent);
	if ((rc = prefs_collect(t, conf, states, r, &q, &n, sent, &nsent,
	    cause)) < 0)
		goto out;
	in.sent = sent;
	in.nsent = nsent;
	in.pref.count = r->pref_count;
	in.pref.window = r->pref_window;
	in.pause_until = r->pause_until;
	prefs_plan(q, n, 0, &in);
	for (i = 0; i < n && rc >= 0; i++)
		if (q[i].p.new_due != q[i].p.due)
			rc = prefs_leave(t, &q[i], cause);
	/* The quota days are read after every place given back above. */
	if (rc >= 0 && (qa = quota_admit_new(conf, now, cause)) == NULL &&
	    cause != NULL && *cause != NULL)
		rc = -1;
	if (rc >= 0 && (rc = prefs_place_all(t, qa, r, q, n, &in, now, states,
	    res, cause)) >= 0)
		rc = quota_admit_flush(qa, t, cause);
out:
	quota_admit_free(qa);
	free(q);
	free(sent);
	return rc < 0 ? rc : 0;
}

int
prefs_apply(struct store_txn *t, const struct conf *conf, const char *addr,
    const struct prefs_change *c, int64_t now, json_t *states,
    struct prefs_result *res, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	int			 rc;

	memset(res, 0, sizeof *res);
	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) < 0)
		return ledger_rcpt_close(t, naddr, &r, rc, cause);
	if (c->set & PREFS_SET_CAP) {
		r.pref_count = c->count;
		r.pref_window = c->count != 0 ? c->window : 0;
	}
	if (c->set & PREFS_SET_PAUSE)
		r.pause_until = c->pause_until;
	if (c->set & PREFS_SET_PLAIN) {
		if (c->plain)
			r.pref_flags |= STORE_PREF_PLAIN;
		else
			r.pref_flags &= (uint8_t)~STORE_PREF_PLAIN;
	}
	r.pref_time = now;
	r.pref_source = c->source;
	/* Plain text changes no time; caps and pauses may. */
	rc = c->set & (PREFS_SET_CAP | PREFS_SET_PAUSE) ? prefs_retime(t, conf,
	    &r, now, states, res, cause) : 0;
	return ledger_rcpt_close(t, naddr, &r, rc, cause);
}

int
prefs_send_view(struct store_txn *t, const char *addr, uint32_t lid,
    int *plain, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	size_t			 i;
	int			 rc, ok = 1;

	*plain = 0;
	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) == 0) {
		if (r.suppressed != 0)
			ok = 0;
		for (i = 0; i < r.nunsub; i++)
			if (r.unsub[i].lid == 0 || r.unsub[i].lid == lid)
				ok = 0;
		*plain = (r.pref_flags & STORE_PREF_PLAIN) != 0;
	}
	store_rcpt_free(&r);
	return rc < 0 ? rc : ok;
}

int
prefs_source_own(uint8_t source)
{
	return source == STORE_SRC_LINK || source == STORE_SRC_ONECLICK;
}

/* The flag an unsubscribe entry makes on the page. */
static void
prefs_view_flag(enum prefs_flag *f, uint8_t source)
{
	if (!prefs_source_own(source))
		*f = PREFS_KEPT;
	else if (*f == PREFS_SUBSCRIBED)
		*f = PREFS_OWN;
}

int
prefs_view_get(struct store_txn *t, const char *addr, uint32_t lid,
    int64_t now, struct prefs_view *v, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	size_t			 i;
	int			 rc;

	memset(v, 0, sizeof *v);
	/* No record: subscribed, no choices made (all zero). */
	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) == 0) {
		for (i = 0; i < r.nunsub; i++) {
			if (r.unsub[i].lid == 0)
				prefs_view_flag(&v->all, r.unsub[i].source);
			else if (r.unsub[i].lid == lid)
				prefs_view_flag(&v->list, r.unsub[i].source);
		}
		v->suppressed = r.suppressed != 0;
		v->cap_count = r.pref_count;
		v->cap_window = r.pref_count != 0 ? r.pref_window : 0;
		v->pause_until = r.pause_until > now ? r.pause_until : 0;
		v->plain = (r.pref_flags & STORE_PREF_PLAIN) != 0;
	}
	store_rcpt_free(&r);
	return rc < 0 ? rc : 0;
}

int
prefs_resubscribe(struct store_txn *t, const struct prefs_resub *rs,
    int *found, char **cause)
{
	struct store_rcpt	 r;
	struct store_consent	 c;
	char			 naddr[ADDR_MAX + 1];
	int			 rc, rec, erased = 0;

	*found = 0;
	if ((rc = ledger_resubscribe(t, rs->addr, rs->all, rs->lid, &rec,
	    cause)) < 0)
		return rc;
	rc = ledger_rcpt_open(t, rs->addr, naddr, &r, cause);
	if (rc >= 0 && rs->keys != NULL)
		rc = erase_lift(t, rs->keys, naddr, rs->all, rs->lid, &erased,
		    cause);
	*found = (rec ? PREFS_RESUB_RECORD : 0) |
	    (erased ? PREFS_RESUB_ERASED : 0);
	if (rc < 0 || *found == 0) {
		store_rcpt_free(&r);
		return rc < 0 ? rc : 0;
	}
	/* Erased, there is no record: a new one (new id) holds the consent. */
	if (r.rid == 0)
		rc = store_rcpt_put(t, naddr, &r, cause);
	if (rc >= 0) {
		c.time = rs->now;
		c.lid = rs->lid;
		c.action = STORE_CONSENT_RESUBSCRIBE;
		c.source = rs->source;
		rc = store_consent_add(t, r.rid, &c, cause);
	}
	store_rcpt_free(&r);
	return rc < 0 ? rc : 0;
}
