/*
 * conf_rep.c: providers, warm-up ramps and the quota day in the
 * configuration (see conf_rep.h).
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_rep.h"
#include "quiet.h"
#include "util.h"
#include "warmup.h"

/* A hostname-like name (a domain, an MX suffix). */
static int
conf_rep_valid(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' &&
		    *s != '_')
			return 0;
	return 1;
}

static void
conf_rep_names_free(struct conf_names *n)
{
	size_t	 i;

	for (i = 0; i < n->n; i++)
		free(n->v[i]);
	free(n->v);
	n->v = NULL;
	n->n = 0;
}

/* "a.com, b.com": lower-cased, each checked. */
int
conf_rep_names(const char *v, struct conf_names *out, const char *key,
    char **cause)
{
	struct conf_names	 n = { NULL, 0 };
	char			*copy = xstrdup(v), *p = copy, *w, *e;

	while ((w = strsep(&p, ",")) != NULL) {
		while (*w == ' ' || *w == '\t')
			w++;
		for (e = w + strlen(w); e > w && (e[-1] == ' ' ||
		    e[-1] == '\t'); e--)
			e[-1] = '\0';
		if (!conf_rep_valid(w)) {
			set_cause(cause, "%s: \"%s\" is not a domain name (want "
			    "names separated by commas)", key, w);
			free(copy);
			conf_rep_names_free(&n);
			return -1;
		}
		n.v = xreallocarray(n.v, n.n + 1, sizeof *n.v);
		n.v[n.n++] = xstrtolower(w);
	}
	free(copy);
	conf_rep_names_free(out);
	*out = n;
	return 0;
}

/* "2026-12-01" as 20261201. */
int
conf_rep_date(const char *v, int32_t *out, const char *key, char **cause)
{
	int	 y, m, d, n = 0;

	if (sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || v[n] != '\0' ||
	    strlen(v) != 10 || y < 1970 || m < 1 || m > 12 || d < 1 || d > 31)
		return set_cause(cause, "%s = %s: want a date YYYY-MM-DD", key,
		    v);
	*out = y * 10000 + m * 100 + d;
	return 0;
}

/* "exponential 50 10000 30" or "50, 100, 200" into a warm-up's volumes. */
int
conf_rep_volumes(const char *v, int curve, void *p, char **cause)
{
	struct conf_warmup	*w = (struct conf_warmup *)((char *)p -
				    offsetof(struct conf_warmup, volumes));
	unsigned long long	 first, target;
	unsigned		 days;
	uint64_t		*vol;
	char			*end;
	size_t			 n = 0;
	int			 used = 0;

	if (w->volumes != NULL)
		return set_cause(cause, "a [warmup] has one curve or one "
		    "volumes, not both");
	vol = xcalloc(WARMUP_MAX_DAYS, sizeof *vol);
	if (curve) {
		if (sscanf(v, "exponential %llu %llu %u%n", &first, &target,
		    &days, &used) != 3 || v[used] != '\0') {
			free(vol);
			return set_cause(cause, "curve = %s: want exponential "
			    "FIRST TARGET DAYS (e.g. exponential 50 10000 30)",
			    v);
		}
		if (warmup_curve(first, target, days, vol, cause) == -1) {
			free(vol);
			return -1;
		}
		n = days;
	} else {
		while (*v != '\0') {
			unsigned long long	 x = strtoull(v, &end, 10);

			if (end == v || !isdigit((unsigned char)*v) || x == 0 ||
			    x > WARMUP_MAX_VOLUME || n == WARMUP_MAX_DAYS) {
				free(vol);
				return set_cause(cause, "volumes: want up to %d "
				    "numbers from 1 to %llu separated by "
				    "commas, at \"%s\"", WARMUP_MAX_DAYS,
				    (unsigned long long)WARMUP_MAX_VOLUME, v);
			}
			vol[n++] = x;
			v = end + strspn(end, " \t");
			if (*v == ',')
				v += 1 + strspn(v + 1, " \t");
		}
	}
	w->volumes = vol;
	w->nvolumes = n;
	return 0;
}

/* "HH:MM" or "HH:MM:SS" as seconds after midnight. */
int
conf_rep_day_start(const char *v, uint32_t *out, char **cause)
{
	int	 h, m, s = 0, n = 0;

	if ((sscanf(v, "%2d:%2d:%2d%n", &h, &m, &s, &n) != 3 &&
	    sscanf(v, "%2d:%2d%n", &h, &m, &n) != 2) || v[n] != '\0' ||
	    h < 0 || h > 23 || m < 0 || m > 59 || s < 0 || s > 59)
		return set_cause(cause, "day_start = %s: want HH:MM or HH:MM:SS "
		    "(00:00 to 23:59:59)", v);
	*out = (uint32_t)(h * 3600 + m * 60 + s);
	return 0;
}

/* An IANA zone ICU knows. */
int
conf_rep_zone(const char *v, char **out, char **cause)
{
	struct quiet_zone	*z;
	char			*why = NULL;

	if ((z = quiet_zone_open(v, &why)) == NULL) {
		set_cause(cause, "day_zone = %s: %s", v, why);
		free(why);
		return -1;
	}
	quiet_zone_free(z);
	free(*out);
	*out = xstrdup(v);
	return 0;
}

