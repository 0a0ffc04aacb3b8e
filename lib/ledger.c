/*
 * ledger.c: state changes to queued work after admission.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "conf.h"
#include "ledger.h"
#include "quota_admit.h"
#include "policy.h"
#include "quiet_policy.h"
#include "rcpt_zone.h"
#include "campaign_record.h"
#include "util.h"

static const char *ledger_sources[] = {
	"unknown", "admin", "link", "one-click", "bounce", "complaint", "mail"
};

const char *
ledger_source_name(uint8_t s)
{
	if (s >= nitems(ledger_sources))
		return "unknown";
	return ledger_sources[s];
}

/* The state record of a campaign in this transaction's cache. */
int
ledger_state(struct store_txn *t, json_t *states, const char *id,
    json_t **out, char **cause)
{
	json_t	*st;
	int	 rc;

	if ((st = json_object_get(states, id)) == NULL) {
		if ((rc = store_campaign_get(t, id, &st, cause)) != 0)
			return rc;
		json_object_set_new(states, id, st);
	}
	*out = st;
	return 0;
}

int
ledger_flush_states(struct store_txn *t, json_t *states, char **cause)
{
	const char	*id;
	json_t		*st;
	int		 rc;

	json_object_foreach(states, id, st)
		if ((rc = store_campaign_put(t, id, st, cause)) < 0)
			return rc;
	return 0;
}

/* Count a job leaving the queue (or not) on its campaign's record. */
static int
ledger_count(struct store_txn *t, json_t *states, const struct store_job *j,
    const char *counter, int leaves, char **cause)
{
	json_t	*st;
	int	 rc;

	if ((rc = ledger_state(t, states, j->campaign, &st, cause)) != 0)
		return rc < 0 ? rc : 0;
	campaign_record_count_add(st, counter, 1);
	if (leaves) {
		campaign_record_count_add(st, "queued", -1);
		if (j->flags & STORE_JOB_DEFERRED)
			campaign_record_count_add(st, "queued_deferred", -1);
	}
	return 0;
}

/* Take back the count of a job cancelled or dropped, then sent after all. */
static int
ledger_uncount(struct store_txn *t, json_t *states, const char *campaign,
    uint8_t crstate, char **cause)
{
	json_t	*st;
	int	 rc;

	if (crstate != STORE_CR_CANCELLED && crstate != STORE_CR_DROPPED &&
	    crstate != STORE_CR_CAPPED && crstate != STORE_CR_QUOTA)
		return 0;
	if ((rc = ledger_state(t, states, campaign, &st, cause)) != 0)
		return rc < 0 ? rc : 0;
	if (crstate == STORE_CR_CAPPED || crstate == STORE_CR_QUOTA) {
		campaign_record_reject_add(st, policy_reason_name(
		    crstate == STORE_CR_CAPPED ? POLICY_FREQUENCY_CAP :
		    POLICY_DAILY_LIMIT), -1);
		return 0;
	}
	campaign_record_count_add(st, crstate == STORE_CR_CANCELLED ? "cancelled" :
	    "dropped", -1);
	return 0;
}

/* Set (state != 0) or drop (0) a recipient's history entry for a job. */
static int
ledger_hist(struct store_txn *t, const char *naddr, const char *campaign,
    uint32_t lid, int state, int64_t now, char **cause)
{
	struct store_rcpt	 r;
	struct store_hist	 h;
	int			 rc;

	store_rcpt_init(&r);
	if ((rc = store_rcpt_get(t, naddr, &r, cause)) < 0)
		goto out;
	if (store_rcpt_hist_set(&r, campaign, state, now) == 1) {
		/* A cancel or unsubscribe released the slot, yet it went. */
		if (state != STORE_HIST_SENT) {
			rc = 0;
			goto out;
		}
		memset(&h, 0, sizeof h);
		h.time = now;
		h.lid = lid;
		h.state = STORE_HIST_SENT;
		snprintf(h.campaign, sizeof h.campaign, "%s", campaign);
		store_rcpt_add_hist(&r, &h);
	}
	rc = store_rcpt_put(t, naddr, &r, cause);
out:
	store_rcpt_free(&r);
	return rc;
}

