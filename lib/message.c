/*
 * message.c: MIME rendering.
 *
 * Bodies are UTF-8 and always quoted-printable: that keeps every line
 * under 76 octets, carries non-ASCII text safely and, because QP writes
 * '=' as "=3D", guarantees that the "=_" in our boundary can never occur
 * inside a part.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "campaign.h"
#include "log.h"
#include "message.h"
#include "plaintext.h"
#include "text.h"

#define QP_LINE		76
#define EW_MAX_BYTES	45	/* raw bytes per encoded-word: 60 b64 chars */
#define EW_LINE		76	/* RFC 2047: lines with encoded-words */

static const char hexdig[] = "0123456789ABCDEF";

enum tpl_slot {
	TPL_TEXT,		/* encoded text at off, len */
	TPL_NAME,		/* the recipient's name, else the fallback */
	TPL_ADDRESS,
	TPL_UNSUB
};

/*
 * The next placeholder at or after `p` that a message fills: returns
 * where its "{{" starts, and sets *end past its "}}", *slot, and for a
 * name the fallback after a '|' (*fb, *fblen; *fb NULL without one).
 * The key is what comes before a '|'; unknown keys, keys of 64 octets
 * or more and an unclosed "{{" are text.  NULL: none left.
 */
static const char *
tpl_next(const char *p, const char **end, enum tpl_slot *slot,
    const char **fb, size_t *fblen)
{
	const char	*open, *close, *bar;
	size_t		 klen, nlen;

	while ((open = strstr(p, "{{")) != NULL) {
		if ((close = strstr(open + 2, "}}")) == NULL ||
		    (klen = (size_t)(close - open - 2)) >= 64) {
			p = open + 2;
			continue;
		}
		bar = memchr(open + 2, '|', klen);
		nlen = bar != NULL ? (size_t)(bar - open - 2) : klen;
		if (nlen == 7 && memcmp(open + 2, "address", 7) == 0)
			*slot = TPL_ADDRESS;
		else if (nlen == 15 && memcmp(open + 2, "unsubscribe_url",
		    15) == 0)
			*slot = TPL_UNSUB;
		else if (nlen == 4 && memcmp(open + 2, "name", 4) == 0)
			*slot = TPL_NAME;
		else {
			p = close + 2;
			continue;
		}
		*end = close + 2;
		*fb = bar != NULL && *slot == TPL_NAME ? bar + 1 : NULL;
		*fblen = *fb != NULL ? (size_t)(close - bar - 1) : 0;
		return open;
	}
	return NULL;
}

/* A placeholder's value for this recipient; NULL: the name's fallback. */
static const char *
tpl_value(enum tpl_slot slot, const struct message_in *in)
{
	switch (slot) {
	case TPL_NAME:
		return in->to_name != NULL && *in->to_name != '\0' ?
		    in->to_name : NULL;
	case TPL_ADDRESS:
		return in->to_addr;
	case TPL_UNSUB:
		return in->unsub_url != NULL ? in->unsub_url : "";
	default:
		return "";
	}
}

/* Substitute {{...}} placeholders; unknown ones are left as they are. */
void
message_expand(const char *tpl, const struct message_in *in, int html,
    struct buf *out)
{
	const char	*p = tpl, *open, *end, *fb, *val;
	char		 fallback[64];
	enum tpl_slot	 slot;
	size_t		 fblen;

	while ((open = tpl_next(p, &end, &slot, &fb, &fblen)) != NULL) {
		buf_add(out, p, (size_t)(open - p));
		if ((val = tpl_value(slot, in)) == NULL) {
			/* Shorter than its 64-octet key. */
			memcpy(fallback, fb != NULL ? fb : "", fblen);
			fallback[fblen] = '\0';
			val = fallback;
		}
		if (html)
			text_html_escape(out, val);
		else
			buf_adds(out, val);
		p = end;
	}
	buf_adds(out, p);
}

/*
 * Quoted-printable (RFC 2045) with CRLF line ends for any line ending.
 * Written straight into reserved room, a block of input at a time: this
 * runs over every byte of every message the drain sends.
 */
