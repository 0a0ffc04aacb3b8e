/*
 * test_shaping.c: reply-driven shaping.  Which shipped rule each
 * provider's published reply meets (one named row each), thresholds,
 * expiry, a running action that replies cannot extend, and rule files
 * refused by line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "shaping.h"
#include "util.h"

static struct shaping_rules *
load_shipped(void)
{
	struct shaping_rules	*rs;
	FILE			*f = fopen("conf/shaping.rules", "r");
	char			 buf[16384], *cause = NULL;
	size_t			 n;

	cr_assert_not_null(f, "conf/shaping.rules (run from the top)");
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	rs = shaping_parse(buf, n, "conf/shaping.rules", &cause);
	cr_assert_not_null(rs, "%s", cause);
	return rs;
}

Test(shaping, shipped_rules_match_the_published_replies)
{
	static const struct {
		const char	*name;
		long		 code;
		const char	*reply;
		const char	*rule;		/* NULL: none */
	} rows[] = {
		{ "Gmail's unusual rate", 421, "421-4.7.28 [192.0.2.1] Gmail "
		  "has detected an unusual rate of unsolicited mail",
		  "gmail-unusual-rate" },
		{ "Gmail's try again later", 421, "421-4.7.0 Try again later, "
		  "closing connection.", "gmail-try-later" },
		{ "Yahoo's TSS04", 421, "421 4.7.0 [TSS04] Messages from "
		  "192.0.2.1 temporarily deferred due to unexpected volume or "
		  "user complaints", "yahoo-tss04" },
		{ "Yahoo's TS01", 421, "421 4.7.0 [TS01] Messages from "
		  "192.0.2.1 temporarily deferred due to user complaints",
		  "yahoo-ts01" },
		{ "Yahoo's TS03", 553, "553 5.7.1 [TS03] All messages from "
		  "192.0.2.1 will be permanently deferred", "yahoo-ts03" },
		{ "Microsoft's RP-001", 421, "421 RP-001 (COL004-MC1F1) "
		  "Unfortunately, some messages from 192.0.2.1 weren't sent.",
		  "microsoft-rp001" },
		{ "Microsoft's RP-003", 421, "421 RP-003 (BAY004-MC3F2) "
		  "Unfortunately, some messages weren't sent.",
		  "microsoft-rp003" },
		{ "Microsoft's IP reputation limit", 451, "451 4.7.650 The mail "
		  "server [192.0.2.1] has been temporarily rate limited due to "
		  "IP reputation.", "microsoft-ip-reputation" },
		{ "SES's maximum rate", 454, "454 Throttling failure: Maximum "
		  "sending rate exceeded.", "ses-max-rate" },
		{ "SES's daily quota", 454, "454 Throttling failure: Daily "
		  "message quota exceeded.", "ses-daily-quota" },
		{ "a mailbox full matches nothing", 452, "452 4.2.2 The email "
		  "account that you tried to reach is over quota.", NULL },
		{ "Gmail's 4.7.0 of another kind matches nothing", 421,
		  "421 4.7.0 TLS required", NULL },
	};
	struct shaping_rules	*rs = load_shipped();
	size_t			 i;
	int			 m;

	for (i = 0; i < nitems(rows); i++) {
		m = shaping_match(rs, rows[i].code, rows[i].reply);
		if (rows[i].rule == NULL)
			cr_expect_eq(m, -1, "%s: matched %s", rows[i].name,
			    m >= 0 ? shaping_rule(rs, (size_t)m)->name : "");
		else
			cr_expect(m >= 0 && strcmp(shaping_rule(rs,
			    (size_t)m)->name, rows[i].rule) == 0,
			    "%s: matched %s", rows[i].name, m >= 0 ?
			    shaping_rule(rs, (size_t)m)->name : "nothing");
	}
	shaping_rules_free(rs);
}

static const char two_per_hour[] =
    "rule slow code=421 text=\"slow down\" scope=domain action=slow:1/s "
    "for=1h after=2/1h\n"
    "rule stop code=5xx enhanced=5.7. scope=campaign action=suspend for=10m\n";

Test(shaping, fires_at_its_threshold_on_its_scope_and_expires)
{
	struct shaping_rules	*rs = shaping_parse(two_per_hour,
				    strlen(two_per_hour), "t", NULL);
	struct shaping_state	*st = shaping_state_new(rs);
	struct shaping_action	 a, act[4];
	int			 r;

	cr_assert_not_null(rs);
	r = shaping_match(rs, 421, "421 please slow down");
	cr_assert_eq(r, 0);
	cr_assert_eq(shaping_hit(st, r, "gmail.com", "421 please slow down",
	    1000, &a), 0, "the first match is below the threshold");
	cr_assert_eq(shaping_hit(st, r, "gmail.com", "421 please slow down",
	    1500, &a), 1, "the second within the hour fires");
	cr_assert_str_eq(a.key, "gmail.com");
	cr_assert_eq(a.since, 1500);
	cr_assert_eq(a.until, 1500 + 3600);
	cr_assert_eq(a.rule->kind, SHAPING_SLOW);
	cr_assert_float_eq(a.rule->rate_per_s, 1.0, 1e-9);
	cr_assert_eq(shaping_active(st, SHAPING_DOMAIN, "gmail.com", 2000,
	    act, 4), 1);
	cr_assert_eq(shaping_active(st, SHAPING_DOMAIN, "yahoo.com", 2000,
	    act, 4), 0, "only its own domain");
	/* Replies from messages in flight neither count nor extend it. */
	cr_assert_eq(shaping_hit(st, r, "gmail.com", "421 slow down", 1600,
	    &a), 0);
	cr_assert_eq(shaping_hit(st, r, "gmail.com", "421 slow down", 1700,
	    &a), 0);
	cr_assert_eq(shaping_active(st, SHAPING_DOMAIN, "gmail.com", 5099,
	    act, 4), 1);
	cr_assert_eq(act[0].until, 5100, "not extended");
	cr_assert_eq(shaping_active(st, SHAPING_DOMAIN, "gmail.com", 5100,
	    act, 4), 0, "ended by itself");
	/* After it ended, it needs its threshold again. */
	cr_assert_eq(shaping_hit(st, r, "gmail.com", "421 slow down", 5200,
	    &a), 0);
	shaping_state_free(st);
	shaping_rules_free(rs);
}

