/*
 * weigh.c: the HTML weigher.
 *
 * One parse with libxml2's HTML parser, then one iterative walk of the
 * tree that counts visible text and collects image references without
 * allocating per node: attribute values are read in place and only a new
 * distinct image URL is copied. Nothing here touches the network or the
 * clock.
 *
 * The bytes are always parsed as UTF-8: campaign bodies arrive as text of
 * an XML document, so a <meta charset> naming another encoding is wrong
 * about them; it is recorded and warned about, never obeyed.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>

#include "hashtab.h"
#include "log.h"
#include "util.h"
#include "weigh.h"

/*
 * Keep libxml2's depth limit (no HTML_PARSE_HUGE) so that nesting is
 * bounded, never fetch, and never print.
 */
#define WEIGH_PARSE_OPTIONS \
	(HTML_PARSE_NONET | HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | \
	HTML_PARSE_NOWARNING)

/* The bytes given are always UTF-8, whatever the markup declares. */
#define WEIGH_ENCODING		"UTF-8"

/* data: URLs are cut to this many bytes in reports. */
#define WEIGH_REPORT_URL_MAX	80
/* A width or height with more digits than this is not taken as numeric. */
#define WEIGH_DIM_DIGITS	6
/* Distinct images listed one per line in the text report. */
#define WEIGH_TEXT_IMAGES_MAX	50
/*
 * A start tag with more attributes than this is refused unparsed: libxml2
 * checks each attribute against all the earlier ones, so 40,000 of them
 * in one tag (under 400 KB) take it seconds.
 */
#define WEIGH_MAX_ATTRS		1000

enum weigh_kind {
	WEIGH_SRC = 0,
	WEIGH_SRCSET,
	WEIGH_BACKGROUND,
	WEIGH_CSS,
	WEIGH_NKINDS
};

static const char *const weigh_kind_names[WEIGH_NKINDS] = {
	"src", "srcset", "background", "css"
};

/* One distinct image URL. */
struct weigh_image {
	char		*url;
	size_t		 len;
	uint64_t	 hash;
	unsigned int	 kinds;		/* 1 << enum weigh_kind, as referenced */
	size_t		 uses;		/* references in the document */
	int		 data;		/* a data: URI, weighed inline */
	int		 fetchable;	/* http or https: the caller may measure */
	long long	 bytes;		/* decoded or measured size; -1 unknown */
	long long	 width;		/* of the first <img> giving both... */
	long long	 height;	/* ...dimensions, else 0 */
	char		*error;		/* a broken data: URI */
	char		*why;		/* why a remote size is unknown */
};

/* One limit broken, as weigh_check() found it. */
struct weigh_over {
	const char	*limit;
	long long	 measured;
	long long	 bound;
	int		 minimum;	/* bound is a minimum, not a maximum */
	const char	*why;
};

#define WEIGH_NLIMITS	8

struct weigh {
	struct weigh_limits	 lim;

	size_t			 html_bytes;
	int			 parsed;	/* 0: refused unparsed */
	size_t			 attrs;		/* when refused for attributes */
	int			 incomplete;	/* the parser stopped early */
	int			 depth;		/* deepest element walked */
	size_t			 text_chars;
	size_t			 refs;		/* image references */
	long long		 area;		/* px² of <img> with dimensions */
	char			*charset;	/* as declared, or NULL */

	struct weigh_image	*images;
	size_t			 nimages;
	size_t			 cimages;
	size_t			*remote;	/* indices into images */
	size_t			 nremote;
	size_t			 cremote;

	char			**warnings;
	size_t			 nwarnings;

	/* Computed by weigh_check(). */
	long long		 inline_bytes;
	long long		 remote_bytes;
	long long		 largest;
	size_t			 largest_idx;	/* SIZE_MAX: none */
	size_t			 unknown;	/* remote images of unknown size */
	struct weigh_over	 over[WEIGH_NLIMITS];
	size_t			 nover;
};

/* State of one walk over a parsed document. */
struct weigh_walk {
	struct weigh	*w;
	struct hashtab	*urls;		/* w->images, by URL */
	xmlNodePtr	 hidden;	/* head, title, script, style, template */
	int		 space;		/* whitespace seen since the last char */
};

static const char weigh_why_max_html[] =
    "Gmail clips messages whose HTML exceeds about 102 KB and hides the "
    "rest behind a link, including the unsubscribe link.";
static const char weigh_why_max_images[] =
    "Each image is a separate download that most mail clients block until "
    "the reader allows it, so a message built of many images opens slowly "
    "and shows as empty boxes.";
static const char weigh_why_max_image[] =
    "A single large image loads slowly on mobile connections and shows as "
    "a blank box until it arrives, hiding what it was meant to say.";
static const char weigh_why_max_image_total[] =
    "Readers download every image to see the message, so heavy mail costs "
    "them time and mobile data and is the mail that gets deleted unread.";
static const char weigh_why_min_text[] =
    "Image-heavy mail with little text scores as spam (SpamAssassin's "
    "HTML_IMAGE_ONLY and HTML_IMAGE_RATIO rules) and is unreadable with "
    "images blocked.";
static const char weigh_why_remote_unknown[] =
    "An image whose size could not be measured may be arbitrarily heavy, "
    "and this list is configured to refuse what it cannot weigh.";
static const char weigh_why_incomplete[] =
    "The HTML parser stopped before the end of the document (nesting "
    "deeper than its limit), so the rest could not be weighed, yet mail "
    "clients would still render it.";

static const char weigh_why_attributes[] =
    "A tag with thousands of attributes makes the HTML parser's time grow "
    "with their square, so it is refused unweighed; real newsletters use a "
    "few dozen at most.";

