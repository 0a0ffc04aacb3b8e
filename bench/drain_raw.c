/*
 * drain_raw.c: the raw ceiling for the drain benchmark.
 *
 * Sends one pre-rendered message N times to an SMTP server through
 * libcurl's multi interface with C concurrent easy handles, each reused
 * for every message it sends (so its connection is reused too), as fast
 * as possible.  Recipient i is u{i}@d{i % D}.example.org.  Prints the
 * rate; exits 1 if any transfer failed.
 *
 * With RATE (messages per second), it paces instead: message k starts
 * at the first chance at or after t0 + k/RATE (an absolute schedule, so
 * no lateness accumulates) -- the control for the cadence benchmark,
 * showing how late this machine lets a simple timer loop be.  Prints the
 * largest lateness.
 *
 * usage: drain_raw URL MESSAGE-FILE N [CONCURRENCY [DOMAINS [RATE]]]
 *
 * libcurl's SMTP upload allocates and frees a 128 KB scratch buffer per
 * transfer; in a process whose heap is otherwise this small, glibc hands
 * it back to the kernel each time (brk, then a TLB shootdown), which
 * costs more than the rest of the transfer on a virtual machine.  A
 * daemon's busier heap rarely does that, so to be a ceiling this sender
 * keeps freed memory (mallopt below); DRAIN_RAW_MALLOC=default skips it.
 *
 * DRAIN_RAW_SPIN_US=N makes it spin N microseconds after each completed
 * transfer, before starting the next: how much a sender's own work per
 * message costs in rate against this sink (the README quotes 10, 20, 35).
 *
 * build: cc -O2 -o build/bench/drain_raw bench/drain_raw.c \
 *            $(pkg-config --cflags --libs libcurl) -lm
 */
#include <malloc.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

struct slot {
	CURL			*easy;
	struct curl_slist	*rcpt;
	size_t			 off;
	long			 index;
	char			 addr[128];
};

static const char	*msg;
static size_t		 msglen;

/* Monotonic seconds. */
static double
raw_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* libcurl pulls the message from here. */
static size_t
raw_read(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct slot	*s = arg;
	size_t		 n = size * nmemb, left = msglen - s->off;

	if (n > left)
		n = left;
	memcpy(ptr, msg + s->off, n);
	s->off += n;
	return n;
}

/* Point a free handle at recipient i and start it. */
static void
raw_arm(CURLM *m, struct slot *s, long i, long ndom)
{
	s->index = i;
	s->off = 0;
	snprintf(s->addr, sizeof s->addr, "<u%ld@d%ld.example.org>", i,
	    i % ndom);
	curl_slist_free_all(s->rcpt);
	s->rcpt = curl_slist_append(NULL, s->addr);
	curl_easy_setopt(s->easy, CURLOPT_MAIL_RCPT, s->rcpt);
	curl_multi_add_handle(m, s->easy);
}

