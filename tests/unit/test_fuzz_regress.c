/*
 * test_fuzz_regress.c: replay the fuzzers' seeds and crash reproducers.
 *
 * Every file under tests/fuzz/corpus/TARGET/ and tests/fuzz/regress/TARGET/
 * goes through fuzz_TARGET.c's own entry point, compiled in here with
 * LLVMFuzzerTestOneInput renamed, so that `make check` keeps a fixed crash
 * fixed without clang or libFuzzer.  The targets abort() on a broken
 * promise, and memory errors need `make check SANITIZE=1` to be seen;
 * either way the test dies naming the file it was replaying.
 *
 * The files are found from the current directory (make check runs at the
 * top of the tree), or from MANNERS_FUZZ_DIR.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#define LLVMFuzzerTestOneInput	fuzz_addr_one
#include "../fuzz/fuzz_addr.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_campaign_one
#include "../fuzz/fuzz_campaign.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_conf_one
#include "../fuzz/fuzz_conf.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_feedback_one
#include "../fuzz/fuzz_feedback.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_form_one
#include "../fuzz/fuzz_form.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_http_one
#include "../fuzz/fuzz_http.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_token_one
#include "../fuzz/fuzz_token.c"
#undef LLVMFuzzerTestOneInput

#define LLVMFuzzerTestOneInput	fuzz_weigh_one
#include "../fuzz/fuzz_weigh.c"
#undef LLVMFuzzerTestOneInput

#define REGRESS_DIR_DEFAULT	"tests/fuzz"

typedef int	(*regress_fn)(const uint8_t *, size_t);

/* The file being replayed, for the signal handler. */
static char	regress_current[512];

/* Name the input that crashed, then die of the same signal. */
static void
regress_signal(int sig)
{
	static const char	 msg[] = "test_fuzz_regress: crashed on ";

	(void)!write(STDERR_FILENO, msg, sizeof msg - 1);
	(void)!write(STDERR_FILENO, regress_current, strlen(regress_current));
	(void)!write(STDERR_FILENO, "\n", 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ASan's hook before it exits on an error; absent without ASan. */
void	__asan_set_death_callback(void (*)(void)) __attribute__((weak));

static void
regress_asan_death(void)
{
	fprintf(stderr, "test_fuzz_regress: ASan stopped on %s\n",
	    regress_current);
}

static void
regress_catch(void)
{
	static const int	 sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE,
				    SIGILL };
	size_t			 i;

	for (i = 0; i < nitems(sigs); i++)
		signal(sigs[i], regress_signal);
	if (__asan_set_death_callback != NULL)
		__asan_set_death_callback(regress_asan_death);
}

/* Read a whole file; NULL if it cannot be read. */
static uint8_t *
regress_read(const char *path, size_t *len)
{
	struct stat	 st;
	uint8_t		*data;
	FILE		*f;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return NULL;
	}
	/*
	 * Exactly the file's size, as libFuzzer does, so that ASan (make
	 * check SANITIZE=1) sees a read one byte past the input.  malloc(0)
	 * gives a pointer with no byte behind it.
	 */
	if ((data = malloc((size_t)st.st_size)) == NULL) {
		fclose(f);
		return NULL;
	}
	*len = fread(data, 1, (size_t)st.st_size, f);
	fclose(f);
	if (*len != (size_t)st.st_size) {
		free(data);
		return NULL;
	}
	return data;
}

/* Feed every file of dir/kind/target to fn; returns how many. */
static size_t
regress_dir(const char *kind, const char *target, regress_fn fn)
{
	const char	*top;
	struct dirent	*de;
	DIR		*d;
	uint8_t		*data;
	char		*dir;
	size_t		 n = 0, len;

	if ((top = getenv("MANNERS_FUZZ_DIR")) == NULL)
		top = REGRESS_DIR_DEFAULT;
	xasprintf(&dir, "%s/%s/%s", top, kind, target);
	if ((d = opendir(dir)) == NULL) {
		free(dir);
		return 0;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(regress_current, sizeof regress_current, "%s/%s", dir,
		    de->d_name);
		if ((data = regress_read(regress_current, &len)) == NULL)
			continue;
		fn(data, len);
		free(data);
		n++;
	}
	closedir(d);
	free(dir);
	regress_current[0] = '\0';
	return n;
}

/* Replay a target's seeds (there must be some) and reproducers. */
static void
regress_target(const char *target, regress_fn fn)
{
	size_t	 seeds, crashes;

	regress_catch();
	seeds = regress_dir("corpus", target, fn);
	crashes = regress_dir("regress", target, fn);
	cr_assert_gt(seeds, 0, "no seeds found for fuzz_%s (run from the top "
	    "of the tree, or set MANNERS_FUZZ_DIR)", target);
	cr_log_info("fuzz_%s: %zu seeds and %zu reproducers replayed", target,
	    seeds, crashes);
}

Test(fuzz_regress, addr)
{
	regress_target("addr", fuzz_addr_one);
}

Test(fuzz_regress, campaign)
{
	regress_target("campaign", fuzz_campaign_one);
}

Test(fuzz_regress, conf)
{
	regress_target("conf", fuzz_conf_one);
}

Test(fuzz_regress, feedback)
{
	regress_target("feedback", fuzz_feedback_one);
}

Test(fuzz_regress, form)
{
	regress_target("form", fuzz_form_one);
}

Test(fuzz_regress, http)
{
	regress_target("http", fuzz_http_one);
	fuzz_http_cleanup();
}

Test(fuzz_regress, token)
{
	regress_target("token", fuzz_token_one);
}

Test(fuzz_regress, weigh)
{
	regress_target("weigh", fuzz_weigh_one);
}
