/*
 * test_weigh.c: the HTML weigher, with crafted HTML.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "util.h"
#include "weigh.h"

/* Limits that break nothing, so a test sets only the one it checks. */
static void
no_limits(struct weigh_limits *lim)
{
	memset(lim, 0, sizeof *lim);
}

/* Weigh html (NUL-terminated) and return the report as JSON. */
static json_t *
weigh_json_n(const char *html, size_t len, const struct weigh_limits *lim,
    struct weigh **wp)
{
	struct weigh	*w;
	json_t		*j;
	char		*cause = NULL;

	cr_assert_eq(weigh_html(html, len, lim, &w, &cause), 0,
	    "weigh_html failed: %s", cause != NULL ? cause : "?");
	cr_assert_not_null(w);
	j = weigh_report_json(w);
	cr_assert_not_null(j);
	if (wp != NULL)
		*wp = w;
	else
		weigh_free(w);
	return j;
}

static json_t *
weigh_json(const char *html, const struct weigh_limits *lim,
    struct weigh **wp)
{
	return weigh_json_n(html, strlen(html), lim, wp);
}

/* An integer member of the report. */
static long long
jint(const json_t *j, const char *key)
{
	json_t	*v = json_object_get(j, key);

	cr_assert(json_is_integer(v), "report has no integer \"%s\"", key);
	return json_integer_value(v);
}

/* The over_limit entry for limit, or NULL. */
static json_t *
over(const json_t *j, const char *limit)
{
	json_t	*a = json_object_get(j, "over_limit"), *e;
	size_t	 i;

	json_array_foreach(a, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "limit")),
		    limit) == 0)
			return e;
	}
	return NULL;
}

/* Does some warning contain needle? */
static int
warned(const json_t *j, const char *needle)
{
	json_t	*a = json_object_get(j, "warnings"), *e;
	size_t	 i;

	json_array_foreach(a, i, e) {
		if (strstr(json_string_value(e), needle) != NULL)
			return 1;
	}
	return 0;
}

/* The image_list entry whose url is url, or NULL. */
static json_t *
image(const json_t *j, const char *url)
{
	json_t	*a = json_object_get(j, "image_list"), *e;
	size_t	 i;

	json_array_foreach(a, i, e) {
		if (strcmp(json_string_value(json_object_get(e, "url")),
		    url) == 0)
			return e;
	}
	return NULL;
}

/* A string of n copies of s. */
static char *
repeat(const char *s, size_t n)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_adds(&b, s);
	return buf_steal(&b, NULL);
}

/* Text. */

struct text_case {
	const char	*name;
	const char	*html;
	long long	 chars;
};

static const struct text_case text_cases[] = {
	{ "a plain paragraph counts its letters and one space",
	    "<p>Hello   world</p>", 11 },
	{ "whitespace runs collapse across elements",
	    "<p>a</p>\n\n<p>b</p>", 3 },
	{ "leading and trailing whitespace does not count",
	    "<body>\n   text   \n</body>", 4 },
	{ "&amp; counts as one character", "<p>&amp;</p>", 1 },
	{ "&eacute; counts as one character", "<p>&eacute;</p>", 1 },
	{ "a numeric reference counts as one character", "<p>&#233;</p>", 1 },
	{ "entities inside words count once each",
	    "<p>caf&eacute; &amp; cr&egrave;me</p>", 12 },
	{ "a UTF-8 character counts once, not per byte",
	    "<p>\xc3\xa9t\xc3\xa9 \xe2\x82\xac\xf0\x9f\x98\x80</p>", 6 },
	{ "script, style, head, title and comments are not text",
	    "<html><head><title>Title</title><style>p{color:red}</style>"
	    "</head><body><!-- hidden --><script>var x = 1;</script>"
	    "<p>seen</p></body></html>", 4 },
	{ "upper-case tags are read like lower-case ones",
	    "<HTML><BODY><P>Text</P><SCRIPT>x()</SCRIPT></BODY></HTML>", 4 },
	{ "unclosed tags still show their text",
	    "<p><b>bold<i>both<p> next", 13 },
	{ "preheader padding of zero-width joiners is invisible",
	    "<p>Hi</p><div>&zwnj;&nbsp;&zwnj;&nbsp;&#847;&zwnj;</div>", 2 },
	{ "non-breaking spaces collapse like spaces",
	    "<p>a&nbsp;&nbsp;&nbsp;b</p>", 3 },
	{ "an empty document has no text", "", 0 },
};

Test(weigh_text, counts_visible_characters_in_each_case)
{
	const struct text_case	*c;
	json_t			*j;
	size_t			 i;

	for (i = 0; i < nitems(text_cases); i++) {
		c = &text_cases[i];
		j = weigh_json(c->html, NULL, NULL);
		cr_expect_eq(jint(j, "text_chars"), c->chars,
		    "%s: %lld characters, expected %lld", c->name,
		    jint(j, "text_chars"), c->chars);
		json_decref(j);
	}
}

