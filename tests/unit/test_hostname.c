/*
 * test_hostname.c: the default name for EHLO and Message-IDs is the
 * fully qualified one.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "hostname.h"
#include "util.h"

Test(hostname, tells_a_qualified_name)
{
	static const struct {
		const char	*name;
		int		 qualified;
	} cases[] = {
		{ "mail.example.com", 1 },
		{ "vm", 0 },
		{ "localhost", 0 },
		{ "vm.", 0 },
		{ ".example", 0 },
		{ "a.b", 1 },
		{ "", 0 },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		cr_expect_eq(hostname_qualified(cases[i].name),
		    cases[i].qualified, "\"%s\"", cases[i].name);
}

Test(hostname, picks_the_canonical_name_when_the_host_is_short)
{
	static const struct {
		const char	*what, *host, *canon, *want;
	} cases[] = {
		{ "a short host, a qualified canonical name", "vm",
		    "vm.example.com", "vm.example.com" },
		{ "a qualified host wins", "mx.example.org", "other.example.com",
		    "mx.example.org" },
		{ "no canonical name", "vm", NULL, "vm" },
		{ "a canonical name as short as the host", "vm", "vm", "vm" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		cr_expect_str_eq(hostname_pick(cases[i].host, cases[i].canon),
		    cases[i].want, "%s", cases[i].what);
}

Test(hostname, warns_exactly_when_the_default_is_short)
{
	char	*warning = NULL, *name = hostname_default(&warning);

	cr_assert_not_null(name);
	cr_expect_eq(warning != NULL, !hostname_qualified(name), "%s: %s",
	    name, warning != NULL ? warning : "no warning");
	if (warning != NULL)
		cr_expect_not_null(strstr(warning, "[daemon] hostname"));
	free(name);
	free(warning);
}
