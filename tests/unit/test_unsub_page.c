/*
 * test_unsub_page.c: the public unsubscribe pages (escaping, masking, the
 * choices, the confirmations and their undo) and the parser of what
 * their forms and RFC 8058 one-click requests send.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>

#include "unsub_page.h"
#include "util.h"

#define TOKEN	"AXlrAwuGAAAAAAAAAAEAAAABADJp06ua2wwzc4LOyvP2fQ"
#define LIST	"news.example.com"
#define ADDR	"alice@example.org"

static const struct unsub_page_info info = { .list = LIST, .addr = ADDR,
    .action = TOKEN };

/* Render with fn into a fresh string (the caller frees). */
static char *
render_choices(const struct unsub_page_info *pi)
{
	struct buf	 b;

	buf_init(&b);
	unsub_page_choices(&b, pi);
	return buf_steal(&b, NULL);
}

static char *
render_done(const struct unsub_page_info *pi, enum unsub_page_choice c, int kept,
    int blocked)
{
	struct unsub_page_outcome	 o = { c, kept, blocked };
	struct buf		 b;

	buf_init(&b);
	unsub_page_done(&b, pi, &o);
	return buf_steal(&b, NULL);
}

static char *
render_fixed(void (*fn)(struct buf *))
{
	struct buf	 b;

	buf_init(&b);
	fn(&b);
	return buf_steal(&b, NULL);
}

#define assert_has(s, sub) \
	cr_assert(strstr((s), (sub)) != NULL, "missing \"%s\" in:\n%s", (sub), (s))
#define assert_lacks(s, sub) \
	cr_assert(strstr((s), (sub)) == NULL, "unexpected \"%s\" in:\n%s", (sub), (s))

/* How many times sub occurs in s. */
static int
count(const char *s, const char *sub)
{
	int	 n = 0;

	while ((s = strstr(s, sub)) != NULL) {
		n++;
		s += strlen(sub);
	}
	return n;
}

/* No event handler attribute (onclick= and the like) inside any tag. */
static void
assert_no_handlers(const char *html)
{
	const char	*p, *end, *a;

	for (p = html; (p = strchr(p, '<')) != NULL; p = end) {
		end = strchr(p, '>');
		cr_assert_not_null(end, "unclosed tag: %.40s", p);
		for (a = p; (a = strstr(a, " on")) != NULL && a < end; a += 3) {
			const char	*q = a + 3;

			while (q < end && *q >= 'a' && *q <= 'z')
				q++;
			cr_assert(*q != '=', "event handler in %.*s",
			    (int)(end - p + 1), p);
		}
	}
}

/*
 * What every page must be: a complete document, readable on a phone,
 * without script or style attributes, and with a <label for> pointing
 * at every input.
 */
