/*
 * quota.c: quota days in a zone, and the day's quota (see quota.h).
 */
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "quota.h"
#include "util.h"
#include "warmup.h"

struct quota_clock {
	UCalendar	*cal;
	uint32_t	 day_start;	/* s after local midnight */
};

struct quota_clock *
quota_clock_new(const char *zone, uint32_t day_start, char **cause)
{
	struct quota_clock	*qc;
	UChar			 id[128];
	UErrorCode		 st = U_ZERO_ERROR;
	UBool			 system = 0;
	UChar			 canon[128];

	if (strlen(zone) >= 64) {
		set_cause(cause, "time zone \"%s\" is too long", zone);
		return NULL;
	}
	u_uastrcpy(id, zone);
	ucal_getCanonicalTimeZoneID(id, -1, canon, 128, &system, &st);
	if (U_FAILURE(st) || !system) {
		set_cause(cause, "unknown time zone \"%s\" (want an IANA name "
		    "such as Europe/Berlin)", zone);
		return NULL;
	}
	qc = xcalloc(1, sizeof *qc);
	qc->day_start = day_start;
	qc->cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		free(qc);
		set_cause(cause, "cannot open a calendar for \"%s\": %s", zone,
		    u_errorName(st));
		return NULL;
	}
	/* A day start the zone skips begins the day at the jump. */
	ucal_setAttribute(qc->cal, UCAL_SKIPPED_WALL_TIME, UCAL_WALLTIME_NEXT_VALID);
	return qc;
}

void
quota_clock_free(struct quota_clock *qc)
{
	if (qc == NULL)
		return;
	ucal_close(qc->cal);
	free(qc);
}

/* The instant of local date (y, m from 0, d + days) at the day start. */
static int64_t
quota_clock_at(struct quota_clock *qc, int32_t y, int32_t m, int32_t d,
    int days)
{
	UErrorCode	 st = U_ZERO_ERROR;
	uint32_t	 s = qc->day_start;

	ucal_clear(qc->cal);
	ucal_setAttribute(qc->cal, UCAL_REPEATED_WALL_TIME,
	    UCAL_WALLTIME_FIRST);
	ucal_setDateTime(qc->cal, y, m, d + days, (int32_t)(s / 3600),
	    (int32_t)(s / 60 % 60), (int32_t)(s % 60), &st);
	return (int64_t)(ucal_getMillis(qc->cal, &st) / 1000.0);
}

void
quota_day_of(struct quota_clock *qc, int64_t t, struct quota_day *out)
{
	UErrorCode	 st = U_ZERO_ERROR;
	int32_t		 y, m, d;
	int64_t		 today;

	ucal_setMillis(qc->cal, (UDate)t * 1000.0, &st);
	y = ucal_get(qc->cal, UCAL_YEAR, &st);
	m = ucal_get(qc->cal, UCAL_MONTH, &st);
	d = ucal_get(qc->cal, UCAL_DATE, &st);
	/* Before this date's day start, the quota day began the day before. */
	today = quota_clock_at(qc, y, m, d, 0);
	if (t >= today) {
		out->start = today;
		out->end = quota_clock_at(qc, y, m, d, 1);
	} else {
		out->start = quota_clock_at(qc, y, m, d, -1);
		out->end = today;
	}
	/* Name the day by the local date of its start. */
	ucal_setMillis(qc->cal, (UDate)out->start * 1000.0, &st);
	out->date = ucal_get(qc->cal, UCAL_YEAR, &st) * 10000 +
	    (ucal_get(qc->cal, UCAL_MONTH, &st) + 1) * 100 +
	    ucal_get(qc->cal, UCAL_DATE, &st);
}

uint64_t
quota_limit(uint64_t daily_limit, const struct warmup_status *w)
{
	uint64_t	 v;

	if (w == NULL || !w->started || w->complete)
		return daily_limit;
	v = w->volume;
	return daily_limit != 0 && daily_limit < v ? daily_limit : v;
}

uint64_t
quota_room(uint64_t limit, uint64_t used, uint64_t want)
{
	if (limit == 0)
		return want;
	if (used >= limit)
		return 0;
	return limit - used < want ? limit - used : want;
}

int
quota_first_room(const uint64_t *used, const uint64_t *limit, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (quota_room(limit[i], used[i], 1) > 0)
			return (int)i;
	return -1;
}
