/*
 * test_schedule.c: the drain's scheduling rules, one named row per
 * situation, so that a failure reads like a sentence.
 *
 * Every instant is an offset in milliseconds from a fixed T0: the rules
 * read no clock.
 */
#include <stdint.h>
#include <string.h>

#include <criterion/criterion.h>

#include "schedule.h"

#define T0		100000.0
#define NDOMS		4
#define KEYLEN		4

/* The instant `ms` after T0. */
static struct instant
at(double ms)
{
	struct instant	 t = { T0 + ms };

	return t;
}

/* A domain's state, as offsets from T0. */
struct dom_row {
	unsigned	 rate;		/* per second; 0: unlimited */
	double		 taken;		/* its last slot taken at; <0: never */
	unsigned	 limit;
	unsigned	 inflight;
	unsigned	 unsent;
	size_t		 staged;
	unsigned	 tempfails;
	unsigned	 slowed;	/* times slowed down */
};

/* Build a domain from a row. */
static void
dom_make(struct schedule_dom *s, const struct dom_row *r)
{
	struct conf_rate	 rate = { r->rate, 1 };
	unsigned		 i;

	schedule_dom_init(s, &rate, r->limit);
	for (i = 0; i < r->slowed; i++)
		pace_slow_down(&s->pace);
	if (r->taken >= 0)
		pace_take(&s->pace, at(r->taken));
	s->inflight = r->inflight;
	s->unsent = r->unsent;
	s->staged = r->staged;
	s->tempfails = r->tempfails;
}

static const char *const hold_names[] = {
	[SCHEDULE_FREE] = "free", [SCHEDULE_FULL] = "full",
	[SCHEDULE_UNSENT] = "unsent", [SCHEDULE_PACED] = "paced"
};

/* May a domain send at a slot? */
struct hold_row {
	const char	*name;
	struct dom_row	 dom;
	double		 slot;
	enum schedule_hold	 hold;
	double		 wait_ms;
};

static const struct hold_row hold_rows[] = {
	{ "a domain with nothing running and no cadence may send",
	  { .rate = 0, .taken = -1 }, 0, SCHEDULE_FREE, 0 },
	{ "a paced domain whose slot has come may send",
	  { .rate = 10, .taken = 0 }, 100, SCHEDULE_FREE, 0 },
	{ "a paced domain whose slot is 40 ms on is held for 40 ms",
	  { .rate = 10, .taken = 0 }, 60, SCHEDULE_PACED, 40 },
	{ "a domain at its concurrency is held",
	  { .rate = 0, .taken = -1, .limit = 2, .inflight = 2 }, 0,
	  SCHEDULE_FULL, 0 },
	{ "a domain under its concurrency may send",
	  { .rate = 0, .taken = -1, .limit = 2, .inflight = 1 }, 0,
	  SCHEDULE_FREE, 0 },
	{ "a domain without a limit of its own is never full",
	  { .rate = 0, .taken = -1, .limit = 0, .inflight = 50 }, 0,
	  SCHEDULE_FREE, 0 },
	{ "a domain whose last send has not begun is held",
	  { .rate = 10, .taken = -1000, .unsent = 1 }, 0, SCHEDULE_UNSENT, 0 },
	{ "being full is said before being paced",
	  { .rate = 10, .taken = 0, .limit = 1, .inflight = 1 }, 10,
	  SCHEDULE_FULL, 0 },
	{ "a slowed domain waits its longer interval",
	  { .rate = 10, .taken = 0, .slowed = 1 }, 150, SCHEDULE_PACED, 50 },
};

/* One row of hold_rows. */
static void
check_hold(const struct hold_row *r)
{
	struct schedule_dom	 s;
	enum schedule_hold		 h;
	double			 w = -1;

	dom_make(&s, &r->dom);
	h = schedule_dom_hold(&s, at(r->slot), &w);
	cr_expect_eq(h, r->hold, "%s: %s, want %s", r->name, hold_names[h],
	    hold_names[r->hold]);
	cr_expect_float_eq(w, r->wait_ms, 1e-9, "%s: wait %g ms, want %g",
	    r->name, w, r->wait_ms);
}

