/*
 * rcpt_zone.c: a recipient's zone from the store (see rcpt_zone.h).
 */
#include <stdio.h>

#include "conf.h"
#include "rcpt_zone.h"
#include "store.h"

int
rcpt_zone_get(struct quiet_cache *c, struct store_txn *t, uint64_t rid,
    const char *deflt, struct quiet_zone **z, char **cause)
{
	char	 kept[QUIET_ZONE_MAX + 1];
	int	 rc = 1;

	*z = NULL;
	if (rid != 0 && (rc = store_zone_get(t, rid, kept, sizeof kept,
	    cause)) < 0)
		return rc;
	/* A kept zone a newer tz database dropped: the default. */
	if (rc == 0)
		*z = quiet_cache_get(c, kept, NULL);
	if (*z == NULL)
		*z = quiet_cache_get(c, deflt, NULL);
	if (*z == NULL)
		*z = quiet_cache_get(c, "UTC", NULL);
	return 0;
}

int
rcpt_zone_allowed(struct quiet_cache *c, struct store_txn *t, uint64_t rid,
    const struct conf_quiet *q, int64_t now, int64_t *until, char *zone,
    char **cause)
{
	struct quiet_zone	*z;
	int			 rc;

	*until = now;
	if (zone != NULL)
		zone[0] = '\0';
	if (!quiet_any(&q->rules))
		return 0;
	if ((rc = rcpt_zone_get(c, t, rid, q->timezone, &z, cause)) < 0)
		return rc;
	if (z == NULL)
		return 0;
	*until = quiet_next_allowed(z, &q->rules, now);
	if (zone != NULL)
		snprintf(zone, QUIET_ZONE_MAX + 1, "%s", quiet_zone_name(z));
	return 0;
}
