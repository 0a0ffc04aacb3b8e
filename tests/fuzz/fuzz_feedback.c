/*
 * fuzz_feedback.c: libFuzzer target for the feedback parser.
 *
 * The input is one inbound message, any bytes.  Whatever feedback_parse()
 * makes of it must keep its promises: a known kind, a one-line printable
 * diagnostic, and token candidates of token characters only, within the
 * length bounds, never more than FEEDBACK_MAX_TOKENS.  It is read twice,
 * with and without an envelope recipient and unsubscribe address.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "feedback.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* A kept value: NUL-terminated within its field, printable ASCII. */
static void
fuzz_feedback_printable(const char *s, size_t size)
{
	size_t	 n = strnlen(s, size);

	if (n == size)
		abort();
	while (n-- > 0)
		if ((unsigned char)s[n] < ' ' || (unsigned char)s[n] >= 0x7f)
			abort();
}

/* Check what one reading of the message gave. */
static void
fuzz_feedback_check(const struct feedback *fb)
{
	size_t	 i, n, k;

	if (fb->kind > FEEDBACK_AUTO_REPLY || fb->ntokens > FEEDBACK_MAX_TOKENS)
		abort();
	fuzz_feedback_printable(fb->diagnostic, sizeof fb->diagnostic);
	fuzz_feedback_printable(fb->reported, sizeof fb->reported);
	fuzz_feedback_printable(fb->status, sizeof fb->status);
	fuzz_feedback_printable(fb->feedback_type, sizeof fb->feedback_type);
	if (fb->bad_mailbox && fb->kind != FEEDBACK_BOUNCE)
		abort();
	for (i = 0; i < fb->ntokens; i++) {
		n = strlen(fb->tokens[i].tok);
		if (n < FEEDBACK_TOKEN_MIN || n > FEEDBACK_TOKEN_MAX ||
		    fb->tokens[i].where > FEEDBACK_AT_QUOTED ||
		    fb->tokens[i].shape > FEEDBACK_BARE)
			abort();
		for (k = 0; k < n; k++)
			if (!isalnum((unsigned char)fb->tokens[i].tok[k]) &&
			    fb->tokens[i].tok[k] != '-' &&
			    fb->tokens[i].tok[k] != '_')
				abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct feedback_opts	 opts = {
		"bounces+xgrwHeGlBhvoLSYY_01hECGuDAxbd-Hn6b9wEdU23pDsyA@"
		"news.example.com", "unsubscribe@news.example.com"
	};
	struct feedback				 fb;
	char					*cause = NULL;

	if (feedback_parse(data, size, NULL, &fb, &cause) == 0)
		fuzz_feedback_check(&fb);
	else if (cause == NULL)
		abort();
	free(cause);
	cause = NULL;
	if (feedback_parse(data, size, &opts, &fb, &cause) == 0)
		fuzz_feedback_check(&fb);
	else if (cause == NULL)
		abort();
	free(cause);
	return 0;
}