void
message_qp(const char *s, size_t len, struct buf *out)
{
	size_t		 i = 0, col = 0, stop;
	unsigned char	 c;
	char		*p;
	int		 literal;

	buf_reserve(out, len + len / 8 + 16);
	while (i < len) {
		stop = len - i < 4096 ? len : i + 4096;
		/* Per input byte at most a soft break and "=XX": 6 bytes. */
		buf_reserve(out, (stop - i) * 6);
		p = out->data + out->len;
		for (; i < stop; i++) {
			c = (unsigned char)s[i];
			if (c == '\r' || c == '\n') {
				if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
					i++;
				*p++ = '\r';
				*p++ = '\n';
				col = 0;
				continue;
			}
			/* Trailing white space must be encoded, else it is lost. */
			literal = (c >= 33 && c <= 126 && c != '=') ||
			    ((c == ' ' || c == '\t') && i + 1 < len &&
			    s[i + 1] != '\r' && s[i + 1] != '\n');
			/* A leading dot is safe with curl, but keep lines tidy. */
			if (col == 0 && c == '.')
				literal = 0;
			if (col + (literal ? 1 : 3) > QP_LINE - 1) {
				*p++ = '=';
				*p++ = '\r';
				*p++ = '\n';
				col = 0;
			}
			if (literal) {
				*p++ = (char)c;
				col++;
			} else {
				*p++ = '=';
				*p++ = hexdig[c >> 4];
				*p++ = hexdig[c & 15];
				col += 3;
			}
		}
		out->len = (size_t)(p - out->data);
	}
	out->data[out->len] = '\0';
}

/* Is every byte printable ASCII? */
static int
message_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

/* Base64 of `len` bytes. */
static void
message_b64(const unsigned char *p, size_t len, struct buf *out)
{
	static const char	 tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t			 i;
	uint32_t		 v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		buf_addc(out, tab[v >> 18 & 63]);
		buf_addc(out, tab[v >> 12 & 63]);
		buf_addc(out, tab[v >> 6 & 63]);
		buf_addc(out, tab[v & 63]);
	}
	if (i < len) {
		v = (uint32_t)p[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)p[i + 1] << 8;
		buf_addc(out, tab[v >> 18 & 63]);
		buf_addc(out, tab[v >> 12 & 63]);
		buf_addc(out, i + 1 < len ? tab[v >> 6 & 63] : '=');
		buf_addc(out, '=');
	}
}

/*
 * RFC 2047 "B" encoded-words for a value whose first line already holds
 * `col` octets, folded so that no line passes 76 octets, and split only
 * between UTF-8 characters.
 */
static void
message_words(const char *value, size_t col, struct buf *out)
{
	const unsigned char	*p = (const unsigned char *)value;
	size_t			 len = strlen(value), n, k, max;

	while (len > 0) {
		/* Raw bytes that fit: 3 per 4 base64 characters. */
		max = col + 12 < EW_LINE ? (EW_LINE - col - 12) / 4 * 3 : 0;
		if (max > EW_MAX_BYTES)
			max = EW_MAX_BYTES;
		if (max < 6) {
			/* Not even one 4-byte character fits: fold first. */
			buf_adds(out, "\r\n ");
			col = 1;
			continue;
		}
		n = len < max ? len : max;
		/* Back up to the start of a UTF-8 character. */
		while (n < len && n > 0 && (p[n] & 0xc0) == 0x80)
			n--;
		if (n == 0) {
			for (k = 1; k < len && k < max &&
			    (p[k] & 0xc0) == 0x80; k++)
				;
			n = k;
		}
		buf_adds(out, "=?UTF-8?B?");
		message_b64(p, n, out);
		buf_adds(out, "?=");
		p += n;
		len -= n;
		if (len > 0) {
			buf_adds(out, "\r\n ");
			col = 1;
		}
	}
}

/*
 * An unstructured header value: as is when it is short ASCII, otherwise
 * RFC 2047 encoded-words folded onto continuation lines.
 */
void
message_encode_header(const char *name, const char *value, struct buf *out)
{
	buf_adds(out, name);
	buf_adds(out, ": ");
	if (message_ascii(value) && strlen(value) + strlen(name) + 2 <= 78)
		buf_adds(out, value);
	else
		message_words(value, strlen(name) + 2, out);
	buf_adds(out, "\r\n");
}

/* A display name as a quoted-string, or encoded-words when not ASCII. */
static void
message_mailbox(const char *hname, const char *name, const char *addr,
    struct buf *out)
{
	const char	*s;

	if (name == NULL || *name == '\0') {
		buf_printf(out, "%s: <%s>\r\n", hname, addr);
		return;
	}
	if (!message_ascii(name) || strlen(name) > 60) {
		/* Always words: a long name left bare would expose specials. */
		buf_printf(out, "%s: ", hname);
		message_words(name, strlen(hname) + 2, out);
		buf_printf(out, "\r\n <%s>\r\n", addr);
		return;
	}
	buf_printf(out, "%s: \"", hname);
	for (s = name; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			buf_addc(out, '\\');
		buf_addc(out, *s);
	}
	buf_printf(out, "\" <%s>\r\n", addr);
}

