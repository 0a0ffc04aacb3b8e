/*
 * test_conf.c: the configuration file: every error names FILE:LINE,
 * every documented option lands in struct conf, and the per-list and
 * per-domain overrides apply where they should.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "conf.h"
#include "util.h"

#define DAY	UINT64_C(86400)
#define KB	UINT64_C(1024)

/* Parse a NUL-terminated text as the file "test.conf". */
static int
parse(const char *text, struct conf **c, char **cause)
{
	return conf_parse(text, strlen(text), "test.conf", c, cause);
}

/* Parse, asserting success; the caller frees. */
static struct conf *
parse_ok(const char *what, const char *text)
{
	struct conf	*c = NULL;
	char		*cause = NULL;

	if (parse(text, &c, &cause) != 0)
		cr_assert_fail("%s: refused: %s", what, cause);
	cr_assert_not_null(c);
	cr_expect_null(cause);
	return c;
}

Test(conf, refuses_each_bad_line_with_file_line_and_reason)
{
	static const struct {
		const char	*what;
		const char	*text;
		const char	*want;
	} cases[] = {
		{ "an unknown key",
		    "[smtp]\nurll = smtp://127.0.0.1:25\n",
		    "test.conf:2: unknown key \"urll\" in [smtp]" },
		{ "a list contact that is neither an address nor a web address",
		    "[list news.example.com]\ncontact = javascript:alert(1)\n",
		    "test.conf:2: contact = javascript:alert(1): want an address "
		    "(questions@example.com) or an http(s) URL, without spaces "
		    "or quotes" },
		{ "a page language that is not a tag",
		    "[daemon]\npage_language = ../../etc\n",
		    "test.conf:2: page_language = ../../etc: want a language tag "
		    "such as en, de, fr or es" },
		{ "a key of another section",
		    "[daemon]\nrate = 5/s\n",
		    "test.conf:2: unknown key \"rate\" in [daemon]" },
		{ "a key a list cannot override",
		    "[list news.example.com]\nrate = 5/s\n",
		    "test.conf:2: unknown key \"rate\" in [list]" },
		{ "a key a domain cannot override",
		    "[domain gmail.com]\nmin_gap = 1d\n",
		    "test.conf:2: unknown key \"min_gap\" in [domain]" },
		{ "an unknown section",
		    "[dameon]\n",
		    "test.conf:1: unknown section [dameon] (want daemon, smtp, "
		    "caps, list NAME or domain NAME)" },
		{ "a section name in the wrong case",
		    "[Daemon]\n",
		    "test.conf:1: unknown section [Daemon] (want daemon, smtp, "
		    "caps, list NAME or domain NAME)" },
		{ "a missing ]",
		    "[daemon]\nsocket = /x\n\n[smtp\nurl = smtp://h\n",
		    "test.conf:4: section header without a closing ]" },
		{ "text after ]",
		    "[caps] extra\n",
		    "test.conf:1: section header without a closing ]" },
		{ "a key outside any section",
		    "; comment\n\nsocket = /run/x.sock\n",
		    "test.conf:3: socket = /run/x.sock outside any section (put "
		    "it under [daemon], [smtp] or [caps])" },
		{ "a line without =",
		    "[daemon]\nsocket\n",
		    "test.conf:2: expected key = value, got \"socket\"" },
		{ "an empty string value",
		    "[daemon]\nsocket =\n",
		    "test.conf:2: socket needs a value" },
		{ "a duration without digits",
		    "[smtp]\nretry_min = soon\n",
		    "test.conf:2: bad duration \"soon\" (want a number with a "
		    "unit s, m, h, d or w, e.g. 30d)" },
		{ "a negative duration",
		    "[smtp]\nretry_min = -5m\n",
		    "test.conf:2: bad duration \"-5m\" (want a number with a "
		    "unit s, m, h, d or w, e.g. 30d)" },
		{ "a duration in years",
		    "[smtp]\nmax_age = 1y\n",
		    "test.conf:2: bad duration unit \"y\" in \"1y\" (want s, m, "
		    "h, d or w)" },
		{ "a duration with a space before its unit",
		    "[caps]\nmin_gap = 2 d\n",
		    "test.conf:2: bad duration unit \" d\" in \"2 d\" (want s, "
		    "m, h, d or w)" },
		{ "a duration in upper case",
		    "[caps]\nmin_gap = 2D\n",
		    "test.conf:2: bad duration unit \"D\" in \"2D\" (want s, m, "
		    "h, d or w)" },
		{ "a duration over a century",
		    "[smtp]\nmax_age = 40000d\n",
		    "test.conf:2: duration \"40000d\" is too long" },
		{ "a size without digits",
		    "[daemon]\nmax_request = big\n",
		    "test.conf:2: bad size \"big\" (want a number with an "
		    "optional unit k, m or g, e.g. 100k)" },
		{ "a size in terabytes",
		    "[daemon]\nmax_request = 1t\n",
		    "test.conf:2: bad size unit \"t\" in \"1t\" (want k, m or "
		    "g)" },
		{ "a size spelled kb",
		    "[caps]\nmax_html = 100kb\n",
		    "test.conf:2: bad size unit \"kb\" in \"100kb\" (want k, m "
		    "or g)" },
		{ "a size too large",
		    "[daemon]\nmax_request = 99999999g\n",
		    "test.conf:2: size \"99999999g\" is too large" },
		{ "a rate without a slash",
		    "[smtp]\nrate = 50\n",
		    "test.conf:2: bad rate \"50\" (want N/s, N/m or N/h, e.g. "
		    "50/s, or unlimited)" },
		{ "a rate per year",
		    "[smtp]\nrate = 50/y\n",
		    "test.conf:2: bad rate unit \"y\" in \"50/y\" (want s, m, h "
		    "or d)" },
		{ "a rate with a count of zero",
		    "[smtp]\ndomain_rate = 0/s\n",
		    "test.conf:2: bad rate \"0/s\": the count must be a whole "
		    "number from 1 to 1000000" },
		{ "a rate with a count too large",
		    "[smtp]\nrate = 1000001/s\n",
		    "test.conf:2: bad rate \"1000001/s\": the count must be a "
		    "whole number from 1 to 1000000" },
		{ "a rate with a window number",
		    "[domain gmail.com]\nrate = 5/2s\n",
		    "test.conf:2: bad rate unit \"2s\" in \"5/2s\" (want s, m, "
		    "h or d)" },
		{ "a cap without a window",
		    "[caps]\nper_recipient = 4\n",
		    "test.conf:2: bad cap \"4\" (want COUNT/WINDOW, e.g. 4/30d, "
		    "with COUNT from 1 to 1000000)" },
		{ "a cap with a count of zero",
		    "[caps]\nper_recipient = 0/30d\n",
		    "test.conf:2: bad cap \"0/30d\" (want COUNT/WINDOW, e.g. "
		    "4/30d, with COUNT from 1 to 1000000)" },
		{ "a cap with a unit on the count",
		    "[caps]\nper_recipient = 4k/30d\n",
		    "test.conf:2: bad cap \"4k/30d\" (want COUNT/WINDOW, e.g. "
		    "4/30d, with COUNT from 1 to 1000000)" },
		{ "a cap with a bad window unit",
		    "[list news.example.com]\nper_recipient = 1/7x\n",
		    "test.conf:2: bad cap window \"7x\" in \"1/7x\" (want a "
		    "duration with a unit s, m, h, d or w)" },
		{ "a cap with an empty window",
		    "[caps]\nper_recipient = 4/0d\n",
		    "test.conf:2: bad cap window \"0d\" in \"4/0d\" (want a "
		    "duration with a unit s, m, h, d or w)" },
		{ "a cap with nothing after the slash",
		    "[caps]\nper_recipient = 4/\n",
		    "test.conf:2: bad cap window \"\" in \"4/\" (want a "
		    "duration with a unit s, m, h, d or w)" },
		{ "a count with a unit",
		    "[daemon]\nmax_recipients = 10k\n",
		    "test.conf:2: bad number \"10k\" for max_recipients (want a "
		    "whole number)" },
		{ "a count beyond 32 bits",
		    "[smtp]\nconcurrency = 4294967296\n",
		    "test.conf:2: bad number \"4294967296\" for concurrency "
		    "(want a whole number)" },
		{ "a concurrency of zero",
		    "[smtp]\nconcurrency = 0\n",
		    "test.conf:2: concurrency = 0 is below the minimum of 1" },
		{ "a max_request below 1k",
		    "[daemon]\nmax_request = 100\n",
		    "test.conf:2: max_request = 100 is below the minimum of "
		    "1024" },
		{ "a request_timeout of zero",
		    "[daemon]\nrequest_timeout = 0s\n",
		    "test.conf:2: request_timeout = 0s is below the minimum of "
		    "1" },
		{ "a map_size below 1m",
		    "[daemon]\nmap_size = 512k\n",
		    "test.conf:2: map_size = 512k is below the minimum of "
		    "1048576" },
		{ "a domain concurrency of zero",
		    "[domain gmail.com]\nconcurrency = 0\n",
		    "test.conf:2: concurrency = 0 is below the minimum of 1" },
		{ "a bad starttls",
		    "[smtp]\nstarttls = maybe\n",
		    "test.conf:2: bad value \"maybe\" for starttls (want no, try "
		    "or require)" },
		{ "a bad remote_images",
		    "[caps]\nremote_images = fetch\n",
		    "test.conf:2: bad value \"fetch\" for remote_images (want "
		    "measure or ignore)" },
		{ "a bad remote_images_unknown",
		    "[caps]\nremote_images_unknown = maybe\n",
		    "test.conf:2: bad value \"maybe\" for remote_images_unknown "
		    "(want allow or refuse)" },
		{ "a list declared twice",
		    "[list news.example.com]\nper_recipient = 1/7d\n\n"
		    "[list news.example.com]\n",
		    "test.conf:4: [list news.example.com] appears twice" },
		{ "a list declared twice in another case",
		    "[list news.example.com]\n[list NEWS.Example.com]\n",
		    "test.conf:2: [list NEWS.Example.com] appears twice" },
		{ "a domain declared twice",
		    "[domain gmail.com]\n[domain gmail.com]\n",
		    "test.conf:2: [domain gmail.com] appears twice" },
		{ "a list without a name",
		    "[list]\n",
		    "test.conf:1: [list] needs a name, e.g. [list "
		    "news.example.com]" },
		{ "a domain without a name",
		    "[domain ]\n",
		    "test.conf:1: [domain] needs a name, e.g. [domain "
		    "news.example.com]" },
		{ "a daemon section with a name",
		    "[daemon main]\n",
		    "test.conf:1: [daemon] takes no name" },
		{ "a caps section with a name",
		    "[caps news.example.com]\n",
		    "test.conf:1: [caps] takes no name" },
		{ "a list name with a slash",
		    "[list news/letter]\n",
		    "test.conf:1: bad list name \"news/letter\"" },
		{ "a list name with two words",
		    "[list news letter]\n",
		    "test.conf:1: bad list name \"news letter\"" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		struct conf	*c = (struct conf *)1;
		char		*cause = NULL;

		cr_expect_eq(parse(cases[i].text, &c, &cause), -1,
		    "%s: accepted", cases[i].what);
		cr_expect_null(c, "%s: *out set on failure", cases[i].what);
		if (cause == NULL) {
			cr_expect_fail("%s: no cause", cases[i].what);
			continue;
		}
		cr_expect_str_eq(cause, cases[i].want, "%s:\n got: %s\nwant: %s",
		    cases[i].what, cause, cases[i].want);
		free(cause);
	}
}

Test(conf, refuses_retry_min_above_retry_max_naming_the_file)
{
	struct conf	*c;
	char		*cause = NULL;

	cr_expect_eq(parse("[smtp]\nretry_min = 2h\nretry_max = 1h\n", &c,
	    &cause), -1);
	cr_expect_str_eq(cause, "test.conf: [smtp] retry_min is longer than "
	    "retry_max");
	free(cause);
}

Test(conf, refuses_concurrency_above_its_maximum_naming_it)
{
	struct conf	*c;
	char		*cause = NULL;

	cr_expect_eq(parse("[smtp]\nconcurrency = 257\n", &c, &cause), -1);
	cr_expect_str_eq(cause, "test.conf: [smtp] concurrency = 257 is above "
	    "the maximum of 256 (each connection has a thread of its own)");
	free(cause);
	cr_expect_eq(parse("[smtp]\nconcurrency = 256\n", &c, &cause), 0);
	cr_expect_eq(c->concurrency, 256);
	conf_free(c);
}

Test(conf, refuses_a_nul_byte)
{
	static const char text[] = "[daemon]\nsocket = /x\0y\n";
	struct conf	*c;
	char		*cause = NULL;

	cr_expect_eq(conf_parse(text, sizeof text - 1, "test.conf", &c,
	    &cause), -1);
	cr_expect_str_eq(cause, "test.conf: contains a NUL byte");
	free(cause);
}

Test(conf, counts_lines_across_comments_blanks_and_crlf)
{
	struct conf	*c;
	char		*cause = NULL;

	cr_expect_eq(parse("# a comment\r\n; another\r\n\r\n[smtp]\r\n"
	    "rate = 5/s\r\n   \r\nratee = 5/s\r\n", &c, &cause), -1);
	cr_expect_str_eq(cause, "test.conf:7: unknown key \"ratee\" in [smtp]");
	free(cause);
}

Test(conf, works_without_a_cause_pointer)
{
	struct conf	*c = (struct conf *)1;

	cr_expect_eq(parse("[nope]\n", &c, NULL), -1);
	cr_expect_null(c);
}

Test(conf, parses_every_documented_option_into_the_struct)
{
	const char	*text =
	    "; every option the parser knows\n"
	    "[daemon]\n"
	    "socket = /run/manners/control.sock     ; mode 0660\n"
	    "state_dir = /var/lib/manners\n"
	    "public_listen = 127.0.0.1:8025\n"
	    "public_url = https://news.example.com\n"
	    "secret_file = /etc/manners/secret\n"
	    "metrics_listen = 127.0.0.1:9125\n"
	    "hostname = mx.example.com\n"
	    "max_request = 256m\n"
	    "max_recipients = 1000000\n"
	    "request_timeout = 2m\n"
	    "map_size = 4g\n"
	    "commit_interval_ms = 20\n"
	    "commit_batch = 1000\n"
	    "\n"
	    "[smtp]\n"
	    "url = smtps://relay.example.com:465\n"
	    "username = manners\n"
	    "password_file = /etc/manners/smtp-password\n"
	    "helo = mx.example.com\n"
	    "starttls = require\n"
	    "concurrency = 8\n"
	    "rate = 50/s\n"
	    "burst = 10\n"
	    "domain_rate = 300/m\n"
	    "retry_min = 1m\n"
	    "retry_max = 6h\n"
	    "max_age = 3d\n"
	    "timeout = 90\n"
	    "shutdown_timeout = 0\n"
	    "\n"
	    "[caps]\n"
	    "per_recipient = 4/30d\n"
	    "min_gap = 2d\n"
	    "max_html = 100k\n"
	    "max_images = 20\n"
	    "max_image = 200k\n"
	    "max_image_total = 800k\n"
	    "min_text_per_image = 50\n"
	    "remote_images = ignore\n"
	    "remote_images_unknown = refuse\n"
	    "remote_timeout = 5s\n"
	    "remote_max_requests = 30\n"
	    "\n"
	    "[list news.example.com]                 ; overrides\n"
	    "per_recipient = 1/7d\n"
	    "min_gap = 3d\n"
	    "max_html = 50k\n"
	    "max_images = 5\n"
	    "max_image = 100k\n"
	    "max_image_total = 300k\n"
	    "min_text_per_image = 200\n"
	    "\n"
	    "[domain gmail.com]\n"
	    "rate = 20/s\n"
	    "concurrency = 2\n";
	struct conf	*c = parse_ok("everything", text);

	cr_expect_str_eq(c->path, "test.conf");
	cr_expect_str_eq(c->socket, "/run/manners/control.sock");
	cr_expect_str_eq(c->state_dir, "/var/lib/manners");
	cr_expect_str_eq(c->public_listen, "127.0.0.1:8025");
	cr_expect_str_eq(c->public_url, "https://news.example.com");
	cr_expect_str_eq(c->secret_file, "/etc/manners/secret");
	cr_expect_str_eq(c->metrics_listen, "127.0.0.1:9125");
	cr_expect_str_eq(c->hostname, "mx.example.com");
	cr_expect_eq(c->max_request, 256 * KB * KB);
	cr_expect_eq(c->max_recipients, 1000000);
	cr_expect_eq(c->request_timeout, 120);
	cr_expect_eq(c->map_size, 4 * KB * KB * KB);
	cr_expect_eq(c->commit_interval_ms, 20);
	cr_expect_eq(c->commit_batch, 1000);

	cr_expect_str_eq(c->smtp_url, "smtps://relay.example.com:465");
	cr_expect_str_eq(c->smtp_username, "manners");
	cr_expect_str_eq(c->smtp_password_file, "/etc/manners/smtp-password");
	cr_expect_str_eq(c->smtp_helo, "mx.example.com");
	cr_expect_eq(c->smtp_starttls, CONF_STARTTLS_REQUIRE);
	cr_expect_eq(c->concurrency, 8);
	cr_expect_eq(c->rate.count, 50);
	cr_expect_eq(c->rate.per, 1);
	cr_expect_eq(c->burst, 10);
	cr_expect_eq(c->domain_rate.count, 300);
	cr_expect_eq(c->domain_rate.per, 60);
	cr_expect_eq(c->retry_min, 60);
	cr_expect_eq(c->retry_max, 6 * 3600);
	cr_expect_eq(c->max_age, 3 * DAY);
	cr_expect_eq(c->smtp_timeout, 90);
	cr_expect_eq(c->shutdown_timeout, 0);

	cr_expect_eq(c->policy.per_recipient.count, 4);
	cr_expect_eq(c->policy.per_recipient.window, 30 * DAY);
	cr_expect_eq(c->policy.min_gap, 2 * DAY);
	cr_expect_eq(c->policy.weigh.max_html, 100 * KB);
	cr_expect_eq(c->policy.weigh.max_images, 20);
	cr_expect_eq(c->policy.weigh.max_image, 200 * KB);
	cr_expect_eq(c->policy.weigh.max_image_total, 800 * KB);
	cr_expect_eq(c->policy.weigh.min_text_per_image, 50);
	cr_expect_eq(c->remote_images_measure, 0);
	cr_expect_eq(c->policy.weigh.remote_unknown_refuse, 1);
	cr_expect_eq(c->remote_timeout, 5);
	cr_expect_eq(c->remote_max_requests, 30);

	cr_assert_eq(c->nlists, 1);
	cr_expect_str_eq(c->lists[0].name, "news.example.com");
	cr_expect_eq(c->lists[0].set, CONF_SET_PER_RECIPIENT |
	    CONF_SET_MIN_GAP | CONF_SET_MAX_HTML | CONF_SET_MAX_IMAGES |
	    CONF_SET_MAX_IMAGE | CONF_SET_MAX_IMAGE_TOTAL | CONF_SET_MIN_TEXT);
	cr_expect_eq(c->lists[0].policy.per_recipient.count, 1);
	cr_expect_eq(c->lists[0].policy.per_recipient.window, 7 * DAY);
	cr_expect_eq(c->lists[0].policy.min_gap, 3 * DAY);
	cr_expect_eq(c->lists[0].policy.weigh.max_html, 50 * KB);
	cr_expect_eq(c->lists[0].policy.weigh.max_images, 5);
	cr_expect_eq(c->lists[0].policy.weigh.max_image, 100 * KB);
	cr_expect_eq(c->lists[0].policy.weigh.max_image_total, 300 * KB);
	cr_expect_eq(c->lists[0].policy.weigh.min_text_per_image, 200);

	cr_assert_eq(c->ndomains, 1);
	cr_expect_str_eq(c->domains[0].name, "gmail.com");
	cr_expect_eq(c->domains[0].rate.count, 20);
	cr_expect_eq(c->domains[0].rate.per, 1);
	cr_expect_eq(c->domains[0].concurrency, 2);
	conf_free(c);
}

Test(conf, starts_from_the_development_defaults)
{
	struct conf	*d = conf_defaults();
	struct conf	*c = parse_ok("empty", "");

	cr_expect_str_eq(c->socket, d->socket);
	cr_expect_str_eq(c->state_dir, d->state_dir);
	cr_expect_eq(c->policy.per_recipient.count, 4);
	cr_expect_eq(c->policy.per_recipient.window, 30 * DAY);
	cr_expect_eq(c->policy.min_gap, 2 * DAY);
	cr_expect_eq(c->rate.count, 50);
	cr_expect_eq(c->rate.per, 1);
	cr_expect_eq(c->domain_rate.count, 5);
	cr_expect_eq(c->domain_rate.per, 1);
	cr_expect_eq(c->max_request, d->max_request);
	cr_expect_eq(c->nlists, 0);
	cr_expect_eq(c->ndomains, 0);
	cr_expect_null(d->path, "built-in defaults have no path");
	conf_free(c);
	conf_free(d);
	conf_free(NULL);
}

Test(conf, accepts_every_unit_of_every_value_kind)
{
	static const struct {
		const char	*s;
		uint64_t	 v;
	} durations[] = {
		{ "0", 0 }, { "90", 90 }, { "90s", 90 }, { "15m", 900 },
		{ "6h", 21600 }, { "30d", 30 * DAY }, { "2w", 14 * DAY },
		{ "36500d", 36500 * DAY },
	}, sizes[] = {
		{ "0", 0 }, { "512", 512 }, { "100k", 100 * KB },
		{ "100K", 100 * KB }, { "256m", 256 * KB * KB },
		{ "2g", 2 * KB * KB * KB }, { "2G", 2 * KB * KB * KB },
	};
	static const struct {
		const char	*s;
		uint64_t	 count, per;
	} rates[] = {
		{ "50/s", 50, 1 }, { "300/m", 300, 60 }, { "1000/h", 1000, 3600 },
		{ "5000/d", 5000, DAY }, { "unlimited", 0, 1 }, { "0", 0, 1 },
		{ "1000000/s", 1000000, 1 },
	}, caps[] = {
		{ "4/30d", 4, 30 * DAY }, { "1/7d", 1, 7 * DAY },
		{ "2/60", 2, 60 }, { "3/1w", 3, 7 * DAY }, { "10/1h", 10, 3600 },
		{ "unlimited", 0, 0 }, { "0", 0, 0 },
	};
	size_t			 i;
	uint64_t		 v;
	struct conf_rate	 r;
	struct conf_cap		 cap;
	char			*cause;

	for (i = 0; i < nitems(durations); i++) {
		cause = NULL;
		cr_expect_eq(conf_parse_duration(durations[i].s, &v, &cause), 0,
		    "duration %s: %s", durations[i].s, cause);
		cr_expect_eq(v, durations[i].v, "duration %s", durations[i].s);
		free(cause);
	}
	for (i = 0; i < nitems(sizes); i++) {
		cause = NULL;
		cr_expect_eq(conf_parse_size(sizes[i].s, &v, &cause), 0,
		    "size %s: %s", sizes[i].s, cause);
		cr_expect_eq(v, sizes[i].v, "size %s", sizes[i].s);
		free(cause);
	}
	for (i = 0; i < nitems(rates); i++) {
		cause = NULL;
		cr_expect_eq(conf_parse_rate(rates[i].s, &r, &cause), 0,
		    "rate %s: %s", rates[i].s, cause);
		cr_expect(r.count == rates[i].count && r.per == rates[i].per,
		    "rate %s is %llu/%llu", rates[i].s,
		    (unsigned long long)r.count, (unsigned long long)r.per);
		free(cause);
	}
	for (i = 0; i < nitems(caps); i++) {
		cause = NULL;
		cr_expect_eq(conf_parse_cap(caps[i].s, &cap, &cause), 0,
		    "cap %s: %s", caps[i].s, cause);
		cr_expect(cap.count == caps[i].count &&
		    cap.window == caps[i].per, "cap %s is %llu/%llu", caps[i].s,
		    (unsigned long long)cap.count,
		    (unsigned long long)cap.window);
		free(cause);
	}
}

Test(conf, refuses_overflowing_numbers)
{
	uint64_t	 v;

	cr_expect_eq(conf_parse_duration("99999999999999999999", &v, NULL),
	    -1);
	cr_expect_eq(conf_parse_duration("999999999999999w", &v, NULL), -1);
	cr_expect_eq(conf_parse_size("18446744073709551615g", &v, NULL), -1);
	cr_expect_eq(conf_parse_size("", &v, NULL), -1);
	cr_expect_eq(conf_parse_duration("", &v, NULL), -1);
}

Test(conf, keeps_a_contact_per_list_and_the_page_language)
{
	struct conf	*c = parse_ok("contact", "[daemon]\npage_language = de\n"
	    "locale_dir = /opt/manners/locale\n"
	    "[list news.example.com]\ncontact = help@example.com\n"
	    "[list shop.example.com]\ncontact = https://shop.example.com/help\n"
	    "[list quiet.example.com]\nmin_gap = 1d\n");

	cr_expect_str_eq(c->page_language, "de");
	cr_expect_str_eq(c->locale_dir, "/opt/manners/locale");
	cr_expect_str_eq(conf_list_contact(c, "News.example.com"),
	    "help@example.com");
	cr_expect_str_eq(conf_list_contact(c, "shop.example.com"),
	    "https://shop.example.com/help");
	cr_expect_null(conf_list_contact(c, "quiet.example.com"));
	cr_expect_null(conf_list_contact(c, "other.example.com"));
	conf_free(c);
}

Test(conf, applies_list_overrides_only_to_that_list)
{
	const char		*text =
	    "[caps]\n"
	    "per_recipient = 4/30d\n"
	    "min_gap = 2d\n"
	    "max_html = 100k\n"
	    "[list news.example.com]\n"
	    "per_recipient = 1/7d\n"
	    "[list promo.example.com]\n"
	    "min_gap = 5d\n"
	    "max_images = 3\n"
	    "[list free.example.com]\n"
	    "per_recipient = unlimited\n";
	struct conf		*c = parse_ok("lists", text);
	struct conf_policy	 p;

	conf_policy_for(c, "news.example.com", &p);
	cr_expect_eq(p.per_recipient.count, 1);
	cr_expect_eq(p.per_recipient.window, 7 * DAY);
	cr_expect_eq(p.min_gap, 2 * DAY, "min_gap not overridden: [caps]");
	cr_expect_eq(p.weigh.max_html, 100 * KB);
	cr_expect_eq(p.weigh.max_images, c->policy.weigh.max_images);
	cr_expect_eq(p.weigh.max_image, c->policy.weigh.max_image);
	cr_expect_eq(p.weigh.max_image_total, c->policy.weigh.max_image_total);
	cr_expect_eq(p.weigh.min_text_per_image,
	    c->policy.weigh.min_text_per_image);

	conf_policy_for(c, "NEWS.Example.COM", &p);
	cr_expect_eq(p.per_recipient.count, 1, "list names ignore case");
	cr_expect_eq(p.per_recipient.window, 7 * DAY);

	conf_policy_for(c, "promo.example.com", &p);
	cr_expect_eq(p.per_recipient.count, 4);
	cr_expect_eq(p.per_recipient.window, 30 * DAY);
	cr_expect_eq(p.min_gap, 5 * DAY);
	cr_expect_eq(p.weigh.max_images, 3);
	cr_expect_eq(p.weigh.max_html, 100 * KB);

	conf_policy_for(c, "free.example.com", &p);
	cr_expect_eq(p.per_recipient.count, 0, "unlimited for this list");

	conf_policy_for(c, "other.example.com", &p);
	cr_expect_eq(p.per_recipient.count, 4);
	cr_expect_eq(p.per_recipient.window, 30 * DAY);
	cr_expect_eq(p.min_gap, 2 * DAY);
	cr_expect_eq(p.weigh.max_images, c->policy.weigh.max_images);

	conf_policy_for(c, NULL, &p);
	cr_expect_eq(p.per_recipient.count, 4);
	conf_policy_for(c, "news.example.co", &p);
	cr_expect_eq(p.per_recipient.count, 4, "no prefix matching");
	conf_free(c);
}

Test(conf, lets_a_list_override_a_cap_set_after_it)
{
	/* [caps] after [list]: the list still wins for its own keys. */
	struct conf		*c = parse_ok("order",
	    "[list news.example.com]\nmin_gap = 1h\n"
	    "[caps]\nmin_gap = 3d\nper_recipient = 2/10d\n");
	struct conf_policy	 p;

	conf_policy_for(c, "news.example.com", &p);
	cr_expect_eq(p.min_gap, 3600);
	cr_expect_eq(p.per_recipient.count, 2);
	cr_expect_eq(p.per_recipient.window, 10 * DAY);
	conf_policy_for(c, "other.example.com", &p);
	cr_expect_eq(p.min_gap, 3 * DAY);
	conf_free(c);
}

Test(conf, gives_each_domain_its_rate_or_the_default)
{
	const char		*text =
	    "[smtp]\n"
	    "domain_rate = 5/s\n"
	    "[domain gmail.com]\n"
	    "rate = 20/s\n"
	    "[domain Outlook.com]\n"
	    "concurrency = 2\n"
	    "[domain slow.example]\n"
	    "rate = 10/m\n"
	    "[domain fast.example]\n"
	    "rate = unlimited\n";
	struct conf		*c = parse_ok("domains", text);
	struct conf_rate	 r;

	r = conf_domain_rate(c, "gmail.com");
	cr_expect(r.count == 20 && r.per == 1, "gmail: %llu/%llu",
	    (unsigned long long)r.count, (unsigned long long)r.per);
	r = conf_domain_rate(c, "GMail.COM");
	cr_expect(r.count == 20 && r.per == 1, "domains ignore case");
	r = conf_domain_rate(c, "outlook.com");
	cr_expect(r.count == 5 && r.per == 1, "a domain without a rate "
	    "follows domain_rate: %llu/%llu", (unsigned long long)r.count,
	    (unsigned long long)r.per);
	r = conf_domain_rate(c, "slow.example");
	cr_expect(r.count == 10 && r.per == 60);
	r = conf_domain_rate(c, "fast.example");
	cr_expect_eq(r.count, 0, "unlimited");
	r = conf_domain_rate(c, "example.org");
	cr_expect(r.count == 5 && r.per == 1, "the default");
	r = conf_domain_rate(c, "mail.gmail.com");
	cr_expect(r.count == 5 && r.per == 1, "no subdomain matching");
	conf_free(c);
}

Test(conf, gives_the_domain_default_set_after_the_domain)
{
	/* domain_rate given after [domain x]: x still follows it. */
	struct conf		*c = parse_ok("order",
	    "[domain outlook.com]\nconcurrency = 1\n"
	    "[smtp]\ndomain_rate = 7/m\n");
	struct conf_rate	 r = conf_domain_rate(c, "outlook.com");

	cr_expect(r.count == 7 && r.per == 60, "%llu/%llu",
	    (unsigned long long)r.count, (unsigned long long)r.per);
	conf_free(c);
}

Test(conf, cuts_comments_after_white_space_only)
{
	const char	*text =
	    "# a whole-line comment\n"
	    "; another one\n"
	    "   # an indented one\n"
	    "[daemon] ; after a section\n"
	    "public_url = https://news.example.com/#unsubscribe ; note\n"
	    "socket = /run/manners;x.sock\n"
	    "state_dir = /var/lib/manners # the state\n"
	    "secret_file = /etc/manners/secret\t; tab before\n"
	    "hostname = mx.example.com#1\n"
	    "[smtp]\n"
	    "rate = 5/s;no space\n";
	struct conf	*c = NULL;
	char		*cause = NULL;

	/* "5/s;no space" keeps its ';' and is a bad rate: proof of the rule. */
	cr_assert_eq(parse(text, &c, &cause), -1);
	cr_expect_str_eq(cause, "test.conf:11: bad rate unit \"s;no space\" "
	    "in \"5/s;no space\" (want s, m, h or d)");
	free(cause);

	text =
	    "# a whole-line comment\n"
	    "; another one\n"
	    "   # an indented one\n"
	    "[daemon] ; after a section\n"
	    "public_url = https://news.example.com/#unsubscribe ; note\n"
	    "socket = /run/manners;x.sock\n"
	    "state_dir = /var/lib/manners # the state\n"
	    "secret_file = /etc/manners/secret\t; tab before\n"
	    "hostname = mx.example.com#1\n"
	    "[smtp]\n"
	    "rate = 5/s ;a comment\n"
	    "url = smtp://127.0.0.1:25#frag\n";
	c = parse_ok("comments", text);
	cr_expect_str_eq(c->public_url, "https://news.example.com/#unsubscribe");
	cr_expect_str_eq(c->socket, "/run/manners;x.sock");
	cr_expect_str_eq(c->state_dir, "/var/lib/manners");
	cr_expect_str_eq(c->secret_file, "/etc/manners/secret");
	cr_expect_str_eq(c->hostname, "mx.example.com#1");
	cr_expect_eq(c->rate.count, 5);
	cr_expect_str_eq(c->smtp_url, "smtp://127.0.0.1:25#frag");
	conf_free(c);
}

Test(conf, strips_double_quotes_around_a_value)
{
	struct conf	*c = parse_ok("quotes",
	    "[daemon]\nsocket = \"/run/my manners/control.sock\"\n"
	    "hostname = \"\n");

	cr_expect_str_eq(c->socket, "/run/my manners/control.sock");
	cr_expect_str_eq(c->hostname, "\"", "a lone quote stays");
	conf_free(c);
}

Test(conf, accepts_spaces_around_names_keys_and_values)
{
	struct conf		*c = parse_ok("spaces",
	    "  [ caps ]  \n\tper_recipient\t=\t2/1d  \n"
	    "[list   news.example.com  ]\n  min_gap=1h\n");
	struct conf_policy	 p;

	cr_expect_eq(c->policy.per_recipient.count, 2);
	cr_expect_eq(c->policy.per_recipient.window, DAY);
	conf_policy_for(c, "news.example.com", &p);
	cr_expect_eq(p.min_gap, 3600);
	conf_free(c);
}

Test(conf, keeps_the_last_value_of_a_repeated_key)
{
	struct conf	*c = parse_ok("repeat",
	    "[daemon]\nsocket = /a\nsocket = /b\n[daemon]\nsocket = /c\n");

	cr_expect_str_eq(c->socket, "/c");
	conf_free(c);
}

Test(conf, loads_a_file_and_names_it_in_errors)
{
	char		 path[] = "/tmp/test_conf.XXXXXX";
	const char	*bad = "[caps]\nper_recipient = 4\n";
	struct conf	*c;
	char		*cause = NULL, *want;
	int		 fd;

	fd = mkstemp(path);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, bad, strlen(bad)), (ssize_t)strlen(bad));
	close(fd);
	cr_expect_eq(conf_load(path, &c, &cause), -1);
	xasprintf(&want, "%s:2: bad cap \"4\" (want COUNT/WINDOW, e.g. 4/30d, "
	    "with COUNT from 1 to 1000000)", path);
	cr_expect_str_eq(cause, want);
	free(cause);
	free(want);

	fd = open(path, O_WRONLY | O_TRUNC);
	cr_assert_neq(fd, -1);
	cr_assert_eq(write(fd, "[caps]\nmin_gap = 1d\n", 20), 20);
	close(fd);
	cause = NULL;
	cr_expect_eq(conf_load(path, &c, &cause), 0, "%s", cause);
	cr_expect_str_eq(c->path, path);
	cr_expect_eq(c->policy.min_gap, DAY);
	conf_free(c);
	unlink(path);

	cause = NULL;
	cr_expect_eq(conf_load(path, &c, &cause), -1);
	xasprintf(&want, "%s: No such file or directory", path);
	cr_expect_str_eq(cause, want);
	free(cause);
	free(want);
}

