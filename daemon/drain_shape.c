/*
 * drain_shape.c: reply-driven shaping in the drain.
 *
 * Every relay reply (and the reply a DSN quotes) goes through the rules
 * of lib/shaping.c; an action that fires slows, narrows or suspends its
 * unit, everything (scope all) or a campaign, until it ends by itself.
 * Each start and end is logged once.
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

/* Where the shipped rules are looked for when [shaping] rules is unset. */
static const char *shape_default_rules[] = {
	"/etc/manners/shaping.rules",
	"conf/shaping.rules"
};

/*
 * An action on unit `u` (NULL: none) ended; a domain shaped apart from
 * its group goes back to it with its last.
 */
static void
drain_shape_release(struct drain *d, struct dom *u)
{
	if (u == NULL)
		return;
	u->nactions--;
	drain_units_merge(d, u);
}

/* Forget every campaign's hold; returns whether there was one. */
static int
drain_shape_campaigns_free(struct drain *d)
{
	struct rep_campaign	*rc;
	int			 any = 0;

	while ((rc = TAILQ_FIRST(&d->rep.campaigns)) != NULL) {
		TAILQ_REMOVE(&d->rep.campaigns, rc, entry);
		free(rc);
		any = 1;
	}
	return any;
}

/*
 * A scope=campaign action on `campaign` started or ended: say again
 * whether it is suspended or shaped, and forget it with its last
 * action.  The jobs read ahead go back (they were read by what it was),
 * so the read starts afresh, by the new hold.
 */
static void
drain_shape_campaign_update(struct drain *d, const char *campaign)
{
	struct rep_campaign	*rc;
	const struct rep_action	*ra;
	size_t			 i;

	TAILQ_FOREACH(rc, &d->rep.campaigns, entry)
		if (strcmp(rc->id, campaign) == 0)
			break;
	if (rc == NULL) {
		rc = xcalloc(1, sizeof *rc);
		snprintf(rc->id, sizeof rc->id, "%s", campaign);
		TAILQ_INSERT_TAIL(&d->rep.campaigns, rc, entry);
	}
	memset(&rc->s, 0, sizeof rc->s);
	rc->s.active = 1;
	rc->nactions = 0;
	for (i = 0; i < d->rep.nactions; i++) {
		ra = &d->rep.actions[i];
		if (ra->a.rule->scope != SHAPING_CAMPAIGN ||
		    strcmp(ra->a.key, campaign) != 0)
			continue;
		rc->nactions++;
		if (ra->a.rule->kind == SHAPING_SUSPEND)
			rc->s.suspended = 1;
		else
			rc->s.shaped = 1;
	}
	if (rc->nactions == 0) {
		TAILQ_REMOVE(&d->rep.campaigns, rc, entry);
		free(rc);
	}
	drain_sched_unstage(d);
}

