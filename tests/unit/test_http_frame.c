/*
 * test_http_frame.c: what reaches the HTTP server, and what is refused,
 * one named row per situation.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "http_frame.h"
#include "util.h"

#define MAX_HEAD	1024
#define MAX_BODY	100
#define RAW(s)		s, sizeof(s) - 1	/* a literal holding NUL */

struct frame_case {
	const char	*name;
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	int		 code;		/* 0: no refusal */
	const char	*why;		/* in the refusal, when code != 0 */
	const char	*out;		/* what the server sees */
	int		 requests;	/* requests that ended */
};

static const struct frame_case frame_cases[] = {
	{ "a GET passes whole",
	    "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0, NULL,
	    "GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n", 1 },
	{ "a POST with its length passes with its body",
	    "POST /u/t HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 0, 0, NULL,
	    "POST /u/t HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc", 1 },
	{ "pipelined requests pass one after the other",
	    "GET / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\n", 0, 0, NULL,
	    "GET / HTTP/1.1\r\n\r\nGET /a HTTP/1.1\r\n\r\n", 2 },
	{ "bare LF line ends are read as evhttp reads them",
	    "GET / HTTP/1.0\nHost: x\n\n", 0, 0, NULL,
	    "GET / HTTP/1.0\nHost: x\n\n", 1 },
	{ "blank lines before a request are dropped",
	    "\r\n\r\nGET / HTTP/1.1\r\n\r\n", 0, 0, NULL,
	    "GET / HTTP/1.1\r\n\r\n", 1 },
	{ "a chunked body is passed re-chunked, extensions and trailers "
	    "dropped",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3;x=y\r\nabc\r\n0\r\nX-T: 1\r\n\r\n", 0, 0, NULL,
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n0\r\n\r\n", 1 },
	{ "two Content-Length fields are smuggling",
	    "POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\n"
	    "GET /", 0, 400, "repeated Content-Length", "", 0 },
	{ "the same Content-Length twice is refused too",
	    "POST / HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\n"
	    "x", 0, 400, "repeated Content-Length", "", 0 },
	{ "a Content-Length list is not a number",
	    "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx", 0, 400,
	    "not a number", "", 0 },
	{ "a signed Content-Length is not a number",
	    "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\nx", 0, 400,
	    "not a number", "", 0 },
	{ "a 30-digit Content-Length is out of range",
	    "POST / HTTP/1.1\r\nContent-Length: 123456789012345678901234567890"
	    "\r\n\r\n", 0, 400, "out of range", "", 0 },
	{ "a body over the limit is 413",
	    "POST / HTTP/1.1\r\nContent-Length: 101\r\n\r\n", 0, 413,
	    "larger than 100 bytes", "", 0 },
	{ "Transfer-Encoding with Content-Length is smuggling",
	    "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
	    "chunked\r\n\r\n", 0, 400, "together", "", 0 },
	{ "Transfer-Encoding not ending in chunked is refused",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 0,
	    400, "end in chunked", "", 0 },
	{ "chunked twice is refused",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 0, 400, "end in chunked",
	    "", 0 },
	{ "a coding before chunked is not implemented",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 0,
	    501, "gzip is not supported", "", 0 },
	{ "a negative chunk size is not a hexadecimal number",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", 0,
	    400, "chunk size \"-5\" is not a hexadecimal number",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0 },
	{ "a 20-digit chunk size is out of range",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "12345678901234567890\r\n", 0, 400, "out of range",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0 },
	{ "leading zeros in a chunk size are fine",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "000000000000000000001\r\na\r\n0\r\n\r\n", 0, 0, NULL,
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\na\r\n0\r\n\r\n", 1 },
	{ "chunks over the limit are 413",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "65\r\n", 0, 413, "larger than 100 bytes",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", 0 },
	{ "a chunk longer than its size is refused",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "1\r\nab\r\n", 0, 400, "longer than its chunk size",
	    "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na", 0 },
	{ "a POST without a length has no body (flagged for a 411)",
	    "POST / HTTP/1.1\r\nHost: x\r\n\r\nabc", 0, 0, NULL,
	    "POST / HTTP/1.1\r\nHost: x\r\n\r\n", 1 },
	{ "a HEAD with a body is refused (evhttp would read it as a request)",
	    "HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\nGET /", 0, 400,
	    "HEAD request has no body", "", 0 },
	{ "NUL in a header value is refused",
	    RAW("GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"), 400,
	    "header X-A holds a control character", "", 0 },
	{ "NUL in Content-Type is refused",
	    RAW("GET / HTTP/1.1\r\nContent-Type: text/xml\0x\r\n\r\n"), 400,
	    "header Content-Type holds a control character", "", 0 },
	{ "a bare CR in a value is refused",
	    "GET / HTTP/1.1\r\nX-A: a\rb\r\n\r\n", 0, 400,
	    "control character", "", 0 },
	{ "a folded header line is refused",
	    "GET / HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n", 0, 400, "folded", "",
	    0 },
	{ "a space before the colon is refused",
	    "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 0, 400, "not a token", "",
	    0 },
	{ "two Host fields are refused",
	    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 0, 400,
	    "repeated Host", "", 0 },
	{ "an unknown method is 501",
	    "BREW /pot HTTP/1.1\r\n\r\n", 0, 501, "BREW is not implemented",
	    "", 0 },
	{ "CONNECT to a host is not a path",
	    "CONNECT example.com:443 HTTP/1.1\r\n\r\n", 0, 400,
	    "must be a path", "", 0 },
	{ "an absolute target is not a path",
	    "GET http://example.com/ HTTP/1.1\r\n\r\n", 0, 400,
	    "must be a path", "", 0 },
	{ "a target evhttp would read as an authority is refused",
	    "GET //evil.example/v1/health HTTP/1.1\r\n\r\n", 0, 400,
	    "must be a path", "", 0 },
	{ "a quote in the target is refused (evhttp's URI parser would)",
	    "GET /a\"b HTTP/1.1\r\n\r\n", 0, 400, "percent-encoded", "", 0 },
	{ "a raw 8-bit byte in the target is refused",
	    "GET /caf\xc3\xa9 HTTP/1.1\r\n\r\n", 0, 400, "percent-encoded",
	    "", 0 },
	{ "HTTP/2.0 in the request line is 505",
	    "GET / HTTP/2.0\r\n\r\n", 0, 505, "HTTP version 2.0", "", 0 },
	{ "garbage is 400",
	    "GARBAGE\r\n\r\n", 0, 400, "not METHOD PATH HTTP/1.1", "", 0 },
	{ "an Expect other than 100-continue is 417",
	    "POST / HTTP/1.1\r\nExpect: tea\r\nContent-Length: 0\r\n\r\n", 0,
	    417, "Expect: tea", "", 0 },
	{ "a head over the limit is 431 without its end",
	    NULL, 0, 431, "longer than 1024 bytes", "", 0 },
};

/* Feed the whole input in one piece, or a byte at a time. */
static void
frame_run(const struct frame_case *fc, const char *in, size_t len,
    size_t piece, struct buf *out, int *code, char *why, int *requests)
{
	struct http_frame_limits lim = { MAX_HEAD, MAX_BODY };
	struct http_frame	*f = http_frame_new(&lim);
	struct http_frame_step	 st;
	size_t			 have = 0, off = 0, want;

	(void)fc;
	*code = 0;
	*requests = 0;
	while (off < len) {
		if (have < len)
			have += len - have < piece ? len - have : piece;
		want = http_frame_want(f, have - off);
		http_frame_feed(f, want > 0 ? in + off : NULL, want > 0 ? want :
		    have - off, &st);
		if (st.act == HTTP_FRAME_REFUSE) {
			*code = st.code;
			strcpy(why, st.why);
			break;
		}
		if (st.act == HTTP_FRAME_MORE) {
			if (have == len)
				break;
			continue;
		}
		if (st.act == HTTP_FRAME_PASS)
			buf_add(out, in + off, st.take);
		else
			buf_add(out, st.emit, st.emitlen);
		off += st.take;
		*requests += st.done;
	}
	http_frame_free(f);
}

Test(http_frame, table)
{
	char		 big[2048], why[256];
	const char	*in;
	size_t		 i, len, piece;
	struct buf	 out;
	int		 code, requests;

	memset(big, 'a', sizeof big);
	memcpy(big, "GET / HTTP/1.1\r\nX-A: ", 21);
	for (i = 0; i < nitems(frame_cases); i++) {
		const struct frame_case *fc = &frame_cases[i];

		in = fc->in != NULL ? fc->in : big;
		len = fc->in == NULL ? sizeof big : fc->len != 0 ? fc->len :
		    strlen(in);
		for (piece = 1; piece <= len; piece = piece == 1 ? len : len + 1) {
			buf_init(&out);
			why[0] = '\0';
			frame_run(fc, in, len, piece, &out, &code, why,
			    &requests);
			cr_expect_eq(code, fc->code, "%s (%s): code %d",
			    fc->name, piece == 1 ? "byte by byte" : "whole",
			    code);
			if (fc->why != NULL)
				cr_expect(strstr(why, fc->why) != NULL,
				    "%s: why \"%s\"", fc->name, why);
			cr_expect(out.len == strlen(fc->out) && (out.len == 0 ||
			    memcmp(out.data, fc->out, out.len) == 0),
			    "%s: the server saw \"%.*s\"", fc->name,
			    (int)out.len, out.data != NULL ? out.data : "");
			cr_expect_eq(requests, fc->requests, "%s: %d requests",
			    fc->name, requests);
			buf_free(&out);
		}
	}
}

Test(http_frame, a_post_without_a_length_is_flagged_with_its_target)
{
	struct http_frame_limits lim = { MAX_HEAD, MAX_BODY };
	struct http_frame	*f = http_frame_new(&lim);
	struct http_frame_step	 st;
	const char		*h = "POST /v1/unsubscribes?x=1 HTTP/1.1\r\n\r\n";
	const char		*g = "POST /p HTTP/1.1\r\nContent-Length: 0\r\n\r\n";

	http_frame_feed(f, h, strlen(h), &st);
	cr_expect_eq(st.act, HTTP_FRAME_PASS);
	cr_expect_eq(st.no_length, 1);
	cr_expect(st.target_len == 20 &&
	    memcmp(st.target, "/v1/unsubscribes?x=1", 20) == 0);
	http_frame_feed(f, g, strlen(g), &st);
	cr_expect_eq(st.no_length, 0, "Content-Length: 0 is a length");
	http_frame_free(f);
}

Test(http_frame, limits_apply_from_the_next_request)
{
	struct http_frame_limits lim = { MAX_HEAD, MAX_BODY }, more = {
	    MAX_HEAD, 1000 };
	struct http_frame	*f = http_frame_new(&lim);
	struct http_frame_step	 st;
	const char		*h = "POST / HTTP/1.1\r\nContent-Length: 500\r\n\r\n";

	http_frame_feed(f, h, strlen(h), &st);
	cr_expect_eq(st.code, 413);
	http_frame_free(f);
	f = http_frame_new(&lim);
	http_frame_set_limits(f, &more);
	http_frame_feed(f, h, strlen(h), &st);
	cr_expect_eq(st.act, HTTP_FRAME_PASS);
	http_frame_free(f);
}

/*
 * The language a refusal may answer in: only what was read safely, with
 * the request's fate (0: passed) beside it.
 */
Test(http_frame, keeps_a_sound_accept_language_for_the_refusal)
{
	static const struct {
		const char	*name;
		int		 code;
		const char	*lang;
		const char	*in;
	} rows[] = {
		{ "a refused request's language is kept", 417, "de-DE,de;q=0.9",
		    "GET / HTTP/1.1\r\nAccept-Language: de-DE,de;q=0.9\r\n"
		    "Expect: tea\r\n\r\n" },
		{ "one after the problem is read too", 400, "fr",
		    "GET / HTTP/1.1\r\nX-A: a\rb\r\nAccept-Language:  fr \r\n"
		    "\r\n" },
		{ "after a bad request line too", 400, "es",
		    "GET /a\"b HTTP/1.1\r\naccept-language: es\r\n\r\n" },
		{ "a control character in it: not used", 400, "",
		    "GET / HTTP/1.1\r\nAccept-Language: de\x7f\r\n\r\n" },
		{ "two of them: neither", 0, "",
		    "GET / HTTP/1.1\r\nAccept-Language: de\r\n"
		    "Accept-Language: fr\r\n\r\n" },
		{ "two, one unsound: neither", 400, "",
		    "GET / HTTP/1.1\r\nAccept-Language: de\x01\r\n"
		    "Accept-Language: fr\r\n\r\n" },
		{ "none", 0, "", "GET / HTTP/1.1\r\nHost: x\r\n\r\n" },
		{ "a passed request's, for a refusal after it (a 411)", 0, "fr",
		    "POST / HTTP/1.1\r\nAccept-Language: fr\r\n\r\n" },
	};
	struct http_frame_limits lim = { MAX_HEAD, MAX_BODY };
	struct http_frame	*f;
	struct http_frame_step	 st;
	size_t			 i;

	for (i = 0; i < nitems(rows); i++) {
		f = http_frame_new(&lim);
		memset(&st, 0, sizeof st);
		http_frame_feed(f, rows[i].in, strlen(rows[i].in), &st);
		cr_expect_eq(st.act == HTTP_FRAME_REFUSE ? st.code : 0,
		    rows[i].code, "%s: %s", rows[i].name, st.why);
		cr_expect_str_eq(http_frame_language(f), rows[i].lang, "%s",
		    rows[i].name);
		http_frame_free(f);
	}
}

/* A long one is cut after its last whole entry; a new head starts clean. */
Test(http_frame, cuts_a_long_accept_language_at_an_entry)
{
	struct http_frame_limits lim = { MAX_HEAD, MAX_BODY };
	struct http_frame	*f = http_frame_new(&lim);
	struct http_frame_step	 st;
	struct buf		 b;
	const char		*lang;
	int			 i;

	buf_init(&b);
	buf_adds(&b, "GET / HTTP/1.1\r\nAccept-Language: de");
	for (i = 0; i < 60; i++)
		buf_adds(&b, ", xx-YY");	/* 7 bytes each: 422 in all */
	buf_adds(&b, "\r\n\r\n");
	http_frame_feed(f, b.data, b.len, &st);
	cr_expect_eq(st.act, HTTP_FRAME_PASS);
	lang = http_frame_language(f);
	cr_expect(strlen(lang) <= HTTP_FRAME_LANG_MAX, "%zu", strlen(lang));
	cr_expect(strncmp(lang, "de, xx-YY", 9) == 0, "%s", lang);
	cr_expect(strlen(lang) > 0 && lang[strlen(lang) - 1] == 'Y', "%s",
	    lang);
	/* The next request's head, not yet whole: no language yet. */
	http_frame_feed(f, "GET / HTTP/1.1\r\n", 16, &st);
	cr_expect_eq(st.act, HTTP_FRAME_MORE);
	cr_expect_str_eq(http_frame_language(f), "");
	buf_free(&b);
	http_frame_free(f);
}
