/*
 * unsub_http.c: the public listener (public_listen) serving /u/{token}.
 *
 * Plain HTTP behind the site's TLS proxy.  GET and HEAD show the page of
 * choices and never change anything (mail scanners prefetch links); POST
 * applies the page's choice, or RFC 8058's List-Unsubscribe=One-Click,
 * on the writer thread and answers 200 with a confirmation, never a
 * redirect.  Another method on /u/ is 405 with Allow; everything else
 * is a 404 page.  Malformed or ambiguous requests, slow ones and one
 * connection too many are answered before evhttp by http_guard.c, with
 * the same headers (unsub_http_render).
 *
 * A token is verified (one HMAC, no state) before anything else is looked
 * at, so a flood of bad links costs no LMDB access; every kind of bad link
 * gets the same page and its cause goes to the debug log only.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "conf.h"
#include "hostport.h"
#include "http_frame.h"
#include "http_guard.h"
#include "ledger.h"
#include "log.h"
#include "mannersd.h"
#include "prefs.h"
#include "quiet.h"
#include "rcpt_zone.h"
#include "unsub_page.h"
#include "store.h"
#include "token.h"
#include "util.h"

#define PUBLIC_MAX_HEADERS	(8 * 1024)
#define PUBLIC_MAX_BODY		UNSUB_PAGE_FORM_MAX
#define PUBLIC_LIST_MAX		256
#define PUBLIC_ZONES		256	/* readers' zones kept open */

/* What a verified token names, and the reader's language. */
struct unsub_http_target {
	struct token_claims	 tc;
	char			 token[TOKEN_LEN + 1];
	char			 addr[STORE_ADDR_MAX + 1];
	char			 list[PUBLIC_LIST_MAX];
	char			 brand[PUBLIC_LIST_MAX];	/* "": none */
	struct prefs_view	 st;		/* where the reader stands */
	char			 zone[QUIET_ZONE_MAX + 1];	/* theirs */
	const struct i18n_cat	*cat;		/* NULL: English */
	char			 lang[I18N_LANG_MAX];
};

/* The headers every public answer carries, with the CSP. */
static const char *const unsub_http_headers[][2] = {
	{ "Content-Type",		"text/html; charset=utf-8" },
	{ "Cache-Control",		"no-store" },
	{ "X-Robots-Tag",		"noindex, nofollow" },
	{ "Referrer-Policy",		"no-referrer" },
	{ "X-Content-Type-Options",	"nosniff" },
	{ "X-Frame-Options",		"DENY" },
};

/* Send a page with the headers every public answer carries. */
static void
unsub_http_reply(struct mannersd *md, struct evhttp_request *req, int code,
    struct buf *page)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out = evbuffer_new();
	size_t			 i;

	for (i = 0; i < nitems(unsub_http_headers); i++)
		evhttp_add_header(h, unsub_http_headers[i][0],
		    unsub_http_headers[i][1]);
	evhttp_add_header(h, "Content-Security-Policy", md->public_csp);
	if (page->len > 0)
		evbuffer_add(out, page->data, page->len);
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
	buf_free(page);
}

/* One of the fixed pages (not found, invalid link, try again). */
static void
public_reply_fixed(struct mannersd *md, struct evhttp_request *req, int code,
    const struct i18n_cat *cat,
    void (*render)(struct buf *, const struct i18n_cat *))
{
	struct buf	 b;

	buf_init(&b);
	render(&b, cat);
	unsub_http_reply(md, req, code, &b);
}

/*
 * The reader's language from Accept-Language, [daemon] page_language
 * when none of theirs is here.  The catalogs were read at start and are
 * never changed, so this reads no file and no global locale.
 */
static const struct i18n_cat *
public_lang(struct mannersd *md, struct evhttp_request *req, char *lang,
    size_t langsz)
{
	const char	*h = evhttp_find_header(
			    evhttp_request_get_input_headers(req),
			    "Accept-Language");

	return i18n_negotiate(&md->public_i18n, h, md->conf->page_language,
	    lang, langsz);
}

