/*
 * i18n.c: GNU MO catalogs read once, looked up without global state, and
 * Accept-Language negotiation (i18n.h says why not gettext(3) itself).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <unicode/udat.h>
#include <unicode/ustring.h>

#include "i18n.h"
#include "quiet.h"
#include "util.h"

#define MO_MAGIC	0x950412deU
#define MO_MAGIC_SWAP	0xde120495U
#define MO_MAX_SIZE	(4U << 20)	/* far above any page's texts */

struct i18n_cat {
	char		 lang[I18N_LANG_MAX];
	char		*data;
	size_t		 size;
	uint32_t	 n;
	uint32_t	 orig;		/* offset of the original strings' table */
	uint32_t	 trans;		/* of the translations' */
	int		 swap;
};

static uint32_t
mo_u32(const struct i18n_cat *c, size_t off)
{
	uint32_t	 v;

	memcpy(&v, c->data + off, 4);
	if (c->swap)
		v = __builtin_bswap32(v);
	return v;
}

/* String i of a table, after i18n_cat_check() has vouched for it. */
static const char *
mo_str(const struct i18n_cat *c, uint32_t table, uint32_t i)
{
	return c->data + mo_u32(c, (size_t)table + 8 * (size_t)i + 4);
}

/* Does entry i of a table lie inside the file, NUL-terminated? */
static int
mo_entry_ok(const struct i18n_cat *c, uint32_t table, uint32_t i)
{
	size_t	 at = (size_t)table + 8 * (size_t)i;
	uint32_t len, off;

	if (at + 8 > c->size)
		return 0;
	len = mo_u32(c, at);
	off = mo_u32(c, at + 4);
	return (size_t)off + len < c->size && c->data[(size_t)off + len] == '\0';
}

/* Check the header, every entry, and the originals' order. */
static int
i18n_cat_check(struct i18n_cat *c, char **cause)
{
	uint32_t	 magic, i;

	if (c->size < 28)
		return set_cause(cause, "%s: too short for a catalog",
		    c->lang);
	memcpy(&magic, c->data, 4);
	if (magic != MO_MAGIC && magic != MO_MAGIC_SWAP)
		return set_cause(cause, "%s: not a GNU MO file", c->lang);
	c->swap = magic == MO_MAGIC_SWAP;
	if ((mo_u32(c, 4) >> 16) > 1)
		return set_cause(cause, "%s: MO revision %u is unknown",
		    c->lang, mo_u32(c, 4) >> 16);
	c->n = mo_u32(c, 8);
	c->orig = mo_u32(c, 12);
	c->trans = mo_u32(c, 16);
	for (i = 0; i < c->n; i++) {
		if (!mo_entry_ok(c, c->orig, i) || !mo_entry_ok(c, c->trans, i))
			return set_cause(cause, "%s: entry %u lies outside the "
			    "file", c->lang, i);
		if (i > 0 && strcmp(mo_str(c, c->orig, i - 1),
		    mo_str(c, c->orig, i)) >= 0)
			return set_cause(cause, "%s: entries are not sorted "
			    "(not written by msgfmt?)", c->lang);
	}
	return 0;
}

struct i18n_cat *
i18n_cat_from(const char *lang, const void *p, size_t len, char **cause)
{
	struct i18n_cat	*c;

	if (strlen(lang) >= I18N_LANG_MAX) {
		set_cause(cause, "language tag too long: %.32s", lang);
		return NULL;
	}
	c = xcalloc(1, sizeof *c);
	snprintf(c->lang, sizeof c->lang, "%s", lang);
	c->data = xmalloc(len + 1);
	memcpy(c->data, p, len);
	c->size = len;
	if (i18n_cat_check(c, cause) == -1) {
		i18n_cat_free(c);
		return NULL;
	}
	return c;
}

struct i18n_cat *
i18n_cat_load(const char *lang, const char *path, char **cause)
{
	struct i18n_cat	*c;
	FILE		*f;
	char		*buf;
	size_t		 n;

	if ((f = fopen(path, "rb")) == NULL) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(MO_MAX_SIZE + 1);
	n = fread(buf, 1, MO_MAX_SIZE + 1, f);
	fclose(f);
	if (n > MO_MAX_SIZE) {
		free(buf);
		set_cause(cause, "%s: larger than %u bytes", path, MO_MAX_SIZE);
		return NULL;
	}
	c = i18n_cat_from(lang, buf, n, cause);
	free(buf);
	if (c == NULL && cause != NULL && *cause != NULL) {
		char	*was = *cause;

		set_cause(cause, "%s: %s", path, was);
		free(was);
	}
	return c;
}

