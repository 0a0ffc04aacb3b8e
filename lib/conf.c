/*
 * conf.c: a small INI reader and the table of every option.
 *
 * Syntax: `[section]` or `[list NAME]` / `[domain NAME]`, `key = value`,
 * comments start with `;` or `#` at the start of a line or after white
 * space.  Unknown sections and keys are errors, so a typo never silently
 * leaves a default in force.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf.h"
#include "conf_check.h"
#include "conf_rep.h"
#include "feedback.h"
#include "hostport.h"
#include "text.h"
#include "token.h"
#include "unsub_page.h"
#include "util.h"

/* Where `make install` puts the pages' catalogs (the Makefile says). */
#ifndef CONF_LOCALEDIR
#define CONF_LOCALEDIR "/usr/local/share/manners/locale"
#endif

#define CONF_MAX_FILE	(1024 * 1024)

enum conf_type {
	T_STRING,
	T_LISTEN,		/* a string that hostport_parse() accepts */
	T_SIZE,
	T_DURATION,
	T_UINT,
	T_RATE,
	T_CAP,
	T_BOOL,
	T_STARTTLS,
	T_REMOTE,
	T_UNKNOWN_IMAGES,
	T_PERCENT,		/* "0.3%" into parts per million */
	T_RETURN_PATH,		/* an address manners can add +TOKEN to */
	T_MAILBOX,		/* imap[s]:// or pop3[s]:// */
	T_MAILBOX_AFTER,	/* delete, or move:FOLDER */
	T_NAMES,		/* "a.com, b.com" (conf_rep.c) */
	T_DATE,			/* YYYY-MM-DD */
	T_CURVE,		/* exponential FIRST TARGET DAYS */
	T_VOLUMES,		/* 50, 100, 200 */
	T_DAYSTART,		/* HH:MM[:SS] */
	T_ZONE,			/* an IANA zone ICU knows */
	T_QUIET_HOURS,		/* "21:00-08:00, ...", or none */
	T_QUIET_DAYS,		/* "sat,sun", or none */
	T_TIMEZONE,		/* an IANA zone name ICU knows */
	T_PUBLIC_URL,		/* conf_check_public_url() */
	T_MAILTO,		/* conf_check_mailto() */
	T_CONTACT,		/* an address or an http(s) URL */
	T_LANGUAGE		/* a language tag: en, de, pt-BR */
};

enum conf_section {
	S_DAEMON,
	S_SMTP,
	S_CAPS,
	S_LIST,
	S_DOMAIN,
	S_FEEDBACK,
	S_PROVIDER,
	S_WARMUP,
	S_SHAPING,
	S_DNS,
	S_QUIET
};

struct conf_key {
	enum conf_section	 section;
	const char		*name;
	enum conf_type		 type;
	/* off and sz come first: C(), L() and D() give both. */
	size_t			 off;	/* into struct conf, conf_list or domain */
	size_t			 sz;	/* the field's size, for numbers */
	unsigned		 set;	/* CONF_SET_* for list overrides */
	uint64_t		 min;	/* for numbers: smallest allowed */
};

#define C(f)	offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define L(f)	offsetof(struct conf_list, policy.f), \
		    sizeof(((struct conf_list *)0)->policy.f)
#define D(f)	offsetof(struct conf_domain, f), \
		    sizeof(((struct conf_domain *)0)->f)
#define P(f)	offsetof(struct conf_provider, f), \
		    sizeof(((struct conf_provider *)0)->f)
#define W(f)	offsetof(struct conf_warmup, f), \
		    sizeof(((struct conf_warmup *)0)->f)