/* May a domain be forgotten? */
struct idle_row {
	const char	*name;
	struct dom_row	 dom;
	double		 now;
	int		 idle;
};

static const struct idle_row idle_rows[] = {
	{ "a domain whose last slot has passed is idle",
	  { .rate = 10, .taken = 0 }, 200, 1 },
	{ "a domain never paced is idle",
	  { .rate = 0, .taken = -1 }, 0, 1 },
	{ "a domain whose next slot is still ahead is not idle",
	  { .rate = 10, .taken = 0 }, 50, 0 },
	{ "a domain with a transfer running is not idle",
	  { .rate = 0, .taken = -1, .inflight = 1 }, 0, 0 },
	{ "a domain with jobs read ahead is not idle",
	  { .rate = 0, .taken = -1, .staged = 3 }, 0, 0 },
	{ "a domain in a run of 4xx is not idle",
	  { .rate = 0, .taken = -1, .tempfails = 1 }, 0, 0 },
	{ "a slowed-down domain is not idle (it would forget the slow-down)",
	  { .rate = 10, .taken = 0, .slowed = 1 }, 100000, 0 },
};

/* One row of idle_rows. */
static void
check_idle(const struct idle_row *r)
{
	struct schedule_dom	 s;

	dom_make(&s, &r->dom);
	cr_expect_eq(schedule_dom_idle(&s, at(r->now)), r->idle, "%s", r->name);
}

/* Which staged domain sends next? */
struct pick_row {
	const char	*name;
	size_t		 n;
	struct dom_row	 doms[NDOMS];
	uint8_t		 keys[NDOMS][KEYLEN];	/* each one's first job */
	double		 slot;
	int		 pick;			/* index; -1: none */
	size_t		 held;
	int		 paced;
	double		 wait_ms;
};

#define FREE_DOM	{ .rate = 0, .taken = -1 }

static const struct pick_row pick_rows[] = {
	{ "with nothing staged, nothing is picked",
	  0, { FREE_DOM }, { { 0 } }, 0, -1, 0, 0, 0 },
	{ "of two free domains, the one with the earlier job sends",
	  2, { FREE_DOM, FREE_DOM }, { { 0, 0, 0, 9 }, { 0, 0, 0, 3 } },
	  0, 1, 0, 0, 0 },
	{ "queue order compares the whole key, not its first byte",
	  2, { FREE_DOM, FREE_DOM }, { { 1, 0, 0, 0 }, { 0, 9, 9, 9 } },
	  0, 1, 0, 0, 0 },
	{ "a paced domain with the earlier job gives way to a free one",
	  2, { { .rate = 10, .taken = 0 }, FREE_DOM },
	  { { 0, 0, 0, 1 }, { 0, 0, 0, 2 } }, 30, 1, 1, 1, 70 },
	{ "a full domain gives way, and says when nothing",
	  2, { { .rate = 0, .taken = -1, .limit = 1, .inflight = 1 },
	  FREE_DOM }, { { 0, 0, 0, 1 }, { 0, 0, 0, 2 } }, 0, 1, 1, 0, 0 },
	{ "when every domain is held, none sends and the soonest paced one "
	    "says when",
	  3, { { .rate = 10, .taken = 0 }, { .rate = 20, .taken = 0 },
	  { .rate = 0, .taken = -1, .unsent = 1 } },
	  { { 0, 0, 0, 1 }, { 0, 0, 0, 2 }, { 0, 0, 0, 3 } }, 10, -1, 3, 1,
	  40 },
	{ "a paced domain is picked at the slot its cadence allows",
	  2, { { .rate = 10, .taken = 0 }, { .rate = 10, .taken = 50 } },
	  { { 0, 0, 0, 2 }, { 0, 0, 0, 1 } }, 100, 0, 1, 1, 50 },
};