Test(shaping, matches_spread_beyond_the_window_do_not_fire)
{
	struct shaping_rules	*rs = shaping_parse(two_per_hour,
				    strlen(two_per_hour), "t", NULL);
	struct shaping_state	*st = shaping_state_new(rs);
	struct shaping_action	 a;

	cr_assert_eq(shaping_hit(st, 0, "d", "421 slow down", 0, &a), 0);
	cr_assert_eq(shaping_hit(st, 0, "d", "421 slow down", 3600, &a), 0);
	cr_assert_eq(shaping_hit(st, 0, "d", "421 slow down", 7201, &a), 0);
	cr_assert_eq(shaping_hit(st, 0, "d", "421 slow down", 7300, &a), 1);
	shaping_state_free(st);
	shaping_rules_free(rs);
}

Test(shaping, a_prefix_enhanced_code_and_a_class_match)
{
	struct shaping_rules	*rs = shaping_parse(two_per_hour,
				    strlen(two_per_hour), "t", NULL);
	struct shaping_state	*st = shaping_state_new(rs);
	struct shaping_action	 a;

	cr_assert_eq(shaping_match(rs, 550, "550 5.7.1 policy"), 1);
	cr_assert_eq(shaping_match(rs, 550, "550 5.1.1 no such user"), -1);
	cr_assert_eq(shaping_match(rs, 450, "450 4.7.1 policy"), -1);
	cr_assert_eq(shaping_hit(st, 1, "nov-update", "550 5.7.1", 10, &a), 1,
	    "after defaults to one match");
	cr_assert_str_eq(shaping_scope_name(a.rule->scope), "campaign");
	shaping_state_free(st);
	shaping_rules_free(rs);
}

Test(shaping, refuses_bad_rules_naming_file_and_line)
{
	static const struct {
		const char	*text, *want;
	} bad[] = {
		{ "rule a scope=domain action=suspend for=1h\n",
		  "t:1: rule a matches every reply" },
		{ "# c\n\nrule a code=421 action=suspend for=1h\n",
		  "t:3: rule a needs scope=" },
		{ "rule a code=42 scope=all action=suspend for=1h\n",
		  "t:1: code \"42\" is not" },
		{ "rule a code=421 scope=world action=suspend for=1h\n",
		  "t:1: scope \"world\"" },
		{ "rule a code=421 scope=all action=explode for=1h\n",
		  "t:1: action \"explode\"" },
		{ "rule a code=421 scope=all action=connections:0 for=1h\n",
		  "connections:N wants N from 1 to 256" },
		{ "rule a code=421 scope=all action=suspend for=soon\n",
		  "for \"soon\"" },
		{ "rule a code=421 scope=all action=suspend for=1h after=0/1h\n",
		  "after \"0/1h\"" },
		{ "rule a text=\"open scope=all action=suspend for=1h\n",
		  "not closed" },
		{ "rule a code=421 scope=all action=suspend for=1h colour=red\n",
		  "unknown key \"colour\"" },
		{ "limit a code=421\n", "starts with \"rule NAME\"" },
	};
	struct shaping_rules	*rs;
	char			*cause;
	size_t			 i;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		rs = shaping_parse(bad[i].text, strlen(bad[i].text), "t",
		    &cause);
		cr_expect_null(rs, "%s", bad[i].text);
		cr_expect(cause != NULL && strstr(cause, bad[i].want) != NULL,
		    "want \"%s\" in \"%s\"", bad[i].want, cause);
		shaping_rules_free(rs);
		free(cause);
	}
}

struct dsn_row {
	const char	*name;
	const char	*diag;
	long		 code;
	const char	*reply;
};

static const struct dsn_row dsn_rows[] = {
	{ "a diagnostic with its type gives the reply after it",
	  "smtp; 421 4.7.28 unusual rate", 421, "421 4.7.28 unusual rate" },
	{ "a continuation dash is a reply too", "smtp;421-4.7.0 [TSS04] x",
	  421, "421-4.7.0 [TSS04] x" },
	{ "a reply without a type is read as it is", "550 5.1.1 no such user",
	  550, "550 5.1.1 no such user" },
	{ "words without a code give none", "smtp; host unreachable", 0,
	  "smtp; host unreachable" },
	{ "a 2xx is no failure's reply", "smtp; 250 ok", 0, "smtp; 250 ok" },
};

Test(shaping, reads_the_reply_in_a_dsn_diagnostic)
{
	const char	*reply;
	size_t		 i;

	for (i = 0; i < sizeof dsn_rows / sizeof dsn_rows[0]; i++) {
		cr_expect_eq(shaping_dsn_reply(dsn_rows[i].diag, &reply),
		    dsn_rows[i].code, "%s: code", dsn_rows[i].name);
		cr_expect_str_eq(reply, dsn_rows[i].reply, "%s: reply",
		    dsn_rows[i].name);
	}
}
