/*
 * smtp_reply.c: classifying SMTP replies.
 *
 * A permanent failure of the address itself (RFC 3463 5.1.1 bad
 * mailbox, 5.1.2 bad destination system, 5.1.10 null MX, or a plain 550
 * that says the user is unknown) suppresses the address for good; any
 * other 5xx fails only this message.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "smtp_reply.h"

/* Phrases relays use for "no such mailbox" without an enhanced code. */
static const char *reply_unknown_user[] = {
	"user unknown", "unknown user", "no such user", "no such mailbox",
	"mailbox unavailable", "mailbox not found", "does not exist",
	"recipient address rejected", "invalid recipient", "unknown recipient",
	"address rejected", "no mailbox"
};

void
smtp_reply_enhanced(const char *line, char *out, size_t outsz)
{
	const char	*p = line;
	size_t		 n;

	out[0] = '\0';
	if (line == NULL || outsz == 0)
		return;
	/* Skip the three-digit code and its separator. */
	while (isdigit((unsigned char)*p))
		p++;
	while (*p == ' ' || *p == '-')
		p++;
	if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.')
		return;
	n = 2;
	while (isdigit((unsigned char)p[n]))
		n++;
	if (n == 2 || p[n] != '.')
		return;
	n++;
	if (!isdigit((unsigned char)p[n]))
		return;
	while (isdigit((unsigned char)p[n]))
		n++;
	if (p[n] != '\0' && !isspace((unsigned char)p[n]))
		return;
	snprintf(out, outsz, "%.*s", (int)n, p);
}

/* Case-insensitive substring search. */
static int
reply_contains(const char *hay, const char *needle)
{
	size_t	 n = strlen(needle);

	for (; *hay != '\0'; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return 1;
	return 0;
}

enum smtp_reply_verdict
smtp_reply_classify(long code, const char *line)
{
	char	 enh[16];
	size_t	 i;

	if (code >= 200 && code < 300)
		return SMTP_REPLY_SENT;
	if (code < 500 || code >= 600)
		return SMTP_REPLY_RETRY;
	smtp_reply_enhanced(line, enh, sizeof enh);
	if (enh[0] != '\0') {
		if (strcmp(enh, "5.1.1") == 0 || strcmp(enh, "5.1.2") == 0 ||
		    strcmp(enh, "5.1.10") == 0)
			return SMTP_REPLY_BOUNCED;
		return SMTP_REPLY_FAILED;
	}
	if ((code == 550 || code == 553) && line != NULL)
		for (i = 0; i < sizeof reply_unknown_user /
		    sizeof reply_unknown_user[0]; i++)
			if (reply_contains(line, reply_unknown_user[i]))
				return SMTP_REPLY_BOUNCED;
	return SMTP_REPLY_FAILED;
}
