/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The token-bucket engine: maps and always-inline code shared by the
 * production programs and the syscall test entry in blkqos.bpf.c.
 * The algorithm, units and accepted races are described at the top of
 * blkqos.bpf.c.
 */
#ifndef BLKQOS_ENGINE_BPF_H
#define BLKQOS_ENGINE_BPF_H

#include "blkqos.h"

#ifndef READ_ONCE
#define READ_ONCE(x)		(*(volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v)	(*(volatile typeof(x) *)&(x) = (v))
#endif

/* Retries of a clamping cmpxchg; each failure means another CPU moved the level. */
#define CLAMP_TRIES		4

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, struct blkqos_vbd_key);
	__type(value, struct blkqos_limits);
} vbd_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, struct blkqos_vbd_key);
	__type(value, struct blkqos_buckets);
} vbd_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, struct blkqos_vbd_key);
	__type(value, struct blkqos_stats);
} vbd_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_DOMS);
	__type(key, __u32);
	__type(value, struct blkqos_limits);
} dom_limits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_DOMS);
	__type(key, __u32);
	__type(value, struct blkqos_buckets);
} dom_buckets SEC(".maps");

/* Bit i set: the limit with enum blkqos_limit_id i governs the request. */
#define LIM(id)		(1u << (id))
#define READ_LIMITS	(LIM(BLKQOS_LIM_IOPS) | LIM(BLKQOS_LIM_READ_IOPS) | \
			 LIM(BLKQOS_LIM_BPS) | LIM(BLKQOS_LIM_READ_BPS))
#define WRITE_LIMITS	(LIM(BLKQOS_LIM_IOPS) | LIM(BLKQOS_LIM_WRITE_IOPS) | \
			 LIM(BLKQOS_LIM_BPS) | LIM(BLKQOS_LIM_WRITE_BPS))
#define WRITE_OP_LIMITS	(LIM(BLKQOS_LIM_IOPS) | LIM(BLKQOS_LIM_WRITE_IOPS))
#define OPS_LIMITS	(LIM(BLKQOS_LIM_IOPS) | LIM(BLKQOS_LIM_READ_IOPS) | \
			 LIM(BLKQOS_LIM_WRITE_IOPS))

/* Which limits govern a request of this kind, given the VBD's charging modes. */
static __always_inline __u32 governing_limits(__u32 kind, __u32 flush_mode, __u32 discard_mode)
{
	switch (kind) {
	case BLKQOS_KIND_READ:
		return READ_LIMITS;
	case BLKQOS_KIND_WRITE:
		return WRITE_LIMITS;
	case BLKQOS_KIND_FLUSH:
		return flush_mode == BLKQOS_FLUSH_EXEMPT ? 0 : WRITE_OP_LIMITS;
	case BLKQOS_KIND_DISCARD:
		if (discard_mode == BLKQOS_DISCARD_EXEMPT)
			return 0;
		return discard_mode == BLKQOS_DISCARD_BYTES ? WRITE_LIMITS : WRITE_OP_LIMITS;
	}
	return 0;
}

/* Lower the level to size unless another CPU already moved it below. */
static __always_inline void bucket_clamp_high(struct blkqos_bucket *b, __s64 seen, __s64 size)
{
	int i;

	for (i = 0; i < CLAMP_TRIES && seen > size; i++) {
		__s64 old = __sync_val_compare_and_swap(&b->level, seen, size);

		if (old == seen)
			return;
		seen = old;
	}
}

/* Raise the level to the debt floor unless another CPU already raised it. */
static __always_inline void bucket_clamp_low(struct blkqos_bucket *b, __s64 seen)
{
	int i;

	for (i = 0; i < CLAMP_TRIES && seen < -BLKQOS_DEBT_MAX; i++) {
		__s64 old = __sync_val_compare_and_swap(&b->level, seen, -BLKQOS_DEBT_MAX);

		if (old == seen)
			return;
		seen = old;
	}
}

/*
 * Bring a bucket up to now and return its level. The CPU whose cmpxchg moves
 * last_ns forward owns the interval [last, now] and credits it exactly once;
 * a CPU that loses leaves the credit to the winner (no interval is lost, it
 * is credited by whoever advanced last_ns over it).
 */
