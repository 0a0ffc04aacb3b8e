/*
 * warmup.h: warm-up ramps, pure.
 *
 * A new sending domain or IP earns its reputation by volume that grows
 * day by day.  A ramp is a list of daily volumes (ramp day 1, 2, ...);
 * an exponential curve from a first day's volume to a target over N
 * days is expanded into such a list.  Ramp days are *sending days*: a
 * calendar day on which nothing was sent does not advance the ramp.
 * After its last day a ramp is complete and sets no volume.
 */
#ifndef MANNERS_WARMUP_H
#define MANNERS_WARMUP_H

#include <stddef.h>
#include <stdint.h>

#define WARMUP_MAX_DAYS		366
#define WARMUP_MAX_VOLUME	100000000ULL

/* Where a ramp stands on one calendar day. */
struct warmup_status {
	int		 started;	/* the start date has come */
	int		 complete;	/* past its last day: no volume */
	unsigned	 day;		/* ramp day today, 1-based (0: not
					   started) */
	uint64_t	 volume;	/* today's, when started and not
					   complete */
	uint64_t	 tomorrow;	/* if today sends; 0: complete */
};

/*
 * Fill out[0..days-1] with an exponential ramp from `first` to `target`
 * (both included, each day rounded); 0, or -1 with *cause when the
 * numbers cannot make a ramp.
 */
int	 warmup_curve(uint64_t, uint64_t, unsigned, uint64_t *, char **);
/*
 * The ramp's state on calendar day `today` (YYYYMMDD), given its start
 * date and `sent_days`, the sending days from its start to yesterday.
 */
void	 warmup_at(const uint64_t *, size_t, int32_t, int32_t, unsigned,
	    struct warmup_status *);

#endif
