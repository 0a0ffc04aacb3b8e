/*
 * drain_units.c: the drain's pacing units.
 *
 * The drain paces *units*: a provider group ([provider NAME]: its listed
 * domains, and the domains whose MX hosts end in one of its suffixes,
 * found with c-ares on the loop, daemon/mx.c) or a recipient domain on
 * its own.  Rate, concurrency, the daily quota (drain_quota.c) and a
 * warm-up ramp apply to a unit as a whole; shaping actions
 * (drain_shape.c) to a unit or to everything.  A recipient domain
 * (struct rdom) points to its unit; units are kept while they have
 * anything to remember.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "mx.h"
#include "quota_admit.h"
#include "util.h"

#define UNITS_MX_MIN_TTL	60	/* s an MX answer is kept, at least */
#define UNITS_MX_MAX_TTL	86400
#define UNITS_MX_RETRY		300	/* s before a failed lookup is redone */

static void	drain_units_mx_answer(void *, const char *, const char **,
		    size_t, int64_t, const char *);

/*
 * An MX placement on its way to the store, where admission reads it
 * (lib/quota_admit.c) to reserve the group's quota for the domain.
 */
struct units_mx_write {
	struct wjob		 w;
	char			 domain[256];
	char			 group[256];	/* "": on its own */
	int64_t			 until;
	char			*cause;
};

/* Is the unit `item` the one named by `key` (a struct dom template)? */
static int
drain_units_eq(const void *item, const void *key)
{
	const struct dom	*a = item, *b = key;

	return a->group == b->group && (a->parent != NULL) == (b->parent !=
	    NULL) && strcasecmp(a->name, b->name) == 0;
}

static int
drain_units_rdom_eq(const void *item, const void *key)
{
	return strcasecmp(((const struct rdom *)item)->name, key) == 0;
}

/* A unit's configured rate, concurrency, daily limit and ramp. */
static void
drain_units_configure(struct drain *d, struct dom *u)
{
	const struct conf		*c = d->md->conf;
	const struct conf_provider	*p = NULL;
	const struct conf_domain	*cd;
	size_t				 i;

	/* A domain shaped apart has only its actions and its group's. */
	if (u->parent != NULL) {
		memset(&u->rate, 0, sizeof u->rate);
		u->conns = 0;
		u->daily_limit = 0;
		u->warmup = NULL;
		u->tracked = 0;
		u->day_known = 0;
		return;
	}
	for (i = 0; u->group && i < c->nproviders; i++)
		if (strcmp(c->providers[i].name, u->name) == 0)
			p = &c->providers[i];
	if (p != NULL) {
		u->rate = p->rate;
		u->conns = p->concurrency;
		u->daily_limit = p->daily_limit;
	} else {
		cd = conf_domain_find(c, u->name);
		u->rate = conf_domain_rate(c, u->name);
		u->conns = cd != NULL ? cd->concurrency : 0;
		u->daily_limit = cd != NULL ? cd->daily_limit : 0;
	}
	u->warmup = conf_warmup_for(c, u->name);
	u->tracked = u->daily_limit != 0 || u->warmup != NULL;
	u->day_known = 0;
}

/*
 * The unit of that name, made with its configuration if need be; with
 * `parent`, the line of a domain of that group shaped apart.
 */
static struct dom *
drain_units_get(struct drain *d, const char *name, int group,
    struct dom *parent)
{
	struct dom	 key, *u;
	uint64_t	 h = hashtab_hash_caseless(name);
	size_t		 i;

	snprintf(key.name, sizeof key.name, "%s", name);
	key.group = group;
	key.parent = parent;
	if ((u = hashtab_find(d->doms, h, drain_units_eq, &key)) != NULL) {
		if (parent != NULL && u->parent != parent) {
			/* Its domain moved to another group meanwhile. */
			u->parent = parent;
			u->s.parent = &parent->s;
		}
		return u;
	}
	u = xcalloc(1, sizeof *u);
	TAILQ_INIT(&u->staged);
	snprintf(u->name, sizeof u->name, "%s", name);
	for (i = 0; u->name[i] != '\0'; i++)
		u->name[i] = (char)tolower((unsigned char)u->name[i]);
	u->group = group;
	u->parent = parent;
	drain_units_configure(d, u);
	schedule_dom_init(&u->s, &u->rate, u->conns);
	u->s.parent = parent != NULL ? &parent->s : NULL;
	hashtab_add(d->doms, h, u);
	return u;
}

/* The unit that counts a unit's sends against a quota: its group's. */
struct dom *
drain_units_quota(struct dom *u)
{
	return u->parent != NULL ? u->parent : u;
}

