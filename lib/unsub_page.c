/*
 * unsub_page.c: the public unsubscribe pages and the parser of their forms.
 *
 * Pure functions: no loop, no store, no clock.  unsub_http.c decides which
 * page to show and sends it with the headers (unsub_page_csp() among them).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "form.h"
#include "text.h"
#include "unsub_page.h"
#include "util.h"

/*
 * The one style sheet, inline so a page is a single response; the CSP
 * allows exactly these bytes by their hash.  No style attributes anywhere.
 */
static const char unsub_page_css[] =
    ":root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--fg:#111827;"
    "--muted:#4b5563;--line:#d1d5db;--accent:#1d4ed8;--accent-fg:#fff;"
    "--pick:#eff6ff}"
    "@media (prefers-color-scheme:dark){:root{--bg:#111827;--card:#1f2937;"
    "--fg:#f9fafb;--muted:#d1d5db;--line:#4b5563;--accent:#93c5fd;"
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
    ".note{color:var(--muted);font-size:.9375rem}";

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

/* The start of every page, up to <main>. */
static void
unsub_page_head(struct buf *b, const char *title, const char *title_arg)
{
	buf_adds(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	    "<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n"
	    "<meta name=\"robots\" content=\"noindex, nofollow\">\n"
	    "<title>");
	unsub_page_escape(b, title);
	if (title_arg != NULL)
		unsub_page_escape(b, title_arg);
	buf_adds(b, "</title>\n<style>");
	buf_adds(b, unsub_page_css);
	buf_adds(b, "</style>\n</head>\n<body>\n<main>\n");
}

