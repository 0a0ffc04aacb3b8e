/*
 * admit_quiet.c: quiet hours at admission (see admit_quiet.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admit_quiet.h"
#include "conf.h"
#include "rcpt_zone.h"
#include "store.h"
#include "util.h"

/* Zones opened per admission, at most (then the cache starts over). */
#define ADMIT_QUIET_ZONES	512

struct admit_quiet {
	const struct quiet_rules *rules;
	struct quiet_zone	*given;	/* the last decision's tz, if known */
	struct quiet_cache	*cache;
	char			 deflt_name[QUIET_ZONE_MAX + 1];	/* the
				   list's timezone */
};

struct admit_quiet *
admit_quiet_new(const struct conf_quiet *q)
{
	struct admit_quiet	*aq = xcalloc(1, sizeof *aq);

	aq->rules = &q->rules;
	aq->cache = quiet_cache_new(ADMIT_QUIET_ZONES);
	/* Checked when the configuration was read (rcpt_zone_get() falls
	 * back to UTC should the zone data have dropped it since). */
	snprintf(aq->deflt_name, sizeof aq->deflt_name, "%s", q->timezone);
	return aq;
}

void
admit_quiet_free(struct admit_quiet *aq)
{
	if (aq == NULL)
		return;
	quiet_cache_free(aq->cache);
	free(aq);
}

/* The document's zone, counted as a warning when ICU does not know it. */
static struct quiet_zone *
admit_quiet_given(struct admit_quiet *aq, const char *tz, unsigned line,
    struct admit_quiet_report *rep)
{
	struct quiet_zone	*z;

	if (tz == NULL)
		return NULL;
	if ((z = quiet_cache_get(aq->cache, tz, NULL)) != NULL)
		return z;
	if (rep->unknown_tz++ == 0) {
		snprintf(rep->unknown_example, sizeof rep->unknown_example,
		    "%s", tz);
		rep->unknown_line = line;
	}
	return NULL;
}

int
admit_quiet_decide(struct admit_quiet *aq, struct store_txn *t, uint64_t rid,
    const char *tz, unsigned line, const struct policy_input *in,
    struct policy_decision *d, struct admit_quiet_report *rep, char **cause)
{
	struct quiet_zone	*z;
	enum quiet_policy_cause	 why;
	int			 rc;

	aq->given = z = admit_quiet_given(aq, tz, line, rep);
	/* Without quiet hours, no zone is read: today's cost exactly. */
	if (z == NULL && quiet_any(aq->rules) && (rc = rcpt_zone_get(aq->cache,
	    t, rid, aq->deflt_name, &z, cause)) < 0)
		return rc;
	quiet_policy_decide(in, z, aq->rules, d, &why);
	if (d->verdict != POLICY_DEFER)
		return 0;
	if (rep->deferred[why]++ == 0 || d->due < rep->first_due[why])
		rep->first_due[why] = d->due;
	if (d->due > rep->last_due[why])
		rep->last_due[why] = d->due;
	return 0;
}

int
admit_quiet_keep(struct admit_quiet *aq, struct store_txn *t, uint64_t rid,
    char **cause)
{
	if (aq->given == NULL || rid == 0)
		return 0;
	/* Written only when it changed. */
	return store_zone_put(t, rid, quiet_zone_name(aq->given), cause);
}
