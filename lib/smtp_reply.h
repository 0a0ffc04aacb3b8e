/*
 * smtp_reply.h: what an SMTP relay's answer means for a job.
 */
#ifndef MANNERS_SMTP_REPLY_H
#define MANNERS_SMTP_REPLY_H

enum smtp_reply_verdict {
	SMTP_REPLY_SENT,		/* 2xx after DATA */
	SMTP_REPLY_RETRY,		/* 4xx, timeout, connection trouble */
	SMTP_REPLY_FAILED,		/* 5xx: this message will never go */
	SMTP_REPLY_BOUNCED		/* 5xx for the address itself: suppress it */
};

/*
 * code: the last SMTP reply code (0 when there was none: the connection
 * failed or timed out); line: that reply's text, or NULL.
 */
enum smtp_reply_verdict	 smtp_reply_classify(long, const char *);
/* The enhanced status code ("5.1.1") in a reply line, or "" if none. */
void			 smtp_reply_enhanced(const char *, char *, size_t);

#endif
