/*
 * quiet.c: quiet hours in the recipient's time zone, with ICU's calendar
 * (see quiet.h).
 *
 * ICU resolves a wall time the zone skips (spring forward) or repeats
 * (fall back) by the calendar's attributes: a quiet time ends at the
 * first valid instant after a skipped end, and at the first occurrence
 * of a repeated one (the later one when the first has already passed:
 * the clock read that time once more and the night goes on).  Likewise
 * a night that had begun when the clock fell back goes on through the
 * repeated stretch, even where the clock reads a time before its start.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <unicode/ucal.h>
#include <unicode/ustring.h>

#include "hashtab.h"
#include "quiet.h"
#include "util.h"

/* A quiet time is at most a week of quiet days; a few more steps cover
 * windows that chain into each other. */
#define QUIET_MAX_STEPS	32
/* A clock that fell back within this long may read a time twice. */
#define QUIET_REPEAT_MAX	(3 * 3600)

struct quiet_memo {
	int			 set;
	int64_t			 minute;	/* its first second */
	int64_t			 end;		/* 0: not quiet */
	struct quiet_rules	 rules;
};

struct quiet_zone {
	char		 name[QUIET_ZONE_MAX + 1];
	UCalendar	*cal;
	/*
	 * The last answers, each for one UTC minute: windows, days and
	 * offsets change on whole minutes, so every instant of a minute has
	 * the same one.  A million recipients of one zone cost a calendar
	 * computation a minute, not a million.  Two: a night's end is asked
	 * about right after now.
	 */
	struct quiet_memo	 memo[2];
	unsigned		 memo_next;	/* the one to replace */
};

struct quiet_cache {
	struct hashtab		*zones;		/* by name */
	size_t			 max;
};

/* The local date and minute of day of an instant. */
struct quiet_local {
	int32_t	 year, month, day;	/* month from 0, as ICU counts */
	int32_t	 minute;		/* of the day, 0..1439 */
	int32_t	 wday;			/* 0 = Sunday */
};

static const char *quiet_day_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

int
quiet_any(const struct quiet_rules *r)
{
	return r != NULL && (r->nw > 0 || r->days != 0);
}

/* "HH:MM" at *p (24:00 only where allow24), in minutes; -1 if not one. */
static int
quiet_parse_time(const char **p, int allow24)
{
	const char	*s = *p;
	int		 h, m;

	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]) ||
	    s[2] != ':' || !isdigit((unsigned char)s[3]) ||
	    !isdigit((unsigned char)s[4]))
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (m > 59 || h > 24 || (h == 24 && (m != 0 || !allow24)))
		return -1;
	*p = s + 5;
	return h * 60 + m;
}

int
quiet_parse_hours(const char *s, struct quiet_rules *r, char **cause)
{
	const char	*p = s, *item;
	int		 a, b;

	r->nw = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		item = p;
		if ((a = quiet_parse_time(&p, 0)) == -1 || *p++ != '-' ||
		    (b = quiet_parse_time(&p, 1)) == -1 ||
		    (*p != '\0' && *p != ',' && *p != ' ' && *p != '\t'))
			return set_cause(cause, "quiet hours \"%s\": \"%.*s\" is "
			    "not a window HH:MM-HH:MM (e.g. 21:00-08:00)", s,
			    (int)strcspn(item, ", \t"), item);
		if (a == b || (b == 24 * 60 && a == 0))
			return set_cause(cause, "quiet hours \"%s\": %.11s is "
			    "empty or the whole day (use days = for whole "
			    "days)", s, item);
		if (r->nw == QUIET_MAX_WINDOWS)
			return set_cause(cause, "quiet hours \"%s\": more than "
			    "%d windows", s, QUIET_MAX_WINDOWS);
		r->w[r->nw].start = (uint16_t)a;
		r->w[r->nw].end = (uint16_t)(b == 24 * 60 ? 0 : b);
		r->nw++;
	}
	return 0;
}

int
quiet_parse_days(const char *s, struct quiet_rules *r, char **cause)
{
	static const char	*long_names[] = { "sunday", "monday",
				    "tuesday", "wednesday", "thursday",
				    "friday", "saturday" };
	const char		*p = s;
	size_t			 n, d;

	r->days = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		n = strcspn(p, ", \t");
		for (d = 0; d < 7; d++)
			if ((n == 3 && strncasecmp(p, quiet_day_names[d], 3) ==
			    0) || (n == strlen(long_names[d]) &&
			    strncasecmp(p, long_names[d], n) == 0))
				break;
		if (d == 7)
			return set_cause(cause, "quiet days \"%s\": \"%.*s\" is "
			    "not a day (sun, mon, tue, wed, thu, fri, sat)", s,
			    (int)n, p);
		r->days |= (uint8_t)(1u << d);
		p += n;
	}
	if (r->days == 0x7f)
		return set_cause(cause, "quiet days \"%s\": every day is quiet, "
		    "so nothing would ever be sent", s);
	return 0;
}

