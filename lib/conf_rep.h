/*
 * conf_rep.h: the configuration of the sender's reputation guards, for
 * conf.c only: [provider NAME] groups, [warmup NAME] ramps, the quota
 * day ([smtp] day_zone, day_start), and their checks across sections.
 */
#ifndef MANNERS_CONF_REP_H
#define MANNERS_CONF_REP_H

#include "conf.h"

int	 conf_rep_names(const char *, struct conf_names *, const char *,
	    char **);
int	 conf_rep_date(const char *, int32_t *, const char *, char **);
int	 conf_rep_volumes(const char *, int, void *, char **);
int	 conf_rep_day_start(const char *, uint32_t *, char **);
int	 conf_rep_zone(const char *, char **, char **);
/* Open [provider NAME] (provider 1) or [warmup NAME]; *base its struct. */
int	 conf_rep_section(struct conf *, int, const char *, void **, char **);
int	 conf_rep_finish(struct conf *, const char *, char **);
void	 conf_rep_free(struct conf *);

#endif