static const struct conf_key conf_keys[] = {
	{ S_DAEMON, "socket", T_STRING, C(socket), 0, 0 },
	{ S_DAEMON, "state_dir", T_STRING, C(state_dir), 0, 0 },
	{ S_DAEMON, "public_listen", T_LISTEN, C(public_listen), 0, 0 },
	{ S_DAEMON, "public_url", T_PUBLIC_URL, C(public_url), 0, 0 },
	{ S_DAEMON, "secret_file", T_STRING, C(secret_file), 0, 0 },
	{ S_DAEMON, "metrics_listen", T_LISTEN, C(metrics_listen), 0, 0 },
	{ S_DAEMON, "hostname", T_STRING, C(hostname), 0, 0 },
	{ S_DAEMON, "unsubscribe_mailto", T_MAILTO, C(unsubscribe_mailto), 0,
	    0 },
	{ S_DAEMON, "page_language", T_LANGUAGE, C(page_language), 0, 0 },
	{ S_DAEMON, "locale_dir", T_STRING, C(locale_dir), 0, 0 },
	{ S_DAEMON, "require_unsubscribe_link", T_BOOL,
	    C(require_unsubscribe_link), 0, 0 },
	{ S_DAEMON, "max_request", T_SIZE, C(max_request), 0, 1024 },
	{ S_DAEMON, "max_recipients", T_UINT, C(max_recipients), 0, 1 },
	{ S_DAEMON, "request_timeout", T_DURATION, C(request_timeout), 0, 1 },
	{ S_DAEMON, "max_connections", T_UINT, C(max_connections), 0, 1 },
	{ S_DAEMON, "map_size", T_SIZE, C(map_size), 0, 1024 * 1024 },
	{ S_DAEMON, "map_max", T_SIZE, C(map_max), 0, 1024 * 1024 },
	{ S_DAEMON, "commit_interval_ms", T_UINT, C(commit_interval_ms), 0, 1 },
	{ S_DAEMON, "commit_batch", T_UINT, C(commit_batch), 0, 1 },
	{ S_DAEMON, "campaign_retention", T_DURATION, C(campaign_retention),
	    0, 0 },

	{ S_SMTP, "url", T_STRING, C(smtp_url), 0, 0 },
	{ S_SMTP, "username", T_STRING, C(smtp_username), 0, 0 },
	{ S_SMTP, "password_file", T_STRING, C(smtp_password_file), 0, 0 },
	{ S_SMTP, "helo", T_STRING, C(smtp_helo), 0, 0 },
	{ S_SMTP, "starttls", T_STARTTLS, C(smtp_starttls), 0, 0 },
	{ S_SMTP, "concurrency", T_UINT, C(concurrency), 0, 1 },
	{ S_SMTP, "rate", T_RATE, C(rate), 0, 0 },
	{ S_SMTP, "burst", T_UINT, C(burst), 0, 1 },
	{ S_SMTP, "domain_rate", T_RATE, C(domain_rate), 0, 0 },
	{ S_SMTP, "retry_min", T_DURATION, C(retry_min), 0, 1 },
	{ S_SMTP, "retry_max", T_DURATION, C(retry_max), 0, 1 },
	{ S_SMTP, "max_age", T_DURATION, C(max_age), 0, 1 },
	{ S_SMTP, "timeout", T_DURATION, C(smtp_timeout), 0, 1 },
	{ S_SMTP, "shutdown_timeout", T_DURATION, C(shutdown_timeout), 0, 0 },

	{ S_CAPS, "per_recipient", T_CAP, C(policy.per_recipient), 0, 0 },
	{ S_CAPS, "min_gap", T_DURATION, C(policy.min_gap), 0, 0 },
	{ S_CAPS, "max_html", T_SIZE, C(policy.weigh.max_html), 0, 0 },
	{ S_CAPS, "max_images", T_UINT, C(policy.weigh.max_images), 0, 0 },
	{ S_CAPS, "max_image", T_SIZE, C(policy.weigh.max_image), 0, 0 },
	{ S_CAPS, "max_image_total", T_SIZE,
	    C(policy.weigh.max_image_total), 0, 0 },
	{ S_CAPS, "min_text_per_image", T_UINT,
	    C(policy.weigh.min_text_per_image), 0, 0 },
	{ S_CAPS, "remote_images", T_REMOTE, C(remote_images_measure), 0, 0 },
	{ S_CAPS, "remote_images_unknown", T_UNKNOWN_IMAGES,
	    C(policy.weigh.remote_unknown_refuse), 0, 0 },
	{ S_CAPS, "remote_timeout", T_DURATION, C(remote_timeout), 0, 1 },
	{ S_CAPS, "remote_max_requests", T_UINT, C(remote_max_requests), 0, 0 },

	{ S_LIST, "per_recipient", T_CAP, L(per_recipient),
	    CONF_SET_PER_RECIPIENT, 0 },
	{ S_LIST, "contact", T_CONTACT, offsetof(struct conf_list, contact),
	    sizeof(char *), 0, 0 },
	{ S_LIST, "min_gap", T_DURATION, L(min_gap), CONF_SET_MIN_GAP, 0 },
	{ S_LIST, "max_html", T_SIZE, L(weigh.max_html), CONF_SET_MAX_HTML, 0 },
	{ S_LIST, "max_images", T_UINT, L(weigh.max_images),
	    CONF_SET_MAX_IMAGES, 0 },
	{ S_LIST, "max_image", T_SIZE, L(weigh.max_image),
	    CONF_SET_MAX_IMAGE, 0 },
	{ S_LIST, "max_image_total", T_SIZE, L(weigh.max_image_total),
	    CONF_SET_MAX_IMAGE_TOTAL, 0 },
	{ S_LIST, "min_text_per_image", T_UINT, L(weigh.min_text_per_image),
	    CONF_SET_MIN_TEXT, 0 },

	{ S_DOMAIN, "rate", T_RATE, D(rate), 0, 0 },
	{ S_DOMAIN, "concurrency", T_UINT, D(concurrency), 0, 1 },
	{ S_DOMAIN, "daily_limit", T_UINT, D(daily_limit), 0, 1 },

	{ S_SMTP, "day_zone", T_ZONE, C(day_zone), 0, 0 },
	{ S_SMTP, "day_start", T_DAYSTART, C(day_start), 0, 0 },
	{ S_PROVIDER, "domains", T_NAMES, P(domains), 0, 0 },
	{ S_PROVIDER, "mx", T_NAMES, P(mx), 0, 0 },
	{ S_PROVIDER, "rate", T_RATE, P(rate), 0, 0 },
	{ S_PROVIDER, "concurrency", T_UINT, P(concurrency), 0, 1 },
	{ S_PROVIDER, "daily_limit", T_UINT, P(daily_limit), 0, 1 },
	{ S_WARMUP, "start", T_DATE, W(start), 0, 0 },
	{ S_WARMUP, "curve", T_CURVE, W(volumes), 0, 0 },
	{ S_WARMUP, "volumes", T_VOLUMES, W(volumes), 0, 0 },
	{ S_WARMUP, "applies", T_NAMES, W(applies), 0, 0 },
	{ S_SHAPING, "rules", T_STRING, C(shaping_rules), 0, 0 },
	{ S_DNS, "servers", T_STRING, C(dns_servers), 0, 0 },

	{ S_FEEDBACK, "return_path", T_RETURN_PATH, C(return_path), 0, 0 },
	{ S_FEEDBACK, "sender_id", T_STRING, C(feedback_sender_id), 0, 0 },
	{ S_FEEDBACK, "pause_complaint_rate", T_PERCENT,
	    C(pause_complaint_ppm), 0, 0 },
	{ S_FEEDBACK, "pause_bounce_rate", T_PERCENT, C(pause_bounce_ppm), 0,
	    0 },
	{ S_FEEDBACK, "pause_min_sent", T_UINT, C(pause_min_sent), 0, 1 },
	{ S_FEEDBACK, "mailbox", T_MAILBOX, C(mailbox), 0, 0 },
	{ S_FEEDBACK, "mailbox_user", T_STRING, C(mailbox_user), 0, 0 },
	{ S_FEEDBACK, "mailbox_password_file", T_STRING,
	    C(mailbox_password_file), 0, 0 },
	{ S_FEEDBACK, "mailbox_interval", T_DURATION, C(mailbox_interval), 0,
	    1 },
	{ S_FEEDBACK, "mailbox_after", T_MAILBOX_AFTER, C(mailbox_after), 0,
	    0 },

	{ S_QUIET, "hours", T_QUIET_HOURS, C(policy.quiet.rules), 0, 0 },
	{ S_QUIET, "days", T_QUIET_DAYS, C(policy.quiet.rules), 0, 0 },
	{ S_QUIET, "timezone", T_TIMEZONE, C(policy.quiet.timezone), 0, 0 },
	{ S_LIST, "quiet_hours", T_QUIET_HOURS, L(quiet.rules),
	    CONF_SET_QUIET_HOURS, 0 },
	{ S_LIST, "quiet_days", T_QUIET_DAYS, L(quiet.rules),
	    CONF_SET_QUIET_DAYS, 0 },
	{ S_LIST, "timezone", T_TIMEZONE, L(quiet.timezone), CONF_SET_TIMEZONE,
	    0 },
};

