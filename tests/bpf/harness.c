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
#include "maps.h"

static struct blkqos_maps maps;

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
	bpf_program__set_autoload(skel->progs.blkqos_test_bench_base, true);
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
	if (blkqos_maps_init(&maps, bpf_map__fd(skel->maps.vbds), bpf_map__fd(skel->maps.doms),
			     bpf_map__fd(skel->maps.vbd_buckets), bpf_map__fd(skel->maps.dom_buckets),
			     bpf_map__fd(skel->maps.vbd_stats))) {
		fprintf(stderr, "FAIL: cannot set up the maps\n");
		exit(1);
	}
	if (blkqos_maps_set_hist(&maps, bpf_map__fd(skel->maps.vbd_hist))) {
		fprintf(stderr, "FAIL: cannot set up the histogram map\n");
		exit(1);
	}
	return skel;
}

int run_ctx(struct blkqos_bpf *skel, struct blkqos_test_ctx *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = sizeof(*ctx));
	struct bpf_program *prog;
	int err;

	switch (ctx->op) {
	case BLKQOS_TEST_ADMIT:
		prog = skel->progs.blkqos_test_admit;
		break;
	case BLKQOS_TEST_CHARGE:
		prog = skel->progs.blkqos_test_charge;
		break;
	case BLKQOS_TEST_BENCH:
		prog = skel->progs.blkqos_test_bench;
		break;
	case BLKQOS_TEST_ADMIT_REQ:
		prog = skel->progs.blkqos_test_admit_req;
		break;
	case BLKQOS_TEST_DISPATCH:
		prog = skel->progs.blkqos_test_dispatch;
		break;
	case BLKQOS_TEST_BENCH_BASE:
		prog = skel->progs.blkqos_test_bench_base;
		break;
	default:
		return -EINVAL;
	}
	err = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);

	if (err)
		return err;
	return ctx->verdict < 0 ? (int)ctx->verdict : 0;
}

long long run_admit(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind,
		    __u64 est_bytes, __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_ADMIT, .domid = domid, .devid = devid, .kind = kind,
		.bytes = est_bytes, .now_ns = now,
	};

	if (run_ctx(skel, &ctx))
		return -1;
	return ctx.verdict ? 0 : (long long)ctx.wait_ns;
}

int run_charge(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind, __u64 bytes,
	       __u64 now)
{
	return run_charge_parked(skel, domid, devid, kind, bytes, 0, now);
}

int run_charge_parked(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 kind,
		      __u64 bytes, __u64 parked_ns, __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_CHARGE, .domid = domid, .devid = devid, .kind = kind,
		.bytes = bytes, .now_ns = now, .parked_ns = parked_ns,
	};

	return run_ctx(skel, &ctx) ? -1 : 0;
}

long long run_admit_req(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u8 op, __u8 inner_op,
		       __u16 nr_segments, __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_ADMIT_REQ, .domid = domid, .devid = devid, .now_ns = now,
	};

	/* Xen io/blkif.h: operation, then nr_segments (direct) or indirect_op, nr_segments. */
	ctx.req_head[0] = op;
	if (op == BLKIF_OP_INDIRECT) {
		ctx.req_head[1] = inner_op;
		memcpy(&ctx.req_head[2], &nr_segments, sizeof(nr_segments));
	} else {
		ctx.req_head[1] = (__u8)nr_segments;
	}
	if (run_ctx(skel, &ctx))
		return -1;
	return ctx.verdict ? 0 : (long long)ctx.wait_ns;
}

int run_dispatch(struct blkqos_bpf *skel, __u32 domid, __u32 devid, __u32 op, __u64 nr_sectors,
		 __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_DISPATCH, .domid = domid, .devid = devid, .blkif_op = op,
		.nr_sectors = nr_sectors, .now_ns = now,
	};

	return run_ctx(skel, &ctx) ? -1 : 0;
}

struct blkqos_maps *harness_maps(void)
{
	return &maps;
}

int set_vbd_limits(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_limits *l)
{
	char err[200];
	int ret = blkqos_maps_vbd_set(&maps, domid, devid, l, err, sizeof(err));

	(void)skel;
	if (ret)
		fprintf(stderr, "test limits rejected: %s\n", err);
	return ret;
}

int set_dom_limits(struct blkqos_bpf *skel, __u32 domid, struct blkqos_limits *l)
{
	char err[200];
	int ret = blkqos_maps_dom_set(&maps, domid, l, err, sizeof(err));

	(void)skel;
	if (ret)
		fprintf(stderr, "test limits rejected: %s\n", err);
	return ret;
}

int add_vbd(struct blkqos_bpf *skel, __u32 domid, __u32 devid)
{
	(void)skel;
	return blkqos_maps_vbd_add(&maps, domid, devid);
}

int get_vbd_buckets(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_buckets *b)
{
	struct blkqos_vbd v;

	(void)skel;
	if (blkqos_maps_vbd_get(&maps, domid, devid, &v))
		return -ENOENT;
	return blkqos_maps_vbd_buckets(&maps, v.slot, b);
}

int get_dom_buckets(struct blkqos_bpf *skel, __u32 domid, struct blkqos_buckets *b)
{
	struct blkqos_dom d;

	(void)skel;
	if (blkqos_maps_dom_get(&maps, domid, &d))
		return -ENOENT;
	return blkqos_maps_dom_buckets(&maps, d.slot, b);
}

int get_vbd_stats(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_stats *s)
{
	struct blkqos_vbd v;

	(void)skel;
	if (blkqos_maps_vbd_get(&maps, domid, devid, &v))
		return -ENOENT;
	return blkqos_maps_vbd_stats(&maps, v.slot, s);
}

int get_vbd_hist(struct blkqos_bpf *skel, __u32 domid, __u32 devid, struct blkqos_hist *h)
{
	struct blkqos_vbd v;

	(void)skel;
	if (blkqos_maps_vbd_get(&maps, domid, devid, &v))
		return -ENOENT;
	return blkqos_maps_vbd_hist(&maps, v.slot, h);
}

void clear_maps(struct blkqos_bpf *skel)
{
	struct blkqos_vbd_key k;
	__u32 d;

	(void)skel;
	while (blkqos_maps_dom_next(&maps, NULL, &d) == 0)
		if (blkqos_maps_dom_del(&maps, d))
			break;
	while (blkqos_maps_vbd_next(&maps, NULL, &k) == 0)
		if (blkqos_maps_vbd_del(&maps, k.domid, k.devid))
			break;
}
