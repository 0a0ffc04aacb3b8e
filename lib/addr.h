/*
 * addr.h: recipient address checks and normalisation.
 *
 * manners accepts the dot-atom form of RFC 5321 addresses with an ASCII
 * (or punycode) hostname: what newsletters are sent to.  Quoted local
 * parts, address literals and SMTPUTF8 addresses are refused as
 * invalid_address rather than half-supported.
 */
#ifndef MANNERS_ADDR_H
#define MANNERS_ADDR_H

#include <stddef.h>

#define ADDR_MAX	254	/* RFC 5321 path limit less the brackets */
#define ADDR_LOCAL_MAX	64
#define ADDR_LABEL_MAX	63

int		 addr_check(const char *, size_t, char **);
int		 addr_check_hostname(const char *, size_t, char **);
/* Lower-cased copy for history keys; the original is used in To:. */
void		 addr_normalize(const char *, char *, size_t);
const char	*addr_domain(const char *);

#endif
