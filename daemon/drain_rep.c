/*
 * drain_rep.c: the sender's reputation, on the drain's side.
 *
 * The drain paces *units*: a provider group ([provider NAME]: its listed
 * domains, and the domains whose MX hosts end in one of its suffixes,
 * found with c-ares) or a recipient domain on its own.  Rate,
 * concurrency, the daily quota and a warm-up ramp apply to a unit as a
 * whole.  A unit over today's quota has its due jobs moved, in queue
 * order, to the start of the next quota day.  Every relay reply goes
 * through the shaping rules (lib/shaping.c); an action that fires slows,
 * narrows or suspends its unit (or every unit, scope all) until it ends
 * by itself.  The pure decisions are lib/quota.c's, lib/warmup.c's and
 * lib/shaping.c's; here they meet the loop, the store and the log.
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
#include "util.h"

#define REP_MX_MIN_TTL		60	/* s an MX answer is kept, at least */
#define REP_MX_MAX_TTL		86400
#define REP_MX_RETRY		300	/* s before a failed lookup is redone */

/* Where the shipped rules are looked for when [shaping] rules is unset. */
static const char *rep_default_rules[] = {
	"/etc/manners/shaping.rules",
	"conf/shaping.rules"
};

static void	drain_rep_mx_answer(void *, const char *, const char **,
		    size_t, int64_t, const char *);
static void	drain_rep_apply(struct drain *, struct dom *);

/* Is the unit `item` the one named by `key` (a struct dom template)? */
static int
drain_rep_unit_eq(const void *item, const void *key)
{
	const struct dom	*a = item, *b = key;

	return a->group == b->group && strcasecmp(a->name, b->name) == 0;
}

static int
drain_rep_rdom_eq(const void *item, const void *key)
{
	return strcasecmp(((const struct rdom *)item)->name, key) == 0;
}

/* A unit's configured rate, concurrency, daily limit and ramp. */
static void
drain_rep_configure(struct drain *d, struct dom *u)
{
	const struct conf		*c = d->md->conf;
	const struct conf_provider	*p = NULL;
	const struct conf_domain	*cd;
	size_t				 i;

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

/* The unit of that name, made with its configuration if need be. */
static struct dom *
drain_rep_unit(struct drain *d, const char *name, int group)
{
	struct dom	 key, *u;
	uint64_t	 h = hashtab_hash_caseless(name);
	size_t		 i;

	snprintf(key.name, sizeof key.name, "%s", name);
	key.group = group;
	if ((u = hashtab_find(d->doms, h, drain_rep_unit_eq, &key)) != NULL)
		return u;
	u = xcalloc(1, sizeof *u);
	TAILQ_INIT(&u->staged);
	snprintf(u->name, sizeof u->name, "%s", name);
	for (i = 0; u->name[i] != '\0'; i++)
		u->name[i] = (char)tolower((unsigned char)u->name[i]);
	u->group = group;
	drain_rep_configure(d, u);
	schedule_dom_init(&u->s, &u->rate, u->conns);
	hashtab_add(d->doms, h, u);
	return u;
}

/* Does any provider place domains by their MX hosts? */
static int
drain_rep_wants_mx(const struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->nproviders; i++)
		if (c->providers[i].mx.n > 0)
			return 1;
	return 0;
}

/* Ask for a domain's MX hosts; it is held until they come (or fail). */
static void
drain_rep_resolve(struct drain *d, struct rdom *rd, int hold)
{
	rd->mx = RDOM_RESOLVING;
	if (hold) {
		rd->unit->resolving++;
		drain_rep_apply(d, rd->unit);
	}
	d->rep.mx_lookups++;
	mx_lookup(d->rep.mx, rd->name);
}

/*
 * The unit that paces recipient domain `name` (any case): its provider
 * by list, by an MX answer not yet expired, or the domain itself.
 */
