/*
 * shaping.c: reply-driven shaping rules and their state (see shaping.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf.h"
#include "shaping.h"
#include "smtp_reply.h"
#include "util.h"

/* Most (rule, key) pairs remembered; expired ones make room. */
#define SHAPING_MAX_ENTRIES	4096
/* Which of the required keys a rule line gave. */
#define SHAPING_SEEN_SCOPE	0x01
#define SHAPING_SEEN_ACTION	0x02
/* Most matches a threshold may ask for. */
#define SHAPING_MAX_AFTER	64
/* Largest rule file read. */
#define SHAPING_MAX_FILE	(1024 * 1024)

struct shaping_rules {
	struct shaping_rule	*r;
	size_t			 n;
};

/* What one rule has seen for one scope key. */
struct shaping_entry {
	int			 rule;
	char			 key[SHAPING_KEY_MAX + 1];
	int64_t			 hits[SHAPING_MAX_AFTER];	/* a ring */
	unsigned		 nhits;
	unsigned		 next;
	int64_t			 since, until;	/* until 0: no action */
	char			 reply[160];
};

struct shaping_state {
	const struct shaping_rules	*rules;
	struct shaping_entry		*e;
	size_t				 n;
	size_t				 cap;
};

static const char *shaping_scopes[] = { "domain", "group", "campaign", "all" };
static const char *shaping_kinds[] = { "slow", "connections", "suspend" };

const char *
shaping_scope_name(enum shaping_scope s)
{
	return (size_t)s < nitems(shaping_scopes) ? shaping_scopes[s] : "?";
}

const char *
shaping_kind_name(enum shaping_kind k)
{
	return (size_t)k < nitems(shaping_kinds) ? shaping_kinds[k] : "?";
}

/* The next word of a rule line at *p: KEY=VALUE, VALUE maybe quoted. */
static int
shaping_token(char **p, char **key, char **val)
{
	char	*s = *p, *q;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || *s == '#')
		return 0;
	*key = s;
	while (*s != '\0' && *s != '=' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '=') {
		*val = NULL;
		if (*s != '\0')
			*s++ = '\0';
		*p = s;
		return 1;
	}
	*s++ = '\0';
	if (*s == '"') {
		*val = ++s;
		if ((q = strchr(s, '"')) == NULL)
			return -1;
		*q = '\0';
		s = q + 1;
	} else {
		*val = s;
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		if (*s != '\0')
			*s++ = '\0';
	}
	*p = s;
	return 1;
}

/* The index of v in names, or -1. */
static int
shaping_lookup(const char **names, size_t n, const char *v)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], v) == 0)
			return (int)i;
	return -1;
}

/* A reply code: "421", or a class "4xx". */
static int
shaping_code(const char *v, int *code)
{
	if (strlen(v) != 3 || (v[0] != '2' && v[0] != '4' && v[0] != '5'))
		return -1;
	if (strcasecmp(v + 1, "xx") == 0) {
		*code = v[0] - '0';
		return 0;
	}
	if (!isdigit((unsigned char)v[1]) || !isdigit((unsigned char)v[2]))
		return -1;
	*code = atoi(v);
	return 0;
}

/* action=slow:RATE | connections:N | suspend */
static int
shaping_action(struct shaping_rule *r, const char *v, char **cause)
{
	struct conf_rate	 rate;
	char			*end;
	unsigned long		 n;

	if (strcmp(v, "suspend") == 0) {
		r->kind = SHAPING_SUSPEND;
		return 0;
	}
	if (strncmp(v, "slow:", 5) == 0) {
		if (conf_parse_rate(v + 5, &rate, cause) == -1)
			return -1;
		r->kind = SHAPING_SLOW;
		r->rate_per_s = (double)rate.count / (double)rate.per;
		return 0;
	}
	if (strncmp(v, "connections:", 12) == 0) {
		n = strtoul(v + 12, &end, 10);
		if (*end != '\0' || n == 0 || n > 256 || !isdigit(
		    (unsigned char)v[12]))
			return set_cause(cause, "connections:N wants N from 1 "
			    "to 256, not \"%s\"", v + 12);
		r->kind = SHAPING_CONNECTIONS;
		r->connections = (unsigned)n;
		return 0;
	}
	return set_cause(cause, "action \"%s\" is not slow:RATE, "
	    "connections:N or suspend", v);
}