/* The line of a group's domain shaped apart, while an action runs on it. */
static struct dom *
drain_units_apart(struct drain *d, const char *domain, struct dom *group)
{
	struct dom	 key, *u;

	if (!group->group)
		return NULL;
	snprintf(key.name, sizeof key.name, "%s", domain);
	key.group = 0;
	key.parent = group;
	u = hashtab_find(d->doms, hashtab_hash_caseless(domain),
	    drain_units_eq, &key);
	return u != NULL && u->parent == group && u->nactions > 0 ? u : NULL;
}

/* Place a recipient domain in `u`, or in its own line of it if shaped. */
static void
drain_units_place(struct drain *d, struct rdom *rd, struct dom *u)
{
	struct dom	*apart = drain_units_apart(d, rd->name, u);

	rd->unit = apart != NULL ? apart : u;
	rd->unit->nrdoms++;
}

static struct rdom *
drain_units_rdom(struct drain *d, const char *name)
{
	return hashtab_find(d->rep.rdoms, hashtab_hash_caseless(name),
	    drain_units_rdom_eq, name);
}

/*
 * A scope=domain action on a domain of `group`: the domain gets a line
 * of its own, paced by its actions and the group's limits together,
 * while the group's other domains keep the group's pace.  Its jobs
 * read ahead go back to be read into the new line.
 */
struct dom *
drain_units_split(struct drain *d, const char *domain, struct dom *group)
{
	struct rdom	*rd;
	struct dom	*u;

	u = drain_units_get(d, domain, 0, group);
	if ((rd = drain_units_rdom(d, domain)) != NULL && rd->unit == group) {
		group->nrdoms--;
		rd->unit = u;
		u->nrdoms++;
		drain_sched_unstage(d);
	}
	return u;
}

/* Its last action ended: a domain shaped apart goes back to its group. */
void
drain_units_merge(struct drain *d, struct dom *u)
{
	struct rdom	*rd;

	if (u->parent == NULL || u->nactions > 0)
		return;
	if ((rd = drain_units_rdom(d, u->name)) != NULL && rd->unit == u) {
		u->nrdoms--;
		rd->unit = u->parent;
		rd->unit->nrdoms++;
	}
	drain_sched_unstage(d);
	drain_sched_soon(d);
}

/* Does any provider place domains by their MX hosts? */
static int
drain_units_wants_mx(const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->nproviders; i++)
		if (c->providers[i].mx.n > 0)
			return 1;
	return 0;
}

/* Ask for a domain's MX hosts; it is held until they come (or fail). */
static void
drain_units_resolve(struct drain *d, struct rdom *rd, int hold)
{
	rd->mx = RDOM_RESOLVING;
	if (hold) {
		rd->unit->resolving++;
		drain_shape_apply(d, rd->unit);
	}
	d->rep.mx_lookups++;
	mx_lookup(d->rep.mx, rd->name);
}

/*
 * The unit that paces recipient domain `name` (any case): its provider
 * by list, by an MX answer not yet expired, or the domain itself.
 */
struct dom *
drain_units_of(struct drain *d, const char *name, int64_t now_s)
{
	const struct conf_provider	*p;
	uint64_t			 h = hashtab_hash_caseless(name);
	struct rdom			*rd;

	if ((rd = drain_units_rdom(d, name)) != NULL) {
		/* An expired answer is asked again; the old one serves. */
		if (rd->mx == RDOM_RESOLVED && now_s >= rd->mx_until &&
		    d->rep.use_mx)
			drain_units_resolve(d, rd, 0);
		return rd->unit;
	}
	rd = xcalloc(1, sizeof *rd);
	snprintf(rd->name, sizeof rd->name, "%s", name);
	for (size_t i = 0; rd->name[i] != '\0'; i++)
		rd->name[i] = (char)tolower((unsigned char)rd->name[i]);
	p = conf_provider_of(d->md->conf, rd->name);
	drain_units_place(d, rd, drain_units_get(d, p != NULL ? p->name :
	    rd->name, p != NULL, NULL));
	rd->mx = RDOM_LISTED;
	hashtab_add(d->rep.rdoms, h, rd);
	if (p == NULL && d->rep.use_mx)
		drain_units_resolve(d, rd, 1);
	return rd->unit;
}

/* On the writer thread: record (or forget) a domain's placement. */
static void
drain_units_mx_write_run(struct wjob *w, struct store *store)
{
	struct units_mx_write	*m = (struct units_mx_write *)w;
	struct store_txn	*t = NULL;
	int			 rc;

	if (store_begin(store, 1, &t, &m->cause) < 0)
		return;
	if (m->group[0] != '\0')
		rc = store_mx_put(t, m->domain, m->group, m->until, &m->cause);
	else
		rc = store_mx_del(t, m->domain, &m->cause);
	if (rc < 0) {
		store_abort(t);
		return;
	}
	store_commit(t, &m->cause);
}

