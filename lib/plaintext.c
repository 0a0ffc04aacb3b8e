/*
 * plaintext.c: HTML to plain text (see plaintext.h).
 *
 * One walk over libxml2's tree.  Text is written word by word: a word
 * waits for the separator it needs (nothing, a space, a line break or a
 * blank line), decided by what came between it and the word before, so
 * that block elements never leave runs of empty lines and words that
 * touched in the HTML ("<b>re</b>ad") still touch.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "plaintext.h"
#include "util.h"

/* As the weigher: never fetch, never print, keep the depth limit. */
#define PLAINTEXT_PARSE_OPTIONS \
	(HTML_PARSE_NONET | HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | \
	HTML_PARSE_NOWARNING)

/* How an element separates what is around it. */
enum pt_kind {
	PT_INLINE = 0,
	PT_LINE,		/* its own line */
	PT_PARA,		/* its own paragraph */
	PT_SKIP			/* nothing of it is shown */
};

static const struct {
	const char	*name;
	enum pt_kind	 kind;
} pt_elements[] = {
	{ "address", PT_LINE }, { "article", PT_LINE }, { "aside", PT_LINE },
	{ "blockquote", PT_PARA }, { "caption", PT_LINE },
	{ "center", PT_LINE }, { "dd", PT_LINE }, { "details", PT_LINE },
	{ "div", PT_LINE }, { "dl", PT_PARA }, { "dt", PT_LINE },
	{ "fieldset", PT_LINE }, { "figcaption", PT_LINE },
	{ "figure", PT_PARA }, { "footer", PT_LINE }, { "form", PT_LINE },
	{ "h1", PT_PARA }, { "h2", PT_PARA }, { "h3", PT_PARA },
	{ "h4", PT_PARA }, { "h5", PT_PARA }, { "h6", PT_PARA },
	{ "head", PT_SKIP }, { "header", PT_LINE }, { "iframe", PT_SKIP },
	{ "li", PT_LINE }, { "main", PT_LINE }, { "nav", PT_LINE },
	{ "object", PT_SKIP }, { "ol", PT_PARA }, { "p", PT_PARA },
	{ "pre", PT_PARA }, { "script", PT_SKIP }, { "section", PT_LINE },
	{ "style", PT_SKIP }, { "summary", PT_LINE }, { "svg", PT_SKIP },
	{ "table", PT_PARA }, { "td", PT_LINE }, { "template", PT_SKIP },
	{ "th", PT_LINE }, { "title", PT_SKIP }, { "tr", PT_LINE },
	{ "ul", PT_PARA },
};

struct pt {
	struct buf	 out;
	size_t		 col;		/* characters on the current line */
	int		 breaks;	/* line breaks owed before the next word */
	int		 space;		/* a space owed before the next word */
	int		 pre;		/* inside <pre>: keep white space */
};

static enum pt_kind
pt_kind(const xmlNode *n)
{
	size_t	 i;

	for (i = 0; i < nitems(pt_elements); i++)
		if (strcasecmp((const char *)n->name, pt_elements[i].name) == 0)
			return pt_elements[i].kind;
	return PT_INLINE;
}

/* Whether an element is hidden by its attributes (hidden, display:none,
 * aria-hidden), as preheaders and tracking remnants often are. */
static int
pt_hidden(xmlNode *n)
{
	xmlChar	*v;
	char	 compact[256];
	size_t	 i, k = 0;
	int	 hidden = xmlHasProp(n, (const xmlChar *)"hidden") != NULL;

	if (!hidden && (v = xmlGetProp(n, (const xmlChar *)"aria-hidden")) !=
	    NULL) {
		hidden = strcasecmp((const char *)v, "true") == 0;
		xmlFree(v);
	}
	if (!hidden && (v = xmlGetProp(n, (const xmlChar *)"style")) != NULL) {
		for (i = 0; v[i] != '\0' && k + 1 < sizeof compact; i++)
			if (v[i] != ' ' && v[i] != '\t' && v[i] != '\n' &&
			    v[i] != '\r')
				compact[k++] = (char)v[i];
		compact[k] = '\0';
		hidden = strcasestr(compact, "display:none") != NULL ||
		    strcasestr(compact, "visibility:hidden") != NULL;
		xmlFree(v);
	}
	return hidden;
}

/* Ask for n line breaks (2: a blank line) before the next word. */
static void
pt_break(struct pt *p, int n)
{
	if (p->out.len == 0)
		return;		/* nothing above to separate from */
	if (n > p->breaks)
		p->breaks = n;
	p->space = 0;
}

