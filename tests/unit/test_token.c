/*
 * test_token.c: the unsubscribe token codec and its key file.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "token.h"
#include "util.h"

#define DAY	((uint64_t)24 * 60 * 60)
#define T0	((uint32_t)1763888400)		/* 2025-11-23T09:00:00Z */

static const char test_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char test_dir[64];

/* A deterministic key whose bytes depend on seed. */
static void
test_key(unsigned char key[TOKEN_KEY_LEN], unsigned int seed)
{
	size_t	 i;

	for (i = 0; i < TOKEN_KEY_LEN; i++)
		key[i] = (unsigned char)(seed * 131 + i * 7 + 1);
}

/* Keys from a list of seeds, the last newest. */
static struct token_keys *
test_keys(const unsigned int *seeds, size_t n)
{
	unsigned char		 buf[8 * TOKEN_KEY_LEN];
	struct token_keys	*tk;
	size_t			 i;

	cr_assert(n <= 8);
	for (i = 0; i < n; i++)
		test_key(buf + i * TOKEN_KEY_LEN, seeds[i]);
	tk = token_keys_from_memory(buf, n);
	cr_assert_not_null(tk);
	return tk;
}

/* Key id as the layout defines it: first byte of SHA-256 of the key. */
static unsigned char
test_kid(const unsigned char *key)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256(key, TOKEN_KEY_LEN, md);
	return md[0];
}

/* Decode base64url independently of the code under test. */
static size_t
test_decode(const char *s, unsigned char *out)
{
	uint32_t	 acc = 0;
	size_t		 o = 0;
	int		 nbits = 0;
	const char	*p;

	for (; *s != '\0'; s++) {
		p = strchr(test_b64, *s);
		cr_assert(p != NULL && *s != '\0', "bad char in %s", s);
		acc = acc << 6 | (uint32_t)(p - test_b64);
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (unsigned char)(acc >> nbits);
			acc &= (1U << nbits) - 1;
		}
	}
	return o;
}

/* Encode bytes as unpadded base64url, bit by bit. */
static void
test_encode(const unsigned char *in, size_t len, char *out)
{
	size_t	 bit, nbits = len * 8, o = 0;
	int	 v, j;

	for (bit = 0; bit < nbits; bit += 6) {
		v = 0;
		for (j = 0; j < 6; j++) {
			v <<= 1;
			if (bit + j < nbits &&
			    (in[(bit + j) / 8] & (0x80 >> ((bit + j) % 8))))
				v |= 1;
		}
		out[o++] = test_b64[v];
	}
	out[o] = '\0';
}

/* Assert that tok (len bytes) is refused with a cause containing want. */
static void
test_reject(const struct token_keys *tk, const char *tok, size_t len,
    uint64_t now, const char *want)
{
	struct token_claims	 c;
	char			*cause = NULL;

	memset(&c, 0xa5, sizeof c);
	cr_assert_eq(token_verify(tk, tok, len, now, &c, &cause), -1,
	    "accepted %.*s", (int)len, tok);
	cr_assert_not_null(cause);
	if (want != NULL)
		cr_assert(strstr(cause, want) != NULL,
		    "cause \"%s\" lacks \"%s\"", cause, want);
	cr_assert_eq(c.rid, 0xa5a5a5a5a5a5a5a5ULL, "claims touched on error");
	cr_assert_eq(c.issued, 0xa5a5a5a5U, "claims touched on error");
	free(cause);
}

/* Assert that tok verifies at now and says (rid, lid, issued). */
static void
test_accept(const struct token_keys *tk, const char *tok, uint64_t now,
    uint64_t rid, uint32_t lid, uint32_t issued)
{
	struct token_claims	 c;
	char			*cause = NULL;

	memset(&c, 0, sizeof c);
	cr_assert_eq(token_verify(tk, tok, strlen(tok), now, &c, &cause), 0,
	    "rejected %s: %s", tok, cause != NULL ? cause : "?");
	cr_assert_null(cause);
	cr_assert_eq(c.rid, rid);
	cr_assert_eq(c.lid, lid);
	cr_assert_eq(c.issued, issued);
}

