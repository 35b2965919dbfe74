// SPDX-License-Identifier: GPL-2.0
/*
 * Tests of loader/cgroup.c and rings.c (stock-kernel mode). The first part
 * is pure (mountinfo parsing, ring-thread matching on a fake /proc; the
 * io.max lines are tests/unit/test_throttle.c's). The second runs against the host's real cgroup hierarchy
 * (v2 with io, else the v1 blkio one) with a loop device on a tmpfs file and
 * a user process standing in for a ring kthread: needs root; exits 77 if the
 * block throttle is not available.
 *   test_cgroup [-n]    -n: skip the rate check (dd at wiops=50 for 2 s)
 * cmocka, as the unit tests: exit status 1 if any failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <linux/limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "asserts.h"
#include "cgroup.h"
#include "limits.h"

#define SLICE	"blkqos-test.slice"

/* A call that returns 0 or fills err: on failure say what and why. */
#define ASSERT_OK(ret, err, what) do {						\
	if (ret)								\
		fail_msg("%s: %d: %s", (what), (ret), (err));			\
} while (0)

static int rate_check = 1;

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

static int read_text(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	fclose(f);
	return 0;
}

static struct blkqos_limit lim(__u64 rate)
{
	struct blkqos_limit l = { .rate = rate, .burst = rate ? blkqos_default_burst(rate) : 0 };

	return l;
}

/* --- pure ------------------------------------------------------------------ */