Test(weigh_text, declared_latin1_charset_does_not_misread_utf8)
{
	const char	*html = "<html><head><meta charset=\"iso-8859-1\">"
	    "</head><body>\xc3\xa9</body></html>";
	json_t		*j;

	j = weigh_json(html, NULL, NULL);
	cr_expect_eq(jint(j, "text_chars"), 1,
	    "a UTF-8 e-acute counted as %lld characters",
	    jint(j, "text_chars"));
	cr_expect_str_eq(json_string_value(json_object_get(j, "charset")),
	    "iso-8859-1");
	cr_expect(warned(j, "sent as UTF-8"),
	    "a non-UTF-8 charset is not warned about");
	json_decref(j);
}

Test(weigh_text, http_equiv_charset_is_recorded_and_not_obeyed)
{
	const char	*html = "<html><head><meta http-equiv=\"Content-Type\" "
	    "content=\"text/html; charset=windows-1252\"></head><body>"
	    "\xe2\x82\xac 5</body></html>";
	json_t		*j;

	j = weigh_json(html, NULL, NULL);
	cr_expect_eq(jint(j, "text_chars"), 3);
	cr_expect_str_eq(json_string_value(json_object_get(j, "charset")),
	    "windows-1252");
	json_decref(j);
}

Test(weigh_text, utf8_charset_is_not_warned_about)
{
	json_t	*j;

	j = weigh_json("<meta charset=\"UTF-8\"><p>ok</p>", NULL, NULL);
	cr_expect_str_eq(json_string_value(json_object_get(j, "charset")),
	    "UTF-8");
	cr_expect_eq(json_array_size(json_object_get(j, "warnings")), 0);
	json_decref(j);
}

Test(weigh_text, invalid_utf8_is_warned_about)
{
	json_t	*j;

	j = weigh_json("<p>caf\xe9</p>", NULL, NULL);
	cr_expect(warned(j, "not valid UTF-8"));
	json_decref(j);
}

Test(weigh_text, content_after_a_nul_byte_is_still_weighed)
{
	static const char	 html[] = "<p>a</p>\0<img src=\"x.png\"><p>b</p>";
	json_t			*j;

	j = weigh_json_n(html, sizeof html - 1, NULL, NULL);
	cr_expect_eq(jint(j, "images"), 1);
	cr_expect_eq(jint(j, "text_chars"), 3);
	cr_expect(warned(j, "NUL"));
	json_decref(j);
}

/* Images. */

struct image_case {
	const char	*name;
	const char	*html;
	long long	 images;	/* distinct */
	long long	 refs;
	long long	 inline_bytes;
	long long	 area;
	long long	 remote;	/* weigh_remote_count */
};

