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
	unsigned __int128 tail;	/* end of the last waiting slot handed out, ns */
};

#define REF_MAX_WAITERS 64

/* Who holds waiting slots: an offerer (a ring and direction) of one VBD. */
struct ref_waiter {
	bool used;
	__u64 id;
	__u32 domid, devid;	/* the VBD whose buckets (and domain's) it holds */
	unsigned __int128 until;	/* every slot held is due then */
	bool held[2][BLKQOS_NR_LIMITS][2];	/* [domain scope][limit][peak] */
};

struct ref_scope {
	bool used;
	__u32 domid, devid;	/* devid unused for a domain scope */
	bool limited;
	struct blkqos_limits cfg;
	struct ref_bucket sustained[BLKQOS_NR_LIMITS], peak[BLKQOS_NR_LIMITS];
	struct blkqos_stats stats;
};

struct ref_model {
	struct ref_scope vbd[REF_MAX_SCOPES];
	struct ref_scope dom[REF_MAX_SCOPES];
	struct ref_waiter waiter[REF_MAX_WAITERS];
};

void ref_init(struct ref_model *m);
/* Set limits (NULL = remove). Only rate/burst/peak/iops_size/modes are read. */
void ref_set_vbd(struct ref_model *m, __u32 domid, __u32 devid, const struct blkqos_limits *l);
void ref_set_dom(struct ref_model *m, __u32 domid, const struct blkqos_limits *l);
/* Returns the wait in ns, 0 = admitted. No waiter: the levels alone decide. */
__u64 ref_admit(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 now);
/*
 * The same, offered by waiter (0: nobody known) with bytes as the size
 * estimate: requests that wait on a bucket are served in the order they
 * began waiting (waiting slots, see bpf/blkqos.bpf.c).
 */
__u64 ref_admit_waiter(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
		       __u64 waiter, __u64 now);
void ref_charge(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes, __u64 now);
/* A charge at dispatch of a request parked for parked_ns, offered by waiter. */
void ref_charge_parked(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
		       __u64 parked_ns, __u64 waiter, __u64 now);
/* A bucket's queue tail, false if the limit is off. */
bool ref_tail(struct ref_model *m, bool domain, __u32 domid, __u32 devid, int limit, bool peak,
	      unsigned long long *tail);
/* The model's level of one bucket, false if it has none (unlimited or untouched). */
bool ref_level(struct ref_model *m, bool domain, __u32 domid, __u32 devid, int limit, bool peak,
	       long long *level);
const struct blkqos_stats *ref_stats(struct ref_model *m, __u32 domid, __u32 devid);

#endif