static __always_inline __s64 bucket_refill(struct blkqos_bucket *b, __u64 rate, __s64 size,
					   __u64 full_ns, __u64 epoch, __u64 now)
{
	__u64 seen_epoch = READ_ONCE(b->epoch);
	__u64 last;
	__s64 level;

	if (seen_epoch != epoch &&
	    __sync_val_compare_and_swap(&b->epoch, seen_epoch, epoch) == seen_epoch) {
		/* A new bucket starts full. */
		WRITE_ONCE(b->level, size);
		WRITE_ONCE(b->last_ns, now);
		return size;
	}

	last = READ_ONCE(b->last_ns);
	if (now > last && __sync_val_compare_and_swap(&b->last_ns, last, now) == last) {
		__u64 dt = now - last;
		__s64 add;

		/* Past full_ns any bucket is full: the clamp keeps rate * dt in range. */
		if (dt > full_ns)
			dt = full_ns;
		add = rate * dt;
		level = __sync_fetch_and_add(&b->level, add) + add;
	} else {
		level = READ_ONCE(b->level);
	}
	/* Also clamps a level left above a lowered size by a live change. */
	if (level > size) {
		bucket_clamp_high(b, level, size);
		level = size;
	}
	return level;
}

static __always_inline void bucket_debit(struct blkqos_bucket *b, __s64 cost)
{
	__s64 level = __sync_fetch_and_add(&b->level, -cost) - cost;

	if (level < -BLKQOS_DEBT_MAX)
		bucket_clamp_low(b, level);
}

static __always_inline __u64 div_round_up_u64(__u64 n, __u64 d)
{
	return n / d + (n % d != 0);
}

/* ns until a bucket refilling at rate tokens/s is back from level to zero. */
static __always_inline __u64 bucket_wait(__s64 level, __u64 rate)
{
	return level < 0 ? div_round_up_u64((__u64)-level, rate) : 0;
}

static __always_inline __s64 peak_size(const struct blkqos_limit *lim)
{
	return lim->peak * BLKQOS_PEAK_WINDOW_NS;
}

/*
 * Admission for one scope: refill every governing bucket (all of them, so
 * the wait covers every bucket) and report the longest time until one of
 * them is back at zero. Returns that wait; 0 means admitted by this scope.
 */
static __always_inline __u64 scope_admit(const struct blkqos_limits *lim,
					 struct blkqos_buckets *bk, __u32 governing, __u64 now)
{
	__u64 wait = 0, w;
	int i;

#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = &lim->iops + i;
		struct blkqos_bucket_pair *p = &bk->iops + i;
		__s64 level;

		if (!(governing & LIM(i)) || !l->rate)
			continue;
		level = bucket_refill(&p->sustained, l->rate, l->burst * BLKQOS_SCALE,
				      l->full_ns, l->epoch, now);
		w = bucket_wait(level, l->rate);
		if (w > wait)
			wait = w;
		if (!l->peak)
			continue;
		level = bucket_refill(&p->peak, l->peak, peak_size(l), l->peak_full_ns,
				      l->peak_epoch, now);
		w = bucket_wait(level, l->peak);
		if (w > wait)
			wait = w;
	}
	return wait;
}

/* Operations a request counts as in a scope with this iops_size. */
static __always_inline __u64 request_ops(__u32 kind, __u64 bytes, __u64 iops_size)
{
	if (iops_size && bytes > iops_size &&
	    (kind == BLKQOS_KIND_READ || kind == BLKQOS_KIND_WRITE))
		return div_round_up_u64(bytes, iops_size);
	return 1;
}

/* Charge one dispatched request to every governing bucket of one scope. */
static __always_inline void scope_charge(const struct blkqos_limits *lim,
					 struct blkqos_buckets *bk, __u32 governing,
					 __u32 kind, __u64 bytes, __u64 now)
{
	__u64 ops = request_ops(kind, bytes, lim->iops_size);
	int i;

	if (ops > BLKQOS_COST_MAX)
		ops = BLKQOS_COST_MAX;
	if (bytes > BLKQOS_COST_MAX)
		bytes = BLKQOS_COST_MAX;

#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = &lim->iops + i;
		struct blkqos_bucket_pair *p = &bk->iops + i;
		__s64 cost = (__s64)((LIM(i) & OPS_LIMITS) ? ops : bytes) * BLKQOS_SCALE;

		if (!(governing & LIM(i)) || !l->rate)
			continue;
		/* Refill first: a full bucket must not bank the time before the charge. */
		bucket_refill(&p->sustained, l->rate, l->burst * BLKQOS_SCALE, l->full_ns,
			      l->epoch, now);
		bucket_debit(&p->sustained, cost);
		if (!l->peak)
			continue;
		bucket_refill(&p->peak, l->peak, peak_size(l), l->peak_full_ns,
			      l->peak_epoch, now);
		bucket_debit(&p->peak, cost);
	}
}

