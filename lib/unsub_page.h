/*
 * unsub_page.h: the public unsubscribe pages, as pure functions: HTML
 * rendering, address masking, the Content-Security-Policy that matches
 * the pages, and the parser of what their forms (or a mail provider's
 * RFC 8058 one-click request) send back.
 *
 * Every value that reaches a page is HTML-escaped; the pages carry no
 * script, one inline style sheet (allowed by its hash in unsub_page_csp()) and
 * forms that POST back to the page's own URL.
 */
#ifndef MANNERS_UNSUB_PAGE_H
#define MANNERS_UNSUB_PAGE_H

#include <stddef.h>

#include "form.h"
#include "i18n.h"
#include "prefs.h"

struct buf;

/* The bounds of form.h, under the names the page's callers know. */
#define UNSUB_PAGE_FORM_MAX		FORM_MAX
#define UNSUB_PAGE_FIELD_MAX		FORM_FIELD_MAX
#define UNSUB_PAGE_PARTS_MAX		FORM_PARTS_MAX
#define UNSUB_PAGE_BOUNDARY_MAX	FORM_BOUNDARY_MAX

/* What a recipient may ask for; the undo choices reverse the first three. */
enum unsub_page_choice {
	UNSUB_PAGE_NONE = 0,
	UNSUB_PAGE_LIST,		/* unsubscribe from this list */
	UNSUB_PAGE_ALL,		/* unsubscribe from every list */
	UNSUB_PAGE_MONTHLY,		/* at most one message a month */
	UNSUB_PAGE_UNDO_LIST,
	UNSUB_PAGE_UNDO_ALL,
	UNSUB_PAGE_UNDO_MONTHLY,	/* no cap of one's own */
	UNSUB_PAGE_WEEKLY,		/* at most one message a week */
	UNSUB_PAGE_PAUSE,		/* nothing for three months */
	UNSUB_PAGE_PLAIN,		/* plain text only */
	UNSUB_PAGE_UNDO_WEEKLY,
	UNSUB_PAGE_UNDO_PAUSE,	/* resume now */
	UNSUB_PAGE_UNDO_PLAIN	/* HTML again */
};

/* What a page talks about; strings are raw (page_* escapes them). */
struct unsub_page_info {
	const char	*list;		/* the list's name */
	const char	*addr;		/* full address; only its mask is shown */
	const char	*action;	/* the form's target, relative to the page */
	const char	*brand;		/* the sender's name; NULL: the list's */
	const char	*contact;	/* an address or URL; NULL: none */
	const struct i18n_cat *cat;	/* the reader's language; NULL: English */
	const char	*lang;		/* its tag for <html lang>; NULL: "en" */
	const char	*zone;		/* the reader's IANA time zone for
					   dates; NULL: UTC, unnamed */
	const struct prefs_view *state;	/* where the reader stands; NULL:
					   subscribed, no choices made */
};

/* What an applied choice changed, for the confirmation page. */
struct unsub_page_outcome {
	enum unsub_page_choice choice;
	int		 kept;		/* an undo that was not the recipient's
					   to make (an administrator's flag) */
	int		 blocked;	/* still unsubscribed from this list
					   afterwards (by another flag) */
};

/* The fields of a submitted form; NULL when absent. */
struct unsub_page_form {
	char	*list_unsubscribe;	/* "One-Click" for RFC 8058 */
	char	*choice;
};

/* The choice a form value names, or UNSUB_PAGE_NONE. */
enum unsub_page_choice unsub_page_choice_parse(const char *);
/* The form value of a choice ("list", "undo-all", ...). */
const char	*unsub_page_choice_name(enum unsub_page_choice);
/* The choice that reverses c (UNSUB_PAGE_NONE for an undo). */
enum unsub_page_choice unsub_page_choice_undo(enum unsub_page_choice);

/* Append s HTML-escaped (& < > " '). */
void	 unsub_page_escape(struct buf *, const char *);
/* "alice@example.org" -> "al***@example.org"; the caller frees. */
char	*unsub_page_mask_addr(const char *);

/* The Content-Security-Policy header for these pages; the caller frees. */
char	*unsub_page_csp(void);

/* The page a valid link opens: where the reader stands, and the choices. */
void	 unsub_page_choices(struct buf *, const struct unsub_page_info *);
/* The confirmation of a choice, with its undo button. */
void	 unsub_page_done(struct buf *, const struct unsub_page_info *,
	    const struct unsub_page_outcome *);
/* The answer to a form without a known choice: the choices again. */
void	 unsub_page_bad_choice(struct buf *, const struct unsub_page_info *);
/* The one page for every kind of invalid link. */
void	 unsub_page_invalid(struct buf *);
/* Anything but /u/TOKEN. */
void	 unsub_page_not_found(struct buf *);
/* A failure on our side: nothing was changed, try again later. */
void	 unsub_page_unavailable(struct buf *);
/* The same three in the reader's language (cat NULL: English). */
void	 unsub_page_invalid_in(struct buf *, const struct i18n_cat *);
void	 unsub_page_not_found_in(struct buf *, const struct i18n_cat *);
void	 unsub_page_unavailable_in(struct buf *, const struct i18n_cat *);
/* A request refused before it was read; why: the refusal (English). */
void	 unsub_page_refused_in(struct buf *, const struct i18n_cat *,
	    const char *);

/* Is a [list] contact an address or an http(s) URL a page may link? */
int	 unsub_page_contact_ok(const char *);
/*
 * A date as the reader's language writes it, in the reader's zone and
 * naming it ("March 5, 2027 (Japan Standard Time)"; no zone: UTC,
 * unnamed).
 */
void	 unsub_page_date(struct buf *, const struct unsub_page_info *,
	    int64_t);

/*
 * Parse a form body with form_parse(), keeping the fields
 * List-Unsubscribe and choice.  Returns 0, or -1 with *cause set (for
 * logs) when form_parse() refuses it; the form is then empty.
 */
int	 unsub_page_form_parse(const char *, const char *, size_t,
	    struct unsub_page_form *, char **);
void	 unsub_page_form_free(struct unsub_page_form *);
/* Does the form ask for RFC 8058 one-click? */
int	 unsub_page_form_oneclick(const struct unsub_page_form *);

#endif
