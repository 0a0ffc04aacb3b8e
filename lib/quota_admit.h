/*
 * quota_admit.h: daily quotas at admission.
 *
 * Admission reserves a day of its recipient's unit (a [provider], or the
 * domain itself) for each job it queues, in the same transaction as the
 * history, so two campaigns cannot both overfill a day: a job whose due
 * day is full moves to the first day with room, and one for which no
 * day before the campaign expires has room is rejected (daily_limit).
 * Reservations are counted in the store's quota records under "+UNIT",
 * beside what the drain counts as sent under "UNIT"; today's room is
 * the limit less the larger of both.  A domain's unit is its provider
 * by name, or by the placement the drain's last MX answer for it
 * recorded in the store (store_mx_get(), until that answer's TTL ends);
 * a domain not looked up yet is counted on its own.  A ramp's future
 * days are reckoned as if every day until then sends (the most it could
 * allow);
 * the drain holds each day to what the ramp really allows.
 */
#ifndef MANNERS_QUOTA_ADMIT_H
#define MANNERS_QUOTA_ADMIT_H

#include <stdint.h>

#include "policy.h"

struct conf;
struct store_job;
struct store_txn;
struct quota_admit;

/* Days ahead a job may be moved to, at most. */
#define QUOTA_ADMIT_DAYS	62
/* Domains not yet placed by MX named per admission, at most. */
#define QUOTA_ADMIT_UNPLACED	64

/*
 * Domains an admission counted on their own because no MX answer had
 * placed them yet, while some provider places domains by MX: the
 * daemon starts their lookups at once (drain_units_prefetch()), so the
 * next admission knows their group even if their jobs are due later.
 */
struct quota_admit_unplaced {
	size_t		 n;
	char		 name[QUOTA_ADMIT_UNPLACED][256];
};

/*
 * For one admission at now: NULL when no quota is configured (and
 * *cause NULL), or on an unknown zone (*cause set).
 */
struct quota_admit	*quota_admit_new(const struct conf *, int64_t, char **);
void			 quota_admit_free(struct quota_admit *);
/*
 * Reserve a day for a job to `domain` that the policy let through (d):
 * 0 when reserved (d->due moved to a later day's start, and d->verdict
 * DEFER, if its day was full), 1 when no day before expires has room,
 * < 0 on a store error.  `job`'s qday and qunit say which day of which
 * unit it took (qday 0: none), for quota_admit_release().
 */
int			 quota_admit_reserve(struct quota_admit *,
			    struct store_txn *, const char *, int64_t,
			    struct policy_decision *, struct store_job *,
			    char **);
/*
 * A queued job leaves the queue unsent (cancelled, dropped, failed,
 * expired, moved): give its day's place back, in the transaction that
 * removes it, and forget it in `job`.
 */
int			 quota_admit_release(struct store_txn *,
			    struct store_job *, char **);
/* The domains this admission found unplaced (the first ones). */
void			 quota_admit_unplaced(const struct quota_admit *,
			    struct quota_admit_unplaced *);
/* A job takes a place in day job->qday of unit job->qunit (a move). */
int			 quota_admit_hold(struct store_txn *,
			    const struct store_job *, char **);
/* Write the reservations into the transaction. */
int			 quota_admit_flush(struct quota_admit *,
			    struct store_txn *, char **);

#endif
