/*
 * quiet.h: quiet hours in the recipient's own time zone.
 *
 * "Not at night": a message due while the recipient sleeps waits for
 * the end of their quiet time, computed in their IANA time zone with
 * ICU's calendar (daylight-saving changes, 30- and 45-minute offsets and
 * the date line included).  Rules are a few daily windows ("21:00-08:00",
 * which wraps past midnight) and whole quiet weekdays ("sat,sun").
 *
 * Pure: every function takes the instant it decides about and reads no
 * clock.  A quiet_zone holds one ICU calendar; a quiet_cache keeps one
 * per zone name so that admitting a million recipients opens each zone
 * once.  Neither is safe to share between threads.
 */
#ifndef MANNERS_QUIET_H
#define MANNERS_QUIET_H

#include <stddef.h>
#include <stdint.h>

#define QUIET_MAX_WINDOWS	8
#define QUIET_ZONE_MAX		64	/* longest IANA zone name kept */

/* Minutes after local midnight; start > end wraps past midnight. */
struct quiet_window {
	uint16_t	 start;
	uint16_t	 end;
};

struct quiet_rules {
	struct quiet_window	 w[QUIET_MAX_WINDOWS];
	size_t			 nw;
	uint8_t			 days;	/* bit d: weekday d quiet, 0 = Sunday */
};

struct quiet_zone;
struct quiet_cache;

/* Whether the rules quiet anything at all. */
int			 quiet_any(const struct quiet_rules *);
/*
 * Parse "21:00-08:00[, 12:00-13:00 ...]" into r's windows, and
 * "sat,sun" (three-letter English day names, any case) into r's days.
 * Return 0, or -1 with *cause naming the part that is wrong.
 */
int			 quiet_parse_hours(const char *, struct quiet_rules *,
			    char **);
int			 quiet_parse_days(const char *, struct quiet_rules *,
			    char **);

/* A zone by IANA name; NULL with *cause for a name ICU does not know. */
struct quiet_zone	*quiet_zone_open(const char *, char **);
void			 quiet_zone_free(struct quiet_zone *);
const char		*quiet_zone_name(const struct quiet_zone *);

/*
 * The first instant at or after t (unix seconds) that is not quiet in
 * zone z: t itself when it is not quiet.  A quiet time that ends at a
 * wall time the zone skips ends when the clock jumps; one that ends in
 * a repeated hour ends at its first occurrence.
 */
int64_t			 quiet_next_allowed(struct quiet_zone *,
			    const struct quiet_rules *, int64_t);
/* The local wall time of t in z, "2026-03-29 08:00 CEST", for reports. */
void			 quiet_local_time(struct quiet_zone *, int64_t, char *,
			    size_t);

/* A cache of zones by name (at most max of them; then one at a time). */
struct quiet_cache	*quiet_cache_new(size_t);
void			 quiet_cache_free(struct quiet_cache *);
/* The zone of that name, opened once; NULL (and *cause) if unknown. */
struct quiet_zone	*quiet_cache_get(struct quiet_cache *, const char *,
			    char **);

#endif
