// SPDX-License-Identifier: GPL-2.0
/* Stock-kernel mode: a VBD's ring threads in procfs (see rings.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fileio.h"
#include "rings.h"

#define PF_KTHREAD_FLAG	0x00200000u

static bool is_kthread(const char *procdir, const char *pid)
{
	char path[PATH_MAX], buf[1024], *p;
	unsigned long flags;
	int i;

	pathf(path, sizeof(path), "%s/%s/stat", procdir, pid);
	if (file_read_small(path, buf, sizeof(buf)))
		return false;
	/* comm may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return false;
	/* " state ppid pgrp session tty_nr tpgid flags": flags is the 7th after ')'. */
	for (i = 0; i < 7 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%lu", &flags) != 1)
		return false;
	return flags & PF_KTHREAD_FLAG;
}

/*
 * Does comm name a ring of want ("<domid>.<dev>"), i.e. is it
 * "<domid>.<dev>-<digits>"? comm is cut at 15 characters: a 15-character
 * comm only has to be a prefix of that form (then two devices whose names
 * agree up to the cut are not told apart).
 */
/* The comm of task pid (a procdir entry's name) into comm; -ENOENT if none. */
static int task_comm(const char *procdir, const char *pid, char *comm, size_t len)
{
	char path[PATH_MAX];

	if (!isdigit((unsigned char)*pid) || strspn(pid, "0123456789") != strlen(pid))
		return -ENOENT;
	pathf(path, sizeof(path), "%s/%s/comm", procdir, pid);
	if (file_read_small(path, comm, len))
		return -ENOENT;
	comm[strcspn(comm, "\n")] = '\0';
	return 0;
}

static bool ring_name_matches(const char *comm, const char *want)
{
	size_t wl = strlen(want), cl = strlen(comm), k;
	bool cut = cl >= 15;

	k = cl < wl ? cl : wl;
	if (strncmp(comm, want, k) || (k < wl && !cut))
		return false;
	if (cl == wl)
		return cut;
	if (comm[wl] != '-')
		return false;
	if (!comm[wl + 1])
		return cut;
	return strspn(comm + wl + 1, "0123456789") == cl - wl - 1;
}

int cg_find_ring_threads_in(const char *procdir, unsigned int domid, const char *devname,
			    int kthread_only, pid_t *pids, size_t n)
{
	char want[96], comm[64];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(want, sizeof(want), "%u.%s", domid, devname);
	d = opendir(procdir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *s = de->d_name;

		if (task_comm(procdir, s, comm, sizeof(comm)))
			continue;	/* not a task, or exited meanwhile */
		if (!ring_name_matches(comm, want))
			continue;
		if (kthread_only && !is_kthread(procdir, s))
			continue;
		if ((size_t)found < n)
			pids[found] = (pid_t)atoi(s);
		found++;
	}
	closedir(d);
	return found;
}

int cg_list_ring_tasks(const char *procdir, int kthread_only, struct cg_task **out)
{
	char comm[64];
	struct cg_task *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	d = opendir(procdir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *s = de->d_name;
		size_t dl;

		if (task_comm(procdir, s, comm, sizeof(comm)))
			continue;	/* not a task, or exited meanwhile */
		dl = strspn(comm, "0123456789");
		if (!dl || comm[dl] != '.' || strlen(comm) >= sizeof(v->comm))
			continue;	/* not "<domid>.<dev>-<ring>" */
		if (kthread_only && !is_kthread(procdir, s))
			continue;
		if (n == cap) {
			struct cg_task *nv = realloc(v, (cap ? 2 * cap : 32) * sizeof(*v));

			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? 2 * cap : 32;
		}
		v[n].pid = (pid_t)atoi(s);
		snprintf(v[n].comm, sizeof(v[n].comm), "%s", comm);
		n++;
	}
	closedir(d);
	*out = v;
	return (int)n;
}

int cg_read_task(const char *procdir, pid_t pid, int kthread_only, struct cg_task *t)
{
	char comm[64], s[16];

	snprintf(s, sizeof(s), "%d", (int)pid);
	if (task_comm(procdir, s, comm, sizeof(comm)))
		return -ENOENT;
	if (kthread_only && !is_kthread(procdir, s))
		return -EPERM;
	if (strlen(comm) >= sizeof(t->comm))
		return -ENOENT;		/* no comm is that long: not a task's */
	t->pid = pid;
	memcpy(t->comm, comm, strlen(comm) + 1);
	return 0;
}

bool cg_task_is_ring_of(const struct cg_task *t, unsigned int domid, const char *devname)
{
	char want[96];

	snprintf(want, sizeof(want), "%u.%s", domid, devname);
	return ring_name_matches(t->comm, want);
}

int cg_find_ring_threads(unsigned int domid, const char *devname, pid_t *pids, size_t n)
{
	return cg_find_ring_threads_in("/proc", domid, devname, 1, pids, n);
}
