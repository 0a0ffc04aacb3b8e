/*
 * test_quota.c: quota days in a zone and the day's quota, one named row
 * per situation.  Instants are given in UTC; nothing reads the clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "quota.h"
#include "warmup.h"

/* "YYYY-MM-DDTHH:MM:SS" in UTC to unix seconds. */
static int64_t
utc(const char *s)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof tm);
	cr_assert_not_null(strptime(s, "%Y-%m-%dT%H:%M:%S", &tm), "%s", s);
	return (int64_t)timegm(&tm);
}

struct day_row {
	const char	*name;
	const char	*zone;
	const char	*start;		/* day_start, HH:MM:SS */
	const char	*t;
	int32_t		 date;
	const char	*from, *to;
};

static const struct day_row day_rows[] = {
	{ "a UTC afternoon is in that date's day", "UTC", "00:00:00",
	  "2026-12-04T15:00:00", 20261204, "2026-12-04T00:00:00",
	  "2026-12-05T00:00:00" },
	{ "midnight UTC begins the next day", "UTC", "00:00:00",
	  "2026-12-05T00:00:00", 20261205, "2026-12-05T00:00:00",
	  "2026-12-06T00:00:00" },
	{ "the last second before midnight is still today", "UTC",
	  "00:00:00", "2026-12-04T23:59:59", 20261204, "2026-12-04T00:00:00",
	  "2026-12-05T00:00:00" },
	{ "a Berlin evening at 23:30 local is already the next day",
	  "Europe/Berlin", "00:00:00", "2026-12-04T23:30:00", 20261205,
	  "2026-12-04T23:00:00", "2026-12-05T23:00:00" },
	{ "the Berlin spring-forward day is 23 hours long", "Europe/Berlin",
	  "00:00:00", "2026-03-29T12:00:00", 20260329, "2026-03-28T23:00:00",
	  "2026-03-29T22:00:00" },
	{ "the Berlin fall-back day is 25 hours long", "Europe/Berlin",
	  "00:00:00", "2026-10-25T12:00:00", 20261025, "2026-10-24T22:00:00",
	  "2026-10-25T23:00:00" },
	{ "a day starting at 09:00 UTC holds 08:59 in the previous day",
	  "UTC", "09:00:00", "2026-12-04T08:59:59", 20261203,
	  "2026-12-03T09:00:00", "2026-12-04T09:00:00" },
	{ "a day starting at 09:00 UTC begins at 09:00", "UTC", "09:00:00",
	  "2026-12-04T09:00:00", 20261204, "2026-12-04T09:00:00",
	  "2026-12-05T09:00:00" },
	{ "a day starting at 10:15:30 rolls over at that second", "UTC",
	  "10:15:30", "2026-12-04T10:15:29", 20261203, "2026-12-03T10:15:30",
	  "2026-12-04T10:15:30" },
	{ "Los Angeles days begin at 08:00 UTC in winter",
	  "America/Los_Angeles", "00:00:00", "2026-12-04T07:00:00", 20261203,
	  "2026-12-03T08:00:00", "2026-12-04T08:00:00" },
	{ "the year turns over in the zone", "Asia/Tokyo", "00:00:00",
	  "2026-12-31T15:00:00", 20270101, "2026-12-31T15:00:00",
	  "2027-01-01T15:00:00" },
};

Test(quota, days_in_zones)
{
	struct quota_clock	*qc;
	struct quota_day	 d;
	char			*cause = NULL;
	size_t			 i;
	int			 h, m, s;

	for (i = 0; i < sizeof day_rows / sizeof day_rows[0]; i++) {
		const struct day_row *r = &day_rows[i];

		cr_assert_eq(sscanf(r->start, "%d:%d:%d", &h, &m, &s), 3);
		qc = quota_clock_new(r->zone, (uint32_t)(h * 3600 + m * 60 +
		    s), &cause);
		cr_assert_not_null(qc, "%s: %s", r->name, cause);
		quota_day_of(qc, utc(r->t), &d);
		cr_expect_eq(d.date, r->date, "%s: date %d, want %d", r->name,
		    d.date, r->date);
		cr_expect_eq(d.start, utc(r->from), "%s: start", r->name);
		cr_expect_eq(d.end, utc(r->to), "%s: end", r->name);
		quota_clock_free(qc);
	}
}

Test(quota, unknown_zone_is_refused)
{
	char	*cause = NULL;

	cr_expect_null(quota_clock_new("Mars/Olympus", 0, &cause));
	cr_expect_not_null(strstr(cause, "Mars/Olympus"));
	free(cause);
}

struct limit_row {
	const char	*name;
	uint64_t	 daily;
	int		 started, complete;
	uint64_t	 volume;
	uint64_t	 used, want;
	uint64_t	 limit, room;
};

static const struct limit_row limit_rows[] = {
	{ "no limit and no ramp lets everything go", 0, 0, 0, 0, 900, 5, 0,
	  5 },
	{ "a daily limit alone caps the day", 100, 0, 0, 0, 98, 5, 100, 2 },
	{ "a used-up day has no room", 100, 0, 0, 0, 100, 1, 100, 0 },
	{ "an overfilled day has no room either", 100, 0, 0, 0, 150, 1, 100,
	  0 },
	{ "a ramp below the daily limit sets the day", 1000, 1, 0, 50, 10, 5,
	  50, 5 },
	{ "a daily limit below the ramp still holds", 40, 1, 0, 50, 39, 5, 40,
	  1 },
	{ "a ramp alone sets the day", 0, 1, 0, 200, 0, 500, 200, 200 },
	{ "a ramp not started yet sets nothing", 0, 0, 0, 0, 0, 500, 0, 500 },
	{ "a complete ramp leaves the daily limit", 300, 1, 1, 0, 0, 500, 300,
	  300 },
};

Test(quota, limits_and_room)
{
	struct warmup_status	 w;
	uint64_t		 l;
	size_t			 i;

	for (i = 0; i < sizeof limit_rows / sizeof limit_rows[0]; i++) {
		const struct limit_row *r = &limit_rows[i];

		memset(&w, 0, sizeof w);
		w.started = r->started;
		w.complete = r->complete;
		w.volume = r->volume;
		l = quota_limit(r->daily, &w);
		cr_expect_eq(l, r->limit, "%s: limit %llu", r->name,
		    (unsigned long long)l);
		cr_expect_eq(quota_room(l, r->used, r->want), r->room,
		    "%s: room", r->name);
	}
}

struct room_row {
	const char	*name;
	uint64_t	 used[3], limit[3];
	int		 want;
};

static const struct room_row room_rows[] = {
	{ "a day with room is the first", { 0, 0, 0 }, { 5, 5, 5 }, 0 },
	{ "a full day passes to the next", { 5, 0, 0 }, { 5, 5, 5 }, 1 },
	{ "an overfilled day passes too", { 9, 5, 1 }, { 5, 5, 5 }, 2 },
	{ "a day without a limit always has room", { 9, 9, 9 }, { 5, 0, 5 },
	  1 },
	{ "no day with room: none", { 5, 5, 5 }, { 5, 5, 5 }, -1 },
};

Test(quota, the_first_day_with_room)
{
	size_t	 i;

	for (i = 0; i < sizeof room_rows / sizeof room_rows[0]; i++)
		cr_expect_eq(quota_first_room(room_rows[i].used,
		    room_rows[i].limit, 3), room_rows[i].want, "%s",
		    room_rows[i].name);
}
