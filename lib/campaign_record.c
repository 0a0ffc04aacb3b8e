/*
 * campaign_record.c: JSON records for campaigns.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "campaign.h"
#include "log.h"
#include "campaign_record.h"
#include "util.h"

/* Set a string member, or null. */
static void
campaign_record_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, v != NULL ? json_string(v) : json_null());
}

void
campaign_record_digest(const struct campaign *c, char *out, size_t outsz)
{
	const char	*parts[] = { c->list, c->from_addr, c->from_name,
	    c->reply_to, c->subject, c->text, c->html };
	unsigned char	 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	EVP_MD_CTX	*ctx;
	size_t		 i;
	int64_t		 t[2] = { c->send_after, c->expires };

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("EVP_MD_CTX_new");
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < nitems(parts); i++) {
		const char	*p = parts[i] != NULL ? parts[i] : "";

		/* The length prefix keeps ("ab","c") apart from ("a","bc"). */
		size_t		 n = strlen(p);

		EVP_DigestUpdate(ctx, &n, sizeof n);
		EVP_DigestUpdate(ctx, p, n);
	}
	EVP_DigestUpdate(ctx, t, sizeof t);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	hexenc(md, mdlen, out, outsz);
}

json_t *
campaign_record_body_new(const struct campaign *c, const char *digest)
{
	json_t	*o = json_object();

	campaign_record_str(o, "id", c->id);
	campaign_record_str(o, "list", c->list);
	campaign_record_str(o, "from", c->from_addr);
	campaign_record_str(o, "from_name", c->from_name);
	campaign_record_str(o, "reply_to", c->reply_to);
	campaign_record_str(o, "subject", c->subject);
	campaign_record_str(o, "text", c->text);
	campaign_record_str(o, "html", c->html);
	json_object_set_new(o, "send_after", json_integer(c->send_after));
	json_object_set_new(o, "expires", json_integer(c->expires));
	campaign_record_str(o, "digest", digest);
	return o;
}

/* Copy a string member, or NULL when absent. */
static char *
campaign_record_get_str(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? xstrdup(s) : NULL;
}

/* Rebuild the campaign header (for rendering) from a stored body. */
struct campaign *
campaign_record_body_campaign(json_t *o)
{
	struct campaign	*c;

	c = xcalloc(1, sizeof *c);
	c->id = campaign_record_get_str(o, "id");
	c->list = campaign_record_get_str(o, "list");
	c->from_addr = campaign_record_get_str(o, "from");
	c->from_name = campaign_record_get_str(o, "from_name");
	c->reply_to = campaign_record_get_str(o, "reply_to");
	c->subject = campaign_record_get_str(o, "subject");
	c->text = campaign_record_get_str(o, "text");
	c->html = campaign_record_get_str(o, "html");
	c->send_after = json_integer_value(json_object_get(o, "send_after"));
	c->expires = json_integer_value(json_object_get(o, "expires"));
	if (c->id == NULL || c->list == NULL || c->from_addr == NULL ||
	    c->subject == NULL || (c->text == NULL && c->html == NULL)) {
		campaign_free(c);
		return NULL;
	}
	return c;
}

json_t *
campaign_record_state_new(const struct campaign *c, uint32_t lid, int64_t now)
{
	json_t	*o = json_object(), *counts = json_object();

	campaign_record_str(o, "id", c->id);
	campaign_record_str(o, "list", c->list);
	json_object_set_new(o, "lid", json_integer(lid));
	campaign_record_str(o, "state", CAMPAIGN_ACTIVE);
	json_object_set_new(o, "created", json_integer(now));
	json_object_set_new(o, "expires", json_integer(c->expires));
	json_object_set_new(o, "send_after", json_integer(c->send_after));
	json_object_set_new(counts, "recipients", json_integer(0));
	json_object_set_new(counts, "accepted", json_integer(0));
	json_object_set_new(counts, "deferred", json_integer(0));
	json_object_set_new(counts, "queued", json_integer(0));
	json_object_set_new(counts, "queued_deferred", json_integer(0));
	json_object_set_new(counts, "sent", json_integer(0));
	json_object_set_new(counts, "failed", json_integer(0));
	json_object_set_new(counts, "cancelled", json_integer(0));
	json_object_set_new(counts, "dropped", json_integer(0));
	/* What came back (feedback_apply.c), once per delivery. */
	json_object_set_new(counts, "bounces", json_integer(0));
	json_object_set_new(counts, "complaints", json_integer(0));
	json_object_set_new(counts, "delays", json_integer(0));
	json_object_set_new(counts, "retries", json_integer(0));
	json_object_set_new(counts, "rejected", json_object());
	json_object_set_new(o, "counts", counts);
	return o;
}

void
campaign_record_count_add(json_t *state, const char *key, int64_t delta)
{
	json_t	*counts = json_object_get(state, "counts");
	json_t	*v;

	if (counts == NULL)
		json_object_set_new(state, "counts", counts = json_object());
	v = json_object_get(counts, key);
	json_object_set_new(counts, key, json_integer((v != NULL ?
	    json_integer_value(v) : 0) + delta));
}

int64_t
campaign_record_count(json_t *state, const char *key)
{
	return json_integer_value(json_object_get(json_object_get(state,
	    "counts"), key));
}

void
campaign_record_reject_add(json_t *state, const char *reason, int64_t delta)
{
	json_t	*counts = json_object_get(state, "counts");
	json_t	*rej = json_object_get(counts, "rejected"), *v;

	if (rej == NULL)
		json_object_set_new(counts, "rejected", rej = json_object());
	v = json_object_get(rej, reason);
	json_object_set_new(rej, reason, json_integer((v != NULL ?
	    json_integer_value(v) : 0) + delta));
}

const char *
campaign_record_state(json_t *state)
{
	const char	*s = json_string_value(json_object_get(state, "state"));

	return s != NULL ? s : CAMPAIGN_ACTIVE;
}

void
campaign_record_set_state(json_t *state, const char *s)
{
	json_object_set_new(state, "state", json_string(s));
}
