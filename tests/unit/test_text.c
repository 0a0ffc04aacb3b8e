/*
 * test_text.c: the one copy of trimming, HTML escaping and the clean-text
 * check, one row per situation.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "text.h"
#include "util.h"

Test(text, trim)
{
	static const struct {
		const char	*in, *out;
	} rows[] = {
		{ "", "" },
		{ "   ", "" },
		{ "a", "a" },
		{ "  a b  ", "a b" },
		{ "\t\r\na\n", "a" },
	};
	char	*s;
	size_t	 i;

	for (i = 0; i < nitems(rows); i++) {
		s = xstrdup(rows[i].in);
		cr_assert_str_eq(text_trim(s), rows[i].out, "row %zu", i);
		free(s);
	}
}

Test(text, trim_span)
{
	const char	*s = " \t a b \n", *a = s;
	size_t		 n = strlen(s);

	text_trim_span(&a, &n);
	cr_assert_eq(n, 3);
	cr_assert_eq(strncmp(a, "a b", n), 0);
	a = "   ";
	n = 3;
	text_trim_span(&a, &n);
	cr_assert_eq(n, 0);
}

Test(text, html_escape)
{
	struct buf	 b;

	buf_init(&b);
	text_html_escape(&b, "<a href=\"x\">Tom & Jerry's</a>");
	cr_assert_str_eq(b.data,
	    "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;");
	buf_reset(&b);
	text_html_escape(&b, "");
	cr_assert_eq(b.len, 0);
	text_html_escape(&b, "caf\xc3\xa9");
	cr_assert_str_eq(b.data, "caf\xc3\xa9", "UTF-8 passes unchanged");
	buf_free(&b);
}

/* One row: the bytes, what is allowed, and whether they pass. */
struct check_row {
	const char	*name;
	const char	*s;
	size_t		 len;
	enum text_allow	 allow;
	int		 ok;
	const char	*why;
};

#define R(n, s, a, ok, why)	{ n, s, sizeof(s) - 1, a, ok, why }

Test(text, check)
{
	static const struct check_row rows[] = {
		R("plain ASCII passes", "list", TEXT_LINE, 1, NULL),
		R("empty passes", "", TEXT_LINE, 1, NULL),
		R("UTF-8 passes", "Gr\xc3\xbc\xc3\x9f\x65 \xe2\x82\xac \xf0\x9f\x98\x80",
		    TEXT_LINE, 1, NULL),
		R("NUL is a control", "list\0x", TEXT_LINE, 0,
		    "a control character"),
		R("LF is refused on one line", "a\nb", TEXT_LINE, 0,
		    "a control character"),
		R("LF passes in multi-line text", "a\r\nb\tc", TEXT_MULTILINE,
		    1, NULL),
		R("NUL is refused in multi-line text", "a\0b", TEXT_MULTILINE,
		    0, "a control character"),
		R("ESC is refused in multi-line text", "a\x1b[2J",
		    TEXT_MULTILINE, 0, "a control character"),
		R("DEL is a control", "a\x7f", TEXT_MULTILINE, 0,
		    "a control character"),
		R("C1 NEL (U+0085) is a control", "a\xc2\x85", TEXT_MULTILINE,
		    0, "a control character"),
		R("C1 U+009F is a control", "\xc2\x9f", TEXT_LINE, 0,
		    "a control character"),
		R("U+00A0 is not a control", "\xc2\xa0", TEXT_LINE, 1, NULL),
		R("a lone continuation byte is invalid", "a\x85", TEXT_LINE,
		    0, "invalid UTF-8"),
		R("Latin-1 is invalid UTF-8", "caf\xe9", TEXT_LINE, 0,
		    "invalid UTF-8"),
		R("a truncated sequence is invalid", "\xe2\x82", TEXT_LINE, 0,
		    "invalid UTF-8"),
		R("an overlong NUL is invalid", "\xc0\x80", TEXT_LINE, 0,
		    "invalid UTF-8"),
		R("an overlong slash is invalid", "\xe0\x80\xaf", TEXT_LINE, 0,
		    "invalid UTF-8"),
		R("a surrogate is invalid", "\xed\xa0\x80", TEXT_LINE, 0,
		    "invalid UTF-8"),
		R("above U+10FFFF is invalid", "\xf4\x90\x80\x80", TEXT_LINE,
		    0, "invalid UTF-8"),
		R("0xFF is invalid", "\xff", TEXT_LINE, 0, "invalid UTF-8"),
	};
	const char	*why;
	size_t		 i;
	int		 rc;

	for (i = 0; i < nitems(rows); i++) {
		why = NULL;
		rc = text_check(rows[i].s, rows[i].len, rows[i].allow, &why);
		cr_assert_eq(rc, rows[i].ok ? 0 : -1, "%s", rows[i].name);
		if (!rows[i].ok)
			cr_assert_str_eq(why, rows[i].why, "%s", rows[i].name);
		cr_assert_eq(text_check(rows[i].s, rows[i].len, rows[i].allow,
		    NULL), rc, "%s (no why)", rows[i].name);
	}
}
