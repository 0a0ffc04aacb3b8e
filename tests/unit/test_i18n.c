/*
 * test_i18n.c: GNU MO catalogs (built here byte by byte, as msgfmt lays
 * them out: header, sorted originals, translations), refused when
 * damaged, and the choice of a language from Accept-Language, hostile
 * headers included.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <criterion/criterion.h>

#include "i18n.h"
#include "util.h"

struct pair {
	const char	*id;
	const char	*str;
};

/* A little-endian MO file of n sorted pairs; the caller frees it. */
static char *
mo_build(const struct pair *p, size_t n, size_t *len)
{
	size_t		 head = 28, tables = 16 * n, off, i;
	struct buf	 b;
	uint32_t	 w[7];

	buf_init(&b);
	w[0] = 0x950412de;
	w[1] = 0;
	w[2] = (uint32_t)n;
	w[3] = (uint32_t)head;
	w[4] = (uint32_t)(head + 8 * n);
	w[5] = 0;
	w[6] = 0;
	buf_add(&b, w, sizeof w);
	off = head + tables;
	for (i = 0; i < n; i++) {
		uint32_t	 e[2] = { (uint32_t)strlen(p[i].id),
				    (uint32_t)off };

		buf_add(&b, e, 8);
		off += strlen(p[i].id) + 1;
	}
	for (i = 0; i < n; i++) {
		uint32_t	 e[2] = { (uint32_t)strlen(p[i].str),
				    (uint32_t)off };

		buf_add(&b, e, 8);
		off += strlen(p[i].str) + 1;
	}
	for (i = 0; i < n; i++)
		buf_add(&b, p[i].id, strlen(p[i].id) + 1);
	for (i = 0; i < n; i++)
		buf_add(&b, p[i].str, strlen(p[i].str) + 1);
	return buf_steal(&b, len);
}

static const struct pair de[] = {
	{ "", "Content-Type: text/plain; charset=UTF-8\n" },
	{ "Confirm", "Bestätigen" },
	{ "Right now", "Derzeit" },
	{ "Your messages from {brand}", "Ihre Nachrichten von {brand}" },
};

static struct i18n_cat *
cat_of(const char *lang, const struct pair *p, size_t n)
{
	size_t		 len;
	char		*mo = mo_build(p, n, &len), *cause = NULL;
	struct i18n_cat	*c = i18n_cat_from(lang, mo, len, &cause);

	cr_assert_not_null(c, "%s", cause);
	free(mo);
	return c;
}

Test(i18n, looks_up_every_text_and_passes_unknown_ones_through)
{
	struct i18n_cat	*c = cat_of("de", de, nitems(de));

	cr_expect_str_eq(i18n_text(c, "Confirm"), "Bestätigen");
	cr_expect_str_eq(i18n_text(c, "Right now"), "Derzeit");
	cr_expect_str_eq(i18n_text(c, "Your messages from {brand}"),
	    "Ihre Nachrichten von {brand}");
	cr_expect_str_eq(i18n_text(c, "Not in it"), "Not in it");
	cr_expect_str_eq(i18n_text(c, ""), "");
	cr_expect_str_eq(i18n_text(NULL, "Confirm"), "Confirm");
	cr_expect_str_eq(i18n_cat_lang(c), "de");
	cr_expect_str_eq(i18n_cat_lang(NULL), "en");
	i18n_cat_free(c);
}

