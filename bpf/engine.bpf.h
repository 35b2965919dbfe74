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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, struct blkqos_vbd_key);
	__type(value, struct blkqos_vbd);
} vbds SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_DOMS);
	__type(key, __u32);
	__type(value, struct blkqos_dom);
} doms SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, __u32);
	__type(value, struct blkqos_buckets);
} vbd_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BLKQOS_MAX_DOMS);
	__type(key, __u32);
	__type(value, struct blkqos_buckets);
} dom_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, __u32);
	__type(value, struct blkqos_stats);
} vbd_stats SEC(".maps");

/* Wait-time histograms of held requests, by VBD slot (include/blkqos.h). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, __u32);
	__type(value, struct blkqos_hist);
} vbd_hist SEC(".maps");

/* Stock mode: cgroup id of a VBD's group -> its stats slot and backing device. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, __u64);
	__type(value, struct blkqos_stock_group);
} stock_groups SEC(".maps");

/* Stock mode: a VBD's backing device and domain -> its stats slot (unthrottled bios). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BLKQOS_MAX_VBDS);
	__type(key, struct blkqos_stock_dev);
	__type(value, __u32);
} stock_devs SEC(".maps");

/* Stock mode: ring threads as blkback names them (struct blkqos_ring_birth). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} ring_births SEC(".maps");

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

/*
 * A bucket's level at now, without touching it (admission is read-only).
 * A bucket of an older epoch is new: it is full. last_ns and level are read
 * apart, so a concurrent charge can make this slightly off; accepted.
 */
static __always_inline __s64 bucket_level_at(const struct blkqos_bucket *b, __u64 rate,
					     __s64 size, __u64 full_ns, __u64 epoch, __u64 now)
{
	__u64 last = READ_ONCE(b->last_ns), dt;
	__s64 level = READ_ONCE(b->level);

	if (READ_ONCE(b->epoch) != epoch)
		return size;
	if (now > last) {
		dt = now - last;
		/* Past full_ns any bucket is full: the clamp keeps rate * dt in range. */
		if (dt > full_ns)
			dt = full_ns;
		level += rate * dt;
	}
	return level < size ? level : size;
}

/*
 * Put a bucket this CPU left at seen, below the floor, back on the floor.
 * Not by adding back the overshoot seen: charges landing below the floor at
 * once would each add back their own and lift the bucket above it. The
 * cmpxchg sets the floor exactly; when it fails, a later update moved the
 * level, and every update that can leave it below the floor is followed by
 * this check on its own CPU, so the last one floors it.
 */
static __always_inline void bucket_floor(struct blkqos_bucket *b, __s64 seen)
{
	__sync_val_compare_and_swap(&b->level, seen, -BLKQOS_DEBT_MAX);
}

/*
 * Bring a bucket up to now and take cost from it, as one linearizable step:
 * min(size, level + credit) - cost, floored at -BLKQOS_DEBT_MAX.
 * The CPU whose cmpxchg advances last_ns owns [last, now] and credits it, so
 * every ns is credited exactly once. Credit and cost go in with one atomic
 * add; whatever that add pushed above the size is taken back with a second
 * add computed from the add's own result, so no other CPU's update is ever
 * overwritten. A level left below the floor is set to it (bucket_floor).
 */