/* Characters in n bytes of UTF-8. */
static size_t
pt_width(const char *s, size_t n)
{
	size_t	 i, w = 0;

	for (i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			w++;
	return w;
}

/* Write one word, after the separator it is owed. */
static void
pt_word(struct pt *p, const char *s, size_t n)
{
	size_t	 w = pt_width(s, n);

	if (n == 0)
		return;
	if (p->breaks > 0) {
		buf_add(&p->out, "\n\n", (size_t)p->breaks);
		p->col = 0;
	} else if (p->space && p->col > 0) {
		if (p->col + 1 + w > PLAINTEXT_WIDTH) {
			buf_addc(&p->out, '\n');
			p->col = 0;
		} else {
			buf_addc(&p->out, ' ');
			p->col++;
		}
	}
	buf_add(&p->out, s, n);
	p->col += w;
	p->breaks = 0;
	p->space = 0;
}

/* The length of a separator (white space, or a character that only
 * pads or joins) at s, or 0. */
static size_t
pt_sep(const unsigned char *s)
{
	if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f')
		return 1;
	if (s[0] == 0xc2 && (s[1] == 0xa0 || s[1] == 0xad))
		return 2;		/* no-break space, soft hyphen */
	if (s[0] == 0xcd && s[1] == 0x8f)
		return 2;		/* combining grapheme joiner */
	if (s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x8b && s[2] <= 0x8d)
		return 3;		/* zero-width space and joiners */
	if (s[0] == 0xef && s[1] == 0xbb && s[2] == 0xbf)
		return 3;		/* BOM, zero-width no-break space */
	return 0;
}

/* A text node: words and the spaces between them. */
static void
pt_text(struct pt *p, const char *s)
{
	const char	*w;
	size_t		 n;

	if (p->pre) {
		for (w = s; *w != '\0'; w++) {
			if (*w == '\n') {
				buf_addc(&p->out, '\n');
				p->col = 0;
			} else if (*w != '\r')
				pt_word(p, w, 1);
		}
		return;
	}
	while (*s != '\0') {
		if ((n = pt_sep((const unsigned char *)s)) > 0) {
			/* Only real white space separates words. */
			if (n == 1 || ((const unsigned char *)s)[1] == 0xa0)
				p->space = 1;
			s += n;
			continue;
		}
		for (w = s; *s != '\0' && pt_sep((const unsigned char *)s) ==
		    0; s++)
			;
		pt_word(p, w, (size_t)(s - w));
	}
}

static void	pt_walk(struct pt *, xmlNode *, int);

/* Whether an href is worth showing after its link's text. */
static int
pt_shown_href(const char *h)
{
	return h[0] != '\0' && h[0] != '#' && strncasecmp(h, "javascript:",
	    11) != 0;
}

/* A link: its text, then its address unless the text already is it. */
static void
pt_link(struct pt *p, xmlNode *n, int depth)
{
	xmlChar		*href = xmlGetProp(n, (const xmlChar *)"href");
	size_t		 start = p->out.len, len;
	const char	*h;

	pt_walk(p, n->children, depth + 1);
	if (href == NULL)
		return;
	h = (const char *)href;
	while (*h == ' ' || *h == '\t' || *h == '\n' || *h == '\r')
		h++;
	len = strcspn(h, " \t\r\n");
	if (pt_shown_href(h) && !(p->out.len - start >= len &&
	    memcmp(p->out.data + p->out.len - len, h, len) == 0)) {
		p->space = p->out.len > start;
		pt_word(p, "(", 1);
		buf_add(&p->out, h, len);
		buf_addc(&p->out, ')');
		p->col += pt_width(h, len) + 1;
	}
	xmlFree(href);
}

/* An element: its separators, its own rendering, its children. */
static void
pt_element(struct pt *p, xmlNode *n, int depth)
{
	enum pt_kind	 k = pt_kind(n);
	xmlChar		*alt;

	if (k == PT_SKIP || pt_hidden(n))
		return;
	if (strcasecmp((const char *)n->name, "br") == 0) {
		if (p->out.len > 0)
			p->breaks = p->breaks < 2 ? p->breaks + 1 : 2;
		return;
	}
	if (strcasecmp((const char *)n->name, "hr") == 0) {
		pt_break(p, 2);
		pt_word(p, "----", 4);
		pt_break(p, 2);
		return;
	}
	if (strcasecmp((const char *)n->name, "img") == 0) {
		if ((alt = xmlGetProp(n, (const xmlChar *)"alt")) != NULL) {
			pt_text(p, (const char *)alt);
			xmlFree(alt);
		}
		return;
	}
	if (k != PT_INLINE)
		pt_break(p, k == PT_PARA ? 2 : 1);
	if (strcasecmp((const char *)n->name, "li") == 0) {
		pt_word(p, "-", 1);
		p->space = 1;
	}
	if (strcasecmp((const char *)n->name, "pre") == 0)
		p->pre++;
	if (strcasecmp((const char *)n->name, "a") == 0)
		pt_link(p, n, depth);
	else
		pt_walk(p, n->children, depth + 1);
	if (strcasecmp((const char *)n->name, "pre") == 0)
		p->pre--;
	if (k != PT_INLINE)
		pt_break(p, k == PT_PARA ? 2 : 1);
}

/* Every node from n on, and what they hold. */
static void
pt_walk(struct pt *p, xmlNode *n, int depth)
{
	/* libxml2 caps the tree's depth already; this is a second fence. */
	if (depth > 1024)
		return;
	for (; n != NULL; n = n->next) {
		if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
			pt_text(p, (const char *)n->content);
		else if (n->type == XML_ELEMENT_NODE)
			pt_element(p, n, depth);
	}
}

char *
plaintext_from_html(const char *html, size_t len, size_t *outlen,
    char **cause)
{
	htmlParserCtxtPtr	 ctxt;
	htmlDocPtr		 doc;
	struct pt		 p;

	xmlInitParser();
	if (len > INT32_MAX || (ctxt = htmlNewParserCtxt()) == NULL) {
		set_cause(cause, "cannot start the HTML parser");
		return NULL;
	}
	doc = htmlCtxtReadMemory(ctxt, html, (int)len, NULL, "UTF-8",
	    PLAINTEXT_PARSE_OPTIONS);
	htmlFreeParserCtxt(ctxt);
	memset(&p, 0, sizeof p);
	buf_init(&p.out);
	if (doc != NULL) {
		pt_walk(&p, xmlDocGetRootElement(doc), 0);
		xmlFreeDoc(doc);
	}
	if (p.out.len > 0)
		buf_addc(&p.out, '\n');
	return buf_steal(&p.out, outlen);
}
