/*
 * feedback.c: classifying what comes back (see feedback.h).
 *
 * GMime parses the MIME structure and decodes the parts; the fields of
 * a message/delivery-status or message/feedback-report part (blocks of
 * "Name: value" lines, RFC 3464 section 2.1 and RFC 5965 section 3.1)
 * are read here, since GMime leaves such a part as opaque content.
 *
 * Everything read is bounded: the message's size, the containers it may
 * declare (GMime's parser recurses once per level), the parts visited,
 * the levels entered and the length of every kept value.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "feedback.h"
#include "smtp_reply.h"
#include "token.h"
#include "util.h"

/* Text read from one part, and the longest field value kept. */
#define FB_TEXT_MAX	(256 * 1024)
#define FB_VALUE_MAX	1024

/* The DSN recipient block being read, and the worst one so far. */
struct fb_dsn {
	char	 action[16];
	char	 status[16];
	char	 diag[FB_VALUE_MAX];
	char	 recipient[256];
	int	 have;			/* a recipient block was kept */
	int	 worst;			/* its fb_rank() */
};

struct fb_state {
	struct feedback			*out;
	const struct feedback_opts	*opts;
	size_t				 parts;
	int				 saw_dsn;
	int				 saw_arf;
	struct fb_dsn			 dsn;
	struct buf			 text;	/* the message's own text */
};

/* Senders and subjects of bounces in no standard form. */
static const char *fb_bounce_senders[] = { "mailer-daemon", "postmaster" };
static const char *fb_bounce_subjects[] = {
	"undeliverable", "undelivered mail", "delivery status notification",
	"failure notice", "mail delivery failed", "returned mail",
	"delivery failure", "mail delivery failure", "delivery has failed",
	"could not be delivered", "nondeliverable", "mail system error"
};
/* Subjects of vacation notices (RFC 3834 asks for Auto-Submitted, which
 * not every responder sets). */
static const char *fb_auto_subjects[] = {
	"auto:", "automatic reply", "autoreply", "auto-reply", "auto reply",
	"out of office", "out of the office", "abwesenheitsnotiz",
	"r\xc3\xa9ponse automatique", "respuesta autom\xc3\xa1tica",
	"vacation"
};
/* This message's headers that may hold the envelope recipient. */
static const char *fb_rcpt_headers[] = {
	"Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To",
	"To", "Cc"
};

static pthread_once_t	 fb_once = PTHREAD_ONCE_INIT;

/* GMime's one-time set-up (its charset tables), once per process. */
static void
fb_init(void)
{
	g_mime_init();
}

static int
fb_tokchar(int c)
{
	return isalnum(c) || c == '-' || c == '_';
}

/* Keep a candidate unless it is already there or the list is full. */
static void
fb_add_token(struct fb_state *st, enum feedback_where where,
    enum feedback_shape shape, const char *s, size_t len)
{
	struct feedback	*out = st->out;
	size_t		 i;

	if (len < FEEDBACK_TOKEN_MIN || len > FEEDBACK_TOKEN_MAX)
		return;
	for (i = 0; i < out->ntokens; i++)
		if (strlen(out->tokens[i].tok) == len &&
		    memcmp(out->tokens[i].tok, s, len) == 0)
			return;
	if (out->ntokens == FEEDBACK_MAX_TOKENS)
		return;
	out->tokens[out->ntokens].where = where;
	out->tokens[out->ntokens].shape = shape;
	memcpy(out->tokens[out->ntokens].tok, s, len);
	out->tokens[out->ntokens].tok[len] = '\0';
	out->ntokens++;
}

/* The length of the run of token characters at s (at most end). */
static size_t
fb_run(const char *s, const char *end)
{
	const char	*p = s;

	while (p < end && fb_tokchar((unsigned char)*p))
		p++;
	return (size_t)(p - s);
}

/*
 * Collect the token candidates in len bytes of s: +TOKEN@ (a return
 * path), /u/TOKEN (an unsubscribe link) and, in this message's own
 * subject and text, a token alone (a mailto: unsubscribe's subject).
 */
