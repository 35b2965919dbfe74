// SPDX-License-Identifier: GPL-2.0
/* Stock-kernel mode: VBD limits through the cgroup block throttle (see cgroup.h). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "fileio.h"
#include "limits.h"

/* cg_init() keeps the root under CG_ROOT_MAX and the slice name under
 * CG_NAME_MAX, so every path built here fits PATH_MAX. */
#define CG_ROOT_MAX	256
#define CG_NAME_MAX	64

static struct {
	bool ready;
	bool v1;
	char root[CG_ROOT_MAX];
	char slice[PATH_MAX];
} cg;

int cg_is_v1(void)
{
	return cg.v1;
}

const char *cg_root_path(void)
{
	return cg.root;
}

const char *cg_slice_path(void)
{
	return cg.slice;
}

/* --- small file helpers ---------------------------------------------------- */

/* Is word one of the separator-delimited tokens of list? */
static bool has_word(const char *list, const char *word, const char *seps)
{
	size_t wl = strlen(word);
	const char *p = list;

	while (*p) {
		size_t tl = strcspn(p, seps);

		if (tl == wl && !strncmp(p, word, wl))
			return true;
		p += tl;
		if (*p)
			p++;
	}
	return false;
}

/* --- finding the hierarchy ------------------------------------------------- */

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *w = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*w++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 4;
		} else {
			*w++ = *s++;
		}
	}
	*w = '\0';
}

/*
 * First mount of fstype (whose super options hold opt, if given). mountinfo:
 * "id parent maj:min root mountpoint opts [optional...] - fstype source superopts".
 */
static int find_mount(const char *mountinfo, const char *fstype, const char *opt,
		      char *out, size_t outlen)
{
	char *line = NULL, *save, *tok, *mnt;
	size_t cap = 0;
	int ret = -ENOENT;
	FILE *f;

	f = fopen(mountinfo, "re");
	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		char *sep = strstr(line, " - ");
		char *type, *super;
		int i;

		if (!sep)
			continue;
		*sep = '\0';
		type = strtok_r(sep + 3, " \n", &save);
		strtok_r(NULL, " \n", &save);		/* source */
		super = strtok_r(NULL, " \n", &save);
		if (!type || strcmp(type, fstype))
			continue;
		if (opt && (!super || !has_word(super, opt, ",")))
			continue;
		tok = strtok_r(line, " ", &save);
		for (i = 0, mnt = NULL; tok && i < 4; i++)
			tok = mnt = strtok_r(NULL, " ", &save);
		if (!mnt)
			continue;
		unescape(mnt);
		if (strlen(mnt) >= outlen) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(out, mnt);
		ret = 0;
		break;
	}
	free(line);
	fclose(f);
	return ret;
}

int cg_find_cgroup2(const char *mountinfo, char *out, size_t outlen)
{
	return find_mount(mountinfo, "cgroup2", NULL, out, outlen);
}

int cg_find_blkio_v1(const char *mountinfo, char *out, size_t outlen)
{
	return find_mount(mountinfo, "cgroup", "blkio", out, outlen);
}

static int mount_cgroup2(char *out, size_t outlen, char *err, size_t errlen)
{
	static const char where[] = "/sys/fs/cgroup";
	struct stat st, parent;

	if (mkdir(where, 0755) && errno != EEXIST) {
		int ret = -errno;

		snprintf(err, errlen, "mkdir %s: %s", where, strerror(-ret));
		return ret;
	}
	/* Never over something mounted there (the tmpfs of v1 hierarchies): it would hide it. */
	if (!stat(where, &st) && !stat("/sys/fs", &parent) && st.st_dev != parent.st_dev) {
		snprintf(err, errlen, "no cgroup2 mount, and %s is already a mount point: "
			 "mount cgroup2 elsewhere (e.g. %s/unified) first", where, where);
		return -EBUSY;
	}
	if (mount("cgroup2", where, "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)) {
		int ret = -errno;

		snprintf(err, errlen, "mount cgroup2 on %s: %s", where, strerror(-ret));
		return ret;
	}
	snprintf(out, outlen, "%s", where);
	return 0;
}

/* cgroup v2 root with the io controller: enable it down to the slice. */
static int init_v2(const char *root, const char *slice, char *err, size_t errlen)
{
	char path[PATH_MAX], buf[512];
	int ret;

	pathf(path, sizeof(path), "%s/cgroup.controllers", root);
	ret = file_read_small(path, buf, sizeof(buf));
	if (ret) {
		snprintf(err, errlen, "read %s: %s", path, strerror(-ret));
		return ret;
	}
	if (!has_word(buf, "io", " \n")) {
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "%s has no io controller (\"%.200s\"): it is bound to a cgroup v1 "
			 "blkio hierarchy or not built", path, buf);
		return -EOPNOTSUPP;
	}
	pathf(path, sizeof(path), "%s/cgroup.subtree_control", root);
	ret = file_write_str(path, "+io", err, errlen);
	if (ret)
		return ret;
	if (mkdir(slice, 0755) && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "mkdir %s: %s", slice, strerror(-ret));
		return ret;
	}
	pathf(path, sizeof(path), "%s/cgroup.subtree_control", slice);
	return file_write_str(path, "+io", err, errlen);
}

