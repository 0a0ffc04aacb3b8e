/*
 * test_pace.c: even spacing, bursts, slow-down and recovery.
 */
#include <criterion/criterion.h>

#include "pace.h"

/* The instant `ms` milliseconds after the clock's origin. */
static struct instant
T(double ms)
{
	struct instant	 t = { ms };

	return t;
}

/* Send as soon as allowed, n times from t0; return the send times. */
static void
run(struct pace *p, double t0, int n, double *at)
{
	double	 now = t0;
	int	 i;

	for (i = 0; i < n; i++) {
		now += pace_wait(p, T(now));
		pace_take(p, T(now));
		at[i] = now;
	}
}

Test(pace, fifty_per_second_are_twenty_ms_apart)
{
	struct conf_rate	 r = { 50, 1 };
	struct pace		 p;
	double			 at[100];
	int			 i;

	pace_init(&p, &r, 1);
	run(&p, 1000.0, 100, at);
	for (i = 1; i < 100; i++)
		cr_expect_float_eq(at[i] - at[i - 1], 20.0, 1e-9,
		    "gap %d is %f", i, at[i] - at[i - 1]);
}

Test(pace, a_rate_per_minute_spaces_by_seconds)
{
	struct conf_rate	 r = { 30, 60 };
	struct pace		 p;
	double			 at[3];

	pace_init(&p, &r, 1);
	run(&p, 0.0, 3, at);
	cr_expect_float_eq(at[1] - at[0], 2000.0, 1e-9);
	cr_expect_float_eq(at[2] - at[1], 2000.0, 1e-9);
}

Test(pace, unlimited_never_waits)
{
	struct conf_rate	 r = { 0, 1 };
	struct pace		 p;
	int			 i;

	pace_init(&p, &r, 1);
	for (i = 0; i < 1000; i++) {
		cr_assert_eq(pace_wait(&p, T(5.0)), 0.0);
		pace_take(&p, T(5.0));
	}
}

Test(pace, a_burst_allows_that_many_at_once_then_spaces)
{
	struct conf_rate	 r = { 10, 1 };
	struct pace		 p;
	double			 at[6];

	pace_init(&p, &r, 3);
	run(&p, 0.0, 6, at);
	cr_expect_float_eq(at[0], 0.0, 1e-9);
	cr_expect_float_eq(at[1], 0.0, 1e-9);
	cr_expect_float_eq(at[2], 0.0, 1e-9);
	cr_expect_float_eq(at[3], 100.0, 1e-9);
	cr_expect_float_eq(at[4], 200.0, 1e-9);
}

Test(pace, idle_time_does_not_bank_more_than_the_burst)
{
	struct conf_rate	 r = { 10, 1 };
	struct pace		 p;
	double			 at[3];

	pace_init(&p, &r, 1);
	run(&p, 0.0, 1, at);
	run(&p, 100000.0, 3, at);
	cr_expect_float_eq(at[1] - at[0], 100.0, 1e-9);
	cr_expect_float_eq(at[2] - at[1], 100.0, 1e-9);
}

Test(pace, repeated_failures_halve_and_successes_recover_gradually)
{
	struct conf_rate	 r = { 20, 1 };
	struct pace		 p;
	int			 n = 0;

	pace_init(&p, &r, 1);
	pace_slow_down(&p);
	cr_expect_float_eq(pace_rate(&p), 10.0, 1e-9);
	pace_slow_down(&p);
	cr_expect_float_eq(pace_rate(&p), 5.0, 1e-9);
	pace_recover(&p);
	cr_expect(pace_rate(&p) > 5.0 && pace_rate(&p) < 5.2);
	while (pace_rate(&p) < 20.0 && n < 1000) {
		pace_recover(&p);
		n++;
	}
	cr_expect(n > 50, "recovered too fast: %d steps", n);
	cr_expect_float_eq(pace_rate(&p), 20.0, 1e-9);
}

Test(pace, slowing_down_stops_at_one_per_minute)
{
	struct conf_rate	 r = { 1, 1 };
	struct pace		 p;
	int			 i;

	pace_init(&p, &r, 1);
	for (i = 0; i < 30; i++)
		pace_slow_down(&p);
	cr_expect_float_eq(p.interval, 60000.0, 1e-9);
}

Test(pace, reconfiguring_applies_the_new_rate)
{
	struct conf_rate	 a = { 10, 1 }, b = { 100, 1 };
	struct pace		 p;

	pace_init(&p, &a, 1);
	pace_reconfigure(&p, &b, 1);
	cr_expect_float_eq(pace_rate(&p), 100.0, 1e-9);
}

