/*
 * hostport.c: parsing "HOST:PORT" listen addresses, once, for every
 * listener and for the configuration check.
 */
#include <ctype.h>
#include <string.h>

#include "hostport.h"
#include "util.h"

/*
 * Is [h, he) a host we could bind: a name or IPv4 address of letters,
 * digits, '.', '-' and '_', or an IPv6 address (ipv6) of hex
 * digits, ':', '.' and a "%zone"?
 */
static int
hostport_host_ok(const char *h, const char *he, int ipv6)
{
	const char	*p;
	int		 zone = 0;

	if (he - h > 253)
		return 0;
	for (p = h; p < he; p++) {
		unsigned char	 c = (unsigned char)*p;

		if (zone && (isalnum(c) || c == '.' || c == '-' || c == '_'))
			continue;
		if (ipv6 && (isxdigit(c) || c == ':' || c == '.'))
			continue;
		if (ipv6 && c == '%' && p > h) {
			zone = 1;
			continue;
		}
		if (!ipv6 && (isalnum(c) || c == '.' || c == '-' ||
		    c == '_'))
			continue;
		return 0;
	}
	/* An IPv6 address has a colon; brackets around a name are a typo. */
	return !ipv6 || memchr(h, ':', (size_t)(he - h)) != NULL;
}

/* The decimal port after the colon: 1 to 65535, digits only. */
static int
hostport_port(const char *s, uint16_t *port)
{
	unsigned long	 p = 0;
	size_t		 n;

	for (n = 0; s[n] != '\0'; n++) {
		if (!isdigit((unsigned char)s[n]) || n >= 5)
			return -1;
		p = p * 10 + (unsigned long)(s[n] - '0');
	}
	if (n == 0 || p == 0 || p > 65535)
		return -1;
	*port = (uint16_t)p;
	return 0;
}

/* Split "HOST:PORT" (see hostport.h). */
int
hostport_parse(const char *s, const char *key, char **host, uint16_t *port,
    char **cause)
{
	const char	*colon, *h = s, *he;
	uint16_t	 p;
	int		 ipv6 = 0;

	if (*s == '[') {
		if ((he = strchr(s, ']')) == NULL || he[1] != ':')
			goto bad;
		h = s + 1;
		colon = he + 1;
		ipv6 = 1;
		if (he == h)
			goto bad;
	} else {
		/* "::1:8025", as before brackets were asked for: the port
		   is after the last colon and the host must be IPv6. */
		if ((colon = strrchr(s, ':')) == NULL)
			goto bad;
		he = colon;
		ipv6 = memchr(s, ':', (size_t)(he - s)) != NULL;
	}
	if (hostport_port(colon + 1, &p) == -1)
		goto bad;
	if (*s != '[' && (he == h || (he - h == 1 && *h == '*'))) {
		if (host != NULL)
			*host = xstrdup("0.0.0.0");
	} else if (!hostport_host_ok(h, he, ipv6))
		goto bad;
	else if (host != NULL)
		*host = xstrndup(h, (size_t)(he - h));
	if (port != NULL)
		*port = p;
	return 0;
bad:
	return set_cause(cause, "%s%s%s: want HOST:PORT with a port of 1 to "
	    "65535, for example 127.0.0.1:8025 or [::1]:8025",
	    key != NULL ? key : "", key != NULL ? " = " : "", s);
}
