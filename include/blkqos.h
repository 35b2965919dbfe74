/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the BPF programs (bpf/) and userspace (loader/, tests/).
 * Plain fixed-width types only: this header is included after vmlinux.h on
 * the BPF side and after <linux/types.h> in userspace.
 *
 * Units: a bucket's level is kept in "nano-tokens" (tokens * BLKQOS_SCALE),
 * so refilling at R tokens/s for dt ns adds exactly R * dt: no division and
 * no lost fraction of a token on the hot path.
 */
#ifndef BLKQOS_H
#define BLKQOS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define BLKQOS_SCALE		1000000000ULL	/* level units per token */

/*
 * Bounds the loader enforces on every limit, chosen so that no sum in the
 * engine can overflow a signed 64-bit level (see the design comment in
 * bpf/blkqos.bpf.c):
 *   burst * SCALE <= 2^61, peak * PEAK_WINDOW_NS <= 2^61, debt >= -2^62.
 * A request's cost is not bounded: the engine takes it COST_MAX tokens per
 * atomic add, and COST_STEPS adds go from any level to the floor.
 */
#define BLKQOS_RATE_MAX		(1ULL << 37)	/* tokens/s: 128 Gi ops or bytes */
#define BLKQOS_BURST_MAX	(1ULL << 31)	/* tokens: 2 GiB or 2 Gi ops */
#define BLKQOS_COST_MAX		(1ULL << 30)	/* tokens one atomic add may charge */
#define BLKQOS_COST_STEPS	7		/* such adds from full to the floor */
#define BLKQOS_DEBT_MAX		(1LL << 62)	/* deepest level, nano-tokens */
#define BLKQOS_PEAK_WINDOW_NS	10000000ULL	/* peak bucket holds 10 ms of peak */
#define BLKQOS_WAIT_MAX_NS	1000000000ULL	/* one deferral sleeps at most 1 s */

/*
 * What a request is, for charging and stats. A flush or barrier that carries
 * data (blkfront's FUA and preflush writes) is a WRITE: FLUSH is an empty one.
 */
enum blkqos_kind {
	BLKQOS_KIND_READ = 0,
	BLKQOS_KIND_WRITE,
	BLKQOS_KIND_FLUSH,
	BLKQOS_KIND_DISCARD,
	BLKQOS_NR_KINDS,
};

/* The limits of one scope, in the order of struct blkqos_limits. */
enum blkqos_limit_id {
	BLKQOS_LIM_IOPS = 0,
	BLKQOS_LIM_READ_IOPS,
	BLKQOS_LIM_WRITE_IOPS,
	BLKQOS_LIM_BPS,
	BLKQOS_LIM_READ_BPS,
	BLKQOS_LIM_WRITE_BPS,
	BLKQOS_NR_LIMITS,
};

/*
 * How empty flush (and barrier) requests are charged. One that carries data
 * is charged as the write it is in either mode: its bytes and one write op.
 */
enum blkqos_flush_mode {
	BLKQOS_FLUSH_OP = 0,		/* one write op, no bytes (default) */
	BLKQOS_FLUSH_EXEMPT,		/* not limited, still counted in stats */
};

/* How discard requests are charged. */
enum blkqos_discard_mode {
	BLKQOS_DISCARD_OP = 0,		/* one write op, no bytes (default) */
	BLKQOS_DISCARD_EXEMPT,		/* not limited, still counted in stats */
	BLKQOS_DISCARD_BYTES,		/* one write op and the extent as bytes */
};

/*
 * One limit: a sustained token bucket and an optional peak bucket.
 * rate == 0 means unlimited; then the other fields are ignored.
 * The derived fields are filled by blkqos_limit_derive() (loader/limits.h)
 * in userspace so the BPF side never divides on the hot path.
 */
