/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stock-kernel mode's translation of a VBD's limits to the block throttle:
 * its io.max line (one rate per direction and device, nothing else), and
 * what it cannot honour, named so that the loader reports it instead of
 * ignoring it. Pure functions: no file is read or written.
 */
#ifndef BLKQOS_THROTTLE_H
#define BLKQOS_THROTTLE_H

#include <stdbool.h>
#include <stddef.h>
#include "blkqos.h"

/*
 * Parse a backend's physical-device ("major:minor" in hex, as libxl and the
 * hotplug scripts write it: "fe:0", "7:3").
 */
int cg_parse_physdev(const char *s, unsigned int *maj, unsigned int *min,
		     char *err, size_t errlen);

/*
 * The per-direction rates the block throttle gets: riops, wiops, rbps, wbps
 * (0 = unlimited). A total limit (iops, bps) has no equivalent: it is applied
 * to each direction at its value, combined with a per-direction one by
 * taking the lower.
 */
void cg_io_rates(const struct blkqos_limits *l, __u64 rates[4]);

/* The io.max line: "MAJ:MIN riops=.. wiops=.. rbps=.. wbps=..", "max" for unlimited. */
int cg_iomax_line(unsigned int maj, unsigned int min, const struct blkqos_limits *l,
		  char *buf, size_t len);

/*
 * Whether io.max's content (as the kernel prints it) already holds l for
 * the device: its line has the same four rates, or it has no line and l
 * limits nothing.
 */
bool cg_iomax_holds(const char *content, unsigned int maj, unsigned int min,
		    const struct blkqos_limits *l);

/*
 * A VBD's limits for the throttle: its own, and its domain's when the domain
 * has this VBD only (then a domain limit is exactly a VBD limit; the lower
 * rate wins). A domain limit over several VBDs is left out (see
 * cg_unsupported_keys()).
 */
void cg_merge_domain(const struct blkqos_limits *vbd, const struct blkqos_limits *dom,
		     unsigned int dom_nr_vbds, struct blkqos_limits *out);

/*
 * What the block throttle cannot honour in l (and dom, may be NULL, over
 * dom_nr_vbds VBDs; dom_group: the domain's group enforces dom, see
 * cg_dom_apply), comma-separated in buf, e.g.
 * "iops-burst=2000, read-bps-peak=50M, iops-size=4096, flush=exempt,
 *  domain limits across 2 VBDs (need cgroup v2 and one backing device),
 *  iops=500 applies per direction".
 * Returns the number of items (0: everything is enforced as configured).
 */
int cg_unsupported_keys(const struct blkqos_limits *l, const struct blkqos_limits *dom,
			unsigned int dom_nr_vbds, bool dom_group, char *buf, size_t len);

#endif
