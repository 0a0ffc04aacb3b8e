/*
 * probe.c: the remote-image size probe (HEAD, then GET of bytes 0-0),
 * its libcurl set-up and the reading of its answer, shared by the
 * daemon's measure.c and mannersctl's weigh command.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe.h"
#include "util.h"

struct probe {
	char		*url;
	long		 timeout;	/* seconds */
	void		*arg;
	int		 ranged;	/* second try: GET 0-0 */
	long long	 total;		/* from Content-Range, or -1 */
	long long	 size;		/* the answer, or -1 */
	char		 why[CURL_ERROR_SIZE + 64];
	char		 err[CURL_ERROR_SIZE];
	CURL		*easy;
};

/* Keep the total of "Content-Range: bytes 0-0/12345". */
static size_t
probe_header(char *p, size_t size, size_t n, void *arg)
{
	struct probe	*pr = arg;
	size_t		 len = size * n;
	char		 line[256];
	const char	*slash;

	if (len < sizeof line && len >= 14 &&
	    strncasecmp(p, "Content-Range:", 14) == 0) {
		memcpy(line, p, len);
		line[len] = '\0';
		if ((slash = strchr(line, '/')) != NULL && slash[1] != '*')
			pr->total = strtoll(slash + 1, NULL, 10);
	}
	return len;
}

/* The body is never wanted: stop at its first byte. */
static size_t
probe_body(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)size;
	(void)n;
	(void)arg;
	return 0;
}

/* Set up the easy handle of the current try. */
static void
probe_setup(struct probe *pr)
{
	CURL	*e;

	if ((e = curl_easy_init()) == NULL) {
		pr->easy = NULL;
		return;
	}
	pr->easy = e;
	pr->total = -1;
	pr->err[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, pr->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(e, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, pr->timeout);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "manners-weigh/1");
	curl_easy_setopt(e, CURLOPT_PRIVATE, pr);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, pr->err);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, probe_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, pr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, probe_body);
	if (pr->ranged)
		curl_easy_setopt(e, CURLOPT_RANGE, "0-0");
	else
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
}

/* A probe of url, its first try (HEAD) set up. */
struct probe *
probe_new(const char *url, long timeout, void *arg)
{
	struct probe	*pr;

	pr = xcalloc(1, sizeof *pr);
	pr->url = xstrdup(url);
	pr->timeout = timeout;
	pr->arg = arg;
	pr->size = -1;
	probe_setup(pr);
	return pr;
}

/* The easy handle of the current try (NULL if libcurl had none). */
CURL *
probe_easy(struct probe *pr)
{
	return pr->easy;
}

/* The probe a handle belongs to. */
struct probe *
probe_of(CURL *e)
{
	struct probe	*pr = NULL;

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&pr);
	return pr;
}

/* The caller's argument. */
void *
probe_arg(const struct probe *pr)
{
	return pr->arg;
}

/* Why a try that ended with res and HTTP code gave no size. */
static void
probe_reason(struct probe *pr, CURLcode res, long code)
{
	if (res == CURLE_UNSUPPORTED_PROTOCOL)
		snprintf(pr->why, sizeof pr->why, "refused: a redirect to a "
		    "scheme other than http or https");
	else if (res == CURLE_OPERATION_TIMEDOUT)
		snprintf(pr->why, sizeof pr->why, "no answer within %lds",
		    pr->timeout);
	else if (res != CURLE_OK && res != CURLE_WRITE_ERROR)
		snprintf(pr->why, sizeof pr->why, "%s", pr->err[0] != '\0' ?
		    pr->err : curl_easy_strerror(res));
	else if (code >= 300)
		snprintf(pr->why, sizeof pr->why, "HTTP %ld", code);
	else
		snprintf(pr->why, sizeof pr->why, "the server gave no size");
}

/* Read the answer of the current try; set up the next one if needed. */
enum probe_state
probe_done(struct probe *pr, CURLcode res)
{
	curl_off_t	 len = -1;
	long		 code = 0;

	if (pr->easy == NULL) {
		snprintf(pr->why, sizeof pr->why, "curl_easy_init failed");
		return PROBE_DONE;
	}
	curl_easy_getinfo(pr->easy, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(pr->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
	curl_easy_cleanup(pr->easy);
	pr->easy = NULL;
	/* A GET stopped at its first body byte ends in a write error. */
	if ((res == CURLE_OK || (pr->ranged && res == CURLE_WRITE_ERROR)) &&
	    code >= 200 && code < 300) {
		/* A 206 without a total says nothing of the whole size. */
		if (pr->ranged && pr->total >= 0)
			len = pr->total;
		else if (pr->ranged && code == 206)
			len = -1;
		if (len >= 0) {
			pr->size = (long long)len;
			return PROBE_DONE;
		}
	}
	if (!pr->ranged && (res == CURLE_OK || code == 405 || code == 501)) {
		/* HEAD said nothing useful: ask for one byte instead. */
		pr->ranged = 1;
		probe_setup(pr);
		return PROBE_AGAIN;
	}
	probe_reason(pr, res, code);
	return PROBE_DONE;
}

/* The size, or -1. */
long long
probe_size(const struct probe *pr)
{
	return pr->size;
}

/* Why there is no size. */
const char *
probe_why(const struct probe *pr)
{
	return pr->size >= 0 ? NULL : pr->why;
}

/* Free the probe. */
void
probe_free(struct probe *pr)
{
	if (pr == NULL)
		return;
	if (pr->easy != NULL)
		curl_easy_cleanup(pr->easy);
	free(pr->url);
	free(pr);
}

/* Run a probe to the end, blocking; the size or -1 with *why. */
long long
probe_perform(const char *url, long timeout, char **why)
{
	struct probe	*pr = probe_new(url, timeout, NULL);
	long long	 size;
	CURLcode	 res;

	do {
		res = pr->easy != NULL ? curl_easy_perform(pr->easy) :
		    CURLE_FAILED_INIT;
	} while (probe_done(pr, res) == PROBE_AGAIN);
	size = pr->size;
	if (size < 0 && why != NULL)
		*why = xstrdup(pr->why);
	probe_free(pr);
	return size;
}
