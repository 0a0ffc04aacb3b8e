/*
 * mannersctl.c: the command-line client of the control API (HTTP over
 * the Unix socket, with libcurl).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "util.h"
#include "weigh.h"

#define CTL_DEFAULT_SOCKET	"var/control.sock"

/* Exit codes, documented in mannersctl(1) and README. */
#define EXIT_OK		0	/* done */
#define EXIT_REFUSED	1	/* the daemon answered with an error */
#define EXIT_USAGE	2	/* bad command line */
#define EXIT_UNREACHABLE 3	/* no daemon on the socket */

struct ctl {
	const char	*socket;
	int		 json;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: mannersctl [--socket PATH] [--json] COMMAND ...\n"
	    "commands:\n"
	    "  submit FILE [--dry-run]   submit a campaign document\n"
	    "  status [ID]               one campaign, or the list\n"
	    "  health                    is the daemon alive?\n"
	    "  weigh FILE.html           weigh an HTML body (no daemon "
	    "needed)\n"
	    "The socket defaults to $MANNERS_SOCKET, then %s.\n",
	    CTL_DEFAULT_SOCKET);
	exit(EXIT_USAGE);
}

static size_t
ctl_collect(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

/* One request; returns the HTTP status, or -1 if unreachable. */
static long
ctl_request(struct ctl *ctl, const char *method, const char *path,
    const char *body, size_t bodylen, const char *ctype, struct buf *out)
{
	CURL			*c;
	struct curl_slist	*h = NULL;
	char			 url[1024], err[CURL_ERROR_SIZE] = "";
	long			 code = -1;
	CURLcode		 rc;

	if ((c = curl_easy_init()) == NULL) {
		fprintf(stderr, "mannersctl: curl_easy_init failed\n");
		exit(EXIT_UNREACHABLE);
	}
	snprintf(url, sizeof url, "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ctl->socket);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen);
	}
	if (ctype != NULL) {
		char	 hdr[128];

		snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
		h = curl_slist_append(h, hdr);
		h = curl_slist_append(h, "Expect:");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	}
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		fprintf(stderr, "mannersctl: cannot reach mannersd on %s: %s\n"
		    "mannersctl: is the daemon running? (--socket or "
		    "MANNERS_SOCKET chooses the socket)\n", ctl->socket,
		    err[0] != '\0' ? err : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

/* Read a whole file. */
static char *
ctl_slurp(const char *path, size_t *len)
{
	FILE		*f;
	struct buf	 b;
	char		 chunk[65536];
	size_t		 n;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "mannersctl: %s: %s\n", path, strerror(errno));
		exit(EXIT_USAGE);
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f)) {
		fprintf(stderr, "mannersctl: %s: read error\n", path);
		exit(EXIT_USAGE);
	}
	if (f != stdin)
		fclose(f);
	return buf_steal(&b, len);
}

/* Print the answer: raw JSON, or a readable form. */
static int
ctl_print(struct ctl *ctl, long code, struct buf *body)
{
	json_t		*j;
	json_error_t	 jerr;
	char		*s;

	if (code < 0)
		return EXIT_UNREACHABLE;
	j = json_loadb(body->data != NULL ? body->data : "", body->len, 0,
	    &jerr);
	if (ctl->json || j == NULL)
		fwrite(body->data != NULL ? body->data : "", 1, body->len,
		    stdout);
	else {
		s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (code >= 400 && json_is_string(json_object_get(j, "error")))
			fprintf(stderr, "mannersctl: error %ld: %s\n", code,
			    json_string_value(json_object_get(j, "error")));
		printf("%s\n", s);
		free(s);
	}
	json_decref(j);
	return code >= 200 && code < 300 ? EXIT_OK : EXIT_REFUSED;
}

static int
ctl_submit(struct ctl *ctl, int argc, char **argv)
{
	struct buf	 out;
	char		*doc;
	size_t		 len;
	int		 dry = 0, i, rv;
	const char	*file = NULL;
	long		 code;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--dry-run") == 0)
			dry = 1;
		else if (file == NULL)
			file = argv[i];
		else
			usage();
	}
	if (file == NULL)
		usage();
	doc = ctl_slurp(file, &len);
	buf_init(&out);
	code = ctl_request(ctl, "POST", dry ? "/v1/campaigns?dry_run=1" :
	    "/v1/campaigns", doc, len, "application/xml", &out);
	rv = ctl_print(ctl, code, &out);
	buf_free(&out);
	free(doc);
	return rv;
}

static int
ctl_get(struct ctl *ctl, const char *path)
{
	struct buf	 out;
	long		 code;
	int		 rv;

	buf_init(&out);
	code = ctl_request(ctl, "GET", path, NULL, 0, NULL, &out);
	rv = ctl_print(ctl, code, &out);
	buf_free(&out);
	return rv;
}

