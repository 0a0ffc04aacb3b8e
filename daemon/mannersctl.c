/*
 * mannersctl.c: the command-line client of the control API (HTTP/1.1
 * over the Unix socket, with libcurl).
 *
 * Every command is one or a few requests.  With --json, stdout gets the
 * daemon's JSON answer as it came; otherwise a readable summary.  Errors
 * go to stderr as "mannersctl: error STATUS: message" and the detail
 * lines; the exit code says what happened (see mannersctl(1)).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "probe.h"
#include "util.h"
#include "version.h"
#include "weigh.h"

/* The development daemon's socket (make run), then the system one. */
#define CTL_DEV_SOCKET		"var/control.sock"
#define CTL_SYSTEM_SOCKET	"/run/manners/control.sock"

/* Exit codes, documented in mannersctl(1) and --help. */
#define EXIT_OK		0	/* done */
#define EXIT_REFUSED	1	/* the daemon said no; over a limit */
#define EXIT_USAGE	2	/* bad command line, unreadable file */
#define EXIT_UNREACHABLE 3	/* no daemon on the socket */
#define EXIT_FAILED	4	/* --wait: some messages failed */
#define EXIT_TEMPFAIL	75	/* feedback: try again later (EX_TEMPFAIL) */

/*
 * How a bad command line ends: EXIT_USAGE, but EXIT_TEMPFAIL for
 * feedback, which an MTA's pipe(8) runs: any other failure code makes
 * the MTA bounce the message to its sender (backscatter), where a
 * temporary one keeps it queued until the pipe is mended.
 */
static int	ctl_usage_status = EXIT_USAGE;

/* An upload this large draws a progress bar (on a terminal). */
#define CTL_BAR_MIN		(1024 * 1024)
/* How long a submission waits for "100 Continue" before sending. */
#define CTL_EXPECT_TIMEOUT_MS	5000L
/* feedback reads at most this much of a message (mannersd refuses more
 * than 10 MiB with 413, which is ignored, not retried). */
#define CTL_FEEDBACK_MAX	(64 * 1024 * 1024)
/* Without a terminal, --wait says why it waits at least this often. */
#define CTL_WHY_SECS	60
/* --wait polls the campaign this often. */
#define CTL_POLL_MS		1000
/* Time limits: connecting, and a request other than a submission. */
#define CTL_CONNECT_TIMEOUT	10L
#define CTL_REQUEST_TIMEOUT	120L

struct ctl {
	const char	*socket;
	int		 json;
	int		 tty;		/* stderr is a terminal: progress */
	size_t		 drawn;		/* columns of the progress line */
};

/* A command's arguments after its options are taken out. */
struct args {
	const char	*pos[2];
	int		 npos;
	int		 dry_run;
	int		 wait;
	int		 no_remote;
	const char	*list;
	const char	*rcpt;
	int		 overwrite;
};

/* An answer from the daemon. */
struct reply {
	long		 code;		/* HTTP status; -1: unreachable */
	struct buf	 body;
	json_t		*json;		/* the body parsed, or NULL */
};

/* A request body, streamed from a file or from memory. */
struct upload {
	struct ctl	*ctl;
	FILE		*f;		/* NULL: from data */
	char		*data;
	size_t		 len;
	size_t		 off;
	const char	*name;		/* for the progress bar */
	int		 bar;
	int		 expect;	/* Expect: 100-continue */
	int		 answered;	/* the whole body is sent */
	long long	 last_ms;
};

/* --help: the summary, on stdout. */
static void
ctl_help(void)
{
	printf(
	    "usage: mannersctl [--socket PATH] [--json] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  submit FILE [--dry-run] [--wait]\n"
	    "                        submit a campaign document (- for stdin);\n"
	    "                        --dry-run: report only, queue nothing;\n"
	    "                        --wait: return once nothing is queued\n"
	    "  status [ID]           one campaign, or all of them\n"
	    "  cancel ID             drop what is still queued\n"
	    "  pause ID              hold the campaign's queued messages\n"
	    "  resume ID             release them\n"
	    "  recipient ADDR        history, unsubscribes and caps of an "
	    "address\n"
	    "  unsubscribe ADDR [--list LIST]\n"
	    "                        suppress an address (one list, or all)\n"
	    "  resubscribe ADDR [--list LIST]\n"
	    "                        remove that suppression\n"
	    "  backup FILE [--overwrite]\n"
	    "                        a consistent, compacted copy of the "
	    "store,\n"
	    "                        taken while mannersd runs\n"
	    "  erase ADDR            forget a person (history, name, "
	    "preferences);\n"
	    "                        their unsubscribes stay as a keyed "
	    "hash\n"
	    "  weigh FILE.html [--no-remote]\n"
	    "                        weigh an HTML body (no daemon needed)\n"
	    "  feedback [--rcpt ADDR]\n"
	    "                        one returned message (a bounce, a "
	    "complaint,\n"
	    "                        a mailto: unsubscribe) on stdin, for an "
	    "MTA's\n"
	    "                        pipe: exits 0 when it was handled or "
	    "ignored,\n"
	    "                        75 when mannersd cannot take it now\n"
	    "  stats                 the daemon's metrics (GET /metrics)\n"
	    "  health                is the daemon alive?\n"
	    "\n"
	    "options (anywhere on the line):\n"
	    "  -s, --socket PATH     the control socket; default "
	    "$MANNERS_SOCKET,\n"
	    "                        else %s if it exists, else\n"
	    "                        %s\n"
	    "  -j, --json            print the daemon's JSON answer\n"
	    "  -h, --help            this text\n"
	    "  --version             print the version\n"
	    "\n"
	    "exit status:\n"
	    "  0  done\n"
	    "  1  the daemon refused (an HTTP error), or a limit was broken\n"
	    "  2  bad command line, or a file that cannot be read\n"
	    "  3  the daemon could not be reached\n"
	    "  4  submit --wait: the campaign drained, but some messages "
	    "failed\n"
	    "  75 feedback: mannersd cannot take the message now; the MTA "
	    "retries\n", CTL_DEV_SOCKET, CTL_SYSTEM_SOCKET);
	exit(EXIT_OK);
}

/* A bad command line: say what is wrong, point at --help. */
static void __attribute__((format(printf, 1, 2), noreturn))
ctl_usage(const char *fmt, ...)
{
	va_list	 ap;

	fputs("mannersctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'mannersctl --help'.\n", stderr);
	exit(ctl_usage_status);
}

/* A monotonic clock in milliseconds, to pace redraws. */
static long long
ctl_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The terminal's width, for progress lines that must not wrap. */
static size_t
ctl_columns(void)
{
	struct winsize	 ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 10)
		return ws.ws_col;
	return 80;
}

/* Draw a progress line in place (or erase it, with NULL). */
static void
ctl_draw(struct ctl *ctl, const char *line)
{
	size_t	 n = line != NULL ? strlen(line) : 0, max;

	if (!ctl->tty)
		return;
	max = ctl_columns() - 1;
	if (n > max)
		n = max;
	/* Spaces over what is left of a longer line, then back. */
	fprintf(stderr, "\r%.*s%*s", (int)n, line != NULL ? line : "",
	    ctl->drawn > n ? (int)(ctl->drawn - n) : 0, "");
	if (line == NULL || ctl->drawn > n)
		fputc('\r', stderr);
	if (line != NULL && ctl->drawn > n)
		fprintf(stderr, "%.*s", (int)n, line);
	ctl->drawn = n;
	fflush(stderr);
}

/* "[#####.....]" for done/total. */
static void
ctl_bar(struct buf *b, double frac, int width)
{
	int	 i, full;

	if (frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	full = (int)(frac * width);
	buf_addc(b, '[');
	for (i = 0; i < width; i++)
		buf_addc(b, i < full ? '#' : '.');
	buf_printf(b, "] %3d%%", (int)(frac * 100));
}

/* Bytes for people: 512 B, 1.5 KiB, 12.0 MiB. */
static void
ctl_bytes(struct buf *b, double n)
{
	if (n < 1024)
		buf_printf(b, "%.0f B", n);
	else if (n < 1024 * 1024)
		buf_printf(b, "%.1f KiB", n / 1024);
	else if (n < 1024.0 * 1024 * 1024)
		buf_printf(b, "%.1f MiB", n / (1024 * 1024));
	else
		buf_printf(b, "%.1f GiB", n / (1024.0 * 1024 * 1024));
}

/* A time of the API (Unix seconds) as RFC 3339 UTC; "-" for none. */
static const char *
ctl_time(json_int_t t, char *out, size_t outsz)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL)
		snprintf(out, outsz, "-");
	else
		strftime(out, outsz, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return out;
}

