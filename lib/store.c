/*
 * store.c: LMDB behind an opaque interface.
 *
 * Records are small binary encodings with a version byte, except the
 * campaign records, which are JSON (read rarely, written per commit
 * group at most).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <lmdb.h>

#include "store.h"
#include "util.h"

/*
 * The layout of the databases, in meta "format" (8, BE).  1 (no marker):
 * cr keyed by campaign NUL address; 2: by campaign NUL recipient id.
 */
#define STORE_FORMAT		2
/* Version 2 adds pause_until and pref_flags; version 1 is still read. */
#define STORE_RCPT_VERSION	2
/* 2: the quota day and unit of its reservation follow; 1 is still read. */
#define STORE_JOB_VERSION	2
#define CAMPAIGN_KEY_MAX	80
#define STORE_HIST_MAX		256	/* newest entries kept per recipient */
#define STORE_CR_KEY_MAX	(72 + 1 + 8)	/* campaign NUL rid */

struct store {
	MDB_env		*env;
	MDB_dbi		 meta;
	MDB_dbi		 campaigns;
	MDB_dbi		 queue;
	MDB_dbi		 rcpt;
	MDB_dbi		 rids;
	MDB_dbi		 lists;
	MDB_dbi		 cr;
	MDB_dbi		 zones;
	MDB_dbi		 erased;	/* keyed hash -> what survives erasure */
	MDB_dbi		 consent;
	MDB_dbi		 quota;		/* store_quota_*() */
	MDB_dbi		 mx;		/* store_mx_*() */
	struct buf	 scratch;	/* encoding buffer, one writer at a time */
	/*
	 * Every transaction holds this shared; growing the map takes it
	 * exclusively, since LMDB allows a resize only while no
	 * transaction of this process is open.
	 */
	pthread_rwlock_t resize;
};

/* A counter ("seq", "rid") read once per transaction, written at commit. */
struct store_counter {
	const char	*name;
	uint64_t	 next;
	int		 loaded;
	int		 dirty;
};

struct store_txn {
	struct store		*s;
	MDB_txn			*txn;
	int			 write;
	struct store_counter	 counters[2];	/* seq, rid */
	MDB_cursor		*rcpt_cur;	/* left on the last record read */
	MDB_cursor		*zone_cur;	/* likewise, in zones */
	uint8_t			 zone_last[8];	/* the largest key in zones */
	int			 zone_last_known;
	uint8_t			 queue_last[STORE_KEY_LEN];
	int			 queue_last_known;
	struct buf		 staged;	/* jobs due later: key | len | job */
	uint32_t		*staged_at;	/* their offsets in staged */
	size_t			 nstaged;
	size_t			 staged_cap;
	uint8_t			 cr_last[STORE_CR_KEY_MAX];
	size_t			 cr_last_len;
	int			 cr_last_known;
};

struct store_cursor {
	MDB_cursor	*c;
	MDB_val		 k;
	MDB_val		 v;
	int		 valid;
};

/* Turn an LMDB error into a cause; returns -1 or STORE_FULL. */
static int
store_err(int rc, char **cause, const char *what)
{
	if (rc == MDB_MAP_FULL) {
		set_cause(cause, "%s: the store is full (LMDB map_size "
		    "reached); raise map_size in [daemon]", what);
		return STORE_FULL;
	}
	return set_cause(cause, "%s: %s", what, mdb_strerror(rc));
}

/*
 * Format 1 to 2: rekey cr by recipient id.  The entries are gathered
 * first, since the new keys would interleave with the old ones in a
 * walk.  An entry whose address has no recipient record (none should)
 * is dropped: nothing could reach it.
 */
static int
store_migrate_cr(struct store *s, MDB_txn *txn)
{
	MDB_cursor	*c;
	MDB_val		 k, v, rk, rv;
	struct buf	 b;
	const char	*nul;
	size_t		 off, clen;
	uint8_t		 nk[STORE_CR_KEY_MAX];
	int		 rc;

	buf_init(&b);
	if ((rc = mdb_cursor_open(txn, s->cr, &c)) != 0)
		return rc;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		nul = memchr(k.mv_data, '\0', k.mv_size);
		if (nul == NULL || v.mv_size != 1 + STORE_KEY_LEN + 8)
			continue;
		clen = (size_t)(nul - (const char *)k.mv_data);
		if (clen + 1 + 8 > sizeof nk)
			continue;
		rk.mv_data = (char *)k.mv_data + clen + 1;
		rk.mv_size = k.mv_size - clen - 1;
		if (mdb_get(txn, s->rcpt, &rk, &rv) != 0 || rv.mv_size < 9)
			continue;
		memcpy(nk, k.mv_data, clen + 1);
		memcpy(nk + clen + 1, (uint8_t *)rv.mv_data + 1, 8);
		buf_addc(&b, (char)(clen + 1 + 8));
		buf_add(&b, nk, clen + 1 + 8);
		buf_add(&b, v.mv_data, v.mv_size);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND)
		goto out;
	if ((rc = mdb_drop(txn, s->cr, 0)) != 0)
		goto out;
	for (off = 0; off < b.len; off += 1 + k.mv_size + v.mv_size) {
		k.mv_size = (uint8_t)b.data[off];
		k.mv_data = b.data + off + 1;
		v.mv_size = 1 + STORE_KEY_LEN + 8;
		v.mv_data = b.data + off + 1 + k.mv_size;
		if ((rc = mdb_put(txn, s->cr, &k, &v, 0)) != 0)
			goto out;
	}
out:
	buf_free(&b);
	return rc;
}

/* Check the store's format, migrating an older one; 0 or -1. */
static int
store_format(struct store *s, MDB_txn *txn, const char *dir, char **cause)
{
	MDB_val		 k = { 6, (void *)"format" }, v;
	uint8_t		 b[8];
	uint64_t	 format = 1;
	int		 rc;

	if ((rc = mdb_get(txn, s->meta, &k, &v)) == 0) {
		if (v.mv_size != 8)
			return set_cause(cause, "the store in %s has a corrupt "
			    "format marker", dir);
		format = be64dec(v.mv_data);
		if (format == STORE_FORMAT)
			return 0;
		if (format > STORE_FORMAT)
			return set_cause(cause, "the store in %s has format "
			    "%llu, newer than this mannersd knows (%d): run "
			    "the newer mannersd", dir,
			    (unsigned long long)format, STORE_FORMAT);
	} else if (rc != MDB_NOTFOUND)
		return set_cause(cause, "cannot read the store in %s: %s", dir,
		    mdb_strerror(rc));
	/* Format 1, or a new store (where there is nothing to rekey). */
	if ((rc = store_migrate_cr(s, txn)) != 0)
		return set_cause(cause, "cannot migrate the store in %s to "
		    "format %d: %s%s", dir, STORE_FORMAT, mdb_strerror(rc),
		    rc == MDB_MAP_FULL ? " (raise map_size)" : "");
	be64enc(b, STORE_FORMAT);
	v.mv_size = 8;
	v.mv_data = b;
	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return set_cause(cause, "cannot write to the store in %s: %s",
		    dir, mdb_strerror(rc));
	return 0;
}

int
store_open(const char *dir, uint64_t mapsize, struct store **out, char **cause)
{
	struct store	*s;
	MDB_txn		*txn = NULL;
	int		 rc;

	*out = NULL;
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		return set_cause(cause, "cannot create state directory %s: %s",
		    dir, strerror(errno));
	s = xcalloc(1, sizeof *s);
	buf_init(&s->scratch);
	pthread_rwlock_init(&s->resize, NULL);
	if ((rc = mdb_env_create(&s->env)) != 0)
		goto fail;
	mdb_env_set_maxdbs(s->env, 16);
	mdb_env_set_maxreaders(s->env, 126);
	if ((rc = mdb_env_set_mapsize(s->env, (size_t)mapsize)) != 0)
		goto fail;
	/*
	 * NOTLS: read transactions are not tied to a thread.  WRITEMAP:
	 * writes go straight to the map instead of malloc'd page copies,
	 * which halves the cost of a large admission and keeps the
	 * daemon's private memory small.
	 */
	if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_WRITEMAP,
	    0640)) != 0)
		goto fail;
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail;
	if ((rc = mdb_dbi_open(txn, "meta", MDB_CREATE, &s->meta)) != 0 ||
	    (rc = mdb_dbi_open(txn, "campaigns", MDB_CREATE,
	    &s->campaigns)) != 0 ||
	    (rc = mdb_dbi_open(txn, "queue", MDB_CREATE, &s->queue)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rcpt", MDB_CREATE, &s->rcpt)) != 0 ||
	    (rc = mdb_dbi_open(txn, "rids", MDB_CREATE, &s->rids)) != 0 ||
	    (rc = mdb_dbi_open(txn, "lists", MDB_CREATE, &s->lists)) != 0 ||
	    (rc = mdb_dbi_open(txn, "cr", MDB_CREATE, &s->cr)) != 0 ||
	    (rc = mdb_dbi_open(txn, "zones", MDB_CREATE, &s->zones)) != 0 ||
	    (rc = mdb_dbi_open(txn, "erased", MDB_CREATE, &s->erased)) != 0 ||
	    (rc = mdb_dbi_open(txn, "consent", MDB_CREATE,
	    &s->consent)) != 0 ||
	    (rc = mdb_dbi_open(txn, "quota", MDB_CREATE, &s->quota)) != 0 ||
	    (rc = mdb_dbi_open(txn, "mx", MDB_CREATE, &s->mx)) != 0)
		goto fail;
	if (store_format(s, txn, dir, cause) == -1) {
		mdb_txn_abort(txn);
		mdb_env_close(s->env);
		buf_free(&s->scratch);
		free(s);
		return -1;
	}
	if ((rc = mdb_txn_commit(txn)) != 0) {
		txn = NULL;
		goto fail;
	}
	/* Clear reader slots left by a crashed process. */
	mdb_reader_check(s->env, NULL);
	*out = s;
	return 0;

fail:
	if (txn != NULL)
		mdb_txn_abort(txn);
	set_cause(cause, "cannot open the store in %s: %s%s", dir,
	    mdb_strerror(rc), rc == EAGAIN || rc == EBUSY ?
	    " (is another mannersd using it?)" : "");
	if (s->env != NULL)
		mdb_env_close(s->env);
	buf_free(&s->scratch);
	free(s);
	return -1;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	mdb_env_close(s->env);
	buf_free(&s->scratch);
	pthread_rwlock_destroy(&s->resize);
	free(s);
}

