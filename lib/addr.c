/*
 * addr.c: recipient address checks.
 */
#include <ctype.h>
#include <string.h>

#include "addr.h"
#include "util.h"

/* RFC 5322 atext, less nothing: the characters of a dot-atom. */
static int
addr_atext(int c)
{
	if (isalnum(c))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* A hostname: dot-separated LDH labels of 1..63, at least two labels. */
int
addr_check_hostname(const char *d, size_t len, char **cause)
{
	size_t	 i, label = 0, labels = 1;

	if (len == 0)
		return set_cause(cause, "no domain after @");
	if (len > 253)
		return set_cause(cause, "domain longer than 253 octets");
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)d[i];

		if (c == '.') {
			if (label == 0)
				return set_cause(cause, "empty label in domain");
			if (d[i - 1] == '-')
				return set_cause(cause, "domain label ends "
				    "with a hyphen");
			label = 0;
			labels++;
			continue;
		}
		if (c >= 0x80)
			return set_cause(cause, "non-ASCII domain (use its "
			    "punycode xn-- form)");
		if (!isalnum(c) && c != '-')
			return set_cause(cause, "character 0x%02x not allowed "
			    "in a domain", c);
		if (label == 0 && c == '-')
			return set_cause(cause, "domain label starts with a "
			    "hyphen");
		if (++label > ADDR_LABEL_MAX)
			return set_cause(cause, "domain label longer than 63 "
			    "octets");
	}
	if (label == 0)
		return set_cause(cause, "domain ends with a dot");
	if (d[len - 1] == '-')
		return set_cause(cause, "domain label ends with a hyphen");
	if (labels < 2)
		return set_cause(cause, "domain \"%.*s\" has no dot", (int)len,
		    d);
	return 0;
}

/* Check one address; `cause` says what is wrong for the report. */
int
addr_check(const char *a, size_t len, char **cause)
{
	const char	*at;
	size_t		 local, i;

	if (len == 0)
		return set_cause(cause, "empty address");
	if (len > ADDR_MAX)
		return set_cause(cause, "address longer than %d octets",
		    ADDR_MAX);
	for (i = 0; i < len; i++) {
		unsigned char	c = (unsigned char)a[i];

		if (c < 0x20 || c == 0x7f)
			return set_cause(cause, "control character in "
			    "address");
		if (c == ' ')
			return set_cause(cause, "space in address");
		if (c >= 0x80)
			return set_cause(cause, "non-ASCII address (SMTPUTF8 "
			    "is not supported)");
	}
	if ((at = memrchr(a, '@', len)) == NULL)
		return set_cause(cause, "no @ in address");
	local = (size_t)(at - a);
	if (local == 0)
		return set_cause(cause, "empty local part");
	if (local > ADDR_LOCAL_MAX)
		return set_cause(cause, "local part longer than %d octets",
		    ADDR_LOCAL_MAX);
	if (a[0] == '.' || a[local - 1] == '.')
		return set_cause(cause, "local part starts or ends with a dot");
	for (i = 0; i < local; i++) {
		if (a[i] == '.') {
			if (a[i + 1] == '.')
				return set_cause(cause, "two dots in a row in "
				    "local part");
			continue;
		}
		if (!addr_atext((unsigned char)a[i]))
			return set_cause(cause, "character '%c' not allowed "
			    "in local part", a[i]);
	}
	return addr_check_hostname(at + 1, len - local - 1, cause);
}

/* Lower-case the whole address into `out` (at least ADDR_MAX + 1). */
void
addr_normalize(const char *a, char *out, size_t outsz)
{
	size_t	 i;

	for (i = 0; a[i] != '\0' && i + 1 < outsz; i++)
		out[i] = (char)tolower((unsigned char)a[i]);
	out[i] = '\0';
}

/* The domain part of a checked address. */
const char *
addr_domain(const char *a)
{
	const char	*at;

	if ((at = strrchr(a, '@')) == NULL)
		return "";
	return at + 1;
}
