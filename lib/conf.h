/*
 * conf.h: the configuration file (INI), its defaults and its checks.
 *
 * Every error names FILE:LINE.  A struct conf is immutable once loaded;
 * a reload builds a new one and swaps it in only when it is valid.
 */
#ifndef MANNERS_CONF_H
#define MANNERS_CONF_H

#define CONF_CONCURRENCY_MAX	256	/* [smtp] concurrency, at most */

#include <stddef.h>
#include <stdint.h>

#include "quiet.h"
#include "weigh.h"

/* A rate: `count` events per `per` seconds; count 0 means unlimited. */
struct conf_rate {
	uint64_t	count;
	uint64_t	per;
};

/* A frequency cap: at most `count` messages in a sliding `window`. */
struct conf_cap {
	uint64_t	count;
	uint64_t	window;
};

/* Quiet hours, in the recipient's zone ([quiet] or a list's own). */
struct conf_quiet {
	struct quiet_rules	rules;		/* none: no quiet time */
	char			timezone[QUIET_ZONE_MAX + 1];	/* when the
						   recipient's is unknown */
};

/* What the policy and the weigher apply to one list. */
struct conf_policy {
	struct conf_cap		per_recipient;
	uint64_t		min_gap;
	struct weigh_limits	weigh;
	struct conf_quiet	quiet;
};

enum conf_starttls {
	CONF_STARTTLS_NO,
	CONF_STARTTLS_TRY,
	CONF_STARTTLS_REQUIRE
};

struct conf_list {
	char			*name;
	unsigned		 set;		/* CONF_SET_* of overrides */
	struct conf_policy	 policy;
	char			*contact;	/* address or URL; NULL: none */
};

struct conf_domain {
	char			*name;
	struct conf_rate	 rate;
	unsigned		 concurrency;	/* 0: no per-domain limit */
	uint64_t		 daily_limit;	/* 0: none */
};

/* A list of names: "a, b, c". */
struct conf_names {
	char			**v;
	size_t			  n;
};

/* [provider NAME]: domains paced, counted and ramped as one. */
struct conf_provider {
	char			*name;
	struct conf_names	 domains;	/* by name */
	struct conf_names	 mx;		/* MX host suffixes */
	struct conf_rate	 rate;
	unsigned		 concurrency;	/* 0: no limit */
	uint64_t		 daily_limit;	/* 0: none */
};

/* [warmup NAME]: a ramp of daily volumes from a start date. */
struct conf_warmup {
	char			*name;
	int32_t			 start;		/* YYYYMMDD in day_zone */
	uint64_t		*volumes;	/* of ramp days 1..n */
	size_t			 nvolumes;
	struct conf_names	 applies;	/* domains and providers */
};

struct conf {
	unsigned		 refs;		/* conf_ref(), conf_free() */
	char			*path;		/* NULL: built-in defaults */

	/* [daemon] */
	char			*socket;
	char			*state_dir;
	char			*public_listen;
	char			*public_url;
	char			*secret_file;
	char			*metrics_listen;
	char			*hostname;	/* Message-ID and HELO name */
	char			*unsubscribe_mailto;	/* NULL: none */
	char			*page_language;	/* the pages' default ("en") */
	char			*locale_dir;	/* their compiled catalogs */
	int			 require_unsubscribe_link;
	size_t			 max_request;
	uint64_t		 max_recipients;
	uint64_t		 request_timeout;
	uint64_t		 max_connections;	/* per listener */
	uint64_t		 map_size;
	uint64_t		 map_max;
	uint64_t		 commit_interval_ms;
	uint64_t		 commit_batch;
	uint64_t		 campaign_retention;	/* 0: for ever */