static const struct image_case image_cases[] = {
	{ "an img src is one remote image",
	    "<img src=\"https://cdn.example.com/a.png\">", 1, 1, 0, 0, 1 },
	{ "upper-case IMG SRC is read",
	    "<IMG SRC=\"https://cdn.example.com/a.png\" WIDTH=10 HEIGHT=20>",
	    1, 1, 0, 200, 1 },
	{ "an image without dimensions adds no area",
	    "<img src=\"a.png\"><img src=\"b.png\" width=\"100\">",
	    2, 2, 0, 0, 2 },
	{ "an image with both dimensions adds its area",
	    "<img src=\"a.png\" width=\"600\" height=\"300px\">",
	    1, 1, 0, 180000, 1 },
	{ "a percentage width is not numeric",
	    "<img src=\"a.png\" width=\"100%\" height=\"300\">",
	    1, 1, 0, 0, 1 },
	{ "the same logo three times is one image, three references",
	    "<img src=\"logo.png\" width=10 height=10>"
	    "<img src=\"logo.png\" width=10 height=10>"
	    "<td background=\"logo.png\">", 1, 3, 0, 200, 1 },
	{ "srcset densities are each a candidate image",
	    "<img srcset=\"a.png 1x, a@2x.png 2x\">", 2, 2, 0, 0, 2 },
	{ "srcset widths are each a candidate image",
	    "<img src=\"s.png\" srcset=\"s.png 480w, m.png 800w,l.png 1200w\" "
	    "sizes=\"(max-width: 600px) 480px, 800px\" width=4 height=5>",
	    3, 4, 0, 20, 3 },
	{ "a srcset URL ending in a comma ends its candidate",
	    "<img srcset=\"a.png, b.png\">", 2, 2, 0, 0, 2 },
	{ "a comma right after a descriptor ends its candidate",
	    "<img srcset=\"a.png 1x,b.png 2x\">", 2, 2, 0, 0, 2 },
	{ "a comma inside a srcset URL is part of the URL",
	    "<img srcset=\"a.png,b.png\">", 1, 1, 0, 0, 1 },
	{ "srcset of a picture source is read",
	    "<picture><source srcset=\"a.webp 1x, b.webp 2x\" "
	    "type=\"image/webp\"><img src=\"a.jpg\"></picture>", 3, 3, 0, 0, 3 },
	{ "srcset keeps the comma inside a data: URI",
	    "<img srcset=\"data:image/gif;base64,AAAA 1x, b.png 2x\">",
	    2, 2, 3, 0, 1 },
	{ "a background attribute on any element is an image",
	    "<body background=\"b.png\"><table background=\"t.png\"><tr>"
	    "<td background=\"c.png\">x</td></tr></table>", 3, 3, 0, 0, 3 },
	{ "css url() with double quotes in a style attribute",
	    "<div style=\"background-image: url(&quot;a.png&quot;)\"></div>",
	    1, 1, 0, 0, 1 },
	{ "css url() with single quotes and spaces in a style attribute",
	    "<div style=\"background:url( 'a.png' ) no-repeat\"></div>",
	    1, 1, 0, 0, 1 },
	{ "css url() without quotes in a style attribute",
	    "<div style=\"background:URL(a.png)\"></div>", 1, 1, 0, 0, 1 },
	{ "css url() in a style block, quoted and not",
	    "<style>.a{background:url(\"a.png\")}\n.b{background:url(b.png)}"
	    "\n.c{background: url( 'c.png' )}</style>", 3, 3, 0, 0, 3 },
	{ "css url() in a comment or a string loads nothing",
	    "<style>/* url(a.png) */ .x{content:\"url(b.png)\"}</style>",
	    0, 0, 0, 0, 0 },
	{ "an empty src is no image", "<img src=\"\"><img src=\"  \">",
	    0, 0, 0, 0, 0 },
	{ "a data: URI is inline and counts its decoded bytes",
	    "<img src=\"data:image/png;base64,AAAA\">", 1, 1, 3, 0, 0 },
	{ "base64 with one padding character",
	    "<img src=\"data:image/png;base64,AAA=\">", 1, 1, 2, 0, 0 },
	{ "base64 with two padding characters",
	    "<img src=\"data:image/png;base64,AA==\">", 1, 1, 1, 0, 0 },
	{ "base64 without padding",
	    "<img src=\"data:image/png;base64,AAAAAA\">", 1, 1, 4, 0, 0 },
	{ "whitespace inside base64 is tolerated",
	    "<img src=\"data:image/png;base64,AAAA AAAA\n  AAAA\tAAAA\">",
	    1, 1, 12, 0, 0 },
	{ "percent-encoded base64 is decoded first",
	    "<img src=\"data:image/png;base64,AA%2B%2F\">", 1, 1, 3, 0, 0 },
	{ "a data: URI without base64 counts percent-decoded bytes",
	    "<img src=\"data:image/svg+xml,%3Csvg%3E\">", 1, 1, 5, 0, 0 },
	{ "a data: URI with no media type",
	    "<img src=\"data:,hello\">", 1, 1, 5, 0, 0 },
	{ "a data: image in a style url()",
	    "<div style=\"background:url(data:image/gif;base64,R0lGODlh)\">"
	    "</div>", 1, 1, 6, 0, 0 },
	{ "nested tables are walked to the innermost image",
	    "<table><tr><td><table><tr><td><table><tr><td>"
	    "<img src=\"deep.png\" width=2 height=3>"
	    "</td></tr></table></td></tr></table></td></tr></table>",
	    1, 1, 0, 6, 1 },
	{ "images after unclosed tags are found",
	    "<table><tr><td><p><b>text<img src=\"a.png\"><div><span>"
	    "<img src=\"b.png\">", 2, 2, 0, 0, 2 },
	{ "an unterminated attribute value runs to the end",
	    "<p>x</p><img src=\"a.png", 1, 1, 0, 0, 1 },
};

Test(weigh_images, finds_and_measures_images_in_each_case)
{
	const struct image_case	*c;
	struct weigh		*w;
	json_t			*j;
	size_t			 i;

	for (i = 0; i < nitems(image_cases); i++) {
		c = &image_cases[i];
		j = weigh_json(c->html, NULL, &w);
		cr_expect_eq(jint(j, "images"), c->images,
		    "%s: %lld images, expected %lld", c->name,
		    jint(j, "images"), c->images);
		cr_expect_eq(jint(j, "image_refs"), c->refs,
		    "%s: %lld references, expected %lld", c->name,
		    jint(j, "image_refs"), c->refs);
		cr_expect_eq(jint(j, "inline_image_bytes"), c->inline_bytes,
		    "%s: %lld inline bytes, expected %lld", c->name,
		    jint(j, "inline_image_bytes"), c->inline_bytes);
		cr_expect_eq(jint(j, "image_area"), c->area,
		    "%s: area %lld, expected %lld", c->name,
		    jint(j, "image_area"), c->area);
		cr_expect_eq((long long)weigh_remote_count(w), c->remote,
		    "%s: %zu remote, expected %lld", c->name,
		    weigh_remote_count(w), c->remote);
		cr_expect_eq(json_array_size(json_object_get(j, "broken")), 0,
		    "%s: reported broken images", c->name);
		json_decref(j);
		weigh_free(w);
	}
}

Test(weigh_images, srcset_candidates_keep_their_urls)
{
	struct weigh	*w;
	json_t		*j;

	j = weigh_json("<img srcset=\"https://x.test/s.png 480w, "
	    "https://x.test/m.png  800w ,https://x.test/l.png 1.5x\">",
	    NULL, &w);
	cr_assert_eq(weigh_remote_count(w), 3);
	cr_expect_str_eq(weigh_remote_url(w, 0), "https://x.test/s.png");
	cr_expect_str_eq(weigh_remote_url(w, 1), "https://x.test/m.png");
	cr_expect_str_eq(weigh_remote_url(w, 2), "https://x.test/l.png");
	cr_expect_not_null(image(j, "https://x.test/m.png"));
	json_decref(j);
	weigh_free(w);
}

