/*
 * quota.h: daily quotas, pure.
 *
 * A quota day is a calendar day in a configured zone ([smtp] day_zone,
 * with ICU's calendar: daylight-saving days are 23 or 25 hours long),
 * beginning at a configured local time ([smtp] day_start, 00:00 by
 * default: a provider that counts from another hour, or a test that
 * wants a day to end in a few seconds, says so there).  A day is named
 * by its local date, YYYYMMDD.  The day's quota is the smaller of the
 * daily limit and the warm-up ramp's volume.  Nothing reads a clock.
 */
#ifndef MANNERS_QUOTA_H
#define MANNERS_QUOTA_H

#include <stddef.h>
#include <stdint.h>

struct quota_clock;
struct warmup_status;

struct quota_day {
	int32_t		 date;		/* YYYYMMDD */
	int64_t		 start;		/* its first second */
	int64_t		 end;		/* the next day's first second */
};

/* A clock for zone (IANA name) with days starting `day_start` seconds
 * after local midnight; NULL with *cause for an unknown zone. */
struct quota_clock	*quota_clock_new(const char *, uint32_t, char **);
void			 quota_clock_free(struct quota_clock *);
/* The quota day that holds instant t. */
void			 quota_day_of(struct quota_clock *, int64_t,
			    struct quota_day *);
/* The quota of a day: 0 (none) or the smaller of a daily limit (0:
 * none) and a ramp's volume (NULL, not started or complete: none). */
uint64_t		 quota_limit(uint64_t, const struct warmup_status *);
/*
 * The first of n days with room for one more message: used[i] of
 * limit[i] (0: none) taken on day i.  Its index, or -1 when none has.
 */
int			 quota_first_room(const uint64_t *, const uint64_t *,
			    size_t);
/* How many of `want` may go now with `used` of `limit` (0: no limit). */
uint64_t		 quota_room(uint64_t, uint64_t, uint64_t);

#endif