/* The end of every page. */
static void
unsub_page_foot(struct buf *b)
{
	buf_adds(b, "</main>\n</body>\n</html>\n");
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
unsub_page_radio(struct buf *b, enum unsub_page_choice c, int checked, const char *text,
    const char *list)
{
	const char	*name = unsub_page_choice_name(c);

	buf_printf(b, "<label class=\"choice\" for=\"choice-%s\">"
	    "<input type=\"radio\" id=\"choice-%s\" name=\"choice\" "
	    "value=\"%s\"%s> <span>", name, name, name,
	    checked ? " checked" : "");
	unsub_page_escape(b, text);
	if (list != NULL)
		unsub_page_escape(b, list);
	buf_adds(b, "</span></label>\n");
}

/* The form with the three choices. */
static void
unsub_page_choice_form(struct buf *b, const struct unsub_page_info *pi)
{
	unsub_page_form_open(b, pi->action);
	buf_adds(b, "<fieldset>\n<legend>What would you like?</legend>\n");
	unsub_page_radio(b, UNSUB_PAGE_LIST, 1, "Unsubscribe from ", pi->list);
	unsub_page_radio(b, UNSUB_PAGE_ALL, 0, "Unsubscribe from everything sent through "
	    "this service", NULL);
	unsub_page_radio(b, UNSUB_PAGE_MONTHLY, 0, "Send me at most one message a month",
	    NULL);
	buf_adds(b, "</fieldset>\n<button type=\"submit\">Confirm</button>\n"
	    "</form>\n");
}

/* The page a valid link opens. */
void
unsub_page_choices(struct buf *b, const struct unsub_page_info *pi)
{
	unsub_page_head(b, "Your messages from ", pi->list);
	buf_adds(b, "<h1>Your messages from ");
	unsub_page_escape(b, pi->list);
	buf_adds(b, "</h1>\n<p>These messages are sent to ");
	unsub_page_who(b, pi->addr);
	buf_adds(b, ".</p>\n");
	unsub_page_choice_form(b, pi);
	buf_adds(b, "<p class=\"note\">Nothing changes until you press "
	    "Confirm, and you can undo it afterwards.</p>\n");
	unsub_page_foot(b);
}

/* The undo button: a form of its own that posts the reverse choice. */
static void
unsub_page_undo_form(struct buf *b, const struct unsub_page_info *pi, enum unsub_page_choice c,
    const char *text)
{
	unsub_page_form_open(b, pi->action);
	buf_printf(b, "<p class=\"note\">Changed your mind?</p>\n"
	    "<button class=\"undo\" type=\"submit\" name=\"choice\" "
	    "value=\"%s\">", unsub_page_choice_name(unsub_page_choice_undo(c)));
	unsub_page_escape(b, text);
	buf_adds(b, "</button>\n</form>\n");
}

/* What was done, with a way back. */
void
unsub_page_done(struct buf *b, const struct unsub_page_info *pi,
    const struct unsub_page_outcome *o)
{
	const char	*title;

	switch (o->choice) {
	case UNSUB_PAGE_LIST:
		title = "You are unsubscribed";
		break;
	case UNSUB_PAGE_ALL:
		title = "You are unsubscribed from everything";
		break;
	case UNSUB_PAGE_MONTHLY:
		title = "You will get at most one message a month";
		break;
	case UNSUB_PAGE_UNDO_LIST:
	case UNSUB_PAGE_UNDO_ALL:
		title = o->kept ? "You are still unsubscribed" :
		    "You are subscribed again";
		break;
	case UNSUB_PAGE_UNDO_MONTHLY:
		title = "The monthly limit is removed";
		break;
	default:
		unsub_page_bad_choice(b, pi);
		return;
	}
	unsub_page_head(b, title, NULL);
	buf_adds(b, "<h1>");
	unsub_page_escape(b, title);
	buf_adds(b, "</h1>\n<p>");
	switch (o->choice) {
	case UNSUB_PAGE_LIST:
		unsub_page_who(b, pi->addr);
		buf_adds(b, " will get no more messages from ");
		unsub_page_escape(b, pi->list);
		buf_adds(b, ".</p>\n");
		unsub_page_undo_form(b, pi, o->choice, "Undo: subscribe me again");
		break;
	case UNSUB_PAGE_ALL:
		unsub_page_who(b, pi->addr);
		buf_adds(b, " will get no more messages sent through this "
		    "service, from ");
		unsub_page_escape(b, pi->list);
		buf_adds(b, " or any other list.</p>\n");
		unsub_page_undo_form(b, pi, o->choice, "Undo: subscribe me again");
		break;
	case UNSUB_PAGE_MONTHLY:
		buf_adds(b, "From now on, ");
		unsub_page_who(b, pi->addr);
		buf_adds(b, " will get at most one message a month from this "
		    "service.</p>\n");
		if (o->blocked) {
			buf_adds(b, "<p class=\"note\">You are also "
			    "unsubscribed from ");
			unsub_page_escape(b, pi->list);
			buf_adds(b, ", so nothing from it will arrive.</p>\n");
		}
		unsub_page_undo_form(b, pi, o->choice, "Undo: remove the monthly "
		    "limit");
		break;
	case UNSUB_PAGE_UNDO_LIST:
	case UNSUB_PAGE_UNDO_ALL:
		if (o->kept) {
			unsub_page_who(b, pi->addr);
			buf_adds(b, " was unsubscribed by the sender's "
			    "administrator, which this page cannot change."
			    "</p>\n");
		} else {
			unsub_page_who(b, pi->addr);
			buf_adds(b, o->choice == UNSUB_PAGE_UNDO_LIST ?
			    " will get messages from " : " will get messages "
			    "sent through this service again, such as ");
			unsub_page_escape(b, pi->list);
			buf_adds(b, o->choice == UNSUB_PAGE_UNDO_LIST ? " again.</p>\n" :
			    ".</p>\n");
		}
		if (o->blocked && !o->kept) {
			buf_adds(b, "<p class=\"note\">This address is still "
			    "unsubscribed from ");
			unsub_page_escape(b, pi->list);
			buf_adds(b, " by an earlier choice, so nothing from it "
			    "will arrive.</p>\n");
		}
		buf_adds(b, "<h2>Anything else?</h2>\n");
		unsub_page_choice_form(b, pi);
		break;
	default:	/* UNSUB_PAGE_UNDO_MONTHLY */
		unsub_page_who(b, pi->addr);
		buf_adds(b, " will get messages as often as each list sends "
		    "them, within the sender's own limits.</p>\n");
		buf_adds(b, "<h2>Anything else?</h2>\n");
		unsub_page_choice_form(b, pi);
		break;
	}
	unsub_page_foot(b);
}

/* A form without a known choice: nothing changed, choose again. */
void
unsub_page_bad_choice(struct buf *b, const struct unsub_page_info *pi)
{
	unsub_page_head(b, "Please choose one option", NULL);
	buf_adds(b, "<h1>Please choose one option</h1>\n"
	    "<p>Your request did not say what to do, so nothing was changed."
	    "</p>\n");
	unsub_page_choice_form(b, pi);
	unsub_page_foot(b);
}

/* The same page for every bad link: it says nothing about why. */
void
unsub_page_invalid(struct buf *b)
{
	unsub_page_head(b, "This link is not valid", NULL);
	buf_adds(b, "<h1>This link is not valid</h1>\n"
	    "<p>The link may have been cut short or changed on its way to "
	    "you. Nothing was changed.</p>\n"
	    "<p class=\"note\">To unsubscribe, open the link at the end of a "
	    "message you received, or copy all of it into your browser.</p>\n");
	unsub_page_foot(b);
}

/* Any path but /u/TOKEN. */
void
unsub_page_not_found(struct buf *b)
{
	unsub_page_head(b, "Page not found", NULL);
	buf_adds(b, "<h1>Page not found</h1>\n"
	    "<p>There is nothing at this address.</p>\n");
	unsub_page_foot(b);
}

/* A store error: nothing changed, try again. */
void
unsub_page_unavailable(struct buf *b)
{
	unsub_page_head(b, "Please try again in a minute", NULL);
	buf_adds(b, "<h1>Please try again in a minute</h1>\n"
	    "<p>Something went wrong on our side and nothing was changed.</p>\n");
	unsub_page_foot(b);
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