/* On the loop: a placement that could not be written is only logged. */
static void
drain_units_mx_write_done(struct wjob *w)
{
	struct units_mx_write	*m = (struct units_mx_write *)w;

	if (m->cause != NULL)
		log_warnx("mx: domain=%s: cannot record its placement (%s); "
		    "admission counts it on its own", m->domain, m->cause);
	free(m->cause);
	free(m);
}

/* Record where an answer placed a domain (group NULL: on its own). */
static void
drain_units_mx_record(struct drain *d, const char *domain, const char *group,
    int64_t until)
{
	struct units_mx_write	*m = xcalloc(1, sizeof *m);

	m->w.run = drain_units_mx_write_run;
	m->w.done = drain_units_mx_write_done;
	snprintf(m->domain, sizeof m->domain, "%s", domain);
	snprintf(m->group, sizeof m->group, "%s", group != NULL ? group : "");
	m->until = until;
	writer_submit(d->md->writer, &m->w);
}

/*
 * Domains an admission counted on their own because no MX answer had
 * placed them yet: look them up now (their jobs may be due only
 * later), so the next admission finds their group in the store.
 */
void
drain_units_prefetch(struct drain *d, const struct quota_admit_unplaced *u)
{
	int64_t	 now_s = mannersd_now();
	size_t	 i;

	if (!d->rep.use_mx)
		return;
	for (i = 0; i < u->n; i++)
		drain_units_of(d, u->name[i], now_s);
}

/* An MX answer: the domain joins a provider, or stays on its own. */
static void
drain_units_mx_answer(void *arg, const char *domain, const char **hosts,
    size_t n, int64_t ttl, const char *error)
{
	struct drain			*d = arg;
	const struct conf_provider	*p = NULL;
	struct rdom			*rd;
	struct dom			*old;
	int64_t				 now = mannersd_now();
	size_t				 i;

	rd = drain_units_rdom(d, domain);
	if (rd == NULL || rd->mx != RDOM_RESOLVING)
		return;
	old = rd->unit;
	for (i = 0; i < n && p == NULL; i++)
		if ((p = conf_provider_by_mx(d->md->conf, hosts[i])) != NULL)
			snprintf(rd->via, sizeof rd->via, "%s", hosts[i]);
	rd->mx = RDOM_RESOLVED;
	if (error != NULL) {
		d->rep.mx_failures++;
		rd->mx_until = now + UNITS_MX_RETRY;
		log_info("mx: domain=%s: lookup failed (%s); it is paced on its "
		    "own, asked again in %d s", domain, error, UNITS_MX_RETRY);
	} else
		rd->mx_until = now + (ttl < UNITS_MX_MIN_TTL ? UNITS_MX_MIN_TTL :
		    ttl > UNITS_MX_MAX_TTL ? UNITS_MX_MAX_TTL : ttl);
	drain_units_mx_record(d, rd->name, p != NULL ? p->name : NULL,
	    rd->mx_until);
	if (old->resolving > 0 && !old->group && strcmp(old->name,
	    rd->name) == 0) {
		old->resolving--;
		drain_shape_apply(d, old);
	}
	if (p != NULL && drain_units_quota(old) != drain_units_get(d, p->name,
	    1, NULL)) {
		log_info("mx: domain=%s joins provider=%s (MX %s, for %" PRId64
		    " s)", domain, p->name, rd->via, rd->mx_until - now);
		old->nrdoms--;
		drain_units_place(d, rd, drain_units_get(d, p->name, 1, NULL));
		/* Its jobs read ahead sit in its old line: read them again. */
		drain_sched_unstage(d);
	} else if (p == NULL && drain_units_quota(old)->group) {
		/* Its MX moved away from the provider. */
		log_info("mx: domain=%s leaves provider=%s", domain,
		    drain_units_quota(old)->name);
		old->nrdoms--;
		rd->unit = drain_units_get(d, rd->name, 0, NULL);
		rd->unit->nrdoms++;
		rd->via[0] = '\0';
		drain_sched_unstage(d);
	}
	drain_sched_soon(d);
}

/* Units for every configured provider and quota, so status lists them. */
static void
drain_units_known(struct drain *d)
{
	const struct conf	*c = d->md->conf;
	size_t			 i, j;

	for (i = 0; i < c->nproviders; i++)
		drain_units_get(d, c->providers[i].name, 1, NULL);
	for (i = 0; i < c->ndomains; i++)
		if (c->domains[i].daily_limit != 0 &&
		    conf_provider_of(c, c->domains[i].name) == NULL)
			drain_units_get(d, c->domains[i].name, 0, NULL);
	for (i = 0; i < c->nwarmups; i++)
		for (j = 0; j < c->warmups[i].applies.n; j++)
			if (conf_provider_of(c, c->warmups[i].applies.v[j]) ==
			    NULL)
				drain_units_get(d, c->warmups[i].applies.v[j],
				    0, NULL);
}

