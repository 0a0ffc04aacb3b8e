/*
 * admit.h: admission of a campaign's recipients into the queue, in one
 * LMDB write transaction: the history reservation and the job are
 * written together, so two campaigns can never both slip past a cap.
 */
#ifndef MANNERS_ADMIT_H
#define MANNERS_ADMIT_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admit_quiet.h"
#include "policy.h"
#include "quota_admit.h"

struct campaign;
struct conf;
struct store;
struct token_keys;

/* Without <expires>, a campaign may be deferred this long. */
#define ADMIT_DEFAULT_EXPIRY	(7 * 86400)

#define ADMIT_INVALID_LIST	100	/* invalid addresses named, at most */
#define ADMIT_INVALID_ADDR	128	/* octets of each shown, at most */

/* An invalid address of the document, and what is wrong with it. */
struct admit_invalid {
	char		 addr[ADMIT_INVALID_ADDR + 4];	/* may end "..." */
	char		 why[96];
};

struct admit_report {
	/* The first ADMIT_INVALID_LIST invalid addresses, in order. */
	struct admit_invalid invalid[ADMIT_INVALID_LIST];
	size_t		 ninvalid;
	uint64_t	 recipients;
	uint64_t	 accepted;
	uint64_t	 deferred;
	uint64_t	 rejected[POLICY_NREASONS];
	int64_t		 first_due;
	int64_t		 last_due;
	int		 resubmitted;
	struct admit_quiet_report quiet;	/* deferrals by cause */
	struct quota_admit_unplaced unplaced;	/* domains to look up */
};

/*
 * One admission: a parsed campaign, and its document, which admission
 * reads again for the recipients.
 */
struct admit_request {
	struct store		*store;
	const struct conf	*conf;
	struct campaign		*campaign;	/* its default expiry is set */
	const struct iovec	*iov;		/* the document, in pieces that */
	size_t			 niov;		/* stay in place meanwhile */
	int64_t			 now;
	int			 dry_run;	/* decide, keep nothing */
	int			 read_ahead;	/* parse the recipients on a
						   thread of their own */
	/* The token keys, for erase_check(); NULL: erasures not checked. */
	const struct token_keys	*keys;
	/*
	 * Asked once every recipient is decided, before anything is kept:
	 * non-zero abandons the admission (nothing is kept; -1 and *status
	 * 409 are returned).  The daemon checks the document's recipients
	 * while they are admitted, and waits here for that check.  NULL:
	 * nothing to ask.
	 */
	int			(*gate)(void *);
	void			*gate_arg;
};

/* *status when the gate abandoned the admission. */
#define ADMIT_GATE_CLOSED	409

int	 admit_campaign(const struct admit_request *,
	    struct admit_report *, int *, char **);
json_t	*admit_report_json(const struct campaign *,
	    const struct admit_report *, int);
json_t	*admit_report_warning(const struct admit_report *);

#endif
