/*
 * fuzz_conf.c: libFuzzer target for the configuration parser.
 *
 * The input is a manners.conf.  A file conf_parse() accepts is queried as
 * the daemon does (per-list policies, per-domain rates); the value
 * parsers also get the whole input as one value.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Ask an accepted configuration what the daemon asks it. */
static void
fuzz_conf_query(struct conf *c)
{
	struct conf_policy	 pol;
	struct conf_rate	 r;
	size_t			 i;

	conf_policy_for(c, "news.example.com", &pol);
	conf_policy_for(c, "", &pol);
	for (i = 0; i < c->nlists; i++) {
		if (c->lists[i].name == NULL)
			abort();
		conf_policy_for(c, c->lists[i].name, &pol);
	}
	r = conf_domain_rate(c, "example.org");
	(void)r;
	for (i = 0; i < c->ndomains; i++) {
		if (c->domains[i].name == NULL)
			abort();
		r = conf_domain_rate(c, c->domains[i].name);
	}
	if (c->map_max < c->map_size)
		abort();
	/* A second holder, as a reload does. */
	conf_free(conf_ref(c));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf		*c = NULL;
	struct conf_rate	 rate;
	struct conf_cap		 cap;
	uint64_t		 v;
	char			*cause = NULL, *s;

	if (conf_parse((const char *)data, size, "fuzz.conf", &c,
	    &cause) == 0) {
		if (c == NULL)
			abort();
		fuzz_conf_query(c);
		conf_free(c);
	} else {
		if (c != NULL || cause == NULL)
			abort();
		free(cause);
	}

	s = xstrndup((const char *)data, size);
	cause = NULL;
	if (conf_parse_duration(s, &v, &cause) == -1)
		free(cause);
	cause = NULL;
	if (conf_parse_size(s, &v, &cause) == -1)
		free(cause);
	cause = NULL;
	if (conf_parse_rate(s, &rate, &cause) == -1)
		free(cause);
	cause = NULL;
	if (conf_parse_cap(s, &cap, &cause) == -1)
		free(cause);
	free(s);
	return 0;
}