static __always_inline void bucket_charge(struct blkqos_bucket *b, __u64 rate, __s64 size,
					  __u64 full_ns, __u64 epoch, __u64 now, __s64 cost)
{
	__u64 seen_epoch = READ_ONCE(b->epoch), last, dt;
	__s64 credit = 0, level;

	if (seen_epoch != epoch &&
	    __sync_val_compare_and_swap(&b->epoch, seen_epoch, epoch) == seen_epoch) {
		/* A new bucket starts full. */
		WRITE_ONCE(b->last_ns, now);
		WRITE_ONCE(b->level, size - cost);
		return;
	}
	last = READ_ONCE(b->last_ns);
	level = READ_ONCE(b->level);
	if (now > last) {
		dt = now - last;
		if (dt > full_ns)
			dt = full_ns;
		credit = rate * dt;
	}
	/*
	 * Full before the cost (the common case under the limit): the credit
	 * since last_ns is void, so one cmpxchg on the level does it and
	 * last_ns just moves on. (A refill racing with this may credit that
	 * void interval once more: the overshoot accepted at the top.)
	 */
	if (level + credit >= size &&
	    __sync_val_compare_and_swap(&b->level, level, size - cost) == level) {
		if (now > last)
			WRITE_ONCE(b->last_ns, now);
		return;
	}
	/* Otherwise own the interval [last, now] to credit it exactly once. */
	credit = 0;
	last = READ_ONCE(b->last_ns);
	if (now > last && __sync_val_compare_and_swap(&b->last_ns, last, now) == last) {
		dt = now - last;
		if (dt > full_ns)
			dt = full_ns;
		credit = rate * dt;
	}
	level = __sync_fetch_and_add(&b->level, credit - cost) + credit - cost;
	/* level + cost is what the bucket held before the cost: at most size. */
	if (level + cost > size)
		level = __sync_fetch_and_add(&b->level, size - (level + cost)) +
			size - (level + cost);
	if (level < -BLKQOS_DEBT_MAX)
		bucket_floor(b, level);
}

/*
 * Take what a charge has left after its first BLKQOS_COST_MAX tokens, at
 * most that many per add: each add then stays inside the room the bounds
 * leave below the floor for charges in flight. It stops at the floor, past
 * which more cost changes nothing; BLKQOS_COST_STEPS adds in all reach it
 * from any level.
 */
