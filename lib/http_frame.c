/*
 * http_frame.c: strict framing of HTTP/1.1 requests (see http_frame.h).
 *
 * A request's head is looked at whole, once its blank line is there, and
 * handed on only if every line is sound; its body is then counted out
 * (Content-Length) or re-chunked (chunked), so the server behind sees
 * exactly the requests checked here and nothing in between.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_frame.h"
#include "util.h"

#define HTTP_FRAME_CHUNK_LINE	1024	/* a chunk-size line, extensions */

enum http_frame_state {
	HF_HEAD,		/* before or inside a request's head */
	HF_BODY,		/* `left` bytes of a Content-Length body */
	HF_CHUNK_SIZE,		/* a chunk-size line */
	HF_CHUNK_DATA,		/* `left` bytes of a chunk */
	HF_CHUNK_END,		/* the CRLF after a chunk */
	HF_TRAILER,		/* trailer fields up to the blank line */
	HF_DEAD			/* refused: nothing more is read */
};

struct http_frame {
	struct http_frame_limits	 lim;
	enum http_frame_state		 state;
	uint64_t			 left;
	uint64_t			 body;		/* chunked so far */
	size_t				 trailer;	/* trailer bytes */
	char				 lang[HTTP_FRAME_LANG_MAX + 1];
};

/* What a method may carry. */
static const struct http_frame_method {
	const char	*name;
	int		 needs_length;	/* a body is the point: flag one
					   without (no_length), for a 411 */
	int		 no_body;	/* the server reads no body: refuse one */
} http_frame_methods[] = {
	{ "GET",	0, 0 },
	{ "HEAD",	0, 1 },
	{ "POST",	1, 0 },
	{ "PUT",	0, 0 },
	{ "DELETE",	0, 0 },
	{ "OPTIONS",	0, 0 },
	{ "TRACE",	0, 1 },
	{ "CONNECT",	0, 0 },
	{ "PATCH",	0, 0 },
};

/* The standard reason phrase of the codes we refuse with. */
static const struct {
	int		 code;
	const char	*reason;
} http_frame_reasons[] = {
	{ 400, "Bad Request" },
	{ 404, "Not Found" },
	{ 405, "Method Not Allowed" },
	{ 408, "Request Timeout" },
	{ 411, "Length Required" },
	{ 413, "Content Too Large" },
	{ 417, "Expectation Failed" },
	{ 431, "Request Header Fields Too Large" },
	{ 501, "Not Implemented" },
	{ 503, "Service Unavailable" },
	{ 505, "HTTP Version Not Supported" },
};

/* What a head says about the body that follows. */
struct http_frame_head {
	const struct http_frame_method	*method;
	const char			*target;
	size_t				 target_len;
	int				 http10;
	int				 ncl, nte, nhost, nctype;
	uint64_t			 cl;
	int				 te_last_chunked, te_chunked;
	char				 te_other[41];
	const char			*lang;	/* Accept-Language's value */
	size_t				 lang_len;
	int				 nlang;
	int				 code;	/* a refusal found on the way */
	char				 why[200];
};

/* The reason phrase for code. */
const char *
http_frame_reason(int code)
{
	size_t	 i;

	for (i = 0; i < nitems(http_frame_reasons); i++)
		if (http_frame_reasons[i].code == code)
			return http_frame_reasons[i].reason;
	return "Error";
}

/* A framer with the given limits. */
struct http_frame *
http_frame_new(const struct http_frame_limits *lim)
{
	struct http_frame	*f = xcalloc(1, sizeof *f);

	f->lim = *lim;
	return f;
}

/* Let go of a framer. */
void
http_frame_free(struct http_frame *f)
{
	free(f);
}

/* New limits, from the next request on (a reload). */
void
http_frame_set_limits(struct http_frame *f, const struct http_frame_limits *lim)
{
	f->lim = *lim;
}

