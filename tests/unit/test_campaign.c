/*
 * test_campaign.c: the campaign document parser (campaign_parse) and the
 * recipient cursor (campaign_rcpt_*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "campaign.h"
#include "util.h"

#define T_SEND_AFTER	INT64_C(1795424400)	/* 2026-11-23T09:00:00Z */
#define T_EXPIRES	INT64_C(1795996800)	/* 2026-11-30T00:00:00Z */
#define NO_LIMIT	UINT64_C(1000000)

/* The example of DESIGN.md, with a reply-to added. */
static const char design_example[] =
    "<campaign id=\"nov-update\" list=\"news.example.com\">\n"
    "  <from name=\"Example Shop\">news@example.com</from>\n"
    "  <reply-to>help@example.com</reply-to>\n"
    "  <subject>Our November update</subject>\n"
    "  <send-after>2026-11-23T09:00:00Z</send-after>   <!-- optional -->\n"
    "  <expires>2026-11-30T00:00:00Z</expires>         <!-- horizon -->\n"
    "  <text><![CDATA[Hi {{name}} ... {{unsubscribe_url}}]]></text>\n"
    "  <html><![CDATA[<p>Hi {{name}} ...]]></html>\n"
    "  <recipients>\n"
    "    <to name=\"Alice\">alice@example.org</to>\n"
    "    <to>bob@example.net</to>\n"
    "  </recipients>\n"
    "</campaign>\n";

/* A document with the usual header around `middle` and `rcpts`. */
static char *
doc_with(const char *subject, const char *from, const char *middle,
    const char *rcpts)
{
	char	*s;

	xasprintf(&s,
	    "<campaign id=\"c1\" list=\"news.example.com\">\n"
	    "  <from%s</from>\n"
	    "  <subject>%s</subject>\n"
	    "%s"
	    "  <recipients>\n%s  </recipients>\n"
	    "</campaign>\n", from, subject, middle, rcpts);
	return s;
}

/* A valid document with one changed part. */
static char *
doc_subject(const char *subject)
{
	return doc_with(subject, ">news@example.com", "  <text>hi</text>\n",
	    "    <to>a@example.org</to>\n");
}

/* Parse a NUL-terminated document. */
static int
parse(const char *xml, uint64_t max, struct campaign **c,
    struct campaign_error *err)
{
	return campaign_parse(xml, strlen(xml), max, c, err);
}

/* Is there a problem that contains `what`? */
static int
has_problem(const struct campaign_error *err, const char *what)
{
	size_t	 i;

	for (i = 0; i < err->nproblems; i++)
		if (strstr(err->problems[i], what) != NULL)
			return 1;
	return 0;
}

/* All problems, one string, for failure messages. */
static const char *
problems(const struct campaign_error *err)
{
	static char	 s[4096];
	size_t		 i, n = 0;

	s[0] = '\0';
	for (i = 0; i < err->nproblems && n < sizeof s; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "[%s] ",
		    err->problems[i]);
	return s;
}

/* Expect the document to be refused with `status` and a problem. */
static void
expect_refused(const char *what, const char *xml, uint64_t max, int status,
    const char *problem)
{
	struct campaign		*c = (struct campaign *)1;
	struct campaign_error	 err;

	cr_expect_eq(parse(xml, max, &c, &err), -1, "%s: accepted", what);
	cr_expect_null(c, "%s: *out set on failure", what);
	cr_expect_eq(err.status, status, "%s: status %d, want %d: %s", what,
	    err.status, status, problems(&err));
	cr_expect(has_problem(&err, problem), "%s: no problem mentions "
	    "\"%s\": %s", what, problem, problems(&err));
	campaign_error_free(&err);
	campaign_free(c);
}

/* Expect the document to parse; the caller frees the result. */
static struct campaign *
expect_parsed(const char *what, const char *xml, uint64_t max)
{
	struct campaign		*c = NULL;
	struct campaign_error	 err;

	if (parse(xml, max, &c, &err) != 0)
		cr_assert_fail("%s: refused with %d: %s", what, err.status,
		    problems(&err));
	cr_assert_not_null(c);
	cr_expect_eq(err.status, 0);
	cr_expect_eq(err.nproblems, 0);
	campaign_error_free(&err);
	return c;
}

Test(campaign, parses_the_design_example_with_every_field)
{
	struct campaign	*c = expect_parsed("design example", design_example,
	    NO_LIMIT);

	cr_expect_str_eq(c->id, "nov-update");
	cr_expect_str_eq(c->list, "news.example.com");
	cr_expect_str_eq(c->from_addr, "news@example.com");
	cr_assert_not_null(c->from_name);
	cr_expect_str_eq(c->from_name, "Example Shop");
	cr_assert_not_null(c->reply_to);
	cr_expect_str_eq(c->reply_to, "help@example.com");
	cr_expect_str_eq(c->subject, "Our November update");
	cr_expect_eq(c->send_after, T_SEND_AFTER);
	cr_expect_eq(c->expires, T_EXPIRES);
	cr_assert_not_null(c->text);
	cr_expect_str_eq(c->text, "Hi {{name}} ... {{unsubscribe_url}}");
	cr_assert_not_null(c->html);
	cr_expect_str_eq(c->html, "<p>Hi {{name}} ...");
	cr_expect_eq(c->nrecipients, 2);
	campaign_free(c);
}

Test(campaign, leaves_optional_fields_empty_when_absent)
{
	char		*xml = doc_subject("s");
	struct campaign	*c = expect_parsed("minimal", xml, NO_LIMIT);

	cr_expect_null(c->from_name);
	cr_expect_null(c->reply_to);
	cr_expect_null(c->html);
	cr_expect_eq(c->send_after, 0);
	cr_expect_eq(c->expires, 0);
	campaign_free(c);
	free(xml);
}

Test(campaign, lowercases_the_list_name)
{
	const char	*xml =
	    "<campaign id=\"c\" list=\"News.Example.COM\">"
	    "<from>a@example.com</from><subject>s</subject><text>t</text>"
	    "<recipients><to>b@example.org</to></recipients></campaign>";
	struct campaign	*c = expect_parsed("upper-case list", xml, NO_LIMIT);

	cr_expect_str_eq(c->list, "news.example.com");
	campaign_free(c);
}

Test(campaign, iterates_recipients_with_names_and_line_numbers)
{
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;

	it = campaign_rcpt_open(design_example, strlen(design_example));
	cr_assert_not_null(it);
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect_eq(rc.addrlen, strlen("alice@example.org"));
	cr_expect(strncmp(rc.addr, "alice@example.org", rc.addrlen) == 0);
	cr_assert_not_null(rc.name);
	cr_expect_str_eq(rc.name, "Alice");
	cr_expect_eq(rc.line, 10, "first <to> on line %u, want 10", rc.line);

	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect(strncmp(rc.addr, "bob@example.net", rc.addrlen) == 0 &&
	    rc.addrlen == strlen("bob@example.net"));
	cr_expect_null(rc.name, "a <to> without a name has a NULL name");
	cr_expect_eq(rc.line, 11, "second <to> on line %u, want 11", rc.line);

	cr_expect_eq(campaign_rcpt_next(it, &rc), 0);
	cr_expect_eq(campaign_rcpt_next(it, &rc), 0, "stays at the end");
	campaign_rcpt_close(it);
}

Test(campaign, iterates_recipients_of_a_document_without_whitespace)
{
	/* Generated documents often have no white space between tags. */
	const char	*xml =
	    "<campaign id=\"c\" list=\"news.example.com\">"
	    "<from>a@example.com</from><subject>s</subject><text>t</text>"
	    "<html><![CDATA[<p>skipped</p>]]></html><recipients>"
	    "<to name=\"A\">a@example.org</to><to>b@example.org</to>"
	    "</recipients></campaign>";
	struct campaign		*c = expect_parsed("compact", xml, NO_LIMIT);
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;

	cr_expect_eq(c->nrecipients, 2);
	campaign_free(c);
	it = campaign_rcpt_open(xml, strlen(xml));
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1,
	    "the first recipient after a skipped <html> was missed");
	cr_expect(strncmp(rc.addr, "a@example.org", rc.addrlen) == 0);
	cr_expect_str_eq(rc.name, "A");
	cr_expect_eq(rc.line, 1);
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect(strncmp(rc.addr, "b@example.org", rc.addrlen) == 0);
	cr_expect_eq(campaign_rcpt_next(it, &rc), 0);
	campaign_rcpt_close(it);
}

