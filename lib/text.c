/*
 * text.c: trimming, HTML escaping and the check for clean UTF-8 text,
 * one copy each for the page, the message, the campaign, the config and
 * the form parsers.
 */
#include <ctype.h>
#include <string.h>

#include "text.h"
#include "util.h"

/* Trim ASCII white space at both ends, in place; returns the start. */
char *
text_trim(char *s)
{
	char	*e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Trim ASCII white space at both ends of a span, without copying. */
void
text_trim_span(const char **s, size_t *len)
{
	const char	*a = *s;
	size_t		 n = *len;

	while (n > 0 && isspace((unsigned char)a[n - 1]))
		n--;
	while (n > 0 && isspace((unsigned char)*a)) {
		a++;
		n--;
	}
	*s = a;
	*len = n;
}

/* Append s with the five HTML-special characters escaped. */
void
text_html_escape(struct buf *b, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		const char	*rep;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
}

/*
 * The length of the UTF-8 sequence at p (at most left bytes) and its code
 * point in *cp, or 0 when it is not a shortest-form, non-surrogate
 * sequence of at most U+10FFFF.
 */
static size_t
text_utf8_seq(const unsigned char *p, size_t left, unsigned long *cp)
{
	static const unsigned long min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t		 n, i;
	unsigned long	 c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else
		return 0;
	if (n > left)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (p[i] & 0x3f);
	}
	/* Overlong forms and surrogates hide characters from checks. */
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Is s valid UTF-8 without control characters (see text.h)? */
int
text_check(const char *s, size_t len, enum text_allow allow,
    const char **why)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	unsigned long	 cp;
	size_t		 n;
	const char	*dummy;

	if (why == NULL)
		why = &dummy;
	for (; p < end; p += n) {
		if ((n = text_utf8_seq(p, (size_t)(end - p), &cp)) == 0) {
			*why = "invalid UTF-8";
			return -1;
		}
		if (allow == TEXT_MULTILINE &&
		    (cp == '\r' || cp == '\n' || cp == '\t'))
			continue;
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
			*why = "a control character";
			return -1;
		}
	}
	return 0;
}
