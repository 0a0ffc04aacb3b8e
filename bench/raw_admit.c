/*
 * raw_admit.c: the "raw ceiling" of admission.
 *
 * Reads a campaign document with libxml2's xmlTextReader (from memory,
 * XML_PARSE_NONET) and does one LMDB mdb_put per recipient (key: the
 * lower-cased address, value: 8 bytes) in ONE write transaction into a
 * fresh LMDB environment in a temporary directory, then commits.  Nothing
 * else: no policy, no history, no queue.  What mannersd does on top of
 * this is the cost of being careful.
 *
 * usage: raw_admit [-k] [-m MAPSIZE_MB] [-p] FILE
 *	-k	keep the LMDB directory (its path is printed)
 *	-m	LMDB map size in MiB (default 4096)
 *	-p	also time a parse-only pass first (reader, no LMDB)
 *
 * Output (one "key value" per line, for bench/run.py):
 *	recipients N
 *	parse_seconds S		(with -p)
 *	seconds S		(parse + puts + commit)
 *	commit_seconds S	(the commit alone, included in seconds)
 *	rate R			(recipients per second)
 */
#define _GNU_SOURCE	/* nftw, madvise */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/xmlreader.h>
#include <lmdb.h>

#define ADDR_MAX	254

static double
now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "raw_admit: %s: %s\n", what, why);
	exit(1);
}

/* Trim ASCII space and lower-case into out; returns the length (0: skip). */
static size_t
normalize(const char *s, char *out, size_t outsz)
{
	size_t	 len, i;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	len = strlen(s);
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || len >= outsz)
		return 0;
	for (i = 0; i < len; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[len] = '\0';
	return len;
}

/*
 * Walk the recipients: call put() for each <to> address (depth 2 inside
 * <recipients>).  Returns the count, or -1 on a parse error.
 */
static long
walk(const char *doc, size_t len, MDB_txn *txn, MDB_dbi dbi)
{
	xmlTextReaderPtr	 r;
	const xmlChar		*v;
	const char		*el;
	char			 addr[ADDR_MAX + 1];
	uint8_t			 val[8];
	MDB_val			 k, d;
	long			 n = 0;
	int			 rv, type, in_to = 0, rc;
	size_t			 alen;

	memset(val, 0, sizeof val);
	r = xmlReaderForMemory(doc, (int)len, NULL, NULL, XML_PARSE_NONET |
	    XML_PARSE_BIG_LINES);
	if (r == NULL)
		die("xmlReaderForMemory", "failed");
	while ((rv = xmlTextReaderRead(r)) == 1) {
		type = xmlTextReaderNodeType(r);
		if (type == XML_READER_TYPE_ELEMENT) {
			el = (const char *)xmlTextReaderConstLocalName(r);
			in_to = xmlTextReaderDepth(r) == 2 &&
			    strcmp(el, "to") == 0 &&
			    !xmlTextReaderIsEmptyElement(r);
			continue;
		}
		if (type == XML_READER_TYPE_END_ELEMENT) {
			in_to = 0;
			continue;
		}
		if (!in_to || type != XML_READER_TYPE_TEXT)
			continue;
		in_to = 0;
		if ((v = xmlTextReaderConstValue(r)) == NULL)
			continue;
		if ((alen = normalize((const char *)v, addr, sizeof addr)) == 0)
			continue;
		n++;
		if (txn == NULL)
			continue;
		k.mv_size = alen;
		k.mv_data = addr;
		d.mv_size = sizeof val;
		d.mv_data = val;
		val[7] = (uint8_t)n;
		if ((rc = mdb_put(txn, dbi, &k, &d, 0)) != 0)
			die("mdb_put", mdb_strerror(rc));
	}
	xmlFreeTextReader(r);
	return rv == 0 ? n : -1;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	struct stat	 st;
	const char	*doc, *tmpdir;
	char		 dir[4096];
	double		 t0, t1, t2, tp = 0;
	size_t		 mapmb = 4096;
	long		 n;
	int		 fd, ch, keep = 0, parse_only = 0, rc;

	while ((ch = getopt(argc, argv, "km:p")) != -1) {
		switch (ch) {
		case 'k':
			keep = 1;
			break;
		case 'm':
			mapmb = strtoul(optarg, NULL, 10);
			break;
		case 'p':
			parse_only = 1;
			break;
		default:
			fprintf(stderr, "usage: raw_admit [-k] [-m MB] [-p] "
			    "FILE\n");
			return 2;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "usage: raw_admit [-k] [-m MB] [-p] FILE\n");
		return 2;
	}
	if ((fd = open(argv[optind], O_RDONLY)) == -1 || fstat(fd, &st) == -1)
		die(argv[optind], strerror(errno));
	if (st.st_size == 0 || st.st_size > INT32_MAX)
		die(argv[optind], "empty or too large for the reader");
	doc = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (doc == MAP_FAILED)
		die("mmap", strerror(errno));
	/* Fault the document in: mannersd has it in memory too. */
	madvise((void *)doc, (size_t)st.st_size, MADV_WILLNEED);
	{
		volatile char	 sink = 0;
		long		 pg = sysconf(_SC_PAGESIZE);

		for (off_t o = 0; o < st.st_size; o += pg)
			sink ^= doc[o];
		(void)sink;
	}
	xmlInitParser();

	if (parse_only) {
		tp = now();
		if (walk(doc, (size_t)st.st_size, NULL, 0) < 0)
			die(argv[optind], "malformed XML");
		tp = now() - tp;
	}

	if ((tmpdir = getenv("TMPDIR")) == NULL || *tmpdir == '\0')
		tmpdir = "/tmp";
	snprintf(dir, sizeof dir, "%s/raw_admit.XXXXXX", tmpdir);
	if (mkdtemp(dir) == NULL)
		die("mkdtemp", strerror(errno));
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, mapmb * 1024 * 1024)) != 0 ||
	    (rc = mdb_env_open(env, dir, 0, 0600)) != 0)
		die("mdb_env", mdb_strerror(rc));

	t0 = now();
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0)
		die("mdb_txn_begin", mdb_strerror(rc));
	if ((n = walk(doc, (size_t)st.st_size, txn, dbi)) < 0)
		die(argv[optind], "malformed XML");
	t1 = now();
	if ((rc = mdb_txn_commit(txn)) != 0)
		die("mdb_txn_commit", mdb_strerror(rc));
	t2 = now();

	printf("recipients %ld\n", n);
	if (parse_only)
		printf("parse_seconds %.3f\n", tp);
	printf("seconds %.3f\n", t2 - t0);
	printf("commit_seconds %.3f\n", t2 - t1);
	printf("rate %.0f\n", (double)n / (t2 - t0));

	mdb_env_close(env);
	if (keep)
		printf("dir %s\n", dir);
	else
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	munmap((void *)doc, (size_t)st.st_size);
	close(fd);
	xmlCleanupParser();
	return 0;
}
