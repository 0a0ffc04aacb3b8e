/*
 * weigh_bench.c: time weigh_html() against libxml2's bare HTML parse of
 * the same ~100 KB newsletter with 30 remote images, in the same run.
 * The target is a weigh at most 1.25 times the bare parse (medians).
 *
 * usage: weigh_bench [-dv] [rounds]
 *	-d	keep glibc's default heap trimming (see main)
 *	-v	print the weight report of the document
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "util.h"
#include "weigh.h"

#define BENCH_IMAGES	30
#define BENCH_TARGET	(100 * 1024)
#define BENCH_WARMUP	200
#define BENCH_ROUNDS	3000
#define BENCH_OPTIONS \
	(HTML_PARSE_NONET | HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | \
	HTML_PARSE_NOWARNING)

static const char bench_words[] =
    "Our November update brings the new autumn collection, a word from "
    "the workshop about how each piece is made by hand, and a few notes "
    "from readers who wrote back after the last letter. Thank you for "
    "staying in touch with us this year; it means more than we can say. "
    "Prices include delivery in Europe, and returns are free for thirty "
    "days. Caf\xc3\xa9 cr\xc3\xa8me &amp; cr\xc3\xa9pes &eacute;t&eacute; "
    "&ndash; as always, no tracking pixels, only the pictures you see. ";

/* Append one paragraph of body text in a table row. */
static void
bench_paragraph(struct buf *b)
{
	buf_adds(b, "<tr><td style=\"font-family:Helvetica,Arial,"
	    "sans-serif;font-size:16px;line-height:24px;"
	    "color:#444444;padding-top:12px\"><p>");
	buf_adds(b, bench_words);
	buf_adds(b, "<b>Read more</b> in <a href=\"https://news."
	    "example.com/more\">the full story</a>.</p></td></tr>\n");
}

/* Append one newsletter section with an image, a heading and text. */
static void
bench_section(struct buf *b, int i)
{
	int	 p;

	buf_printf(b,
	    "<tr><td class=\"section\" style=\"padding:24px 32px;"
	    "background-color:#ffffff\">\n"
	    "<table role=\"presentation\" width=\"100%%\" cellpadding=\"0\" "
	    "cellspacing=\"0\" border=\"0\"><tr><td align=\"center\">\n"
	    "<a href=\"https://news.example.com/click?c=nov-update&amp;l=%d"
	    "&amp;u={{recipient_id}}&amp;utm_source=newsletter&amp;"
	    "utm_medium=email\"><img src=\"https://cdn.example.com/"
	    "campaigns/2026/11/product-%02d.jpg\" width=\"536\" "
	    "height=\"%d\" alt=\"Product %d\" style=\"display:block;"
	    "border:0;width:100%%;max-width:536px\"></a>\n"
	    "</td></tr><tr><td style=\"font-family:Georgia,serif;"
	    "font-size:22px;line-height:28px;color:#222222;"
	    "padding-top:16px\"><h2 style=\"margin:0\">Section %d: the "
	    "piece of the month</h2></td></tr>\n", i, i, 240 + i, i, i);
	for (p = 0; p < 3; p++)
		bench_paragraph(b);
	buf_adds(b, "</table></td></tr>\n");
}

/* Build the newsletter: nested layout tables, CSS, 30 remote images. */
static char *
bench_newsletter(size_t *len)
{
	struct buf	 b;
	int		 i;

	buf_init(&b);
	buf_adds(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width\">\n<title>Our November "
	    "update</title>\n<style>\nbody{margin:0;padding:0}\n"
	    "table,td{border-collapse:collapse}\n"
	    ".section{font-family:Helvetica,Arial,sans-serif}\n"
	    "@media (max-width:600px){.section{padding:12px!important}}\n"
	    "</style></head>\n<body style=\"margin:0;background:#f4f4f4\">\n"
	    "<div style=\"display:none;max-height:0;overflow:hidden\">Our "
	    "November update: the autumn collection is here.</div>\n"
	    "<table role=\"presentation\" width=\"100%\" "
	    "bgcolor=\"#f4f4f4\"><tr><td align=\"center\">\n"
	    "<table role=\"presentation\" width=\"600\" "
	    "style=\"max-width:600px\">\n");
	/* One section per image, then more text up to ~100 KB. */
	for (i = 0; i < BENCH_IMAGES; i++)
		bench_section(&b, i);
	while (b.len < BENCH_TARGET - 256)
		bench_paragraph(&b);
	buf_adds(&b, "<tr><td style=\"font-size:12px;color:#888888\"><p>You "
	    "receive this because you subscribed at example.com. "
	    "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>.</p>"
	    "</td></tr>\n</table></td></tr></table>\n</body></html>\n");
	return buf_steal(&b, len);
}