/* An RFC 5322 Date header value for t. */
void
message_format_date(int64_t t, char *out, size_t outsz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/* SHA-256, looked up once: OpenSSL 3 would look it up on every use. */
static EVP_MD		*message_sha256;
static pthread_once_t	 message_sha256_once = PTHREAD_ONCE_INIT;

/* The SHA-256 digest, fetched once for every thread. */
static void
message_sha256_fetch(void)
{
	if ((message_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL)
		fatalx("OpenSSL has no SHA-256");
}

/* SHA-256 of campaign id and normalised address, as lower-case hex. */
static void
message_hash(const char *campaign, const char *addr, char *hex, size_t n)
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;
	size_t		 i;
	char		 low[256];

	for (i = 0; addr[i] != '\0' && i + 1 < sizeof low; i++)
		low[i] = (char)tolower((unsigned char)addr[i]);
	low[i] = '\0';
	pthread_once(&message_sha256_once, message_sha256_fetch);
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	EVP_DigestInit_ex(ctx, message_sha256, NULL);
	EVP_DigestUpdate(ctx, campaign, strlen(campaign) + 1);
	EVP_DigestUpdate(ctx, low, strlen(low));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hexenc(md, mdlen, hex, n);
}

/* A Message-ID from the campaign, the address and the host. */
void
message_id(const char *campaign, const char *addr, const char *host,
    char *out, size_t outsz)
{
	char	 hex[33];

	message_hash(campaign, addr, hex, sizeof hex);
	snprintf(out, outsz, "<%s.%s@%s>", hex, campaign, host);
}

/*
 * A campaign's bodies, encoded once.  Each part is its template split at
 * the per-recipient placeholders: the text between them is encoded to
 * quoted-printable when the template is compiled, and only the values
 * ({{name}}, {{address}}, {{unsubscribe_url}}) are encoded per message.
 * A soft line break ("=" CRLF, invisible once decoded) ends any encoded
 * run that stops mid-line, so every run starts at column 0 and its
 * encoding does not depend on what the values before it were.
 */
struct tpl_piece {
	enum tpl_slot	 slot;
	size_t		 off;
	size_t		 len;
	char		*fallback;	/* TPL_NAME: after the '|', or NULL */
};

struct tpl_part {
	const char		*type;
	int			 html;
	struct buf		 text;		/* every TPL_TEXT run */
	struct tpl_piece	*pieces;
	size_t			 npieces;
};

struct message_tpl {
	struct tpl_part		 parts[2];
	size_t			 nparts;
	unsigned		 refs;
};

/* End an encoded run at column 0: a soft break if it stopped mid-line. */
static void
message_qp_close(struct buf *out, size_t start)
{
	if (out->len > start && out->data[out->len - 1] != '\n')
		buf_adds(out, "=\r\n");
}

/* Add a piece (text or a slot) to a template part. */
static struct tpl_piece *
tpl_piece_add(struct tpl_part *p, enum tpl_slot slot)
{
	struct tpl_piece	*pc;

	p->pieces = xreallocarray(p->pieces, p->npieces + 1,
	    sizeof *p->pieces);
	pc = &p->pieces[p->npieces++];
	memset(pc, 0, sizeof *pc);
	pc->slot = slot;
	return pc;
}

/* Encode the literal text gathered so far as one run. */
static void
tpl_flush(struct tpl_part *p, struct buf *lit)
{
	struct tpl_piece	*pc;
	size_t			 start = p->text.len;

	if (lit->len == 0)
		return;
	message_qp(lit->data, lit->len, &p->text);
	message_qp_close(&p->text, start);
	pc = tpl_piece_add(p, TPL_TEXT);
	pc->off = start;
	pc->len = p->text.len - start;
	lit->len = 0;
}

/* The placeholders of message_expand(), as pieces; others stay text. */
static void
tpl_compile(struct tpl_part *p, const char *type, const char *tpl, int html)
{
	const char		*q = tpl, *open, *end, *fb;
	struct tpl_piece	*pc;
	struct buf		 lit;
	enum tpl_slot		 slot;
	size_t			 fblen;

	p->type = type;
	p->html = html;
	buf_init(&p->text);
	buf_init(&lit);
	while ((open = tpl_next(q, &end, &slot, &fb, &fblen)) != NULL) {
		buf_add(&lit, q, (size_t)(open - q));
		tpl_flush(p, &lit);
		pc = tpl_piece_add(p, slot);
		if (fb != NULL)
			pc->fallback = xstrndup(fb, fblen);
		q = end;
	}
	buf_adds(&lit, q);
	tpl_flush(p, &lit);
	buf_free(&lit);
}

/* Compile a campaign's bodies and headers into a template. */
struct message_tpl *
message_tpl_new(const struct campaign *c)
{
	struct message_tpl	*t = xcalloc(1, sizeof *t);
	char			*gen;
	int			 text, html;

	t->refs = 1;
	text = c->text != NULL && *c->text != '\0';
	html = c->html != NULL && *c->html != '\0';
	if (text || !html)
		tpl_compile(&t->parts[t->nparts++], "text/plain",
		    c->text != NULL ? c->text : "", 0);
	else if ((gen = plaintext_from_html(c->html, strlen(c->html), NULL,
	    NULL)) != NULL) {
		/*
		 * HTML only: a text part made from it, so every message is
		 * multipart/alternative (no MIME_HTML_ONLY) and a reader who
		 * chose plain text gets one.  Placeholders come through.
		 */
		tpl_compile(&t->parts[t->nparts++], "text/plain", gen, 0);
		free(gen);
	}
	if (html)
		tpl_compile(&t->parts[t->nparts++], "text/html", c->html, 1);
	return t;
}

/* Take another reference to a template. */
struct message_tpl *
message_tpl_ref(struct message_tpl *t)
{
	t->refs++;
	return t;
}

/* Drop a reference; free the template with the last one. */
void
message_tpl_free(struct message_tpl *t)
{
	size_t	 i, j;

	if (t == NULL || --t->refs > 0)
		return;
	for (i = 0; i < t->nparts; i++) {
		for (j = 0; j < t->parts[i].npieces; j++)
			free(t->parts[i].pieces[j].fallback);
		free(t->parts[i].pieces);
		buf_free(&t->parts[i].text);
	}
	free(t);
}

/* An empty rendered message. */
void
message_out_init(struct message_out *mo)
{
	memset(mo, 0, sizeof *mo);
	buf_init(&mo->own);
}

/* Free a rendered message. */
void
message_out_free(struct message_out *mo)
{
	buf_free(&mo->own);
	free(mo->p);
	memset(mo, 0, sizeof *mo);
}

/* Add a piece of the rendered message (a template span or text of its own). */
static void
message_out_piece(struct message_out *mo, const char *ext, size_t off,
    size_t len)
{
	if (len == 0)
		return;
	if (mo->n == mo->cap) {
		mo->cap = mo->cap == 0 ? 16 : mo->cap * 2;
		mo->p = xreallocarray(mo->p, mo->cap, sizeof *mo->p);
	}
	mo->p[mo->n].ext = ext;
	mo->p[mo->n].off = off;
	mo->p[mo->n].len = len;
	mo->n++;
	mo->len += len;
}

/* End the recipient's own bytes written since the last piece as a piece. */
static void
message_out_close(struct message_out *mo)
{
	message_out_piece(mo, NULL, mo->mark, mo->own.len - mo->mark);
	mo->mark = mo->own.len;
}

/* Bytes of the template, by reference when they are worth it. */
static void
message_out_ref(struct message_out *mo, const char *p, size_t len)
{
	if (len < 512) {
		buf_add(&mo->own, p, len);
		return;
	}
	message_out_close(mo);
	message_out_piece(mo, p, 0, len);
}

/* One MIME part: its headers, the encoded runs and the values between. */
static void
tpl_render_part(const struct tpl_part *p, const struct message_in *in,
    struct message_out *mo)
{
	const struct tpl_piece	*pc;
	const char		*val;
	struct buf		*out = &mo->own, esc;
	size_t			 i, start;

	buf_adds(out, "Content-Type: ");
	buf_adds(out, p->type);
	buf_adds(out, "; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
	buf_init(&esc);
	for (i = 0; i < p->npieces; i++) {
		pc = &p->pieces[i];
		if (pc->slot == TPL_TEXT) {
			message_out_ref(mo, p->text.data + pc->off, pc->len);
			continue;
		}
		if ((val = tpl_value(pc->slot, in)) == NULL)
			val = pc->fallback;
		if (val == NULL || *val == '\0')
			continue;
		if (p->html) {
			esc.len = 0;
			text_html_escape(&esc, val);
			val = esc.data;
		}
		start = out->len;
		message_qp(val, strlen(val), out);
		message_qp_close(out, start);
	}
	buf_free(&esc);
	buf_adds(out, "\r\n");
}

/* Render a message from a template into pieces. */
int
message_render_out(const struct message_tpl *t, const struct message_in *in,
    struct message_out *mo, char **cause)
{
	const struct campaign	*c = in->campaign;
	struct buf		*out = &mo->own;
	char			 date[64], hash[33];
	size_t			 i;

	if (!campaign_header_safe(in->to_addr) || (in->to_name != NULL &&
	    !campaign_header_safe(in->to_name)) ||
	    !campaign_header_safe(c->subject) ||
	    (c->from_name != NULL && !campaign_header_safe(c->from_name)))
		return set_cause(cause, "refusing a header value with a line "
		    "break or control character");
	message_format_date(in->date, date, sizeof date);
	message_hash(c->id, in->to_addr, hash, sizeof hash);
	message_mailbox("From", c->from_name, c->from_addr, out);
	message_mailbox("To", in->to_name, in->to_addr, out);
	if (c->reply_to != NULL)
		buf_printf(out, "Reply-To: <%s>\r\n", c->reply_to);
	message_encode_header("Subject", c->subject, out);
	buf_printf(out, "Date: %s\r\nMessage-ID: <%s.%s@%s>\r\n"
	    "MIME-Version: 1.0\r\n", date, hash, c->id, in->hostname);
	buf_printf(out, "List-Id: <%s>\r\n", c->list);
	/* Gmail's feedback loop groups complaints by these fields. */
	if (in->feedback_id != NULL)
		buf_printf(out, "Feedback-ID: %s\r\n", in->feedback_id);
	if (in->unsub_url != NULL) {
		if (in->unsub_mailto != NULL)
			buf_printf(out, "List-Unsubscribe: <%s>,\r\n <%s>\r\n",
			    in->unsub_url, in->unsub_mailto);
		else
			buf_printf(out, "List-Unsubscribe: <%s>\r\n",
			    in->unsub_url);
		buf_adds(out, "List-Unsubscribe-Post: "
		    "List-Unsubscribe=One-Click\r\n");
	}
	buf_adds(out, "Precedence: bulk\r\n");
	/* A reader who chose plain text gets the text part alone. */
	if (t->nparts == 1 || (in->plain && !t->parts[0].html))
		tpl_render_part(&t->parts[0], in, mo);
	else {
		/* The boundary: "=_" never occurs in quoted-printable text. */
		hash[16] = '\0';
		buf_printf(out, "Content-Type: multipart/alternative;\r\n"
		    " boundary=\"=_manners_%s\"\r\n\r\n"
		    "This is a MIME message.\r\n\r\n", hash);
		for (i = 0; i < t->nparts; i++) {
			buf_printf(out, "--=_manners_%s\r\n", hash);
			tpl_render_part(&t->parts[i], in, mo);
		}
		buf_printf(out, "--=_manners_%s--\r\n", hash);
	}
	message_out_close(mo);
	return 0;
}

/* Copy `len` bytes of a rendered message from `off` on; returns the count. */
size_t
message_out_read(const struct message_out *mo, size_t *pi, size_t *off,
    char *dst, size_t len)
{
	const struct message_piece	*pc;
	const char			*src;
	size_t				 n = 0, k;

	while (n < len && *pi < mo->n) {
		pc = &mo->p[*pi];
		src = pc->ext != NULL ? pc->ext : mo->own.data + pc->off;
		k = pc->len - *off;
		if (k > len - n)
			k = len - n;
		memcpy(dst + n, src + *off, k);
		n += k;
		*off += k;
		if (*off == pc->len) {
			(*pi)++;
			*off = 0;
		}
	}
	return n;
}

/* Render a message from a template into one buffer. */
int
message_render_tpl(const struct message_tpl *t, const struct message_in *in,
    struct buf *out, char **cause)
{
	struct message_out	 mo;
	size_t			 pi = 0, off = 0;
	int			 rc;

	message_out_init(&mo);
	if ((rc = message_render_out(t, in, &mo, cause)) == 0) {
		buf_reserve(out, mo.len + 1);
		out->len += message_out_read(&mo, &pi, &off,
		    out->data + out->len, mo.len);
		out->data[out->len] = '\0';
	}
	message_out_free(&mo);
	return rc;
}

/* Render one message without a template kept (tests, tools). */
int
message_render(const struct message_in *in, struct buf *out, char **cause)
{
	struct message_tpl	*t = message_tpl_new(in->campaign);
	int			 rc;

	rc = message_render_tpl(t, in, out, cause);
	message_tpl_free(t);
	return rc;
}