static int init_v1(const char *slice, char *err, size_t errlen)
{
	int ret;

	if (mkdir(slice, 0755) && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "mkdir %s: %s", slice, strerror(-ret));
		return ret;
	}
	return 0;
}

int cg_init(enum cg_mode mode, const char *slice, char *err, size_t errlen)
{
	static const char mi[] = "/proc/self/mountinfo";
	char root[CG_ROOT_MAX], path[PATH_MAX], why[PATH_MAX + 512] = "";
	int ret = -ENOENT;

	if (!slice)
		slice = CG_SLICE_DEFAULT;
	if (!*slice || strlen(slice) >= CG_NAME_MAX || strchr(slice, '/') || !strcmp(slice, ".") || !strcmp(slice, "..")) {
		snprintf(err, errlen, "bad slice name \"%s\"", slice);
		return -EINVAL;
	}
	cg.ready = false;
	if (mode != CG_V1) {
		ret = cg_find_cgroup2(mi, root, sizeof(root));
		if (ret == -ENOENT)
			ret = mount_cgroup2(root, sizeof(root), why, sizeof(why));
		else if (ret)
			snprintf(why, sizeof(why), "read %s: %s", mi, strerror(-ret));
		if (!ret) {
			pathf(path, sizeof(path), "%s/%s", root, slice);
			ret = init_v2(root, path, why, sizeof(why));
		}
		if (!ret) {
			cg.v1 = false;
			goto found;
		}
		if (mode == CG_V2) {
			snprintf(err, errlen, "%s", why);
			return ret;
		}
	}
	ret = cg_find_blkio_v1(mi, root, sizeof(root));
	if (ret) {
		if (*why)
			snprintf(err, errlen, "%s; no cgroup v1 blkio hierarchy either", why);
		else
			snprintf(err, errlen, "no cgroup v1 blkio hierarchy in %s", mi);
		return ret == -ENOENT ? -EOPNOTSUPP : ret;
	}
	pathf(path, sizeof(path), "%s/%s", root, slice);
	ret = init_v1(path, err, errlen);
	if (ret)
		return ret;
	cg.v1 = true;
found:
	snprintf(cg.root, sizeof(cg.root), "%s", root);
	snprintf(cg.slice, sizeof(cg.slice), "%s", path);
	cg.ready = true;
	return 0;
}

void cg_whole_disk(unsigned int *maj, unsigned int *min)
{
	char path[96], buf[32];
	unsigned int a, b;

	pathf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", *maj, *min);
	if (access(path, F_OK))
		return;
	pathf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", *maj, *min);
	if (file_read_small(path, buf, sizeof(buf)) || sscanf(buf, "%u:%u", &a, &b) != 2)
		return;
	*maj = a;
	*min = b;
}