/* A fresh directory under /tmp, removed by rm_dir; *state is its path. */
static int make_dir(void **state)
{
	static char dir[64];

	snprintf(dir, sizeof(dir), "/tmp/blkqos-cgtest.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	*state = dir;
	return 0;
}

static int rm_dir(void **state)
{
	char cmd[96];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", (char *)*state);
	return system(cmd) ? -1 : 0;
}

static void test_mountinfo(void **state)
{
	char path[PATH_MAX], out[PATH_MAX];

	snprintf(path, sizeof(path), "%s/mountinfo", (char *)*state);
	write_text(path,
		"22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
		"30 25 0:26 / /sys/fs/cgroup/cpu rw,relatime shared:9 - cgroup cgroup rw,cpu\n"
		"31 25 0:27 / /sys/fs/cgroup/my\\040blkio rw,relatime shared:10 - cgroup cgroup rw,blkio\n"
		"32 25 0:28 / /sys/fs/cgroup/uni\\040fied rw,relatime shared:11 - cgroup2 cgroup2 rw\n");
	/* the cgroup2 mount, escapes undone */
	ASSERT_EQ(cg_find_cgroup2(path, out, sizeof(out)), 0,
		"cg_find_cgroup2(path, out, sizeof(out))");
	ASSERT_STR_EQ(out, "/sys/fs/cgroup/uni fied", "out");
	/* the v1 blkio mount, found by its super option */
	ASSERT_EQ(cg_find_blkio_v1(path, out, sizeof(out)), 0,
		"cg_find_blkio_v1(path, out, sizeof(out))");
	ASSERT_STR_EQ(out, "/sys/fs/cgroup/my blkio", "out");
	/* none found is -ENOENT (blkio_not is not blkio) */
	write_text(path, "22 1 0:21 / /proc rw,nosuid - proc proc rw\n"
			 "30 25 0:26 / /x rw - cgroup cgroup rw,blkio_not\n");
	ASSERT_EQ(cg_find_cgroup2(path, out, sizeof(out)), -ENOENT,
		"cg_find_cgroup2(path, out, sizeof(out))");
	ASSERT_EQ(cg_find_blkio_v1(path, out, sizeof(out)), -ENOENT,
		"cg_find_blkio_v1(path, out, sizeof(out))");
}

static void fake_task(const char *dir, int pid, const char *comm, int kthread)
{
	char path[PATH_MAX], text[256];

	snprintf(path, sizeof(path), "%s/%d", dir, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%d/comm", dir, pid);
	snprintf(text, sizeof(text), "%s\n", comm);
	write_text(path, text);
	snprintf(path, sizeof(path), "%s/%d/stat", dir, pid);
	/* flags is the 9th field; a comm with ") (" must not confuse the parser. */
	snprintf(text, sizeof(text), "%d (%s) S 2 0 0 0 -1 %u 0 0\n", pid, comm,
		 kthread ? 0x00208040u : 0x00400100u);
	write_text(path, text);
}

static int has_pid(const pid_t *p, int n, pid_t want)
{
	int i;

	for (i = 0; i < n; i++)
		if (p[i] == want)
			return 1;
	return 0;
}

static void test_ring_threads(void **state)
{
	const char *dir = *state;
	struct cg_task *t;
	int nt, i, m = 0, m11 = 0, cut = 0;
	pid_t p[16];

	fake_task(dir, 100, "1.xvda-0", 1);
	fake_task(dir, 101, "1.xvda-1", 1);
	fake_task(dir, 102, "1.xvdaa-0", 1);
	fake_task(dir, 103, "11.xvda-0", 1);
	fake_task(dir, 104, "1.xvda", 1);
	fake_task(dir, 105, "1.xvda-0x", 1);
	fake_task(dir, 106, "1.xvda-2", 0);		/* a user process */
	fake_task(dir, 107, "1234567.xvdabcd", 1);	/* "1234567.xvdabcd-3", cut */
	fake_task(dir, 108, "123456.xvdabc-1", 1);	/* 15 characters, whole */
	fake_task(dir, 109, "123456.xvdabc-", 1);	/* cut after the '-' ... but 14 long */
	fake_task(dir, 110, "a) (1.xvda-0", 1);

	/* ring threads of 1.xvda: the two kthreads 1.xvda-0/-1 only */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 1, "xvda", 1, p, 16), 2,
		"cg_find_ring_threads_in(dir, 1, \"xvda\", 1, p, 16)");
	ASSERT_TRUE(has_pid(p, 2, 100) && has_pid(p, 2, 101),
		"has_pid(p, 2, 100) && has_pid(p, 2, 101)");
	/* without kthread_only the user process counts too */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 1, "xvda", 0, p, 16), 3,
		"cg_find_ring_threads_in(dir, 1, \"xvda\", 0, p, 16)");
	ASSERT_TRUE(has_pid(p, 3, 106), "has_pid(p, 3, 106)");
	/* more threads than room: the count is still the total */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 1, "xvda", 1, p, 1), 2,
		"cg_find_ring_threads_in(dir, 1, \"xvda\", 1, p, 1)");
	/* a comm cut at 15 characters matches its VBD */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 1234567, "xvdabcd", 1, p, 16), 1,
		"cg_find_ring_threads_in(dir, 1234567, \"xvdabcd\", 1, p, 16)");
	ASSERT_EQ(p[0], 107, "p[0]");
	/* a 15-character comm with its ring number matches */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 123456, "xvdabc", 1, p, 16), 1,
		"cg_find_ring_threads_in(dir, 123456, \"xvdabc\", 1, p, 16)");
	ASSERT_EQ(p[0], 108, "p[0]");
	/* domain 11 is not domain 1 */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 11, "xvda", 1, p, 16), 1,
		"cg_find_ring_threads_in(dir, 11, \"xvda\", 1, p, 16)");
	ASSERT_EQ(p[0], 103, "p[0]");
	/* none for an unknown VBD; a missing proc directory is -ENOENT */
	ASSERT_EQ(cg_find_ring_threads_in(dir, 2, "xvda", 1, p, 16), 0,
		"cg_find_ring_threads_in(dir, 2, \"xvda\", 1, p, 16)");
	ASSERT_EQ(cg_find_ring_threads_in("/nonexistent-proc", 1, "xvda", 1, p, 16),
			 -ENOENT, "cg_find_ring_threads_in(\"/nonexistent-proc\", 1, \"xvda\", 1, p, 16)");

	/* One scan for every VBD: the same matches as the scan of one. */
	nt = cg_list_ring_tasks(dir, 1, &t);
	for (i = 0; i < nt; i++) {
		m += cg_task_is_ring_of(&t[i], 1, "xvda");
		m11 += cg_task_is_ring_of(&t[i], 11, "xvda");
		cut += cg_task_is_ring_of(&t[i], 1234567, "xvdabcd");
	}
	free(t);
	/* 9 kthreads named <digits>.*, 2 of 1.xvda, 1 of 11.xvda, 1 cut */
	ASSERT_EQ(nt, 9, "nt");
	ASSERT_EQ(m, 2, "m");
	ASSERT_EQ(m11, 1, "m11");
	ASSERT_EQ(cut, 1, "cut");
	/* without kthread_only: the user process too */
	nt = cg_list_ring_tasks(dir, 0, &t);
	free(t);
	ASSERT_EQ(nt, 10, "nt");
	ASSERT_EQ(cg_list_ring_tasks("/nonexistent-proc", 1, &t), -ENOENT,
		"cg_list_ring_tasks(\"/nonexistent-proc\", 1, &t)");
}

