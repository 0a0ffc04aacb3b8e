/*
 * drain_status.c: what GET /v1/domains and /metrics show of the pacing
 * units: the rate in force and why, today's quota and use, the ramp,
 * the running actions with their rule, reply and end.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "util.h"

/* Why a unit's rate is what it is, in words. */
static const char *
drain_status_why(const struct drain *d, const struct dom *u)
{
	size_t	 i;

	if (u->resolving > 0)
		return "held: its MX lookup is on its way";
	if (drain_quota_over(u))
		return "held: today's quota is used; jobs wait for the next day";
	for (i = 0; i < d->rep.nactions; i++)
		if (d->rep.actions[i].unit == u)
			return "shaped by a rule (see actions)";
	if (u->s.pace.slowed > 0)
		return "slowed: repeated 4xx answers halved it; it recovers "
		    "with each message accepted";
	return u->group ? "configured ([provider])" : "configured";
}

/* The actions on a unit (NULL: scope all) as a JSON array. */
static json_t *
drain_status_actions(const struct drain *d, const struct dom *u)
{
	const struct rep_action	*a;
	json_t			*arr = json_array();
	char			 what[64];
	size_t			 i;

	for (i = 0; i < d->rep.nactions; i++) {
		a = &d->rep.actions[i];
		if (a->unit != u)
			continue;
		drain_shape_describe(a->a.rule, what, sizeof what);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, "
		    "s:I, s:I, s:s, s:i}", "rule", a->a.rule->name, "scope",
		    shaping_scope_name(a->a.rule->scope), "key", a->a.key,
		    "action", what, "since", (json_int_t)a->a.since, "until",
		    (json_int_t)a->a.until, "reason", a->a.reply, "line",
		    (int)a->a.rule->line));
	}
	return arr;
}

/*
 * Actions on the domains of a group shaped apart, each on a line of its
 * own (drain_units_split()): the group's row counts them, so that a
 * group whose member is slowed or suspended does not read as untouched.
 */
static unsigned
drain_status_member_actions(const struct drain *d, const struct dom *u)
{
	unsigned	 n = 0;
	size_t		 i;

	for (i = 0; i < d->rep.nactions; i++)
		if (d->rep.actions[i].unit != NULL &&
		    d->rep.actions[i].unit->parent == u)
			n++;
	return n;
}

/* The recipient domains seen that the unit paces, and how each came. */
static json_t *
drain_status_members(struct drain *d, const struct dom *u)
{
	struct rdom	*rd;
	json_t		*arr = json_array();
	size_t		 pos = 0;

	if (!u->group)
		return arr;
	/* A domain shaped apart is still the group's; "apart" says so. */
	while ((rd = hashtab_next(d->rep.rdoms, &pos)) != NULL)
		if (rd->unit == u || rd->unit->parent == u)
			json_array_append_new(arr, json_pack("{s:s, s:s, s:b}",
			    "domain", rd->name, "by", rd->via[0] != '\0' ?
			    rd->via : "list", "apart", rd->unit->parent == u));
	return arr;
}

/* One unit as JSON. */
static json_t *
drain_status_unit(struct drain *d, const struct dom *u)
{
	json_t	*o, *q = json_null(), *w = json_null();

	if (u->tracked && u->day_known)
		q = json_pack("{s:i, s:I, s:I, s:I, s:I}", "day",
		    (int)u->day.date, "limit", (json_int_t)u->limit, "used",
		    (json_int_t)u->used, "resets_at", (json_int_t)u->day.end,
		    "deferred", (json_int_t)u->deferred);
	/* Tomorrow is the next ramp day only if today sends something. */
	if (u->warmup != NULL && u->day_known)
		w = json_pack("{s:s, s:b, s:b, s:i, s:I, s:I}", "name",
		    u->warmup->name, "started", u->ramp.started, "complete",
		    u->ramp.complete, "day", (int)u->ramp.day, "volume",
		    (json_int_t)u->ramp.volume, "tomorrow", (json_int_t)(
		    u->used > 0 ? u->ramp.tomorrow : u->ramp.volume));
	o = json_pack("{s:s, s:s, s:f, s:s, s:i, s:i, s:I, s:o, s:o, s:o, "
	    "s:o}", "name", u->name, "kind", u->group ? "provider" : "domain",
	    "rate", pace_rate(&u->s.pace), "why", drain_status_why(d, u),
	    "concurrency", (int)u->s.limit, "in_flight", (int)u->s.inflight,
	    "staged", (json_int_t)u->s.staged, "quota", q, "warmup", w,
	    "actions", drain_status_actions(d, u), "domains",
	    drain_status_members(d, u));
	/* A domain shaped apart names the group whose limits hold it too. */
	json_object_set_new(o, "group", u->parent != NULL ?
	    json_string(u->parent->name) : json_null());
	json_object_set_new(o, "member_actions", json_integer(
	    drain_status_member_actions(d, u)));
	return o;
}