static void	weigh_warn(struct weigh *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Fill lim with the default limits. */
void
weigh_limits_default(struct weigh_limits *lim)
{
	memset(lim, 0, sizeof *lim);
	lim->max_html = 102400;
	lim->max_images = 20;
	lim->max_image = 200 * 1024;
	lim->max_image_total = 800 * 1024;
	lim->min_text_per_image = 100;
	lim->remote_unknown_refuse = 0;
}

/* Append a formatted warning to the report. */
static void
weigh_warn(struct weigh *w, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	xvasprintf(&s, fmt, ap);
	va_end(ap);
	w->warnings = xreallocarray(w->warnings, w->nwarnings + 1,
	    sizeof *w->warnings);
	w->warnings[w->nwarnings++] = s;
}

/* Return the offset of the first byte that is not valid UTF-8, or len. */
static size_t
weigh_utf8_check(const unsigned char *s, size_t len)
{
	size_t		 i = 0, need, k;
	uint64_t	 v;
	unsigned char	 c, lo, hi;

	while (i < len) {
		/* Newsletters are mostly ASCII: skip it eight bytes at once. */
		if (len - i >= 8) {
			memcpy(&v, s + i, 8);
			if ((v & 0x8080808080808080ULL) == 0) {
				i += 8;
				continue;
			}
		}
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c == 0xe0) {
			need = 2;
			lo = 0xa0;
		} else if (c == 0xed) {
			need = 2;
			hi = 0x9f;
		} else if (c >= 0xe1 && c <= 0xef)
			need = 2;
		else if (c == 0xf0) {
			need = 3;
			lo = 0x90;
		} else if (c >= 0xf1 && c <= 0xf3)
			need = 3;
		else if (c == 0xf4) {
			need = 3;
			hi = 0x8f;
		} else
			return i;
		if (len - i <= need)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (k = 2; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
		}
		i += need + 1;
	}
	return len;
}

/* Make a JSON string of s, replacing bytes that are not UTF-8 by '?'. */
static json_t *
weigh_json_string(const char *s, size_t len)
{
	json_t	*j;
	char	*copy;
	size_t	 off, bad;

	if ((j = json_stringn(s, len)) != NULL)
		return j;
	copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	off = 0;
	while (off < len) {
		bad = off + weigh_utf8_check((unsigned char *)copy + off,
		    len - off);
		if (bad >= len)
			break;
		copy[bad] = '?';
		off = bad + 1;
	}
	j = json_stringn(copy, len);
	free(copy);
	return j;
}

