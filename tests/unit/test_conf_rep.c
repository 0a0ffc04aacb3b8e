/*
 * test_conf_rep.c: [provider], [warmup], day_zone and day_start in the
 * configuration: what they read, and each refusal naming its line.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "conf.h"

static struct conf *
parse_ok(const char *text)
{
	struct conf	*c = NULL;
	char		*cause = NULL;

	cr_assert_eq(conf_parse(text, strlen(text), "t.conf", &c, &cause), 0,
	    "%s", cause);
	return c;
}

Test(conf_rep, providers_warmups_and_the_day)
{
	struct conf	*c = parse_ok(
	    "[smtp]\nday_zone = Europe/Berlin\nday_start = 06:30\n"
	    "[provider google]\ndomains = gmail.com, GoogleMail.com\n"
	    "mx = google.com, googlemail.com\nrate = 10/s\nconcurrency = 2\n"
	    "daily_limit = 5000\n"
	    "[domain example.org]\ndaily_limit = 70\n"
	    "[warmup new-ip]\nstart = 2026-12-01\ncurve = exponential 50 800 5\n"
	    "applies = google, example.org\n"
	    "[warmup list]\nstart = 2026-12-02\nvolumes = 10, 20,40\n"
	    "applies = example.net\n");

	cr_expect_str_eq(c->day_zone, "Europe/Berlin");
	cr_expect_eq(c->day_start, 6 * 3600 + 30 * 60);
	cr_assert_eq(c->nproviders, 1);
	cr_expect_eq(conf_provider_of(c, "googlemail.com"), &c->providers[0]);
	cr_expect_null(conf_provider_of(c, "yahoo.com"));
	cr_expect_eq(conf_provider_by_mx(c, "aspmx.l.google.com."),
	    &c->providers[0], "an MX host under a suffix");
	cr_expect_null(conf_provider_by_mx(c, "notgoogle.com"),
	    "a suffix counts at a label boundary only");
	cr_expect_eq(c->providers[0].rate.count, 10);
	cr_expect_eq(c->providers[0].concurrency, 2);
	cr_expect_eq(c->providers[0].daily_limit, 5000);
	cr_expect_eq(conf_domain_find(c, "example.org")->daily_limit, 70);
	cr_assert_eq(c->nwarmups, 2);
	cr_expect_eq(c->warmups[0].start, 20261201);
	cr_expect_eq(c->warmups[0].nvolumes, 5);
	cr_expect_eq(c->warmups[0].volumes[0], 50);
	cr_expect_eq(c->warmups[0].volumes[4], 800);
	cr_expect_eq(conf_warmup_for(c, "example.org"), &c->warmups[0]);
	cr_expect_eq(c->warmups[1].nvolumes, 3);
	cr_expect_eq(c->warmups[1].volumes[2], 40);
	conf_free(c);
}

Test(conf_rep, the_default_day_is_utc_from_midnight)
{
	struct conf	*c = parse_ok("[smtp]\nrate = 5/s\n");

	cr_expect_str_eq(c->day_zone, "UTC");
	cr_expect_eq(c->day_start, 0);
	conf_free(c);
}

struct bad {
	const char	*name;
	const char	*text;
	const char	*want;		/* in the cause */
};

static const struct bad bads[] = {
	{ "an unknown zone", "[smtp]\nday_zone = Mars/Base\n",
	  "t.conf:2: day_zone = Mars/Base" },
	{ "a day start past midnight", "[smtp]\nday_start = 24:00\n",
	  "t.conf:2: day_start = 24:00" },
	{ "a domain in two providers", "[provider a]\ndomains = x.com\n"
	  "[provider b]\ndomains = y.com, x.com\n", "x.com is in" },
	{ "a key twice in one provider", "[provider a]\ndomains = x.com\n"
	  "domains = y.com\n", "t.conf:3: domains is set twice in [provider]" },
	{ "a provider without domains or mx", "[provider a]\nrate = 1/s\n",
	  "[provider a] needs domains = or mx =" },
	{ "a bad name in a list", "[provider a]\ndomains = x.com, a b\n",
	  "t.conf:2: domains: \"a b\"" },
	{ "a warmup without a start", "[warmup w]\nvolumes = 5\n"
	  "applies = x.com\n", "needs start =" },
	{ "a bad date", "[warmup w]\nstart = 2026-13-01\n", "t.conf:2: start" },
	{ "a curve that falls", "[warmup w]\nstart = 2026-12-01\n"
	  "curve = exponential 500 50 10\n", "t.conf:3:" },
	{ "a zero volume", "[warmup w]\nstart = 2026-12-01\nvolumes = 5, 0\n",
	  "t.conf:3: volumes" },
	{ "both curve and volumes", "[warmup w]\nvolumes = 5\n"
	  "curve = exponential 1 5 3\n", "t.conf:3: a [warmup] has one" },
	{ "a ramp on a domain a provider paces", "[provider g]\n"
	  "domains = gmail.com\n[warmup w]\nstart = 2026-12-01\n"
	  "volumes = 5\napplies = gmail.com\n", "apply it to g" },
	{ "a domain in two ramps", "[warmup v]\nstart = 2026-12-01\n"
	  "volumes = 5\napplies = x.com\n[warmup w]\nstart = 2026-12-01\n"
	  "volumes = 5\napplies = x.com\n", "x.com is in two [warmup]" },
	{ "a provider without a name", "[provider]\n", "needs a name" },
	{ "a domain limit under a provider", "[provider g]\n"
	  "domains = gmail.com\n[domain gmail.com]\ndaily_limit = 5\n",
	  "[domain gmail.com] sets a limit, but [provider g] paces" },
	{ "a zero daily limit", "[domain x.com]\ndaily_limit = 0\n",
	  "t.conf:2: daily_limit = 0 is below" },
};

Test(conf_rep, refusals_name_the_line)
{
	struct conf	*c;
	char		*cause;
	size_t		 i;

	for (i = 0; i < sizeof bads / sizeof bads[0]; i++) {
		c = NULL;
		cause = NULL;
		cr_expect_eq(conf_parse(bads[i].text, strlen(bads[i].text),
		    "t.conf", &c, &cause), -1, "%s: accepted", bads[i].name);
		if (cause == NULL)
			continue;
		cr_expect_not_null(strstr(cause, bads[i].want), "%s: \"%s\"",
		    bads[i].name, cause);
		free(cause);
	}
}