struct blkqos_limit {
	__u64 rate;		/* tokens per second */
	__u64 burst;		/* bucket size, tokens */
	__u64 peak;		/* tokens per second while spending the burst; 0 = none */
	__u64 epoch;		/* new value = new bucket: its state starts full */
	__u64 peak_epoch;	/* same, for the peak bucket */
	__u64 full_ns;		/* derived: ns from deepest debt to full */
	__u64 peak_full_ns;	/* derived: same, for the peak bucket */
};

/* Value of the vbd_limits and dom_limits maps. */
struct blkqos_limits {
	struct blkqos_limit iops;
	struct blkqos_limit read_iops;
	struct blkqos_limit write_iops;
	struct blkqos_limit bps;
	struct blkqos_limit read_bps;
	struct blkqos_limit write_bps;
	__u64 iops_size;	/* bytes; a larger request counts ceil(bytes/iops_size) ops */
	__u32 flush_mode;	/* enum blkqos_flush_mode (VBD scope only) */
	__u32 discard_mode;	/* enum blkqos_discard_mode (VBD scope only) */
};

/* State of one token bucket. Updated lock-free (atomics and cmpxchg). */
struct blkqos_bucket {
	__s64 level;		/* nano-tokens; negative = debt */
	__u64 last_ns;		/* refilled up to this time */
	__u64 epoch;		/* the limit epoch this state belongs to */
};

struct blkqos_bucket_pair {
	struct blkqos_bucket sustained;
	struct blkqos_bucket peak;
};

#define BLKQOS_MAX_VBDS		8192	/* VBDs known at once (slots) */
#define BLKQOS_MAX_DOMS		8192	/* domains with VBDs at once (slots) */

/*
 * Key of the vbds map: a virtual disk. blkback keeps the device id in a
 * 16-bit blkif_vdev_t, so the key holds its low 16 bits (51712 for xvda);
 * the loader folds xenstore's devid the same way.
 */
struct blkqos_vbd_key {
	__u32 domid;
	__u32 devid;
};

static inline __u32 blkqos_devid_key(__u32 devid)
{
	return devid & 0xffff;
}

/*
 * Value of the vbds map (hash, written only by the loader): everything the
 * data path needs for one VBD in one lookup. The domain's limits are copied
 * into each of its VBDs' entries, so a request costs one hash lookup; the
 * bucket state and stats live in arrays indexed by the slots.
 * A hash update replaces the value atomically: the data path never sees a
 * half-written limit.
 */
struct blkqos_vbd {
	__u32 slot;		/* index in vbd_buckets and vbd_stats */
	__u32 dom_slot;		/* index in dom_buckets */
	struct blkqos_limits limits;		/* the VBD's own limits */
	struct blkqos_limits dom_limits;	/* its domain's (aggregate) limits */
};

/* Value of the doms map (hash, domid -> this): the domain's slot and limits. */
struct blkqos_dom {
	__u32 slot;		/* index in dom_buckets */
	__u32 nr_vbds;		/* VBDs of this domain in the vbds map */
	struct blkqos_limits limits;
};

/*
 * A VBD's turn on its domain's buckets for one direction (blkqos.bpf.c,
 * "Fair sharing"): the cost of one request is charged there in advance
 * and the turn comes when the requests in line before it are paid for.
 */
struct blkqos_turn {
	__u64 at;		/* ns when the turn comes; 0: no turn held */
	__u64 taken;		/* 1: an admitted request took it, its charge is paid */
	__u64 est_bytes;	/* the size charged for it, at least the request's */
};

/* Value of the vbd_buckets and dom_buckets arrays. */
struct blkqos_buckets {
	__u32 domid;		/* owner, for readable map dumps */
	__u32 devid;		/* owner's devid; 0xffffffff for a domain */
	struct blkqos_bucket_pair iops;
	struct blkqos_bucket_pair read_iops;
	struct blkqos_bucket_pair write_iops;
	struct blkqos_bucket_pair bps;
	struct blkqos_bucket_pair read_bps;
	struct blkqos_bucket_pair write_bps;
	struct blkqos_turn turn[2];	/* VBD scope only: reads, writes */
};

#define BLKQOS_DOM_DEVID	0xffffffffu

