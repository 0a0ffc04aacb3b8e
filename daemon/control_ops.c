/*
 * control_ops.c: the control API's write operations (cancel, pause,
 * resume, unsubscribe, resubscribe), one row each.
 *
 * Each runs in one transaction on the writer thread, like everything that
 * writes; the answer, the log line and the drain's wake-up follow on the
 * loop.  Ids arrive decoded and checked by control_routes.c.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/http.h>

#include "addr.h"
#include "campaign_record.h"
#include "conf.h"
#include "erase.h"
#include "ledger.h"
#include "log.h"
#include "mannersd.h"
#include "prefs.h"
#include "store.h"
#include "util.h"

enum control_ops_kind {
	OP_CANCEL,
	OP_PAUSE,
	OP_RESUME,
	OP_UNSUBSCRIBE,
	OP_RESUBSCRIBE,
	OP_ERASE
};

struct control_op {
	struct wjob		 w;
	struct mannersd		*md;
	struct evhttp_request	*req;
	enum control_ops_kind	 kind;
	char			*id;	/* campaign id or address */
	char			*list;	/* NULL: every list */
	int64_t			 now;
	int			 list_configured;	/* has [list NAME] */
	int			 status;
	json_t			*answer;
};

/*
 * One operation's work inside its transaction: 0 with op->answer set, 1
 * when what it acts on does not exist, or -1 (STORE_FULL) with *cause;
 * it may set op->status for an error other than 500.
 */
typedef int	(*control_ops_fn)(struct control_op *, struct store_txn *,
		    char **);

static int	control_ops_run_cancel(struct control_op *, struct store_txn *,
		    char **);
static int	control_ops_run_state(struct control_op *, struct store_txn *,
		    char **);
static int	control_ops_run_unsubscribe(struct control_op *,
		    struct store_txn *, char **);
static int	control_ops_run_resubscribe(struct control_op *,
		    struct store_txn *, char **);
static int	control_ops_run_erase(struct control_op *,
		    struct store_txn *, char **);

static const struct {
	const char	*name;		/* for the log */
	int		 campaign;	/* acts on a campaign, not an address */
	const char	*missing;	/* the 404's error */
	control_ops_fn	 run;
} control_ops_kinds[] = {
	[OP_CANCEL] = { "cancel", 1, "no such campaign",
	    control_ops_run_cancel },
	[OP_PAUSE] = { "pause", 1, "no such campaign",
	    control_ops_run_state },
	[OP_RESUME] = { "resume", 1, "no such campaign",
	    control_ops_run_state },
	[OP_UNSUBSCRIBE] = { "unsubscribe", 0, "no such unsubscribe",
	    control_ops_run_unsubscribe },
	[OP_RESUBSCRIBE] = { "resubscribe", 0, "no such unsubscribe",
	    control_ops_run_resubscribe },
	[OP_ERASE] = { "erase", 0, "nothing is known of this address",
	    control_ops_run_erase },
};

/* Cancel: drop what is queued; what was sent stays in history. */
static int
control_ops_run_cancel(struct control_op *op, struct store_txn *t,
    char **cause)
{
	uint64_t	 n;
	int		 rc;

	if ((rc = ledger_cancel(t, op->id, op->now, &n, cause)) != 0)
		return rc;
	op->answer = json_pack("{s:s, s:s, s:I}", "campaign", op->id,
	    "state", CAMPAIGN_CANCELLED, "dropped", (json_int_t)n);
	return 0;
}

/* Pause or resume: hold or release the campaign's queued jobs. */
static int
control_ops_run_state(struct control_op *op, struct store_txn *t,
    char **cause)
{
	const char	*state = op->kind == OP_PAUSE ? CAMPAIGN_PAUSED :
			    CAMPAIGN_ACTIVE;
	int		 rc;

	if ((rc = ledger_set_campaign_state(t, op->id, state, cause)) != 0) {
		/* A cancelled campaign cannot be paused or resumed. */
		if (rc == -1)
			op->status = 409;
		return rc;
	}
	op->answer = json_pack("{s:s, s:s}", "campaign", op->id, "state",
	    state);
	return 0;
}

