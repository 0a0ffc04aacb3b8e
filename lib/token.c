/*
 * token.c: HMAC-SHA256 unsubscribe tokens and the secret file they are
 * keyed from. The layout is documented in token.h.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "log.h"
#include "token.h"
#include "util.h"

/* Bytes covered by the MAC: everything before it. */
#define TOKEN_SIGNED_LEN	(TOKEN_RAW_LEN - TOKEN_MAC_LEN)
/* A secret file is a few lines; anything this big is not one. */
#define TOKEN_FILE_MAX		(1024 * 1024)

struct token_key {
	unsigned char	 key[TOKEN_KEY_LEN];
	unsigned char	 kid;
	EVP_MAC_CTX	*mac;	/* HMAC keyed once; each MAC works on a copy */
};

struct token_keys {
	struct token_key	*keys;		/* oldest first; the last signs */
	size_t			 nkeys;
};

static const char token_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static const char token_file_header[] =
    "# manners token keys: the HMAC keys that sign unsubscribe links.\n"
    "#\n"
    "# One key per line, 64 hex digits (32 random bytes); lines starting\n"
    "# with '#' and blank lines are ignored. The LAST key signs new links;\n"
    "# every key listed is accepted when a link is clicked.\n"
    "#\n"
    "# To rotate, append a new key, e.g. `openssl rand -hex 32 >> FILE`,\n"
    "# and reload. Keep the old lines for at least a year: links signed\n"
    "# with a key stop working as soon as its line is removed (and expire\n"
    "# anyway after three years).\n"
    "#\n"
    "# Keep this file mode 0600: whoever reads it can forge links.\n";

/* Store v big-endian in 4 bytes. */
static void
token_be32enc(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Read 4 big-endian bytes. */
static uint32_t
token_be32dec(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Value of a base64url character, or -1 if it is not one. */
static int
token_b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Encode len bytes as unpadded base64url into out, NUL-terminated. */
static void
token_b64_encode(const unsigned char *in, size_t len, char *out)
{
	uint32_t	 v;
	size_t		 i, o = 0;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = token_b64[(v >> 18) & 63];
		out[o++] = token_b64[(v >> 12) & 63];
		out[o++] = token_b64[(v >> 6) & 63];
		out[o++] = token_b64[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = token_b64[(v >> 18) & 63];
		out[o++] = token_b64[(v >> 12) & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = token_b64[(v >> 18) & 63];
		out[o++] = token_b64[(v >> 12) & 63];
		out[o++] = token_b64[(v >> 6) & 63];
	}
	out[o] = '\0';
}

/*
 * Decode len base64url characters into exactly outlen bytes. The unused
 * low bits of the last character must be zero, so that every byte string
 * has a single spelling.
 */
static int
token_b64_decode(const char *in, size_t len, unsigned char *out,
    size_t outlen, char **cause)
{
	uint32_t	 acc = 0;
	size_t		 i, o = 0;
	int		 v, nbits = 0;

	if (len * 6 / 8 != outlen || (len * 6) % 8 >= 6)
		return set_cause(cause, "token: bad length %zu", len);
	for (i = 0; i < len; i++) {
		if ((v = token_b64_value((unsigned char)in[i])) == -1) {
			return set_cause(cause, "token: character 0x%02x at "
			    "offset %zu is not base64url",
			    (unsigned char)in[i], i);
		}
		acc = acc << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (unsigned char)(acc >> nbits);
			acc &= (1U << nbits) - 1;
		}
	}
	if (acc != 0)
		return set_cause(cause, "token: final character not canonical");
	return 0;
}

/* Compute the truncated HMAC of the signed part of raw with key k. */
static int
token_mac(const struct token_key *k, const unsigned char *raw,
    unsigned char mac[TOKEN_MAC_LEN])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	size_t		 mdlen = 0;
	EVP_MAC_CTX	*c;
	int		 ok;

	if ((c = EVP_MAC_CTX_dup(k->mac)) == NULL)
		return -1;
	ok = EVP_MAC_update(c, raw, TOKEN_SIGNED_LEN) == 1 &&
	    EVP_MAC_final(c, md, &mdlen, sizeof md) == 1 &&
	    mdlen >= TOKEN_MAC_LEN;
	EVP_MAC_CTX_free(c);
	if (!ok)
		return -1;
	memcpy(mac, md, TOKEN_MAC_LEN);
	OPENSSL_cleanse(md, sizeof md);
	return 0;
}

/* An HMAC-SHA256 context keyed with `key`, ready to be copied. */
static EVP_MAC_CTX *
token_mac_new(const unsigned char *key)
{
	OSSL_PARAM	 params[2];
	EVP_MAC		*hmac;
	EVP_MAC_CTX	*c;

	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		fatalx("OpenSSL has no HMAC");
	c = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac);
	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (c == NULL || EVP_MAC_init(c, key, TOKEN_KEY_LEN, params) != 1)
		fatalx("cannot set up HMAC-SHA256");
	return c;
}