static __always_inline void bucket_charge_rest(struct blkqos_bucket *b, __u64 tokens)
{
	__s64 level = READ_ONCE(b->level), cost;
	__u64 step;
	int i;

	for (i = 1; i < BLKQOS_COST_STEPS && tokens && level > -BLKQOS_DEBT_MAX; i++) {
		step = tokens < BLKQOS_COST_MAX ? tokens : BLKQOS_COST_MAX;
		tokens -= step;
		cost = (__s64)step * BLKQOS_SCALE;
		level = __sync_fetch_and_add(&b->level, -cost) - cost;
		if (level < -BLKQOS_DEBT_MAX)
			bucket_floor(b, level);
	}
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
 * Admission for one scope: the longest time until a governing bucket is
 * back at zero (every bucket counts, so the wait covers them all).
 * 0 means this scope admits the request.
 */
static __always_inline __u64 scope_admit(const struct blkqos_limits *lim,
					 const struct blkqos_buckets *bk, __u32 governing,
					 __u64 now)
{
	__u64 wait = 0, w;
	int i;

#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = BLKQOS_LIMIT_AT(lim, i);
		const struct blkqos_bucket_pair *p = BLKQOS_PAIR_AT(bk, i);
		__s64 level;

		if (!(governing & LIM(i)) || !l->rate)
			continue;
		level = bucket_level_at(&p->sustained, l->rate, l->burst * BLKQOS_SCALE,
					l->full_ns, l->epoch, now);
		w = bucket_wait(level, l->rate);
		if (w > wait)
			wait = w;
		if (!l->peak)
			continue;
		level = bucket_level_at(&p->peak, l->peak, peak_size(l), l->peak_full_ns,
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

/*
 * The part of a scope's charge beyond BLKQOS_COST_MAX tokens, after the
 * first step. Out of line: only a discard of more than 1 GiB (or a request
 * of more than 2^30 ops) gets here, and the hot path keeps its registers.
 */
static __noinline void scope_charge_rest(const struct blkqos_limits *lim,
					 struct blkqos_buckets *bk, __u32 governing,
					 __u64 ops, __u64 bytes)
{
	int i;

#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = BLKQOS_LIMIT_AT(lim, i);
		struct blkqos_bucket_pair *p = BLKQOS_PAIR_AT(bk, i);
		__u64 tokens = (LIM(i) & OPS_LIMITS) ? ops : bytes;

		if (!(governing & LIM(i)) || !l->rate || !tokens)
			continue;
		bucket_charge_rest(&p->sustained, tokens);
		if (l->peak)
			bucket_charge_rest(&p->peak, tokens);
	}
}

/* What a charge is: a request's kind and size, the limits it answers to, when. */
struct charge {
	__u64 bytes;
	__u64 now;
	__u32 governing;
	__u32 kind;
};

/* Charge one request to every governing bucket of one scope. */
static __always_inline void scope_charge(const struct blkqos_limits *lim, struct blkqos_buckets *bk,
				    const struct charge *c)
{
	__u64 ops = request_ops(c->kind, c->bytes, lim->iops_size);
	__u64 ops1 = ops < BLKQOS_COST_MAX ? ops : BLKQOS_COST_MAX;
	__u64 bytes1 = c->bytes < BLKQOS_COST_MAX ? c->bytes : BLKQOS_COST_MAX;
	__u32 governing = c->governing;
	__u64 now = c->now;
	int i;

	/* The first step of the cost (all of it, but for huge discards). */
#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = BLKQOS_LIMIT_AT(lim, i);
		struct blkqos_bucket_pair *p = BLKQOS_PAIR_AT(bk, i);
		__s64 cost = (__s64)((LIM(i) & OPS_LIMITS) ? ops1 : bytes1) * BLKQOS_SCALE;

		if (!(governing & LIM(i)) || !l->rate)
			continue;
		bucket_charge(&p->sustained, l->rate, l->burst * BLKQOS_SCALE, l->full_ns,
			      l->epoch, now, cost);
		if (l->peak)
			bucket_charge(&p->peak, l->peak, peak_size(l), l->peak_full_ns,
				      l->peak_epoch, now, cost);
	}
	if (ops > ops1 || c->bytes > bytes1)
		scope_charge_rest(lim, bk, governing, ops - ops1, c->bytes - bytes1);
}

/*
 * Give a bucket back refund nano-tokens charged in excess, up to its size.
 * What the add pushes above the size is taken back with a second add, as
 * in bucket_charge(). A bucket of another epoch is new: nothing to give.
 */
static __always_inline void bucket_refund(struct blkqos_bucket *b, __s64 size, __u64 epoch,
					  __s64 refund)
{
	__s64 level;

	if (READ_ONCE(b->epoch) != epoch)
		return;
	level = __sync_fetch_and_add(&b->level, refund) + refund;
	if (level > size)
		__sync_fetch_and_add(&b->level, size - level);
}

/*
 * A request charged est_bytes in advance (its turn) moved bytes: give each
 * governing bucket of the scope back the difference, in ops and in bytes.
 */
static __always_inline void scope_refund(const struct blkqos_limits *lim,
					 struct blkqos_buckets *bk, const struct charge *c,
					 __u64 est_bytes)
{
	__u64 est_ops = request_ops(c->kind, est_bytes, lim->iops_size);
	__u64 ops = request_ops(c->kind, c->bytes, lim->iops_size);
	int i;

	if (est_bytes <= c->bytes || est_bytes > BLKQOS_COST_MAX)
		return;
#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = BLKQOS_LIMIT_AT(lim, i);
		struct blkqos_bucket_pair *p = BLKQOS_PAIR_AT(bk, i);
		__s64 refund = (__s64)((LIM(i) & OPS_LIMITS) ? est_ops - ops :
					est_bytes - c->bytes) * BLKQOS_SCALE;

		if (!(c->governing & LIM(i)) || !l->rate || !refund)
			continue;
		bucket_refund(&p->sustained, l->burst * BLKQOS_SCALE, l->epoch, refund);
		if (l->peak)
			bucket_refund(&p->peak, peak_size(l), l->peak_epoch, refund);
	}
}

static __always_inline __u64 wait_capped(__u64 wait)
{
	return wait > BLKQOS_WAIT_MAX_NS ? BLKQOS_WAIT_MAX_NS : wait;
}

/* The turn a request of this kind waits in: reads apart from the rest. */
static __always_inline __u32 turn_index(__u32 kind)
{
	return kind != BLKQOS_KIND_READ;
}

