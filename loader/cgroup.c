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
#include "limits.h"

#define CG_ROOT_MAX	256
#define CG_NAME_MAX	64
#define PF_KTHREAD_FLAG	0x00200000u

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

static int write_file(const char *path, const char *val, char *err, size_t errlen)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "open %s to write \"%s\": %s", path, val, strerror(-ret));
		return ret;
	}
	n = write(fd, val, len);
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "write \"%s\" to %s: %s", val, path, strerror(-ret));
	} else if ((size_t)n != len) {
		ret = -EIO;
		snprintf(err, errlen, "write \"%s\" to %s: short write", val, path);
	}
	close(fd);
	return ret;
}

/* Whole small file into buf (NUL-terminated); -errno. */
static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		ret = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return ret;
}

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

/*
 * A path into buf. cg_init() keeps the root under CG_ROOT_MAX and the slice
 * name under CG_NAME_MAX, so every path built here fits PATH_MAX.
 */
static void pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
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
	ret = read_file(path, buf, sizeof(buf));
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
	ret = write_file(path, "+io", err, errlen);
	if (ret)
		return ret;
	if (mkdir(slice, 0755) && errno != EEXIST) {
		ret = -errno;
		snprintf(err, errlen, "mkdir %s: %s", slice, strerror(-ret));
		return ret;
	}
	pathf(path, sizeof(path), "%s/cgroup.subtree_control", slice);
	return write_file(path, "+io", err, errlen);
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

/* --- limits ---------------------------------------------------------------- */