struct quiet_zone *
quiet_zone_open(const char *name, char **cause)
{
	struct quiet_zone	*z;
	UChar			 id[QUIET_ZONE_MAX + 1], canon[128];
	UErrorCode		 st = U_ZERO_ERROR;
	UBool			 system = 0;
	size_t			 i;

	for (i = 0; name[i] != '\0'; i++)
		if (i == QUIET_ZONE_MAX || !(isalnum((unsigned char)name[i]) ||
		    strchr("/_-+", name[i]) != NULL))
			break;
	if (i == 0 || name[i] != '\0') {
		set_cause(cause, "time zone \"%.*s\" is not an IANA zone name",
		    QUIET_ZONE_MAX, name);
		return NULL;
	}
	u_uastrcpy(id, name);
	ucal_getCanonicalTimeZoneID(id, -1, canon, (int32_t)nitems(canon),
	    &system, &st);
	if (U_FAILURE(st) || !system) {
		set_cause(cause, "time zone \"%s\" is unknown", name);
		return NULL;
	}
	z = xcalloc(1, sizeof *z);
	snprintf(z->name, sizeof z->name, "%s", name);
	z->cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		free(z);
		set_cause(cause, "time zone \"%s\": ICU: %s", name,
		    u_errorName(st));
		return NULL;
	}
	ucal_setAttribute(z->cal, UCAL_SKIPPED_WALL_TIME,
	    UCAL_WALLTIME_NEXT_VALID);
	return z;
}

void
quiet_zone_free(struct quiet_zone *z)
{
	if (z == NULL)
		return;
	ucal_close(z->cal);
	free(z);
}

const char *
quiet_zone_name(const struct quiet_zone *z)
{
	return z->name;
}

/* The local date, minute of day and weekday of t in z. */
static void
quiet_local(struct quiet_zone *z, int64_t t, struct quiet_local *l)
{
	UErrorCode	 st = U_ZERO_ERROR;

	ucal_setMillis(z->cal, (UDate)t * 1000.0, &st);
	l->year = ucal_get(z->cal, UCAL_YEAR, &st);
	l->month = ucal_get(z->cal, UCAL_MONTH, &st);
	l->day = ucal_get(z->cal, UCAL_DATE, &st);
	l->minute = ucal_get(z->cal, UCAL_HOUR_OF_DAY, &st) * 60 +
	    ucal_get(z->cal, UCAL_MINUTE, &st);
	l->wday = ucal_get(z->cal, UCAL_DAY_OF_WEEK, &st) - UCAL_SUNDAY;
}

/*
 * The instant of a local date (days after l's date) at a minute of the
 * day, taking the first or the last occurrence of a repeated wall time.
 */
static int64_t
quiet_instant(struct quiet_zone *z, const struct quiet_local *l, int days,
    int minute, int last)
{
	UErrorCode	 st = U_ZERO_ERROR;

	ucal_clear(z->cal);
	ucal_setAttribute(z->cal, UCAL_REPEATED_WALL_TIME, last ?
	    UCAL_WALLTIME_LAST : UCAL_WALLTIME_FIRST);
	/* Lenient fields carry day 32 into the next month. */
	ucal_setDateTime(z->cal, l->year, l->month, l->day + days, minute / 60,
	    minute % 60, 0, &st);
	return (int64_t)(ucal_getMillis(z->cal, &st) / 1000.0);
}

/* Whether minute m of the day falls in window w. */
static int
quiet_in_window(const struct quiet_window *w, int32_t m)
{
	if (w->start < w->end)
		return m >= w->start && m < w->end;
	return m >= w->start || m < w->end;	/* wraps past midnight */
}

/*
 * Where the quiet time around l ends, as (days after l's date, minute),
 * the latest of the windows and day that hold it; 0 if l is not quiet.
 */
static int
quiet_end(const struct quiet_rules *r, const struct quiet_local *l,
    int *days, int *minute)
{
	size_t	 i;
	int	 d, m, found = 0;

	if (r->days & (1u << l->wday)) {
		*days = 1;
		*minute = 0;
		return 1;
	}
	for (i = 0; i < r->nw; i++) {
		if (!quiet_in_window(&r->w[i], l->minute))
			continue;
		d = r->w[i].start >= r->w[i].end && l->minute >= r->w[i].start;
		m = r->w[i].end;
		if (!found || d > *days || (d == *days && m > *minute)) {
			*days = d;
			*minute = m;
		}
		found = 1;
	}
	return found;
}

/* The offset from UTC of instant t in z, in seconds. */
static int32_t
quiet_offset(struct quiet_zone *z, int64_t t)
{
	UErrorCode	 st = U_ZERO_ERROR;

	ucal_setMillis(z->cal, (UDate)t * 1000.0, &st);
	return (ucal_get(z->cal, UCAL_ZONE_OFFSET, &st) +
	    ucal_get(z->cal, UCAL_DST_OFFSET, &st)) / 1000;
}

/*
 * t, not quiet by its clock, on the second pass through a repeated
 * stretch: the end of the quiet time in force when the clock fell back,
 * if that is later; else t.
 */