/*
 * A scope's six limits and its six bucket pairs are laid out in enum
 * blkqos_limit_id order, one after the other: code indexes them by id
 * through these two, and nowhere else, and the layout is checked here.
 */
#define BLKQOS_LIMIT_AT(limits, id)	(&(limits)->iops + (id))
#define BLKQOS_PAIR_AT(buckets, id)	(&(buckets)->iops + (id))

#define BLKQOS_CHECK_AT(type, elem, member, id)					\
	_Static_assert(__builtin_offsetof(type, member) ==				\
		       __builtin_offsetof(type, iops) + (id) * sizeof(elem),		\
		       #type "." #member " is not at limit id " #id)
BLKQOS_CHECK_AT(struct blkqos_limits, struct blkqos_limit, read_iops, BLKQOS_LIM_READ_IOPS);
BLKQOS_CHECK_AT(struct blkqos_limits, struct blkqos_limit, write_iops, BLKQOS_LIM_WRITE_IOPS);
BLKQOS_CHECK_AT(struct blkqos_limits, struct blkqos_limit, bps, BLKQOS_LIM_BPS);
BLKQOS_CHECK_AT(struct blkqos_limits, struct blkqos_limit, read_bps, BLKQOS_LIM_READ_BPS);
BLKQOS_CHECK_AT(struct blkqos_limits, struct blkqos_limit, write_bps, BLKQOS_LIM_WRITE_BPS);
BLKQOS_CHECK_AT(struct blkqos_buckets, struct blkqos_bucket_pair, read_iops, BLKQOS_LIM_READ_IOPS);
BLKQOS_CHECK_AT(struct blkqos_buckets, struct blkqos_bucket_pair, write_iops, BLKQOS_LIM_WRITE_IOPS);
BLKQOS_CHECK_AT(struct blkqos_buckets, struct blkqos_bucket_pair, bps, BLKQOS_LIM_BPS);
BLKQOS_CHECK_AT(struct blkqos_buckets, struct blkqos_bucket_pair, read_bps, BLKQOS_LIM_READ_BPS);
BLKQOS_CHECK_AT(struct blkqos_buckets, struct blkqos_bucket_pair, write_bps, BLKQOS_LIM_WRITE_BPS);
#undef BLKQOS_CHECK_AT

struct blkqos_kind_stats {
	__u64 ops;		/* requests dispatched */
	__u64 bytes;		/* bytes they moved (discard: its extent) */
};

/* Value of the per-CPU vbd_stats array; userspace sums the CPUs. */
struct blkqos_stats {
	__u32 domid;		/* owner, for readable map dumps */
	__u32 devid;
	struct blkqos_kind_stats read;
	struct blkqos_kind_stats write;
	struct blkqos_kind_stats flush;
	struct blkqos_kind_stats discard;
	__u64 deferrals;	/* requests parked (stock mode: bios the throttle held) */
	__u64 deferred_ns;	/* the time they spent parked (bpf mode only) */
	/*
	 * Stock mode: of the bios above, those a ring thread of the VBD
	 * submitted from outside its group (before the loader moved it), which
	 * the throttle never saw. Last, so that older fields keep their place.
	 */
	struct blkqos_kind_stats unthrottled;
};

/*
 * Value of the per-CPU vbd_hist array (by VBD slot, like vbd_stats): how
 * long the VBD's dispatched requests were held (parked by blkback, bpf mode
 * only), log2 buckets in microseconds. slot[0] counts holds under 2 us,
 * slot[i] holds of [2^i, 2^(i+1)) us, the last one holds of 2^26 us (67 s)
 * and more. Requests never held are not counted: a direction's count is its
 * deferrals. Flushes and discards are writes here, as for the limits.
 */
#define BLKQOS_HIST_SLOTS	27
#define BLKQOS_HIST_READ	0
#define BLKQOS_HIST_WRITE	1

struct blkqos_hist_dir {
	__u64 slot[BLKQOS_HIST_SLOTS];
	__u64 sum_ns;		/* the holds counted, in ns */
};

struct blkqos_hist {
	__u32 domid;		/* owner, for readable map dumps */
	__u32 devid;
	struct blkqos_hist_dir dir[2];	/* BLKQOS_HIST_READ, BLKQOS_HIST_WRITE */
};

/*
 * Stock mode (a xen-blkback without the BPF hook): the block throttle of a
 * per-VBD cgroup enforces the limits, and BPF only counts. Key of the
 * stock_groups map: the cgroup id (its directory's inode number) of a VBD's
 * group; the value says which VBD's stats the group's bios go to. Only bios
 * to the VBD's backing device count, so a stacked device (dm, md) below it
 * is not counted twice.
 */
struct blkqos_stock_group {
	__u32 slot;		/* index in vbd_stats */
	__u32 dev;		/* backing device, kernel dev_t: major << 20 | minor */
};

/*
 * Key of the stock_devs map (value: the VBD's slot in vbd_stats): a VBD's
 * backing device (as in struct blkqos_stock_group) and its domain, which a
 * ring thread's name starts with ("<domid>.<dev>-<ring>"). It says whose a
 * bio is that a ring thread submits while it is not yet in the VBD's group.
 * Two VBDs of one domain on one device share a key: the last registered
 * counts them.
 */
struct blkqos_stock_dev {
	__u32 dev;		/* kernel dev_t: major << 20 | minor */
	__u32 domid;
};

/*
 * Stock mode: a ring thread is born (the ring_births ring buffer). blkback
 * names it "<domid>.<dev>-<ring>" as it creates it, before the thread has
 * taken a request: the loader moves it into its VBD's group at once instead
 * of waiting for its next look at /proc.
 */
struct blkqos_ring_birth {
	__u32 pid;
	char comm[16];		/* TASK_COMM_LEN: what the kernel keeps of the name */
};

static inline __u32 blkqos_kdev(__u32 major, __u32 minor)
{
	return major << 20 | minor;
}

/*
 * Context of the SEC("syscall") test entry, blkqos_test. The kernel writes
 * the context back into ctx_in after the run, so results come back here.
 */
enum blkqos_test_op {
	BLKQOS_TEST_ADMIT = 0,	/* admission check only */
	BLKQOS_TEST_CHARGE,	/* charge at dispatch only */
	BLKQOS_TEST_BENCH,	/* loops admit+charge, times itself */
	BLKQOS_TEST_ADMIT_REQ,	/* admission of a ring request, as the hook does */
	BLKQOS_TEST_DISPATCH,	/* charge of a dispatch, as the tracepoint does */
	BLKQOS_TEST_BENCH_BASE,	/* the BENCH loop with one vbds lookup only: the floor */
};

struct blkqos_test_ctx {
	/* in */
	__u32 op;		/* enum blkqos_test_op */
	__u32 domid;
	__u32 devid;
	__u32 kind;		/* enum blkqos_kind */
	__u64 bytes;		/* CHARGE: the cost; ADMIT: its estimate (an upper bound) */
	__u64 now_ns;		/* synthetic clock */
	__u64 loops;		/* BENCH: iterations */
	__u64 step_ns;		/* BENCH: clock advance per iteration */
	__u64 parked_ns;	/* CHARGE, DISPATCH: time the request was parked */
	__u8 req_head[32];	/* ADMIT_REQ: a request's first bytes (Xen io/blkif.h) */
	__u32 blkif_op;		/* DISPATCH: the tracepoint's operation (BLKIF_OP_*) */
	__u64 nr_sectors;	/* DISPATCH: the tracepoint's sector count */
	/* out */
	__s64 verdict;		/* ADMIT: 1 admitted, 0 deferred; <0 error */
	__u64 wait_ns;		/* ADMIT: wait until every bucket is back at zero */
	__u64 elapsed_ns;	/* BENCH: bpf_ktime_get_ns() after - before */
	__u64 admitted;		/* BENCH: iterations admitted */
};

#endif /* BLKQOS_H */
