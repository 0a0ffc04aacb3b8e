/*
 * test_message.c: rendering a campaign message for one recipient.
 *
 * The tests read the rendered message back with a small MIME reader of
 * their own (header unfolding, RFC 2047 "B" words, quoted-printable), so
 * they check what a mail client would see, not how the bytes are laid.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "campaign.h"
#include "message.h"
#include "util.h"

#define T_DATE		INT64_C(1795424400)	/* 2026-11-23T09:00:00Z */
#define UNSUB_URL	"https://news.example.com/u/TOKEN123"
#define MAX_HEADERS	64

/* A campaign with both parts; tests change what they need. */
static struct campaign *
test_campaign(const char *text, const char *html)
{
	struct campaign	*c = xcalloc(1, sizeof *c);

	c->id = xstrdup("nov-update");
	c->list = xstrdup("news.example.com");
	c->from_addr = xstrdup("news@example.com");
	c->from_name = xstrdup("Example Shop");
	c->subject = xstrdup("Our November update");
	c->text = text != NULL ? xstrdup(text) : NULL;
	c->html = html != NULL ? xstrdup(html) : NULL;
	c->nrecipients = 1;
	return c;
}

/* Replace a string field. */
static void
set_str(char **field, const char *v)
{
	free(*field);
	*field = v != NULL ? xstrdup(v) : NULL;
}

/* The usual input for one recipient. */
static struct message_in
test_in(const struct campaign *c, const char *addr, const char *name)
{
	struct message_in	 in;

	memset(&in, 0, sizeof in);
	in.campaign = c;
	in.to_addr = addr;
	in.to_name = name;
	in.unsub_url = UNSUB_URL;
	in.hostname = "mx.example.com";
	in.date = T_DATE;
	return in;
}

/* Render, asserting success; the caller frees the result. */
static char *
render(const struct message_in *in, size_t *lenp)
{
	struct buf	 b;
	char		*cause = NULL;

	buf_init(&b);
	if (message_render(in, &b, &cause) != 0)
		cr_assert_fail("message_render failed: %s", cause);
	return buf_steal(&b, lenp);
}

/* --- A small MIME reader ------------------------------------------- */

struct header {
	char	*name;
	char	*raw;		/* unfolded, encoded words still encoded */
	char	*value;		/* unfolded and decoded */
};

struct msg {
	struct header	 h[MAX_HEADERS];
	size_t		 nh;
	const char	*body;	/* after the blank line */
	size_t		 bodylen;
};

static int
b64val(int c)
{
	const char	*tab = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwx"
	    "yz0123456789+/";
	const char	*p;

	if (c == '\0' || (p = strchr(tab, c)) == NULL)
		return -1;
	return (int)(p - tab);
}

/* Decode base64 (with padding); -1 on a bad character. */
static int
b64_decode(const char *s, size_t len, struct buf *out)
{
	size_t		 i;
	uint32_t	 v = 0;
	int		 bits = 0, d;

	for (i = 0; i < len; i++) {
		if (s[i] == '=')
			break;
		if ((d = b64val((unsigned char)s[i])) == -1)
			return -1;
		v = (v << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf_addc(out, (char)((v >> bits) & 0xff));
		}
	}
	return 0;
}

/* Is s[0..len) whole, valid UTF-8 (no character cut in two)? */
static int
utf8_whole(const unsigned char *s, size_t len)
{
	size_t	 i = 0, k, n;

	while (i < len) {
		if (s[i] < 0x80)
			n = 1;
		else if ((s[i] & 0xe0) == 0xc0)
			n = 2;
		else if ((s[i] & 0xf0) == 0xe0)
			n = 3;
		else if ((s[i] & 0xf8) == 0xf0)
			n = 4;
		else
			return 0;
		if (i + n > len)
			return 0;
		for (k = 1; k < n; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
		i += n;
	}
	return 1;
}

/*
 * Decode RFC 2047 "B" encoded-words in an unfolded value; white space
 * between two adjacent encoded-words is dropped.  Every word must hold
 * whole UTF-8 characters.
 */
static char *
ew_decode(const char *s)
{
	struct buf	 out, ws;
	const char	*p = s, *end;
	int		 prev_ew = 0;

	buf_init(&out);
	buf_init(&ws);
	buf_add(&out, "", 0);
	while (*p != '\0') {
		if (strncmp(p, "=?UTF-8?B?", 10) == 0 &&
		    (end = strstr(p + 10, "?=")) != NULL) {
			size_t	 before = out.len;

			if (!prev_ew)
				buf_add(&out, ws.data, ws.len);
			buf_reset(&ws);
			cr_assert_eq(b64_decode(p + 10, (size_t)(end - p - 10),
			    &out), 0, "bad base64 in %s", s);
			cr_expect(utf8_whole((unsigned char *)out.data +
			    before, out.len - before),
			    "an encoded-word splits a UTF-8 character: %.*s",
			    (int)(end + 2 - p), p);
			cr_expect_leq(end + 2 - p, 75, "encoded-word longer "
			    "than 75 characters");
			p = end + 2;
			prev_ew = 1;
			continue;
		}
		if (*p == ' ' || *p == '\t') {
			buf_addc(&ws, *p++);
			continue;
		}
		buf_add(&out, ws.data, ws.len);
		buf_reset(&ws);
		buf_addc(&out, *p++);
		prev_ew = 0;
	}
	buf_add(&out, ws.data, ws.len);
	buf_free(&ws);
	return buf_steal(&out, NULL);
}

/*
 * Check the line discipline: CRLF only, no line over `max` octets, and
 * (if `final`) a CRLF at the end.
 */
static void
check_lines_end(const char *what, const char *s, size_t len, size_t max,
    int final)
{
	size_t	 i, col = 0, line = 1;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			cr_assert(i + 1 < len && s[i + 1] == '\n',
			    "%s: bare CR at line %zu", what, line);
			continue;
		}
		if (s[i] == '\n') {
			cr_assert(i > 0 && s[i - 1] == '\r',
			    "%s: bare LF at line %zu", what, line);
			col = 0;
			line++;
			continue;
		}
		cr_assert(s[i] != '\0', "%s: NUL at line %zu", what, line);
		if (++col > max)
			cr_assert_fail("%s: line %zu longer than %zu octets",
			    what, line, max);
	}
	if (final)
		cr_assert(len >= 2 && s[len - 2] == '\r' &&
		    s[len - 1] == '\n', "%s: does not end with CRLF", what);
}

static void
check_lines(const char *what, const char *s, size_t len, size_t max)
{
	check_lines_end(what, s, len, max, 1);
}