/* Whether any governing limit of a scope is set. */
static __always_inline bool scope_limited(const struct blkqos_limits *lim, __u32 governing)
{
	int i;

#pragma unroll
	for (i = 0; i < BLKQOS_NR_LIMITS; i++)
		if ((governing & LIM(i)) && BLKQOS_LIMIT_AT(lim, i)->rate)
			return true;
	return false;
}

#define TURN_GONE	(~0ULL)

/*
 * Offer a request, which its own VBD admits, to the turn its VBD holds at
 * at: the wait until it comes, or 0 when it has come and this request took
 * it (its domain charge is paid: blkqos_charge skips it). TURN_GONE when
 * another ring of the VBD took it first: the levels decide.
 */
static __always_inline __u64 turn_offer(struct blkqos_turn *t, __u64 at, __u64 now)
{
	if (at > now)
		return at - now;
	if (__sync_val_compare_and_swap(&t->at, at, 0) != at)
		return TURN_GONE;
	WRITE_ONCE(t->taken, 1);
	return 0;
}

/*
 * The VBD admits a request that its domain refuses for wait ns: take the
 * VBD's next turn there. The request's estimated cost (an upper bound) is
 * charged to the domain's buckets now, so whoever is refused there next
 * waits for this one too; this turn comes when the debt before it is paid,
 * after wait. If another ring of the VBD took a turn meanwhile, that one
 * stands for both.
 */
static __always_inline __u64 turn_take(const struct blkqos_vbd *v, struct blkqos_buckets *dbk,
				       struct blkqos_turn *t, __u32 governing, __u32 kind,
				       __u64 est_bytes, __u64 now, __u64 wait)
{
	struct charge c = { .bytes = est_bytes, .now = now, .governing = governing, .kind = kind };
	__u64 at = now + wait;

	if (__sync_val_compare_and_swap(&t->at, 0, at) != 0) {
		at = READ_ONCE(t->at);
		return at > now ? at - now : wait;
	}
	WRITE_ONCE(t->est_bytes, est_bytes);
	scope_charge(&v->dom_limits, dbk, &c);
	return wait;
}

/*
 * May a request of this kind to this VBD be dispatched at now? est_bytes
 * is an upper bound of its size (blkback knows the exact one at dispatch).
 * Returns 0 to dispatch, otherwise the ns to wait (at most BLKQOS_WAIT_MAX_NS)
 * before asking again. A VBD the loader has not registered is not limited.
 * The VBD's own buckets decide first; a request they admit goes on to the
 * domain's, where a refusal takes a turn (see "Fair sharing" at the top).
 */
static __always_inline __u64 blkqos_admit(const struct blkqos_vbd_key *key, __u32 kind,
					  __u64 est_bytes, __u64 now)
{
	const struct blkqos_vbd *v = bpf_map_lookup_elem(&vbds, key);
	struct blkqos_buckets *vbk, *dbk;
	struct blkqos_turn *t;
	__u32 governing, slot;
	__u64 wait, at;

	if (!v)
		return 0;
	governing = governing_limits(kind, v->limits.flush_mode, v->limits.discard_mode);
	slot = v->slot;
	vbk = bpf_map_lookup_elem(&vbd_buckets, &slot);
	slot = v->dom_slot;
	dbk = bpf_map_lookup_elem(&dom_buckets, &slot);
	if (!vbk || !dbk)
		return 0;
	wait = scope_admit(&v->limits, vbk, governing, now);
	if (wait)
		return wait_capped(wait);
	t = &vbk->turn[turn_index(kind)];
	at = READ_ONCE(t->at);
	if (at && scope_limited(&v->dom_limits, governing)) {
		wait = turn_offer(t, at, now);
		if (wait != TURN_GONE)
			return wait_capped(wait);
	}
	wait = scope_admit(&v->dom_limits, dbk, governing, now);
	if (!wait)
		return 0;
	return wait_capped(turn_take(v, dbk, t, governing, kind, est_bytes, now, wait));
}