int
store_sync(struct store *s, char **cause)
{
	int	 rc;

	if ((rc = mdb_env_sync(s->env, 1)) != 0)
		return store_err(rc, cause, "sync");
	return 0;
}

void
store_usage(struct store *s, uint64_t *mapsize, uint64_t *used)
{
	MDB_envinfo	 info;
	MDB_stat	 st;

	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	*mapsize = info.me_mapsize;
	*used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
}

/* Raise the map size, waiting for open transactions to end. */
int
store_grow(struct store *s, uint64_t size, char **cause)
{
	int	 rc;

	pthread_rwlock_wrlock(&s->resize);
	rc = mdb_env_set_mapsize(s->env, (size_t)size);
	pthread_rwlock_unlock(&s->resize);
	if (rc != 0)
		return store_err(rc, cause, "grow map");
	return 0;
}

/*
 * Double the map when it is more than three quarters used (or when
 * `force` says a write just failed for room), up to `max`.  *grown is
 * the new size, or 0 when nothing changed.
 */
int
store_care(struct store *s, uint64_t max, int force, uint64_t *grown,
    char **cause)
{
	uint64_t	 mapsize, used, want;

	*grown = 0;
	store_usage(s, &mapsize, &used);
	if (!force && used < mapsize / 4 * 3)
		return 0;
	want = mapsize * 2;
	if (want > max)
		want = max;
	if (want <= mapsize)
		return set_cause(cause, "the store is %llu%% full and map_max "
		    "(%llu bytes) is reached; raise map_max or remove old "
		    "campaigns", (unsigned long long)(used * 100 / mapsize),
		    (unsigned long long)max);
	if (store_grow(s, want, cause) == -1)
		return -1;
	*grown = want;
	return 0;
}

int
store_reader_check(struct store *s)
{
	int	 dead = 0;

	mdb_reader_check(s->env, &dead);
	return dead;
}

int
store_begin(struct store *s, int write, struct store_txn **out, char **cause)
{
	struct store_txn	*t;
	int			 rc;

	t = xcalloc(1, sizeof *t);
	t->s = s;
	t->write = write;
	t->counters[0].name = "seq";
	t->counters[1].name = "rid";
	pthread_rwlock_rdlock(&s->resize);
	if ((rc = mdb_txn_begin(s->env, NULL, write ? 0 : MDB_RDONLY,
	    &t->txn)) != 0) {
		pthread_rwlock_unlock(&s->resize);
		free(t);
		*out = NULL;
		return store_err(rc, cause, "begin transaction");
	}
	*out = t;
	return 0;
}

/* Free a transaction's own memory (LMDB's is gone already). */
static void
store_txn_free(struct store_txn *t)
{
	buf_free(&t->staged);
	free(t->staged_at);
	free(t);
}

int
store_commit(struct store_txn *t, char **cause)
{
	struct store	*s = t->s;
	uint8_t		 b[8];
	size_t		 i;
	int		 rc = 0;

	/* Jobs staged for later are written before anything is counted. */
	if ((rc = store_queue_flush(t, cause)) != 0) {
		store_abort(t);
		return rc;
	}
	for (i = 0; i < nitems(t->counters) && rc == 0; i++) {
		struct store_counter	*c = &t->counters[i];
		MDB_val			 k = { strlen(c->name), (void *)c->name };
		MDB_val			 v = { 8, b };

		if (!c->dirty)
			continue;
		be64enc(b, c->next);
		rc = mdb_put(t->txn, s->meta, &k, &v, 0);
	}
	if (t->rcpt_cur != NULL)
		mdb_cursor_close(t->rcpt_cur);
	if (t->zone_cur != NULL)
		mdb_cursor_close(t->zone_cur);
	if (rc != 0) {
		mdb_txn_abort(t->txn);
		store_txn_free(t);
		pthread_rwlock_unlock(&s->resize);
		return store_err(rc, cause, "commit counters");
	}
	rc = mdb_txn_commit(t->txn);
	store_txn_free(t);
	pthread_rwlock_unlock(&s->resize);
	if (rc != 0)
		return store_err(rc, cause, "commit");
	return 0;
}

void
store_abort(struct store_txn *t)
{
	struct store	*s;

	if (t == NULL)
		return;
	s = t->s;
	if (t->rcpt_cur != NULL)
		mdb_cursor_close(t->rcpt_cur);
	if (t->zone_cur != NULL)
		mdb_cursor_close(t->zone_cur);
	mdb_txn_abort(t->txn);
	store_txn_free(t);
	pthread_rwlock_unlock(&s->resize);
}

/* Compare two keys as LMDB does by default. */
static int
store_keycmp(const void *a, size_t alen, const void *b, size_t blen)
{
	int	 d;

	if ((d = memcmp(a, b, alen < blen ? alen : blen)) != 0)
		return d;
	return alen < blen ? -1 : alen > blen;
}