/* Split a message (or a MIME part) into unfolded headers and body. */
static void
msg_parse(const char *s, size_t len, struct msg *m)
{
	const char	*p = s, *end = s + len, *eol;
	struct header	*h = NULL;

	memset(m, 0, sizeof *m);
	while (p < end) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		cr_assert_not_null(eol, "header without CRLF");
		if (eol == p) {
			m->body = eol + 2;
			m->bodylen = (size_t)(end - m->body);
			break;
		}
		if (*p == ' ' || *p == '\t') {
			size_t	 n;

			cr_assert_not_null(h, "continuation line first");
			/* Unfolding removes only the CRLF. */
			n = strlen(h->raw);
			h->raw = xrealloc(h->raw, n + (size_t)(eol - p) + 1);
			memcpy(h->raw + n, p, (size_t)(eol - p));
			h->raw[n + (size_t)(eol - p)] = '\0';
		} else {
			const char	*colon = memchr(p, ':', (size_t)(eol - p));

			cr_assert_not_null(colon, "header line without a colon: "
			    "%.*s", (int)(eol - p), p);
			cr_assert_lt(m->nh, MAX_HEADERS);
			h = &m->h[m->nh++];
			h->name = xstrndup(p, (size_t)(colon - p));
			p = colon + 1;
			while (p < eol && *p == ' ')
				p++;
			h->raw = xstrndup(p, (size_t)(eol - p));
		}
		p = eol + 2;
	}
	cr_assert_not_null(m->body, "no blank line after the headers");
	for (size_t i = 0; i < m->nh; i++)
		m->h[i].value = ew_decode(m->h[i].raw);
}

static void
msg_free(struct msg *m)
{
	size_t	 i;

	for (i = 0; i < m->nh; i++) {
		free(m->h[i].name);
		free(m->h[i].raw);
		free(m->h[i].value);
	}
}

/* The one header of that name (case-insensitive), or NULL. */
static struct header *
msg_header(struct msg *m, const char *name)
{
	struct header	*found = NULL;
	size_t		 i;

	for (i = 0; i < m->nh; i++) {
		if (strcasecmp(m->h[i].name, name) != 0)
			continue;
		cr_expect_null(found, "header %s appears twice", name);
		found = &m->h[i];
	}
	return found;
}