/* One KEY=VALUE of a rule. */
static int
shaping_field(struct shaping_rule *r, const char *k, const char *v,
    unsigned *seen, char **cause)
{
	struct conf_cap	 cap;
	uint64_t	 d;
	int		 i;

	if (v == NULL || *v == '\0')
		return set_cause(cause, "\"%s\" wants a value (KEY=VALUE)", k);
	if (strcmp(k, "code") == 0) {
		if (shaping_code(v, &r->code) == -1)
			return set_cause(cause, "code \"%s\" is not a reply "
			    "code (421) or class (4xx)", v);
	} else if (strcmp(k, "enhanced") == 0) {
		if (strlen(v) >= sizeof r->enhanced || (v[0] != '4' &&
		    v[0] != '5' && v[0] != '2') || v[1] != '.')
			return set_cause(cause, "enhanced \"%s\" is not a status "
			    "code (4.7.28) or a prefix of one (4.7.)", v);
		snprintf(r->enhanced, sizeof r->enhanced, "%s", v);
	} else if (strcmp(k, "text") == 0) {
		if (strlen(v) > SHAPING_TEXT_MAX)
			return set_cause(cause, "text is longer than %d",
			    SHAPING_TEXT_MAX);
		snprintf(r->text, sizeof r->text, "%s", v);
	} else if (strcmp(k, "scope") == 0) {
		if ((i = shaping_lookup(shaping_scopes, nitems(shaping_scopes),
		    v)) == -1)
			return set_cause(cause, "scope \"%s\" is not domain, "
			    "group, campaign or all", v);
		r->scope = (enum shaping_scope)i;
	} else if (strcmp(k, "action") == 0) {
		if (shaping_action(r, v, cause) == -1)
			return -1;
	} else if (strcmp(k, "for") == 0) {
		if (conf_parse_duration(v, &d, NULL) == -1 || d == 0)
			return set_cause(cause, "for \"%s\" is not a duration "
			    "(30m, 1h, 1d)", v);
		r->duration = (int64_t)d;
	} else if (strcmp(k, "after") == 0) {
		if (conf_parse_cap(v, &cap, NULL) == -1 || cap.count == 0 ||
		    cap.count > SHAPING_MAX_AFTER)
			return set_cause(cause, "after \"%s\" is not N/WINDOW "
			    "with N from 1 to %d (2/1h)", v, SHAPING_MAX_AFTER);
		r->after_n = (unsigned)cap.count;
		r->after_window = (int64_t)cap.window;
	} else
		return set_cause(cause, "unknown key \"%s\" (code, enhanced, "
		    "text, scope, action, for, after)", k);
	if (strcmp(k, "scope") == 0)
		*seen |= SHAPING_SEEN_SCOPE;
	else if (strcmp(k, "action") == 0)
		*seen |= SHAPING_SEEN_ACTION;
	return 0;
}

/* One "rule NAME ..." line into r. */
static int
shaping_line(char *line, struct shaping_rule *r, char **cause)
{
	char		*p = line, *k, *v;
	unsigned	 seen = 0;
	int		 t;

	memset(r, 0, sizeof *r);
	r->after_n = 1;
	if (shaping_token(&p, &k, &v) != 1 || v != NULL ||
	    strcmp(k, "rule") != 0)
		return set_cause(cause, "a rule line starts with \"rule NAME\"");
	if (shaping_token(&p, &k, &v) != 1 || v != NULL || strlen(k) >
	    SHAPING_NAME_MAX)
		return set_cause(cause, "a rule needs a NAME of at most %d "
		    "characters after \"rule\"", SHAPING_NAME_MAX);
	snprintf(r->name, sizeof r->name, "%s", k);
	while ((t = shaping_token(&p, &k, &v)) == 1)
		if (shaping_field(r, k, v, &seen, cause) == -1)
			return -1;
	if (t == -1)
		return set_cause(cause, "a quoted value is not closed");
	if (r->code == 0 && r->enhanced[0] == '\0' && r->text[0] == '\0')
		return set_cause(cause, "rule %s matches every reply: give "
		    "code=, enhanced= or text=", r->name);
	if (!(seen & SHAPING_SEEN_SCOPE) || !(seen & SHAPING_SEEN_ACTION) ||
	    r->duration == 0)
		return set_cause(cause, "rule %s needs scope=, action= and "
		    "for=", r->name);
	return 0;
}