/* Get a value; 1 when absent. */
static int
store_get(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    MDB_val *v, char **cause)
{
	MDB_val	 key = { klen, (void *)k };
	int	 rc;

	if ((rc = mdb_get(t->txn, dbi, &key, v)) == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return store_err(rc, cause, "read");
	return 0;
}

static int
store_put(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    const void *v, size_t vlen, char **cause)
{
	MDB_val	 key = { klen, (void *)k }, val = { vlen, (void *)v };
	int	 rc;

	if ((rc = mdb_put(t->txn, dbi, &key, &val, 0)) != 0)
		return store_err(rc, cause, "write");
	return 0;
}

static int
store_del(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    char **cause)
{
	MDB_val	 key = { klen, (void *)k };
	int	 rc;

	if ((rc = mdb_del(t->txn, dbi, &key, NULL)) == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return store_err(rc, cause, "delete");
	return 0;
}

/* Allocate the next value of a named counter (starting at 1). */
int
store_next_id(struct store_txn *t, const char *name, uint64_t *id,
    char **cause)
{
	MDB_val		 v;
	uint8_t		 b[8];
	uint64_t	 n = 1;
	size_t		 i;
	int		 rc;

	/* Hot counters stay in the transaction until commit. */
	for (i = 0; i < nitems(t->counters); i++) {
		struct store_counter	*c = &t->counters[i];

		if (strcmp(c->name, name) != 0)
			continue;
		if (!c->loaded) {
			if ((rc = store_get(t, t->s->meta, name, strlen(name),
			    &v, cause)) < 0)
				return rc;
			c->next = rc == 0 && v.mv_size == 8 ?
			    be64dec(v.mv_data) : 1;
			c->loaded = 1;
		}
		*id = c->next++;
		c->dirty = 1;
		return 0;
	}

	if ((rc = store_get(t, t->s->meta, name, strlen(name), &v,
	    cause)) < 0)
		return rc;
	if (rc == 0 && v.mv_size == 8)
		n = be64dec(v.mv_data);
	be64enc(b, n + 1);
	if ((rc = store_put(t, t->s->meta, name, strlen(name), b, 8,
	    cause)) < 0)
		return rc;
	*id = n;
	return 0;
}

/* Campaign records: "s" + id holds state and counters, "b" + id the
 * immutable content, so a counter update never rewrites the bodies. */
static int
store_campaign_read(struct store_txn *t, char kind, const char *id,
    json_t **out, char **cause)
{
	json_error_t	 jerr;
	MDB_val		 v;
	char		 k[CAMPAIGN_KEY_MAX];
	int		 rc;

	*out = NULL;
	if (snprintf(k, sizeof k, "%c%s", kind, id) >= (int)sizeof k)
		return 1;
	if ((rc = store_get(t, t->s->campaigns, k, strlen(k), &v,
	    cause)) != 0)
		return rc;
	if ((*out = json_loadb(v.mv_data, v.mv_size, 0, &jerr)) == NULL)
		return set_cause(cause, "campaign %s: corrupt record: %s", id,
		    jerr.text);
	return 0;
}

static int
store_campaign_write(struct store_txn *t, char kind, const char *id,
    json_t *j, char **cause)
{
	char	*s, k[CAMPAIGN_KEY_MAX];
	int	 rc;

	if (snprintf(k, sizeof k, "%c%s", kind, id) >= (int)sizeof k)
		return set_cause(cause, "campaign id too long");
	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		return set_cause(cause, "campaign %s: cannot encode", id);
	rc = store_put(t, t->s->campaigns, k, strlen(k), s, strlen(s), cause);
	free(s);
	return rc;
}

int
store_campaign_get(struct store_txn *t, const char *id, json_t **out,
    char **cause)
{
	return store_campaign_read(t, 's', id, out, cause);
}

int
store_campaign_put(struct store_txn *t, const char *id, json_t *j,
    char **cause)
{
	return store_campaign_write(t, 's', id, j, cause);
}

int
store_campaign_body_get(struct store_txn *t, const char *id, json_t **out,
    char **cause)
{
	return store_campaign_read(t, 'b', id, out, cause);
}

int
store_campaign_body_put(struct store_txn *t, const char *id, json_t *j,
    char **cause)
{
	return store_campaign_write(t, 'b', id, j, cause);
}

/* The ids of every campaign, as a JSON array. */
int
store_campaign_list(struct store_txn *t, json_t **out, char **cause)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc;

	if ((rc = mdb_cursor_open(t->txn, t->s->campaigns, &c)) != 0)
		return store_err(rc, cause, "cursor");
	*out = json_array();
	k.mv_size = 1;
	k.mv_data = (void *)"s";
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && k.mv_size > 1 && *(char *)k.mv_data == 's') {
		json_array_append_new(*out, json_stringn((char *)k.mv_data + 1,
		    k.mv_size - 1));
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 0;
}

/* A list's key of one kind: 'i' its name, 'f' its sender's name. */
static void
store_list_key(uint8_t *k, char kind, uint32_t lid)
{
	k[0] = (uint8_t)kind;
	k[1] = (uint8_t)(lid >> 24);
	k[2] = (uint8_t)(lid >> 16);
	k[3] = (uint8_t)(lid >> 8);
	k[4] = (uint8_t)lid;
}

/* A text value into out (cut to outsz); 1 when absent. */
static int
store_get_text(struct store_txn *t, MDB_dbi dbi, const void *k, size_t klen,
    char *out, size_t outsz)
{
	MDB_val	 v;
	int	 rc;

	if ((rc = store_get(t, dbi, k, klen, &v, NULL)) != 0)
		return rc;
	snprintf(out, outsz, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	return 0;
}

/* A list's numeric id, created on first use when `create` is set. */
int
store_list_id(struct store_txn *t, const char *name, int create,
    uint32_t *lid, char **cause)
{
	char		 key[300];
	uint8_t		 ik[5], b[4];
	MDB_val		 v;
	uint64_t	 id;
	int		 rc;

	snprintf(key, sizeof key, "n%s", name);
	if ((rc = store_get(t, t->s->lists, key, strlen(key), &v, cause)) < 0)
		return rc;
	if (rc == 0 && v.mv_size == 4) {
		*lid = (uint32_t)(be64dec((uint8_t[8]){ 0, 0, 0, 0,
		    ((uint8_t *)v.mv_data)[0], ((uint8_t *)v.mv_data)[1],
		    ((uint8_t *)v.mv_data)[2], ((uint8_t *)v.mv_data)[3] }));
		return 0;
	}
	if (!create)
		return 1;
	if ((rc = store_next_id(t, "lid", &id, cause)) < 0)
		return rc;
	store_list_key(ik, 'i', (uint32_t)id);
	memcpy(b, ik + 1, 4);
	if ((rc = store_put(t, t->s->lists, key, strlen(key), b, 4,
	    cause)) < 0 ||
	    (rc = store_put(t, t->s->lists, ik, 5, name, strlen(name),
	    cause)) < 0)
		return rc;
	*lid = (uint32_t)id;
	return 0;
}

/* A list's name from its id; 1 when unknown. */
int
store_list_name(struct store_txn *t, uint32_t lid, char *out, size_t outsz)
{
	uint8_t		 ik[5];

	store_list_key(ik, 'i', lid);
	return store_get_text(t, t->s->lists, ik, 5, out, outsz);
}

int
store_list_brand_put(struct store_txn *t, uint32_t lid, const char *name,
    char **cause)
{
	uint8_t		 k[5];
	MDB_val		 v;
	int		 rc;

	store_list_key(k, 'f', lid);
	if (name == NULL || *name == '\0') {
		rc = store_del(t, t->s->lists, k, 5, cause);
		return rc == 1 ? 0 : rc;
	}
	/* Most campaigns repeat it: write only a change. */
	if ((rc = store_get(t, t->s->lists, k, 5, &v, cause)) < 0)
		return rc;
	if (rc == 0 && v.mv_size == strlen(name) &&
	    memcmp(v.mv_data, name, v.mv_size) == 0)
		return 0;
	return store_put(t, t->s->lists, k, 5, name, strlen(name), cause);
}

int
store_list_brand_get(struct store_txn *t, uint32_t lid, char *out,
    size_t outsz)
{
	uint8_t		 k[5];

	store_list_key(k, 'f', lid);
	return store_get_text(t, t->s->lists, k, 5, out, outsz);
}

/* A recipient's normalised address from its id; 1 when unknown. */
int
store_rid_addr(struct store_txn *t, uint64_t rid, char *out, size_t outsz)
{
	uint8_t	 k[8];

	be64enc(k, rid);
	return store_get_text(t, t->s->rids, k, 8, out, outsz);
}

/*
 * Binary encoding helpers.  A record is encoded per recipient and job:
 * each field is stored in place, and only a buffer without room calls
 * out to grow it.
 */
static inline uint8_t *
enc_room(struct buf *b, size_t n)
{
	uint8_t	*p;

	if (b->cap - b->len <= n)
		buf_reserve(b, n);
	p = (uint8_t *)b->data + b->len;
	b->len += n;
	b->data[b->len] = '\0';
	return p;
}

static inline void
enc_u8(struct buf *b, uint8_t v)
{
	*enc_room(b, 1) = v;
}

static inline void
enc_u32(struct buf *b, uint32_t v)
{
	uint8_t	*x = enc_room(b, 4);

	x[0] = (uint8_t)(v >> 24);
	x[1] = (uint8_t)(v >> 16);
	x[2] = (uint8_t)(v >> 8);
	x[3] = (uint8_t)v;
}

static inline void
enc_u64(struct buf *b, uint64_t v)
{
	be64enc(enc_room(b, 8), v);
}

static inline void
enc_str(struct buf *b, const char *s)
{
	size_t	 n = strlen(s);
	uint8_t	*x;

	if (n > 255)
		n = 255;
	x = enc_room(b, 1 + n);
	x[0] = (uint8_t)n;
	memcpy(x + 1, s, n);
}

struct dec {
	const uint8_t	*p;
	size_t		 left;
	int		 bad;
};

static uint64_t
dec_n(struct dec *d, size_t n)
{
	uint64_t	 v = 0;
	size_t		 i;

	if (d->left < n) {
		d->bad = 1;
		d->left = 0;
		return 0;
	}
	for (i = 0; i < n; i++)
		v = (v << 8) | d->p[i];
	d->p += n;
	d->left -= n;
	return v;
}

static void
dec_str(struct dec *d, char *out, size_t outsz)
{
	size_t	 n = (size_t)dec_n(d, 1);

	if (d->left < n || n >= outsz) {
		d->bad = 1;
		d->left = 0;
		out[0] = '\0';
		return;
	}
	memcpy(out, d->p, n);
	out[n] = '\0';
	d->p += n;
	d->left -= n;
}

void
store_rcpt_init(struct store_rcpt *r)
{
	memset(r, 0, sizeof *r);
}

void
store_rcpt_free(struct store_rcpt *r)
{
	free(r->unsub);
	free(r->hist);
	store_rcpt_init(r);
}

/* Empty the record but keep its arrays for reuse. */
static void
store_rcpt_clear(struct store_rcpt *r)
{
	struct store_unsub	*u = r->unsub;
	struct store_hist	*h = r->hist;
	size_t			 cu = r->cap_unsub, ch = r->cap_hist;

	memset(r, 0, sizeof *r);
	r->unsub = u;
	r->hist = h;
	r->cap_unsub = cu;
	r->cap_hist = ch;
}

void
store_rcpt_add_hist(struct store_rcpt *r, const struct store_hist *h)
{
	if (r->nhist == r->cap_hist) {
		r->cap_hist = r->cap_hist == 0 ? 4 : r->cap_hist * 2;
		r->hist = xreallocarray(r->hist, r->cap_hist, sizeof *r->hist);
	}
	r->hist[r->nhist++] = *h;
}

/* Add or replace an unsubscribe entry (lid 0: every list). */
static void
store_rcpt_add_unsub(struct store_rcpt *r, const struct store_unsub *u)
{
	if (r->nunsub == r->cap_unsub) {
		r->cap_unsub = r->cap_unsub == 0 ? 2 : r->cap_unsub * 2;
		r->unsub = xreallocarray(r->unsub, r->cap_unsub,
		    sizeof *r->unsub);
	}
	r->unsub[r->nunsub++] = *u;
}

/* Read a recipient; 1 (and an empty record) when never seen. */
int
store_rcpt_get(struct store_txn *t, const char *naddr, struct store_rcpt *r,
    char **cause)
{
	struct store_hist	 h;
	struct store_unsub	 u;
	struct dec		 d;
	MDB_val			 v;
	uint64_t		 version;
	size_t			 i, n;
	int			 rc;

	store_rcpt_clear(r);
	/*
	 * Read through a cursor that stays on the record, so that writing
	 * it back (the usual next step) needs no second descent.
	 */
	if (t->rcpt_cur == NULL && (rc = mdb_cursor_open(t->txn, t->s->rcpt,
	    &t->rcpt_cur)) != 0)
		return store_err(rc, cause, "cursor");
	{
		MDB_val	 k = { strlen(naddr), (void *)naddr };

		rc = mdb_cursor_get(t->rcpt_cur, &k, &v, MDB_SET_KEY);
		if (rc == MDB_NOTFOUND)
			return 1;
		if (rc != 0)
			return store_err(rc, cause, "read");
	}
	d.p = v.mv_data;
	d.left = v.mv_size;
	d.bad = 0;
	if ((version = dec_n(&d, 1)) != STORE_RCPT_VERSION && version != 1)
		return set_cause(cause, "recipient %s: unknown record version",
		    naddr);
	r->rid = dec_n(&d, 8);
	r->suppressed = (int64_t)dec_n(&d, 8);
	dec_str(&d, r->suppress_why, sizeof r->suppress_why);
	r->pref_count = (uint32_t)dec_n(&d, 4);
	r->pref_window = (uint32_t)dec_n(&d, 4);
	r->pref_time = (int64_t)dec_n(&d, 8);
	r->pref_source = (uint8_t)dec_n(&d, 1);
	if (version >= 2) {
		r->pause_until = (int64_t)dec_n(&d, 8);
		r->pref_flags = (uint8_t)dec_n(&d, 1);
	}
	n = (size_t)dec_n(&d, 2);
	for (i = 0; i < n && !d.bad; i++) {
		u.lid = (uint32_t)dec_n(&d, 4);
		u.time = (int64_t)dec_n(&d, 8);
		u.source = (uint8_t)dec_n(&d, 1);
		store_rcpt_add_unsub(r, &u);
	}
	n = (size_t)dec_n(&d, 2);
	for (i = 0; i < n && !d.bad; i++) {
		h.time = (int64_t)dec_n(&d, 8);
		h.lid = (uint32_t)dec_n(&d, 4);
		h.state = (uint8_t)dec_n(&d, 1);
		dec_str(&d, h.campaign, sizeof h.campaign);
		store_rcpt_add_hist(r, &h);
	}
	if (d.bad)
		return set_cause(cause, "recipient %s: truncated record", naddr);
	return 0;
}

/* Write a recipient; a new one gets an id and a reverse mapping. */
int
store_rcpt_put(struct store_txn *t, const char *naddr,
    const struct store_rcpt *r, char **cause)
{
	struct buf	*b = &t->s->scratch;
	uint8_t		 k[8];
	uint64_t	 rid = r->rid;
	size_t		 i;
	int		 rc;

	if (rid == 0) {
		if ((rc = store_next_id(t, "rid", &rid, cause)) < 0)
			return rc;
		((struct store_rcpt *)r)->rid = rid;
		be64enc(k, rid);
		if ((rc = store_put(t, t->s->rids, k, 8, naddr, strlen(naddr),
		    cause)) < 0)
			return rc;
	}
	buf_reset(b);
	enc_u8(b, STORE_RCPT_VERSION);
	enc_u64(b, rid);
	enc_u64(b, (uint64_t)r->suppressed);
	enc_str(b, r->suppress_why);
	enc_u32(b, r->pref_count);
	enc_u32(b, r->pref_window);
	enc_u64(b, (uint64_t)r->pref_time);
	enc_u8(b, r->pref_source);
	enc_u64(b, (uint64_t)r->pause_until);
	enc_u8(b, r->pref_flags);
	enc_u8(b, (uint8_t)(r->nunsub >> 8));
	enc_u8(b, (uint8_t)r->nunsub);
	for (i = 0; i < r->nunsub; i++) {
		enc_u32(b, r->unsub[i].lid);
		enc_u64(b, (uint64_t)r->unsub[i].time);
		enc_u8(b, r->unsub[i].source);
	}
	enc_u8(b, (uint8_t)(r->nhist >> 8));
	enc_u8(b, (uint8_t)r->nhist);
	for (i = 0; i < r->nhist; i++) {
		enc_u64(b, (uint64_t)r->hist[i].time);
		enc_u32(b, r->hist[i].lid);
		enc_u8(b, r->hist[i].state);
		enc_str(b, r->hist[i].campaign);
	}
	{
		MDB_val	 ck, cur, v = { b->len, b->data };

		/* In place when the cursor is still on this record. */
		if (t->rcpt_cur != NULL && mdb_cursor_get(t->rcpt_cur, &ck,
		    &cur, MDB_GET_CURRENT) == 0 && ck.mv_size == strlen(naddr) &&
		    memcmp(ck.mv_data, naddr, ck.mv_size) == 0) {
			/*
			 * Our own copy of the key: ck points into the page,
			 * which a resize of the record rewrites.
			 */
			ck.mv_data = (void *)naddr;
			if ((rc = mdb_cursor_put(t->rcpt_cur, &ck, &v,
			    MDB_CURRENT)) != 0)
				return store_err(rc, cause, "write");
			return 0;
		}
	}
	return store_put(t, t->s->rcpt, naddr, strlen(naddr), b->data, b->len,
	    cause);
}

/* Drop sent history older than `before`, and keep at most the newest. */
void
store_rcpt_prune(struct store_rcpt *r, int64_t before)
{
	size_t	 i, j = 0, drop;

	for (i = 0; i < r->nhist; i++) {
		if (r->hist[i].state == STORE_HIST_SENT &&
		    r->hist[i].time < before)
			continue;
		r->hist[j++] = r->hist[i];
	}
	r->nhist = j;
	if (r->nhist > STORE_HIST_MAX) {
		drop = r->nhist - STORE_HIST_MAX;
		memmove(r->hist, r->hist + drop, STORE_HIST_MAX *
		    sizeof *r->hist);
		r->nhist = STORE_HIST_MAX;
	}
}

/*
 * Set the history entry of `campaign` to `state` at `time`, or remove it
 * when state is 0 (a cancelled or failed job releases its slot).
 * Returns 1 when there was no such entry.
 */
int
store_rcpt_hist_set(struct store_rcpt *r, const char *campaign, int state,
    int64_t time)
{
	size_t	 i;

	for (i = 0; i < r->nhist; i++) {
		if (strcmp(r->hist[i].campaign, campaign) != 0)
			continue;
		if (state == 0) {
			memmove(&r->hist[i], &r->hist[i + 1],
			    (r->nhist - i - 1) * sizeof *r->hist);
			r->nhist--;
		} else {
			r->hist[i].state = (uint8_t)state;
			r->hist[i].time = time;
		}
		return 0;
	}
	return 1;
}

void
store_queue_key(uint8_t *key, int64_t due, uint64_t seq)
{
	be64enc(key, (uint64_t)(due < 0 ? 0 : due));
	be64enc(key + 8, seq);
}

/* Decode a job value. */
static int
store_job_decode(const MDB_val *k, const MDB_val *v, struct store_job *j)
{
	struct dec	 d;
	uint64_t	 version;

	if (k->mv_size != STORE_KEY_LEN)
		return -1;
	memcpy(j->key, k->mv_data, STORE_KEY_LEN);
	j->due = (int64_t)be64dec(j->key);
	d.p = v->mv_data;
	d.left = v->mv_size;
	d.bad = 0;
	if ((version = dec_n(&d, 1)) < 1 || version > STORE_JOB_VERSION)
		return -1;
	j->queued = (int64_t)dec_n(&d, 8);
	j->attempts = (uint32_t)dec_n(&d, 4);
	j->flags = (uint8_t)dec_n(&d, 1);
	j->lid = (uint32_t)dec_n(&d, 4);
	j->rid = dec_n(&d, 8);
	dec_str(&d, j->campaign, sizeof j->campaign);
	dec_str(&d, j->addr, sizeof j->addr);
	dec_str(&d, j->name, sizeof j->name);
	/* A job queued before format 2 holds no reservation. */
	j->qday = 0;
	j->qunit[0] = '\0';
	if (version >= 2) {
		j->qday = (int32_t)dec_n(&d, 4);
		dec_str(&d, j->qunit, sizeof j->qunit);
	}
	return d.bad ? -1 : 0;
}

/* Write one encoded job under its key, appending when the key is the
 * largest so far (keys mostly grow: due now, rising sequence). */
static int
store_queue_write(struct store_txn *t, const uint8_t *key, const void *data,
    size_t len, char **cause)
{
	MDB_val	 k = { STORE_KEY_LEN, (void *)key }, v = { len, (void *)data };
	int	 rc;

	if (!t->queue_last_known) {
		MDB_cursor	*c;
		MDB_val		 lk, lv;

		memset(t->queue_last, 0, STORE_KEY_LEN);
		if (mdb_cursor_open(t->txn, t->s->queue, &c) == 0) {
			if (mdb_cursor_get(c, &lk, &lv, MDB_LAST) == 0 &&
			    lk.mv_size == STORE_KEY_LEN)
				memcpy(t->queue_last, lk.mv_data, STORE_KEY_LEN);
			mdb_cursor_close(c);
		}
		t->queue_last_known = 1;
	}
	if (memcmp(key, t->queue_last, STORE_KEY_LEN) > 0) {
		memcpy(t->queue_last, key, STORE_KEY_LEN);
		if ((rc = mdb_put(t->txn, t->s->queue, &k, &v,
		    MDB_APPEND)) != 0)
			return store_err(rc, cause, "write");
		return 0;
	}
	if ((rc = mdb_put(t->txn, t->s->queue, &k, &v, 0)) != 0)
		return store_err(rc, cause, "write");
	return 0;
}

/* Give the job its key (due | fresh sequence) and encode it into the
 * store's scratch buffer. */
static int
store_queue_encode(struct store_txn *t, struct store_job *j, char **cause)
{
	struct buf	*b = &t->s->scratch;
	uint64_t	 seq;
	int		 rc;

	if ((rc = store_next_id(t, "seq", &seq, cause)) < 0)
		return rc;
	store_queue_key(j->key, j->due, seq);
	buf_reset(b);
	enc_u8(b, STORE_JOB_VERSION);
	enc_u64(b, (uint64_t)j->queued);
	enc_u32(b, j->attempts);
	enc_u8(b, j->flags);
	enc_u32(b, j->lid);
	enc_u64(b, j->rid);
	enc_str(b, j->campaign);
	enc_str(b, j->addr);
	enc_str(b, j->name);
	enc_u32(b, (uint32_t)j->qday);
	enc_str(b, j->qday != 0 ? j->qunit : "");
	return 0;
}

/* Queue a job; its key (due | fresh sequence) is filled in. */
int
store_queue_put(struct store_txn *t, struct store_job *j, char **cause)
{
	struct buf	*b = &t->s->scratch;
	int		 rc;

	if ((rc = store_queue_encode(t, j, cause)) < 0)
		return rc;
	return store_queue_write(t, j->key, b->data, b->len, cause);
}

/*
 * Queue a job due later than most of this transaction's: its key is
 * given now (queue order is the order of the calls), but it is written
 * at store_queue_flush() or the commit, in key order.  A job written
 * into the middle of the queue would make every job due now that
 * follows it an insertion instead of an append, and split the queue's
 * pages half full; staged, they all stay appends.
 */
int
store_queue_stage(struct store_txn *t, struct store_job *j, char **cause)
{
	struct buf	*b = &t->s->scratch;
	uint32_t	 len;
	int		 rc;

	if ((rc = store_queue_encode(t, j, cause)) < 0)
		return rc;
	/* Bounded: past the limit, what is staged is written out now. */
	if (t->staged.len + STORE_KEY_LEN + sizeof len + b->len >
	    STORE_STAGE_MAX && (rc = store_queue_flush(t, cause)) != 0)
		return rc;
	if (t->nstaged == t->staged_cap) {
		t->staged_cap = t->staged_cap ? t->staged_cap * 2 : 1024;
		t->staged_at = xreallocarray(t->staged_at, t->staged_cap,
		    sizeof *t->staged_at);
	}
	t->staged_at[t->nstaged++] = (uint32_t)t->staged.len;
	len = (uint32_t)b->len;
	buf_add(&t->staged, j->key, STORE_KEY_LEN);
	buf_add(&t->staged, &len, sizeof len);
	buf_add(&t->staged, b->data, b->len);
	return 0;
}

/* Order staged jobs by key (qsort_r: the base is the staged buffer). */
static int
store_stage_cmp(const void *a, const void *b, void *base)
{
	return memcmp((const char *)base + *(const uint32_t *)a,
	    (const char *)base + *(const uint32_t *)b, STORE_KEY_LEN);
}

/* Write the staged jobs, in key order: mostly appends. */
int
store_queue_flush(struct store_txn *t, char **cause)
{
	const char	*p;
	uint32_t	 len;
	size_t		 i;
	int		 rc = 0;

	if (t->nstaged == 0)
		return 0;
	qsort_r(t->staged_at, t->nstaged, sizeof *t->staged_at,
	    store_stage_cmp, t->staged.data);
	for (i = 0; i < t->nstaged && rc == 0; i++) {
		p = t->staged.data + t->staged_at[i];
		memcpy(&len, p + STORE_KEY_LEN, sizeof len);
		rc = store_queue_write(t, (const uint8_t *)p, p +
		    STORE_KEY_LEN + sizeof len, len, cause);
	}
	t->nstaged = 0;
	buf_reset(&t->staged);
	return rc;
}

int
store_queue_get(struct store_txn *t, const uint8_t *key, struct store_job *j,
    char **cause)
{
	MDB_val	 k = { STORE_KEY_LEN, (void *)key }, v;
	int	 rc;

	if ((rc = store_get(t, t->s->queue, key, STORE_KEY_LEN, &v,
	    cause)) != 0)
		return rc;
	if (store_job_decode(&k, &v, j) == -1)
		return set_cause(cause, "corrupt queue record");
	return 0;
}

int
store_queue_del(struct store_txn *t, const uint8_t *key, char **cause)
{
	return store_del(t, t->s->queue, key, STORE_KEY_LEN, cause);
}

/* Open a cursor at the first key >= `from` (NULL: the start). */
int
store_queue_seek(struct store_txn *t, const uint8_t *from,
    struct store_cursor **out, char **cause)
{
	struct store_cursor	*c;
	int			 rc;

	c = xcalloc(1, sizeof *c);
	if ((rc = mdb_cursor_open(t->txn, t->s->queue, &c->c)) != 0) {
		free(c);
		return store_err(rc, cause, "cursor");
	}
	if (from != NULL) {
		c->k.mv_size = STORE_KEY_LEN;
		c->k.mv_data = (void *)from;
		rc = mdb_cursor_get(c->c, &c->k, &c->v, MDB_SET_RANGE);
	} else
		rc = mdb_cursor_get(c->c, &c->k, &c->v, MDB_FIRST);
	c->valid = rc == 0;
	*out = c;
	return 0;
}

int
store_queue_first(struct store_txn *t, struct store_cursor **out, char **cause)
{
	return store_queue_seek(t, NULL, out, cause);
}

/* The job under the cursor: 1 when there is one, 0 at the end. */
int
store_cursor_job(struct store_cursor *c, struct store_job *j)
{
	while (c->valid) {
		if (store_job_decode(&c->k, &c->v, j) == 0)
			return 1;
		/* A corrupt record is skipped rather than wedging the drain. */
		store_cursor_next(c);
	}
	return 0;
}

int
store_cursor_next(struct store_cursor *c)
{
	if (c->valid)
		c->valid = mdb_cursor_get(c->c, &c->k, &c->v, MDB_NEXT) == 0;
	return c->valid;
}

void
store_cursor_close(struct store_cursor *c)
{
	if (c == NULL)
		return;
	mdb_cursor_close(c->c);
	free(c);
}

/*
 * The cr key: campaign NUL recipient id (8, BE).  Recipient ids grow in
 * the order addresses are first seen, so a campaign sent to the same
 * people again writes its keys in ascending order: appends.
 */
static size_t
store_cr_key(const char *campaign, uint64_t rid, uint8_t *k, size_t ksz)
{
	size_t	 a = strlen(campaign);

	if (a + 1 + 8 > ksz)
		return 0;
	memcpy(k, campaign, a);
	k[a] = '\0';
	be64enc(k + a + 1, rid);
	return a + 1 + 8;
}

/* A cr value: state, queue key, time, and a feedback byte only when it
 * is not zero (so admission writes no more than it did before it). */
#define STORE_CR_VLEN	(1 + STORE_KEY_LEN + 8)

/* Decode a cr value; -1 when it is not one. */
static int
store_cr_decode(const MDB_val *v, struct store_cr *cr)
{
	if (v->mv_size != STORE_CR_VLEN && v->mv_size != STORE_CR_VLEN + 1)
		return -1;
	cr->feedback = v->mv_size > STORE_CR_VLEN ?
	    ((uint8_t *)v->mv_data)[STORE_CR_VLEN] : 0;
	cr->state = ((uint8_t *)v->mv_data)[0];
	memcpy(cr->key, (uint8_t *)v->mv_data + 1, STORE_KEY_LEN);
	cr->time = (int64_t)be64dec((uint8_t *)v->mv_data + 1 +
	    STORE_KEY_LEN);
	return 0;
}

int
store_cr_get(struct store_txn *t, const char *campaign, uint64_t rid,
    struct store_cr *cr, char **cause)
{
	uint8_t	 k[STORE_CR_KEY_MAX];
	size_t	 klen;
	MDB_val	 v;
	int	 rc;

	if ((klen = store_cr_key(campaign, rid, k, sizeof k)) == 0)
		return set_cause(cause, "key too long");
	if ((rc = store_get(t, t->s->cr, k, klen, &v, cause)) != 0)
		return rc;
	if (store_cr_decode(&v, cr) == -1)
		return set_cause(cause, "corrupt delivery record");
	return 0;
}

int
store_cr_put(struct store_txn *t, const char *campaign, uint64_t rid,
    const struct store_cr *cr, char **cause)
{
	uint8_t	 k[STORE_CR_KEY_MAX], v[STORE_CR_VLEN + 1];
	size_t	 klen, vlen = STORE_CR_VLEN;
	int	 rc;

	if ((klen = store_cr_key(campaign, rid, k, sizeof k)) == 0)
		return set_cause(cause, "key too long");
	v[0] = cr->state;
	memcpy(v + 1, cr->key, STORE_KEY_LEN);
	be64enc(v + 1 + STORE_KEY_LEN, (uint64_t)cr->time);
	if (cr->feedback != 0)
		v[vlen++] = cr->feedback;
	/*
	 * Append when the key sorts after every other (a new campaign, the
	 * newest, to recipients in the order they were first seen): full
	 * pages and no search.  The last key is learnt once per
	 * transaction; every write of cr passes here and none deletes, so
	 * it stays exact.
	 */
	if (!t->cr_last_known) {
		MDB_cursor	*c;
		MDB_val		 lk, lv;

		t->cr_last_len = 0;
		if (mdb_cursor_open(t->txn, t->s->cr, &c) == 0) {
			if (mdb_cursor_get(c, &lk, &lv, MDB_LAST) == 0 &&
			    lk.mv_size <= sizeof t->cr_last) {
				memcpy(t->cr_last, lk.mv_data, lk.mv_size);
				t->cr_last_len = lk.mv_size;
			}
			mdb_cursor_close(c);
		}
		t->cr_last_known = 1;
	}
	if (store_keycmp(k, klen, t->cr_last, t->cr_last_len) > 0) {
		MDB_val	 mk = { klen, k }, mv = { vlen, v };

		if ((rc = mdb_put(t->txn, t->s->cr, &mk, &mv,
		    MDB_APPEND)) != 0)
			return store_err(rc, cause, "write");
		memcpy(t->cr_last, k, klen);
		t->cr_last_len = klen;
		return 0;
	}
	return store_put(t, t->s->cr, k, klen, v, vlen, cause);
}

int
store_cr_each(struct store_txn *t, const char *campaign,
    int (*fn)(uint64_t, struct store_cr *, void *), void *arg,
    char **cause)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	struct store_cr	 cr;
	size_t		 plen = strlen(campaign) + 1;
	int		 rc, stop = 0;

	if ((rc = mdb_cursor_open(t->txn, t->s->cr, &c)) != 0)
		return store_err(rc, cause, "cursor");
	k.mv_size = plen;
	k.mv_data = (void *)campaign;	/* includes the NUL */
	rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	while (rc == 0 && !stop) {
		if (k.mv_size < plen || memcmp(k.mv_data, campaign, plen) != 0)
			break;
		if (k.mv_size == plen + 8 && store_cr_decode(&v, &cr) == 0)
			stop = fn(be64dec((uint8_t *)k.mv_data + plen), &cr,
			    arg);
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 0;
}

/*
 * Daily sending counts, by pacing unit (a domain or a provider) and
 * calendar day: key UNIT NUL DAY (YYYYMMDD, big-endian 64 bits), value
 * the count (big-endian 64 bits).
 */
static size_t
store_quota_key(const char *unit, int32_t day, uint8_t *k, size_t ksz)
{
	size_t	 n = strlen(unit);

	if (n == 0 || n + 9 > ksz)
		return 0;
	memcpy(k, unit, n);
	k[n] = '\0';
	be64enc(k + n + 1, (uint64_t)(uint32_t)day);
	return n + 9;
}

int
store_quota_get(struct store_txn *t, const char *unit, int32_t day,
    uint64_t *count, char **cause)
{
	uint8_t	 k[300];
	size_t	 klen;
	MDB_val	 v;
	int	 rc;

	*count = 0;
	if ((klen = store_quota_key(unit, day, k, sizeof k)) == 0)
		return set_cause(cause, "quota key too long");
	if ((rc = store_get(t, t->s->quota, k, klen, &v, cause)) != 0)
		return rc < 0 ? rc : 0;
	if (v.mv_size != 8)
		return set_cause(cause, "corrupt quota record of %s", unit);
	*count = be64dec(v.mv_data);
	return 0;
}

/* Add n to a unit's day, or take n from it (never below nothing). */
static int
store_quota_move(struct store_txn *t, const char *unit, int32_t day,
    uint64_t n, int take, char **cause)
{
	uint8_t	 k[300], v[8];
	uint64_t c;
	size_t	 klen;
	int	 rc;

	if ((rc = store_quota_get(t, unit, day, &c, cause)) < 0)
		return rc;
	if ((klen = store_quota_key(unit, day, k, sizeof k)) == 0)
		return set_cause(cause, "quota key too long");
	if (take && c <= n) {
		/* Nothing left of that day: no record (a ramp's sending days
		 * count records above 0 only). */
		rc = store_del(t, t->s->quota, k, klen, cause);
		return rc < 0 ? rc : 0;
	}
	be64enc(v, take ? c - n : c + n);
	return store_put(t, t->s->quota, k, klen, v, sizeof v, cause);
}

int
store_quota_add(struct store_txn *t, const char *unit, int32_t day,
    uint64_t n, char **cause)
{
	return store_quota_move(t, unit, day, n, 0, cause);
}

/* A domain's key in the mx sub-database: lower case, at most 255. */
static size_t
store_mx_key(const char *domain, char *k, size_t ksz)
{
	size_t	 i;

	for (i = 0; domain[i] != '\0' && i + 1 < ksz; i++)
		k[i] = (char)tolower((unsigned char)domain[i]);
	k[i] = '\0';
	return domain[i] == '\0' ? i : 0;
}

int
store_mx_put(struct store_txn *t, const char *domain, const char *group,
    int64_t until, char **cause)
{
	char	 k[256];
	uint8_t	 v[8 + 256];
	size_t	 klen, glen = strlen(group);

	if ((klen = store_mx_key(domain, k, sizeof k)) == 0 || glen == 0 ||
	    glen > 255)
		return set_cause(cause, "MX placement of %s: bad name", domain);
	be64enc(v, (uint64_t)until);
	memcpy(v + 8, group, glen);
	return store_put(t, t->s->mx, k, klen, v, 8 + glen, cause);
}

int
store_mx_get(struct store_txn *t, const char *domain, char *group,
    size_t groupsz, int64_t *until, char **cause)
{
	char	 k[256];
	size_t	 klen, glen;
	MDB_val	 v;
	int	 rc;

	if ((klen = store_mx_key(domain, k, sizeof k)) == 0)
		return 1;
	if ((rc = store_get(t, t->s->mx, k, klen, &v, cause)) != 0)
		return rc;
	if (v.mv_size <= 8 || (glen = v.mv_size - 8) >= groupsz)
		return set_cause(cause, "corrupt MX placement of %s", domain);
	*until = (int64_t)be64dec(v.mv_data);
	memcpy(group, (uint8_t *)v.mv_data + 8, glen);
	group[glen] = '\0';
	return 0;
}

int
store_mx_del(struct store_txn *t, const char *domain, char **cause)
{
	char	 k[256];
	size_t	 klen;

	if ((klen = store_mx_key(domain, k, sizeof k)) == 0)
		return 1;
	return store_del(t, t->s->mx, k, klen, cause);
}

int
store_quota_sub(struct store_txn *t, const char *unit, int32_t day,
    uint64_t n, char **cause)
{
	return store_quota_move(t, unit, day, n, 1, cause);
}

/*
 * The first key of dbi after `after` (alen 0: the first key): 0 with *k
 * and *v (valid until the transaction writes), 1 at the end.
 */
static int
store_next_after(struct store_txn *t, MDB_dbi dbi, const void *after,
    size_t alen, MDB_val *k, MDB_val *v, char **cause)
{
	MDB_cursor	*c;
	int		 rc;

	if ((rc = mdb_cursor_open(t->txn, dbi, &c)) != 0)
		return store_err(rc, cause, "cursor");
	k->mv_size = alen;
	k->mv_data = (void *)after;
	rc = alen == 0 ? mdb_cursor_get(c, k, v, MDB_FIRST) :
	    mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	if (rc == 0 && alen != 0 && k->mv_size == alen &&
	    memcmp(k->mv_data, after, alen) == 0)
		rc = mdb_cursor_get(c, k, v, MDB_NEXT);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 1;
	return rc == 0 ? 0 : store_err(rc, cause, "read");
}

int
store_quota_next(struct store_txn *t, const char *after, int32_t after_day,
    char *unit, size_t unitsz, int32_t *day, uint64_t *count, char **cause)
{
	uint8_t	 a[300];
	size_t	 alen = 0, ulen;
	MDB_val	 k, v;
	int	 rc;

	if (*after != '\0' && (alen = store_quota_key(after, after_day, a,
	    sizeof a)) == 0)
		return set_cause(cause, "quota key too long");
	if ((rc = store_next_after(t, t->s->quota, a, alen, &k, &v,
	    cause)) != 0)
		return rc;
	/* UNIT NUL DAY: the unit is what comes before the last 9 bytes. */
	if (k.mv_size < 10 || (ulen = k.mv_size - 9) >= unitsz ||
	    ((uint8_t *)k.mv_data)[ulen] != '\0' || v.mv_size != 8)
		return set_cause(cause, "corrupt quota record");
	memcpy(unit, k.mv_data, ulen);
	unit[ulen] = '\0';
	*day = (int32_t)be64dec((uint8_t *)k.mv_data + ulen + 1);
	*count = be64dec(v.mv_data);
	return 0;
}

int
store_quota_del(struct store_txn *t, const char *unit, int32_t day,
    char **cause)
{
	uint8_t	 k[300];
	size_t	 klen;

	if ((klen = store_quota_key(unit, day, k, sizeof k)) == 0)
		return set_cause(cause, "quota key too long");
	return store_del(t, t->s->quota, k, klen, cause);
}

int
store_mx_next(struct store_txn *t, const char *after, char *domain,
    size_t domainsz, int64_t *until, char **cause)
{
	MDB_val	 k, v;
	int	 rc;

	if ((rc = store_next_after(t, t->s->mx, after, strlen(after), &k, &v,
	    cause)) != 0)
		return rc;
	if (k.mv_size >= domainsz || v.mv_size <= 8)
		return set_cause(cause, "corrupt MX placement");
	memcpy(domain, k.mv_data, k.mv_size);
	domain[k.mv_size] = '\0';
	*until = (int64_t)be64dec(v.mv_data);
	return 0;
}

int
store_quota_days(struct store_txn *t, const char *unit, int32_t from,
    int32_t before, unsigned *ndays, char **cause)
{
	uint8_t		 k[300];
	size_t		 klen, ulen = strlen(unit);
	MDB_cursor	*c;
	MDB_val		 key, v;
	int		 rc, op = MDB_SET_RANGE;

	*ndays = 0;
	if ((klen = store_quota_key(unit, from, k, sizeof k)) == 0)
		return set_cause(cause, "quota key too long");
	if ((rc = mdb_cursor_open(t->txn, t->s->quota, &c)) != 0)
		return store_err(rc, cause, "read");
	key.mv_size = klen;
	key.mv_data = k;
	while ((rc = mdb_cursor_get(c, &key, &v, (MDB_cursor_op)op)) == 0) {
		op = MDB_NEXT;
		if (key.mv_size != ulen + 9 || memcmp(key.mv_data, unit, ulen)
		    != 0 || ((uint8_t *)key.mv_data)[ulen] != '\0' ||
		    (int64_t)be64dec((uint8_t *)key.mv_data + ulen + 1) >=
		    before)
			break;
		if (v.mv_size == 8 && be64dec(v.mv_data) > 0)
			(*ndays)++;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_err(rc, cause, "read");
	return 0;
}

/*
 * Position the zones cursor on recipient rid: 0 found (*v its zone), 1
 * not.  The cursor stays there, and LMDB finds a key on the page it
 * stands on without a descent: recipients come mostly in id order.
 */
static int
store_zone_seek(struct store_txn *t, uint8_t *k, uint64_t rid, MDB_val *v,
    char **cause)
{
	MDB_val	 key = { 8, k };
	int	 rc;

	be64enc(k, rid);
	if (t->zone_cur == NULL && (rc = mdb_cursor_open(t->txn, t->s->zones,
	    &t->zone_cur)) != 0)
		return store_err(rc, cause, "cursor");
	if ((rc = mdb_cursor_get(t->zone_cur, &key, v, MDB_SET_KEY)) ==
	    MDB_NOTFOUND)
		return 1;
	return rc == 0 ? 0 : store_err(rc, cause, "read");
}

/* The time zone kept for a recipient id; 1 when none is kept. */
int
store_zone_get(struct store_txn *t, uint64_t rid, char *out, size_t outsz,
    char **cause)
{
	uint8_t	 k[8];
	MDB_val	 v;
	int	 rc;

	if ((rc = store_zone_seek(t, k, rid, &v, cause)) != 0)
		return rc;
	snprintf(out, outsz, "%.*s", (int)v.mv_size, (char *)v.mv_data);
	return 0;
}

/*
 * Does key k sort after every key in zones?  New recipients' ids mostly
 * do: appended, their pages fill up instead of splitting in halves.
 */
static int
store_zone_append(struct store_txn *t, const uint8_t *k)
{
	MDB_cursor	*c;
	MDB_val		 lk, lv;

	if (!t->zone_last_known) {
		memset(t->zone_last, 0, sizeof t->zone_last);
		if (mdb_cursor_open(t->txn, t->s->zones, &c) == 0) {
			if (mdb_cursor_get(c, &lk, &lv, MDB_LAST) == 0 &&
			    lk.mv_size == sizeof t->zone_last)
				memcpy(t->zone_last, lk.mv_data, lk.mv_size);
			mdb_cursor_close(c);
		}
		t->zone_last_known = 1;
	}
	if (memcmp(k, t->zone_last, sizeof t->zone_last) <= 0)
		return 0;
	memcpy(t->zone_last, k, sizeof t->zone_last);
	return 1;
}

/* Keep a recipient's time zone (the caller checked the name); an
 * unchanged one is not written again. */
int
store_zone_put(struct store_txn *t, uint64_t rid, const char *zone,
    char **cause)
{
	uint8_t	 k[8];
	MDB_val	 key = { 8, k }, v, nv = { strlen(zone), (void *)zone };
	int	 rc;

	be64enc(k, rid);
	/* After every key kept: nothing to compare with, append. */
	if (t->zone_cur != NULL && store_zone_append(t, k))
		rc = mdb_cursor_put(t->zone_cur, &key, &nv, MDB_APPEND);
	else if ((rc = store_zone_seek(t, k, rid, &v, cause)) < 0)
		return rc;
	else if (rc == 0 && v.mv_size == nv.mv_size && memcmp(v.mv_data,
	    zone, nv.mv_size) == 0)
		return 0;
	else if (rc == 0)
		rc = mdb_cursor_put(t->zone_cur, &key, &nv, MDB_CURRENT);
	else
		rc = mdb_cursor_put(t->zone_cur, &key, &nv, store_zone_append(t,
		    k) ? MDB_APPEND : 0);
	return rc == 0 ? 0 : store_err(rc, cause, "write");
}
/* Forget a recipient's time zone (an erasure); 1 when none was kept. */
int
store_zone_del(struct store_txn *t, uint64_t rid, char **cause)
{
	uint8_t	 k[8];

	be64enc(k, rid);
	return store_del(t, t->s->zones, k, 8, cause);
}

/* Forget a recipient's record and its id's address (an erasure). */
int
store_rcpt_del(struct store_txn *t, const char *naddr, uint64_t rid,
    char **cause)
{
	uint8_t	 k[8];
	int	 rc;

	be64enc(k, rid);
	if ((rc = store_del(t, t->s->rcpt, naddr, strlen(naddr), cause)) < 0 ||
	    (rc = store_del(t, t->s->rids, k, 8, cause)) < 0)
		return rc;
	return 0;
}

/* Forget a campaign's delivery state for one recipient; 1: none. */
int
store_cr_del(struct store_txn *t, const char *campaign, uint64_t rid,
    char **cause)
{
	uint8_t	 k[STORE_CR_KEY_MAX];
	size_t	 klen;

	if ((klen = store_cr_key(campaign, rid, k, sizeof k)) == 0)
		return set_cause(cause, "key too long");
	return store_del(t, t->s->cr, k, klen, cause);
}

/*
 * What survives an erasure, under a keyed hash of the address: a
 * suppressed byte, then the unsubscribed list ids (4 octets, BE each).
 */
int
store_erased_get(struct store_txn *t, const uint8_t *hash,
    struct store_erased *e, char **cause)
{
	const uint8_t	*p;
	MDB_val		 v;
	size_t		 i;
	int		 rc;

	if ((rc = store_get(t, t->s->erased, hash, STORE_ERASED_HASH, &v,
	    cause)) != 0)
		return rc;
	if (v.mv_size < 1 || (v.mv_size - 1) % 4 != 0 ||
	    (v.mv_size - 1) / 4 > STORE_ERASED_LISTS)
		return set_cause(cause, "corrupt erasure record");
	p = v.mv_data;
	memset(e, 0, sizeof *e);
	e->suppressed = p[0];
	e->nlids = (v.mv_size - 1) / 4;
	for (i = 0; i < e->nlids; i++)
		e->lids[i] = (uint32_t)p[1 + 4 * i] << 24 |
		    (uint32_t)p[2 + 4 * i] << 16 | (uint32_t)p[3 + 4 * i] << 8 |
		    p[4 + 4 * i];
	return 0;
}

int
store_erased_put(struct store_txn *t, const uint8_t *hash,
    const struct store_erased *e, char **cause)
{
	uint8_t	 v[1 + 4 * STORE_ERASED_LISTS];
	size_t	 i;

	v[0] = e->suppressed;
	for (i = 0; i < e->nlids; i++) {
		v[1 + 4 * i] = (uint8_t)(e->lids[i] >> 24);
		v[2 + 4 * i] = (uint8_t)(e->lids[i] >> 16);
		v[3 + 4 * i] = (uint8_t)(e->lids[i] >> 8);
		v[4 + 4 * i] = (uint8_t)e->lids[i];
	}
	return store_put(t, t->s->erased, hash, STORE_ERASED_HASH, v,
	    1 + 4 * e->nlids, cause);
}

/* Forget an erasure record (nothing of it is left to honour): 1 if none. */
int
store_erased_del(struct store_txn *t, const uint8_t *hash, char **cause)
{
	return store_del(t, t->s->erased, hash, STORE_ERASED_HASH, cause);
}

/* How many entries a sub-database holds (0 when it cannot be read). */
uint64_t
store_count(struct store_txn *t, enum store_countable which)
{
	MDB_stat	 st;

	if (mdb_stat(t->txn, which == STORE_QUEUE ? t->s->queue :
	    t->s->erased, &st) != 0)
		return 0;
	return st.ms_entries;
}

/* lib/admit.c's name for store_count(t, STORE_ERASED). */
uint64_t
store_erased_count(struct store_txn *t)
{
	return store_count(t, STORE_ERASED);
}

/*
 * A compacted copy of the store into fd (mdb_env_copyfd2 with
 * MDB_CP_COMPACT): one read transaction, so a consistent snapshot of
 * the last commit, while the writer goes on.  Only a growth of the map
 * waits for it (no resize while a transaction of this process is open).
 */
int
store_copy(struct store *s, int fd, char **cause)
{
	int	 rc;

	pthread_rwlock_rdlock(&s->resize);
	rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT);
	pthread_rwlock_unlock(&s->resize);
	if (rc != 0)
		return store_err(rc, cause, "copy");
	return 0;
}

/* The first recipient address after `after` ("" for the first): 0 with
 * out, 1 at the end. */
int
store_rcpt_next_key(struct store_txn *t, const char *after, char *out,
    size_t outsz, char **cause)
{
	MDB_cursor	*c;
	MDB_val		 k = { strlen(after), (void *)after }, v;
	int		 rc;

	if ((rc = mdb_cursor_open(t->txn, t->s->rcpt, &c)) != 0)
		return store_err(rc, cause, "cursor");
	rc = *after == '\0' ? mdb_cursor_get(c, &k, &v, MDB_FIRST) :
	    mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && *after != '\0' && k.mv_size == strlen(after) &&
	    memcmp(k.mv_data, after, k.mv_size) == 0)
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		return 1;
	if (rc != 0)
		return store_err(rc, cause, "read");
	if (k.mv_size >= outsz)
		return set_cause(cause, "recipient key too long");
	memcpy(out, k.mv_data, k.mv_size);
	out[k.mv_size] = '\0';
	return 0;
}

/* Remove a campaign's record and content (its delivery states first). */
int
store_campaign_del(struct store_txn *t, const char *id, char **cause)
{
	char	 k[CAMPAIGN_KEY_MAX];
	int	 rc;

	snprintf(k, sizeof k, "s%s", id);
	if ((rc = store_del(t, t->s->campaigns, k, strlen(k), cause)) < 0)
		return rc;
	k[0] = 'b';
	return (rc = store_del(t, t->s->campaigns, k, strlen(k), cause)) < 0 ?
	    rc : 0;
}

/* The keys of klen bytes that begin with plen bytes of p, in dbi. */
struct store_prefix {
	MDB_dbi		 dbi;
	const void	*p;
	size_t		 plen;
	size_t		 klen;
};

/*
 * A cursor on the prefix's first key, mdb_cursor_get()'s answer in *rc;
 * NULL, with *rc and *cause, when no cursor opens.
 */
static MDB_cursor *
store_prefix_open(struct store_txn *t, const struct store_prefix *pf,
    MDB_val *k, MDB_val *v, int *rc, char **cause)
{
	MDB_cursor	*c;

	if ((*rc = mdb_cursor_open(t->txn, pf->dbi, &c)) != 0) {
		*rc = store_err(*rc, cause, "cursor");
		return NULL;
	}
	k->mv_size = pf->plen;
	k->mv_data = (void *)pf->p;
	*rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
	return c;
}

/* Is the cursor (rc its last answer) still on one of the prefix's keys? */
static int
store_prefix_in(const struct store_prefix *pf, int rc, const MDB_val *k)
{
	return rc == 0 && k->mv_size == pf->klen && memcmp(k->mv_data, pf->p,
	    pf->plen) == 0;
}

/* Delete at most max of the prefix's keys: 0 with *n, or -1 with *cause. */
static int
store_prefix_del(struct store_txn *t, const struct store_prefix *pf,
    uint64_t max, uint64_t *n, char **cause)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc;

	*n = 0;
	if ((c = store_prefix_open(t, pf, &k, &v, &rc, cause)) == NULL)
		return rc;
	while (*n < max && store_prefix_in(pf, rc, &k)) {
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
		(*n)++;
		/* After a delete, NEXT gives the entry that took its place. */
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_err(rc, cause, "delete");
	return 0;
}

/* Remove at most `max` delivery states of a campaign: 0 with *n, or 1
 * when none is left. */
int
store_cr_del_some(struct store_txn *t, const char *campaign, size_t max,
    uint64_t *n, char **cause)
{
	struct store_prefix	 pf = { t->s->cr, campaign,
				    strlen(campaign) + 1,
				    strlen(campaign) + 1 + 8 };
	int			 rc;

	*n = 0;
	if (pf.klen > STORE_CR_KEY_MAX)
		return set_cause(cause, "campaign id too long");
	if ((rc = store_prefix_del(t, &pf, max, n, cause)) < 0)
		return rc;
	return *n == 0 ? 1 : 0;
}

/* A consent change worth keeping: rid | time | lid -> action, source. */
int
store_consent_add(struct store_txn *t, uint64_t rid,
    const struct store_consent *c, char **cause)
{
	uint8_t	 k[20], v[2];

	be64enc(k, rid);
	be64enc(k + 8, (uint64_t)c->time);
	k[16] = (uint8_t)(c->lid >> 24);
	k[17] = (uint8_t)(c->lid >> 16);
	k[18] = (uint8_t)(c->lid >> 8);
	k[19] = (uint8_t)c->lid;
	v[0] = c->action;
	v[1] = c->source;
	return store_put(t, t->s->consent, k, sizeof k, v, sizeof v, cause);
}

/* Call fn for every consent change of rid, oldest first; stop on non-zero. */
int
store_consent_each(struct store_txn *t, uint64_t rid,
    int (*fn)(const struct store_consent *, void *), void *arg, char **cause)
{
	struct store_consent	 c;
	MDB_cursor		*cur;
	MDB_val			 k, v;
	uint8_t			 prefix[8];
	struct store_prefix	 pf = { t->s->consent, prefix, 8, 20 };
	const uint8_t		*p;
	int			 rc, stop = 0;

	be64enc(prefix, rid);
	if ((cur = store_prefix_open(t, &pf, &k, &v, &rc, cause)) == NULL)
		return rc;
	while (!stop && store_prefix_in(&pf, rc, &k)) {
		p = k.mv_data;
		c.time = (int64_t)be64dec(p + 8);
		c.lid = (uint32_t)p[16] << 24 | (uint32_t)p[17] << 16 |
		    (uint32_t)p[18] << 8 | p[19];
		c.action = v.mv_size == 2 ? ((uint8_t *)v.mv_data)[0] : 0;
		c.source = v.mv_size == 2 ? ((uint8_t *)v.mv_data)[1] : 0;
		stop = fn(&c, arg);
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	return 0;
}

/* Remove every consent change of rid (an erasure): 0 with *n. */
int
store_consent_del(struct store_txn *t, uint64_t rid, uint64_t *n,
    char **cause)
{
	uint8_t			 prefix[8];
	struct store_prefix	 pf = { t->s->consent, prefix, 8, 20 };

	be64enc(prefix, rid);
	return store_prefix_del(t, &pf, UINT64_MAX, n, cause);
}