/* A window in seconds as the config writes it: 30d, 12h, 90s. */
static const char *
ctl_duration(json_int_t s, char *out, size_t outsz)
{
	if (s > 0 && s % (7 * 86400) == 0)
		snprintf(out, outsz, "%lldw", (long long)(s / (7 * 86400)));
	else if (s > 0 && s % 86400 == 0)
		snprintf(out, outsz, "%lldd", (long long)(s / 86400));
	else if (s > 0 && s % 3600 == 0)
		snprintf(out, outsz, "%lldh", (long long)(s / 3600));
	else if (s > 0 && s % 60 == 0)
		snprintf(out, outsz, "%lldm", (long long)(s / 60));
	else
		snprintf(out, outsz, "%llds", (long long)s);
	return out;
}

/* A path component, percent-encoded; the caller frees it. */
static char *
ctl_escape(const char *s)
{
	char	*e, *r;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL) {
		fprintf(stderr, "mannersctl: out of memory\n");
		exit(EXIT_UNREACHABLE);
	}
	r = xstrdup(e);
	curl_free(e);
	return r;
}

/* libcurl's write callback: append to a struct buf. */
static size_t
ctl_collect(char *p, size_t size, size_t n, void *arg)
{
	buf_add(arg, p, size * n);
	return size * n;
}

/* Hand libcurl the next piece of the body. */
static size_t
ctl_read(char *p, size_t size, size_t n, void *arg)
{
	struct upload	*up = arg;
	size_t		 want = size * n, got;

	if (up->f != NULL) {
		got = fread(p, 1, want, up->f);
		if (got == 0 && ferror(up->f))
			return CURL_READFUNC_ABORT;
		return got;
	}
	got = up->len - up->off < want ? up->len - up->off : want;
	memcpy(p, up->data + up->off, got);
	up->off += got;
	return got;
}

/* The upload's progress bar, then a note while the daemon works. */
static int
ctl_xferinfo(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	struct upload	*up = arg;
	struct buf	 line;
	long long	 now = ctl_now_ms();

	(void)dltotal;
	(void)dlnow;
	if (!up->bar || ultotal <= 0 || up->answered)
		return 0;
	if (ulnow < ultotal && now - up->last_ms < 100)
		return 0;
	up->last_ms = now;
	buf_init(&line);
	buf_printf(&line, "%s ", up->name);
	if (ulnow >= ultotal) {
		/* Admission of a large campaign takes a while too. */
		up->answered = 1;
		buf_adds(&line, "uploaded ");
		ctl_bytes(&line, (double)ultotal);
		buf_adds(&line, "; waiting for mannersd's answer...");
	} else {
		ctl_bar(&line, (double)ulnow / (double)ultotal, 30);
		buf_adds(&line, " ");
		ctl_bytes(&line, (double)ulnow);
		buf_adds(&line, " of ");
		ctl_bytes(&line, (double)ultotal);
	}
	ctl_draw(up->ctl, line.data);
	buf_free(&line);
	return 0;
}

/* Why the socket refuses: libcurl only says "port 80". */
static const char *
ctl_connect_error(struct ctl *ctl)
{
	struct sockaddr_un	 sun;
	int			 fd, e = 0;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(ctl->socket) >= sizeof sun.sun_path)
		return "the path is too long for a socket";
	strcpy(sun.sun_path, ctl->socket);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return strerror(errno);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1)
		e = errno;
	close(fd);
	return e != 0 ? strerror(e) : "the connection failed";
}

/*
 * One request.  `up` is the body, or NULL.  Returns 0 with the answer
 * in `r`, or -1 (said on stderr) if the daemon could not be reached.
 */
static int
ctl_request(struct ctl *ctl, const char *method, const char *path,
    struct upload *up, const char *ctype, struct reply *r)
{
	CURL			*c = NULL;
	struct curl_slist	*h = NULL;
	char			 err[CURL_ERROR_SIZE] = "", hdr[128];
	char			*url = NULL;
	CURLcode		 rc;
	int			 rv = -1;

	memset(r, 0, sizeof *r);
	r->code = -1;
	buf_init(&r->body);
	if ((c = curl_easy_init()) == NULL) {
		fprintf(stderr, "mannersctl: curl_easy_init failed\n");
		goto out;
	}
	xasprintf(&url, "http://localhost%s", path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, ctl->socket);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ctl_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CTL_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	h = curl_slist_append(h, "Accept: application/json");
	if (up != NULL) {
		/* A submission may take long to admit: no time limit. */
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, ctl_read);
		curl_easy_setopt(c, CURLOPT_READDATA, up);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)up->len);
		/*
		 * A campaign waits for the daemon's go-ahead: a body over
		 * max_request is refused before it is sent, and the refusal
		 * is read instead of a broken pipe.
		 */
		if (up->expect) {
			h = curl_slist_append(h, "Expect: 100-continue");
			curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS,
			    CTL_EXPECT_TIMEOUT_MS);
		} else
			h = curl_slist_append(h, "Expect:");
		if (up->bar) {
			curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION,
			    ctl_xferinfo);
			curl_easy_setopt(c, CURLOPT_XFERINFODATA, up);
			curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		}
	} else
		curl_easy_setopt(c, CURLOPT_TIMEOUT, CTL_REQUEST_TIMEOUT);
	if (ctype != NULL) {
		snprintf(hdr, sizeof hdr, "Content-Type: %s", ctype);
		h = curl_slist_append(h, hdr);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (up != NULL && up->bar)
		ctl_draw(ctl, NULL);
	if (rc != CURLE_OK) {
		fprintf(stderr, "mannersctl: cannot reach mannersd on %s: %s\n"
		    "mannersctl: is the daemon running? (--socket or "
		    "MANNERS_SOCKET chooses the socket)\n", ctl->socket,
		    rc == CURLE_COULDNT_CONNECT ? ctl_connect_error(ctl) :
		    err[0] != '\0' ? err : curl_easy_strerror(rc));
		buf_free(&r->body);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
	r->json = json_loadb(r->body.data != NULL ? r->body.data : "",
	    r->body.len, 0, NULL);
	rv = 0;
out:
	free(url);
	curl_slist_free_all(h);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rv;
}

/* Let go of an answer. */
static void
ctl_reply_free(struct reply *r)
{
	json_decref(r->json);
	buf_free(&r->body);
}

/* A request without a body; -1 when the daemon is unreachable. */
static int
ctl_get(struct ctl *ctl, const char *method, const char *path,
    struct reply *r)
{
	return ctl_request(ctl, method, path, NULL, NULL, r);
}

/* The daemon's answer as it came, on stdout. */
static void
ctl_print_raw(const struct reply *r)
{
	if (r->body.len == 0)
		return;
	fwrite(r->body.data, 1, r->body.len, stdout);
	if (r->body.data[r->body.len - 1] != '\n')
		putchar('\n');
}

/* One value of a detail, on one line. */
static void
ctl_detail_value(const char *key, json_t *v)
{
	char	*s;

	if (key != NULL)
		fprintf(stderr, "  %s: ", key);
	else
		fputs("  ", stderr);
	if (json_is_string(v))
		fprintf(stderr, "%s\n", json_string_value(v));
	else {
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_PRESERVE_ORDER);
		fprintf(stderr, "%s\n", s != NULL ? s : "?");
		free(s);
	}
}

/* The detail of an error: a list of problems, a report, or a value. */
static void
ctl_detail(json_t *d)
{
	json_t		*v, *over;
	const char	*k;
	size_t		 i;

	if (d == NULL || json_is_null(d))
		return;
	if (json_is_array(d)) {
		json_array_foreach(d, i, v)
			ctl_detail_value(NULL, v);
		return;
	}
	if (!json_is_object(d)) {
		ctl_detail_value(NULL, d);
		return;
	}
	/* A weight report: only the limits it broke matter here. */
	if (json_is_array(over = json_object_get(d, "over_limit"))) {
		json_array_foreach(over, i, v) {
			json_t	*max = json_object_get(v, "max");
			json_t	*min = json_object_get(v, "min");

			fprintf(stderr, "  %s: %lld, %s %lld: %s\n",
			    json_string_value(json_object_get(v, "limit")),
			    (long long)json_integer_value(json_object_get(v,
			    "measured")), max != NULL ? "limit" : "minimum",
			    (long long)json_integer_value(max != NULL ? max :
			    min), json_string_value(json_object_get(v,
			    "why")) != NULL ? json_string_value(
			    json_object_get(v, "why")) : "");
		}
		return;
	}
	json_object_foreach(d, k, v)
		ctl_detail_value(k, v);
}

