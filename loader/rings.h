/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stock-kernel mode's discovery of a VBD's ring threads in procfs: the
 * kernel threads blkback names "<domid>.<devname>-<ring>". Returns are
 * counts or a negative errno.
 */
#ifndef BLKQOS_RINGS_H
#define BLKQOS_RINGS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

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

#endif