/* Is c ASCII whitespace as HTML and CSS define it? */
static int
weigh_isspace(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Is cp a Unicode space that renders as blank? */
static int
weigh_unicode_space(uint32_t cp)
{
	return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/*
 * Is cp invisible? Preheader padding ("&zwnj;&#847;" repeated) and soft
 * hyphens are not text a reader reads.
 */
static int
weigh_unicode_invisible(uint32_t cp)
{
	return cp == 0xad || cp == 0x34f || cp == 0x180e ||
	    (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2060 && cp <= 0x2064) ||
	    cp == 0xfeff;
}

/*
 * Count the visible characters of a text node: code points, with each run
 * of blanks (ASCII whitespace and control characters, Unicode spaces)
 * counted as one character between two visible ones, and runs continued
 * across nodes. Invisible code points count nothing.
 *
 * Text is most of a newsletter, so ASCII is counted eight bytes at once:
 * the visible bytes, plus one for each visible byte that follows a blank.
 */
static void
weigh_text_count(struct weigh_walk *st, const unsigned char *s)
{
	const uint64_t	 high = 0x8080808080808080ULL;
	const uint64_t	 k21 = 0x2121212121212121ULL;
	const unsigned char *end;
	size_t		 chars = st->w->text_chars;
	int		 space = st->space;
	uint64_t	 v, vis, starts;
	unsigned char	 c;
	uint32_t	 cp;
	int		 n, k;

	end = s + strlen((const char *)s);
	while (s < end) {
		/*
		 * Per byte, (b | 0x80) - 0x21 keeps its high bit exactly when
		 * b > 0x20, and never borrows from the next byte.
		 */
		if (end - s >= 8 && chars != 0) {
			memcpy(&v, s, 8);
			if ((v & high) == 0) {
				vis = ((v | high) - k21) & high;
				starts = vis & (((~vis & high) << 8) |
				    (space ? 0x80 : 0));
				/* One bit per byte: a multiply sums them. */
				chars += (((vis >> 7) * 0x0101010101010101ULL)
				    >> 56) + (((starts >> 7) *
				    0x0101010101010101ULL) >> 56);
				space = (vis >> 63) == 0;
				s += 8;
				continue;
			}
		}
		c = *s;
		if (c < 0x80) {
			s++;
			if (c <= 0x20) {
				space = 1;
				continue;
			}
			goto visible;
		}
		if (c >= 0xc0 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf7) {
			n = 3;
			cp = c & 0x07;
		} else {
			/* A stray byte: count it, it is something. */
			s++;
			goto visible;
		}
		for (k = 1; k <= n; k++) {
			if ((s[k] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (s[k] & 0x3f);
		}
		if (k <= n) {
			s++;
			goto visible;
		}
		s += n + 1;
		if (weigh_unicode_space(cp)) {
			space = 1;
			continue;
		}
		if (weigh_unicode_invisible(cp))
			continue;
	visible:
		if (space && chars != 0)
			chars++;
		space = 0;
		chars++;
	}
	st->w->text_chars = chars;
	st->space = space;
}

/* A URL being looked up: not NUL-terminated. */
struct weigh_url {
	const char	*s;
	size_t		 len;
};

/* Is the image `item` the one at URL `key`? */
static int
weigh_url_eq(const void *item, const void *key)
{
	const struct weigh_image	*im = item;
	const struct weigh_url		*u = key;

	return im->len == u->len && memcmp(im->url, u->s, u->len) == 0;
}

/* The URL table points into w->images: after the array moved, refill it. */
static void
weigh_urls_rebuild(struct weigh_walk *st)
{
	size_t	 i;

	hashtab_clear(st->urls);
	for (i = 0; i < st->w->nimages; i++)
		hashtab_add(st->urls, st->w->images[i].hash,
		    &st->w->images[i]);
}

/* Next byte of a percent-encoded string; advances *pp. */
static unsigned char
weigh_pct_next(const char **pp, const char *end)
{
	const char	*p = *pp;
	int		 hi, lo;

	if (*p == '%' && end - p >= 3) {
		hi = hexdigit(p[1]);
		lo = hexdigit(p[2]);
		if (hi >= 0 && lo >= 0) {
			*pp = p + 3;
			return (unsigned char)(hi << 4 | lo);
		}
	}
	*pp = p + 1;
	return (unsigned char)*p;
}

/* Is c in the base64 alphabet? */
static int
weigh_isbase64(int c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/*
 * Size a data: URI as a browser decodes it: the body is percent-decoded,
 * then, when the media type ends in ";base64", decoded as forgiving
 * base64 (whitespace anywhere, padding optional). A broken one gets an
 * error and counts 0 image bytes: no client can show it, and its bytes
 * are in html_bytes already.
 */
static void
weigh_data_size(struct weigh_image *im)
{
	const char	*p, *end, *comma, *m;
	size_t		 count, pad, off;
	unsigned char	 c;
	int		 base64 = 0;

	p = im->url + 5;
	end = im->url + im->len;
	im->bytes = 0;
	if ((comma = memchr(p, ',', end - p)) == NULL) {
		im->error = xstrdup("data: URI has no ',' before its data");
		return;
	}

	/* Does the media type end in ";base64" (spaces allowed)? */
	m = comma;
	while (m > p && m[-1] == ' ')
		m--;
	if (m - p >= 6 && strncasecmp(m - 6, "base64", 6) == 0) {
		m -= 6;
		while (m > p && m[-1] == ' ')
			m--;
		base64 = m > p && m[-1] == ';';
	}

	p = comma + 1;
	if (!base64) {
		while (p < end) {
			weigh_pct_next(&p, end);
			im->bytes++;
		}
		return;
	}

	count = pad = 0;
	while (p < end) {
		off = p - im->url;
		c = weigh_pct_next(&p, end);
		if (weigh_isspace(c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		if (!weigh_isbase64(c)) {
			xasprintf(&im->error, "invalid base64 character 0x%02x at "
			    "offset %zu", c, off);
			return;
		}
		if (pad != 0) {
			xasprintf(&im->error, "base64 data continues after '=' "
			    "padding at offset %zu", off);
			return;
		}
		count++;
	}
	if (count % 4 == 1 || pad > 2 ||
	    (pad != 0 && (count + pad) % 4 != 0)) {
		xasprintf(&im->error, "truncated base64: %zu characters "
		    "and %zu '=' do not make whole bytes", count, pad);
		return;
	}
	im->bytes = (long long)(count / 4 * 3 + (count % 4 == 0 ? 0 :
	    count % 4 - 1));
}

/* Sort a new image: inline data:, measurable http(s), or unmeasurable. */
static void
weigh_image_classify(struct weigh *w, struct weigh_image *im, size_t idx)
{
	const char	*u = im->url;
	size_t		 i;

	if (im->len >= 5 && strncasecmp(u, "data:", 5) == 0) {
		im->data = 1;
		weigh_data_size(im);
		return;
	}

	if (w->nremote == w->cremote) {
		w->cremote = w->cremote == 0 ? 16 : w->cremote * 2;
		w->remote = xreallocarray(w->remote, w->cremote,
		    sizeof *w->remote);
	}
	w->remote[w->nremote++] = idx;
	im->bytes = -1;

	/* A scheme is a letter then letters, digits, '+', '-' or '.'. */
	i = 0;
	if ((u[0] >= 'a' && u[0] <= 'z') || (u[0] >= 'A' && u[0] <= 'Z')) {
		while (u[i] != '\0' && (u[i] == '+' || u[i] == '-' ||
		    u[i] == '.' || (u[i] >= '0' && u[i] <= '9') ||
		    (u[i] >= 'a' && u[i] <= 'z') || (u[i] >= 'A' && u[i] <= 'Z')))
			i++;
	}
	if (i == 0 || u[i] != ':') {
		if (u[0] == '/' && u[1] == '/')
			im->why = xstrdup("protocol-relative URL: a mail "
			    "message has no base to resolve it against");
		else
			im->why = xstrdup("relative URL: a mail message has "
			    "no base to resolve it against");
		return;
	}
	if ((i == 4 && strncasecmp(u, "http", 4) == 0) ||
	    (i == 5 && strncasecmp(u, "https", 5) == 0)) {
		im->fetchable = 1;
		return;
	}
	if (i == 3 && strncasecmp(u, "cid", 3) == 0)
		im->why = xstrdup("cid: refers to a part attached to the "
		    "message; it is not fetched");
	else
		xasprintf(&im->why, "%.*s: URLs are not fetched; only http "
		    "and https images are measured", (int)i, u);
}

/*
 * Record one image reference and return its image's index, or SIZE_MAX
 * for an empty URL. Identical URLs are one image: a logo used three
 * times is downloaded (or carried inline) once, so counts and bytes are
 * per distinct URL, while the displayed area is added per <img>.
 */
static size_t
weigh_image_ref(struct weigh_walk *st, const char *url, size_t len,
    enum weigh_kind kind)
{
	struct weigh		*w = st->w;
	struct weigh_image	*im;
	struct weigh_url	 key;
	uint64_t		 h;
	size_t			 idx;

	while (len > 0 && weigh_isspace((unsigned char)*url)) {
		url++;
		len--;
	}
	while (len > 0 && weigh_isspace((unsigned char)url[len - 1]))
		len--;
	if (len == 0)
		return SIZE_MAX;
	w->refs++;

	key.s = url;
	key.len = len;
	h = hashtab_hash(url, len);
	if ((im = hashtab_find(st->urls, h, weigh_url_eq, &key)) != NULL) {
		im->kinds |= 1U << kind;
		im->uses++;
		return (size_t)(im - w->images);
	}

	if (w->nimages == w->cimages) {
		w->cimages = w->cimages == 0 ? 16 : w->cimages * 2;
		w->images = xreallocarray(w->images, w->cimages,
		    sizeof *w->images);
		weigh_urls_rebuild(st);
	}
	idx = w->nimages++;
	im = &w->images[idx];
	memset(im, 0, sizeof *im);
	im->url = xstrndup(url, len);
	im->len = len;
	im->hash = h;
	im->kinds = 1U << kind;
	im->uses = 1;
	weigh_image_classify(w, im, idx);

	hashtab_add(st->urls, h, im);
	return idx;
}

/*
 * Record every candidate URL of a srcset: URLs run to whitespace (they may
 * hold commas, as data: URIs do), descriptors (1x, 480w) to the next comma
 * outside parentheses. Returns the first candidate's image, or SIZE_MAX.
 */
static size_t
weigh_srcset(struct weigh_walk *st, const char *s)
{
	const char	*start;
	size_t		 len, idx, first = SIZE_MAX;
	int		 paren;

	for (;;) {
		while (weigh_isspace((unsigned char)*s) || *s == ',')
			s++;
		if (*s == '\0')
			break;
		start = s;
		while (*s != '\0' && !weigh_isspace((unsigned char)*s))
			s++;
		len = s - start;
		if (start[len - 1] == ',') {
			/* "a.png, b.png": the comma ends the candidate. */
			while (len > 0 && start[len - 1] == ',')
				len--;
			idx = weigh_image_ref(st, start, len, WEIGH_SRCSET);
			if (first == SIZE_MAX)
				first = idx;
			continue;
		}
		idx = weigh_image_ref(st, start, len, WEIGH_SRCSET);
		if (first == SIZE_MAX)
			first = idx;
		paren = 0;
		for (; *s != '\0'; s++) {
			if (*s == '(')
				paren++;
			else if (*s == ')' && paren > 0)
				paren--;
			else if (*s == ',' && paren == 0) {
				s++;
				break;
			}
		}
	}
	return first;
}

/* Is c part of a CSS identifier? */
static int
weigh_css_ident(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c >= 0x80;
}

/*
 * Record every url(...) in CSS text, quoted with ' or " or unquoted, with
 * whitespace inside the parentheses; url( inside comments and strings
 * loads nothing and is skipped. Returns the number of URLs.
 */
static size_t
weigh_css(struct weigh_walk *st, const char *s, size_t len)
{
	size_t		 i = 0, start, end, n = 0;
	char		 q;

	while (i < len) {
		switch (s[i]) {
		case '/':
			if (i + 1 < len && s[i + 1] == '*') {
				for (i += 2; i + 1 < len; i++) {
					if (s[i] == '*' && s[i + 1] == '/')
						break;
				}
				i += 2;
				continue;
			}
			break;
		case '"':
		case '\'':
			q = s[i];
			for (i++; i < len && s[i] != q && s[i] != '\n'; i++) {
				if (s[i] == '\\')
					i++;
			}
			break;
		case 'u':
		case 'U':
			if (len - i < 4 || strncasecmp(s + i, "url(", 4) != 0 ||
			    (i > 0 && weigh_css_ident((unsigned char)s[i - 1])))
				break;
			for (i += 4; i < len && weigh_isspace((unsigned char)s[i]);
			    i++)
				/* nothing */;
			if (i < len && (s[i] == '"' || s[i] == '\'')) {
				q = s[i];
				start = ++i;
				for (; i < len && s[i] != q; i++) {
					if (s[i] == '\\')
						i++;
				}
				end = i < len ? i : len;
			} else {
				start = i;
				while (i < len && s[i] != ')')
					i++;
				end = i;
			}
			if (weigh_image_ref(st, s + start, end - start,
			    WEIGH_CSS) != SIZE_MAX)
				n++;
			while (i < len && s[i] != ')')
				i++;
			break;
		}
		i++;
	}
	return n;
}

/*
 * Parse a width or height attribute: digits, an ignored fraction and an
 * optional "px", with whitespace around. Returns -1 when not numeric
 * ("100%", "auto", too many digits).
 */
static long long
weigh_dimension(const char *s)
{
	long long	 v = 0;
	int		 digits = 0;

	while (weigh_isspace((unsigned char)*s))
		s++;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (++digits > WEIGH_DIM_DIGITS)
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (digits == 0)
		return -1;
	if (*s == '.') {
		for (s++; *s >= '0' && *s <= '9'; s++)
			/* nothing */;
	}
	if (strncasecmp(s, "px", 2) == 0)
		s += 2;
	while (weigh_isspace((unsigned char)*s))
		s++;
	return *s == '\0' ? v : -1;
}

/*
 * An attribute's value, read in place when it is one text node (as the
 * HTML parser makes it); otherwise a copy is put in *tofree.
 */
static const char *
weigh_attr(xmlAttrPtr a, xmlChar **tofree)
{
	xmlNodePtr	 c = a->children;

	*tofree = NULL;
	if (c == NULL)
		return "";
	if (c->next == NULL && c->type == XML_TEXT_NODE && c->content != NULL)
		return (const char *)c->content;
	*tofree = xmlNodeListGetString(a->doc, c, 1);
	return *tofree != NULL ? (const char *)*tofree : "";
}

/* Record the charset a <meta> declares, the first one only. */
static void
weigh_meta(struct weigh *w, xmlAttrPtr charset, xmlAttrPtr equiv,
    xmlAttrPtr content)
{
	xmlChar		*f1, *f2;
	const char	*v, *p;
	size_t		 len;

	if (w->charset != NULL)
		return;
	if (charset != NULL) {
		v = weigh_attr(charset, &f1);
		while (weigh_isspace((unsigned char)*v))
			v++;
		len = strlen(v);
		while (len > 0 && weigh_isspace((unsigned char)v[len - 1]))
			len--;
		if (len > 0)
			w->charset = xstrndup(v, len);
		xmlFree(f1);
		return;
	}
	if (equiv == NULL || content == NULL)
		return;
	v = weigh_attr(equiv, &f1);
	while (weigh_isspace((unsigned char)*v))
		v++;
	if (strncasecmp(v, "content-type", 12) == 0) {
		v = weigh_attr(content, &f2);
		for (p = v; (p = strcasestr(p, "charset")) != NULL;) {
			p += 7;
			while (weigh_isspace((unsigned char)*p))
				p++;
			if (*p != '=')
				continue;
			p++;
			while (weigh_isspace((unsigned char)*p) || *p == '"' ||
			    *p == '\'')
				p++;
			len = strcspn(p, " \t\n\r\f;\"'");
			if (len > 0)
				w->charset = xstrndup(p, len);
			break;
		}
		xmlFree(f2);
	}
	xmlFree(f1);
}

/*
 * What an element is, from its name (the HTML parser gives names in
 * lower case): an <img>, a <source>, a <meta>; returns whether its
 * content is never shown (head, style, script, title, template).
 */
static inline int
weigh_element_kind(const char *name, int *img, int *source, int *meta)
{
	switch (name[0]) {
	case 'h':
		return strcmp(name, "head") == 0;
	case 'i':
		*img = strcmp(name, "img") == 0;
		break;
	case 'm':
		*meta = strcmp(name, "meta") == 0;
		break;
	case 's':
		if (strcmp(name, "style") == 0 || strcmp(name, "script") == 0)
			return 1;
		*source = strcmp(name, "source") == 0;
		break;
	case 't':
		return strcmp(name, "title") == 0 ||
		    strcmp(name, "template") == 0;
	}
	return 0;
}

/*
 * An <img> is displayed once whichever candidate is chosen, so its area
 * counts once, and only when both dimensions are numbers.
 */
static inline void
weigh_img_area(struct weigh *w, size_t first, long long width,
    long long height)
{
	if (first == SIZE_MAX || width < 0 || height < 0)
		return;
	if (w->area <= LLONG_MAX - width * height)
		w->area += width * height;
	if (w->images[first].width == 0 && w->images[first].height == 0) {
		w->images[first].width = width;
		w->images[first].height = height;
	}
}

/* Weigh one element's attributes and note what hides its text. */
static void
weigh_element(struct weigh_walk *st, xmlNodePtr n)
{
	const char	*name = (const char *)n->name, *an, *v;
	xmlAttrPtr	 a, charset = NULL, equiv = NULL, content = NULL;
	xmlChar		*tofree;
	long long	 width = -1, height = -1;
	size_t		 idx, first = SIZE_MAX;
	int		 img = 0, source = 0, meta = 0, hide = 0;

	if (name == NULL)
		return;
	hide = weigh_element_kind(name, &img, &source, &meta);
	if (hide && st->hidden == NULL)
		st->hidden = n;

	for (a = n->properties; a != NULL; a = a->next) {
		an = (const char *)a->name;
		switch (an[0]) {
		case 'b':
			if (strcmp(an, "background") != 0)
				continue;
			v = weigh_attr(a, &tofree);
			weigh_image_ref(st, v, strlen(v), WEIGH_BACKGROUND);
			xmlFree(tofree);
			break;
		case 's':
			if (img && strcmp(an, "src") == 0) {
				v = weigh_attr(a, &tofree);
				idx = weigh_image_ref(st, v, strlen(v),
				    WEIGH_SRC);
				if (idx != SIZE_MAX)
					first = idx;
				xmlFree(tofree);
			} else if ((img || source) &&
			    strcmp(an, "srcset") == 0) {
				v = weigh_attr(a, &tofree);
				idx = weigh_srcset(st, v);
				if (first == SIZE_MAX)
					first = idx;
				xmlFree(tofree);
			} else if (strcmp(an, "style") == 0) {
				v = weigh_attr(a, &tofree);
				weigh_css(st, v, strlen(v));
				xmlFree(tofree);
			}
			break;
		case 'w':
			if (img && strcmp(an, "width") == 0) {
				v = weigh_attr(a, &tofree);
				width = weigh_dimension(v);
				xmlFree(tofree);
			}
			break;
		case 'h':
			if (img && strcmp(an, "height") == 0) {
				v = weigh_attr(a, &tofree);
				height = weigh_dimension(v);
				xmlFree(tofree);
			} else if (meta && strcmp(an, "http-equiv") == 0)
				equiv = a;
			break;
		case 'c':
			if (meta && strcmp(an, "charset") == 0)
				charset = a;
			else if (meta && strcmp(an, "content") == 0)
				content = a;
			break;
		}
	}

	if (meta)
		weigh_meta(st->w, charset, equiv, content);
	if (img)
		weigh_img_area(st->w, first, width, height);
}

/* Weigh a text node: CSS in <style>, visible text elsewhere. */
static void
weigh_text(struct weigh_walk *st, xmlNodePtr n)
{
	const char	*s = (const char *)n->content;
	xmlNodePtr	 p = n->parent;

	if (s == NULL)
		return;
	/* A <style> is always inside something hidden: itself at least. */
	if (st->hidden != NULL) {
		if (p != NULL && p->type == XML_ELEMENT_NODE &&
		    p->name != NULL && strcmp((const char *)p->name,
		    "style") == 0)
			weigh_css(st, s, strlen(s));
		return;
	}
	weigh_text_count(st, (const unsigned char *)s);
}

/*
 * Walk the tree in document order without recursion: down to the first
 * child, else to the next sibling, else up until a parent has one.
 */
static void
weigh_walk(struct weigh_walk *st, xmlNodePtr top)
{
	xmlNodePtr	 n = top->children;
	int		 depth = 1;

	while (n != NULL) {
		switch (n->type) {
		case XML_ELEMENT_NODE:
			weigh_element(st, n);
			if (n->children != NULL) {
				n = n->children;
				if (++depth > st->w->depth)
					st->w->depth = depth;
				continue;
			}
			break;
		case XML_TEXT_NODE:
		case XML_CDATA_SECTION_NODE:
			weigh_text(st, n);
			break;
		default:
			/* Comments, DTD, processing instructions: unseen. */
			break;
		}
		for (;;) {
			if (n == st->hidden)
				st->hidden = NULL;
			if (n->next != NULL) {
				n = n->next;
				break;
			}
			n = n->parent;
			depth--;
			if (n == NULL || n == top) {
				n = NULL;
				break;
			}
		}
	}
}

/*
 * The most attributes in one start tag, read roughly as the parser reads
 * them: a quote delimits a value only after '=', and a name may follow a
 * closing quote directly. Overcounting (a "tag" inside a comment or a
 * script) is harmless; counting stops past WEIGH_MAX_ATTRS.
 */
static size_t
weigh_attr_scan(const char *html, size_t len)
{
	const char	*p = html, *end = html + len, *q;
	size_t		 n, most = 0;
	int		 gap;

	while (p < end && (p = memchr(p, '<', end - p)) != NULL) {
		p++;
		if (p == end || !((*p >= 'a' && *p <= 'z') ||
		    (*p >= 'A' && *p <= 'Z')))
			continue;
		n = 0;
		gap = 0;
		for (; p < end && *p != '>'; p++) {
			if (weigh_isspace((unsigned char)*p) || *p == '/') {
				gap = 1;
				continue;
			}
			if (*p != '=') {
				if (gap && ++n > WEIGH_MAX_ATTRS)
					return n;
				gap = 0;
				continue;
			}
			for (p++; p < end && weigh_isspace((unsigned char)*p);
			    p++)
				/* nothing */;
			if (p == end)
				break;
			if (*p == '"' || *p == '\'') {
				if ((q = memchr(p + 1, *p, end - p - 1)) == NULL)
					break;
				p = q;
				gap = 1;
				continue;
			}
			while (p < end && !weigh_isspace((unsigned char)*p) &&
			    *p != '>')
				p++;
			/* Back one: the loop steps onto the blank or '>'. */
			p--;
		}
		if (n > most)
			most = n;
	}
	return most;
}

/* Parse and walk; the report's counts are filled in w. */
static int
weigh_parse(struct weigh *w, const char *html, size_t len, char **cause)
{
	struct weigh_walk	 st;
	htmlParserCtxtPtr	 ctxt = NULL;
	htmlDocPtr		 doc = NULL;
	char			*copy = NULL;
	const char		*p;
	size_t			 i, nul = 0;
	int			 rv = -1;

	/*
	 * The parser stops at a NUL byte; a copy with spaces for NULs lets
	 * it weigh what follows, which a mail client may still show.
	 */
	if (memchr(html, '\0', len) != NULL) {
		copy = xmalloc(len);
		memcpy(copy, html, len);
		for (i = 0; i < len; i++) {
			if (copy[i] == '\0') {
				copy[i] = ' ';
				nul++;
			}
		}
		weigh_warn(w, "the HTML holds %zu NUL bytes, read as spaces; "
		    "mail relays may refuse them", nul);
	}
	p = copy != NULL ? copy : html;

	xmlInitParser();
	if ((ctxt = htmlNewParserCtxt()) == NULL) {
		set_cause(cause, "cannot create an HTML parser");
		goto out;
	}
	doc = htmlCtxtReadMemory(ctxt, p, (int)len, NULL, WEIGH_ENCODING,
	    WEIGH_PARSE_OPTIONS);
	if (doc == NULL) {
		set_cause(cause, "the HTML parser failed");
		goto out;
	}
	/* A halted parser disables its callbacks: the tree is partial. */
	w->incomplete = ctxt->disableSAX != 0;
	/*
	 * The context's buffers go first: freed after the tree, they cost
	 * about 8% of a parse in the benchmark (heap consolidation).
	 */
	htmlFreeParserCtxt(ctxt);
	ctxt = NULL;

	memset(&st, 0, sizeof st);
	st.w = w;
	st.urls = hashtab_new();
	weigh_walk(&st, (xmlNodePtr)doc);
	hashtab_free(st.urls);
	w->parsed = 1;
	rv = 0;

out:
	if (doc != NULL)
		xmlFreeDoc(doc);
	if (ctxt != NULL)
		htmlFreeParserCtxt(ctxt);
	free(copy);
	return rv;
}

/* Weigh an HTML part against lim; see weigh.h. */
int
weigh_html(const char *html, size_t len, const struct weigh_limits *lim,
    struct weigh **out, char **cause)
{
	struct weigh	*w;
	size_t		 bad;

	*out = NULL;
	if (html == NULL && len != 0)
		return set_cause(cause, "no HTML to weigh");

	w = xcalloc(1, sizeof *w);
	if (lim != NULL)
		w->lim = *lim;
	else
		weigh_limits_default(&w->lim);
	w->html_bytes = len;

	if (w->lim.max_html != 0 &&
	    w->lim.max_html <= SIZE_MAX / WEIGH_REFUSE_FACTOR &&
	    len > w->lim.max_html * WEIGH_REFUSE_FACTOR) {
		weigh_warn(w, "not parsed: %zu bytes is more than %d times "
		    "max_html (%zu bytes)", len, WEIGH_REFUSE_FACTOR,
		    w->lim.max_html);
		weigh_check(w);
		*out = w;
		return 0;
	}
	if (len > INT_MAX) {
		weigh_free(w);
		return set_cause(cause, "HTML of %zu bytes is too large to "
		    "parse", len);
	}

	if (len == 0)
		w->parsed = 1;
	else {
		bad = weigh_utf8_check((const unsigned char *)html, len);
		if (bad != len) {
			weigh_warn(w, "the HTML is not valid UTF-8 (byte %zu); "
			    "it is sent as UTF-8 and will be misread", bad);
		}
		if ((w->attrs = weigh_attr_scan(html, len)) >
		    WEIGH_MAX_ATTRS) {
			weigh_warn(w, "not parsed: a start tag has more than "
			    "%d attributes", WEIGH_MAX_ATTRS);
			weigh_check(w);
			*out = w;
			return 0;
		}
		if (weigh_parse(w, html, len, cause) != 0) {
			weigh_free(w);
			return -1;
		}
	}

	if (w->charset != NULL && strcasecmp(w->charset, "utf-8") != 0 &&
	    strcasecmp(w->charset, "utf8") != 0) {
		weigh_warn(w, "the HTML declares charset %s but the message "
		    "is sent as UTF-8; declare UTF-8", w->charset);
	}
	weigh_check(w);
	*out = w;
	return 0;
}

/* Free a report. */
void
weigh_free(struct weigh *w)
{
	size_t	 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->nimages; i++) {
		free(w->images[i].url);
		free(w->images[i].error);
		free(w->images[i].why);
	}
	free(w->images);
	free(w->remote);
	for (i = 0; i < w->nwarnings; i++)
		free(w->warnings[i]);
	free(w->warnings);
	free(w->charset);
	free(w);
}

/* Number of distinct remote image URLs. */
size_t
weigh_remote_count(const struct weigh *w)
{
	return w->nremote;
}

/* Remote image URL i. */
const char *
weigh_remote_url(const struct weigh *w, size_t i)
{
	if (i >= w->nremote)
		fatalx("%s: index %zu of %zu", __func__, i, w->nremote);
	return w->images[w->remote[i]].url;
}

/* May remote image i be measured (http or https)? */
int
weigh_remote_fetchable(const struct weigh *w, size_t i)
{
	if (i >= w->nremote)
		fatalx("%s: index %zu of %zu", __func__, i, w->nremote);
	return w->images[w->remote[i]].fetchable;
}

/* Record remote image i's measured size, or -1 and why it is unknown. */
void
weigh_set_remote_size(struct weigh *w, size_t i, long long bytes,
    const char *why)
{
	struct weigh_image	*im;

	if (i >= w->nremote)
		fatalx("%s: index %zu of %zu", __func__, i, w->nremote);
	im = &w->images[w->remote[i]];
	im->bytes = bytes < 0 ? -1 : bytes;
	free(im->why);
	im->why = NULL;
	if (im->bytes < 0)
		im->why = xstrdup(why != NULL ? why : "could not be measured");
}

/* Note one broken limit. */
static void
weigh_over_add(struct weigh *w, const char *limit, long long measured,
    long long bound, int minimum, const char *why)
{
	struct weigh_over	*o;

	if (w->nover == WEIGH_NLIMITS)
		fatalx("%s: too many limits", __func__);
	o = &w->over[w->nover++];
	o->limit = limit;
	o->measured = measured;
	o->bound = bound;
	o->minimum = minimum;
	o->why = why;
}

/* (Re)compute the totals and the limits broken; returns their number. */
int
weigh_check(struct weigh *w)
{
	const struct weigh_limits	*lim = &w->lim;
	struct weigh_image		*im;
	long long			 total;
	size_t				 i;

	w->inline_bytes = w->remote_bytes = w->largest = 0;
	w->largest_idx = SIZE_MAX;
	w->unknown = 0;
	for (i = 0; i < w->nimages; i++) {
		im = &w->images[i];
		if (im->bytes < 0) {
			w->unknown++;
			continue;
		}
		if (im->data)
			w->inline_bytes += im->bytes;
		else
			w->remote_bytes += im->bytes;
		if (w->largest_idx == SIZE_MAX || im->bytes > w->largest) {
			w->largest = im->bytes;
			w->largest_idx = i;
		}
	}
	total = w->inline_bytes + w->remote_bytes;

	w->nover = 0;
	if (lim->max_html != 0 && w->html_bytes > lim->max_html) {
		weigh_over_add(w, "max_html", (long long)w->html_bytes,
		    (long long)lim->max_html, 0, weigh_why_max_html);
	}
	if (!w->parsed) {
		if (w->attrs > WEIGH_MAX_ATTRS) {
			weigh_over_add(w, "html_attributes",
			    (long long)w->attrs, WEIGH_MAX_ATTRS, 0,
			    weigh_why_attributes);
		}
		return (int)w->nover;
	}
	if (w->incomplete) {
		weigh_over_add(w, "html_incomplete", w->depth,
		    xmlParserMaxDepth, 0, weigh_why_incomplete);
	}
	if (lim->max_images != 0 && w->nimages > lim->max_images) {
		weigh_over_add(w, "max_images", (long long)w->nimages,
		    (long long)lim->max_images, 0, weigh_why_max_images);
	}
	if (lim->max_image != 0 && w->largest > (long long)lim->max_image) {
		weigh_over_add(w, "max_image", w->largest,
		    (long long)lim->max_image, 0, weigh_why_max_image);
	}
	if (lim->max_image_total != 0 &&
	    total > (long long)lim->max_image_total) {
		weigh_over_add(w, "max_image_total", total,
		    (long long)lim->max_image_total, 0,
		    weigh_why_max_image_total);
	}
	if (lim->min_text_per_image != 0 && w->nimages != 0 &&
	    w->text_chars / w->nimages < lim->min_text_per_image) {
		weigh_over_add(w, "min_text_per_image",
		    (long long)(w->text_chars / w->nimages),
		    (long long)lim->min_text_per_image, 1, weigh_why_min_text);
	}
	if (lim->remote_unknown_refuse && w->unknown != 0) {
		weigh_over_add(w, "remote_images_unknown",
		    (long long)w->unknown, 0, 0, weigh_why_remote_unknown);
	}
	return (int)w->nover;
}

/* Remote images of unknown size with no reason: never measured. */
static size_t
weigh_not_measured(const struct weigh *w)
{
	size_t	 i, n = 0;

	for (i = 0; i < w->nimages; i++) {
		if (!w->images[i].data && w->images[i].bytes < 0 &&
		    w->images[i].why == NULL)
			n++;
	}
	return n;
}

/* Length of a URL as reported: data: URIs are cut at a character. */
static size_t
weigh_report_len(const struct weigh_image *im, int *cut)
{
	size_t	 len = im->len;

	*cut = 0;
	if (im->data && len > WEIGH_REPORT_URL_MAX) {
		len = WEIGH_REPORT_URL_MAX - 3;
		while (len > 0 && ((unsigned char)im->url[len] & 0xc0) == 0x80)
			len--;
		*cut = 1;
	}
	return len;
}

/* A URL as reported, as a JSON string. */
static json_t *
weigh_report_url_json(const struct weigh_image *im)
{
	json_t	*j;
	char	*s;
	size_t	 len;
	int	 cut;

	len = weigh_report_len(im, &cut);
	if (!cut)
		return weigh_json_string(im->url, len);
	xasprintf(&s, "%.*s...", (int)len, im->url);
	j = weigh_json_string(s, strlen(s));
	free(s);
	return j;
}

/* Text characters per 1000 px² of image area, or -1 without area. */
static double
weigh_text_ratio(const struct weigh *w)
{
	if (w->area <= 0)
		return -1;
	return (double)w->text_chars * 1000.0 / (double)w->area;
}

/* The limits a body broke, each with what was measured and why. */
static json_t *
weigh_report_over(const struct weigh *w)
{
	const struct weigh_over	*o;
	json_t			*a = json_array(), *e;
	size_t			 i;

	for (i = 0; i < w->nover; i++) {
		o = &w->over[i];
		e = json_object();
		json_object_set_new(e, "limit", json_string(o->limit));
		json_object_set_new(e, "measured", json_integer(o->measured));
		json_object_set_new(e, o->minimum ? "min" : "max",
		    json_integer(o->bound));
		json_object_set_new(e, "why", json_string(o->why));
		json_array_append_new(a, e);
	}
	return a;
}

/* The warnings: the weigher's own, then each image's, then a summary. */
static json_t *
weigh_report_warnings(const struct weigh *w)
{
	const struct weigh_image	*im;
	json_t				*a = json_array(), *e, *k;
	size_t				 i, n;

	for (i = 0; i < w->nwarnings; i++) {
		json_array_append_new(a, weigh_json_string(w->warnings[i],
		    strlen(w->warnings[i])));
	}
	for (i = 0; i < w->nimages; i++) {
		im = &w->images[i];
		if (im->data || im->bytes >= 0 || im->why == NULL)
			continue;
		e = weigh_report_url_json(im);
		k = json_sprintf("%s: %s", json_string_value(e), im->why);
		json_decref(e);
		if (k != NULL)
			json_array_append_new(a, k);
	}
	if ((n = weigh_not_measured(w)) != 0) {
		json_array_append_new(a, json_sprintf("%zu remote image%s not "
		    "measured; %s not in the totals", n, n == 1 ? " was" :
		    "s were", n == 1 ? "its size is" : "their sizes are"));
	}
	return a;
}

/* One image of the report's image_list. */
static json_t *
weigh_report_image(const struct weigh_image *im)
{
	json_t	*e = json_object(), *k = json_array();
	size_t	 b;

	json_object_set_new(e, "url", weigh_report_url_json(im));
	for (b = 0; b < WEIGH_NKINDS; b++) {
		if (im->kinds & (1U << b))
			json_array_append_new(k,
			    json_string(weigh_kind_names[b]));
	}
	json_object_set_new(e, "kinds", k);
	json_object_set_new(e, "inline", json_boolean(im->data));
	json_object_set_new(e, "bytes", im->bytes < 0 ? json_null() :
	    json_integer(im->bytes));
	json_object_set_new(e, "uses", json_integer(im->uses));
	if (im->error != NULL || im->why != NULL) {
		json_object_set_new(e, "why", weigh_json_string(
		    im->error != NULL ? im->error : im->why,
		    strlen(im->error != NULL ? im->error : im->why)));
	}
	if (im->width != 0 || im->height != 0) {
		json_object_set_new(e, "width", json_integer(im->width));
		json_object_set_new(e, "height", json_integer(im->height));
	}
	return e;
}

/* The report as a JSON object. */
json_t *
weigh_report_json(const struct weigh *w)
{
	const struct weigh_image	*im;
	json_t				*j, *a, *e;
	size_t				 i;
	double				 ratio;

	j = json_object();
	json_object_set_new(j, "html_bytes", json_integer(w->html_bytes));
	json_object_set_new(j, "parsed", json_boolean(w->parsed));
	json_object_set_new(j, "text_chars", json_integer(w->text_chars));
	json_object_set_new(j, "images", json_integer(w->nimages));
	json_object_set_new(j, "image_refs", json_integer(w->refs));
	json_object_set_new(j, "inline_image_bytes",
	    json_integer(w->inline_bytes));
	json_object_set_new(j, "remote_image_bytes",
	    json_integer(w->remote_bytes));
	json_object_set_new(j, "image_bytes_total",
	    json_integer(w->inline_bytes + w->remote_bytes));
	json_object_set_new(j, "largest_image", json_integer(w->largest));
	json_object_set_new(j, "largest_image_url",
	    w->largest_idx == SIZE_MAX ? json_null() :
	    weigh_report_url_json(&w->images[w->largest_idx]));
	json_object_set_new(j, "image_area", json_integer(w->area));
	ratio = weigh_text_ratio(w);
	json_object_set_new(j, "text_per_1000px2",
	    ratio < 0 ? json_null() : json_real(ratio));
	json_object_set_new(j, "charset", w->charset == NULL ? json_null() :
	    weigh_json_string(w->charset, strlen(w->charset)));

	json_object_set_new(j, "over_limit", weigh_report_over(w));

	json_object_set_new(j, "warnings", weigh_report_warnings(w));

	a = json_array();
	for (i = 0; i < w->nimages; i++) {
		im = &w->images[i];
		if (!im->data && im->bytes < 0)
			json_array_append_new(a, weigh_report_url_json(im));
	}
	json_object_set_new(j, "unmeasured", a);

	a = json_array();
	for (i = 0; i < w->nimages; i++) {
		im = &w->images[i];
		if (im->error == NULL)
			continue;
		e = json_object();
		json_object_set_new(e, "url", weigh_report_url_json(im));
		json_object_set_new(e, "error", json_string(im->error));
		json_array_append_new(a, e);
	}
	json_object_set_new(j, "broken", a);

	a = json_array();
	for (i = 0; i < w->nimages; i++)
		json_array_append_new(a, weigh_report_image(&w->images[i]));
	json_object_set_new(j, "image_list", a);
	return j;
}

/* Append a URL as reported to a buffer. */
static void
weigh_report_url_text(const struct weigh_image *im, struct buf *b)
{
	size_t	 len;
	int	 cut;

	len = weigh_report_len(im, &cut);
	buf_add(b, im->url, len);
	if (cut)
		buf_adds(b, "...");
}

/* Append a limit's bound to a buffer, or "none". */
static void
weigh_report_limit(struct buf *b, size_t limit)
{
	if (limit == 0)
		buf_adds(b, "no limit");
	else
		buf_printf(b, "limit %zu", limit);
}

/* The report as human-readable lines appended to b. */
void
weigh_report_text(const struct weigh *w, struct buf *b)
{
	const struct weigh_image	*im;
	const struct weigh_over		*o;
	size_t				 i, n, ndata = 0;
	double				 ratio;

	for (i = 0; i < w->nimages; i++)
		ndata += w->images[i].data;

	buf_printf(b, "html:          %zu bytes (", w->html_bytes);
	weigh_report_limit(b, w->lim.max_html);
	buf_adds(b, w->parsed ? ")\n" : "; not parsed)\n");
	buf_printf(b, "text:          %zu visible characters\n",
	    w->text_chars);
	buf_printf(b, "images:        %zu distinct (", w->nimages);
	weigh_report_limit(b, w->lim.max_images);
	buf_printf(b, "), %zu references, %zu inline, %zu remote\n",
	    w->refs, ndata, w->nimages - ndata);
	buf_printf(b, "image bytes:   %lld known (", w->inline_bytes +
	    w->remote_bytes);
	weigh_report_limit(b, w->lim.max_image_total);
	buf_printf(b, "): %lld inline, %lld remote, %zu unknown\n",
	    w->inline_bytes, w->remote_bytes, w->unknown);
	if (w->largest_idx != SIZE_MAX) {
		buf_printf(b, "largest image: %lld bytes (", w->largest);
		weigh_report_limit(b, w->lim.max_image);
		buf_adds(b, "): ");
		weigh_report_url_text(&w->images[w->largest_idx], b);
		buf_addc(b, '\n');
	}
	buf_printf(b, "image area:    %lld px² in <img> with width and "
	    "height", w->area);
	if ((ratio = weigh_text_ratio(w)) >= 0)
		buf_printf(b, "; %.2f characters per 1000 px²", ratio);
	buf_addc(b, '\n');
	if (w->charset != NULL)
		buf_printf(b, "charset:       %s declared, sent as UTF-8\n",
		    w->charset);

	if (w->nover == 0)
		buf_adds(b, "within every limit\n");
	for (i = 0; i < w->nover; i++) {
		o = &w->over[i];
		buf_printf(b, "OVER LIMIT %s: %lld, %s %lld. %s\n", o->limit,
		    o->measured, o->minimum ? "min" : "max", o->bound, o->why);
	}
	for (i = 0; i < w->nwarnings; i++)
		buf_printf(b, "warning: %s\n", w->warnings[i]);
	for (i = 0; i < w->nimages; i++) {
		im = &w->images[i];
		if (im->data || im->bytes >= 0 || im->why == NULL)
			continue;
		buf_adds(b, "unmeasured: ");
		weigh_report_url_text(im, b);
		buf_printf(b, ": %s\n", im->why);
	}
	if ((n = weigh_not_measured(w)) != 0) {
		buf_printf(b, "warning: %zu remote image%s not measured; %s "
		    "not in the totals\n", n, n == 1 ? " was" : "s were",
		    n == 1 ? "its size is" : "their sizes are");
	}
	for (i = 0; i < w->nimages; i++) {
		im = &w->images[i];
		if (im->error == NULL)
			continue;
		buf_adds(b, "broken: ");
		weigh_report_url_text(im, b);
		buf_printf(b, ": %s\n", im->error);
	}

	n = w->nimages < WEIGH_TEXT_IMAGES_MAX ? w->nimages :
	    WEIGH_TEXT_IMAGES_MAX;
	for (i = 0; i < n; i++) {
		im = &w->images[i];
		if (im->bytes < 0)
			buf_adds(b, "  image        ? bytes ");
		else
			buf_printf(b, "  image %8lld bytes ", im->bytes);
		buf_adds(b, im->data ? "inline " : "remote ");
		if (im->uses > 1)
			buf_printf(b, "x%zu ", im->uses);
		weigh_report_url_text(im, b);
		buf_addc(b, '\n');
	}
	if (n < w->nimages)
		buf_printf(b, "  ... and %zu more images\n", w->nimages - n);
}