/*
 * Check an answer: 0 for a 2xx.  Otherwise say what went wrong on
 * stderr (and with --json, pass the JSON error on to stdout) and return
 * the exit code.
 */
static int
ctl_check(struct ctl *ctl, const struct reply *r)
{
	const char	*msg = NULL;
	size_t		 n;

	if (r->code >= 200 && r->code < 300)
		return EXIT_OK;
	if (ctl->json)
		ctl_print_raw(r);
	if (r->json != NULL) {
		msg = json_string_value(json_object_get(r->json, "error"));
		if (msg == NULL)
			msg = json_string_value(json_object_get(r->json,
			    "status"));
	}
	if (msg != NULL)
		fprintf(stderr, "mannersctl: error %ld: %s\n", r->code, msg);
	else {
		/* Not one of ours: its first line is the best we have. */
		n = r->body.data != NULL ? strcspn(r->body.data, "\r\n") : 0;
		fprintf(stderr, "mannersctl: error %ld%s%.*s\n", r->code,
		    n > 0 ? ": " : "", (int)(n > 200 ? 200 : n),
		    r->body.data != NULL ? r->body.data : "");
	}
	if (!ctl->json && r->json != NULL)
		ctl_detail(json_object_get(r->json, "detail"));
	return EXIT_REFUSED;
}

/*
 * Ask the daemon (a body when up is set) and check the answer: EXIT_OK,
 * with --json the answer printed as it came, else r holds it for the
 * caller's words; any other exit status has been explained already.  r
 * is the caller's to free in every case.
 */
static int
ctl_get_json(struct ctl *ctl, const char *method, const char *path,
    struct upload *up, struct reply *r)
{
	int	 rv;

	if (ctl_request(ctl, method, path, up, up != NULL ?
	    "application/json" : NULL, r) == -1)
		return EXIT_UNREACHABLE;
	if ((rv = ctl_check(ctl, r)) == EXIT_OK && ctl->json)
		ctl_print_raw(r);
	return rv;
}

/* A JSON body (o, which is let go of) for up; what names it if not UTF-8. */
static void
ctl_json_body(struct ctl *ctl, struct upload *up, json_t *o, const char *what)
{
	memset(up, 0, sizeof *up);
	up->ctl = ctl;
	up->data = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (up->data == NULL)
		ctl_usage("%s is not UTF-8", what);
	up->len = strlen(up->data);
}

/* A count from a JSON object (0 when absent). */
static long long
ctl_int(json_t *o, const char *key)
{
	return (long long)json_integer_value(json_object_get(o, key));
}

/* A string from a JSON object, or dflt. */
static const char *
ctl_str(json_t *o, const char *key, const char *dflt)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

/* "invalid_address 1, duplicate 2" from {"invalid_address": 1, ...}. */
static void
ctl_print_rejected(json_t *rej)
{
	const char	*k;
	json_t		*v;
	int		 first = 1;

	if (!json_is_object(rej) || json_object_size(rej) == 0)
		return;
	printf("  rejected: ");
	json_object_foreach(rej, k, v) {
		printf("%s%s %lld", first ? "" : ", ", k,
		    (long long)json_integer_value(v));
		first = 0;
	}
	putchar('\n');
}

/* The invalid addresses the report names, one a line with the reason. */
static void
ctl_print_invalid(json_t *j)
{
	json_t		*list = json_object_get(j, "invalid"), *v;
	long long	 total;
	size_t		 i;

	if (!json_is_array(list) || json_array_size(list) == 0)
		return;
	total = ctl_int(json_object_get(j, "rejected"), "invalid_address");
	if (total > (long long)json_array_size(list))
		printf("  invalid addresses (the first %zu of %lld):\n",
		    json_array_size(list), total);
	else
		printf("  invalid addresses:\n");
	json_array_foreach(list, i, v)
		printf("    %s: %s\n", ctl_str(v, "address", "?"), ctl_str(v,
		    "reason", "?"));
}

/* The answer to a submission, for people. */
static void
ctl_print_report(json_t *j)
{
	json_t		*w, *v;
	const char	*k;
	char		 t1[32], t2[32];
	size_t		 i;

	printf("campaign %s (%s): %lld recipient%s\n", ctl_str(j, "campaign",
	    "?"), ctl_str(j, "list", "?"), ctl_int(j, "recipients"),
	    ctl_int(j, "recipients") == 1 ? "" : "s");
	printf("  accepted %lld, deferred %lld\n", ctl_int(j, "accepted"),
	    ctl_int(j, "deferred"));
	json_object_foreach(json_object_get(j, "deferred_by"), k, v)
		printf("    by %s: %lld, due %s to %s\n", strcmp(k, "caps") == 0 ?
		    "the caps" : "quiet hours", ctl_int(v, "count"), ctl_time(
		    ctl_int(v, "first_due"), t1, sizeof t1), ctl_time(ctl_int(v,
		    "last_due"), t2, sizeof t2));
	ctl_print_rejected(json_object_get(j, "rejected"));
	ctl_print_invalid(j);
	if (json_object_get(j, "first_due") != NULL)
		printf("  first due %s, last due %s\n", ctl_time(ctl_int(j,
		    "first_due"), t1, sizeof t1), ctl_time(ctl_int(j,
		    "last_due"), t2, sizeof t2));
	printf("  expires %s\n", ctl_time(ctl_int(j, "expires"), t1,
	    sizeof t1));
	w = json_object_get(j, "weight");
	if (json_is_object(w))
		printf("  html %lld bytes, %lld image%s, %lld image bytes\n",
		    ctl_int(w, "html_bytes"), ctl_int(w, "images"),
		    ctl_int(w, "images") == 1 ? "" : "s",
		    ctl_int(w, "image_bytes_total"));
	json_array_foreach(json_object_get(j, "warnings"), i, v)
		printf("  warning: %s\n", json_string_value(v));
	if (json_is_true(json_object_get(j, "resubmission")))
		printf("  a resubmission: only new recipients were added\n");
	if (json_is_true(json_object_get(j, "dry_run")))
		printf("dry run: nothing was queued\n");
}

/* One campaign's state, for people. */
static void
ctl_print_campaign(json_t *j)
{
	json_t		*c = json_object_get(j, "counts");
	char		 t1[32], t2[32], t3[32];

	printf("campaign %s (%s): %s\n", ctl_str(j, "id", "?"), ctl_str(j,
	    "list", "?"), ctl_str(j, "state", "?"));
	printf("  recipients %lld, accepted %lld, deferred %lld\n",
	    ctl_int(c, "recipients"), ctl_int(c, "accepted"),
	    ctl_int(c, "deferred"));
	printf("  queued %lld", ctl_int(c, "queued"));
	if (ctl_int(c, "queued_deferred") > 0)
		printf(" (%lld deferred)", ctl_int(c, "queued_deferred"));
	printf(", sent %lld, failed %lld, retries %lld\n", ctl_int(c, "sent"),
	    ctl_int(c, "failed"), ctl_int(c, "retries"));
	if (ctl_int(c, "quota_deferred") > 0)
		printf("  moved to a later day by a daily quota %lld times\n",
		    ctl_int(c, "quota_deferred"));
	if (ctl_int(c, "dropped") > 0 || ctl_int(c, "cancelled") > 0)
		printf("  dropped %lld (unsubscribed or suppressed), "
		    "cancelled %lld\n", ctl_int(c, "dropped"), ctl_int(c,
		    "cancelled"));
	ctl_print_rejected(json_object_get(c, "rejected"));
	printf("  came back: bounces %lld, complaints %lld, delays %lld\n",
	    ctl_int(c, "bounces"), ctl_int(c, "complaints"), ctl_int(c,
	    "delays"));
	if (json_is_string(json_object_get(j, "paused_by")))
		printf("  paused by its %s breaker since %s: %s\n",
		    ctl_str(j, "paused_by", "?"), ctl_time(ctl_int(j,
		    "paused_at"), t1, sizeof t1), ctl_str(j, "paused_why", ""));
	printf("  created %s, send after %s, expires %s\n",
	    ctl_time(ctl_int(j, "created"), t1, sizeof t1),
	    ctl_time(ctl_int(j, "send_after"), t2, sizeof t2),
	    ctl_time(ctl_int(j, "expires"), t3, sizeof t3));
}