Test(conf, refuses_a_bad_listen_address_naming_key_and_value)
{
	static const struct {
		const char	*text, *want;
	} rows[] = {
		{ "[daemon]\nmetrics_listen = 127.0.0.1:9100abc\n",
		    "test.conf:2: metrics_listen = 127.0.0.1:9100abc: want "
		    "HOST:PORT" },
		{ "[daemon]\n\npublic_listen = localhost\n",
		    "test.conf:3: public_listen = localhost: want HOST:PORT" },
		{ "[daemon]\npublic_listen = 127.0.0.1:0\n",
		    "test.conf:2: public_listen = 127.0.0.1:0: want HOST:PORT" },
		{ "[daemon]\npublic_listen = \n",
		    "test.conf:2: public_listen needs a value" },
	};
	struct conf	*c;
	char		*cause;
	size_t		 i;

	for (i = 0; i < nitems(rows); i++) {
		c = NULL;
		cause = NULL;
		cr_expect_eq(parse(rows[i].text, &c, &cause), -1, "%s",
		    rows[i].text);
		cr_expect_null(c);
		cr_expect(cause != NULL && strstr(cause, rows[i].want) != NULL,
		    "%s: got %s", rows[i].want, cause);
		free(cause);
	}
	c = parse_ok("IPv6 and every-address listeners",
	    "[daemon]\npublic_listen = [::1]:8025\n"
	    "metrics_listen = *:9100\n");
	cr_expect_str_eq(c->public_listen, "[::1]:8025");
	cr_expect_str_eq(c->metrics_listen, "*:9100");
	conf_free(c);
}