/* Path of name inside the test directory (static storage). */
static const char *
test_path(const char *name)
{
	static char	 path[128];

	snprintf(path, sizeof path, "%s/%s", test_dir, name);
	return path;
}

/* Write a file with the given mode. */
static void
test_write(const char *path, const char *text, mode_t mode)
{
	int	 fd;
	size_t	 len = strlen(text);

	fd = open(path, O_WRONLY|O_CREAT|O_TRUNC, 0600);
	cr_assert(fd != -1, "open %s", path);
	cr_assert_eq(write(fd, text, len), (ssize_t)len);
	cr_assert_eq(fchmod(fd, mode), 0);
	close(fd);
}

/* Hex spelling of the seeded key. */
static void
test_key_hex(unsigned int seed, char hex[2 * TOKEN_KEY_LEN + 1])
{
	unsigned char	 key[TOKEN_KEY_LEN];
	size_t		 i;

	test_key(key, seed);
	for (i = 0; i < TOKEN_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
}

/* Assert that loading path fails with a cause containing want. */
static void
test_load_fails(const char *path, int create, const char *want)
{
	struct token_keys	*tk;
	char			*cause = NULL;

	tk = token_keys_load(path, create, &cause);
	cr_assert_null(tk, "loaded %s", path);
	cr_assert_not_null(cause);
	cr_assert(strstr(cause, want) != NULL, "cause \"%s\" lacks \"%s\"",
	    cause, want);
	free(cause);
}

static void
test_setup(void)
{
	snprintf(test_dir, sizeof test_dir, "/tmp/test_token.XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir));
}

static void
test_teardown(void)
{
	DIR		*d;
	struct dirent	*de;

	if ((d = opendir(test_dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == -1)
			unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR);
	}
	closedir(d);
	rmdir(test_dir);
}

Test(token, round_trip)
{
	static const struct {
		uint64_t	rid;
		uint32_t	lid;
		uint32_t	issued;
	} cases[] = {
		{ 1, 1, T0 },
		{ 0, 0, 0 },
		{ UINT64_MAX, UINT32_MAX, UINT32_MAX },
		{ 0x0102030405060708ULL, 0x090a0b0c, T0 + 12345 },
		{ 1ULL << 63, 1U << 31, 1U << 31 },
	};
	unsigned int		 seeds[] = { 1 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1];
	size_t			 i;

	for (i = 0; i < nitems(cases); i++) {
		cr_assert_eq(token_issue(tk, cases[i].rid, cases[i].lid,
		    cases[i].issued, tok), 0);
		test_accept(tk, tok, cases[i].issued, cases[i].rid,
		    cases[i].lid, cases[i].issued);
	}
	/* The claims pointer is optional. */
	cr_assert_eq(token_verify(tk, tok, strlen(tok), 1U << 31, NULL, NULL),
	    0);
	token_keys_free(tk);
}

Test(token, deterministic)
{
	unsigned int		 seeds[] = { 1 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 a[TOKEN_LEN + 1], b[TOKEN_LEN + 1];

	cr_assert_eq(token_issue(tk, 42, 7, T0, a), 0);
	cr_assert_eq(token_issue(tk, 42, 7, T0, b), 0);
	cr_assert_str_eq(a, b);
	cr_assert_eq(token_issue(tk, 43, 7, T0, b), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(token_issue(tk, 42, 8, T0, b), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(token_issue(tk, 42, 7, T0 + 1, b), 0);
	cr_assert_str_neq(a, b);
	token_keys_free(tk);
}

Test(token, length_and_alphabet)
{
	unsigned int		 seeds[] = { 3 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1];
	uint64_t		 rid;
	size_t			 i;

	cr_assert_eq(TOKEN_LEN, 46);
	for (rid = 0; rid < 2000; rid++) {
		cr_assert_eq(token_issue(tk, rid * 0x9e3779b97f4a7c15ULL,
		    (uint32_t)rid, T0 + (uint32_t)rid, tok), 0);
		cr_assert_eq(strlen(tok), TOKEN_LEN);
		for (i = 0; i < TOKEN_LEN; i++)
			cr_assert(strchr(test_b64, tok[i]) != NULL,
			    "%s: '%c' is not URL-safe", tok, tok[i]);
	}
	token_keys_free(tk);
}

Test(token, layout)
{
	unsigned char		 key[TOKEN_KEY_LEN], raw[64], md[64];
	unsigned int		 seeds[] = { 5 }, mdlen = 0;
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1];
	static const unsigned char want[18] = {
		1, 0,					/* version, kid */
		0x69, 0x22, 0xcd, 0x10,			/* issued T0 */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* rid */
		0xaa, 0xbb, 0xcc, 0xdd			/* lid */
	};

	test_key(key, 5);
	cr_assert_eq(token_issue(tk, 0x0102030405060708ULL, 0xaabbccdd, T0,
	    tok), 0);
	cr_assert_eq(test_decode(tok, raw), TOKEN_RAW_LEN);
	cr_assert_eq(raw[0], TOKEN_VERSION);
	cr_assert_eq(raw[1], test_kid(key));
	cr_assert_eq(memcmp(raw + 2, want + 2, 16), 0);

	HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, raw, 18, md, &mdlen);
	cr_assert_eq(mdlen, 32);
	cr_assert_eq(memcmp(raw + 18, md, TOKEN_MAC_LEN), 0,
	    "MAC is not HMAC-SHA256 over bytes 0-17, truncated");
	token_keys_free(tk);
}

Test(token, every_character_change_rejected)
{
	unsigned int		 seeds[] = { 7 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1], bad[TOKEN_LEN + 1];
	size_t			 pos, j;

	cr_assert_eq(token_issue(tk, 123456789, 42, T0, tok), 0);
	for (pos = 0; pos < TOKEN_LEN; pos++) {
		for (j = 0; j < 64; j++) {
			if (test_b64[j] == tok[pos])
				continue;
			memcpy(bad, tok, sizeof bad);
			bad[pos] = test_b64[j];
			test_reject(tk, bad, TOKEN_LEN, T0, NULL);
		}
	}
	/* The original is still fine. */
	test_accept(tk, tok, T0, 123456789, 42, T0);
	token_keys_free(tk);
}

Test(token, every_bit_flip_rejected)
{
	unsigned char		 raw[64];
	unsigned int		 seeds[] = { 8 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1], bad[TOKEN_LEN + 8];
	size_t			 bit;

	cr_assert_eq(token_issue(tk, 99, 3, T0, tok), 0);
	for (bit = 0; bit < TOKEN_RAW_LEN * 8; bit++) {
		cr_assert_eq(test_decode(tok, raw), TOKEN_RAW_LEN);
		raw[bit / 8] ^= (unsigned char)(0x80 >> (bit % 8));
		test_encode(raw, TOKEN_RAW_LEN, bad);
		cr_assert_eq(strlen(bad), TOKEN_LEN);
		test_reject(tk, bad, TOKEN_LEN, T0, NULL);
	}
	token_keys_free(tk);
}

Test(token, non_alphabet_rejected)
{
	static const char	 junk[] = "=+/.~ %\n\r\t\"'<>?#&!*@\\\x7f\x80\xff";
	unsigned int		 seeds[] = { 9 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1], bad[TOKEN_LEN + 1];
	size_t			 pos, j;

	cr_assert_eq(token_issue(tk, 5, 6, T0, tok), 0);
	for (pos = 0; pos < TOKEN_LEN; pos++) {
		for (j = 0; j < sizeof junk; j++) {	/* NUL included */
			memcpy(bad, tok, sizeof bad);
			bad[pos] = junk[j];
			test_reject(tk, bad, TOKEN_LEN, T0, "not base64url");
		}
	}
	token_keys_free(tk);
}

Test(token, non_canonical_rejected)
{
	unsigned int		 seeds[] = { 9 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1];
	const char		*p;

	/* The last character carries 2 bits; its 4 spare bits must be 0. */
	cr_assert_eq(token_issue(tk, 5, 6, T0, tok), 0);
	p = strchr(test_b64, tok[TOKEN_LEN - 1]);
	cr_assert_eq((p - test_b64) & 15, 0);
	tok[TOKEN_LEN - 1] = test_b64[(p - test_b64) | 1];
	test_reject(tk, tok, TOKEN_LEN, T0, "canonical");
	token_keys_free(tk);
}

Test(token, truncated_and_oversized)
{
	unsigned int		 seeds[] = { 10 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1], big[4097];
	char			 want[64];
	size_t			 len;

	cr_assert_eq(token_issue(tk, 77, 88, T0, tok), 0);
	for (len = 0; len < TOKEN_LEN; len++) {
		snprintf(want, sizeof want, "bad length %zu (want 46)", len);
		test_reject(tk, tok, len, T0, want);
	}
	test_reject(tk, NULL, 0, T0, "bad length 0 (want 46)");

	/* Longer: the real token plus more, padding included. */
	memset(big, 'A', sizeof big);
	memcpy(big, tok, TOKEN_LEN);
	big[TOKEN_LEN] = '=';
	test_reject(tk, big, TOKEN_LEN + 1, T0, "bad length 47 (want 46)");
	big[TOKEN_LEN] = 'A';
	test_reject(tk, big, TOKEN_LEN + 1, T0, "bad length 47");
	test_reject(tk, big, TOKEN_LEN + 2, T0, "bad length 48");
	test_reject(tk, big, 200, T0, "bad length 200");
	test_reject(tk, big, sizeof big, T0, "bad length 4097");
	test_reject(tk, big, SIZE_MAX, T0, "bad length");
	token_keys_free(tk);
}

Test(token, wrong_key)
{
	unsigned int		 a[] = { 11 }, b[] = { 12 };
	struct token_keys	*ka = test_keys(a, 1), *kb = test_keys(b, 1);
	unsigned char		 k1[TOKEN_KEY_LEN], k2[TOKEN_KEY_LEN];
	char			 tok[TOKEN_LEN + 1];

	test_key(k1, 11);
	test_key(k2, 12);
	cr_assert_neq(test_kid(k1), test_kid(k2), "pick other seeds");
	cr_assert_eq(token_issue(ka, 1, 2, T0, tok), 0);
	test_accept(ka, tok, T0, 1, 2, T0);
	test_reject(kb, tok, TOKEN_LEN, T0, "no key with id");
	token_keys_free(ka);
	token_keys_free(kb);
}

/* Find a seed whose key shares the key id of seed's key. */
static unsigned int
test_colliding_seed(unsigned int seed)
{
	unsigned char	 k[TOKEN_KEY_LEN], c[TOKEN_KEY_LEN];
	unsigned int	 s;

	test_key(k, seed);
	for (s = seed + 1; s < seed + 100000; s++) {
		test_key(c, s);
		if (memcmp(k, c, sizeof k) != 0 && test_kid(c) == test_kid(k))
			return s;
	}
	cr_assert_fail("no colliding key id");
	return 0;
}

Test(token, kid_collision)
{
	unsigned int		 a = 13, c = test_colliding_seed(13);
	unsigned int		 only_a[] = { a }, only_c[] = { c };
	unsigned int		 ac[] = { a, c }, ca[] = { c, a };
	struct token_keys	*ka = test_keys(only_a, 1);
	struct token_keys	*kc = test_keys(only_c, 1);
	struct token_keys	*kac = test_keys(ac, 2), *kca = test_keys(ca, 2);
	char			 ta[TOKEN_LEN + 1], tc[TOKEN_LEN + 1];

	cr_assert_eq(token_issue(ka, 1, 1, T0, ta), 0);
	cr_assert_eq(token_issue(kc, 1, 1, T0, tc), 0);
	cr_assert_str_neq(ta, tc);

	/* Same id, different key: a forgery, not an unknown key. */
	test_reject(kc, ta, TOKEN_LEN, T0, "signature mismatch");
	test_reject(ka, tc, TOKEN_LEN, T0, "signature mismatch");

	/* Each matching key is tried, whatever the order. */
	test_accept(kac, ta, T0, 1, 1, T0);
	test_accept(kac, tc, T0, 1, 1, T0);
	test_accept(kca, ta, T0, 1, 1, T0);
	test_accept(kca, tc, T0, 1, 1, T0);

	token_keys_free(ka);
	token_keys_free(kc);
	token_keys_free(kac);
	token_keys_free(kca);
}

Test(token, rotation)
{
	unsigned int		 a[] = { 21 }, b[] = { 22 }, ab[] = { 21, 22 };
	struct token_keys	*ka = test_keys(a, 1), *kb = test_keys(b, 1);
	struct token_keys	*kab = test_keys(ab, 2);
	unsigned char		 keyb[TOKEN_KEY_LEN], raw[64];
	char			 old[TOKEN_LEN + 1], new[TOKEN_LEN + 1];

	cr_assert_eq(token_keys_count(kab), 2);
	cr_assert_eq(token_issue(ka, 500, 9, T0, old), 0);

	/* After appending B, a token from A still verifies... */
	test_accept(kab, old, T0 + 30 * DAY, 500, 9, T0);

	/* ...and new tokens are signed by B alone. */
	cr_assert_eq(token_issue(kab, 501, 9, T0 + 30 * DAY, new), 0);
	test_key(keyb, 22);
	cr_assert_eq(test_decode(new, raw), TOKEN_RAW_LEN);
	cr_assert_eq(raw[1], test_kid(keyb));
	test_accept(kb, new, T0 + 30 * DAY, 501, 9, T0 + 30 * DAY);
	test_reject(ka, new, TOKEN_LEN, T0 + 30 * DAY, NULL);

	/* Once A is removed, its tokens stop working. */
	test_reject(kb, old, TOKEN_LEN, T0 + 400 * DAY, "no key with id");

	token_keys_free(ka);
	token_keys_free(kb);
	token_keys_free(kab);
}

Test(token, unknown_version)
{
	unsigned char		 key[TOKEN_KEY_LEN], raw[64], md[64];
	unsigned int		 seeds[] = { 30 }, mdlen;
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1];

	/* A correctly signed token of another version is still refused. */
	test_key(key, 30);
	cr_assert_eq(token_issue(tk, 1, 2, T0, tok), 0);
	cr_assert_eq(test_decode(tok, raw), TOKEN_RAW_LEN);
	raw[0] = 2;
	HMAC(EVP_sha256(), key, TOKEN_KEY_LEN, raw, 18, md, &mdlen);
	memcpy(raw + 18, md, TOKEN_MAC_LEN);
	test_encode(raw, TOKEN_RAW_LEN, tok);
	test_reject(tk, tok, TOKEN_LEN, T0, "unknown version 2");
	token_keys_free(tk);
}

Test(token, age)
{
	static const struct {
		const char	*name;
		uint64_t	 now;
		int		 valid;
		const char	*cause;
	} cases[] = {
		{ "at issue", T0, 1, NULL },
		{ "a year later", T0 + 366 * DAY, 1, NULL },
		{ "two years later", T0 + 731 * DAY, 1, NULL },
		{ "at the maximum age", T0 + TOKEN_MAX_AGE, 1, NULL },
		{ "a second past the maximum age", T0 + TOKEN_MAX_AGE + 1, 0,
		  "expired" },
		{ "ten years later", T0 + 3653 * DAY, 0, "expired" },
		{ "far future clock", UINT64_MAX, 0, "expired" },
		{ "clock an hour behind", T0 - 3600, 1, NULL },
		{ "clock at the maximum skew", T0 - TOKEN_MAX_SKEW, 1, NULL },
		{ "issued just beyond the skew", T0 - TOKEN_MAX_SKEW - 1, 0,
		  "in the future" },
		{ "issued a month ahead", T0 - 30 * DAY, 0, "in the future" },
		{ "clock at zero", 0, 0, "in the future" },
	};
	unsigned int		 seeds[] = { 31 };
	struct token_keys	*tk = test_keys(seeds, 1);
	char			 tok[TOKEN_LEN + 1];
	size_t			 i;

	cr_assert_geq(TOKEN_MAX_AGE, 366 * DAY, "tokens must last a year");
	cr_assert_eq(token_issue(tk, 8, 9, T0, tok), 0);
	for (i = 0; i < nitems(cases); i++) {
		cr_log_info("age: %s", cases[i].name);
		if (cases[i].valid)
			test_accept(tk, tok, cases[i].now, 8, 9, T0);
		else
			test_reject(tk, tok, TOKEN_LEN, cases[i].now,
			    cases[i].cause);
	}
	token_keys_free(tk);
}

Test(token, no_keys)
{
	char	 tok[TOKEN_LEN + 1] = "x";

	cr_assert_null(token_keys_from_memory(NULL, 0));
	cr_assert_eq(token_keys_count(NULL), 0);
	token_keys_free(NULL);
	cr_assert_eq(token_issue(NULL, 1, 1, T0, tok), -1);
	cr_assert_str_empty(tok);
}

Test(token_file, good_file, .init = test_setup, .fini = test_teardown)
{
	unsigned int		 seeds[] = { 41 }, both[] = { 40, 41 };
	unsigned int		 oldest[] = { 40 };
	struct token_keys	*tk, *newest, *pair, *old;
	const char		*path = test_path("secret");
	char			 h1[65], h2[65], text[512], tok[TOKEN_LEN + 1];
	char			*cause = NULL;

	test_key_hex(40, h1);
	test_key_hex(41, h2);
	/* Comments, blank lines, indentation, CRLF, upper case, no final
	 * newline. */
	h2[0] = (char)toupper((unsigned char)h2[0]);
	snprintf(text, sizeof text,
	    "# manners keys\n"
	    "\n"
	    "   # indented comment\n"
	    "  %s\t\r\n"
	    "\t\n"
	    "# newer key below\n"
	    "%s", h1, h2);
	test_write(path, text, 0600);

	tk = token_keys_load(path, 0, &cause);
	cr_assert_not_null(tk, "%s", cause != NULL ? cause : "?");
	cr_assert_eq(token_keys_count(tk), 2);

	/* The last key signs... */
	newest = test_keys(seeds, 1);
	cr_assert_eq(token_issue(tk, 1, 2, T0, tok), 0);
	test_accept(newest, tok, T0, 1, 2, T0);
	/* ...and the loaded keys equal the ones from memory. */
	pair = test_keys(both, 2);
	cr_assert_eq(token_issue(pair, 3, 4, T0, tok), 0);
	test_accept(tk, tok, T0, 3, 4, T0);
	/* The older key still verifies. */
	old = test_keys(oldest, 1);
	cr_assert_eq(token_issue(old, 5, 6, T0, tok), 0);
	test_accept(tk, tok, T0, 5, 6, T0);

	token_keys_free(tk);
	token_keys_free(newest);
	token_keys_free(pair);
	token_keys_free(old);
}

Test(token_file, create_missing, .init = test_setup, .fini = test_teardown)
{
	struct token_keys	*k1, *k2, *k3;
	struct stat		 st;
	const char		*path = test_path("secret");
	char			 tok[TOKEN_LEN + 1], buf[4096], *nl;
	char			*cause = NULL;
	ssize_t			 n;
	size_t			 i;
	int			 fd;

	/* A permissive umask must not make the key readable. */
	umask(0);
	k1 = token_keys_load(path, 1, &cause);
	cr_assert_not_null(k1, "%s", cause != NULL ? cause : "?");
	cr_assert_eq(token_keys_count(k1), 1);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert(S_ISREG(st.st_mode));
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o",
	    (unsigned int)(st.st_mode & 07777));

	/* A commented header, then one line of 64 hex digits. */
	fd = open(path, O_RDONLY);
	cr_assert(fd != -1);
	n = read(fd, buf, sizeof buf - 1);
	close(fd);
	cr_assert_gt(n, 65);
	buf[n] = '\0';
	cr_assert_eq(buf[0], '#');
	cr_assert(strstr(buf, "rotate") != NULL);
	cr_assert_eq(buf[n - 1], '\n');
	buf[n - 1] = '\0';
	nl = strrchr(buf, '\n');
	cr_assert_not_null(nl);
	cr_assert_eq(strlen(nl + 1), 64);
	for (i = 0; i < 64; i++)
		cr_assert(isxdigit((unsigned char)nl[1 + i]));

	/* A second load (even asked to create) reads the same key. */
	k2 = token_keys_load(path, 0, &cause);
	cr_assert_not_null(k2, "%s", cause != NULL ? cause : "?");
	k3 = token_keys_load(path, 1, &cause);
	cr_assert_not_null(k3, "%s", cause != NULL ? cause : "?");
	cr_assert_eq(token_issue(k1, 10, 20, T0, tok), 0);
	test_accept(k2, tok, T0, 10, 20, T0);
	test_accept(k3, tok, T0, 10, 20, T0);
	cr_assert_eq(token_issue(k2, 11, 21, T0, tok), 0);
	test_accept(k1, tok, T0, 11, 21, T0);

	token_keys_free(k1);
	token_keys_free(k2);
	token_keys_free(k3);
}

Test(token_file, fresh_keys_differ, .init = test_setup,
    .fini = test_teardown)
{
	struct token_keys	*k1, *k2;
	char			 p1[128], p2[128], tok[TOKEN_LEN + 1];
	char			*cause = NULL;

	snprintf(p1, sizeof p1, "%s", test_path("one"));
	snprintf(p2, sizeof p2, "%s", test_path("two"));
	k1 = token_keys_load(p1, 1, &cause);
	k2 = token_keys_load(p2, 1, &cause);
	cr_assert_not_null(k1);
	cr_assert_not_null(k2);
	cr_assert_eq(token_issue(k1, 1, 1, T0, tok), 0);
	test_reject(k2, tok, TOKEN_LEN, T0, NULL);
	token_keys_free(k1);
	token_keys_free(k2);
}

Test(token_file, create_under_strict_umask, .init = test_setup,
    .fini = test_teardown)
{
	struct token_keys	*tk;
	struct stat		 st;
	const char		*path = test_path("secret");
	char			*cause = NULL;

	/* A umask that takes the owner's write bit still yields 0600. */
	umask(0277);
	tk = token_keys_load(path, 1, &cause);
	cr_assert_not_null(tk, "%s", cause != NULL ? cause : "?");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "mode %o",
	    (unsigned int)(st.st_mode & 07777));
	token_keys_free(tk);
}

