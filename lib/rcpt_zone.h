/*
 * rcpt_zone.h: a recipient's time zone as the store keeps it (the last
 * a campaign gave), else the list's timezone, and when quiet hours let
 * a message to them go.  Zones come from a caller's quiet_cache, so
 * nothing opens an ICU calendar per message.
 */
#ifndef MANNERS_RCPT_ZONE_H
#define MANNERS_RCPT_ZONE_H

#include <stdint.h>

#include "quiet.h"

struct conf_quiet;
struct store_txn;

/*
 * The zone of recipient rid (0: not in the store): the one kept, else
 * the zone named deflt, else UTC.  -1 (and *cause) if the store fails.
 */
int	 rcpt_zone_get(struct quiet_cache *, struct store_txn *, uint64_t,
	    const char *, struct quiet_zone **, char **);
/*
 * When a message to recipient rid may go under the quiet hours of q:
 * *until is now, or the end of their quiet time.  zone (QUIET_ZONE_MAX
 * + 1 bytes, may be NULL) gets the zone's name, "" without quiet hours.
 */
int	 rcpt_zone_allowed(struct quiet_cache *, struct store_txn *, uint64_t,
	    const struct conf_quiet *, int64_t, int64_t *, char *, char **);

#endif