/*
 * A job sent from an old queue key whose delivery state points at a new
 * one: a recipient's choice re-timed it (prefs.c) after the drain took
 * it.  The moved copy must not go again: remove it, and count the job
 * as leaving the queue now (*gone = 0).
 */
static int
ledger_moved_sent(struct store_txn *t, struct store_job *j,
    const struct store_cr *cr, int *gone, char **cause)
{
	struct store_job	 moved;
	int			 rc;

	if (cr->state != STORE_CR_QUEUED ||
	    memcmp(cr->key, j->key, STORE_KEY_LEN) == 0)
		return 0;
	if ((rc = store_queue_get(t, cr->key, &moved, cause)) != 0)
		return rc < 0 ? rc : 0;
	/* The copy's place in its new quota day goes back with it. */
	if ((rc = store_queue_del(t, cr->key, cause)) < 0 ||
	    (rc = quota_admit_release(t, &moved, cause)) < 0)
		return rc;
	j->flags = moved.flags;
	*gone = 0;
	return 0;
}

/* A permanent failure suppresses the address (with the relay's words). */
static int
ledger_bounced(struct store_txn *t, const struct store_job *j,
    const char *why, int64_t now, json_t *states, char **cause)
{
	uint64_t	 dropped;

	return ledger_suppress(t, j->addr, why != NULL ? why :
	    "permanent failure", now, states, &dropped, cause);
}

/*
 * A job that leaves unsent gives its quota day's place back; one a quota
 * moved takes a place in its new day instead (j says which).  A sent one
 * keeps its place: it counts for its day.  cur is the job as stored.
 */
static int
ledger_outcome_quota(struct store_txn *t, struct store_job *cur,
    const struct store_job *j, enum ledger_outcome o, char **cause)
{
	int	 rc;

	if (o != LEDGER_SENT && o != LEDGER_RETRY && o != LEDGER_WAIT &&
	    (rc = quota_admit_release(t, cur, cause)) < 0)
		return rc;
	if (o == LEDGER_DEFERRED && (rc = quota_admit_hold(t, j, cause)) < 0)
		return rc;
	return 0;
}

/*
 * The outcome's history, counters and queue, with the delivery state it
 * leaves in *cr: 0 (store *cr), 1 (done, nothing more to store: an
 * erasure while in flight), or -1.
 */
static int
ledger_outcome_state(struct store_txn *t, struct store_job *j,
    enum ledger_outcome o, char *naddr, int gone, struct store_cr *cr,
    int64_t now, json_t *states, char **cause)
{
	int	 rc;

	switch (o) {
	case LEDGER_SENT:
		/* Re-timed by a recipient's choice while on its way. */
		if (gone && (rc = ledger_moved_sent(t, j, cr, &gone,
		    cause)) < 0)
			return rc;
		/* Gone: "queued" was already counted down when it left. */
		if (gone && (rc = ledger_uncount(t, states, j->campaign,
		    cr->state, cause)) < 0)
			return rc;
		cr->state = STORE_CR_SENT;
		/* An erasure while it was in flight: keep no history. */
		if (gone && store_rid_addr(t, j->rid, naddr, ADDR_MAX + 1) == 1)
			return (rc = ledger_count(t, states, j, "sent", 0,
			    cause)) < 0 ? rc : 1;
		if ((rc = ledger_hist(t, naddr, j->campaign, j->lid,
		    STORE_HIST_SENT, now, cause)) < 0)
			return rc;
		return ledger_count(t, states, j, "sent", !gone, cause);
	case LEDGER_RETRY:
	case LEDGER_DEFERRED:
		if ((rc = store_queue_put(t, j, cause)) < 0)
			return rc;
		memcpy(cr->key, j->key, STORE_KEY_LEN);
		return ledger_count(t, states, j, o == LEDGER_RETRY ?
		    "retries" : "quota_deferred", 0, cause);
	case LEDGER_WAIT:
		/* Queued again for the morning, its slot moved with it. */
		if ((rc = store_queue_put(t, j, cause)) < 0 ||
		    (rc = ledger_hist(t, naddr, j->campaign, j->lid,
		    STORE_HIST_RESERVED, j->due, cause)) < 0)
			return rc;
		memcpy(cr->key, j->key, STORE_KEY_LEN);
		return ledger_count(t, states, j, "quiet_waits", 0, cause);
	case LEDGER_BOUNCED:
	case LEDGER_FAILED:
	case LEDGER_DROPPED:
		cr->state = o == LEDGER_DROPPED ? STORE_CR_DROPPED :
		    STORE_CR_FAILED;
		/* An end without sending releases the recipient's slot. */
		if ((rc = ledger_hist(t, naddr, j->campaign, j->lid, 0, now,
		    cause)) < 0)
			return rc;
		return ledger_count(t, states, j, o == LEDGER_DROPPED ?
		    "dropped" : "failed", 1, cause);
	}
	return 0;
}