void
i18n_cat_free(struct i18n_cat *c)
{
	if (c == NULL)
		return;
	free(c->data);
	free(c);
}

const char *
i18n_cat_lang(const struct i18n_cat *c)
{
	return c != NULL ? c->lang : "en";
}

const char *
i18n_text(const struct i18n_cat *c, const char *msgid)
{
	uint32_t	 lo = 0, hi, mid;
	int		 cmp;

	if (c == NULL || *msgid == '\0')
		return msgid;
	hi = c->n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(msgid, mo_str(c, c->orig, mid));
		if (cmp == 0) {
			const char	*t = mo_str(c, c->trans, mid);

			return *t != '\0' ? t : msgid;
		}
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return msgid;
}

/* Is s a plausible language directory name (de, pt_BR)? */
static int
i18n_lang_name_ok(const char *s)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++)
		if (!isalpha((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return i >= 2 && i < I18N_LANG_MAX;
}

int
i18n_set_load(struct i18n_set *set, const char *dir, char **cause)
{
	struct dirent	*e;
	struct i18n_cat	*c;
	DIR		*d;
	char		*path;

	memset(set, 0, sizeof *set);
	if ((d = opendir(dir)) == NULL)
		return errno == ENOENT ? 0 : set_cause(cause, "%s: %s", dir,
		    strerror(errno));
	while ((e = readdir(d)) != NULL && set->n < I18N_MAX_LANGS) {
		if (!i18n_lang_name_ok(e->d_name))
			continue;
		xasprintf(&path, "%s/%s/LC_MESSAGES/%s.mo", dir, e->d_name,
		    I18N_DOMAIN);
		c = i18n_cat_load(e->d_name, path, cause);
		free(path);
		if (c == NULL) {
			if (cause != NULL && *cause != NULL &&
			    strstr(*cause, strerror(ENOENT)) != NULL) {
				free(*cause);
				*cause = NULL;
				continue;	/* another program's language */
			}
			closedir(d);
			i18n_set_free(set);
			return -1;
		}
		set->cats[set->n++] = c;
	}
	closedir(d);
	return 0;
}

void
i18n_set_free(struct i18n_set *set)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		i18n_cat_free(set->cats[i]);
	set->n = 0;
}

/* The catalog of a tag: exact ("pt-BR" is "pt_BR"), then its language. */
const struct i18n_cat *
i18n_set_find(const struct i18n_set *set, const char *tag)
{
	char	 want[I18N_LANG_MAX];
	size_t	 i, len;

	for (len = 0; tag[len] != '\0' && len + 1 < sizeof want; len++)
		want[len] = tag[len] == '-' ? '_' : tag[len];
	want[len] = '\0';
	for (;;) {
		for (i = 0; i < set->n; i++)
			if (strcasecmp(set->cats[i]->lang, want) == 0)
				return set->cats[i];
		if ((len = strcspn(want, "_")) == strlen(want))
			return NULL;
		want[len] = '\0';
	}
}

/*
 * One entry of Accept-Language: "tag[;q=V]".  Returns its q in
 * thousandths (0..1000) and the tag in out, or -1 when malformed.
 */
static int
i18n_accept_entry(const char *s, size_t len, char *out, size_t outsz)
{
	size_t	 i = 0, t;
	int	 q = 1000, digits;

	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (t = i; i < len && (isalnum((unsigned char)s[i]) || s[i] == '-' ||
	    s[i] == '*'); i++)
		;
	if (i == t || i - t >= outsz)
		return -1;
	memcpy(out, s + t, i - t);
	out[i - t] = '\0';
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i == len)
		return q;
	if (s[i++] != ';')
		return -1;
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i + 2 > len || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
		return -1;
	i += 2;
	/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
	if (i >= len || (s[i] != '0' && s[i] != '1'))
		return -1;
	q = (s[i++] - '0') * 1000;
	if (i < len && s[i] == '.') {
		int	 scale = 100;

		for (i++, digits = 0; i < len && digits < 3 &&
		    isdigit((unsigned char)s[i]); i++, digits++, scale /= 10)
			q += (s[i] - '0') * scale;
	}
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == len && q <= 1000 ? q : -1;
}

