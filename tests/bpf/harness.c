// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "limits.h"

int test_passed, test_failed;

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_WARN || getenv("BLKQOS_TEST_VERBOSE"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

struct blkqos_bpf *harness_load(void)
{
	struct blkqos_bpf *skel;
	struct statfs fs;
	int err;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: the BPF tests need root (they load programs into the kernel)\n");
		exit(77);
	}
	if (statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type != BPF_FS_MAGIC)
		mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL);
	libbpf_set_print(quiet_print);
	skel = blkqos_bpf__open();
	if (!skel) {
		fprintf(stderr, "FAIL: cannot open the BPF object: %s\n", strerror(errno));
		exit(1);
	}
	err = blkqos_bpf__load(skel);
	if (err) {
		if (err == -ENOSYS || err == -EPERM) {
			fprintf(stderr, "SKIP: this kernel cannot load BPF programs (%s)\n",
				strerror(-err));
			exit(77);
		}
		fprintf(stderr, "FAIL: the kernel refused the BPF object: %s\n", strerror(-err));
		exit(1);
	}
	return skel;
}

int run_ctx(struct blkqos_bpf *skel, struct blkqos_test_ctx *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = sizeof(*ctx));
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.blkqos_test), &opts);

	if (err)
		return err;
	return ctx->verdict < 0 ? (int)ctx->verdict : 0;
}

long long run_admit(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind, __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_ADMIT, .domid = domid, .devid = devid, .kind = kind, .now_ns = now,
	};

	if (run_ctx(skel, &ctx))
		return -1;
	return ctx.verdict ? 0 : (long long)ctx.wait_ns;
}

int run_charge(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
	       __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_CHARGE, .domid = domid, .devid = devid, .kind = kind,
		.bytes = bytes, .now_ns = now,
	};

	return run_ctx(skel, &ctx) ? -1 : 0;
}

static __u64 test_epoch(void)
{
	static __u64 epoch;

	return ++epoch;
}

static int set_limits(int limits_fd, const void *key, struct blkqos_limits *l)
{
	struct blkqos_limits old;
	char err[200];
	int have_old = bpf_map_lookup_elem(limits_fd, key, &old) == 0;

	if (blkqos_limits_derive(l, err, sizeof(err))) {
		fprintf(stderr, "test limits rejected: %s\n", err);
		return -1;
	}
	blkqos_limits_carry_epochs(have_old ? &old : NULL, l, test_epoch);
	return bpf_map_update_elem(limits_fd, key, l, BPF_ANY);
}

int set_vbd_limits(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_limits *l)
{
	struct blkqos_vbd_key key = { domid, devid };

	return set_limits(bpf_map__fd(skel->maps.vbd_limits), &key, l);
}

int set_dom_limits(struct blkqos_bpf *skel, __u32 domid, struct blkqos_limits *l)
{
	return set_limits(bpf_map__fd(skel->maps.dom_limits), &domid, l);
}

int get_vbd_buckets(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_buckets *b)
{
	struct blkqos_vbd_key key = { domid, devid };

	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.vbd_buckets), &key, b);
}

int get_dom_buckets(struct blkqos_bpf *skel, __u32 domid, struct blkqos_buckets *b)
{
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.dom_buckets), &domid, b);
}

int get_vbd_stats(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_stats *s)
{
	struct blkqos_vbd_key key = { domid, devid };
	int ncpu = libbpf_num_possible_cpus(), i, j, err;
	struct blkqos_stats *per = calloc(ncpu, sizeof(*per));

	if (!per)
		return -ENOMEM;
	memset(s, 0, sizeof(*s));
	err = bpf_map_lookup_elem(bpf_map__fd(skel->maps.vbd_stats), &key, per);
	for (i = 0; !err && i < ncpu; i++)
		for (j = 0; j < (int)(sizeof(*s) / sizeof(__u64)); j++)
			((__u64 *)s)[j] += ((__u64 *)&per[i])[j];
	free(per);
	return err;
}

static void clear_map(struct bpf_map *map)
{
	int fd = bpf_map__fd(map);
	char key[64], next[64];

	while (bpf_map_get_next_key(fd, NULL, next) == 0) {
		memcpy(key, next, sizeof(key));
		if (bpf_map_delete_elem(fd, key))
			break;
	}
}

void clear_maps(struct blkqos_bpf *skel)
{
	clear_map(skel->maps.vbd_limits);
	clear_map(skel->maps.vbd_buckets);
	clear_map(skel->maps.vbd_stats);
	clear_map(skel->maps.dom_limits);
	clear_map(skel->maps.dom_buckets);
}

int harness_report(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, test_passed, test_failed);
	return test_failed ? 1 : 0;
}
