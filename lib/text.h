/*
 * text.h: small helpers over text that several modules need once:
 * trimming white space, escaping for HTML, and checking that a value is
 * UTF-8 text without control characters.
 */
#ifndef MANNERS_TEXT_H
#define MANNERS_TEXT_H

#include <stddef.h>

struct buf;

/* Which line breaks text_check() lets through (besides no controls). */
enum text_allow {
	TEXT_LINE = 0,		/* one line: no control character at all */
	TEXT_MULTILINE		/* CR, LF and TAB too (a body, a list) */
};

/* Trim ASCII white space at both ends, in place; returns the start. */
char	*text_trim(char *);

/* Trim ASCII white space at both ends of the span *s, *len bytes. */
void	 text_trim_span(const char **, size_t *);

/* Append s with & < > " ' escaped for HTML. */
void	 text_html_escape(struct buf *, const char *);

/*
 * Is s (len bytes) valid UTF-8 with no control character: C0 (except
 * what allow lets through), DEL, or C1 (U+0080 to U+009F)?  Returns 0,
 * or -1 with *why set to a static phrase "a control character" or
 * "invalid UTF-8" (why may be NULL).  A NUL byte counts as
 * a control character.
 */
int	 text_check(const char *, size_t, enum text_allow, const char **);

#endif
