/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test harness: loads the real BPF object (skeleton), drives its syscall
 * entry with bpf_prog_test_run_opts on a synthetic clock. The checks are
 * the C tests' ASSERT_* (tests/include/asserts.h), run by cmocka.
 */
#ifndef BLKQOS_TEST_HARNESS_H
#define BLKQOS_TEST_HARNESS_H

#include <stdbool.h>
#include <stdio.h>
#include "blkqos.h"
#include "blkqos.skel.h"

#include "asserts.h"

/* Open and load the object; mount bpffs if absent. Exits 77 (skip) without BPF. */
struct blkqos_bpf *harness_load(void);

/*
 * One admission check of a request of at most est_bytes: returns the wait
 * (0 = admitted); -1 on a run error. A refusal may take a turn (and charge
 * est_bytes) on the domain.
 */
long long run_admit(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind,
		    __u64 est_bytes, __u64 now);
/* Charge one dispatched request; returns 0 or -1. */
int run_charge(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
	       __u64 now);
/* A charge at dispatch of a request blkback kept parked for parked_ns. */
int run_charge_parked(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind,
		      __u64 bytes, __u64 parked_ns, __u64 now);
/* blkif.h operations, for the request-level entries below. */
#define BLKIF_OP_READ			0
#define BLKIF_OP_WRITE			1
#define BLKIF_OP_WRITE_BARRIER		2
#define BLKIF_OP_FLUSH_DISKCACHE	3
#define BLKIF_OP_DISCARD		5
#define BLKIF_OP_INDIRECT		6

/*
 * Admission of a ring request as the hook sees it: op, and for
 * BLKIF_OP_INDIRECT the inner op; nr_segments of either. Returns the wait.
 */
long long run_admit_req(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u8 op, __u8 inner_op,
			__u16 nr_segments, __u64 now);
/* Charge a dispatch as the tracepoint reports it (inner op, sectors). */
int run_dispatch(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 op, __u64 nr_sectors,
		 __u64 now);
/* Run the syscall entry with a full context; returns the run's error or 0. */
int run_ctx(struct blkqos_bpf *skel, struct blkqos_test_ctx *ctx);

/* Set limits through the loader's map code (derive, carry epochs). */
int set_vbd_limits(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_limits *l);
int set_dom_limits(struct blkqos_bpf *skel, __u32 domid, struct blkqos_limits *l);
int get_vbd_buckets(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_buckets *b);
int get_dom_buckets(struct blkqos_bpf *skel, __u32 domid, struct blkqos_buckets *b);
/* Register a VBD without limits (it gets stats). */
int add_vbd(struct blkqos_bpf *skel, __u32 domid, __u32 devid);
struct blkqos_maps *harness_maps(void);
/* Sum of the per-CPU stats of a VBD. */
int get_vbd_stats(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_stats *s);
/* Sum of the per-CPU wait-time histograms of a VBD. */
int get_vbd_hist(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_hist *h);
/* Empty every map. */
void clear_maps(struct blkqos_bpf *skel);

/* Shorthand for one limit. */
static inline struct blkqos_limit lim(__u64 rate, __u64 burst, __u64 peak)
{
	return (struct blkqos_limit){ .rate = rate, .burst = burst, .peak = peak };
}


#endif
