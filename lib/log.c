/*
 * log.c: levelled logging to stderr.
 *
 * The level and the journal flag are process-wide settings made once at
 * start-up (and by -v/-q); they are the only statics in libmanners.
 *
 * Every message is escaped whole after formatting (log_escape), so no
 * value a client sent -- a campaign id, a list, an address, a parser's
 * message -- can end a line or write one that looks like ours: control
 * characters, C1 controls, line separators, invalid UTF-8 and the
 * backslash itself come out as visible escapes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static int		 log_level = LOG_LVL_INFO;
static int		 log_journal;
static const char	*log_names[] = { "error", "warn", "info", "debug" };
static const int	 log_prio[] = { 3, 4, 6, 7 };

/* Choose the verbosity and detect the journal. */
void
log_init(int level, const char *progname)
{
	(void)progname;
	log_level = level;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

/* Change the verbosity (SIGHUP, tests). */
void
log_setlevel(int level)
{
	log_level = level;
}

/* The verbosity now. */
int
log_getlevel(void)
{
	return log_level;
}

/* How many bytes of valid UTF-8 start at p (1-4), or 0; sets *cp. */
static size_t
log_utf8(const unsigned char *p, size_t len, unsigned *cp)
{
	static const struct {
		unsigned char	 lead_mask, lead;	/* the first byte */
		size_t		 n;
		unsigned	 min;			/* no overlong form */
	} forms[] = {
		{ 0xe0, 0xc0, 2, 0x80 },
		{ 0xf0, 0xe0, 3, 0x800 },
		{ 0xf8, 0xf0, 4, 0x10000 },
	};
	size_t		 f, i;
	unsigned	 c;

	for (f = 0; f < sizeof forms / sizeof forms[0]; f++) {
		if ((p[0] & forms[f].lead_mask) != forms[f].lead)
			continue;
		if (len < forms[f].n)
			return 0;
		c = p[0] & (0x7fU >> forms[f].n);
		for (i = 1; i < forms[f].n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (p[i] & 0x3f);
		}
		/* Overlong forms, surrogates and beyond U+10FFFF are not
		   UTF-8 but ways to smuggle a byte past a check. */
		if (c < forms[f].min || (c >= 0xd800 && c <= 0xdfff) ||
		    c > 0x10ffff)
			return 0;
		*cp = c;
		return forms[f].n;
	}
	return 0;
}

/* Escape one byte or character into e (at least 7 bytes); its length. */
static size_t
log_escape_one(const unsigned char *p, size_t len, size_t *used, char *e)
{
	unsigned	 cp;
	size_t		 n;

	*used = 1;
	switch (p[0]) {
	case '\\':
		return (size_t)snprintf(e, 7, "\\\\");
	case '\n':
		return (size_t)snprintf(e, 7, "\\n");
	case '\r':
		return (size_t)snprintf(e, 7, "\\r");
	case '\t':
		return (size_t)snprintf(e, 7, "\\t");
	}
	if (p[0] < 0x20 || p[0] == 0x7f)
		return (size_t)snprintf(e, 7, "\\x%02x", p[0]);
	if (p[0] < 0x80) {
		e[0] = (char)p[0];
		return 1;
	}
	if ((n = log_utf8(p, len, &cp)) == 0)
		return (size_t)snprintf(e, 7, "\\x%02x", p[0]);
	*used = n;
	/* C1 controls and the Unicode line and paragraph separators end
	   or rewrite lines in some viewers. */
	if (cp <= 0x9f || cp == 0x2028 || cp == 0x2029)
		return (size_t)snprintf(e, 7, "\\u%04x", cp);
	memcpy(e, p, n);
	return n;
}

/*
 * Write in[0..len) to out (NUL-terminated, at most outsz bytes) with every
 * control character, invalid UTF-8 byte and backslash escaped; an escape
 * is never cut in half.  Returns the length written.
 */
size_t
log_escape(const char *in, size_t len, char *out, size_t outsz)
{
	const unsigned char	*p = (const unsigned char *)in;
	char			 e[8];
	size_t			 i = 0, o = 0, used, n;

	if (outsz == 0)
		return 0;
	while (i < len) {
		n = log_escape_one(p + i, len - i, &used, e);
		if (o + n >= outsz)
			break;
		memcpy(out + o, e, n);
		o += n;
		i += used;
	}
	out[o] = '\0';
	return o;
}

static void	log_vwrite(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/* Format, escape and write one line. */
static void
log_vwrite(int level, int errnum, const char *fmt, va_list ap)
{
	char	 raw[4096], msg[4 * sizeof raw];
	int	 n;

	if (level > log_level)
		return;
	if ((n = vsnprintf(raw, sizeof raw, fmt, ap)) < 0)
		n = 0;
	log_escape(raw, (size_t)n < sizeof raw ? (size_t)n : sizeof raw - 1,
	    msg, sizeof msg);
	if (log_journal)
		fprintf(stderr, "<%d>", log_prio[level]);
	if (errnum != 0)
		fprintf(stderr, "%s: %s: %s\n", log_names[level], msg,
		    strerror(errnum));
	else
		fprintf(stderr, "%s: %s\n", log_names[level], msg);
}

void
log_errorx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_WARN, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;
	int	 saved = errno;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
