/*
 * fuzz_addr.c: libFuzzer target for the address checks.
 *
 * The input is a recipient address as a campaign or the control API
 * gives it (any bytes, NUL included).  What addr_check() accepts must
 * hold what the rest of manners relies on: printable ASCII without
 * spaces, one local part and a hostname, at most ADDR_MAX bytes.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "util.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* An accepted address, checked again by its promises. */
static void
fuzz_addr_accepted(const char *a, size_t len)
{
	char		 norm[ADDR_MAX + 1];
	const char	*dom, *at;
	size_t		 i;

	if (len == 0 || len > ADDR_MAX || strlen(a) != len)
		abort();
	for (i = 0; i < len; i++)
		if (!isgraph((unsigned char)a[i]))
			abort();
	at = strrchr(a, '@');
	if (at == NULL || at == a || (size_t)(at - a) > ADDR_LOCAL_MAX)
		abort();
	dom = addr_domain(a);
	if (dom != at + 1 || addr_check_hostname(dom, strlen(dom), NULL) != 0)
		abort();
	addr_normalize(a, norm, sizeof norm);
	if (strlen(norm) != len || strcasecmp(norm, a) != 0)
		abort();
	/* The lower-cased key is an address too. */
	if (addr_check(norm, len, NULL) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	 small[16];
	char	*a, *cause = NULL;

	a = xstrndup((const char *)data, size);
	/* The length given is the truth, NUL bytes included. */
	if (addr_check((const char *)data, size, &cause) == 0) {
		if (cause != NULL)
			abort();
		fuzz_addr_accepted(a, size);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	cause = NULL;
	if (addr_check_hostname((const char *)data, size, &cause) == -1) {
		if (cause == NULL)
			abort();
		free(cause);
	}
	(void)addr_domain(a);
	/* A short output buffer is cut, never overrun. */
	addr_normalize(a, small, sizeof small);
	if (strlen(small) >= sizeof small)
		abort();
	free(a);
	return 0;
}