/* Append a key, deriving its id; the old array is wiped, not just freed. */
static void
token_keys_add(struct token_keys *tk, const unsigned char *key)
{
	struct token_key	*keys;
	unsigned char		 md[SHA256_DIGEST_LENGTH];

	keys = xcalloc(tk->nkeys + 1, sizeof *keys);
	if (tk->nkeys != 0) {
		memcpy(keys, tk->keys, tk->nkeys * sizeof *keys);
		OPENSSL_cleanse(tk->keys, tk->nkeys * sizeof *keys);
	}
	free(tk->keys);
	tk->keys = keys;

	memcpy(keys[tk->nkeys].key, key, TOKEN_KEY_LEN);
	keys[tk->nkeys].mac = token_mac_new(key);
	SHA256(key, TOKEN_KEY_LEN, md);
	keys[tk->nkeys].kid = md[0];
	OPENSSL_cleanse(md, sizeof md);
	tk->nkeys++;
}

/* Keys from nkeys consecutive raw keys, the last newest. */
struct token_keys *
token_keys_from_memory(const unsigned char *keys, size_t nkeys)
{
	struct token_keys	*tk;
	size_t			 i;

	if (nkeys == 0)
		return NULL;
	tk = xcalloc(1, sizeof *tk);
	for (i = 0; i < nkeys; i++)
		token_keys_add(tk, keys + i * TOKEN_KEY_LEN);
	return tk;
}

/* Wipe and free the keys. */
void
token_keys_free(struct token_keys *tk)
{
	size_t	 i;

	if (tk == NULL)
		return;
	for (i = 0; i < tk->nkeys; i++)
		EVP_MAC_CTX_free(tk->keys[i].mac);
	if (tk->keys != NULL)
		OPENSSL_cleanse(tk->keys, tk->nkeys * sizeof *tk->keys);
	free(tk->keys);
	free(tk);
}

/* Number of keys held. */
size_t
token_keys_count(const struct token_keys *tk)
{
	return tk == NULL ? 0 : tk->nkeys;
}

/* Parse one line of the secret file, adding its key if it holds one. */
static int
token_keys_line(struct token_keys *tk, const char *path, size_t lineno,
    const char *line, size_t len, char **cause)
{
	unsigned char	 key[TOKEN_KEY_LEN];
	size_t		 i;
	int		 hi, lo;
	unsigned char	 c;

	while (len > 0 && (line[0] == ' ' || line[0] == '\t')) {
		line++;
		len--;
	}
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t' ||
	    line[len - 1] == '\r'))
		len--;
	if (len == 0 || line[0] == '#')
		return 0;

	/* Name the offending character but never echo the key itself. */
	for (i = 0; i < len; i++) {
		c = (unsigned char)line[i];
		if (isxdigit(c))
			continue;
		if (isprint(c)) {
			return set_cause(cause, "%s:%zu: '%c' at column %zu is "
			    "not a hex digit (want 64 hex digits per key)",
			    path, lineno, c, i + 1);
		}
		return set_cause(cause, "%s:%zu: byte 0x%02x at column %zu is "
		    "not a hex digit (want 64 hex digits per key)", path,
		    lineno, c, i + 1);
	}
	if (len != 2 * TOKEN_KEY_LEN) {
		return set_cause(cause, "%s:%zu: key has %zu hex digits (want "
		    "%d: %d bytes)", path, lineno, len, 2 * TOKEN_KEY_LEN,
		    TOKEN_KEY_LEN);
	}
	for (i = 0; i < TOKEN_KEY_LEN; i++) {
		hi = OPENSSL_hexchar2int((unsigned char)line[2 * i]);
		lo = OPENSSL_hexchar2int((unsigned char)line[2 * i + 1]);
		key[i] = (unsigned char)(hi << 4 | lo);
	}
	token_keys_add(tk, key);
	OPENSSL_cleanse(key, sizeof key);
	return 0;
}

