/*
 * form.h: the decoder of HTML form bodies, application/x-www-form-
 * urlencoded and multipart/form-data (RFC 7578), with no event loop.
 *
 * The caller names the fields it wants; every other field is skipped.  A
 * wanted value must be UTF-8 text without control characters (a NUL, a
 * line break, DEL or C1): a form that carries one is refused whole, so a
 * value such as "list%00" is never taken for "list".
 */
#ifndef MANNERS_FORM_H
#define MANNERS_FORM_H

#include <stddef.h>

/* Largest form body, largest kept value. */
#define FORM_MAX		(16 * 1024)
#define FORM_FIELD_MAX		256
/* Most parts in a multipart body, longest boundary (RFC 2046). */
#define FORM_PARTS_MAX		32
#define FORM_BOUNDARY_MAX	70

/* A field the caller wants: its name, and after form_parse its value. */
struct form_field {
	const char	*name;		/* matched without regard to case */
	char		*value;		/* the first value, or NULL if absent */
};

/*
 * Parse a body by its Content-Type: multipart/form-data (with its
 * boundary), else (no Content-Type or any other) urlencoded.  Fills the
 * values of the n fields.  Returns 0, or -1 with *cause set (for logs)
 * when the body is malformed, truncated, over the bounds above, or holds
 * a wanted value that is not clean text; every value is then NULL.
 */
int	 form_parse(const char *, const char *, size_t, struct form_field *,
	    size_t, char **);
/* Free the values of the n fields and set them to NULL. */
void	 form_free(struct form_field *, size_t);

#endif