/*
 * GET /v1/domains: every unit the drain knows (the configured providers
 * and quotas always, other domains while they have work), and the
 * actions on everything.
 */
json_t *
drain_status_domains(struct drain *d)
{
	struct store_txn	*t = NULL;
	struct dom		*u;
	json_t			*units = json_array();
	char			*cause = NULL;
	size_t			 pos = 0;
	int64_t			 now_s = mannersd_now();

	if (store_begin(d->md->store, 0, &t, &cause) < 0) {
		log_warnx("domains: cannot read the store: %s", cause);
		free(cause);
	}
	while ((u = hashtab_next(d->doms, &pos)) != NULL) {
		if (t != NULL)
			drain_quota_check_day(d, t, u, now_s);
		json_array_append_new(units, drain_status_unit(d, u));
	}
	store_abort(t);
	return json_pack("{s:o, s:{s:f, s:i, s:b, s:o}, s:{s:I, s:I}}",
	    "units", units, "all", "rate", pace_rate(&d->pace),
	    "concurrency", (int)drain_shape_concurrency(d), "suspended",
	    d->rep.suspended, "actions", drain_status_actions(d, NULL), "mx",
	    "lookups", (json_int_t)d->rep.mx_lookups, "failures",
	    (json_int_t)d->rep.mx_failures);
}

/*
 * Per-unit metrics, for providers, units with a quota and the domains
 * of a group shaped apart (as /v1/domains lists them: from the action
 * until the tidy) only: a label per recipient domain would grow without
 * bound.
 */
void
drain_status_metrics(struct drain *d, struct evbuffer *b)
{
	struct dom	*u;
	size_t		 pos = 0;

	evbuffer_add_printf(b, "# HELP manners_unit_rate_per_second The "
	    "cadence in force for a provider or a domain with a quota.\n"
	    "# TYPE manners_unit_rate_per_second gauge\n"
	    "# HELP manners_unit_quota_used Messages counted today.\n"
	    "# TYPE manners_unit_quota_used gauge\n"
	    "# HELP manners_unit_quota_limit Today's quota (0: none).\n"
	    "# TYPE manners_unit_quota_limit gauge\n"
	    "# HELP manners_unit_in_flight Transfers running.\n"
	    "# TYPE manners_unit_in_flight gauge\n"
	    "# HELP manners_unit_actions Shaping actions running.\n"
	    "# TYPE manners_unit_actions gauge\n"
	    "# HELP manners_unit_member_actions Shaping actions running on "
	    "the domains of a provider group shaped apart (each its own "
	    "unit).\n"
	    "# TYPE manners_unit_member_actions gauge\n");
	while ((u = hashtab_next(d->doms, &pos)) != NULL) {
		if (!u->group && !u->tracked && u->parent == NULL)
			continue;
		if (u->group)
			evbuffer_add_printf(b, "manners_unit_member_actions{"
			    "unit=\"%s\"} %u\n", u->name,
			    drain_status_member_actions(d, u));
		evbuffer_add_printf(b, "manners_unit_rate_per_second{unit=\"%s\""
		    "} %g\nmanners_unit_quota_used{unit=\"%s\"} %" PRIu64 "\n"
		    "manners_unit_quota_limit{unit=\"%s\"} %" PRIu64 "\n"
		    "manners_unit_in_flight{unit=\"%s\"} %u\n"
		    "manners_unit_actions{unit=\"%s\"} %u\n", u->name,
		    pace_rate(&u->s.pace), u->name, u->used, u->name, u->limit,
		    u->name, u->s.inflight, u->name, u->nactions);
	}
	evbuffer_add_printf(b, "# HELP manners_mx_lookups_total MX lookups "
	    "for provider groups.\n# TYPE manners_mx_lookups_total counter\n"
	    "manners_mx_lookups_total %" PRIu64 "\n"
	    "# HELP manners_mx_lookup_failures_total MX lookups that failed "
	    "(the domain is paced on its own).\n"
	    "# TYPE manners_mx_lookup_failures_total counter\n"
	    "manners_mx_lookup_failures_total %" PRIu64 "\n",
	    d->rep.mx_lookups, d->rep.mx_failures);
}
