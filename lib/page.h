/*
 * page.h: the public unsubscribe pages, as pure functions: HTML
 * rendering, address masking, the Content-Security-Policy that matches
 * the pages, and the parser of what their forms (or a mail provider's
 * RFC 8058 one-click request) send back.
 *
 * Every value that reaches a page is HTML-escaped; the pages carry no
 * script, one inline style sheet (allowed by its hash in page_csp()) and
 * forms that POST back to the page's own URL.
 */
#ifndef MANNERS_PAGE_H
#define MANNERS_PAGE_H

#include <stddef.h>

struct buf;

/* Largest form body a page accepts, and largest kept field value. */
#define PAGE_FORM_MAX		(16 * 1024)
#define PAGE_FIELD_MAX		256
/* Most parts in a multipart body, longest multipart boundary (RFC 2046). */
#define PAGE_PARTS_MAX		32
#define PAGE_BOUNDARY_MAX	70

/* What a recipient may ask for; the undo choices reverse the first three. */
enum page_choice {
	PAGE_NONE = 0,
	PAGE_LIST,		/* unsubscribe from this list */
	PAGE_ALL,		/* unsubscribe from every list */
	PAGE_MONTHLY,		/* at most one message a month */
	PAGE_UNDO_LIST,
	PAGE_UNDO_ALL,
	PAGE_UNDO_MONTHLY
};

/* What a page talks about; strings are raw (page_* escapes them). */
struct page_info {
	const char	*list;		/* the list's name */
	const char	*addr;		/* full address; only its mask is shown */
	const char	*action;	/* the form's target, relative to the page */
};

/* What an applied choice changed, for the confirmation page. */
struct page_outcome {
	enum page_choice choice;
	int		 kept;		/* an undo that was not the recipient's
					   to make (an administrator's flag) */
	int		 blocked;	/* still unsubscribed from this list
					   afterwards (by another flag) */
};

/* The fields of a submitted form; NULL when absent. */
struct page_form {
	char	*list_unsubscribe;	/* "One-Click" for RFC 8058 */
	char	*choice;
};

/* The choice a form value names, or PAGE_NONE. */
enum page_choice page_choice_parse(const char *);
/* The form value of a choice ("list", "undo-all", ...). */
const char	*page_choice_name(enum page_choice);
/* The choice that reverses c (PAGE_NONE for an undo). */
enum page_choice page_choice_undo(enum page_choice);

/* Append s HTML-escaped (& < > " '). */
void	 page_escape(struct buf *, const char *);
/* "alice@example.org" -> "al***@example.org"; the caller frees. */
char	*page_mask_addr(const char *);

/* The Content-Security-Policy header for these pages; the caller frees. */
char	*page_csp(void);

/* The page a valid link opens: the three choices. */
void	 page_choices(struct buf *, const struct page_info *);
/* The confirmation of a choice, with its undo button. */
void	 page_done(struct buf *, const struct page_info *,
	    const struct page_outcome *);
/* The answer to a form without a known choice: the choices again. */
void	 page_bad_choice(struct buf *, const struct page_info *);
/* The one page for every kind of invalid link. */
void	 page_invalid(struct buf *);
/* Anything but /u/TOKEN. */
void	 page_not_found(struct buf *);
/* A failure on our side: nothing was changed, try again later. */
void	 page_unavailable(struct buf *);

/*
 * Parse a form body by its Content-Type: multipart/form-data (with its
 * boundary), else application/x-www-form-urlencoded.  Keeps the fields
 * List-Unsubscribe and choice; others are skipped.  Returns 0, or -1
 * with *cause set (for logs) when the body is malformed, truncated or
 * over the bounds above; the form is then empty.
 */
int	 page_form_parse(const char *, const char *, size_t,
	    struct page_form *, char **);
void	 page_form_free(struct page_form *);
/* Does the form ask for RFC 8058 one-click? */
int	 page_form_oneclick(const struct page_form *);

#endif
