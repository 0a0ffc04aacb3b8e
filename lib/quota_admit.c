/*
 * quota_admit.c: daily quotas at admission (see quota_admit.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "hashtab.h"
#include "quota.h"
#include "quota_admit.h"
#include "store.h"
#include "util.h"
#include "warmup.h"

/* One unit's days, loaded as admission first needs them. */
struct qa_unit {
	char			 name[258];	/* "+UNIT": its reservations */
	uint64_t		 daily_limit;
	const struct conf_warmup *warmup;
	int			 loaded;
	uint64_t		 used[QUOTA_ADMIT_DAYS];
	uint64_t		 limit[QUOTA_ADMIT_DAYS];
	uint64_t		 added[QUOTA_ADMIT_DAYS];
};

/* A recipient domain and its unit (NULL: no quota). */
struct qa_domain {
	char			 name[256];
	struct qa_unit		*unit;
};

struct quota_admit {
	const struct conf	*conf;
	int64_t			 now;
	int			 use_mx;	/* some provider has mx = */
	struct quota_clock	*clock;
	struct quota_day	 days[QUOTA_ADMIT_DAYS];	/* from today */
	struct hashtab		*units;
	struct hashtab		*domains;
	struct quota_admit_unplaced unplaced;
};

static int
quota_admit_unit_eq(const void *item, const void *key)
{
	return strcmp(((const struct qa_unit *)item)->name, key) == 0;
}

static int
quota_admit_domain_eq(const void *item, const void *key)
{
	return strcasecmp(((const struct qa_domain *)item)->name, key) == 0;
}

/* Is any daily limit or ramp configured? */
static int
quota_admit_any(const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->ndomains; i++)
		if (c->domains[i].daily_limit != 0)
			return 1;
	for (i = 0; i < c->nproviders; i++)
		if (c->providers[i].daily_limit != 0)
			return 1;
	return c->nwarmups > 0;
}

struct quota_admit *
quota_admit_new(const struct conf *c, int64_t now, char **cause)
{
	struct quota_admit	*q;
	size_t			 i;

	if (!quota_admit_any(c))
		return NULL;
	q = xcalloc(1, sizeof *q);
	q->conf = c;
	q->now = now;
	for (i = 0; i < c->nproviders; i++)
		if (c->providers[i].mx.n > 0)
			q->use_mx = 1;
	if ((q->clock = quota_clock_new(c->day_zone, c->day_start, cause)) ==
	    NULL) {
		free(q);
		return NULL;
	}
	quota_day_of(q->clock, now, &q->days[0]);
	for (i = 1; i < QUOTA_ADMIT_DAYS; i++)
		quota_day_of(q->clock, q->days[i - 1].end, &q->days[i]);
	q->units = hashtab_new();
	q->domains = hashtab_new();
	return q;
}

void
quota_admit_free(struct quota_admit *q)
{
	void	*p;
	size_t	 pos = 0;

	if (q == NULL)
		return;
	while ((p = hashtab_next(q->units, &pos)) != NULL)
		free(p);
	pos = 0;
	while ((p = hashtab_next(q->domains, &pos)) != NULL)
		free(p);
	hashtab_free(q->units);
	hashtab_free(q->domains);
	quota_clock_free(q->clock);
	free(q);
}

/*
 * The provider a domain's MX records placed it in, as the drain last
 * recorded it (store_mx_put()), if that answer has not expired and the
 * provider is still configured; NULL otherwise.  A domain not looked
 * up yet is on its own here (its lookup starts when the drain first
 * reads one of its jobs ahead).
 */
static int
quota_admit_by_mx(struct quota_admit *q, struct store_txn *t,
    const char *domain, const struct conf_provider **out, char **cause)
{
	char	 group[256];
	int64_t	 until;
	size_t	 i;
	int	 rc;

	*out = NULL;
	if (!q->use_mx)
		return 0;
	if ((rc = store_mx_get(t, domain, group, sizeof group, &until,
	    cause)) < 0)
		return rc;
	if (rc == 1 || until <= q->now) {
		/* Never looked up, or the answer is old: ask again. */
		if (q->unplaced.n < QUOTA_ADMIT_UNPLACED)
			snprintf(q->unplaced.name[q->unplaced.n++],
			    sizeof q->unplaced.name[0], "%s", domain);
		return 0;
	}
	for (i = 0; i < q->conf->nproviders; i++)
		if (strcmp(q->conf->providers[i].name, group) == 0 &&
		    q->conf->providers[i].mx.n > 0)
			*out = &q->conf->providers[i];
	return 0;
}

/*
 * The unit of a domain: its provider by list or by MX placement, or the
 * domain itself; *out NULL when it has no quota.
 */
static int
quota_admit_unit(struct quota_admit *q, struct store_txn *t,
    const char *domain, struct qa_unit **out, char **cause)
{
	const struct conf_provider	*p;
	const struct conf_domain	*cd;
	struct qa_domain		*qd;
	struct qa_unit			*u;
	const char			*name = domain;
	uint64_t			 limit, h = hashtab_hash_caseless(domain);
	char				 key[258];
	int				 rc;

	if ((qd = hashtab_find(q->domains, h, quota_admit_domain_eq,
	    domain)) != NULL) {
		*out = qd->unit;
		return 0;
	}
	*out = NULL;
	if ((p = conf_provider_of(q->conf, domain)) == NULL &&
	    (rc = quota_admit_by_mx(q, t, domain, &p, cause)) < 0)
		return rc;
	qd = xcalloc(1, sizeof *qd);
	snprintf(qd->name, sizeof qd->name, "%s", domain);
	hashtab_add(q->domains, h, qd);
	if (p != NULL) {
		name = p->name;
		limit = p->daily_limit;
	} else {
		cd = conf_domain_find(q->conf, domain);
		limit = cd != NULL ? cd->daily_limit : 0;
	}
	if (limit == 0 && conf_warmup_for(q->conf, name) == NULL)
		return 0;
	snprintf(key, sizeof key, "+%s", name);
	for (size_t i = 0; key[i] != '\0'; i++)
		key[i] = (char)tolower((unsigned char)key[i]);
	h = hashtab_hash(key, strlen(key));
	if ((u = hashtab_find(q->units, h, quota_admit_unit_eq, key)) == NULL) {
		u = xcalloc(1, sizeof *u);
		snprintf(u->name, sizeof u->name, "%s", key);
		u->daily_limit = limit;
		u->warmup = conf_warmup_for(q->conf, name);
		hashtab_add(q->units, h, u);
	}
	qd->unit = u;
	*out = u;
	return 0;
}