/* An administrator's unsubscribe from one list, or (no list) from all. */
static int
control_ops_run_unsubscribe(struct control_op *op, struct store_txn *t,
    char **cause)
{
	struct ledger_unsub_result	 ur;
	json_t				*states;
	uint32_t			 lid = 0;
	int				 rc = 0;

	/*
	 * A list no campaign ever used and no [list NAME] names is most
	 * likely a typo: recording it would protect nobody.
	 */
	if (op->list != NULL && (rc = store_list_id(t, op->list,
	    op->list_configured, &lid, cause)) == 1) {
		op->status = 404;
		return set_cause(cause, "unknown list \"%s\": no campaign was "
		    "ever sent to it and the configuration has no [list %s]; "
		    "check the name (GET /v1/campaigns shows the lists in "
		    "use), or leave \"list\" out to unsubscribe from every "
		    "list", op->list, op->list);
	}
	if (rc < 0)
		return rc;
	states = json_object();
	if ((rc = ledger_unsubscribe(t, op->id, lid, STORE_SRC_ADMIN, op->now,
	    states, &ur, cause)) >= 0 &&
	    (rc = ledger_flush_states(t, states, cause)) >= 0) {
		op->answer = json_pack("{s:s, s:s?, s:b, s:I}", "address",
		    op->id, "list", op->list, "changed", ur.changed,
		    "dropped", (json_int_t)ur.dropped);
		rc = 0;
	}
	json_decref(states);
	return rc;
}

/*
 * Remove an unsubscribe (one list's, or with no list every one), also one
 * an erasure kept as a hash: the person asked to be mailed again.  The
 * consent is recorded with source admin.
 */
static int
control_ops_run_resubscribe(struct control_op *op, struct store_txn *t,
    char **cause)
{
	struct prefs_resub	 rs = { .addr = op->id, .all = op->list == NULL,
				    .source = STORE_SRC_ADMIN, .now = op->now,
				    .keys = op->md->keys };
	int			 rc, found;

	/* A list never used has no unsubscribe to remove. */
	if (op->list != NULL && (rc = store_list_id(t, op->list, 0, &rs.lid,
	    cause)) != 0)
		return rc;
	if ((rc = prefs_resubscribe(t, &rs, &found, cause)) < 0)
		return rc;
	if (!found)
		return 1;
	op->answer = json_pack("{s:s, s:s?, s:b, s:b}", "address", op->id,
	    "list", op->list, "resubscribed", 1, "after_erasure",
	    (found & PREFS_RESUB_ERASED) != 0);
	return 0;
}

/* Erase a person: see lib/erase.h for what goes and what is kept. */
static int
control_ops_run_erase(struct control_op *op, struct store_txn *t,
    char **cause)
{
	struct erase_result	 er;
	json_t			*states = json_object();
	int			 rc;

	if ((rc = erase_recipient(t, op->md->keys, op->id, op->now, states,
	    &er, cause)) == 0 &&
	    (rc = ledger_flush_states(t, states, cause)) >= 0) {
		op->answer = json_pack("{s:s, s:b, s:I, s:I, s:{s:I, s:b}}",
		    "address", op->id, "erased", 1, "dropped",
		    (json_int_t)er.dropped, "delivery_states",
		    (json_int_t)er.states, "kept_as_hash", "unsubscribed_lists",
		    (json_int_t)er.kept_lists, "suppressed",
		    er.kept_suppressed);
		rc = 0;
	}
	json_decref(states);
	return rc;
}

/* On the writer thread: the operation in one transaction. */
static void
control_ops_run(struct wjob *w, struct store *store)
{
	struct control_op	*op = (struct control_op *)w;
	struct store_txn	*t = NULL;
	char			*cause = NULL;
	int			 rc;

	op->status = 500;
	if ((rc = store_begin(store, 1, &t, &cause)) == 0 &&
	    (rc = control_ops_kinds[op->kind].run(op, t, &cause)) == 0) {
		rc = store_commit(t, &cause);
		t = NULL;
		if (rc == 0) {
			op->status = 200;
			return;
		}
	}
	if (rc == 1) {
		op->status = 404;
		op->answer = json_pack("{s:s, s:s}", "error",
		    control_ops_kinds[op->kind].missing, "detail", op->id);
	} else {
		if (rc == STORE_FULL)
			op->status = 507;
		/* An answer made before a failed commit does not stand. */
		json_decref(op->answer);
		op->answer = json_pack("{s:s}", "error", cause != NULL ?
		    cause : "internal error");
	}
	free(cause);
	store_abort(t);
}

/* On the loop: answer, log, and let the drain see the change. */
static void
control_ops_done(struct wjob *w)
{
	struct control_op	*op = (struct control_op *)w;
	int			 campaign = control_ops_kinds[op->kind].campaign;

	control_reply_json(op->req, op->status, op->answer);
	if (op->status == 200) {
		/* Addresses are personal: logged only at debug level. */
		log_info("control: %s %s=%s%s%s", control_ops_kinds[op->kind].name,
		    campaign ? "campaign" : "address", !campaign &&
		    log_getlevel() < LOG_LVL_DEBUG ? "(hidden)" : op->id,
		    op->list != NULL ? " list=" : "",
		    op->list != NULL ? op->list : "");
		if (campaign)
			drain_forget(op->md->drain, op->id);
		else if (op->kind != OP_ERASE)
			op->md->stats.unsubscribes++;
		drain_kick(op->md->drain);
	}
	json_decref(op->answer);
	free(op->id);
	free(op->list);
	free(op);
}

