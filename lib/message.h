/*
 * message.h: rendering one campaign message for one recipient as an
 * RFC 5322 / MIME document with CRLF line ends, ready for SMTP DATA
 * (libcurl does the dot-stuffing).
 */
#ifndef MANNERS_MESSAGE_H
#define MANNERS_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

struct campaign;

#define MESSAGE_ID_MAX	160

struct message_in {
	const struct campaign	*campaign;
	const char		*to_addr;
	const char		*to_name;	/* NULL: none */
	const char		*unsub_url;	/* NULL: no List-Unsubscribe */
	const char		*unsub_mailto;	/* NULL: none */
	const char		*hostname;	/* right side of Message-ID */
	const char		*feedback_id;	/* NULL: no Feedback-ID */
	int64_t			 date;		/* for the Date: header */
	int			 plain;		/* the reader wants text/plain
						   only */
};

int	message_render(const struct message_in *, struct buf *, char **);
/*
 * The same in two steps: a campaign's bodies compiled once (encoded
 * around the per-recipient placeholders), then one message per recipient.
 */
struct message_tpl;
struct message_tpl *message_tpl_new(const struct campaign *);
struct message_tpl *message_tpl_ref(struct message_tpl *);
int	message_render_tpl(const struct message_tpl *,
	    const struct message_in *, struct buf *, char **);
/* Drops a reference; the last one frees it. */
void	message_tpl_free(struct message_tpl *);

/*
 * A rendered message as pieces: the recipient's own bytes (headers,
 * values) and, by reference, the template's larger encoded runs, so a
 * big body is not copied per recipient.  The template must outlive it.
 */
struct message_piece {
	const char	*ext;		/* NULL: in own, at off */
	size_t		 off;
	size_t		 len;
};

struct message_out {
	struct buf		 own;
	struct message_piece	*p;
	size_t			 n;
	size_t			 cap;
	size_t			 len;		/* of the whole message */
	size_t			 mark;
};

void	message_out_init(struct message_out *);
void	message_out_free(struct message_out *);
int	message_render_out(const struct message_tpl *,
	    const struct message_in *, struct message_out *, char **);
/* Copy up to `len` bytes from the position (*pi, *off) and advance it. */
size_t	message_out_read(const struct message_out *, size_t *, size_t *,
	    char *, size_t);
/* <HASH.CAMPAIGN@HOST>: the same for the same campaign and recipient. */
void	message_id(const char *, const char *, const char *, char *, size_t);
/* Body template substitution: {{name}}, {{name|fallback}}, {{address}},
 * {{unsubscribe_url}}; `html` escapes the substituted values. */
void	message_expand(const char *, const struct message_in *, int,
	    struct buf *);
void	message_qp(const char *, size_t, struct buf *);
void	message_encode_header(const char *, const char *, struct buf *);
void	message_format_date(int64_t, char *, size_t);

#endif