/*
 * Record what happened to a job the drain took.  A job that is gone from
 * the queue was cancelled or dropped meanwhile: only a delivery that did
 * happen is still recorded, in history (it counts against the caps) and
 * as sent rather than as what removed it.
 */
int
ledger_outcome(struct store_txn *t, struct store_job *j, enum ledger_outcome o,
    const char *why, int64_t now, json_t *states, char **cause)
{
	struct store_job	 cur;
	struct store_cr		 cr;
	char			 naddr[ADDR_MAX + 1];
	uint8_t			 oldkey[STORE_KEY_LEN];
	int			 rc, gone;

	memcpy(oldkey, j->key, STORE_KEY_LEN);
	if ((rc = store_queue_get(t, oldkey, &cur, cause)) < 0)
		return rc;
	gone = rc == 1;
	/* A dead mailbox stays dead even if its job was cancelled meanwhile. */
	if (gone && o == LEDGER_BOUNCED) {
		/* Erased while in flight: the address is not kept again. */
		if (store_rid_addr(t, j->rid, naddr, sizeof naddr) == 1)
			return 0;
		return ledger_bounced(t, j, why, now, states, cause);
	}
	if (gone && o != LEDGER_SENT)
		return 0;
	if (!gone && ((rc = store_queue_del(t, oldkey, cause)) < 0 ||
	    (rc = ledger_outcome_quota(t, &cur, j, o, cause)) < 0))
		return rc;
	addr_normalize(j->addr, naddr, sizeof naddr);
	memset(&cr, 0, sizeof cr);
	if ((rc = store_cr_get(t, j->campaign, j->rid, &cr, cause)) < 0)
		return rc;
	cr.time = now;
	if ((rc = ledger_outcome_state(t, j, o, naddr, gone, &cr, now, states,
	    cause)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = store_cr_put(t, j->campaign, j->rid, &cr, cause)) < 0)
		return rc;
	if (o == LEDGER_BOUNCED)
		return ledger_bounced(t, j, why, now, states, cause);
	return 0;
}

/* Does an unsubscribe entry block list lid? */
static int
ledger_blocks(const struct store_rcpt *r, uint32_t lid)
{
	size_t	 i;

	for (i = 0; i < r->nunsub; i++)
		if (r->unsub[i].lid == 0 || r->unsub[i].lid == lid)
			return 1;
	return 0;
}

int
ledger_rcpt_open(struct store_txn *t, const char *addr, char *naddr,
    struct store_rcpt *r, char **cause)
{
	addr_normalize(addr, naddr, ADDR_MAX + 1);
	store_rcpt_init(r);
	return store_rcpt_get(t, naddr, r, cause);
}

int
ledger_rcpt_close(struct store_txn *t, const char *naddr,
    struct store_rcpt *r, int rc, char **cause)
{
	if (rc >= 0)
		rc = store_rcpt_put(t, naddr, r, cause);
	store_rcpt_free(r);
	return rc < 0 ? rc : 0;
}

int
ledger_may_send(struct store_txn *t, const char *addr, uint32_t lid,
    char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	int			 rc, ok = 1;

	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) == 0 &&
	    (r.suppressed != 0 || ledger_blocks(&r, lid)))
		ok = 0;
	store_rcpt_free(&r);
	return rc < 0 ? rc : ok;
}

/*
 * Drop the queued jobs of a recipient on list lid (0: every list), as a
 * fresh unsubscribe or suppression requires.  `r` is updated in memory.
 */