static void
assert_wellformed(const char *html)
{
	const char	*p;
	char		 want[128];

	cr_assert(strncmp(html, "<!DOCTYPE html>\n", 16) == 0, "%s", html);
	assert_has(html, "<html lang=\"en\">");
	assert_has(html, "<meta charset=\"utf-8\">");
	assert_has(html, "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">");
	assert_has(html, "</html>\n");
	assert_lacks(html, "<script");
	assert_lacks(html, "<SCRIPT");
	assert_lacks(html, "javascript:");
	assert_lacks(html, " style=");
	assert_no_handlers(html);
	cr_assert_eq(count(html, "<style>"), 1);
	for (p = html; (p = strstr(p, "<input ")) != NULL; p++) {
		const char	*id = strstr(p, " id=\""), *end;

		cr_assert(id != NULL && id < strchr(p, '>'),
		    "input without id: %.60s", p);
		id += 5;
		end = strchr(id, '"');
		snprintf(want, sizeof want, "<label class=\"choice\" for=\"%.*s\">",
		    (int)(end - id), id);
		assert_has(html, want);
	}
}

Test(page, escape_every_special_character)
{
	struct buf	 b;

	buf_init(&b);
	unsub_page_escape(&b, "<script>alert(\"x\" & 'y')</script>");
	cr_assert_str_eq(b.data, "&lt;script&gt;alert(&quot;x&quot; &amp; "
	    "&#39;y&#39;)&lt;/script&gt;");
	buf_reset(&b);
	unsub_page_escape(&b, "plain text");
	cr_assert_str_eq(b.data, "plain text");
	buf_reset(&b);
	unsub_page_escape(&b, "");
	cr_assert_eq(b.len, 0);
	buf_free(&b);
}

Test(page, mask_keeps_a_hint_and_the_domain)
{
	static const struct {
		const char	*in;
		const char	*out;
	} rows[] = {
		{ "alice@example.org",		"al***@example.org" },
		{ "jo.smith+news@example.org",	"jo***@example.org" },
		{ "dave@x.org",			"da***@x.org" },
		{ "bob@x.org",			"b***@x.org" },
		{ "ab@x.org",			"a***@x.org" },
		{ "a@x.org",			"a***@x.org" },
		{ "@x.org",			"***@x.org" },
		{ "no-at-sign",			"***" },
		{ "\xc3\xbcser@x.org",		"***@x.org" },
		{ "a\xc3\xbcser@x.org",		"a***@x.org" },
		{ "\"a b\"@x.org",		"***@x.org" },
	};
	size_t	 i;
	char	*m;

	for (i = 0; i < nitems(rows); i++) {
		m = unsub_page_mask_addr(rows[i].in);
		cr_assert_str_eq(m, rows[i].out, "mask of %s", rows[i].in);
		free(m);
	}
	m = unsub_page_mask_addr(NULL);
	cr_assert_str_eq(m, "***");
	free(m);
}

Test(page, first_visit_offers_every_choice_unsubscribe_preselected)
{
	char	*h = render_choices(&info);

	assert_wellformed(h);
	assert_has(h, "<title>Your messages from news.example.com</title>");
	assert_has(h, "al***@example.org");
	assert_lacks(h, "alice");
	assert_has(h, "<form method=\"post\" action=\"" TOKEN "\">");
	cr_assert_eq(count(h, "<form "), 1);
	cr_assert_eq(count(h, "type=\"radio\""), 6);
	cr_assert_eq(count(h, " checked"), 1);
	assert_has(h, "<label class=\"choice\" for=\"choice-list\"><input "
	    "type=\"radio\" id=\"choice-list\" name=\"choice\" value=\"list\" "
	    "checked> <span>Unsubscribe from news.example.com</span></label>");
	assert_has(h, "<label class=\"choice\" for=\"choice-all\"><input "
	    "type=\"radio\" id=\"choice-all\" name=\"choice\" value=\"all\"> "
	    "<span>Unsubscribe from every list, not just this one"
	    "</span></label>");
	assert_has(h, "<label class=\"choice\" for=\"choice-monthly\"><input "
	    "type=\"radio\" id=\"choice-monthly\" name=\"choice\" "
	    "value=\"monthly\"> <span>Send me at most one message a month"
	    "</span></label>");
	assert_has(h, "value=\"weekly\"> <span>Send me at most one message a "
	    "week</span>");
	assert_has(h, "value=\"pause\"> <span>Pause for three months, then "
	    "start again by itself</span>");
	assert_has(h, "value=\"plain\"> <span>Plain text only, without "
	    "pictures</span>");
	assert_has(h, "<li>You are subscribed to news.example.com.</li>");
	assert_has(h, "<li>As many messages as news.example.com sends.</li>");
	assert_has(h, "<button type=\"submit\">Confirm</button>");
	assert_lacks(h, "Questions?");
	free(h);
}

/* The page of a reader who has chosen before: the state, no preselection. */
Test(page, second_visit_shows_the_state_and_the_way_back)
{
	struct prefs_view	 st = { .list = PREFS_OWN, .cap_count = 1,
				    .cap_window = PREFS_WEEK,
				    .pause_until = INT64_C(1812160800),
				    .plain = 1 };
	struct unsub_page_info	 pi = info;
	char			*h;

	pi.state = &st;
	h = render_choices(&pi);
	assert_wellformed(h);
	assert_has(h, "<li>You are unsubscribed from news.example.com.</li>");
	assert_has(h, "<li>At most one message a week.</li>");
	assert_has(h, "<li>Paused until June 5, 2027. Then messages come "
	    "again by themselves.</li>");
	assert_has(h, "<li>Plain text only.</li>");
	assert_has(h, "<button class=\"undo\" type=\"submit\" name=\"choice\" "
	    "value=\"undo-list\">Subscribe me to news.example.com again"
	    "</button>");
	assert_lacks(h, " checked");
	assert_lacks(h, "value=\"list\"");
	assert_lacks(h, "value=\"weekly\"");
	assert_lacks(h, "value=\"pause\"");
	assert_lacks(h, "value=\"plain\"");
	assert_has(h, "value=\"undo-weekly\"> <span>No limit of my own");
	assert_has(h, "value=\"undo-pause\"> <span>End the pause now");
	assert_has(h, "value=\"undo-plain\"> <span>Pictures and layout again");
	assert_has(h, "value=\"monthly\"");
	assert_has(h, "value=\"all\"");
	free(h);
}

/*
 * The end of a pause is the reader's day, in the reader's words: 15:30
 * UTC on June 10 is already June 11 in Tokyo, and the zone is named.
 */
Test(page, a_pause_ends_on_the_readers_own_day_in_their_zone)
{
	/* 2027-06-10T15:30:00Z: 00:30 on June 11 in Tokyo. */
	struct prefs_view	 st = { .pause_until = INT64_C(1812641400) };
	struct unsub_page_info	 pi = info;
	char			*h;

	pi.state = &st;
	pi.zone = "Asia/Tokyo";
	h = render_choices(&pi);
	assert_wellformed(h);
	assert_has(h, "<li>Paused until June 11, 2027 (Japan Standard Time). "
	    "Then messages come again by themselves.</li>");
	free(h);
	/* The confirmation of the pause says the same day. */
	h = render_done(&pi, UNSUB_PAGE_PAUSE, 0, 0);
	assert_has(h, "until June 11, 2027 (Japan Standard Time). Then");
	free(h);
	pi.zone = "UTC";
	h = render_choices(&pi);
	assert_has(h, "<li>Paused until June 10, 2027 (Coordinated Universal "
	    "Time). Then");
	free(h);
	/*
	 * As German writes a date, the zone's name in German (the texts
	 * around it come from a catalog this test does not load).
	 */
	pi.lang = "de";
	pi.zone = "Europe/Berlin";
	st.pause_until = INT64_C(1812666600);	/* 00:30 CEST, June 11 */
	h = render_choices(&pi);
	assert_has(h, "until 11. Juni 2027 (Mitteleurop\u00e4ische "
	    "Sommerzeit). Then");
	free(h);
}

/* An administrator's or a bounce's stop is shown and not offered back. */
Test(page, what_the_page_cannot_lift_is_shown_without_a_button)
{
	struct prefs_view	 st = { .list = PREFS_KEPT, .all = PREFS_OWN,
				    .suppressed = 1 };
	struct unsub_page_info	 pi = info;
	char			*h;

	pi.state = &st;
	h = render_choices(&pi);
	assert_wellformed(h);
	assert_has(h, "The sender has unsubscribed you from news.example.com. "
	    "This page cannot change that.");
	assert_has(h, "The sender has stopped all mail to this address. This "
	    "page cannot change that.");
	assert_has(h, "<li>You are unsubscribed from every list.</li>");
	assert_lacks(h, "value=\"undo-list\"");
	assert_has(h, "value=\"undo-all\">Subscribe me to every list again");
	assert_lacks(h, " checked");
	free(h);
}

Test(page, brand_names_the_sender_and_contact_offers_a_person)
{
	struct unsub_page_info	 pi = info;
	char			*h;

	pi.brand = "Example Shop";
	pi.contact = "help@example.com";
	h = render_choices(&pi);
	assert_wellformed(h);
	assert_has(h, "<title>Your messages from Example Shop</title>");
	assert_has(h, "<h1>Your messages from Example Shop</h1>");
	assert_has(h, "As many messages as Example Shop sends.");
	assert_has(h, "Questions? Write to <a href=\"mailto:help@example.com\">"
	    "help@example.com</a>.");
	assert_lacks(h, "alice");
	free(h);
	pi.contact = "https://example.com/help";
	h = render_done(&pi, UNSUB_PAGE_LIST, 0, 0);
	assert_has(h, "Questions? Contact Example Shop at <a href=\"https://"
	    "example.com/help\">https://example.com/help</a>.");
	free(h);
}

Test(page, contact_must_be_an_address_or_a_web_address)
{
	static const struct {
		const char	*s;
		int		 ok;
	} rows[] = {
		{ "help@example.com", 1 },
		{ "https://example.com/help?x=1", 1 },
		{ "http://example.com", 1 },
		{ "", 0 },
		{ "help", 0 },
		{ "javascript:alert(1)", 0 },
		{ "mailto:help@example.com", 0 },
		{ "https://", 0 },
		{ "https:///path", 0 },
		{ "https://example.com/\"><script>", 0 },
		{ "https://exa mple.com", 0 },
		{ "help@example.com\n", 0 },
		{ "ftp://example.com", 0 },
	};
	size_t	 i;

	for (i = 0; i < nitems(rows); i++)
		cr_expect_eq(unsub_page_contact_ok(rows[i].s), rows[i].ok,
		    "\"%s\"", rows[i].s);
}

Test(page, hostile_list_and_address_are_escaped_everywhere)
{
	struct unsub_page_info	 pi = {
		.list = "<script>alert(1)</script>&\"list'",
		.addr = "<img src=x onerror=alert(1)>@ev\"il&<b>.org",
		.action = "tok\"><script>",
		.brand = "<b>Shop</b>",
		.contact = "https://example.com/\"><img>"
	};
	enum unsub_page_choice	 c;
	char			*h;

	h = render_choices(&pi);
	assert_wellformed(h);
	assert_has(h, "&lt;script&gt;alert(1)&lt;/script&gt;&amp;&quot;"
	    "list&#39;");
	assert_has(h, "&lt;i***@ev&quot;il&amp;&lt;b&gt;.org");
	assert_has(h, "action=\"tok&quot;&gt;&lt;script&gt;\"");
	assert_lacks(h, "<img");
	assert_lacks(h, "<b>");
	free(h);
	for (c = UNSUB_PAGE_LIST; c <= UNSUB_PAGE_UNDO_PLAIN; c++) {
		h = render_done(&pi, c, 0, 1);
		assert_wellformed(h);
		assert_lacks(h, "<img");
		assert_lacks(h, "<b>");
		assert_lacks(h, "\"list'");
		free(h);
	}
}

Test(page, each_confirmation_offers_the_matching_undo)
{
	static const struct {
		enum unsub_page_choice	 c;
		const char		*title;
		const char		*says;
		const char		*undo;
	} rows[] = {
		{ UNSUB_PAGE_LIST, "You are unsubscribed", "will get no more "
		    "messages from news.example.com.", "undo-list" },
		{ UNSUB_PAGE_ALL, "You are unsubscribed from everything",
		    "will get no more messages from news.example.com or any "
		    "other list", "undo-all" },
		{ UNSUB_PAGE_MONTHLY, "You will get at most one message a month",
		    "will get at most one message a month, including mail "
		    "already on its way", "undo-monthly" },
		{ UNSUB_PAGE_WEEKLY, "You will get at most one message a week",
		    "will get at most one message a week", "undo-weekly" },
		{ UNSUB_PAGE_PAUSE, "Your messages are paused",
		    "Nothing more will reach", "undo-pause" },
		{ UNSUB_PAGE_PLAIN, "You will get plain text only",
		    "will come as plain text", "undo-plain" },
	};
	size_t	 i;
	char	*h, want[128];

	for (i = 0; i < nitems(rows); i++) {
		h = render_done(&info, rows[i].c, 0, 0);
		assert_wellformed(h);
		snprintf(want, sizeof want, "<h1>%s</h1>", rows[i].title);
		assert_has(h, want);
		assert_has(h, rows[i].says);
		assert_has(h, "al***@example.org");
		assert_lacks(h, "alice@");
		snprintf(want, sizeof want, "name=\"choice\" value=\"%s\"",
		    rows[i].undo);
		assert_has(h, want);
		assert_has(h, "<form method=\"post\" action=\"" TOKEN "\">");
		/* The undo first, then the other choices, none preselected. */
		cr_assert(strstr(h, want) < strstr(h, "Anything else?"));
		assert_lacks(h, " checked");
		assert_has(h, "<button class=\"undo\" type=\"submit\"");
		assert_has(h, ">Undo: ");
		free(h);
	}
}

Test(page, undo_confirmations_say_so_and_offer_the_choices_again)
{
	static const struct {
		enum unsub_page_choice	 c;
		const char		*says;
	} rows[] = {
		{ UNSUB_PAGE_UNDO_LIST, "will get messages from news.example.com "
		    "again." },
		{ UNSUB_PAGE_UNDO_ALL, "will get messages from news.example.com "
		    "and the other lists again" },
		{ UNSUB_PAGE_UNDO_MONTHLY, "will get messages as often as "
		    "news.example.com sends them" },
		{ UNSUB_PAGE_UNDO_PAUSE, "come again from now on" },
		{ UNSUB_PAGE_UNDO_PLAIN, "with pictures and layout" },
	};
	size_t	 i;
	char	*h;

	for (i = 0; i < nitems(rows); i++) {
		h = render_done(&info, rows[i].c, 0, 0);
		assert_wellformed(h);
		assert_has(h, rows[i].says);
		assert_has(h, "<h2>Anything else?</h2>");
		cr_assert_eq(count(h, "type=\"radio\""), 6);
		assert_lacks(h, " checked");
		assert_lacks(h, "value=\"undo-");
		assert_lacks(h, "still unsubscribed");
		free(h);
	}
}

Test(page, undo_of_an_administrators_flag_is_refused_plainly)
{
	char	*h = render_done(&info, UNSUB_PAGE_UNDO_LIST, 1, 1);

	assert_wellformed(h);
	assert_has(h, "<h1>You are still unsubscribed</h1>");
	assert_has(h, "administrator");
	assert_lacks(h, "subscribed again");
	free(h);
}

Test(page, a_remaining_unsubscribe_is_mentioned)
{
	char	*h;

	h = render_done(&info, UNSUB_PAGE_UNDO_LIST, 0, 1);
	assert_has(h, "still unsubscribed from news.example.com, so nothing "
	    "from it will arrive");
	free(h);
	h = render_done(&info, UNSUB_PAGE_MONTHLY, 0, 1);
	assert_has(h, "still unsubscribed from news.example.com");
	free(h);
	h = render_done(&info, UNSUB_PAGE_MONTHLY, 0, 0);
	assert_lacks(h, "still unsubscribed");
	free(h);
}

/* A request the guard refused: the way back, and what was wrong. */
Test(page, a_refused_request_says_what_was_wrong_and_the_way_back)
{
	struct buf	 b;

	buf_init(&b);
	unsub_page_refused_in(&b, NULL, "header <X-A> holds a control "
	    "character");
	cr_assert_not_null(b.data);
	assert_wellformed(b.data);
	assert_has(b.data, "<html lang=\"en\">");
	assert_has(b.data, "<title>Bad request</title>");
	assert_has(b.data, "Your browser sent a request this page cannot "
	    "read. Nothing was changed.");
	assert_has(b.data, "open the link at the end of a message");
	assert_has(b.data, "Technical detail: header &lt;X-A&gt; holds a "
	    "control character");
	assert_no_handlers(b.data);
	buf_free(&b);
}

Test(page, bad_choice_page_changes_nothing_and_asks_again)
{
	struct buf	 b;

	buf_init(&b);
	unsub_page_bad_choice(&b, &info);
	assert_wellformed(b.data);
	assert_has(b.data, "nothing was changed");
	cr_assert_eq(count(b.data, "type=\"radio\""), 6);
	assert_lacks(b.data, " checked");
	buf_free(&b);
	/* unsub_page_done with no choice falls back to the same page. */
	{
		char	*h = render_done(&info, UNSUB_PAGE_NONE, 0, 0);

		assert_has(h, "Please choose one option");
		free(h);
	}
}

Test(page, invalid_link_page_is_one_fixed_page)
{
	char	*a = render_fixed(unsub_page_invalid), *b = render_fixed(unsub_page_invalid);
	char	*nf = render_fixed(unsub_page_not_found);
	char	*u = render_fixed(unsub_page_unavailable);

	assert_wellformed(a);
	cr_assert_str_eq(a, b);
	assert_has(a, "<h1>This link is not valid</h1>");
	assert_has(a, "Nothing was changed");
	assert_lacks(a, "<form");
	assert_wellformed(nf);
	assert_has(nf, "<h1>Page not found</h1>");
	assert_wellformed(u);
	assert_has(u, "nothing was changed");
	free(a);
	free(b);
	free(nf);
	free(u);
}

Test(page, csp_allows_exactly_the_inline_style)
{
	unsigned char	 md[EVP_MAX_MD_SIZE], b64[128];
	unsigned int	 mdlen;
	char		*csp = unsub_page_csp(), *h = render_choices(&info), want[160];
	const char	*s, *e;

	assert_has(csp, "default-src 'none'");
	assert_has(csp, "form-action 'self'");
	assert_has(csp, "frame-ancestors 'none'");
	assert_lacks(csp, "unsafe-inline");
	assert_lacks(csp, "script-src");
	s = strstr(h, "<style>") + 7;
	e = strstr(s, "</style>");
	cr_assert(EVP_Digest(s, (size_t)(e - s), md, &mdlen, EVP_sha256(),
	    NULL) == 1);
	EVP_EncodeBlock(b64, md, (int)mdlen);
	snprintf(want, sizeof want, "style-src 'sha256-%s'", b64);
	assert_has(csp, want);
	free(csp);
	free(h);
}

Test(page, choice_names_round_trip)
{
	enum unsub_page_choice	 c;

	for (c = UNSUB_PAGE_LIST; c <= UNSUB_PAGE_UNDO_PLAIN; c++)
		cr_assert_eq(unsub_page_choice_parse(unsub_page_choice_name(c)), c);
	cr_assert_eq(unsub_page_choice_parse(NULL), UNSUB_PAGE_NONE);
	cr_assert_eq(unsub_page_choice_parse(""), UNSUB_PAGE_NONE);
	cr_assert_eq(unsub_page_choice_parse("LIST"), UNSUB_PAGE_NONE);
	cr_assert_eq(unsub_page_choice_parse("list "), UNSUB_PAGE_NONE);
	cr_assert_eq(unsub_page_choice_parse("delete-everything"), UNSUB_PAGE_NONE);
	cr_assert_eq(unsub_page_choice_undo(UNSUB_PAGE_LIST), UNSUB_PAGE_UNDO_LIST);
	cr_assert_eq(unsub_page_choice_undo(UNSUB_PAGE_ALL), UNSUB_PAGE_UNDO_ALL);
	cr_assert_eq(unsub_page_choice_undo(UNSUB_PAGE_MONTHLY), UNSUB_PAGE_UNDO_MONTHLY);
	cr_assert_eq(unsub_page_choice_undo(UNSUB_PAGE_UNDO_LIST), UNSUB_PAGE_NONE);
}

/* Parse a body; expect success. */
static void
parse_ok(const char *ctype, const char *body, size_t len,
    struct unsub_page_form *f)
{
	char	*cause = NULL;

	cr_assert_eq(unsub_page_form_parse(ctype, body, len, f, &cause), 0,
	    "refused (%s): %s", cause, body);
	cr_assert_null(cause);
}

/* Parse a body; expect refusal with a cause and an empty form. */
static void
parse_bad(const char *ctype, const char *body, size_t len, const char *what)
{
	struct unsub_page_form	 f;
	char			*cause = NULL;

	cr_assert_eq(unsub_page_form_parse(ctype, body, len, &f, &cause), -1,
	    "accepted %s: %.200s", what, body);
	cr_assert_not_null(cause, "%s", what);
	cr_assert_null(f.choice, "%s", what);
	cr_assert_null(f.list_unsubscribe, "%s", what);
	free(cause);
}

#define S(x)	(x), strlen(x)
#define URLENC	"application/x-www-form-urlencoded"
#define MP	"multipart/form-data; boundary=------------------------d74496d66958873e"
#define DELIM	"--------------------------d74496d66958873e"

Test(form, urlencoded_one_click)
{
	static const char *bodies[] = {
		"List-Unsubscribe=One-Click",
		"List-Unsubscribe=One-Click\r\n",
		"list-unsubscribe=one-click",
		"List-Unsubscribe=One%2DClick",
		"x=1&List-Unsubscribe=One-Click&y=2",
	};
	struct unsub_page_form	 f;
	size_t			 i;

	for (i = 0; i < nitems(bodies); i++) {
		parse_ok(URLENC, S(bodies[i]), &f);
		cr_assert(unsub_page_form_oneclick(&f), "%s", bodies[i]);
		unsub_page_form_free(&f);
		/* A sender that forgets the Content-Type still counts. */
		parse_ok(NULL, S(bodies[i]), &f);
		cr_assert(unsub_page_form_oneclick(&f), "%s", bodies[i]);
		unsub_page_form_free(&f);
	}
	parse_ok(URLENC, S("List-Unsubscribe=Other"), &f);
	cr_assert_not(unsub_page_form_oneclick(&f));
	unsub_page_form_free(&f);
	parse_ok(URLENC, S(""), &f);
	cr_assert_not(unsub_page_form_oneclick(&f));
	cr_assert_null(f.choice);
}

Test(form, urlencoded_choice)
{
	struct unsub_page_form	 f;

	parse_ok(URLENC, S("choice=undo%2Dall"), &f);
	cr_assert_str_eq(f.choice, "undo-all");
	cr_assert_not(unsub_page_form_oneclick(&f));
	unsub_page_form_free(&f);
	parse_ok(URLENC "; charset=UTF-8", S("choice=monthly&choice=all"), &f);
	cr_assert_str_eq(f.choice, "monthly", "the first one counts");
	unsub_page_form_free(&f);
	parse_ok(URLENC, S("choice=a+b"), &f);
	cr_assert_str_eq(f.choice, "a b");
	unsub_page_form_free(&f);
}

Test(form, urlencoded_garbage_is_refused)
{
	char	 nul[] = "choice=list\0x";
	char	*big;

	parse_bad(URLENC, S("&&&"), "no key=value");
	parse_bad(URLENC, S("choice"), "no value");
	parse_bad(URLENC, nul, sizeof nul - 1, "NUL byte");
	big = xmalloc(UNSUB_PAGE_FIELD_MAX + 16);
	memset(big, 'a', UNSUB_PAGE_FIELD_MAX + 15);
	memcpy(big, "choice=", 7);
	big[UNSUB_PAGE_FIELD_MAX + 15] = '\0';
	parse_bad(URLENC, S(big), "field over UNSUB_PAGE_FIELD_MAX");
	free(big);
}

Test(form, multipart_one_click_as_curl_sends_it)
{
	const char *body =
	    DELIM "\r\n"
	    "Content-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
	    "\r\n"
	    "One-Click\r\n"
	    DELIM "--\r\n";
	struct unsub_page_form	 f;

	parse_ok(MP, S(body), &f);
	cr_assert_str_eq(f.list_unsubscribe, "One-Click");
	cr_assert(unsub_page_form_oneclick(&f));
	unsub_page_form_free(&f);
}

Test(form, multipart_quoted_boundary_and_bare_lf)
{
	const char *body =
	    "--a'b(c)+_,-./:=?x\n"
	    "Content-Disposition: form-data; name=choice\n"
	    "\n"
	    "monthly\n"
	    "--a'b(c)+_,-./:=?x--";
	const char *sp =
	    "--with space\r\n"
	    "Content-Disposition: form-data; name=\"choice\"\r\n\r\n"
	    "all\r\n--with space--\r\n";
	struct unsub_page_form	 f;

	parse_ok("multipart/form-data; boundary=\"a'b(c)+_,-./:=?x\"", S(body),
	    &f);
	cr_assert_str_eq(f.choice, "monthly");
	unsub_page_form_free(&f);
	parse_ok("Multipart/Form-Data;boundary=\"with space\";charset=utf-8",
	    S(sp), &f);
	cr_assert_str_eq(f.choice, "all");
	unsub_page_form_free(&f);
}

Test(form, multipart_field_among_others)
{
	const char *body =
	    "This is a preamble, to be ignored.\r\n"
	    DELIM "\r\n"
	    "Content-Disposition: form-data; name=\"name\"\r\n"
	    "\r\n"
	    "Alice\r\n" DELIM "x is not a delimiter\r\n"
	    DELIM "  \r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"a;b.txt\"\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "line 1\r\nline 2\r\n"
	    DELIM "\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "content-disposition: form-data; name=\"choice\"\r\n"
	    "\r\n"
	    "undo-monthly\r\n"
	    DELIM "\r\n"
	    "Content-Disposition: form-data; name=\"empty\"\r\n"
	    "\r\n"
	    "\r\n"
	    DELIM "--\r\n"
	    "epilogue, ignored too\r\n";
	struct unsub_page_form	 f;

	parse_ok(MP, S(body), &f);
	cr_assert_str_eq(f.choice, "undo-monthly");
	cr_assert_null(f.list_unsubscribe);
	unsub_page_form_free(&f);
}

Test(form, multipart_empty_value_and_no_parts)
{
	const char *empty =
	    DELIM "\r\n"
	    "Content-Disposition: form-data; name=\"choice\"\r\n"
	    "\r\n"
	    "\r\n"
	    DELIM "--\r\n";
	struct unsub_page_form	 f;

	parse_ok(MP, S(empty), &f);
	cr_assert_str_eq(f.choice, "");
	unsub_page_form_free(&f);
	parse_ok(MP, S(DELIM "--\r\n"), &f);
	cr_assert_null(f.choice);
}

Test(form, multipart_truncated_or_garbage_is_refused)
{
	const char *whole =
	    DELIM "\r\n"
	    "Content-Disposition: form-data; name=\"choice\"\r\n"
	    "\r\n"
	    "list\r\n"
	    DELIM "--\r\n";
	size_t	 n = strlen(whole), cut;
	char	*part;

	/* Every cut before the close delimiter is refused. */
	for (cut = 0; cut < n - 4; cut++) {
		part = xstrndup(whole, cut);
		parse_bad(MP, part, cut, "truncated");
		free(part);
	}
	parse_bad(MP, S("just some text"), "garbage");
	parse_bad(MP, S(DELIM "garbage\r\n" DELIM "--"), "no line break");
	parse_bad(MP, S(DELIM "\r\nContent-Disposition: form-data; "
	    "name=\"choice\r\n\r\nlist\r\n" DELIM "--"), "unterminated quote");
	parse_bad(MP, S(DELIM "\r\nContent-Disposition: attachment; "
	    "name=\"choice\"\r\n\r\nlist\r\n" DELIM "--"), "not form-data");
	parse_bad(MP, S(DELIM "\r\nContent-Disposition: form-data; "
	    "name=\"choice\" junk\r\n\r\nlist\r\n" DELIM "--"), "junk");
	parse_bad("multipart/form-data", S(whole), "no boundary");
	parse_bad("multipart/form-data; boundary=", S(whole), "empty boundary");
	parse_bad("multipart/form-data; boundary=\"abc", S(whole),
	    "unterminated boundary");
	parse_bad("multipart/form-data; boundary=a<b", S("--a<b--"),
	    "bad boundary character");
}

Test(form, multipart_bounds)
{
	char		 ct[160], boundary[UNSUB_PAGE_BOUNDARY_MAX + 2];
	struct buf	 b;
	struct unsub_page_form f;
	int		 i;

	/* 70 characters is the longest boundary, 71 is refused. */
	memset(boundary, 'b', UNSUB_PAGE_BOUNDARY_MAX);
	boundary[UNSUB_PAGE_BOUNDARY_MAX] = '\0';
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%s", boundary);
	buf_init(&b);
	buf_printf(&b, "--%s\r\nContent-Disposition: form-data; "
	    "name=\"choice\"\r\n\r\nall\r\n--%s--\r\n", boundary, boundary);
	parse_ok(ct, b.data, b.len, &f);
	cr_assert_str_eq(f.choice, "all");
	unsub_page_form_free(&f);
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%sb", boundary);
	parse_bad(ct, b.data, b.len, "71-character boundary");

	/* Too many parts. */
	buf_reset(&b);
	for (i = 0; i <= UNSUB_PAGE_PARTS_MAX; i++)
		buf_printf(&b, DELIM "\r\nContent-Disposition: form-data; "
		    "name=\"f%d\"\r\n\r\nx\r\n", i);
	buf_adds(&b, DELIM "--\r\n");
	parse_bad(MP, b.data, b.len, "too many parts");

	/* Too many headers in a part. */
	buf_reset(&b);
	buf_adds(&b, DELIM "\r\n");
	for (i = 0; i < 9; i++)
		buf_printf(&b, "X-H%d: v\r\n", i);
	buf_adds(&b, "\r\nx\r\n" DELIM "--\r\n");
	parse_bad(MP, b.data, b.len, "too many headers");

	/* A kept field over UNSUB_PAGE_FIELD_MAX. */
	buf_reset(&b);
	buf_adds(&b, DELIM "\r\nContent-Disposition: form-data; "
	    "name=\"choice\"\r\n\r\n");
	for (i = 0; i < UNSUB_PAGE_FIELD_MAX + 1; i++)
		buf_addc(&b, 'x');
	buf_adds(&b, "\r\n" DELIM "--\r\n");
	parse_bad(MP, b.data, b.len, "long field");

	/* A body over UNSUB_PAGE_FORM_MAX, whatever it holds. */
	buf_reset(&b);
	buf_adds(&b, DELIM "\r\nContent-Disposition: form-data; "
	    "name=\"other\"\r\n\r\n");
	while (b.len <= UNSUB_PAGE_FORM_MAX)
		buf_addc(&b, 'x');
	buf_adds(&b, "\r\n" DELIM "--\r\n");
	parse_bad(MP, b.data, b.len, "oversized body");
	parse_bad(URLENC, b.data, b.len, "oversized urlencoded body");
	buf_free(&b);
}