Test(i18n, refuses_a_damaged_catalog_naming_the_fault)
{
	static const struct pair unsorted[] = {
		{ "b", "B" }, { "a", "A" }
	};
	size_t		 len;
	char		*mo = mo_build(de, nitems(de), &len), *cause = NULL;
	char		*bad = xmalloc(len);
	size_t		 cut;

	/* Every shorter prefix is refused (offsets point past the end). */
	for (cut = 0; cut < len; cut++) {
		cr_expect_null(i18n_cat_from("de", mo, cut, &cause),
		    "a catalog cut at %zu bytes was taken", cut);
		free(cause);
		cause = NULL;
	}
	memcpy(bad, mo, len);
	bad[0] = 'X';
	cr_expect_null(i18n_cat_from("de", bad, len, &cause));
	cr_expect(strstr(cause, "not a GNU MO file") != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	/* A translation that is not NUL-terminated. */
	memcpy(bad, mo, len);
	bad[len - 1] = 'x';
	cr_expect_null(i18n_cat_from("de", bad, len, &cause));
	free(cause);
	cause = NULL;
	free(mo);
	mo = mo_build(unsorted, 2, &len);
	cr_expect_null(i18n_cat_from("xx", mo, len, &cause));
	cr_expect(strstr(cause, "not sorted") != NULL, "%s", cause);
	free(cause);
	free(mo);
	free(bad);
}

static struct i18n_set	 set;

static void
setup(void)
{
	static const struct pair fr[] = { { "", "" }, { "Confirm", "Confirmer" } };
	static const struct pair pt[] = { { "", "" }, { "Confirm", "Confirmar" } };

	memset(&set, 0, sizeof set);
	set.cats[set.n++] = cat_of("de", de, nitems(de));
	set.cats[set.n++] = cat_of("fr", fr, 2);
	set.cats[set.n++] = cat_of("pt_BR", pt, 2);
}

static void
teardown(void)
{
	i18n_set_free(&set);
}

/* The tag chosen for a header, with default `dflt`. */
static const char *
pick(const char *header, const char *dflt)
{
	static char	 lang[I18N_LANG_MAX];
	const struct i18n_cat *c = i18n_negotiate(&set, header, dflt, lang,
	    sizeof lang);

	cr_expect_str_eq(i18n_cat_lang(c)[0] == 'p' ? "pt-BR" :
	    i18n_cat_lang(c), lang, "the catalog and the tag agree");
	return lang;
}

Test(negotiate, chooses_by_q_value_then_order, .init = setup,
    .fini = teardown)
{
	static const struct {
		const char	*header;
		const char	*dflt;
		const char	*want;
	} rows[] = {
		{ NULL, "en", "en" },
		{ NULL, "de", "de" },
		{ "", "fr", "fr" },
		{ "de", "en", "de" },
		{ "de-AT,de;q=0.9,en;q=0.8", "en", "de" },
		{ "fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", "en", "fr" },
		{ "en-US,en;q=0.9,de;q=0.8", "de", "en" },
		{ "ja,zh;q=0.9", "de", "de" },
		{ "ja,de;q=0.1", "en", "de" },
		{ "de;q=0.5,fr;q=0.8", "en", "fr" },
		{ "de;q=0.8,fr;q=0.8", "en", "de" },
		{ "de;q=0,fr", "en", "fr" },
		{ "de;q=0", "fr", "fr" },
		{ "pt-BR", "en", "pt-BR" },
		{ "pt", "en", "en" },
		{ "DE", "en", "de" },
		{ "de;Q=1.000", "en", "de" },
		{ "es-ES,es;q=0.9", "fr", "fr" },
	};
	size_t	 i;

	for (i = 0; i < nitems(rows); i++)
		cr_expect_str_eq(pick(rows[i].header, rows[i].dflt),
		    rows[i].want, "Accept-Language: %s",
		    rows[i].header != NULL ? rows[i].header : "(none)");
}

Test(negotiate, skips_malformed_entries_and_reads_a_bounded_prefix,
    .init = setup, .fini = teardown)
{
	static const struct {
		const char	*header;
		const char	*want;
	} rows[] = {
		{ "de;q=2", "en" },
		{ "de;q=1.5", "en" },
		{ "de;q=-1", "en" },
		{ "de;q=abc", "en" },
		{ "de;q=0.5.5", "en" },
		{ "de;level=1", "en" },
		{ "de q=0.5", "en" },
		{ ";;;,,,", "en" },
		{ ",,de", "de" },
		{ "<script>,fr", "fr" },
		{ "../../etc/passwd,de", "de" },
		{ "dedededededededededededededededede,fr;q=0.1", "fr" },
		{ "\xc3\xa9,de", "de" },
	};
	struct buf	 b;
	size_t		 i;

	for (i = 0; i < nitems(rows); i++)
		cr_expect_str_eq(pick(rows[i].header, "en"), rows[i].want,
		    "Accept-Language: %s", rows[i].header);
	/* Entries past the limits are not read at all. */
	buf_init(&b);
	for (i = 0; i < I18N_ACCEPT_ENTRIES; i++)
		buf_adds(&b, "xx,");
	buf_adds(&b, "de");
	cr_expect_str_eq(pick(b.data, "en"), "en");
	b.len = 0;
	while (b.len < I18N_ACCEPT_MAX)
		buf_adds(&b, "               ");
	buf_adds(&b, "de");
	buf_add(&b, "", 1);
	cr_expect_str_eq(pick(b.data, "en"), "en");
	buf_free(&b);
}

Test(i18n, loads_a_directory_of_catalogs_and_skips_other_files)
{
	char		 dir[] = "/tmp/manners-i18n.XXXXXX", path[256];
	struct i18n_set	 s;
	char		*mo, *cause = NULL;
	size_t		 len;
	FILE		*f;

	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/de", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/de/LC_MESSAGES", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof path, "%s/de/LC_MESSAGES/manners.mo", dir);
	mo = mo_build(de, nitems(de), &len);
	cr_assert_not_null(f = fopen(path, "wb"));
	cr_assert_eq(fwrite(mo, 1, len, f), len);
	fclose(f);
	free(mo);
	/* Another program's language, without our catalog. */
	snprintf(path, sizeof path, "%s/nl", dir);
	cr_assert_eq(mkdir(path, 0700), 0);
	cr_assert_eq(i18n_set_load(&s, dir, &cause), 0, "%s", cause);
	cr_expect_eq(s.n, 1);
	cr_expect_str_eq(i18n_text(i18n_set_find(&s, "de-CH"), "Confirm"),
	    "Bestätigen");
	i18n_set_free(&s);
	/* A damaged catalog is an error naming its file. */
	snprintf(path, sizeof path, "%s/de/LC_MESSAGES/manners.mo", dir);
	cr_assert_not_null(f = fopen(path, "wb"));
	fputs("garbage", f);
	fclose(f);
	cr_expect_eq(i18n_set_load(&s, dir, &cause), -1);
	cr_expect(strstr(cause, "manners.mo") != NULL, "%s", cause);
	free(cause);
	cr_expect_eq(i18n_set_load(&s, "/nonexistent/manners", NULL), 0);
	cr_expect_eq(s.n, 0);
	snprintf(path, sizeof path, "rm -rf %s", dir);
	cr_expect_eq(system(path), 0);
}