/* One row of pick_rows. */
static void
check_pick(const struct pick_row *r)
{
	struct schedule_dom	 s[NDOMS];
	struct schedule_pick	 p;
	size_t			 i;
	int			 got = -1;

	schedule_pick_begin(&p, at(r->slot), KEYLEN);
	for (i = 0; i < r->n; i++) {
		dom_make(&s[i], &r->doms[i]);
		schedule_pick_offer(&p, &s[i], r->keys[i], &s[i]);
	}
	for (i = 0; i < r->n; i++)
		if (p.best == &s[i])
			got = (int)i;
	cr_expect_eq(got, r->pick, "%s: picked %d, want %d", r->name, got,
	    r->pick);
	cr_expect_eq(p.held, r->held, "%s: %zu held, want %zu", r->name,
	    p.held, r->held);
	cr_expect_eq(p.paced, r->paced, "%s: paced %d, want %d", r->name,
	    p.paced, r->paced);
	if (r->paced)
		cr_expect_float_eq(p.wait_ms, r->wait_ms, 1e-9, "%s: wait %g "
		    "ms, want %g", r->name, p.wait_ms, r->wait_ms);
}

/* What the read ahead does with a due job, by its campaign. */
struct read_row {
	const char		*name;
	struct schedule_campaign c;
	enum schedule_read	 want;
};

#define AHEAD	4

static const struct read_row read_rows[] = {
	{ "a campaign under no action is read ahead",
	  { .active = 1 }, SCHEDULE_STAGE },
	{ "a job of a campaign not known yet is looked at again next time",
	  { .active = 0 }, SCHEDULE_SKIP },
	{ "a paused or cancelled campaign's job is passed over, not staged",
	  { .active = 0, .paused = 1 }, SCHEDULE_PASS },
	{ "a suspended campaign's job is passed over, not staged",
	  { .active = 1, .suspended = 1 }, SCHEDULE_PASS },
	{ "a suspended campaign's job is passed over even while it is slowed",
	  { .active = 1, .suspended = 1, .shaped = 1 }, SCHEDULE_PASS },
	{ "a slowed campaign under its read-ahead is read ahead",
	  { .active = 1, .shaped = 1, .staged = AHEAD - 1 }, SCHEDULE_STAGE },
	{ "a slowed campaign at its read-ahead leaves the job to its own read",
	  { .active = 1, .shaped = 1, .staged = AHEAD }, SCHEDULE_BEHIND },
	{ "a slowed campaign with jobs left behind leaves the later ones too, "
	    "for queue order",
	  { .active = 1, .shaped = 1, .staged = 0, .behind = 1 },
	  SCHEDULE_BEHIND },
	{ "an unshaped campaign has no read-ahead limit",
	  { .active = 1, .staged = 1000 }, SCHEDULE_STAGE },
};

/*
 * A read over a queue of `n` jobs of campaign 0 (held as `held`), then
 * one of campaign 1, as the drain's read does it: returns whether the
 * other campaign's job was staged within `budget` jobs looked at, and
 * how many of campaign 0's were.
 */
