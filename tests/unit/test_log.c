/*
 * test_log.c: a logged value cannot end its line or forge another.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "log.h"

struct log_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*want;
};

static const struct log_case log_cases[] = {
	{ "plain text is kept", "campaign c1 queued", 0,
	    "campaign c1 queued" },
	{ "CR and LF cannot start a forged line",
	    "x\r\nerror: forged", 0, "x\\r\\nerror: forged" },
	{ "a tab and an escape sequence are visible", "a\tb\x1b[2J", 0,
	    "a\\tb\\x1b[2J" },
	{ "NUL does not cut the message short", "a\0b", 3, "a\\x00b" },
	{ "DEL is escaped", "a\x7f", 0, "a\\x7f" },
	{ "a backslash is doubled so escapes stay unambiguous", "a\\nb", 0,
	    "a\\\\nb" },
	{ "valid UTF-8 is kept", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
	    0, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7" },
	{ "a C1 control (NEL) is escaped", "a\xc2\x85" "b", 0, "a\\u0085b" },
	{ "the Unicode line separator is escaped", "a\xe2\x80\xa8", 0,
	    "a\\u2028" },
	{ "a lone continuation byte is escaped", "a\x80" "b", 0,
	    "a\\x80b" },
	{ "an overlong slash is escaped byte by byte", "\xc0\xaf", 0,
	    "\\xc0\\xaf" },
	{ "an overlong newline is escaped", "\xe0\x80\x8a", 0,
	    "\\xe0\\x80\\x8a" },
	{ "a UTF-16 surrogate is not UTF-8", "\xed\xa0\x80", 0,
	    "\\xed\\xa0\\x80" },
	{ "beyond U+10FFFF is not UTF-8", "\xf4\x90\x80\x80", 0,
	    "\\xf4\\x90\\x80\\x80" },
	{ "a sequence cut by the end is escaped", "ab\xe2\x82", 0,
	    "ab\\xe2\\x82" },
	{ "libxml2's Latin-1 in a message is escaped", "bad name 'g\xe9'",
	    0, "bad name 'g\\xe9'" },
};

Test(log, escape_table)
{
	char	 out[256];
	size_t	 i, len, n;

	for (i = 0; i < sizeof log_cases / sizeof log_cases[0]; i++) {
		len = log_cases[i].len != 0 ? log_cases[i].len :
		    strlen(log_cases[i].in);
		n = log_escape(log_cases[i].in, len, out, sizeof out);
		cr_expect_str_eq(out, log_cases[i].want, "%s",
		    log_cases[i].name);
		cr_expect_eq(n, strlen(log_cases[i].want), "%s: length",
		    log_cases[i].name);
	}
}

Test(log, escape_never_cuts_an_escape_in_half)
{
	char	 out[6];

	/* "ab\r" needs 4 bytes and a NUL; "\x01" would need 4 more. */
	cr_expect_eq(log_escape("ab\r\x01", 4, out, sizeof out), 4);
	cr_expect_str_eq(out, "ab\\r");
	cr_expect_eq(log_escape("x", 1, out, 1), 0);
	cr_expect_str_eq(out, "");
}

Test(log, a_forged_line_stays_one_line, .init = cr_redirect_stderr)
{
	log_init(LOG_LVL_DEBUG, "test");
	log_warnx("control: unsubscribe list=%s",
	    "x\r\nerror: forged by a client");
	log_info("value %s", "\xff\xfe");
	fflush(stderr);
	cr_expect_stderr_eq_str(
	    "warn: control: unsubscribe list=x\\r\\nerror: forged by a client\n"
	    "info: value \\xff\\xfe\n");
}