/* Open FILE ("-": stdin) as a request body of known length. */
static int
ctl_open_body(const char *path, struct upload *up)
{
	struct stat	 st;
	struct buf	 b;
	char		 chunk[65536];
	size_t		 n;
	FILE		*f;

	if (strcmp(path, "-") == 0)
		f = stdin;
	else if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "mannersctl: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* A regular file is streamed; a pipe is read whole for its size. */
	if (f != stdin && fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode)) {
		up->f = f;
		up->len = (size_t)st.st_size;
		return 0;
	}
	buf_init(&b);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	if (ferror(f)) {
		fprintf(stderr, "mannersctl: %s: read error\n", path);
		buf_free(&b);
		if (f != stdin)
			fclose(f);
		return -1;
	}
	if (f != stdin)
		fclose(f);
	up->data = buf_steal(&b, &up->len);
	return 0;
}

/* Read a whole file ("-": stdin); exits on error. */
static char *
ctl_slurp(const char *path, size_t *len)
{
	struct upload	 up;

	memset(&up, 0, sizeof up);
	if (ctl_open_body(path, &up) == -1)
		exit(EXIT_USAGE);
	if (up.f != NULL) {
		up.data = xmalloc(up.len + 1);
		if (fread(up.data, 1, up.len, up.f) != up.len) {
			fprintf(stderr, "mannersctl: %s: read error\n", path);
			exit(EXIT_USAGE);
		}
		up.data[up.len] = '\0';
		fclose(up.f);
	}
	*len = up.len;
	return up.data;
}

/* One line of the drain's progress for --wait. */
static void
ctl_wait_line(struct ctl *ctl, json_t *st)
{
	json_t		*c = json_object_get(st, "counts");
	long long	 queued = ctl_int(c, "queued"), done;
	struct buf	 line;

	done = ctl_int(c, "sent") + ctl_int(c, "failed") + ctl_int(c,
	    "dropped");
	buf_init(&line);
	buf_printf(&line, "%s: sent %lld, failed %lld, queued %lld",
	    ctl_str(st, "id", "?"), ctl_int(c, "sent"), ctl_int(c, "failed"),
	    queued);
	if (ctl_int(c, "queued_deferred") > 0)
		buf_printf(&line, " (%lld deferred)", ctl_int(c,
		    "queued_deferred"));
	if (strcmp(ctl_str(st, "state", ""), "paused") == 0)
		buf_adds(&line, " (paused)");
	buf_adds(&line, " ");
	ctl_bar(&line, done + queued > 0 ? (double)done /
	    (double)(done + queued) : 1, 20);
	ctl_draw(ctl, line.data);
	buf_free(&line);
}

/*
 * Without a terminal, --wait says why it is still waiting: a line on
 * stderr when the counts change, and at least every CTL_WHY_SECS.
 */
static void
ctl_wait_why(struct ctl *ctl, json_t *st, json_t *rep, struct buf *last,
    time_t *last_t)
{
	json_t		*c = json_object_get(st, "counts");
	long long	 queued = ctl_int(c, "queued");
	long long	 deferred = ctl_int(c, "queued_deferred");
	struct buf	 line;
	char		 t1[32];
	time_t		 now = time(NULL);

	if (ctl->tty)
		return;
	buf_init(&line);
	buf_printf(&line, "mannersctl: %s: sent %lld, failed %lld, queued "
	    "%lld: ", ctl_str(st, "id", "?"), ctl_int(c, "sent"), ctl_int(c,
	    "failed"), queued);
	if (strcmp(ctl_str(st, "state", ""), "paused") == 0)
		buf_printf(&line, "paused%s%s (mannersctl resume %s)",
		    json_is_string(json_object_get(st, "paused_why")) ? ": " :
		    "", ctl_str(st, "paused_why", ""), ctl_str(st, "id", "?"));
	else if (ctl_int(rep, "first_due") > (long long)now)
		buf_printf(&line, "nothing is due before %s (send-after or "
		    "the caps)", ctl_time(ctl_int(rep, "first_due"), t1,
		    sizeof t1));
	else if (queued > 0 && deferred == queued)
		buf_printf(&line, "all deferred by the recipients' caps, the "
		    "last until %s", ctl_time(ctl_int(rep, "last_due"), t1,
		    sizeof t1));
	else if (ctl_int(c, "retries") > 0)
		buf_printf(&line, "sending; %lld retries so far (the relay "
		    "answered 4xx or not at all: see mannersd's log)",
		    ctl_int(c, "retries"));
	else
		buf_adds(&line, "sending at the configured rate");
	if (last->len == 0 || strcmp(last->data, line.data) != 0 ||
	    now - *last_t >= CTL_WHY_SECS) {
		fprintf(stderr, "%s\n", line.data);
		buf_reset(last);
		buf_adds(last, line.data);
		*last_t = now;
	}
	buf_free(&line);
}

/* submit --wait: poll the campaign until nothing of it is queued. */
static int
ctl_wait(struct ctl *ctl, const char *id, json_t *rep)
{
	struct reply	 r;
	struct timespec	 ts = { CTL_POLL_MS / 1000,
	    (CTL_POLL_MS % 1000) * 1000000L };
	struct buf	 last;
	time_t		 last_t = 0;
	char		*esc, *path;
	int		 rv;

	buf_init(&last);
	esc = ctl_escape(id);
	xasprintf(&path, "/v1/campaigns/%s", esc);
	free(esc);
	for (;;) {
		if (ctl_get(ctl, "GET", path, &r) == -1) {
			ctl_draw(ctl, NULL);
			rv = EXIT_UNREACHABLE;
			break;
		}
		if (r.code != 200 || r.json == NULL) {
			ctl_draw(ctl, NULL);
			rv = ctl_check(ctl, &r);
			if (rv == EXIT_OK)
				rv = EXIT_REFUSED;
			ctl_reply_free(&r);
			break;
		}
		ctl_wait_line(ctl, r.json);
		if (ctl_int(json_object_get(r.json, "counts"), "queued") > 0)
			ctl_wait_why(ctl, r.json, rep, &last, &last_t);
		if (strcmp(ctl_str(r.json, "state", ""), "cancelled") == 0 ||
		    ctl_int(json_object_get(r.json, "counts"), "queued") <= 0) {
			ctl_draw(ctl, NULL);
			if (ctl->json)
				ctl_print_raw(&r);
			else
				ctl_print_campaign(r.json);
			if (strcmp(ctl_str(r.json, "state", ""),
			    "cancelled") == 0) {
				fprintf(stderr, "mannersctl: campaign %s was "
				    "cancelled while waiting\n", id);
				rv = EXIT_REFUSED;
			} else if (ctl_int(json_object_get(r.json, "counts"),
			    "failed") > 0) {
				fprintf(stderr, "mannersctl: campaign %s: "
				    "%lld message%s failed\n", id,
				    ctl_int(json_object_get(r.json, "counts"),
				    "failed"), ctl_int(json_object_get(r.json,
				    "counts"), "failed") == 1 ? "" : "s");
				rv = EXIT_FAILED;
			} else
				rv = EXIT_OK;
			ctl_reply_free(&r);
			break;
		}
		ctl_reply_free(&r);
		nanosleep(&ts, NULL);
	}
	buf_free(&last);
	free(path);
	return rv;
}

