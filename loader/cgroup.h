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
 * What goes into io.max, and what it cannot hold, is throttle.h's; finding
 * the ring threads is rings.h's.
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
#include "rings.h"
#include "throttle.h"

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

#endif