static int
ledger_drop_queued(struct store_txn *t, struct store_rcpt *r, uint32_t lid,
    int64_t now, json_t *states, uint64_t *dropped, char **cause)
{
	struct store_cr		 cr;
	struct store_job	 j;
	size_t			 i = 0;
	int			 rc;

	while (i < r->nhist) {
		struct store_hist	*h = &r->hist[i];

		if (h->state != STORE_HIST_RESERVED || (lid != 0 &&
		    h->lid != lid)) {
			i++;
			continue;
		}
		if ((rc = store_cr_get(t, h->campaign, r->rid, &cr,
		    cause)) < 0)
			return rc;
		if (rc == 0 && cr.state == STORE_CR_QUEUED) {
			if ((rc = store_queue_get(t, cr.key, &j, cause)) < 0)
				return rc;
			if (rc == 0) {
				if ((rc = store_queue_del(t, cr.key,
				    cause)) < 0 ||
				    (rc = quota_admit_release(t, &j, cause)) < 0 ||
				    (rc = ledger_count(t, states, &j, "dropped",
				    1, cause)) < 0)
					return rc;
				(*dropped)++;
			}
			cr.state = STORE_CR_DROPPED;
			cr.time = now;
			if ((rc = store_cr_put(t, h->campaign, r->rid, &cr,
			    cause)) < 0)
				return rc;
		}
		/* The slot is released: remove the reservation. */
		memmove(h, h + 1, (r->nhist - i - 1) * sizeof *h);
		r->nhist--;
	}
	return 0;
}

int
ledger_unsubscribe(struct store_txn *t, const char *addr, uint32_t lid,
    uint8_t source, int64_t now, json_t *states,
    struct ledger_unsub_result *res, char **cause)
{
	struct store_rcpt	 r;
	struct store_unsub	 u;
	char			 naddr[ADDR_MAX + 1];
	size_t			 i;
	int			 rc;

	memset(res, 0, sizeof *res);
	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) < 0)
		return ledger_rcpt_close(t, naddr, &r, rc, cause);
	res->changed = 1;
	for (i = 0; i < r.nunsub; i++)
		if (r.unsub[i].lid == lid)
			res->changed = 0;
	if (res->changed) {
		u.lid = lid;
		u.time = now;
		u.source = source;
		if (r.nunsub == r.cap_unsub) {
			r.cap_unsub = r.cap_unsub == 0 ? 2 : r.cap_unsub * 2;
			r.unsub = xreallocarray(r.unsub, r.cap_unsub,
			    sizeof *r.unsub);
		}
		r.unsub[r.nunsub++] = u;
	}
	rc = ledger_drop_queued(t, &r, lid, now, states, &res->dropped, cause);
	return ledger_rcpt_close(t, naddr, &r, rc, cause);
}

/* Remove an unsubscribe (all: every entry); *found says if any was. */
int
ledger_resubscribe(struct store_txn *t, const char *addr, int all,
    uint32_t lid, int *found, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	size_t			 i, j = 0;
	int			 rc;

	*found = 0;
	rc = ledger_rcpt_open(t, addr, naddr, &r, cause);
	for (i = 0; rc == 0 && i < r.nunsub; i++) {
		if (all || r.unsub[i].lid == lid) {
			*found = 1;
			continue;
		}
		r.unsub[j++] = r.unsub[i];
	}
	r.nunsub = j;
	/* Nothing lifted (or no record): nothing to write. */
	if (!*found) {
		store_rcpt_free(&r);
		return rc < 0 ? rc : 0;
	}
	return ledger_rcpt_close(t, naddr, &r, 0, cause);
}

/* A hard bounce: never mail this address again; drop what is queued. */
int
ledger_suppress(struct store_txn *t, const char *addr, const char *why,
    int64_t now, json_t *states, uint64_t *dropped, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	int			 rc;

	*dropped = 0;
	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) >= 0) {
		r.suppressed = now;
		snprintf(r.suppress_why, sizeof r.suppress_why, "%s", why);
		rc = ledger_drop_queued(t, &r, 0, now, states, dropped, cause);
	}
	return ledger_rcpt_close(t, naddr, &r, rc, cause);
}

/* A recipient's own cap ("at most count per window"); count 0 clears. */
int
ledger_set_preference(struct store_txn *t, const char *addr, uint32_t count,
    uint32_t window, uint8_t source, int64_t now, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1];
	int			 rc;

	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) >= 0) {
		r.pref_count = count;
		r.pref_window = count != 0 ? window : 0;
		r.pref_time = now;
		r.pref_source = source;
	}
	return ledger_rcpt_close(t, naddr, &r, rc, cause);
}