/* --- against the real hierarchy -------------------------------------------- */

static char loopdev[64], backing[PATH_MAX];
static pid_t child = -1;

static void cleanup(void)
{
	char cmd[128], err[512];

	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		child = -1;
	}
	if (*cg_slice_path() && cg_remove_all(err, sizeof(err)))
		fprintf(stderr, "cleanup: %s\n", err);
	if (*loopdev) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s", loopdev);
		if (system(cmd))
			fprintf(stderr, "cleanup: %s failed\n", cmd);
		*loopdev = '\0';
	}
	if (*backing) {
		unlink(backing);
		*backing = '\0';
	}
}

/* A stand-in for a ring kthread: named like one, waits for a byte on fd then execs argv. */
static pid_t spawn(const char *comm, int *go_fd, char *const argv[], const char *out)
{
	int fds[2];
	pid_t pid;
	char c;

	if (pipe(fds))
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (!pid) {
		close(fds[1]);
		prctl(PR_SET_NAME, comm);
		if (read(fds[0], &c, 1) != 1)
			_exit(0);
		if (out) {
			int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);

			if (fd >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[0]);
	*go_fd = fds[1];
	/* Until the child has renamed itself, /proc shows the parent's comm. */
	{
		char path[64], name[32];
		int i;

		snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
		for (i = 0; i < 200; i++) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };

			if (!read_text(path, name, sizeof(name)) &&
			    !strncmp(name, comm, strlen(comm)) && name[strlen(comm)] == '\n')
				break;
			nanosleep(&ts, NULL);
		}
	}
	return pid;
}

static int setup_loop(unsigned int *maj, unsigned int *min)
{
	char cmd[PATH_MAX + 64];
	struct stat st;
	FILE *p;
	int fd;

	snprintf(backing, sizeof(backing), "/dev/shm/blkqos-cgtest.%d", (int)getpid());
	fd = open(backing, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, 64 << 20)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	snprintf(cmd, sizeof(cmd), "losetup -f --show %s", backing);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(loopdev, sizeof(loopdev), p))
		*loopdev = '\0';
	pclose(p);
	loopdev[strcspn(loopdev, "\n")] = '\0';
	if (!*loopdev || stat(loopdev, &st) || !S_ISBLK(st.st_mode))
		return -1;
	*maj = major(st.st_rdev);
	*min = minor(st.st_rdev);
	return 0;
}

/* The device's limits as the kernel shows them: "riops=.. wiops=.. rbps=.. wbps=..". */
/* The N of dd's "N+M records out" line in the file, or -1. */
static long dd_records_out(const char *path)
{
	char text[1024] = "", *p;
	long records;

	if (read_text(path, text, sizeof(text)) || !(p = strstr(text, "records out")))
		return -1;
	while (p > text && p[-1] != '\n')
		p--;
	return sscanf(p, "%ld+", &records) == 1 ? records : -1;
}

static void read_limits(const char *dir, unsigned int maj, unsigned int min, char *out, size_t len)
{
	static const char *const v1file[4] = {
		"blkio.throttle.read_iops_device", "blkio.throttle.write_iops_device",
		"blkio.throttle.read_bps_device", "blkio.throttle.write_bps_device",
	};
	static const char *const key[4] = { "riops", "wiops", "rbps", "wbps" };
	char path[PATH_MAX], buf[4096], dev[32], val[4][32], *line;
	int i;

	snprintf(dev, sizeof(dev), "%u:%u ", maj, min);
	for (i = 0; i < 4; i++)
		strcpy(val[i], "max");
	if (cg_is_v1()) {
		for (i = 0; i < 4; i++) {
			snprintf(path, sizeof(path), "%s/%s", dir, v1file[i]);
			if (read_text(path, buf, sizeof(buf)))
				strcpy(val[i], "?");
			for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
				if (!strncmp(line, dev, strlen(dev)))
					snprintf(val[i], sizeof(val[i]), "%s", line + strlen(dev));
		}
	} else {
		snprintf(path, sizeof(path), "%s/io.max", dir);
		if (read_text(path, buf, sizeof(buf)))
			*buf = '\0';
		for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
			char *tok, *save;

			if (strncmp(line, dev, strlen(dev)))
				continue;
			for (tok = strtok_r(line + strlen(dev), " ", &save); tok;
			     tok = strtok_r(NULL, " ", &save))
				for (i = 0; i < 4; i++)
					if (!strncmp(tok, key[i], strlen(key[i])) &&
					    tok[strlen(key[i])] == '=')
						snprintf(val[i], sizeof(val[i]), "%s", tok + strlen(key[i]) + 1);
		}
	}
	snprintf(out, len, "riops=%s wiops=%s rbps=%s wbps=%s", val[0], val[1], val[2], val[3]);
}