struct dom *
drain_rep_unit_of(struct drain *d, const char *name, int64_t now_s)
{
	const struct conf_provider	*p;
	uint64_t			 h = hashtab_hash_caseless(name);
	struct rdom			*rd;

	if ((rd = hashtab_find(d->rep.rdoms, h, drain_rep_rdom_eq, name)) !=
	    NULL) {
		/* An expired answer is asked again; the old one serves. */
		if (rd->mx == RDOM_RESOLVED && now_s >= rd->mx_until &&
		    d->rep.use_mx)
			drain_rep_resolve(d, rd, 0);
		return rd->unit;
	}
	rd = xcalloc(1, sizeof *rd);
	snprintf(rd->name, sizeof rd->name, "%s", name);
	for (size_t i = 0; rd->name[i] != '\0'; i++)
		rd->name[i] = (char)tolower((unsigned char)rd->name[i]);
	p = conf_provider_of(d->md->conf, rd->name);
	rd->unit = drain_rep_unit(d, p != NULL ? p->name : rd->name,
	    p != NULL);
	rd->unit->nrdoms++;
	rd->mx = RDOM_LISTED;
	hashtab_add(d->rep.rdoms, h, rd);
	if (p == NULL && d->rep.use_mx)
		drain_rep_resolve(d, rd, 1);
	return rd->unit;
}

/* An MX answer: the domain joins a provider, or stays on its own. */
static void
drain_rep_mx_answer(void *arg, const char *domain, const char **hosts,
    size_t n, int64_t ttl, const char *error)
{
	struct drain			*d = arg;
	const struct conf_provider	*p = NULL;
	struct rdom			*rd;
	struct dom			*old;
	int64_t				 now = mannersd_now();
	size_t				 i;

	rd = hashtab_find(d->rep.rdoms, hashtab_hash_caseless(domain),
	    drain_rep_rdom_eq, domain);
	if (rd == NULL || rd->mx != RDOM_RESOLVING)
		return;
	old = rd->unit;
	for (i = 0; i < n && p == NULL; i++)
		if ((p = conf_provider_by_mx(d->md->conf, hosts[i])) != NULL)
			snprintf(rd->via, sizeof rd->via, "%s", hosts[i]);
	rd->mx = RDOM_RESOLVED;
	if (error != NULL) {
		d->rep.mx_failures++;
		rd->mx_until = now + REP_MX_RETRY;
		log_info("mx: domain=%s: lookup failed (%s); it is paced on its "
		    "own, asked again in %d s", domain, error, REP_MX_RETRY);
	} else
		rd->mx_until = now + (ttl < REP_MX_MIN_TTL ? REP_MX_MIN_TTL :
		    ttl > REP_MX_MAX_TTL ? REP_MX_MAX_TTL : ttl);
	if (old->resolving > 0 && !old->group && strcmp(old->name,
	    rd->name) == 0) {
		old->resolving--;
		drain_rep_apply(d, old);
	}
	if (p != NULL && !(old->group && strcmp(old->name, p->name) == 0)) {
		log_info("mx: domain=%s joins provider=%s (MX %s, for %" PRId64
		    " s)", domain, p->name, rd->via, rd->mx_until - now);
		old->nrdoms--;
		rd->unit = drain_rep_unit(d, p->name, 1);
		rd->unit->nrdoms++;
		/* Its jobs read ahead sit in its old line: read them again. */
		drain_sched_unstage(d);
	} else if (p == NULL && old->group) {
		/* Its MX moved away from the provider. */
		log_info("mx: domain=%s leaves provider=%s", domain, old->name);
		old->nrdoms--;
		rd->unit = drain_rep_unit(d, rd->name, 0);
		rd->unit->nrdoms++;
		rd->via[0] = '\0';
		drain_sched_unstage(d);
	}
	drain_sched_soon(d);
}