struct ledger_cancel_arg {
	uint64_t	*rids;
	size_t		 n;
	size_t		 cap;
};

/* Collect the queued recipients of a campaign (no writes while walking). */
static int
ledger_cancel_collect(uint64_t rid, struct store_cr *cr, void *arg)
{
	struct ledger_cancel_arg	*a = arg;

	if (cr->state != STORE_CR_QUEUED)
		return 0;
	if (a->n == a->cap) {
		a->cap = a->cap == 0 ? 64 : a->cap * 2;
		a->rids = xreallocarray(a->rids, a->cap, sizeof *a->rids);
	}
	a->rids[a->n++] = rid;
	return 0;
}

/* Cancel: drop what is queued, release its reservations; 1 if unknown. */
int
ledger_cancel(struct store_txn *t, const char *id, int64_t now,
    uint64_t *dropped, char **cause)
{
	struct ledger_cancel_arg	 a;
	struct store_cr			 cr;
	struct store_job		 j;
	json_t				*st = NULL;
	char				 naddr[STORE_ADDR_MAX + 1];
	size_t				 i;
	int				 rc, n = 0;

	*dropped = 0;
	if ((rc = store_campaign_get(t, id, &st, cause)) != 0)
		return rc;
	memset(&a, 0, sizeof a);
	if ((rc = store_cr_each(t, id, ledger_cancel_collect, &a, cause)) < 0)
		goto out;
	for (i = 0; i < a.n; i++) {
		if ((rc = store_cr_get(t, id, a.rids[i], &cr, cause)) < 0)
			goto out;
		if ((rc = store_queue_get(t, cr.key, &j, cause)) < 0)
			goto out;
		if (rc == 0) {
			/* Its quota day's place goes back with it. */
			if ((rc = store_queue_del(t, cr.key, cause)) < 0 ||
			    (rc = quota_admit_release(t, &j, cause)) < 0)
				goto out;
			campaign_record_count_add(st, "queued", -1);
			if (j.flags & STORE_JOB_DEFERRED)
				campaign_record_count_add(st, "queued_deferred", -1);
			n++;
		}
		cr.state = STORE_CR_CANCELLED;
		cr.time = now;
		if ((rc = store_cr_put(t, id, a.rids[i], &cr, cause)) < 0)
			goto out;
		/* Every recipient with a delivery state has its address. */
		if (store_rid_addr(t, a.rids[i], naddr, sizeof naddr) == 0 &&
		    (rc = ledger_hist(t, naddr, id, 0, 0, now, cause)) < 0)
			goto out;
	}
	campaign_record_count_add(st, "cancelled", n);
	campaign_record_set_state(st, CAMPAIGN_CANCELLED);
	json_object_set_new(st, "cancelled_at", json_integer(now));
	rc = store_campaign_put(t, id, st, cause);
	*dropped = (uint64_t)n;
out:
	free(a.rids);
	json_decref(st);
	return rc < 0 ? rc : 0;
}

/*
 * A resume releases the circuit breakers: their rates count from what
 * went out since (breaker.h), and the pause's reason goes.
 */
static void
ledger_breaker_release(json_t *st)
{
	static const char	*keys[] = { "sent", "bounces", "complaints" };
	json_t			*base = json_object();
	size_t			 i;

	for (i = 0; i < nitems(keys); i++)
		json_object_set_new(base, keys[i], json_integer(
		    campaign_record_count(st, keys[i])));
	json_object_set_new(st, "breaker_base", base);
	json_object_del(st, "paused_by");
	json_object_del(st, "paused_why");
	json_object_del(st, "paused_at");
}

/* Pause or resume; 1 if unknown, -1 with cause if not allowed. */
int
ledger_set_campaign_state(struct store_txn *t, const char *id,
    const char *state, char **cause)
{
	json_t	*st = NULL;
	int	 rc;

	if ((rc = store_campaign_get(t, id, &st, cause)) != 0)
		return rc;
	if (strcmp(campaign_record_state(st), CAMPAIGN_CANCELLED) == 0) {
		json_decref(st);
		return set_cause(cause, "campaign %s is cancelled", id);
	}
	campaign_record_set_state(st, state);
	if (strcmp(state, CAMPAIGN_ACTIVE) == 0)
		ledger_breaker_release(st);
	rc = store_campaign_put(t, id, st, cause);
	json_decref(st);
	return rc;
}