Test(conf, feedback_keys_are_read_and_checked)
{
	static const struct {
		const char	*text, *want;	/* want NULL: accepted */
	} rows[] = {
		{ "[feedback]\npause_complaint_rate = 0.3%\n", NULL },
		{ "[feedback]\npause_complaint_rate = 0\n", NULL },
		{ "[feedback]\npause_complaint_rate = 0.3\n",
		  "bad percentage \"0.3\" for pause_complaint_rate" },
		{ "[feedback]\npause_bounce_rate = 101%\n", "bad percentage" },
		{ "[feedback]\nreturn_path = bounces@news.example.com\n", NULL },
		{ "[feedback]\nreturn_path = bounces+x@news.example.com\n",
		  "has '+'" },
		{ "[feedback]\nreturn_path = abcdefghijabcdefghij@x.example\n",
		  "over RFC 5321's 64" },
		{ "[feedback]\nmailbox = http://x/\n", "not an imap://" },
		{ "[feedback]\nmailbox = imaps://imap.example.com/INBOX\n",
		  "needs mailbox_user" },
		{ "[feedback]\nmailbox = pop3s://h\nmailbox_user = u\n"
		  "mailbox_after = move:Done\n", "POP3 can only delete" },
		{ "[feedback]\nmailbox_after = move:\n", "mailbox_after" },
		{ "[feedback]\nmailbox = imap://h/INBOX\nmailbox_user = u\n"
		  "mailbox_after = move:Done\n", NULL },
	};
	static const char	 pct[] = "[feedback]\npause_complaint_rate = "
				    "0.3%\n";
	struct conf		*c;
	char			*cause;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cause = NULL;
		c = NULL;
		rc = conf_parse(rows[i].text, strlen(rows[i].text), "t.conf",
		    &c, &cause);
		if (rows[i].want == NULL)
			cr_expect_eq(rc, 0, "%s: %s", rows[i].text, cause);
		else
			cr_expect(rc == -1 && cause != NULL && strstr(cause,
			    rows[i].want) != NULL, "%s: want \"%s\", got %s",
			    rows[i].text, rows[i].want, cause);
		conf_free(c);
		free(cause);
	}
	cr_assert_eq(conf_parse(pct, strlen(pct), "t.conf", &c, NULL), 0);
	cr_assert_eq(c->pause_complaint_ppm, 3000);
	cr_assert_eq(c->pause_bounce_ppm, 50000, "the default, 5 %%");
	conf_free(c);
}