/* The bucket state of a limited scope, created zeroed (epoch 0 = not yet set up). */
static __always_inline struct blkqos_buckets *buckets_get(void *map, const void *key)
{
	struct blkqos_buckets *bk = bpf_map_lookup_elem(map, key);
	static const struct blkqos_buckets zero;

	if (bk)
		return bk;
	bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static __always_inline struct blkqos_stats *stats_get(const struct blkqos_vbd_key *key)
{
	struct blkqos_stats *st = bpf_map_lookup_elem(&vbd_stats, key);
	static const struct blkqos_stats zero;

	if (st)
		return st;
	bpf_map_update_elem(&vbd_stats, key, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&vbd_stats, key);
}

/*
 * May a request of this kind to this VBD be dispatched at now?
 * Returns 0 to dispatch, otherwise the ns to wait (at most BLKQOS_WAIT_MAX_NS)
 * before asking again.
 */
static __always_inline __u64 blkqos_admit(const struct blkqos_vbd_key *key, __u32 kind, __u64 now)
{
	const struct blkqos_limits *vl = bpf_map_lookup_elem(&vbd_limits, key);
	__u32 domid = key->domid, flush_mode = 0, discard_mode = 0;
	const struct blkqos_limits *dl;
	struct blkqos_buckets *bk;
	struct blkqos_stats *st;
	__u64 wait = 0, w;

	if (vl) {
		flush_mode = vl->flush_mode;
		discard_mode = vl->discard_mode;
		bk = buckets_get(&vbd_buckets, key);
		if (bk)
			wait = scope_admit(vl, bk, governing_limits(kind, flush_mode, discard_mode), now);
	}
	dl = bpf_map_lookup_elem(&dom_limits, &domid);
	if (dl) {
		bk = buckets_get(&dom_buckets, &domid);
		if (bk) {
			w = scope_admit(dl, bk, governing_limits(kind, flush_mode, discard_mode), now);
			if (w > wait)
				wait = w;
		}
	}
	if (!wait)
		return 0;
	if (wait > BLKQOS_WAIT_MAX_NS)
		wait = BLKQOS_WAIT_MAX_NS;
	st = stats_get(key);
	if (st) {
		st->deferrals++;
		st->deferred_ns += wait;
	}
	return wait;
}

/* Charge a dispatched request's exact cost and count it. */
static __always_inline void blkqos_charge(const struct blkqos_vbd_key *key, __u32 kind,
					  __u64 bytes, __u64 now)
{
	const struct blkqos_limits *vl = bpf_map_lookup_elem(&vbd_limits, key);
	__u32 domid = key->domid, flush_mode = 0, discard_mode = 0;
	const struct blkqos_limits *dl;
	struct blkqos_kind_stats *ks;
	struct blkqos_buckets *bk;
	struct blkqos_stats *st;

	if (kind >= BLKQOS_NR_KINDS)
		return;
	if (vl) {
		flush_mode = vl->flush_mode;
		discard_mode = vl->discard_mode;
		bk = buckets_get(&vbd_buckets, key);
		if (bk)
			scope_charge(vl, bk, governing_limits(kind, flush_mode, discard_mode),
				     kind, bytes, now);
	}
	dl = bpf_map_lookup_elem(&dom_limits, &domid);
	if (dl) {
		bk = buckets_get(&dom_buckets, &domid);
		if (bk)
			scope_charge(dl, bk, governing_limits(kind, flush_mode, discard_mode),
				     kind, bytes, now);
	}
	st = stats_get(key);
	if (st) {
		ks = &st->read + kind;
		ks->ops++;
		ks->bytes += bytes;
	}
}

#endif /* BLKQOS_ENGINE_BPF_H */