/* 2027-06-10T15:30:00Z: already the 11th in Tokyo, still the 10th here. */
#define LATE_ON_10	INT64_C(1812641400)
#define HOUR_BEFORE	(LATE_ON_10 - 3600)	/* 23:30 on the 10th in Tokyo */

/* Dates by ICU, as each language writes them, in the zone asked for. */
Test(i18n, writes_a_date_in_the_language_and_the_zone)
{
	static const struct {
		int64_t		 t;
		const char	*lang, *zone, *want;
	} rows[] = {
		{ LATE_ON_10, "en", NULL, "June 10, 2027" },
		{ LATE_ON_10, "en", "Asia/Tokyo",
		    "June 11, 2027 (Japan Standard Time)" },
		{ HOUR_BEFORE, "en", "Asia/Tokyo",
		    "June 10, 2027 (Japan Standard Time)" },
		{ LATE_ON_10, "de", "Asia/Tokyo",
		    "11. Juni 2027 (Japanische Normalzeit)" },
		{ LATE_ON_10, "fr", "Asia/Tokyo",
		    "11 juin 2027 (heure normale du Japon)" },
		{ LATE_ON_10, "es", "Asia/Tokyo",
		    "11 de junio de 2027 (hora est\u00e1ndar de Jap\u00f3n)" },
		{ LATE_ON_10, "en", "America/Los_Angeles",
		    "June 10, 2027 (Pacific Daylight Time)" },
	};
	char	 out[I18N_DATE_MAX];
	size_t	 i;

	for (i = 0; i < nitems(rows); i++) {
		cr_expect_eq(i18n_date(rows[i].lang, rows[i].zone, rows[i].t,
		    out, sizeof out), 0);
		cr_expect_str_eq(out, rows[i].want, "%s %s", rows[i].lang,
		    rows[i].zone != NULL ? rows[i].zone : "(none)");
	}
	/* Too small a buffer: the date without the zone, never cut. */
	cr_expect_eq(i18n_date("en", "Asia/Tokyo", LATE_ON_10, out, 20), 0);
	cr_expect_str_eq(out, "June 11, 2027");
}
