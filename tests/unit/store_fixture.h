/*
 * store_fixture.h: a private LMDB store and a configuration for one
 * test, shared by the store, admission and ledger tests.
 *
 * Criterion runs each test in its own process, so every test opens its
 * own directory under /tmp and removes it when it is done.  Time is
 * always passed explicitly: nothing here reads the clock.  Campaign
 * documents are built from a spec and parsed as the daemon parses them.
 */
#ifndef MANNERS_STORE_FIXTURE_H
#define MANNERS_STORE_FIXTURE_H

#include <stdint.h>

#include <criterion/criterion.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "store.h"
#include "util.h"

#define NOW		INT64_C(1800000000)	/* 2027-01-15T08:00:00Z */
#define MINUTE		INT64_C(60)
#define HOUR		INT64_C(3600)
#define DAY		INT64_C(86400)
#define MAP_SIZE	(UINT64_C(64) << 20)
#define TINY_MAP	(UINT64_C(1) << 20)
#define LIST		"news.example.com"

struct fixture {
	char		 dir[64];
	struct store	*s;
	struct conf	*conf;
};

/* A fresh store of `mapsize` bytes and the config `text` (NULL: defaults). */
void		 fixture_open(struct fixture *, uint64_t, const char *);
/* Close the store and remove its directory. */
void		 fixture_close(struct fixture *);
/* Close and open the same directory again, as a restart would. */
void		 fixture_reopen(struct fixture *, uint64_t);
/* A transaction that must open (write: a write transaction). */
struct store_txn *fixture_begin(struct fixture *, int);
/* A commit that must succeed. */
void		 fixture_commit(struct store_txn *);
/* RFC 3339 text for a time, as campaign documents carry it. */
const char	*fixture_iso(int64_t, char *, size_t);

/* What a campaign document says besides its recipients. */
struct spec {
	const char	*id;
	const char	*list;		/* NULL: LIST */
	const char	*subject;	/* NULL: "Hello" */
	int64_t		 send_after;	/* 0: none */
	int64_t		 expires;	/* 0: none */
};

/*
 * A campaign document (the caller frees); each recipient is "addr" or
 * "Name|addr", either followed by " tz=ZONE" for a <to tz="ZONE">.
 */
char		*fixture_doc(const struct spec *, const char *const *);
/* Parse and admit a document at `now` (dry_run): admit_campaign's answer. */
int		 fixture_admit(struct fixture *, const char *, int64_t, int,
		    struct admit_report *, int *, char **);
/* Admit a campaign that must be admitted; the HTTP status. */
int		 fixture_submit(struct fixture *, const struct spec *,
		    const char *const *, int64_t, struct admit_report *);
/* The queued job of a campaign for an address (any case): 1, or 0. */
int		 fixture_find_job(struct fixture *, const char *, const char *,
		    struct store_job *);

/* The number of jobs in the queue. */
uint64_t	 fixture_queue_count(struct fixture *);
/* The id of a list, created if need be. */
uint32_t	 fixture_list_id(struct fixture *, const char *);
/* A campaign's state record (the caller lets go), or NULL when none. */
json_t		*fixture_campaign(struct fixture *, const char *);
/* How many history entries naddr has for a campaign; the last in *out. */
int		 fixture_hist(struct fixture *, const char *, const char *,
		    struct store_hist *);

/*
 * The suite `name` around one store, fx: each test opens it fresh
 * (MAP_SIZE, the configuration text conf; NULL: defaults) and removes it
 * when done.
 */
#define FIXTURE_SUITE(name, conf)					\
	static struct fixture fx;					\
	static void							\
	name##_fixture_open(void)					\
	{								\
		fixture_open(&fx, MAP_SIZE, conf);			\
	}								\
	static void							\
	name##_fixture_close(void)					\
	{								\
		fixture_close(&fx);					\
	}								\
	TestSuite(name, .init = name##_fixture_open,			\
	    .fini = name##_fixture_close)

#endif