/*
 * Whether the domain charge of a request of this kind was paid with its
 * turn; if so, *est_bytes is the size it was charged for.
 */
static __always_inline bool turn_paid(struct blkqos_buckets *vbk, __u32 kind, __u64 *est_bytes)
{
	struct blkqos_turn *t = &vbk->turn[turn_index(kind)];

	if (!READ_ONCE(t->taken) || __sync_val_compare_and_swap(&t->taken, 1, 0) != 1)
		return false;
	*est_bytes = READ_ONCE(t->est_bytes);
	return true;
}

/*
 * The histogram slot of a hold of ns: floor(log2(us)), 0 under 2 us, the
 * last slot from 2^(BLKQOS_HIST_SLOTS - 1) us on.
 */
static __always_inline __u32 hist_slot(__u64 ns)
{
	__u64 us = ns / 1000;
	__u32 s = 0;

	if (us >> 32) {
		s += 32;
		us >>= 32;
	}
	if (us >> 16) {
		s += 16;
		us >>= 16;
	}
	if (us >> 8) {
		s += 8;
		us >>= 8;
	}
	if (us >> 4) {
		s += 4;
		us >>= 4;
	}
	if (us >> 2) {
		s += 2;
		us >>= 2;
	}
	if (us >> 1)
		s += 1;
	return s < BLKQOS_HIST_SLOTS ? s : BLKQOS_HIST_SLOTS - 1;
}

/* Count a request held parked_ns (> 0) in its VBD's wait-time histogram. */
static __always_inline void hist_record(__u32 slot, __u32 kind, __u64 parked_ns)
{
	struct blkqos_hist *h = bpf_map_lookup_elem(&vbd_hist, &slot);
	struct blkqos_hist_dir *d;
	__u32 i;

	if (!h)
		return;
	d = &h->dir[kind == BLKQOS_KIND_READ ? BLKQOS_HIST_READ : BLKQOS_HIST_WRITE];
	i = hist_slot(parked_ns);
	if (i < BLKQOS_HIST_SLOTS)	/* for the verifier */
		d->slot[i]++;
	d->sum_ns += parked_ns;
}

/*
 * Charge a dispatched request's exact cost and count it; parked_ns is how
 * long blkback kept it parked (0: never), so a request counts as deferred
 * once, with its whole wait, however many offers it took (and once in its
 * wait-time histogram).
 */
static __always_inline void blkqos_charge(const struct blkqos_vbd_key *key, __u32 kind,
					  __u64 bytes, __u64 parked_ns, __u64 now)
{
	const struct blkqos_vbd *v = bpf_map_lookup_elem(&vbds, key);
	struct charge c = { .bytes = bytes, .now = now, .kind = kind };
	struct blkqos_kind_stats *ks;
	__u64 est_bytes;
	struct blkqos_buckets *vbk, *dbk;
	struct blkqos_stats *st;
	__u32 slot;

	if (!v || kind >= BLKQOS_NR_KINDS)
		return;
	c.governing = governing_limits(kind, v->limits.flush_mode, v->limits.discard_mode);
	slot = v->slot;
	vbk = bpf_map_lookup_elem(&vbd_buckets, &slot);
	if (!vbk)
		return;
	scope_charge(&v->limits, vbk, &c);
	slot = v->dom_slot;
	dbk = bpf_map_lookup_elem(&dom_buckets, &slot);
	if (dbk) {
		if (!turn_paid(vbk, kind, &est_bytes))
			scope_charge(&v->dom_limits, dbk, &c);
		else
			scope_refund(&v->dom_limits, dbk, &c, est_bytes);
	}
	slot = v->slot;
	st = bpf_map_lookup_elem(&vbd_stats, &slot);
	if (st) {
		ks = &st->read + kind;
		ks->ops++;
		ks->bytes += bytes;
		if (parked_ns) {
			st->deferrals++;
			st->deferred_ns += parked_ns;
			hist_record(slot, kind, parked_ns);
		}
	}
}

#endif /* BLKQOS_ENGINE_BPF_H */
