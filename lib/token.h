/*
 * token.h: signed, constant-length unsubscribe tokens.
 *
 * A token names a recipient and a list by the numeric ids the store gives
 * them, so that no address ever appears in a URL, and carries the time it
 * was issued. The token is 34 bytes:
 *
 *	offset	size	field
 *	0	1	version, TOKEN_VERSION
 *	1	1	kid: first byte of SHA-256(key) of the signing key
 *	2	4	issued: unix time in seconds, big-endian
 *	6	8	rid: recipient id, big-endian
 *	14	4	lid: list id, big-endian
 *	18	16	mac: HMAC-SHA256(key, bytes 0 to 17), first 16 bytes
 *
 * A return-path token (version TOKEN_RETURN_VERSION, in the envelope
 * sender bounces+TOKEN@domain) has the same layout with the campaign's
 * reference, token_campaign_ref(), where a link token has the list id:
 * the two versions are signed apart, so neither passes for the other.
 *
 * encoded as base64url without padding (RFC 4648 section 5): always
 * TOKEN_LEN characters from [A-Za-z0-9_-], safe in a URL path as is.
 * Decoding is strict: a token has exactly one spelling, so changing any
 * character makes it invalid.
 *
 * The keys come from the secret file: one 32-byte key per line as 64 hex
 * digits, '#' comments and blank lines ignored. The last key signs; every
 * key verifies. A key is rotated by appending a new line; the old line is
 * kept for at least a year, since tokens signed with it stop working the
 * moment it is removed (and expire anyway after TOKEN_MAX_AGE).
 *
 * Nothing here reads the clock: the caller passes the issue time and "now".
 */
#ifndef MANNERS_TOKEN_H
#define MANNERS_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define TOKEN_VERSION	1
#define TOKEN_RETURN_VERSION	3	/* return path: rid and campaign */
#define TOKEN_KEY_LEN	32		/* bytes of one HMAC key */
#define TOKEN_MAC_LEN	16		/* HMAC-SHA256 truncated to 128 bits */
#define TOKEN_RAW_LEN	34		/* decoded bytes, MAC included */
#define TOKEN_LEN	46		/* encoded characters, without NUL */

/* People click old mail: a token stays valid three years (with a leap day). */
#define TOKEN_MAX_AGE	((uint64_t)1096 * 24 * 60 * 60)
/* Accepted clock difference for a token issued "in the future". */
#define TOKEN_MAX_SKEW	((uint64_t)24 * 60 * 60)

struct token_keys;

/* What a valid token says. */
struct token_claims {
	uint64_t	rid;		/* recipient id */
	uint32_t	lid;		/* list id; for a return-path token, the
					   campaign's token_campaign_ref() */
	uint32_t	issued;		/* unix time, seconds */
};

/*
 * Load the keys from the secret file at path. If it does not exist and
 * create is set, it is first created with mode 0600 holding one fresh
 * random key. A file readable by group or others, a malformed line or a
 * file without keys is refused. Returns NULL and sets *cause on error.
 */
struct token_keys	*token_keys_load(const char *, int, char **);
/* Keys from nkeys consecutive TOKEN_KEY_LEN-byte keys, the last newest;
 * NULL if nkeys is 0. */
struct token_keys	*token_keys_from_memory(const unsigned char *, size_t);
/* Wipe and free the keys; NULL is ignored. */
void			 token_keys_free(struct token_keys *);
/* How many keys there are (for the daemon's start-up log). */
size_t			 token_keys_count(const struct token_keys *);
/* HMAC-SHA256 of label NUL data under key i (0 oldest; count - 1 signs). */
#define TOKEN_DIGEST_LEN	32
int			 token_keys_digest(const struct token_keys *, size_t,
			    const char *, const void *, size_t,
			    unsigned char [TOKEN_DIGEST_LEN]);

/* Sign a token for (rid, lid, issued) with the newest key into out,
 * NUL-terminated. Returns 0, or -1 if the HMAC cannot be computed. */
int	token_issue(const struct token_keys *, uint64_t, uint32_t, uint32_t,
	    char [TOKEN_LEN + 1]);
/*
 * Check the len characters of tok at time now. On success fills *out (if
 * not NULL) and returns 0; otherwise returns -1, leaves *out untouched and
 * sets *cause to a reason meant for logs, never for the public page.
 */
int	token_verify(const struct token_keys *, const char *, size_t, uint64_t,
	    struct token_claims *, char **);

/*
 * The return-path token for (rid, campaign reference, issued), and its
 * check: as token_issue() and token_verify(), for version
 * TOKEN_RETURN_VERSION only.  "bounces+" and a token keep a return
 * path's local part at 54 octets, within RFC 5321's 64.
 */
int	token_issue_return(const struct token_keys *, uint64_t, uint32_t,
	    uint32_t, char [TOKEN_LEN + 1]);
int	token_verify_return(const struct token_keys *, const char *, size_t,
	    uint64_t, struct token_claims *, char **);
/* A campaign id's 32-bit reference: the first bytes of its SHA-256. */
uint32_t token_campaign_ref(const char *);

#endif