/* The decoded value of a header that must be present. */
static const char *
msg_value(struct msg *m, const char *name)
{
	struct header	*h = msg_header(m, name);

	cr_assert_not_null(h, "no %s header", name);
	return h->value;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode quoted-printable, checking what RFC 2045 demands of an
 * encoder: lines of at most 76, upper-case hex, no trailing white space.
 */
static char *
qp_decode(const char *s, size_t len, size_t *outlen)
{
	struct buf	 out;
	size_t		 i, col = 0;
	int		 hi, lo;

	buf_init(&out);
	buf_add(&out, "", 0);
	for (i = 0; i < len; i++) {
		if (s[i] == '\r') {
			cr_assert(i + 1 < len && s[i + 1] == '\n', "bare CR");
			cr_expect(i == 0 || (s[i - 1] != ' ' &&
			    s[i - 1] != '\t'), "trailing white space in QP");
			buf_add(&out, "\r\n", 2);
			i++;
			col = 0;
			continue;
		}
		cr_assert(s[i] != '\n', "bare LF in QP");
		if (s[i] == '=') {
			if (i + 2 < len && s[i + 1] == '\r' &&
			    s[i + 2] == '\n') {
				i += 2;		/* soft line break */
				col = 0;
				continue;
			}
			cr_assert(i + 2 < len, "truncated =XX");
			hi = hexval((unsigned char)s[i + 1]);
			lo = hexval((unsigned char)s[i + 2]);
			cr_assert(hi >= 0 && lo >= 0, "bad escape =%c%c",
			    s[i + 1], s[i + 2]);
			buf_addc(&out, (char)(hi << 4 | lo));
			i += 2;
			col += 3;
		} else {
			cr_assert(((unsigned char)s[i] >= 32 &&
			    (unsigned char)s[i] <= 126) || s[i] == '\t',
			    "unencoded byte 0x%02x in QP",
			    (unsigned char)s[i]);
			buf_addc(&out, s[i]);
			col++;
		}
		cr_assert_leq(col, 76, "QP line longer than 76");
	}
	return buf_steal(&out, outlen);
}

/* Line ends of any kind to CRLF, as the encoder promises. */
static char *
crlf(const char *s)
{
	struct buf	 out;

	buf_init(&out);
	buf_add(&out, "", 0);
	for (; *s != '\0'; s++) {
		if (*s == '\r' || *s == '\n') {
			if (*s == '\r' && s[1] == '\n')
				s++;
			buf_add(&out, "\r\n", 2);
		} else
			buf_addc(&out, *s);
	}
	return buf_steal(&out, NULL);
}

/* A part's decoded body, its content type and the part count. */
struct parts {
	size_t	 n;
	char	*type[2];
	char	*body[2];
};

/* The parameter `boundary` of a multipart Content-Type. */
static char *
boundary_of(const char *ct)
{
	const char	*p = strstr(ct, "boundary=\""), *e;

	cr_assert_not_null(p, "no boundary in %s", ct);
	p += 10;
	e = strchr(p, '"');
	cr_assert_not_null(e);
	return xstrndup(p, (size_t)(e - p));
}

/* Read one leaf part: check its headers and decode its body. */
static void
leaf(const char *s, size_t len, struct parts *ps)
{
	struct msg	 m;
	const char	*ct, *cte;
	char		*body;
	size_t		 blen;

	msg_parse(s, len, &m);
	ct = msg_value(&m, "Content-Type");
	cte = msg_value(&m, "Content-Transfer-Encoding");
	cr_assert_lt(ps->n, 2, "more than two parts");
	cr_expect(strstr(ct, "charset=UTF-8") != NULL, "%s", ct);
	cr_expect_str_eq(cte, "quoted-printable");
	ps->type[ps->n] = xstrndup(ct, strcspn(ct, ";"));
	body = qp_decode(m.body, m.bodylen, &blen);
	ps->body[ps->n++] = body;
	msg_free(&m);
}

/* Split a rendered message into its one or two decoded parts. */
static void
parts_of(struct msg *m, struct parts *ps)
{
	const char	*ct = msg_value(m, "Content-Type");
	const char	*p, *next, *end;
	char		*b, *delim;
	size_t		 dlen;

	memset(ps, 0, sizeof *ps);
	if (strncmp(ct, "multipart/", 10) != 0) {
		/* The whole message is the part; reparse with its headers. */
		struct buf	 tmp;

		buf_init(&tmp);
		buf_printf(&tmp, "Content-Type: %s\r\n"
		    "Content-Transfer-Encoding: %s\r\n\r\n", ct,
		    msg_value(m, "Content-Transfer-Encoding"));
		buf_add(&tmp, m->body, m->bodylen);
		/* The message's last CRLF ends the body's last line. */
		cr_assert(tmp.len >= 2 && tmp.data[tmp.len - 1] == '\n');
		tmp.len -= 2;
		leaf(tmp.data, tmp.len, ps);
		buf_free(&tmp);
		return;
	}
	cr_expect(strncmp(ct, "multipart/alternative", 21) == 0, "%s", ct);
	b = boundary_of(ct);
	xasprintf(&delim, "\r\n--%s", b);
	dlen = strlen(delim);
	end = m->body + m->bodylen;
	/* The preamble ends at the first delimiter (at a line start). */
	p = memmem(m->body - 2, (size_t)(end - m->body + 2), delim, dlen);
	cr_assert_not_null(p, "no first boundary");
	for (;;) {
		p += dlen;
		if (p[0] == '-' && p[1] == '-')
			break;		/* close delimiter */
		cr_assert(p[0] == '\r' && p[1] == '\n');
		p += 2;
		next = memmem(p, (size_t)(end - p), delim, dlen);
		cr_assert_not_null(next, "part without a closing boundary");
		leaf(p, (size_t)(next - p), ps);
		p = next;
	}
	free(delim);
	free(b);
}

static void
parts_free(struct parts *ps)
{
	size_t	 i;

	for (i = 0; i < ps->n; i++) {
		free(ps->type[i]);
		free(ps->body[i]);
	}
}

/* Render and read back; the caller frees both. */
static char *
render_parse(const struct message_in *in, struct msg *m, size_t *lenp)
{
	size_t	 len;
	char	*s = render(in, &len);

	check_lines("message", s, len, 998);
	msg_parse(s, len, m);
	if (lenp != NULL)
		*lenp = len;
	return s;
}

/* --- Headers --------------------------------------------------------- */

Test(message, has_every_header_a_list_message_needs)
{
	struct campaign		*c = test_campaign("Hi {{name}}",
	    "<p>Hi {{name}}</p>");
	struct message_in	 in = test_in(c, "alice@example.org", "Alice");
	struct msg		 m;
	char			*s, mid[MESSAGE_ID_MAX];

	s = render_parse(&in, &m, NULL);
	cr_expect_str_eq(msg_value(&m, "From"),
	    "\"Example Shop\" <news@example.com>");
	cr_expect_str_eq(msg_value(&m, "To"), "\"Alice\" <alice@example.org>");
	cr_expect_str_eq(msg_value(&m, "Subject"), "Our November update");
	cr_expect_str_eq(msg_value(&m, "Date"),
	    "Mon, 23 Nov 2026 09:00:00 +0000");
	message_id("nov-update", "alice@example.org", "mx.example.com", mid,
	    sizeof mid);
	cr_expect_str_eq(msg_value(&m, "Message-ID"), mid);
	cr_expect_str_eq(msg_value(&m, "MIME-Version"), "1.0");
	cr_expect_str_eq(msg_value(&m, "List-Id"), "<news.example.com>");
	cr_expect_str_eq(msg_value(&m, "List-Unsubscribe"),
	    "<" UNSUB_URL ">");
	cr_expect_str_eq(msg_value(&m, "List-Unsubscribe-Post"),
	    "List-Unsubscribe=One-Click");
	cr_expect_null(msg_header(&m, "Reply-To"));
	cr_expect_null(msg_header(&m, "Bcc"));
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, message_id_has_the_documented_shape)
{
	char	 mid[MESSAGE_ID_MAX];
	size_t	 i;

	message_id("nov-update", "alice@example.org", "mx.example.com", mid,
	    sizeof mid);
	cr_assert_eq(mid[0], '<');
	for (i = 1; i <= 32; i++)
		cr_expect(isxdigit((unsigned char)mid[i]) &&
		    !isupper((unsigned char)mid[i]), "%s", mid);
	cr_expect_str_eq(mid + 33, ".nov-update@mx.example.com>");
}

Test(message, lists_the_mailto_unsubscribe_after_the_url)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	char			*s;

	in.unsub_mailto = "mailto:unsub@example.com?subject=u";
	s = render_parse(&in, &m, NULL);
	cr_expect_str_eq(msg_value(&m, "List-Unsubscribe"),
	    "<" UNSUB_URL ">, <mailto:unsub@example.com?subject=u>");
	cr_expect_str_eq(msg_value(&m, "List-Unsubscribe-Post"),
	    "List-Unsubscribe=One-Click");
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, leaves_out_list_unsubscribe_without_a_url)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	char			*s;

	in.unsub_url = NULL;
	s = render_parse(&in, &m, NULL);
	cr_expect_null(msg_header(&m, "List-Unsubscribe"));
	cr_expect_null(msg_header(&m, "List-Unsubscribe-Post"));
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, writes_reply_to_and_a_bare_to_without_a_name)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "Bob@Example.NET", NULL);
	struct msg		 m;
	char			*s;

	set_str(&c->reply_to, "help@example.com");
	set_str(&c->from_name, NULL);
	s = render_parse(&in, &m, NULL);
	cr_expect_str_eq(msg_value(&m, "Reply-To"), "<help@example.com>");
	cr_expect_str_eq(msg_value(&m, "To"), "<Bob@Example.NET>",
	    "the original address (not lower-cased) goes in To:");
	cr_expect_str_eq(msg_value(&m, "From"), "<news@example.com>");
	msg_free(&m);
	free(s);
	in.to_name = "";
	s = render_parse(&in, &m, NULL);
	cr_expect_str_eq(msg_value(&m, "To"), "<Bob@Example.NET>");
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, formats_the_date_in_rfc_5322_form)
{
	char	 d[64];

	message_format_date(T_DATE, d, sizeof d);
	cr_expect_str_eq(d, "Mon, 23 Nov 2026 09:00:00 +0000");
	message_format_date(0, d, sizeof d);
	cr_expect_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	message_format_date(INT64_C(1709208000), d, sizeof d);
	cr_expect_str_eq(d, "Thu, 29 Feb 2024 12:00:00 +0000");
}

/* --- Line discipline --------------------------------------------------- */

