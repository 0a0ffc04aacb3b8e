/*
 * shaping.h: reply-driven shaping, as pure rules and state.
 *
 * Mailbox providers say in their replies when a sender goes too fast
 * (Gmail's "421 4.7.28 ... unusual rate of unsolicited mail", Yahoo's
 * "[TS03]", SES's "454 Throttling").  A rule matches such a reply, and
 * once it has matched often enough (its threshold, "2/1h") it starts an
 * action on a scope for a while: slow the domain or provider group to a
 * rate, cut its connections, or suspend it; the campaign or everything
 * may be the scope too.  Actions end on their own.  A reply that matches
 * while its rule's action is running neither counts nor extends it, so
 * the messages that were in flight when it started cannot prolong it.
 *
 * Rules are read from a file (conf/shaping.rules), one per line:
 *
 *   rule NAME [code=421|4xx] [enhanced=4.7.28|4.7.] [text="words"]
 *        scope=domain|group|campaign|all
 *        action=slow:RATE|connections:N|suspend
 *        for=DURATION [after=N/WINDOW]
 *
 * A rule matches a reply whose code, enhanced code (exact, or a prefix
 * ending in '.') and text (a case-insensitive substring) all match what
 * the rule gives; it needs at least one of them.  Nothing reads a clock:
 * every call takes `now`.
 */
#ifndef MANNERS_SHAPING_H
#define MANNERS_SHAPING_H

#include <stddef.h>
#include <stdint.h>

#define SHAPING_NAME_MAX	48
#define SHAPING_TEXT_MAX	128
#define SHAPING_MAX_RULES	256
#define SHAPING_KEY_MAX		256	/* a scope key: domain, group, ... */

enum shaping_scope {
	SHAPING_DOMAIN,
	SHAPING_GROUP,
	SHAPING_CAMPAIGN,
	SHAPING_ALL
};

enum shaping_kind {
	SHAPING_SLOW,		/* at most rate_per_s */
	SHAPING_CONNECTIONS,	/* at most connections at once */
	SHAPING_SUSPEND		/* nothing */
};

struct shaping_rule {
	char			 name[SHAPING_NAME_MAX + 1];
	int			 code;		/* 0: any; 1..9: that class */
	char			 enhanced[16];	/* "": any */
	char			 text[SHAPING_TEXT_MAX + 1];	/* "": any */
	enum shaping_scope	 scope;
	enum shaping_kind	 kind;
	double			 rate_per_s;
	unsigned		 connections;
	int64_t			 duration;	/* seconds */
	unsigned		 after_n;	/* matches within after_window */
	int64_t			 after_window;
	unsigned		 line;		/* in its file */
};

struct shaping_rules;
struct shaping_state;

/* An action running now, for /v1/domains and the drain. */
struct shaping_action {
	const struct shaping_rule	*rule;
	char				 key[SHAPING_KEY_MAX + 1];
	int64_t				 since;
	int64_t				 until;
	char				 reply[160];	/* what started it */
};

/*
 * Parse a rule file's len bytes; file names it in errors.  NULL with
 * *cause ("FILE:LINE: ...") on the first bad line.
 */
struct shaping_rules	*shaping_parse(const char *, size_t, const char *,
			    char **);
/* Read and parse a rule file (at most 1 MiB); NULL with *cause. */
struct shaping_rules	*shaping_load(const char *, char **);
void			 shaping_rules_free(struct shaping_rules *);
size_t			 shaping_count(const struct shaping_rules *);
const struct shaping_rule *shaping_rule(const struct shaping_rules *, size_t);
/* The first rule that matches a reply (code, its text); -1 if none. */
int			 shaping_match(const struct shaping_rules *, long,
			    const char *);

/* Counters and running actions for one set of rules. */
struct shaping_state	*shaping_state_new(const struct shaping_rules *);
void			 shaping_state_free(struct shaping_state *);
/*
 * A reply matched rule r for scope key at now.  Returns 1 and fills *out
 * when that starts the rule's action, 0 otherwise (below threshold, or
 * the action already runs for that key).
 */
int			 shaping_hit(struct shaping_state *, int, const char *,
			    const char *, int64_t, struct shaping_action *);
/*
 * The actions running at now with that scope, for key (NULL: any key),
 * at most max of them into out.  Returns how many.
 */
size_t			 shaping_active(struct shaping_state *,
			    enum shaping_scope, const char *, int64_t,
			    struct shaping_action *, size_t);
/*
 * The reply inside a DSN's Diagnostic-Code ("smtp; 421 4.7.28 ..."):
 * its code (0 when there is none) and, in *reply, where the reply's
 * text starts ("421 4.7.28 ...").
 */
long			 shaping_dsn_reply(const char *, const char **);
const char		*shaping_scope_name(enum shaping_scope);
const char		*shaping_kind_name(enum shaping_kind);

#endif
