/*
 * campaign.h: the campaign document (XML), read with libxml2's streaming
 * parsers: no network, no DTD, no entity expansion.
 *
 * Reading is two passes over the same bytes.  campaign_parse() checks the
 * whole document and keeps the header (xmlTextReader); campaign_rcpt_*()
 * then walks the recipients of a checked document a 64 KB chunk at a
 * time (SAX), so a million recipients never sit in memory.
 */
#ifndef MANNERS_CAMPAIGN_H
#define MANNERS_CAMPAIGN_H

#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>

#define CAMPAIGN_ID_MAX		64
#define CAMPAIGN_NAME_MAX	200	/* display names */
#define CAMPAIGN_SUBJECT_MAX	500

struct campaign {
	char		*id;
	char		*list;
	char		*from_addr;
	char		*from_name;	/* may be NULL */
	char		*reply_to;	/* may be NULL */
	char		*subject;
	char		*text;		/* may be NULL if html is set */
	char		*html;		/* may be NULL if text is set */
	int64_t		 send_after;	/* 0: not given */
	int64_t		 expires;	/* 0: not given */
	uint64_t	 nrecipients;
};

/* What is wrong with a document: an HTTP status and each problem. */
struct campaign_error {
	int		 status;	/* 400, 413 or 422 */
	char		**problems;
	size_t		 nproblems;
};

struct campaign_rcpt {
	const char	*addr;		/* trimmed; valid until the next call */
	size_t		 addrlen;
	const char	*name;		/* NULL if none */
	const char	*tz;		/* NULL if none: an IANA zone name's
					   characters, checked by pass one */
	unsigned	 line;
};

struct campaign_rcpts;

int		 campaign_parse(const char *, size_t, uint64_t,
		     struct campaign **, struct campaign_error *);
/* The same over a document in pieces (which must outlive the call). */
int		 campaign_parse_iov(const struct iovec *, size_t, uint64_t,
		     struct campaign **, struct campaign_error *);
void		 campaign_free(struct campaign *);
void		 campaign_error_free(struct campaign_error *);

/*
 * Pass one in two halves, so that the header can be used (weighed,
 * admitted) while the recipients are still being checked: see
 * campaign.c.  The pieces must outlive the reading.
 */
struct campaign_reading;
#define CAMPAIGN_LATE_HEADER	1
int		 campaign_read_head(const struct iovec *, size_t, uint64_t,
		     int, struct campaign **, struct campaign_reading **,
		     struct campaign_error *);
int		 campaign_read_rest(struct campaign_reading *,
		     struct campaign_error *);
void		 campaign_reading_free(struct campaign_reading *);

struct campaign_rcpts *campaign_rcpt_open(const char *, size_t);
/* The pieces must stay in place until campaign_rcpt_close(). */
struct campaign_rcpts *campaign_rcpt_open_iov(const struct iovec *, size_t);
/* The same, parsed ahead on a thread of its own (NULL: no thread). */
struct campaign_rcpts *campaign_rcpt_open_ahead(const struct iovec *, size_t);
int		 campaign_rcpt_next(struct campaign_rcpts *,
		     struct campaign_rcpt *);
void		 campaign_rcpt_close(struct campaign_rcpts *);

/* RFC 3339 date-time ("2026-11-23T09:00:00Z", offsets allowed). */
int		 campaign_parse_time(const char *, int64_t *);
/* Campaign ids: 1..64 of [A-Za-z0-9._-]. */
int		 campaign_valid_id(const char *);
/* A <to tz="...">: 1..QUIET_ZONE_MAX of [A-Za-z0-9/_+-] (known or not). */
int		 campaign_valid_tz(const char *);
/* Header text must hold no control characters (CR, LF, NUL, ...). */
int		 campaign_header_safe(const char *);

#endif
