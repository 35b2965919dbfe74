/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The loader's side of the BPF maps: registering VBDs and domains in slots,
 * writing their limits (derived, with bucket epochs carried over), and
 * reading buckets and stats back. The data path only ever reads what this
 * writes; see include/blkqos.h for the map layout.
 */
#ifndef BLKQOS_MAPS_H
#define BLKQOS_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include "blkqos.h"

struct blkqos_maps {
	int vbds_fd, doms_fd, vbd_buckets_fd, dom_buckets_fd, vbd_stats_fd;
	int stock_groups_fd;	/* stock mode's cgroup id -> VBD map; -1 if not open */
	int stock_devs_fd;	/* stock mode's backing device, domid -> VBD map; -1 if not */
	int ring_births_fd;	/* stock mode's ring buffer of ring threads born; -1 if not */
	int vbd_hist_fd;	/* wait-time histograms; -1 if not open (blkqos_maps_set_hist) */
	int ncpus;
	bool vbd_used[BLKQOS_MAX_VBDS];
	bool dom_used[BLKQOS_MAX_DOMS];
};

/* Take the map fds and learn which slots are in use (maps may be reused from bpffs). */
int blkqos_maps_init(struct blkqos_maps *m, int vbds_fd, int doms_fd, int vbd_buckets_fd,
		     int dom_buckets_fd, int vbd_stats_fd);

/* Take the wait-time histogram map's fd (checked like the others); 0 or -errno. */
int blkqos_maps_set_hist(struct blkqos_maps *m, int vbd_hist_fd);

/* Register a VBD (no-op if known). Returns 0, -ENOSPC when out of slots. */
int blkqos_maps_vbd_add(struct blkqos_maps *m, __u32 domid, __u32 devid);
/* Set a VBD's limits (registering it if needed). On a bad limit: -ERANGE, reason in err. */
int blkqos_maps_vbd_set(struct blkqos_maps *m, __u32 domid, __u32 devid,
			const struct blkqos_limits *limits, char *err, size_t errlen);
/* Forget a VBD. Returns 0 or -ENOENT. */
int blkqos_maps_vbd_del(struct blkqos_maps *m, __u32 domid, __u32 devid);
int blkqos_maps_vbd_get(struct blkqos_maps *m, __u32 domid, __u32 devid, struct blkqos_vbd *out);
/*
 * The devid (as given, unfolded) that registered the entry devid folds to:
 * of two devids of a domain that fold to one handle, the one holding it.
 * An entry registered before the buckets kept it gives the folded devid.
 */
int blkqos_maps_vbd_holder(struct blkqos_maps *m, __u32 domid, __u32 devid, __u32 *holder);

/* Set a domain's aggregate limits; its VBDs (present and future) follow them. */
int blkqos_maps_dom_set(struct blkqos_maps *m, __u32 domid, const struct blkqos_limits *limits,
			char *err, size_t errlen);
/* Forget a domain and all its VBDs (domain destroyed). */
int blkqos_maps_dom_del(struct blkqos_maps *m, __u32 domid);
int blkqos_maps_dom_get(struct blkqos_maps *m, __u32 domid, struct blkqos_dom *out);

/* Bucket state of a slot; stats summed over CPUs. */
int blkqos_maps_vbd_buckets(struct blkqos_maps *m, __u32 slot, struct blkqos_buckets *out);
int blkqos_maps_dom_buckets(struct blkqos_maps *m, __u32 slot, struct blkqos_buckets *out);
int blkqos_maps_vbd_stats(struct blkqos_maps *m, __u32 slot, struct blkqos_stats *out);
/* A slot's wait-time histogram, summed over CPUs; -EBADF if the map is not open. */
int blkqos_maps_vbd_hist(struct blkqos_maps *m, __u32 slot, struct blkqos_hist *out);

/* Iterate VBD keys: start with prev == NULL. Returns 0, or -ENOENT at the end. */
int blkqos_maps_vbd_next(struct blkqos_maps *m, const struct blkqos_vbd_key *prev,
			 struct blkqos_vbd_key *next);
int blkqos_maps_dom_next(struct blkqos_maps *m, const __u32 *prev, __u32 *next);

/* CLOCK_MONOTONIC in ns: the clock bpf_ktime_get_ns() reads. */
__u64 blkqos_mono_ns(void);

/* A fresh bucket epoch: never 0, never reused within a boot (CLOCK_MONOTONIC based). */
__u64 blkqos_next_epoch(void);

#endif
