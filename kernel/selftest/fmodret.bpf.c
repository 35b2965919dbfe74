// SPDX-License-Identifier: GPL-2.0-only
/* fmod_ret on the hook: refused on kernels without error injection. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("fmod_ret/xen_blkif_bpf_admit")
int BPF_PROG(admit_mod, struct xen_blkif_ring *ring,
	     const struct blkif_request *req, int ret)
{
	return 0;
}