Test(weigh_images, dimensions_are_kept_with_the_image)
{
	json_t	*img, *j;

	j = weigh_json("<img src=\"a.png\" width=\"64\" height=\"32\">",
	    NULL, NULL);
	img = image(j, "a.png");
	cr_assert_not_null(img);
	cr_expect_eq(json_integer_value(json_object_get(img, "width")), 64);
	cr_expect_eq(json_integer_value(json_object_get(img, "height")), 32);
	cr_expect_str_eq(json_string_value(json_array_get(
	    json_object_get(img, "kinds"), 0)), "src");
	json_decref(j);
}

struct broken_case {
	const char	*name;
	const char	*uri;
	const char	*error;		/* a part of the expected reason */
};

static const struct broken_case broken_cases[] = {
	{ "a character outside the alphabet",
	    "data:image/png;base64,AA!A", "invalid base64 character" },
	{ "a length that leaves a lone character",
	    "data:image/png;base64,AAAAA", "truncated base64" },
	{ "data after the padding", "data:image/png;base64,AA=A",
	    "after '=' padding" },
	{ "three padding characters", "data:image/png;base64,A===",
	    "truncated base64" },
	{ "no comma before the data", "data:image/png;base64",
	    "no ','" },
};

Test(weigh_images, broken_base64_is_reported_not_fatal)
{
	const struct broken_case	*c;
	json_t				*j, *b;
	char				*html;
	size_t				 i;

	for (i = 0; i < nitems(broken_cases); i++) {
		c = &broken_cases[i];
		xasprintf(&html, "<p>text</p><img src=\"%s\">", c->uri);
		j = weigh_json(html, NULL, NULL);
		b = json_array_get(json_object_get(j, "broken"), 0);
		cr_expect_not_null(b, "%s: not reported broken", c->name);
		if (b != NULL) {
			cr_expect_str_eq(json_string_value(json_object_get(b,
			    "url")), c->uri, "%s: wrong url", c->name);
			cr_expect(strstr(json_string_value(json_object_get(b,
			    "error")), c->error) != NULL,
			    "%s: error \"%s\" lacks \"%s\"", c->name,
			    json_string_value(json_object_get(b, "error")),
			    c->error);
		}
		cr_expect_eq(jint(j, "images"), 1, "%s: not counted",
		    c->name);
		json_decref(j);
		free(html);
	}
}

Test(weigh_images, broken_data_uri_is_truncated_to_80_characters)
{
	struct buf	 b;
	json_t		*j;
	const char	*url;
	char		*data, *html;

	data = repeat("AAAA", 100);
	buf_init(&b);
	buf_printf(&b, "<img src=\"data:image/png;base64,%s!\">", data);
	html = buf_steal(&b, NULL);
	j = weigh_json(html, NULL, NULL);
	url = json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "broken"), 0), "url"));
	cr_assert_not_null(url);
	cr_expect_eq(strlen(url), 80);
	cr_expect(strncmp(url, "data:image/png;base64,AAAA", 26) == 0);
	cr_expect_str_eq(url + 77, "...");
	json_decref(j);
	free(html);
	free(data);
}

/* Remote images. */

Test(weigh_remote, lists_distinct_urls_and_which_can_be_fetched)
{
	struct weigh	*w;
	json_t		*j;

	j = weigh_json("<img src=\"https://a.test/1.png\">"
	    "<img src=\"http://a.test/2.png\">"
	    "<img src=\"https://a.test/1.png\">"
	    "<img src=\"cid:logo@example.com\">"
	    "<img src=\"ftp://a.test/3.png\">"
	    "<img src=\"file:///etc/passwd\">"
	    "<img src=\"images/4.png\">"
	    "<img src=\"//a.test/5.png\">"
	    "<img src=\"data:image/gif;base64,AAAA\">", NULL, &w);
	cr_assert_eq(weigh_remote_count(w), 7);
	cr_expect_str_eq(weigh_remote_url(w, 0), "https://a.test/1.png");
	cr_expect(weigh_remote_fetchable(w, 0));
	cr_expect(weigh_remote_fetchable(w, 1));
	cr_expect_str_eq(weigh_remote_url(w, 2), "cid:logo@example.com");
	cr_expect_not(weigh_remote_fetchable(w, 2));
	cr_expect_not(weigh_remote_fetchable(w, 3));
	cr_expect_not(weigh_remote_fetchable(w, 4));
	cr_expect_not(weigh_remote_fetchable(w, 5));
	cr_expect_not(weigh_remote_fetchable(w, 6));
	cr_expect_eq(jint(j, "images"), 8);
	cr_expect_eq(json_array_size(json_object_get(j, "unmeasured")), 7);
	cr_expect(warned(j, "cid: refers to a part attached"));
	json_decref(j);
	weigh_free(w);
}