int
conf_rep_section(struct conf *c, int provider, const char *arg, void **base,
    char **cause)
{
	size_t	 i;

	if (provider) {
		for (i = 0; i < c->nproviders; i++)
			if (strcasecmp(c->providers[i].name, arg) == 0)
				return set_cause(cause, "[provider %s] appears "
				    "twice", arg);
		c->providers = xreallocarray(c->providers, c->nproviders + 1,
		    sizeof *c->providers);
		memset(&c->providers[c->nproviders], 0, sizeof *c->providers);
		c->providers[c->nproviders].name = xstrtolower(arg);
		*base = &c->providers[c->nproviders++];
		return 0;
	}
	for (i = 0; i < c->nwarmups; i++)
		if (strcasecmp(c->warmups[i].name, arg) == 0)
			return set_cause(cause, "[warmup %s] appears twice", arg);
	c->warmups = xreallocarray(c->warmups, c->nwarmups + 1,
	    sizeof *c->warmups);
	memset(&c->warmups[c->nwarmups], 0, sizeof *c->warmups);
	c->warmups[c->nwarmups].name = xstrtolower(arg);
	*base = &c->warmups[c->nwarmups++];
	return 0;
}

/* Providers: a rate, and no domain in two of them. */
static int
conf_rep_finish_providers(struct conf *c, const char *fname, char **cause)
{
	const struct conf_provider	*o;
	struct conf_provider		*p;
	size_t				 i, j;

	for (i = 0; i < c->nproviders; i++) {
		p = &c->providers[i];
		if (p->rate.per == 0)
			p->rate = c->domain_rate;
		if (p->domains.n == 0 && p->mx.n == 0)
			return set_cause(cause, "%s: [provider %s] needs "
			    "domains = or mx =", fname, p->name);
		for (j = 0; j < p->domains.n; j++) {
			o = conf_provider_of(c, p->domains.v[j]);
			if (o != p)
				return set_cause(cause, "%s: domain %s is in "
				    "[provider %s] and [provider %s]", fname,
				    p->domains.v[j], o->name, p->name);
		}
	}
	return 0;
}

int
conf_rep_finish(struct conf *c, const char *fname, char **cause)
{
	const struct conf_provider	*p;
	struct conf_warmup		*w;
	size_t				 i, j;

	if (conf_rep_finish_providers(c, fname, cause) == -1)
		return -1;
	for (i = 0; i < c->ndomains; i++)
		if ((p = conf_provider_of(c, c->domains[i].name)) != NULL &&
		    (c->domains[i].daily_limit != 0 ||
		    c->domains[i].concurrency != 0))
			return set_cause(cause, "%s: [domain %s] sets a limit, "
			    "but [provider %s] paces that domain: set it there",
			    fname, c->domains[i].name, p->name);
	for (i = 0; i < c->nwarmups; i++) {
		w = &c->warmups[i];
		if (w->start == 0 || w->nvolumes == 0 || w->applies.n == 0)
			return set_cause(cause, "%s: [warmup %s] needs start =, "
			    "curve = or volumes =, and applies =", fname,
			    w->name);
		for (j = 0; j < w->applies.n; j++) {
			if ((p = conf_provider_of(c, w->applies.v[j])) != NULL)
				return set_cause(cause, "%s: [warmup %s] "
				    "applies to %s, which [provider %s] paces: "
				    "apply it to %s", fname, w->name,
				    w->applies.v[j], p->name, p->name);
			if (conf_warmup_for(c, w->applies.v[j]) != w)
				return set_cause(cause, "%s: %s is in two "
				    "[warmup] sections", fname,
				    w->applies.v[j]);
		}
	}
	return 0;
}

void
conf_rep_free(struct conf *c)
{
	size_t	 i;

	for (i = 0; i < c->nproviders; i++) {
		free(c->providers[i].name);
		conf_rep_names_free(&c->providers[i].domains);
		conf_rep_names_free(&c->providers[i].mx);
	}
	free(c->providers);
	for (i = 0; i < c->nwarmups; i++) {
		free(c->warmups[i].name);
		free(c->warmups[i].volumes);
		conf_rep_names_free(&c->warmups[i].applies);
	}
	free(c->warmups);
}

const struct conf_provider *
conf_provider_of(const struct conf *c, const char *domain)
{
	size_t	 i, j;

	for (i = 0; i < c->nproviders; i++)
		for (j = 0; j < c->providers[i].domains.n; j++)
			if (strcasecmp(c->providers[i].domains.v[j], domain) ==
			    0)
				return &c->providers[i];
	return NULL;
}

/* Does host end with the suffix at a label boundary? */
static int
conf_rep_suffix(const char *host, const char *suffix)
{
	size_t	 hl = strlen(host), sl = strlen(suffix);

	while (hl > 0 && host[hl - 1] == '.')
		hl--;
	if (sl > hl || strncasecmp(host + hl - sl, suffix, sl) != 0)
		return 0;
	return hl == sl || host[hl - sl - 1] == '.';
}

const struct conf_provider *
conf_provider_by_mx(const struct conf *c, const char *mxhost)
{
	size_t	 i, j;

	for (i = 0; i < c->nproviders; i++)
		for (j = 0; j < c->providers[i].mx.n; j++)
			if (conf_rep_suffix(mxhost, c->providers[i].mx.v[j]))
				return &c->providers[i];
	return NULL;
}

const struct conf_warmup *
conf_warmup_for(const struct conf *c, const char *name)
{
	size_t	 i, j;

	for (i = 0; i < c->nwarmups; i++)
		for (j = 0; j < c->warmups[i].applies.n; j++)
			if (strcasecmp(c->warmups[i].applies.v[j], name) == 0)
				return &c->warmups[i];
	return NULL;
}
