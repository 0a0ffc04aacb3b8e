/*
 * campaign_record.h: the stored shape of a campaign (JSON): its immutable content
 * and its state with counters.
 */
#ifndef MANNERS_CAMPAIGN_RECORD_H
#define MANNERS_CAMPAIGN_RECORD_H

#include <stdint.h>

#include <jansson.h>

struct campaign;

#define CAMPAIGN_ACTIVE		"active"
#define CAMPAIGN_PAUSED		"paused"
#define CAMPAIGN_CANCELLED	"cancelled"

json_t		*campaign_record_body_new(const struct campaign *, const char *);
struct campaign	*campaign_record_body_campaign(json_t *);
json_t		*campaign_record_state_new(const struct campaign *, uint32_t, int64_t);
void		 campaign_record_count_add(json_t *, const char *, int64_t);
int64_t		 campaign_record_count(json_t *, const char *);
void		 campaign_record_reject_add(json_t *, const char *, int64_t);
const char	*campaign_record_state(json_t *);
void		 campaign_record_set_state(json_t *, const char *);
/* A digest of what recipients would see, to refuse a changed resubmit. */
void		 campaign_record_digest(const struct campaign *, char *, size_t);

#endif