/* What a page says about the reader of a target. */
static void
public_info(struct mannersd *md, const struct unsub_http_target *pt,
    struct unsub_page_info *pi)
{
	memset(pi, 0, sizeof *pi);
	pi->list = pt->list;
	pi->addr = pt->addr;
	pi->action = pt->token;
	pi->brand = pt->brand[0] != '\0' ? pt->brand : NULL;
	pi->contact = conf_list_contact(md->conf, pt->list);
	pi->cat = pt->cat;
	pi->lang = pt->lang;
	pi->zone = pt->zone;
	pi->state = &pt->st;
}

/*
 * The reader's time zone for the page's dates: the one a campaign gave
 * (rcpt_zone.h), else the list's timezone ([quiet]'s), else UTC.
 */
static int
public_zone(struct mannersd *md, struct store_txn *t,
    struct unsub_http_target *pt, char **cause)
{
	struct conf_policy	 p;
	struct quiet_zone	*z;

	conf_policy_for(md->conf, pt->list, &p);
	if (rcpt_zone_get(md->public_zones, t, pt->tc.rid, p.quiet.timezone,
	    &z, cause) < 0)
		return -1;
	snprintf(pt->zone, sizeof pt->zone, "%s", z != NULL ?
	    quiet_zone_name(z) : "UTC");
	return 0;
}

/*
 * Verify the token in the path and find what it names, reading the store
 * on the loop (an MVCC read never waits for the writer).  Returns 0, 1 for
 * an invalid link (the page is sent), -1 on a store error (likewise).
 */
static int
unsub_http_target(struct mannersd *md, struct evhttp_request *req,
    const char *tok, struct unsub_http_target *pt)
{
	struct store_txn	*t = NULL;
	char			*cause = NULL;
	size_t			 len = strlen(tok);
	int			 rc;

	memset(pt, 0, sizeof *pt);
	pt->cat = public_lang(md, req, pt->lang, sizeof pt->lang);
	if (token_verify(md->keys, tok, len, (uint64_t)mannersd_now(), &pt->tc,
	    &cause) == -1) {
		/* Never echo a long path into the log. */
		log_debug("public: invalid link (%zu characters): %s", len,
		    cause);
		free(cause);
		public_reply_fixed(md, req, 404, pt->cat, unsub_page_invalid_in);
		return 1;
	}
	memcpy(pt->token, tok, TOKEN_LEN);
	if (store_begin(md->store, 0, &t, &cause) < 0) {
		log_warnx("public: cannot read the store: %s", cause);
		free(cause);
		public_reply_fixed(md, req, 503, pt->cat, unsub_page_unavailable_in);
		return -1;
	}
	rc = store_rid_addr(t, pt->tc.rid, pt->addr, sizeof pt->addr);
	if (rc == 0)
		rc = store_list_name(t, pt->tc.lid, pt->list, sizeof pt->list);
	if (rc == 0)
		store_list_brand_get(t, pt->tc.lid, pt->brand, sizeof pt->brand);
	if (rc == 0 && (prefs_view_get(t, pt->addr, pt->tc.lid, mannersd_now(),
	    &pt->st, &cause) < 0 || public_zone(md, t, pt, &cause) < 0)) {
		log_warnx("public: cannot read the recipient of list=%s: %s",
		    pt->list, cause);
		free(cause);
		store_abort(t);
		public_reply_fixed(md, req, 503, pt->cat, unsub_page_unavailable_in);
		return -1;
	}
	store_abort(t);
	if (rc != 0) {
		log_debug("public: valid link for an unknown %s rid=%llu "
		    "lid=%u", pt->addr[0] == '\0' ? "recipient" : "list",
		    (unsigned long long)pt->tc.rid, pt->tc.lid);
		public_reply_fixed(md, req, 404, pt->cat, unsub_page_invalid_in);
		return 1;
	}
	return 0;
}

/* A POST applied on the writer thread. */
struct unsub_http_op {
	struct wjob		 w;
	struct mannersd		*md;
	struct evhttp_request	*req;
	struct unsub_http_target	 pt;
	enum unsub_page_choice	 choice;
	uint8_t			 source;	/* STORE_SRC_LINK, _ONECLICK */
	int64_t			 now;
	/* results */
	int			 failed;
	struct unsub_page_outcome	 out;
	int			 changed;
	uint64_t		 dropped;
	uint64_t		 moved;		/* re-timed by a choice */
	int			 restage;	/* the drain must read afresh */
	const struct conf	*conf;		/* a reference, for the caps */
	char			*cause;
};

