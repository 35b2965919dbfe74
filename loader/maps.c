// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "limits.h"
#include "log.h"
#include "maps.h"

__u64 blkqos_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

__u64 blkqos_next_epoch(void)
{
	static __u64 last;
	__u64 now = blkqos_mono_ns();

	last = now > last ? now : last + 1;
	return last;
}

/*
 * Does the map hold values of this build's size? Pinned maps of another
 * blkqos version may not (struct blkqos_stats grew): reading them would
 * overrun the buffers sized here.
 */
static int value_size_is(int fd, const char *name, __u32 want)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	if (info.value_size == want)
		return 0;
	log_err("map %s holds %u-byte values, this blkqos %u-byte ones: made by another "
		"version (blkqos unload, then run again)", name, info.value_size, want);
	return -EPROTO;
}

int blkqos_maps_init(struct blkqos_maps *m, int vbds_fd, int doms_fd, int vbd_buckets_fd,
		     int dom_buckets_fd, int vbd_stats_fd)
{
	struct blkqos_vbd_key k, *prev = NULL;
	__u32 d, *dprev = NULL;
	int err;

	if ((err = value_size_is(vbds_fd, "vbds", sizeof(struct blkqos_vbd))) ||
	    (err = value_size_is(doms_fd, "doms", sizeof(struct blkqos_dom))) ||
	    (err = value_size_is(vbd_buckets_fd, "vbd_buckets", sizeof(struct blkqos_buckets))) ||
	    (err = value_size_is(dom_buckets_fd, "dom_buckets", sizeof(struct blkqos_buckets))) ||
	    (err = value_size_is(vbd_stats_fd, "vbd_stats", sizeof(struct blkqos_stats))))
		return err;

	memset(m, 0, sizeof(*m));
	m->vbds_fd = vbds_fd;
	m->doms_fd = doms_fd;
	m->vbd_buckets_fd = vbd_buckets_fd;
	m->dom_buckets_fd = dom_buckets_fd;
	m->vbd_stats_fd = vbd_stats_fd;
	m->stock_groups_fd = -1;
	m->stock_devs_fd = -1;
	m->ring_births_fd = -1;
	m->vbd_hist_fd = -1;
	m->ncpus = libbpf_num_possible_cpus();
	if (m->ncpus <= 0)
		return -EINVAL;
	while (bpf_map_get_next_key(vbds_fd, prev, &k) == 0) {
		struct blkqos_vbd v;

		if (bpf_map_lookup_elem(vbds_fd, &k, &v) == 0 && v.slot < BLKQOS_MAX_VBDS)
			m->vbd_used[v.slot] = true;
		prev = &k;
	}
	while (bpf_map_get_next_key(doms_fd, dprev, &d) == 0) {
		struct blkqos_dom dom;

		if (bpf_map_lookup_elem(doms_fd, &d, &dom) == 0 && dom.slot < BLKQOS_MAX_DOMS)
			m->dom_used[dom.slot] = true;
		dprev = &d;
	}
	return 0;
}

int blkqos_maps_set_hist(struct blkqos_maps *m, int vbd_hist_fd)
{
	int err = value_size_is(vbd_hist_fd, "vbd_hist", sizeof(struct blkqos_hist));

	if (!err)
		m->vbd_hist_fd = vbd_hist_fd;
	return err;
}

static int alloc_slot(bool *used, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (!used[i]) {
			used[i] = true;
			return i;
		}
	return -ENOSPC;
}

/* A slot's buckets start zeroed (epoch 0: every limit's bucket starts full). */
static int reset_buckets(int fd, __u32 slot, __u32 domid, __u32 devid)
{
	struct blkqos_buckets b = { .domid = domid, .devid = devid };

	return bpf_map_update_elem(fd, &slot, &b, BPF_ANY);
}