static int64_t
quiet_repeated_end(struct quiet_zone *z, const struct quiet_rules *r,
    int64_t t)
{
	UErrorCode	 st = U_ZERO_ERROR;
	UDate		 tr;
	int64_t		 back, e;
	int32_t		 shift;

	/* The cheap test first: has the clock gone back lately? */
	shift = quiet_offset(z, t - QUIET_REPEAT_MAX) - quiet_offset(z, t);
	if (shift <= 0)
		return t;
	ucal_setMillis(z->cal, (UDate)t * 1000.0, &st);
	if (!ucal_getTimeZoneTransitionDate(z->cal,
	    UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE, &tr, &st) || U_FAILURE(st))
		return t;
	back = (int64_t)(tr / 1000.0);
	if (t < back || t >= back + shift)
		return t;
	/* Not quiet just before the change, this returns back - 1. */
	e = quiet_next_allowed(z, r, back - 1);
	return e > t ? e : t;
}

/* Do two sets of rules say the same? (Their padding may differ.) */
static int
quiet_rules_eq(const struct quiet_rules *a, const struct quiet_rules *b)
{
	return a->nw == b->nw && a->days == b->days && (a->nw == 0 ||
	    memcmp(a->w, b->w, a->nw * sizeof a->w[0]) == 0);
}

/* The first instant at or after t not quiet, computed (see quiet.h). */
static int64_t
quiet_compute(struct quiet_zone *z, const struct quiet_rules *r, int64_t t);

int64_t
quiet_next_allowed(struct quiet_zone *z, const struct quiet_rules *r,
    int64_t t)
{
	int64_t			 minute = t - ((t % 60) + 60) % 60, e;
	struct quiet_memo	*m;
	size_t			 i;

	if (!quiet_any(r))
		return t;
	for (i = 0; i < nitems(z->memo); i++) {
		m = &z->memo[i];
		if (m->set && m->minute == minute && quiet_rules_eq(&m->rules,
		    r))
			return m->end > t ? m->end : t;
	}
	e = quiet_compute(z, r, t);
	m = &z->memo[z->memo_next++ % nitems(z->memo)];
	m->set = 1;
	m->minute = minute;
	m->end = e > t ? e : 0;
	m->rules = *r;
	return e;
}

static int64_t
quiet_compute(struct quiet_zone *z, const struct quiet_rules *r, int64_t t)
{
	struct quiet_local	 l;
	int64_t			 e;
	int			 days = 0, minute = 0, step;

	for (step = 0; step < QUIET_MAX_STEPS; step++) {
		quiet_local(z, t, &l);
		if (!quiet_end(r, &l, &days, &minute)) {
			if ((e = quiet_repeated_end(z, r, t)) == t)
				return t;
			t = e;
			continue;
		}
		e = quiet_instant(z, &l, days, minute, 0);
		if (e <= t)	/* the first occurrence has passed */
			e = quiet_instant(z, &l, days, minute, 1);
		if (e <= t)	/* never go back: at least a minute on */
			e = t + 60 - t % 60;
		t = e;
	}
	return t;
}

void
quiet_local_time(struct quiet_zone *z, int64_t t, char *out, size_t outsz)
{
	UErrorCode	 st = U_ZERO_ERROR;
	struct quiet_local l;
	int32_t		 off;

	quiet_local(z, t, &l);
	off = (ucal_get(z->cal, UCAL_ZONE_OFFSET, &st) +
	    ucal_get(z->cal, UCAL_DST_OFFSET, &st)) / 60000;
	snprintf(out, outsz, "%04d-%02d-%02d %02d:%02d %c%02d:%02d",
	    (int)l.year, (int)l.month + 1, (int)l.day, (int)(l.minute / 60),
	    (int)(l.minute % 60), off < 0 ? '-' : '+', abs(off) / 60,
	    abs(off) % 60);
}

struct quiet_cache *
quiet_cache_new(size_t max)
{
	struct quiet_cache	*c = xcalloc(1, sizeof *c);

	c->max = max > 0 ? max : 1;
	c->zones = hashtab_new();
	return c;
}

/* Close every cached zone. */
static void
quiet_cache_clear(struct quiet_cache *c)
{
	struct quiet_zone	*z;
	size_t			 it = 0;

	while ((z = hashtab_next(c->zones, &it)) != NULL)
		quiet_zone_free(z);
	hashtab_clear(c->zones);
}

void
quiet_cache_free(struct quiet_cache *c)
{
	if (c == NULL)
		return;
	quiet_cache_clear(c);
	hashtab_free(c->zones);
	free(c);
}

/* Is zone item the one named key? */
static int
quiet_cache_eq(const void *item, const void *key)
{
	return strcmp(((const struct quiet_zone *)item)->name, key) == 0;
}

struct quiet_zone *
quiet_cache_get(struct quiet_cache *c, const char *name, char **cause)
{
	struct quiet_zone	*z;
	uint64_t		 h = hashtab_hash(name, strlen(name));

	if ((z = hashtab_find(c->zones, h, quiet_cache_eq, name)) != NULL)
		return z;
	if ((z = quiet_zone_open(name, cause)) == NULL)
		return NULL;
	/* More zones than expected: start over rather than grow. */
	if (hashtab_count(c->zones) == c->max)
		quiet_cache_clear(c);
	hashtab_add(c->zones, h, z);
	return z;
}