/* The cgroup path of pid in the hierarchy in use, from /proc/PID/cgroup. */
static void cgroup_of(pid_t pid, char *out, size_t len)
{
	char path[64], buf[4096], *line;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	*out = '\0';
	if (read_text(path, buf, sizeof(buf)))
		return;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;

		if (!c2)
			continue;
		if (cg_is_v1() ? !strncmp(c1 + 1, "blkio:", 6) : !strncmp(line, "0::", 3)) {
			snprintf(out, len, "%s", c2 + 1);
			return;
		}
	}
}

static int file_has_line(const char *path, const char *want)
{
	char buf[8192], *line;

	if (read_text(path, buf, sizeof(buf)))
		return 0;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strcmp(line, want))
			return 1;
	return 0;
}

static unsigned int maj, min;
static char v2_err[1024];
static int v2_ret;

static int real_setup(void **state)
{
	(void)state;
	if (setup_loop(&maj, &min)) {
		fprintf(stderr, "no loop device on a tmpfs file (%s)\n", backing);
		return -1;
	}
	printf("info: backing device %s = %u:%u\n", loopdev, maj, min);
	return 0;
}

static int real_teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

static void test_init(void **state)
{
	char path[PATH_MAX + 32], got[256], err[1024];

	(void)state;
	/* a failing v2 init names the file it read or wrote */
	if (v2_ret && !strstr(v2_err, "cgroup.controllers") &&
	    !strstr(v2_err, "cgroup.subtree_control"))
		fail_msg("v2 init: %s", v2_err);
	if (access(cg_slice_path(), F_OK))
		fail_msg("slice %s not created", cg_slice_path());
	if (!cg_is_v1()) {
		snprintf(path, sizeof(path), "%s/cgroup.subtree_control", cg_slice_path());
		ASSERT_EQ(read_text(path, got, sizeof(got)), 0,
			"read_text(path, got, sizeof(got))");
		/* +io enabled in the slice's subtree_control */
		ASSERT_NOT_NULL(strstr(got, "io"), "strstr(got, \"io\")");
	}
	/* cg_init again is harmless */
	ASSERT_EQ(cg_init(CG_AUTO, SLICE, err, sizeof(err)), 0,
		"cg_init(CG_AUTO, SLICE, err, sizeof(err))");
}