/* The recipient's own choices: cap, pause (while it lasts), plain text. */
static void
ledger_prefs_json(json_t *o, const struct store_rcpt *r, int64_t now)
{
	if (r->pref_count != 0)
		json_object_set_new(o, "preference", json_pack("{s:I, s:I, "
		    "s:I, s:s}", "max", (json_int_t)r->pref_count, "window",
		    (json_int_t)r->pref_window, "time",
		    (json_int_t)r->pref_time, "source",
		    ledger_source_name(r->pref_source)));
	else
		json_object_set_new(o, "preference", json_null());
	json_object_set_new(o, "paused_until", r->pause_until > now ?
	    json_integer(r->pause_until) : json_null());
	json_object_set_new(o, "plain_text",
	    json_boolean(r->pref_flags & STORE_PREF_PLAIN));
}

/* One consent change as JSON, with its list's name. */
struct ledger_consent_arg {
	struct store_txn	*t;
	json_t			*a;
};

static int
ledger_consent_one(const struct store_consent *c, void *arg)
{
	struct ledger_consent_arg	*ca = arg;
	char				 lname[256];

	if (c->lid == 0)
		snprintf(lname, sizeof lname, "*");
	else if (store_list_name(ca->t, c->lid, lname, sizeof lname) != 0)
		snprintf(lname, sizeof lname, "#%u", c->lid);
	json_array_append_new(ca->a, json_pack("{s:s, s:s, s:I, s:s}",
	    "action", c->action == STORE_CONSENT_RESUBSCRIBE ? "resubscribed" :
	    "unknown", "list", lname, "time", (json_int_t)c->time, "source",
	    ledger_source_name(c->source)));
	return 0;
}

/* The consent given back (resubscribes), oldest first. */
static json_t *
ledger_consent_json(struct store_txn *t, uint64_t rid)
{
	struct ledger_consent_arg	 ca = { t, json_array() };

	if (rid != 0)
		store_consent_each(t, rid, ledger_consent_one, &ca, NULL);
	return ca.a;
}

/* Everything known about an address, for GET /v1/recipients/{addr}. */
/*
 * Per list, the next time the caps and the recipient's quiet hours allow
 * a message (null: never), and that time on the recipient's clock; the
 * zone kept for them (null: none, the list's timezone counts).
 */
static void
ledger_next_allowed(struct store_txn *t, const struct conf *conf,
    const struct store_rcpt *r, json_t *lists, const int64_t *times,
    int64_t now, json_t *o)
{
	struct quiet_cache	*zones = quiet_cache_new(16);
	struct quiet_zone	*z = NULL;
	struct conf_policy	 pol;
	struct policy_input	 in;
	struct policy_decision	 d;
	enum quiet_policy_cause	 why;
	json_t			*next = json_object(), *local = json_object(), *v;
	const char		*name;
	char			 kept[QUIET_ZONE_MAX + 1], buf[64];

	memset(&in, 0, sizeof in);
	in.times = times;
	in.ntimes = r->nhist;
	in.pref.count = r->pref_count;
	in.pref.window = r->pref_window;
	in.now = now;
	/* A pause the recipient chose: nothing before its end. */
	in.send_after = r->pause_until > now ? r->pause_until : 0;
	in.expires = INT64_MAX;
	json_object_foreach(lists, name, v) {
		uint32_t	 lid = (uint32_t)json_integer_value(v);

		if (r->suppressed != 0 || ledger_blocks(r, lid)) {
			json_object_set_new(next, name, json_null());
			json_object_set_new(local, name, json_null());
			continue;
		}
		conf_policy_for(conf, name, &pol);
		in.cap = pol.per_recipient;
		in.min_gap = pol.min_gap;
		if (rcpt_zone_get(zones, t, r->rid, pol.quiet.timezone, &z,
		    NULL) < 0)
			z = NULL;
		quiet_policy_decide(&in, z, &pol.quiet.rules, &d, &why);
		if (d.verdict == POLICY_REJECT || z == NULL) {
			json_object_set_new(next, name, json_null());
			json_object_set_new(local, name, json_null());
			continue;
		}
		json_object_set_new(next, name, json_integer(d.due));
		quiet_local_time(z, d.due, buf, sizeof buf);
		json_object_set_new(local, name, json_string(buf));
	}
	json_object_set_new(o, "next_allowed", next);
	json_object_set_new(o, "next_allowed_local", local);
	json_object_set_new(o, "time_zone", r->rid != 0 && store_zone_get(t,
	    r->rid, kept, sizeof kept, NULL) == 0 ? json_string(kept) :
	    json_null());
	quiet_cache_free(zones);
}