/* submit FILE [--dry-run] [--wait] */
static int
ctl_submit(struct ctl *ctl, struct args *a)
{
	struct upload	 up;
	struct reply	 r;
	const char	*name;
	json_t		*v;
	size_t		 i;
	int		 rv;

	if (a->dry_run && a->wait)
		ctl_usage("submit: --dry-run queues nothing, so there is "
		    "nothing to --wait for");
	memset(&up, 0, sizeof up);
	up.ctl = ctl;
	if (ctl_open_body(a->pos[0], &up) == -1)
		return EXIT_USAGE;
	name = strrchr(a->pos[0], '/') != NULL ? strrchr(a->pos[0], '/') + 1 :
	    a->pos[0];
	up.name = strcmp(name, "-") == 0 ? "stdin" : name;
	up.bar = ctl->tty && up.len >= CTL_BAR_MIN;
	up.expect = 1;
	rv = ctl_request(ctl, "POST", a->dry_run ? "/v1/campaigns?dry_run=1" :
	    "/v1/campaigns", &up, "application/xml", &r);
	if (up.f != NULL)
		fclose(up.f);
	free(up.data);
	if (rv == -1)
		return EXIT_UNREACHABLE;
	if ((rv = ctl_check(ctl, &r)) != EXIT_OK) {
		ctl_reply_free(&r);
		return rv;
	}
	if (!a->wait) {
		if (ctl->json)
			ctl_print_raw(&r);
		else
			ctl_print_report(r.json);
		ctl_reply_free(&r);
		return EXIT_OK;
	}
	/* With --wait, stdout gets one answer: the campaign at the end. */
	if (!ctl->json)
		ctl_print_report(r.json);
	else
		json_array_foreach(json_object_get(r.json, "warnings"), i, v)
			fprintf(stderr, "mannersctl: warning: %s\n",
			    json_string_value(v));
	fflush(stdout);
	if (json_string_value(json_object_get(r.json, "campaign")) == NULL) {
		fprintf(stderr, "mannersctl: the answer names no campaign\n");
		ctl_reply_free(&r);
		return EXIT_REFUSED;
	}
	rv = ctl_wait(ctl, json_string_value(json_object_get(r.json,
	    "campaign")), r.json);
	ctl_reply_free(&r);
	return rv;
}

/* status: every campaign, one line each. */
static int
ctl_status_all(struct ctl *ctl)
{
	struct reply	 r, *each;
	json_t		*ids, *v, *c;
	char		*esc, *path;
	size_t		 i, n, wid = 2, wlist = 4;
	int		 rv;

	if ((rv = ctl_get_json(ctl, "GET", "/v1/campaigns", NULL, &r)) !=
	    EXIT_OK || ctl->json) {
		ctl_reply_free(&r);
		return rv;
	}
	ids = json_object_get(r.json, "campaigns");
	if ((n = json_array_size(ids)) == 0) {
		printf("no campaigns\n");
		ctl_reply_free(&r);
		return EXIT_OK;
	}
	each = xcalloc(n, sizeof *each);
	json_array_foreach(ids, i, v) {
		const char	*id = json_string_value(v);

		if (id == NULL)
			continue;
		esc = ctl_escape(id);
		xasprintf(&path, "/v1/campaigns/%s", esc);
		free(esc);
		if (ctl_get(ctl, "GET", path, &each[i]) == -1)
			rv = EXIT_UNREACHABLE;
		free(path);
		if (rv != EXIT_OK)
			break;
		if (strlen(id) > wid)
			wid = strlen(id);
		if (strlen(ctl_str(each[i].json, "list", "?")) > wlist)
			wlist = strlen(ctl_str(each[i].json, "list", "?"));
	}
	if (rv == EXIT_OK) {
		printf("%-*s  %-*s  %-9s %8s %8s %8s %8s\n", (int)wid, "ID",
		    (int)wlist, "LIST", "STATE", "QUEUED", "SENT", "FAILED",
		    "REJECTED");
		json_array_foreach(ids, i, v) {
			long long	 rej = 0;
			const char	*k;
			json_t		*x;

			if (each[i].code != 200 || each[i].json == NULL) {
				printf("%-*s  (gone)\n", (int)wid,
				    json_string_value(v));
				continue;
			}
			c = json_object_get(each[i].json, "counts");
			json_object_foreach(json_object_get(c, "rejected"), k,
			    x)
				rej += (long long)json_integer_value(x);
			printf("%-*s  %-*s  %-9s %8lld %8lld %8lld %8lld\n",
			    (int)wid, json_string_value(v), (int)wlist,
			    ctl_str(each[i].json, "list", "?"),
			    ctl_str(each[i].json, "state", "?"),
			    ctl_int(c, "queued"), ctl_int(c, "sent"),
			    ctl_int(c, "failed"), rej);
		}
	}
	for (i = 0; i < n; i++)
		ctl_reply_free(&each[i]);
	free(each);
	ctl_reply_free(&r);
	return rv;
}

/* GET PREFIX/ID and print it: raw JSON, or through show(). */
static int
ctl_show(struct ctl *ctl, const char *prefix, const char *id,
    void (*show)(json_t *))
{
	struct reply	 r;
	char		*esc, *path;
	int		 rv;

	esc = ctl_escape(id);
	xasprintf(&path, "%s/%s", prefix, esc);
	free(esc);
	if ((rv = ctl_get_json(ctl, "GET", path, NULL, &r)) == EXIT_OK &&
	    !ctl->json)
		show(r.json);
	free(path);
	ctl_reply_free(&r);
	return rv;
}

/* status [ID] */
static int
ctl_status(struct ctl *ctl, struct args *a)
{
	if (a->npos == 0)
		return ctl_status_all(ctl);
	return ctl_show(ctl, "/v1/campaigns", a->pos[0], ctl_print_campaign);
}

/* cancel ID, pause ID, resume ID */
static int
ctl_campaign_op(struct ctl *ctl, const char *op, struct args *a)
{
	struct reply	 r;
	char		*esc, *path;
	int		 rv;

	esc = ctl_escape(a->pos[0]);
	if (strcmp(op, "cancel") == 0)
		xasprintf(&path, "/v1/campaigns/%s", esc);
	else
		xasprintf(&path, "/v1/campaigns/%s/%s", esc, op);
	free(esc);
	rv = ctl_get_json(ctl, strcmp(op, "cancel") == 0 ? "DELETE" : "POST",
	    path, NULL, &r);
	free(path);
	if (rv == EXIT_OK && !ctl->json && strcmp(op, "cancel") == 0)
		printf("campaign %s cancelled: %lld queued message%s dropped\n",
		    a->pos[0], ctl_int(r.json, "dropped"), ctl_int(r.json,
		    "dropped") == 1 ? "" : "s");
	else if (rv == EXIT_OK && !ctl->json)
		printf("campaign %s %s\n", a->pos[0], strcmp(op, "pause") == 0 ?
		    "paused" : "resumed");
	ctl_reply_free(&r);
	return rv;
}

/* cancel ID */
static int
ctl_cancel(struct ctl *ctl, struct args *a)
{
	return ctl_campaign_op(ctl, "cancel", a);
}

/* pause ID */
static int
ctl_pause(struct ctl *ctl, struct args *a)
{
	return ctl_campaign_op(ctl, "pause", a);
}

/* resume ID */
static int
ctl_resume(struct ctl *ctl, struct args *a)
{
	return ctl_campaign_op(ctl, "resume", a);
}

/* An address's record, for people. */
static void
ctl_print_recipient(json_t *j)
{
	json_t		*v, *p, *s;
	const char	*k;
	char		 t[32], w[32];
	size_t		 i;
	time_t		 now = time(NULL);

	printf("%s%s\n", ctl_str(j, "address", "?"),
	    json_is_true(json_object_get(j, "known")) ? "" :
	    ": never seen");
	if ((s = json_object_get(j, "suppressed")) != NULL && !json_is_null(s))
		printf("  suppressed since %s: %s\n", ctl_time(ctl_int(s,
		    "time"), t, sizeof t), ctl_str(s, "reason", "?"));
	json_array_foreach(json_object_get(j, "flags"), i, v) {
		k = ctl_str(v, "list", "?");
		printf("  unsubscribed from %s since %s (%s)\n",
		    strcmp(k, "*") == 0 ? "every list" : k, ctl_time(ctl_int(v,
		    "time"), t, sizeof t), ctl_str(v, "source", "?"));
	}
	if ((p = json_object_get(j, "preference")) != NULL && !json_is_null(p))
		printf("  prefers at most %lld per %s (since %s, %s)\n",
		    ctl_int(p, "max"), ctl_duration(ctl_int(p, "window"), w,
		    sizeof w), ctl_time(ctl_int(p, "time"), t, sizeof t),
		    ctl_str(p, "source", "?"));
	if (json_array_size(json_object_get(j, "history")) > 0) {
		printf("  history:\n");
		json_array_foreach(json_object_get(j, "history"), i, v)
			printf("    %s  %s  %s  %s\n", ctl_time(ctl_int(v,
			    "time"), t, sizeof t), ctl_str(v, "campaign", "?"),
			    ctl_str(v, "list", "?"), ctl_str(v, "state", "?"));
	}
	printf("  time zone: %s\n", json_is_string(json_object_get(j,
	    "time_zone")) ? ctl_str(j, "time_zone", "?") :
	    "not known (each list's timezone counts)");
	if (json_object_size(json_object_get(j, "next_allowed")) > 0) {
		printf("  next message allowed:\n");
		json_object_foreach(json_object_get(j, "next_allowed"), k, v) {
			if (json_is_null(v))
				printf("    %s  never\n", k);
			else if (json_integer_value(v) <= (json_int_t)now)
				printf("    %s  now\n", k);
			else
				printf("    %s  %s (%s their time)\n", k,
				    ctl_time(json_integer_value(v), t,
				    sizeof t), ctl_str(json_object_get(j,
				    "next_allowed_local"), k, "?"));
		}
	}
}

