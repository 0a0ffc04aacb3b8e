/*
 * admit_quiet.h: quiet hours at admission: each recipient's zone (the
 * document's tz when ICU knows it, else the one kept from an earlier
 * campaign, else the list's timezone), the decision with the caps
 * (quiet_policy.h), and the zone kept for later campaigns, in the
 * admission's transaction.  One per admission: its zone cache is not
 * shared between threads.
 */
#ifndef MANNERS_ADMIT_QUIET_H
#define MANNERS_ADMIT_QUIET_H

#include <stdint.h>

#include "quiet_policy.h"

struct conf_quiet;
struct store_txn;

/* What quiet hours did to one admission, for its report. */
struct admit_quiet_report {
	uint64_t	 unknown_tz;		/* tz attributes ICU does not know */
	char		 unknown_example[QUIET_ZONE_MAX + 1];	/* the first */
	unsigned	 unknown_line;		/* and its line */
	uint64_t	 deferred[3];		/* by enum quiet_policy_cause */
	int64_t		 first_due[3];
	int64_t		 last_due[3];
};

struct admit_quiet;

struct admit_quiet *admit_quiet_new(const struct conf_quiet *);
void		 admit_quiet_free(struct admit_quiet *);
/*
 * Decide one recipient (rid 0: not in the store yet; tz NULL: none
 * given, at document line `line`) and count what quiet hours did.
 */
int		 admit_quiet_decide(struct admit_quiet *, struct store_txn *,
		    uint64_t, const char *, unsigned,
		    const struct policy_input *, struct policy_decision *,
		    struct admit_quiet_report *, char **);
/*
 * Keep the zone the document gave the recipient just decided (now with
 * id rid), if ICU knows it.
 */
int		 admit_quiet_keep(struct admit_quiet *, struct store_txn *,
		    uint64_t, char **);

#endif