Test(message, ends_every_line_in_crlf_within_998_octets)
{
	struct campaign		*c = test_campaign("Hello\nWorld\n",
	    "<p>Hello</p>\n");
	struct message_in	 in = test_in(c, "a@example.org", "A");
	struct msg		 m;
	size_t			 len;
	char			*s;

	s = render_parse(&in, &m, &len);
	/* Headers keep the stricter 78 of RFC 5322 too. */
	check_lines("header block", s, (size_t)(m.body - s), 78);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

/* A string of n copies of c. */
static char *
repeat(int ch, size_t n)
{
	char	*s = xmalloc(n + 1);

	memset(s, ch, n);
	s[n] = '\0';
	return s;
}

Test(message, wraps_a_5000_character_single_line_body)
{
	char			*line = repeat('x', 5000);
	struct campaign		*c = test_campaign(line, line);
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct parts		 ps;
	char			*s;

	s = render_parse(&in, &m, NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.body[0], line);
	cr_expect_str_eq(ps.body[1], line);
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
	free(line);
}

Test(message, wraps_a_long_line_of_multibyte_characters)
{
	struct buf		 b;
	struct campaign		*c;
	struct message_in	 in;
	struct msg		 m;
	struct parts		 ps;
	char			*s;
	int			 i;

	buf_init(&b);
	for (i = 0; i < 1500; i++)
		buf_adds(&b, "\xc3\xa9\xe2\x82\xac ");	/* é€ */
	c = test_campaign(b.data, NULL);
	in = test_in(c, "a@example.org", NULL);
	s = render_parse(&in, &m, NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 1);
	cr_expect_str_eq(ps.body[0], b.data);
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
	buf_free(&b);
}

Test(message, turns_bare_lf_and_bare_cr_into_crlf)
{
	const char		*text = "one\ntwo\rthree\r\nfour\n\nsix\r\r";
	struct campaign		*c = test_campaign(text, "<p>a</p>\r<p>b</p>\n");
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct parts		 ps;
	char			*s;

	s = render_parse(&in, &m, NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.body[0],
	    "one\r\ntwo\r\nthree\r\nfour\r\n\r\nsix\r\n\r\n");
	cr_expect_str_eq(ps.body[1], "<p>a</p>\r\n<p>b</p>\r\n");
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

/* --- Subject and display names --------------------------------------- */

/* Render with a subject; check each header line and decode it back. */
static void
expect_subject_round_trip(const char *what, const char *subject)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct header		*h;
	char			*s, *p, *e;
	size_t			 len;

	set_str(&c->subject, subject);
	s = render_parse(&in, &m, &len);
	h = msg_header(&m, "Subject");
	cr_assert_not_null(h, "%s: no Subject", what);
	cr_expect_str_eq(h->value, subject, "%s: decoded subject differs",
	    what);
	/* Each physical line of the field: at most 76 (RFC 2047). */
	p = strstr(s, "\r\nSubject: ");
	cr_assert_not_null(p);
	p += 2;
	for (;;) {
		e = strstr(p, "\r\n");
		cr_expect_leq(e - p, 76, "%s: subject line of %d: %.*s", what,
		    (int)(e - p), (int)(e - p), p);
		p = e + 2;
		if (*p != ' ' && *p != '\t')
			break;
	}
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, encodes_a_non_ascii_subject_as_rfc_2047_words)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct header		*h;
	char			*s;

	set_str(&c->subject, "Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbcnchen");
	s = render_parse(&in, &m, NULL);
	h = msg_header(&m, "Subject");
	cr_assert_not_null(h);
	cr_expect(strncmp(h->raw, "=?UTF-8?B?", 10) == 0, "raw: %s", h->raw);
	cr_expect_str_eq(h->value, c->subject);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, round_trips_subjects_of_every_shape)
{
	static const struct {
		const char	*what;
		const char	*subject;
	} cases[] = {
		{ "plain ASCII", "Our November update" },
		{ "Latin-1 letters", "Caf\xc3\xa9 cr\xc3\xa8me br\xc3\xbbl\xc3"
		    "\xa9" "e" },
		{ "CJK", "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae"
		    "\xe3\x83\x8b\xe3\x83\xa5\xe3\x83\xbc\xe3\x82\xb9" },
		{ "emoji", "\xf0\x9f\x93\xb0 News \xf0\x9f\x8e\x89" },
		{ "an equals-question sequence in ASCII",
		    "Win =?big?= prizes" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		expect_subject_round_trip(cases[i].what, cases[i].subject);
}

Test(message, never_splits_a_utf8_character_between_encoded_words)
{
	struct buf	 b;
	size_t		 lead, i;

	/*
	 * Shift multi-byte characters across every possible word boundary:
	 * 0..3 ASCII bytes, then many 2-, 3- and 4-byte characters.
	 */
	for (lead = 0; lead < 4; lead++) {
		static const char *chars[] = {
			"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
		};
		size_t	 k;

		for (k = 0; k < nitems(chars); k++) {
			buf_init(&b);
			for (i = 0; i < lead; i++)
				buf_addc(&b, 'a');
			for (i = 0; i < 60; i++)
				buf_adds(&b, chars[k]);
			expect_subject_round_trip("shifted multibyte", b.data);
			buf_free(&b);
		}
	}
}

Test(message, folds_a_long_ascii_subject)
{
	char	*subject;

	xasprintf(&subject, "%s", "This subject is long enough that it has "
	    "to be folded onto more than one line of the header, and then "
	    "some more words to be sure it goes past two lines of text");
	expect_subject_round_trip("long ASCII", subject);
	free(subject);
	subject = repeat('w', CAMPAIGN_SUBJECT_MAX);
	expect_subject_round_trip("500 octets without a space", subject);
	free(subject);
}

Test(message, encode_header_writes_short_ascii_as_is)
{
	struct buf	 b;

	buf_init(&b);
	message_encode_header("Subject", "Hello", &b);
	cr_expect_str_eq(b.data, "Subject: Hello\r\n");
	buf_free(&b);
}

/* The display name of a mailbox header, unquoted and decoded. */
static char *
display_name(const char *v)
{
	struct buf	 out;
	const char	*lt = strrchr(v, '<');
	const char	*p;

	cr_assert_not_null(lt, "no <addr> in %s", v);
	buf_init(&out);
	buf_add(&out, "", 0);
	if (*v == '"') {
		for (p = v + 1; *p != '"'; p++) {
			cr_assert(*p != '\0', "unterminated quoted-string");
			if (*p == '\\')
				p++;
			buf_addc(&out, *p);
		}
		cr_expect(p[1] == ' ' && p[2] == '<', "junk after the name: "
		    "%s", v);
	} else {
		/* Encoded words (already decoded by the reader). */
		buf_add(&out, v, (size_t)(lt - v));
		while (out.len > 0 && out.data[out.len - 1] == ' ')
			out.data[--out.len] = '\0';
	}
	return buf_steal(&out, NULL);
}

/* Render with the name as From and To; both must read back the same. */
static void
expect_name_round_trip(const char *what, const char *name)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org", name);
	struct msg		 m;
	struct header		*h;
	char			*s, *dn;

	set_str(&c->from_name, name);
	s = render_parse(&in, &m, NULL);
	h = msg_header(&m, "To");
	cr_assert_not_null(h);
	dn = display_name(h->value);
	cr_expect_str_eq(dn, name, "%s: To name reads back as \"%s\" from "
	    "\"%s\"", what, dn, h->raw);
	free(dn);
	cr_expect(strstr(h->value, "<a@example.org>") != NULL);
	h = msg_header(&m, "From");
	cr_assert_not_null(h);
	dn = display_name(h->value);
	cr_expect_str_eq(dn, name, "%s: From name reads back as \"%s\" from "
	    "\"%s\"", what, dn, h->raw);
	free(dn);
	if (!strchr(h->raw, '"'))
		cr_expect(strpbrk(h->raw, ",;:@\\") == NULL ||
		    strncmp(h->raw, "=?", 2) == 0, "%s: unquoted specials in "
		    "From: %s", what, h->raw);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, quotes_display_names_with_quotes_and_backslashes)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org",
	    "Alice \"Al\" O\\Brien");
	struct msg		 m;
	char			*s;

	s = render_parse(&in, &m, NULL);
	cr_expect_str_eq(msg_header(&m, "To")->raw,
	    "\"Alice \\\"Al\\\" O\\\\Brien\" <a@example.org>");
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, round_trips_display_names_of_every_shape)
{
	static const struct {
		const char	*what;
		const char	*name;
	} cases[] = {
		{ "plain", "Alice" },
		{ "a comma (would split the address list)", "Smith, John" },
		{ "quotes and a backslash", "Alice \"Al\" O\\Brien" },
		{ "angle brackets and at", "Eve <eve@evil.example>" },
		{ "semicolon and colon", "Group: a; b" },
		{ "non-ASCII", "J\xc3\xb6rg M\xc3\xbcller" },
		{ "non-ASCII with a quote", "Ren\xc3\xa9\" <x@evil.example>" },
		{ "61 ASCII octets with a comma", "Smith, John, "
		    "Esquire of the Very Long Name Company Ltd" },
		{ "73 ASCII octets with a comma", "Smith, John, "
		    "Esquire of the Very Long Name Company Limited, London" },
		{ "200 ASCII octets", "A very long display name that goes "
		    "on and on, with commas, \"quotes\" and a backslash \\ in "
		    "it, because some marketing tools put the whole company "
		    "description in there; it must still read back intact." },
		{ "non-ASCII over 60 octets", "\xc3\x89milie "
		    "\xc3\x89l\xc3\xa9onore de la Fontaine-Saint-Germain "
		    "des Pr\xc3\xa9s" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		expect_name_round_trip(cases[i].what, cases[i].name);
}

Test(message, encodes_non_ascii_display_names)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "a@example.org",
	    "J\xc3\xb6rg");
	struct msg		 m;
	char			*s;

	set_str(&c->from_name, "Caf\xc3\xa9 Shop");
	s = render_parse(&in, &m, NULL);
	cr_expect(strncmp(msg_header(&m, "To")->raw, "=?UTF-8?B?", 10) == 0,
	    "%s", msg_header(&m, "To")->raw);
	cr_expect(strncmp(msg_header(&m, "From")->raw, "=?UTF-8?B?", 10) == 0,
	    "%s", msg_header(&m, "From")->raw);
	cr_expect_str_eq(msg_value(&m, "To"), "J\xc3\xb6rg <a@example.org>");
	cr_expect_str_eq(msg_value(&m, "From"),
	    "Caf\xc3\xa9 Shop <news@example.com>");
	msg_free(&m);
	free(s);
	campaign_free(c);
}

