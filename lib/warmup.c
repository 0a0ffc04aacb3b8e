/*
 * warmup.c: warm-up ramps (see warmup.h).
 */
#include <math.h>
#include <string.h>

#include "util.h"
#include "warmup.h"

int
warmup_curve(uint64_t first, uint64_t target, unsigned days, uint64_t *out,
    char **cause)
{
	double		 f = (double)first, ratio;
	unsigned	 i;

	if (first == 0 || target < first || target > WARMUP_MAX_VOLUME)
		return set_cause(cause, "exponential FIRST TARGET DAYS wants "
		    "1 <= FIRST <= TARGET <= %llu", (unsigned long long)
		    WARMUP_MAX_VOLUME);
	if (days < 2 || days > WARMUP_MAX_DAYS)
		return set_cause(cause, "exponential FIRST TARGET DAYS wants "
		    "DAYS from 2 to %d", WARMUP_MAX_DAYS);
	ratio = (double)target / f;
	for (i = 0; i < days; i++)
		out[i] = (uint64_t)llround(f * pow(ratio, (double)i /
		    (double)(days - 1)));
	/* Rounding must not make the last day miss the target. */
	out[days - 1] = target;
	return 0;
}

void
warmup_at(const uint64_t *v, size_t n, int32_t start, int32_t today,
    unsigned sent_days, struct warmup_status *st)
{
	memset(st, 0, sizeof *st);
	if (today < start || n == 0)
		return;
	st->started = 1;
	st->day = sent_days + 1;
	if (st->day > n) {
		st->complete = 1;
		return;
	}
	st->volume = v[st->day - 1];
	st->tomorrow = st->day < n ? v[st->day] : 0;
}