/* The configured rules, the shipped ones, or none ("none"). */
static int
drain_rep_load_rules(struct drain *d, char **cause)
{
	const char		*path = d->md->conf->shaping_rules;
	struct shaping_rules	*rs = NULL;
	size_t			 i;

	if (path == NULL) {
		for (i = 0; i < nitems(rep_default_rules) && path == NULL; i++)
			if (access(rep_default_rules[i], R_OK) == 0)
				path = rep_default_rules[i];
		if (path == NULL)
			log_info("shaping: no rule file (%s); replies shape "
			    "nothing", rep_default_rules[0]);
	}
	if (path != NULL && strcmp(path, "none") != 0 &&
	    (rs = shaping_load(path, cause)) == NULL)
		return -1;
	for (i = 0; rs != NULL && i < shaping_count(rs); i++) {
		const struct shaping_rule *r = shaping_rule(rs, i);

		if (r->scope == SHAPING_CAMPAIGN && r->kind != SHAPING_SUSPEND) {
			set_cause(cause, "%s:%u: rule %s: scope=campaign takes "
			    "action=suspend only (a campaign has no cadence of "
			    "its own to slow)", path, r->line, r->name);
			shaping_rules_free(rs);
			return -1;
		}
	}
	/* Running actions end with the rules they came from. */
	while (d->rep.nactions > 0) {
		struct rep_action *a = &d->rep.actions[--d->rep.nactions];

		log_info("shaping: rule=%s on %s=%s ends (rules reloaded)",
		    a->a.rule->name, shaping_scope_name(a->a.rule->scope),
		    a->a.key);
		if (a->unit != NULL)
			a->unit->nactions--;
	}
	d->rep.ncampaign = 0;
	shaping_state_free(d->rep.state);
	shaping_rules_free(d->rep.rules);
	d->rep.rules = rs;
	d->rep.state = rs != NULL ? shaping_state_new(rs) : NULL;
	d->rep.rules_2xx = 0;
	for (i = 0; rs != NULL && i < shaping_count(rs); i++) {
		const struct shaping_rule *r = shaping_rule(rs, i);

		if (r->code == 0 || r->code == 2 || (r->code >= 200 &&
		    r->code < 300))
			d->rep.rules_2xx = 1;
	}
	if (rs != NULL)
		log_info("shaping: %zu rules from %s", shaping_count(rs), path);
	return 0;
}

/* Units for every configured provider and quota, so status lists them. */
static void
drain_rep_known_units(struct drain *d)
{
	const struct conf	*c = d->md->conf;
	size_t			 i, j;

	for (i = 0; i < c->nproviders; i++)
		drain_rep_unit(d, c->providers[i].name, 1);
	for (i = 0; i < c->ndomains; i++)
		if (c->domains[i].daily_limit != 0 &&
		    conf_provider_of(c, c->domains[i].name) == NULL)
			drain_rep_unit(d, c->domains[i].name, 0);
	for (i = 0; i < c->nwarmups; i++)
		for (j = 0; j < c->warmups[i].applies.n; j++)
			if (conf_provider_of(c, c->warmups[i].applies.v[j]) ==
			    NULL)
				drain_rep_unit(d, c->warmups[i].applies.v[j],
				    0);
}

/* The quota clock and the resolver the configuration asks for. */
static int
drain_rep_setup(struct drain *d, char **cause)
{
	const struct conf	*c = d->md->conf;
	struct quota_clock	*qc;

	if ((qc = quota_clock_new(c->day_zone, c->day_start, cause)) == NULL)
		return -1;
	quota_clock_free(d->rep.clock);
	d->rep.clock = qc;
	d->rep.use_mx = drain_rep_wants_mx(c);
	if (d->rep.mx != NULL && strcmp(c->dns_servers != NULL ?
	    c->dns_servers : "", d->rep.dns != NULL ? d->rep.dns : "") != 0)
		log_warnx("reload: [dns] servers changed; restart mannersd to "
		    "apply it (MX lookups go to %s meanwhile)", d->rep.dns !=
		    NULL ? d->rep.dns : "the system's name servers");
	if (d->rep.use_mx && d->rep.mx == NULL) {
		if ((d->rep.mx = mx_new(d->md->base, c->dns_servers,
		    drain_rep_mx_answer, d, cause)) == NULL)
			return -1;
		d->rep.dns = c->dns_servers != NULL ? xstrdup(c->dns_servers) :
		    NULL;
	}
	return 0;
}

int
drain_rep_init(struct drain *d, char **cause)
{
	d->rep.rdoms = hashtab_new();
	if (drain_rep_setup(d, cause) == -1 ||
	    drain_rep_load_rules(d, cause) == -1)
		return -1;
	drain_rep_known_units(d);
	return 0;
}

