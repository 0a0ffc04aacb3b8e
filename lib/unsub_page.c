/*
 * unsub_page.c: the public unsubscribe pages and the parser of their forms.
 *
 * Pure functions: no loop, no store, no clock.  unsub_http.c decides which
 * page to show and sends it with the headers (unsub_page_csp() among them).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "addr.h"

#include "form.h"
#include "text.h"
#include "unsub_page.h"
#include "util.h"

/*
 * The one style sheet, inline so a page is a single response; the CSP
 * allows exactly these bytes by their hash.  No style attributes anywhere.
 * The choices' borders (--line) keep 3:1 against the card in both
 * schemes (WCAG 1.4.11): #6b7280 on #fff is 4.8:1, #9ca3af on #1f2937
 * 5.6:1.
 */
static const char unsub_page_css[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--fg:#111827;"
    "--muted:#4b5563;--line:#6b7280;--accent:#1d4ed8;--accent-fg:#fff;"
    "--pick:#eff6ff}"
    "@media (prefers-color-scheme:dark){:root{--bg:#111827;--card:#1f2937;"
    "--fg:#f9fafb;--muted:#d1d5db;--line:#9ca3af;--accent:#93c5fd;"
    "--accent-fg:#111827;--pick:#1e3a5f}}"
    "*{box-sizing:border-box}"
    "body{margin:0;padding:1rem;background:var(--bg);color:var(--fg);"
    "font:1.0625rem/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,"
    "\"Helvetica Neue\",Arial,sans-serif}"
    "main{max-width:32rem;margin:1rem auto;padding:1.5rem;"
    "background:var(--card);border-radius:.75rem;"
    "box-shadow:0 1px 3px rgba(0,0,0,.15)}"
    "h1{font-size:1.375rem;line-height:1.3;margin:0 0 .75rem}"
    "h2{font-size:1.125rem;margin:1.75rem 0 .75rem}"
    "p{margin:0 0 1rem}form{margin:0 0 1rem}"
    ".who{overflow-wrap:anywhere;font-weight:600}"
    "fieldset{border:0;margin:0 0 1rem;padding:0;min-width:0}"
    "legend{font-weight:600;padding:0;margin-bottom:.5rem}"
    ".choice{display:flex;gap:.75rem;align-items:flex-start;"
    "padding:.875rem;margin-bottom:.5rem;border:1px solid var(--line);"
    "border-radius:.5rem;cursor:pointer}"
    ".choice:has(input:checked){border-color:var(--accent);"
    "background:var(--pick)}"
    ".choice:focus-within{outline:3px solid var(--accent);"
    "outline-offset:2px}"
    ".choice input{flex:none;width:1.25rem;height:1.25rem;"
    "margin:.125rem 0 0;accent-color:var(--accent)}"
    ".choice span{overflow-wrap:anywhere}"
    "button{display:block;width:100%;min-height:3rem;padding:.75rem 1rem;"
    "border:2px solid var(--accent);border-radius:.5rem;"
    "background:var(--accent);color:var(--accent-fg);font:inherit;"
    "font-weight:600;cursor:pointer}"
    "button:focus-visible{outline:3px solid var(--fg);outline-offset:2px}"
    "button.undo{background:transparent;color:var(--accent)}"
    ".note{color:var(--muted);font-size:.9375rem}"
    ".state{margin:0 0 1rem;padding-left:1.25rem}.state li{margin:.25rem 0}"
    "a{color:var(--accent)}";

static const char *unsub_page_choice_names[] = {
	NULL, "list", "all", "monthly", "undo-list", "undo-all",
	"undo-monthly", "weekly", "pause", "plain", "undo-weekly",
	"undo-pause", "undo-plain"
};

/* The choice a form value names; UNSUB_PAGE_NONE for anything else. */
enum unsub_page_choice
unsub_page_choice_parse(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return UNSUB_PAGE_NONE;
	for (i = 1; i < nitems(unsub_page_choice_names); i++)
		if (strcmp(s, unsub_page_choice_names[i]) == 0)
			return (enum unsub_page_choice)i;
	return UNSUB_PAGE_NONE;
}

/* The form value of a choice. */
const char *
unsub_page_choice_name(enum unsub_page_choice c)
{
	if ((size_t)c >= nitems(unsub_page_choice_names) || c == UNSUB_PAGE_NONE)
		return "none";
	return unsub_page_choice_names[c];
}

/* The choice that reverses c. */
enum unsub_page_choice
unsub_page_choice_undo(enum unsub_page_choice c)
{
	switch (c) {
	case UNSUB_PAGE_LIST:
		return UNSUB_PAGE_UNDO_LIST;
	case UNSUB_PAGE_ALL:
		return UNSUB_PAGE_UNDO_ALL;
	case UNSUB_PAGE_MONTHLY:
		return UNSUB_PAGE_UNDO_MONTHLY;
	case UNSUB_PAGE_WEEKLY:
		return UNSUB_PAGE_UNDO_WEEKLY;
	case UNSUB_PAGE_PAUSE:
		return UNSUB_PAGE_UNDO_PAUSE;
	case UNSUB_PAGE_PLAIN:
		return UNSUB_PAGE_UNDO_PLAIN;
	default:
		return UNSUB_PAGE_NONE;
	}
}

/* Append s HTML-escaped: text_html_escape() under the page's name. */
void
unsub_page_escape(struct buf *b, const char *s)
{
	text_html_escape(b, s);
}

/*
 * Show enough of the local part for the owner to recognise it and not
 * enough for a stranger holding a forwarded link to learn it: two
 * characters of a long local part, one of a short one.  The domain stays.
 */
char *
unsub_page_mask_addr(const char *a)
{
	const char	*at;
	size_t		 local, keep, i;
	char		*s;

	if (a == NULL || (at = strrchr(a, '@')) == NULL)
		return xstrdup("***");
	local = (size_t)(at - a);
	keep = local >= 4 ? 2 : local >= 1 ? 1 : 0;
	/* Never cut a UTF-8 sequence or a quoted local part in two. */
	for (i = 0; i < keep; i++)
		if ((unsigned char)a[i] >= 0x80 || a[i] == '"' || a[i] == '\\') {
			keep = i;
			break;
		}
	xasprintf(&s, "%.*s***%s", (int)keep, a, at);
	return s;
}

/* The CSP header: nothing but this file's style sheet, forms to self. */
char *
unsub_page_csp(void)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned char	 b64[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
	unsigned int	 mdlen = 0;
	char		*s;

	if (EVP_Digest(unsub_page_css, strlen(unsub_page_css), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return xstrdup("default-src 'none'; style-src 'unsafe-inline'; "
		    "form-action 'self'; base-uri 'none'; "
		    "frame-ancestors 'none'");
	EVP_EncodeBlock(b64, md, (int)mdlen);
	xasprintf(&s, "default-src 'none'; style-src 'sha256-%s'; "
	    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
	    (const char *)b64);
	return s;
}

/* A text in the reader's language. */
#define T(pi, s)	i18n_text((pi)->cat, (s))

/* The sender's name the reader knows, or the list's. */
static const char *
unsub_page_brand(const struct unsub_page_info *pi)
{
	return pi->brand != NULL && pi->brand[0] != '\0' ? pi->brand :
	    pi->list;
}

/* The masked address, escaped, in its span. */
static void
unsub_page_who(struct buf *b, const char *addr)
{
	char	*m = unsub_page_mask_addr(addr);

	buf_adds(b, "<span class=\"who\">");
	unsub_page_escape(b, m);
	buf_adds(b, "</span>");
	free(m);
}

/* A contact as a link: mailto: for an address, the URL itself else. */
static void
unsub_page_contact_link(struct buf *b, const char *contact)
{
	buf_adds(b, "<a href=\"");
	if (strchr(contact, ':') == NULL)
		buf_adds(b, "mailto:");
	unsub_page_escape(b, contact);
	buf_adds(b, "\">");
	unsub_page_escape(b, contact);
	buf_adds(b, "</a>");
}

/*
 * Append a text with its {name} placeholders filled from the NULL-ended
 * (name, value) pairs that follow: values are escaped; {who} is the
 * masked address and {contact} a link.  The text is escaped as well, so
 * a translation can never add markup.
 */
static void
unsub_page_say(struct buf *b, const char *text, ...)
{
	const char	*p = text, *close, *k, *v;
	va_list		 ap;
	size_t		 n;
	char		*chunk;

	while (*p != '\0') {
		n = strcspn(p, "{");
		chunk = xstrndup(p, n);
		unsub_page_escape(b, chunk);
		free(chunk);
		p += n;
		if (*p == '\0' || (close = strchr(p, '}')) == NULL) {
			unsub_page_escape(b, p);
			return;
		}
		va_start(ap, text);
		while ((k = va_arg(ap, const char *)) != NULL) {
			v = va_arg(ap, const char *);
			if (strlen(k) != (size_t)(close - p - 1) ||
			    strncmp(k, p + 1, (size_t)(close - p - 1)) != 0)
				continue;
			if (strcmp(k, "who") == 0)
				unsub_page_who(b, v);
			else if (strcmp(k, "contact") == 0)
				unsub_page_contact_link(b, v);
			else
				unsub_page_escape(b, v);
			break;
		}
		va_end(ap);
		p = close + 1;
	}
}

/*
 * A date in the reader's language and time zone, the zone named: the
 * day a pause ends is the reader's day, not UTC's.
 */
void
unsub_page_date(struct buf *b, const struct unsub_page_info *pi, int64_t t)
{
	char	 d[I18N_DATE_MAX];

	i18n_date(pi->lang != NULL ? pi->lang : "en", pi->zone, t, d,
	    sizeof d);
	buf_adds(b, d);
}

/* The start of every page, up to the title's text. */
static void
unsub_page_open(struct buf *b, const char *lang)
{
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"");
	unsub_page_escape(b, lang != NULL ? lang : "en");
	buf_adds(b, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
	    "<title>");
}

/* From the end of the title to <main>. */
static void
unsub_page_body(struct buf *b)
{
	buf_adds(b, "</title>\n<style>");
	buf_adds(b, unsub_page_css);
	buf_adds(b, "</style>\n</head>\n<body>\n<main>\n");
}

/* A page whose title and heading are one text. */
static void
unsub_page_head(struct buf *b, const struct unsub_page_info *pi,
    const char *title)
{
	unsub_page_open(b, pi->lang);
	unsub_page_say(b, title, "brand", unsub_page_brand(pi), "list",
	    pi->list, NULL);
	unsub_page_body(b);
	buf_adds(b, "<h1>");
	unsub_page_say(b, title, "brand", unsub_page_brand(pi), "list",
	    pi->list, NULL);
	buf_adds(b, "</h1>\n");
}

/* The end of every page: a person to write to, when there is one. */
static void
unsub_page_foot(struct buf *b, const struct unsub_page_info *pi)
{
	if (pi != NULL && pi->contact != NULL && pi->contact[0] != '\0') {
		buf_adds(b, "<p class=\"note contact\">");
		unsub_page_say(b, T(pi, strchr(pi->contact, ':') == NULL ?
		    N_("Questions? Write to {contact}.") :
		    N_("Questions? Contact {brand} at {contact}.")),
		    "contact", pi->contact, "brand", unsub_page_brand(pi),
		    NULL);
		buf_adds(b, "</p>\n");
	}
	buf_adds(b, "</main>\n</body>\n</html>\n");
}

/* A form that posts back to the page's own URL. */
static void
unsub_page_form_open(struct buf *b, const char *action)
{
	buf_adds(b, "<form method=\"post\" action=\"");
	unsub_page_escape(b, action);
	buf_adds(b, "\">\n");
}

/* One radio choice, its label around it and pointing at it. */
static void
unsub_page_radio(struct buf *b, const struct unsub_page_info *pi,
    enum unsub_page_choice c, int checked, const char *text)
{
	const char	*name = unsub_page_choice_name(c);

	buf_printf(b, "<label class=\"choice\" for=\"choice-%s\">"
	    "<input type=\"radio\" id=\"choice-%s\" name=\"choice\" "
	    "value=\"%s\"%s> <span>", name, name, name,
	    checked ? " checked" : "");
	unsub_page_say(b, T(pi, text), "list", pi->list, "brand",
	    unsub_page_brand(pi), NULL);
	buf_adds(b, "</span></label>\n");
}

static const struct prefs_view unsub_page_fresh;	/* all zero */

static const struct prefs_view *
unsub_page_state(const struct unsub_page_info *pi)
{
	return pi->state != NULL ? pi->state : &unsub_page_fresh;
}

/*
 * The form of choices: only those that change something, the gentlest
 * first; `preselect` checks "unsubscribe from this list" (the first visit
 * of a subscribed reader, who came by an unsubscribe link).
 */
static void
unsub_page_choice_form(struct buf *b, const struct unsub_page_info *pi,
    int preselect)
{
	const struct prefs_view	*st = unsub_page_state(pi);
	int			 week = st->cap_count == 1 &&
				    st->cap_window == PREFS_WEEK;
	int			 month = st->cap_count == 1 &&
				    st->cap_window == PREFS_MONTH;

	unsub_page_form_open(b, pi->action);
	buf_adds(b, "<fieldset>\n<legend>");
	unsub_page_say(b, T(pi, N_("What would you like?")), NULL);
	buf_adds(b, "</legend>\n");
	if (st->list == PREFS_SUBSCRIBED)
		unsub_page_radio(b, pi, UNSUB_PAGE_LIST, preselect,
		    N_("Unsubscribe from {list}"));
	if (!week)
		unsub_page_radio(b, pi, UNSUB_PAGE_WEEKLY, 0,
		    N_("Send me at most one message a week"));
	if (!month)
		unsub_page_radio(b, pi, UNSUB_PAGE_MONTHLY, 0,
		    N_("Send me at most one message a month"));
	if (st->cap_count != 0)
		unsub_page_radio(b, pi, week ? UNSUB_PAGE_UNDO_WEEKLY :
		    UNSUB_PAGE_UNDO_MONTHLY, 0,
		    N_("No limit of my own: as many as {brand} sends"));
	if (st->pause_until == 0)
		unsub_page_radio(b, pi, UNSUB_PAGE_PAUSE, 0, N_("Pause for "
		    "three months, then start again by itself"));
	else
		unsub_page_radio(b, pi, UNSUB_PAGE_UNDO_PAUSE, 0,
		    N_("End the pause now"));
	if (!st->plain)
		unsub_page_radio(b, pi, UNSUB_PAGE_PLAIN, 0,
		    N_("Plain text only, without pictures"));
	else
		unsub_page_radio(b, pi, UNSUB_PAGE_UNDO_PLAIN, 0,
		    N_("Pictures and layout again"));
	if (st->all == PREFS_SUBSCRIBED)
		unsub_page_radio(b, pi, UNSUB_PAGE_ALL, 0,
		    N_("Unsubscribe from every list, not just this one"));
	buf_adds(b, "</fieldset>\n<button type=\"submit\">");
	unsub_page_say(b, T(pi, N_("Confirm")), NULL);
	buf_adds(b, "</button>\n</form>\n<p class=\"note\">");
	unsub_page_say(b, T(pi, N_("Nothing changes until you press Confirm, "
	    "and you can undo it afterwards.")), NULL);
	buf_adds(b, "</p>\n");
}

/* One line of the reader's state. */
static void
unsub_page_li(struct buf *b, const struct unsub_page_info *pi,
    const char *text, const char *date)
{
	buf_adds(b, "<li>");
	unsub_page_say(b, T(pi, text), "list", pi->list, "brand",
	    unsub_page_brand(pi), "date", date != NULL ? date : "", NULL);
	buf_adds(b, "</li>\n");
}

/* A button of its own form: resubscribe, or undo a choice. */
static void
unsub_page_button(struct buf *b, const struct unsub_page_info *pi,
    enum unsub_page_choice c, const char *text)
{
	unsub_page_form_open(b, pi->action);
	buf_printf(b, "<button class=\"undo\" type=\"submit\" name=\"choice\" "
	    "value=\"%s\">", unsub_page_choice_name(c));
	unsub_page_say(b, T(pi, text), "list", pi->list, "brand",
	    unsub_page_brand(pi), NULL);
	buf_adds(b, "</button>\n</form>\n");
}

/* The frequency line of the state. */
static const char *
unsub_page_freq_text(const struct prefs_view *st)
{
	if (st->cap_count == 0)
		return N_("As many messages as {brand} sends.");
	if (st->cap_count == 1 && st->cap_window == PREFS_WEEK)
		return N_("At most one message a week.");
	if (st->cap_count == 1 && st->cap_window == PREFS_MONTH)
		return N_("At most one message a month.");
	return N_("A limit of your own on how often messages come.");
}

/* Where the reader stands, with the ways back that are theirs to take. */
static void
unsub_page_state_list(struct buf *b, const struct unsub_page_info *pi)
{
	const struct prefs_view	*st = unsub_page_state(pi);
	struct buf		 date;

	buf_init(&date);
	if (st->pause_until != 0)
		unsub_page_date(&date, pi, st->pause_until);
	buf_adds(b, "<h2>");
	unsub_page_say(b, T(pi, N_("Right now")), NULL);
	buf_adds(b, "</h2>\n<ul class=\"state\">\n");
	unsub_page_li(b, pi, st->list == PREFS_SUBSCRIBED ?
	    N_("You are subscribed to {list}.") : st->list == PREFS_OWN ?
	    N_("You are unsubscribed from {list}.") :
	    N_("The sender has unsubscribed you from {list}. This page "
	    "cannot change that."), NULL);
	if (st->all != PREFS_SUBSCRIBED)
		unsub_page_li(b, pi, st->all == PREFS_OWN ?
		    N_("You are unsubscribed from every list.") :
		    N_("The sender has unsubscribed you from every list. "
		    "This page cannot change that."), NULL);
	if (st->suppressed)
		unsub_page_li(b, pi, N_("The sender has stopped all mail to "
		    "this address. This page cannot change that."), NULL);
	unsub_page_li(b, pi, unsub_page_freq_text(st), NULL);
	if (st->pause_until != 0)
		unsub_page_li(b, pi, N_("Paused until {date}. Then messages "
		    "come again by themselves."), date.data);
	unsub_page_li(b, pi, st->plain ? N_("Plain text only.") :
	    N_("Messages with pictures and layout."), NULL);
	buf_adds(b, "</ul>\n");
	buf_free(&date);
	if (st->list == PREFS_OWN)
		unsub_page_button(b, pi, UNSUB_PAGE_UNDO_LIST,
		    N_("Subscribe me to {list} again"));
	if (st->all == PREFS_OWN)
		unsub_page_button(b, pi, UNSUB_PAGE_UNDO_ALL,
		    N_("Subscribe me to every list again"));
}

/* The page a valid link opens. */
void
unsub_page_choices(struct buf *b, const struct unsub_page_info *pi)
{
	const struct prefs_view	*st = unsub_page_state(pi);

	unsub_page_head(b, pi, T(pi, N_("Your messages from {brand}")));
	buf_adds(b, "<p>");
	unsub_page_say(b, T(pi, N_("These messages are sent to {who}.")),
	    "who", pi->addr, NULL);
	buf_adds(b, "</p>\n");
	unsub_page_state_list(b, pi);
	unsub_page_choice_form(b, pi, st->list == PREFS_SUBSCRIBED &&
	    st->all == PREFS_SUBSCRIBED && !st->suppressed);
	unsub_page_foot(b, pi);
}

/* The heading and first words of a confirmation, and its undo. */
struct unsub_page_said {
	const char		*title;
	const char		*says;
	const char		*undo;	/* NULL: none */
};

static int
unsub_page_said_for(const struct unsub_page_outcome *o,
    struct unsub_page_said *s)
{
	static const struct {
		enum unsub_page_choice	 c;
		struct unsub_page_said	 s;
	} rows[] = {
		{ UNSUB_PAGE_LIST, { N_("You are unsubscribed"),
		    N_("{who} will get no more messages from {list}."),
		    N_("Undo: subscribe me again") } },
		{ UNSUB_PAGE_ALL, { N_("You are unsubscribed from "
		    "everything"), N_("{who} will get no more messages from "
		    "{list} or any other list."),
		    N_("Undo: subscribe me again") } },
		{ UNSUB_PAGE_MONTHLY, { N_("You will get at most one message "
		    "a month"), N_("From now on, {who} will get at most one "
		    "message a month, including mail already on its way."),
		    N_("Undo: remove the monthly limit") } },
		{ UNSUB_PAGE_WEEKLY, { N_("You will get at most one message "
		    "a week"), N_("From now on, {who} will get at most one "
		    "message a week, including mail already on its way."),
		    N_("Undo: remove the weekly limit") } },
		{ UNSUB_PAGE_PAUSE, { N_("Your messages are paused"),
		    N_("Nothing more will reach {who} until {date}. Then "
		    "messages come again by themselves."),
		    N_("Undo: end the pause now") } },
		{ UNSUB_PAGE_PLAIN, { N_("You will get plain text only"),
		    N_("Messages to {who} will come as plain text, without "
		    "pictures or layout."),
		    N_("Undo: pictures and layout again") } },
		{ UNSUB_PAGE_UNDO_LIST, { N_("You are subscribed again"),
		    N_("{who} will get messages from {list} again."), NULL } },
		{ UNSUB_PAGE_UNDO_ALL, { N_("You are subscribed again"),
		    N_("{who} will get messages from {list} and the other "
		    "lists again."), NULL } },
		{ UNSUB_PAGE_UNDO_MONTHLY, { N_("The monthly limit is removed"),
		    N_("{who} will get messages as often as {brand} sends "
		    "them."), NULL } },
		{ UNSUB_PAGE_UNDO_WEEKLY, { N_("The weekly limit is removed"),
		    N_("{who} will get messages as often as {brand} sends "
		    "them."), NULL } },
		{ UNSUB_PAGE_UNDO_PAUSE, { N_("The pause is over"),
		    N_("Messages to {who} come again from now on."), NULL } },
		{ UNSUB_PAGE_UNDO_PLAIN, { N_("You will get pictures and "
		    "layout again"), N_("Messages to {who} will come as "
		    "designed, with pictures and layout."), NULL } },
	};
	size_t	 i;

	for (i = 0; i < nitems(rows); i++)
		if (rows[i].c == o->choice) {
			*s = rows[i].s;
			if (o->kept) {
				s->title = N_("You are still unsubscribed");
				s->says = N_("{who} was unsubscribed by the "
				    "sender's administrator, which this page "
				    "cannot change.");
			}
			return 0;
		}
	return -1;
}

/* What was done, with a way back, and where the reader stands now. */
void
unsub_page_done(struct buf *b, const struct unsub_page_info *pi,
    const struct unsub_page_outcome *o)
{
	const struct prefs_view	*st = unsub_page_state(pi);
	struct unsub_page_said	 s;
	struct buf		 date;

	if (unsub_page_said_for(o, &s) == -1) {
		unsub_page_bad_choice(b, pi);
		return;
	}
	buf_init(&date);
	/* ICU opens two formatters: only for a text that has the date. */
	if (st->pause_until != 0)
		unsub_page_date(&date, pi, st->pause_until);
	unsub_page_head(b, pi, T(pi, s.title));
	buf_adds(b, "<p>");
	unsub_page_say(b, T(pi, s.says), "who", pi->addr, "list", pi->list,
	    "brand", unsub_page_brand(pi), "date", date.data != NULL ?
	    date.data : "", NULL);
	buf_adds(b, "</p>\n");
	buf_free(&date);
	if (o->blocked && !o->kept && o->choice != UNSUB_PAGE_LIST &&
	    o->choice != UNSUB_PAGE_ALL) {
		buf_adds(b, "<p class=\"note\">");
		unsub_page_say(b, T(pi, N_("You are still unsubscribed from "
		    "{list}, so nothing from it will arrive.")), "list",
		    pi->list, NULL);
		buf_adds(b, "</p>\n");
	}
	if (s.undo != NULL) {
		buf_adds(b, "<p class=\"note\">");
		unsub_page_say(b, T(pi, N_("Changed your mind?")), NULL);
		buf_adds(b, "</p>\n");
		unsub_page_button(b, pi, unsub_page_choice_undo(o->choice),
		    s.undo);
	}
	buf_adds(b, "<h2>");
	unsub_page_say(b, T(pi, N_("Anything else?")), NULL);
	buf_adds(b, "</h2>\n");
	unsub_page_state_list(b, pi);
	unsub_page_choice_form(b, pi, 0);
	unsub_page_foot(b, pi);
}

/* A form without a known choice: nothing changed, choose again. */
void
unsub_page_bad_choice(struct buf *b, const struct unsub_page_info *pi)
{
	unsub_page_head(b, pi, T(pi, N_("Please choose one option")));
	buf_adds(b, "<p>");
	unsub_page_say(b, T(pi, N_("Your request did not say what to do, so "
	    "nothing was changed.")), NULL);
	buf_adds(b, "</p>\n");
	unsub_page_state_list(b, pi);
	unsub_page_choice_form(b, pi, 0);
	unsub_page_foot(b, pi);
}

/* A fixed page: a title and paragraphs, in the reader's language. */
static void
unsub_page_fixed(struct buf *b, const struct i18n_cat *cat,
    const char *title, const char *p1, const char *note)
{
	struct unsub_page_info	 pi;

	memset(&pi, 0, sizeof pi);
	pi.cat = cat;
	pi.lang = cat != NULL ? i18n_cat_lang(cat) : "en";
	pi.list = "";
	unsub_page_head(b, &pi, T(&pi, title));
	buf_adds(b, "<p>");
	unsub_page_say(b, T(&pi, p1), NULL);
	buf_adds(b, "</p>\n");
	if (note != NULL) {
		buf_adds(b, "<p class=\"note\">");
		unsub_page_say(b, T(&pi, note), NULL);
		buf_adds(b, "</p>\n");
	}
	unsub_page_foot(b, NULL);
}

/* The same page for every bad link: it says nothing about why. */
void
unsub_page_invalid_in(struct buf *b, const struct i18n_cat *cat)
{
	unsub_page_fixed(b, cat, N_("This link is not valid"),
	    N_("The link may have been cut short or changed on its way to "
	    "you. Nothing was changed."), N_("To unsubscribe, open the link "
	    "at the end of a message you received, or copy all of it into "
	    "your browser."));
}

/* Any path but /u/TOKEN. */
void
unsub_page_not_found_in(struct buf *b, const struct i18n_cat *cat)
{
	unsub_page_fixed(b, cat, N_("Page not found"),
	    N_("There is nothing at this address."), NULL);
}

/* A store error: nothing changed, try again. */
void
unsub_page_unavailable_in(struct buf *b, const struct i18n_cat *cat)
{
	unsub_page_fixed(b, cat, N_("Please try again in a minute"),
	    N_("Something went wrong on our side and nothing was changed."),
	    NULL);
}

/*
 * A request refused before it was read (http_guard.c): a sentence in the
 * reader's language, the way back, and what was wrong, as the protocol
 * names it (why, in English: it names a header or a limit).
 */
void
unsub_page_refused_in(struct buf *b, const struct i18n_cat *cat,
    const char *why)
{
	struct unsub_page_info	 pi;

	memset(&pi, 0, sizeof pi);
	pi.cat = cat;
	pi.lang = i18n_cat_lang(cat);
	pi.list = "";
	unsub_page_head(b, &pi, T(&pi, N_("Bad request")));
	buf_adds(b, "<p>");
	unsub_page_say(b, T(&pi, N_("Your browser sent a request this page "
	    "cannot read. Nothing was changed.")), NULL);
	buf_adds(b, "</p>\n<p>");
	unsub_page_say(b, T(&pi, N_("To unsubscribe, open the link at the end "
	    "of a message you received, or copy all of it into your "
	    "browser.")), NULL);
	buf_adds(b, "</p>\n<p class=\"note\">");
	unsub_page_say(b, T(&pi, N_("Technical detail: {why}")), "why", why,
	    NULL);
	buf_adds(b, "</p>\n");
	unsub_page_foot(b, NULL);
}

void
unsub_page_invalid(struct buf *b)
{
	unsub_page_invalid_in(b, NULL);
}

void
unsub_page_not_found(struct buf *b)
{
	unsub_page_not_found_in(b, NULL);
}

void
unsub_page_unavailable(struct buf *b)
{
	unsub_page_unavailable_in(b, NULL);
}

/*
 * A contact a page may show: an address (addr_check) or an http(s) URL
 * of printable ASCII without quotes, spaces or angle brackets.
 */
int
unsub_page_contact_ok(const char *s)
{
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 512)
		return 0;
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return strchr(s, ':') == NULL && addr_check(s, n, NULL) == 0;
	for (i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || strchr("\"'<>\\`", s[i]))
			return 0;
	return s[strcspn(s, ":") + 3] != '\0' && s[strcspn(s, ":") + 3] != '/';
}
/* Parse a form body into the two fields a page reads (see unsub_page.h). */
int
unsub_page_form_parse(const char *ctype, const char *body, size_t len,
    struct unsub_page_form *f, char **cause)
{
	struct form_field	 fields[] = {
		{ "List-Unsubscribe", NULL },
		{ "choice", NULL },
	};

	memset(f, 0, sizeof *f);
	if (form_parse(ctype, body, len, fields, nitems(fields), cause) == -1)
		return -1;
	f->list_unsubscribe = fields[0].value;
	f->choice = fields[1].value;
	return 0;
}

/* Free the kept fields. */
void
unsub_page_form_free(struct unsub_page_form *f)
{
	free(f->list_unsubscribe);
	free(f->choice);
	f->list_unsubscribe = f->choice = NULL;
}

/* Is this RFC 8058's List-Unsubscribe=One-Click? */
int
unsub_page_form_oneclick(const struct unsub_page_form *f)
{
	return f->list_unsubscribe != NULL &&
	    strcasecmp(f->list_unsubscribe, "One-Click") == 0;
}
