/*
 * test_feedback.c: what each kind of returned mail is read as, one named
 * row per sample in tests/feedback/ (shapes Postfix, Gmail, Microsoft,
 * Yahoo and qmail send, written from RFC 3464, RFC 5965 and RFC 3834),
 * and the hostile messages that must be refused or read without harm.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "feedback.h"
#include "util.h"

#define T_VERP	"xgrwHeGlBhvoLSYY_01hECGuDAxbd-Hn6b9wEdU23pDsyA"
#define T_LINK	"gJhYD-PlqOs1PRwcGy8NFMecxIlEz7BWYA58DGl_Ebqp_Q"
#define T_MAIL	"sP9PSCrfMUJ1MgOoFOdyR7RIQpNEGasNGScasjGRNWfYng"
#define UNSUB	"unsubscribe@news.example.com"

/* One sample and what reading it must give. */
struct row {
	const char		*name;		/* reads as a sentence */
	const char		*file;
	const char		*rcpt;		/* the envelope recipient */
	enum feedback_kind	 kind;
	const char		*status;
	int			 bad_mailbox;
	const char		*feedback_type;
	const char		*reported;
	/* a token that must be among the candidates, and where */
	const char		*tok;
	enum feedback_where	 where;
	enum feedback_shape	 shape;
	size_t			 min_tokens;
};

static const struct row rows[] = {
	{ "a Postfix bounce for an unknown user is a hard bounce of a bad "
	  "mailbox, attributed by the return path", "postfix-5.1.1.eml",
	  NULL, FEEDBACK_BOUNCE, "5.1.1", 1, "", "nobody@example.org",
	  T_VERP, FEEDBACK_AT_HEADER, FEEDBACK_VERP, 2 },
	{ "a Postfix bounce also carries the link token of the quoted "
	  "headers", "postfix-5.1.1.eml", NULL, FEEDBACK_BOUNCE, "5.1.1", 1,
	  "", "nobody@example.org", T_LINK, FEEDBACK_AT_QUOTED,
	  FEEDBACK_LINK, 2 },
	{ "the envelope recipient given by the MTA is a candidate of its "
	  "own", "postfix-5.1.1.eml", "bounces+" T_VERP "@news.example.com",
	  FEEDBACK_BOUNCE, "5.1.1", 1, "", "nobody@example.org", T_VERP,
	  FEEDBACK_AT_RCPT, FEEDBACK_VERP, 2 },
	{ "Gmail's 550-5.1.1 with a folded diagnostic is a bad mailbox",
	  "gmail-5.1.1.eml", NULL, FEEDBACK_BOUNCE, "5.1.1", 1, "",
	  "nosuchuser@gmail.com", T_LINK, FEEDBACK_AT_QUOTED, FEEDBACK_LINK,
	  2 },
	{ "Microsoft's delay notice is a delay, never a bounce",
	  "exchange-delayed.eml", NULL, FEEDBACK_DELAY, "4.4.7", 0, "",
	  "someone@example.net", T_VERP, FEEDBACK_AT_HEADER, FEEDBACK_VERP,
	  2 },
	{ "a 5.7.1 policy refusal is a bounce that does not condemn the "
	  "mailbox", "policy-5.7.1.eml", NULL, FEEDBACK_BOUNCE, "5.7.1", 0,
	  "", "reader@example.net", T_VERP, FEEDBACK_AT_HEADER,
	  FEEDBACK_VERP, 1 },
	{ "Yahoo's ARF abuse report is a complaint, attributed through the "
	  "quoted List-Unsubscribe", "yahoo-arf.eml", NULL,
	  FEEDBACK_COMPLAINT, "", 0, "abuse", "<reader@yahoo.com>", T_LINK,
	  FEEDBACK_AT_QUOTED, FEEDBACK_LINK, 2 },
	{ "Microsoft's JMRP report is a complaint, attributed through the "
	  "quoted return path", "microsoft-jmrp.eml", NULL,
	  FEEDBACK_COMPLAINT, "", 0, "abuse", "someone@outlook.com", T_VERP,
	  FEEDBACK_AT_QUOTED, FEEDBACK_VERP, 1 },
	{ "an ARF not-spam report is no complaint", "arf-not-spam.eml",
	  NULL, FEEDBACK_OTHER, "", 0, "not-spam", "", T_VERP,
	  FEEDBACK_AT_QUOTED, FEEDBACK_VERP, 1 },
	{ "qmail's failure notice with (#5.1.1) is a hard bounce of a bad "
	  "mailbox", "qmail-failure.eml", NULL, FEEDBACK_BOUNCE, "5.1.1", 1,
	  "", "", T_LINK, FEEDBACK_AT_BODY, FEEDBACK_LINK, 2 },
	{ "a vacation notice to the return path is an auto-reply",
	  "vacation.eml", NULL, FEEDBACK_AUTO_REPLY, "", 0, "", "", T_VERP,
	  FEEDBACK_AT_HEADER, FEEDBACK_VERP, 1 },
	{ "a mail client's mailto: unsubscribe is an unsubscribe by its "
	  "subject's token", "mailto-unsubscribe.eml", UNSUB,
	  FEEDBACK_UNSUBSCRIBE, "", 0, "", "", T_MAIL, FEEDBACK_AT_SUBJECT,
	  FEEDBACK_BARE, 1 },
	{ "a token in the text of a mail to the unsubscribe address is an "
	  "unsubscribe", "mailto-body-only.eml", NULL, FEEDBACK_UNSUBSCRIBE,
	  "", 0, "", "", T_MAIL, FEEDBACK_AT_BODY, FEEDBACK_BARE, 1 },
	{ "a forged bounce without a token is read but carries nothing to "
	  "attribute it by", "forged-no-token.eml", NULL, FEEDBACK_BOUNCE,
	  "5.1.1", 1, "", "victim@example.org", NULL, 0, 0, 0 },
	{ "a success notice is nothing to act on", "success-dsn.eml", NULL,
	  FEEDBACK_OTHER, "2.0.0", 0, "", "reader@example.org", T_VERP,
	  FEEDBACK_AT_HEADER, FEEDBACK_VERP, 1 },
	{ "a reader's reply that quotes the link is nothing to act on",
	  "human-reply.eml", NULL, FEEDBACK_OTHER, "", 0, "", "", T_LINK,
	  FEEDBACK_AT_BODY, FEEDBACK_LINK, 1 },
	{ "an unknown charset does not hide a mailto: unsubscribe's token",
	  "invalid-charset.eml", UNSUB, FEEDBACK_UNSUBSCRIBE, "", 0, "", "",
	  T_MAIL, FEEDBACK_AT_SUBJECT, FEEDBACK_BARE, 1 },
};

