// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "refmodel.h"

void ref_init(struct ref_model *m)
{
	memset(m, 0, sizeof(*m));
}

static struct ref_scope *find(struct ref_scope *tab, __u32 domid, __u32 devid, bool create)
{
	struct ref_scope *spare = NULL;
	int i;

	for (i = 0; i < REF_MAX_SCOPES; i++) {
		if (tab[i].used && tab[i].domid == domid && tab[i].devid == devid)
			return &tab[i];
		if (!tab[i].used && !spare)
			spare = &tab[i];
	}
	if (!create || !spare)
		return NULL;
	memset(spare, 0, sizeof(*spare));
	spare->used = true;
	spare->domid = domid;
	spare->devid = devid;
	return spare;
}

static const struct blkqos_limit *limit_of(const struct blkqos_limits *l, int i)
{
	const struct blkqos_limit *all[BLKQOS_NR_LIMITS] = {
		&l->iops, &l->read_iops, &l->write_iops, &l->bps, &l->read_bps, &l->write_bps,
	};
	return all[i];
}

static void set_scope(struct ref_scope *s, const struct blkqos_limits *l)
{
	int i;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *now = l ? limit_of(l, i) : NULL;
		const struct blkqos_limit *was = s->limited ? limit_of(&s->cfg, i) : NULL;
		bool now_on = now && now->rate, was_on = was && was->rate;

		/* A limit that appears is a new bucket; one that stays keeps its level. */
		if (now_on && !was_on)
			s->sustained[i].fresh = true;
		if (now_on && now->peak && !(was_on && was->peak))
			s->peak[i].fresh = true;
	}
	s->limited = l != NULL;
	if (l)
		s->cfg = *l;
	else
		memset(&s->cfg, 0, sizeof(s->cfg));
}

void ref_set_vbd(struct ref_model *m, __u32 domid, __u32 devid, const struct blkqos_limits *l)
{
	set_scope(find(m->vbd, domid, devid, true), l);
}

void ref_set_dom(struct ref_model *m, __u32 domid, const struct blkqos_limits *l)
{
	set_scope(find(m->dom, domid, 0, true), l);
}

/* Which limits a request of this kind answers to. */
static bool governs(int limit, __u32 kind, __u32 flush_mode, __u32 discard_mode)
{
	bool is_bytes = limit >= BLKQOS_LIM_BPS;
	int dir = limit % 3;	/* 0 total, 1 read, 2 write */

	if (kind == BLKQOS_KIND_READ)
		return dir != 2;
	if (kind == BLKQOS_KIND_WRITE)
		return dir != 1;
	if (kind == BLKQOS_KIND_FLUSH)
		return flush_mode != BLKQOS_FLUSH_EXEMPT && dir != 1 && !is_bytes;
	if (kind == BLKQOS_KIND_DISCARD) {
		if (discard_mode == BLKQOS_DISCARD_EXEMPT || dir == 1)
			return false;
		return !is_bytes || discard_mode == BLKQOS_DISCARD_BYTES;
	}
	return false;
}

static void bring_up_to_date(struct ref_bucket *b, __u64 rate, __int128 size, __u64 now)
{
	if (b->fresh) {
		b->fresh = false;
		b->level = size;
		b->last = now;
		return;
	}
	if (now > b->last) {
		b->level += (__int128)rate * (__int128)(now - b->last);
		b->last = now;
	}
	if (b->level > size)
		b->level = size;
}

/* Admission looks without touching: a new bucket is full until its first charge. */
static __int128 level_seen(const struct ref_bucket *b, __u64 rate, __int128 size, __u64 now)
{
	__int128 level;

	if (b->fresh)
		return size;
	level = b->level;
	if (now > b->last)
		level += (__int128)rate * (__int128)(now - b->last);
	return level < size ? level : size;
}

static __int128 sustained_size(const struct blkqos_limit *l)
{
	return (__int128)l->burst * 1000000000;
}

static __int128 peak_bucket_size(const struct blkqos_limit *l)
{
	return (__int128)l->peak * BLKQOS_PEAK_WINDOW_NS;
}