/* A unit's reservations and limits of each day, from the store. */
static int
quota_admit_load(struct quota_admit *q, struct store_txn *t,
    struct qa_unit *u, char **cause)
{
	struct warmup_status	 w;
	uint64_t		 sent;
	unsigned		 sent_days = 0;
	size_t			 i;
	int			 rc;

	if (u->loaded)
		return 0;
	for (i = 0; i < QUOTA_ADMIT_DAYS; i++)
		if ((rc = store_quota_get(t, u->name, q->days[i].date,
		    &u->used[i], cause)) < 0)
			return rc;
	/* Today, what was sent may be more than was reserved. */
	if ((rc = store_quota_get(t, u->name + 1, q->days[0].date, &sent,
	    cause)) < 0)
		return rc;
	if (sent > u->used[0])
		u->used[0] = sent;
	if (u->warmup != NULL && (rc = store_quota_days(t, u->name + 1,
	    u->warmup->start, q->days[0].date, &sent_days, cause)) < 0)
		return rc;
	for (i = 0; i < QUOTA_ADMIT_DAYS; i++) {
		if (u->warmup != NULL)
			warmup_at(u->warmup->volumes, u->warmup->nvolumes,
			    u->warmup->start, q->days[i].date,
			    sent_days + (unsigned)i, &w);
		u->limit[i] = quota_limit(u->daily_limit, u->warmup != NULL ?
		    &w : NULL);
	}
	u->loaded = 1;
	return 0;
}

int
quota_admit_reserve(struct quota_admit *q, struct store_txn *t,
    const char *domain, int64_t expires, struct policy_decision *d,
    struct store_job *job, char **cause)
{
	struct qa_unit	*u;
	size_t		 first = 0, n;
	int		 rc, i;

	job->qday = 0;
	job->qunit[0] = '\0';
	if (q == NULL)
		return 0;
	if ((rc = quota_admit_unit(q, t, domain, &u, cause)) < 0)
		return rc;
	if (u == NULL)
		return 0;
	if ((rc = quota_admit_load(q, t, u, cause)) < 0)
		return rc;
	while (first < QUOTA_ADMIT_DAYS && q->days[first].end <= d->due)
		first++;
	/* Beyond the days reckoned here, the drain holds each day alone. */
	if (first == QUOTA_ADMIT_DAYS)
		return 0;
	/* Days that begin before the campaign expires. */
	for (n = first; n < QUOTA_ADMIT_DAYS && q->days[n].start < expires;
	    n++)
		;
	if (first >= n || (i = quota_first_room(u->used + first, u->limit +
	    first, n - first)) < 0)
		return 1;
	if (i > 0) {
		d->due = q->days[first + (size_t)i].start;
		d->verdict = POLICY_DEFER;
	}
	u->used[first + (size_t)i]++;
	u->added[first + (size_t)i]++;
	job->qday = q->days[first + (size_t)i].date;
	snprintf(job->qunit, sizeof job->qunit, "%s", u->name + 1);
	return 0;
}

/* The quota record of a unit's reservations: "+UNIT". */
static void
quota_admit_key(const struct store_job *job, char *key, size_t keysz)
{
	snprintf(key, keysz, "+%s", job->qunit);
}

int
quota_admit_release(struct store_txn *t, struct store_job *job, char **cause)
{
	char	 key[sizeof job->qunit + 1];
	int	 rc;

	if (job->qday == 0 || job->qunit[0] == '\0')
		return 0;
	quota_admit_key(job, key, sizeof key);
	if ((rc = store_quota_sub(t, key, job->qday, 1, cause)) < 0)
		return rc;
	job->qday = 0;
	job->qunit[0] = '\0';
	return 0;
}

int
quota_admit_hold(struct store_txn *t, const struct store_job *job,
    char **cause)
{
	char	 key[sizeof job->qunit + 1];

	if (job->qday == 0 || job->qunit[0] == '\0')
		return 0;
	quota_admit_key(job, key, sizeof key);
	return store_quota_add(t, key, job->qday, 1, cause);
}

void
quota_admit_unplaced(const struct quota_admit *q,
    struct quota_admit_unplaced *out)
{
	size_t	 i;

	out->n = 0;
	for (i = 0; q != NULL && i < q->unplaced.n; i++)
		memcpy(out->name[out->n++], q->unplaced.name[i],
		    sizeof out->name[0]);
}

int
quota_admit_flush(struct quota_admit *q, struct store_txn *t, char **cause)
{
	struct qa_unit	*u;
	size_t		 pos = 0, i;
	int		 rc;

	if (q == NULL)
		return 0;
	while ((u = hashtab_next(q->units, &pos)) != NULL)
		for (i = 0; i < QUOTA_ADMIT_DAYS; i++)
			if (u->added[i] > 0 && (rc = store_quota_add(t, u->name,
			    q->days[i].date, u->added[i], cause)) < 0)
				return rc;
	return 0;
}