/* --- Header injection ------------------------------------------------- */

Test(message, refuses_header_values_with_line_breaks)
{
	static const struct {
		const char	*what;
		const char	*to_name;
		const char	*to_addr;
		const char	*subject;
		const char	*from_name;
	} cases[] = {
		{ "CRLF in to_name", "Eve\r\nBcc: x@evil.example",
		    "a@example.org", "s", NULL },
		{ "LF in to_name", "Eve\nBcc: x@evil.example",
		    "a@example.org", "s", NULL },
		{ "CR in to_name", "Eve\r", "a@example.org", "s", NULL },
		{ "CRLF in to_addr", "Eve",
		    "a@example.org\r\nBcc: x@evil.example", "s", NULL },
		{ "LF in the subject", NULL, "a@example.org",
		    "Hi\nBcc: x@evil.example", NULL },
		{ "CR in the from name", NULL, "a@example.org", "s",
		    "Shop\rBcc: x@evil.example" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		struct campaign		*c = test_campaign("t", NULL);
		struct message_in	 in = test_in(c, cases[i].to_addr,
		    cases[i].to_name);
		struct buf		 b;
		char			*cause = NULL;

		set_str(&c->subject, cases[i].subject);
		if (cases[i].from_name != NULL)
			set_str(&c->from_name, cases[i].from_name);
		buf_init(&b);
		cr_expect_eq(message_render(&in, &b, &cause), -1,
		    "%s: rendered", cases[i].what);
		cr_expect_not_null(cause, "%s: no cause", cases[i].what);
		cr_expect(b.len == 0 || strstr(b.data, "Bcc:") == NULL,
		    "%s: wrote an injected header", cases[i].what);
		free(cause);
		buf_free(&b);
		campaign_free(c);
	}
}

/* --- Bodies -------------------------------------------------------------- */

Test(message, substitutes_placeholders_in_both_parts)
{
	struct campaign		*c = test_campaign(
	    "Hi {{name}} <{{address}}>, bye: {{unsubscribe_url}}",
	    "<p>Hi {{name}} ({{address}})</p><a href=\"{{unsubscribe_url}}\">"
	    "u</a>");
	struct message_in	 in = test_in(c, "alice@example.org", "Alice");
	struct msg		 m;
	struct parts		 ps;
	char			*s;

	s = render_parse(&in, &m, NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.type[0], "text/plain");
	cr_expect_str_eq(ps.type[1], "text/html");
	cr_expect_str_eq(ps.body[0], "Hi Alice <alice@example.org>, bye: "
	    UNSUB_URL);
	cr_expect_str_eq(ps.body[1], "<p>Hi Alice (alice@example.org)</p>"
	    "<a href=\"" UNSUB_URL "\">u</a>");
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, expands_each_placeholder_form)
{
	static const struct {
		const char	*what;
		const char	*tpl;
		const char	*name;
		int		 html;
		const char	*want;
	} cases[] = {
		{ "a name", "Hi {{name}}!", "Alice", 0, "Hi Alice!" },
		{ "no name", "Hi {{name}}!", NULL, 0, "Hi !" },
		{ "fallback unused", "Hi {{name|there}}!", "Alice", 0,
		    "Hi Alice!" },
		{ "fallback used for no name", "Hi {{name|there}}!", NULL, 0,
		    "Hi there!" },
		{ "fallback used for an empty name", "Hi {{name|there}}!", "",
		    0, "Hi there!" },
		{ "an empty fallback", "Hi {{name|}}!", NULL, 0, "Hi !" },
		{ "the address", "To {{address}}", NULL, 0,
		    "To a&b@example.org" },
		{ "the address in HTML", "To {{address}}", NULL, 1,
		    "To a&amp;b@example.org" },
		{ "the unsubscribe URL", "{{unsubscribe_url}}", NULL, 0,
		    "https://x.example/u?a=1&b=2" },
		{ "the unsubscribe URL in HTML", "{{unsubscribe_url}}", NULL,
		    1, "https://x.example/u?a=1&amp;b=2" },
		{ "an unknown placeholder", "{{coupon}} and {{name}}", "A", 0,
		    "{{coupon}} and A" },
		{ "an unknown placeholder with a bar", "{{coupon|none}}!", "A",
		    0, "{{coupon|none}}!" },
		{ "an unknown placeholder in HTML", "{{coupon}}", "A", 1,
		    "{{coupon}}" },
		{ "an unclosed placeholder", "Hi {{name", "A", 0,
		    "Hi {{name" },
		{ "single braces", "{name} {{name}}", "A", 0, "{name} A" },
		{ "an empty placeholder", "{{}}", "A", 0, "{{}}" },
		{ "spaces are not trimmed", "{{ name }}", "A", 0,
		    "{{ name }}" },
		{ "case matters", "{{Name}}", "A", 0, "{{Name}}" },
		{ "placeholders back to back", "{{name}}{{name}}", "Ab", 0,
		    "AbAb" },
		{ "a very long unknown key", "{{xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx}} {{name}}",
		    "A", 0, "{{xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "xxxxxxxxxxxxxxxxxxxxxxxx}} A" },
		{ "a fallback escaped in HTML", "{{name|<you>}}", NULL, 1,
		    "&lt;you&gt;" },
		{ "a name with markup in text", "{{name}}",
		    "<script>alert('x')</script>", 0,
		    "<script>alert('x')</script>" },
		{ "a name with markup in HTML", "{{name}}",
		    "<script>alert('x')</script>", 1,
		    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" },
		{ "a name with quotes in HTML", "<a title=\"{{name}}\">",
		    "\"><img src=x>", 1,
		    "<a title=\"&quot;&gt;&lt;img src=x&gt;\">" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++) {
		struct message_in	 in;
		struct buf		 b;
		const char		*addr = "a&b@example.org";

		memset(&in, 0, sizeof in);
		in.to_addr = addr;
		in.to_name = cases[i].name;
		in.unsub_url = "https://x.example/u?a=1&b=2";
		buf_init(&b);
		buf_add(&b, "", 0);
		message_expand(cases[i].tpl, &in, cases[i].html, &b);
		cr_expect_str_eq(b.data, cases[i].want, "%s: got \"%s\"",
		    cases[i].what, b.data);
		buf_free(&b);
	}
}

Test(message, escapes_a_name_in_html_but_not_in_text)
{
	const char		*name = "<script>alert(1)</script>";
	struct campaign		*c = test_campaign("Hi {{name}}",
	    "<p>Hi {{name}}</p>");
	struct message_in	 in = test_in(c, "a@example.org", name);
	struct msg		 m;
	struct parts		 ps;
	char			*s;

	s = render_parse(&in, &m, NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.body[0], "Hi <script>alert(1)</script>");
	cr_expect_str_eq(ps.body[1],
	    "<p>Hi &lt;script&gt;alert(1)&lt;/script&gt;</p>");
	cr_expect(strstr(ps.body[1], "<script>") == NULL);
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, renders_a_text_only_campaign_as_one_part)
{
	struct campaign		*c = test_campaign("Just text", NULL);
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct parts		 ps;
	char			*s;

	s = render_parse(&in, &m, NULL);
	cr_expect(strncmp(msg_value(&m, "Content-Type"), "text/plain;", 11)
	    == 0, "%s", msg_value(&m, "Content-Type"));
	cr_expect(strstr(s, "multipart") == NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 1);
	cr_expect_str_eq(ps.body[0], "Just text");
	parts_free(&ps);
	msg_free(&m);
	free(s);

	/* An empty html counts as none. */
	set_str(&c->html, "");
	s = render_parse(&in, &m, NULL);
	cr_expect(strncmp(msg_value(&m, "Content-Type"), "text/plain;", 11)
	    == 0);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, gives_an_html_only_campaign_a_text_part_made_from_it)
{
	struct campaign		*c = test_campaign(NULL, "<p>Just <b>HTML</b>"
	    "</p><p><a href=\"{{unsubscribe_url}}\">Unsubscribe</a></p>"
	    "<img src=\"x.png\" alt=\"Our shop\">");
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct parts		 ps;
	char			*s;

	s = render_parse(&in, &m, NULL);
	cr_expect(strncmp(msg_value(&m, "Content-Type"),
	    "multipart/alternative;", 22) == 0, "%s",
	    msg_value(&m, "Content-Type"));
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.type[0], "text/plain");
	cr_expect_str_eq(ps.type[1], "text/html");
	cr_expect(strstr(ps.body[0], "Just HTML") != NULL, "%s", ps.body[0]);
	cr_expect(strstr(ps.body[0], "Unsubscribe (" UNSUB_URL ")") != NULL,
	    "the link, with the recipient's own address: %s", ps.body[0]);
	cr_expect(strstr(ps.body[0], "Our shop") != NULL, "%s", ps.body[0]);
	cr_expect(strchr(ps.body[0], '<') == NULL, "no markup: %s",
	    ps.body[0]);
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, a_reader_who_chose_plain_text_gets_text_plain_only)
{
	static const char	*texts[] = { "Hello {{name}}\n", NULL };
	struct campaign		*c;
	struct message_in	 in;
	struct msg		 m;
	struct parts		 ps;
	char			*s;
	size_t			 i;

	for (i = 0; i < nitems(texts); i++) {
		c = test_campaign(texts[i], "<p>Hello <i>{{name}}</i></p>");
		in = test_in(c, "a@example.org", "Ann");
		in.plain = 1;
		s = render_parse(&in, &m, NULL);
		cr_expect(strncmp(msg_value(&m, "Content-Type"),
		    "text/plain;", 11) == 0, "%s",
		    msg_value(&m, "Content-Type"));
		cr_expect(strstr(s, "multipart") == NULL);
		parts_of(&m, &ps);
		cr_assert_eq(ps.n, 1);
		cr_expect(strncmp(ps.body[0], "Hello Ann", 9) == 0, "%s",
		    ps.body[0]);
		parts_free(&ps);
		msg_free(&m);
		free(s);
		campaign_free(c);
	}
}

Test(message, keeps_the_boundary_out_of_the_parts)
{
	/* Bodies that try to contain a boundary-looking line. */
	struct campaign		*c = test_campaign("--=_manners_x\n=_\n--",
	    "<p>=_manners_</p>");
	struct message_in	 in = test_in(c, "a@example.org", NULL);
	struct msg		 m;
	struct parts		 ps;
	char			*s, *b;

	s = render_parse(&in, &m, NULL);
	b = boundary_of(msg_value(&m, "Content-Type"));
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2);
	cr_expect_str_eq(ps.body[0], "--=_manners_x\r\n=_\r\n--");
	cr_expect_str_eq(ps.body[1], "<p>=_manners_</p>");
	/* Three delimiter lines: two openings and the close. */
	{
		const char	*p = s;
		int		 n = 0;

		while ((p = strstr(p, b)) != NULL) {
			n++;
			p++;
		}
		cr_expect_eq(n, 4, "boundary occurs %d times (Content-Type, "
		    "two delimiters and the close)", n);
	}
	free(b);
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

/* --- Quoted-printable --------------------------------------------------- */

/* decode(encode(x)) == x with line ends made CRLF. */
static void
expect_qp_round_trip(const char *what, const char *x, size_t len)
{
	struct buf	 enc;
	char		*dec, *want, *copy;
	size_t		 dlen;

	buf_init(&enc);
	buf_add(&enc, "", 0);
	message_qp(x, len, &enc);
	check_lines_end(what, enc.data, enc.len, 76, 0);
	dec = qp_decode(enc.data, enc.len, &dlen);
	copy = xstrndup(x, len);
	want = crlf(copy);
	cr_expect_eq(dlen, strlen(want), "%s: decoded %zu bytes, want %zu",
	    what, dlen, strlen(want));
	cr_expect_str_eq(dec, want, "%s: round trip differs", what);
	/* No encoded line may start with a dot (SMTP transparency). */
	cr_expect(enc.len == 0 || (enc.data[0] != '.' &&
	    strstr(enc.data, "\n.") == NULL), "%s: a line starts with a dot",
	    what);
	free(copy);
	free(want);
	free(dec);
	buf_free(&enc);
}

Test(message, qp_round_trips_awkward_text)
{
	static const struct {
		const char	*what;
		const char	*x;
	} cases[] = {
		{ "empty", "" },
		{ "plain", "Hello, world" },
		{ "trailing spaces", "spaces   \nand tabs\t\t\nend  " },
		{ "a trailing space before CRLF", "x \r\ny\t\r\n" },
		{ "only spaces", "   " },
		{ "equals signs", "a=b == c =3D =\n=" },
		{ "lines starting with a dot", ".\n..\n.hidden\nx\n.\n" },
		{ "a dot at the very start", ".start" },
		{ "UTF-8", "Gr\xc3\xbc\xc3\x9f" "e, \xe2\x82\xac 5, "
		    "\xf0\x9f\x98\x80" },
		{ "control characters", "a\x01" "b\x7f" "c\x1b[0m" },
		{ "bare CR and LF", "a\rb\nc\r\nd\n\re" },
		{ "a CR at the end", "abc\r" },
		{ "From at a line start", "From here\nFrom there" },
		{ "high bytes", "\xff\xfe\x80" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		expect_qp_round_trip(cases[i].what, cases[i].x,
		    strlen(cases[i].x));
}

Test(message, qp_round_trips_long_lines_at_every_length)
{
	struct buf	 b;
	size_t		 n;

	/* Line lengths around the 76 limit, with specials at the edges. */
	for (n = 60; n < 240; n++) {
		size_t	 i;

		buf_init(&b);
		for (i = 0; i < n; i++)
			buf_addc(&b, i % 7 == 6 ? ' ' : i % 11 == 10 ? '=' :
			    i % 13 == 12 ? '.' : 'a' + (char)(i % 26));
		buf_adds(&b, " \n.\xc3\xa9 \n");
		expect_qp_round_trip("long line", b.data, b.len);
		buf_free(&b);
	}
}

Test(message, qp_round_trips_every_byte_value)
{
	char	 all[256];
	int	 i;

	for (i = 0; i < 256; i++)
		all[i] = (char)((i + 1) % 256);	/* NUL last */
	expect_qp_round_trip("bytes 1..255", all, 255);
}

Test(message, qp_writes_upper_case_escapes_and_keeps_plain_text)
{
	struct buf	 b;

	buf_init(&b);
	message_qp("a=b \xc3\xa9 ", 7, &b);
	cr_expect_str_eq(b.data, "a=3Db =C3=A9=20");
	buf_free(&b);
}

/* --- Message-ID ------------------------------------------------------------ */

Test(message, message_id_is_stable_per_campaign_and_address)
{
	char	 a[MESSAGE_ID_MAX], b[MESSAGE_ID_MAX];

	message_id("nov", "alice@example.org", "h.example", a, sizeof a);
	message_id("nov", "alice@example.org", "h.example", b, sizeof b);
	cr_expect_str_eq(a, b, "same inputs");
	message_id("nov", "Alice@EXAMPLE.org", "h.example", b, sizeof b);
	cr_expect_str_eq(a, b, "the address is compared case-insensitively");
	message_id("dec", "alice@example.org", "h.example", b, sizeof b);
	cr_expect_str_neq(a, b, "another campaign");
	message_id("nov", "bob@example.org", "h.example", b, sizeof b);
	cr_expect_str_neq(a, b, "another address");
	/* The campaign/address split is unambiguous. */
	message_id("a", "bc@example.org", "h.example", a, sizeof a);
	message_id("ab", "c@example.org", "h.example", b, sizeof b);
	cr_expect(strncmp(a, b, 33) != 0, "hash collides on the split");
}

Test(message, renders_the_same_message_id_and_boundary_on_a_resend)
{
	struct campaign		*c = test_campaign("t", "<p>h</p>");
	struct message_in	 in = test_in(c, "alice@example.org", NULL);
	char			*s1, *s2;
	size_t			 l1, l2;

	s1 = render(&in, &l1);
	s2 = render(&in, &l2);
	cr_expect_eq(l1, l2);
	cr_expect(l1 == l2 && memcmp(s1, s2, l1) == 0,
	    "the same input renders byte for byte the same");
	free(s1);
	free(s2);
	campaign_free(c);
}

Test(message, renders_a_case_variant_address_with_the_same_message_id)
{
	struct campaign		*c = test_campaign("t", NULL);
	struct message_in	 in = test_in(c, "alice@example.org", NULL);
	struct msg		 m1, m2;
	char			*s1, *s2;

	s1 = render_parse(&in, &m1, NULL);
	in.to_addr = "Alice@Example.ORG";
	s2 = render_parse(&in, &m2, NULL);
	cr_expect_str_eq(msg_value(&m1, "Message-ID"),
	    msg_value(&m2, "Message-ID"));
	msg_free(&m1);
	msg_free(&m2);
	free(s1);
	free(s2);
	campaign_free(c);
}

/* --- Compiled templates --------------------------------------------------- */

/*
 * A body rendered from the compiled template decodes to exactly what
 * expanding the template and encoding the result would give, for text
 * and HTML parts, whatever the values (empty, long, with markup or a
 * leading dot) and wherever the placeholders sit on a line.
 */
static void
expect_compiled_as_expanded(const char *what, const char *tpl,
    const char *name, const char *addr, const char *unsub)
{
	struct campaign		*c = test_campaign(tpl, tpl);
	struct message_in	 in = test_in(c, addr, name);
	struct msg		 m;
	struct parts		 ps;
	struct buf		 want;
	char			*s, *w;
	int			 html;

	in.unsub_url = unsub;
	s = render_parse(&in, &m, NULL);
	parts_of(&m, &ps);
	cr_assert_eq(ps.n, 2, "%s: %zu parts", what, ps.n);
	for (html = 0; html <= 1; html++) {
		buf_init(&want);
		buf_add(&want, "", 0);
		message_expand(tpl, &in, html, &want);
		w = crlf(want.data);
		cr_expect_str_eq(ps.body[html], w, "%s (%s): got \"%s\", want "
		    "\"%s\"", what, html ? "html" : "text", ps.body[html], w);
		free(w);
		buf_free(&want);
	}
	parts_free(&ps);
	msg_free(&m);
	free(s);
	campaign_free(c);
}

Test(message, compiled_templates_decode_as_expanded_ones)
{
	static const struct {
		const char	*what;
		const char	*tpl;
		const char	*name;
	} cases[] = {
		{ "no placeholder", "Hello there\nbye", "Ann" },
		{ "at the start", "{{name}}, hello", "Ann" },
		{ "at the end", "hello {{name}}", "Ann" },
		{ "alone", "{{name}}", "Ann" },
		{ "back to back", "{{name}}{{address}}{{unsubscribe_url}}",
		    "Ann" },
		{ "an empty value", "a{{name}}b", "" },
		{ "a missing value with a fallback", "Hi {{name|friend}}!",
		    NULL },
		{ "after trailing spaces", "Hi   {{name}}  \nnext", "Ann" },
		{ "a value with a leading dot", "x\n{{name}}\n.", ".Ann." },
		{ "a value with markup", "<b>{{name}}</b> & {{address}}",
		    "<i>A&B</i> 'q' \"x\"" },
		{ "a UTF-8 value", "Hallo {{name}}, sch\xc3\xb6n",
		    "J\xc3\xbcrgen M\xc3\xbcller" },
		{ "unknown and broken ones stay", "{{x}} {{name {{ }} {{name}}",
		    "Ann" },
		{ "a key with a bar", "{{address|x}} {{unsubscribe_url|y}}",
		    "Ann" },
		{ "CRLF around", "line\r\n{{name}}\r\nline", "Ann" },
		{ "a long value", "a {{name}} b", "Annabelle Wilhelmina "
		    "Konstantinopoulou-Featherstonehaugh von und zu Ende" },
	};
	char	 tpl[4096], name[200];
	size_t	 i, k, len, nlen;
	uint32_t seed = 12345;

	for (i = 0; i < nitems(cases); i++)
		expect_compiled_as_expanded(cases[i].what, cases[i].tpl,
		    cases[i].name, "a@example.org", UNSUB_URL);
	expect_compiled_as_expanded("no unsubscribe link", "x {{unsubscribe_url}}"
	    " y", "Ann", "a@example.org", NULL);

	/* Random text, line ends and placeholders at random columns. */
	for (i = 0; i < 300; i++) {
		static const char *const bits[] = {
			"{{name}}", "{{address}}", "{{unsubscribe_url}}",
			"{{name|you}}", "\n", "\r\n", " ", "\t", ".", "=",
			"{{", "}}", "\xc3\xa9", "<&>", "x", "word ",
		};

		seed = seed * 1103515245u + 12345u;
		len = 0;
		for (k = 0; k < 5 + (seed >> 16) % 120; k++) {
			const char	*b;

			seed = seed * 1103515245u + 12345u;
			b = bits[(seed >> 16) % nitems(bits)];
			if (len + strlen(b) + 1 >= sizeof tpl)
				break;
			memcpy(tpl + len, b, strlen(b));
			len += strlen(b);
			/* Now and then a run long enough to need soft breaks. */
			if ((seed >> 8) % 17 == 0 && len + 90 < sizeof tpl) {
				memset(tpl + len, 'y', 83);
				len += 83;
			}
		}
		tpl[len] = '\0';
		seed = seed * 1103515245u + 12345u;
		nlen = (seed >> 16) % 40;
		for (k = 0; k < nlen; k++)
			name[k] = "ab .<&\xc3\xa9"[(seed >> (k % 16)) % 8];
		name[nlen] = '\0';
		/* Keep whole UTF-8 sequences only (header_safe is not the point). */
		for (k = 0; k < nlen; k++)
			if ((unsigned char)name[k] >= 0x80)
				name[k] = 'z';
		expect_compiled_as_expanded("random", tpl, name,
		    "z.y@example.org", UNSUB_URL);
	}
}

Test(message, renders_many_recipients_from_one_compiled_template)
{
	struct campaign		*c = test_campaign("Hi {{name|there}}, "
	    "{{unsubscribe_url}}", "<p>Hi {{name}}</p>");
	struct message_tpl	*t = message_tpl_new(c);
	struct message_in	 in;
	struct buf		 a, b;
	char			*cause = NULL;
	const char		*names[] = { "Ann", NULL, "Bo", "" };
	size_t			 i;

	for (i = 0; i < nitems(names); i++) {
		in = test_in(c, "r@example.org", names[i]);
		buf_init(&a);
		buf_init(&b);
		cr_assert_eq(message_render_tpl(t, &in, &a, &cause), 0);
		cr_assert_eq(message_render(&in, &b, &cause), 0);
		cr_expect_eq(a.len, b.len);
		cr_expect(memcmp(a.data, b.data, a.len) == 0,
		    "recipient %zu: the compiled template renders differently",
		    i);
		buf_free(&a);
		buf_free(&b);
	}
	message_tpl_free(t);
	campaign_free(c);
}

/*
 * Read in pieces, in any chunk size, a big message (whose long encoded
 * runs are referenced, not copied) is byte for byte the flat rendering,
 * and the template may be shared by several messages in flight.
 */
Test(message, reads_a_message_in_pieces_as_rendered_whole)
{
	struct campaign		*c;
	struct message_tpl	*t;
	struct message_out	 mo[2];
	struct message_in	 in;
	struct buf		 flat, big;
	char			*cause = NULL, chunk[5000];
	size_t			 sizes[] = { 1, 7, 76, 4096, 5000 };
	size_t			 i, k, pi, off, n, got;

	buf_init(&big);
	for (i = 0; i < 2000; i++)
		buf_printf(&big, "Line %zu of the news, with = and \xc3\xa9. "
		    "%s\n", i, i % 97 == 0 ? "Hi {{name}} <{{address}}>" : "");
	c = test_campaign(big.data, big.data);
	t = message_tpl_new(c);
	in = test_in(c, "r@example.org", "Ren\xc3\xa9");
	buf_init(&flat);
	cr_assert_eq(message_render(&in, &flat, &cause), 0);
	for (k = 0; k < 2; k++) {
		message_out_init(&mo[k]);
		cr_assert_eq(message_render_out(message_tpl_ref(t), &in, &mo[k],
		    &cause), 0);
		cr_expect_eq(mo[k].len, flat.len);
		cr_expect(mo[k].n > 2, "a big body is referenced in pieces");
	}
	message_tpl_free(t);	/* the messages still hold theirs */
	for (i = 0; i < nitems(sizes); i++) {
		pi = off = got = 0;
		while ((n = message_out_read(&mo[i % 2], &pi, &off, chunk,
		    sizes[i])) > 0) {
			cr_assert_leq(got + n, flat.len);
			cr_assert(memcmp(chunk, flat.data + got, n) == 0,
			    "chunk size %zu: differs at byte %zu", sizes[i], got);
			got += n;
		}
		cr_expect_eq(got, flat.len, "chunk size %zu: %zu of %zu bytes",
		    sizes[i], got, flat.len);
	}
	for (k = 0; k < 2; k++) {
		message_out_free(&mo[k]);
		message_tpl_free(t);
	}
	buf_free(&flat);
	buf_free(&big);
	campaign_free(c);
}