/* A slot's histogram starts empty, as its stats do: a new VBD's holds only. */
static int reset_hist(struct blkqos_maps *m, __u32 slot, __u32 domid, __u32 devid)
{
	struct blkqos_hist *per;
	int i, err;

	if (m->vbd_hist_fd < 0)
		return 0;
	per = calloc(m->ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	for (i = 0; i < m->ncpus; i++) {
		per[i].domid = domid;
		per[i].devid = devid;
	}
	err = bpf_map_update_elem(m->vbd_hist_fd, &slot, per, BPF_ANY);
	free(per);
	return err;
}

static int reset_stats(struct blkqos_maps *m, __u32 slot, __u32 domid, __u32 devid)
{
	struct blkqos_stats *per = calloc(m->ncpus, sizeof(*per));
	int i, err;

	if (!per)
		return -ENOMEM;
	for (i = 0; i < m->ncpus; i++) {
		per[i].domid = domid;
		per[i].devid = devid;
	}
	err = bpf_map_update_elem(m->vbd_stats_fd, &slot, per, BPF_ANY);
	free(per);
	return err ? err : reset_hist(m, slot, domid, devid);
}

/* The domain's entry, created (unlimited) if absent. */
static int dom_get_or_add(struct blkqos_maps *m, __u32 domid, struct blkqos_dom *dom)
{
	int slot, err;

	if (bpf_map_lookup_elem(m->doms_fd, &domid, dom) == 0)
		return 0;
	slot = alloc_slot(m->dom_used, BLKQOS_MAX_DOMS);
	if (slot < 0)
		return slot;
	memset(dom, 0, sizeof(*dom));
	dom->slot = slot;
	err = reset_buckets(m->dom_buckets_fd, slot, domid, BLKQOS_DOM_DEVID);
	if (!err)
		err = bpf_map_update_elem(m->doms_fd, &domid, dom, BPF_NOEXIST);
	if (err) {
		m->dom_used[slot] = false;
		return -errno;
	}
	return 0;
}

int blkqos_maps_vbd_get(struct blkqos_maps *m, __u32 domid, __u32 devid, struct blkqos_vbd *out)
{
	struct blkqos_vbd_key key = { domid, blkqos_devid_key(devid) };

	return bpf_map_lookup_elem(m->vbds_fd, &key, out) ? -ENOENT : 0;
}

int blkqos_maps_vbd_holder(struct blkqos_maps *m, __u32 domid, __u32 devid, __u32 *holder)
{
	struct blkqos_buckets b;
	struct blkqos_vbd v;

	if (blkqos_maps_vbd_get(m, domid, devid, &v))
		return -ENOENT;
	if (bpf_map_lookup_elem(m->vbd_buckets_fd, &v.slot, &b))
		return -errno;
	*holder = b.devid;
	return 0;
}

int blkqos_maps_dom_get(struct blkqos_maps *m, __u32 domid, struct blkqos_dom *out)
{
	return bpf_map_lookup_elem(m->doms_fd, &domid, out) ? -ENOENT : 0;
}

int blkqos_maps_vbd_add(struct blkqos_maps *m, __u32 domid, __u32 devid)
{
	struct blkqos_vbd_key key = { domid, blkqos_devid_key(devid) };
	struct blkqos_vbd v;
	struct blkqos_dom dom;
	int slot, err;

	if (bpf_map_lookup_elem(m->vbds_fd, &key, &v) == 0)
		return 0;
	err = dom_get_or_add(m, domid, &dom);
	if (err)
		return err;
	slot = alloc_slot(m->vbd_used, BLKQOS_MAX_VBDS);
	if (slot < 0)
		return slot;
	memset(&v, 0, sizeof(v));
	v.slot = slot;
	v.dom_slot = dom.slot;
	v.dom_limits = dom.limits;
	/* the buckets name the devid as given: which of those that fold to
	 * one handle holds the entry, for a loader started later */
	err = reset_buckets(m->vbd_buckets_fd, slot, domid, devid);
	if (!err)
		err = reset_stats(m, slot, domid, key.devid);
	if (!err)
		err = bpf_map_update_elem(m->vbds_fd, &key, &v, BPF_NOEXIST);
	if (err) {
		m->vbd_used[slot] = false;
		return -errno;
	}
	dom.nr_vbds++;
	bpf_map_update_elem(m->doms_fd, &domid, &dom, BPF_EXIST);
	return 0;
}

int blkqos_maps_vbd_set(struct blkqos_maps *m, __u32 domid, __u32 devid,
			const struct blkqos_limits *limits, char *err, size_t errlen)
{
	struct blkqos_vbd_key key = { domid, blkqos_devid_key(devid) };
	struct blkqos_limits want = *limits;
	struct blkqos_vbd v;
	struct blkqos_dom dom;
	int ret;

	ret = blkqos_limits_derive(&want, err, errlen);
	if (ret)
		return ret;
	ret = blkqos_maps_vbd_add(m, domid, devid);
	if (ret == -ENOSPC) {	/* the maps' size is the design's bound */
		snprintf(err, errlen, "cannot register VBD %u/%u: the maps are full (at most %u "
			 "VBDs and %u domains at once); it is not limited", domid, devid,
			 BLKQOS_MAX_VBDS, BLKQOS_MAX_DOMS);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "cannot register VBD %u/%u: %s", domid, devid, strerror(-ret));
		return ret;
	}
	if (bpf_map_lookup_elem(m->vbds_fd, &key, &v))
		return -ENOENT;
	blkqos_limits_carry_epochs(&v.limits, &want, blkqos_next_epoch);
	v.limits = want;
	if (bpf_map_lookup_elem(m->doms_fd, &domid, &dom) == 0) {
		v.dom_slot = dom.slot;
		v.dom_limits = dom.limits;
	}
	if (bpf_map_update_elem(m->vbds_fd, &key, &v, BPF_EXIST)) {
		ret = -errno;
		snprintf(err, errlen, "cannot update VBD %u/%u: %s", domid, devid, strerror(-ret));
		return ret;
	}
	return 0;
}

