/*
 * fuzz_form.c: libFuzzer target for the public form parser (the body of
 * POST /u/{token}: the page's form or an RFC 8058 one-click request).
 *
 * Input: the Content-Type header value, a line feed, then the body.
 * Without a line feed the whole input is the body and there is no
 * Content-Type.  The fields kept are then rendered into the pages, whose
 * escaping must leave no markup of theirs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "unsub_page.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A kept field is short, clean UTF-8 text without control characters. */
static void
fuzz_form_field(const char *v)
{
	if (v != NULL && (strlen(v) > UNSUB_PAGE_FIELD_MAX ||
	    text_check(v, strlen(v), TEXT_LINE, NULL) == -1))
		abort();
}

/* Escaped text carries none of & < > " ' as markup. */
static void
fuzz_form_escape(const char *v)
{
	struct buf	 b;

	buf_init(&b);
	unsub_page_escape(&b, v);
	if (b.len > 0 && strpbrk(b.data, "<>\"'") != NULL)
		abort();
	buf_free(&b);
}

/* Render every page with the fields as list name and address. */
static void
fuzz_form_pages(const struct unsub_page_form *f)
{
	struct unsub_page_info	 pi;
	struct unsub_page_outcome	 out;
	struct buf		 b;
	char			*m;

	memset(&pi, 0, sizeof pi);
	pi.list = f->choice != NULL ? f->choice : "news.example.com";
	/* The brand and contact are a page's values too. */
	pi.brand = f->list_unsubscribe;
	if (f->choice != NULL && unsub_page_contact_ok(f->choice))
		pi.contact = f->choice;
	pi.addr = f->list_unsubscribe != NULL ? f->list_unsubscribe :
	    "alice@example.org";
	pi.action = "AQ";
	m = unsub_page_mask_addr(pi.addr);
	fuzz_form_escape(m);
	free(m);
	fuzz_form_escape(pi.list);
	fuzz_form_escape(pi.addr);

	buf_init(&b);
	unsub_page_choices(&b, &pi);
	memset(&out, 0, sizeof out);
	out.choice = unsub_page_choice_parse(f->choice);
	if (out.choice != UNSUB_PAGE_NONE) {
		if (strcmp(unsub_page_choice_name(out.choice), f->choice) != 0 ||
		    unsub_page_choice_parse(unsub_page_choice_name(out.choice)) !=
		    out.choice)
			abort();
		(void)unsub_page_choice_undo(out.choice);
		unsub_page_done(&b, &pi, &out);
	}
	unsub_page_bad_choice(&b, &pi);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unsub_page_form	 f;
	const char		*body = (const char *)data, *nl;
	char			*ctype = NULL, *cause = NULL;
	size_t			 len = size;

	if ((nl = memchr(data, '\n', size)) != NULL) {
		ctype = xstrndup(body, (size_t)(nl - body));
		body = nl + 1;
		len = size - (size_t)(body - (const char *)data);
	}
	if (unsub_page_form_parse(ctype, body, len, &f, &cause) == 0) {
		if (cause != NULL)
			abort();
		fuzz_form_field(f.choice);
		fuzz_form_field(f.list_unsubscribe);
		(void)unsub_page_form_oneclick(&f);
		fuzz_form_pages(&f);
		unsub_page_form_free(&f);
	} else {
		/* A refused form is empty. */
		if (cause == NULL || f.choice != NULL ||
		    f.list_unsubscribe != NULL)
			abort();
		free(cause);
	}
	free(ctype);
	return 0;
}
