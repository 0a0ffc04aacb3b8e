/*
 * test_quiet_policy.c: the caps and quiet hours agreeing on one instant,
 * one named row per situation.  Times are UTC text; nothing reads the
 * clock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "quiet_policy.h"
#include "util.h"

#define H	INT64_C(3600)
#define D	INT64_C(86400)
#define MAXT	4

struct row {
	const char		*name;		/* reads as a sentence */
	const char		*zone;
	const char		*hours;		/* NULL: none */
	const char		*days;		/* NULL: none */
	const char		*now;		/* UTC, "YYYY-MM-DDTHH:MM" */
	const char		*send_after;	/* NULL: none */
	const char		*expires;
	const char		*hist[MAXT];	/* sent or reserved */
	struct conf_cap		 cap;
	int64_t			 gap;
	int			 unsub;
	enum policy_verdict	 verdict;
	enum policy_reason	 reason;
	const char		*due;		/* when not rejected */
	enum quiet_policy_cause	 cause;
};

#define CAP4	{ 4, 30 * D }

static const struct row rows[] = {
	{ "without quiet hours the caps' decision stands", "UTC", NULL, NULL,
	  "2026-06-01T23:00", NULL, "2026-06-08T00:00", { NULL }, CAP4, 0, 0,
	  POLICY_ACCEPT, POLICY_OK, "2026-06-01T23:00", QUIET_CAUSE_NONE },
	{ "a message at 22:00 in Tokyo waits for 08:00 Tokyo", "Asia/Tokyo",
	  "21:00-08:00", NULL, "2026-06-01T13:00", NULL, "2026-06-08T00:00",
	  { NULL }, CAP4, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-01T23:00", QUIET_CAUSE_QUIET },
	{ "a message at 14:00 in Tokyo goes at once", "Asia/Tokyo",
	  "21:00-08:00", NULL, "2026-06-01T05:00", NULL, "2026-06-08T00:00",
	  { NULL }, CAP4, 0, 0,
	  POLICY_ACCEPT, POLICY_OK, "2026-06-01T05:00", QUIET_CAUSE_NONE },
	{ "a gap that ends at 23:00 in Berlin moves to 08:00 the next day",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-06-01T10:00", NULL,
	  "2026-06-08T00:00", { "2026-05-30T21:00" }, CAP4, 2 * D, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-02T06:00", QUIET_CAUSE_QUIET },
	{ "a gap that ends in the Berlin afternoon is the caps' deferral",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-06-01T10:00", NULL,
	  "2026-06-08T00:00", { "2026-05-30T12:00" }, CAP4, 2 * D, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-01T12:00", QUIET_CAUSE_CAPS },
	{ "the morning slot keeps the gap to a message reserved that morning",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-06-01T22:00", NULL,
	  "2026-06-08T00:00", { "2026-06-02T06:30" }, CAP4, 1 * H, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-02T07:30", QUIET_CAUSE_QUIET },
	{ "a cap slot pushed into the lunch window waits for its end",
	  "UTC", "21:00-08:00, 12:00-13:00", NULL, "2026-06-01T23:00", NULL,
	  "2026-06-08T00:00", { "2026-06-02T08:00" }, CAP4, 4 * H, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-02T13:00", QUIET_CAUSE_QUIET },
	{ "a full cap that the morning frees is met in the morning", "UTC",
	  "21:00-08:00", NULL, "2026-06-01T22:00", NULL, "2026-06-08T00:00",
	  { "2026-05-02T23:00" }, { 1, 30 * D }, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-02T08:00", QUIET_CAUSE_QUIET },
	{ "a morning after the campaign's expiry is a quiet_hours rejection",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-06-01T22:00", NULL,
	  "2026-06-02T05:00", { NULL }, CAP4, 0, 0,
	  POLICY_REJECT, POLICY_QUIET_HOURS, NULL, QUIET_CAUSE_NONE },
	{ "a morning exactly at expiry is rejected too", "Europe/Berlin",
	  "21:00-08:00", NULL, "2026-06-01T22:00", NULL, "2026-06-02T06:00",
	  { NULL }, CAP4, 0, 0,
	  POLICY_REJECT, POLICY_QUIET_HOURS, NULL, QUIET_CAUSE_NONE },
	{ "a morning one minute before expiry is kept", "Europe/Berlin",
	  "21:00-08:00", NULL, "2026-06-01T22:00", NULL, "2026-06-02T06:01",
	  { NULL }, CAP4, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-02T06:00", QUIET_CAUSE_QUIET },
	{ "the caps' own refusal stays frequency_cap", "Europe/Berlin",
	  "21:00-08:00", NULL, "2026-06-01T22:00", NULL, "2026-06-03T00:00",
	  { "2026-06-01T10:00" }, { 1, 7 * D }, 0, 0,
	  POLICY_REJECT, POLICY_FREQUENCY_CAP, NULL, QUIET_CAUSE_NONE },
	{ "an unsubscribe is still an unsubscribe at night", "Europe/Berlin",
	  "21:00-08:00", NULL, "2026-06-01T22:00", NULL, "2026-06-08T00:00",
	  { NULL }, CAP4, 0, 1,
	  POLICY_REJECT, POLICY_UNSUBSCRIBED, NULL, QUIET_CAUSE_NONE },
	{ "a send-after at 23:00 in New York waits for 08:00 EDT",
	  "America/New_York", "21:00-08:00", NULL, "2026-06-01T12:00",
	  "2026-06-02T03:00", "2026-06-08T00:00", { NULL }, CAP4, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-06-02T12:00", QUIET_CAUSE_QUIET },
	{ "Kathmandu's 21:05 waits for its 08:00 (+05:45)", "Asia/Kathmandu",
	  "21:00-08:00", NULL, "2026-01-10T15:20", NULL, "2026-01-17T00:00",
	  { NULL }, CAP4, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-01-11T02:15", QUIET_CAUSE_QUIET },
	{ "a UTC Friday that is Saturday in Kiritimati waits for its Sunday",
	  "Pacific/Kiritimati", NULL, "sat", "2026-01-09T12:00", NULL,
	  "2026-01-17T00:00", { NULL }, CAP4, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-01-10T10:00", QUIET_CAUSE_QUIET },
	{ "a UTC Saturday that is Friday evening in Pago Pago goes at once",
	  "Pacific/Pago_Pago", NULL, "sat", "2026-01-10T08:00", NULL,
	  "2026-01-17T00:00", { NULL }, CAP4, 0, 0,
	  POLICY_ACCEPT, POLICY_OK, "2026-01-10T08:00", QUIET_CAUSE_NONE },
	{ "a night across Berlin's spring change ends at 08:00 CEST",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-03-28T22:00", NULL,
	  "2026-04-04T00:00", { NULL }, CAP4, 0, 0,
	  POLICY_DEFER, POLICY_OK, "2026-03-29T06:00", QUIET_CAUSE_QUIET },
};

/* A UTC "YYYY-MM-DDTHH:MM" as unix seconds. */
static int64_t
utc(const char *s)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof tm);
	cr_assert_not_null(strptime(s, "%Y-%m-%dT%H:%M", &tm), "%s", s);
	return (int64_t)timegm(&tm);
}

/* Decide one row and compare, naming it on failure. */
static void
check_row(const struct row *r)
{
	struct policy_input	 in;
	struct policy_decision	 d;
	struct quiet_rules	 rules;
	struct quiet_zone	*z;
	enum quiet_policy_cause	 cause;
	int64_t			 times[MAXT];
	size_t			 n;

	memset(&rules, 0, sizeof rules);
	if (r->hours != NULL)
		cr_assert_eq(quiet_parse_hours(r->hours, &rules, NULL), 0);
	if (r->days != NULL)
		cr_assert_eq(quiet_parse_days(r->days, &rules, NULL), 0);
	cr_assert_not_null(z = quiet_zone_open(r->zone, NULL), "%s", r->name);
	for (n = 0; n < MAXT && r->hist[n] != NULL; n++)
		times[n] = utc(r->hist[n]);
	memset(&in, 0, sizeof in);
	in.times = times;
	in.ntimes = n;
	in.cap = r->cap;
	in.min_gap = (uint64_t)r->gap;
	in.unsub_list = r->unsub;
	in.now = utc(r->now);
	in.send_after = r->send_after != NULL ? utc(r->send_after) : 0;
	in.expires = utc(r->expires);
	quiet_policy_decide(&in, z, &rules, &d, &cause);
	cr_expect_eq(d.verdict, r->verdict, "%s: verdict %d, want %d",
	    r->name, d.verdict, r->verdict);
	cr_expect_eq(d.reason, r->reason, "%s: %s, want %s", r->name,
	    policy_reason_name(d.reason), policy_reason_name(r->reason));
	if (r->due != NULL)
		cr_expect_eq(d.due, utc(r->due), "%s: due %+lld s off",
		    r->name, (long long)(d.due - utc(r->due)));
	cr_expect_eq(cause, r->cause, "%s: cause %d, want %d", r->name, cause,
	    r->cause);
	quiet_zone_free(z);
}

Test(quiet_policy, decides_every_situation_of_the_table)
{
	size_t	 i;

	for (i = 0; i < nitems(rows); i++)
		check_row(&rows[i]);
}

Test(quiet_policy, without_a_zone_the_caps_decide_alone)
{
	struct policy_input	 in;
	struct policy_decision	 d;
	struct quiet_rules	 rules;
	enum quiet_policy_cause	 cause;

	memset(&rules, 0, sizeof rules);
	cr_assert_eq(quiet_parse_hours("00:00-23:59", &rules, NULL), 0);
	memset(&in, 0, sizeof in);
	in.now = utc("2026-06-01T12:00");
	in.expires = in.now + D;
	quiet_policy_decide(&in, NULL, &rules, &d, &cause);
	cr_expect_eq(d.verdict, POLICY_ACCEPT);
	cr_expect_eq(d.due, in.now);
	cr_expect_eq(cause, QUIET_CAUSE_NONE);
	cr_expect_str_eq(policy_reason_name(POLICY_QUIET_HOURS),
	    "quiet_hours");
}
