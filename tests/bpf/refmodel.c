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
		/* A new bucket: full, and nobody waits on it. */
		b->fresh = false;
		b->level = size;
		b->last = now;
		b->tail = 0;
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

/* Any governing bucket of a scope whose queue reaches past now (someone waits). */
static bool scope_queued(struct ref_scope *s, __u32 kind, __u32 fm, __u32 dm, __u64 now)
{
	int i;

	if (!s || !s->limited)
		return false;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *l = limit_of(&s->cfg, i);

		if (!l->rate || !governs(i, kind, fm, dm))
			continue;
		if (s->sustained[i].tail > now || (l->peak && s->peak[i].tail > now))
			return true;
	}
	return false;
}

static struct ref_waiter *waiter_find(struct ref_model *m, __u64 id)
{
	for (int i = 0; i < REF_MAX_WAITERS; i++)
		if (m->waiter[i].used && m->waiter[i].id == id)
			return &m->waiter[i];
	return NULL;
}

/* What a waiter pays in a bucket: its estimated tokens, at least one. */
static unsigned __int128 est_tokens(const struct blkqos_limits *cfg, int limit, __u32 kind,
				    __u64 bytes)
{
	unsigned __int128 t = bytes;

	if (limit < BLKQOS_LIM_BPS) {
		t = 1;
		if ((kind == BLKQOS_KIND_READ || kind == BLKQOS_KIND_WRITE) && cfg->iops_size &&
		    bytes > cfg->iops_size)
			t = (bytes + (unsigned __int128)cfg->iops_size - 1) / cfg->iops_size;
	}
	/* As one charge step: BLKQOS_COST_MAX at most. */
	if (t > BLKQOS_COST_MAX)
		t = BLKQOS_COST_MAX;
	return t ? t : 1;
}

/*
 * A bucket's say for a waiter not holding a slot on it: nothing when its
 * level admits and nobody waits; otherwise the next slot, at its zero
 * point or the end of the queue, whichever is later (146 years ahead at
 * most), lasting what the rate takes to earn the estimate.
 */
static void bucket_take_slot(struct ref_bucket *b, __u64 rate, __int128 size,
			     unsigned __int128 tokens, __u64 now, bool *held,
			     unsigned __int128 *until)
{
	unsigned __int128 zero, tail = b->fresh ? 0 : b->tail, slot, horizon;
	__u64 wait;

	if (*held)
		return;
	wait = time_to_zero(level_seen(b, rate, size, now), rate);
	if (!wait && tail <= now)
		return;
	zero = (unsigned __int128)now + wait;
	horizon = (unsigned __int128)now + BLKQOS_QUEUE_HORIZON_NS;
	slot = tail > zero ? tail : zero;
	if (slot > horizon)
		slot = horizon;
	b->tail = slot + (tokens * 1000000000 + rate - 1) / rate;
	*held = true;
	if (slot > *until)
		*until = slot;
}

__u64 ref_admit_waiter(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
		       __u64 waiter, __u64 now)
{
	struct ref_scope *sc[2] = { find(m->vbd, domid, devid, false), find(m->dom, domid, 0, false) };
	struct ref_waiter *w, fresh = { 0 };
	__u32 fm, dm;
	__u64 a, b, wait;
	bool queued;

	modes(m, domid, devid, &fm, &dm);
	a = scope_wait(sc[0], kind, fm, dm, now);
	b = scope_wait(sc[1], kind, fm, dm, now);
	wait = a > b ? a : b;
	queued = scope_queued(sc[0], kind, fm, dm, now) || scope_queued(sc[1], kind, fm, dm, now);
	if (waiter && (wait || queued)) {
		w = waiter_find(m, waiter);
		/* A record of another VBD holds nothing here. */
		if (w && w->domid == domid && w->devid == devid)
			fresh = *w;
		fresh.used = true;
		fresh.id = waiter;
		fresh.domid = domid;
		fresh.devid = devid;
		for (int d = 0; d < 2; d++) {
			struct ref_scope *s = sc[d];

			if (!s || !s->limited)
				continue;
			for (int i = 0; i < BLKQOS_NR_LIMITS; i++) {
				const struct blkqos_limit *l = limit_of(&s->cfg, i);
				unsigned __int128 t = est_tokens(&s->cfg, i, kind, bytes);

				if (!l->rate || !governs(i, kind, fm, dm))
					continue;
				bucket_take_slot(&s->sustained[i], l->rate, sustained_size(l), t, now,
						 &fresh.held[d][i][0], &fresh.until);
				if (l->peak)
					bucket_take_slot(&s->peak[i], l->peak, peak_bucket_size(l), t,
							 now, &fresh.held[d][i][1], &fresh.until);
			}
		}
		if (fresh.until <= now) {
			if (w)
				w->used = false;
			return 0;
		}
		if (!w)
			for (int i = 0; i < REF_MAX_WAITERS && !w; i++)
				if (!m->waiter[i].used)
					w = &m->waiter[i];
		if (w)
			*w = fresh;
		wait = fresh.until - now > BLKQOS_WAIT_MAX_NS ? BLKQOS_WAIT_MAX_NS :
								(__u64)(fresh.until - now);
		return wait;
	}
	return wait > BLKQOS_WAIT_MAX_NS ? BLKQOS_WAIT_MAX_NS : wait;
}

__u64 ref_admit(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 now)
{
	return ref_admit_waiter(m, domid, devid, kind, 0, 0, now);
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

void ref_charge_parked(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
		       __u64 parked_ns, __u64 waiter, __u64 now)
{
	struct blkqos_kind_stats *ks;
	struct blkqos_stats *st;
	struct ref_waiter *w;
	__u32 fm, dm;

	modes(m, domid, devid, &fm, &dm);
	scope_pay(find(m->vbd, domid, devid, false), kind, bytes, fm, dm, now);
	scope_pay(find(m->dom, domid, 0, false), kind, bytes, fm, dm, now);
	st = stats_of(m, domid, devid);
	ks = &st->read + kind;
	ks->ops++;
	ks->bytes += bytes;
	if (parked_ns) {
		st->deferrals++;
		st->deferred_ns += parked_ns;
		/* It no longer waits: whatever slots it held are let go. */
		w = waiter ? waiter_find(m, waiter) : NULL;
		if (w)
			w->used = false;
	}
}

void ref_charge(struct ref_model *m, __u32 domid, __u32 devid, __u32 kind, __u64 bytes, __u64 now)
{
	ref_charge_parked(m, domid, devid, kind, bytes, 0, 0, now);
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

bool ref_tail(struct ref_model *m, bool domain, __u32 domid, __u32 devid, int limit, bool peak,
	      unsigned long long *tail)
{
	struct ref_scope *s = domain ? find(m->dom, domid, 0, false) :
				       find(m->vbd, domid, devid, false);
	const struct blkqos_limit *l;

	if (!s || !s->limited)
		return false;
	l = limit_of(&s->cfg, limit);
	if (!l->rate || (peak && !l->peak))
		return false;
	*tail = (unsigned long long)(peak ? s->peak[limit].tail : s->sustained[limit].tail);
	return true;
}

const struct blkqos_stats *ref_stats(struct ref_model *m, __u32 domid, __u32 devid)
{
	return stats_of(m, domid, devid);
}
