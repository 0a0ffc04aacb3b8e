/*
 * drain_campaign.c: campaigns' content, cached for rendering.
 *
 * The most recently used DRAIN_CAMPAIGNS_MAX campaigns are kept, each
 * with its bodies encoded once (message_tpl) and its state as last read;
 * drain_campaign_forget() drops one whose state or content changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "campaign.h"
#include "campaign_record.h"
#include "drain_int.h"
#include "log.h"
#include "mannersd.h"
#include "token.h"
#include "util.h"

#define DRAIN_CAMPAIGNS_MAX	256	/* campaigns' content kept */

/* Free a cached campaign (its template lives on in running transfers). */
static void
drain_campaign_free(struct dcampaign *dc)
{
	message_tpl_free(dc->tpl);
	campaign_free(dc->c);
	free(dc);
}

/* A campaign's content and state if cached (most recently used first). */
struct dcampaign *
drain_campaign_cached(struct drain *d, const char *id)
{
	struct dcampaign	*dc;

	TAILQ_FOREACH(dc, &d->campaigns, entry) {
		if (strcmp(dc->c->id, id) == 0) {
			if (dc != TAILQ_FIRST(&d->campaigns)) {
				TAILQ_REMOVE(&d->campaigns, dc, entry);
				TAILQ_INSERT_HEAD(&d->campaigns, dc, entry);
			}
			return dc;
		}
	}
	return NULL;
}

/* A campaign's cached content and state, loading it on first use. */
struct dcampaign *
drain_campaign_get(struct drain *d, struct store_txn *t, const char *id)
{
	struct dcampaign	*dc;
	json_t			*body = NULL, *state = NULL;
	char			*cause = NULL;

	if ((dc = drain_campaign_cached(d, id)) != NULL)
		return dc;
	if (store_campaign_body_get(t, id, &body, &cause) != 0 ||
	    store_campaign_get(t, id, &state, &cause) != 0) {
		if (cause != NULL) {
			log_warnx("drain: cannot load campaign=%s: %s", id,
			    cause);
			free(cause);
		}
		json_decref(body);
		return NULL;
	}
	dc = xcalloc(1, sizeof *dc);
	if ((dc->c = campaign_record_body_campaign(body)) == NULL) {
		log_warnx("drain: campaign=%s has a corrupt record", id);
		free(dc);
		json_decref(body);
		json_decref(state);
		return NULL;
	}
	dc->tpl = message_tpl_new(dc->c);
	dc->ref = token_campaign_ref(dc->c->id);
	snprintf(dc->state, sizeof dc->state, "%s", campaign_record_state(state));
	json_decref(body);
	json_decref(state);
	TAILQ_INSERT_HEAD(&d->campaigns, dc, entry);
	if (++d->ncampaigns > DRAIN_CAMPAIGNS_MAX) {
		struct dcampaign	*old = TAILQ_LAST(&d->campaigns,
		    dcampaignq);

		TAILQ_REMOVE(&d->campaigns, old, entry);
		drain_campaign_free(old);
		d->ncampaigns--;
	}
	return dc;
}

/* Drop a campaign from the cache (its state or content changed). */
void
drain_campaign_forget(struct drain *d, const char *id)
{
	struct dcampaign	*dc;

	TAILQ_FOREACH(dc, &d->campaigns, entry) {
		if (strcmp(dc->c->id, id) == 0) {
			TAILQ_REMOVE(&d->campaigns, dc, entry);
			drain_campaign_free(dc);
			d->ncampaigns--;
			return;
		}
	}
}

/* Empty the cache (the drain is freed). */
void
drain_campaign_clear(struct drain *d)
{
	struct dcampaign	*dc;

	while ((dc = TAILQ_FIRST(&d->campaigns)) != NULL) {
		TAILQ_REMOVE(&d->campaigns, dc, entry);
		drain_campaign_free(dc);
	}
	d->ncampaigns = 0;
}
