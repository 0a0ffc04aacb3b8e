/*
 * conf_check.c: the link values of the configuration, checked, and the
 * advice about a valid file (see conf_check.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "conf.h"
#include "conf_check.h"
#include "util.h"

/* Bytes that would break the <...> of List-Unsubscribe or a link. */
static const char conf_check_unsafe[] = " \t\r\n\"<>\\^`{|}";

/* Any control character, DEL or non-ASCII byte? */
static int
conf_check_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 1;
	return 0;
}

int
conf_check_public_url(const char *v, char **out, char **cause)
{
	const char	*host;
	size_t		 len, hostlen;

	if (strncasecmp(v, "https://", 8) == 0)
		host = v + 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		host = v + 7;
	else
		return set_cause(cause, "public_url \"%s\" must start with "
		    "https:// (or http://), e.g. https://news.example.com", v);
	if (conf_check_has_ctl(v) || strpbrk(v, conf_check_unsafe) != NULL)
		return set_cause(cause, "public_url \"%s\" has a space, a "
		    "quote, an angle bracket or another byte a link cannot "
		    "hold", v);
	if (strpbrk(v, "?#") != NULL)
		return set_cause(cause, "public_url \"%s\" has a query or a "
		    "fragment; manners appends /u/TOKEN, so give the base "
		    "only", v);
	hostlen = strcspn(host, "/");
	if (hostlen == 0 || host[0] == ':' || host[0] == '@' ||
	    memchr(host, '@', hostlen) != NULL)
		return set_cause(cause, "public_url \"%s\" has no host (or "
		    "names a user): want https://HOST[:PORT][/PATH]", v);
	/* Trailing slashes would make every link ...//u/TOKEN, a 404. */
	len = strlen(v);
	while (len > (size_t)(host - v) + hostlen && v[len - 1] == '/')
		len--;
	*out = xstrndup(v, len);
	return 0;
}

int
conf_check_mailto(const char *v, char **out, char **cause)
{
	const char	*a = v;

	if (strncasecmp(a, "mailto:", 7) == 0)
		a += 7;
	if (conf_check_has_ctl(v) || strpbrk(a, conf_check_unsafe) != NULL ||
	    strchr(a, '?') != NULL)
		return set_cause(cause, "unsubscribe_mailto \"%s\": want one "
		    "address such as unsubscribe@news.example.com, without "
		    "spaces, angle brackets or \"?\" (manners adds "
		    "?subject=unsubscribe TOKEN)", v);
	if (addr_check(a, strlen(a), NULL) == -1)
		return set_cause(cause, "unsubscribe_mailto \"%s\" is not a "
		    "valid address (want e.g. unsubscribe@news.example.com)",
		    v);
	*out = xstrdup(a);
	return 0;
}

/* Is the URL's host a loopback name (the development set-up)? */
static int
conf_check_loopback(const char *host)
{
	return strncasecmp(host, "localhost", 9) == 0 ||
	    strncmp(host, "127.", 4) == 0 || strncmp(host, "[::1]", 5) == 0;
}

void
conf_check_advice(const struct conf *c, void (*warn)(void *, const char *),
    void *arg)
{
	char	*s;

	/* A file meant for production that links to this machine. */
	if (c->path != NULL && c->public_url != NULL &&
	    strncasecmp(c->public_url, "http://", 7) == 0 &&
	    conf_check_loopback(c->public_url + 7)) {
		xasprintf(&s, "[daemon] public_url = %s: the unsubscribe links "
		    "in messages point at this machine, which recipients "
		    "cannot reach; set it to the public https:// address of "
		    "the proxy in front of public_listen", c->public_url);
		warn(arg, s);
		free(s);
	}
	if (c->public_url != NULL &&
	    strncasecmp(c->public_url, "http://", 7) == 0 &&
	    !conf_check_loopback(c->public_url + 7)) {
		xasprintf(&s, "[daemon] public_url = %s is plain http: RFC 8058 "
		    "one-click unsubscribe wants an https:// link (mail "
		    "providers may show no unsubscribe button); put a TLS "
		    "proxy in front of public_listen and give its https:// "
		    "address", c->public_url);
		warn(arg, s);
		free(s);
	}
}