static const char *conf_section_names[] = {
	"daemon", "smtp", "caps", "list", "domain", "feedback", "provider",
	"warmup", "shaping", "dns", "quiet"
};

/* Built-in development defaults: everything under ./var/. */
struct conf *
conf_defaults(void)
{
	struct conf	*c;

	c = xcalloc(1, sizeof *c);
	c->refs = 1;
	c->socket = xstrdup("var/control.sock");
	c->state_dir = xstrdup("var/state");
	c->public_listen = xstrdup("127.0.0.1:8025");
	c->public_url = xstrdup("http://127.0.0.1:8025");
	c->page_language = xstrdup("en");
	c->locale_dir = xstrdup(CONF_LOCALEDIR);
	c->secret_file = xstrdup("var/secret");
	c->max_request = 256 * 1024 * 1024;
	c->max_recipients = 2000000;
	c->request_timeout = 60;
	c->max_connections = 1000;
	c->map_size = 1024ULL * 1024 * 1024;
	c->map_max = 64ULL * 1024 * 1024 * 1024;
	c->commit_interval_ms = 50;
	c->commit_batch = 512;
	c->campaign_retention = 180 * 86400;

	c->smtp_url = xstrdup("smtp://127.0.0.1:2525");
	c->smtp_starttls = CONF_STARTTLS_NO;
	c->concurrency = 4;
	c->rate.count = 50;
	c->rate.per = 1;
	c->burst = 1;
	c->domain_rate.count = 5;
	c->domain_rate.per = 1;
	c->retry_min = 60;
	c->retry_max = 6 * 3600;
	c->max_age = 3 * 86400;
	c->smtp_timeout = 60;
	c->shutdown_timeout = 30;
	c->day_zone = xstrdup("UTC");

	c->policy.per_recipient.count = 4;
	c->policy.per_recipient.window = 30 * 86400;
	c->policy.min_gap = 2 * 86400;
	weigh_limits_default(&c->policy.weigh);
	snprintf(c->policy.quiet.timezone, sizeof c->policy.quiet.timezone,
	    "UTC");
	c->remote_images_measure = 1;
	c->remote_timeout = 5;
	c->remote_max_requests = 50;

	c->feedback_sender_id = xstrdup("manners");
	c->pause_complaint_ppm = 3000;		/* 0.3 %: Gmail's and Yahoo's */
	c->pause_bounce_ppm = 50000;		/* 5 % */
	c->pause_min_sent = 1000;
	c->mailbox_interval = 60;
	c->mailbox_after = xstrdup("delete");
	return c;
}

