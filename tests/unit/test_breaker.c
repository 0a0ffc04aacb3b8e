/*
 * test_breaker.c: when a campaign's complaints or bounces pause it, one
 * named row per situation.  Limits are Gmail's and Yahoo's 0.3 % for
 * complaints and 5 % for hard bounces, from 1,000 messages sent.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "breaker.h"
#include "util.h"

struct row {
	const char		*name;
	struct breaker_counts	 now;
	struct breaker_counts	 base;
	enum breaker_trip	 want;
};

static const struct breaker_limits lim = { 3000, 50000, 1000 };

static const struct row rows[] = {
	{ "nothing sent never trips", { 0, 0, 0 }, { 0, 0, 0 },
	  BREAKER_NONE },
	{ "three complaints in a thousand trip the complaint breaker",
	  { 1000, 0, 3 }, { 0, 0, 0 }, BREAKER_COMPLAINTS },
	{ "two complaints in a thousand do not", { 1000, 0, 2 }, { 0, 0, 0 },
	  BREAKER_NONE },
	{ "a high rate on fewer than min_sent messages does not trip",
	  { 999, 100, 100 }, { 0, 0, 0 }, BREAKER_NONE },
	{ "fifty hard bounces in a thousand trip the bounce breaker",
	  { 1000, 50, 0 }, { 0, 0, 0 }, BREAKER_BOUNCES },
	{ "forty-nine hard bounces in a thousand do not", { 1000, 49, 0 },
	  { 0, 0, 0 }, BREAKER_NONE },
	{ "complaints are named before bounces when both trip",
	  { 1000, 60, 5 }, { 0, 0, 0 }, BREAKER_COMPLAINTS },
	{ "after a resume the old complaints no longer count",
	  { 1500, 0, 3 }, { 1000, 0, 3 }, BREAKER_NONE },
	{ "after a resume new complaints at the rate trip again",
	  { 2000, 0, 6 }, { 1000, 0, 3 }, BREAKER_COMPLAINTS },
	{ "after a resume min_sent counts from the resume",
	  { 1500, 0, 30 }, { 1000, 0, 3 }, BREAKER_NONE },
	{ "a baseline above the counts (an older backup) counts as zero",
	  { 1000, 0, 3 }, { 5000, 10, 10 }, BREAKER_NONE },
};

Test(breaker, rows)
{
	char			 why[256];
	enum breaker_trip	 got;
	size_t			 i;

	for (i = 0; i < nitems(rows); i++) {
		why[0] = '\0';
		got = breaker_check(&lim, &rows[i].now, &rows[i].base, why,
		    sizeof why);
		cr_expect_eq(got, rows[i].want, "%s: got %s", rows[i].name,
		    got == BREAKER_NONE ? "none" : breaker_name(got));
		if (got != BREAKER_NONE)
			cr_expect(strstr(why, "reached pause_") != NULL,
			    "%s: %s", rows[i].name, why);
	}
}

Test(breaker, off_when_rates_are_zero)
{
	struct breaker_limits	 off = { 0, 0, 1 };
	struct breaker_counts	 c = { 10, 10, 10 }, z = { 0, 0, 0 };
	char			 why[64];

	cr_assert_eq(breaker_check(&off, &c, &z, why, sizeof why),
	    BREAKER_NONE);
}

Test(breaker, says_why_with_figures)
{
	struct breaker_counts	 c = { 2000, 0, 7 }, z = { 0, 0, 0 };
	char			 why[256];

	cr_assert_eq(breaker_check(&lim, &c, &z, why, sizeof why),
	    BREAKER_COMPLAINTS);
	cr_assert_str_eq(why, "complaint rate 0.35 % (7 of 2000 sent) reached "
	    "pause_complaint_rate 0.30 %");
}