/* Parse the contents of the secret file. */
static struct token_keys *
token_keys_parse(const char *path, const char *data, size_t len, char **cause)
{
	struct token_keys	*tk;
	const char		*eol;
	size_t			 start = 0, end, lineno = 0;

	tk = xcalloc(1, sizeof *tk);
	while (start < len) {
		eol = memchr(data + start, '\n', len - start);
		end = eol != NULL ? (size_t)(eol - data) : len;
		lineno++;
		if (token_keys_line(tk, path, lineno, data + start,
		    end - start, cause) != 0) {
			token_keys_free(tk);
			return NULL;
		}
		start = end + 1;
	}
	if (tk->nkeys == 0) {
		set_cause(cause, "%s: no key (want a line of %d hex digits)",
		    path, 2 * TOKEN_KEY_LEN);
		token_keys_free(tk);
		return NULL;
	}
	return tk;
}

/* Flush the directory holding path, so a new file's name is durable. */
static int
token_sync_dir(const char *path, char **cause)
{
	char	*dir, *slash;
	int	 fd, rv = 0;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	if ((fd = open(dir, O_RDONLY|O_DIRECTORY|O_CLOEXEC)) == -1)
		rv = set_cause(cause, "%s: %s", dir, strerror(errno));
	else {
		if (fsync(fd) == -1)
			rv = set_cause(cause, "%s: fsync: %s", dir,
			    strerror(errno));
		close(fd);
	}
	free(dir);
	return rv;
}

/*
 * Create the secret file with one fresh key. Another process creating it
 * first is not an error: its file is then loaded like any other.
 */
static int
token_keys_create(const char *path, char **cause)
{
	unsigned char	 key[TOKEN_KEY_LEN];
	char		 hex[2 * TOKEN_KEY_LEN + 1];
	char		*text = NULL;
	size_t		 len, off = 0, i;
	ssize_t		 n;
	int		 fd = -1, rv = -1, created = 0;

	if (RAND_bytes(key, sizeof key) != 1) {
		set_cause(cause, "%s: no random bytes for a new key", path);
		goto out;
	}
	for (i = 0; i < TOKEN_KEY_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);

	fd = open(path, O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, 0600);
	if (fd == -1) {
		if (errno == EEXIST)
			rv = 0;
		else
			set_cause(cause, "%s: create: %s", path,
			    strerror(errno));
		goto out;
	}
	created = 1;
	/* The umask may have taken the owner's bits away. */
	if (fchmod(fd, 0600) == -1) {
		set_cause(cause, "%s: chmod: %s", path, strerror(errno));
		goto out;
	}

	len = (size_t)xasprintf(&text, "%s%s\n", token_file_header, hex);
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			set_cause(cause, "%s: write: %s", path,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		set_cause(cause, "%s: fsync: %s", path, strerror(errno));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		set_cause(cause, "%s: close: %s", path, strerror(errno));
		goto out;
	}
	fd = -1;
	if (token_sync_dir(path, cause) != 0)
		goto out;
	rv = 0;

out:
	if (fd != -1)
		close(fd);
	/* Leave no half-written file for the next start to trip over. */
	if (rv != 0 && created)
		unlink(path);
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(hex, sizeof hex);
	if (text != NULL) {
		OPENSSL_cleanse(text, strlen(text));
		free(text);
	}
	return rv;
}