/* A stand-in ring thread of domain 7, xvdz (devid 51792), through a VBD's group. */
static void test_vbd_group(void **state)
{
	char err[1024], dir[PATH_MAX], path[PATH_MAX + 32], got[256], want[256], cgpath[PATH_MAX];
	char *argv[] = { "sleep", "60", NULL };
	struct blkqos_limits l = { 0 };
	char pidstr[16];
	pid_t found[8];
	int ret, go;

	(void)state;
	child = spawn("7.xvdz-0", &go, argv, NULL);
	/* the stand-in ring thread 7.xvdz-0 is found in /proc ... */
	ASSERT_EQ(cg_find_ring_threads_in("/proc", 7, "xvdz", 0, found, 8), 1,
		"cg_find_ring_threads_in(\"/proc\", 7, \"xvdz\", 0, found, 8)");
	ASSERT_EQ(found[0], child, "found[0]");
	/* ... but not as a kernel thread */
	ASSERT_EQ(cg_find_ring_threads(7, "xvdz", found, 8), 0,
		"cg_find_ring_threads(7, \"xvdz\", found, 8)");
	if (write(go, "g", 1) != 1)
		fail_msg("cannot start the stand-in: %s", strerror(errno));
	close(go);

	l.write_iops = lim(50);
	l.read_bps = lim(1 << 20);
	ret = cg_vbd_apply(7, 51792, maj, min, &l, &child, 1, err, sizeof(err));
	ASSERT_OK(ret, err, "apply write-iops=50 read-bps=1M to vbd 7/51792");
	snprintf(dir, sizeof(dir), "%s/dom-7/vbd-7-51792", cg_slice_path());
	read_limits(dir, maj, min, got, sizeof(got));
	ASSERT_STR_EQ(got, "riops=max wiops=50 rbps=1048576 wbps=max", "got");
	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pidstr, sizeof(pidstr), "%d", (int)child);
	if (!file_has_line(path, pidstr))
		fail_msg("pid %s is not in %s", pidstr, path);
	cgroup_of(child, cgpath, sizeof(cgpath));
	snprintf(want, sizeof(want), "/%s/dom-7/vbd-7-51792", SLICE);
	ASSERT_STR_EQ(cgpath, want, "cgpath");

	memset(&l, 0, sizeof(l));
	l.iops = lim(200);
	l.write_bps = lim(5000000);
	ret = cg_vbd_apply(7, 51792, maj, min, &l, NULL, 0, err, sizeof(err));
	ASSERT_OK(ret, err, "change to iops=200 write-bps=5M");
	read_limits(dir, maj, min, got, sizeof(got));
	ASSERT_STR_EQ(got, "riops=200 wiops=200 rbps=max wbps=5000000", "got");
	memset(&l, 0, sizeof(l));
	ret = cg_vbd_apply(7, 51792, maj, min, &l, NULL, 0, err, sizeof(err));
	ASSERT_OK(ret, err, "change to unlimited");
	read_limits(dir, maj, min, got, sizeof(got));
	ASSERT_STR_EQ(got, "riops=max wiops=max rbps=max wbps=max", "got");

	/* a bad device fails naming the file and value */
	ret = cg_vbd_apply(7, 51792, 4095, 1, &l, NULL, 0, err, sizeof(err));
	ASSERT_NE(ret, 0, "ret");
	if (!strstr(err, "4095:1") || (!strstr(err, "io.max") && !strstr(err, "blkio.throttle")))
		fail_msg("the error names neither device nor file: %s", err);

	ret = cg_vbd_remove(7, 51792, err, sizeof(err));
	ASSERT_OK(ret, err, "remove vbd 7/51792");
	/* its group is gone, and the domain's went with its last VBD */
	ASSERT_NE(access(dir, F_OK), 0, "access(dir, F_OK)");
	ASSERT_EQ(errno, ENOENT, "errno");
	snprintf(path, sizeof(path), "%s/dom-7", cg_slice_path());
	ASSERT_NE(access(path, F_OK), 0, "access(path, F_OK)");
	ASSERT_EQ(errno, ENOENT, "errno");
	/* the thread is back in the root group */
	cgroup_of(child, cgpath, sizeof(cgpath));
	ASSERT_STR_EQ(cgpath, "/", "cgpath");
	/* removing it again */
	ASSERT_EQ(cg_vbd_remove(7, 51792, err, sizeof(err)), -ENOENT,
		"cg_vbd_remove(7, 51792, err, sizeof(err))");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	child = -1;
}