static __u64 time_to_zero(__int128 level, __u64 rate)
{
	if (level >= 0)
		return 0;
	return (__u64)((-level + rate - 1) / rate);
}

static __u64 scope_wait(struct ref_scope *s, __u32 kind, __u32 fm, __u32 dm, __u64 now)
{
	__u64 wait = 0, w;
	int i;

	if (!s || !s->limited)
		return 0;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = limit_of(&s->cfg, i);

		if (!l->rate || !governs(i, kind, fm, dm))
			continue;
		w = time_to_zero(level_seen(&s->sustained[i], l->rate, sustained_size(l), now),
				 l->rate);
		wait = w > wait ? w : wait;
		if (l->peak) {
			w = time_to_zero(level_seen(&s->peak[i], l->peak, peak_bucket_size(l), now),
					 l->peak);
			wait = w > wait ? w : wait;
		}
	}
	return wait;
}

static void modes(struct ref_model *m, __u32 domid, __u32 devid, __u32 *fm, __u32 *dm)
{
	struct ref_scope *v = find(m->vbd, domid, devid, false);

	*fm = v && v->limited ? v->cfg.flush_mode : 0;
	*dm = v && v->limited ? v->cfg.discard_mode : 0;
}

static struct blkqos_stats *stats_of(struct ref_model *m, __u32 domid, __u32 devid)
{
	return &find(m->vbd, domid, devid, true)->stats;
}

static __u64 capped(__u64 wait)
{
	return wait > BLKQOS_WAIT_MAX_NS ? BLKQOS_WAIT_MAX_NS : wait;
}

static bool scope_governs(const struct ref_scope *s, __u32 kind, __u32 fm, __u32 dm)
{
	int i;

	if (!s || !s->limited)
		return false;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++)
		if (limit_of(&s->cfg, i)->rate && governs(i, kind, fm, dm))
			return true;
	return false;
}

static void scope_pay(struct ref_scope *s, __u32 kind, __u64 bytes, __u32 fm, __u32 dm, __u64 now);

/*
 * The VBD's own limits first; then its turn on the domain, if it holds one
 * (wait for it, or take it once it has come); else the domain's levels,
 * where a refusal takes the turn and pays the estimate at once.
 */
__u64 ref_admit(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 est_bytes,
		__u64 now)
{
	struct ref_scope *v = find(m->vbd, domid, devid, true);
	struct ref_scope *d = find(m->dom, domid, 0, false);
	int dir = kind != BLKQOS_KIND_READ;
	__u32 fm, dm;
	__u64 wait;

	modes(m, domid, devid, &fm, &dm);
	wait = scope_wait(v, kind, fm, dm, now);
	if (wait)
		return capped(wait);
	if (v->turn_at[dir] && scope_governs(d, kind, fm, dm)) {
		if (v->turn_at[dir] > now)
			return capped(v->turn_at[dir] - now);
		v->turn_at[dir] = 0;
		v->turn_taken[dir] = true;
		return 0;
	}
	wait = scope_wait(d, kind, fm, dm, now);
	if (!wait)
		return 0;
	if (!v->turn_at[dir]) {
		v->turn_at[dir] = now + wait;
		v->turn_est[dir] = est_bytes;
		scope_pay(d, kind, est_bytes, fm, dm, now);
	} else if (v->turn_at[dir] > now) {
		wait = v->turn_at[dir] - now;
	}
	return capped(wait);
}