Test(weigh_remote, sizes_set_later_are_checked_against_the_limits)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	json_t			*j;

	no_limits(&lim);
	lim.max_image = 1000;
	lim.max_image_total = 1500;
	j = weigh_json("<img src=\"https://a.test/1.png\">"
	    "<img src=\"https://a.test/2.png\">"
	    "<img src=\"data:image/gif;base64,AAAA\">", &lim, &w);
	cr_expect_eq(json_array_size(json_object_get(j, "over_limit")), 0);
	cr_expect_eq(json_array_size(json_object_get(j, "unmeasured")), 2);
	json_decref(j);

	weigh_set_remote_size(w, 0, 1000, NULL);
	weigh_set_remote_size(w, 1, 497, NULL);
	cr_expect_eq(weigh_check(w), 0, "1000 + 497 + 3 bytes is at the limit");
	j = weigh_report_json(w);
	cr_expect_eq(jint(j, "remote_image_bytes"), 1497);
	cr_expect_eq(jint(j, "image_bytes_total"), 1500);
	cr_expect_eq(jint(j, "largest_image"), 1000);
	cr_expect_str_eq(json_string_value(json_object_get(j,
	    "largest_image_url")), "https://a.test/1.png");
	cr_expect_eq(json_array_size(json_object_get(j, "unmeasured")), 0);
	json_decref(j);

	weigh_set_remote_size(w, 0, 1001, NULL);
	cr_expect_eq(weigh_check(w), 2, "one byte more breaks both");
	j = weigh_report_json(w);
	cr_expect_not_null(over(j, "max_image"));
	cr_expect_not_null(over(j, "max_image_total"));
	cr_expect_eq(json_integer_value(json_object_get(over(j,
	    "max_image_total"), "measured")), 1501);
	json_decref(j);
	weigh_free(w);
}

Test(weigh_remote, unknown_sizes_break_the_limit_only_when_refused)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	json_t			*j, *o;

	no_limits(&lim);
	j = weigh_json("<img src=\"https://a.test/1.png\">"
	    "<img src=\"cid:part1\">", &lim, &w);
	cr_expect_null(over(j, "remote_images_unknown"));
	json_decref(j);
	weigh_free(w);

	lim.remote_unknown_refuse = 1;
	j = weigh_json("<img src=\"https://a.test/1.png\">"
	    "<img src=\"cid:part1\">", &lim, &w);
	o = over(j, "remote_images_unknown");
	cr_assert_not_null(o);
	cr_expect_eq(json_integer_value(json_object_get(o, "measured")), 2);
	json_decref(j);

	weigh_set_remote_size(w, 0, 5000, NULL);
	cr_expect_eq(weigh_check(w), 1, "cid: stays unknown");
	weigh_set_remote_size(w, 1, -1, "HEAD timed out");
	weigh_set_remote_size(w, 0, -1, "HEAD answered 404");
	cr_expect_eq(weigh_check(w), 1);
	j = weigh_report_json(w);
	cr_expect(warned(j, "HEAD answered 404"));
	cr_expect_eq(json_array_size(json_object_get(j, "unmeasured")), 2);
	json_decref(j);
	weigh_free(w);
}

/* Limits: just under and just over each one. */

enum limit_field {
	L_HTML,
	L_IMAGES,
	L_IMAGE,
	L_TOTAL,
	L_TEXT
};

struct limit_case {
	const char		*name;
	enum limit_field	 field;
	size_t			 value;
	const char		*html;
	const char		*broken;	/* NULL: within limits */
};

#define TEXT99 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define TEXT100	TEXT99 "a"

static const struct limit_case limit_cases[] = {
	{ "html of exactly max_html bytes passes", L_HTML, 14,
	    "<p>1234567</p>", NULL },
	{ "html one byte over max_html is refused", L_HTML, 13,
	    "<p>1234567</p>", "max_html" },
	{ "two images under max_images 2 pass", L_IMAGES, 2,
	    "<img src=a.png><img src=b.png>", NULL },
	{ "three images over max_images 2 are refused", L_IMAGES, 2,
	    "<img src=a.png><img src=b.png><img src=c.png>", "max_images" },
	{ "one logo used three times is within max_images 1", L_IMAGES, 1,
	    "<img src=a.png><img src=a.png><img src=a.png>", NULL },
	{ "an inline image of exactly max_image bytes passes", L_IMAGE, 3,
	    "<img src=\"data:image/gif;base64,AAAA\">", NULL },
	{ "an inline image one byte over max_image is refused", L_IMAGE, 3,
	    "<img src=\"data:image/gif;base64,AAAAAA\">", "max_image" },
	{ "inline images totalling max_image_total pass", L_TOTAL, 6,
	    "<img src=\"data:image/gif;base64,AAAA\">"
	    "<img src=\"data:image/gif;base64,BBBB\">", NULL },
	{ "inline images one byte over max_image_total are refused",
	    L_TOTAL, 6, "<img src=\"data:image/gif;base64,AAAA\">"
	    "<img src=\"data:image/gif;base64,BBBBBB\">", "max_image_total" },
	{ "100 characters for one image passes min_text_per_image 100",
	    L_TEXT, 100, "<p>" TEXT100 "</p><img src=a.png>", NULL },
	{ "99 characters for one image breaks min_text_per_image 100",
	    L_TEXT, 100, "<p>" TEXT99 "</p><img src=a.png>",
	    "min_text_per_image" },
	{ "an image-only message breaks min_text_per_image", L_TEXT, 100,
	    "<table><tr><td><img src=\"https://a.test/hero.jpg\" "
	    "width=600 height=900></td></tr></table>", "min_text_per_image" },
	{ "a text-only message has no image to weigh text against", L_TEXT,
	    100, "<p>Short.</p>", NULL },
};