static void
fb_scan(struct fb_state *st, const char *s, size_t len,
    enum feedback_where where)
{
	const char	*p = s, *end = s + len;
	size_t		 n;
	int		 bare = where == FEEDBACK_AT_SUBJECT ||
			    where == FEEDBACK_AT_BODY;

	if (len == 0)
		return;		/* an empty part's data may be NULL */
	while (p < end) {
		if (*p == '+' && (n = fb_run(p + 1, end)) > 0 &&
		    p + 1 + n < end && p[1 + n] == '@') {
			fb_add_token(st, where, FEEDBACK_VERP, p + 1, n);
			p += 1 + n;
		} else if (end - p > 3 && memcmp(p, "/u/", 3) == 0 &&
		    (n = fb_run(p + 3, end)) > 0) {
			fb_add_token(st, where, FEEDBACK_LINK, p + 3, n);
			p += 3 + n;
		} else if (fb_tokchar((unsigned char)*p)) {
			n = fb_run(p, end);
			if (bare && n == TOKEN_LEN &&
			    (p == s || !fb_tokchar((unsigned char)p[-1])))
				fb_add_token(st, where, FEEDBACK_BARE, p, n);
			p += n;
		} else
			p++;
	}
}

/* Copy s into out as one printable ASCII line, whitespace folded. */
static void
fb_line(char *out, size_t outsz, const char *s)
{
	size_t	 n = 0;
	int	 space = 0;

	for (; *s != '\0' && n + 1 < outsz; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c >= 0x7f) {
			space = n > 0;
			continue;
		}
		if (space && n + 2 < outsz)
			out[n++] = ' ';
		space = 0;
		out[n++] = (char)c;
	}
	out[n] = '\0';
}

/* Lower-case copy of s's first word into out (truncated): printable
 * ASCII only, ending at the first other byte or ';'. */
static void
fb_word(char *out, size_t outsz, const char *s)
{
	size_t	 n = 0;

	while (*s == ' ' || *s == '\t')
		s++;
	while (*s > ' ' && *s < 0x7f && *s != ';' && n + 1 < outsz)
		out[n++] = (char)tolower((unsigned char)*s++);
	out[n] = '\0';
}

/* The length of an RFC 3463 status code ("5.1.1", "4.4.10") at s, or 0. */
static size_t
fb_status_len(const char *s)
{
	size_t	 n = 2, k;

	if ((s[0] != '2' && s[0] != '4' && s[0] != '5') || s[1] != '.')
		return 0;
	for (k = 0; k < 2; k++) {
		if (!isdigit((unsigned char)s[n]))
			return 0;
		while (isdigit((unsigned char)s[n]) && n < 10)
			n++;
		if (k == 0 && s[n++] != '.')
			return 0;
	}
	return isdigit((unsigned char)s[n]) || s[n] == '.' ? 0 : n;
}

/* A Status field's code, or "" if it holds none. */
static void
fb_status(char *out, size_t outsz, const char *v)
{
	size_t	 n;

	while (*v == ' ' || *v == '\t')
		v++;
	n = fb_status_len(v);
	snprintf(out, outsz, "%.*s", (int)n, v);
}

/* The address of an "rfc822; addr" field value (RFC 3464 2.3.2). */
static void
fb_address(char *out, size_t outsz, const char *v)
{
	const char	*semi = strchr(v, ';');

	fb_line(out, outsz, semi != NULL ? semi + 1 : v);
}

typedef void fb_field_fn(struct fb_state *, const char *, const char *);

/*
 * Call fn for each field of the blocks in len bytes of s, unfolded and
 * cut at FB_VALUE_MAX, and with a NULL name at the end of each block
 * that had a field.  A line that is neither a field nor a continuation
 * is passed over.
 */