	/* [smtp] */
	char			*smtp_url;
	char			*smtp_username;
	char			*smtp_password_file;
	char			*smtp_helo;
	enum conf_starttls	 smtp_starttls;
	unsigned		 concurrency;	/* SMTP connections, one thread
						   each: CONF_CONCURRENCY_MAX */
	struct conf_rate	 rate;
	uint64_t		 burst;
	struct conf_rate	 domain_rate;
	uint64_t		 retry_min;
	uint64_t		 retry_max;
	uint64_t		 max_age;
	uint64_t		 smtp_timeout;
	uint64_t		 shutdown_timeout;
	char			*day_zone;	/* quotas' calendar days */
	uint32_t		 day_start;	/* s after local midnight */

	/* [shaping], [dns] */
	char			*shaping_rules;	/* NULL: no shaping */
	char			*dns_servers;	/* NULL: the system's */

	/* [caps] */
	struct conf_policy	 policy;
	int			 remote_images_measure;
	uint64_t		 remote_timeout;
	uint64_t		 remote_max_requests;

	/* [feedback] */
	char			*return_path;	/* NULL: the From address */
	char			*feedback_sender_id;	/* Feedback-ID's last */
	uint32_t		 pause_complaint_ppm;	/* 0: no breaker */
	uint32_t		 pause_bounce_ppm;
	uint64_t		 pause_min_sent;
	char			*mailbox;	/* NULL: no polling */
	char			*mailbox_user;
	char			*mailbox_password_file;
	uint64_t		 mailbox_interval;
	char			*mailbox_after;	/* "delete" or "move:FOLDER" */

	struct conf_list	*lists;
	size_t			 nlists;
	struct conf_domain	*domains;
	size_t			 ndomains;
	struct conf_provider	*providers;
	size_t			 nproviders;
	struct conf_warmup	*warmups;
	size_t			 nwarmups;
};

/* Which per-list values a [list NAME] section overrides. */
#define CONF_SET_PER_RECIPIENT	0x01
#define CONF_SET_MIN_GAP	0x02
#define CONF_SET_MAX_HTML	0x04
#define CONF_SET_MAX_IMAGES	0x08
#define CONF_SET_MAX_IMAGE	0x10
#define CONF_SET_MAX_IMAGE_TOTAL 0x20
#define CONF_SET_MIN_TEXT	0x40
#define CONF_SET_QUIET_HOURS	0x80
#define CONF_SET_QUIET_DAYS	0x100
#define CONF_SET_TIMEZONE	0x200

struct conf	*conf_defaults(void);
int		 conf_load(const char *, struct conf **, char **);
int		 conf_parse(const char *, size_t, const char *, struct conf **,
		     char **);
/* A reference for another holder (another thread, a pending job). */
struct conf	*conf_ref(struct conf *);
/* Drop a reference; the last one frees. */
void		 conf_free(struct conf *);

/* The effective policy for a list (the [caps] section plus overrides). */
void		 conf_policy_for(const struct conf *, const char *,
		     struct conf_policy *);
/* Does the file have a [list NAME] section for this list? */
int		 conf_list_configured(const struct conf *, const char *);
/* The [list NAME] contact for the pages; NULL: none. */
const char	*conf_list_contact(const struct conf *, const char *);
/* The effective rate for a recipient domain. */
struct conf_rate conf_domain_rate(const struct conf *, const char *);

/* The [domain NAME] section of a domain; NULL if none. */
const struct conf_domain *conf_domain_find(const struct conf *, const char *);
/* The provider a domain is listed in by name; NULL if none. */
const struct conf_provider *conf_provider_of(const struct conf *,
		     const char *);
/* The provider one of whose mx suffixes ends the MX host; NULL if none. */
const struct conf_provider *conf_provider_by_mx(const struct conf *,
		     const char *);
/* The warm-up ramp that applies to a domain or provider name; NULL. */
const struct conf_warmup *conf_warmup_for(const struct conf *, const char *);

/* Value parsers, shared with tests and the fuzzer. */
int		 conf_parse_duration(const char *, uint64_t *, char **);
int		 conf_parse_size(const char *, uint64_t *, char **);
int		 conf_parse_rate(const char *, struct conf_rate *, char **);
int		 conf_parse_cap(const char *, struct conf_cap *, char **);

#endif
