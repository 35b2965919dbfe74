// SPDX-License-Identifier: GPL-2.0-only
/*
 * Self-test of the xen-blkback hook: paces all requests to one every
 * interval_ns with fentry + bpf_xen_blkif_defer(), and counts what the hook,
 * its return value and the dispatch tracepoint saw.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

extern int bpf_xen_blkif_defer(struct xen_blkif_ring *ring, __u64 delay_ns) __ksym;

const volatile __u64 interval_ns = 50000000;

__u64 next_ns;
__u64 hook_calls, admitted, deferred;
__u64 ret_pos, ret_us_max;
__u64 dispatched, sectors, ops[8];
__u64 domid_mismatch, last_domid, last_handle;

SEC("fentry/xen_blkif_bpf_admit")
int BPF_PROG(admit, struct xen_blkif_ring *ring, const struct blkif_request *req)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 next = next_ns;

	__sync_fetch_and_add(&hook_calls, 1);
	if (now < next) {
		bpf_xen_blkif_defer(ring, next - now);
		__sync_fetch_and_add(&deferred, 1);
		return 0;
	}
	next_ns = now + interval_ns;
	__sync_fetch_and_add(&admitted, 1);
	return 0;
}

SEC("fexit/xen_blkif_bpf_admit")
int BPF_PROG(admit_exit, struct xen_blkif_ring *ring,
	     const struct blkif_request *req, int ret)
{
	if (ret > 0) {
		__sync_fetch_and_add(&ret_pos, 1);
		if ((__u64)ret > ret_us_max)
			ret_us_max = ret;
	}
	return 0;
}

SEC("tp_btf/xen_blkif_dispatch")
int BPF_PROG(dispatch, struct xen_blkif_ring *ring, unsigned short domid,
	     unsigned int handle, unsigned int operation, __u64 nr_sectors)
{
	__sync_fetch_and_add(&dispatched, 1);
	__sync_fetch_and_add(&sectors, nr_sectors);
	__sync_fetch_and_add(&ops[operation & 7], 1);
	if (BPF_CORE_READ(ring, blkif, domid) != domid)
		__sync_fetch_and_add(&domid_mismatch, 1);
	last_domid = domid;
	last_handle = handle;
	return 0;
}