/* recipient ADDR */
static int
ctl_recipient(struct ctl *ctl, struct args *a)
{
	return ctl_show(ctl, "/v1/recipients", a->pos[0],
	    ctl_print_recipient);
}

/* unsubscribe ADDR [--list L] */
static int
ctl_unsubscribe(struct ctl *ctl, struct args *a)
{
	struct upload	 up;
	struct reply	 r;
	json_t		*o;
	const char	*list;
	int		 rv;

	o = json_pack("{s:s}", "address", a->pos[0]);
	if (a->list != NULL)
		json_object_set_new(o, "list", json_string(a->list));
	ctl_json_body(ctl, &up, o, "unsubscribe: the address or list");
	rv = ctl_get_json(ctl, "POST", "/v1/unsubscribes", &up, &r);
	free(up.data);
	list = ctl_str(r.json, "list", "every list");
	if (rv == EXIT_OK && !ctl->json && !json_is_true(json_object_get(
	    r.json, "changed")))
		printf("%s was already unsubscribed from %s\n", a->pos[0],
		    list);
	else if (rv == EXIT_OK && !ctl->json)
		printf("%s unsubscribed from %s: %lld queued message%s "
		    "dropped\n", a->pos[0], list, ctl_int(r.json, "dropped"),
		    ctl_int(r.json, "dropped") == 1 ? "" : "s");
	ctl_reply_free(&r);
	return rv;
}

/* resubscribe ADDR [--list L] */
static int
ctl_resubscribe(struct ctl *ctl, struct args *a)
{
	struct reply	 r;
	char		*esc, *lesc, *path;
	int		 rv, erased;

	esc = ctl_escape(a->pos[0]);
	if (a->list != NULL) {
		lesc = ctl_escape(a->list);
		xasprintf(&path, "/v1/unsubscribes/%s?list=%s", esc, lesc);
		free(lesc);
	} else
		xasprintf(&path, "/v1/unsubscribes/%s", esc);
	free(esc);
	rv = ctl_get_json(ctl, "DELETE", path, NULL, &r);
	free(path);
	erased = json_is_true(json_object_get(r.json, "after_erasure"));
	if (rv == EXIT_OK && !ctl->json && a->list != NULL)
		printf("%s resubscribed to %s%s\n", a->pos[0], a->list, erased ?
		    " (lifted the unsubscribe kept after an erasure)" : "");
	else if (rv == EXIT_OK && !ctl->json)
		printf("%s resubscribed: every unsubscribe removed%s\n",
		    a->pos[0], erased ? ", also those kept after an erasure" :
		    "");
	ctl_reply_free(&r);
	return rv;
}

/* erase ADDR: forget a person; keep their "stop" as a keyed hash. */
static int
ctl_erase(struct ctl *ctl, struct args *a)
{
	struct reply	 r;
	json_t		*k;
	char		*esc, *path;
	int		 rv;

	esc = ctl_escape(a->pos[0]);
	xasprintf(&path, "/v1/recipients/%s", esc);
	free(esc);
	rv = ctl_get_json(ctl, "DELETE", path, NULL, &r);
	free(path);
	k = json_object_get(r.json, "kept_as_hash");
	if (rv == EXIT_OK && !ctl->json)
		printf("%s erased: %lld queued message%s dropped, %lld "
		    "delivery record%s removed; kept as a keyed hash: "
		    "unsubscribes from %lld list%s%s\n", a->pos[0],
		    ctl_int(r.json, "dropped"), ctl_int(r.json,
		    "dropped") == 1 ? "" : "s", ctl_int(r.json,
		    "delivery_states"),
		    ctl_int(r.json, "delivery_states") == 1 ? "" : "s",
		    ctl_int(k, "unsubscribed_lists"), ctl_int(k,
		    "unsubscribed_lists") == 1 ? "" : "s", json_is_true(
		    json_object_get(k, "suppressed")) ? ", a suppression" : "");
	ctl_reply_free(&r);
	return rv;
}

/* backup FILE [--overwrite]: a hot, compacted copy of the store. */
static int
ctl_backup(struct ctl *ctl, struct args *a)
{
	struct upload	 up;
	struct reply	 r;
	char		 cwd[PATH_MAX], *path;
	json_t		*o;
	int		 rv;

	/* The daemon's working directory is not ours: send it absolute. */
	if (a->pos[0][0] == '/')
		path = xstrdup(a->pos[0]);
	else if (getcwd(cwd, sizeof cwd) == NULL)
		ctl_usage("backup: cannot tell the current directory: %s",
		    strerror(errno));
	else
		xasprintf(&path, "%s/%s", cwd, a->pos[0]);
	o = json_pack("{s:s}", "path", path);
	ctl_json_body(ctl, &up, o, "backup: the path");
	rv = ctl_get_json(ctl, "POST", a->overwrite ?
	    "/v1/backup?overwrite=1" : "/v1/backup", &up, &r);
	free(up.data);
	free(path);
	if (rv == EXIT_OK && !ctl->json)
		printf("backup %s: %lld bytes in %.1f s\n", ctl_str(r.json,
		    "path", "?"), ctl_int(r.json, "bytes"), json_number_value(
		    json_object_get(r.json, "seconds")));
	ctl_reply_free(&r);
	return rv;
}

/* A Prometheus sample value as JSON: an integer, a number or a string. */
static json_t *
ctl_metric_value(const char *s)
{
	char		*end;
	long long	 ll;
	double		 d;

	if (strcmp(s, "NaN") == 0 || strcmp(s, "+Inf") == 0 ||
	    strcmp(s, "-Inf") == 0 || strcmp(s, "Inf") == 0)
		return json_string(s);	/* JSON has no such numbers */
	errno = 0;
	if (strpbrk(s, ".eE") == NULL) {
		ll = strtoll(s, &end, 10);
		if (errno == 0 && end != s && *end == '\0')
			return json_integer(ll);
	}
	errno = 0;
	d = strtod(s, &end);
	if (end == s || *end != '\0' || !isfinite(d))
		return NULL;
	return json_real(d);
}

/*
 * The text exposition format as one JSON object: each sample line
 * `name{labels} value [timestamp]` becomes "name{labels}": value.
 */
static json_t *
ctl_metrics_json(const char *text, size_t len)
{
	json_t		*o = json_object(), *v;
	char		*copy, *line, *next, *p, *key, *val;
	unsigned	 lineno = 0;
	int		 quoted;

	copy = xstrndup(text, len);
	for (line = copy; line != NULL; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		line[strcspn(line, "\r")] = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#')
			continue;
		key = line;
		p = line + strcspn(line, "{ \t");
		if (*p == '{') {
			/* Label values may hold braces, spaces and \". */
			for (quoted = 0, p++; *p != '\0'; p++) {
				if (quoted && *p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '"')
					quoted = !quoted;
				else if (!quoted && *p == '}')
					break;
			}
			if (*p != '}')
				goto bad;
			p++;
		}
		if (*p != ' ' && *p != '\t')
			goto bad;
		*p++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		val = p;
		p += strcspn(p, " \t");
		*p = '\0';		/* a timestamp may follow */
		if (*key == '\0' || (v = ctl_metric_value(val)) == NULL)
			goto bad;
		json_object_set_new(o, key, v);
		continue;
bad:
		fprintf(stderr, "mannersctl: /metrics line %u not understood; "
		    "skipped\n", lineno);
	}
	free(copy);
	return o;
}

