/*
 * test_smtp_reply.c: what each SMTP answer means for a job.
 */
#include <criterion/criterion.h>

#include "smtp_reply.h"

struct row {
	const char		*name;
	long			 code;
	const char		*line;
	enum smtp_reply_verdict	 want;
};

static const struct row rows[] = {
	{ "a 250 after DATA is sent", 250, "250 2.0.0 Ok: queued", SMTP_REPLY_SENT },
	{ "no reply at all (connection refused) is retried", 0, NULL,
	    SMTP_REPLY_RETRY },
	{ "a 421 is retried", 421, "421 4.3.2 shutting down", SMTP_REPLY_RETRY },
	{ "a 451 greylisting answer is retried", 451,
	    "451 4.7.1 Try again later", SMTP_REPLY_RETRY },
	{ "a 452 (insufficient storage) is retried", 452,
	    "452 4.2.2 Mailbox full", SMTP_REPLY_RETRY },
	{ "5.1.1 bad mailbox bounces (suppress)", 550,
	    "550 5.1.1 <a@b.c>: Recipient address rejected: User unknown",
	    SMTP_REPLY_BOUNCED },
	{ "5.1.2 bad domain bounces", 550, "550 5.1.2 Host unknown",
	    SMTP_REPLY_BOUNCED },
	{ "5.1.10 null MX bounces", 556, "556 5.1.10 Recipient address has "
	    "null MX", SMTP_REPLY_BOUNCED },
	{ "a multi-line reply's enhanced code counts", 550,
	    "550-5.1.1 The email account that you tried to reach does not "
	    "exist", SMTP_REPLY_BOUNCED },
	{ "a plain 550 user unknown bounces", 550, "550 User unknown",
	    SMTP_REPLY_BOUNCED },
	{ "a plain 550 no such user bounces", 550, "550 No such user here",
	    SMTP_REPLY_BOUNCED },
	{ "5.7.1 policy rejection fails only this message", 554,
	    "554 5.7.1 rejected content", SMTP_REPLY_FAILED },
	{ "a 550 spam rejection with 5.7.1 does not suppress", 550,
	    "550 5.7.1 Message rejected as spam: user unknown sender",
	    SMTP_REPLY_FAILED },
	{ "a plain 554 fails", 554, "554 Transaction failed", SMTP_REPLY_FAILED },
	{ "a 5xx without text fails", 552, NULL, SMTP_REPLY_FAILED },
	{ "5.2.2 mailbox full (permanent) fails without suppressing", 552,
	    "552 5.2.2 Mailbox full", SMTP_REPLY_FAILED },
};

Test(reply, each_answer_maps_to_its_verdict)
{
	size_t	 i;

	for (i = 0; i < sizeof rows / sizeof rows[0]; i++)
		cr_expect_eq(smtp_reply_classify(rows[i].code, rows[i].line),
		    rows[i].want, "%s", rows[i].name);
}

Test(reply, the_enhanced_code_is_read_from_the_line)
{
	char	 e[16];

	smtp_reply_enhanced("550 5.1.1 nope", e, sizeof e);
	cr_expect_str_eq(e, "5.1.1");
	smtp_reply_enhanced("451-4.7.1 later", e, sizeof e);
	cr_expect_str_eq(e, "4.7.1");
	smtp_reply_enhanced("550 5.1.10 null MX", e, sizeof e);
	cr_expect_str_eq(e, "5.1.10");
	smtp_reply_enhanced("550 User unknown", e, sizeof e);
	cr_expect_str_eq(e, "");
	smtp_reply_enhanced("550 5.1 broken", e, sizeof e);
	cr_expect_str_eq(e, "");
	smtp_reply_enhanced("550 5.1.1x", e, sizeof e);
	cr_expect_str_eq(e, "");
	smtp_reply_enhanced(NULL, e, sizeof e);
	cr_expect_str_eq(e, "");
}