/* Hand an operation to the writer. */
static void
control_ops_start(struct mannersd *md, struct evhttp_request *req,
    enum control_ops_kind k, const char *id, const char *list)
{
	struct control_op	*op = xmalloc(sizeof *op);

	*op = (struct control_op){
		.w = { .run = control_ops_run, .done = control_ops_done },
		.md = md, .req = req, .kind = k, .id = xstrdup(id),
		.list = list != NULL ? xstrdup(list) : NULL,
		.list_configured = list != NULL &&
		    conf_list_configured(md->conf, list),
		.now = mannersd_now(),
	};
	writer_submit(md->writer, &op->w);
}

/* A list name, lower-cased, or NULL after answering 422. */
static char *
control_ops_list(struct evhttp_request *req, const char *l)
{
	char	*low = xstrtolower(l);

	if (addr_check_hostname(low, strlen(low), NULL) == 0)
		return low;
	free(low);
	control_reply_error(req, 422, "invalid list name (want a domain-like "
	    "name, e.g. news.example.com)", json_pack("{s:s}", "field",
	    "list"));
	return NULL;
}

/* What a campaign's route asks: its method and how its path ends. */
static const struct {
	enum evhttp_cmd_type	 method;
	const char		*end;
	enum control_ops_kind	 kind;
} control_ops_campaign_routes[] = {
	{ EVHTTP_REQ_DELETE,	"",		OP_CANCEL },
	{ EVHTTP_REQ_POST,	"/pause",	OP_PAUSE },
	{ EVHTTP_REQ_POST,	"/resume",	OP_RESUME },
};

/*
 * DELETE /v1/campaigns/{id}, POST /v1/campaigns/{id}/pause and /resume:
 * control_routes.c matched the path, so its method and end tell which.
 */
void
control_ops_campaign(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	const char	*path = evhttp_uri_get_path(
			    evhttp_request_get_evhttp_uri(req));
	size_t		 i, n, len = path != NULL ? strlen(path) : 0;

	for (i = 0; i < nitems(control_ops_campaign_routes); i++) {
		n = strlen(control_ops_campaign_routes[i].end);
		if (evhttp_request_get_command(req) ==
		    control_ops_campaign_routes[i].method && n <= len &&
		    strcmp(path + len - n,
		    control_ops_campaign_routes[i].end) == 0) {
			control_ops_start(md, req,
			    control_ops_campaign_routes[i].kind, id, NULL);
			return;
		}
	}
	control_reply_error(req, 404, "no such route", NULL);
}

/* The body POST /v1/unsubscribes takes; "every list" is an absent list. */
static const struct control_json_key control_ops_unsubscribe_keys[] = {
	{ "address", JSON_STRING, 1 },
	{ "list", JSON_STRING, 0 },
};

/* POST /v1/unsubscribes {"address": ..., "list": ...}. */
void
control_ops_unsubscribe(struct mannersd *md, struct evhttp_request *req,
    const char *id)
{
	json_t		*j;
	const char	*a, *l;
	char		*list = NULL, *why = NULL;

	(void)id;
	if ((j = control_json_body(req, control_ops_unsubscribe_keys,
	    nitems(control_ops_unsubscribe_keys), "{\"address\": "
	    "\"a@example.org\", \"list\": \"news.example.com\"}")) == NULL)
		return;
	a = json_string_value(json_object_get(j, "address"));
	l = json_string_value(json_object_get(j, "list"));
	if (addr_check(a, strlen(a), &why) == -1) {
		control_reply_error(req, 422, "invalid address",
		    json_pack("{s:s, s:s}", "field", "address", "address",
		    why));
		free(why);
	} else if (l == NULL || (list = control_ops_list(req, l)) != NULL)
		control_ops_start(md, req, OP_UNSUBSCRIBE, a, list);
	free(list);
	json_decref(j);
}

/* DELETE /v1/recipients/{address}: forget the person. */
void
control_ops_erase(struct mannersd *md, struct evhttp_request *req,
    const char *addr)
{
	control_ops_start(md, req, OP_ERASE, addr, NULL);
}

/* DELETE /v1/unsubscribes/{address}[?list=...]. */
void
control_ops_resubscribe(struct mannersd *md, struct evhttp_request *req,
    const char *addr)
{
	char	*l = NULL, *list = NULL;
	int	 rc;

	if ((rc = control_routes_query(req, "list", &l)) == -1)
		return;
	if (rc == 0 || (list = control_ops_list(req, l)) != NULL)
		control_ops_start(md, req, OP_RESUBSCRIBE, addr, list);
	free(list);
	free(l);
}