Test(campaign, refuses_markup_in_an_html_body_outside_cdata)
{
	/* <html> given as markup, not CDATA, is refused by the parser. */
	const char	*xml =
	    "<campaign id=\"c\" list=\"news.example.com\">"
	    "<from>a@example.com</from><subject>s</subject>"
	    "<html><p>hi</p></html>"
	    "<recipients><to>a@example.org</to></recipients></campaign>";

	expect_refused("markup in <html>", xml, NO_LIMIT, 422,
	    "unexpected markup");
}

Test(campaign, trims_white_space_around_addresses)
{
	char			*xml = doc_with("s",
	    ">\n\t  news@example.com \n", "  <text>t</text>\n",
	    "    <to name=\"Spacy\">\n\t   alice@example.org \t\n  </to>\n"
	    "    <to>bob@example.net    </to>\n");
	struct campaign		*c = expect_parsed("spaces", xml, NO_LIMIT);
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;

	cr_expect_str_eq(c->from_addr, "news@example.com");
	campaign_free(c);
	it = campaign_rcpt_open(xml, strlen(xml));
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect_eq(rc.addrlen, strlen("alice@example.org"));
	cr_expect_str_eq(rc.addr, "alice@example.org");
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect_eq(rc.addrlen, strlen("bob@example.net"));
	cr_expect_str_eq(rc.addr, "bob@example.net");
	campaign_rcpt_close(it);
	free(xml);
}

Test(campaign, trims_the_subject_but_keeps_bodies_verbatim)
{
	char		*xml = doc_with("   Hello there  ", ">a@example.com",
	    "  <text>\n  Line one\n\n  Line two  \n</text>\n",
	    "    <to>b@example.org</to>\n");
	struct campaign	*c = expect_parsed("trim", xml, NO_LIMIT);

	cr_expect_str_eq(c->subject, "Hello there");
	cr_expect_str_eq(c->text, "\n  Line one\n\n  Line two  \n");
	campaign_free(c);
	free(xml);
}

Test(campaign, reads_cdata_and_plain_text_bodies)
{
	char		*xml = doc_with("s", ">a@example.com",
	    "  <text>Fish &amp; chips &lt;today&gt; &#233;t&#xE9;</text>\n"
	    "  <html><![CDATA[<p class=\"x\">A & B</p>]]></html>\n",
	    "    <to>b@example.org</to>\n");
	struct campaign	*c = expect_parsed("bodies", xml, NO_LIMIT);

	cr_expect_str_eq(c->text, "Fish & chips <today> \xc3\xa9t\xc3\xa9");
	cr_expect_str_eq(c->html, "<p class=\"x\">A & B</p>");
	campaign_free(c);
	free(xml);
}

Test(campaign, joins_text_and_cdata_pieces_of_one_body)
{
	char		*xml = doc_with("s", ">a@example.com",
	    "  <html>before <![CDATA[<b>bold</b>]]> after<!-- c --></html>\n",
	    "    <to>b@example.org</to>\n");
	struct campaign	*c = expect_parsed("mixed", xml, NO_LIMIT);

	cr_expect_str_eq(c->html, "before <b>bold</b> after");
	cr_expect_null(c->text);
	campaign_free(c);
	free(xml);
}

Test(campaign, reads_an_empty_first_element_as_empty)
{
	/* The shared text buffer is fresh here: it must still read "". */
	const char		*xml =
	    "<campaign id=\"c\" list=\"news.example.com\">"
	    "<text/><from>a@example.com</from><subject>s</subject>"
	    "<recipients><to/><to>b@example.org</to></recipients>"
	    "</campaign>";
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;

	expect_refused("an empty <text/> first", xml, NO_LIMIT, 422,
	    "body: missing");
	it = campaign_rcpt_open(xml, strlen(xml));
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect_eq(rc.addrlen, 0);
	cr_expect_str_eq(rc.addr, "");
	cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
	cr_expect_str_eq(rc.addr, "b@example.org");
	campaign_rcpt_close(it);
}

Test(campaign, accepts_a_subject_that_is_not_ascii)
{
	const char	*subj = "Gr\xc3\xbc\xc3\x9f" "e \xe2\x80\x93 "
	    "\xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x93\xb0";
	char		*xml = doc_subject(subj);
	struct campaign	*c = expect_parsed("UTF-8 subject", xml, NO_LIMIT);

	cr_expect_str_eq(c->subject, subj);
	campaign_free(c);
	free(xml);
}

