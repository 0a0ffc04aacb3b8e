/*
 * message.c: MIME rendering.
 *
 * Bodies are UTF-8 and always quoted-printable: that keeps every line
 * under 76 octets, carries non-ASCII text safely and, because QP writes
 * '=' as "=3D", guarantees that the "=_" in our boundary can never occur
 * inside a part.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "campaign.h"
#include "log.h"
#include "message.h"

#define QP_LINE		76
#define EW_MAX_BYTES	45	/* raw bytes per encoded-word: 60 b64 chars */
#define EW_LINE		76	/* RFC 2047: lines with encoded-words */

static const char hexdig[] = "0123456789ABCDEF";

/* Append text with &, <, >, " and ' escaped for HTML. */
static void
message_html_escape(const char *s, struct buf *out)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			buf_adds(out, "&amp;");
			break;
		case '<':
			buf_adds(out, "&lt;");
			break;
		case '>':
			buf_adds(out, "&gt;");
			break;
		case '"':
			buf_adds(out, "&quot;");
			break;
		case '\'':
			buf_adds(out, "&#39;");
			break;
		default:
			buf_addc(out, *s);
		}
	}
}

/* Substitute {{...}} placeholders; unknown ones are left as they are. */
void
message_expand(const char *tpl, const struct message_in *in, int html,
    struct buf *out)
{
	const char	*p = tpl, *open, *close, *val, *bar;
	char		 key[64];
	size_t		 klen;

	while ((open = strstr(p, "{{")) != NULL) {
		buf_add(out, p, (size_t)(open - p));
		if ((close = strstr(open + 2, "}}")) == NULL ||
		    (size_t)(close - open - 2) >= sizeof key) {
			buf_add(out, open, 2);
			p = open + 2;
			continue;
		}
		klen = (size_t)(close - open - 2);
		memcpy(key, open + 2, klen);
		key[klen] = '\0';
		val = NULL;
		if ((bar = strchr(key, '|')) != NULL)
			key[bar - key] = '\0';
		if (strcmp(key, "name") == 0) {
			val = in->to_name;
			if ((val == NULL || *val == '\0') && bar != NULL)
				val = key + (bar - key) + 1;
			if (val == NULL)
				val = "";
		} else if (strcmp(key, "address") == 0)
			val = in->to_addr;
		else if (strcmp(key, "unsubscribe_url") == 0)
			val = in->unsub_url != NULL ? in->unsub_url : "";
		if (val == NULL) {
			if (bar != NULL)
				key[bar - key] = '|';
			buf_add(out, open, klen + 4);
		} else if (html)
			message_html_escape(val, out);
		else
			buf_adds(out, val);
		p = close + 2;
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

void
message_format_date(int64_t t, char *out, size_t outsz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S +0000", &tm);
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
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, campaign, strlen(campaign) + 1);
	EVP_DigestUpdate(ctx, low, strlen(low));
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hexenc(md, mdlen, hex, n);
}

void
message_id(const char *campaign, const char *addr, const char *host,
    char *out, size_t outsz)
{
	char	 hex[33];

	message_hash(campaign, addr, hex, sizeof hex);
	snprintf(out, outsz, "<%s.%s@%s>", hex, campaign, host);
}

/* One MIME part: headers and QP body of an expanded template. */
static void
message_part(const char *type, const char *tpl, const struct message_in *in,
    int html, struct buf *out)
{
	struct buf	 body;

	buf_init(&body);
	message_expand(tpl, in, html, &body);
	buf_printf(out, "Content-Type: %s; charset=UTF-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", type);
	message_qp(body.data, body.len, out);
	buf_adds(out, "\r\n");
	buf_free(&body);
}

int
message_render(const struct message_in *in, struct buf *out, char **cause)
{
	const struct campaign	*c = in->campaign;
	char			 date[64], mid[MESSAGE_ID_MAX], hash[33];
	char			 boundary[64];
	int			 both;

	if (!campaign_header_safe(in->to_addr) || (in->to_name != NULL &&
	    !campaign_header_safe(in->to_name)) ||
	    !campaign_header_safe(c->subject) ||
	    (c->from_name != NULL && !campaign_header_safe(c->from_name)))
		return set_cause(cause, "refusing a header value with a line "
		    "break or control character");
	message_format_date(in->date, date, sizeof date);
	message_id(c->id, in->to_addr, in->hostname, mid, sizeof mid);
	message_mailbox("From", c->from_name, c->from_addr, out);
	message_mailbox("To", in->to_name, in->to_addr, out);
	if (c->reply_to != NULL)
		buf_printf(out, "Reply-To: <%s>\r\n", c->reply_to);
	message_encode_header("Subject", c->subject, out);
	buf_printf(out, "Date: %s\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n",
	    date, mid);
	buf_printf(out, "List-Id: <%s>\r\n", c->list);
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
	both = c->text != NULL && *c->text != '\0' && c->html != NULL &&
	    *c->html != '\0';
	if (!both) {
		if (c->html != NULL && *c->html != '\0')
			message_part("text/html", c->html, in, 1, out);
		else
			message_part("text/plain", c->text, in, 0, out);
		return 0;
	}
	message_hash(c->id, in->to_addr, hash, 17);
	snprintf(boundary, sizeof boundary, "=_manners_%s", hash);
	buf_printf(out, "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"%s\"\r\n\r\nThis is a MIME message.\r\n\r\n"
	    "--%s\r\n", boundary, boundary);
	message_part("text/plain", c->text, in, 0, out);
	buf_printf(out, "--%s\r\n", boundary);
	message_part("text/html", c->html, in, 1, out);
	buf_printf(out, "--%s--\r\n", boundary);
	return 0;
}
