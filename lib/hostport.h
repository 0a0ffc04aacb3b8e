/*
 * hostport.h: the one parser of listen addresses, "HOST:PORT", for every
 * TCP listener (public_listen, metrics_listen) and for `mannersd -t`.
 */
#ifndef MANNERS_HOSTPORT_H
#define MANNERS_HOSTPORT_H

#include <stdint.h>

/*
 * Split s into a host to bind and a port: "127.0.0.1:8025",
 * "localhost:8025", "[::1]:8025", and "*:8025" or ":8025" for every IPv4
 * address ("0.0.0.0").  The port is 1 to 65535 in decimal and nothing
 * else ("9100abc" is refused).  Returns 0 with *host (the caller frees)
 * and *port set, or -1 with *cause naming key and value (key may be
 * NULL; host may be NULL to check only).
 */
int	 hostport_parse(const char *, const char *, char **, uint16_t *,
	    char **);

#endif
