/*
 * record.h: the stored shape of a campaign (JSON): its immutable content
 * and its state with counters.
 */
#ifndef MANNERS_RECORD_H
#define MANNERS_RECORD_H

#include <stdint.h>

#include <jansson.h>

struct campaign;

#define RECORD_ACTIVE		"active"
#define RECORD_PAUSED		"paused"
#define RECORD_CANCELLED	"cancelled"

json_t		*record_body_new(const struct campaign *, const char *);
struct campaign	*record_body_campaign(json_t *);
json_t		*record_state_new(const struct campaign *, uint32_t, int64_t);
void		 record_count_add(json_t *, const char *, int64_t);
int64_t		 record_count(json_t *, const char *);
void		 record_reject_add(json_t *, const char *, int64_t);
const char	*record_state(json_t *);
void		 record_set_state(json_t *, const char *);
/* A digest of what recipients would see, to refuse a changed resubmit. */
void		 record_digest(const struct campaign *, char *, size_t);

#endif
