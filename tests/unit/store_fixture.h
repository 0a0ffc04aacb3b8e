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

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* remove(3) for nftw, deepest first. */
static inline int
fixture_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* A fresh store of `mapsize` bytes and the config `text` (NULL: defaults). */
static inline void
fixture_open(struct fixture *fx, uint64_t mapsize, const char *text)
{
	char	*cause = NULL;

	memset(fx, 0, sizeof *fx);
	snprintf(fx->dir, sizeof fx->dir, "/tmp/manners-unit.XXXXXX");
	cr_assert_not_null(mkdtemp(fx->dir), "mkdtemp");
	if (store_open(fx->dir, mapsize, &fx->s, &cause) != 0)
		cr_assert_fail("store_open %s: %s", fx->dir, cause);
	if (text == NULL)
		fx->conf = conf_defaults();
	else if (conf_parse(text, strlen(text), "test.conf", &fx->conf,
	    &cause) != 0)
		cr_assert_fail("conf_parse: %s", cause);
}

/* Close the store and remove its directory. */
static inline void
fixture_close(struct fixture *fx)
{
	store_close(fx->s);
	fx->s = NULL;
	conf_free(fx->conf);
	fx->conf = NULL;
	if (fx->dir[0] != '\0')
		nftw(fx->dir, fixture_rm, 8, FTW_DEPTH | FTW_PHYS);
	fx->dir[0] = '\0';
}

/* Close and open the same directory again, as a restart would. */
static inline void
fixture_reopen(struct fixture *fx, uint64_t mapsize)
{
	char	*cause = NULL;

	store_close(fx->s);
	if (store_open(fx->dir, mapsize, &fx->s, &cause) != 0)
		cr_assert_fail("store_open again: %s", cause);
}

/* A transaction that must open. */
static inline struct store_txn *
fixture_begin(struct fixture *fx, int write)
{
	struct store_txn	*t = NULL;
	char			*cause = NULL;

	if (store_begin(fx->s, write, &t, &cause) != 0)
		cr_assert_fail("store_begin: %s", cause);
	return t;
}

/* A commit that must succeed. */
static inline void
fixture_commit(struct store_txn *t)
{
	char	*cause = NULL;

	if (store_commit(t, &cause) != 0)
		cr_assert_fail("store_commit: %s", cause);
}

/* RFC 3339 text for a time, as campaign documents carry it. */
static inline const char *
fixture_iso(int64_t t, char *out, size_t outsz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/* What a campaign document says besides its recipients. */
struct spec {
	const char	*id;
	const char	*list;		/* NULL: LIST */
	const char	*subject;	/* NULL: "Hello" */
	int64_t		 send_after;	/* 0: none */
	int64_t		 expires;	/* 0: none */
};

/*
 * A campaign document; each recipient is "addr" or "Name|addr", either
 * followed by " tz=ZONE" for a <to tz="ZONE">.
 */
static inline char *
fixture_doc(const struct spec *sp, const char *const *rcpts)
{
	struct buf	 b;
	char		 t[32], tz[96];
	const char	*bar, *z;
	int		 n;

	buf_init(&b);
	buf_printf(&b, "<campaign id=\"%s\" list=\"%s\">\n"
	    "  <from name=\"Example Shop\">news@example.com</from>\n"
	    "  <subject>%s</subject>\n", sp->id, sp->list != NULL ? sp->list :
	    LIST, sp->subject != NULL ? sp->subject : "Hello");
	if (sp->send_after != 0)
		buf_printf(&b, "  <send-after>%s</send-after>\n",
		    fixture_iso(sp->send_after, t, sizeof t));
	if (sp->expires != 0)
		buf_printf(&b, "  <expires>%s</expires>\n",
		    fixture_iso(sp->expires, t, sizeof t));
	buf_adds(&b, "  <text>Hi {{name}} {{unsubscribe_url}}</text>\n"
	    "  <recipients>\n");
	for (; *rcpts != NULL; rcpts++) {
		tz[0] = '\0';
		n = (int)strlen(*rcpts);
		if ((z = strstr(*rcpts, " tz=")) != NULL) {
			snprintf(tz, sizeof tz, " tz=\"%s\"", z + 4);
			n = (int)(z - *rcpts);
		}
		if ((bar = strchr(*rcpts, '|')) != NULL)
			buf_printf(&b, "    <to name=\"%.*s\"%s>%.*s</to>\n",
			    (int)(bar - *rcpts), *rcpts, tz,
			    n - (int)(bar + 1 - *rcpts), bar + 1);
		else
			buf_printf(&b, "    <to%s>%.*s</to>\n", tz, n, *rcpts);
	}
	buf_adds(&b, "  </recipients>\n</campaign>\n");
	return buf_steal(&b, NULL);
}

/* Parse and admit a document at `now`: admit_campaign's answer. */
static inline int
fixture_admit(struct fixture *fx, const char *xml, int64_t now, int dry_run,
    struct admit_report *rep, int *status, char **cause)
{
	struct campaign_error	 err;
	struct campaign		*c = NULL;
	struct iovec		 iov = { (void *)xml, strlen(xml) };
	struct admit_request	 ar = { .store = fx->s, .conf = fx->conf,
				    .iov = &iov, .niov = 1, .now = now,
				    .dry_run = dry_run };
	int			 rc;

	if (campaign_parse(xml, strlen(xml), 1000000, &c, &err) != 0)
		cr_assert_fail("campaign_parse: %s", err.nproblems > 0 ?
		    err.problems[0] : "?");
	ar.campaign = c;
	rc = admit_campaign(&ar, rep, status, cause);
	campaign_free(c);
	return rc;
}

/* Admit a campaign that must be admitted; the HTTP status. */
static inline int
fixture_submit(struct fixture *fx, const struct spec *sp,
    const char *const *rcpts, int64_t now, struct admit_report *rep)
{
	char	*xml = fixture_doc(sp, rcpts), *cause = NULL;
	int	 status = 0;

	if (fixture_admit(fx, xml, now, 0, rep, &status, &cause) != 0)
		cr_assert_fail("admit %s: status %d: %s", sp->id, status,
		    cause);
	free(xml);
	return status;
}

#endif
