/*
 * campaign.c: reading campaign documents with libxml2: xmlTextReader for
 * the checks of pass one, the SAX parser for pass two's walk.
 *
 * <campaign id="..." list="...">
 *   <from name="...">addr</from> <reply-to>addr</reply-to>
 *   <subject>...</subject> <send-after>T</send-after> <expires>T</expires>
 *   <text>...</text> <html>...</html>
 *   <recipients> <to name="..." tz="Zone/Name">addr</to> ... </recipients>
 * </campaign>
 */
#include <ctype.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/xmlreader.h>

#include "addr.h"
#include "campaign.h"
#include "quiet.h"
#include "text.h"
#include "util.h"

#define CAMPAIGN_MAX_PROBLEMS	20
#define CAMPAIGN_CHUNK		(64 * 1024)	/* pass two's parse step */

/* The document's bytes, in pieces, as libxml2 reads them. */
struct campaign_src {
	const struct iovec	*iov;
	size_t			 niov;
	size_t			 i;	/* the piece being read */
	size_t			 off;	/* and how far */
};

/* A recipient found by pass two's parser, not handed out yet. */
struct campaign_found {
	size_t		 addr;		/* offsets into the strings */
	size_t		 addrlen;
	size_t		 name;		/* SIZE_MAX: none */
	size_t		 tz;		/* SIZE_MAX: none */
	unsigned	 line;
};

/*
 * Pass two drives libxml2's SAX parser a chunk at a time (no tree is
 * built, which halves the cost of the walk) and hands out what each
 * chunk held.
 */
struct campaign_rcpts {
	struct iovec		 one;	/* campaign_rcpt_open()'s buffer */
	struct campaign_src	 src;
	xmlParserCtxtPtr	 ctxt;
	int			 depth;	/* elements open */
	int			 in_recipients;
	int			 in_to;
	int			 done;	/* the parser has stopped */
	struct buf		 text;	/* the open <to>'s text */
	struct buf		 name;	/* and name attribute */
	int			 has_name;
	struct buf		 tz;	/* and tz attribute */
	int			 has_tz;
	unsigned		 line;
	struct buf		 strings;
	struct campaign_found	*found;
	size_t			 nfound;
	size_t			 capfound;
	size_t			 next;	/* the next of found to hand out */
	struct campaign_ahead	*ahead;	/* NULL: parsed as it is read */
};

/*
 * campaign_rcpt_open_ahead(): the parse runs on a thread of its own and
 * hands over each chunk's recipients (their strings and offsets, the
 * buffers swapped, not copied) through a ring of a few batches.
 */
#define CAMPAIGN_AHEAD_DEPTH	4

struct campaign_batch {
	struct buf		 strings;
	struct campaign_found	*found;
	size_t			 nfound;
	size_t			 capfound;
};

struct campaign_ahead {
	struct campaign_rcpts	*it;	/* the parser, the thread's own */
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct campaign_batch	 ring[CAMPAIGN_AHEAD_DEPTH];
	size_t			 head;	/* the batch being handed out */
	size_t			 count;	/* batches filled, head's included */
	int			 holding;	/* the reader is on head */
	size_t			 pos;	/* and its next recipient */
	int			 done;	/* the thread has no more */
	int			 stop;	/* the reader wants no more */
};

static void	campaign_ahead_free(struct campaign_ahead *, int);

/* The first XML error the parser reports, with its position. */
struct campaign_xmlerr {
	int	 set;
	int	 line;
	int	 column;
	char	 msg[256];
};

/* Remember the first error from libxml2. */
static void
campaign_xml_error(void *arg, xmlErrorPtr e)
{
	struct campaign_xmlerr	*x = arg;
	size_t			 n;

	if (x == NULL || x->set || e == NULL)
		return;
	if (e->level < XML_ERR_ERROR)
		return;
	x->set = 1;
	x->line = e->line;
	x->column = e->int2;
	snprintf(x->msg, sizeof x->msg, "%s", e->message != NULL ?
	    e->message : "malformed XML");
	n = strlen(x->msg);
	while (n > 0 && (x->msg[n - 1] == '\n' || x->msg[n - 1] == ' '))
		x->msg[--n] = '\0';
}