json_t *
ledger_recipient_json(struct store_txn *t, const struct conf *conf,
    const char *addr, int64_t now, char **cause)
{
	struct store_rcpt	 r;
	char			 naddr[ADDR_MAX + 1], lname[256];
	json_t			*o, *hist, *flags, *lists;
	int64_t			*times = NULL;
	size_t			 i;
	uint32_t		 lid;
	int			 rc;

	if ((rc = ledger_rcpt_open(t, addr, naddr, &r, cause)) < 0) {
		store_rcpt_free(&r);
		return NULL;
	}
	o = json_object();
	json_object_set_new(o, "address", json_string(naddr));
	json_object_set_new(o, "known", json_boolean(rc == 0));
	hist = json_array();
	times = xcalloc(r.nhist + 1, sizeof *times);
	lists = json_object();
	for (i = 0; i < r.nhist; i++) {
		times[i] = r.hist[i].time;
		if (store_list_name(t, r.hist[i].lid, lname, sizeof lname) != 0)
			snprintf(lname, sizeof lname, "#%u", r.hist[i].lid);
		json_object_set_new(lists, lname, json_integer(r.hist[i].lid));
		json_array_append_new(hist, json_pack("{s:I, s:s, s:s, s:s}",
		    "time", (json_int_t)r.hist[i].time, "campaign",
		    r.hist[i].campaign, "list", lname, "state",
		    r.hist[i].state == STORE_HIST_SENT ? "sent" : "queued"));
	}
	json_object_set_new(o, "history", hist);
	flags = json_array();
	for (i = 0; i < r.nunsub; i++) {
		if (r.unsub[i].lid == 0)
			snprintf(lname, sizeof lname, "*");
		else if (store_list_name(t, r.unsub[i].lid, lname,
		    sizeof lname) != 0)
			snprintf(lname, sizeof lname, "#%u", r.unsub[i].lid);
		if (r.unsub[i].lid != 0)
			json_object_set_new(lists, lname,
			    json_integer(r.unsub[i].lid));
		json_array_append_new(flags, json_pack("{s:s, s:s, s:I, s:s}",
		    "flag", "unsubscribed", "list", lname, "time",
		    (json_int_t)r.unsub[i].time, "source",
		    ledger_source_name(r.unsub[i].source)));
	}
	json_object_set_new(o, "flags", flags);
	ledger_prefs_json(o, &r, now);
	json_object_set_new(o, "consent", ledger_consent_json(t, r.rid));
	if (r.suppressed != 0)
		json_object_set_new(o, "suppressed", json_pack("{s:I, s:s}",
		    "time", (json_int_t)r.suppressed, "reason",
		    r.suppress_why));
	else
		json_object_set_new(o, "suppressed", json_null());
	/* Lists the configuration names count too, seen or not. */
	for (i = 0; i < conf->nlists; i++)
		if (json_object_get(lists, conf->lists[i].name) == NULL &&
		    store_list_id(t, conf->lists[i].name, 0, &lid, NULL) == 0)
			json_object_set_new(lists, conf->lists[i].name,
			    json_integer(lid));
	ledger_next_allowed(t, conf, &r, lists, times, now, o);
	json_decref(lists);
	free(times);
	store_rcpt_free(&r);
	return o;
}

/* Drop every queued job of a recipient and release its slots. */
int
ledger_drop_reserved(struct store_txn *t, struct store_rcpt *r, int64_t now,
    json_t *states, uint64_t *dropped, char **cause)
{
	return ledger_drop_queued(t, r, 0, now, states, dropped, cause);
}