/* Nanoseconds on the monotonic clock. */
static long long
bench_now(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Order for qsort. */
static int
bench_cmp(const void *a, const void *b)
{
	long long	 x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* Median of n samples (sorts them). */
static double
bench_median(long long *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp);
	return n % 2 ? (double)v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Bare parse and free, as libxml2 does it without weighing. */
static void
bench_bare(const char *html, size_t len, const char *encoding)
{
	htmlDocPtr	 doc;

	doc = htmlReadMemory(html, (int)len, NULL, encoding, BENCH_OPTIONS);
	if (doc == NULL) {
		fprintf(stderr, "htmlReadMemory failed\n");
		exit(1);
	}
	xmlFreeDoc(doc);
}

/* Weigh and free. */
static void
bench_weigh(const char *html, size_t len, const struct weigh_limits *lim)
{
	struct weigh	*w;
	char		*cause;

	if (weigh_html(html, len, lim, &w, &cause) != 0) {
		fprintf(stderr, "weigh_html: %s\n", cause);
		exit(1);
	}
	weigh_free(w);
}

int
main(int argc, char **argv)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	struct buf		 report;
	long long		*bare, *bare8, *weighs, t;
	double			 mb, mb8, mw;
	char			*html, *cause;
	size_t			 len, rounds = BENCH_ROUNDS, i;
	int			 ch, k, dflag = 0, vflag = 0;

	while ((ch = getopt(argc, argv, "dv")) != -1) {
		switch (ch) {
		case 'd':
			dflag = 1;
			break;
		case 'v':
			vflag = 1;
			break;
		default:
			fprintf(stderr, "usage: weigh_bench [-dv] [rounds]\n");
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 0 && (rounds = strtoul(argv[0], NULL, 10)) == 0)
		rounds = 1;

	/*
	 * By default glibc gives the top of the heap back to the kernel
	 * after a big free and faults it in again on the next parse; whether
	 * that happens depends on which allocation is left on top, i.e. on
	 * the order of the calls, and it swamps the parse itself (up to
	 * 700,000 page faults a run here). Fixed thresholds time the work,
	 * not the allocator's mood; -d shows the defaults.
	 */
	if (!dflag) {
		mallopt(M_TRIM_THRESHOLD, 256 << 20);
		mallopt(M_MMAP_THRESHOLD, 64 << 20);
	}

	xmlInitParser();
	weigh_limits_default(&lim);
	lim.max_html = 0;	/* weigh it whatever its size */
	html = bench_newsletter(&len);

	if (weigh_html(html, len, &lim, &w, &cause) != 0) {
		fprintf(stderr, "weigh_html: %s\n", cause);
		return 1;
	}
	printf("document: %zu bytes, %zu remote images, heap: %s\n", len,
	    weigh_remote_count(w), dflag ? "glibc defaults" : "no trimming");
	if (vflag) {
		buf_init(&report);
		weigh_report_text(w, &report);
		fputs(report.data, stdout);
		buf_free(&report);
	}
	weigh_free(w);

	for (i = 0; i < BENCH_WARMUP; i++) {
		bench_bare(html, len, NULL);
		bench_bare(html, len, "UTF-8");
		bench_weigh(html, len, &lim);
	}

	/*
	 * Interleave the three so drift and noise hit them alike, and
	 * rotate their order so none always follows the same one.
	 */
	bare = xreallocarray(NULL, rounds, sizeof *bare);
	bare8 = xreallocarray(NULL, rounds, sizeof *bare8);
	weighs = xreallocarray(NULL, rounds, sizeof *weighs);
	for (i = 0; i < rounds; i++) {
		for (k = 0; k < 3; k++) {
			t = bench_now();
			switch ((i + k) % 3) {
			case 0:
				bench_bare(html, len, NULL);
				bare[i] = bench_now() - t;
				break;
			case 1:
				bench_bare(html, len, "UTF-8");
				bare8[i] = bench_now() - t;
				break;
			case 2:
				bench_weigh(html, len, &lim);
				weighs[i] = bench_now() - t;
				break;
			}
		}
	}
	mb = bench_median(bare, rounds);
	mb8 = bench_median(bare8, rounds);
	mw = bench_median(weighs, rounds);

	printf("rounds: %zu (medians)\n", rounds);
	printf("bare parse (htmlReadMemory+xmlFreeDoc, no encoding): "
	    "%.3f ms\n", mb / 1e6);
	printf("bare parse (htmlReadMemory+xmlFreeDoc, \"UTF-8\"):    "
	    "%.3f ms\n", mb8 / 1e6);
	printf("weigh_html+weigh_free:                             "
	    "%.3f ms\n", mw / 1e6);
	printf("ratio weigh/bare: %.3f (vs \"UTF-8\" parse: %.3f); "
	    "target <= 1.25: %s\n", mw / mb, mw / mb8,
	    mw / mb <= 1.25 ? "met" : "MISSED");

	free(bare);
	free(bare8);
	free(weighs);
	free(html);
	return mw / mb <= 1.25 ? 0 : 1;
}