/* One remote image's size: HEAD, then a one-byte range; -1 if unknown. */
static long long
ctl_measure(const char *url)
{
	CURL		*c;
	curl_off_t	 len = -1;
	long		 code = 0;
	int		 ranged;

	for (ranged = 0; ranged < 2; ranged++) {
		struct buf	 hdr;
		const char	*cr;

		if ((c = curl_easy_init()) == NULL)
			return -1;
		buf_init(&hdr);
		curl_easy_setopt(c, CURLOPT_URL, url);
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
		curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
		curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
		curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, ctl_collect);
		curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdr);
		if (ranged)
			curl_easy_setopt(c, CURLOPT_RANGE, "0-0");
		else
			curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
		curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_collect);
		{
			struct buf	 body;

			buf_init(&body);
			curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
			curl_easy_perform(c);
			buf_free(&body);
		}
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
		curl_easy_getinfo(c, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &len);
		curl_easy_cleanup(c);
		if (ranged && hdr.data != NULL &&
		    (cr = strcasestr(hdr.data, "\ncontent-range:")) != NULL &&
		    (cr = strchr(cr, '/')) != NULL && cr[1] != '*')
			len = strtoll(cr + 1, NULL, 10);
		else if (ranged && code == 206)
			len = -1;
		buf_free(&hdr);
		if (code >= 200 && code < 300 && len >= 0)
			return (long long)len;
	}
	return -1;
}

/* weigh FILE.html: the weight report, without a daemon. */
static int
ctl_weigh(struct ctl *ctl, int argc, char **argv)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	struct buf		 out;
	char			*html, *cause = NULL, *s;
	size_t			 len, i;
	int			 broken, measure = 1;
	const char		*file = NULL;
	json_t			*j;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--no-remote") == 0)
			measure = 0;
		else if (file == NULL)
			file = argv[i];
		else
			usage();
	}
	if (file == NULL)
		usage();
	html = ctl_slurp(file, &len);
	weigh_limits_default(&lim);
	if (weigh_html(html, len, &lim, &w, &cause) == -1) {
		fprintf(stderr, "mannersctl: %s: %s\n", file, cause);
		free(cause);
		free(html);
		return EXIT_REFUSED;
	}
	for (i = 0; measure && i < weigh_remote_count(w); i++) {
		long long	 n;

		if (!weigh_remote_fetchable(w, i))
			continue;
		n = ctl_measure(weigh_remote_url(w, i));
		weigh_set_remote_size(w, i, n, n < 0 ? "could not be "
		    "measured" : NULL);
	}
	broken = weigh_check(w);
	if (ctl->json) {
		j = weigh_report_json(w);
		s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("%s\n", s);
		free(s);
		json_decref(j);
	} else {
		buf_init(&out);
		weigh_report_text(w, &out);
		fwrite(out.data != NULL ? out.data : "", 1, out.len, stdout);
		buf_free(&out);
	}
	weigh_free(w);
	free(html);
	return broken > 0 ? EXIT_REFUSED : EXIT_OK;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl	 ctl;
	char		 path[512], *esc;
	int		 ch, rv;

	memset(&ctl, 0, sizeof ctl);
	ctl.socket = getenv("MANNERS_SOCKET");
	if (ctl.socket == NULL || *ctl.socket == '\0')
		ctl.socket = CTL_DEFAULT_SOCKET;
	while ((ch = getopt_long(argc, argv, "+s:jh", longopts, NULL)) != -1) {
		switch (ch) {
		case 's':
			ctl.socket = optarg;
			break;
		case 'j':
			ctl.json = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1)
		usage();
	/* Options may also follow the command. */
	for (ch = 1; ch < argc; ch++) {
		if (strcmp(argv[ch], "--json") == 0) {
			ctl.json = 1;
			memmove(&argv[ch], &argv[ch + 1],
			    (size_t)(argc - ch) * sizeof *argv);
			argc--;
			ch--;
		}
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (strcmp(argv[0], "submit") == 0)
		rv = ctl_submit(&ctl, argc, argv);
	else if (strcmp(argv[0], "status") == 0 && argc <= 2) {
		if (argc == 1)
			rv = ctl_get(&ctl, "/v1/campaigns");
		else {
			esc = curl_easy_escape(NULL, argv[1], 0);
			snprintf(path, sizeof path, "/v1/campaigns/%s", esc);
			curl_free(esc);
			rv = ctl_get(&ctl, path);
		}
	} else if (strcmp(argv[0], "weigh") == 0)
		rv = ctl_weigh(&ctl, argc, argv);
	else if (strcmp(argv[0], "health") == 0 && argc == 1)
		rv = ctl_get(&ctl, "/v1/health");
	else
		usage();
	curl_global_cleanup();
	return rv;
}
