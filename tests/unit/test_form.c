/*
 * test_form.c: form_parse() on its own: the fields a caller names, the
 * urlencoded decoding, and the refusal of values that are not clean text
 * (issue 14: "choice=list%00" was taken for "list").
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "form.h"
#include "util.h"

#define URLENC	"application/x-www-form-urlencoded"
#define MP	"multipart/form-data; boundary=XyZ"

/* Parse body with the two page fields; 0 or -1, values in f[]. */
static int
parse(const char *ctype, const char *body, size_t len, struct form_field *f)
{
	char	*cause = NULL;
	int	 rc;

	f[0].name = "List-Unsubscribe";
	f[1].name = "choice";
	rc = form_parse(ctype, body, len, f, 2, &cause);
	if (rc == -1) {
		cr_assert_not_null(cause);
		cr_assert_null(f[0].value);
		cr_assert_null(f[1].value);
	} else
		cr_assert_null(cause);
	free(cause);
	return rc;
}

/* A multipart body with one part named name holding v (vlen bytes). */
static char *
multipart(const char *name, const char *v, size_t vlen, size_t *len)
{
	struct buf	 b;

	buf_init(&b);
	buf_printf(&b, "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"%s\"\r\n\r\n", name);
	buf_add(&b, v, vlen);
	buf_adds(&b, "\r\n--XyZ--\r\n");
	return buf_steal(&b, len);
}

/* One row: a field value, as urlencoded text and as raw bytes. */
struct value_row {
	const char	*name;
	const char	*encoded;	/* urlencoded value of "choice" */
	const char	*raw;		/* the same bytes, for multipart */
	size_t		 rawlen;
	int		 ok;
};

#define V(n, e, r, ok)	{ n, e, r, sizeof(r) - 1, ok }

static const struct value_row value_rows[] = {
	V("a plain choice is kept", "list", "list", 1),
	V("an escaped dash is decoded", "undo%2Dall", "undo-all", 1),
	V("UTF-8 is kept", "caf%C3%A9", "caf\xc3\xa9", 1),
	V("a NUL at the end refuses the form", "list%00", "list\0", 0),
	V("a NUL in the middle refuses the form", "list%00x", "list\0x", 0),
	V("a line feed refuses the form", "list%0A", "list\n", 0),
	V("a carriage return refuses the form", "list%0D", "list\r", 0),
	V("a tab refuses the form", "li%09st", "li\tst", 0),
	V("an escape character refuses the form", "%1B", "\x1b", 0),
	V("DEL refuses the form", "list%7F", "list\x7f", 0),
	V("a C1 control (U+0085) refuses the form", "list%C2%85",
	    "list\xc2\x85", 0),
	V("invalid UTF-8 refuses the form", "caf%E9", "caf\xe9", 0),
	V("an overlong NUL refuses the form", "list%C0%80", "list\xc0\x80",
	    0),
};

Test(form, values_urlencoded)
{
	struct form_field	 f[2];
	char			*body;
	size_t			 i;

	for (i = 0; i < nitems(value_rows); i++) {
		xasprintf(&body, "choice=%s", value_rows[i].encoded);
		cr_assert_eq(parse(URLENC, body, strlen(body), f),
		    value_rows[i].ok ? 0 : -1, "%s", value_rows[i].name);
		if (value_rows[i].ok)
			cr_assert_str_eq(f[1].value, value_rows[i].raw, "%s",
			    value_rows[i].name);
		form_free(f, 2);
		free(body);
	}
}

Test(form, values_multipart)
{
	struct form_field	 f[2];
	char			*body;
	size_t			 i, len;

	for (i = 0; i < nitems(value_rows); i++) {
		/* Multipart carries CR and LF only around the value. */
		if (strchr(value_rows[i].raw, '\r') != NULL ||
		    strchr(value_rows[i].raw, '\n') != NULL)
			continue;
		body = multipart("choice", value_rows[i].raw,
		    value_rows[i].rawlen, &len);
		cr_assert_eq(parse(MP, body, len, f),
		    value_rows[i].ok ? 0 : -1, "%s (multipart)",
		    value_rows[i].name);
		form_free(f, 2);
		free(body);
	}
}

Test(form, one_click_with_nul_is_refused)
{
	struct form_field	 f[2];

	cr_assert_eq(parse(URLENC, "List-Unsubscribe=One-Click%00",
	    strlen("List-Unsubscribe=One-Click%00"), f), -1);
	cr_assert_eq(parse(URLENC, "List-Unsubscribe=One-Click%00&choice=all",
	    strlen("List-Unsubscribe=One-Click%00&choice=all"), f), -1,
	    "one bad field refuses the whole form");
}

Test(form, fields_not_wanted_are_skipped_even_with_controls)
{
	struct form_field	 f[2];
	size_t			 len;
	char			*body;

	cr_assert_eq(parse(URLENC, "x=a%00b&choice=all",
	    strlen("x=a%00b&choice=all"), f), 0);
	cr_assert_str_eq(f[1].value, "all");
	form_free(f, 2);
	/* A file part may hold anything. */
	body = multipart("file", "\0\x01\xff", 3, &len);
	cr_assert_eq(parse(MP, body, len, f), 0);
	cr_assert_null(f[1].value);
	free(body);
}

Test(form, urlencoded_shapes)
{
	static const struct {
		const char	*name, *body;
		int		 ok;
		const char	*choice;
	} rows[] = {
		{ "a plus is a space", "choice=a+b", 1, "a b" },
		{ "the first of two values counts", "choice=all&choice=list", 1,
		    "all" },
		{ "an escaped name is decoded", "cho%69ce=list", 1, "list" },
		{ "names match without case", "CHOICE=list", 1, "list" },
		{ "an empty value is kept", "choice=", 1, "" },
		{ "a trailing & is harmless", "choice=all&", 1, "all" },
		{ "a name with a NUL is another name", "choice%00=list", 1,
		    NULL },
		{ "an empty pair is refused", "choice=all&&x=1", 0, NULL },
		{ "a pair without '=' is refused", "choice", 0, NULL },
		{ "a pair without a name is refused", "=list", 0, NULL },
		{ "a short escape is refused", "choice=list%4", 0, NULL },
		{ "a bad escape is refused", "choice=%zz", 0, NULL },
		{ "a lone % is refused", "choice=%", 0, NULL },
	};
	struct form_field	 f[2];
	size_t			 i;

	for (i = 0; i < nitems(rows); i++) {
		cr_assert_eq(parse(URLENC, rows[i].body, strlen(rows[i].body),
		    f), rows[i].ok ? 0 : -1, "%s", rows[i].name);
		if (rows[i].choice != NULL)
			cr_assert_str_eq(f[1].value, rows[i].choice, "%s",
			    rows[i].name);
		else
			cr_assert_null(f[1].value, "%s", rows[i].name);
		form_free(f, 2);
	}
}
