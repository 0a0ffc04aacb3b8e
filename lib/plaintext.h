/*
 * plaintext.h: a plain-text version of an HTML body, read with
 * libxml2's HTML parser (no network, no entity expansion beyond HTML's
 * own).
 *
 * For readers who asked for plain text, and for every HTML-only campaign
 * (sent as multipart/alternative with this text, as mail clients and
 * spam filters expect).  Paragraphs, headings, list items, table rows
 * and line breaks are kept as lines; links become their text followed by
 * the address in parentheses (once, when text and address are the same);
 * images become their alt text; script, style, head and hidden elements
 * are left out; whitespace is folded and lines are wrapped at
 * PLAINTEXT_WIDTH where words allow.  No markup is left.  Placeholders
 * such as {{name}} and {{unsubscribe_url}}, in text or in an href, come
 * through unchanged for the renderer to fill.
 */
#ifndef MANNERS_PLAINTEXT_H
#define MANNERS_PLAINTEXT_H

#include <stddef.h>

#define PLAINTEXT_WIDTH	76

/*
 * The text of len bytes of UTF-8 HTML as a NUL-terminated string the
 * caller frees, its length in *outlen when not NULL; NULL with *cause
 * only when the parser cannot run.
 */
char	*plaintext_from_html(const char *, size_t, size_t *, char **);

#endif
