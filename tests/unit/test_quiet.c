/*
 * test_quiet.c: quiet hours in the recipient's zone, one named row per
 * situation: the 2026 daylight-saving changes of Europe/Berlin,
 * America/New_York and Australia/Sydney (windows that start or end in
 * the skipped or the repeated hour), 30- and 45-minute offsets, and both
 * sides of the date line.  Every instant is given in UTC; nothing reads
 * the clock.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>

#include "quiet.h"
#include "util.h"

struct row {
	const char	*name;		/* reads as a sentence */
	const char	*zone;
	const char	*hours;		/* NULL: none */
	const char	*days;		/* NULL: none */
	const char	*t;		/* UTC, "YYYY-MM-DDTHH:MM" */
	const char	*want;		/* UTC */
};

static const struct row rows[] = {
	/* Europe/Berlin: CET -> CEST 2026-03-29 02:00 (01:00Z); back
	 * 2026-10-25 03:00 CEST -> 02:00 CET (01:00Z). */
	{ "a Berlin message at 23:00 waits for 08:00 the next morning",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-01-14T22:00",
	  "2026-01-15T07:00" },
	{ "a Berlin message at noon goes at once", "Europe/Berlin",
	  "21:00-08:00", NULL, "2026-06-01T10:00", "2026-06-01T10:00" },
	{ "a Berlin night across the spring change ends at 08:00 summer time",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-03-28T22:00",
	  "2026-03-29T06:00" },
	{ "a Berlin night across the autumn change ends at 08:00 winter time",
	  "Europe/Berlin", "21:00-08:00", NULL, "2026-10-24T20:00",
	  "2026-10-25T07:00" },
	{ "a quiet time ending in the skipped hour ends when the clock jumps",
	  "Europe/Berlin", "22:00-02:30", NULL, "2026-03-28T23:30",
	  "2026-03-29T01:00" },
	{ "a quiet time ending in the repeated hour ends at its first 02:30",
	  "Europe/Berlin", "22:00-02:30", NULL, "2026-10-24T23:00",
	  "2026-10-25T00:30" },
	{ "the second pass through the repeated hour is quiet until its "
	  "second 02:30", "Europe/Berlin", "22:00-02:30", NULL,
	  "2026-10-25T01:10", "2026-10-25T01:30" },
	{ "a window starting in the skipped hour is quiet from the jump",
	  "Europe/Berlin", "02:30-06:00", NULL, "2026-03-29T01:00",
	  "2026-03-29T04:00" },
	{ "just before a window starting in the skipped hour is not quiet",
	  "Europe/Berlin", "02:30-06:00", NULL, "2026-03-29T00:59",
	  "2026-03-29T00:59" },
	/* America/New_York: EST -> EDT 2026-03-08 02:00 (07:00Z); back
	 * 2026-11-01 02:00 EDT -> 01:00 EST (06:00Z). */
	{ "a New York night across the spring change ends at 08:00 EDT",
	  "America/New_York", "21:00-08:00", NULL, "2026-03-08T03:00",
	  "2026-03-08T12:00" },
	{ "a New York night across the autumn change ends at 08:00 EST",
	  "America/New_York", "21:00-08:00", NULL, "2026-11-01T03:00",
	  "2026-11-01T13:00" },
	{ "a New York window ending at 01:30 on the autumn change ends at the "
	  "first 01:30", "America/New_York", "22:00-01:30", NULL,
	  "2026-11-01T04:00", "2026-11-01T05:30" },
	{ "a New York window ending at 02:30 on the spring change ends at "
	  "03:00 EDT", "America/New_York", "22:00-02:30", NULL,
	  "2026-03-08T05:00", "2026-03-08T07:00" },
	{ "a New York window starting in the repeated hour is quiet from its "
	  "first 01:30 to 06:00 EST", "America/New_York", "01:30-06:00", NULL,
	  "2026-11-01T05:30", "2026-11-01T11:00" },
	{ "the second 01:15 of New York's repeated hour is still that night",
	  "America/New_York", "01:30-06:00", NULL, "2026-11-01T06:15",
	  "2026-11-01T11:00" },
	{ "the first 01:15, before a window starting in the repeated hour, "
	  "is not quiet", "America/New_York", "01:30-06:00", NULL,
	  "2026-11-01T05:15", "2026-11-01T05:15" },
	{ "a New York window starting in the skipped hour is quiet from the "
	  "jump", "America/New_York", "02:30-06:00", NULL, "2026-03-08T07:00",
	  "2026-03-08T10:00" },
	{ "the second pass after a window that ended in the repeated hour is "
	  "not quiet", "Europe/Berlin", "22:00-02:30", NULL,
	  "2026-10-25T01:40", "2026-10-25T01:40" },
	/* Australia/Sydney: AEDT -> AEST 2026-04-05 03:00 (16:00Z 04-04);
	 * AEST -> AEDT 2026-10-04 02:00 (16:00Z 10-03). */
	{ "a Sydney night across the April change ends at 08:00 AEST",
	  "Australia/Sydney", "21:00-08:00", NULL, "2026-04-04T12:00",
	  "2026-04-04T22:00" },
	{ "a Sydney night across the October change ends at 08:00 AEDT",
	  "Australia/Sydney", "21:00-08:00", NULL, "2026-10-03T12:00",
	  "2026-10-03T21:00" },
	{ "a Sydney window ending at 02:30 in the repeated hour ends at the "
	  "first 02:30", "Australia/Sydney", "22:00-02:30", NULL,
	  "2026-04-04T13:00", "2026-04-04T15:30" },
	{ "a Sydney window ending at 02:30 in the skipped hour ends at 03:00 "
	  "AEDT", "Australia/Sydney", "22:00-02:30", NULL,
	  "2026-10-03T13:00", "2026-10-03T16:00" },
	{ "a Sydney window starting in the skipped hour is quiet from 03:00 "
	  "AEDT", "Australia/Sydney", "02:30-06:00", NULL,
	  "2026-10-03T16:00", "2026-10-03T19:00" },
	{ "just before Sydney's skipped hour is not quiet yet",
	  "Australia/Sydney", "02:30-06:00", NULL, "2026-10-03T15:59",
	  "2026-10-03T15:59" },
	{ "a Sydney window starting in the repeated hour runs from its first "
	  "02:30 to 06:00 AEST", "Australia/Sydney", "02:30-06:00", NULL,
	  "2026-04-04T15:30", "2026-04-04T20:00" },
	{ "the second 02:10 of Sydney's repeated hour is still that night",
	  "Australia/Sydney", "02:30-06:00", NULL, "2026-04-04T16:10",
	  "2026-04-04T20:00" },
	/* Offsets of 30 and 45 minutes. */
	{ "Kolkata's +05:30 night ends at 08:00 IST", "Asia/Kolkata",
	  "21:00-08:00", NULL, "2026-01-10T16:00", "2026-01-11T02:30" },
	{ "Kolkata at 20:59 is not quiet yet", "Asia/Kolkata", "21:00-08:00",
	  NULL, "2026-01-10T15:29", "2026-01-10T15:29" },
	{ "Kathmandu's +05:45 night ends at 08:00 NPT", "Asia/Kathmandu",
	  "21:00-08:00", NULL, "2026-01-10T15:20", "2026-01-11T02:15" },
	{ "Kathmandu at 20:59 is not quiet yet", "Asia/Kathmandu",
	  "21:00-08:00", NULL, "2026-01-10T15:14", "2026-01-10T15:14" },
	{ "a Kolkata window ending at 06:45 ends at 01:15Z", "Asia/Kolkata",
	  "22:00-06:45", NULL, "2026-07-01T18:00", "2026-07-02T01:15" },
	/* The date line: +14 and -11. */
	{ "Kiritimati (+14) at 22:00 waits for its 08:00, still the same UTC "
	  "day", "Pacific/Kiritimati", "21:00-08:00", NULL,
	  "2026-01-10T08:00", "2026-01-10T18:00" },
	{ "Pago Pago (-11) at 22:00 waits for its 08:00",
	  "Pacific/Pago_Pago", "21:00-08:00", NULL, "2026-01-10T09:00",
	  "2026-01-10T19:00" },
	{ "a UTC Friday that is Saturday in Kiritimati is a quiet Saturday",
	  "Pacific/Kiritimati", NULL, "sat", "2026-01-09T12:00",
	  "2026-01-10T10:00" },
	{ "a UTC Saturday that is Friday in Pago Pago is not",
	  "Pacific/Pago_Pago", NULL, "sat", "2026-01-10T08:00",
	  "2026-01-10T08:00" },
	{ "Pago Pago's Saturday ends at its midnight, 11:00Z Sunday",
	  "Pacific/Pago_Pago", NULL, "sat", "2026-01-10T12:00",
	  "2026-01-11T11:00" },
	/* Days and several windows. */
	{ "a quiet Saturday in Berlin waits for Monday 00:00",
	  "Europe/Berlin", NULL, "sat,sun", "2026-06-06T10:00",
	  "2026-06-07T22:00" },
	{ "a quiet weekend and quiet nights wait for Monday 08:00",
	  "Europe/Berlin", "21:00-08:00", "sat,sun", "2026-06-06T10:00",
	  "2026-06-08T06:00" },
	{ "a Friday late evening waits through the weekend",
	  "Europe/Berlin", "21:00-08:00", "sat,sun", "2026-06-05T20:00",
	  "2026-06-08T06:00" },
	{ "a lunch window is quiet until 13:00", "Europe/Berlin",
	  "12:00-13:00, 21:00-08:00", NULL, "2026-06-01T10:30",
	  "2026-06-01T11:00" },
	{ "windows that touch are one quiet time", "UTC",
	  "21:00-23:00, 23:00-07:00", NULL, "2026-06-01T22:00",
	  "2026-06-02T07:00" },
	{ "a window to 24:00 ends at midnight", "UTC", "22:00-24:00", NULL,
	  "2026-06-01T23:15", "2026-06-02T00:00" },
	{ "the end of a window is not quiet", "UTC", "21:00-08:00", NULL,
	  "2026-06-01T08:00", "2026-06-01T08:00" },
	{ "the start of a window is quiet", "UTC", "21:00-08:00", NULL,
	  "2026-06-01T21:00", "2026-06-02T08:00" },
	{ "no rules: nothing is quiet", "UTC", NULL, NULL,
	  "2026-06-01T03:00", "2026-06-01T03:00" },
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

/* Unix seconds as UTC text, for messages. */
static const char *
iso(int64_t t, char *buf, size_t n)
{
	time_t		 tt = (time_t)t;
	struct tm	 tm;

	gmtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

Test(quiet, rows)
{
	struct quiet_rules	 r;
	struct quiet_zone	*z;
	char			*cause = NULL, a[32], b[32];
	int64_t			 got;
	size_t			 i;

	for (i = 0; i < nitems(rows); i++) {
		memset(&r, 0, sizeof r);
		if (rows[i].hours != NULL)
			cr_assert_eq(quiet_parse_hours(rows[i].hours, &r,
			    &cause), 0, "%s: %s", rows[i].name, cause);
		if (rows[i].days != NULL)
			cr_assert_eq(quiet_parse_days(rows[i].days, &r, &cause),
			    0, "%s: %s", rows[i].name, cause);
		z = quiet_zone_open(rows[i].zone, &cause);
		cr_assert_not_null(z, "%s: %s", rows[i].name, cause);
		got = quiet_next_allowed(z, &r, utc(rows[i].t));
		cr_expect_eq(got, utc(rows[i].want), "%s: got %s, want %s",
		    rows[i].name, iso(got, a, sizeof a),
		    iso(utc(rows[i].want), b, sizeof b));
		quiet_zone_free(z);
	}
}

Test(quiet, never_goes_back_and_ends_outside_quiet_time)
{
	static const char	*zones[] = { "Europe/Berlin",
				    "America/New_York", "Australia/Sydney",
				    "Asia/Kathmandu", "Pacific/Kiritimati" };
	struct quiet_rules	 r;
	struct quiet_zone	*z;
	int64_t			 t, got, start = 1767225600; /* 2026-01-01 */
	size_t			 i;

	memset(&r, 0, sizeof r);
	cr_assert_eq(quiet_parse_hours("21:00-08:00, 12:30-13:15", &r, NULL),
	    0);
	cr_assert_eq(quiet_parse_days("sun", &r, NULL), 0);
	for (i = 0; i < nitems(zones); i++) {
		z = quiet_zone_open(zones[i], NULL);
		cr_assert_not_null(z);
		/* Every 37 minutes through 2026. */
		for (t = start; t < start + 365 * 86400; t += 37 * 60) {
			got = quiet_next_allowed(z, &r, t);
			cr_assert_geq(got, t, "%s at %lld", zones[i],
			    (long long)t);
			cr_assert_leq(got - t, 3 * 86400, "%s at %lld",
			    zones[i], (long long)t);
			cr_assert_eq(quiet_next_allowed(z, &r, got), got,
			    "%s: %lld is still quiet", zones[i],
			    (long long)got);
		}
		quiet_zone_free(z);
	}
}

Test(quiet, refuses_unknown_zones_and_bad_rules_by_name)
{
	static const struct {
		const char	*hours, *days, *want;
	} bad[] = {
		{ "21:00", NULL, "\"21:00\" is not a window" },
		{ "25:00-08:00", NULL, "is not a window" },
		{ "21:60-08:00", NULL, "is not a window" },
		{ "08:00-08:00", NULL, "empty or the whole day" },
		{ "00:00-24:00", NULL, "empty or the whole day" },
		{ "21:00-08:00x", NULL, "is not a window" },
		{ NULL, "sat,funday", "\"funday\" is not a day" },
		{ NULL, "sun,mon,tue,wed,thu,fri,sat", "nothing would ever" },
	};
	struct quiet_rules	 r;
	char			*cause;
	size_t			 i;
	int			 rc;

	for (i = 0; i < nitems(bad); i++) {
		cause = NULL;
		memset(&r, 0, sizeof r);
		rc = bad[i].hours != NULL ? quiet_parse_hours(bad[i].hours, &r,
		    &cause) : quiet_parse_days(bad[i].days, &r, &cause);
		cr_expect_eq(rc, -1, "%s", bad[i].want);
		cr_expect(cause != NULL && strstr(cause, bad[i].want) != NULL,
		    "want \"%s\" in \"%s\"", bad[i].want, cause);
		free(cause);
	}
	cause = NULL;
	cr_assert_null(quiet_zone_open("Mars/Olympus_Mons", &cause));
	cr_assert_not_null(strstr(cause, "unknown"), "%s", cause);
	free(cause);
	cause = NULL;
	cr_assert_null(quiet_zone_open("Europe/Berlin\n", &cause));
	cr_assert_not_null(strstr(cause, "not an IANA zone name"), "%s", cause);
	free(cause);
	cr_assert_eq(quiet_parse_days("Sat, SUNDAY", &r, NULL), 0);
	cr_assert_eq(r.days, (1 << 6) | 1);
}

Test(quiet, local_time_names_the_offset)
{
	struct quiet_zone	*z = quiet_zone_open("Asia/Kathmandu", NULL);
	char			 buf[64];

	cr_assert_not_null(z);
	quiet_local_time(z, utc("2026-01-11T02:15"), buf, sizeof buf);
	cr_assert_str_eq(buf, "2026-01-11 08:00 +05:45");
	quiet_zone_free(z);
}

Test(quiet, cache_opens_each_zone_once)
{
	struct quiet_cache	*c = quiet_cache_new(4);
	struct quiet_zone	*a, *b;
	char			*cause = NULL;

	a = quiet_cache_get(c, "Asia/Tokyo", NULL);
	b = quiet_cache_get(c, "Asia/Tokyo", NULL);
	cr_assert_not_null(a);
	cr_assert_eq(a, b);
	cr_assert_null(quiet_cache_get(c, "No/Such_Zone", &cause));
	free(cause);
	cr_assert_not_null(quiet_cache_get(c, "Europe/Paris", NULL));
	cr_assert_not_null(quiet_cache_get(c, "Europe/Rome", NULL));
	cr_assert_not_null(quiet_cache_get(c, "Europe/Oslo", NULL));
	/* A fifth zone starts the cache over, and still answers. */
	cr_assert_not_null(quiet_cache_get(c, "Europe/Madrid", NULL));
	cr_assert_str_eq(quiet_zone_name(quiet_cache_get(c, "Asia/Tokyo",
	    NULL)), "Asia/Tokyo");
	quiet_cache_free(c);
}

Test(quiet, remembers_a_minute_and_forgets_it_for_other_rules_or_minutes)
{
	struct quiet_zone	*z = quiet_zone_open("Europe/Berlin", NULL);
	struct quiet_rules	 night, none_at_noon;
	int64_t			 t = utc("2026-01-14T22:00");

	memset(&night, 0, sizeof night);
	memset(&none_at_noon, 0, sizeof none_at_noon);
	cr_assert_eq(quiet_parse_hours("21:00-08:00", &night, NULL), 0);
	cr_assert_eq(quiet_parse_hours("12:00-13:00", &none_at_noon, NULL), 0);
	cr_expect_eq(quiet_next_allowed(z, &night, t + 10),
	    utc("2026-01-15T07:00"));
	cr_expect_eq(quiet_next_allowed(z, &night, t + 59),
	    utc("2026-01-15T07:00"), "the same minute, the same end");
	cr_expect_eq(quiet_next_allowed(z, &none_at_noon, t + 30), t + 30,
	    "other rules in the same minute are decided afresh");
	cr_expect_eq(quiet_next_allowed(z, &none_at_noon, t + 31), t + 31,
	    "not quiet: the instant itself");
	cr_expect_eq(quiet_next_allowed(z, &night, utc("2026-01-15T07:00")),
	    utc("2026-01-15T07:00"), "another minute is decided afresh");
	cr_expect_eq(quiet_next_allowed(z, &night, utc("2026-01-15T06:59") +
	    59), utc("2026-01-15T07:00"));
	quiet_zone_free(z);
}
