/*
 * util.h: allocation wrappers that never return NULL, a growable byte
 * buffer, and small parsing helpers shared by every module.
 */
#ifndef MANNERS_UTIL_H
#define MANNERS_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define nitems(a) (sizeof(a) / sizeof((a)[0]))

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
void	*xreallocarray(void *, size_t, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
int	 xasprintf(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
int	 xvasprintf(char **, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));

/* A growable byte buffer; always NUL-terminated after data[len]. */
struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
void	 buf_reserve(struct buf *, size_t);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Hand the data over to the caller (never NULL) and reset the buffer. */
char	*buf_steal(struct buf *, size_t *);

/* Set *cause (if not NULL) to a formatted message; always returns -1. */
int	 set_cause(char **, const char *, ...)
	    __attribute__((format(printf, 2, 3)));

int	 strcaseprefix(const char *, const char *);
/* Lower-case ASCII copy. */
char	*xstrtolower(const char *);

/*
 * Lower-case hex of len bytes into out (outsz bytes, NUL included),
 * truncated to whole bytes when out is short.
 */
void	 hexenc(const void *, size_t, char *, size_t);
/* The value of a hex digit (either case), or -1. */
int	 hexdigit(int);

/* 64-bit big-endian helpers for sortable keys (inline: every record
 * and key of the store goes through them). */
static inline void
be64enc(void *p, uint64_t v)
{
	unsigned char	*b = p;
	int		 i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

static inline uint64_t
be64dec(const void *p)
{
	const unsigned char	*b = p;
	uint64_t		 v = 0;
	int			 i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

#endif