Test(conf, quiet_keys_are_read_checked_and_overridden_per_list)
{
	static const struct {
		const char	*text, *want;	/* want NULL: accepted */
	} rows[] = {
		{ "[quiet]\nhours = 21:00-08:00\n", NULL },
		{ "[quiet]\nhours = 21:00-08:00, 12:00-13:00\ndays = sat,sun\n"
		  "timezone = Europe/Berlin\n", NULL },
		{ "[quiet]\nhours = 21:00\n",
		  "t.conf:2: quiet hours \"21:00\": \"21:00\" is not a window" },
		{ "[quiet]\nhours = 25:00-08:00\n", "t.conf:2: quiet hours" },
		{ "[quiet]\nhours =\n", "hours needs a value (or none)" },
		{ "[quiet]\ndays = sat,funday\n",
		  "t.conf:2: quiet days \"sat,funday\": \"funday\" is not a "
		  "day" },
		{ "[quiet]\ndays = sun,mon,tue,wed,thu,fri,sat\n",
		  "nothing would ever be sent" },
		{ "[quiet]\ntimezone = Mars/Olympus_Mons\n",
		  "t.conf:2: time zone \"Mars/Olympus_Mons\" is unknown" },
		{ "[quiet]\ntimezone = Europe/Berlin;rm\n",
		  "is not an IANA zone name" },
		{ "[quiet]\nquiet_hours = 21:00-08:00\n",
		  "unknown key \"quiet_hours\" in [quiet]" },
		{ "[list news.example.com]\nhours = 21:00-08:00\n",
		  "unknown key \"hours\" in [list]" },
		{ "[list news.example.com]\nquiet_hours = 22:00-07:00\n"
		  "quiet_days = none\ntimezone = Asia/Tokyo\n", NULL },
		{ "[list news.example.com]\ntimezone = Nowhere/Land\n",
		  "t.conf:2: time zone \"Nowhere/Land\" is unknown" },
	};
	struct conf		*c;
	struct conf_policy	 p;
	char			*cause;
	size_t			 i;
	int			 rc;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		cause = NULL;
		c = NULL;
		rc = conf_parse(rows[i].text, strlen(rows[i].text), "t.conf",
		    &c, &cause);
		if (rows[i].want == NULL)
			cr_expect_eq(rc, 0, "%s: %s", rows[i].text, cause);
		else
			cr_expect(rc == -1 && cause != NULL && strstr(cause,
			    rows[i].want) != NULL, "%s: want \"%s\", got %s",
			    rows[i].text, rows[i].want, cause);
		conf_free(c);
		free(cause);
	}

	/* None configured: no quiet time, UTC. */
	c = parse_ok("defaults", "[caps]\nmin_gap = 1d\n");
	conf_policy_for(c, "news.example.com", &p);
	cr_expect(!quiet_any(&p.quiet.rules), "no quiet hours by default");
	cr_expect_str_eq(p.quiet.timezone, "UTC");
	conf_free(c);

	c = parse_ok("quiet", "[quiet]\nhours = 21:00-08:00\ndays = sun\n"
	    "timezone = Europe/Berlin\n"
	    "[list news.example.com]\nquiet_hours = 22:00-07:00\n"
	    "[list promo.example.com]\nquiet_days = none\n"
	    "timezone = Asia/Tokyo\n"
	    "[list loud.example.com]\nquiet_hours = none\nquiet_days = none\n");
	conf_policy_for(c, "other.example.com", &p);
	cr_expect_eq(p.quiet.rules.nw, 1);
	cr_expect_eq(p.quiet.rules.w[0].start, 21 * 60);
	cr_expect_eq(p.quiet.rules.w[0].end, 8 * 60);
	cr_expect_eq(p.quiet.rules.days, 1, "sunday");
	cr_expect_str_eq(p.quiet.timezone, "Europe/Berlin");
	conf_policy_for(c, "NEWS.example.com", &p);
	cr_expect_eq(p.quiet.rules.w[0].start, 22 * 60, "the list's hours");
	cr_expect_eq(p.quiet.rules.w[0].end, 7 * 60);
	cr_expect_eq(p.quiet.rules.days, 1, "[quiet]'s days");
	cr_expect_str_eq(p.quiet.timezone, "Europe/Berlin");
	conf_policy_for(c, "promo.example.com", &p);
	cr_expect_eq(p.quiet.rules.w[0].start, 21 * 60, "[quiet]'s hours");
	cr_expect_eq(p.quiet.rules.days, 0, "the list's days: none");
	cr_expect_str_eq(p.quiet.timezone, "Asia/Tokyo");
	conf_policy_for(c, "loud.example.com", &p);
	cr_expect(!quiet_any(&p.quiet.rules), "a list may turn quiet off");
	conf_free(c);
}
