/*
 * fuzz_weigh.c: libFuzzer target for the HTML weigher.
 *
 * The input is a campaign's HTML part.  It is weighed against tight
 * limits (so the over-limit paths run too), its remote images are given
 * sizes as the measurer would, and both reports are rendered.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "util.h"
#include "weigh.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Small limits: most inputs break one, and the report says so. */
static void
fuzz_weigh_limits(struct weigh_limits *lim)
{
	weigh_limits_default(lim);
	lim->max_html = 16 * 1024;	/* refused unparsed above 64k */
	lim->max_images = 5;
	lim->max_image = 1000;
	lim->max_image_total = 3000;
	lim->min_text_per_image = 100;
	lim->remote_unknown_refuse = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weigh_limits	 lim;
	struct weigh		*w = NULL;
	struct buf		 b;
	json_t			*j;
	char			*cause = NULL, *s;
	size_t			 i, n;

	fuzz_weigh_limits(&lim);
	if (weigh_html((const char *)data, size, &lim, &w, &cause) == -1) {
		if (w != NULL || cause == NULL)
			abort();
		free(cause);
		return 0;
	}

	/* What measure.c does with the remote images, without a network. */
	n = weigh_remote_count(w);
	for (i = 0; i < n; i++) {
		if (weigh_remote_url(w, i) == NULL)
			abort();
		/* Unfetchable, or past remote_max_requests: unmeasured. */
		if (!weigh_remote_fetchable(w, i) || i % 4 == 3)
			continue;
		if (i % 3 == 2)
			weigh_set_remote_size(w, i, -1, "HEAD failed");
		else
			weigh_set_remote_size(w, i, (long long)i * 700 + 1,
			    NULL);
	}
	(void)weigh_check(w);

	j = weigh_report_json(w);
	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		abort();
	free(s);
	json_decref(j);

	buf_init(&b);
	weigh_report_text(w, &b);
	if (b.data != NULL && strlen(b.data) > b.len)
		abort();
	buf_free(&b);
	weigh_free(w);
	return 0;
}
