/*
 * test_hostport.c: the one listen-address parser, one row per shape.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hostport.h"
#include "util.h"

Test(hostport, splits_good_addresses)
{
	static const struct {
		const char	*s, *host;
		uint16_t	 port;
	} rows[] = {
		{ "127.0.0.1:8025", "127.0.0.1", 8025 },
		{ "localhost:1", "localhost", 1 },
		{ "mail-1.example.org:65535", "mail-1.example.org", 65535 },
		{ "[::1]:9100", "::1", 9100 },
		{ "[fe80::1%eth0]:9100", "fe80::1%eth0", 9100 },
		{ "::1:9100", "::1", 9100 },
		{ "*:8025", "0.0.0.0", 8025 },
		{ ":8025", "0.0.0.0", 8025 },
		{ "0.0.0.0:08025", "0.0.0.0", 8025 },
	};
	size_t		 i;
	char		*host, *cause;
	uint16_t	 port;

	for (i = 0; i < nitems(rows); i++) {
		host = cause = NULL;
		port = 0;
		cr_assert_eq(hostport_parse(rows[i].s, "k", &host, &port,
		    &cause), 0, "%s refused: %s", rows[i].s, cause);
		cr_expect_str_eq(host, rows[i].host, "%s", rows[i].s);
		cr_expect_eq(port, rows[i].port, "%s", rows[i].s);
		free(host);
		/* Checking only, without the host. */
		cr_expect_eq(hostport_parse(rows[i].s, NULL, NULL, NULL, NULL),
		    0, "%s", rows[i].s);
	}
}

Test(hostport, refuses_bad_addresses_naming_key_and_value)
{
	static const char *bad[] = {
		"", "8025", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
		"127.0.0.1:65536", "127.0.0.1:9100abc", "127.0.0.1: 9100",
		"127.0.0.1:+9100", "127.0.0.1:-1", "127.0.0.1:0x10",
		"127.0.0.1:999999", "host name:80", "ho/st:80", "[::1:80",
		"[::1]80", "[]:80", "[localhost]:80", "[::1]:", "a\nb:80",
		"127.0.0.1:80\n", "*x:80",
	};
	size_t		 i;
	char		*host, *cause, *want;
	uint16_t	 port;

	for (i = 0; i < nitems(bad); i++) {
		host = cause = NULL;
		cr_expect_eq(hostport_parse(bad[i], "metrics_listen", &host,
		    &port, &cause), -1, "\"%s\" accepted", bad[i]);
		cr_expect_null(host, "%s", bad[i]);
		xasprintf(&want, "metrics_listen = %s: want HOST:PORT", bad[i]);
		cr_expect_not_null(cause, "%s", bad[i]);
		if (cause != NULL)
			cr_expect(strstr(cause, want) != NULL, "%s", cause);
		free(want);
		free(cause);
	}
}