/* A domain of two VBDs on one disk: the domain's group holds its limit. */
static void test_domain_group(void **state)
{
	struct blkqos_limits l = { 0 };
	char err[1024], path[PATH_MAX], got[256];
	int ret;

	(void)state;
	ret = cg_vbd_apply(8, 51712, maj, min, &l, NULL, 0, err, sizeof(err));
	ASSERT_OK(ret, err, "VBD group 8/51712");
	ret = cg_vbd_apply(8, 51728, maj, min, &l, NULL, 0, err, sizeof(err));
	ASSERT_OK(ret, err, "VBD group 8/51728");
	l.read_iops = lim(70);
	ret = cg_dom_apply(8, maj, min, &l, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/dom-8", cg_slice_path());
	if (cg_is_v1()) {
		/* v1: no domain group limit, said so */
		ASSERT_EQ(ret, -EOPNOTSUPP, "ret");
		ASSERT_NOT_NULL(strstr(err, "v1"), "strstr(err, \"v1\")");
	} else {
		/* v2: the domain's group holds read-iops=70, then is lifted */
		ASSERT_OK(ret, err, "domain 8 read-iops=70");
		read_limits(path, maj, min, got, sizeof(got));
		ASSERT_STR_EQ(got, "riops=70 wiops=max rbps=max wbps=max", "got");
		ret = cg_dom_apply(8, maj, min, NULL, err, sizeof(err));
		ASSERT_OK(ret, err, "domain 8 lifted");
		read_limits(path, maj, min, got, sizeof(got));
		ASSERT_STR_EQ(got, "riops=max wiops=max rbps=max wbps=max", "got");
	}
	/* the domain's group stays while a VBD is left ... */
	ret = cg_vbd_remove(8, 51712, err, sizeof(err));
	ASSERT_OK(ret, err, "remove vbd 8/51712");
	ASSERT_EQ(access(path, F_OK), 0, "access(path, F_OK)");
	/* ... and goes with the last */
	ret = cg_vbd_remove(8, 51728, err, sizeof(err));
	ASSERT_OK(ret, err, "remove vbd 8/51728");
	ASSERT_NE(access(path, F_OK), 0, "access(path, F_OK)");
}

/* dd for 2 s (or 1) as domain 7's ring thread; the records it wrote. */
static long dd_as_ring(const char *comm, const char *secs, const struct blkqos_limits *l)
{
	char *argv[] = { "timeout", "-s", "INT", (char *)secs, "dd", "if=/dev/zero", "",
			 "bs=4096", "count=100000", "oflag=direct", NULL };
	char out[] = "/dev/shm/blkqos-cgtest-dd.XXXXXX", of[80], err[1024];
	long records;
	int fd = mkstemp(out), ret, go;

	if (fd >= 0)
		close(fd);
	snprintf(of, sizeof(of), "of=%s", loopdev);
	argv[6] = of;
	child = spawn(comm, &go, argv, out);
	ret = cg_vbd_apply(7, 51792, maj, min, l, &child, 1, err, sizeof(err));
	if (write(go, "g", 1) != 1)
		ret = -errno;
	close(go);
	waitpid(child, NULL, 0);
	child = -1;
	records = dd_records_out(out);
	unlink(out);
	ASSERT_OK(ret, err, "dd's process in the VBD's group");
	return records;
}

/* The kernel's throttle holds dd to wiops=50: about 100 writes in 2 s. */
static void test_rate(void **state)
{
	struct blkqos_limits l = { 0 };
	long records;

	(void)state;
	if (!rate_check)
		skip();
	l.write_iops = lim(50);
	records = dd_as_ring("7.xvdz-1", "2", &l);
	/* 100 direct 4 KiB writes +-20 % */
	ASSERT_IN_RANGE(records, 80, 120, "records");
	/* the same for 1 s without a limit: the throttle, not the device, made it slow */
	memset(&l, 0, sizeof(l));
	records = dd_as_ring("7.xvdz-2", "1", &l);
	ASSERT_IN_RANGE(records, 251, 100000, "records");	/* dd's count */
}

/* Two VBDs, then unload: nothing left. */
static void test_remove_all(void **state)
{
	struct blkqos_limits l = { 0 };
	char err[1024];
	int ret;

	(void)state;
	l.read_iops = lim(10);
	ret = cg_vbd_apply(7, 51712, maj, min, &l, NULL, 0, err, sizeof(err));
	ASSERT_OK(ret, err, "VBD group 7/51712");
	ret = cg_vbd_apply(8, 51728, maj, min, &l, NULL, 0, err, sizeof(err));
	ASSERT_OK(ret, err, "VBD group 8/51728");
	ret = cg_remove_all(err, sizeof(err));
	ASSERT_OK(ret, err, "remove all");
	ASSERT_NE(access(cg_slice_path(), F_OK), 0, "access(cg_slice_path(), F_OK)");
	ASSERT_EQ(errno, ENOENT, "errno");
}

int main(int argc, char **argv)
{
	const struct CMUnitTest pure[] = {
		cmocka_unit_test_setup_teardown(test_mountinfo, make_dir, rm_dir),
		cmocka_unit_test_setup_teardown(test_ring_threads, make_dir, rm_dir),
	};
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_vbd_group),
		cmocka_unit_test(test_domain_group),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_remove_all),
	};
	char err[1024];
	int failed;

	rate_check = !(argc > 1 && !strcmp(argv[1], "-n"));
	failed = cmocka_run_group_tests_name("pure", pure, NULL, NULL);
	if (geteuid()) {
		printf("SKIP: the cgroup tests need root\n");
		return failed ? 1 : 77;
	}
	v2_ret = cg_init(CG_V2, SLICE, v2_err, sizeof(v2_err));
	printf("info: cgroup v2 with io: %s\n", v2_ret ? v2_err : "available");
	if (cg_init(CG_AUTO, SLICE, err, sizeof(err))) {
		printf("SKIP: no cgroup block throttle here: %s\n", err);
		return failed ? 1 : 77;
	}
	printf("info: using %s at %s, slice %s\n", cg_is_v1() ? "cgroup v1 blkio (hybrid host)" :
	       "cgroup v2 io.max", cg_root_path(), cg_slice_path());
	failed += cmocka_run_group_tests_name("real", real, real_setup, real_teardown);
	return failed ? 1 : 0;
}