/* Take back the next finished transfer's slot, counting a failure. */
static struct slot *
raw_done(CURLM *m, long *bad)
{
	CURLMsg		*cm;
	struct slot	*s;
	long		 code;
	int		 left;

	while ((cm = curl_multi_info_read(m, &left)) != NULL) {
		if (cm->msg != CURLMSG_DONE)
			continue;
		code = 0;
		curl_easy_getinfo(cm->easy_handle, CURLINFO_PRIVATE,
		    (char **)&s);
		curl_easy_getinfo(cm->easy_handle, CURLINFO_RESPONSE_CODE,
		    &code);
		if ((cm->data.result != CURLE_OK || code / 100 != 2) &&
		    (*bad)++ < 5)
			fprintf(stderr, "drain_raw: message %ld: %s (code %ld)\n",
			    s->index, curl_easy_strerror(cm->data.result),
			    code);
		curl_multi_remove_handle(m, cm->easy_handle);
		return s;
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	CURLM		*m;
	struct slot	*s;
	struct slot	*slots;
	FILE		*f;
	char		*buf;
	long		 n, conc = 4, ndom = 100, next = 0, done = 0, bad = 0;
	long		 size, i;
	int		 running;
	double		 t0, t1, rate = 0, late, maxlate = 0, sumlate = 0;
	double		 spin = getenv("DRAIN_RAW_SPIN_US") != NULL ?
			    atof(getenv("DRAIN_RAW_SPIN_US")) / 1e6 : 0;

	if (argc < 4) {
		fprintf(stderr, "usage: %s URL MESSAGE-FILE N [CONCURRENCY "
		    "[DOMAINS]]\n", argv[0]);
		return 2;
	}
	n = atol(argv[3]);
	if (argc > 4)
		conc = atol(argv[4]);
	if (argc > 5)
		ndom = atol(argv[5]);
	if (argc > 6)
		rate = atof(argv[6]);
	if (n <= 0 || conc <= 0 || ndom <= 0) {
		fprintf(stderr, "%s: bad numbers\n", argv[0]);
		return 2;
	}
	if ((f = fopen(argv[2], "rb")) == NULL) {
		perror(argv[2]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size + 1);
	if (buf == NULL || fread(buf, 1, (size_t)size, f) != (size_t)size) {
		perror(argv[2]);
		return 2;
	}
	fclose(f);
	msg = buf;
	msglen = (size_t)size;

	if (getenv("DRAIN_RAW_MALLOC") == NULL ||
	    strcmp(getenv("DRAIN_RAW_MALLOC"), "default") != 0) {
		mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
		mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, conc);
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conc);
	slots = calloc((size_t)conc, sizeof *slots);
	for (i = 0; i < conc; i++) {
		struct slot	*s = &slots[i];

		s->easy = curl_easy_init();
		curl_easy_setopt(s->easy, CURLOPT_URL, argv[1]);
		curl_easy_setopt(s->easy, CURLOPT_MAIL_FROM,
		    "<news@bench.example.com>");
		curl_easy_setopt(s->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(s->easy, CURLOPT_READFUNCTION, raw_read);
		curl_easy_setopt(s->easy, CURLOPT_READDATA, s);
		curl_easy_setopt(s->easy, CURLOPT_INFILESIZE_LARGE,
		    (curl_off_t)msglen);
		curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
		curl_easy_setopt(s->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(s->easy, CURLOPT_TIMEOUT, 30L);
	}

	t0 = raw_now();
	if (rate > 0) {
		/* Paced: one free handle per slot, slots on a fixed grid. */
		long	 nfree = conc;
		struct slot **fl = calloc((size_t)conc, sizeof *fl);

		for (i = 0; i < conc; i++)
			fl[i] = &slots[i];
		while (done < n) {
			double	 now = raw_now(), due = t0 + (double)next / rate;
			int	 ms;

			if (next < n && nfree > 0 && now >= due) {
				late = now - due;
				sumlate += late;
				if (late > maxlate)
					maxlate = late;
				raw_arm(m, fl[--nfree], next++, ndom);
			}
			curl_multi_perform(m, &running);
			while ((s = raw_done(m, &bad)) != NULL) {
				fl[nfree++] = s;
				done++;
			}
			if (done >= n)
				break;
			due = t0 + (double)next / rate;
			ms = next < n && nfree > 0 ? (int)ceil((due - raw_now()) *
			    1000.0) : 1000;
			curl_multi_poll(m, NULL, 0, ms > 0 ? ms : 0, NULL);
		}
		free(fl);
		t1 = raw_now();
		printf("drain_raw: paced %ld messages at %.1f/s in %.3f s: "
		    "lateness max %.3f ms, mean %.3f ms (%ld failed)\n", n,
		    rate, t1 - t0, maxlate * 1e3, sumlate / (double)n * 1e3,
		    bad);
		goto out;
	}
	for (i = 0; i < conc && next < n; i++)
		raw_arm(m, &slots[i], next++, ndom);
	while (done < n) {
		curl_multi_perform(m, &running);
		while ((s = raw_done(m, &bad)) != NULL) {
			done++;
			if (spin > 0) {
				double	 t = raw_now();

				while (raw_now() - t < spin)
					;
			}
			if (next < n)
				raw_arm(m, s, next++, ndom);
		}
		if (done < n)
			curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	t1 = raw_now();

	printf("drain_raw: %ld messages of %zu bytes, concurrency %ld, in "
	    "%.3f s: %.0f msg/s (%ld failed)\n", n, msglen, conc, t1 - t0,
	    (double)n / (t1 - t0), bad);
out:
	for (i = 0; i < conc; i++) {
		curl_easy_cleanup(slots[i].easy);
		curl_slist_free_all(slots[i].rcpt);
	}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(slots);
	free(buf);
	return bad != 0;
}
