/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A sequential reference model of the engine's semantics, written apart
 * from the BPF code: 128-bit arithmetic, no clamps for overflow's sake, one
 * request at a time. The differential test checks the BPF engine against it.
 */
#ifndef BLKQOS_REFMODEL_H
#define BLKQOS_REFMODEL_H

#include <stdbool.h>
#include "blkqos.h"

#define REF_MAX_SCOPES 16

struct ref_bucket {
	bool fresh;		/* limit just created: fills up at first touch */
	__int128 level;		/* nano-tokens */
	unsigned __int128 last;	/* ns */
};

struct ref_scope {
	bool used;
	__u32 domid, devid;	/* devid unused for a domain scope */
	bool limited;
	struct blkqos_limits cfg;
	struct ref_bucket sustained[BLKQOS_NR_LIMITS], peak[BLKQOS_NR_LIMITS];
	struct blkqos_stats stats;
	/* VBD scope: its turns on the domain, per direction (0 reads, 1 the rest) */
	__u64 turn_at[2];	/* 0: none */
	bool turn_taken[2];
	__u64 turn_est[2];	/* the size its turn was charged for */
};

struct ref_model {
	struct ref_scope vbd[REF_MAX_SCOPES];
	struct ref_scope dom[REF_MAX_SCOPES];
};

void ref_init(struct ref_model *m);
/* Set limits (NULL = remove). Only rate/burst/peak/iops_size/modes are read. */
void ref_set_vbd(struct ref_model *m, __u32 domid, __u32 devid, const struct blkqos_limits *l);
void ref_set_dom(struct ref_model *m, __u32 domid, const struct blkqos_limits *l);
/* Returns the wait in ns, 0 = admitted, for a request of at most est_bytes. */
__u64 ref_admit(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 est_bytes,
		__u64 now);
void ref_charge(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes, __u64 now);
/* The model's level of one bucket, false if it has none (unlimited or untouched). */
bool ref_level(struct ref_model *m, bool domain, __u32 domid, __u32 devid, int limit, bool peak,
	       long long *level);
/* A VBD's scope (its turns), NULL if the model has none. */
const struct ref_scope *ref_vbd(struct ref_model *m, __u32 domid, __u32 devid);
const struct blkqos_stats *ref_stats(struct ref_model *m, __u32 domid, __u32 devid);

#endif