Test(pace, a_late_start_pushes_the_next_slot_back)
{
	struct conf_rate	 r = { 20, 1 };		/* 50 ms apart */
	struct pace		 p;

	pace_init(&p, &r, 1);
	cr_assert_eq(pace_wait(&p, T(1000.0)), 0.0);
	pace_take(&p, T(1000.0));
	/* It waited 18 ms for a connection before it really began. */
	pace_started(&p, T(1018.0));
	cr_expect_float_eq(pace_wait(&p, T(1050.0)), 18.0, 1e-9);
	cr_expect_float_eq(pace_wait(&p, T(1068.0)), 0.0, 1e-9);
	/* A start on time changes nothing; unlimited stays unlimited. */
	pace_started(&p, T(1000.0));
	cr_expect_float_eq(pace_wait(&p, T(1050.0)), 18.0, 1e-9);
	cr_expect(pace_limited(&p));
	r.count = 0;
	pace_init(&p, &r, 1);
	pace_started(&p, T(1000.0));
	cr_expect(!pace_limited(&p));
	cr_expect_eq(pace_wait(&p, T(0.0)), 0.0);
}

/* Taking a slot on schedule: where the next slot lands. */
struct schedule_row {
	const char	*name;
	double		 taken;		/* the slot before, at 20/s */
	double		 at;		/* when this send goes */
	double		 next;		/* the next slot after it */
};

static const struct schedule_row schedule_rows[] = {
	{ "a send on its slot moves the next one interval on",
	  1000, 1050, 1100 },
	{ "a send a little late counts from its slot, keeping the schedule",
	  1000, 1062, 1100 },
	{ "a send a whole interval late starts a new schedule",
	  1000, 1100, 1150 },
	{ "a send long after starts a new schedule from itself",
	  1000, 5000, 5050 },
	{ "a send early (by the lead) still takes the slot ahead",
	  1000, 1045, 1100 },
};

Test(pace, taking_a_slot_on_schedule)
{
	struct conf_rate	 r = { 20, 1 };		/* 50 ms apart */
	struct pace		 p;
	size_t			 i;

	for (i = 0; i < sizeof schedule_rows / sizeof schedule_rows[0];
	    i++) {
		const struct schedule_row *s = &schedule_rows[i];

		pace_init(&p, &r, 1);
		pace_take(&p, T(s->taken));
		pace_take_on_schedule(&p, T(s->at));
		cr_expect_float_eq(p.tat.ms, s->next, 1e-9, "%s: next slot at "
		    "%g, want %g", s->name, p.tat.ms, s->next);
	}
}

Test(pace, unlimited_takes_no_slot_on_schedule)
{
	struct conf_rate	 r = { 0, 1 };
	struct pace		 p;

	pace_init(&p, &r, 1);
	pace_take_on_schedule(&p, T(1000.0));
	cr_expect_eq(pace_wait(&p, T(1000.0)), 0.0);
	cr_expect_float_eq(pace_interval_ms(&p), 0.0, 1e-9);
}

Test(pace, idle_once_its_last_slot_has_passed_and_not_slowed)
{
	struct conf_rate	 r = { 20, 1 };
	struct pace		 p;

	pace_init(&p, &r, 1);
	pace_take(&p, T(1000.0));
	cr_expect(!pace_idle(&p, T(1049.0)), "its next slot is ahead");
	cr_expect(pace_idle(&p, T(1051.0)), "its next slot has passed");
	pace_slow_down(&p);
	cr_expect(!pace_idle(&p, T(100000.0)), "a slow-down is remembered");
}

Test(pace, a_slow_down_that_ends_does_not_leave_its_long_slot_behind)
{
	struct conf_rate	 slow = { 1, 60 }, fast = { 10, 1 };
	struct pace		 p;

	pace_init(&p, &fast, 1);
	pace_reconfigure(&p, &slow, 1);
	pace_take(&p, T(1000.0));
	cr_expect_float_eq(pace_wait(&p, T(2000.0)), 59000.0, 1e-9,
	    "slowed to 1/min, the next slot is a minute on");
	pace_reconfigure(&p, &fast, 1);
	pace_clamp(&p, T(2000.0));
	cr_expect_float_eq(pace_wait(&p, T(2000.0)), 100.0, 1e-9,
	    "back at 10/s, the next slot is 100 ms on, not a minute");
	pace_clamp(&p, T(2000.0));
	cr_expect_float_eq(pace_wait(&p, T(2000.0)), 100.0, 1e-9,
	    "clamping again changes nothing");
}
