/*
 * store_fixture.c: a private LMDB store and a configuration for one
 * test (see store_fixture.h), linked into every unit test.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <criterion/criterion.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "store.h"
#include "util.h"

#include "store_fixture.h"

/* remove(3) for nftw, deepest first: only the path matters. */
static int
fixture_rm(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st, (void)flag, (void)f;
	return remove(path);
}

/* A fresh store of `mapsize` bytes and the config `text` (NULL: defaults). */
void
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
void
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
void
fixture_reopen(struct fixture *fx, uint64_t mapsize)
{
	char	*cause = NULL;

	store_close(fx->s);
	if (store_open(fx->dir, mapsize, &fx->s, &cause) != 0)
		cr_assert_fail("store_open again: %s", cause);
}

/* A transaction that must open. */
struct store_txn *
fixture_begin(struct fixture *fx, int write)
{
	struct store_txn	*t = NULL;
	char			*cause = NULL;

	if (store_begin(fx->s, write, &t, &cause) != 0)
		cr_assert_fail("store_begin: %s", cause);
	return t;
}

/* A commit that must succeed. */
void
fixture_commit(struct store_txn *t)
{
	char	*cause = NULL;

	if (store_commit(t, &cause) != 0)
		cr_assert_fail("store_commit: %s", cause);
}

/* RFC 3339 text for a time, as campaign documents carry it. */
const char *
fixture_iso(int64_t t, char *out, size_t outsz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}


/*
 * A campaign document; each recipient is "addr" or "Name|addr", either
 * followed by " tz=ZONE" for a <to tz="ZONE">.
 */
char *
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
int
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
int
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

/* The queued job of a campaign for an address (any case). */
int
fixture_find_job(struct fixture *fx, const char *campaign, const char *addr,
    struct store_job *out)
{
	struct store_cursor	*c = NULL;
	struct store_txn	*t = fixture_begin(fx, 0);
	struct store_job	 j;
	int			 more;

	cr_assert_eq(store_queue_first(t, &c, NULL), 0);
	/* In due order, to the first job of that campaign and address. */
	while ((more = store_cursor_job(c, &j)) == 1 &&
	    (strcmp(j.campaign, campaign) != 0 ||
	    strcasecmp(j.addr, addr) != 0))
		store_cursor_next(c);
	if (more == 1)
		*out = j;
	store_cursor_close(c);
	store_abort(t);
	return more == 1;
}

/* The number of jobs in the queue. */
uint64_t
fixture_queue_count(struct fixture *fx)
{
	struct store_txn	*t = fixture_begin(fx, 0);
	uint64_t		 n;

	n = store_count(t, STORE_QUEUE);
	store_abort(t);
	return n;
}

/* The id of a list, created if need be. */
uint32_t
fixture_list_id(struct fixture *fx, const char *name)
{
	struct store_txn	*t = fixture_begin(fx, 1);
	uint32_t		 lid = 0;

	cr_assert_eq(store_list_id(t, name, 1, &lid, NULL), 0);
	fixture_commit(t);
	return lid;
}

/* A campaign's state record (the caller lets go), or NULL when none. */
json_t *
fixture_campaign(struct fixture *fx, const char *id)
{
	struct store_txn	*t = fixture_begin(fx, 0);
	json_t			*st = NULL;

	cr_assert_geq(store_campaign_get(t, id, &st, NULL), 0);
	store_abort(t);
	return st;
}

/*
 * How many history entries the recipient at naddr has for a campaign;
 * the last into *out (may be NULL).
 */
int
fixture_hist(struct fixture *fx, const char *naddr, const char *campaign,
    struct store_hist *out)
{
	struct store_txn	*t = fixture_begin(fx, 0);
	struct store_rcpt	 r;
	size_t			 i;
	int			 found = 0;

	store_rcpt_init(&r);
	if (store_rcpt_get(t, naddr, &r, NULL) == 0)
		for (i = 0; i < r.nhist; i++)
			if (strcmp(r.hist[i].campaign, campaign) == 0) {
				if (out != NULL)
					*out = r.hist[i];
				found++;
			}
	store_rcpt_free(&r);
	store_abort(t);
	return found;
}