/* The quota clock and the resolver the configuration asks for. */
static int
drain_units_setup(struct drain *d, char **cause)
{
	const struct conf	*c = d->md->conf;
	struct quota_clock	*qc;

	if ((qc = quota_clock_new(c->day_zone, c->day_start, cause)) == NULL)
		return -1;
	quota_clock_free(d->rep.clock);
	d->rep.clock = qc;
	d->rep.use_mx = drain_units_wants_mx(c);
	if (d->rep.mx != NULL && strcmp(c->dns_servers != NULL ?
	    c->dns_servers : "", d->rep.dns != NULL ? d->rep.dns : "") != 0)
		log_warnx("reload: [dns] servers changed; restart mannersd to "
		    "apply it (MX lookups go to %s meanwhile)", d->rep.dns !=
		    NULL ? d->rep.dns : "the system's name servers");
	if (d->rep.use_mx && d->rep.mx == NULL) {
		if ((d->rep.mx = mx_new(d->md->base, c->dns_servers,
		    drain_units_mx_answer, d, cause)) == NULL)
			return -1;
		d->rep.dns = c->dns_servers != NULL ? xstrdup(c->dns_servers) :
		    NULL;
	}
	return 0;
}

int
drain_units_init(struct drain *d, char **cause)
{
	d->rep.rdoms = hashtab_new();
	if (drain_units_setup(d, cause) == -1 ||
	    drain_shape_load(d, cause) == -1)
		return -1;
	drain_units_known(d);
	return 0;
}

/*
 * A reloaded configuration: every unit takes its new settings, domains
 * are placed afresh (MX answers asked again), rules are read again.
 */
int
drain_units_reconfigure(struct drain *d, char **cause)
{
	struct rdom	*rd;
	struct dom	*u;
	size_t		 pos = 0;

	if (drain_units_setup(d, cause) == -1)
		return -1;
	if (drain_shape_load(d, cause) == -1)
		log_warnx("shaping: %s; replies shape nothing until it is "
		    "fixed", *cause);
	drain_sched_unstage(d);
	while ((rd = hashtab_next(d->rep.rdoms, &pos)) != NULL) {
		/* A lookup on its way is placed by the new providers. */
		if (rd->mx == RDOM_RESOLVING)
			continue;
		rd->unit->nrdoms--;
		hashtab_remove_current(d->rep.rdoms, &pos);
		free(rd);
	}
	pos = 0;
	while ((u = hashtab_next(d->doms, &pos)) != NULL) {
		drain_units_configure(d, u);
		pace_reconfigure(&u->s.pace, &u->rate, 1);
		drain_shape_apply(d, u);
	}
	drain_units_known(d);
	return 0;
}

/*
 * Forget recipient domains whose placement may be asked again, and
 * units with nothing to remember (schedule_dom_idle(), no action, no
 * domain, no quota); returns how many units.
 */
size_t
drain_units_tidy(struct drain *d)
{
	struct instant	 now = drain_clock();
	int64_t		 now_s = mannersd_now();
	struct rdom	*rd;
	struct dom	*u;
	size_t		 pos = 0, n = 0;

	while ((rd = hashtab_next(d->rep.rdoms, &pos)) != NULL) {
		if (rd->mx == RDOM_RESOLVING || (rd->mx == RDOM_RESOLVED &&
		    now_s < rd->mx_until))
			continue;
		rd->unit->nrdoms--;
		hashtab_remove_current(d->rep.rdoms, &pos);
		free(rd);
	}
	/*
	 * Outcomes waiting for their commit still point at their units
	 * (the quota they count in is named at the flush): keep them all.
	 */
	if (d->ndone > 0)
		return 0;
	pos = 0;
	while ((u = hashtab_next(d->doms, &pos)) != NULL) {
		if (u->nrdoms > 0 || u->nactions > 0 || u->tracked || u->group ||
		    u->resolving > 0 || !schedule_dom_idle(&u->s, now))
			continue;
		hashtab_remove_current(d->doms, &pos);
		free(u);
		n++;
	}
	return n;
}

void
drain_units_free(struct drain *d)
{
	struct rdom	*rd;
	size_t		 pos = 0;

	mx_free(d->rep.mx);
	d->rep.mx = NULL;
	free(d->rep.dns);
	if (d->rep.rdoms != NULL) {
		while ((rd = hashtab_next(d->rep.rdoms, &pos)) != NULL)
			free(rd);
		hashtab_free(d->rep.rdoms);
	}
	drain_shape_free(d);
	quota_clock_free(d->rep.clock);
}
