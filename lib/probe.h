/*
 * probe.h: measuring one remote image's size with libcurl: a HEAD
 * request, then a one-byte ranged GET when HEAD gives no length.  http
 * and https only, redirects only to http(s), at most three, a timeout.
 *
 * The probe sets up each easy handle and reads the answer; the caller
 * runs the handle (curl_easy_perform() in mannersctl, the loop's multi
 * handle in mannersd) and hands back the result with probe_done().
 */
#ifndef MANNERS_PROBE_H
#define MANNERS_PROBE_H

#include <curl/curl.h>

struct probe;

/* What probe_done() found. */
enum probe_state {
	PROBE_DONE,		/* a size, or a reason why there is none */
	PROBE_AGAIN		/* run probe_easy() once more (the ranged GET) */
};

/* A probe of url with a timeout in seconds; arg is the caller's. */
struct probe	*probe_new(const char *, long, void *);
/* The easy handle of the current try; its CURLOPT_PRIVATE is the probe. */
CURL		*probe_easy(struct probe *);
/* The probe whose handle this is (from CURLOPT_PRIVATE). */
struct probe	*probe_of(CURL *);
/* The caller's argument. */
void		*probe_arg(const struct probe *);
/* The current try ended with res: read the answer, free the handle. */
enum probe_state probe_done(struct probe *, CURLcode);
/* The size in bytes, or -1 with probe_why() saying why. */
long long	 probe_size(const struct probe *);
const char	*probe_why(const struct probe *);
/* Free the probe and a handle still open. */
void		 probe_free(struct probe *);
/* Run a probe to the end with curl_easy_perform() (for mannersctl). */
long long	 probe_perform(const char *, long, char **);

#endif
