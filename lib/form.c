/*
 * form.c: decoding form bodies (urlencoded and multipart/form-data) into
 * the fields a caller names.  Pure: no loop, no allocation kept past
 * form_free().
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "text.h"
#include "util.h"

/*
 * Keep a field's value if the caller wants it and it is the first of its
 * name; a wanted value must be short, clean UTF-8 text.
 */
static int
form_keep(struct form_field *fields, size_t n, const char *name,
    size_t namelen, const char *v, size_t vlen, char **cause)
{
	const char	*why;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (strlen(fields[i].name) == namelen &&
		    strncasecmp(name, fields[i].name, namelen) == 0)
			break;
	if (i == n)
		return 0;
	if (vlen > FORM_FIELD_MAX)
		return set_cause(cause, "form: field %s is longer than %d "
		    "bytes", fields[i].name, FORM_FIELD_MAX);
	/* "list\0x" must not pass for "list": refuse, do not cut. */
	if (text_check(v, vlen, TEXT_LINE, &why) == -1)
		return set_cause(cause, "form: field %s holds %s",
		    fields[i].name, why);
	if (fields[i].value == NULL)
		fields[i].value = xstrndup(v, vlen);
	return 0;
}

/* Optional white space in a header value. */
static int
form_ows(char c)
{
	return c == ' ' || c == '\t';
}
/*
 * Find parameter `name` in a header value such as `type; a=b; c="d"` (len
 * bytes) and copy its value, unquoted, into out.  Returns 0, 1 when it is
 * absent, -1 when the value is malformed or does not fit.
 */
static int
form_header_param(const char *v, size_t len, const char *name, char *out,
    size_t outsz)
{
	const char	*p, *end = v + len, *key;
	size_t		 klen, o;
	int		 toolong;

	if ((p = memchr(v, ';', len)) == NULL)
		return 1;
	p++;
	while (p < end) {
		while (p < end && form_ows(*p))
			p++;
		key = p;
		while (p < end && *p != '=' && *p != ';' && !form_ows(*p))
			p++;
		klen = (size_t)(p - key);
		while (p < end && form_ows(*p))
			p++;
		if (p < end && *p == ';') {
			p++;
			continue;	/* a parameter without a value */
		}
		if (p >= end || *p != '=')
			return klen == 0 && p >= end ? 1 : -1;
		p++;
		while (p < end && form_ows(*p))
			p++;
		o = 0;
		toolong = 0;
		if (p < end && *p == '"') {
			for (p++;; p++) {
				char	 c;

				if (p >= end)
					return -1;	/* unterminated */
				if (*p == '"') {
					p++;
					break;
				}
				if (*p == '\\' && ++p >= end)
					return -1;
				c = *p;
				if (o + 1 < outsz)
					out[o++] = c;
				else
					toolong = 1;
			}
		} else {
			for (; p < end && *p != ';' && !form_ows(*p); p++) {
				if (o + 1 < outsz)
					out[o++] = *p;
				else
					toolong = 1;
			}
		}
		out[o] = '\0';
		while (p < end && form_ows(*p))
			p++;
		if (p < end && *p != ';')
			return -1;
		if (p < end)
			p++;
		if (klen == strlen(name) && strncasecmp(key, name, klen) == 0)
			return toolong ? -1 : 0;
	}
	return 1;
}

/* A valid multipart boundary (RFC 2046 bchars, 1 to 70, no final space). */
static int
form_boundary_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > FORM_BOUNDARY_MAX || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("'()+_,-./:=? ", s[i]) == NULL)
			return 0;
	return 1;
}

/*
 * The next delimiter line "\n--BOUNDARY" at or after from, followed by
 * "--", padding or a line break (or the end, which the caller reports as
 * truncated).  Returns the '\n', or NULL.
 */
static const char *
form_find_delim(const char *from, const char *end, const char *nd,
    size_t ndlen)
{
	const char	*h, *after;

	while (from < end && (h = memmem(from, (size_t)(end - from), nd,
	    ndlen)) != NULL) {
		after = h + ndlen;
		if (after >= end || *after == '-' || *after == '\r' ||
		    *after == '\n' || form_ows(*after))
			return h;
		from = h + 1;
	}
	return NULL;
}

/* The form-data name of a part from its Content-Disposition value. */
static int
form_disposition(const char *v, size_t len, char *name, size_t namesz)
{
	while (len > 0 && form_ows(*v)) {
		v++;
		len--;
	}
	if (len < 9 || strncasecmp(v, "form-data", 9) != 0 ||
	    (len > 9 && v[9] != ';' && !form_ows(v[9])))
		return -1;
	return form_header_param(v, len, "name", name, namesz);
}

/* multipart/form-data (RFC 7578), CRLF or bare LF line ends. */
static int
form_multipart(const char *boundary, const char *body, size_t len,
    struct form_field *fields, size_t n, char **cause)
{
	char		 nd[FORM_BOUNDARY_MAX + 4], name[FORM_FIELD_MAX + 1];
	const char	*p, *end = body + len, *h, *eol, *cend;
	size_t		 ndlen, llen, nparts = 0, nheaders;
	int		 named, rc;

