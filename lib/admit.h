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

#include "policy.h"

struct campaign;
struct conf;
struct store;

/* Without <expires>, a campaign may be deferred this long. */
#define ADMIT_DEFAULT_EXPIRY	(7 * 86400)

struct admit_report {
	uint64_t	 recipients;
	uint64_t	 accepted;
	uint64_t	 deferred;
	uint64_t	 rejected[POLICY_NREASONS];
	int64_t		 first_due;
	int64_t		 last_due;
	int		 resubmitted;
};

int	 admit_campaign(struct store *, const struct conf *,
	    struct campaign *, const char *, size_t, int64_t, int,
	    struct admit_report *, int *, char **);
/* The same over a document in pieces, as the daemon received it. */
int	 admit_campaign_iov(struct store *, const struct conf *,
	    struct campaign *, const struct iovec *, size_t, int64_t, int,
	    struct admit_report *, int *, char **);
json_t	*admit_report_json(const struct campaign *,
	    const struct admit_report *, int);

#endif