static int
read_reaches_other(const struct schedule_campaign *held, size_t n,
    size_t budget, size_t *staged)
{
	struct schedule_campaign	 c0 = *held, c1 = { .active = 1 };
	size_t				 i;

	*staged = 0;
	for (i = 0; i <= n && i < budget; i++) {
		struct schedule_campaign *c = i < n ? &c0 : &c1;

		switch (schedule_read(c, AHEAD)) {
		case SCHEDULE_STAGE:
			if (c == &c1)
				return 1;
			c0.staged++;
			(*staged)++;
			break;
		case SCHEDULE_BEHIND:
			c->behind = 1;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* The global slot, with the early-pick lead. */
struct slot_row {
	const char	*name;
	size_t		 running;
	size_t		 concurrency;
	double		 taken;		/* 100/s slot taken; <0: never */
	double		 now;
	int		 ok;
	double		 slot;		/* when ok */
	double		 wake_ms;	/* when not */
};

static const struct slot_row slot_rows[] = {
	{ "with no send yet, the slot is now",
	  0, 4, -1, 0, 1, 0, 0 },
	{ "a slot 5 ms on is picked now, within the lead, for its own time",
	  0, 4, 0, 5, 1, 10, 0 },
	{ "a slot exactly the lead away is picked now",
	  0, 4, 0, 0, 1, 10, 0 },
	{ "a slot more than the lead away wakes the loop the lead before it",
	  0, 4, 0, -20, 0, 0, 20 },
	{ "with only the last connection free there is no lead",
	  3, 4, 0, 5, 0, 0, 5 },
	{ "with one connection in all there is no lead",
	  0, 1, 0, 5, 0, 0, 5 },
	{ "a slot already past is taken now, not in the past",
	  3, 4, 0, 50, 1, 50, 0 },
};

/* One row of slot_rows. */
static void
check_slot(const struct slot_row *r)
{
	struct conf_rate	 rate = { 100, 1 };	/* 10 ms apart */
	struct pace		 g;
	struct schedule_slot	 s;
	double			 wake = -1;
	int			 ok;

	pace_init(&g, &rate, 1);
	if (r->taken >= 0)
		pace_take(&g, at(r->taken));
	ok = schedule_slot(&g, at(r->now), schedule_lead_ms(r->running,
	    r->concurrency), &s, &wake);
	cr_expect_eq(ok, r->ok, "%s: %s", r->name, ok ? "picked" : "held");
	if (ok && r->ok)
		cr_expect_float_eq(instant_since(s.at, at(0)), r->slot, 1e-9,
		    "%s: slot at T0%+g ms, want %+g", r->name,
		    instant_since(s.at, at(0)), r->slot);
	else if (!ok && !r->ok)
		cr_expect_float_eq(wake, r->wake_ms, 1e-9, "%s: wake in %g ms, "
		    "want %g", r->name, wake, r->wake_ms);
}

Test(schedule, a_held_domain_is_looked_at_again_from_now_with_the_lead)
{
	struct schedule_slot	 s = { { T0 + 4 }, 4 };

	cr_expect_float_eq(schedule_held_wake_ms(&s, 30, 10), 24, 1e-9);
	cr_expect_float_eq(schedule_held_wake_ms(&s, 3, 10), 0, 1e-9,
	    "a wake-up is never in the past");
}

/* What a run of answers does to a domain's rate. */
struct tempfail_row {
	const char	*name;
	long		 codes[6];	/* 0 ends; 250: a success */
	int		 slowed;	/* times it said it slowed down */
	double		 rate;		/* per second after, from 20 */
};

static const struct tempfail_row tempfail_rows[] = {
	{ "one 4xx does not slow a domain", { 451 }, 0, 20 },
	{ "two 4xx in a row halve its rate", { 451, 421 }, 1, 10 },
	{ "four 4xx in a row halve it twice", { 451, 451, 451, 451 }, 2, 5 },
	{ "a success between two 4xx breaks the run", { 451, 250, 451 }, 0,
	  20 },
	{ "timeouts without a code are not the domain's fault",
	  { -1, -1, -1 }, 0, 20 },
	{ "a 5xx counted as temporary does not slow it", { 554, 554 }, 0,
	  20 },
	{ "a success after a slow-down wins back a little",
	  { 451, 451, 250 }, 1, 1000.0 / (100 * 0.98) },
};

/* One row of tempfail_rows. */
static void
check_tempfail(const struct tempfail_row *r)
{
	struct dom_row		 row = { .rate = 20, .taken = -1 };
	struct schedule_dom	 s;
	int			 slowed = 0;
	size_t			 i;

	dom_make(&s, &row);
	for (i = 0; i < 6 && r->codes[i] != 0; i++) {
		if (r->codes[i] == 250)
			schedule_dom_sent(&s);
		else
			slowed += schedule_dom_tempfail(&s,
			    r->codes[i] < 0 ? 0 : r->codes[i]);
	}
	cr_expect_eq(slowed, r->slowed, "%s: slowed %d times, want %d",
	    r->name, slowed, r->slowed);
	cr_expect_float_eq(pace_rate(&s.pace), r->rate, 1e-9,
	    "%s: %g/s, want %g/s", r->name, pace_rate(&s.pace), r->rate);
}

/* The wait before a retry, and when retrying gives up. */
struct backoff_row {
	const char	*name;
	uint64_t	 min_s, max_s;
	uint32_t	 attempts;
	unsigned long	 rnd;
	int64_t		 backoff_s;
};

static const struct backoff_row backoff_rows[] = {
	{ "the first retry waits retry_min", 60, 3600, 1, 0, 60 },
	{ "each later retry waits twice as long", 60, 3600, 3, 0, 240 },
	{ "the wait stops at retry_max", 60, 3600, 20, 0, 3600 },
	{ "a doubling past retry_max is cut to it", 60, 100, 2, 0, 100 },
	{ "jitter takes up to a quarter off", 60, 3600, 1, 15, 45 },
	{ "jitter wraps within the quarter", 60, 3600, 1, 16, 60 },
	{ "a retry never comes at once", 0, 0, 1, 0, 1 },
};

/* One row of backoff_rows. */
static void
check_backoff(const struct backoff_row *r)
{
	int64_t	 b = schedule_backoff_s(r->min_s, r->max_s, r->attempts,
	    r->rnd);

	cr_expect_eq(b, r->backoff_s, "%s: %lld s, want %lld s", r->name,
	    (long long)b, (long long)r->backoff_s);
}

Test(schedule, a_retry_past_max_age_gives_up)
{
	cr_expect(!schedule_retry_expired(100, 60, 3600),
	    "a retry well inside max_age goes ahead");
	cr_expect(!schedule_retry_expired(3540, 60, 3600),
	    "a retry exactly at max_age goes ahead");
	cr_expect(schedule_retry_expired(3541, 60, 3600),
	    "a retry one second past max_age gives up");
}

Test(schedule, whether_a_domain_may_send_at_a_slot)
{
	size_t	 i;

	for (i = 0; i < sizeof hold_rows / sizeof hold_rows[0]; i++)
		check_hold(&hold_rows[i]);
}

/* A domain shaped apart inside its group: its limits and the group's. */
struct nested_row {
	const char	*name;
	struct dom_row	 dom;
	struct dom_row	 group;
	double		 slot;
	enum schedule_hold	 hold;
	double		 wait_ms;
};

static const struct nested_row nested_rows[] = {
	{ "a slowed domain whose slot has not come is held though its group "
	  "is free",
	  { .rate = 1, .taken = 0 }, { .rate = 10, .taken = 0 }, 200,
	  SCHEDULE_PACED, 800 },
	{ "a free domain in a group whose slot has not come waits for the "
	  "group's slot",
	  { .rate = 0, .taken = -1 }, { .rate = 10, .taken = 0 }, 60,
	  SCHEDULE_PACED, 40 },
	{ "of two cadences the later slot holds it",
	  { .rate = 10, .taken = 0 }, { .rate = 4, .taken = 0 }, 50,
	  SCHEDULE_PACED, 200 },
	{ "a domain in a group at its concurrency is full though the domain "
	  "has room",
	  { .rate = 0, .taken = -1 }, { .rate = 0, .taken = -1, .limit = 2,
	  .inflight = 2 }, 0, SCHEDULE_FULL, 0 },
	{ "a domain cut to one connection is full though its group has room",
	  { .rate = 0, .taken = -1, .limit = 1, .inflight = 1 },
	  { .rate = 0, .taken = -1, .limit = 4, .inflight = 1 }, 0,
	  SCHEDULE_FULL, 0 },
	{ "a domain and its group both free: it may send",
	  { .rate = 1, .taken = -2000 }, { .rate = 10, .taken = -200 }, 0,
	  SCHEDULE_FREE, 0 },
	{ "a group whose last send has not begun holds its domain",
	  { .rate = 0, .taken = -1 }, { .rate = 10, .taken = -1000,
	  .unsent = 1 }, 0, SCHEDULE_UNSENT, 0 },
};

/* One row of nested_rows. */
static void
check_nested(const struct nested_row *r)
{
	struct schedule_dom	 s, g;
	enum schedule_hold	 h;
	double			 w = -1;

	dom_make(&s, &r->dom);
	dom_make(&g, &r->group);
	s.parent = &g;
	h = schedule_dom_hold(&s, at(r->slot), &w);
	cr_expect_eq(h, r->hold, "%s: %s, want %s", r->name, hold_names[h],
	    hold_names[r->hold]);
	cr_expect_float_eq(w, r->wait_ms, 1e-9, "%s: wait %g ms, want %g",
	    r->name, w, r->wait_ms);
}

Test(schedule, whether_a_domain_shaped_inside_its_group_may_send)
{
	size_t	 i;

	for (i = 0; i < sizeof nested_rows / sizeof nested_rows[0]; i++)
		check_nested(&nested_rows[i]);
}

Test(schedule, whether_a_domain_may_be_forgotten)
{
	size_t	 i;

	for (i = 0; i < sizeof idle_rows / sizeof idle_rows[0]; i++)
		check_idle(&idle_rows[i]);
}

Test(schedule, which_staged_domain_sends_next)
{
	size_t	 i;

	for (i = 0; i < sizeof pick_rows / sizeof pick_rows[0]; i++)
		check_pick(&pick_rows[i]);
}

Test(schedule, which_due_jobs_the_read_takes_ahead)
{
	size_t	 i;

	for (i = 0; i < sizeof read_rows / sizeof read_rows[0]; i++)
		cr_expect_eq(schedule_read(&read_rows[i].c, AHEAD),
		    read_rows[i].want, "%s", read_rows[i].name);
}

Test(schedule, a_held_campaigns_jobs_never_hold_up_another_campaigns)
{
	struct schedule_campaign slowed = { .active = 1, .shaped = 1 };
	struct schedule_campaign suspended = { .active = 1, .suspended = 1 };
	size_t			 staged;

	/* Whatever its number of jobs: the read passes them all. */
	cr_expect(read_reaches_other(&slowed, 100000, 100001, &staged),
	    "the other campaign's job is read after 100000 slowed ones");
	cr_expect_eq(staged, AHEAD, "the slowed campaign has %zu staged, "
	    "want its read-ahead %d", staged, AHEAD);
	cr_expect(read_reaches_other(&suspended, 100000, 100001, &staged),
	    "the other campaign's job is read after 100000 suspended ones");
	cr_expect_eq(staged, 0, "a suspended campaign has nothing staged");
}

Test(schedule, the_global_slot_with_the_early_pick_lead)
{
	size_t	 i;

	for (i = 0; i < sizeof slot_rows / sizeof slot_rows[0]; i++)
		check_slot(&slot_rows[i]);
}

Test(schedule, what_temporary_failures_cost_a_domain)
{
	size_t	 i;

	for (i = 0; i < sizeof tempfail_rows / sizeof tempfail_rows[0]; i++)
		check_tempfail(&tempfail_rows[i]);
}

Test(schedule, the_wait_before_a_retry)
{
	size_t	 i;

	for (i = 0; i < sizeof backoff_rows / sizeof backoff_rows[0]; i++)
		check_backoff(&backoff_rows[i]);
}