static void scope_pay(struct ref_scope *s, __u32 kind, __u64 bytes, __u32 fm, __u32 dm, __u64 now)
{
	unsigned __int128 ops = 1;
	int i;

	if (!s || !s->limited)
		return;
	if ((kind == BLKQOS_KIND_READ || kind == BLKQOS_KIND_WRITE) && s->cfg.iops_size &&
	    bytes > s->cfg.iops_size)
		ops = (bytes + (unsigned __int128)s->cfg.iops_size - 1) / s->cfg.iops_size;
	/* The whole cost, however large: the floor below bounds the debt. */
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = limit_of(&s->cfg, i);
		__int128 cost = (__int128)(i >= BLKQOS_LIM_BPS ? bytes : (__u64)ops) * 1000000000;

		if (!l->rate || !governs(i, kind, fm, dm))
			continue;
		bring_up_to_date(&s->sustained[i], l->rate, sustained_size(l), now);
		s->sustained[i].level -= cost;
		if (s->sustained[i].level < -BLKQOS_DEBT_MAX)
			s->sustained[i].level = -BLKQOS_DEBT_MAX;
		if (l->peak) {
			bring_up_to_date(&s->peak[i], l->peak, peak_bucket_size(l), now);
			s->peak[i].level -= cost;
			if (s->peak[i].level < -BLKQOS_DEBT_MAX)
				s->peak[i].level = -BLKQOS_DEBT_MAX;
		}
	}
}

static unsigned __int128 ops_of(const struct ref_scope *s, __u32 kind, __u64 bytes)
{
	if ((kind == BLKQOS_KIND_READ || kind == BLKQOS_KIND_WRITE) && s->cfg.iops_size &&
	    bytes > s->cfg.iops_size)
		return (bytes + (unsigned __int128)s->cfg.iops_size - 1) / s->cfg.iops_size;
	return 1;
}

static void refund_one(struct ref_bucket *b, __int128 size, __int128 refund)
{
	if (b->fresh || !refund)
		return;
	b->level += refund;
	if (b->level > size)
		b->level = size;
}

/* A request paid est in advance moved bytes: the difference goes back. */
static void scope_refund(struct ref_scope *s, __u32 kind, __u64 est, __u64 bytes, __u32 fm,
			 __u32 dm)
{
	int i;

	if (!s || !s->limited || est <= bytes || est > BLKQOS_COST_MAX)
		return;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = limit_of(&s->cfg, i);
		__int128 refund = (__int128)(i >= BLKQOS_LIM_BPS ? est - bytes :
					     (__u64)(ops_of(s, kind, est) - ops_of(s, kind, bytes))) *
				  1000000000;

		if (!l->rate || !governs(i, kind, fm, dm))
			continue;
		refund_one(&s->sustained[i], sustained_size(l), refund);
		if (l->peak)
			refund_one(&s->peak[i], peak_bucket_size(l), refund);
	}
}

void ref_charge(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes, __u64 now)
{
	struct ref_scope *v = find(m->vbd, domid, devid, true);
	int dir = kind != BLKQOS_KIND_READ;
	struct blkqos_kind_stats *ks;
	__u32 fm, dm;

	modes(m, domid, devid, &fm, &dm);
	scope_pay(v, kind, bytes, fm, dm, now);
	/* A request that took a turn paid its domain charge with it. */
	if (v->turn_taken[dir]) {
		v->turn_taken[dir] = false;
		scope_refund(find(m->dom, domid, 0, false), kind, v->turn_est[dir], bytes, fm, dm);
	} else
		scope_pay(find(m->dom, domid, 0, false), kind, bytes, fm, dm, now);
	ks = &v->stats.read + kind;
	ks->ops++;
	ks->bytes += bytes;
}

bool ref_level(struct ref_model *m, bool domain, __u32 domid, __u32 devid, int limit, bool peak,
	       long long *level)
{
	struct ref_scope *s = domain ? find(m->dom, domid, 0, false) :
				       find(m->vbd, domid, devid, false);
	const struct ref_bucket *b;
	const struct blkqos_limit *l;

	if (!s || !s->limited)
		return false;
	l = limit_of(&s->cfg, limit);
	if (!l->rate || (peak && !l->peak))
		return false;
	b = peak ? &s->peak[limit] : &s->sustained[limit];
	if (b->fresh || b->last == 0)
		return false;
	*level = (long long)b->level;
	return true;
}

const struct ref_scope *ref_vbd(struct ref_model *m, __u32 domid, __u32 devid)
{
	return find(m->vbd, domid, devid, false);
}

const struct blkqos_stats *ref_stats(struct ref_model *m, __u32 domid, __u32 devid)
{
	return stats_of(m, domid, devid);
}