static void
fb_fields(struct fb_state *st, const char *s, size_t len, fb_field_fn *fn)
{
	const char	*p = s, *end = s + len, *nl, *colon;
	char		 name[64] = "";
	struct buf	 val;
	int		 fields = 0;
	size_t		 n;

	buf_init(&val);
	while (p <= end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
			if (name[0] != '\0' && val.len < FB_VALUE_MAX)
				buf_add(&val, p, n < FB_VALUE_MAX ? n :
				    FB_VALUE_MAX);
		} else {
			if (name[0] != '\0') {
				fn(st, name, val.data);
				fields++;
			}
			name[0] = '\0';
			buf_reset(&val);
			colon = n > 0 ? memchr(p, ':', n) : NULL;
			if (colon != NULL && (size_t)(colon - p) < sizeof name &&
			    colon > p) {
				snprintf(name, sizeof name, "%.*s",
				    (int)(colon - p), p);
				buf_add(&val, colon + 1, n - (size_t)(colon -
				    p) - 1 < FB_VALUE_MAX ? n - (size_t)(colon -
				    p) - 1 : FB_VALUE_MAX);
			} else if (n == 0 && fields > 0) {
				fn(st, NULL, NULL);
				fields = 0;
			}
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (name[0] != '\0') {
		fn(st, name, val.data);
		fields++;
	}
	if (fields > 0)
		fn(st, NULL, NULL);
	buf_free(&val);
}

/* How bad a DSN recipient block is: the kind it makes the message. */
static enum feedback_kind
fb_dsn_kind(const struct fb_dsn *d)
{
	if (strcmp(d->action, "failed") == 0 && d->status[0] == '5')
		return FEEDBACK_BOUNCE;
	if (strcmp(d->action, "delayed") == 0 || d->status[0] == '4')
		return FEEDBACK_DELAY;
	return FEEDBACK_OTHER;
}

static int
fb_rank(enum feedback_kind k)
{
	return k == FEEDBACK_BOUNCE ? 2 : k == FEEDBACK_DELAY ? 1 : 0;
}

/*
 * Whether a failure names a bad mailbox, by the same rules as a relay's
 * own answer (smtp_reply.c): the SMTP code of "smtp; 550 5.1.1 ...", or
 * 550 for a status alone.
 */
static int
fb_bad_mailbox(const char *status, const char *diag)
{
	const char	*p = diag, *semi;
	char		 line[FB_VALUE_MAX + 32];
	long		 code = 550;

	if ((semi = strchr(diag, ';')) != NULL)
		p = semi + 1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && !isdigit((unsigned char)p[3])) {
		code = strtol(p, NULL, 10);
		snprintf(line, sizeof line, "%s", p);
	} else
		snprintf(line, sizeof line, "550 %s %s", status, p);
	if (code < 500)
		code = 550;	/* the DSN's Action said failed */
	return smtp_reply_classify(code, line) == SMTP_REPLY_BOUNCED;
}

/* End of a DSN recipient block: keep it if it is the worst so far. */
static void
fb_dsn_block(struct fb_state *st)
{
	struct fb_dsn		*d = &st->dsn;
	struct feedback		*out = st->out;
	enum feedback_kind	 k = fb_dsn_kind(d);

	if (d->action[0] != '\0' && (!d->have || fb_rank(k) > d->worst)) {
		d->have = 1;
		d->worst = fb_rank(k);
		out->kind = k;
		snprintf(out->status, sizeof out->status, "%s", d->status);
		fb_line(out->diagnostic, sizeof out->diagnostic, d->diag);
		snprintf(out->reported, sizeof out->reported, "%s",
		    d->recipient);
		out->bad_mailbox = k == FEEDBACK_BOUNCE &&
		    fb_bad_mailbox(d->status, d->diag);
	}
	d->action[0] = d->status[0] = d->diag[0] = d->recipient[0] = '\0';
}

/* One field of a message/delivery-status part. */
static void
fb_dsn_field(struct fb_state *st, const char *name, const char *value)
{
	struct fb_dsn	*d = &st->dsn;

	if (name == NULL)
		fb_dsn_block(st);
	else if (strcasecmp(name, "Action") == 0)
		fb_word(d->action, sizeof d->action, value);
	else if (strcasecmp(name, "Status") == 0)
		fb_status(d->status, sizeof d->status, value);
	else if (strcasecmp(name, "Diagnostic-Code") == 0)
		snprintf(d->diag, sizeof d->diag, "%s", value);
	else if (strcasecmp(name, "Final-Recipient") == 0 ||
	    (strcasecmp(name, "Original-Recipient") == 0 &&
	    d->recipient[0] == '\0'))
		fb_address(d->recipient, sizeof d->recipient, value);
}