/* stats: GET /metrics, as it is or as JSON. */
static int
ctl_stats(struct ctl *ctl, struct args *a)
{
	struct reply	 r;
	json_t		*o;
	char		*s;
	int		 rv;

	(void)a;
	if (ctl_get(ctl, "GET", "/metrics", &r) == -1)
		return EXIT_UNREACHABLE;
	if ((rv = ctl_check(ctl, &r)) == EXIT_OK) {
		if (ctl->json) {
			o = ctl_metrics_json(r.body.data != NULL ?
			    r.body.data : "", r.body.len);
			s = json_dumps(o, JSON_INDENT(2) |
			    JSON_PRESERVE_ORDER);
			printf("%s\n", s != NULL ? s : "{}");
			free(s);
			json_decref(o);
		} else if (r.body.len > 0)
			fwrite(r.body.data, 1, r.body.len, stdout);
	}
	ctl_reply_free(&r);
	return rv;
}

/* One unit of GET /v1/domains: its line, quota, ramp, actions, members. */
static void
ctl_domains_unit(json_t *u)
{
	json_t		*q = json_object_get(u, "quota");
	json_t		*w = json_object_get(u, "warmup"), *v;
	char		 t[32];
	size_t		 i;

	printf("%-24s %-8s %8.3g/s  %s\n", ctl_str(u, "name", "?"),
	    ctl_str(u, "kind", "?"), json_real_value(json_object_get(u,
	    "rate")), ctl_str(u, "why", ""));
	/* A domain shaped apart inside its group: the group holds it too. */
	if (json_is_string(json_object_get(u, "group")))
		printf("    in group %s: its limits and quota apply too\n",
		    ctl_str(u, "group", "?"));
	if (json_is_object(q)) {
		ctl_time(ctl_int(q, "resets_at"), t, sizeof t);
		printf("    quota %lld: %lld used of %lld, next day at %s, %lld "
		    "jobs moved to a later day\n", ctl_int(q, "day"),
		    ctl_int(q, "used"), ctl_int(q, "limit"), t,
		    ctl_int(q, "deferred"));
	}
	if (json_is_object(w))
		printf("    warm-up %s: %s, day %lld, %lld today, %lld "
		    "tomorrow\n", ctl_str(w, "name", "?"),
		    json_is_true(json_object_get(w, "complete")) ? "complete" :
		    json_is_true(json_object_get(w, "started")) ? "running" :
		    "not started", ctl_int(w, "day"), ctl_int(w, "volume"),
		    ctl_int(w, "tomorrow"));
	json_array_foreach(json_object_get(u, "actions"), i, v) {
		ctl_time(ctl_int(v, "until"), t, sizeof t);
		printf("    action %s (%s=%s): %s until %s; reply \"%s\"\n",
		    ctl_str(v, "rule", "?"), ctl_str(v, "scope", "?"),
		    ctl_str(v, "key", "?"), ctl_str(v, "action", "?"), t,
		    ctl_str(v, "reason", ""));
	}
	/* A member shaped apart: its actions are on its own line. */
	if (ctl_int(u, "member_actions") > 0)
		printf("    %lld action%s on its domains shaped apart (see "
		    "their lines)\n", ctl_int(u, "member_actions"),
		    ctl_int(u, "member_actions") == 1 ? "" : "s");
	json_array_foreach(json_object_get(u, "domains"), i, v)
		printf("    domain %s (by %s%s)\n", ctl_str(v, "domain", "?"),
		    ctl_str(v, "by", "?"), json_is_true(json_object_get(v,
		    "apart")) ? "; shaped apart, its own line" : "");
}

/* domains: the pacing units, their quotas, ramps and actions. */
static int
ctl_domains(struct ctl *ctl, struct args *a)
{
	struct reply	 r;
	json_t		*all, *v;
	size_t		 i;
	int		 rv;
	char		 t[32];

	(void)a;
	rv = ctl_get_json(ctl, "GET", "/v1/domains", NULL, &r);
	if (rv == EXIT_OK && !ctl->json) {
		all = json_object_get(r.json, "all");
		printf("all: %.3g/s on %lld connections%s\n",
		    json_real_value(json_object_get(all, "rate")),
		    ctl_int(all, "concurrency"), json_is_true(
		    json_object_get(all, "suspended")) ?
		    ", suspended" : "");
		json_array_foreach(json_object_get(all, "actions"), i,
		    v) {
			ctl_time(ctl_int(v, "until"), t, sizeof t);
			printf("    action %s: %s until %s; reply "
			    "\"%s\"\n", ctl_str(v, "rule", "?"),
			    ctl_str(v, "action", "?"), t,
			    ctl_str(v, "reason", ""));
		}
		json_array_foreach(json_object_get(r.json, "units"), i,
		    v)
			ctl_domains_unit(v);
	}
	ctl_reply_free(&r);
	return rv;
}

/* health */
static int
ctl_health(struct ctl *ctl, struct args *a)
{
	struct reply	 r;
	json_t		*d;
	int		 rv;

	(void)a;
	rv = ctl_get_json(ctl, "GET", "/v1/health", NULL, &r);
	if (rv == EXIT_OK && !ctl->json) {
		d = json_object_get(r.json, "drain");
		printf("mannersd on %s: %s\n", ctl->socket,
		    ctl_str(r.json, "status", "?"));
		if (json_is_object(d))
			printf("  in flight %lld, sent %lld (%lld "
			    "of them waited for a rate limit), "
			    "failed %lld (bounced %lld), attempts "
			    "to retry %lld\n", ctl_int(d,
			    "in_flight"), ctl_int(d, "sent"),
			    ctl_int(d, "throttled"), ctl_int(d,
			    "failed"), ctl_int(d, "bounced"),
			    ctl_int(d, "retried"));
	}
	ctl_reply_free(&r);
	return rv;
}