Test(token_file, missing_without_create, .init = test_setup,
    .fini = test_teardown)
{
	const char	*path = test_path("absent");

	test_load_fails(path, 0, "absent: No such file");
	cr_assert_eq(access(path, F_OK), -1, "file was created");
	test_load_fails(test_path("nodir/secret"), 1, "nodir/secret");
}

Test(token_file, readable_by_others_refused, .init = test_setup,
    .fini = test_teardown)
{
	static const mode_t	 modes[] = { 0640, 0604, 0660, 0644, 0610,
	    0601, 0666 };
	struct token_keys	*tk;
	const char		*path = test_path("secret");
	char			 hex[65], text[128];
	size_t			 i;

	test_key_hex(50, hex);
	snprintf(text, sizeof text, "%s\n", hex);
	for (i = 0; i < nitems(modes); i++) {
		test_write(path, text, modes[i]);
		test_load_fails(path, 0, "chmod 600");
		test_load_fails(path, 1, "lets group or others read");
	}
	/* Owner-only modes are fine. */
	test_write(path, text, 0400);
	cr_assert_not_null(tk = token_keys_load(path, 0, NULL));
	token_keys_free(tk);
}

Test(token_file, malformed_refused, .init = test_setup,
    .fini = test_teardown)
{
	char		 good[65], text[512], want[160];
	const char	*path = test_path("secret");
	size_t		 i;
	struct {
		const char	*line;
		const char	*why;
	} cases[] = {
		{ "zz", "not a hex digit" },
		{ NULL, "not a hex digit" },	/* key with a 'g' */
		{ NULL, "key has 62 hex digits (want 64" },	/* short */
		{ NULL, "key has 66 hex digits" },	/* long */
		{ NULL, "not a hex digit" },	/* trailing comment */
		{ NULL, "not a hex digit" },	/* space inside */
		{ "0", "key has 1 hex digits" },
	};
	char		 bad[6][128];

	test_key_hex(60, good);
	snprintf(bad[1], sizeof bad[1], "%.63sg", good);
	snprintf(bad[2], sizeof bad[2], "%.62s", good);
	snprintf(bad[3], sizeof bad[3], "%sab", good);
	snprintf(bad[4], sizeof bad[4], "%s # new", good);
	snprintf(bad[5], sizeof bad[5], "%.32s %s", good, good + 32);
	for (i = 1; i <= 5; i++)
		cases[i].line = bad[i];

	for (i = 0; i < nitems(cases); i++) {
		/* The bad line is line 4, after a good key. */
		snprintf(text, sizeof text, "# keys\n%s\n\n%s\n", good,
		    cases[i].line);
		test_write(path, text, 0600);
		snprintf(want, sizeof want, "%s:4: ", path);
		test_load_fails(path, 0, want);
		test_load_fails(path, 0, cases[i].why);
	}
}

