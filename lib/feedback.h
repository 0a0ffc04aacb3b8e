/*
 * feedback.h: what a message that comes back to the sender says, read
 * with GMime: a delivery status notification (RFC 3464, or a bounce in
 * no standard form that quotes the original), a complaint report (ARF,
 * RFC 5965), a mail to the mailto: unsubscribe address, or an automatic
 * reply (RFC 3834).
 *
 * feedback_parse() is pure: it reads no clock, no store and no key.  It
 * classifies the message and collects every token candidate it carries,
 * with where it was found; the caller verifies them, and attributes the
 * message to a recipient only through a token that verifies, so a forged
 * bounce or complaint that names an address changes nothing.
 */
#ifndef MANNERS_FEEDBACK_H
#define MANNERS_FEEDBACK_H

#include <stddef.h>

/* Largest message read (a bounce quotes at most the original message,
 * and manners' own messages are refused above max_html and friends). */
#define FEEDBACK_MAX_BYTES	(10 * 1024 * 1024)
/* Most MIME parts visited, and most message/rfc822 levels entered. */
#define FEEDBACK_MAX_PARTS	256
#define FEEDBACK_MAX_DEPTH	8
/* Most multipart or message containers a message may declare at all:
 * the MIME parser recurses once per level, so a deeper nest is refused
 * before it is parsed. */
#define FEEDBACK_MAX_CONTAINERS	512
/* Most token candidates kept, and the longest candidate. */
#define FEEDBACK_MAX_TOKENS	16
#define FEEDBACK_TOKEN_MIN	16
#define FEEDBACK_TOKEN_MAX	56

enum feedback_kind {
	FEEDBACK_OTHER = 0,	/* nothing to act on (a success DSN, a reply) */
	FEEDBACK_BOUNCE,	/* DSN Action: failed with a 5.x.x status */
	FEEDBACK_DELAY,		/* Action: delayed, or a 4.x.x status */
	FEEDBACK_COMPLAINT,	/* ARF Feedback-Type: abuse or fraud */
	FEEDBACK_UNSUBSCRIBE,	/* a mail client's mailto: unsubscribe */
	FEEDBACK_AUTO_REPLY	/* vacation notice, Auto-Submitted */
};

/* Where a token candidate stood, from the most to the least direct. */
enum feedback_where {
	FEEDBACK_AT_RCPT,	/* the envelope recipient given by the MTA */
	FEEDBACK_AT_HEADER,	/* this message's To, Delivered-To, ... */
	FEEDBACK_AT_SUBJECT,	/* this message's Subject */
	FEEDBACK_AT_BODY,	/* this message's own text */
	FEEDBACK_AT_QUOTED	/* the original message quoted in a report */
};

/* The shape a candidate had. */
enum feedback_shape {
	FEEDBACK_VERP,		/* +TOKEN@ in an address: the return path */
	FEEDBACK_LINK,		/* /u/TOKEN in a URL: the unsubscribe link */
	FEEDBACK_BARE		/* a token alone, as a mailto: subject has it */
};

struct feedback_token {
	enum feedback_where	 where;
	enum feedback_shape	 shape;
	char			 tok[FEEDBACK_TOKEN_MAX + 1];
};

struct feedback {
	enum feedback_kind	 kind;
	char			 status[16];	/* "5.1.1", or "" */
	char			 diagnostic[256]; /* the relay's words, one line */
	char			 feedback_type[32]; /* ARF's, lower case */
	char			 reported[256];	/* the address a report names:
						   for logs, never trusted */
	int			 bad_mailbox;	/* status says the address is
						   bad: suppress it */
	size_t			 ntokens;
	struct feedback_token	 tokens[FEEDBACK_MAX_TOKENS];
};

struct feedback_opts {
	const char	*rcpt;		/* envelope recipient, or NULL */
	const char	*unsubscribe_addr; /* the mailto: address, or NULL */
};

/*
 * Read the len bytes of msg (RFC 5322, CRLF or LF) into *out.  Returns
 * 0, or -1 with *cause set when the message cannot be read at all (over
 * FEEDBACK_MAX_BYTES, containers nested past FEEDBACK_MAX_CONTAINERS,
 * not a message): such a message is refused, not guessed at.
 */
int		 feedback_parse(const void *, size_t, const struct feedback_opts *,
		    struct feedback *, char **);
 /*
 * The envelope sender that brings a message's feedback back: the
 * configured return_path "local@domain" with "+TOKEN" after the local
 * part.  Returns 0, or -1 with *cause set when return_path is not one
 * plain address or the local part would pass RFC 5321's 64 octets.
 */
int		 feedback_return_path(const char *, const char *, char *, size_t,
		    char **);
/* "bounce", "delay", "complaint", "unsubscribe", "auto_reply", "other". */
const char	*feedback_kind_name(enum feedback_kind);
/* "rcpt", "header", "subject", "body", "quoted". */
const char	*feedback_where_name(enum feedback_where);

#endif