static void
campaign_problem(struct campaign_error *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Add a problem to the error (bounded, so a broken file stays short). */
static void
campaign_problem(struct campaign_error *err, int status, const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	if (err->status == 0 || status == 400 || (status == 413 &&
	    err->status == 422))
		err->status = status;
	if (err->nproblems >= CAMPAIGN_MAX_PROBLEMS)
		return;
	va_start(ap, fmt);
	xvasprintf(&p, fmt, ap);
	va_end(ap);
	err->problems = xreallocarray(err->problems, err->nproblems + 1,
	    sizeof *err->problems);
	err->problems[err->nproblems++] = p;
}

/* Free the problems and clear the error. */
void
campaign_error_free(struct campaign_error *err)
{
	size_t	 i;

	for (i = 0; i < err->nproblems; i++)
		free(err->problems[i]);
	free(err->problems);
	memset(err, 0, sizeof *err);
}

/* Free a campaign and its strings (NULL is fine). */
void
campaign_free(struct campaign *c)
{
	if (c == NULL)
		return;
	free(c->id);
	free(c->list);
	free(c->from_addr);
	free(c->from_name);
	free(c->reply_to);
	free(c->subject);
	free(c->text);
	free(c->html);
	free(c);
}

/* libxml2's read callback: copy the next bytes of the pieces. */
static int
campaign_src_read(void *arg, char *out, int len)
{
	struct campaign_src	*src = arg;
	size_t			 n = 0, want = len > 0 ? (size_t)len : 0, take;

	while (n < want && src->i < src->niov) {
		take = src->iov[src->i].iov_len - src->off;
		if (take > want - n)
			take = want - n;
		memcpy(out + n, (const char *)src->iov[src->i].iov_base +
		    src->off, take);
		n += take;
		src->off += take;
		if (src->off == src->iov[src->i].iov_len) {
			src->i++;
			src->off = 0;
		}
	}
	return (int)n;
}

/*
 * A reader over the document's pieces (the daemon's request buffer need
 * not be made contiguous) that never touches the network or a DTD.
 */
static xmlTextReaderPtr
campaign_reader(struct campaign_src *src, const struct iovec *iov,
    size_t niov, struct campaign_xmlerr *x)
{
	xmlTextReaderPtr	 r;
	size_t			 i, len = 0;

	for (i = 0; i < niov; i++)
		len += iov[i].iov_len;
	if (len > INT32_MAX)
		return NULL;
	memset(src, 0, sizeof *src);
	src->iov = iov;
	src->niov = niov;
	r = xmlReaderForIO(campaign_src_read, NULL, src, NULL, NULL,
	    XML_PARSE_NONET | XML_PARSE_BIG_LINES);
	if (r != NULL)
		xmlTextReaderSetStructuredErrorHandler(r, campaign_xml_error, x);
	return r;
}

/*
 * The line of the node the reader stands on.  The parser reads ahead of
 * the reader, so its own line number may lie several lines further on.
 */
static int
campaign_line(xmlTextReaderPtr r)
{
	xmlNodePtr	 n;
	long		 line = -1;

	if ((n = xmlTextReaderCurrentNode(r)) != NULL)
		line = xmlGetLineNo(n);
	if (line <= 0 || line > INT32_MAX)
		return xmlTextReaderGetParserLineNumber(r);
	return (int)line;
}

/*
 * Read the text content of the current element into `out`, refusing
 * child elements, and the line of its first text in *line (if not NULL;
 * 0 when empty).  Returns 0, or -1 with a problem text in *why.
 */
static int
campaign_text(xmlTextReaderPtr r, struct buf *out, int *line,
    const char **why)
{
	int		 depth, type, rv;
	const xmlChar	*v;

	/* Reserve first: a fresh buffer is NUL-terminated only by reset. */
	buf_reserve(out, 0);
	buf_reset(out);
	if (line != NULL)
		*line = 0;
	if (xmlTextReaderIsEmptyElement(r))
		return 0;
	depth = xmlTextReaderDepth(r);
	while ((rv = xmlTextReaderRead(r)) == 1) {
		type = xmlTextReaderNodeType(r);
		if (type == XML_READER_TYPE_END_ELEMENT &&
		    xmlTextReaderDepth(r) == depth)
			return 0;
		switch (type) {
		case XML_READER_TYPE_TEXT:
		case XML_READER_TYPE_CDATA:
		case XML_READER_TYPE_WHITESPACE:
		case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
			if (line != NULL && *line == 0)
				*line = campaign_line(r);
			if ((v = xmlTextReaderConstValue(r)) != NULL)
				buf_adds(out, (const char *)v);
			break;
		case XML_READER_TYPE_COMMENT:
			break;
		case XML_READER_TYPE_ENTITY_REFERENCE:
			*why = "entity references are not allowed";
			return -1;
		default:
			*why = "unexpected markup inside a text element";
			return -1;
		}
	}
	*why = NULL;	/* the XML error handler has the detail */
	return -1;
}

/* Header text: one line of UTF-8 without control characters (C0, DEL, C1). */
int
campaign_header_safe(const char *s)
{
	return text_check(s, strlen(s), TEXT_LINE, NULL) == 0;
}

/*
 * Campaign ids: 1..64 of [A-Za-z0-9._-], no "..", no dot at either end:
 * the id becomes the left part of Message-IDs, a dot-atom (RFC 5322).
 */
/* An IANA zone name's shape; whether ICU knows it is admission's worry. */
int
campaign_valid_tz(const char *s)
{
	size_t	 n = strlen(s);

	return n > 0 && n <= QUIET_ZONE_MAX && strspn(s, "abcdefghijklmnopqrstu"
	    "vwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_+-") == n;
}

int
campaign_valid_id(const char *s)
{
	size_t	 n = strlen(s), i;

	if (n < 1 || n > CAMPAIGN_ID_MAX || s[0] == '.' || s[n - 1] == '.' ||
	    strstr(s, "..") != NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}

/* Two digits at s, or -1. */
static int
campaign_2d(const char *s)
{
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/*
 * An RFC 3339 date-time of any year from 0000 to 9999 into *out (seconds
 * from the epoch, negative before 1970) and its year into *year.
 */
static int
campaign_time_any(const char *s, int64_t *out, int *year)
{
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, oh, om, sign;
	size_t		 i;

	for (i = 0; i < 4; i++)
		if (!isdigit((unsigned char)s[i]))
			return -1;
	y = atoi(s);
	if (s[4] != '-' || (mo = campaign_2d(s + 5)) < 1 || mo > 12 ||
	    s[7] != '-' || (d = campaign_2d(s + 8)) < 1 || d > 31 ||
	    (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    (h = campaign_2d(s + 11)) < 0 || h > 23 || s[13] != ':' ||
	    (mi = campaign_2d(s + 14)) < 0 || mi > 59 || s[16] != ':' ||
	    (sec = campaign_2d(s + 17)) < 0 || sec > 60)
		return -1;
	s += 19;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		while (isdigit((unsigned char)*s))
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		oh = om = 0;
		sign = 1;
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s == '-' ? -1 : 1;
		if ((oh = campaign_2d(s + 1)) < 0 || oh > 23 || s[3] != ':' ||
		    (om = campaign_2d(s + 4)) < 0 || om > 59)
			return -1;
		s += 6;
	} else
		return -1;
	if (*s != '\0')
		return -1;
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;
	/* (time_t)-1 is also 1969-12-31T23:59:59: the checks below tell. */
	*out = (int64_t)timegm(&tm) - sign * (oh * 3600 + om * 60);
	/* timegm normalises 31 February into March: refuse that. */
	if (tm.tm_mday != d || tm.tm_mon != mo - 1 || tm.tm_year != y - 1900)
		return -1;
	*year = y;
	return 0;
}

/* RFC 3339 date-time, from 1970 to 9999. */
int
campaign_parse_time(const char *s, int64_t *out)
{
	int64_t	 t;
	int	 y;

	if (campaign_time_any(s, &t, &y) == -1 || y < 1970)
		return -1;
	*out = t;
	return 0;
}

/* Take a copy of an element's text into *dst, trimmed if asked. */
static void
campaign_keep(char **dst, struct buf *text, int trim)
{
	char	*s;

	free(*dst);
	s = text->data;
	if (trim)
		s = text_trim(s);
	*dst = xstrdup(s);
}

/* The checks of the addresses and names once the document has been read. */
static void
campaign_check_people(const struct campaign *c, struct campaign_error *err)
{
	if (c->from_addr == NULL)
		campaign_problem(err, 422, "from: missing");
	else if (addr_check(c->from_addr, strlen(c->from_addr), NULL) == -1)
		campaign_problem(err, 422, "from: \"%.100s\" is not a valid "
		    "address", c->from_addr);
	if (c->from_name != NULL && (!campaign_header_safe(c->from_name) ||
	    strlen(c->from_name) > CAMPAIGN_NAME_MAX))
		campaign_problem(err, 422, "from: the name attribute must be "
		    "one line of at most %d bytes, without control characters",
		    CAMPAIGN_NAME_MAX);
	if (c->reply_to != NULL && addr_check(c->reply_to,
	    strlen(c->reply_to), NULL) == -1)
		campaign_problem(err, 422, "reply-to: \"%.100s\" is not a valid "
		    "address", c->reply_to);
}

/* The checks of the subject and bodies once the document has been read. */
static void
campaign_check_content(const struct campaign *c, struct campaign_error *err)
{
	if (c->subject == NULL || *c->subject == '\0')
		campaign_problem(err, 422, "subject: missing");
	else if (!campaign_header_safe(c->subject))
		campaign_problem(err, 422, "subject: contains a line break or "
		    "control character (header injection is refused)");
	else if (strlen(c->subject) > CAMPAIGN_SUBJECT_MAX)
		campaign_problem(err, 422, "subject: longer than %d bytes",
		    CAMPAIGN_SUBJECT_MAX);
	if ((c->text == NULL || *c->text == '\0') &&
	    (c->html == NULL || *c->html == '\0'))
		campaign_problem(err, 422, "body: missing (give <text>, <html> "
		    "or both)");
	/* XML lets DEL and C1 through; a body has no use for them. */
	if (c->text != NULL && text_check(c->text, strlen(c->text),
	    TEXT_MULTILINE, NULL) == -1)
		campaign_problem(err, 422, "text: contains a control character "
		    "other than tab and line breaks (DEL or U+0080 to U+009F)");
	if (c->html != NULL && text_check(c->html, strlen(c->html),
	    TEXT_MULTILINE, NULL) == -1)
		campaign_problem(err, 422, "html: contains a control character "
		    "other than tab and line breaks (DEL or U+0080 to U+009F)");
}

/* The checks on the header fields, whatever the recipients. */
static void
campaign_check_header(const struct campaign *c, struct campaign_error *err)
{
	if (c->id == NULL)
		campaign_problem(err, 422, "campaign: missing attribute id");
	else if (!campaign_valid_id(c->id))
		campaign_problem(err, 422, "campaign: id \"%.64s\" must be 1 "
		    "to 64 of A-Z a-z 0-9 . _ -, without \"..\" and without a "
		    "dot at either end", c->id);
	if (c->list == NULL)
		campaign_problem(err, 422, "campaign: missing attribute list "
		    "(the list's name, e.g. news.example.com)");
	else if (addr_check_hostname(c->list, strlen(c->list), NULL) == -1)
		campaign_problem(err, 422, "campaign: list \"%.100s\" must be "
		    "a domain-like name, e.g. news.example.com (it becomes "
		    "the List-Id)", c->list);
	campaign_check_people(c, err);
	campaign_check_content(c, err);
	if (c->send_after != 0 && c->expires != 0 &&
	    c->expires <= c->send_after)
		campaign_problem(err, 422, "expires: must be after send-after");
}

/* Is the header read so far complete and without a problem? */
static int
campaign_header_whole(const struct campaign *c)
{
	struct campaign_error	 e;
	int			 whole;

	memset(&e, 0, sizeof e);
	campaign_check_header(c, &e);
	whole = e.nproblems == 0;
	campaign_error_free(&e);
	return whole;
}

/* The checks of the recipients once the document has been read. */
static void
campaign_check_recipients(const struct campaign *c, int seen_recipients,
    struct campaign_error *err)
{
	if (!seen_recipients)
		campaign_problem(err, 422, "recipients: missing");
	else if (c->nrecipients == 0)
		campaign_problem(err, 422, "recipients: no <to> element");
}

/* The checks once the document has been read. */
static void
campaign_check(struct campaign *c, int seen_recipients,
    struct campaign_error *err)
{
	campaign_check_header(c, err);
	campaign_check_recipients(c, seen_recipients, err);
}

struct campaign_pass;

/* What a step of pass one tells the loop. */
enum campaign_step {
	CAMPAIGN_ON,		/* read on */
	CAMPAIGN_END,		/* the reader stopped (an XML error or the
				   end): leave the loop, look at rv */
	CAMPAIGN_FAIL,		/* refused at once (400, 413) */
	CAMPAIGN_PAUSE,		/* the header is whole: stop before the
				   recipients (campaign_read_head()) */
	CAMPAIGN_LATE		/* a header element after <recipients>
				   while the header is in use */
};

struct campaign_field;
typedef enum campaign_step (*campaign_read_fn)(struct campaign_pass *,
    const struct campaign_field *, const char *);

/* One element under <campaign>: where its value goes and who reads it. */
struct campaign_field {
	const char		*element;
	int			 singleton;	/* a second one is refused */
	int			 trim;		/* white space around it is
						   not part of the value */
	size_t			 offset;	/* of its slot in the campaign */
	campaign_read_fn	 read;
};

static enum campaign_step campaign_read_from(struct campaign_pass *,
    const struct campaign_field *, const char *);
static enum campaign_step campaign_read_string(struct campaign_pass *,
    const struct campaign_field *, const char *);
static enum campaign_step campaign_read_time(struct campaign_pass *,
    const struct campaign_field *, const char *);
static enum campaign_step campaign_read_recipients(struct campaign_pass *,
    const struct campaign_field *, const char *);

#define CAMPAIGN_SLOT(f)	offsetof(struct campaign, f)

static const struct campaign_field campaign_fields[] = {
	/* element	single	trim	slot */
	{ "from",	1,	1,	CAMPAIGN_SLOT(from_addr),
	    campaign_read_from },
	{ "reply-to",	1,	1,	CAMPAIGN_SLOT(reply_to),
	    campaign_read_string },
	{ "subject",	1,	1,	CAMPAIGN_SLOT(subject),
	    campaign_read_string },
	{ "text",	1,	0,	CAMPAIGN_SLOT(text),
	    campaign_read_string },
	{ "html",	1,	0,	CAMPAIGN_SLOT(html),
	    campaign_read_string },
	{ "send-after",	1,	1,	CAMPAIGN_SLOT(send_after),
	    campaign_read_time },
	{ "expires",	1,	1,	CAMPAIGN_SLOT(expires),
	    campaign_read_time },
	{ "recipients",	1,	0,	0,
	    campaign_read_recipients },
};

/*
 * Pass one's state: the reader, what has been kept, and where the walk
 * stands.
 */
struct campaign_pass {
	xmlTextReaderPtr	 r;
	struct campaign		*c;
	struct campaign_error	*err;
	uint64_t		 max_recipients;
	struct buf		 text;
	char			*name;		/* the last <to>'s name */
	int			 rv;		/* the reader's last answer */
	int			 moved;		/* it already stands on a node */
	int			 line;		/* of the current node */
	int			 in_rcpts;
	int			 seen_root;
	int			 seen_rcpts;
	int			 seen[nitems(campaign_fields)];	/* line of
				   each field's first element, or 0 */
	int			 split;		/* pause at <recipients> */
	int			 rest;		/* reading past the pause */
	uint64_t		 nrecipients;	/* <to> counted */
};

/* The field's slot in the campaign being read. */
static void *
campaign_slot(struct campaign_pass *p, const struct campaign_field *f)
{
	return (char *)p->c + f->offset;
}

/*
 * Read the current element's text into p->text; on a problem, record it
 * (or, without a reason, let the XML error handler's stand).
 */
static enum campaign_step
campaign_read_text(struct campaign_pass *p, const char *el, int *ok)
{
	const char	*why;

	*ok = 0;
	if (campaign_text(p->r, &p->text, NULL, &why) == -1) {
		if (why == NULL)
			return CAMPAIGN_END;
		campaign_problem(p->err, 422, "line %d: <%s>: %s", p->line, el,
		    why);
		return CAMPAIGN_ON;
	}
	*ok = 1;
	return CAMPAIGN_ON;
}

/* <from name="...">address</from> */
static enum campaign_step
campaign_read_from(struct campaign_pass *p, const struct campaign_field *f,
    const char *el)
{
	xmlChar	*a;

	if ((a = xmlTextReaderGetAttribute(p->r, BAD_CAST "name"))) {
		free(p->c->from_name);
		p->c->from_name = xstrdup((const char *)a);
		xmlFree(a);
	}
	return campaign_read_string(p, f, el);
}

/* A text value, trimmed or verbatim as its row says (checked at the end). */
static enum campaign_step
campaign_read_string(struct campaign_pass *p, const struct campaign_field *f,
    const char *el)
{
	enum campaign_step	 step;
	int			 ok;

	if ((step = campaign_read_text(p, el, &ok)) == CAMPAIGN_ON && ok)
		campaign_keep(campaign_slot(p, f), &p->text, f->trim);
	return step;
}

/* An RFC 3339 time after the epoch (0 in the slot means "not given"). */
static enum campaign_step
campaign_read_time(struct campaign_pass *p, const struct campaign_field *f,
    const char *el)
{
	enum campaign_step	 step;
	int64_t			*t = campaign_slot(p, f), any;
	int			 ok, year;
	char			*s;

	if ((step = campaign_read_text(p, el, &ok)) != CAMPAIGN_ON || !ok)
		return step;
	s = text_trim(p->text.data);
	if (campaign_time_any(s, &any, &year) == -1)
		campaign_problem(p->err, 422, "line %d: <%s>: \"%.40s\" is not "
		    "an RFC 3339 time such as 2026-11-23T09:00:00Z", p->line,
		    el, s);
	else if (year < 1970 || any <= 0)
		campaign_problem(p->err, 422, "line %d: <%s>: \"%.40s\" is in "
		    "the past", p->line, el, s);
	else
		*t = any;
	return CAMPAIGN_ON;
}

/* <recipients>: its <to> children are read as the walk reaches them. */
static enum campaign_step
campaign_read_recipients(struct campaign_pass *p,
    const struct campaign_field *f, const char *el)
{
	(void)f;
	(void)el;
	p->seen_rcpts = 1;
	if (!xmlTextReaderIsEmptyElement(p->r))
		p->in_rcpts = 1;
	/* Only a header with nothing to say against it is handed out. */
	if (p->split && p->err->nproblems == 0 && campaign_header_whole(p->c))
		return CAMPAIGN_PAUSE;
	return CAMPAIGN_ON;
}

/* Skip the current element and what it holds. */
static enum campaign_step
campaign_skip(struct campaign_pass *p)
{
	if ((p->rv = xmlTextReaderNext(p->r)) != 1)
		return CAMPAIGN_END;
	p->moved = 1;
	return CAMPAIGN_ON;
}

/* An element directly under <campaign>: find its row and read it. */
static enum campaign_step
campaign_field(struct campaign_pass *p, const char *el)
{
	const struct campaign_field *f;
	size_t			 i;
	int			 ok;
	enum campaign_step	 step;

	for (i = 0; i < nitems(campaign_fields); i++)
		if (strcmp(el, campaign_fields[i].element) == 0)
			break;
	if (i == nitems(campaign_fields)) {
		/* Read it first: markup inside is the better complaint. */
		if ((step = campaign_read_text(p, el, &ok)) == CAMPAIGN_ON &&
		    ok)
			campaign_problem(p->err, 422, "line %d: unknown "
			    "element <%.40s>", p->line, el);
		return step;
	}
	f = &campaign_fields[i];
	/* The header is being used already: it must not change now. */
	if (p->rest)
		return CAMPAIGN_LATE;
	if (f->singleton && p->seen[i] != 0) {
		/* Last-one-wins would let a second <from> pick the sender. */
		campaign_problem(p->err, 422, "line %d: a second <%s> (the "
		    "first is on line %d)", p->line, el, p->seen[i]);
		return campaign_skip(p);
	}
	p->seen[i] = p->line > 0 ? p->line : 1;
	return f->read(p, f, el);
}

/* The root element: <campaign id="..." list="...">. */
static enum campaign_step
campaign_root(struct campaign_pass *p, const char *el)
{
	xmlChar	*a;

	if (strcmp(el, "campaign") != 0) {
		campaign_problem(p->err, 422, "line %d: the root element must "
		    "be <campaign>, not <%.40s>", p->line, el);
		return CAMPAIGN_FAIL;
	}
	p->seen_root = 1;
	if ((a = xmlTextReaderGetAttribute(p->r, BAD_CAST "id"))) {
		p->c->id = xstrdup((const char *)a);
		xmlFree(a);
	}
	if ((a = xmlTextReaderGetAttribute(p->r, BAD_CAST "list"))) {
		p->c->list = xstrtolower((const char *)a);
		xmlFree(a);
	}
	return CAMPAIGN_ON;
}

/* A <to>'s tz attribute: absent, empty, or shaped like a zone name. */
static void
campaign_check_tz(struct campaign_pass *p)
{
	const xmlChar	*tz;

	/* Read in place: a million recipients, no copy each. */
	if (xmlTextReaderMoveToAttribute(p->r, BAD_CAST "tz") != 1)
		return;
	tz = xmlTextReaderConstValue(p->r);
	if (tz != NULL && *tz != '\0' && !campaign_valid_tz((const char *)tz))
		campaign_problem(p->err, 422, "line %d: <to> tz must be an IANA "
		    "time zone name (e.g. Asia/Tokyo): 1 to %d of A-Z a-z 0-9 "
		    "/ _ + -", p->line, QUIET_ZONE_MAX);
	xmlTextReaderMoveToElement(p->r);
}

/* An element inside <recipients>: a <to>, counted and checked. */
static enum campaign_step
campaign_to(struct campaign_pass *p, const char *el)
{
	const char	*why;
	xmlChar		*n;

	if (strcmp(el, "to") != 0) {
		campaign_problem(p->err, 422, "line %d: unexpected <%.40s> in "
		    "<recipients> (want <to>)", p->line, el);
		return campaign_skip(p);
	}
	free(p->name);
	p->name = NULL;
	if ((n = xmlTextReaderGetAttribute(p->r, BAD_CAST "name")) != NULL) {
		p->name = xstrdup((const char *)n);
		xmlFree(n);
	}
	/* Before the text: the reader then stands on the <to> itself. */
	campaign_check_tz(p);
	if (campaign_text(p->r, &p->text, NULL, &why) == -1) {
		if (why == NULL)
			return CAMPAIGN_END;
		campaign_problem(p->err, 422, "line %d: <to>: %s", p->line, why);
		return CAMPAIGN_ON;
	}
	if (p->name != NULL && (!campaign_header_safe(p->name) ||
	    strlen(p->name) > CAMPAIGN_NAME_MAX))
		campaign_problem(p->err, 422, "line %d: <to> name must be one "
		    "line of at most %d bytes, without control characters "
		    "(header injection is refused)", p->line, CAMPAIGN_NAME_MAX);
	if (++p->nrecipients > p->max_recipients) {
		campaign_problem(p->err, 413, "recipients: more than "
		    "max_recipients (%llu); split the campaign",
		    (unsigned long long)p->max_recipients);
		return CAMPAIGN_FAIL;
	}
	return CAMPAIGN_ON;
}

/* One node of the document, as the reader stands on it. */
static enum campaign_step
campaign_node(struct campaign_pass *p)
{
	int		 type = xmlTextReaderNodeType(p->r);
	int		 depth = xmlTextReaderDepth(p->r);
	const char	*el;

	p->line = campaign_line(p->r);
	switch (type) {
	case XML_READER_TYPE_DOCUMENT_TYPE:
		campaign_problem(p->err, 400, "line %d: DOCTYPE is not allowed "
		    "in a campaign document", p->line);
		return CAMPAIGN_FAIL;
	case XML_READER_TYPE_END_ELEMENT:
		if (p->in_rcpts && depth == 1)
			p->in_rcpts = 0;
		return CAMPAIGN_ON;
	case XML_READER_TYPE_ENTITY_REFERENCE:
		campaign_problem(p->err, 400, "line %d: entity references are "
		    "not allowed", p->line);
		return CAMPAIGN_FAIL;
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
		campaign_problem(p->err, 422, "line %d: unexpected text "
		    "outside an element", p->line);
		return CAMPAIGN_ON;
	case XML_READER_TYPE_ELEMENT:
		break;
	default:
		return CAMPAIGN_ON;
	}
	el = (const char *)xmlTextReaderConstLocalName(p->r);
	if (depth == 0)
		return campaign_root(p, el);
	if (p->in_rcpts && depth == 2)
		return campaign_to(p, el);
	if (depth != 1) {
		campaign_problem(p->err, 422, "line %d: unexpected <%.40s>",
		    p->line, el);
		return CAMPAIGN_ON;
	}
	return campaign_field(p, el);
}

/* The first bytes of the document (at most n), for campaign_sniff(). */
static size_t
campaign_head(const struct iovec *iov, size_t niov, char *out, size_t n)
{
	struct campaign_src	 src;

	memset(&src, 0, sizeof src);
	src.iov = iov;
	src.niov = niov;
	return (size_t)campaign_src_read(&src, out, (int)n);
}

/*
 * Name the real problem of a body that is not an XML document at all
 * (libxml2 calls each of them "Document is empty" or "Extra content"):
 * nothing, only white space, JSON, or binary bytes.
 */
static int
campaign_sniff(const struct iovec *iov, size_t niov,
    struct campaign_error *err)
{
	char		 head[256];
	size_t		 n, i = 0, total = 0, k;
	const char	*why;

	for (k = 0; k < niov; k++)
		total += iov[k].iov_len;
	n = campaign_head(iov, niov, head, sizeof head);
	if (n >= 3 && memcmp(head, "\xef\xbb\xbf", 3) == 0)
		i = 3;		/* a UTF-8 byte order mark */
	while (i < n && isspace((unsigned char)head[i]))
		i++;
	if (total == 0 || (i == n && n == total)) {
		campaign_problem(err, 400, "document: the body is empty (want "
		    "a <campaign> document)");
		return -1;
	}
	if (i < n && (head[i] == '{' || head[i] == '[')) {
		campaign_problem(err, 400, "not an XML campaign document: it "
		    "looks like JSON (send the campaign as XML)");
		return -1;
	}
	/* UTF-16 (with a byte order mark or "<" beside a NUL) is libxml2's
	   to read: its NUL bytes are not binary data. */
	if (n >= 2 && (memcmp(head, "\xfe\xff", 2) == 0 ||
	    memcmp(head, "\xff\xfe", 2) == 0 || (head[0] == '<' &&
	    head[1] == '\0') || (head[0] == '\0' && head[1] == '<')))
		return 0;
	/* A cut UTF-8 sequence at the end of head is not binary. */
	while (n > i && ((unsigned char)head[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > i && ((unsigned char)head[n - 1] & 0xc0) == 0xc0)
		n--;
	if (text_check(head + i, n - i, TEXT_MULTILINE, &why) == -1 &&
	    head[i] != '<') {
		campaign_problem(err, 400, "not an XML campaign document: it "
		    "starts with binary data (%s)", why);
		return -1;
	}
	return 0;
}

/*
 * Does the document hold markup but no element: after white space, a '<'
 * and then no '<' that opens a tag?  (libxml2 calls that "Extra content
 * at the end of the document".)
 */
static int
campaign_prolog_only(const struct iovec *iov, size_t niov)
{
	const unsigned char *s;
	size_t		 k, j;
	int		 lt = 0, started = 0;

	for (k = 0; k < niov; k++) {
		s = iov[k].iov_base;
		for (j = 0; j < iov[k].iov_len; j++) {
			if (s[j] == '\0')
				return 0;	/* UTF-16: libxml2's to judge */
			if (!started) {
				if (isspace(s[j]) || s[j] == 0xef ||
				    s[j] == 0xbb || s[j] == 0xbf)
					continue;	/* space, a BOM */
				if (s[j] != '<')
					return 0;
				started = 1;
			}
			if (lt && (isalpha(s[j]) || s[j] == '_' ||
			    s[j] == ':' || s[j] >= 0x80))
				return 0;
			lt = s[j] == '<';
		}
	}
	return started;
}

/* Pass one: check the whole document and keep its header. */
int
campaign_parse(const char *buf, size_t len, uint64_t max_recipients,
    struct campaign **out, struct campaign_error *err)
{
	struct iovec	 iov = { (void *)buf, len };

	return campaign_parse_iov(&iov, 1, max_recipients, out, err);
}

/* Pass one, stopped or not: the reader, its source and its errors. */
struct campaign_reading {
	struct campaign_src	 src;
	struct campaign_xmlerr	 x;
	struct campaign_pass	 p;
	const struct iovec	*iov;
	size_t			 niov;
};

void
campaign_reading_free(struct campaign_reading *rd)
{
	if (rd == NULL)
		return;
	xmlFreeTextReader(rd->p.r);
	buf_free(&rd->p.text);
	free(rd->p.name);
	/* Past the pause, the campaign belongs to the header's user. */
	if (!rd->p.rest)
		campaign_free(rd->p.c);
	free(rd);
}

/* Walk on node by node, until the end or a step that stops the walk. */
static enum campaign_step
campaign_walk(struct campaign_pass *p)
{
	enum campaign_step	 step = CAMPAIGN_ON;

	/* After xmlTextReaderNext() the reader already stands on a node. */
	while (p->moved || (p->rv = xmlTextReaderRead(p->r)) == 1) {
		p->moved = 0;
		if ((step = campaign_node(p)) != CAMPAIGN_ON)
			break;
	}
	return step;
}

/* The walk has ended: 0 with the document checked, or -1 with err. */
static int
campaign_walked(struct campaign_reading *rd, enum campaign_step step)
{
	struct campaign_pass	*p = &rd->p;

	if (step == CAMPAIGN_FAIL)
		return -1;
	if (!p->seen_root && campaign_prolog_only(rd->iov, rd->niov)) {
		campaign_problem(p->err, 400, "document: no <campaign> element, "
		    "only a prolog (XML declaration, comments or processing "
		    "instructions)");
		return -1;
	}
	if (p->rv == -1 || rd->x.set) {
		campaign_problem(p->err, 400, "malformed XML at line %d, column "
		    "%d: %s", rd->x.line, rd->x.column, rd->x.set ? rd->x.msg :
		    "parse error");
		return -1;
	}
	if (!p->seen_root) {
		campaign_problem(p->err, 400, "document: empty (want a "
		    "<campaign> element)");
		return -1;
	}
	p->c->nrecipients = p->nrecipients;
	/*
	 * Past the pause the header was checked already, and is being used
	 * on another thread (which may set a default expiry): only the
	 * recipients are left to check, and the header is not read.
	 */
	if (p->rest)
		campaign_check_recipients(p->c, p->seen_rcpts, p->err);
	else
		campaign_check(p->c, p->seen_rcpts, p->err);
	return p->err->nproblems != 0 ? -1 : 0;
}

/*
 * Pass one's first half: read the header.  0 with *rest set: the header
 * came whole before <recipients> and is in *out; the recipients are for
 * campaign_read_rest().  0 with *rest NULL: the whole document was read
 * and checked (its header was not whole before <recipients>, or split
 * was not asked for).  -1: refused, with err.
 */
int
campaign_read_head(const struct iovec *iov, size_t niov,
    uint64_t max_recipients, int split, struct campaign **out,
    struct campaign_reading **rest, struct campaign_error *err)
{
	struct campaign_reading	*rd;
	enum campaign_step	 step;
	int			 rc;

	*out = NULL;
	*rest = NULL;
	memset(err, 0, sizeof *err);
	if (campaign_sniff(iov, niov, err) == -1)
		return -1;
	rd = xcalloc(1, sizeof *rd);
	rd->iov = iov;
	rd->niov = niov;
	if ((rd->p.r = campaign_reader(&rd->src, iov, niov, &rd->x)) == NULL) {
		free(rd);
		campaign_problem(err, 400, "document: cannot be read as XML");
		return -1;
	}
	rd->p.c = xcalloc(1, sizeof *rd->p.c);
	rd->p.err = err;
	rd->p.max_recipients = max_recipients;
	rd->p.split = split;
	buf_init(&rd->p.text);
	if ((step = campaign_walk(&rd->p)) == CAMPAIGN_PAUSE) {
		*out = rd->p.c;
		rd->p.rest = 1;
		*rest = rd;
		return 0;
	}
	if ((rc = campaign_walked(rd, step)) == 0) {
		*out = rd->p.c;
		rd->p.c = NULL;
	}
	campaign_reading_free(rd);
	return rc;
}

/*
 * Pass one's second half, perhaps on another thread than the one using
 * the header (which it leaves alone): 0, the document is good; -1,
 * refused, with err; CAMPAIGN_LATE_HEADER, a header element follows
 * <recipients>, so the header in use was not the whole one: read the
 * document again with campaign_parse_iov().  The reading is freed, but
 * not the campaign, which the header's user owns.
 */
int
campaign_read_rest(struct campaign_reading *rd, struct campaign_error *err)
{
	enum campaign_step	 step;
	int			 rc;

	memset(err, 0, sizeof *err);
	rd->p.err = err;
	if ((step = campaign_walk(&rd->p)) == CAMPAIGN_LATE)
		rc = CAMPAIGN_LATE_HEADER;
	else
		rc = campaign_walked(rd, step);
	campaign_reading_free(rd);
	return rc;
}

/* Pass one over a document in pieces: walk it node by node. */
int
campaign_parse_iov(const struct iovec *iov, size_t niov,
    uint64_t max_recipients, struct campaign **out,
    struct campaign_error *err)
{
	struct campaign_reading	*rest;

	return campaign_read_head(iov, niov, max_recipients, 0, out, &rest,
	    err);
}

/*
 * Pass two: a cursor over the recipients of a checked document.  It
 * yields what the first pass counted: each <to> directly inside the
 * <recipients> under the root, its text trimmed, its name attribute.
 * Markup inside a <to> (which the first pass refuses) ends the walk.
 */

/* Stop the walk: the first pass would have refused what follows. */
static void
campaign_sax_stop(struct campaign_rcpts *it)
{
	it->in_to = 0;
	it->done = 1;
	xmlStopParser(it->ctxt);
}

/*
 * An attribute value as SAX2 gives it, with the one reference it keeps
 * undone: without entity substitution, '&' stays as "&#38;".
 */
static void
campaign_sax_attr(struct buf *b, const char *v, const char *end)
{
	const char	*amp;

	while ((amp = memchr(v, '&', (size_t)(end - v))) != NULL) {
		buf_add(b, v, (size_t)(amp - v));
		buf_addc(b, '&');
		v = amp + 1;
		if (end - v >= 4 && memcmp(v, "#38;", 4) == 0)
			v += 4;
	}
	buf_add(b, v, (size_t)(end - v));
}

/* SAX: an element opens; a <to> in <recipients> starts a recipient. */
static void
campaign_sax_start(void *arg, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri, int nns, const xmlChar **ns, int nattr,
    int ndefaulted, const xmlChar **attr)
{
	struct campaign_rcpts	*it = arg;
	int			 depth = it->depth++, i;

	(void)prefix;
	(void)uri;
	(void)nns;
	(void)ns;
	(void)ndefaulted;
	if (it->in_to) {
		campaign_sax_stop(it);
		return;
	}
	if (depth == 1 && strcmp((const char *)local, "recipients") == 0) {
		it->in_recipients = 1;
		return;
	}
	if (depth != 2 || !it->in_recipients ||
	    strcmp((const char *)local, "to") != 0)
		return;
	it->in_to = 1;
	it->line = (unsigned)it->ctxt->input->line;
	buf_reset(&it->text);
	buf_reset(&it->name);
	buf_reset(&it->tz);
	it->has_name = it->has_tz = 0;
	for (i = 0; i < nattr; i++, attr += 5) {
		if (attr[1] != NULL)
			continue;
		if (strcmp((const char *)attr[0], "name") == 0) {
			campaign_sax_attr(&it->name, (const char *)attr[3],
			    (const char *)attr[4]);
			it->has_name = 1;
		} else if (strcmp((const char *)attr[0], "tz") == 0 &&
		    attr[4] > attr[3]) {
			/* Pass one checked its characters: no reference. */
			buf_add(&it->tz, attr[3], (size_t)(attr[4] - attr[3]));
			it->has_tz = 1;
		}
	}
}

/* SAX: an element closes; a <to> becomes a found recipient. */
static void
campaign_sax_end(void *arg, const xmlChar *local, const xmlChar *prefix,
    const xmlChar *uri)
{
	struct campaign_rcpts	*it = arg;
	struct campaign_found	*f;
	const char		*a = it->text.data;
	size_t			 n = it->text.len;

	(void)local;
	(void)prefix;
	(void)uri;
	if (--it->depth == 1)
		it->in_recipients = 0;
	if (it->depth != 2 || !it->in_to)
		return;
	it->in_to = 0;
	if (it->nfound == it->capfound) {
		it->capfound = it->capfound == 0 ? 256 : it->capfound * 2;
		it->found = xreallocarray(it->found, it->capfound,
		    sizeof *it->found);
	}
	f = &it->found[it->nfound++];
	text_trim_span(&a, &n);
	f->addr = it->strings.len;
	f->addrlen = n;
	f->line = it->line;
	buf_add(&it->strings, a, n);
	buf_addc(&it->strings, '\0');
	f->name = SIZE_MAX;
	if (it->has_name) {
		f->name = it->strings.len;
		buf_add(&it->strings, it->name.data, it->name.len);
		buf_addc(&it->strings, '\0');
	}
	f->tz = SIZE_MAX;
	if (it->has_tz) {
		f->tz = it->strings.len;
		buf_add(&it->strings, it->tz.data, it->tz.len);
		buf_addc(&it->strings, '\0');
	}
}

/* SAX: text, kept while inside a <to>. */
static void
campaign_sax_text(void *arg, const xmlChar *s, int len)
{
	struct campaign_rcpts	*it = arg;

	if (it->in_to && len > 0)
		buf_add(&it->text, s, (size_t)len);
}

/* SAX: a processing instruction inside a <to> ends the walk. */
static void
campaign_sax_pi(void *arg, const xmlChar *target, const xmlChar *data)
{
	struct campaign_rcpts	*it = arg;

	(void)target;
	(void)data;
	if (it->in_to)
		campaign_sax_stop(it);
}

/* SAX: errors are the first pass's to report; ignore them here. */
static void
campaign_sax_error(void *arg, xmlErrorPtr e)
{
	(void)arg;
	(void)e;
}

/* Set up the parser over it->src. */
static struct campaign_rcpts *
campaign_rcpt_start(struct campaign_rcpts *it)
{
	xmlSAXHandler	 sax;
	char		 head[4];
	int		 n;

	buf_init(&it->text);
	buf_init(&it->name);
	buf_init(&it->tz);
	buf_init(&it->strings);
	memset(&sax, 0, sizeof sax);
	sax.initialized = XML_SAX2_MAGIC;
	sax.startElementNs = campaign_sax_start;
	sax.endElementNs = campaign_sax_end;
	sax.characters = campaign_sax_text;
	sax.ignorableWhitespace = campaign_sax_text;
	sax.cdataBlock = campaign_sax_text;
	sax.processingInstruction = campaign_sax_pi;
	sax.serror = campaign_sax_error;
	/* The first bytes tell the parser the encoding. */
	n = campaign_src_read(&it->src, head, sizeof head);
	if ((it->ctxt = xmlCreatePushParserCtxt(&sax, it, head, n,
	    NULL)) == NULL)
		it->done = 1;
	else
		xmlCtxtUseOptions(it->ctxt, XML_PARSE_NONET);
	return it;
}

/* A cursor over the recipients of a document in pieces. */
struct campaign_rcpts *
campaign_rcpt_open_iov(const struct iovec *iov, size_t niov)
{
	struct campaign_rcpts	*it;

	it = xcalloc(1, sizeof *it);
	it->src.iov = iov;
	it->src.niov = niov;
	return campaign_rcpt_start(it);
}

/* A cursor over the recipients of one buffer. */
struct campaign_rcpts *
campaign_rcpt_open(const char *buf, size_t len)
{
	struct campaign_rcpts	*it;

	/* The bytes are read as the walk goes: the one piece lives here. */
	it = xcalloc(1, sizeof *it);
	it->one.iov_base = (void *)buf;
	it->one.iov_len = len;
	it->src.iov = &it->one;
	it->src.niov = 1;
	return campaign_rcpt_start(it);
}

/* Parse on until a chunk yields recipients (1) or the input ends (0). */
static int
campaign_rcpt_fill(struct campaign_rcpts *it)
{
	char	 chunk[CAMPAIGN_CHUNK];
	int	 n;

	while (it->next == it->nfound) {
		if (it->done)
			return 0;
		it->next = it->nfound = 0;
		buf_reset(&it->strings);
		n = campaign_src_read(&it->src, chunk, sizeof chunk);
		if (xmlParseChunk(it->ctxt, chunk, n, n == 0) != 0 || n == 0)
			it->done = 1;
	}
	return 1;
}

/* One found recipient, its strings in `strings`, as the caller sees it. */
static void
campaign_rcpt_give(const struct campaign_found *f, const char *strings,
    struct campaign_rcpt *rc)
{
	rc->addr = strings + f->addr;
	rc->addrlen = f->addrlen;
	rc->name = f->name != SIZE_MAX ? strings + f->name : NULL;
	rc->tz = f->tz != SIZE_MAX ? strings + f->tz : NULL;
	rc->line = f->line;
}

/* The read-ahead thread: parse chunk after chunk into the ring. */
static void *
campaign_ahead_main(void *arg)
{
	struct campaign_ahead	*a = arg;
	struct campaign_rcpts	*it = a->it;
	struct campaign_batch	*b, swap;

	for (;;) {
		if (!campaign_rcpt_fill(it))
			break;
		pthread_mutex_lock(&a->lock);
		while (a->count == CAMPAIGN_AHEAD_DEPTH && !a->stop)
			pthread_cond_wait(&a->cond, &a->lock);
		if (a->stop) {
			pthread_mutex_unlock(&a->lock);
			break;
		}
		b = &a->ring[(a->head + a->count) % CAMPAIGN_AHEAD_DEPTH];
		pthread_mutex_unlock(&a->lock);
		/* The slot is the thread's until it is counted: swap. */
		swap = *b;
		b->strings = it->strings;
		b->found = it->found;
		b->nfound = it->nfound;
		b->capfound = it->capfound;
		it->strings = swap.strings;
		it->found = swap.found;
		it->capfound = swap.capfound;
		it->next = it->nfound = 0;
		pthread_mutex_lock(&a->lock);
		a->count++;
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
	}
	pthread_mutex_lock(&a->lock);
	a->done = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return NULL;
}

/* The reader's side: the next recipient of the ring, waiting if need be. */
static int
campaign_ahead_next(struct campaign_ahead *a, struct campaign_rcpt *rc)
{
	struct campaign_batch	*b = &a->ring[a->head];

	if (a->holding && a->pos < b->nfound) {
		campaign_rcpt_give(&b->found[a->pos++], b->strings.data, rc);
		return 1;
	}
	pthread_mutex_lock(&a->lock);
	if (a->holding) {
		/* Done with head: its buffers go back to the thread. */
		a->holding = 0;
		a->head = (a->head + 1) % CAMPAIGN_AHEAD_DEPTH;
		a->count--;
		pthread_cond_broadcast(&a->cond);
	}
	while (a->count == 0 && !a->done)
		pthread_cond_wait(&a->cond, &a->lock);
	if (a->count == 0) {
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	a->holding = 1;
	a->pos = 0;
	pthread_mutex_unlock(&a->lock);
	b = &a->ring[a->head];
	campaign_rcpt_give(&b->found[a->pos++], b->strings.data, rc);
	return 1;
}

/*
 * A cursor like campaign_rcpt_open_iov()'s whose parsing runs ahead on
 * a thread of its own, so that the caller's thread only decides: the
 * daemon's writer admits while another core reads.  NULL if the thread
 * cannot be started (then use the plain cursor).
 */
struct campaign_rcpts *
campaign_rcpt_open_ahead(const struct iovec *iov, size_t niov)
{
	struct campaign_rcpts	*outer;
	struct campaign_ahead	*a;
	size_t			 i;

	a = xcalloc(1, sizeof *a);
	a->it = campaign_rcpt_open_iov(iov, niov);
	for (i = 0; i < CAMPAIGN_AHEAD_DEPTH; i++)
		buf_init(&a->ring[i].strings);
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	if (pthread_create(&a->thread, NULL, campaign_ahead_main, a) != 0) {
		a->done = 1;
		campaign_ahead_free(a, 0);
		return NULL;
	}
	outer = xcalloc(1, sizeof *outer);
	outer->ahead = a;
	return outer;
}

/* Stop the thread (if it runs) and free the ring and the parser. */
static void
campaign_ahead_free(struct campaign_ahead *a, int started)
{
	size_t	 i;

	if (started) {
		pthread_mutex_lock(&a->lock);
		a->stop = 1;
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		pthread_join(a->thread, NULL);
	}
	campaign_rcpt_close(a->it);
	for (i = 0; i < CAMPAIGN_AHEAD_DEPTH; i++) {
		buf_free(&a->ring[i].strings);
		free(a->ring[i].found);
	}
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* The next recipient: 1, or 0 at the end (or on an error). */
int
campaign_rcpt_next(struct campaign_rcpts *it, struct campaign_rcpt *rc)
{
	if (it->ahead != NULL)
		return campaign_ahead_next(it->ahead, rc);
	if (!campaign_rcpt_fill(it))
		return 0;
	campaign_rcpt_give(&it->found[it->next++], it->strings.data, rc);
	return 1;
}

/* Free the cursor and its parser. */
void
campaign_rcpt_close(struct campaign_rcpts *it)
{
	if (it == NULL)
		return;
	if (it->ahead != NULL)
		campaign_ahead_free(it->ahead, 1);
	if (it->ctxt != NULL) {
		/* A SAX parse keeps a DOCTYPE's declarations in a doc of its own. */
		if (it->ctxt->myDoc != NULL)
			xmlFreeDoc(it->ctxt->myDoc);
		xmlFreeParserCtxt(it->ctxt);
	}
	buf_free(&it->text);
	buf_free(&it->name);
	buf_free(&it->tz);
	buf_free(&it->strings);
	free(it->found);
	free(it);
}