/*
 * A reloaded configuration: every unit takes its new settings, domains
 * are placed afresh (MX answers asked again), rules are read again.
 */
int
drain_rep_reconfigure(struct drain *d, char **cause)
{
	struct rdom	*rd;
	struct dom	*u;
	size_t		 pos = 0;

	if (drain_rep_setup(d, cause) == -1)
		return -1;
	if (drain_rep_load_rules(d, cause) == -1)
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
		drain_rep_configure(d, u);
		pace_reconfigure(&u->s.pace, &u->rate, 1);
		drain_rep_apply(d, u);
	}
	drain_rep_known_units(d);
	return 0;
}

/*
 * Make sure the unit knows the quota day holding now_s: its count from
 * the store (what was sent and committed), the ramp's day, the limit.
 */
int
drain_rep_check_day(struct drain *d, struct store_txn *t, struct dom *u,
    int64_t now_s)
{
	struct quota_day	 day;
	uint64_t		 stored;
	unsigned		 sent_days = 0;
	char			*cause = NULL;

	if (!u->tracked || (u->day_known && now_s < u->day.end &&
	    now_s >= u->day.start))
		return 0;
	quota_day_of(d->rep.clock, now_s, &day);
	if (store_quota_get(t, u->name, day.date, &stored, &cause) < 0 ||
	    (u->warmup != NULL && store_quota_days(t, u->name,
	    u->warmup->start, day.date, &sent_days, &cause) < 0)) {
		log_warnx("drain: cannot read the quota of %s: %s", u->name,
		    cause);
		free(cause);
		return -1;
	}
	/* The same day again (a reload): keep what is not committed yet. */
	if (!u->day_known || u->day.date != day.date || stored > u->used)
		u->used = stored;
	if (u->day_known && u->day.date != day.date)
		log_info("drain: %s: a new quota day %d begins", u->name,
		    (int)day.date);
	u->day = day;
	u->day_known = 1;
	if (u->warmup != NULL)
		warmup_at(u->warmup->volumes, u->warmup->nvolumes,
		    u->warmup->start, day.date, sent_days, &u->ramp);
	u->limit = quota_limit(u->daily_limit, u->warmup != NULL ? &u->ramp :
	    NULL);
	return 0;
}

/* Has the unit used today's quota? */
int
drain_rep_over_quota(const struct dom *u)
{
	return u->tracked && u->day_known && quota_room(u->limit, u->used, 1)
	    == 0;
}

/* Move the unit's staged jobs, in queue order, to the next quota day. */
void
drain_rep_defer(struct drain *d, struct dom *u)
{
	struct quota_day	 next;
	struct xfer		*x;
	size_t			 n = 0;

	quota_day_of(d->rep.clock, u->day.end, &next);
	while ((x = TAILQ_FIRST(&u->staged)) != NULL) {
		TAILQ_REMOVE(&u->staged, x, entry);
		u->s.staged--;
		d->nstaged--;
		x->defer_to = next.start;
		x->defer_day = next.date;
		drain_commit_finish(d, x, OUTCOME_DEFERRED);
		n++;
	}
	TAILQ_REMOVE(&d->sdoms, u, sentry);
	if (u->deferred == 0 || n > 0)
		log_info("drain: %s used its quota of %" PRIu64 " for %d; %zu "
		    "jobs move to the next day", u->name, u->limit,
		    (int)u->day.date, n);
	u->deferred += n;
}

/* A transfer starts: it counts against its unit's day. */
void
drain_rep_started(struct drain *d, struct xfer *x)
{
	(void)d;
	if (!x->dom->tracked || !x->dom->day_known)
		return;
	x->dom->used++;
	x->qday = x->dom->day.date;
}

/* A transfer ended: one that did not go out gives its count back. */
void
drain_rep_finished(struct drain *d, struct xfer *x, enum xfer_outcome o)
{
	(void)d;
	if (x->qday == 0 || o == OUTCOME_SENT)
		return;
	if (x->dom->day.date == x->qday && x->dom->used > 0)
		x->dom->used--;
	x->qday = 0;
}