/*
 * May the recipient lift the unsubscribe of list lid (0: all)?  Only one
 * made through these pages: an administrator's stays.  Sets *kept when
 * such a foreign entry is there.
 */
static int
public_own_flag(struct store_txn *t, const char *naddr, uint32_t lid,
    int *own, int *kept, char **cause)
{
	struct store_rcpt	 r;
	size_t			 i;
	int			 rc;

	*own = *kept = 0;
	store_rcpt_init(&r);
	if ((rc = store_rcpt_get(t, naddr, &r, cause)) < 0) {
		store_rcpt_free(&r);
		return rc;
	}
	for (i = 0; rc == 0 && i < r.nunsub; i++) {
		if (r.unsub[i].lid != lid)
			continue;
		if (prefs_source_own(r.unsub[i].source))
			*own = 1;
		else
			*kept = 1;
	}
	store_rcpt_free(&r);
	return 0;
}

/* The change of preferences a page choice asks for. */
static void
public_prefs_change(enum unsub_page_choice c, int64_t now,
    struct prefs_change *pc)
{
	memset(pc, 0, sizeof *pc);
	pc->source = STORE_SRC_LINK;
	switch (c) {
	case UNSUB_PAGE_MONTHLY:
	case UNSUB_PAGE_WEEKLY:
		pc->set = PREFS_SET_CAP;
		pc->count = 1;
		pc->window = c == UNSUB_PAGE_WEEKLY ? PREFS_WEEK : PREFS_MONTH;
		break;
	case UNSUB_PAGE_UNDO_MONTHLY:
	case UNSUB_PAGE_UNDO_WEEKLY:
		pc->set = PREFS_SET_CAP;
		break;
	case UNSUB_PAGE_PAUSE:
	case UNSUB_PAGE_UNDO_PAUSE:
		pc->set = PREFS_SET_PAUSE;
		pc->pause_until = c == UNSUB_PAGE_PAUSE ? now + PREFS_PAUSE : 0;
		break;
	default:
		pc->set = PREFS_SET_PLAIN;
		pc->plain = c == UNSUB_PAGE_PLAIN;
		break;
	}
}

/* A frequency, pause or plain-text choice, re-timing what is queued. */
static int
public_op_prefs(struct store_txn *t, struct unsub_http_op *op,
    json_t *states)
{
	struct prefs_change	 pc;
	struct prefs_result	 pr;
	int			 rc;

	public_prefs_change(op->choice, op->now, &pc);
	if ((rc = prefs_apply(t, op->conf, op->pt.addr, &pc, op->now, states,
	    &pr, &op->cause)) < 0 ||
	    (rc = ledger_flush_states(t, states, &op->cause)) < 0)
		return rc;
	op->changed = 1;
	op->dropped = pr.dropped;
	op->moved = pr.moved;
	/* Plain text changes how staged jobs are rendered. */
	op->restage = pr.moved + pr.dropped > 0 || (pc.set & PREFS_SET_PLAIN);
	return 0;
}