Test(weigh_limits, just_under_passes_and_just_over_breaks_each_limit)
{
	const struct limit_case	*c;
	struct weigh_limits	 lim;
	json_t			*j, *a;
	size_t			 i;

	for (i = 0; i < nitems(limit_cases); i++) {
		c = &limit_cases[i];
		no_limits(&lim);
		switch (c->field) {
		case L_HTML:
			lim.max_html = c->value;
			break;
		case L_IMAGES:
			lim.max_images = c->value;
			break;
		case L_IMAGE:
			lim.max_image = c->value;
			break;
		case L_TOTAL:
			lim.max_image_total = c->value;
			break;
		case L_TEXT:
			lim.min_text_per_image = c->value;
			break;
		}
		j = weigh_json(c->html, &lim, NULL);
		a = json_object_get(j, "over_limit");
		if (c->broken == NULL)
			cr_expect_eq(json_array_size(a), 0,
			    "%s: a limit is broken", c->name);
		else {
			cr_expect_eq(json_array_size(a), 1,
			    "%s: %zu limits broken", c->name,
			    json_array_size(a));
			cr_expect_not_null(over(j, c->broken),
			    "%s: %s not broken", c->name, c->broken);
		}
		json_decref(j);
	}
}

Test(weigh_limits, each_broken_limit_says_measured_limit_and_why)
{
	json_t	*j, *o;

	j = weigh_json("<img src=a><img src=b><img src=c><img src=d>"
	    "<img src=e><img src=f><img src=g><img src=h><img src=i>"
	    "<img src=j><img src=k><img src=l><img src=m><img src=n>"
	    "<img src=o><img src=p><img src=q><img src=r><img src=s>"
	    "<img src=t><img src=u>", NULL, NULL);
	o = over(j, "max_images");
	cr_assert_not_null(o);
	cr_expect_eq(json_integer_value(json_object_get(o, "measured")), 21);
	cr_expect_eq(json_integer_value(json_object_get(o, "max")), 20);
	cr_expect_gt(strlen(json_string_value(json_object_get(o, "why"))), 20);
	o = over(j, "min_text_per_image");
	cr_assert_not_null(o);
	cr_expect_eq(json_integer_value(json_object_get(o, "measured")), 0);
	cr_expect_eq(json_integer_value(json_object_get(o, "min")), 100);
	cr_expect(strstr(json_string_value(json_object_get(o, "why")),
	    "HTML_IMAGE_RATIO") != NULL);
	json_decref(j);
}

Test(weigh_limits, defaults_are_the_documented_values)
{
	struct weigh_limits	 lim;

	memset(&lim, 0xff, sizeof lim);
	weigh_limits_default(&lim);
	cr_expect_eq(lim.max_html, 102400);
	cr_expect_eq(lim.max_images, 20);
	cr_expect_eq(lim.max_image, 200 * 1024);
	cr_expect_eq(lim.max_image_total, 800 * 1024);
	cr_expect_eq(lim.min_text_per_image, 100);
	cr_expect_eq(lim.remote_unknown_refuse, 0);
}

Test(weigh_limits, max_html_gives_the_gmail_reason)
{
	struct weigh_limits	 lim;
	json_t			*j, *o;

	no_limits(&lim);
	lim.max_html = 10;
	j = weigh_json("<p>eleven chars</p>", &lim, NULL);
	o = over(j, "max_html");
	cr_assert_not_null(o);
	cr_expect_eq(json_integer_value(json_object_get(o, "measured")), 19);
	cr_expect(strstr(json_string_value(json_object_get(o, "why")),
	    "Gmail clips") != NULL);
	cr_expect_eq(jint(j, "text_chars"), 12, "still parsed under 4x");
	json_decref(j);
}

Test(weigh_limits, html_over_the_factor_is_refused_without_parsing)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	json_t			*j;
	char			*html;

	/* 4 x 100 bytes is still parsed... */
	no_limits(&lim);
	lim.max_html = 100;
	html = repeat("<img src=a.png>xxxxx", 20);	/* 400 bytes */
	j = weigh_json(html, &lim, &w);
	cr_expect(json_is_true(json_object_get(j, "parsed")));
	cr_expect_eq(jint(j, "images"), 1);
	json_decref(j);
	weigh_free(w);
	free(html);

	/* ...one byte more is not. */
	html = repeat("<img src=a.png>xxxxx", 20);
	html = xrealloc(html, 402);
	strcpy(html + 400, "x");
	j = weigh_json(html, &lim, &w);
	cr_expect(json_is_false(json_object_get(j, "parsed")));
	cr_expect_eq(jint(j, "html_bytes"), 401);
	cr_expect_eq(jint(j, "images"), 0);
	cr_expect_eq(jint(j, "text_chars"), 0);
	cr_expect_eq(weigh_remote_count(w), 0);
	cr_expect_eq(json_array_size(json_object_get(j, "over_limit")), 1);
	cr_expect_not_null(over(j, "max_html"));
	cr_expect(warned(j, "not parsed"));
	cr_expect_eq(weigh_check(w), 1);
	json_decref(j);
	weigh_free(w);
	free(html);
}