/* The configured rules, the shipped ones, or none ("none"). */
int
drain_shape_load(struct drain *d, char **cause)
{
	const char		*path = d->md->conf->shaping_rules;
	struct shaping_rules	*rs = NULL;
	size_t			 i;

	if (path == NULL) {
		for (i = 0; i < nitems(shape_default_rules) && path == NULL; i++)
			if (access(shape_default_rules[i], R_OK) == 0)
				path = shape_default_rules[i];
		if (path == NULL)
			log_info("shaping: no rule file (%s); replies shape "
			    "nothing", shape_default_rules[0]);
	}
	if (path != NULL && strcmp(path, "none") != 0 &&
	    (rs = shaping_load(path, cause)) == NULL)
		return -1;
	/* Running actions end with the rules they came from. */
	while (d->rep.nactions > 0) {
		struct rep_action *a = &d->rep.actions[--d->rep.nactions];

		log_info("shaping: rule=%s on %s=%s ends (rules reloaded)",
		    a->a.rule->name, shaping_scope_name(a->a.rule->scope),
		    a->a.key);
		drain_shape_release(d, a->unit);
	}
	d->rep.ncampaign = 0;
	d->rep.ncampaign_shaped = 0;
	if (drain_shape_campaigns_free(d))
		drain_sched_unstage(d);	/* read without their holds */
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

/* A slow action's rate as a whole number per second, minute or hour. */
static void
drain_shape_rate(const struct shaping_rule *r, struct conf_rate *rate)
{
	rate->per = r->rate_per_s >= 1 ? 1 : r->rate_per_s * 60 >= 1 ? 60 :
	    3600;
	rate->count = (uint64_t)(r->rate_per_s * (double)rate->per + 0.5);
	if (rate->count == 0)
		rate->count = 1;
}

/* The earliest end among the running actions. */
static void
drain_shape_next_end(struct drain *d)
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
void
drain_shape_apply(struct drain *d, struct dom *u)
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
		    r->rate_per_s < (double)rate.count / (double)rate.per))
			drain_shape_rate(r, &rate);
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
drain_shape_describe(const struct shaping_rule *r, char *buf, size_t bufsz)
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
drain_shape_hit(struct drain *d, long code, const char *reply,
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
	/* A group's action paces the group, from any of its lines. */
	if (r->scope == SHAPING_GROUP)
		u = drain_units_quota(u);
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
	/*
	 * A domain's action on a domain of a provider group gives the
	 * domain a line of its own (drain_units_split()): it alone slows,
	 * and the group's limits hold it too.
	 */
	if (r->scope == SHAPING_ALL || r->scope == SHAPING_CAMPAIGN)
		ra->unit = NULL;
	else if (r->scope == SHAPING_DOMAIN && u->group)
		ra->unit = drain_units_split(d, domain, u);
	else
		ra->unit = u;
	if (ra->unit != NULL)
		ra->unit->nactions++;
	drain_shape_describe(r, what, sizeof what);
	log_warnx("shaping: rule=%s starts on %s=%s: %s for %" PRId64 " s "
	    "(line %u; %s \"%s\")", r->name, shaping_scope_name(r->scope),
	    a.key, what, a.until - a.since, r->line, via, a.reply);
	drain_shape_next_end(d);
	if (r->scope != SHAPING_CAMPAIGN) {
		drain_shape_apply(d, ra->unit);
		return;
	}
	d->rep.ncampaign++;
	if (r->kind != SHAPING_SUSPEND) {
		/*
		 * A campaign's own cadence (or connections) across all its
		 * units, counted from this reply; the pick passes over its
		 * jobs while they wait (drain_shape_campaign_wait()).
		 */
		struct conf_rate	 rate = { 0, 1 };

		if (r->kind == SHAPING_SLOW)
			drain_shape_rate(r, &rate);
		pace_init(&ra->pace, &rate, 1);
		pace_take(&ra->pace, drain_clock());
		d->rep.ncampaign_shaped++;
	}
	/*
	 * Its jobs read ahead go back; the read passes over them meanwhile
	 * (suspended), or reads a few at a time (shaped).
	 */
	drain_shape_campaign_update(d, ra->a.key);
}

/* The hold on a campaign under scope=campaign actions; NULL: none. */
struct rep_campaign *
drain_shape_campaign(const struct drain *d, const char *campaign)
{
	struct rep_campaign	*rc;

	if (d->rep.ncampaign == 0)
		return NULL;
	TAILQ_FOREACH(rc, &d->rep.campaigns, entry)
		if (strcmp(rc->id, campaign) == 0)
			return rc;
	return NULL;
}

/* Transfers of a campaign running now (a few: the connections). */
static unsigned
drain_shape_campaign_running(const struct drain *d, const char *campaign)
{
	const struct xfer	*x;
	unsigned		 n = 0;

	TAILQ_FOREACH(x, &d->running, entry)
		if (strcmp(x->job.campaign, campaign) == 0)
			n++;
	return n;
}

/*
 * May a staged job go at `slot` as far as its campaign's actions say?
 * 0: yes; 1: its campaign is at its connections; 2: its campaign's
 * cadence holds it for *wait_ms more.
 */
