/*
 * hostname.h: the name mannersd gives in EHLO and in every Message-ID
 * when [daemon] hostname is not set: the host's fully qualified name.
 */
#ifndef MANNERS_HOSTNAME_H
#define MANNERS_HOSTNAME_H

/* Does the name have a domain (a dot inside, not at either end)? */
int	 hostname_qualified(const char *);
/*
 * Of the host's own name and the resolver's canonical name for it (NULL
 * when there is none), the one to use: the first that is qualified,
 * else the host's.
 */
const char *hostname_pick(const char *, const char *);
/*
 * The host's name, qualified through the resolver (getaddrinfo with
 * AI_CANONNAME, which reads /etc/hosts and DNS as configured); the
 * caller frees.  *warning (the caller frees) says why when the result is
 * not qualified; NULL otherwise.
 */
char	*hostname_default(char **);

#endif