/* How many of `avail` bytes the next feed must see in one piece. */
size_t
http_frame_want(const struct http_frame *f, size_t avail)
{
	size_t	 n;

	switch (f->state) {
	case HF_HEAD:
	case HF_TRAILER:
		n = f->lim.max_head + 4;
		break;
	case HF_CHUNK_SIZE:
		n = HTTP_FRAME_CHUNK_LINE + 2;
		break;
	case HF_CHUNK_END:
		n = 2;
		break;
	default:
		return 0;	/* a body's bytes are counted, not read */
	}
	return avail < n ? avail : n;
}

static int	http_frame_refuse(struct http_frame *, struct http_frame_step *,
		    int, const char *, ...) __attribute__((format(printf, 4, 5)));

/* Refuse the request: no more bytes are taken from this stream. */
static int
http_frame_refuse(struct http_frame *f, struct http_frame_step *st, int code,
    const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(st->why, sizeof st->why, fmt, ap);
	va_end(ap);
	st->act = HTTP_FRAME_REFUSE;
	st->code = code;
	f->state = HF_DEAD;
	return -1;
}

static int	http_frame_head_bad(struct http_frame_head *, int, const char *,
		    ...) __attribute__((format(printf, 3, 4)));

/* Note a refusal while reading a head; the first one found is kept. */
static int
http_frame_head_bad(struct http_frame_head *h, int code, const char *fmt, ...)
{
	va_list	 ap;

	if (h->code == 0) {
		h->code = code;
		va_start(ap, fmt);
		vsnprintf(h->why, sizeof h->why, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Is c a tchar (RFC 9110 §5.6.2), the bytes of methods and names? */
static int
http_frame_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' && strchr("!#$%&'*+-.^_`|~",
	    c) != NULL);
}

/* Does s[0..n) hold a control character other than HTAB? */
static int
http_frame_has_ctl(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] < 0x20 && s[i] != '\t') ||
		    s[i] == 0x7f)
			return 1;
	return 0;
}

/* Trim optional whitespace (SP, HTAB) from both ends of s[0..*n). */
static const char *
http_frame_trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

/* Check "METHOD SP /target SP HTTP/1.x". */
static int
http_frame_request_line(struct http_frame_head *h, const char *l, size_t n)
{
	const char	*sp1, *sp2, *t;
	size_t		 i, mlen, tlen;

	if ((sp1 = memchr(l, ' ', n)) == NULL ||
	    (sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l))) == NULL)
		return http_frame_head_bad(h, 400, "the request line is not "
		    "METHOD PATH HTTP/1.1");
	mlen = (size_t)(sp1 - l);
	for (i = 0; i < mlen; i++)
		if (!http_frame_tchar((unsigned char)l[i]))
			return http_frame_head_bad(h, 400, "the method is not "
			    "a token");
	for (i = 0; i < nitems(http_frame_methods); i++)
		if (strlen(http_frame_methods[i].name) == mlen &&
		    memcmp(http_frame_methods[i].name, l, mlen) == 0)
			h->method = &http_frame_methods[i];
	if (mlen == 0 || h->method == NULL)
		return http_frame_head_bad(h, 501, "method %.*s is not "
		    "implemented", (int)(mlen > 32 ? 32 : mlen), l);
	t = sp1 + 1;
	tlen = (size_t)(sp2 - t);
	h->target = t;
	h->target_len = tlen;
	/* "//x" is a path to RFC 9112 but an authority to evhttp's URI
	   parser: refuse what the two would read differently. */
	if (tlen == 0 || t[0] != '/' || (tlen > 1 && t[1] == '/'))
		return http_frame_head_bad(h, 400, "the request target must "
		    "be a path such as /v1/health");
	/* RFC 3986's characters only: evhttp's URI parser refuses the
	   others with its own page. */
	for (i = 0; i < tlen; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f ||
		    strchr("\"<>\\^`{|}#", t[i]) != NULL)
			return http_frame_head_bad(h, 400, "the request target "
			    "holds a control character or a byte that must be "
			    "percent-encoded");
	t = sp2 + 1;
	tlen = n - (size_t)(t - l);
	if (tlen == 8 && memcmp(t, "HTTP/1.1", 8) == 0)
		return 0;
	if (tlen == 8 && memcmp(t, "HTTP/1.0", 8) == 0) {
		h->http10 = 1;
		return 0;
	}
	if (tlen == 8 && memcmp(t, "HTTP/", 5) == 0 && t[6] == '.')
		return http_frame_head_bad(h, 505, "HTTP version %.*s is not "
		    "supported: speak HTTP/1.1", 3, t + 5);
	return http_frame_head_bad(h, 400, "the request line is not METHOD "
	    "PATH HTTP/1.1");
}

/* Content-Length: one field, one number. */
static int
http_frame_content_length(struct http_frame_head *h, const char *v, size_t n)
{
	uint64_t	 x = 0;
	size_t		 i;

	if (++h->ncl > 1)
		return http_frame_head_bad(h, 400, "repeated Content-Length "
		    "fields: a request has one length (RFC 9112 section "
		    "6.3)");
	if (n == 0)
		return http_frame_head_bad(h, 400, "Content-Length is "
		    "empty");
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return http_frame_head_bad(h, 400, "Content-Length "
			    "\"%.*s\" is not a number of bytes",
			    (int)(n > 40 ? 40 : n), v);
		if (x > (UINT64_MAX - 9) / 10)
			return http_frame_head_bad(h, 400, "Content-Length "
			    "%.*s is out of range", (int)(n > 40 ? 40 : n), v);
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	h->cl = x;
	return 0;
}

/* Transfer-Encoding: note its codings; body_rule decides. */
static int
http_frame_transfer_encoding(struct http_frame_head *h, const char *v,
    size_t n)
{
	const char	*e, *end = v + n, *c;
	size_t		 len;

	h->nte++;
	for (e = v; e <= end; e = c + 1) {
		if ((c = memchr(e, ',', (size_t)(end - e))) == NULL)
			c = end;
		len = (size_t)(c - e);
		e = http_frame_trim(e, &len);
		if (len == 0)
			continue;	/* an empty list element */
		h->te_last_chunked = len == 7 && strncasecmp(e, "chunked",
		    7) == 0;
		if (h->te_last_chunked)
			h->te_chunked++;
		else if (h->te_other[0] == '\0')
			snprintf(h->te_other, sizeof h->te_other, "%.*s",
			    (int)len, e);
	}
	return 0;
}

/* One header field: a token name, a colon, a value without controls. */
static int
http_frame_field(struct http_frame_head *h, const char *l, size_t n)
{
	const char	*colon, *v;
	size_t		 i, nlen, vlen;

	if (l[0] == ' ' || l[0] == '\t')
		return http_frame_head_bad(h, 400, "a folded header line "
		    "(obsolete line folding is refused)");
	if ((colon = memchr(l, ':', n)) == NULL)
		return http_frame_head_bad(h, 400, "a header line without a "
		    "colon");
	nlen = (size_t)(colon - l);
	for (i = 0; i < nlen; i++)
		if (!http_frame_tchar((unsigned char)l[i]))
			return http_frame_head_bad(h, 400, "header name \"%.*s\" "
			    "is not a token (no space before the colon)",
			    (int)(nlen > 40 ? 40 : nlen), l);
	if (nlen == 0)
		return http_frame_head_bad(h, 400, "a header line without a "
		    "name");
	vlen = n - nlen - 1;
	v = http_frame_trim(colon + 1, &vlen);
#define NAME_IS(s)	(nlen == sizeof(s) - 1 && strncasecmp(l, s, nlen) == 0)
	/* Counted even when unsound: two of them, and neither is used. */
	if (NAME_IS("Accept-Language") && h->nlang++ == 0) {
		h->lang = v;
		h->lang_len = vlen;
	}
	if (http_frame_has_ctl(v, vlen)) {
		if (NAME_IS("Accept-Language"))
			h->lang = NULL;
		return http_frame_head_bad(h, 400, "header %.*s holds a "
		    "control character", (int)(nlen > 40 ? 40 : nlen), l);
	}
	if (NAME_IS("Content-Length"))
		return http_frame_content_length(h, v, vlen);
	if (NAME_IS("Transfer-Encoding"))
		return http_frame_transfer_encoding(h, v, vlen);
	if ((NAME_IS("Host") && ++h->nhost > 1) ||
	    (NAME_IS("Content-Type") && ++h->nctype > 1))
		return http_frame_head_bad(h, 400, "repeated %.*s fields",
		    (int)nlen, l);
	if (NAME_IS("Expect") && !(vlen == 12 &&
	    strncasecmp(v, "100-continue", 12) == 0))
		return http_frame_head_bad(h, 417, "Expect: %.*s is not "
		    "supported (only 100-continue)", (int)(vlen > 40 ? 40 : vlen),
		    v);
#undef NAME_IS
	return 0;
}

/*
 * Split the head into lines; check each; the first problem wins.  The
 * lines after a problem are still checked, which changes nothing of the
 * refusal but lets a sound Accept-Language anywhere choose its language.
 */
static void
http_frame_lines(struct http_frame_head *h, const char *p, size_t n)
{
	const char	*l = p, *nl, *end = p + n;
	size_t		 len;
	int		 first = 1;

	for (; l < end; l = nl + 1) {
		nl = memchr(l, '\n', (size_t)(end - l));
		len = (size_t)(nl - l);
		if (len > 0 && l[len - 1] == '\r')
			len--;
		if (len == 0)
			break;		/* the blank line */
		if (!first)
			http_frame_field(h, l, len);
		else if (http_frame_has_ctl(l, len))
			http_frame_head_bad(h, 400, "the request line holds a "
			    "control character");
		else
			http_frame_request_line(h, l, len);
		first = 0;
	}
}

/*
 * Keep the head's Accept-Language for a refusal's page: only one field,
 * already free of control characters; a longer one is cut after its
 * last whole entry within HTTP_FRAME_LANG_MAX.
 */
static void
http_frame_keep_lang(struct http_frame *f, const struct http_frame_head *h)
{
	size_t	 n = h->lang_len;

	if (h->nlang != 1 || h->lang == NULL)
		return;
	if (n > HTTP_FRAME_LANG_MAX) {
		for (n = HTTP_FRAME_LANG_MAX; n > 0 && h->lang[n] != ','; n--)
			;
	}
	memcpy(f->lang, h->lang, n);
	f->lang[n] = '\0';
}

const char *
http_frame_language(const struct http_frame *f)
{
	return f->lang;
}

/* What the fields say about the body; refuse what two parsers would
   read differently. */
static int
http_frame_body_rule(struct http_frame *f, struct http_frame_head *h,
    struct http_frame_step *st)
{
	const char	*m = h->method->name;

	if (h->nte > 0 && h->ncl > 0)
		return http_frame_refuse(f, st, 400, "Transfer-Encoding and "
		    "Content-Length together: refused (RFC 9112 section 6.3)");
	if (h->nte > 0 && (!h->te_last_chunked || h->te_chunked != 1))
		return http_frame_refuse(f, st, 400, "Transfer-Encoding must "
		    "end in chunked, once (RFC 9112 section 6.3)");
	if (h->nte > 0 && h->te_other[0] != '\0')
		return http_frame_refuse(f, st, 501, "Transfer-Encoding %s is "
		    "not supported", h->te_other);
	if (h->nte > 0 && h->http10)
		return http_frame_refuse(f, st, 400, "Transfer-Encoding in an "
		    "HTTP/1.0 request");
	if (h->method->no_body && (h->nte > 0 || h->cl > 0))
		return http_frame_refuse(f, st, 400, "a %s request has no "
		    "body", m);
	/* Without a length a request has no body (RFC 9112 section 6.3):
	   whether its route wants one is the caller's to say. */
	if (h->nte == 0 && h->ncl == 0 && h->method->needs_length) {
		st->no_length = 1;
		st->target = h->target;
		st->target_len = h->target_len;
	}
	if (h->cl > f->lim.max_body)
		return http_frame_refuse(f, st, 413, "the request body is "
		    "larger than %llu bytes", (unsigned long long)f->lim.max_body);
	f->body = 0;
	f->trailer = 0;
	if (h->nte > 0)
		f->state = HF_CHUNK_SIZE;
	else if (h->cl > 0) {
		f->state = HF_BODY;
		f->left = h->cl;
	} else
		st->done = 1;
	return 0;
}

/* Where the head ends ("\n\r\n" or "\n\n"): its length, or 0. */
static size_t
http_frame_head_end(const char *p, size_t n)
{
	const char	*nl = p, *end = p + n;

	while ((nl = memchr(nl, '\n', (size_t)(end - nl))) != NULL) {
		nl++;
		if (nl < end && *nl == '\n')
			return (size_t)(nl + 1 - p);
		if (nl + 1 < end && nl[0] == '\r' && nl[1] == '\n')
			return (size_t)(nl + 2 - p);
	}
	return 0;
}

/* A request's head: wait for all of it, check it, hand it on whole. */
static void
http_frame_head(struct http_frame *f, const char *p, size_t n,
    struct http_frame_step *st)
{
	struct http_frame_head	 h;
	size_t			 k = 0, len;

	/* Blank lines before a request are allowed and dropped. */
	while (k < n && (p[k] == '\n' || (p[k] == '\r' && k + 1 < n &&
	    p[k + 1] == '\n')))
		k += p[k] == '\r' ? 2 : 1;
	if (k > 0 || (n == 1 && p[0] == '\r')) {
		st->act = k > 0 ? HTTP_FRAME_SWAP : HTTP_FRAME_MORE;
		st->take = k;
		return;
	}
	/* A new head: the last one's language no longer speaks for it. */
	f->lang[0] = '\0';
	if ((len = http_frame_head_end(p, n)) == 0 || len > f->lim.max_head) {
		if (n > f->lim.max_head)
			http_frame_refuse(f, st, 431, "the request line and "
			    "header fields are longer than %zu bytes",
			    f->lim.max_head);
		return;
	}
	memset(&h, 0, sizeof h);
	http_frame_lines(&h, p, len);
	http_frame_keep_lang(f, &h);
	if (h.code != 0) {
		http_frame_refuse(f, st, h.code, "%s", h.why);
		return;
	}
	if (http_frame_body_rule(f, &h, st) == -1)
		return;
	st->act = HTTP_FRAME_PASS;
	st->take = len;
	st->method = h.method->name;
}

/* A chunk-size line: hex digits, optional extensions (dropped). */
static void
http_frame_chunk_size(struct http_frame *f, const char *p, size_t n,
    struct http_frame_step *st)
{
	const char	*nl;
	uint64_t	 size = 0;
	size_t		 i, len, digits = 0;

	if ((nl = memchr(p, '\n', n)) == NULL) {
		if (n > HTTP_FRAME_CHUNK_LINE)
			http_frame_refuse(f, st, 400, "a chunk-size line is "
			    "longer than %d bytes", HTTP_FRAME_CHUNK_LINE);
		return;
	}
	len = (size_t)(nl - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	for (i = 0; i < len && isxdigit((unsigned char)p[i]); i++) {
		if (digits > 0 || p[i] != '0')
			digits++;
		size = size * 16 + (uint64_t)(isdigit((unsigned char)p[i]) ?
		    p[i] - '0' : (tolower((unsigned char)p[i]) - 'a' + 10));
		if (digits > 16)
			break;
	}
	if (digits > 16) {
		http_frame_refuse(f, st, 400, "chunk size %.24s%s is out of "
		    "range (more than 16 hex digits)", p, len > 24 ? "..." : "");
		return;
	}
	if (i == 0 || (i < len && p[i] != ';' && p[i] != ' ' && p[i] != '\t') ||
	    http_frame_has_ctl(p + i, len - i)) {
		http_frame_refuse(f, st, 400, "chunk size \"%.*s\" is not a "
		    "hexadecimal number", (int)(len > 24 ? 24 : len), p);
		return;
	}
	if (size > f->lim.max_body - f->body) {
		http_frame_refuse(f, st, 413, "the request body is larger than "
		    "%llu bytes", (unsigned long long)f->lim.max_body);
		return;
	}
	f->body += size;
	st->act = HTTP_FRAME_SWAP;
	st->take = (size_t)(nl + 1 - p);
	st->emitlen = (size_t)snprintf(st->emit, sizeof st->emit, "%llx\r\n",
	    (unsigned long long)size);
	f->state = size > 0 ? HF_CHUNK_DATA : HF_TRAILER;
	f->left = size;
}

/* The CRLF after a chunk's data. */
static void
http_frame_chunk_end(struct http_frame *f, const char *p, size_t n,
    struct http_frame_step *st)
{
	if (p[0] == '\r' && n < 2)
		return;
	if (p[0] != '\n' && !(p[0] == '\r' && p[1] == '\n')) {
		http_frame_refuse(f, st, 400, "a chunk is longer than its "
		    "chunk size says");
		return;
	}
	st->act = HTTP_FRAME_SWAP;
	st->take = p[0] == '\r' ? 2 : 1;
	memcpy(st->emit, "\r\n", 2);
	st->emitlen = 2;
	f->state = HF_CHUNK_SIZE;
}

/* Trailer fields: checked and dropped; the blank line ends the request. */
static void
http_frame_trailer(struct http_frame *f, const char *p, size_t n,
    struct http_frame_step *st)
{
	struct http_frame_head	 h;
	const char		*nl;
	size_t			 len;

	if ((nl = memchr(p, '\n', n)) == NULL) {
		if (f->trailer + n > f->lim.max_head)
			http_frame_refuse(f, st, 431, "the trailer fields are "
			    "longer than %zu bytes", f->lim.max_head);
		return;
	}
	len = (size_t)(nl - p);
	if (len > 0 && p[len - 1] == '\r')
		len--;
	st->act = HTTP_FRAME_SWAP;
	st->take = (size_t)(nl + 1 - p);
	if (len == 0) {
		memcpy(st->emit, "\r\n", 2);
		st->emitlen = 2;
		st->done = 1;
		f->state = HF_HEAD;
		return;
	}
	memset(&h, 0, sizeof h);
	if ((f->trailer += st->take) > f->lim.max_head)
		http_frame_refuse(f, st, 431, "the trailer fields are longer "
		    "than %zu bytes", f->lim.max_head);
	else if (memchr(p, '\r', len) != NULL || memchr(p, '\0', len) ||
	    http_frame_field(&h, p, len) == -1)
		http_frame_refuse(f, st, 400, "%s", h.code != 0 ? h.why :
		    "a trailer line holds a control character");
}

/* Take the next step over p[0..n): n bytes are there (want() of them
   in one piece; a body's bytes are counted, p may be NULL). */
void
http_frame_feed(struct http_frame *f, const char *p, size_t n,
    struct http_frame_step *st)
{
	memset(st, 0, sizeof *st);
	st->act = HTTP_FRAME_MORE;
	if (f->state == HF_DEAD) {
		http_frame_refuse(f, st, 400, "the connection is closing");
		return;
	}
	if (n == 0)
		return;
	switch (f->state) {
	case HF_HEAD:
		http_frame_head(f, p, n, st);
		break;
	case HF_BODY:
	case HF_CHUNK_DATA:
		st->act = HTTP_FRAME_PASS;
		st->take = n < f->left ? n : (size_t)f->left;
		if ((f->left -= st->take) == 0) {
			st->done = f->state == HF_BODY;
			f->state = f->state == HF_BODY ? HF_HEAD :
			    HF_CHUNK_END;
		}
		break;
	case HF_CHUNK_SIZE:
		http_frame_chunk_size(f, p, n, st);
		break;
	case HF_CHUNK_END:
		http_frame_chunk_end(f, p, n, st);
		break;
	case HF_TRAILER:
		http_frame_trailer(f, p, n, st);
		break;
	case HF_DEAD:
		break;
	}
}