/* One field of a message/feedback-report part. */
static void
fb_arf_field(struct fb_state *st, const char *name, const char *value)
{
	struct feedback	*out = st->out;

	if (name == NULL)
		return;
	if (strcasecmp(name, "Feedback-Type") == 0)
		fb_word(out->feedback_type, sizeof out->feedback_type, value);
	else if (strcasecmp(name, "Original-Rcpt-To") == 0 ||
	    (strcasecmp(name, "Removal-Recipient") == 0 &&
	    out->reported[0] == '\0'))
		fb_line(out->reported, sizeof out->reported, value);
}

/* The decoded content of a leaf part, at most FB_TEXT_MAX bytes. */
static GByteArray *
fb_content(GMimePart *part)
{
	GMimeDataWrapper	*w = g_mime_part_get_content(part);
	GMimeStream		*ms;
	GByteArray		*ba;

	ba = g_byte_array_new();
	if (w == NULL)
		return ba;
	/* Decoding never grows a part past the message's own size, which
	 * FEEDBACK_MAX_BYTES bounds; only the first FB_TEXT_MAX is kept. */
	ms = g_mime_stream_mem_new_with_byte_array(ba);
	g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(ms), FALSE);
	g_mime_data_wrapper_write_to_stream(w, ms);
	g_object_unref(ms);
	if (ba->len > FB_TEXT_MAX)
		g_byte_array_set_size(ba, FB_TEXT_MAX);
	return ba;
}

/* Scan every header of a quoted message for token candidates. */
static void
fb_scan_headers(struct fb_state *st, GMimeObject *o, enum feedback_where where)
{
	GMimeHeaderList	*hl = g_mime_object_get_header_list(o);
	GMimeHeader	*h;
	const char	*v;
	int		 i, n;

	n = hl != NULL ? g_mime_header_list_get_count(hl) : 0;
	for (i = 0; i < n && i < 200; i++) {
		h = g_mime_header_list_get_header_at(hl, i);
		if ((v = g_mime_header_get_raw_value(h)) != NULL)
			fb_scan(st, v, strlen(v), where);
	}
}

static void	fb_walk(struct fb_state *, GMimeObject *, int, int);

/* A leaf part: a report's fields, quoted headers, or text. */
static void
fb_leaf(struct fb_state *st, GMimeObject *o, int quoted)
{
	GMimeContentType	*ct = g_mime_object_get_content_type(o);
	GByteArray		*ba;
	enum feedback_where	 where = quoted ? FEEDBACK_AT_QUOTED :
				    FEEDBACK_AT_BODY;
	int			 dsn, arf, headers;

	if (!GMIME_IS_PART(o))
		return;
	dsn = g_mime_content_type_is_type(ct, "message", "delivery-status") ||
	    g_mime_content_type_is_type(ct, "message",
	    "global-delivery-status");
	arf = g_mime_content_type_is_type(ct, "message", "feedback-report");
	headers = g_mime_content_type_is_type(ct, "text", "rfc822-headers") ||
	    g_mime_content_type_is_type(ct, "text", "global-headers");
	if (!dsn && !arf && !headers && !g_mime_content_type_is_type(ct,
	    "text", "*"))
		return;
	ba = fb_content(GMIME_PART(o));
	if (ba->len == 0)
		;	/* nothing to read, and ba->data may be NULL */
	else if (dsn && !quoted) {
		st->saw_dsn = 1;
		fb_fields(st, (const char *)ba->data, ba->len, fb_dsn_field);
	} else if (arf && !quoted) {
		st->saw_arf = 1;
		fb_fields(st, (const char *)ba->data, ba->len, fb_arf_field);
	} else {
		if (headers)
			where = FEEDBACK_AT_QUOTED;
		fb_scan(st, (const char *)ba->data, ba->len, where);
		if (where == FEEDBACK_AT_BODY && st->text.len < FB_TEXT_MAX)
			buf_add(&st->text, ba->data, ba->len);
	}
	g_byte_array_unref(ba);
}