/* The earliest end among the running actions. */
static void
drain_rep_next_end(struct drain *d)
{
	size_t	 i;

	d->rep.next_end = INT64_MAX;
	for (i = 0; i < d->rep.nactions; i++)
		if (d->rep.actions[i].a.until < d->rep.next_end)
			d->rep.next_end = d->rep.actions[i].a.until;
}

/*
 * Apply the running actions to a unit (NULL: to the drain as a whole):
 * the slowest rate, the fewest connections, and a suspension; with its
 * MX lookup waiting, a unit is held too.
 */
static void
drain_rep_apply(struct drain *d, struct dom *u)
{
	const struct conf		*c = d->md->conf;
	const struct shaping_rule	*r;
	struct conf_rate		 rate = u != NULL ? u->rate : c->rate;
	unsigned			 conns = u != NULL ? u->conns : 0;
	int				 suspended = 0;
	size_t				 i;

	for (i = 0; i < d->rep.nactions; i++) {
		r = d->rep.actions[i].a.rule;
		if (d->rep.actions[i].unit != u || (u == NULL &&
		    r->scope != SHAPING_ALL))
			continue;
		if (r->kind == SHAPING_SUSPEND)
			suspended = 1;
		else if (r->kind == SHAPING_CONNECTIONS && (conns == 0 ||
		    r->connections < conns))
			conns = r->connections;
		else if (r->kind == SHAPING_SLOW && (rate.count == 0 ||
		    r->rate_per_s < (double)rate.count / (double)rate.per)) {
			/* As a whole number per second, minute or hour. */
			rate.per = r->rate_per_s >= 1 ? 1 : r->rate_per_s *
			    60 >= 1 ? 60 : 3600;
			rate.count = (uint64_t)(r->rate_per_s *
			    (double)rate.per + 0.5);
			if (rate.count == 0)
				rate.count = 1;
		}
	}
	if (u == NULL) {
		pace_reconfigure(&d->pace, &rate, (unsigned)c->burst);
		pace_clamp(&d->pace, drain_clock());
		d->rep.conns = conns;
		d->rep.suspended = suspended;
		return;
	}
	pace_reconfigure(&u->s.pace, &rate, 1);
	pace_clamp(&u->s.pace, drain_clock());
	u->s.limit = conns;
	u->s.blocked = suspended || u->resolving > 0;
}

/* An action in words: "slow to 0.0167/s", "at most 1 connection". */
void
drain_rep_describe(const struct shaping_rule *r, char *buf, size_t bufsz)
{
	switch (r->kind) {
	case SHAPING_SLOW:
		snprintf(buf, bufsz, "slow to %.3g/s", r->rate_per_s);
		return;
	case SHAPING_CONNECTIONS:
		snprintf(buf, bufsz, "at most %u connection%s", r->connections,
		    r->connections == 1 ? "" : "s");
		return;
	case SHAPING_SUSPEND:
		break;
	}
	snprintf(buf, bufsz, "suspend");
}

/*
 * A reply (the relay's, or one a DSN quotes) for a recipient on
 * `domain`, paced by `u`, passes the rules; one that fires starts its
 * action on its scope: the unit, or everything.
 */
static void
drain_rep_shape(struct drain *d, long code, const char *reply,
    const char *domain, struct dom *u, const char *campaign, const char *via)
{
	const struct shaping_rule	*r;
	struct shaping_action		 a;
	struct rep_action		*ra;
	char				 what[64];
	const char			*key;
	int				 rule;

	if ((rule = shaping_match(d->rep.rules, code, reply)) < 0)
		return;
	r = shaping_rule(d->rep.rules, (size_t)rule);
	key = r->scope == SHAPING_DOMAIN ? domain : r->scope == SHAPING_ALL ?
	    "*" : r->scope == SHAPING_CAMPAIGN ? campaign : u->name;
	if (key == NULL || *key == '\0')
		return;
	if (!shaping_hit(d->rep.state, rule, key, reply, mannersd_now(), &a))
		return;
	d->rep.actions = xreallocarray(d->rep.actions, d->rep.nactions + 1,
	    sizeof *d->rep.actions);
	ra = &d->rep.actions[d->rep.nactions++];
	ra->a = a;
	/* A domain's action in a provider paces the provider's unit. */
	ra->unit = r->scope == SHAPING_ALL || r->scope == SHAPING_CAMPAIGN ?
	    NULL : u;
	if (ra->unit != NULL)
		ra->unit->nactions++;
	drain_rep_describe(r, what, sizeof what);
	log_warnx("shaping: rule=%s starts on %s=%s: %s for %" PRId64 " s "
	    "(line %u; %s \"%s\")", r->name, shaping_scope_name(r->scope),
	    a.key, what, a.until - a.since, r->line, via, a.reply);
	drain_rep_next_end(d);
	if (r->scope != SHAPING_CAMPAIGN) {
		drain_rep_apply(d, ra->unit);
		return;
	}
	/* Its jobs read ahead go back; the read skips them meanwhile. */
	d->rep.ncampaign++;
	drain_sched_unstage(d);
}

