/*
 * prefs_seed.c: store recipients' own choices for a share of the
 * benchmark's recipients, as the pages would (prefs_apply(), which also
 * re-times what is queued for them), straight into a stopped daemon's
 * store.  bench/run.py runs it between the history campaign and the
 * timed one, so that the timed admission reads preferences for that
 * share (issue 16: "1M admission <= 3 s with preferences stored for 10 %").
 *
 * usage: prefs_seed -c CONF -n RECIPIENTS [-p PERCENT]
 *
 * Recipient i is bench/gen_campaign.py's address(i); every (100/PERCENT)th
 * gets, in turn, at most one a week, a pause of three months, or plain
 * text.  Prints "prefs N seconds S moved M dropped D".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "conf.h"
#include "ledger.h"
#include "prefs.h"
#include "store.h"

#define BATCH	10000

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
	struct store_txn	*t = NULL;
	struct prefs_change	 c;
	struct prefs_result	 r;
	const char		*path = NULL;
	json_t			*states = NULL;
	char			*cause = NULL, addr[128];
	long			 n = 0, pct = 10, i, step, done = 0;
	uint64_t		 moved = 0, dropped = 0;
	int64_t			 now = (int64_t)time(NULL);
	double			 t0;
	int			 ch;

	while ((ch = getopt(argc, argv, "c:n:p:")) != -1) {
		if (ch == 'c')
			path = optarg;
		else if (ch == 'n')
			n = atol(optarg);
		else if (ch == 'p')
			pct = atol(optarg);
		else
			goto usage;
	}
	if (path == NULL || n <= 0 || pct <= 0 || pct > 100)
		goto usage;
	step = 100 / pct;
	if (conf_load(path, &conf, &cause) != 0 || store_open(conf->state_dir,
	    conf->map_size, &store, &cause) != 0) {
		fprintf(stderr, "prefs_seed: %s\n", cause);
		return 1;
	}
	t0 = mono();
	for (i = 0; i < n; i += step) {
		if (t == NULL) {
			states = json_object();
			if (store_begin(store, 1, &t, &cause) < 0)
				goto fail;
		}
		/* gen_campaign.address(i), normalised. */
		snprintf(addr, sizeof addr, "u%ld@d%ld.example.org", i, i % 1000);
		memset(&c, 0, sizeof c);
		c.source = STORE_SRC_LINK;
		switch ((i / step) % 3) {
		case 0:
			c.set = PREFS_SET_CAP;
			c.count = 1;
			c.window = PREFS_WEEK;
			break;
		case 1:
			c.set = PREFS_SET_PAUSE;
			c.pause_until = now + PREFS_PAUSE;
			break;
		default:
			c.set = PREFS_SET_PLAIN;
			c.plain = 1;
			break;
		}
		if (prefs_apply(t, conf, addr, &c, now, states, &r, &cause) < 0)
			goto fail;
		moved += r.moved;
		dropped += r.dropped;
		if (++done % BATCH == 0 || i + step >= n) {
			if (ledger_flush_states(t, states, &cause) < 0 ||
			    store_commit(t, &cause) < 0)
				goto fail;
			t = NULL;
			json_decref(states);
		}
	}
	printf("prefs %ld seconds %.2f moved %llu dropped %llu\n", done,
	    mono() - t0, (unsigned long long)moved,
	    (unsigned long long)dropped);
	store_close(store);
	conf_free(conf);
	return 0;
fail:
	fprintf(stderr, "prefs_seed: %s\n", cause);
	return 1;
usage:
	fprintf(stderr, "usage: prefs_seed -c CONF -n RECIPIENTS [-p PERCENT]\n");
	return 2;
}
