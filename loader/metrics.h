/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The maps as Prometheus metrics (text exposition format 0.0.4), and the
 * wait-time histograms as a table: `blkqos stats --format prometheus`,
 * `--histogram`, and what `blkqos run --metrics-file/--metrics-listen`
 * export (exporter.h).
 */
#ifndef BLKQOS_METRICS_H
#define BLKQOS_METRICS_H

#include <stdbool.h>
#include <stdio.h>
#include "maps.h"

/* Longest domain name kept for the domain label (longer ones are cut). */
#define METRICS_NAME_MAX	128

struct metrics_src {
	struct blkqos_maps *maps;
	/* "bpf", "stock" or "maps-only" (not attached): the mode label */
	const char *mode;
	/* stock mode: no bucket levels (the throttle holds), no hold times */
	bool stock;
	/* The domain's name into buf ("" if unknown); NULL: names are "". */
	void (*dom_name)(void *ctx, unsigned int domid, char *buf, size_t len);
	void *ctx;
};

/* Every VBD (and its domain) as metrics; returns the number of VBDs or -errno. */
int metrics_render(FILE *out, const struct metrics_src *src);

/* The bucket bound of histogram slot i (i < BLKQOS_HIST_SLOTS - 1), in us: 2^(i+1). */
static inline unsigned long long metrics_hist_bound_us(int i)
{
	return 2ULL << i;
}

/* One VBD's histograms as a table (stats --histogram). */
void metrics_print_hist(FILE *out, const struct blkqos_hist *h);

#endif
