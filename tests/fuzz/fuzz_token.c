/*
 * fuzz_token.c: libFuzzer target for the unsubscribe token verifier and
 * the secret file's parser.
 *
 * The input is checked as a token (the path after /u/) against fixed
 * keys.  A token that verifies must be the one token_issue() spells for
 * its claims: a token has exactly one spelling.  The same bytes are then
 * read as a secret file; keys it yields must sign tokens that verify.
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "token.h"
#include "util.h"

/* 2026-01-01T00:00:00Z: the "now" of every check. */
#define FUZZ_TOKEN_NOW		UINT64_C(1767225600)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct token_keys	*fuzz_token_keys;	/* old, new */
static struct token_keys	*fuzz_token_new;	/* new alone */
static char			 fuzz_token_path[64];

static void
fuzz_token_cleanup(void)
{
	if (fuzz_token_path[0] != '\0')
		unlink(fuzz_token_path);
	token_keys_free(fuzz_token_keys);
	token_keys_free(fuzz_token_new);
	fuzz_token_keys = fuzz_token_new = NULL;
}

/* Two deterministic keys, as in the corpus's tokens. */
static void
fuzz_token_init(void)
{
	unsigned char	 raw[2 * TOKEN_KEY_LEN];
	size_t		 i;
	int		 fd;

	for (i = 0; i < sizeof raw; i++)
		raw[i] = (unsigned char)(i * 7 + 1);
	fuzz_token_keys = token_keys_from_memory(raw, 2);
	fuzz_token_new = token_keys_from_memory(raw + TOKEN_KEY_LEN, 1);
	/* Rewritten for every input: keep it in memory where possible. */
	snprintf(fuzz_token_path, sizeof fuzz_token_path,
	    "%s/manners-fuzz-token.XXXXXX", access("/dev/shm", W_OK) == 0 ?
	    "/dev/shm" : "/tmp");
	if ((fd = mkstemp(fuzz_token_path)) == -1)
		abort();
	close(fd);
	atexit(fuzz_token_cleanup);
}

/* An accepted token has one spelling: the one issued for its claims. */
static void
fuzz_token_canonical(const char *tok, size_t len,
    const struct token_claims *tc)
{
	struct token_claims	 again;
	char			 out[TOKEN_LEN + 1];

	if (len != TOKEN_LEN)
		abort();
	/* With the newest key alone, re-issuing must give the same bytes
	   when the token was signed with it. */
	if (token_verify(fuzz_token_new, tok, len, FUZZ_TOKEN_NOW, &again,
	    NULL) == 0) {
		if (token_issue(fuzz_token_new, tc->rid, tc->lid, tc->issued,
		    out) != 0 || memcmp(out, tok, TOKEN_LEN) != 0)
			abort();
		if (again.rid != tc->rid || again.lid != tc->lid ||
		    again.issued != tc->issued)
			abort();
	}
}

/* The bytes as a secret file; its keys must sign and verify. */
static void
fuzz_token_file(const uint8_t *data, size_t size)
{
	struct token_keys	*tk;
	struct token_claims	 tc;
	char			 out[TOKEN_LEN + 1], *cause = NULL;
	int			 fd;

	if ((fd = open(fuzz_token_path, O_WRONLY|O_TRUNC)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if ((tk = token_keys_load(fuzz_token_path, 0, &cause)) == NULL) {
		if (cause == NULL)
			abort();
		free(cause);
		return;
	}
	if (token_keys_count(tk) == 0 ||
	    token_issue(tk, 42, 7, (uint32_t)FUZZ_TOKEN_NOW, out) != 0 ||
	    strlen(out) != TOKEN_LEN ||
	    token_verify(tk, out, TOKEN_LEN, FUZZ_TOKEN_NOW, &tc, NULL) != 0 ||
	    tc.rid != 42 || tc.lid != 7)
		abort();
	token_keys_free(tk);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token_claims	 tc;
	char			*cause = NULL;

	if (fuzz_token_keys == NULL)
		fuzz_token_init();
	memset(&tc, 0, sizeof tc);
	if (token_verify(fuzz_token_keys, (const char *)data, size,
	    FUZZ_TOKEN_NOW, &tc, &cause) == 0) {
		if (cause != NULL)
			abort();
		fuzz_token_canonical((const char *)data, size, &tc);
	} else {
		if (cause == NULL)
			abort();
		free(cause);
	}
	/* No keys: nothing verifies. */
	if (token_verify(NULL, (const char *)data, size, FUZZ_TOKEN_NOW, NULL,
	    NULL) == 0)
		abort();
	fuzz_token_file(data, size);
	return 0;
}
