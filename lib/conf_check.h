/*
 * conf_check.h: the values that become links in every message
 * (public_url, unsubscribe_mailto), checked when the file is read, and
 * the advice `mannersd -t` and start-up print about a valid file.
 */
#ifndef MANNERS_CONF_CHECK_H
#define MANNERS_CONF_CHECK_H

struct conf;

/*
 * public_url: http:// or https://, a host, an optional path; no query or
 * fragment (manners appends /u/TOKEN), no space, quote or angle bracket.
 * Trailing slashes are dropped, so links never read //u/TOKEN.  Returns
 * 0 with *out (the caller frees) or -1 with *cause.
 */
int	conf_check_public_url(const char *, char **, char **);
/*
 * unsubscribe_mailto: an address, with or without "mailto:" (dropped in
 * *out); no "?" (manners adds ?subject=), space or angle bracket.
 */
int	conf_check_mailto(const char *, char **, char **);
/* Call warn(arg, text) for each thing worth a warning in a valid conf. */
void	conf_check_advice(const struct conf *,
	    void (*)(void *, const char *), void *);

#endif