/* The whole of a sample file. */
static char *
slurp(const char *name, size_t *len)
{
	char	 path[256], *data;
	FILE	*f;
	long	 n;

	snprintf(path, sizeof path, "tests/feedback/%s", name);
	cr_assert_not_null(f = fopen(path, "rb"), "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	data = xmalloc((size_t)n + 1);
	cr_assert_eq(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return data;
}

/* Whether tok is among the candidates, where and in the shape expected. */
static int
has_token(const struct feedback *fb, const struct row *r)
{
	size_t	 i;

	for (i = 0; i < fb->ntokens; i++)
		if (strcmp(fb->tokens[i].tok, r->tok) == 0)
			return fb->tokens[i].where == r->where &&
			    fb->tokens[i].shape == r->shape;
	return 0;
}

Test(feedback, samples)
{
	struct feedback			 fb;
	struct feedback_opts		 opts;
	const struct row		*r;
	char				*data, *cause = NULL;
	size_t				 i, len;

	for (i = 0; i < nitems(rows); i++) {
		r = &rows[i];
		data = slurp(r->file, &len);
		opts.rcpt = r->rcpt;
		opts.unsubscribe_addr = UNSUB;
		cr_assert_eq(feedback_parse(data, len, &opts, &fb, &cause), 0,
		    "%s: refused: %s", r->name, cause);
		cr_expect_eq(fb.kind, r->kind, "%s: kind %s, expected %s",
		    r->name, feedback_kind_name(fb.kind),
		    feedback_kind_name(r->kind));
		cr_expect_str_eq(fb.status, r->status, "%s: status", r->name);
		cr_expect_eq(fb.bad_mailbox, r->bad_mailbox, "%s: bad mailbox",
		    r->name);
		cr_expect_str_eq(fb.feedback_type, r->feedback_type,
		    "%s: feedback type", r->name);
		cr_expect_str_eq(fb.reported, r->reported, "%s: reported",
		    r->name);
		cr_expect_geq(fb.ntokens, r->min_tokens, "%s: %zu tokens",
		    r->name, fb.ntokens);
		if (r->tok != NULL)
			cr_expect(has_token(&fb, r), "%s: token %s not at %s",
			    r->name, r->tok, feedback_where_name(r->where));
		else
			cr_expect_eq(fb.ntokens, 0, "%s: tokens", r->name);
		free(data);
	}
}

Test(feedback, diagnostic_is_one_printable_line)
{
	struct feedback	 fb;
	char		*data;
	size_t		 len, i;

	data = slurp("gmail-5.1.1.eml", &len);
	cr_assert_eq(feedback_parse(data, len, NULL, &fb, NULL), 0);
	cr_assert(strncmp(fb.diagnostic, "smtp; 550-5.1.1 The email", 25) ==
	    0, "diagnostic: %s", fb.diagnostic);
	for (i = 0; fb.diagnostic[i] != '\0'; i++)
		cr_assert(fb.diagnostic[i] >= ' ' && fb.diagnostic[i] < 0x7f);
	free(data);
}

Test(feedback, refuses_a_message_over_the_size_limit)
{
	struct feedback	 fb;
	char		*cause = NULL;
	size_t		 len = FEEDBACK_MAX_BYTES + 1;
	char		*data = xmalloc(len);

	memset(data, 'a', len);
	memcpy(data, "Subject: x\n\n", 12);
	cr_assert_eq(feedback_parse(data, len, NULL, &fb, &cause), -1);
	cr_assert_not_null(strstr(cause, "over the limit"), "%s", cause);
	free(cause);
	free(data);
}

Test(feedback, refuses_message_rfc822_nested_a_thousand_deep)
{
	struct feedback	 fb;
	struct buf	 b;
	char		*cause = NULL;
	int		 i;

	buf_init(&b);
	for (i = 0; i < 1000; i++)
		buf_adds(&b, "From: a@example.org\r\n"
		    "Content-Type: message/rfc822\r\n\r\n");
	buf_adds(&b, "Subject: inner\r\n\r\nbody\r\n");
	cr_assert_eq(feedback_parse(b.data, b.len, NULL, &fb, &cause), -1);
	cr_assert_not_null(strstr(cause, "MIME containers"), "%s", cause);
	free(cause);
	buf_free(&b);
}

Test(feedback, reads_ten_thousand_parts_without_harm)
{
	struct feedback	 fb;
	struct buf	 b;
	int		 i;

	buf_init(&b);
	buf_adds(&b, "From: MAILER-DAEMON@x.example\r\nSubject: failure "
	    "notice\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; "
	    "boundary=zz\r\n\r\n");
	for (i = 0; i < 10000; i++)
		buf_printf(&b, "--zz\r\nContent-Type: text/plain\r\n\r\n"
		    "part %d 5.1.1\r\n", i);
	buf_adds(&b, "--zz--\r\n");
	cr_assert_eq(feedback_parse(b.data, b.len, NULL, &fb, NULL), 0);
	cr_assert_eq(fb.kind, FEEDBACK_BOUNCE);
	buf_free(&b);
}

Test(feedback, refuses_garbage_and_an_empty_message_by_name)
{
	struct feedback	 fb;
	unsigned char	 junk[4096];
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 7919u >> 3);
	cr_assert_eq(feedback_parse(junk, sizeof junk, NULL, &fb, &cause), -1);
	cr_assert_not_null(strstr(cause, "not an RFC 5322 message"), "%s",
	    cause);
	free(cause);
	cause = NULL;
	cr_assert_eq(feedback_parse("", 0, NULL, &fb, &cause), -1);
	cr_assert_not_null(strstr(cause, "empty"), "%s", cause);
	free(cause);
}

Test(feedback, a_dsn_with_many_recipients_keeps_the_worst)
{
	static const char	 msg[] =
	    "From: MAILER-DAEMON@x.example\r\n"
	    "Content-Type: multipart/report; report-type=delivery-status; "
	    "boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status"
	    "\r\n\r\nReporting-MTA: dns; x.example\r\n\r\n"
	    "Final-Recipient: rfc822; a@x.example\r\nAction: delayed\r\n"
	    "Status: 4.2.2\r\n\r\n"
	    "Final-Recipient: rfc822; b@x.example\r\nAction: failed\r\n"
	    "Status: 5.1.1\r\n\r\n"
	    "Final-Recipient: rfc822; c@x.example\r\nAction: delayed\r\n"
	    "Status: 4.4.1\r\n\r\n--b--\r\n";
	struct feedback		 fb;

	cr_assert_eq(feedback_parse(msg, sizeof msg - 1, NULL, &fb, NULL), 0);
	cr_assert_eq(fb.kind, FEEDBACK_BOUNCE);
	cr_assert_str_eq(fb.reported, "b@x.example");
	cr_assert_str_eq(fb.status, "5.1.1");
}

Test(feedback, return_path_puts_the_token_after_the_local_part)
{
	static const struct {
		const char	*name;
		const char	*rp;
		int		 rc;
		const char	*want;		/* address, or part of the cause */
	} cases[] = {
		{ "a plain address gets +TOKEN", "bounces@news.example.com", 0,
		  "bounces+" T_VERP "@news.example.com" },
		{ "an address with a + of its own is refused",
		  "bounces+x@news.example.com", -1, "has '+'" },
		{ "no @ is refused", "bounces", -1, "not an address" },
		{ "an empty local part is refused", "@news.example.com", -1,
		  "not an address" },
		{ "a space is refused", "boun ces@news.example.com", -1,
		  "offset 4" },
		{ "a local part too long for +TOKEN is refused",
		  "abcdefghijabcdefghij@news.example.com", -1, "over RFC "
		  "5321's 64" },
	};
	char	 out[256], *cause;
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		cause = NULL;
		cr_expect_eq(feedback_return_path(cases[i].rp, T_VERP, out,
		    sizeof out, &cause), cases[i].rc, "%s", cases[i].name);
		if (cases[i].rc == 0)
			cr_expect_str_eq(out, cases[i].want, "%s",
			    cases[i].name);
		else
			cr_expect(cause != NULL && strstr(cause, cases[i].want)
			    != NULL, "%s: %s", cases[i].name, cause);
		free(cause);
	}
}
