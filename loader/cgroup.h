/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stock-kernel mode: limits through the block throttle of the cgroup the
 * VBD's ring threads run in, for hosts whose xen-blkback has no BPF hook.
 *
 * Each VBD gets a group <root>/blkqos.slice/dom-<domid>/vbd-<domid>-<devid>
 * holding its ring kthreads (`<domid>.<dev>-<ring>`); its limits go to
 * io.max on the backing device (cgroup v2). The domain's group above them
 * takes the domain's limits when all its VBDs are on one device (v2 throttles
 * a subtree as a whole). When the io controller is bound to a cgroup v1
 * blkio hierarchy instead (hybrid hosts), the same groups are made there and
 * the limits go to blkio.throttle.{read,write}_{iops,bps}_device; v1
 * throttles each group alone, so there a domain limit only holds for a
 * domain of one VBD (folded into the VBD's).
 *
 * The block throttle has one rate per direction and device, nothing else:
 * cg_unsupported_keys() names what it cannot honour, so the loader reports
 * it instead of ignoring it.
 *
 * One process-wide state (one loader per host). Every function returning
 * int returns 0 or a negative errno, with a message naming the file and the
 * value in err.
 */
#ifndef BLKQOS_CGROUP_H
#define BLKQOS_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "blkqos.h"

#define CG_SLICE_DEFAULT	"blkqos.slice"

enum cg_mode {
	CG_AUTO = 0,	/* cgroup v2 with io, else a v1 blkio hierarchy */
	CG_V2,		/* cgroup v2 only (mounted at /sys/fs/cgroup if absent) */
	CG_V1,		/* v1 blkio hierarchy only */
};

/*
 * Find (or mount) the hierarchy and create <root>/<slice> (slice NULL:
 * CG_SLICE_DEFAULT), enabling +io in the root's and the slice's
 * cgroup.subtree_control on v2. Idempotent.
 */
int cg_init(enum cg_mode mode, const char *slice, char *err, size_t errlen);

/* After cg_init: 1 if the v1 blkio hierarchy is used, 0 for cgroup v2. */
int cg_is_v1(void);
/* After cg_init: the hierarchy's root and the slice directory. */
const char *cg_root_path(void);
const char *cg_slice_path(void);

/*
 * Mount points from a mountinfo file (normally /proc/self/mountinfo):
 * the cgroup2 one, or a cgroup v1 one with the blkio controller.
 * 0 and the path in out, -ENOENT if none.
 */
int cg_find_cgroup2(const char *mountinfo, char *out, size_t outlen);
int cg_find_blkio_v1(const char *mountinfo, char *out, size_t outlen);

/*
 * Parse a backend's physical-device ("major:minor" in hex, as libxl and the
 * hotplug scripts write it: "fe:0", "7:3").
 */
int cg_parse_physdev(const char *s, unsigned int *maj, unsigned int *min,
		     char *err, size_t errlen);

/*
 * The per-direction rates the block throttle gets: riops, wiops, rbps, wbps
 * (0 = unlimited). A total limit (iops, bps) has no equivalent: it is applied
 * to each direction at its value, combined with a per-direction one by
 * taking the lower.
 */
void cg_io_rates(const struct blkqos_limits *l, __u64 rates[4]);

/* The io.max line: "MAJ:MIN riops=.. wiops=.. rbps=.. wbps=..", "max" for unlimited. */
int cg_iomax_line(unsigned int maj, unsigned int min, const struct blkqos_limits *l,
		  char *buf, size_t len);

/*
 * A VBD's limits for the throttle: its own, and its domain's when the domain
 * has this VBD only (then a domain limit is exactly a VBD limit; the lower
 * rate wins). A domain limit over several VBDs is left out (see
 * cg_unsupported_keys()).
 */
void cg_merge_domain(const struct blkqos_limits *vbd, const struct blkqos_limits *dom,
		     unsigned int dom_nr_vbds, struct blkqos_limits *out);

/*
 * Create the VBD's group if needed, write its limits for the device
 * maj:min (a partition is throttled on its disk: the kernel takes whole
 * disks only) and move the given pids into it.
 */
int cg_vbd_apply(unsigned int domid, unsigned int devid, unsigned int maj, unsigned int min,
		 const struct blkqos_limits *l, const pid_t *pids, size_t npids,
		 char *err, size_t errlen);

/* A partition's disk (the throttle takes whole disks only); unchanged otherwise. */
void cg_whole_disk(unsigned int *maj, unsigned int *min);

/*
 * The domain's limits on its group for the device maj:min (cgroup v2 only:
 * -EOPNOTSUPP on v1), lifting any other device's; l NULL lifts them all.
 */
int cg_dom_apply(unsigned int domid, unsigned int maj, unsigned int min,
		 const struct blkqos_limits *l, char *err, size_t errlen);

/* The VBD's group directory (whether it exists or not). */
void cg_vbd_path(unsigned int domid, unsigned int devid, char *buf, size_t len);

/* Move pids into an existing VBD group (threads of a reconnected ring). */
int cg_vbd_move(unsigned int domid, unsigned int devid, const pid_t *pids, size_t npids,
		char *err, size_t errlen);

/*
 * Move what is left in the VBD's group back to the root group and remove it,
 * and the domain's group with its last VBD. -ENOENT if there is no such group.
 */
int cg_vbd_remove(unsigned int domid, unsigned int devid, char *err, size_t errlen);

/* Remove every VBD group and the slice (unload). */
int cg_remove_all(char *err, size_t errlen);

/*
 * The ring threads of a VBD: tasks whose comm is "<domid>.<devname>-<ring>"
 * (comm is cut at 15 characters; then the visible part must match). With
 * kthread_only, only kernel threads count. Scans procdir (normally "/proc").
 * Returns how many were found (at most n are stored) or a negative errno.
 */
int cg_find_ring_threads_in(const char *procdir, unsigned int domid, const char *devname,
			    int kthread_only, pid_t *pids, size_t n);
int cg_find_ring_threads(unsigned int domid, const char *devname, pid_t *pids, size_t n);

/*
 * Every task of procdir that may be a ring thread (comm "<digits>.<...>";
 * with kthread_only, kernel threads only), in *out (free it): one scan
 * serves every VBD waiting for its threads. Returns how many, or -errno.
 */
struct cg_task {
	pid_t pid;
	char comm[16];
};

int cg_list_ring_tasks(const char *procdir, int kthread_only, struct cg_task **out);
/*
 * The task pid of procdir as cg_list_ring_tasks() sees it: -ENOENT if it is
 * gone, -EPERM if kthread_only and it is not a kernel thread.
 */
int cg_read_task(const char *procdir, pid_t pid, int kthread_only, struct cg_task *t);
/* Is the task a ring thread of the VBD (as cg_find_ring_threads_in() matches)? */
bool cg_task_is_ring_of(const struct cg_task *t, unsigned int domid, const char *devname);

/*
 * What the block throttle cannot honour in l (and dom, may be NULL, over
 * dom_nr_vbds VBDs; dom_group: the domain's group enforces dom, see
 * cg_dom_apply), comma-separated in buf, e.g.
 * "iops-burst=2000, read-bps-peak=50M, iops-size=4096, flush=exempt,
 *  domain limits across 2 VBDs (need cgroup v2 and one backing device),
 *  iops=500 applies per direction".
 * Returns the number of items (0: everything is enforced as configured).
 */
int cg_unsupported_keys(const struct blkqos_limits *l, const struct blkqos_limits *dom,
			unsigned int dom_nr_vbds, bool dom_group, char *buf, size_t len);

#endif