Test(weigh_limits, zero_means_no_limit)
{
	struct weigh_limits	 lim;
	json_t			*j;
	char			*html;

	no_limits(&lim);
	html = repeat("<img src=\"data:image/gif;base64,AAAA\">"
	    "<img src=x.png>", 2000);
	j = weigh_json(html, &lim, NULL);
	cr_expect_eq(json_array_size(json_object_get(j, "over_limit")), 0);
	cr_expect_eq(jint(j, "images"), 2);
	json_decref(j);
	free(html);
}

/* Bounded: deep and malformed markup. */

Test(weigh_bounded, a_hundred_thousand_nested_divs_terminate,
    .timeout = 20)
{
	struct weigh_limits	 lim;
	json_t			*j, *o;
	char			*html;

	no_limits(&lim);
	html = repeat("<div>", 100000);
	j = weigh_json(html, &lim, NULL);
	cr_expect(json_is_true(json_object_get(j, "parsed")));
	o = over(j, "html_incomplete");
	cr_expect_not_null(o, "a document the parser gave up on passed");
	json_decref(j);
	free(html);
}

Test(weigh_bounded, a_hundred_thousand_unclosed_tables_terminate,
    .timeout = 20)
{
	struct weigh_limits	 lim;
	json_t			*j;
	char			*html;

	no_limits(&lim);
	html = repeat("<table><tr><td>x", 100000);
	j = weigh_json(html, &lim, NULL);
	cr_expect(json_is_true(json_object_get(j, "parsed")));
	cr_expect_not_null(over(j, "html_incomplete"));
	json_decref(j);
	free(html);

	html = repeat("<table>", 100000);
	j = weigh_json(html, &lim, NULL);
	cr_expect(json_is_true(json_object_get(j, "parsed")));
	json_decref(j);
	free(html);
}

Test(weigh_bounded, images_hidden_below_the_depth_limit_are_not_passed,
    .timeout = 20)
{
	struct buf	 b;
	json_t		*j;
	char		*deep, *html;

	deep = repeat("<div>", 1000);
	buf_init(&b);
	buf_printf(&b, "<p>%s</p>%s", TEXT100, deep);
	buf_adds(&b, "<img src=a.png><img src=b.png><img src=c.png>");
	html = buf_steal(&b, NULL);
	j = weigh_json(html, NULL, NULL);
	cr_expect_not_null(over(j, "html_incomplete"));
	json_decref(j);
	free(html);
	free(deep);
}

Test(weigh_bounded, ordinary_nesting_is_complete)
{
	json_t	*j;
	char	*open, *close, *html;

	open = repeat("<table><tr><td>", 40);
	close = repeat("</td></tr></table>", 40);
	xasprintf(&html, "%s<img src=a.png>%s", open, close);
	j = weigh_json(html, NULL, NULL);
	cr_expect_null(over(j, "html_incomplete"));
	cr_expect_eq(jint(j, "images"), 1);
	json_decref(j);
	free(html);
	free(open);
	free(close);
}

/*
 * libxml2 matches each end tag against the open elements, so the cost is
 * depth x tags; the depth limit keeps that linear (under a second for
 * 400 KB at -O2 without sanitizers).
 */
Test(weigh_bounded, mismatched_end_tags_under_deep_nesting_terminate,
    .timeout = 20)
{
	struct weigh_limits	 lim;
	struct buf		 b;
	json_t			*j;
	char			*a, *c;

	no_limits(&lim);
	a = repeat("<div><span>", 120);
	c = repeat("</b></i></u>", 33000);
	buf_init(&b);
	buf_adds(&b, a);
	buf_adds(&b, c);
	j = weigh_json_n(b.data, b.len, &lim, NULL);
	cr_expect(json_is_true(json_object_get(j, "parsed")));
	json_decref(j);
	buf_free(&b);
	free(a);
	free(c);
}

Test(weigh_bounded, a_tag_with_too_many_attributes_is_refused_unparsed,
    .timeout = 20)
{
	struct weigh_limits	 lim;
	struct buf		 b;
	json_t			*j, *o;
	size_t			 i;

	/* Parsed, 40,000 attributes in one tag take libxml2 seconds. */
	weigh_limits_default(&lim);
	buf_init(&b);
	buf_adds(&b, "<p ");
	for (i = 0; i < 40000; i++)
		buf_printf(&b, "a%zu=1 ", i);
	buf_adds(&b, ">text</p>");
	cr_assert_leq(b.len, lim.max_html * WEIGH_REFUSE_FACTOR);
	j = weigh_json_n(b.data, b.len, &lim, NULL);
	cr_expect(json_is_false(json_object_get(j, "parsed")));
	o = over(j, "html_attributes");
	cr_assert_not_null(o);
	cr_expect_eq(json_integer_value(json_object_get(o, "max")), 1000);
	json_decref(j);
	buf_free(&b);
}

struct attrs_case {
	const char	*name;
	const char	*head;
	const char	*each;		/* repeated 1001 times */
	const char	*tail;
	int		 refused;
};

static const struct attrs_case attrs_cases[] = {
	{ "bare names are attributes", "<img src=a.png", " a", ">", 1 },
	{ "quoted values hide nothing", "<img src=a.png", " a=\"x\"", ">",
	    1 },
	{ "names right after a closing quote count", "<img src=\"a.png\"",
	    "a='x'", ">", 1 },
	{ "a quote inside an unquoted value starts nothing",
	    "<img src=a.png", " a=b\"", ">", 1 },
	{ "blanks inside a quoted value separate nothing",
	    "<img src=a.png title=\"", " a b", "\">", 0 },
	{ "blanks between tags separate nothing", "<p>", " a b", "</p>", 0 },
};