int
drain_shape_campaign_wait(const struct drain *d, const struct xfer *x,
    struct instant slot, double *wait_ms)
{
	const struct rep_action	*ra;
	double			 w;
	size_t			 i;
	int			 held = 0;

	*wait_ms = 0;
	if (d->rep.ncampaign_shaped == 0)
		return 0;
	for (i = 0; i < d->rep.nactions; i++) {
		ra = &d->rep.actions[i];
		if (ra->a.rule->scope != SHAPING_CAMPAIGN ||
		    ra->a.rule->kind == SHAPING_SUSPEND ||
		    strcmp(ra->a.key, x->job.campaign) != 0)
			continue;
		if (ra->a.rule->kind == SHAPING_CONNECTIONS &&
		    drain_shape_campaign_running(d, x->job.campaign) >=
		    ra->a.rule->connections)
			return 1;
		if (ra->a.rule->kind == SHAPING_SLOW &&
		    (w = pace_wait(&ra->pace, slot)) > 0) {
			if (w > *wait_ms)
				*wait_ms = w;
			held = 2;
		}
	}
	return held;
}

/* A job of a slowed campaign starts at `slot`: its cadence takes it. */
void
drain_shape_campaign_take(struct drain *d, const struct xfer *x,
    struct instant slot)
{
	struct rep_action	*ra;
	size_t			 i;

	if (d->rep.ncampaign_shaped == 0)
		return;
	for (i = 0; i < d->rep.nactions; i++) {
		ra = &d->rep.actions[i];
		if (ra->a.rule->scope == SHAPING_CAMPAIGN &&
		    ra->a.rule->kind == SHAPING_SLOW &&
		    strcmp(ra->a.key, x->job.campaign) == 0)
			pace_take(&ra->pace, slot);
	}
}

/* Every reply of the relay passes the rules. */
void
drain_shape_reply(struct drain *d, struct xfer *x)
{
	if (d->rep.state == NULL || x->code <= 0 || (x->code < 300 &&
	    !d->rep.rules_2xx))
		return;
	drain_shape_hit(d, x->code, x->reply, addr_domain(x->job.addr),
	    x->dom, x->job.campaign, "reply");
}

/*
 * A delayed or failed DSN for `addr`: the reply its Diagnostic-Code
 * quotes passes the rules as the relay's own would.
 */
void
drain_shape_feedback(struct drain *d, const char *addr, const char *campaign,
    const char *diag)
{
	const char	*reply, *domain;
	long		 code;

	if (d->rep.state == NULL || (code = shaping_dsn_reply(diag,
	    &reply)) == 0 || (domain = addr_domain(addr)) == NULL ||
	    *domain == '\0')
		return;
	drain_shape_hit(d, code, reply, domain, drain_units_of(d, domain,
	    mannersd_now()), campaign, "DSN");
}

/* Once a second or so: end the actions whose time is up, once each. */
void
drain_shape_tick(struct drain *d, int64_t now_s)
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
		if (a.a.rule->scope == SHAPING_CAMPAIGN) {
			d->rep.ncampaign--;
			if (a.a.rule->kind != SHAPING_SUSPEND)
				d->rep.ncampaign_shaped--;
			/* Its jobs passed over are read again, in order. */
			drain_shape_campaign_update(d, a.a.key);
			drain_sched_soon(d);
		} else
			drain_shape_apply(d, a.unit);
		drain_shape_release(d, a.unit);
	}
	drain_shape_next_end(d);
}

/* Connections the drain may use now: [smtp] concurrency, or fewer. */
unsigned
drain_shape_concurrency(const struct drain *d)
{
	unsigned	 c = d->md->conf->concurrency;

	if (d->rep.suspended)
		return 0;
	return d->rep.conns != 0 && d->rep.conns < c ? d->rep.conns : c;
}

void
drain_shape_free(struct drain *d)
{
	drain_shape_campaigns_free(d);
	free(d->rep.actions);
	shaping_state_free(d->rep.state);
	shaping_rules_free(d->rep.rules);
}