	ndlen = (size_t)snprintf(nd, sizeof nd, "\n--%s", boundary);
	/* The first delimiter opens the body or follows a preamble. */
	if (len >= ndlen - 1 && memcmp(body, nd + 1, ndlen - 1) == 0)
		p = body;
	else if ((h = form_find_delim(body, end, nd, ndlen)) != NULL)
		p = h + 1;
	else
		return set_cause(cause, "multipart: no boundary line");
	for (;;) {
		p += ndlen - 1;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;	/* the close delimiter; the rest is
					   epilogue */
		while (p < end && form_ows(*p))
			p++;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n')
			return set_cause(cause, "multipart: truncated or "
			    "malformed boundary line");
		p++;
		if (++nparts > FORM_PARTS_MAX)
			return set_cause(cause, "multipart: more than %d parts",
			    FORM_PARTS_MAX);
		named = 0;
		for (nheaders = 0;; nheaders++) {
			if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
				return set_cause(cause, "multipart: truncated "
				    "part headers");
			llen = (size_t)(eol - p);
			if (llen > 0 && p[llen - 1] == '\r')
				llen--;
			if (llen == 0) {
				p = eol + 1;
				break;
			}
			if (nheaders >= 8)
				return set_cause(cause, "multipart: too many "
				    "part headers");
			if (llen > 20 && strncasecmp(p, "Content-Disposition:",
			    20) == 0) {
				rc = form_disposition(p + 20, llen - 20, name,
				    sizeof name);
				if (rc == -1)
					return set_cause(cause, "multipart: "
					    "malformed Content-Disposition");
				named = rc == 0;
			}
			p = eol + 1;
		}
		/* The content ends where the next delimiter line starts. */
		if ((h = form_find_delim(p - 1, end, nd, ndlen)) == NULL)
			return set_cause(cause, "multipart: no closing "
			    "boundary (truncated body?)");
		if (h < p) {
			/* The delimiter follows the headers at once. */
			cend = p;
		} else {
			cend = h;
			if (cend > p && cend[-1] == '\r')
				cend--;
		}
		if (named && form_keep(fields, n, name, strlen(name), p,
		    (size_t)(cend - p), cause) == -1)
			return -1;
		p = h + 1;
	}
}

/*
 * Decode s (len bytes) as urlencoded ('+' is a space, %XX a byte) into a
 * new string, its length in *outlen; NULL when an escape is malformed.
 * A decoded NUL stays in the bytes for form_keep() to refuse.
 */
static char *
form_unescape(const char *s, size_t len, size_t *outlen)
{
	char	*out = xmalloc(len + 1);
	size_t	 i, o = 0;
	int	 hi, lo;

	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			out[o++] = ' ';
		else if (s[i] != '%')
			out[o++] = s[i];
		else {
			if (i + 2 >= len)
				goto bad;
			if ((hi = hexdigit(s[i + 1])) == -1 ||
			    (lo = hexdigit(s[i + 2])) == -1)
				goto bad;
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* One name=value pair of an urlencoded body. */
static int
form_pair(const char *p, size_t len, struct form_field *fields, size_t n,
    char **cause)
{
	const char	*eq;
	char		*name, *value;
	size_t		 nlen, vlen;
	int		 rc;

	if ((eq = memchr(p, '=', len)) == NULL || eq == p)
		return set_cause(cause, "form: malformed urlencoded body "
		    "(a pair without a name or '=')");
	name = form_unescape(p, (size_t)(eq - p), &nlen);
	value = form_unescape(eq + 1, len - (size_t)(eq + 1 - p), &vlen);
	if (name == NULL || value == NULL)
		rc = set_cause(cause, "form: malformed %% escape in the "
		    "urlencoded body");
	else
		rc = form_keep(fields, n, name, nlen, value, vlen, cause);
	free(name);
	free(value);
	return rc;
}

/* application/x-www-form-urlencoded: name=value pairs between '&'. */
static int
form_urlencoded(const char *body, size_t len, struct form_field *fields,
    size_t n, char **cause)
{
	const char	*p, *end, *amp;

	if (memchr(body, '\0', len) != NULL)
		return set_cause(cause, "form: NUL byte in the body");
	/* Some senders end the body with a line break. */
	while (len > 0 && (body[len - 1] == '\r' || body[len - 1] == '\n' ||
	    form_ows(body[len - 1])))
		len--;
	for (p = body, end = body + len; p < end; p = amp + 1) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if (form_pair(p, (size_t)(amp - p), fields, n, cause) == -1)
			return -1;
	}
	return 0;
}

/* Parse a form body by its Content-Type (see form.h). */
int
form_parse(const char *ctype, const char *body, size_t len,
    struct form_field *fields, size_t n, char **cause)
{
	char		 boundary[FORM_BOUNDARY_MAX + 2];
	size_t		 tlen, i;
	int		 rc;

	for (i = 0; i < n; i++)
		fields[i].value = NULL;
	if (len > FORM_MAX)
		return set_cause(cause, "form: body of %zu bytes is over %d",
		    len, FORM_MAX);
	if (body == NULL)
		body = "";
	tlen = ctype != NULL ? strcspn(ctype, "; \t") : 0;
	if (tlen == 19 && strncasecmp(ctype, "multipart/form-data", 19) == 0) {
		rc = form_header_param(ctype, strlen(ctype), "boundary",
		    boundary, sizeof boundary);
		if (rc != 0 || !form_boundary_ok(boundary))
			return set_cause(cause, "multipart: %s boundary",
			    rc == 1 ? "no" : "malformed");
		rc = form_multipart(boundary, body, len, fields, n, cause);
	} else
		/* Without a Content-Type, or any other, read it as a form. */
		rc = form_urlencoded(body, len, fields, n, cause);
	if (rc == -1)
		form_free(fields, n);
	return rc;
}

/* Free the values of the fields. */
void
form_free(struct form_field *fields, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		free(fields[i].value);
		fields[i].value = NULL;
	}
}