int blkqos_maps_vbd_del(struct blkqos_maps *m, __u32 domid, __u32 devid)
{
	struct blkqos_vbd_key key = { domid, blkqos_devid_key(devid) };
	struct blkqos_vbd v;
	struct blkqos_dom dom;

	if (bpf_map_lookup_elem(m->vbds_fd, &key, &v))
		return -ENOENT;
	bpf_map_delete_elem(m->vbds_fd, &key);
	if (v.slot < BLKQOS_MAX_VBDS)
		m->vbd_used[v.slot] = false;
	if (bpf_map_lookup_elem(m->doms_fd, &domid, &dom) == 0 && dom.nr_vbds) {
		dom.nr_vbds--;
		bpf_map_update_elem(m->doms_fd, &domid, &dom, BPF_EXIST);
	}
	return 0;
}

int blkqos_maps_vbd_next(struct blkqos_maps *m, const struct blkqos_vbd_key *prev,
			 struct blkqos_vbd_key *next)
{
	return bpf_map_get_next_key(m->vbds_fd, prev, next) ? -ENOENT : 0;
}

int blkqos_maps_dom_next(struct blkqos_maps *m, const __u32 *prev, __u32 *next)
{
	return bpf_map_get_next_key(m->doms_fd, prev, next) ? -ENOENT : 0;
}

/*
 * Copy the domain's limits into every VBD entry of the domain. Collect the
 * keys first: a hash update moves the element to the head of its bucket, so
 * updating while walking revisits it, and two VBDs of the domain in one
 * bucket made the walk loop forever.
 */
