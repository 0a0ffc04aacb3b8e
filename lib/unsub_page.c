/*
 * unsub_page.c: the public unsubscribe pages and the parser of their forms.
 *
 * Pure functions: no loop, no store, no clock.  unsub_http.c decides which
 * page to show and sends it with the headers (unsub_page_csp() among them).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/evp.h>

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
	"undo-monthly"
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
	default:
		return UNSUB_PAGE_NONE;
	}
}

/* Append s with the five HTML-special characters escaped. */
void
unsub_page_escape(struct buf *b, const char *s)
{
	const char	*run = s;

	for (; *s != '\0'; s++) {
		const char	*rep;

		switch (*s) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			continue;
		}
		buf_add(b, run, (size_t)(s - run));
		buf_adds(b, rep);
		run = s + 1;
	}
	buf_add(b, run, (size_t)(s - run));
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

/* Keep a field's value if it is one we want and the first of its name. */
static int
unsub_page_form_keep(struct unsub_page_form *f, const char *name, size_t namelen,
    const char *v, size_t vlen, char **cause)
{
	char	**slot;

	if (namelen == 16 && strncasecmp(name, "List-Unsubscribe", 16) == 0)
		slot = &f->list_unsubscribe;
	else if (namelen == 6 && strncasecmp(name, "choice", 6) == 0)
		slot = &f->choice;
	else
		return 0;
	if (vlen > UNSUB_PAGE_FIELD_MAX)
		return set_cause(cause, "form: field %.*s is longer than %d "
		    "bytes", (int)namelen, name, UNSUB_PAGE_FIELD_MAX);
	if (memchr(v, '\0', vlen) != NULL)
		return set_cause(cause, "form: NUL byte in field %.*s",
		    (int)namelen, name);
	if (*slot == NULL)
		*slot = xstrndup(v, vlen);
	return 0;
}

/* Optional white space in a header value. */
static int
unsub_page_ows(char c)
{
	return c == ' ' || c == '\t';
}

/*
 * Find parameter `name` in a header value such as `type; a=b; c="d"` (len
 * bytes) and copy its value, unquoted, into out.  Returns 0, 1 when it is
 * absent, -1 when the value is malformed or does not fit.
 */
static int
unsub_page_header_param(const char *v, size_t len, const char *name, char *out,
    size_t outsz)
{
	const char	*p, *end = v + len, *key;
	size_t		 klen, o;
	int		 toolong;

	if ((p = memchr(v, ';', len)) == NULL)
		return 1;
	p++;
	while (p < end) {
		while (p < end && unsub_page_ows(*p))
			p++;
		key = p;
		while (p < end && *p != '=' && *p != ';' && !unsub_page_ows(*p))
			p++;
		klen = (size_t)(p - key);
		while (p < end && unsub_page_ows(*p))
			p++;
		if (p < end && *p == ';') {
			p++;
			continue;	/* a parameter without a value */
		}
		if (p >= end || *p != '=')
			return klen == 0 && p >= end ? 1 : -1;
		p++;
		while (p < end && unsub_page_ows(*p))
			p++;
		o = 0;
		toolong = 0;
		if (p < end && *p == '"') {
			for (p++;; p++) {
				char	 c;

				if (p >= end)
					return -1;	/* unterminated */
				if (*p == '"') {
					p++;
					break;
				}
				if (*p == '\\' && ++p >= end)
					return -1;
				c = *p;
				if (o + 1 < outsz)
					out[o++] = c;
				else
					toolong = 1;
			}
		} else {
			for (; p < end && *p != ';' && !unsub_page_ows(*p); p++) {
				if (o + 1 < outsz)
					out[o++] = *p;
				else
					toolong = 1;
			}
		}
		out[o] = '\0';
		while (p < end && unsub_page_ows(*p))
			p++;
		if (p < end && *p != ';')
			return -1;
		if (p < end)
			p++;
		if (klen == strlen(name) && strncasecmp(key, name, klen) == 0)
			return toolong ? -1 : 0;
	}
	return 1;
}

/* A valid multipart boundary (RFC 2046 bchars, 1 to 70, no final space). */
static int
unsub_page_boundary_ok(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n == 0 || n > UNSUB_PAGE_BOUNDARY_MAX || s[n - 1] == ' ')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) &&
		    strchr("'()+_,-./:=? ", s[i]) == NULL)
			return 0;
	return 1;
}

/*
 * The next delimiter line "\n--BOUNDARY" at or after from, followed by
 * "--", padding or a line break (or the end, which the caller reports as
 * truncated).  Returns the '\n', or NULL.
 */
static const char *
unsub_page_find_delim(const char *from, const char *end, const char *nd,
    size_t ndlen)
{
	const char	*h, *after;

	while (from < end && (h = memmem(from, (size_t)(end - from), nd,
	    ndlen)) != NULL) {
		after = h + ndlen;
		if (after >= end || *after == '-' || *after == '\r' ||
		    *after == '\n' || unsub_page_ows(*after))
			return h;
		from = h + 1;
	}
	return NULL;
}

/* The form-data name of a part from its Content-Disposition value. */
static int
unsub_page_disposition(const char *v, size_t len, char *name, size_t namesz)
{
	while (len > 0 && unsub_page_ows(*v)) {
		v++;
		len--;
	}
	if (len < 9 || strncasecmp(v, "form-data", 9) != 0 ||
	    (len > 9 && v[9] != ';' && !unsub_page_ows(v[9])))
		return -1;
	return unsub_page_header_param(v, len, "name", name, namesz);
}