/* weigh FILE.html [--no-remote]: the weight report, without a daemon. */
static int
ctl_weigh(struct ctl *ctl, struct args *a)
{
	struct weigh_limits	 lim;
	struct weigh		*w;
	struct buf		 out;
	char			*html, *cause = NULL, *s;
	size_t			 len, i;
	int			 broken;
	json_t			*j;

	html = ctl_slurp(a->pos[0], &len);
	weigh_limits_default(&lim);
	if (weigh_html(html, len, &lim, &w, &cause) == -1) {
		fprintf(stderr, "mannersctl: %s: %s\n", a->pos[0], cause);
		free(cause);
		free(html);
		return EXIT_REFUSED;
	}
	for (i = 0; !a->no_remote && i < weigh_remote_count(w); i++) {
		long long	 n;
		char		*why = NULL, *msg = NULL;

		if (!weigh_remote_fetchable(w, i))
			continue;
		/* The daemon's probe, run here without a loop. */
		n = probe_perform(weigh_remote_url(w, i), 5, &why);
		if (n < 0)
			xasprintf(&msg, "could not be measured: %s", why);
		weigh_set_remote_size(w, i, n, msg);
		free(why);
		free(msg);
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

/* The whole of standard input, up to max bytes (more: -1). */
static int
ctl_read_stdin(struct buf *b, size_t max)
{
	char	 chunk[65536];
	size_t	 n;

	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0) {
		if (b->len + n > max)
			return -1;
		buf_add(b, chunk, n);
	}
	return ferror(stdin) ? -1 : 0;
}

/*
 * feedback [--rcpt ADDR]: one message on stdin to POST /v1/feedback.
 * Only 0 (handled, or deliberately ignored: unreadable, unattributed,
 * too large) and EXIT_TEMPFAIL (mannersd cannot take it now) come out,
 * so the MTA never bounces a message back to its sender.
 */
static int
ctl_feedback(struct ctl *ctl, struct args *a)
{
	struct upload	 up;
	struct reply	 r;
	struct buf	 msg;
	char		*esc = NULL, *path;
	int		 rv = EXIT_OK;

	buf_init(&msg);
	if (ctl_read_stdin(&msg, CTL_FEEDBACK_MAX) == -1) {
		fprintf(stderr, "mannersctl: feedback: the message is unreadable "
		    "or over %d bytes; ignored\n", CTL_FEEDBACK_MAX);
		buf_free(&msg);
		return EXIT_OK;
	}
	if (a->rcpt != NULL)
		esc = curl_easy_escape(NULL, a->rcpt, 0);
	xasprintf(&path, "/v1/feedback%s%s", esc != NULL ? "?rcpt=" : "",
	    esc != NULL ? esc : "");
	curl_free(esc);
	memset(&up, 0, sizeof up);
	up.ctl = ctl;
	up.data = msg.data != NULL ? msg.data : (char *)"";
	up.len = msg.len;
	if (ctl_request(ctl, "POST", path, &up, "message/rfc822", &r) == -1)
		rv = EXIT_TEMPFAIL;
	else {
		if (r.code >= 500 || r.code == 429 || r.code == 503 ||
		    r.code < 200)
			rv = EXIT_TEMPFAIL;
		if (ctl->json || r.code != 200)
			ctl_print_raw(&r);
		else
			printf("feedback: %s, %s%s%s%s%s\n",
			    ctl_str(r.json, "kind", "?"),
			    ctl_str(r.json, "action", "?"),
			    json_is_string(json_object_get(r.json,
			    "campaign")) ? " campaign=" : "",
			    ctl_str(r.json, "campaign", ""),
			    json_is_string(json_object_get(r.json, "list")) ?
			    " list=" : "", ctl_str(r.json, "list", ""));
		if (r.code != 200)
			fprintf(stderr, "mannersctl: feedback: mannersd answered "
			    "%ld: %s\n", r.code, rv == EXIT_TEMPFAIL ? "the "
			    "MTA should try again later" : "ignored");
		ctl_reply_free(&r);
	}
	free(path);
	buf_free(&msg);
	return rv;
}

/* Options a command accepts. */
#define OPT_DRY_RUN	0x01
#define OPT_WAIT	0x02
#define OPT_LIST	0x04
#define OPT_NO_REMOTE	0x08
#define OPT_RCPT	0x10
#define OPT_OVERWRITE	0x20

static const struct cmd {
	const char	*name;
	int		(*fn)(struct ctl *, struct args *);
	int		 minpos, maxpos;
	unsigned	 opts;
	const char	*synopsis;
} ctl_cmds[] = {
	{ "submit", ctl_submit, 1, 1, OPT_DRY_RUN | OPT_WAIT,
	    "submit FILE [--dry-run] [--wait]" },
	{ "status", ctl_status, 0, 1, 0, "status [ID]" },
	{ "cancel", ctl_cancel, 1, 1, 0, "cancel ID" },
	{ "pause", ctl_pause, 1, 1, 0, "pause ID" },
	{ "resume", ctl_resume, 1, 1, 0, "resume ID" },
	{ "recipient", ctl_recipient, 1, 1, 0, "recipient ADDR" },
	{ "unsubscribe", ctl_unsubscribe, 1, 1, OPT_LIST,
	    "unsubscribe ADDR [--list LIST]" },
	{ "resubscribe", ctl_resubscribe, 1, 1, OPT_LIST,
	    "resubscribe ADDR [--list LIST]" },
	{ "erase", ctl_erase, 1, 1, 0, "erase ADDR" },
	{ "backup", ctl_backup, 1, 1, OPT_OVERWRITE,
	    "backup FILE [--overwrite]" },
	{ "weigh", ctl_weigh, 1, 1, OPT_NO_REMOTE,
	    "weigh FILE.html [--no-remote]" },
	{ "feedback", ctl_feedback, 0, 0, OPT_RCPT,
	    "feedback [--rcpt ADDR] < MESSAGE" },
	{ "stats", ctl_stats, 0, 0, 0, "stats" },
	{ "health", ctl_health, 0, 0, 0, "health" },
	{ "domains", ctl_domains, 0, 0, 0, "domains" },
};

/* Take a command's own options and its operands from what is left. */
static void
ctl_args(const struct cmd *cmd, int argc, char **argv, struct args *a)
{
	int	 i, opts = 1;

	memset(a, 0, sizeof *a);
	for (i = 0; i < argc; i++) {
		const char	*s = argv[i];

		if (opts && strcmp(s, "--") == 0) {
			opts = 0;
			continue;
		}
		if (!opts || s[0] != '-' || strcmp(s, "-") == 0) {
			if (a->npos == cmd->maxpos)
				ctl_usage("%s: too many arguments (usage: "
				    "mannersctl %s)", cmd->name,
				    cmd->synopsis);
			a->pos[a->npos++] = s;
		} else if ((cmd->opts & OPT_DRY_RUN) &&
		    strcmp(s, "--dry-run") == 0)
			a->dry_run = 1;
		else if ((cmd->opts & OPT_OVERWRITE) &&
		    strcmp(s, "--overwrite") == 0)
			a->overwrite = 1;
		else if ((cmd->opts & OPT_WAIT) && strcmp(s, "--wait") == 0)
			a->wait = 1;
		else if ((cmd->opts & OPT_NO_REMOTE) &&
		    strcmp(s, "--no-remote") == 0)
			a->no_remote = 1;
		else if ((cmd->opts & OPT_LIST) && strcmp(s, "--list") == 0) {
			if (i + 1 == argc)
				ctl_usage("%s: --list needs a list name",
				    cmd->name);
			a->list = argv[++i];
		} else if ((cmd->opts & OPT_LIST) &&
		    strncmp(s, "--list=", 7) == 0)
			a->list = s + 7;
		else if ((cmd->opts & OPT_RCPT) && strcmp(s, "--rcpt") == 0) {
			if (i + 1 == argc)
				ctl_usage("%s: --rcpt needs an address",
				    cmd->name);
			a->rcpt = argv[++i];
		} else if ((cmd->opts & OPT_RCPT) &&
		    strncmp(s, "--rcpt=", 7) == 0)
			a->rcpt = s + 7;
		else
			ctl_usage("%s: unknown option %s (usage: mannersctl "
			    "%s)", cmd->name, s, cmd->synopsis);
	}
	if (a->npos < cmd->minpos)
		ctl_usage("%s: missing argument (usage: mannersctl %s)",
		    cmd->name, cmd->synopsis);
	if (a->list != NULL && *a->list == '\0')
		ctl_usage("%s: --list needs a list name", cmd->name);
}

/* Global options, then one command. */
int
main(int argc, char **argv)
{
	struct ctl	 ctl;
	struct args	 a;
	const struct cmd *cmd = NULL;
	char		**rest;
	int		 i, n = 0, rv, ended = 0;
	size_t		 k;

	memset(&ctl, 0, sizeof ctl);
	ctl.socket = getenv("MANNERS_SOCKET");
	if (ctl.socket == NULL || *ctl.socket == '\0')
		ctl.socket = access(CTL_DEV_SOCKET, F_OK) == 0 ?
		    CTL_DEV_SOCKET : CTL_SYSTEM_SOCKET;
	ctl.tty = isatty(STDERR_FILENO);

	/* The global options may come anywhere before "--". */
	rest = xcalloc((size_t)argc + 1, sizeof *rest);
	for (i = 1; i < argc; i++) {
		const char	*s = argv[i];

		if (ended || s[0] != '-' || strcmp(s, "-") == 0) {
			rest[n++] = argv[i];
			continue;
		}
		if (strcmp(s, "--") == 0) {
			ended = 1;
			rest[n++] = argv[i];	/* the command sees it too */
		} else if (strcmp(s, "--json") == 0 || strcmp(s, "-j") == 0)
			ctl.json = 1;
		else if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
			ctl_help();
		else if (strcmp(s, "--version") == 0) {
			printf("mannersctl %s\n", MANNERS_VERSION);
			free(rest);
			return EXIT_OK;
		}
		else if (strcmp(s, "--socket") == 0 || strcmp(s, "-s") == 0) {
			if (i + 1 == argc || *argv[i + 1] == '\0')
				ctl_usage("%s needs a path", s);
			ctl.socket = argv[++i];
		} else if (strncmp(s, "--socket=", 9) == 0) {
			if (s[9] == '\0')
				ctl_usage("--socket needs a path");
			ctl.socket = s + 9;
		} else if (n == 0)
			ctl_usage("unknown option %s", s);
		else
			rest[n++] = argv[i];	/* the command's option */
	}
	if (n == 0 || strcmp(rest[0], "--") == 0)
		ctl_usage("no command given");
	if (strcmp(rest[0], "help") == 0)
		ctl_help();
	for (k = 0; k < nitems(ctl_cmds); k++)
		if (strcmp(rest[0], ctl_cmds[k].name) == 0)
			cmd = &ctl_cmds[k];
	if (cmd == NULL)
		ctl_usage("unknown command \"%s\"", rest[0]);
	if (cmd->fn == ctl_feedback)
		ctl_usage_status = EXIT_TEMPFAIL;
	ctl_args(cmd, n - 1, rest + 1, &a);

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rv = cmd->fn(&ctl, &a);
	curl_global_cleanup();
	free(rest);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		fprintf(stderr, "mannersctl: stdout: %s\n", strerror(errno));
		if (rv == EXIT_OK)
			rv = EXIT_REFUSED;
	}
	return rv;
}
