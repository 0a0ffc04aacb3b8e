/*
 * test_addr.c: the recipient address checker, normalisation and the
 * domain accessor.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "addr.h"
#include "util.h"

/* One row: an address (given with its length, so NULs could be tested). */
struct addr_case {
	const char	*what;
	const char	*addr;
	const char	*cause;		/* a substring of the cause; NULL: valid */
};

/* Check one row and report it by its name. */
static void
addr_expect(const struct addr_case *t)
{
	char	*cause = NULL;
	int	 rv;

	rv = addr_check(t->addr, strlen(t->addr), &cause);
	if (t->cause == NULL) {
		cr_expect_eq(rv, 0, "%s: \"%s\" was refused: %s", t->what,
		    t->addr, cause != NULL ? cause : "(no cause)");
		cr_expect_null(cause, "%s: a cause was set for a valid "
		    "address", t->what);
	} else {
		cr_expect_eq(rv, -1, "%s: \"%s\" was accepted", t->what,
		    t->addr);
		cr_expect_not_null(cause, "%s: no cause given", t->what);
		if (cause != NULL)
			cr_expect(strstr(cause, t->cause) != NULL,
			    "%s: cause \"%s\" does not mention \"%s\"",
			    t->what, cause, t->cause);
	}
	free(cause);
}

/* A string of n copies of c followed by suffix (caller frees). */
static char *
repeat(char c, size_t n, const char *suffix)
{
	size_t	 slen = strlen(suffix);
	char	*s;

	s = xmalloc(n + slen + 1);
	memset(s, c, n);
	memcpy(s + n, suffix, slen + 1);
	return s;
}