/* On the writer thread: apply the choice in one transaction. */
static void
public_op_run(struct wjob *w, struct store *store)
{
	struct unsub_http_op		*op = (struct unsub_http_op *)w;
	struct store_txn		*t = NULL;
	struct ledger_unsub_result	 ur;
	json_t				*states = json_object();
	const char			*addr = op->pt.addr;
	uint32_t			 lid;
	int				 rc = 0, own, found;

	op->out.choice = op->choice;
	if ((rc = store_begin(store, 1, &t, &op->cause)) < 0)
		goto fail;
	switch (op->choice) {
	case UNSUB_PAGE_LIST:
	case UNSUB_PAGE_ALL:
		lid = op->choice == UNSUB_PAGE_LIST ? op->pt.tc.lid : 0;
		if ((rc = ledger_unsubscribe(t, addr, lid, op->source,
		    op->now, states, &ur, &op->cause)) < 0 ||
		    (rc = ledger_flush_states(t, states, &op->cause)) < 0)
			goto fail;
		op->changed = ur.changed;
		op->dropped = ur.dropped;
		break;
	case UNSUB_PAGE_MONTHLY:
	case UNSUB_PAGE_WEEKLY:
	case UNSUB_PAGE_UNDO_MONTHLY:
	case UNSUB_PAGE_UNDO_WEEKLY:
	case UNSUB_PAGE_PAUSE:
	case UNSUB_PAGE_UNDO_PAUSE:
	case UNSUB_PAGE_PLAIN:
	case UNSUB_PAGE_UNDO_PLAIN:
		if ((rc = public_op_prefs(t, op, states)) < 0)
			goto fail;
		break;
	case UNSUB_PAGE_UNDO_LIST:
	case UNSUB_PAGE_UNDO_ALL:
		lid = op->choice == UNSUB_PAGE_UNDO_LIST ? op->pt.tc.lid : 0;
		if ((rc = public_own_flag(t, addr, lid, &own, &op->out.kept,
		    &op->cause)) < 0)
			goto fail;
		if (own) {
			struct prefs_resub	 rs = { .addr = addr,
						    .lid = lid,
						    .source = op->source,
						    .now = op->now };

			if ((rc = prefs_resubscribe(t, &rs, &found,
			    &op->cause)) < 0)
				goto fail;
			op->changed = found != 0;
			op->out.kept = 0;
		}
		break;
	default:
		rc = set_cause(&op->cause, "no choice");
		goto fail;
	}
	/* Is the list still blocked, by another entry than this one? */
	if ((rc = ledger_may_send(t, addr, op->pt.tc.lid, &op->cause)) < 0)
		goto fail;
	op->out.blocked = rc == 0;
	/* The confirmation shows where the reader stands now. */
	if ((rc = prefs_view_get(t, addr, op->pt.tc.lid, op->now, &op->pt.st,
	    &op->cause)) < 0)
		goto fail;
	if ((rc = store_commit(t, &op->cause)) < 0) {
		t = NULL;
		goto fail;
	}
	json_decref(states);
	return;
fail:
	op->failed = rc == STORE_FULL ? 2 : 1;
	store_abort(t);
	json_decref(states);
}

/* On the loop: answer with the confirmation. */
static void
public_op_done(struct wjob *w)
{
	struct unsub_http_op	*op = (struct unsub_http_op *)w;
	struct unsub_page_info	 pi;
	struct buf		 b;

	if (op->failed) {
		log_warnx("public: cannot apply choice=%s list=%s: %s",
		    unsub_page_choice_name(op->choice), op->pt.list,
		    op->cause != NULL ? op->cause : "unknown error");
		public_reply_fixed(op->md, op->req, 503, op->pt.cat,
		    unsub_page_unavailable_in);
	} else {
		log_info("public: %s choice=%s source=%s address=%s list=%s "
		    "changed=%d dropped=%llu moved=%llu%s",
		    op->source == STORE_SRC_ONECLICK ? "one-click" : "form",
		    unsub_page_choice_name(op->choice),
		    ledger_source_name(op->source),
		    log_getlevel() < LOG_LVL_DEBUG ? "(hidden)" : op->pt.addr,
		    op->pt.list, op->changed, (unsigned long long)op->dropped,
		    (unsigned long long)op->moved,
		    op->out.kept ? " kept=administrator" : "");
		public_info(op->md, &op->pt, &pi);
		buf_init(&b);
		unsub_page_done(&b, &pi, &op->out);
		unsub_http_reply(op->md, op->req, 200, &b);
		/*
		 * Jobs the drain read ahead under their old keys (or to be
		 * rendered as they were) are forgotten before the loop does
		 * anything else; ledger_outcome() handles one on its way.
		 */
		if (op->dropped > 0 || op->restage)
			drain_kick(op->md->drain);
	}
	conf_free((struct conf *)op->conf);
	free(op->cause);
	free(op);
}