/* Visit o and what it holds, depth levels of message/rfc822 down. */
static void
fb_walk(struct fb_state *st, GMimeObject *o, int depth, int quoted)
{
	GMimeMessage	*m;
	int		 i, n;

	if (o == NULL || ++st->parts > FEEDBACK_MAX_PARTS)
		return;
	if (GMIME_IS_MULTIPART(o)) {
		n = g_mime_multipart_get_count(GMIME_MULTIPART(o));
		for (i = 0; i < n; i++)
			fb_walk(st, g_mime_multipart_get_part(
			    GMIME_MULTIPART(o), i), depth, quoted);
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		if (depth + 1 > FEEDBACK_MAX_DEPTH)
			return;
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		if (m == NULL)
			return;
		fb_scan_headers(st, GMIME_OBJECT(m), FEEDBACK_AT_QUOTED);
		fb_walk(st, g_mime_message_get_mime_part(m), depth + 1, 1);
	} else
		fb_leaf(st, o, quoted);
}

/* Whether s contains any of the n needles, ignoring ASCII case. */
static int
fb_contains_any(const char *s, const char **needles, size_t n)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < n; i++)
		if (strcasestr(s, needles[i]) != NULL)
			return 1;
	return 0;
}

/* RFC 3834 markers, or a vacation notice's subject. */
static int
fb_is_auto_reply(GMimeMessage *m)
{
	GMimeObject	*o = GMIME_OBJECT(m);
	const char	*v, *subj = g_mime_message_get_subject(m);
	size_t		 i;

	if ((v = g_mime_object_get_header(o, "Auto-Submitted")) != NULL) {
		while (*v == ' ' || *v == '\t')
			v++;
		if (strncasecmp(v, "no", 2) != 0 || fb_tokchar(
		    (unsigned char)v[2]))
			return 1;
	}
	if (g_mime_object_get_header(o, "X-Autoreply") != NULL ||
	    g_mime_object_get_header(o, "X-Autorespond") != NULL)
		return 1;
	if ((v = g_mime_object_get_header(o, "Precedence")) != NULL &&
	    strcasestr(v, "auto_reply") != NULL)
		return 1;
	if (subj != NULL)
		for (i = 0; i < nitems(fb_auto_subjects); i++)
			if (strncasecmp(subj, fb_auto_subjects[i],
			    strlen(fb_auto_subjects[i])) == 0)
				return 1;
	return 0;
}

/* A bounce in no standard form: from a mailer daemon, or so titled. */
static int
fb_is_bounce(GMimeMessage *m)
{
	GMimeObject	*o = GMIME_OBJECT(m);
	const char	*from = g_mime_object_get_header(o, "From");
	const char	*rp = g_mime_object_get_header(o, "Return-Path");

	if (rp != NULL && strstr(rp, "<>") != NULL)
		return 1;
	if (fb_contains_any(from, fb_bounce_senders,
	    nitems(fb_bounce_senders)))
		return 1;
	return fb_contains_any(g_mime_message_get_subject(m),
	    fb_bounce_subjects, nitems(fb_bounce_subjects));
}

/*
 * The first enhanced status code (RFC 3463) in a bounce's text, with
 * the line it stands on: "550 5.1.1 <x>: no such user", or qmail's
 * "(#5.1.1)".
 */
static void
fb_text_status(struct fb_state *st)
{
	struct feedback	*out = st->out;
	const char	*t = st->text.data, *p, *bol, *eol;
	char		 line[FB_VALUE_MAX];
	size_t		 n;

	for (p = t; p != NULL && *p != '\0'; p++) {
		if ((*p != '4' && *p != '5') || (p > t &&
		    (isalnum((unsigned char)p[-1]) || p[-1] == '.')) ||
		    (n = fb_status_len(p)) == 0)
			continue;
		snprintf(out->status, sizeof out->status, "%.*s", (int)n, p);
		for (bol = p; bol > t && bol[-1] != '\n'; bol--)
			;
		eol = strchr(p, '\n');
		n = eol != NULL ? (size_t)(eol - bol) : strlen(bol);
		snprintf(line, sizeof line, "%.*s", (int)n, bol);
		fb_line(out->diagnostic, sizeof out->diagnostic, line);
		return;
	}
}

