/*
 * retention.c: pruning history, removing ended campaigns, pruning past
 * quota days and expired MX placements, in slices (see retention.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "campaign_record.h"
#include "conf.h"
#include "quota.h"
#include "retention.h"
#include "store.h"
#include "util.h"

/* The larger of a window and the windows of one policy. */
static int64_t
retention_policy_window(int64_t w, const struct conf_policy *p)
{
	if (p->per_recipient.count != 0 && (int64_t)p->per_recipient.window
	    > w)
		w = (int64_t)p->per_recipient.window;
	if ((int64_t)p->min_gap > w)
		w = (int64_t)p->min_gap;
	return w;
}

int64_t
retention_history_window(const struct conf *c)
{
	int64_t	 w = RETENTION_HISTORY_MIN;
	size_t	 i;

	w = retention_policy_window(w, &c->policy);
	for (i = 0; i < c->nlists; i++) {
		struct conf_policy	 p;

		conf_policy_for(c, c->lists[i].name, &p);
		w = retention_policy_window(w, &p);
	}
	return w;
}

int
retention_campaign_due(int64_t ended, uint64_t retention, int64_t now)
{
	return retention != 0 && ended != 0 && now - ended >= (int64_t)retention;
}

/* Prune the history of up to `budget` records after cur->rcpt. */
static int
retention_history(struct store_txn *t, int64_t now, int64_t window,
    size_t budget, struct retention_cursor *cur, struct retention_result *res,
    char **cause)
{
	struct store_rcpt	 r;
	char			 key[sizeof cur->rcpt];
	size_t			 n, had;
	int			 rc = 0;

	store_rcpt_init(&r);
	for (n = 0; n < budget; n++) {
		if ((rc = store_rcpt_next_key(t, cur->rcpt, key, sizeof key,
		    cause)) != 0)
			break;
		snprintf(cur->rcpt, sizeof cur->rcpt, "%s", key);
		res->records++;
		if ((rc = store_rcpt_get(t, key, &r, cause)) < 0)
			break;
		had = r.nhist;
		/* A recipient's own window may be longer than every cap. */
		store_rcpt_prune(&r, now - ((int64_t)r.pref_window > window ?
		    (int64_t)r.pref_window : window));
		if (r.nhist != had) {
			res->pruned += had - r.nhist;
			if ((rc = store_rcpt_put(t, key, &r, cause)) < 0)
				break;
		}
	}
	store_rcpt_free(&r);
	if (rc == 1) {
		cur->phase = RETENTION_CAMPAIGNS;
		rc = 0;
	}
	return rc;
}

/*
 * Mark campaigns whose last job ended (nothing queued) with the time a
 * pass first saw it; clear the mark of one that was given jobs again.
 * Sets cur->campaign to the first one past its retention, if any.
 */
static int
retention_scan(struct store_txn *t, uint64_t retention, int64_t now,
    struct retention_cursor *cur, struct retention_result *res, char **cause)
{
	json_t		*ids = NULL, *v, *st;
	json_int_t	 ended;
	size_t		 i;
	int		 rc;

	if ((rc = store_campaign_list(t, &ids, cause)) < 0)
		return rc;
	cur->campaign[0] = '\0';
	json_array_foreach(ids, i, v) {
		if ((rc = store_campaign_get(t, json_string_value(v), &st,
		    cause)) != 0)
			continue;
		ended = json_integer_value(json_object_get(st, "ended"));
		if (campaign_record_count(st, "queued") > 0 && ended != 0) {
			json_object_del(st, "ended");
			rc = store_campaign_put(t, json_string_value(v), st,
			    cause);
		} else if (campaign_record_count(st, "queued") <= 0 &&
		    ended == 0) {
			json_object_set_new(st, "ended", json_integer(now));
			res->ended++;
			rc = store_campaign_put(t, json_string_value(v), st,
			    cause);
		} else if (cur->campaign[0] == '\0' &&
		    retention_campaign_due(ended, retention, now))
			snprintf(cur->campaign, sizeof cur->campaign, "%s",
			    json_string_value(v));
		json_decref(st);
		if (rc < 0)
			break;
		rc = 0;
	}
	json_decref(ids);
	return rc;
}

/* Remove up to `budget` states of the campaign, then the campaign. */
static int
retention_remove(struct store_txn *t, size_t budget,
    struct retention_cursor *cur, struct retention_result *res, char **cause)
{
	uint64_t	 n;
	int		 rc;

	if ((rc = store_cr_del_some(t, cur->campaign, budget, &n,
	    cause)) < 0)
		return rc;
	res->states += n;
	if (rc == 1 || n < budget) {
		if ((rc = store_campaign_del(t, cur->campaign, cause)) < 0)
			return rc;
		res->campaigns++;
		cur->campaign[0] = '\0';
	}
	return 0;
}

int
retention_quota_due(int32_t day, int32_t keep_from, unsigned rank,
    size_t ramp_days)
{
	if (day >= keep_from)
		return 0;
	return rank == 0 || rank > ramp_days;
}

