/* SPDX-License-Identifier: GPL-2.0 */
/* `blkqos stats`: limits, bucket levels and counters, as a table or JSON. */
#ifndef BLKQOS_STATS_H
#define BLKQOS_STATS_H

#include <stdbool.h>
#include <stdio.h>
#include "maps.h"

struct stats_filter {
	bool any_dom;		/* no DOMID given */
	unsigned int domid;
	bool any_dev;		/* no /DEV given */
	unsigned int devid;
	/* stock mode: deferrals are bios the block throttle held; no wait time is known */
	bool stock;
	/* with the wait-time histograms (bpf mode) */
	bool histogram;
};

/* Print one snapshot; returns the number of VBDs shown. */
int stats_print(FILE *out, struct blkqos_maps *m, const struct stats_filter *f, bool json);

/* A bucket's level in tokens at CLOCK_MONOTONIC now (refill computed, not stored). */
double stats_bucket_tokens(const struct blkqos_bucket *b, const struct blkqos_limit *l,
			   bool peak, __u64 now);

#endif