/* Whether the message was addressed to the mailto: unsubscribe address. */
static int
fb_to_unsubscribe(const struct fb_state *st, GMimeMessage *m)
{
	const char	*a = st->opts->unsubscribe_addr, *to;

	if (a == NULL || *a == '\0')
		return 0;
	if (st->opts->rcpt != NULL && strcasecmp(st->opts->rcpt, a) == 0)
		return 1;
	to = g_mime_object_get_header(GMIME_OBJECT(m), "To");
	return to != NULL && strcasestr(to, a) != NULL;
}

/* Whether a token stood in this message's subject or own text. */
static int
fb_has_own_token(const struct feedback *out, int subject_only)
{
	size_t	 i;

	for (i = 0; i < out->ntokens; i++)
		if (out->tokens[i].where == FEEDBACK_AT_SUBJECT ||
		    (!subject_only && out->tokens[i].where == FEEDBACK_AT_BODY))
			return 1;
	return 0;
}

/* A mailto: unsubscribe: "unsubscribe TOKEN" as the subject, or any
 * token in a message to the unsubscribe address that no robot sent. */
static int
fb_is_unsubscribe(const struct fb_state *st, GMimeMessage *m)
{
	const char	*subj = g_mime_message_get_subject(m);

	while (subj != NULL && (*subj == ' ' || *subj == '\t'))
		subj = subj + 1;
	if (subj != NULL && strncasecmp(subj, "unsubscribe", 11) == 0 &&
	    fb_has_own_token(st->out, 1))
		return 1;
	return fb_to_unsubscribe(st, m) && fb_has_own_token(st->out, 0) &&
	    !fb_is_auto_reply(m);
}

/* Decide the kind, once every part has been read. */
static void
fb_classify(struct fb_state *st, GMimeMessage *m)
{
	struct feedback	*out = st->out;

	if (st->saw_arf) {
		out->kind = strcmp(out->feedback_type, "abuse") == 0 ||
		    strcmp(out->feedback_type, "fraud") == 0 ?
		    FEEDBACK_COMPLAINT : FEEDBACK_OTHER;
	} else if (st->saw_dsn) {
		/* fb_dsn_block() set the kind from the worst recipient. */
	} else if (fb_is_unsubscribe(st, m))
		out->kind = FEEDBACK_UNSUBSCRIBE;
	else if (fb_is_bounce(m)) {
		fb_text_status(st);
		out->kind = out->status[0] == '4' ? FEEDBACK_DELAY :
		    FEEDBACK_BOUNCE;
		out->bad_mailbox = out->status[0] == '5' &&
		    fb_bad_mailbox(out->status, out->diagnostic);
	} else if (fb_is_auto_reply(m))
		out->kind = FEEDBACK_AUTO_REPLY;
	else
		out->kind = FEEDBACK_OTHER;
	/* A report that is also a DSN is read as the report. */
	if (out->kind != FEEDBACK_BOUNCE)
		out->bad_mailbox = 0;
}

/* Refuse a nest of containers deeper than the parser should recurse. */
static int
fb_containers(const char *s, size_t len)
{
	static const char	*types[] = { "multipart/", "message/" };
	size_t			 i, k, n = 0, tl;

	for (k = 0; k < nitems(types); k++) {
		tl = strlen(types[k]);
		for (i = 0; i + tl <= len; i++)
			if ((s[i] | 0x20) == types[k][0] &&
			    strncasecmp(s + i, types[k], tl) == 0)
				n++;
	}
	return n > FEEDBACK_MAX_CONTAINERS ? -1 : 0;
}

/* This message's own headers: the recipient addresses and the subject. */
static void
fb_own_headers(struct fb_state *st, GMimeMessage *m)
{
	const char	*v;
	size_t		 i;

	if (st->opts->rcpt != NULL)
		fb_scan(st, st->opts->rcpt, strlen(st->opts->rcpt),
		    FEEDBACK_AT_RCPT);
	for (i = 0; i < nitems(fb_rcpt_headers); i++)
		if ((v = g_mime_object_get_header(GMIME_OBJECT(m),
		    fb_rcpt_headers[i])) != NULL)
			fb_scan(st, v, strlen(v), FEEDBACK_AT_HEADER);
	if ((v = g_mime_message_get_subject(m)) != NULL)
		fb_scan(st, v, strlen(v), FEEDBACK_AT_SUBJECT);
}