/* Take another reference to a configuration. */
struct conf *
conf_ref(struct conf *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

/* Drop a reference; free the configuration with the last one. */
void
conf_free(struct conf *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	free(c->path);
	free(c->socket);
	free(c->state_dir);
	free(c->public_listen);
	free(c->public_url);
	free(c->secret_file);
	free(c->metrics_listen);
	free(c->hostname);
	free(c->unsubscribe_mailto);
	free(c->smtp_url);
	free(c->smtp_username);
	free(c->smtp_password_file);
	free(c->smtp_helo);
	free(c->return_path);
	free(c->feedback_sender_id);
	free(c->mailbox);
	free(c->mailbox_user);
	free(c->mailbox_password_file);
	free(c->mailbox_after);
	free(c->page_language);
	free(c->locale_dir);
	for (i = 0; i < c->nlists; i++) {
		free(c->lists[i].name);
		free(c->lists[i].contact);
	}
	free(c->lists);
	for (i = 0; i < c->ndomains; i++)
		free(c->domains[i].name);
	free(c->domains);
	free(c->day_zone);
	free(c->shaping_rules);
	free(c->dns_servers);
	conf_rep_free(c);
	free(c);
}

/* Split "123abc" into a number and a suffix; refuse signs and overflow. */
static int
conf_number(const char *s, uint64_t *v, const char **suffix)
{
	uint64_t	 n = 0;

	if (!isdigit((unsigned char)*s))
		return -1;
	for (; isdigit((unsigned char)*s); s++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*v = n;
	*suffix = s;
	return 0;
}

/* Multiply with an overflow check. */
static int
conf_mul(uint64_t a, uint64_t b, uint64_t *r)
{
	if (b != 0 && a > UINT64_MAX / b)
		return -1;
	*r = a * b;
	return 0;
}

/* "90", "90s", "15m", "6h", "30d", "2w" to seconds. */
int
conf_parse_duration(const char *s, uint64_t *out, char **cause)
{
	const char	*suffix;
	uint64_t	 n, mul;

	if (conf_number(s, &n, &suffix) == -1)
		return set_cause(cause, "bad duration \"%s\" (want a number "
		    "with a unit s, m, h, d or w, e.g. 30d)", s);
	if (*suffix == '\0' || strcmp(suffix, "s") == 0)
		mul = 1;
	else if (strcmp(suffix, "m") == 0)
		mul = 60;
	else if (strcmp(suffix, "h") == 0)
		mul = 3600;
	else if (strcmp(suffix, "d") == 0)
		mul = 86400;
	else if (strcmp(suffix, "w") == 0)
		mul = 7 * 86400;
	else
		return set_cause(cause, "bad duration unit \"%s\" in \"%s\" "
		    "(want s, m, h, d or w)", suffix, s);
	if (conf_mul(n, mul, out) == -1 || *out > 100ULL * 365 * 86400)
		return set_cause(cause, "duration \"%s\" is too long", s);
	return 0;
}

/* "512", "100k", "256m", "2g" (powers of 1024) to bytes. */
int
conf_parse_size(const char *s, uint64_t *out, char **cause)
{
	const char	*suffix;
	uint64_t	 n, mul;

	if (conf_number(s, &n, &suffix) == -1)
		return set_cause(cause, "bad size \"%s\" (want a number with "
		    "an optional unit k, m or g, e.g. 100k)", s);
	if (*suffix == '\0')
		mul = 1;
	else if (strcasecmp(suffix, "k") == 0)
		mul = 1024;
	else if (strcasecmp(suffix, "m") == 0)
		mul = 1024 * 1024;
	else if (strcasecmp(suffix, "g") == 0)
		mul = 1024 * 1024 * 1024;
	else
		return set_cause(cause, "bad size unit \"%s\" in \"%s\" "
		    "(want k, m or g)", suffix, s);
	if (conf_mul(n, mul, out) == -1 || *out > (1ULL << 48))
		return set_cause(cause, "size \"%s\" is too large", s);
	return 0;
}

/* "50/s", "300/m", "1000/h", "unlimited" or "0". */
int
conf_parse_rate(const char *s, struct conf_rate *r, char **cause)
{
	const char	*slash;
	char		*num;
	uint64_t	 n, per;
	int		 rv;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "0") == 0) {
		r->count = 0;
		r->per = 1;
		return 0;
	}
	if ((slash = strchr(s, '/')) == NULL)
		return set_cause(cause, "bad rate \"%s\" (want N/s, N/m, "
		    "N/h or N/d, e.g. 50/s, or unlimited)", s);
	num = xstrndup(s, (size_t)(slash - s));
	rv = conf_parse_size(num, &n, NULL);
	free(num);
	if (rv == -1 || n == 0 || n > 1000000)
		return set_cause(cause, "bad rate \"%s\": the count must be "
		    "a whole number from 1 to 1000000", s);
	if (strcmp(slash + 1, "s") == 0)
		per = 1;
	else if (strcmp(slash + 1, "m") == 0)
		per = 60;
	else if (strcmp(slash + 1, "h") == 0)
		per = 3600;
	else if (strcmp(slash + 1, "d") == 0)
		per = 86400;
	else
		return set_cause(cause, "bad rate unit \"%s\" in \"%s\" "
		    "(want s, m, h or d)", slash + 1, s);
	r->count = n;
	r->per = per;
	return 0;
}

/* "4/30d": at most 4 in any 30 days; "unlimited" or "0" disables it. */
int
conf_parse_cap(const char *s, struct conf_cap *c, char **cause)
{
	const char	*slash;
	const char	*suffix;
	uint64_t	 n, w;

	if (strcmp(s, "unlimited") == 0 || strcmp(s, "0") == 0) {
		c->count = 0;
		c->window = 0;
		return 0;
	}
	if ((slash = strchr(s, '/')) == NULL || conf_number(s, &n, &suffix)
	    == -1 || suffix != slash || n == 0 || n > 1000000)
		return set_cause(cause, "bad cap \"%s\" (want COUNT/WINDOW, "
		    "e.g. 4/30d, with COUNT from 1 to 1000000)", s);
	if (conf_parse_duration(slash + 1, &w, NULL) == -1 || w == 0)
		return set_cause(cause, "bad cap window \"%s\" in \"%s\" "
		    "(want a duration with a unit s, m, h, d or w)",
		    slash + 1, s);
	c->count = n;
	c->window = w;
	return 0;
}