/* Is a campaign suspended by a running action? */
int
drain_rep_campaign_held(const struct drain *d, const char *campaign)
{
	size_t	 i;

	if (d->rep.ncampaign == 0)
		return 0;
	for (i = 0; i < d->rep.nactions; i++)
		if (d->rep.actions[i].a.rule->scope == SHAPING_CAMPAIGN &&
		    strcmp(d->rep.actions[i].a.key, campaign) == 0)
			return 1;
	return 0;
}

/* Every reply of the relay passes the rules. */
void
drain_rep_reply(struct drain *d, struct xfer *x)
{
	if (d->rep.state == NULL || x->code <= 0 || (x->code < 300 &&
	    !d->rep.rules_2xx))
		return;
	drain_rep_shape(d, x->code, x->reply, addr_domain(x->job.addr),
	    x->dom, x->job.campaign, "reply");
}

/*
 * A delayed or failed DSN for `addr`: the reply its Diagnostic-Code
 * quotes passes the rules as the relay's own would.
 */
void
drain_rep_feedback(struct drain *d, const char *addr, const char *campaign,
    const char *diag)
{
	const char	*reply, *domain;
	long		 code;

	if (d->rep.state == NULL || (code = shaping_dsn_reply(diag,
	    &reply)) == 0 || (domain = addr_domain(addr)) == NULL ||
	    *domain == '\0')
		return;
	drain_rep_shape(d, code, reply, domain, drain_rep_unit_of(d, domain,
	    mannersd_now()), campaign, "DSN");
}

/* Once a second or so: end the actions whose time is up, once each. */
void
drain_rep_tick(struct drain *d, int64_t now_s)
{
	struct rep_action	 a;
	size_t			 i = 0;

	if (d->rep.nactions == 0 || now_s < d->rep.next_end)
		return;
	while (i < d->rep.nactions) {
		if (d->rep.actions[i].a.until > now_s) {
			i++;
			continue;
		}
		a = d->rep.actions[i];
		d->rep.actions[i] = d->rep.actions[--d->rep.nactions];
		log_warnx("shaping: rule=%s on %s=%s ends after %" PRId64 " s",
		    a.a.rule->name, shaping_scope_name(a.a.rule->scope),
		    a.a.key, a.a.until - a.a.since);
		if (a.unit != NULL)
			a.unit->nactions--;
		if (a.a.rule->scope == SHAPING_CAMPAIGN) {
			d->rep.ncampaign--;
			drain_sched_soon(d);
		} else
			drain_rep_apply(d, a.unit);
	}
	drain_rep_next_end(d);
}

/* Connections the drain may use now: [smtp] concurrency, or fewer. */
unsigned
drain_rep_concurrency(const struct drain *d)
{
	unsigned	 c = d->md->conf->concurrency;

	if (d->rep.suspended)
		return 0;
	return d->rep.conns != 0 && d->rep.conns < c ? d->rep.conns : c;
}

/*
 * Forget recipient domains whose placement may be asked again, and
 * units with nothing to remember (schedule_dom_idle(), no action, no
 * domain, no quota); returns how many units.
 */
size_t
drain_rep_tidy(struct drain *d)
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
drain_rep_free(struct drain *d)
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
	free(d->rep.actions);
	shaping_state_free(d->rep.state);
	shaping_rules_free(d->rep.rules);
	quota_clock_free(d->rep.clock);
}