int
feedback_parse(const void *msg, size_t len, const struct feedback_opts *opts,
    struct feedback *out, char **cause)
{
	static const struct feedback_opts	 none;
	struct fb_state				 st;
	GMimeStream				*stream;
	GMimeParser				*parser;
	GMimeMessage				*m;

	memset(out, 0, sizeof *out);
	if (len == 0)
		return set_cause(cause, "the message is empty");
	if (len > FEEDBACK_MAX_BYTES)
		return set_cause(cause, "the message is %zu bytes, over the "
		    "limit of %d: a bounce or report quotes at most the "
		    "original message", len, FEEDBACK_MAX_BYTES);
	if (fb_containers(msg, len) == -1)
		return set_cause(cause, "the message declares more than %d "
		    "MIME containers (multipart or message parts)",
		    FEEDBACK_MAX_CONTAINERS);
	pthread_once(&fb_once, fb_init);
	memset(&st, 0, sizeof st);
	st.out = out;
	st.opts = opts != NULL ? opts : &none;
	buf_init(&st.text);
	stream = g_mime_stream_mem_new_with_buffer(msg, len);
	parser = g_mime_parser_new_with_stream(stream);
	g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
	m = g_mime_parser_construct_message(parser, NULL);
	g_object_unref(parser);
	g_object_unref(stream);
	if (m == NULL) {
		buf_free(&st.text);
		return set_cause(cause, "not an RFC 5322 message: no header "
		    "block could be read");
	}
	fb_own_headers(&st, m);
	fb_walk(&st, g_mime_message_get_mime_part(m), 0, 0);
	fb_classify(&st, m);
	g_object_unref(m);
	buf_free(&st.text);
	return 0;
}

int
feedback_return_path(const char *return_path, const char *tok, char *out,
    size_t outsz, char **cause)
{
	const char	*at = strrchr(return_path, '@');
	size_t		 local, i;

	if (at == NULL || at == return_path || at[1] == '\0')
		return set_cause(cause, "return_path \"%s\" is not an address "
		    "(local@domain)", return_path);
	for (i = 0; return_path[i] != '\0'; i++)
		if (!isgraph((unsigned char)return_path[i]) ||
		    strchr("<>()[],;:\\\"+", return_path[i]) != NULL)
			return set_cause(cause, "return_path \"%s\" has '%c' "
			    "at offset %zu: give a plain address whose local "
			    "part has no '+' (manners adds +TOKEN)",
			    return_path, isgraph((unsigned char)return_path[i]) ?
			    return_path[i] : '?', i);
	local = (size_t)(at - return_path);
	if (local + 1 + strlen(tok) > 64)
		return set_cause(cause, "return_path \"%s\": its local part "
		    "with +TOKEN would be %zu octets, over RFC 5321's 64",
		    return_path, local + 1 + strlen(tok));
	if ((size_t)snprintf(out, outsz, "%.*s+%s%s", (int)local, return_path,
	    tok, at) >= outsz)
		return set_cause(cause, "return_path \"%s\" is too long",
		    return_path);
	return 0;
}

const char *
feedback_kind_name(enum feedback_kind k)
{
	switch (k) {
	case FEEDBACK_BOUNCE:
		return "bounce";
	case FEEDBACK_DELAY:
		return "delay";
	case FEEDBACK_COMPLAINT:
		return "complaint";
	case FEEDBACK_UNSUBSCRIBE:
		return "unsubscribe";
	case FEEDBACK_AUTO_REPLY:
		return "auto_reply";
	case FEEDBACK_OTHER:
		break;
	}
	return "other";
}

const char *
feedback_where_name(enum feedback_where w)
{
	static const char	*names[] = { "rcpt", "header", "subject",
				    "body", "quoted" };

	return (size_t)w < nitems(names) ? names[w] : "?";
}
