/*
 * test_plaintext.c: the plain-text version of an HTML body, one named row
 * per shape a newsletter has, and a property: every word of visible text
 * in a random document appears in its text, and nothing hidden does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "plaintext.h"
#include "util.h"

struct row {
	const char	*name;
	const char	*html;
	const char	*want;
};

static const struct row rows[] = {
	{ "paragraphs are separated by a blank line",
	  "<p>Hello there.</p><p>Second one.</p>",
	  "Hello there.\n\nSecond one.\n" },
	{ "a line break stays a line break", "<p>one<br>two</p>",
	  "one\ntwo\n" },
	{ "a link is its text and its address",
	  "<p>Read <a href=\"https://example.com/x\">the story</a>.</p>",
	  "Read the story (https://example.com/x).\n" },
	{ "a link whose text is its address is written once",
	  "<a href=\"https://example.com/\">https://example.com/</a>",
	  "https://example.com/\n" },
	{ "a placeholder in an href comes through for the renderer",
	  "<a href=\"{{unsubscribe_url}}\">Unsubscribe</a>",
	  "Unsubscribe ({{unsubscribe_url}})\n" },
	{ "an anchor-only link shows its text only",
	  "<a href=\"#top\">Back to top</a>", "Back to top\n" },
	{ "an image is its alt text",
	  "<p><img src=\"x.png\" alt=\"Our new shop\"> opens today</p>",
	  "Our new shop opens today\n" },
	{ "a decorative image leaves nothing",
	  "<p>a<img src=\"spacer.gif\" alt=\"\">b</p>", "ab\n" },
	{ "script, style and head are left out",
	  "<html><head><title>T</title><style>p{x:y}</style></head><body>"
	  "<script>var a;</script><p>Body</p></body></html>", "Body\n" },
	{ "a hidden preheader is left out",
	  "<div style=\"display: none; max-height:0\">preview</div><p>Hi</p>",
	  "Hi\n" },
	{ "list items are lines with a dash",
	  "<ul><li>one</li><li>two</li></ul>", "- one\n- two\n" },
	{ "headings stand apart", "<h1>News</h1>Body text",
	  "News\n\nBody text\n" },
	{ "entities are decoded and white space folded",
	  "<p>Fish &amp;   chips\n\t&lt;today&gt;</p>",
	  "Fish & chips <today>\n" },
	{ "words that touched in the HTML still touch",
	  "<p><b>re</b>ad</p>", "read\n" },
	{ "zero-width padding is dropped and no-break spaces become spaces",
	  "<p>a&zwnj;&nbsp;b&#8203;c</p>", "a bc\n" },
	{ "layout table cells are lines",
	  "<table><tr><td>left</td><td>right</td></tr></table>",
	  "left\nright\n" },
	{ "a rule is a line of dashes", "<p>a</p><hr><p>b</p>",
	  "a\n\n----\n\nb\n" },
	{ "pre keeps its lines", "<pre>a  b\n c</pre>", "a  b\n c\n" },
	{ "long lines are wrapped at words",
	  "<p>aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee "
	  "ffffffffff gggggggggg hhhhhhhhhh</p>",
	  "aaaaaaaaaa bbbbbbbbbb cccccccccc dddddddddd eeeeeeeeee ffffffffff "
	  "gggggggggg\nhhhhhhhhhh\n" },
	{ "an empty document is empty", "", "" },
	{ "no markup is left from a broken document",
	  "<p>a <b>b <i>c</p> d <", "a b c\n\nd <\n" },
};

Test(plaintext, rows)
{
	char	*got, *cause = NULL;
	size_t	 i, len;

	for (i = 0; i < nitems(rows); i++) {
		got = plaintext_from_html(rows[i].html, strlen(rows[i].html),
		    &len, &cause);
		cr_assert_not_null(got, "%s: %s", rows[i].name, cause);
		cr_expect_str_eq(got, rows[i].want, "%s: got [%s]",
		    rows[i].name, got);
		cr_expect_eq(len, strlen(got));
		free(got);
	}
}

/* A small deterministic generator, so a failure repeats. */
static uint32_t
rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A random word of letters, with a marker letter first. */
static void
word(uint32_t *s, char mark, char *w)
{
	int	 n = 3 + (int)(rnd(s) % 6), i;

	w[0] = mark;
	for (i = 1; i < n; i++)
		w[i] = (char)('a' + rnd(s) % 26);
	w[n] = '\0';
}

Test(plaintext, every_visible_word_appears_and_no_hidden_one)
{
	static const char	*open_tags[] = { "<p>", "<div>", "<b>", "<i>",
				    "<span>", "<h2>", "<li>", "<td>",
				    "<a href=\"https://x.example/q\">",
				    "<blockquote>", "<center>" };
	static const char	*close_tags[] = { "</p>", "</div>", "</b>",
				    "</i>", "</span>", "</h2>", "</li>",
				    "</td>", "</a>", "</blockquote>",
				    "</center>" };
	uint32_t		 seed = 2463534242u;
	struct buf		 html;
	char			 w[16], words[400][16], *got;
	int			 doc, k, nw, t;

	for (doc = 0; doc < 300; doc++) {
		buf_init(&html);
		nw = 0;
		for (k = 0; k < 40; k++) {
			t = (int)(rnd(&seed) % nitems(open_tags));
			buf_adds(&html, open_tags[t]);
			word(&seed, 'v', w);
			snprintf(words[nw++], sizeof words[0], "%s", w);
			buf_printf(&html, "%s%s", w, rnd(&seed) % 3 == 0 ?
			    "&nbsp;" : " ");
			if (rnd(&seed) % 4 == 0) {
				word(&seed, 'v', w);
				snprintf(words[nw++], sizeof words[0], "%s", w);
				buf_printf(&html, "<img src=\"i.png\" alt=\"%s\">",
				    w);
			}
			if (rnd(&seed) % 5 == 0) {
				/* Hidden words carry the marker 'h'. */
				word(&seed, 'h', w);
				buf_printf(&html, "<script>%s</script>"
				    "<span style=\"display:none\">%s</span>",
				    w, w);
			}
			if (rnd(&seed) % 3 == 0)
				buf_adds(&html, "<br>");
			buf_adds(&html, close_tags[t]);
		}
		got = plaintext_from_html(html.data, html.len, NULL, NULL);
		cr_assert_not_null(got);
		for (k = 0; k < nw; k++)
			cr_assert_not_null(strstr(got, words[k]), "doc %d: "
			    "\"%s\" missing from:\n%s\nHTML: %s", doc, words[k],
			    got, html.data);
		for (k = 0; got[k] != '\0'; k++) {
			cr_assert(got[k] != '<' && got[k] != '>', "doc %d: "
			    "markup left: %s", doc, got);
			if (got[k] == 'h' && (k == 0 || got[k - 1] == ' ' ||
			    got[k - 1] == '\n'))
				cr_assert_fail("doc %d: hidden word shown: %s",
				    doc, got);
		}
		free(got);
		buf_free(&html);
	}
}