int cg_parse_physdev(const char *s, unsigned int *maj, unsigned int *min, char *err, size_t errlen)
{
	unsigned long a, b;
	char *e;

	if (!s || !isxdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	a = strtoul(s, &e, 16);
	if (errno || *e != ':' || !isxdigit((unsigned char)e[1]))
		goto bad;
	b = strtoul(e + 1, &e, 16);
	if (errno || (*e && *e != '\n') || a > 0xfff || b > 0xfffff)
		goto bad;
	*maj = a;
	*min = b;
	return 0;
bad:
	snprintf(err, errlen, "physical-device \"%s\" is not major:minor in hex", s ? s : "(null)");
	return -EINVAL;
}

static __u64 lower(__u64 a, __u64 b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

void cg_io_rates(const struct blkqos_limits *l, __u64 rates[4])
{
	rates[0] = lower(l->read_iops.rate, l->iops.rate);
	rates[1] = lower(l->write_iops.rate, l->iops.rate);
	rates[2] = lower(l->read_bps.rate, l->bps.rate);
	rates[3] = lower(l->write_bps.rate, l->bps.rate);
}

int cg_iomax_line(unsigned int maj, unsigned int min, const struct blkqos_limits *l,
		  char *buf, size_t len)
{
	static const char *const key[4] = { "riops", "wiops", "rbps", "wbps" };
	__u64 r[4];
	size_t off;
	int i, n;

	cg_io_rates(l, r);
	n = snprintf(buf, len, "%u:%u", maj, min);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = n;
	for (i = 0; i < 4; i++) {
		if (r[i])
			n = snprintf(buf + off, len - off, " %s=%llu", key[i], (unsigned long long)r[i]);
		else
			n = snprintf(buf + off, len - off, " %s=max", key[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += n;
	}
	return 0;
}

void cg_merge_domain(const struct blkqos_limits *vbd, const struct blkqos_limits *dom,
		     unsigned int dom_nr_vbds, struct blkqos_limits *out)
{
	int i;

	*out = *vbd;
	if (!dom || dom_nr_vbds != 1)
		return;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *d = BLKQOS_LIMIT_AT(dom, i);
		struct blkqos_limit *o = blkqos_limit_at(out, i);

		if (d->rate && (!o->rate || d->rate < o->rate))
			*o = *d;
	}
}

void cg_whole_disk(unsigned int *maj, unsigned int *min)
{
	char path[96], buf[32];
	unsigned int a, b;

	pathf(path, sizeof(path), "/sys/dev/block/%u:%u/partition", *maj, *min);
	if (access(path, F_OK))
		return;
	pathf(path, sizeof(path), "/sys/dev/block/%u:%u/../dev", *maj, *min);
	if (read_file(path, buf, sizeof(buf)) || sscanf(buf, "%u:%u", &a, &b) != 2)
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
		ret = write_file(path, val, err, errlen);
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
	return write_file(path, "+io", err, errlen);
}

static int move_pids(const char *dir, const pid_t *pids, size_t npids, char *err, size_t errlen)
{
	char path[PATH_MAX], val[32];
	size_t i;
	int ret;

	pathf(path, sizeof(path), "%s/cgroup.procs", dir);
	for (i = 0; i < npids; i++) {
		snprintf(val, sizeof(val), "%d", (int)pids[i]);
		ret = write_file(path, val, err, errlen);
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
		ret = write_file(path, line, err, errlen);
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
			ret = write_file(root_procs, line, err, errlen);
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
	if (!read_file(path, cur, sizeof(cur)))
		for (p = strtok_r(cur, "\n", &save); p; p = strtok_r(NULL, "\n", &save)) {
			if (sscanf(p, "%u:%u", &a, &b) != 2 || (l && a == maj && b == min))
				continue;
			cg_iomax_line(a, b, &none, line, sizeof(line));
			ret = write_file(path, line, err, errlen);
			if (ret)
				return ret;
		}
	if (!l)
		return 0;
	if (cg_iomax_line(maj, min, l, line, sizeof(line))) {
		snprintf(err, errlen, "io.max line for %u:%u too long", maj, min);
		return -ENOSPC;
	}
	return write_file(path, line, err, errlen);
}

/* --- ring threads ---------------------------------------------------------- */

static bool is_kthread(const char *procdir, const char *pid)
{
	char path[PATH_MAX], buf[1024], *p;
	unsigned long flags;
	int i;

	pathf(path, sizeof(path), "%s/%s/stat", procdir, pid);
	if (read_file(path, buf, sizeof(buf)))
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
	char want[96], path[PATH_MAX], comm[64];
	struct dirent *de;
	int found = 0;
	DIR *d;

	snprintf(want, sizeof(want), "%u.%s", domid, devname);
	d = opendir(procdir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		const char *s = de->d_name;

		if (!isdigit((unsigned char)*s) || strspn(s, "0123456789") != strlen(s))
			continue;
		pathf(path, sizeof(path), "%s/%s/comm", procdir, s);
		if (read_file(path, comm, sizeof(comm)))
			continue;	/* exited meanwhile */
		comm[strcspn(comm, "\n")] = '\0';
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
	char path[PATH_MAX], comm[64];
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

		if (!isdigit((unsigned char)*s) || strspn(s, "0123456789") != strlen(s))
			continue;
		pathf(path, sizeof(path), "%s/%s/comm", procdir, s);
		if (read_file(path, comm, sizeof(comm)))
			continue;	/* exited meanwhile */
		comm[strcspn(comm, "\n")] = '\0';
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
	char path[PATH_MAX], comm[64], s[16];

	snprintf(s, sizeof(s), "%d", (int)pid);
	pathf(path, sizeof(path), "%s/%s/comm", procdir, s);
	if (read_file(path, comm, sizeof(comm)))
		return -ENOENT;
	comm[strcspn(comm, "\n")] = '\0';
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

/* --- what the throttle cannot do ------------------------------------------- */

static __u64 default_burst(__u64 rate)
{
	__u64 b = blkqos_default_burst(rate);

	return b < BLKQOS_BURST_MAX ? b : BLKQOS_BURST_MAX;
}

struct sbuf {
	char *buf;
	size_t len, off;
	int items;
};

static void add(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	s->items++;
	if (!s->len || s->off >= s->len - 1)
		return;
	if (s->items > 1) {
		n = snprintf(s->buf + s->off, s->len - s->off, ", ");
		s->off = n > 0 && (size_t)n < s->len - s->off ? s->off + n : s->len - 1;
	}
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->off, s->len - s->off, fmt, ap);
	va_end(ap);
	s->off = n > 0 && (size_t)n < s->len - s->off ? s->off + n : s->len - 1;
}

static void scope_keys(struct sbuf *s, const struct blkqos_limits *l, const char *pfx)
{
	int i;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, i);

		if (!x->rate)
			continue;
		if (x->burst != default_burst(x->rate))
			add(s, "%s%s-burst=%llu", pfx, blkqos_limit_names[i],
			    (unsigned long long)x->burst);
		if (x->peak)
			add(s, "%s%s-peak=%llu", pfx, blkqos_limit_names[i],
			    (unsigned long long)x->peak);
	}
	if (l->iops_size)
		add(s, "%siops-size=%llu", pfx, (unsigned long long)l->iops_size);
}

int cg_unsupported_keys(const struct blkqos_limits *l, const struct blkqos_limits *dom,
			unsigned int dom_nr_vbds, bool dom_group, char *buf, size_t len)
{
	struct sbuf s = { buf, len, 0, 0 };
	struct blkqos_limits eff;

	if (len)
		buf[0] = '\0';
	scope_keys(&s, l, "");
	if (l->flush_mode != BLKQOS_FLUSH_OP)
		add(&s, "flush=exempt");
	if (l->discard_mode == BLKQOS_DISCARD_EXEMPT)
		add(&s, "discard=exempt");
	else if (l->discard_mode == BLKQOS_DISCARD_BYTES)
		add(&s, "discard=bytes");
	if (dom && blkqos_limits_any(dom)) {
		if (dom_nr_vbds == 1 || dom_group)
			scope_keys(&s, dom, "domain ");
		else
			add(&s, "domain limits across %u VBDs (need cgroup v2 and one backing device)",
			    dom_nr_vbds);
	}
	/* Total limits: enforced, but per direction. */
	cg_merge_domain(l, dom, dom_nr_vbds, &eff);
	if (eff.iops.rate)
		add(&s, "iops=%llu applies per direction", (unsigned long long)eff.iops.rate);
	if (eff.bps.rate)
		add(&s, "bps=%llu applies per direction", (unsigned long long)eff.bps.rate);
	if (dom && dom_nr_vbds > 1 && dom_group) {
		if (dom->iops.rate)
			add(&s, "domain iops=%llu applies per direction",
			    (unsigned long long)dom->iops.rate);
		if (dom->bps.rate)
			add(&s, "domain bps=%llu applies per direction",
			    (unsigned long long)dom->bps.rate);
	}
	return s.items;
}