/* POST /u/{token}: the page's form, or a one-click request. */
static void
unsub_http_post(struct mannersd *md, struct evhttp_request *req,
    const struct unsub_http_target *pt)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct unsub_page_form	 f;
	struct unsub_page_info	 pi;
	struct unsub_http_op	*op;
	struct buf		 b;
	const char		*ctype, *body;
	char			*cause = NULL;
	enum unsub_page_choice	 choice = UNSUB_PAGE_NONE;
	size_t			 len;
	int			 oneclick = 0;

	if (md->stopping) {
		public_reply_fixed(md, req, 503, pt->cat, unsub_page_unavailable_in);
		return;
	}
	len = evbuffer_get_length(in);
	body = len > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	ctype = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Content-Type");
	if (unsub_page_form_parse(ctype, body, len, &f, &cause) == -1) {
		log_debug("public: bad form: %s", cause);
		free(cause);
	} else {
		oneclick = unsub_page_form_oneclick(&f);
		choice = oneclick ? UNSUB_PAGE_LIST : unsub_page_choice_parse(f.choice);
		unsub_page_form_free(&f);
	}
	if (choice == UNSUB_PAGE_NONE) {
		public_info(md, pt, &pi);
		buf_init(&b);
		unsub_page_bad_choice(&b, &pi);
		unsub_http_reply(md, req, 400, &b);
		return;
	}
	op = xcalloc(1, sizeof *op);
	op->w.run = public_op_run;
	op->w.done = public_op_done;
	op->md = md;
	op->req = req;
	op->pt = *pt;
	op->choice = choice;
	op->source = oneclick ? STORE_SRC_ONECLICK : STORE_SRC_LINK;
	op->now = mannersd_now();
	op->conf = conf_ref(md->conf);
	writer_submit(md->writer, &op->w);
}

/* Route a request: /u/{token} or nothing. */
static void
unsub_http_request(struct evhttp_request *req, void *arg)
{
	struct mannersd			*md = arg;
	const struct evhttp_uri		*uri = evhttp_request_get_evhttp_uri(req);
	enum evhttp_cmd_type		 m = evhttp_request_get_command(req);
	struct unsub_http_target		 pt;
	struct unsub_page_info		 pi;
	struct buf			 b;
	const char			*path;
	const struct i18n_cat		*cat;
	char				 lang[I18N_LANG_MAX];

	path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	cat = public_lang(md, req, lang, sizeof lang);
	if (path == NULL || strncmp(path, "/u/", 3) != 0) {
		public_reply_fixed(md, req, 404, cat, unsub_page_not_found_in);
		return;
	}
	/* Before the token: a method the page does not take says so the
	   same way for every link. */
	if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD &&
	    m != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD, POST");
		public_reply_fixed(md, req, 405, cat, unsub_page_not_found_in);
		return;
	}
	if (unsub_http_target(md, req, path + 3, &pt) != 0)
		return;
	switch (m) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		public_info(md, &pt, &pi);
		buf_init(&b);
		unsub_page_choices(&b, &pi);
		unsub_http_reply(md, req, 200, &b);
		break;
	case EVHTTP_REQ_POST:
		unsub_http_post(md, req, &pt);
		break;
	default:
		/* Refused above; this is the backstop. */
		public_reply_fixed(md, req, 405, pt.cat, unsub_page_not_found_in);
		break;
	}
}

/* The public listener's limits, from the configuration now. */
static void
unsub_http_limits(void *arg, struct http_guard_limits *lim)
{
	struct mannersd	*md = arg;

	lim->request_timeout = (unsigned)md->conf->request_timeout;
	lim->max_connections = (unsigned)md->conf->max_connections;
	lim->max_body = PUBLIC_MAX_BODY;
}

/*
 * A refusal before evhttp: a page with the pages' headers, in the
 * request's language where the guard could read it safely, else in
 * page_language.
 */
static void
unsub_http_render(void *arg, const struct http_guard_refusal *r,
    struct evbuffer *head, struct evbuffer *body)
{
	struct mannersd		*md = arg;
	const struct i18n_cat	*cat;
	struct buf		 b;
	char			 lang[I18N_LANG_MAX];
	size_t			 i;

