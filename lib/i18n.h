/*
 * i18n.h: the page texts in the reader's language, from GNU gettext
 * catalogs (po/LANG.po in the tree, compiled by msgfmt at build time into
 * LOCALEDIR/LANG/LC_MESSAGES/manners.mo), and the choice of a language
 * from a request's Accept-Language.
 *
 * Why not gettext(3) itself: its language comes from the process's
 * locale (setlocale, LANGUAGE), one for the whole process, while one
 * event loop answers readers of many languages request after request;
 * switching the global locale per request would be wrong the moment two
 * threads looked, and uselocale() needs every language's system locale
 * generated on the host (locale-gen), which a mail server rarely has.
 * So each catalog is read once at start into an immutable table in the
 * .mo format msgfmt writes (documented in the gettext manual, "The
 * Format of GNU MO Files") and looked up by binary search: no global
 * state, safe from any thread, nothing read per request.
 *
 * The source texts are English; English needs no catalog.
 */
#ifndef MANNERS_I18N_H
#define MANNERS_I18N_H

#include <stddef.h>
#include <stdint.h>

#define I18N_DOMAIN	"manners"
#define I18N_LANG_MAX	16
#define I18N_MAX_LANGS	32

/* One language's compiled catalog. */
struct i18n_cat;

/* Every catalog loaded, and the default language. */
struct i18n_set {
	struct i18n_cat	*cats[I18N_MAX_LANGS];
	size_t		 n;
};

/* Mark a text for xgettext without translating it here. */
#define N_(s)	(s)

/*
 * Read one .mo file for language `lang`; NULL and *cause when it is not
 * a well-formed catalog (every offset is checked).
 */
struct i18n_cat	*i18n_cat_load(const char *, const char *, char **);
/* The same from memory (copied), for tests. */
struct i18n_cat	*i18n_cat_from(const char *, const void *, size_t, char **);
void		 i18n_cat_free(struct i18n_cat *);
const char	*i18n_cat_lang(const struct i18n_cat *);

/*
 * Load dir/LANG/LC_MESSAGES/manners.mo for every LANG under dir.  A
 * missing dir is an empty set; a bad catalog is an error.
 */
int		 i18n_set_load(struct i18n_set *, const char *, char **);
void		 i18n_set_free(struct i18n_set *);
/* The catalog of a language tag ("de", "de-AT" falls back to "de"). */
const struct i18n_cat *i18n_set_find(const struct i18n_set *, const char *);

/* msgid translated, or msgid itself (cat NULL: English). */
const char	*i18n_text(const struct i18n_cat *, const char *);

/*
 * The language to answer in: the Accept-Language entry with the highest
 * q-value (first wins a tie) that is English or has a catalog, else
 * `dflt`.  Malformed entries are skipped; a header longer than
 * I18N_ACCEPT_MAX or with more than I18N_ACCEPT_ENTRIES entries is read
 * only that far.  Writes the tag ("en", "de", ...) into lang.
 */
#define I18N_ACCEPT_MAX		1024
#define I18N_ACCEPT_ENTRIES	32
const struct i18n_cat *i18n_negotiate(const struct i18n_set *, const char *,
		    const char *, char *, size_t);

/*
 * The calendar date of instant t (unix seconds) in IANA zone `zone`, as
 * language `lang` ("en", "de", ...) writes it in full, by ICU:
 * "January 16, 2027", "16. Januar 2027".  With a zone, its name in that
 * language follows in parentheses, "(Japan Standard Time)"; zone NULL is
 * UTC, unnamed.  UTF-8 into out (I18N_DATE_MAX bytes suffice); 0, or -1
 * when ICU cannot (out is then the UTC date as 2027-01-16).
 */
#define I18N_DATE_MAX		256
int		 i18n_date(const char *, const char *, int64_t, char *,
		    size_t);

#endif