/* multipart/form-data (RFC 7578), CRLF or bare LF line ends. */
static int
unsub_page_multipart(const char *boundary, const char *body, size_t len,
    struct unsub_page_form *f, char **cause)
{
	char		 nd[UNSUB_PAGE_BOUNDARY_MAX + 4], name[UNSUB_PAGE_FIELD_MAX + 1];
	const char	*p, *end = body + len, *h, *eol, *cend;
	size_t		 ndlen, llen, nparts = 0, nheaders;
	int		 named, rc;

	ndlen = (size_t)snprintf(nd, sizeof nd, "\n--%s", boundary);
	/* The first delimiter opens the body or follows a preamble. */
	if (len >= ndlen - 1 && memcmp(body, nd + 1, ndlen - 1) == 0)
		p = body;
	else if ((h = unsub_page_find_delim(body, end, nd, ndlen)) != NULL)
		p = h + 1;
	else
		return set_cause(cause, "multipart: no boundary line");
	for (;;) {
		p += ndlen - 1;
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			return 0;	/* the close delimiter; the rest is
					   epilogue */
		while (p < end && unsub_page_ows(*p))
			p++;
		if (p < end && *p == '\r')
			p++;
		if (p >= end || *p != '\n')
			return set_cause(cause, "multipart: truncated or "
			    "malformed boundary line");
		p++;
		if (++nparts > UNSUB_PAGE_PARTS_MAX)
			return set_cause(cause, "multipart: more than %d parts",
			    UNSUB_PAGE_PARTS_MAX);
		named = 0;
		for (nheaders = 0;; nheaders++) {
			if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
				return set_cause(cause, "multipart: truncated "
				    "part headers");
			llen = (size_t)(eol - p);
			if (llen > 0 && p[llen - 1] == '\r')
				llen--;
			if (llen == 0) {
				p = eol + 1;
				break;
			}
			if (nheaders >= 8)
				return set_cause(cause, "multipart: too many "
				    "part headers");
			if (llen > 20 && strncasecmp(p, "Content-Disposition:",
			    20) == 0) {
				rc = unsub_page_disposition(p + 20, llen - 20, name,
				    sizeof name);
				if (rc == -1)
					return set_cause(cause, "multipart: "
					    "malformed Content-Disposition");
				named = rc == 0;
			}
			p = eol + 1;
		}
		/* The content ends where the next delimiter line starts. */
		if ((h = unsub_page_find_delim(p - 1, end, nd, ndlen)) == NULL)
			return set_cause(cause, "multipart: no closing "
			    "boundary (truncated body?)");
		if (h < p) {
			/* The delimiter follows the headers at once. */
			cend = p;
		} else {
			cend = h;
			if (cend > p && cend[-1] == '\r')
				cend--;
		}
		if (named && unsub_page_form_keep(f, name, strlen(name), p,
		    (size_t)(cend - p), cause) == -1)
			return -1;
		p = h + 1;
	}
}

/* application/x-www-form-urlencoded, as evhttp decodes a query. */
static int
unsub_page_urlencoded(const char *body, size_t len, struct unsub_page_form *f,
    char **cause)
{
	struct evkeyvalq	 q;
	struct evkeyval		*kv;
	char			*s;
	int			 rc = 0;

	if (memchr(body, '\0', len) != NULL)
		return set_cause(cause, "form: NUL byte in the body");
	/* Some senders end the body with a line break. */
	while (len > 0 && (body[len - 1] == '\r' || body[len - 1] == '\n' ||
	    unsub_page_ows(body[len - 1])))
		len--;
	if (len == 0)
		return 0;
	s = xstrndup(body, len);
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(s, &q) != 0)
		rc = set_cause(cause, "form: malformed urlencoded body");
	else
		TAILQ_FOREACH(kv, &q, next)
			if ((rc = unsub_page_form_keep(f, kv->key, strlen(kv->key),
			    kv->value, strlen(kv->value), cause)) == -1)
				break;
	evhttp_clear_headers(&q);
	free(s);
	return rc;
}

/* Parse a form body by its Content-Type (see page.h). */
int
unsub_page_form_parse(const char *ctype, const char *body, size_t len,
    struct unsub_page_form *f, char **cause)
{
	char		 boundary[UNSUB_PAGE_BOUNDARY_MAX + 2];
	size_t		 tlen;
	int		 rc;

	memset(f, 0, sizeof *f);
	if (len > UNSUB_PAGE_FORM_MAX)
		return set_cause(cause, "form: body of %zu bytes is over %d",
		    len, UNSUB_PAGE_FORM_MAX);
	if (body == NULL)
		body = "";
	tlen = ctype != NULL ? strcspn(ctype, "; \t") : 0;
	if (tlen == 19 && strncasecmp(ctype, "multipart/form-data", 19) == 0) {
		rc = unsub_page_header_param(ctype, strlen(ctype), "boundary",
		    boundary, sizeof boundary);
		if (rc != 0 || !unsub_page_boundary_ok(boundary))
			return set_cause(cause, "multipart: %s boundary",
			    rc == 1 ? "no" : "malformed");
		rc = unsub_page_multipart(boundary, body, len, f, cause);
	} else
		/* Without a Content-Type, or any other, read it as a form. */
		rc = unsub_page_urlencoded(body, len, f, cause);
	if (rc == -1)
		unsub_page_form_free(f);
	return rc;
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