	for (i = 0; i < nitems(unsub_http_headers); i++)
		evbuffer_add_printf(head, "%s: %s\r\n", unsub_http_headers[i][0],
		    unsub_http_headers[i][1]);
	evbuffer_add_printf(head, "Content-Security-Policy: %s\r\n",
	    md->public_csp);
	cat = i18n_negotiate(&md->public_i18n, r->accept_language,
	    md->conf->page_language, lang, sizeof lang);
	buf_init(&b);
	if (r->code == 503 || r->code == 408)
		unsub_page_unavailable_in(&b, cat);
	else
		unsub_page_refused_in(&b, cat, r->why);
	evbuffer_add(body, b.data, b.len);
	buf_free(&b);
}

/* Listen on public_listen, if set; a bind failure is fatal. */
int
unsub_http_start(struct mannersd *md, char **cause)
{
	const char		*listen = md->conf->public_listen;
	char			*host = NULL;
	uint16_t		 port = 0;

	if (listen == NULL || *listen == '\0') {
		log_info("public_listen is not set: no unsubscribe pages here "
		    "(the links in messages must reach another mannersd)");
		return 0;
	}
	if (hostport_parse(listen, "public_listen", &host, &port, cause) == -1)
		return -1;
	if (i18n_set_load(&md->public_i18n, md->conf->locale_dir, cause) == -1)
		return -1;
	log_info("public: pages in English and %zu other languages from %s "
	    "(default %s)", md->public_i18n.n, md->conf->locale_dir,
	    md->conf->page_language);
	md->public_csp = unsub_page_csp();
	md->public_zones = quiet_cache_new(PUBLIC_ZONES);
	if ((md->public = evhttp_new(md->base)) == NULL) {
		free(host);
		return set_cause(cause, "evhttp_new failed");
	}
	evhttp_set_max_headers_size(md->public, PUBLIC_MAX_HEADERS);
	evhttp_set_max_body_size(md->public, PUBLIC_MAX_BODY);
	/* Idle time before a request; the guard times the request. */
	evhttp_set_timeout(md->public, (int)md->conf->request_timeout);
	evhttp_set_gencb(md->public, unsub_http_request, md);
	/*
	 * Pages for refusals, the pages' methods; a POST without a body gets
	 * the page's "choose one" answer (no needs_body).
	 */
	if ((md->public_guard = http_guard_attach(md->public, md->base,
	    &(const struct http_guard_opts){ .name = "public", .max_head =
	    PUBLIC_MAX_HEADERS, .allow = "GET, HEAD, POST", .limits =
	    unsub_http_limits, .render = unsub_http_render }, md,
	    cause)) == NULL) {
		free(host);
		return -1;
	}
	errno = 0;
	md->public_bound = evhttp_bind_socket_with_handle(md->public, host,
	    port);
	if (md->public_bound == NULL) {
		set_cause(cause, "cannot listen on %s for unsubscribe pages: "
		    "%s; set public_listen", listen, errno != 0 ?
		    strerror(errno) : "bind failed");
		free(host);
		return -1;
	}
	log_info("public: unsubscribe pages on %s (links start with %s/u/)",
	    listen, md->conf->public_url != NULL ? md->conf->public_url : "");
	free(host);
	return 0;
}

/* Stop accepting connections; requests in progress still get answers. */
void
unsub_http_stop(struct mannersd *md)
{
	if (md->public_bound == NULL)
		return;
	evhttp_del_accept_socket(md->public, md->public_bound);
	md->public_bound = NULL;
}

/* Free the HTTP server, closing what is still open. */
void
unsub_http_free(struct mannersd *md)
{
	unsub_http_stop(md);
	if (md->public != NULL)
		evhttp_free(md->public);
	md->public = NULL;
	/* After evhttp_free: its connections hold the guard. */
	http_guard_free(md->public_guard);
	md->public_guard = NULL;
	free(md->public_csp);
	md->public_csp = NULL;
	i18n_set_free(&md->public_i18n);
	quiet_cache_free(md->public_zones);
	md->public_zones = NULL;
}