/* Read the secret file at path, creating it first if asked to. */
struct token_keys *
token_keys_load(const char *path, int create, char **cause)
{
	struct token_keys	*tk = NULL;
	struct stat		 st;
	char			*data = NULL;
	size_t			 len = 0, size = 0;
	ssize_t			 n;
	int			 fd;

	if ((fd = open(path, O_RDONLY|O_CLOEXEC)) == -1 && errno == ENOENT &&
	    create) {
		if (token_keys_create(path, cause) != 0)
			goto out;
		fd = open(path, O_RDONLY|O_CLOEXEC);
	}
	if (fd == -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto out;
	}

	/* Check the file that was opened, not whatever the path names now. */
	if (fstat(fd, &st) == -1) {
		set_cause(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_cause(cause, "%s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		set_cause(cause, "%s: mode %04o lets group or others read the "
		    "token keys; run chmod 600 %s", path,
		    (unsigned int)(st.st_mode & 07777), path);
		goto out;
	}
	if (st.st_size > TOKEN_FILE_MAX) {
		set_cause(cause, "%s: too large for a key file (%jd bytes)",
		    path, (intmax_t)st.st_size);
		goto out;
	}

	/* One byte more than the size, to notice a file that grew. */
	size = (size_t)st.st_size + 1;
	data = xmalloc(size);
	for (;;) {
		if ((n = read(fd, data + len, size - len)) == -1) {
			if (errno == EINTR)
				continue;
			set_cause(cause, "%s: read: %s", path,
			    strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size) {
			set_cause(cause, "%s: changed while being read", path);
			goto out;
		}
	}
	tk = token_keys_parse(path, data, len, cause);

out:
	if (fd != -1)
		close(fd);
	if (data != NULL) {
		OPENSSL_cleanse(data, size);
		free(data);
	}
	return tk;
}

/* Sign a token of a version for (rid, ref, issued) with the newest key. */
static int
token_sign(const struct token_keys *tk, unsigned char version, uint64_t rid,
    uint32_t ref, uint32_t issued, char out[TOKEN_LEN + 1])
{
	const struct token_key	*k;
	unsigned char		 raw[TOKEN_RAW_LEN];

	out[0] = '\0';
	if (tk == NULL || tk->nkeys == 0)
		return -1;
	k = &tk->keys[tk->nkeys - 1];

	raw[0] = version;
	raw[1] = k->kid;
	token_be32enc(raw + 2, issued);
	be64enc(raw + 6, rid);
	token_be32enc(raw + 14, ref);
	if (token_mac(k, raw, raw + TOKEN_SIGNED_LEN) != 0)
		return -1;
	token_b64_encode(raw, sizeof raw, out);
	return 0;
}

/* Sign an unsubscribe-link token for (rid, lid, issued). */
int
token_issue(const struct token_keys *tk, uint64_t rid, uint32_t lid,
    uint32_t issued, char out[TOKEN_LEN + 1])
{
	return token_sign(tk, TOKEN_VERSION, rid, lid, issued, out);
}

/* Sign a return-path token for (rid, campaign reference, issued). */
int
token_issue_return(const struct token_keys *tk, uint64_t rid, uint32_t ref,
    uint32_t issued, char out[TOKEN_LEN + 1])
{
	return token_sign(tk, TOKEN_RETURN_VERSION, rid, ref, issued, out);
}

/* Check a token's form, version, signature and age. */
static int
token_check(const struct token_keys *tk, unsigned char version,
    const char *tok, size_t len, uint64_t now, struct token_claims *out,
    char **cause)
{
	unsigned char	 raw[TOKEN_RAW_LEN], mac[TOKEN_MAC_LEN];
	uint32_t	 issued;
	size_t		 i;
	int		 found = 0, good = 0;

	/* Length first: nothing of a wrong-sized token is looked at. */
	if (len != TOKEN_LEN) {
		return set_cause(cause, "token: bad length %zu (want %d)", len,
		    TOKEN_LEN);
	}
	if (token_b64_decode(tok, len, raw, sizeof raw, cause) != 0)
		return -1;
	if (raw[0] != version && (raw[0] == TOKEN_VERSION ||
	    raw[0] == TOKEN_RETURN_VERSION))
		return set_cause(cause, "token: a %s token where a %s token is "
		    "wanted", raw[0] == TOKEN_VERSION ? "link" : "return-path",
		    version == TOKEN_VERSION ? "link" : "return-path");
	if (raw[0] != version)
		return set_cause(cause, "token: unknown version %u", raw[0]);

	/* Ids are one byte, so two keys may share one: try each. */
	for (i = 0; tk != NULL && i < tk->nkeys && !good; i++) {
		if (tk->keys[i].kid != raw[1])
			continue;
		found = 1;
		if (token_mac(&tk->keys[i], raw, mac) != 0)
			return set_cause(cause, "token: HMAC failed");
		if (CRYPTO_memcmp(mac, raw + TOKEN_SIGNED_LEN,
		    TOKEN_MAC_LEN) == 0)
			good = 1;
	}
	if (!found)
		return set_cause(cause, "token: no key with id 0x%02x", raw[1]);
	if (!good)
		return set_cause(cause, "token: signature mismatch");

	/* Only a genuine token gets as far as its dates. */
	issued = token_be32dec(raw + 2);
	if (issued > now && issued - now > TOKEN_MAX_SKEW) {
		return set_cause(cause, "token: issued at %" PRIu32 ", %"
		    PRIu64 " s in the future", issued, issued - now);
	}
	if (now > issued && now - issued > TOKEN_MAX_AGE) {
		return set_cause(cause, "token: expired: issued at %" PRIu32
		    ", %" PRIu64 " s ago (max %" PRIu64 ")", issued,
		    now - issued, TOKEN_MAX_AGE);
	}

	if (out != NULL) {
		out->rid = be64dec(raw + 6);
		out->lid = token_be32dec(raw + 14);
		out->issued = issued;
	}
	return 0;
}

/* Check an unsubscribe-link token. */
int
token_verify(const struct token_keys *tk, const char *tok, size_t len,
    uint64_t now, struct token_claims *out, char **cause)
{
	return token_check(tk, TOKEN_VERSION, tok, len, now, out, cause);
}

/* Check a return-path token. */
int
token_verify_return(const struct token_keys *tk, const char *tok, size_t len,
    uint64_t now, struct token_claims *out, char **cause)
{
	return token_check(tk, TOKEN_RETURN_VERSION, tok, len, now, out,
	    cause);
}

uint32_t
token_campaign_ref(const char *campaign)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)campaign, strlen(campaign), md);
	return token_be32dec(md);
}

/*
 * HMAC-SHA256 under key `i` (0 the oldest) of a label, a NUL and data:
 * the label keeps these digests apart from token MACs made with the
 * same key.
 */
int
token_keys_digest(const struct token_keys *tk, size_t i, const char *label,
    const void *data, size_t len, unsigned char out[TOKEN_DIGEST_LEN])
{
	unsigned char	 md[EVP_MAX_MD_SIZE];
	size_t		 mdlen = 0;
	EVP_MAC_CTX	*c;
	int		 ok;

	if (i >= tk->nkeys || (c = EVP_MAC_CTX_dup(tk->keys[i].mac)) == NULL)
		return -1;
	ok = EVP_MAC_update(c, (const unsigned char *)label,
	    strlen(label) + 1) == 1 && EVP_MAC_update(c, data, len) == 1 &&
	    EVP_MAC_final(c, md, &mdlen, sizeof md) == 1 &&
	    mdlen == TOKEN_DIGEST_LEN;
	EVP_MAC_CTX_free(c);
	if (ok)
		memcpy(out, md, TOKEN_DIGEST_LEN);
	OPENSSL_cleanse(md, sizeof md);
	return ok ? 0 : -1;
}