int
retention_mx_due(int64_t until, int64_t now)
{
	return now - until >= RETENTION_MX_GRACE;
}

/*
 * The oldest quota day any rule still reads at now: yesterday in
 * day_zone.  Admission and the drain read today and later, but a
 * delivery started before the day ended counts for it at its commit.
 */
static int
retention_quota_keep_from(const struct conf *c, int64_t now, int32_t *out,
    char **cause)
{
	struct quota_clock	*qc;
	struct quota_day	 today, yesterday;

	if ((qc = quota_clock_new(c->day_zone, c->day_start, cause)) == NULL)
		return -1;
	quota_day_of(qc, now, &today);
	quota_day_of(qc, today.start - 1, &yesterday);
	quota_clock_free(qc);
	*out = yesterday.date;
	return 0;
}

/*
 * The rank of a unit's record among the sending days of its ramp, in
 * day order (0: a record of reservations, or no ramp's sending day); the
 * count goes on across slices in cur while the unit is the same.
 */
static unsigned
retention_quota_rank(const struct conf *c, struct retention_cursor *cur,
    const char *unit, int32_t day, uint64_t count, size_t *ramp_days)
{
	const struct conf_warmup	*w;

	if (strcmp(unit, cur->qunit) != 0)
		cur->qrank = 0;
	*ramp_days = 0;
	/* What the drain sent is under "UNIT", reservations under "+UNIT". */
	if (unit[0] == '+' || count == 0 || (w = conf_warmup_for(c, unit)) ==
	    NULL || day < w->start)
		return 0;
	*ramp_days = w->nvolumes;
	return ++cur->qrank;
}

/* Prune up to `budget` quota records after cur->qunit and cur->qday. */
static int
retention_quota(struct store_txn *t, const struct conf *c, int64_t now,
    size_t budget, struct retention_cursor *cur, struct retention_result *res,
    char **cause)
{
	char		 unit[sizeof cur->qunit];
	int32_t		 day, keep_from;
	uint64_t	 count;
	size_t		 n, ramp_days;
	unsigned	 rank;
	int		 rc;

	if ((rc = retention_quota_keep_from(c, now, &keep_from, cause)) < 0)
		return rc;
	for (n = 0; n < budget; n++) {
		if ((rc = store_quota_next(t, cur->qunit, cur->qday, unit,
		    sizeof unit, &day, &count, cause)) != 0)
			break;
		rank = retention_quota_rank(c, cur, unit, day, count,
		    &ramp_days);
		snprintf(cur->qunit, sizeof cur->qunit, "%s", unit);
		cur->qday = day;
		if (!retention_quota_due(day, keep_from, rank, ramp_days))
			continue;
		if ((rc = store_quota_del(t, unit, day, cause)) < 0)
			break;
		res->quota++;
	}
	if (rc == 1) {
		cur->phase = RETENTION_MX;
		rc = 0;
	}
	return rc < 0 ? rc : 0;
}

/* Remove the expired MX placements among `budget` after cur->mx. */
static int
retention_mx(struct store_txn *t, int64_t now, size_t budget,
    struct retention_cursor *cur, struct retention_result *res, char **cause)
{
	char		 domain[sizeof cur->mx];
	int64_t		 until;
	size_t		 n;
	int		 rc = 0;

	for (n = 0; n < budget; n++) {
		if ((rc = store_mx_next(t, cur->mx, domain, sizeof domain,
		    &until, cause)) != 0)
			break;
		snprintf(cur->mx, sizeof cur->mx, "%s", domain);
		if (!retention_mx_due(until, now))
			continue;
		if ((rc = store_mx_del(t, domain, cause)) < 0)
			break;
		res->mx++;
	}
	if (rc == 1) {
		cur->phase = RETENTION_DONE;
		rc = 0;
	}
	return rc < 0 ? rc : 0;
}

/* The campaigns' part: one at a time, its states in slices, then it. */
static int
retention_campaigns(struct store_txn *t, const struct conf *c, int64_t now,
    size_t budget, struct retention_cursor *cur, struct retention_result *res,
    char **cause)
{
	int	 rc;

	if (cur->campaign[0] == '\0' && (rc = retention_scan(t,
	    c->campaign_retention, now, cur, res, cause)) < 0)
		return rc;
	if (cur->campaign[0] == '\0') {
		cur->phase = RETENTION_QUOTA;
		return 0;
	}
	return retention_remove(t, budget, cur, res, cause);
}

int
retention_slice(struct store_txn *t, const struct conf *c, int64_t now,
    size_t budget, struct retention_cursor *cur, struct retention_result *res,
    char **cause)
{
	switch (cur->phase) {
	case RETENTION_HISTORY:
		return retention_history(t, now, retention_history_window(c),
		    budget, cur, res, cause);
	case RETENTION_CAMPAIGNS:
		return retention_campaigns(t, c, now, budget, cur, res, cause);
	case RETENTION_QUOTA:
		return retention_quota(t, c, now, budget, cur, res, cause);
	case RETENTION_MX:
		return retention_mx(t, now, budget, cur, res, cause);
	default:
		return 0;
	}
}