Test(token_file, no_key_refused, .init = test_setup, .fini = test_teardown)
{
	const char	*path = test_path("secret");

	test_write(path, "", 0600);
	test_load_fails(path, 0, "no key");
	test_write(path, "# only a comment\n\n   \n", 0600);
	test_load_fails(path, 1, "no key");
}

Test(token_file, not_a_file_refused, .init = test_setup,
    .fini = test_teardown)
{
	const char	*path = test_path("dir");

	cr_assert_eq(mkdir(path, 0700), 0);
	test_load_fails(path, 1, "not a regular file");
}

Test(token, return_path_round_trip_and_kinds_kept_apart)
{
	unsigned int		 seeds[] = { 40, 41 };
	struct token_keys	*tk = test_keys(seeds, 2);
	struct token_claims	 c;
	char			 ret[TOKEN_LEN + 1], link[TOKEN_LEN + 1];
	char			*cause = NULL;
	uint32_t		 ref = token_campaign_ref("nov-update");

	cr_assert_eq(token_issue_return(tk, 0x0102030405060708ULL, ref, T0,
	    ret), 0);
	cr_assert_eq(strlen(ret), TOKEN_LEN);
	cr_assert_eq(token_verify_return(tk, ret, TOKEN_LEN, T0, &c, &cause),
	    0, "%s", cause);
	cr_assert_eq(c.rid, 0x0102030405060708ULL);
	cr_assert_eq(c.lid, ref);
	cr_assert_eq(c.issued, T0);
	/* A return-path token is no unsubscribe link, and the reverse. */
	cr_assert_eq(token_verify(tk, ret, TOKEN_LEN, T0, &c, &cause), -1);
	cr_assert_not_null(strstr(cause, "a return-path token where a link "
	    "token is wanted"), "%s", cause);
	free(cause);
	cause = NULL;
	cr_assert_eq(token_issue(tk, 1, ref, T0, link), 0);
	cr_assert_eq(token_verify_return(tk, link, TOKEN_LEN, T0, NULL,
	    &cause), -1);
	cr_assert_not_null(strstr(cause, "a link token where a return-path "
	    "token is wanted"), "%s", cause);
	free(cause);
	/* The local part "bounces+TOKEN" stays within RFC 5321's 64. */
	cr_assert_leq(strlen("bounces+") + strlen(ret), 64);
	token_keys_free(tk);
}

Test(token, campaign_refs_differ_and_are_stable)
{
	cr_assert_eq(token_campaign_ref("nov-update"),
	    token_campaign_ref("nov-update"));
	cr_assert_neq(token_campaign_ref("nov-update"),
	    token_campaign_ref("dec-update"));
}
