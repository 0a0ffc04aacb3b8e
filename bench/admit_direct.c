/*
 * admit_direct.c: libmanners' admission in-process, without the daemon.
 *
 * For each document: campaign_parse() (pass one) then admit_campaign()
 * (pass two, decisions, reservations, queue, commit) into the store of
 * the given config, timed separately.  It isolates the library's cost
 * from the daemon's (upload, buffering, the event loop, other threads)
 * and is the thing to profile:
 *
 *	perf record -g build/bench/admit_direct -c CONF DOC1 DOC2
 *	valgrind --tool=callgrind build/bench/admit_direct -c CONF DOC
 *
 * usage: admit_direct -c CONF [-n] DOC...
 *	-c	a mannersd config (state_dir, map_size and [caps] are used)
 *	-n	dry run (the transaction is aborted)
 *
 * Output, per document: "DOC parse S admit S total S rate R accepted A
 * cpu S" (cpu: user + system seconds, which a busy machine disturbs less).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libxml/parser.h>

#include "admit.h"
#include "campaign.h"
#include "conf.h"
#include "store.h"

/* CPU seconds (user + system) of this process so far. */
static double
cpu(void)
{
	struct rusage	 ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double
mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct conf		*conf = NULL;
	struct store		*store = NULL;
	struct campaign		*c;
	struct campaign_error	 err;
	struct admit_report	 rep;
	struct admit_request	 ar;
	struct iovec		 iov;
	struct stat		 st;
	const char		*cpath = NULL;
	char			*cause = NULL, *doc;
	double			 t0, t1, t2, c0;
	int			 ch, fd, status, dry = 0, i;

	while ((ch = getopt(argc, argv, "c:n")) != -1) {
		switch (ch) {
		case 'c':
			cpath = optarg;
			break;
		case 'n':
			dry = 1;
			break;
		default:
			goto usage;
		}
	}
	if (cpath == NULL || optind >= argc)
		goto usage;
	xmlInitParser();
	if (conf_load(cpath, &conf, &cause) == -1) {
		fprintf(stderr, "admit_direct: %s\n", cause);
		return 1;
	}
	if (store_open(conf->state_dir, conf->map_size, &store, &cause) == -1) {
		fprintf(stderr, "admit_direct: %s\n", cause);
		return 1;
	}
	for (i = optind; i < argc; i++) {
		if ((fd = open(argv[i], O_RDONLY)) == -1 ||
		    fstat(fd, &st) == -1) {
			perror(argv[i]);
			return 1;
		}
		/* A private heap copy, as the daemon has (evbuffer_pullup). */
		doc = malloc((size_t)st.st_size + 1);
		if (doc == NULL || read(fd, doc, (size_t)st.st_size) !=
		    st.st_size) {
			perror(argv[i]);
			return 1;
		}
		close(fd);
		t0 = mono();
		c0 = cpu();
		if (campaign_parse(doc, (size_t)st.st_size, conf->max_recipients,
		    &c, &err) == -1) {
			fprintf(stderr, "admit_direct: %s: %d %s\n", argv[i],
			    err.status, err.nproblems ? err.problems[0] : "");
			return 1;
		}
		t1 = mono();
		memset(&ar, 0, sizeof ar);
		iov.iov_base = doc;
		iov.iov_len = (size_t)st.st_size;
		ar.store = store;
		ar.conf = conf;
		ar.campaign = c;
		ar.iov = &iov;
		ar.niov = 1;
		ar.now = (int64_t)time(NULL);
		ar.dry_run = dry;
		if (admit_campaign(&ar, &rep, &status, &cause) == -1) {
			fprintf(stderr, "admit_direct: %s: %d %s\n", argv[i],
			    status, cause);
			return 1;
		}
		t2 = mono();
		printf("%s parse %.3f admit %.3f total %.3f rate %.0f "
		    "accepted %llu cpu %.3f\n", argv[i], t1 - t0, t2 - t1,
		    t2 - t0, (double)rep.recipients / (t2 - t0),
		    (unsigned long long)rep.accepted, cpu() - c0);
		fflush(stdout);
		campaign_free(c);
		free(doc);
	}
	store_close(store);
	conf_free(conf);
	return 0;

usage:
	fprintf(stderr, "usage: admit_direct -c CONF [-n] DOC...\n");
	return 2;
}
