/*
 * test_warmup.c: warm-up ramps, one named row per situation.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "warmup.h"

Test(warmup, exponential_curve_from_first_to_target)
{
	uint64_t	 v[WARMUP_MAX_DAYS];
	char		*cause = NULL;
	unsigned	 i;

	cr_assert_eq(warmup_curve(50, 10000, 30, v, &cause), 0);
	cr_expect_eq(v[0], 50, "day 1 is the first volume");
	cr_expect_eq(v[29], 10000, "the last day is the target");
	for (i = 1; i < 30; i++)
		cr_expect_geq(v[i], v[i - 1], "day %u does not fall", i + 1);
	/* Each day multiplies by (10000/50)^(1/29), about 1.2005. */
	cr_expect_eq(v[1], 60, "day 2: %llu", (unsigned long long)v[1]);
	cr_expect_eq(v[2], 72, "day 3: %llu", (unsigned long long)v[2]);
}

Test(warmup, bad_curves_are_refused)
{
	uint64_t	 v[WARMUP_MAX_DAYS];
	char		*cause = NULL;

	cr_expect_eq(warmup_curve(0, 100, 10, v, &cause), -1);
	free(cause);
	cause = NULL;
	cr_expect_eq(warmup_curve(500, 100, 10, v, &cause), -1,
	    "a target below the first day");
	free(cause);
	cause = NULL;
	cr_expect_eq(warmup_curve(50, 100, 1, v, &cause), -1, "one day");
	free(cause);
	cause = NULL;
	cr_expect_eq(warmup_curve(50, 100, WARMUP_MAX_DAYS + 1, v, &cause),
	    -1);
	free(cause);
}

struct row {
	const char	*name;
	int32_t		 today;
	unsigned	 sent_days;
	int		 started, complete;
	unsigned	 day;
	uint64_t	 volume, tomorrow;
};

static const uint64_t vols[] = { 50, 100, 200 };

static const struct row rows[] = {
	{ "before its start date a ramp has not started", 20261130, 0, 0, 0,
	  0, 0, 0 },
	{ "on its start date it is day 1", 20261201, 0, 1, 0, 1, 50, 100 },
	{ "after one sending day it is day 2", 20261203, 1, 1, 0, 2, 100,
	  200 },
	{ "days without sending do not advance it", 20261220, 1, 1, 0, 2, 100,
	  200 },
	{ "its last day has no tomorrow", 20261205, 2, 1, 0, 3, 200, 0 },
	{ "after its last day it is complete", 20261206, 3, 1, 1, 4, 0, 0 },
};

Test(warmup, ramp_days_are_sending_days)
{
	struct warmup_status	 st;
	size_t			 i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const struct row *r = &rows[i];

		warmup_at(vols, 3, 20261201, r->today, r->sent_days, &st);
		cr_expect_eq(st.started, r->started, "%s: started", r->name);
		cr_expect_eq(st.complete, r->complete, "%s: complete", r->name);
		cr_expect_eq(st.day, r->day, "%s: day %u", r->name, st.day);
		cr_expect_eq(st.volume, r->volume, "%s: volume", r->name);
		cr_expect_eq(st.tomorrow, r->tomorrow, "%s: tomorrow", r->name);
	}
}