static int write_limits_v1(const char *dir, unsigned int maj, unsigned int min,
			   const struct blkqos_limits *l, char *err, size_t errlen)
{
	static const char *const file[4] = {
		"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
		"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	};
	char path[PATH_MAX], val[64];
	__u64 r[4];
	int i, ret;

	cg_io_rates(l, r);
	for (i = 0; i < 4; i++) {
		/* 0 removes the device's rule: unlimited. */
		pathf(path, sizeof(path), "%s/%s", dir, file[i]);
		snprintf(val, sizeof(val), "%u:%u %llu", maj, min, (unsigned long long)r[i]);
		ret = file_write_str(path, val, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static void dom_dir(char *buf, size_t len, unsigned int domid)
{
	pathf(buf, len, "%s/dom-%u", cg.slice, domid);
}

void cg_vbd_path(unsigned int domid, unsigned int devid, char *buf, size_t len)
{
	pathf(buf, len, "%s/dom-%u/vbd-%u-%u", cg.slice, domid, domid, devid);
}

/* The domain's group, parent of its VBDs' (io enabled below it on v2). */
static int make_dom_dir(unsigned int domid, char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	int ret;

	dom_dir(dir, sizeof(dir), domid);
	if (mkdir(dir, 0755)) {
		if (errno == EEXIST)
			return 0;
		ret = -errno;
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(-ret));
		return ret;
	}
	if (cg.v1)
		return 0;
	pathf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	return file_write_str(path, "+io", err, errlen);
}

static int move_pids(const char *dir, const pid_t *pids, size_t npids, char *err, size_t errlen)
{
	char path[PATH_MAX], val[32];
	size_t i;
	int ret;

	pathf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (i = 0; i < npids; i++) {
		snprintf(val, sizeof(val), "%d", (int)pids[i]);
		ret = file_write_str(path, val, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

static int not_ready(char *err, size_t errlen)
{
	snprintf(err, errlen, "cgroup mode not initialised");
	return -EINVAL;
}

/*
 * Write an io.max line unless the file already holds it. Every write is a
 * reconfiguration of the throttle group, even with the same rates: it
 * restarts the group's slices, and on Debian 12's 6.1 a write while
 * requests wait can let a burst through (see the README, stock mode).
 */
static int write_iomax(const char *path, unsigned int maj, unsigned int min,
		       const struct blkqos_limits *l, const char *line, char *err, size_t errlen)
{
	char cur[1024];

	if (!file_read_small(path, cur, sizeof(cur)) && cg_iomax_holds(cur, maj, min, l))
		return 0;
	return file_write_str(path, line, err, errlen);
}

int cg_vbd_apply(unsigned int domid, unsigned int devid, unsigned int maj, unsigned int min,
		 const struct blkqos_limits *l, const pid_t *pids, size_t npids,
		 char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX], line[160];
	int ret;

	if (!cg.ready)
		return not_ready(err, errlen);
	ret = make_dom_dir(domid, err, errlen);
	if (ret)
		return ret;
	cg_vbd_path(domid, devid, dir, sizeof(dir));
	if (mkdir(dir, 0755) && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "mkdir %s: %s", dir, strerror(-ret));
		return ret;
	}
	cg_whole_disk(&maj, &min);
	if (cg.v1) {
		ret = write_limits_v1(dir, maj, min, l, err, errlen);
	} else {
		ret = cg_iomax_line(maj, min, l, line, sizeof(line));
		if (ret) {
			snprintf(err, errlen, "io.max line for %u:%u too long", maj, min);
			return ret;
		}
		pathf(path, sizeof(path), "%s/io.max", dir);
		ret = write_iomax(path, maj, min, l, line, err, errlen);
	}
	if (ret)
		return ret;
	return move_pids(dir, pids, npids, err, errlen);
}

int cg_vbd_move(unsigned int domid, unsigned int devid, const pid_t *pids, size_t npids,
		char *err, size_t errlen)
{
	char dir[PATH_MAX];

	if (!cg.ready)
		return not_ready(err, errlen);
	cg_vbd_path(domid, devid, dir, sizeof(dir));
	return move_pids(dir, pids, npids, err, errlen);
}

/* Move every task of dir to the root group, then remove dir. */
static int remove_group(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX], root_procs[PATH_MAX];
	char *line = NULL;
	size_t cap = 0;
	int ret = 0, tries;
	FILE *f;

	pathf(path, sizeof(path), "%s/cgroup.procs", dir);
	pathf(root_procs, sizeof(root_procs), "%s/cgroup.procs", cg.root);
	for (tries = 0; tries < 50; tries++) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		f = fopen(path, "re");
		if (!f) {
			ret = -errno;
			snprintf(err, errlen, "open %s: %s", path, strerror(-ret));
			goto cleanup;
		}
		while (getline(&line, &cap, f) > 0) {
			line[strcspn(line, "\n")] = '\0';
			ret = file_write_str(root_procs, line, err, errlen);
			/* A task that exited meanwhile is gone: not an error. */
			if (ret == -ESRCH)
				ret = 0;
			if (ret)
				break;
		}
		fclose(f);
		if (ret)
			goto cleanup;
		if (!rmdir(dir))
			goto cleanup;
		ret = -errno;
		if (ret != -EBUSY)
			break;
		nanosleep(&ts, NULL);	/* an exiting task still counted: retry */
	}
	snprintf(err, errlen, "rmdir %s: %s", dir, strerror(-ret));
cleanup:
	free(line);
	return ret;
}

int cg_vbd_remove(unsigned int domid, unsigned int devid, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	int ret;

	if (!cg.ready)
		return not_ready(err, errlen);
	cg_vbd_path(domid, devid, dir, sizeof(dir));
	if (access(dir, F_OK)) {
		snprintf(err, errlen, "no group %s", dir);
		return -ENOENT;
	}
	ret = remove_group(dir, err, errlen);
	if (ret)
		return ret;
	/* The domain's group goes with its last VBD (EBUSY while others are left). */
	dom_dir(dir, sizeof(dir), domid);
	rmdir(dir);
	return 0;
}

/* Remove every subdirectory of dir named prefix* (VBD groups first: depth 2). */
static int remove_children(const char *dir, const char *prefix, char *err, size_t errlen)
{
	char sub[PATH_MAX];
	struct dirent *de;
	int ret = 0, r;
	DIR *d = opendir(dir);

	if (!d) {
		if (errno == ENOENT)
			return 0;
		ret = -errno;
		snprintf(err, errlen, "open %s: %s", dir, strerror(-ret));
		return ret;
	}
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, prefix, strlen(prefix)) || de->d_type != DT_DIR)
			continue;
		pathf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
		if (!strcmp(prefix, "dom-")) {
			r = remove_children(sub, "vbd-", err, errlen);
			if (!r && rmdir(sub)) {
				r = -errno;
				snprintf(err, errlen, "rmdir %s: %s", sub, strerror(-r));
			}
		} else {
			r = remove_group(sub, err, errlen);
		}
		if (r && !ret)
			ret = r;	/* keep going; err names the last failure */
	}
	closedir(d);
	return ret;
}