const struct i18n_cat *
i18n_negotiate(const struct i18n_set *set, const char *header,
    const char *dflt, char *lang, size_t langsz)
{
	const struct i18n_cat	*best = NULL, *c;
	char			 tag[I18N_LANG_MAX * 2];
	const char		*p, *end;
	size_t			 len, left, n = 0;
	int			 q, bestq = 0, found = 0;

	left = header != NULL ? strnlen(header, I18N_ACCEPT_MAX) : 0;
	for (p = header; left > 0 && n < I18N_ACCEPT_ENTRIES; n++) {
		end = memchr(p, ',', left);
		len = end != NULL ? (size_t)(end - p) : left;
		q = i18n_accept_entry(p, len, tag, sizeof tag);
		if (q > bestq) {
			c = i18n_set_find(set, tag);
			if (c != NULL || (strncasecmp(tag, "en", 2) == 0 &&
			    (tag[2] == '\0' || tag[2] == '-'))) {
				best = c;
				bestq = q;
				found = 1;
			}
		}
		if (end == NULL)
			break;
		left -= len + 1;
		p = end + 1;
	}
	if (!found)
		best = i18n_set_find(set, dflt);
	snprintf(lang, langsz, "%s", best != NULL ? best->lang : "en");
	for (len = 0; lang[len] != '\0'; len++)
		if (lang[len] == '_')
			lang[len] = '-';
	return best;
}

/* One ICU format of instant t (ms) in zone uz, as UTF-8 appended at out. */
static int
i18n_icu_format(const char *lang, const UChar *uz, UDateFormatStyle date,
    const char *pattern, UDate t, char *out, size_t outsz)
{
	UDateFormat	*f;
	UErrorCode	 st = U_ZERO_ERROR;
	UChar		 pat[16], u[128];
	int32_t		 n;

	if (pattern != NULL)
		u_uastrncpy(pat, pattern, nitems(pat));
	f = udat_open(pattern != NULL ? UDAT_PATTERN : UDAT_NONE,
	    pattern != NULL ? UDAT_PATTERN : date, lang, uz, -1,
	    pattern != NULL ? pat : NULL, -1, &st);
	if (U_FAILURE(st))
		return -1;
	n = udat_format(f, t, u, nitems(u), NULL, &st);
	udat_close(f);
	if (U_FAILURE(st) || n >= (int32_t)nitems(u))
		return -1;
	u_strToUTF8(out, (int32_t)outsz, NULL, u, n, &st);
	return U_FAILURE(st) || st == U_STRING_NOT_TERMINATED_WARNING ? -1 : 0;
}

int
i18n_date(const char *lang, const char *zone, int64_t t, char *out,
    size_t outsz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;
	UDate		 ms = (UDate)t * 1000.0;
	UChar		 uz[QUIET_ZONE_MAX + 1];
	size_t		 len;

	u_uastrncpy(uz, zone != NULL ? zone : "UTC", nitems(uz));
	uz[nitems(uz) - 1] = 0;
	/* UDAT_LONG: each language's full date, "16. Januar 2027". */
	if (i18n_icu_format(lang, uz, UDAT_LONG, NULL, ms, out, outsz) == -1) {
		gmtime_r(&tt, &tm);
		strftime(out, outsz, "%Y-%m-%d", &tm);
		return -1;
	}
	if (zone == NULL || (len = strlen(out)) + 4 > outsz)
		return 0;
	/*
	 * "zzzz", the zone's long name in that language ("Japan Standard
	 * Time", "heure normale du Japon"), says which day boundary the date
	 * keeps.  Parentheses read the same in every language the pages
	 * speak.
	 */
	memcpy(out + len, " (", 3);
	if (i18n_icu_format(lang, uz, UDAT_NONE, "zzzz", ms, out + len + 2,
	    outsz - len - 3) == -1)
		out[len] = '\0';
	else
		strcat(out, ")");
	return 0;
}
