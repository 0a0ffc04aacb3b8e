/*
 * mx.h: MX lookups with c-ares, on the event loop.
 *
 * A lookup never blocks the loop: c-ares's sockets are libevent events
 * and its timeouts a libevent timer.  The answer comes to one callback
 * with the domain's MX hosts and the answer's smallest TTL, or an error
 * (no MX, NXDOMAIN, a timeout) in words for the log.
 */
#ifndef MANNERS_MX_H
#define MANNERS_MX_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

struct mx_resolver;

/* hosts and nhosts, ttl (s) on success; error non-NULL on failure. */
typedef void	(*mx_cb)(void *, const char *, const char **, size_t,
		    int64_t, const char *);

/*
 * A resolver on base; servers "IP[:PORT],..." or NULL for the system's
 * (/etc/resolv.conf).  NULL with *cause when c-ares cannot start.
 */
struct mx_resolver	*mx_new(struct event_base *, const char *, mx_cb,
			    void *, char **);
/*
 * Look up domain's MX records; the callback answers (at once only for a
 * name c-ares refuses).  At most 128 lookups are on their way at once;
 * more wait their turn in order.
 */
void			 mx_lookup(struct mx_resolver *, const char *);
/* Lookups still waiting for an answer. */
size_t			 mx_pending(const struct mx_resolver *);
/* Stop: pending lookups are dropped without a callback. */
void			 mx_free(struct mx_resolver *);

#endif