Test(addr, accepts_ordinary_dot_atom_addresses)
{
	static const struct addr_case cases[] = {
		{ "a plain address", "alice@example.org", NULL },
		{ "upper case", "Alice@Example.ORG", NULL },
		{ "dots in the local part", "first.middle.last@example.org",
		    NULL },
		{ "plus tag", "bob+news@example.net", NULL },
		{ "every atext special", "!#$%&'*+-/=?^_`{|}~@example.com",
		    NULL },
		{ "digits everywhere", "123@456.example789.com", NULL },
		{ "hyphen inside a label", "a@mail-relay.example.com", NULL },
		{ "punycode domain", "a@xn--bcher-kva.example", NULL },
		{ "single-character labels", "x@a.b.c", NULL },
		{ "a one-character local part", "x@example.com", NULL },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		addr_expect(&cases[i]);
}

Test(addr, refuses_control_characters_and_spaces)
{
	static const struct addr_case cases[] = {
		{ "CR in the local part", "ali\rce@example.org", "control" },
		{ "LF in the local part", "alice\n@example.org", "control" },
		{ "CRLF injection after the domain",
		    "alice@example.org\r\nBcc: eve@evil.example", "control" },
		{ "SOH (\\x01)", "al\x01ice@example.org", "control" },
		{ "DEL (\\x7f)", "alice\x7f@example.org", "control" },
		{ "TAB", "alice\t@example.org", "control" },
		{ "ESC in the domain", "alice@exa\x1bmple.org", "control" },
		{ "a space", "alice smith@example.org", "space" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		addr_expect(&cases[i]);
}

Test(addr, refuses_an_embedded_nul_by_length)
{
	static const char a[] = "alice\0@example.org";
	char		*cause = NULL;

	cr_expect_eq(addr_check(a, sizeof a - 1, &cause), -1);
	cr_expect(cause != NULL && strstr(cause, "control") != NULL);
	free(cause);
}

Test(addr, refuses_structural_mistakes)
{
	static const struct addr_case cases[] = {
		{ "no @ at all", "alice.example.org", "no @" },
		{ "empty local part", "@example.org", "empty local part" },
		{ "nothing after @", "alice@", "no domain" },
		{ "leading dot in the local part", ".alice@example.org",
		    "dot" },
		{ "trailing dot in the local part", "alice.@example.org",
		    "dot" },
		{ "two dots in a row", "al..ice@example.org", "two dots" },
		{ "a quoted local part", "\"alice smith\"@example.org",
		    "space in address" },
		{ "a quoted local part without spaces",
		    "\"alice\"@example.org", "not allowed in local part" },
		{ "two @ (the first lands in the local part)",
		    "a@b@example.org", "not allowed in local part" },
		{ "parenthesised comment", "alice(x)@example.org",
		    "not allowed in local part" },
		{ "address literal", "alice@[192.0.2.1]", "not allowed in "
		    "a domain" },
		{ "angle brackets", "<alice@example.org>",
		    "not allowed in local part" },
		{ "empty address", "", "empty" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		addr_expect(&cases[i]);
}

Test(addr, refuses_non_ascii_in_either_part)
{
	static const struct addr_case cases[] = {
		{ "UTF-8 in the local part", "j\xc3\xb6rg@example.org",
		    "non-ASCII" },
		{ "UTF-8 in the domain (not punycode)",
		    "a@b\xc3\xbc" "cher.example", "non-ASCII" },
		{ "a lone high byte", "a\xff@example.org", "non-ASCII" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		addr_expect(&cases[i]);
}

Test(addr, refuses_bad_hostnames)
{
	static const struct addr_case cases[] = {
		{ "a label starting with a hyphen", "a@-example.org",
		    "starts with a hyphen" },
		{ "a label ending with a hyphen", "a@example-.org",
		    "ends with a hyphen" },
		{ "the last label ending with a hyphen", "a@example.org-",
		    "ends with a hyphen" },
		{ "the last label starting with a hyphen", "a@example.-org",
		    "starts with a hyphen" },
		{ "an empty label", "a@example..org", "empty label" },
		{ "a leading dot in the domain", "a@.example.org",
		    "empty label" },
		{ "a trailing dot (root) in the domain", "a@example.org.",
		    "ends with a dot" },
		{ "an underscore", "a@ex_ample.org", "0x5f" },
		{ "a single-label domain", "a@localhost", "no dot" },
		{ "a colon (port)", "a@example.org:25", "0x3a" },
		{ "a slash", "a@example.org/x", "0x2f" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		addr_expect(&cases[i]);
}

Test(addr, accepts_a_local_part_of_exactly_64_octets)
{
	char	*a = repeat('l', ADDR_LOCAL_MAX, "@example.org");
	char	*cause = NULL;

	cr_expect_eq(addr_check(a, strlen(a), &cause), 0, "%s", cause);
	free(cause);
	free(a);
}

Test(addr, refuses_a_local_part_of_65_octets)
{
	char	*a = repeat('l', ADDR_LOCAL_MAX + 1, "@example.org");
	char	*cause = NULL;

	cr_expect_eq(addr_check(a, strlen(a), &cause), -1);
	cr_expect(cause != NULL && strstr(cause, "local part longer than 64")
	    != NULL, "cause: %s", cause);
	free(cause);
	free(a);
}

Test(addr, accepts_a_label_of_63_and_refuses_one_of_64)
{
	char	*ok = repeat('d', ADDR_LABEL_MAX, ".example.org");
	char	*bad = repeat('d', ADDR_LABEL_MAX + 1, ".example.org");
	char	*a, *cause = NULL;

	xasprintf(&a, "x@%s", ok);
	cr_expect_eq(addr_check(a, strlen(a), &cause), 0, "%s", cause);
	free(cause);
	cause = NULL;
	free(a);

	xasprintf(&a, "x@%s", bad);
	cr_expect_eq(addr_check(a, strlen(a), &cause), -1);
	cr_expect(cause != NULL && strstr(cause, "longer than 63") != NULL,
	    "cause: %s", cause);
	free(cause);
	free(a);
	free(ok);
	free(bad);
}

/* A valid-looking address of exactly n octets (n >= 100). */
static char *
addr_of_length(size_t n)
{
	char	*s;
	size_t	 i, d;

	/* A 64-octet local part, then labels of 31 octets. */
	s = repeat('l', ADDR_LOCAL_MAX, "@");
	s = xrealloc(s, n + 1);
	for (i = ADDR_LOCAL_MAX + 1, d = 0; i < n; i++, d++)
		s[i] = d % 32 == 31 && i + 1 < n ? '.' : 'd';
	s[n] = '\0';
	return s;
}

Test(addr, accepts_254_octets_and_refuses_255)
{
	char	*ok = addr_of_length(ADDR_MAX);
	char	*bad = addr_of_length(ADDR_MAX + 1);
	char	*cause = NULL;

	cr_assert_eq(strlen(ok), ADDR_MAX, "helper built %zu octets",
	    strlen(ok));
	cr_assert_eq(strlen(bad), ADDR_MAX + 1, "helper built %zu octets",
	    strlen(bad));
	cr_expect_eq(addr_check(ok, strlen(ok), &cause), 0, "%s: %s", ok,
	    cause);
	free(cause);
	cause = NULL;
	cr_expect_eq(addr_check(bad, strlen(bad), &cause), -1);
	cr_expect(cause != NULL && strstr(cause, "longer than 254") != NULL,
	    "cause: %s", cause);
	free(cause);
	free(ok);
	free(bad);
}

Test(addr, checks_only_the_given_length)
{
	const char	*a = "alice@example.org trailing junk";
	char		*cause = NULL;

	cr_expect_eq(addr_check(a, strlen("alice@example.org"), &cause), 0,
	    "%s", cause);
	free(cause);
}

Test(addr, works_without_a_cause_pointer)
{
	cr_expect_eq(addr_check("a@b", 3, NULL), -1);
	cr_expect_eq(addr_check("a@b.c", 5, NULL), 0);
}

Test(addr, checks_hostnames_on_their_own)
{
	cr_expect_eq(addr_check_hostname("news.example.com", 16, NULL), 0);
	cr_expect_eq(addr_check_hostname("news", 4, NULL), -1);
	cr_expect_eq(addr_check_hostname("", 0, NULL), -1);
	cr_expect_eq(addr_check_hostname("a..b", 4, NULL), -1);
}

Test(addr, normalize_lowercases_the_whole_address)
{
	char	 out[ADDR_MAX + 1];

	addr_normalize("Alice.Smith+News@Example.ORG", out, sizeof out);
	cr_expect_str_eq(out, "alice.smith+news@example.org");
	addr_normalize("already@lower.case", out, sizeof out);
	cr_expect_str_eq(out, "already@lower.case");
	addr_normalize("", out, sizeof out);
	cr_expect_str_eq(out, "");
}

Test(addr, normalize_truncates_to_the_buffer_and_terminates)
{
	char	 out[6];

	memset(out, 'z', sizeof out);
	addr_normalize("ABCDEFGHIJ@example.org", out, sizeof out);
	cr_expect_str_eq(out, "abcde");
}

Test(addr, domain_is_what_follows_the_last_at)
{
	cr_expect_str_eq(addr_domain("alice@example.org"), "example.org");
	cr_expect_str_eq(addr_domain("a@b@mail.example.net"),
	    "mail.example.net");
	cr_expect_str_eq(addr_domain("no-at-sign"), "");
	cr_expect_str_eq(addr_domain("trailing@"), "");
}