Test(campaign, refuses_malformed_xml_with_line_and_column)
{
	static const struct {
		const char	*what;
		const char	*xml;
		const char	*where;
	} cases[] = {
		{ "a mismatched end tag on line 3",
		    "<campaign id=\"c\" list=\"news.example.com\">\n"
		    "  <from>a@example.com</from>\n"
		    "  <subject>s</subjct>\n"
		    "</campaign>\n", "line 3, column " },
		{ "an unquoted attribute on line 1",
		    "<campaign id=c list=\"news.example.com\">\n"
		    "</campaign>\n", "line 1, column " },
		{ "a bare ampersand on line 2",
		    "<campaign id=\"c\" list=\"news.example.com\">\n"
		    "<subject>Fish & chips</subject>\n"
		    "</campaign>\n", "line 2, column " },
		{ "an undeclared entity on line 2",
		    "<campaign id=\"c\" list=\"news.example.com\">\n"
		    "<subject>&xxe;</subject>\n"
		    "</campaign>\n", "line 2, column " },
		{ "a document cut short",
		    "<campaign id=\"c\" list=\"news.example.com\">\n"
		    "<subject>s</subject>\n", "malformed XML at line " },
		{ "two root elements",
		    "<campaign id=\"c\" list=\"x.example\"/>\n<campaign/>\n",
		    "line 2, column " },
		{ "not XML at all", "Hello, world\n", "malformed XML" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		expect_refused(cases[i].what, cases[i].xml, NO_LIMIT, 400,
		    cases[i].where);
}

Test(campaign, gives_a_positive_column_for_malformed_xml)
{
	const char		*xml = "<campaign>\n  <a></b>\n</campaign>\n";
	struct campaign		*c;
	struct campaign_error	 err;
	int			 line = 0, col = 0;
	const char		*p;

	cr_assert_eq(parse(xml, NO_LIMIT, &c, &err), -1);
	cr_expect_eq(err.status, 400);
	cr_assert_geq(err.nproblems, 1);
	p = strstr(err.problems[0], "line ");
	cr_assert_not_null(p, "%s", err.problems[0]);
	cr_expect_eq(sscanf(p, "line %d, column %d", &line, &col), 2);
	cr_expect_eq(line, 2, "%s", err.problems[0]);
	cr_expect_gt(col, 0, "%s", err.problems[0]);
	campaign_error_free(&err);
}

Test(campaign, refuses_an_empty_document)
{
	struct campaign		*c;
	struct campaign_error	 err;

	cr_expect_eq(campaign_parse("", 0, NO_LIMIT, &c, &err), -1);
	cr_expect_eq(err.status, 400, "%s", problems(&err));
	cr_expect_null(c);
	campaign_error_free(&err);
	cr_expect_eq(parse("<?xml version=\"1.0\"?>\n", NO_LIMIT, &c, &err),
	    -1);
	cr_expect_eq(err.status, 400, "%s", problems(&err));
	campaign_error_free(&err);
}

Test(campaign, refuses_a_root_that_is_not_campaign)
{
	expect_refused("an <rss> root",
	    "<rss><from>a@example.com</from></rss>", NO_LIMIT, 422,
	    "root element must be <campaign>");
}

Test(campaign, refuses_doctype_and_entity_declarations)
{
	static const struct {
		const char	*what;
		const char	*xml;
	} cases[] = {
		{ "a bare DOCTYPE",
		    "<!DOCTYPE campaign>\n"
		    "<campaign id=\"c\" list=\"news.example.com\"/>\n" },
		{ "an internal entity declaration",
		    "<!DOCTYPE campaign [ <!ENTITY who \"Alice\"> ]>\n"
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<subject>&who;</subject></campaign>\n" },
		{ "an external entity (XXE)",
		    "<!DOCTYPE campaign [ <!ENTITY xxe SYSTEM "
		    "\"file:///etc/passwd\"> ]>\n"
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<subject>&xxe;</subject></campaign>\n" },
		{ "an external DTD over the network",
		    "<!DOCTYPE campaign SYSTEM \"http://192.0.2.1/c.dtd\">\n"
		    "<campaign id=\"c\" list=\"news.example.com\"/>\n" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		expect_refused(cases[i].what, cases[i].xml, NO_LIMIT, 400,
		    "DOCTYPE is not allowed");
}

/* The timeout only guards against a hang; the test asserts no timing. */
Test(campaign, refuses_the_billion_laughs_document_at_once, .timeout = 20)
{
	const char	*xml =
	    "<?xml version=\"1.0\"?>\n"
	    "<!DOCTYPE campaign [\n"
	    " <!ENTITY lol \"lol\">\n"
	    " <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"
	    "&lol;\">\n"
	    " <!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;"
	    "&lol1;&lol1;&lol1;\">\n"
	    " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;"
	    "&lol2;&lol2;&lol2;\">\n"
	    " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;"
	    "&lol3;&lol3;&lol3;\">\n"
	    " <!ENTITY lol5 \"&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;"
	    "&lol4;&lol4;&lol4;\">\n"
	    " <!ENTITY lol6 \"&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;"
	    "&lol5;&lol5;&lol5;\">\n"
	    " <!ENTITY lol7 \"&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;"
	    "&lol6;&lol6;&lol6;\">\n"
	    " <!ENTITY lol8 \"&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;"
	    "&lol7;&lol7;&lol7;\">\n"
	    " <!ENTITY lol9 \"&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;"
	    "&lol8;&lol8;&lol8;\">\n"
	    "]>\n"
	    "<campaign id=\"lol\" list=\"news.example.com\">\n"
	    "  <from>a@example.com</from>\n"
	    "  <subject>&lol9;</subject>\n"
	    "  <text>&lol9;&lol9;&lol9;</text>\n"
	    "  <recipients><to>b@example.org</to></recipients>\n"
	    "</campaign>\n";

	struct campaign		*c = NULL;
	struct campaign_error	 err;

	/* libxml2 may stop at its entity-loop guard before our DOCTYPE check. */
	cr_expect_eq(parse(xml, NO_LIMIT, &c, &err), -1);
	cr_expect_null(c);
	cr_expect_eq(err.status, 400, "%s", problems(&err));
	cr_expect(has_problem(&err, "DOCTYPE") || has_problem(&err, "entity"),
	    "%s", problems(&err));
	campaign_error_free(&err);
}

Test(campaign, cursor_yields_nothing_from_a_document_with_a_doctype)
{
	/* The cursor must also stop at a DOCTYPE, never expanding. */
	const char		*xml =
	    "<!DOCTYPE campaign [ <!ENTITY a \"x@example.org\"> ]>\n"
	    "<campaign id=\"c\" list=\"news.example.com\">"
	    "<recipients><to>&a;</to></recipients></campaign>\n";
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;

	it = campaign_rcpt_open(xml, strlen(xml));
	cr_expect_eq(campaign_rcpt_next(it, &rc), 0);
	campaign_rcpt_close(it);
}

Test(campaign, lists_every_missing_piece_together)
{
	const char		*xml =
	    "<campaign id=\"c\" list=\"news.example.com\">\n</campaign>\n";
	struct campaign		*c;
	struct campaign_error	 err;

	cr_assert_eq(parse(xml, NO_LIMIT, &c, &err), -1);
	cr_expect_eq(err.status, 422);
	cr_expect(has_problem(&err, "from: missing"), "%s", problems(&err));
	cr_expect(has_problem(&err, "subject: missing"), "%s",
	    problems(&err));
	cr_expect(has_problem(&err, "body: missing"), "%s", problems(&err));
	cr_expect(has_problem(&err, "recipients: missing"), "%s",
	    problems(&err));
	cr_expect_eq(err.nproblems, 4, "%s", problems(&err));
	campaign_error_free(&err);
}

Test(campaign, reports_each_missing_piece_alone)
{
	static const struct {
		const char	*what;
		const char	*xml;
		const char	*problem;
	} cases[] = {
		{ "no from",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<subject>s</subject><text>t</text>"
		    "<recipients><to>a@example.org</to></recipients>"
		    "</campaign>", "from: missing" },
		{ "no subject",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>f@example.com</from><text>t</text>"
		    "<recipients><to>a@example.org</to></recipients>"
		    "</campaign>", "subject: missing" },
		{ "an empty subject",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>  </subject>"
		    "<text>t</text>"
		    "<recipients><to>a@example.org</to></recipients>"
		    "</campaign>", "subject: missing" },
		{ "no body",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<recipients><to>a@example.org</to></recipients>"
		    "</campaign>", "body: missing" },
		{ "empty bodies",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text/><html></html>"
		    "<recipients><to>a@example.org</to></recipients>"
		    "</campaign>", "body: missing" },
		{ "no recipients",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text></campaign>", "recipients: missing" },
		{ "an empty recipients element",
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients/></campaign>",
		    "recipients: no <to> element" },
		{ "no id",
		    "<campaign list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients><to>a@example.org</to>"
		    "</recipients></campaign>", "missing attribute id" },
		{ "no list",
		    "<campaign id=\"c\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients><to>a@example.org</to>"
		    "</recipients></campaign>", "missing attribute list" },
	};
	size_t	 i;

	for (i = 0; i < nitems(cases); i++)
		expect_refused(cases[i].what, cases[i].xml, NO_LIMIT, 422,
		    cases[i].problem);
}

Test(campaign, refuses_bad_campaign_ids)
{
	static const char *bad[] = {
		"", "has space", "slash/id", "quote'd", "\xc3\xa9t\xc3\xa9",
		"a:b", "x@y",
		"0123456789012345678901234567890123456789012345678901234567890"
		"1234",		/* 65 */
	};
	size_t	 i;
	char	*xml;

	for (i = 0; i < nitems(bad); i++) {
		xasprintf(&xml, "<campaign id=\"%s\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients><to>a@example.org</to>"
		    "</recipients></campaign>", bad[i]);
		expect_refused(bad[i], xml, NO_LIMIT, 422, "campaign: id");
		free(xml);
	}
}

Test(campaign, valid_id_accepts_1_to_64_of_the_safe_characters)
{
	cr_expect(campaign_valid_id("a"));
	cr_expect(campaign_valid_id("nov-update_2026.v2"));
	cr_expect(campaign_valid_id("0123456789012345678901234567890123456789"
	    "012345678901234567890123"));	/* 64 */
	cr_expect_not(campaign_valid_id(""));
	cr_expect_not(campaign_valid_id("0123456789012345678901234567890123456"
	    "7890123456789012345678901234"));	/* 65 */
	cr_expect_not(campaign_valid_id("a b"));
	cr_expect_not(campaign_valid_id("a\nb"));
}

Test(campaign, refuses_bad_list_names)
{
	static const char *bad[] = {
		"news", "news..example.com", "-news.example.com",
		"news_letter.example.com", "news.example.com.", "a b.example",
	};
	size_t	 i;
	char	*xml;

	for (i = 0; i < nitems(bad); i++) {
		xasprintf(&xml, "<campaign id=\"c\" list=\"%s\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients><to>a@example.org</to>"
		    "</recipients></campaign>", bad[i]);
		expect_refused(bad[i], xml, NO_LIMIT, 422, "campaign: list");
		free(xml);
	}
}

Test(campaign, refuses_an_invalid_from_or_reply_to_address)
{
	char	*xml;

	xml = doc_with("s", ">not-an-address", "  <text>t</text>\n",
	    "    <to>a@example.org</to>\n");
	expect_refused("bad from", xml, NO_LIMIT, 422, "from: \"not-an-"
	    "address\" is not a valid address");
	free(xml);
	xml = doc_with("s", ">f@example.com",
	    "  <reply-to>nobody</reply-to>\n  <text>t</text>\n",
	    "    <to>a@example.org</to>\n");
	expect_refused("bad reply-to", xml, NO_LIMIT, 422, "reply-to:");
	free(xml);
}

Test(campaign, refuses_header_injection_in_every_header_value)
{
	static const struct {
		const char	*what;
		const char	*subject;
		const char	*from;
		const char	*rcpts;
		const char	*problem;
	} cases[] = {
		{ "CRLF in the subject (character references)",
		    "Hi&#13;&#10;Bcc: eve@evil.example", ">f@example.com",
		    "<to>a@example.org</to>", "subject: contains a line "
		    "break" },
		{ "a literal line break inside the subject",
		    "Hi\nBcc: eve@evil.example", ">f@example.com",
		    "<to>a@example.org</to>", "subject: contains a line "
		    "break" },
		{ "a lone CR in the subject", "Hi&#13;there",
		    ">f@example.com", "<to>a@example.org</to>",
		    "subject: contains" },
		{ "a TAB in the subject", "Hi&#9;there", ">f@example.com",
		    "<to>a@example.org</to>", "subject: contains" },
		{ "LF in the from name", "s",
		    " name=\"Shop&#10;Bcc: eve@evil.example\">f@example.com",
		    "<to>a@example.org</to>", "from: the name attribute" },
		{ "CR in the from name", "s",
		    " name=\"Shop&#13;\">f@example.com",
		    "<to>a@example.org</to>", "from: the name attribute" },
		{ "CRLF in a recipient name", "s", ">f@example.com",
		    "<to>a@example.org</to>\n"
		    "<to name=\"Eve&#13;&#10;Bcc: x@evil.example\">"
		    "b@example.org</to>", "line 7: <to> name must be one line" },
	};
	size_t	 i;
	char	*xml, *rcpts;

	for (i = 0; i < nitems(cases); i++) {
		xasprintf(&rcpts, "%s\n", cases[i].rcpts);
		xml = doc_with(cases[i].subject, cases[i].from,
		    "  <text>t</text>\n", rcpts);
		expect_refused(cases[i].what, xml, NO_LIMIT, 422,
		    cases[i].problem);
		free(xml);
		free(rcpts);
	}
}

Test(campaign, turns_a_literal_line_break_in_an_attribute_into_a_space)
{
	/* XML attribute normalisation: not an injection, just a space. */
	char		*xml = doc_with("s", " name=\"Example\nShop\">"
	    "f@example.com", "  <text>t</text>\n",
	    "    <to>a@example.org</to>\n");
	struct campaign	*c = expect_parsed("attr newline", xml, NO_LIMIT);

	cr_expect_str_eq(c->from_name, "Example Shop");
	campaign_free(c);
	free(xml);
}

Test(campaign, refuses_over_long_names_and_subjects)
{
	char	*name, *subject, *xml;
	char	 from[300];

	name = xmalloc(CAMPAIGN_NAME_MAX + 2);
	memset(name, 'n', CAMPAIGN_NAME_MAX + 1);
	name[CAMPAIGN_NAME_MAX + 1] = '\0';
	snprintf(from, sizeof from, " name=\"%s\">f@example.com", name);
	xml = doc_with("s", from, "  <text>t</text>\n",
	    "    <to>a@example.org</to>\n");
	expect_refused("a 201-byte from name", xml, NO_LIMIT, 422,
	    "from: the name attribute");
	free(xml);
	free(name);

	subject = xmalloc(CAMPAIGN_SUBJECT_MAX + 2);
	memset(subject, 's', CAMPAIGN_SUBJECT_MAX + 1);
	subject[CAMPAIGN_SUBJECT_MAX + 1] = '\0';
	xml = doc_subject(subject);
	expect_refused("a 501-byte subject", xml, NO_LIMIT, 422,
	    "subject: longer than 500");
	free(xml);
	subject[CAMPAIGN_SUBJECT_MAX] = '\0';
	xml = doc_subject(subject);
	campaign_free(expect_parsed("a 500-byte subject", xml, NO_LIMIT));
	free(xml);
	free(subject);
}

Test(campaign, refuses_more_recipients_than_max_recipients_with_413)
{
	char	*xml = doc_with("s", ">f@example.com", "  <text>t</text>\n",
	    "    <to>a@example.org</to>\n    <to>b@example.org</to>\n"
	    "    <to>c@example.org</to>\n");
	struct campaign	*c;

	expect_refused("3 recipients, max 2", xml, 2, 413, "max_recipients");
	c = expect_parsed("3 recipients, max 3", xml, 3);
	cr_expect_eq(c->nrecipients, 3);
	campaign_free(c);
	free(xml);
}

Test(campaign, lets_413_win_over_earlier_422_problems)
{
	char	*xml = doc_with("s", ">not-valid", "",
	    "    <to>a@example.org</to>\n    <to>b@example.org</to>\n");

	expect_refused("bad from and too many", xml, 1, 413,
	    "max_recipients");
	free(xml);
}

Test(campaign, parse_time_reads_rfc_3339)
{
	static const struct {
		const char	*s;
		int64_t		 t;
	} good[] = {
		{ "2026-11-23T09:00:00Z", T_SEND_AFTER },
		{ "2026-11-23t09:00:00z", T_SEND_AFTER },
		{ "2026-11-23 09:00:00Z", T_SEND_AFTER },
		{ "2026-11-23T09:00:00.123456Z", T_SEND_AFTER },
		{ "2026-11-23T10:30:00+01:30", T_SEND_AFTER },
		{ "2026-11-23T04:00:00-05:00", T_SEND_AFTER },
		{ "2026-11-23T09:00:00+00:00", T_SEND_AFTER },
		{ "2024-02-29T00:00:00Z", INT64_C(1709164800) },
		{ "2000-02-29T12:00:00Z", INT64_C(951825600) },
		{ "2026-12-31T23:59:60Z", INT64_C(1798761599) },
		{ "1970-01-01T00:00:01Z", 1 },
	};
	static const char *bad[] = {
		"", "2026", "2026-11-23", "2026-11-23T09:00Z",
		"2026-11-23T09:00:00", "2026-11-23T09:00:00+0100",
		"2026-11-23T09:00:00+01", "2026-11-23T09:00:00 Z",
		"2026-11-23T09:00:00Zjunk", "2026-11-23T09:00:00.Z",
		"2026-02-31T09:00:00Z", "2026-02-29T09:00:00Z",
		"1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z",
		"2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
		"2026-11-00T00:00:00Z", "2026-11-32T00:00:00Z",
		"2026-11-23T24:00:00Z", "2026-11-23T09:60:00Z",
		"2026-11-23T09:00:61Z", "2026-11-23T09:00:00+24:00",
		"2026-11-23T09:00:00+01:60", "1969-12-31T23:59:59Z",
		"26-11-23T09:00:00Z", "2026/11/23T09:00:00Z",
		"2026-1-23T09:00:00Z", "+026-11-23T09:00:00Z",
		"tomorrow",
	};
	size_t	 i;
	int64_t	 t;

	for (i = 0; i < nitems(good); i++) {
		t = -1;
		cr_expect_eq(campaign_parse_time(good[i].s, &t), 0,
		    "\"%s\" was refused", good[i].s);
		cr_expect_eq(t, good[i].t, "\"%s\" is %lld, want %lld",
		    good[i].s, (long long)t, (long long)good[i].t);
	}
	for (i = 0; i < nitems(bad); i++)
		cr_expect_eq(campaign_parse_time(bad[i], &t), -1,
		    "\"%s\" was accepted", bad[i]);
}

/* Expect a document whose <el> holds value to be refused with problem. */
static void
expect_time_refused(const char *el, const char *value, const char *problem)
{
	char	*middle, *xml;

	xasprintf(&middle, "  <%s>%s</%s>\n  <text>t</text>\n", el, value, el);
	xml = doc_with("s", ">f@example.com", middle,
	    "    <to>a@example.org</to>\n");
	expect_refused(value, xml, NO_LIMIT, 422, problem);
	free(xml);
	free(middle);
}

Test(campaign, refuses_bad_times_in_the_document)
{
	static const char *bad[] = {
		"2026-02-31T09:00:00Z",		/* 31 February */
		"2026-11-23",
		"next monday",
		"2026-11-23T09:00:00",
	};
	size_t	 i;

	for (i = 0; i < nitems(bad); i++) {
		expect_time_refused("send-after", bad[i], "<send-after>: ");
		expect_time_refused("expires", bad[i], "<expires>: ");
	}
}

Test(campaign, trims_white_space_around_times)
{
	char		*xml = doc_with("s", ">f@example.com",
	    "  <send-after>\n   2026-11-23T09:00:00Z  \n</send-after>\n"
	    "  <text>t</text>\n", "    <to>a@example.org</to>\n");
	struct campaign	*c = expect_parsed("spaced time", xml, NO_LIMIT);

	cr_expect_eq(c->send_after, T_SEND_AFTER);
	campaign_free(c);
	free(xml);
}

Test(campaign, refuses_expires_at_or_before_send_after)
{
	static const char *pairs[][2] = {
		{ "2026-11-30T00:00:00Z", "2026-11-23T09:00:00Z" },
		{ "2026-11-23T09:00:00Z", "2026-11-23T09:00:00Z" },
		{ "2026-11-23T10:00:00+01:00", "2026-11-23T09:00:00Z" },
	};
	size_t	 i;
	char	*middle, *xml;

	for (i = 0; i < nitems(pairs); i++) {
		xasprintf(&middle, "  <send-after>%s</send-after>\n"
		    "  <expires>%s</expires>\n  <text>t</text>\n",
		    pairs[i][0], pairs[i][1]);
		xml = doc_with("s", ">f@example.com", middle,
		    "    <to>a@example.org</to>\n");
		expect_refused(pairs[i][1], xml, NO_LIMIT, 422,
		    "expires: must be after send-after");
		free(xml);
		free(middle);
	}
}

Test(campaign, refuses_unknown_and_misplaced_elements)
{
	static const struct {
		const char	*what;
		const char	*middle;
		const char	*rcpts;
		const char	*problem;
	} cases[] = {
		{ "an unknown element", "  <priority>high</priority>\n"
		    "  <text>t</text>\n", "<to>a@example.org</to>",
		    "line 4: unknown element <priority>" },
		{ "a nested element", "  <text>t</text>\n  <meta><x/></meta>\n",
		    "<to>a@example.org</to>", "unexpected" },
		{ "an element inside <recipients> that is not <to>",
		    "  <text>t</text>\n", "<to>a@example.org</to>\n"
		    "<cc>b@example.org</cc>",
		    "unexpected <cc> in <recipients>" },
		{ "markup inside a <to>", "  <text>t</text>\n",
		    "<to><b>a@example.org</b></to>", "unexpected markup" },
		{ "text loose inside <recipients>", "  <text>t</text>\n",
		    "loose text <to>a@example.org</to>",
		    "unexpected text outside an element" },
	};
	size_t	 i;
	char	*xml;

	for (i = 0; i < nitems(cases); i++) {
		xml = doc_with("s", ">f@example.com", cases[i].middle,
		    cases[i].rcpts);
		expect_refused(cases[i].what, xml, NO_LIMIT, 422,
		    cases[i].problem);
		free(xml);
	}
}

Test(campaign, refuses_a_second_recipients_element)
{
	char	*xml = doc_with("s", ">f@example.com",
	    "  <text>t</text>\n  <recipients><to>x@example.org</to>"
	    "</recipients>\n", "    <to>a@example.org</to>\n");

	expect_refused("two <recipients>", xml, NO_LIMIT, 422,
	    "a second <recipients>");
	free(xml);
}

Test(campaign, counts_recipients_after_an_unexpected_element)
{
	/* Skipping <cc> must not swallow the <to> right behind it. */
	const char	*xml =
	    "<campaign id=\"c\" list=\"news.example.com\">"
	    "<from>f@example.com</from><subject>s</subject><text>t</text>"
	    "<recipients><cc>x@example.org</cc><to>a@example.org</to>"
	    "</recipients></campaign>";
	struct campaign		*c;
	struct campaign_error	 err;

	cr_assert_eq(parse(xml, NO_LIMIT, &c, &err), -1);
	cr_expect_eq(err.status, 422);
	cr_expect_eq(err.nproblems, 1, "%s", problems(&err));
	cr_expect(has_problem(&err, "unexpected <cc>"), "%s", problems(&err));
	campaign_error_free(&err);
}

Test(campaign, keeps_the_problem_list_bounded)
{
	struct buf	 b;
	int		 i;
	char		*xml;

	buf_init(&b);
	for (i = 0; i < 500; i++)
		buf_adds(&b, "  <junk/>\n");
	xml = doc_with("s", ">f@example.com", b.data, "<to>a@example.org</to>");
	{
		struct campaign		*c;
		struct campaign_error	 err;

		cr_assert_eq(parse(xml, NO_LIMIT, &c, &err), -1);
		cr_expect_eq(err.status, 422);
		cr_expect_leq(err.nproblems, 20);
		cr_expect_geq(err.nproblems, 1);
		campaign_error_free(&err);
	}
	free(xml);
	buf_free(&b);
}

Test(campaign, header_safe_refuses_every_control_character)
{
	char	 s[4];
	int	 c;

	cr_expect(campaign_header_safe(""));
	cr_expect(campaign_header_safe("Plain subject: 100% off!"));
	cr_expect(campaign_header_safe("Gr\xc3\xbc\xc3\x9f" "e"));
	for (c = 1; c < 0x20; c++) {
		snprintf(s, sizeof s, "a%cb", c);
		cr_expect_not(campaign_header_safe(s), "0x%02x passed", c);
	}
	cr_expect_not(campaign_header_safe("a\x7f" "b"));
}

/* A generated document with n recipients, one per line from line 7. */
static char *
big_doc(unsigned n, size_t *len)
{
	struct buf	 b;
	unsigned	 i;

	buf_init(&b);
	buf_adds(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	    "<campaign id=\"big\" list=\"news.example.com\">\n"
	    "<from name=\"Shop\">news@example.com</from>\n"
	    "<subject>Big</subject>\n"
	    "<text>Hi {{name}}</text>\n"
	    "<recipients>\n");
	for (i = 0; i < n; i++) {
		if (i % 3 == 0)
			buf_printf(&b, "<to name=\"User %u\">user%u@example.org"
			    "</to>\n", i, i);
		else
			buf_printf(&b, "<to>user%u@example.org</to>\n", i);
	}
	buf_adds(&b, "</recipients>\n</campaign>\n");
	return buf_steal(&b, len);
}

/* The timeout only guards against a hang; the test asserts no timing. */
Test(campaign, parses_and_iterates_100000_recipients, .timeout = 120)
{
	const unsigned		 n = 100000;
	struct campaign		*c = NULL;
	struct campaign_error	 err;
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;
	char			*xml, want[64], wname[64];
	size_t			 len;
	unsigned		 i = 0, badline = 0, badaddr = 0, badname = 0;

	xml = big_doc(n, &len);
	if (campaign_parse(xml, len, n, &c, &err) != 0)
		cr_assert_fail("refused: %s", problems(&err));
	cr_expect_eq(c->nrecipients, n);
	campaign_free(c);

	it = campaign_rcpt_open(xml, len);
	while (campaign_rcpt_next(it, &rc) == 1) {
		snprintf(want, sizeof want, "user%u@example.org", i);
		if (rc.addrlen != strlen(want) || memcmp(rc.addr, want,
		    rc.addrlen) != 0)
			badaddr++;
		if (rc.line != 7 + i && badline++ == 0)
			cr_expect_fail("recipient %u on line %u, want %u", i,
			    rc.line, 7 + i);
		if (i % 3 == 0) {
			snprintf(wname, sizeof wname, "User %u", i);
			if (rc.name == NULL || strcmp(rc.name, wname) != 0)
				badname++;
		} else if (rc.name != NULL)
			badname++;
		i++;
	}
	campaign_rcpt_close(it);
	cr_expect_eq(i, n, "iterated %u of %u", i, n);
	cr_expect_eq(badaddr, 0, "%u wrong addresses", badaddr);
	cr_expect_eq(badline, 0, "%u wrong line numbers", badline);
	cr_expect_eq(badname, 0, "%u wrong names", badname);

	if (campaign_parse(xml, len, n - 1, &c, &err) == 0)
		cr_expect_fail("one over max_recipients was accepted");
	else
		cr_expect_eq(err.status, 413);
	campaign_error_free(&err);
	campaign_free(c);
	free(xml);
}

Test(campaign, frees_null_and_zeroed_errors)
{
	struct campaign_error	 err;

	memset(&err, 0, sizeof err);
	campaign_free(NULL);
	campaign_error_free(&err);
	campaign_rcpt_close(NULL);
}

/* Issue 14: the campaign input checks, one row per situation. */

/* A full valid document in which one line is replaced by `extra`. */
static char *
doc_plus(const char *extra)
{
	char	*s;

	xasprintf(&s,
	    "<campaign id=\"c1\" list=\"news.example.com\">\n"
	    "  <from name=\"Shop\">news@example.com</from>\n"
	    "  <reply-to>help@example.com</reply-to>\n"
	    "  <subject>Hello</subject>\n"
	    "  <send-after>2026-11-23T09:00:00Z</send-after>\n"
	    "  <expires>2026-11-30T00:00:00Z</expires>\n"
	    "  <text>hi</text>\n"
	    "  <html><![CDATA[<p>hi</p>]]></html>\n"
	    "%s"
	    "  <recipients><to>a@example.org</to></recipients>\n"
	    "</campaign>\n", extra);
	return s;
}

Test(campaign, refuses_a_second_of_every_singleton_with_its_line)
{
	static const struct {
		const char	*extra, *problem;
	} rows[] = {
		{ "  <from>eve@evil.example</from>\n",
		    "line 10: a second <from> (the first is on line 2)" },
		{ "  <reply-to>eve@evil.example</reply-to>\n",
		    "line 10: a second <reply-to> (the first is on line 3)" },
		{ "  <subject>Other</subject>\n",
		    "line 10: a second <subject> (the first is on line 4)" },
		{ "  <send-after>2026-11-24T09:00:00Z</send-after>\n",
		    "line 10: a second <send-after> (the first is on line 5)" },
		{ "  <expires>2027-01-01T00:00:00Z</expires>\n",
		    "line 10: a second <expires> (the first is on line 6)" },
		{ "  <text>other</text>\n",
		    "line 10: a second <text> (the first is on line 7)" },
		{ "  <html>other</html>\n",
		    "line 10: a second <html> (the first is on line 8)" },
		{ "  <recipients><to>b@example.org</to></recipients>\n",
		    "line 10: a second <recipients> (the first is on line 9)" },
	};
	size_t	 i;
	char	*xml;

	/* The duplicate comes after every field, on line 10. */
	for (i = 0; i < nitems(rows); i++) {
		xasprintf(&xml,
		    "<campaign id=\"c1\" list=\"news.example.com\">\n"
		    "  <from name=\"Shop\">news@example.com</from>\n"
		    "  <reply-to>help@example.com</reply-to>\n"
		    "  <subject>Hello</subject>\n"
		    "  <send-after>2026-11-23T09:00:00Z</send-after>\n"
		    "  <expires>2026-11-30T00:00:00Z</expires>\n"
		    "  <text>hi</text>\n"
		    "  <html><![CDATA[<p>hi</p>]]></html>\n"
		    "  <recipients><to>a@example.org</to></recipients>\n"
		    "%s"
		    "</campaign>\n", rows[i].extra);
		expect_refused(rows[i].extra, xml, NO_LIMIT, 422,
		    rows[i].problem);
		free(xml);
	}
}

Test(campaign, a_second_from_never_becomes_the_sender)
{
	char			*xml = doc_plus("  <from>eve@evil.example</from>\n");
	struct campaign		*c = (struct campaign *)1;
	struct campaign_error	 err;

	cr_assert_eq(parse(xml, NO_LIMIT, &c, &err), -1);
	cr_expect_null(c);
	cr_expect(has_problem(&err, "a second <from>"), "%s", problems(&err));
	campaign_error_free(&err);
	free(xml);
}

Test(campaign, refuses_control_characters_naming_the_field)
{
	static const struct {
		const char	*what, *subject, *from, *middle, *rcpts,
				*problem;
	} rows[] = {
		{ "C1 NEL in the subject", "Hi&#x85;there", ">f@example.com",
		    "  <text>t</text>\n", "<to>a@example.org</to>",
		    "subject: contains" },
		{ "a raw C1 byte pair in the subject", "Hi\xc2\x85there",
		    ">f@example.com", "  <text>t</text>\n",
		    "<to>a@example.org</to>", "subject: contains" },
		{ "DEL in the subject", "Hi&#x7f;", ">f@example.com",
		    "  <text>t</text>\n", "<to>a@example.org</to>",
		    "subject: contains" },
		{ "C1 in the from name", "s",
		    " name=\"Shop&#x9b;\">f@example.com", "  <text>t</text>\n",
		    "<to>a@example.org</to>", "from: the name attribute" },
		{ "C1 in a recipient name", "s", ">f@example.com",
		    "  <text>t</text>\n",
		    "<to name=\"Eve&#x85;\">a@example.org</to>",
		    "<to> name must be one line" },
		{ "C1 in the text body", "s", ">f@example.com",
		    "  <text>a&#x85;b</text>\n", "<to>a@example.org</to>",
		    "text: contains a control character" },
		{ "DEL in the html body", "s", ">f@example.com",
		    "  <html>a&#x7f;b</html>\n", "<to>a@example.org</to>",
		    "html: contains a control character" },
	};
	size_t	 i;
	char	*xml, *rcpts;

	for (i = 0; i < nitems(rows); i++) {
		xasprintf(&rcpts, "%s\n", rows[i].rcpts);
		xml = doc_with(rows[i].subject, rows[i].from, rows[i].middle,
		    rcpts);
		expect_refused(rows[i].what, xml, NO_LIMIT, 422,
		    rows[i].problem);
		free(xml);
		free(rcpts);
	}
}

Test(campaign, keeps_tabs_and_line_breaks_in_bodies)
{
	char		*xml = doc_with("s", ">f@example.com",
	    "  <text>a&#9;b&#13;\nc</text>\n", "<to>a@example.org</to>\n");
	struct campaign	*c = expect_parsed("tab and CRLF in text", xml,
	    NO_LIMIT);

	cr_expect_str_eq(c->text, "a\tb\r\nc");
	campaign_free(c);
	free(xml);
}

Test(campaign, names_the_real_problem_of_a_body_that_is_not_a_campaign)
{
	static const struct {
		const char	*what, *body;
		size_t		 len;
		const char	*problem;
	} rows[] = {
		{ "an empty body", "", 0, "the body is empty" },
		{ "only white space", " \r\n\t\n", 5, "the body is empty" },
		{ "a prolog only", "<?xml version=\"1.0\"?>\n", 22,
		    "no <campaign> element, only a prolog" },
		{ "a prolog and a comment",
		    "<?xml version=\"1.0\"?>\n<!-- nothing -->\n", 39,
		    "no <campaign> element, only a prolog" },
		{ "a JSON object", "{\"id\": \"c1\"}", 12,
		    "not an XML campaign document: it looks like JSON" },
		{ "a JSON array", "  [1, 2]", 8,
		    "not an XML campaign document: it looks like JSON" },
		{ "a PNG", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16,
		    "not an XML campaign document: it starts with binary" },
		{ "NUL bytes", "\0\0\0\0", 4,
		    "not an XML campaign document: it starts with binary" },
	};
	struct campaign		*c;
	struct campaign_error	 err;
	size_t			 i;

	for (i = 0; i < nitems(rows); i++) {
		cr_expect_eq(campaign_parse(rows[i].body, rows[i].len,
		    NO_LIMIT, &c, &err), -1, "%s", rows[i].what);
		cr_expect_eq(err.status, 400, "%s", rows[i].what);
		cr_expect(has_problem(&err, rows[i].problem), "%s: %s",
		    rows[i].what, problems(&err));
		cr_expect_not(has_problem(&err, "Extra content"), "%s",
		    rows[i].what);
		cr_expect_not(has_problem(&err, "Document is empty"), "%s",
		    rows[i].what);
		campaign_error_free(&err);
	}
}

Test(campaign, says_a_time_before_1970_is_in_the_past)
{
	static const char *past[] = {
		"1970-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
		"1900-01-01T00:00:00Z", "0001-01-01T00:00:00Z",
		"1970-01-01T00:30:00+01:00",
	};
	size_t	 i;

	for (i = 0; i < nitems(past); i++) {
		expect_time_refused("expires", past[i], "is in the past");
		expect_time_refused("send-after", past[i], "is in the past");
	}
}

Test(campaign, refuses_ids_that_make_invalid_message_ids)
{
	static const char *bad[] = { ".c1", "c1.", "a..b", ".", "..", "..." };
	static const char *good[] = { "a.b", "a.b.c", "v1.2-x_y" };
	size_t	 i;
	char	*xml;

	for (i = 0; i < nitems(bad); i++) {
		cr_expect_not(campaign_valid_id(bad[i]), "%s", bad[i]);
		xasprintf(&xml, "<campaign id=\"%s\" list=\"news.example.com\">"
		    "<from>f@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients><to>a@example.org</to>"
		    "</recipients></campaign>", bad[i]);
		expect_refused(bad[i], xml, NO_LIMIT, 422, "campaign: id");
		free(xml);
	}
	for (i = 0; i < nitems(good); i++)
		cr_expect(campaign_valid_id(good[i]), "%s", good[i]);
}

Test(campaign, header_safe_refuses_c1_and_invalid_utf8)
{
	cr_expect_not(campaign_header_safe("a\xc2\x85" "b"));
	cr_expect_not(campaign_header_safe("a\xc2\x9f"));
	cr_expect_not(campaign_header_safe("caf\xe9"));
	cr_expect(campaign_header_safe("a\xc2\xa0" "b"));
}

Test(campaign, still_reads_a_utf16_document)
{
	static const char	 ascii[] =
	    "<campaign id=\"c1\" list=\"news.example.com\">"
	    "<from>f@example.com</from><subject>s</subject><text>t</text>"
	    "<recipients><to>a@example.org</to></recipients></campaign>";
	char			 doc[2 * sizeof ascii + 2];
	struct campaign		*c;
	struct campaign_error	 err;
	size_t			 i, n = 0;

	/* UTF-16LE with its byte order mark: NUL bytes, but not binary. */
	doc[n++] = '\xff';
	doc[n++] = '\xfe';
	for (i = 0; i < sizeof ascii - 1; i++) {
		doc[n++] = ascii[i];
		doc[n++] = '\0';
	}
	cr_assert_eq(campaign_parse(doc, n, NO_LIMIT, &c, &err), 0, "%s",
	    problems(&err));
	cr_expect_str_eq(c->id, "c1");
	campaign_free(c);
}

Test(campaign, reads_each_recipients_time_zone)
{
	const char	*xml =
	    "<campaign id=\"c\" list=\"news.example.com\">"
	    "<from>a@example.com</from><subject>s</subject><text>t</text>"
	    "<recipients>"
	    "<to name=\"A\" tz=\"Asia/Tokyo\">a@example.org</to>"
	    "<to>b@example.org</to>"
	    "<to tz=\"\">c@example.org</to>"
	    "<to tz=\"Mars/Olympus_Mons\" name=\"D\">d@example.org</to>"
	    "<to tz=\"Etc/GMT+10\">e@example.org</to>"
	    "</recipients></campaign>";
	static const char	*want[] = { "Asia/Tokyo", NULL, NULL,
				    "Mars/Olympus_Mons", "Etc/GMT+10" };
	struct campaign		*c = expect_parsed("tz", xml, NO_LIMIT);
	struct campaign_rcpts	*it;
	struct campaign_rcpt	 rc;
	size_t			 i;

	cr_expect_eq(c->nrecipients, 5, "an unknown zone is no refusal");
	campaign_free(c);
	it = campaign_rcpt_open(xml, strlen(xml));
	for (i = 0; i < nitems(want); i++) {
		cr_assert_eq(campaign_rcpt_next(it, &rc), 1);
		if (want[i] == NULL)
			cr_expect_null(rc.tz, "recipient %zu: %s", i, rc.tz);
		else
			cr_expect(rc.tz != NULL && strcmp(rc.tz, want[i]) == 0,
			    "recipient %zu: %s, want %s", i, rc.tz, want[i]);
		if (i == 3)
			cr_expect_str_eq(rc.name, "D", "the name beside a tz");
	}
	cr_expect_eq(campaign_rcpt_next(it, &rc), 0);
	campaign_rcpt_close(it);
}

Test(campaign, refuses_a_time_zone_that_is_not_a_zone_name)
{
	static const char	*bad[] = {
		"Asia/Tokyo\\nBcc: x",		/* kept literally: a backslash */
		"Asia/Tokyo&#10;x",
		"../../etc/passwd%",
		"Asia/Tokyo ",
		"A/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
		"T\xc3\xb6kyo",
	};
	char		 xml[1024];
	size_t		 i;

	for (i = 0; i < nitems(bad); i++) {
		snprintf(xml, sizeof xml,
		    "<campaign id=\"c\" list=\"news.example.com\">"
		    "<from>a@example.com</from><subject>s</subject>"
		    "<text>t</text><recipients>"
		    "<to>ok@example.org</to>\n"
		    "<to tz=\"%s\">a@example.org</to>"
		    "</recipients></campaign>", bad[i]);
		expect_refused(bad[i], xml, NO_LIMIT, 422,
		    "line 2: <to> tz must be an IANA time zone name");
	}
	cr_expect(campaign_valid_tz("America/Argentina/Buenos_Aires"));
	cr_expect(campaign_valid_tz("Etc/GMT-14"));
	cr_expect(!campaign_valid_tz(""));
}

/*
 * Pass one in two halves (campaign_read_head/rest): what each half says
 * for a document shaped one way or another.
 */
struct split_row {
	const char	*name;
	const char	*middle;	/* between <subject> and <recipients> */
	const char	*rcpts;
	const char	*after;		/* after </recipients> */
	int		 paused;	/* the head stopped at <recipients> */
	int		 head_rc;
	int		 rest_rc;	/* when paused */
	int		 status;	/* of the refusal, when refused */
	const char	*problem;	/* a phrase of the first problem */
	uint64_t	 nrecipients;	/* when accepted */
	int		 pad;		/* good <to>s before rcpts, so that
					   the parser has not read that far
					   when the head pauses */
	uint64_t	 max;		/* max_recipients (0: no limit) */
};

static const struct split_row split_rows[] = {
	{ "whole header first", "  <text>hi</text>\n",
	    "    <to>a@example.org</to>\n    <to>b@example.org</to>\n", "",
	    1, 0, 0, 0, NULL, 2, 0, 0 },
	{ "a bad name at the end", "  <text>hi</text>\n",
	    "    <to>a@example.org</to>\n"
	    "    <to name=\"a&#10;b\">b@x.org</to>\n", "", 1, 0, -1, 422,
	    "line 7: <to> name must be one line", 0, 0, 0 },
	{ "malformed in the recipients", "  <text>hi</text>\n",
	    "    <to>a@example.org</too>\n", "", 1, 0, -1, 400,
	    "malformed XML at line 2006", 0, 2000, 0 },
	{ "no <to> at all", "  <text>hi</text>\n", "", "", 1, 0, -1, 422,
	    "recipients: no <to> element", 0, 0, 0 },
	{ "expires after the recipients", "  <text>hi</text>\n",
	    "    <to>a@example.org</to>\n",
	    "  <expires>2026-11-30T00:00:00Z</expires>\n", 1, 0,
	    CAMPAIGN_LATE_HEADER, 0, NULL, 0, 0, 0 },
	{ "the body after the recipients: read whole", "",
	    "    <to>a@example.org</to>\n", "  <text>hi</text>\n", 0, 0, 0, 0,
	    NULL, 1, 0, 0 },
	{ "a header problem: read whole, refused",
	    "  <text>hi</text>\n  <expires>soon</expires>\n",
	    "    <to>a@example.org</to>\n", "", 0, -1, 0, 422, "expires", 0,
	    0, 0 },
	{ "too many recipients", "  <text>hi</text>\n",
	    "    <to>a@example.org</to>\n    <to>b@example.org</to>\n"
	    "    <to>c@example.org</to>\n", "", 1, 0, -1, 413,
	    "more than max_recipients (2)", 0, 0, 2 },
};

Test(campaign, reads_in_two_halves_as_the_table_says)
{
	const struct split_row	*r;
	struct campaign_reading	*rest;
	struct campaign_error	 err;
	struct campaign		*c;
	struct iovec		 iov;
	struct buf		 pad;
	char			*full;
	size_t			 i;
	int			 j, rc;

	for (i = 0; i < nitems(split_rows); i++) {
		r = &split_rows[i];
		buf_init(&pad);
		for (j = 0; j < r->pad; j++)
			buf_printf(&pad, "    <to>p%d@example.org</to>\n", j);
		buf_addc(&pad, '\0');
		xasprintf(&full, "<campaign id=\"c1\" list=\"news.example.com"
		    "\">\n  <from>news@example.com</from>\n"
		    "  <subject>Hello</subject>\n%s  <recipients>\n%s%s"
		    "  </recipients>\n%s</campaign>\n", r->middle, pad.data,
		    r->rcpts, r->after);
		buf_free(&pad);
		iov.iov_base = full;
		iov.iov_len = strlen(full);
		rc = campaign_read_head(&iov, 1, r->max ? r->max : NO_LIMIT, 1,
		    &c, &rest, &err);
		cr_assert_eq(rc, r->head_rc, "%s: head %d", r->name, rc);
		cr_assert_eq(rest != NULL, r->paused, "%s: paused", r->name);
		if (rest != NULL) {
			cr_assert_not_null(c, "%s", r->name);
			cr_assert_str_eq(c->subject, "Hello", "%s", r->name);
			rc = campaign_read_rest(rest, &err);
			cr_assert_eq(rc, r->rest_rc, "%s: rest %d", r->name, rc);
		}
		if (rc == -1) {
			cr_assert_eq(err.status, r->status, "%s: status %d",
			    r->name, err.status);
			cr_assert(err.nproblems > 0 && strstr(err.problems[0],
			    r->problem) != NULL, "%s: %s", r->name,
			    err.nproblems ? err.problems[0] : "(none)");
			campaign_error_free(&err);
		} else if (rc == 0)
			cr_assert_eq(c->nrecipients, r->nrecipients,
			    "%s: %llu", r->name,
			    (unsigned long long)c->nrecipients);
		campaign_free(c);
		free(full);
	}
}

Test(campaign, a_reading_given_up_after_the_head_frees_only_itself)
{
	struct campaign_reading	*rest;
	struct campaign_error	 err;
	struct campaign		*c;
	struct iovec		 iov;
	char			*doc;

	doc = doc_subject("Hello");
	iov.iov_base = doc;
	iov.iov_len = strlen(doc);
	cr_assert_eq(campaign_read_head(&iov, 1, NO_LIMIT, 1, &c, &rest,
	    &err), 0);
	cr_assert_not_null(rest);
	/* The header's user keeps the campaign (the sanitizer run checks
	 * that nothing is freed twice or left behind). */
	campaign_reading_free(rest);
	cr_assert_str_eq(c->id, "c1");
	campaign_free(c);
	free(doc);
}

/* A document of n recipients: names on some, zones on others. */
static char *
doc_many(int n, const char *tail)
{
	struct buf	 b;
	int		 i;

	buf_init(&b);
	buf_printf(&b, "<campaign id=\"c1\" list=\"news.example.com\">\n"
	    "  <from>news@example.com</from>\n  <subject>Hi</subject>\n"
	    "  <text>hi</text>\n  <recipients>\n");
	for (i = 0; i < n; i++)
		buf_printf(&b, "    <to%s%s%s%s>  u%d@d%d.example.org </to>\n",
		    i % 3 ? " name=\"User " : "", i % 3 ? "x" : "",
		    i % 3 ? "\"" : "", i % 5 ? " tz=\"Asia/Tokyo\"" : "", i,
		    i % 7);
	buf_printf(&b, "%s  </recipients>\n</campaign>\n", tail);
	buf_addc(&b, '\0');
	return b.data;
}

/* Read ahead on a thread or not, the cursor yields the same recipients,
 * also when the document breaks off or the reader stops early. */
Test(campaign, the_read_ahead_cursor_yields_what_the_plain_one_does)
{
	static const char	*tails[] = {
		"", "    <to>last@example.org</to\n"	/* broken off */
	};
	struct campaign_rcpts	*plain, *ahead;
	struct campaign_rcpt	 p, a;
	struct iovec		 iov;
	char			*doc;
	size_t			 t, n;
	int			 rp, ra;

	for (t = 0; t < nitems(tails); t++) {
		doc = doc_many(50000, tails[t]);
		iov.iov_base = doc;
		iov.iov_len = strlen(doc);
		plain = campaign_rcpt_open_iov(&iov, 1);
		ahead = campaign_rcpt_open_ahead(&iov, 1);
		cr_assert_not_null(ahead);
		n = 0;
		do {
			rp = campaign_rcpt_next(plain, &p);
			ra = campaign_rcpt_next(ahead, &a);
			cr_assert_eq(rp, ra, "tail %zu, recipient %zu", t, n);
			if (rp != 1)
				break;
			cr_assert_eq(p.addrlen, a.addrlen);
			cr_assert(memcmp(p.addr, a.addr, p.addrlen) == 0);
			cr_assert_eq(p.name == NULL, a.name == NULL);
			if (p.name != NULL)
				cr_assert_str_eq(p.name, a.name);
			cr_assert_eq(p.tz == NULL, a.tz == NULL);
			if (p.tz != NULL)
				cr_assert_str_eq(p.tz, a.tz);
			cr_assert_eq(p.line, a.line);
			n++;
		} while (1);
		cr_assert_eq(n, 50000, "tail %zu: %zu recipients", t, n);
		campaign_rcpt_close(plain);
		campaign_rcpt_close(ahead);
		/* Stopped early, the thread is waiting on a full ring. */
		ahead = campaign_rcpt_open_ahead(&iov, 1);
		cr_assert_eq(campaign_rcpt_next(ahead, &a), 1);
		campaign_rcpt_close(ahead);
		/* Or never asked at all. */
		campaign_rcpt_close(campaign_rcpt_open_ahead(&iov, 1));
		free(doc);
	}
}