Test(weigh_bounded, attributes_are_counted_as_the_parser_reads_them)
{
	const struct attrs_case	*c;
	struct weigh_limits	 lim;
	struct buf		 b;
	json_t			*j;
	size_t			 i, k;

	no_limits(&lim);
	for (i = 0; i < nitems(attrs_cases); i++) {
		c = &attrs_cases[i];
		buf_init(&b);
		buf_adds(&b, c->head);
		for (k = 0; k < 1001; k++)
			buf_adds(&b, c->each);
		buf_adds(&b, c->tail);
		j = weigh_json_n(b.data, b.len, &lim, NULL);
		cr_expect_eq(over(j, "html_attributes") != NULL, c->refused,
		    "%s: %s", c->name, c->refused ? "parsed" : "refused");
		json_decref(j);
		buf_free(&b);
	}
}

Test(weigh_bounded, a_thousand_attributes_are_still_parsed)
{
	struct weigh_limits	 lim;
	struct buf		 b;
	json_t			*j;
	size_t			 i;

	no_limits(&lim);
	buf_init(&b);
	buf_adds(&b, "<img src=a.png");
	for (i = 0; i < 999; i++)
		buf_printf(&b, " data-x%zu=\"1\"", i);
	buf_adds(&b, ">");
	j = weigh_json_n(b.data, b.len, &lim, NULL);
	cr_expect(json_is_true(json_object_get(j, "parsed")));
	cr_expect_eq(jint(j, "images"), 1);
	json_decref(j);
	buf_free(&b);
}

Test(weigh_bounded, garbage_does_not_crash)
{
	static const char *const garbage[] = {
		"<<<<>>>>", "</p></p></p>", "<img src=", "<img src='",
		"<img srcset=\",,, ,\">", "<img srcset=\" 1x\">",
		"<div style=\"url(\">", "<div style=\"url('a\">",
		"<style>url(</style>", "<style>/* url(a)</style>",
		"<img src=\"data:\">", "<img src=\"data:;base64,\">",
		"<img src=\"data:image/png;base64,%\">",
		"<meta charset>", "<meta http-equiv=content-type>",
		"<meta http-equiv=content-type content=\"charset=\">",
		"<meta http-equiv=content-type content=\"text/html; charset\">",
		"<meta http-equiv=content-type content=\"charset charset\">",
		"<img src=a width=99999999999 height=1>",
		"<![CDATA[ x ]]><?php echo 1 ?><!DOCTYPE x>",
		"\xef\xbb\xbf<p>bom</p>", "\xff\xfe<\0p\0>",
	};
	json_t	*j;
	size_t	 i;

	for (i = 0; i < nitems(garbage); i++) {
		j = weigh_json(garbage[i], NULL, NULL);
		json_decref(j);
	}
}

/* Reports. */

Test(weigh_report, json_has_every_member)
{
	static const char *const keys[] = {
		"html_bytes", "parsed", "text_chars", "images", "image_refs",
		"inline_image_bytes", "remote_image_bytes",
		"image_bytes_total", "largest_image", "largest_image_url",
		"image_area", "text_per_1000px2", "charset", "over_limit",
		"warnings", "unmeasured", "broken", "image_list",
	};
	json_t	*j;
	size_t	 i;

	j = weigh_json("<p>text</p><img src=a.png width=10 height=10>",
	    NULL, NULL);
	for (i = 0; i < nitems(keys); i++)
		cr_expect_not_null(json_object_get(j, keys[i]),
		    "no \"%s\" in the report", keys[i]);
	cr_expect(json_is_null(json_object_get(j, "charset")));
	cr_expect(json_is_real(json_object_get(j, "text_per_1000px2")));
	cr_expect_float_eq(json_real_value(json_object_get(j,
	    "text_per_1000px2")), 40.0, 1e-9);
	json_decref(j);
}

Test(weigh_report, text_names_the_broken_limits)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	struct buf		 b;
	char			*cause;

	no_limits(&lim);
	lim.max_images = 1;
	cr_assert_eq(weigh_html("<img src=a.png><img src=\"data:,xy\">",
	    35, &lim, &w, &cause), 0);
	buf_init(&b);
	weigh_report_text(w, &b);
	cr_expect(strstr(b.data, "OVER LIMIT max_images: 2, max 1.") != NULL,
	    "report:\n%s", b.data);
	cr_expect(strstr(b.data, "unmeasured: a.png") != NULL,
	    "report:\n%s", b.data);
	buf_free(&b);
	weigh_free(w);
}

Test(weigh_report, null_html_with_a_length_is_an_error)
{
	struct weigh	*w = (struct weigh *)1;
	char		*cause = NULL;

	cr_expect_eq(weigh_html(NULL, 5, NULL, &w, &cause), -1);
	cr_expect_null(w);
	cr_expect_not_null(cause);
	free(cause);
	cr_expect_eq(weigh_html(NULL, 0, NULL, &w, NULL), 0);
	cr_expect_not_null(w);
	weigh_free(w);
}