int cg_remove_all(char *err, size_t errlen)
{
	int ret;

	if (!cg.ready)
		return not_ready(err, errlen);
	ret = remove_children(cg.slice, "dom-", err, errlen);
	if (ret)
		return ret;
	if (rmdir(cg.slice) && errno != ENOENT) {
		ret = -errno;
		snprintf(err, errlen, "rmdir %s: %s", cg.slice, strerror(-ret));
		return ret;
	}
	return 0;
}

int cg_dom_apply(unsigned int domid, unsigned int maj, unsigned int min,
		 const struct blkqos_limits *l, char *err, size_t errlen)
{
	static const struct blkqos_limits none;
	char dir[PATH_MAX], path[PATH_MAX], line[160], cur[1024], *p, *save = NULL;
	unsigned int a, b;
	int ret;

	if (!cg.ready)
		return not_ready(err, errlen);
	if (cg.v1) {
		snprintf(err, errlen, "the cgroup v1 throttle limits each group alone: no "
			 "domain group limit");
		return -EOPNOTSUPP;
	}
	ret = make_dom_dir(domid, err, errlen);
	if (ret)
		return ret;
	dom_dir(dir, sizeof(dir), domid);
	pathf(path, sizeof(path), "%s/io.max", dir);
	if (l)
		cg_whole_disk(&maj, &min);
	/* Any other device's line is from an earlier setting: lift it. */
	if (!file_read_small(path, cur, sizeof(cur)))
		for (p = strtok_r(cur, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			if (sscanf(p, "%u:%u", &a, &b) != 2 || (l && a == maj && b == min))
				continue;
			cg_iomax_line(a, b, &none, line, sizeof(line));
			ret = file_write_str(path, line, err, errlen);
			if (ret)
				return ret;
		}
	if (!l)
		return 0;
	if (cg_iomax_line(maj, min, l, line, sizeof(line))) {
		snprintf(err, errlen, "io.max line for %u:%u too long", maj, min);
		return -ENOSPC;
	}
	return write_iomax(path, maj, min, l, line, err, errlen);
}