struct shaping_rules *
shaping_parse(const char *text, size_t len, const char *file, char **cause)
{
	struct shaping_rules	*rs = xcalloc(1, sizeof *rs);
	char			*copy = xstrndup(text, len), *line, *next;
	char			*why = NULL, *s;
	unsigned		 lineno = 0;

	rs->r = xcalloc(SHAPING_MAX_RULES, sizeof *rs->r);
	for (line = copy; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		for (s = line; *s == ' ' || *s == '\t' || *s == '\r'; s++)
			;
		line[strcspn(line, "\r")] = '\0';
		if (*s == '\0' || *s == '#')
			continue;
		if (rs->n == SHAPING_MAX_RULES) {
			set_cause(cause, "%s:%u: more than %d rules", file,
			    lineno, SHAPING_MAX_RULES);
			goto fail;
		}
		if (shaping_line(s, &rs->r[rs->n], &why) == -1) {
			set_cause(cause, "%s:%u: %s", file, lineno, why);
			free(why);
			goto fail;
		}
		rs->r[rs->n++].line = lineno;
	}
	free(copy);
	return rs;
fail:
	free(copy);
	shaping_rules_free(rs);
	return NULL;
}

struct shaping_rules *
shaping_load(const char *path, char **cause)
{
	struct shaping_rules	*rs;
	FILE			*f;
	char			*text;
	size_t			 n;

	if ((f = fopen(path, "re")) == NULL) {
		set_cause(cause, "[shaping] rules = %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	text = xmalloc(SHAPING_MAX_FILE + 1);
	n = fread(text, 1, SHAPING_MAX_FILE + 1, f);
	fclose(f);
	if (n > SHAPING_MAX_FILE) {
		set_cause(cause, "[shaping] rules = %s: larger than 1 MiB", path);
		free(text);
		return NULL;
	}
	rs = shaping_parse(text, n, path, cause);
	free(text);
	return rs;
}

void
shaping_rules_free(struct shaping_rules *rs)
{
	if (rs == NULL)
		return;
	free(rs->r);
	free(rs);
}

size_t
shaping_count(const struct shaping_rules *rs)
{
	return rs->n;
}

const struct shaping_rule *
shaping_rule(const struct shaping_rules *rs, size_t i)
{
	return i < rs->n ? &rs->r[i] : NULL;
}

/* Whether one rule matches a reply. */
static int
shaping_matches(const struct shaping_rule *r, long code, const char *line,
    const char *enh)
{
	size_t	 n;

	if (r->code > 0 && r->code < 10 && code / 100 != r->code)
		return 0;
	if (r->code >= 10 && code != r->code)
		return 0;
	if (r->enhanced[0] != '\0') {
		n = strlen(r->enhanced);
		if (r->enhanced[n - 1] == '.' ? strncmp(enh, r->enhanced, n) !=
		    0 : strcmp(enh, r->enhanced) != 0)
			return 0;
	}
	return r->text[0] == '\0' || (line != NULL && strcasestr(line,
	    r->text) != NULL);
}

int
shaping_match(const struct shaping_rules *rs, long code, const char *line)
{
	char	 enh[16];
	size_t	 i;

	smtp_reply_enhanced(line, enh, sizeof enh);
	for (i = 0; rs != NULL && i < rs->n; i++)
		if (shaping_matches(&rs->r[i], code, line, enh))
			return (int)i;
	return -1;
}

struct shaping_state *
shaping_state_new(const struct shaping_rules *rs)
{
	struct shaping_state	*st = xcalloc(1, sizeof *st);

	st->rules = rs;
	return st;
}

void
shaping_state_free(struct shaping_state *st)
{
	if (st == NULL)
		return;
	free(st->e);
	free(st);
}

/* Forget entries with no running action and no hit in their window. */
static void
shaping_tidy(struct shaping_state *st, int64_t now)
{
	struct shaping_entry	*e;
	size_t			 i = 0;
	int64_t			 last;

	while (i < st->n) {
		e = &st->e[i];
		last = e->nhits > 0 ? e->hits[(e->next + SHAPING_MAX_AFTER - 1) %
		    SHAPING_MAX_AFTER] : 0;
		if (e->until <= now && now - last >
		    st->rules->r[e->rule].after_window) {
			st->e[i] = st->e[--st->n];
			continue;
		}
		i++;
	}
}

/* The entry of (rule, key), made if need be; NULL when full. */
static struct shaping_entry *
shaping_entry(struct shaping_state *st, int rule, const char *key,
    int64_t now)
{
	size_t	 i;

	for (i = 0; i < st->n; i++)
		if (st->e[i].rule == rule && strcmp(st->e[i].key, key) == 0)
			return &st->e[i];
	if (st->n == st->cap) {
		shaping_tidy(st, now);
		if (st->n == SHAPING_MAX_ENTRIES)
			return NULL;
		if (st->n == st->cap) {
			st->cap = st->cap == 0 ? 16 : st->cap * 2;
			st->e = xreallocarray(st->e, st->cap, sizeof *st->e);
		}
	}
	memset(&st->e[st->n], 0, sizeof st->e[st->n]);
	st->e[st->n].rule = rule;
	snprintf(st->e[st->n].key, sizeof st->e[st->n].key, "%s", key);
	return &st->e[st->n++];
}

/* Fill an action from its entry. */
static void
shaping_fill(const struct shaping_state *st, const struct shaping_entry *e,
    struct shaping_action *a)
{
	a->rule = &st->rules->r[e->rule];
	snprintf(a->key, sizeof a->key, "%s", e->key);
	a->since = e->since;
	a->until = e->until;
	snprintf(a->reply, sizeof a->reply, "%s", e->reply);
}

int
shaping_hit(struct shaping_state *st, int rule, const char *key,
    const char *reply, int64_t now, struct shaping_action *out)
{
	const struct shaping_rule	*r;
	struct shaping_entry		*e;
	unsigned			 i, n = 0;

	if (rule < 0 || (size_t)rule >= st->rules->n ||
	    (e = shaping_entry(st, rule, key, now)) == NULL)
		return 0;
	r = &st->rules->r[rule];
	if (e->until > now)
		return 0;	/* running: neither counts nor extends */
	e->hits[e->next] = now;
	e->next = (e->next + 1) % SHAPING_MAX_AFTER;
	if (e->nhits < SHAPING_MAX_AFTER)
		e->nhits++;
	for (i = 0; i < e->nhits; i++)
		if (now - e->hits[i] < r->after_window || r->after_window == 0)
			n++;
	if (n < r->after_n)
		return 0;
	e->since = now;
	e->until = now + r->duration;
	e->nhits = e->next = 0;
	snprintf(e->reply, sizeof e->reply, "%s", reply != NULL ? reply : "");
	shaping_fill(st, e, out);
	return 1;
}

size_t
shaping_active(struct shaping_state *st, enum shaping_scope scope,
    const char *key, int64_t now, struct shaping_action *out, size_t max)
{
	struct shaping_entry	*e;
	size_t			 i, n = 0;

	for (i = 0; i < st->n && n < max; i++) {
		e = &st->e[i];
		if (e->until <= now || st->rules->r[e->rule].scope != scope ||
		    (key != NULL && strcmp(e->key, key) != 0))
			continue;
		shaping_fill(st, e, &out[n++]);
	}
	return n;
}

long
shaping_dsn_reply(const char *diag, const char **reply)
{
	const char	*p = diag, *semi;

	*reply = diag;
	if (diag == NULL)
		return 0;
	/* "smtp; " (RFC 3464's diagnostic-type) before the reply itself. */
	if ((semi = strchr(p, ';')) != NULL && semi - p <= 16)
		p = semi + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((p[0] != '4' && p[0] != '5') || !isdigit((unsigned char)p[1]) ||
	    !isdigit((unsigned char)p[2]) || (p[3] != ' ' && p[3] != '-' &&
	    p[3] != '\0'))
		return 0;
	*reply = p;
	return (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
}