static int dom_propagate(struct blkqos_maps *m, __u32 domid, const struct blkqos_dom *dom)
{
	struct blkqos_vbd_key k, *prev = NULL, *keys;
	unsigned int n = 0, i;
	int err = 0;

	keys = calloc(BLKQOS_MAX_VBDS, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	while (n < BLKQOS_MAX_VBDS && bpf_map_get_next_key(m->vbds_fd, prev, &k) == 0) {
		prev = &k;
		if (k.domid == domid)
			keys[n++] = k;
	}
	for (i = 0; i < n; i++) {
		struct blkqos_vbd v;

		if (bpf_map_lookup_elem(m->vbds_fd, &keys[i], &v))
			continue;
		v.dom_slot = dom->slot;
		v.dom_limits = dom->limits;
		if (bpf_map_update_elem(m->vbds_fd, &keys[i], &v, BPF_EXIST))
			err = -errno;
	}
	free(keys);
	return err;
}

int blkqos_maps_dom_set(struct blkqos_maps *m, __u32 domid, const struct blkqos_limits *limits,
			char *err, size_t errlen)
{
	struct blkqos_limits want = *limits;
	struct blkqos_dom dom;
	int ret;

	ret = blkqos_limits_derive(&want, err, errlen);
	if (ret)
		return ret;
	ret = dom_get_or_add(m, domid, &dom);
	if (ret == -ENOSPC) {
		snprintf(err, errlen, "cannot register domain %u: the maps are full (at most %u "
			 "domains at once)", domid, BLKQOS_MAX_DOMS);
		return ret;
	}
	if (ret) {
		snprintf(err, errlen, "cannot register domain %u: %s", domid, strerror(-ret));
		return ret;
	}
	blkqos_limits_carry_epochs(&dom.limits, &want, blkqos_next_epoch);
	/*
	 * Unchanged (a resync): nothing to write. Each VBD takes its domain's
	 * limits again whenever it is set (blkqos_maps_vbd_set), so one left
	 * behind by an interrupted propagation is still brought in line.
	 */
	if (!memcmp(&dom.limits, &want, sizeof(want)))
		return 0;
	dom.limits = want;
	if (bpf_map_update_elem(m->doms_fd, &domid, &dom, BPF_EXIST)) {
		ret = -errno;
		snprintf(err, errlen, "cannot update domain %u: %s", domid, strerror(-ret));
		return ret;
	}
	ret = dom_propagate(m, domid, &dom);
	if (ret)
		snprintf(err, errlen, "cannot update the VBDs of domain %u: %s", domid,
			 strerror(-ret));
	return ret;
}

int blkqos_maps_dom_del(struct blkqos_maps *m, __u32 domid)
{
	struct blkqos_vbd_key k, *prev = NULL, gone[64];
	struct blkqos_dom dom;
	int n, i, found = 0;

	/* Delete in batches: deleting while walking would restart the walk. */
	do {
		n = 0;
		prev = NULL;
		while (n < 64 && bpf_map_get_next_key(m->vbds_fd, prev, &k) == 0) {
			prev = &k;
			if (k.domid == domid)
				gone[n++] = k;
		}
		for (i = 0; i < n; i++)
			blkqos_maps_vbd_del(m, gone[i].domid, gone[i].devid);
		found += n;
	} while (n == 64);
	if (bpf_map_lookup_elem(m->doms_fd, &domid, &dom))
		return found ? 0 : -ENOENT;
	bpf_map_delete_elem(m->doms_fd, &domid);
	if (dom.slot < BLKQOS_MAX_DOMS)
		m->dom_used[dom.slot] = false;
	return 0;
}

int blkqos_maps_vbd_buckets(struct blkqos_maps *m, __u32 slot, struct blkqos_buckets *out)
{
	return bpf_map_lookup_elem(m->vbd_buckets_fd, &slot, out) ? -errno : 0;
}

int blkqos_maps_dom_buckets(struct blkqos_maps *m, __u32 slot, struct blkqos_buckets *out)
{
	return bpf_map_lookup_elem(m->dom_buckets_fd, &slot, out) ? -errno : 0;
}

int blkqos_maps_vbd_stats(struct blkqos_maps *m, __u32 slot, struct blkqos_stats *out)
{
	struct blkqos_stats *per = calloc(m->ncpus, sizeof(*per));
	int i, err = 0;

	if (!per)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(m->vbd_stats_fd, &slot, per)) {
		err = -errno;
		goto cleanup;
	}
	out->domid = per[0].domid;
	out->devid = per[0].devid;
	for (i = 0; i < m->ncpus; i++) {
		out->read.ops += per[i].read.ops;
		out->read.bytes += per[i].read.bytes;
		out->write.ops += per[i].write.ops;
		out->write.bytes += per[i].write.bytes;
		out->flush.ops += per[i].flush.ops;
		out->flush.bytes += per[i].flush.bytes;
		out->discard.ops += per[i].discard.ops;
		out->discard.bytes += per[i].discard.bytes;
		out->deferrals += per[i].deferrals;
		out->deferred_ns += per[i].deferred_ns;
		out->unthrottled.ops += per[i].unthrottled.ops;
		out->unthrottled.bytes += per[i].unthrottled.bytes;
	}
cleanup:
	free(per);
	return err;
}

int blkqos_maps_vbd_hist(struct blkqos_maps *m, __u32 slot, struct blkqos_hist *out)
{
	struct blkqos_hist *per;
	int i, d, j, err = 0;

	if (m->vbd_hist_fd < 0)
		return -EBADF;
	per = calloc(m->ncpus, sizeof(*per));
	if (!per)
		return -ENOMEM;
	memset(out, 0, sizeof(*out));
	if (bpf_map_lookup_elem(m->vbd_hist_fd, &slot, per)) {
		err = -errno;
		goto cleanup;
	}
	out->domid = per[0].domid;
	out->devid = per[0].devid;
	for (i = 0; i < m->ncpus; i++) {
		for (d = 0; d < 2; d++) {
			for (j = 0; j < BLKQOS_HIST_SLOTS; j++)
				out->dir[d].slot[j] += per[i].dir[d].slot[j];
			out->dir[d].sum_ns += per[i].dir[d].sum_ns;
		}
	}
cleanup:
	free(per);
	return err;
}