/* Parse yes/no and friends. */
static int
conf_parse_bool(const char *s, int *v)
{
	if (strcmp(s, "yes") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*v = 1;
	else if (strcmp(s, "no") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*v = 0;
	else
		return -1;
	return 0;
}

/* "0.3%" (or "0.3 %", or "0") as parts per million, 0 to 100 %. */
static int
conf_parse_percent(const char *v, const char *key, uint32_t *ppm,
    char **cause)
{
	char	*end;
	double	 d;

	d = strtod(v, &end);
	while (*end == ' ')
		end++;
	if (end == v || !isdigit((unsigned char)*v) || (*end != '%' &&
	    !(*end == '\0' && d == 0)) || (*end == '%' && end[1] != '\0') ||
	    d < 0 || d > 100)
		return set_cause(cause, "bad percentage \"%s\" for %s (want "
		    "e.g. 0.3%%, from 0 to 100%%; 0 turns it off)", v, key);
	*ppm = (uint32_t)(d * 10000.0 + 0.5);
	return 0;
}

/* mailbox (an IMAP or POP3 URL) and mailbox_after (delete, move:F). */
static int
conf_set_mailbox(const struct conf_key *k, void *p, const char *v,
    char **cause)
{
	if (k->type == T_MAILBOX && !strcaseprefix(v, "imap://") &&
	    !strcaseprefix(v, "imaps://") && !strcaseprefix(v, "pop3://") &&
	    !strcaseprefix(v, "pop3s://"))
		return set_cause(cause, "mailbox \"%s\" is not an imap://, "
		    "imaps://, pop3:// or pop3s:// URL", v);
	if (k->type == T_MAILBOX && strpbrk(v, " \t\r\n\"<>") != NULL)
		return set_cause(cause, "mailbox \"%s\" has a space, a quote "
		    "or an angle bracket", v);
	if (k->type == T_MAILBOX_AFTER && strcmp(v, "delete") != 0 &&
	    (strncmp(v, "move:", 5) != 0 || v[5] == '\0' || strpbrk(v + 5,
	    " \t\r\n\"\\{}()%*") != NULL))
		return set_cause(cause, "mailbox_after \"%s\": want delete, or "
		    "move:FOLDER (an IMAP folder name without spaces or "
		    "quotes)", v);
	free(*(char **)p);
	*(char **)p = xstrdup(v);
	return 0;
}

/* return_path: checked as the drain will use it, with a token's length. */
static int
conf_return_path(const char *v, char **p, char **cause)
{
	char	 tok[TOKEN_LEN + 1], out[512];

	memset(tok, 'A', TOKEN_LEN);
	tok[TOKEN_LEN] = '\0';
	if (feedback_return_path(v, tok, out, sizeof out, cause) == -1)
		return -1;
	free(*p);
	*p = xstrdup(v);
	return 0;
}

/* Quiet hours, quiet days ("none": not any) and a time zone. */
static int
conf_set_quiet(const struct conf_key *k, void *p, const char *v, char **cause)
{
	struct quiet_rules	*r = p;
	struct quiet_zone	*z;

	if (k->type == T_TIMEZONE) {
		/* Checked here: an unknown zone fails `mannersd -t`. */
		if ((z = quiet_zone_open(v, cause)) == NULL)
			return -1;
		quiet_zone_free(z);
		snprintf(p, QUIET_ZONE_MAX + 1, "%s", v);
		return 0;
	}
	if (strcmp(v, "none") == 0) {
		if (k->type == T_QUIET_HOURS)
			r->nw = 0;
		else
			r->days = 0;
		return 0;
	}
	if (*v == '\0')
		return set_cause(cause, "%s needs a value (or none)", k->name);
	if (k->type == T_QUIET_HOURS)
		return quiet_parse_hours(v, r, cause);
	return quiet_parse_days(v, r, cause);
}

/* public_url and unsubscribe_mailto: checked, stored normalised. */
static int
conf_set_link(const struct conf_key *k, void *p, const char *v, char **cause)
{
	char	*norm;

	if ((k->type == T_PUBLIC_URL ? conf_check_public_url(v, &norm,
	    cause) : conf_check_mailto(v, &norm, cause)) == -1)
		return -1;
	free(*(char **)p);
	*(char **)p = norm;
	return 0;
}

/* A string: a contact, a language tag or a listen address checked. */
static int
conf_set_string(const struct conf_key *k, void *p, const char *v,
    char **cause)
{
	switch (k->type) {
	case T_CONTACT:
		if (!unsub_page_contact_ok(v))
			return set_cause(cause, "contact = %.80s: want an "
			    "address (questions@example.com) or an http(s) "
			    "URL, without spaces or quotes", v);
		break;
	case T_LANGUAGE:
		if (strlen(v) < 2 || strlen(v) > 15 || strspn(v,
		    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") !=
		    strlen(v))
			return set_cause(cause, "page_language = %.80s: want a "
			    "language tag such as en, de, fr or es", v);
		break;
	case T_LISTEN:
		/* Checked here, so `mannersd -t` and a reload refuse it too. */
		if (*v != '\0' && hostport_parse(v, k->name, NULL, NULL,
		    cause) == -1)
			return -1;
		break;
	default:
		break;
	}
	if (*v == '\0')
		return set_cause(cause, "%s needs a value", k->name);
	free(*(char **)p);
	*(char **)p = xstrdup(v);
	return 0;
}

/* A size, a duration or a whole number, at least the key's minimum. */
static int
conf_set_number(const struct conf_key *k, void *p, const char *v,
    char **cause)
{
	const char	*suffix;
	uint64_t	 n;

	if (k->type == T_SIZE) {
		if (conf_parse_size(v, &n, cause) == -1)
			return -1;
	} else if (k->type == T_DURATION) {
		if (conf_parse_duration(v, &n, cause) == -1)
			return -1;
	} else if (conf_number(v, &n, &suffix) == -1 || *suffix != '\0' ||
	    n > UINT32_MAX)
		return set_cause(cause, "bad number \"%s\" for %s (want a "
		    "whole number)", v, k->name);
	if (n < k->min)
		return set_cause(cause, "%s = %s is below the minimum of %"
		    PRIu64, k->name, v, k->min);
	if (k->sz == sizeof(uint32_t)) {
		if (n > UINT32_MAX)
			return set_cause(cause, "%s = %s is too large", k->name,
			    v);
		*(uint32_t *)p = (uint32_t)n;
	} else
		*(uint64_t *)p = n;
	return 0;
}

/* A word among a key's few: yes/no, starttls, remote_images(_unknown). */
static int
conf_set_word(const struct conf_key *k, void *p, const char *v,
    char **cause)
{
	int	 b;

	switch (k->type) {
	case T_BOOL:
		if (conf_parse_bool(v, &b) == -1)
			return set_cause(cause, "bad value \"%s\" for %s (want "
			    "yes or no)", v, k->name);
		*(int *)p = b;
		return 0;
	case T_STARTTLS:
		if (strcmp(v, "no") == 0)
			*(enum conf_starttls *)p = CONF_STARTTLS_NO;
		else if (strcmp(v, "try") == 0)
			*(enum conf_starttls *)p = CONF_STARTTLS_TRY;
		else if (strcmp(v, "require") == 0)
			*(enum conf_starttls *)p = CONF_STARTTLS_REQUIRE;
		else
			return set_cause(cause, "bad value \"%s\" for starttls "
			    "(want no, try or require)", v);
		return 0;
	case T_REMOTE:
		if (strcmp(v, "measure") == 0)
			*(int *)p = 1;
		else if (strcmp(v, "ignore") == 0)
			*(int *)p = 0;
		else
			return set_cause(cause, "bad value \"%s\" for "
			    "remote_images (want measure or ignore)", v);
		return 0;
	default:
		if (strcmp(v, "refuse") == 0)
			*(int *)p = 1;
		else if (strcmp(v, "allow") == 0)
			*(int *)p = 0;
		else
			return set_cause(cause, "bad value \"%s\" for "
			    "remote_images_unknown (want allow or refuse)", v);
		return 0;
	}
}

/* Store one value of the given type at `p`. */
static int
conf_set(const struct conf_key *k, void *p, const char *v, char **cause)
{
	switch (k->type) {
	case T_CONTACT:
	case T_LANGUAGE:
	case T_LISTEN:
	case T_STRING:
		return conf_set_string(k, p, v, cause);
	case T_SIZE:
	case T_DURATION:
	case T_UINT:
		return conf_set_number(k, p, v, cause);
	case T_BOOL:
	case T_STARTTLS:
	case T_REMOTE:
	case T_UNKNOWN_IMAGES:
		return conf_set_word(k, p, v, cause);
	case T_RATE:
		return conf_parse_rate(v, p, cause);
	case T_CAP:
		return conf_parse_cap(v, p, cause);
	case T_PERCENT:
		return conf_parse_percent(v, k->name, p, cause);
	case T_RETURN_PATH:
		return conf_return_path(v, p, cause);
	case T_MAILBOX:
	case T_MAILBOX_AFTER:
		return conf_set_mailbox(k, p, v, cause);
	case T_NAMES:
		return conf_rep_names(v, p, k->name, cause);
	case T_DATE:
		return conf_rep_date(v, p, k->name, cause);
	case T_CURVE:
	case T_VOLUMES:
		return conf_rep_volumes(v, k->type == T_CURVE, p, cause);
	case T_DAYSTART:
		return conf_rep_day_start(v, p, cause);
	case T_ZONE:
		return conf_rep_zone(v, p, cause);
	case T_QUIET_HOURS:
	case T_QUIET_DAYS:
	case T_TIMEZONE:
		return conf_set_quiet(k, p, v, cause);
	case T_PUBLIC_URL:
	case T_MAILTO:
		return conf_set_link(k, p, v, cause);
	}
	return set_cause(cause, "internal error: key type");
}

/* Cut a comment that starts a line or follows white space. */
static void
conf_uncomment(char *s)
{
	char	*p;

	for (p = s; *p != '\0'; p++) {
		if ((*p == ';' || *p == '#') &&
		    (p == s || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/* A list or domain name: a hostname-like token. */
static int
conf_valid_name(const char *s)
{
	if (*s == '\0' || strlen(s) > 253)
		return 0;
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' &&
		    *s != '_')
			return 0;
	}
	return 1;
}

/* Where the reader stands: the section and the struct its keys fill. */
struct conf_cursor {
	struct conf		*c;
	enum conf_section	 sect;
	int			 have_sect;
	void			*base;
	unsigned		 lineno;
	/* Where each key was set in this section (0: not yet). */
	unsigned		 seen[nitems(conf_keys)];
};

/* Open a [list NAME]: a new list whose keys override [caps]. */
static int
conf_add_list(struct conf_cursor *cur, const char *arg, char **err)
{
	struct conf	*c = cur->c;
	size_t		 j;

	for (j = 0; j < c->nlists; j++)
		if (strcasecmp(c->lists[j].name, arg) == 0)
			return set_cause(err, "[list %s] appears twice", arg);
	c->lists = xreallocarray(c->lists, c->nlists + 1, sizeof *c->lists);
	memset(&c->lists[c->nlists], 0, sizeof *c->lists);
	c->lists[c->nlists].name = xstrtolower(arg);
	cur->base = &c->lists[c->nlists++];
	return 0;
}

/* Open a [domain NAME]: a new domain with its own cadence. */
static int
conf_add_domain(struct conf_cursor *cur, const char *arg, char **err)
{
	struct conf	*c = cur->c;
	size_t		 j;

	for (j = 0; j < c->ndomains; j++)
		if (strcasecmp(c->domains[j].name, arg) == 0)
			return set_cause(err, "[domain %s] appears twice",
			    arg);
	c->domains = xreallocarray(c->domains, c->ndomains + 1,
	    sizeof *c->domains);
	memset(&c->domains[c->ndomains], 0, sizeof *c->domains);
	c->domains[c->ndomains].name = xstrtolower(arg);
	cur->base = &c->domains[c->ndomains++];
	return 0;
}

/* A section header line, "[name]" or "[name ARG]". */
static int
conf_section_line(struct conf_cursor *cur, char *line, char **err)
{
	char	*end = strchr(line, ']'), *name, *arg;
	size_t	 i;

	if (end == NULL || end[1] != '\0')
		return set_cause(err, "section header without a closing ]");
	*end = '\0';
	name = text_trim(line + 1);
	arg = name + strcspn(name, " \t");
	if (*arg != '\0') {
		*arg++ = '\0';
		arg = text_trim(arg);
	}
	for (i = 0; i < nitems(conf_section_names); i++)
		if (strcmp(name, conf_section_names[i]) == 0)
			break;
	if (i == nitems(conf_section_names))
		return set_cause(err, "unknown section [%s] (want daemon, "
		    "smtp, caps, list NAME or domain NAME)", name);
	cur->sect = (enum conf_section)i;
	if ((cur->sect == S_LIST || cur->sect == S_DOMAIN || cur->sect ==
	    S_PROVIDER || cur->sect == S_WARMUP) != (*arg != '\0'))
		return set_cause(err, *arg == '\0' ? "[%s] needs a name, e.g. "
		    "[%s news.example.com]" : "[%s] takes no name", name, name);
	if (*arg != '\0' && !conf_valid_name(arg))
		return set_cause(err, "bad %s name \"%s\"", name, arg);
	cur->have_sect = 1;
	cur->base = cur->c;
	/* A named section ([list NAME], [domain NAME], [provider NAME],
	   [warmup NAME]) is a new set of keys each time. */
	for (i = 0; i < nitems(conf_keys); i++)
		if (conf_keys[i].section == cur->sect && *arg != '\0')
			cur->seen[i] = 0;
	if (cur->sect == S_LIST)
		return conf_add_list(cur, arg, err);
	if (cur->sect == S_DOMAIN)
		return conf_add_domain(cur, arg, err);
	if (cur->sect == S_PROVIDER || cur->sect == S_WARMUP)
		return conf_rep_section(cur->c, cur->sect == S_PROVIDER, arg,
		    &cur->base, err);
	return 0;
}

/* A "key = value" line: find the key's row in conf_keys[] and set it. */
static int
conf_key_line(struct conf_cursor *cur, char *line, char **err)
{
	const struct conf_key	*k;
	char			*eq, *key, *val;
	size_t			 i;

	if ((eq = strchr(line, '=')) == NULL)
		return set_cause(err, "expected key = value, got \"%s\"", line);
	if (!cur->have_sect)
		return set_cause(err, "%s outside any section (put it under "
		    "[daemon], [smtp] or [caps])", line);
	*eq = '\0';
	key = text_trim(line);
	val = text_trim(eq + 1);
	if (strlen(val) >= 2 && val[0] == '"' && val[strlen(val) - 1] == '"') {
		val[strlen(val) - 1] = '\0';
		val++;
	}
	for (i = 0; i < nitems(conf_keys); i++) {
		k = &conf_keys[i];
		if (k->section != cur->sect || strcmp(k->name, key) != 0)
			continue;
		if (cur->seen[i] != 0)
			return set_cause(err, "%s is set twice in [%s] (first on "
			    "line %u): remove one, so the file says what is in "
			    "force", key, conf_section_names[cur->sect],
			    cur->seen[i]);
		cur->seen[i] = cur->lineno;
		if (conf_set(k, (char *)cur->base + k->off, val, err) == -1)
			return -1;
		if (cur->sect == S_LIST)
			((struct conf_list *)cur->base)->set |= k->set;
		return 0;
	}
	return set_cause(err, "unknown key \"%s\" in [%s]", key,
	    conf_section_names[cur->sect]);
}

/* The checks across keys, once the whole file has been read. */
static int
conf_finish(struct conf *c, const char *fname, char **cause)
{
	size_t	 i;

	if (c->map_max < c->map_size)
		c->map_max = c->map_size;
	if (c->retry_min > c->retry_max)
		return set_cause(cause, "%s: [smtp] retry_min is longer than "
		    "retry_max", fname);
	if (c->concurrency > CONF_CONCURRENCY_MAX)
		return set_cause(cause, "%s: [smtp] concurrency = %u is above "
		    "the maximum of %u (each connection has a thread of its "
		    "own)", fname, c->concurrency, CONF_CONCURRENCY_MAX);
	if (strspn(c->feedback_sender_id, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    strlen(c->feedback_sender_id))
		return set_cause(cause, "%s: [feedback] sender_id \"%s\": "
		    "letters, digits, '.', '_' and '-' only (it is a field of "
		    "Feedback-ID, which ':' separates)", fname,
		    c->feedback_sender_id);
	if (c->mailbox != NULL && c->mailbox_user == NULL)
		return set_cause(cause, "%s: [feedback] mailbox needs "
		    "mailbox_user (and mailbox_password_file)", fname);
	if (c->mailbox != NULL && strncasecmp(c->mailbox, "pop3", 4) == 0 &&
	    strncmp(c->mailbox_after, "move:", 5) == 0)
		return set_cause(cause, "%s: [feedback] mailbox_after = %s "
		    "needs an IMAP mailbox: POP3 can only delete", fname,
		    c->mailbox_after);
	for (i = 0; i < c->ndomains; i++) {
		/* A domain without its own rate follows domain_rate. */
		if (c->domains[i].rate.per == 0)
			c->domains[i].rate = c->domain_rate;
	}
	if (conf_rep_finish(c, fname, cause) == -1)
		return -1;
	c->path = xstrdup(fname);
	return 0;
}

/* Parse a whole file's text into a new conf, line by line. */
int
conf_parse(const char *text, size_t len, const char *fname, struct conf **out,
    char **cause)
{
	struct conf_cursor	 cur;
	char			*copy, *line, *next, *err = NULL;
	unsigned		 lineno = 0;
	int			 rc = 0;

	*out = NULL;
	if (memchr(text, '\0', len) != NULL)
		return set_cause(cause, "%s: contains a NUL byte", fname);
	memset(&cur, 0, sizeof cur);
	cur.c = conf_defaults();
	cur.sect = S_DAEMON;
	copy = xstrndup(text, len);
	for (line = copy; line != NULL && rc == 0; line = next) {
		cur.lineno = ++lineno;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		conf_uncomment(line);
		line = text_trim(line);
		if (*line == '[')
			rc = conf_section_line(&cur, line, &err);
		else if (*line != '\0')
			rc = conf_key_line(&cur, line, &err);
	}
	free(copy);
	if (rc == -1) {
		set_cause(cause, "%s:%u: %s", fname, lineno, err);
		free(err);
	} else
		rc = conf_finish(cur.c, fname, cause);
	if (rc == -1) {
		conf_free(cur.c);
		return -1;
	}
	*out = cur.c;
	return 0;
}

/* Read and parse a file. */
int
conf_load(const char *path, struct conf **out, char **cause)
{
	struct buf	 b;
	char		 chunk[8192];
	ssize_t		 n;
	int		 fd, rv;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return set_cause(cause, "cannot read the configuration file "
		    "%s: %s%s", path, strerror(errno), errno == ENOENT ?
		    " (check the path given to -c; without -c mannersd uses "
		    "development defaults under ./var/)" : "");
	buf_init(&b);
	while ((n = read(fd, chunk, sizeof chunk)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			rv = set_cause(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
		buf_add(&b, chunk, (size_t)n);
		if (b.len > CONF_MAX_FILE) {
			rv = set_cause(cause, "%s: larger than 1 MiB; is this "
			    "the config file?", path);
			goto out;
		}
	}
	rv = conf_parse(b.data == NULL ? "" : b.data, b.len, path, out, cause);
out:
	close(fd);
	buf_free(&b);
	return rv;
}

/* A list's quiet-hour overrides applied over [quiet]'s. */
static void
conf_quiet_for(const struct conf_list *l, struct conf_quiet *q)
{
	const struct conf_quiet	*o = &l->policy.quiet;

	if (l->set & CONF_SET_QUIET_HOURS) {
		memcpy(q->rules.w, o->rules.w, sizeof q->rules.w);
		q->rules.nw = o->rules.nw;
	}
	if (l->set & CONF_SET_QUIET_DAYS)
		q->rules.days = o->rules.days;
	if (l->set & CONF_SET_TIMEZONE)
		memcpy(q->timezone, o->timezone, sizeof q->timezone);
}

/* The [list NAME] contact, if any. */
const char *
conf_list_contact(const struct conf *c, const char *list)
{
	size_t	 i;

	for (i = 0; list != NULL && i < c->nlists; i++)
		if (strcasecmp(c->lists[i].name, list) == 0)
			return c->lists[i].contact;
	return NULL;
}

/* The policy of [caps] with the overrides of [list NAME] applied. */
void
conf_policy_for(const struct conf *c, const char *list, struct conf_policy *p)
{
	const struct conf_list	*l = NULL;
	size_t			 i;

	*p = c->policy;
	for (i = 0; list != NULL && i < c->nlists; i++) {
		if (strcasecmp(c->lists[i].name, list) == 0) {
			l = &c->lists[i];
			break;
		}
	}
	if (l == NULL)
		return;
	if (l->set & CONF_SET_PER_RECIPIENT)
		p->per_recipient = l->policy.per_recipient;
	if (l->set & CONF_SET_MIN_GAP)
		p->min_gap = l->policy.min_gap;
	if (l->set & CONF_SET_MAX_HTML)
		p->weigh.max_html = l->policy.weigh.max_html;
	if (l->set & CONF_SET_MAX_IMAGES)
		p->weigh.max_images = l->policy.weigh.max_images;
	if (l->set & CONF_SET_MAX_IMAGE)
		p->weigh.max_image = l->policy.weigh.max_image;
	if (l->set & CONF_SET_MAX_IMAGE_TOTAL)
		p->weigh.max_image_total = l->policy.weigh.max_image_total;
	if (l->set & CONF_SET_MIN_TEXT)
		p->weigh.min_text_per_image = l->policy.weigh.min_text_per_image;
	conf_quiet_for(l, &p->quiet);
}

/* The [domain NAME] section of a domain; NULL if none. */
const struct conf_domain *
conf_domain_find(const struct conf *c, const char *domain)
{
	size_t	 i;

	for (i = 0; i < c->ndomains; i++)
		if (strcasecmp(c->domains[i].name, domain) == 0)
			return &c->domains[i];
	return NULL;
}

/* The cadence for one recipient domain. */
struct conf_rate
conf_domain_rate(const struct conf *c, const char *domain)
{
	size_t	 i;

	for (i = 0; i < c->ndomains; i++)
		if (strcasecmp(c->domains[i].name, domain) == 0)
			return c->domains[i].rate;
	return c->domain_rate;
}

/* Does the file have a [list NAME] section for this list? */
int
conf_list_configured(const struct conf *c, const char *list)
{
	size_t	 i;

	for (i = 0; i < c->nlists; i++)
		if (strcasecmp(c->lists[i].name, list) == 0)
			return 1;
	return 0;
}
