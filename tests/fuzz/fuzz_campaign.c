/*
 * fuzz_campaign.c: libFuzzer target for the campaign document parser.
 *
 * The input is a campaign document as POST /v1/campaigns receives it.  A
 * document campaign_parse() accepts is then walked with the recipient
 * cursor, as admission does, and what both passes promise is checked:
 * the header fields are valid, the bodies hold no control character
 * but tab and line breaks, and the cursor yields exactly the
 * recipients the first pass counted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "campaign.h"
#include "text.h"
#include "util.h"

/* Few enough that the 413 path is reached by small inputs too. */
#define FUZZ_CAMPAIGN_MAX_RCPTS	32

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What a checked campaign promises its users; abort() if it does not. */
static void
fuzz_campaign_check(const char *doc, size_t len, const struct campaign *c)
{
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;
	uint64_t		 n = 0;

	if (!campaign_valid_id(c->id) || c->list == NULL ||
	    addr_check(c->from_addr, strlen(c->from_addr), NULL) != 0 ||
	    !campaign_header_safe(c->subject) ||
	    strlen(c->subject) > CAMPAIGN_SUBJECT_MAX ||
	    (c->from_name != NULL && !campaign_header_safe(c->from_name)) ||
	    (c->text == NULL && c->html == NULL) ||
	    (c->text != NULL && text_check(c->text, strlen(c->text),
	    TEXT_MULTILINE, NULL) != 0) ||
	    (c->html != NULL && text_check(c->html, strlen(c->html),
	    TEXT_MULTILINE, NULL) != 0) ||
	    c->expires < 0 || c->send_after < 0 ||
	    c->nrecipients == 0 || c->nrecipients > FUZZ_CAMPAIGN_MAX_RCPTS)
		abort();
	it = campaign_rcpt_open(doc, len);
	while (campaign_rcpt_next(it, &rc) == 1) {
		/* The address is trimmed and addrlen is its length. */
		if (rc.addr == NULL || strlen(rc.addr) != rc.addrlen)
			abort();
		(void)addr_check(rc.addr, rc.addrlen, NULL);
		if (rc.name != NULL && !campaign_header_safe(rc.name))
			abort();
		n++;
	}
	/* The end is sticky. */
	if (campaign_rcpt_next(it, &rc) != 0)
		abort();
	campaign_rcpt_close(it);
	if (n != c->nrecipients)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct campaign		*c = NULL;
	struct campaign_error	 err;
	const char		*doc = (const char *)data;
	char			*s;
	int64_t			 t;

	if (campaign_parse(doc, size, FUZZ_CAMPAIGN_MAX_RCPTS, &c,
	    &err) == 0) {
		if (err.nproblems != 0)
			abort();
		fuzz_campaign_check(doc, size, c);
		campaign_free(c);
	} else {
		if (c != NULL || err.nproblems == 0 || (err.status != 400 &&
		    err.status != 413 && err.status != 422))
			abort();
		campaign_error_free(&err);
	}

	/* The small helpers, on the input as one string. */
	s = xstrndup(doc, size);
	(void)campaign_parse_time(s, &t);
	(void)campaign_valid_id(s);
	(void)campaign_header_safe(s);
	free(s);
	return 0;
}
