// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include "limits.h"

const char *const blkqos_limit_names[BLKQOS_NR_LIMITS] = {
	"iops", "read-iops", "write-iops", "bps", "read-bps", "write-bps",
};

static __u64 div_round_up(__u64 n, __u64 d)
{
	return n / d + (n % d != 0);
}

int blkqos_limit_derive(struct blkqos_limit *l, char *err, size_t errlen)
{
	if (!l->rate) {
		/* Unlimited: keep epochs (so a later limit is a new bucket), clear the rest. */
		l->burst = l->peak = l->full_ns = l->peak_full_ns = 0;
		return 0;
	}
	if (l->rate > BLKQOS_RATE_MAX) {
		snprintf(err, errlen, "rate %llu/s is above the maximum %llu/s",
			 (unsigned long long)l->rate, (unsigned long long)BLKQOS_RATE_MAX);
		return -ERANGE;
	}
	if (l->burst > BLKQOS_BURST_MAX) {
		snprintf(err, errlen, "burst %llu is above the maximum %llu",
			 (unsigned long long)l->burst, (unsigned long long)BLKQOS_BURST_MAX);
		return -ERANGE;
	}
	if (l->peak && l->peak > BLKQOS_RATE_MAX) {
		snprintf(err, errlen, "peak %llu/s is above the maximum %llu/s",
			 (unsigned long long)l->peak, (unsigned long long)BLKQOS_RATE_MAX);
		return -ERANGE;
	}
	if (l->peak && l->peak < l->rate) {
		snprintf(err, errlen, "peak %llu/s is below the rate %llu/s",
			 (unsigned long long)l->peak, (unsigned long long)l->rate);
		return -ERANGE;
	}
	l->full_ns = div_round_up(l->burst * BLKQOS_SCALE + BLKQOS_DEBT_MAX, l->rate);
	l->peak_full_ns = l->peak ?
		div_round_up(l->peak * BLKQOS_PEAK_WINDOW_NS + BLKQOS_DEBT_MAX, l->peak) : 0;
	return 0;
}

int blkqos_limits_derive(struct blkqos_limits *l, char *err, size_t errlen)
{
	char why[160];
	int i, ret;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		ret = blkqos_limit_derive(blkqos_limit_at(l, i), why, sizeof(why));
		if (ret) {
			snprintf(err, errlen, "%s: %s", blkqos_limit_names[i], why);
			return ret;
		}
	}
	return 0;
}

void blkqos_limits_carry_epochs(const struct blkqos_limits *old, struct blkqos_limits *new,
				__u64 (*next_epoch)(void))
{
	int i;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *o = old ? BLKQOS_LIMIT_AT(old, i) : NULL;
		struct blkqos_limit *n = blkqos_limit_at(new, i);

		n->epoch = (o && o->rate && n->rate) ? o->epoch : (n->rate ? next_epoch() : 0);
		n->peak_epoch = (o && o->rate && o->peak && n->rate && n->peak) ?
			o->peak_epoch : (n->rate && n->peak ? next_epoch() : 0);
	}
}
