/*
 * log.h: one line per event on stderr, "level: message key=value ...".
 * Under systemd (JOURNAL_STREAM set) each line carries a <N> syslog
 * priority prefix so the journal records the level.  A message is escaped
 * after formatting, so whatever a value holds, a line stays one line.
 */
#ifndef MANNERS_LOG_H
#define MANNERS_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

void	log_init(int, const char *);
void	log_setlevel(int);
int	log_getlevel(void);
size_t	log_escape(const char *, size_t, char *, size_t);
/* An error the daemon survives (a reload refused): logged as error. */
void	log_errorx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif
