/*
 * hostname.c: the host's fully qualified name, for EHLO and Message-IDs.
 */
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostname.h"
#include "util.h"

int
hostname_qualified(const char *s)
{
	const char	*dot = strchr(s, '.');
	size_t		 len = strlen(s);

	return dot != NULL && dot != s && s[len - 1] != '.';
}

const char *
hostname_pick(const char *host, const char *canon)
{
	if (hostname_qualified(host))
		return host;
	if (canon != NULL && hostname_qualified(canon))
		return canon;
	return host;
}

char *
hostname_default(char **warning)
{
	struct addrinfo	 hints, *res = NULL;
	char		 host[HOST_NAME_MAX + 1];
	char		*name;

	*warning = NULL;
	if (gethostname(host, sizeof host) == -1 || *host == '\0')
		strcpy(host, "localhost");
	host[sizeof host - 1] = '\0';
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_CANONNAME;
	if (!hostname_qualified(host) &&
	    getaddrinfo(host, NULL, &hints, &res) != 0)
		res = NULL;
	name = xstrdup(hostname_pick(host, res != NULL ? res->ai_canonname :
	    NULL));
	if (res != NULL)
		freeaddrinfo(res);
	if (!hostname_qualified(name))
		xasprintf(warning, "the host name \"%s\" is not fully "
		    "qualified and the resolver gives no domain for it; "
		    "receiving servers check the EHLO name and Message-IDs "
		    "carry it: set [daemon] hostname = a name with a domain "
		    "(e.g. mail.example.com)", name);
	return name;
}
