// SPDX-License-Identifier: GPL-2.0
/*
 * In-kernel tests of the token-bucket engine: the real object, the real
 * verifier and JIT, driven through the blkqos_test_* syscall entries with a
 * synthetic clock. Nothing here reads the wall clock.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "harness.h"
#include "refmodel.h"
#include "limits.h"

#define SEC_NS	1000000000ULL
#define MS_NS	1000000ULL
#define T0	(100 * SEC_NS)	/* synthetic boot-relative start time */
#define TOKENS(n) ((long long)(n) * (long long)BLKQOS_SCALE)

static struct blkqos_bpf *skel;

static __u64 div_up(__u64 n, __u64 d)
{
	return n / d + (n % d != 0);
}

#define R BLKQOS_KIND_READ
#define W BLKQOS_KIND_WRITE
#define F BLKQOS_KIND_FLUSH
#define D BLKQOS_KIND_DISCARD

/* Admit then charge, as blkback's hook and tracepoint do. Returns the wait. */
static long long io(__u32 dom, __u32 dev, __u32 kind, __u64 bytes, __u64 now)
{
	long long wait = run_admit(skel, dom, dev, kind, bytes, now);

	if (wait == 0 && run_charge(skel, dom, dev, kind, bytes, now))
		return -1;
	return wait;
}

static long long vbd_level(__u32 dom, __u32 dev, int limit, bool peak)
{
	struct blkqos_buckets b;
	struct blkqos_bucket_pair *p = BLKQOS_PAIR_AT(&b, limit);

	if (get_vbd_buckets(skel, dom, dev, &b))
		return -999;
	return peak ? p->peak.level : p->sustained.level;
}

static void test_admit_until_empty(void)
{
	struct blkqos_limits l = { .iops = lim(100, 10, 0) };
	int i, admitted = 0;

	clear_maps(skel);
	set_vbd_limits(skel, 1, 51712, &l);
	/* Debt model: 10 tokens admit 11 requests (the 11th goes to -1). */
	for (i = 0; i < 20; i++)
		admitted += io(1, 51712, R, 4096, T0) == 0;
	ASSERT_EQ(admitted, 11, "requests admitted from a full 10-op bucket at one instant");
	ASSERT_EQ(vbd_level(1, 51712, BLKQOS_LIM_IOPS, false), TOKENS(-1),
		  "level after 11 single-op charges on 10 tokens");
}

static void test_exact_wait(void)
{
	struct blkqos_limits l = { .iops = lim(100, 10, 0) };
	int i;

	clear_maps(skel);
	set_vbd_limits(skel, 1, 1, &l);
	for (i = 0; i < 11; i++)
		io(1, 1, R, 4096, T0);
	/* -1 token at 100 ops/s is back at zero after exactly 10 ms. */
	ASSERT_EQ(run_admit(skel, 1, 1, R, 4096, T0), 10 * MS_NS, "wait for one op of debt at 100/s");
	ASSERT_EQ(run_admit(skel, 1, 1, R, 4096, T0 + 10 * MS_NS - 1), 1, "wait 1 ns before zero");
	ASSERT_EQ(run_admit(skel, 1, 1, R, 4096, T0 + 10 * MS_NS), 0, "admitted exactly at zero");

	/* A fractional rate: 3 ops/s, 1 op of debt = ceil(1e9 / 3) ns. */
	l = (struct blkqos_limits){ .iops = lim(3, 1, 0) };
	clear_maps(skel);
	set_vbd_limits(skel, 1, 1, &l);
	io(1, 1, R, 512, T0);
	io(1, 1, R, 512, T0);
	ASSERT_EQ(run_admit(skel, 1, 1, R, 4096, T0), 333333334, "wait rounds up, 1 op at 3/s");
	ASSERT_EQ(io(1, 1, R, 512, T0 + 333333334), 0, "admitted after the rounded-up wait");
	ASSERT_EQ(vbd_level(1, 1, BLKQOS_LIM_IOPS, false), TOKENS(-1) + 2,
		  "no fraction lost: 3*333333334-1e9 nano-tokens left over");
}

static void test_refill_capped(void)
{
	struct blkqos_limits l = { .bps = lim(1000000, 65536, 0) };

	clear_maps(skel);
	set_vbd_limits(skel, 2, 1, &l);
	io(2, 1, W, 1 << 20, T0);
	ASSERT_EQ(vbd_level(2, 1, BLKQOS_LIM_BPS, false), TOKENS(65536 - (1 << 20)),
		  "a request larger than the bucket is admitted and charged in full");
	/* An hour idle: full, not more. */
	run_charge(skel, 2, 1, W, 0, T0 + 3600 * SEC_NS);
	ASSERT_EQ(vbd_level(2, 1, BLKQOS_LIM_BPS, false), TOKENS(65536), "level after an hour idle");
	/* Exactly 0.5 s refills 500000 bytes from debt. */
	io(2, 1, W, 1 << 20, T0 + 3601 * SEC_NS);
	run_charge(skel, 2, 1, W, 0, T0 + 3601 * SEC_NS + SEC_NS / 2);
	ASSERT_EQ(vbd_level(2, 1, BLKQOS_LIM_BPS, false), TOKENS(65536 - (1 << 20) + 500000),
		  "refill over 0.5 s at 1 MB/s");
}

static void test_direction_separation(void)
{
	struct blkqos_limits l = { .read_iops = lim(10, 1, 0), .write_bps = lim(4096, 4096, 0) };

	clear_maps(skel);
	set_vbd_limits(skel, 3, 1, &l);
	ASSERT_EQ(io(3, 1, R, 4096, T0), 0, "first read");
	ASSERT_EQ(io(3, 1, R, 4096, T0), 0, "second read (debt)");
	ASSERT_EQ(io(3, 1, R, 4096, T0), 100 * MS_NS, "third read waits 1 op at 10/s");
	ASSERT_EQ(io(3, 1, W, 8192, T0), 0, "writes ignore the read limit");
	ASSERT_EQ(io(3, 1, W, 4096, T0), SEC_NS, "write waits 4096 bytes at 4096/s");
	ASSERT_EQ(io(3, 1, R, 4096, T0 + 100 * MS_NS), 0, "reads ignore the write limit");

	/* A total limit governs both directions. */
	l = (struct blkqos_limits){ .iops = lim(1, 1, 0) };
	clear_maps(skel);
	set_vbd_limits(skel, 3, 1, &l);
	io(3, 1, R, 4096, T0);
	io(3, 1, W, 4096, T0);
	ASSERT_EQ(io(3, 1, R, 4096, T0), SEC_NS, "total limit holds back a read after a write");
	ASSERT_EQ(io(3, 1, W, 4096, T0), SEC_NS, "and a write");
}

static void test_iops_size(void)
{
	struct blkqos_limits l = { .iops = lim(100, 10, 0), .iops_size = 4096 };

	clear_maps(skel);
	set_vbd_limits(skel, 4, 1, &l);
	io(4, 1, R, 65536, T0);
	ASSERT_EQ(vbd_level(4, 1, BLKQOS_LIM_IOPS, false), TOKENS(10 - 16), "64 KiB = 16 ops of 4 KiB");
	ASSERT_EQ(run_admit(skel, 4, 1, R, 4096, T0), 60 * MS_NS, "wait for 6 ops of debt at 100/s");
	io(4, 1, R, 4097, T0 + 60 * MS_NS);
	ASSERT_EQ(vbd_level(4, 1, BLKQOS_LIM_IOPS, false), TOKENS(-2), "4097 bytes = 2 ops");
	io(4, 1, R, 512, T0 + 80 * MS_NS);
	ASSERT_EQ(vbd_level(4, 1, BLKQOS_LIM_IOPS, false), TOKENS(-1), "a small request is 1 op");
}

static void test_peak_and_burst(void)
{
	/* 10 ops/s sustained, 100 ops of burst, spent at most at 1000 ops/s. */
	struct blkqos_limits l = { .iops = lim(10, 100, 1000) };
	__u64 t = T0;
	int i, admitted = 0;

	clear_maps(skel);
	set_vbd_limits(skel, 5, 1, &l);
	/* The peak bucket holds 10 ms of peak = 10 ops: 11 pass at once (debt model). */
	for (i = 0; i < 20; i++)
		admitted += io(5, 1, R, 4096, t) == 0;
	ASSERT_EQ(admitted, 11, "requests passing at one instant with a peak rate");
	ASSERT_EQ(run_admit(skel, 5, 1, R, 4096, t), MS_NS, "then one every 1 ms (peak 1000/s)");
	/* Spend the rest of the burst at the peak rate: 1 ms apart. */
	for (i = 0; i < 200; i++) {
		long long w = run_admit(skel, 5, 1, R, 4096, t);

		if (w) {
			t += w;
			continue;
		}
		io(5, 1, R, 4096, t);
		admitted++;
		if (admitted == 101)
			break;
	}
	ASSERT_EQ(admitted, 101, "the whole burst passed");
	ASSERT_TRUE(t - T0 <= 91 * MS_NS && t - T0 >= 89 * MS_NS,
		    "burst of 101 spent in ~90 ms at the peak rate");
	/* Burst spent: the sustained 10/s rate holds (100 ms per op). */
	ASSERT_EQ(run_admit(skel, 5, 1, R, 4096, t), 10 * MS_NS,
		  "burst spent: 0.1 op of debt at the sustained 10/s");
}

static void test_vbd_and_domain(void)
{
	struct blkqos_limits dl = { .iops = lim(10, 4, 0) };
	struct blkqos_limits vl = { .bps = lim(1 << 20, 1 << 20, 0) };
	struct blkqos_buckets b;
	int i, a = 0;

	clear_maps(skel);
	set_dom_limits(skel, 6, &dl);
	set_vbd_limits(skel, 6, 51712, &vl);
	add_vbd(skel, 6, 51728);
	/* Two disks share the domain's 4 + 1 requests. */
	for (i = 0; i < 6; i++) {
		a += io(6, 51712, R, 4096, T0) == 0;
		a += io(6, 51728, W, 4096, T0) == 0;
	}
	ASSERT_EQ(a, 5, "two VBDs share one domain bucket of 4 (+1 debt)");
	ASSERT_EQ(get_dom_buckets(skel, 6, &b), 0, "domain bucket exists");
	ASSERT_EQ(b.iops.sustained.level, TOKENS(-3),
		  "domain level: 1 op of debt, and each VBD's turn paid in advance");
	/* The VBD's own byte limit still applies on top. */
	io(6, 51712, R, 3 << 19, T0 + SEC_NS);
	ASSERT_EQ(run_admit(skel, 6, 51712, R, 4096, T0 + SEC_NS), 500 * MS_NS,
		  "VBD byte debt of 0.5 MiB at 1 MiB/s");
	ASSERT_EQ(run_admit(skel, 6, 51728, R, 4096, T0 + SEC_NS), 0, "the other VBD is not held by it");
	/* The wait covers every bucket: both in debt, the longer wins. */
	for (i = 0; i < 10; i++)
		run_charge(skel, 6, 51728, R, 4096, T0 + SEC_NS);
	ASSERT_EQ(run_admit(skel, 6, 51712, R, 4096, T0 + SEC_NS), 500 * MS_NS,
		  "the VBD's own buckets first (0.5 s), though the domain's is 7 ops behind");
	ASSERT_EQ(run_admit(skel, 6, 51712, R, 4096, T0 + SEC_NS + 500 * MS_NS), 100 * MS_NS,
		  "then the domain's: 6 ops of debt at 10/s, less the 0.5 s gone");
}

static void test_live_change(void)
{
	struct blkqos_limits l = { .iops = lim(100, 10, 0) };
	struct blkqos_buckets b;

	clear_maps(skel);
	set_vbd_limits(skel, 7, 1, &l);
	for (int i = 0; i < 5; i++)
		io(7, 1, R, 4096, T0);
	ASSERT_EQ(vbd_level(7, 1, BLKQOS_LIM_IOPS, false), TOKENS(5), "level before the change");
	l.iops = lim(200, 20, 0);
	set_vbd_limits(skel, 7, 1, &l);
	io(7, 1, R, 4096, T0);
	ASSERT_EQ(vbd_level(7, 1, BLKQOS_LIM_IOPS, false), TOKENS(4), "raising the limit keeps the level");
	l.iops = lim(200, 2, 0);
	set_vbd_limits(skel, 7, 1, &l);
	ASSERT_EQ(io(7, 1, R, 4096, T0), 0, "still admitted");
	ASSERT_EQ(vbd_level(7, 1, BLKQOS_LIM_IOPS, false), TOKENS(1),
		  "lowering the burst clamps the level (2 - 1)");
	io(7, 1, R, 4096, T0);
	io(7, 1, R, 4096, T0);
	ASSERT_EQ(vbd_level(7, 1, BLKQOS_LIM_IOPS, false), TOKENS(-1), "charged under the new limit");
	ASSERT_EQ(run_admit(skel, 7, 1, R, 4096, T0), 5 * MS_NS, "wait at the new rate");

	/* A limit that was unlimited is a new bucket and starts full. */
	l.bps = lim(1000, 500, 0);
	set_vbd_limits(skel, 7, 1, &l);
	io(7, 1, R, 100, T0 + 10 * MS_NS);
	ASSERT_EQ(get_vbd_buckets(skel, 7, 1, &b), 0, "buckets");
	ASSERT_EQ(b.bps.sustained.level, TOKENS(400), "new bps bucket started full (500-100)");
	ASSERT_EQ(b.iops.sustained.level, TOKENS(0), "iops bucket kept its level (-1+2-1)");
}

static void test_flush_discard(void)
{
	struct blkqos_limits l = { .write_iops = lim(1, 1, 0), .write_bps = lim(4000, 1000, 0) };
	struct blkqos_buckets b;

	clear_maps(skel);
	set_vbd_limits(skel, 8, 1, &l);
	io(8, 1, F, 0, T0);
	io(8, 1, D, 1 << 30, T0);
	ASSERT_EQ(vbd_level(8, 1, BLKQOS_LIM_WRITE_IOPS, false), TOKENS(-1), "flush and discard: 1 write op each");
	ASSERT_EQ(get_vbd_buckets(skel, 8, 1, &b), 0, "buckets");
	ASSERT_EQ(b.write_bps.sustained.epoch, 0, "and no bytes by default: bps bucket untouched");
	ASSERT_EQ(run_admit(skel, 8, 1, F, 4096, T0), SEC_NS, "a flush waits on the write-iops bucket");

	l.flush_mode = BLKQOS_FLUSH_EXEMPT;
	l.discard_mode = BLKQOS_DISCARD_EXEMPT;
	set_vbd_limits(skel, 8, 1, &l);
	ASSERT_EQ(io(8, 1, F, 0, T0), 0, "exempt flush is not held");
	ASSERT_EQ(io(8, 1, D, 4096, T0), 0, "exempt discard is not held");
	ASSERT_EQ(vbd_level(8, 1, BLKQOS_LIM_WRITE_IOPS, false), TOKENS(-1), "nor charged");

	l.discard_mode = BLKQOS_DISCARD_BYTES;
	set_vbd_limits(skel, 8, 1, &l);
	io(8, 1, D, 3000, T0 + 2 * SEC_NS);
	ASSERT_EQ(vbd_level(8, 1, BLKQOS_LIM_WRITE_BPS, false), TOKENS(1000 - 3000),
		  "discard in bytes mode charges its extent");
	ASSERT_EQ(run_admit(skel, 8, 1, D, 4096, T0 + 2 * SEC_NS), 500 * MS_NS,
		  "and then waits on the byte bucket");
	ASSERT_EQ(run_admit(skel, 8, 1, R, 4096, T0 + 2 * SEC_NS), 0, "reads are not held by write limits");
}

/* The request-level entries: what the hook and the tracepoint hand the engine. */
static void test_ring_requests(void)
{
	struct blkqos_limits l = { .read_iops = lim(10, 1, 0), .write_bps = lim(4096, 4096, 0) };

	clear_maps(skel);
	set_vbd_limits(skel, 11, 1, &l);
	ASSERT_EQ(run_admit_req(skel, 11, 1, BLKIF_OP_READ, 0, 1, T0), 0, "a read from the ring");
	run_dispatch(skel, 11, 1, BLKIF_OP_READ, 8, T0);
	run_dispatch(skel, 11, 1, BLKIF_OP_READ, 8, T0);
	ASSERT_EQ(run_admit_req(skel, 11, 1, BLKIF_OP_INDIRECT, BLKIF_OP_READ, 300, T0),
		  100 * MS_NS, "an indirect read waits on the read limit");
	ASSERT_EQ(run_admit_req(skel, 11, 1, BLKIF_OP_WRITE, 0, 1, T0), 0, "a write does not");
	run_dispatch(skel, 11, 1, BLKIF_OP_WRITE, 16, T0);
	ASSERT_EQ(vbd_level(11, 1, BLKQOS_LIM_WRITE_BPS, false), TOKENS(4096 - 8192),
		  "a dispatched write of 16 sectors is 8192 bytes");
	ASSERT_EQ(run_admit_req(skel, 11, 1, BLKIF_OP_INDIRECT, BLKIF_OP_WRITE, 300, T0), SEC_NS,
		  "an indirect write waits on the write limit");
	ASSERT_EQ(run_admit_req(skel, 11, 1, 99, 0, 0, T0), 0, "an unknown op is left to blkback");
}

/*
 * blkfront sends every FUA or preflush write as a flush (or barrier) that
 * carries data, direct or indirect: its bytes and its op are a write's,
 * whatever the flush mode; flush=exempt frees only an empty flush.
 */
static void test_flush_data(void)
{
	struct blkqos_limits l = { .write_iops = lim(1000, 1000, 0), .write_bps = lim(4096, 4096, 0),
				   .bps = lim(1 << 20, 1 << 20, 0) };
	struct blkqos_stats s;

	clear_maps(skel);
	set_vbd_limits(skel, 12, 1, &l);
	ASSERT_EQ(run_admit_req(skel, 12, 1, BLKIF_OP_FLUSH_DISKCACHE, 0, 2, T0), 0,
		  "a FUA write on full buckets is admitted");
	run_dispatch(skel, 12, 1, BLKIF_OP_FLUSH_DISKCACHE, 16, T0);
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_WRITE_BPS, false), TOKENS(4096 - 8192),
		  "its 16 sectors are charged under write-bps");
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_BPS, false), TOKENS((1 << 20) - 8192),
		  "and under bps");
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_WRITE_IOPS, false), TOKENS(999), "as one write op");
	ASSERT_EQ(run_admit_req(skel, 12, 1, BLKIF_OP_FLUSH_DISKCACHE, 0, 1, T0), SEC_NS,
		  "the next FUA write waits for the write-bps debt");
	ASSERT_EQ(run_admit_req(skel, 12, 1, BLKIF_OP_INDIRECT, BLKIF_OP_WRITE_BARRIER, 40, T0),
		  SEC_NS, "so does an indirect barrier with data");
	ASSERT_EQ(run_admit_req(skel, 12, 1, BLKIF_OP_FLUSH_DISKCACHE, 0, 0, T0), 0,
		  "an empty flush is one op: bytes do not hold it");

	/* flush=exempt: the empty flush is free, the data never is. */
	l.flush_mode = BLKQOS_FLUSH_EXEMPT;
	set_vbd_limits(skel, 12, 1, &l);
	run_dispatch(skel, 12, 1, BLKIF_OP_FLUSH_DISKCACHE, 0, T0);
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_WRITE_IOPS, false), TOKENS(999),
		  "exempt: an empty flush is not charged");
	ASSERT_EQ(run_admit_req(skel, 12, 1, BLKIF_OP_INDIRECT, BLKIF_OP_FLUSH_DISKCACHE, 40, T0),
		  SEC_NS, "exempt: an indirect flush with data waits for the bytes");
	run_dispatch(skel, 12, 1, BLKIF_OP_WRITE_BARRIER, 8, T0 + SEC_NS);
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_WRITE_BPS, false), TOKENS(-4096),
		  "exempt: a barrier's 4096 bytes are charged (-4096 + 4096 refilled - 4096)");
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_WRITE_IOPS, false), TOKENS(999),
		  "exempt: and its write op (refilled to 1000, less 1)");

	/* Counted as the writes they are, as stock mode counts their bios. */
	ASSERT_EQ(get_vbd_stats(skel, 12, 1, &s), 0, "stats");
	ASSERT_EQ(s.write.ops, 2, "flushes with data count as write ops");
	ASSERT_EQ(s.write.bytes, 8192 + 4096, "and write bytes");
	ASSERT_EQ(s.flush.ops, 1, "the empty flush counts as a flush");

	/* iops-size applies to their data as to any write's. */
	l = (struct blkqos_limits){ .write_iops = lim(1000, 1000, 0), .iops_size = 4096 };
	clear_maps(skel);
	set_vbd_limits(skel, 12, 1, &l);
	run_dispatch(skel, 12, 1, BLKIF_OP_FLUSH_DISKCACHE, 128, T0);
	ASSERT_EQ(vbd_level(12, 1, BLKQOS_LIM_WRITE_IOPS, false), TOKENS(1000 - 16),
		  "a 64 KiB FUA write is 16 ops of 4 KiB");
}

/*
 * discard=bytes charges a discard its whole extent: the debt model lets it
 * through and the VBD's next requests wait the debt off; the floor bounds
 * the debt, and no extent, however large, can wrap the arithmetic.
 */
static void test_discard_extent(void)
{
	struct blkqos_limits l = { .write_bps = lim(1 << 20, 1 << 20, 0),
				   .discard_mode = BLKQOS_DISCARD_BYTES };
	__u64 t = T0 + 4095 * SEC_NS;
	struct blkqos_stats s;

	clear_maps(skel);
	set_vbd_limits(skel, 14, 1, &l);
	/* 4 GiB: beyond the 1 GiB one step may take, inside the floor. */
	run_dispatch(skel, 14, 1, BLKIF_OP_DISCARD, (4ULL << 30) / 512, T0);
	ASSERT_EQ(vbd_level(14, 1, BLKQOS_LIM_WRITE_BPS, false), TOKENS((1 << 20) - (4LL << 30)),
		  "a 4 GiB discard is charged 4 GiB");
	ASSERT_EQ(run_admit_req(skel, 14, 1, BLKIF_OP_DISCARD, 0, 0, T0), BLKQOS_WAIT_MAX_NS,
		  "the next discard waits, a capped sleep at a time");
	ASSERT_EQ(run_admit(skel, 14, 1, W, 4096, t - 1), 1, "writes wait 4095 s at 1 MiB/s, less 1 ns");
	ASSERT_EQ(run_admit(skel, 14, 1, W, 4096, t), 0, "and are admitted after exactly 4095 s");

	/* 1 TiB: the bucket ends at the floor, whose debt takes 2^62 / 2^20 ns. */
	run_dispatch(skel, 14, 1, BLKIF_OP_DISCARD, (1ULL << 40) / 512, t);
	ASSERT_EQ(vbd_level(14, 1, BLKQOS_LIM_WRITE_BPS, false), -BLKQOS_DEBT_MAX,
		  "a 1 TiB discard drives the bucket to the floor");
	ASSERT_EQ(run_admit(skel, 14, 1, W, 4096, t + (1ULL << 42) - 1), 1, "floor debt less 1 ns");
	ASSERT_EQ(run_admit(skel, 14, 1, W, 4096, t + (1ULL << 42)), 0, "floor debt paid back");
	ASSERT_EQ(get_vbd_stats(skel, 14, 1, &s), 0, "stats");
	ASSERT_EQ(s.discard.bytes, (4ULL << 30) + (1ULL << 40), "discard stats count both extents");

	/* The largest sector count the tracepoint can carry, on a full bucket. */
	t += 1ULL << 43;
	run_dispatch(skel, 14, 1, BLKIF_OP_DISCARD, ~0ULL, t);
	ASSERT_EQ(vbd_level(14, 1, BLKQOS_LIM_WRITE_BPS, false), -BLKQOS_DEBT_MAX,
		  "a 2^64-sector discard lands on the floor, not past it");
	ASSERT_EQ(run_admit(skel, 14, 1, W, 4096, t), BLKQOS_WAIT_MAX_NS, "and holds the writes back");

	/* The same through a peak bucket and the domain's total. */
	l = (struct blkqos_limits){ .bps = lim(1000, 1000, BLKQOS_RATE_MAX) };
	set_dom_limits(skel, 14, &l);
	l.discard_mode = BLKQOS_DISCARD_BYTES;
	set_vbd_limits(skel, 14, 2, &l);
	run_charge(skel, 14, 2, D, 5ULL << 30, t);
	ASSERT_EQ(vbd_level(14, 2, BLKQOS_LIM_BPS, true),
		  (long long)BLKQOS_RATE_MAX * (long long)BLKQOS_PEAK_WINDOW_NS - TOKENS(5LL << 30),
		  "the peak bucket is charged 5 GiB");
	ASSERT_EQ(vbd_level(14, 2, BLKQOS_LIM_BPS, false), -BLKQOS_DEBT_MAX,
		  "the sustained one ends at the floor");
}

static void test_stats(void)
{
	struct blkqos_limits l = { .iops = lim(1, 1, 0) };
	struct blkqos_stats s;

	clear_maps(skel);
	set_vbd_limits(skel, 9, 1, &l);
	io(9, 1, R, 4096, T0);
	io(9, 1, W, 8192, T0);
	io(9, 1, R, 4096, T0);			/* deferred 1 s: parked, not counted */
	run_charge_parked(skel, 9, 1, R, 4096, SEC_NS + 7, T0 + SEC_NS);
	run_charge(skel, 9, 1, F, 0, T0 + SEC_NS);
	run_charge(skel, 9, 1, D, 1 << 20, T0 + SEC_NS);
	io(9, 1, R, 4096, T0 + SEC_NS);		/* 3 ops of debt: refused, not counted */
	run_charge_parked(skel, 9, 1, R, 4096, 3 * SEC_NS, T0 + 4 * SEC_NS);
	add_vbd(skel, 9, 2);
	io(9, 2, R, 512, T0);			/* unlimited VBD: counted too */
	ASSERT_EQ(get_vbd_stats(skel, 9, 1, &s), 0, "stats entry exists");
	ASSERT_EQ(s.read.ops, 3, "read ops");
	ASSERT_EQ(s.read.bytes, 12288, "read bytes");
	ASSERT_EQ(s.write.ops, 1, "write ops");
	ASSERT_EQ(s.write.bytes, 8192, "write bytes");
	ASSERT_EQ(s.flush.ops, 1, "flush ops");
	ASSERT_EQ(s.discard.bytes, 1 << 20, "discard bytes (its extent)");
	ASSERT_EQ(s.deferrals, 2, "deferrals: each parked request once, at dispatch");
	ASSERT_EQ(s.deferred_ns, 4 * SEC_NS + 7, "deferred ns: the time each was parked");
	ASSERT_EQ(get_vbd_stats(skel, 9, 2, &s), 0, "unlimited VBD has stats");
	ASSERT_EQ(s.read.ops, 1, "unlimited VBD read ops");
	/* A huge debt waits at most BLKQOS_WAIT_MAX_NS per deferral. */
	l = (struct blkqos_limits){ .bps = lim(1000, 1000, 0) };
	set_vbd_limits(skel, 9, 3, &l);
	io(9, 3, R, 1 << 30, T0);
	ASSERT_EQ(run_admit(skel, 9, 3, R, 4096, T0), BLKQOS_WAIT_MAX_NS, "wait capped per sleep");
}

/* A dispatch as the tracepoint reports it, held parked_ns. */
static int dispatch_parked(__u32 dom, __u32 dev, __u32 op, __u64 nr_sectors, __u64 parked_ns,
			   __u64 now)
{
	struct blkqos_test_ctx ctx = {
		.op = BLKQOS_TEST_DISPATCH, .domid = dom, .devid = dev, .blkif_op = op,
		.nr_sectors = nr_sectors, .parked_ns = parked_ns, .now_ns = now,
	};

	return run_ctx(skel, &ctx);
}

static __u64 hist_count(const struct blkqos_hist_dir *d)
{
	__u64 n = 0;
	int i;

	for (i = 0; i < BLKQOS_HIST_SLOTS; i++)
		n += d->slot[i];
	return n;
}

/* Holds of known length land in their log2 microsecond bucket, by direction. */
static void test_hist(void)
{
	static const struct { __u64 ns; int slot; } reads[] = {
		{ 1, 0 }, { 1999, 0 }, { 2000, 1 }, { 3999, 1 }, { 4000, 2 },
		{ SEC_NS, 19 },				/* 2^19 <= 1e6 us < 2^20 */
		{ (1ULL << 26) * 1000 - 1000, 25 },	/* 1 us under the last bound */
		{ (1ULL << 26) * 1000, 26 },		/* the last slot: 67 s and more */
		{ 1000 * SEC_NS, 26 },
	};
	struct blkqos_limits l = { .iops = lim(100, 1, 0) };
	const struct blkqos_hist_dir *r, *w;
	__u64 sum = 0;
	struct blkqos_hist h;
	struct blkqos_stats s;
	long long wait;
	unsigned int i;

	clear_maps(skel);
	set_vbd_limits(skel, 15, 1, &l);
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		run_charge_parked(skel, 15, 1, R, 4096, reads[i].ns, T0);
		sum += reads[i].ns;
	}
	run_charge_parked(skel, 15, 1, R, 4096, 0, T0);		/* never held: not counted */
	run_charge_parked(skel, 15, 1, W, 4096, 100 * MS_NS, T0);	/* 2^16 <= 1e5 us */
	run_charge_parked(skel, 15, 1, F, 0, 5000, T0);			/* a flush is a write */
	dispatch_parked(15, 1, BLKIF_OP_DISCARD, 8, 10 * SEC_NS, T0);	/* tracepoint path */
	ASSERT_EQ(get_vbd_hist(skel, 15, 1, &h), 0, "histogram entry exists");
	r = &h.dir[BLKQOS_HIST_READ];
	w = &h.dir[BLKQOS_HIST_WRITE];
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		unsigned int j, n = 0;

		for (j = 0; j < sizeof(reads) / sizeof(reads[0]); j++)
			n += reads[j].slot == reads[i].slot;
		if (r->slot[reads[i].slot] != n)
			fail_msg("read hold of %llu ns in its log2 us bucket %d: expected %u, seen %llu",
				 (unsigned long long)reads[i].ns, reads[i].slot, n,
				 (unsigned long long)r->slot[reads[i].slot]);
	}
	ASSERT_EQ(hist_count(r), 9, "reads counted: the held ones only");
	ASSERT_EQ(r->sum_ns, sum, "read holds' sum, ns");
	ASSERT_EQ(w->slot[16], 1, "write held 100 ms: bucket 16 (65.5-131 ms)");
	ASSERT_EQ(w->slot[2], 1, "flush held 5 us: a write, bucket 2 (4-8 us)");
	ASSERT_EQ(w->slot[23], 1, "discard held 10 s (dispatch tracepoint): bucket 23");
	ASSERT_EQ(hist_count(w), 3, "writes counted");
	ASSERT_EQ(w->sum_ns, 100 * MS_NS + 5000 + 10 * SEC_NS, "write holds' sum, ns");
	ASSERT_EQ(get_vbd_stats(skel, 15, 1, &s), 0, "stats");
	ASSERT_EQ(s.deferrals, hist_count(r) + hist_count(w), "deferrals = histogram counts");
	ASSERT_EQ(s.deferred_ns, r->sum_ns + w->sum_ns, "deferred ns = histogram sums");

	/* The engine's own wait: 100 IOPS, burst 1, two requests at once. */
	add_vbd(skel, 15, 2);
	set_vbd_limits(skel, 15, 2, &l);
	io(15, 2, R, 4096, T0);
	io(15, 2, R, 4096, T0);
	wait = run_admit(skel, 15, 2, R, 4096, T0);
	ASSERT_EQ(wait, 10 * MS_NS, "the third request waits 10 ms");
	ASSERT_EQ(run_admit(skel, 15, 2, R, 4096, T0 + wait), 0, "admitted at its deadline");
	run_charge_parked(skel, 15, 2, R, 4096, wait, T0 + wait);
	ASSERT_EQ(get_vbd_hist(skel, 15, 2, &h), 0, "histogram of the second VBD");
	ASSERT_EQ(h.dir[BLKQOS_HIST_READ].slot[13], 1, "held 10 ms: bucket 13 (8.2-16.4 ms)");
	ASSERT_EQ(hist_count(&h.dir[BLKQOS_HIST_READ]), 1, "one held read");

	/* A slot given to a new VBD starts with an empty histogram. */
	clear_maps(skel);
	add_vbd(skel, 15, 3);
	ASSERT_EQ(get_vbd_hist(skel, 15, 3, &h), 0, "histogram of a new VBD");
	ASSERT_EQ(hist_count(&h.dir[0]) + hist_count(&h.dir[1]) + h.dir[0].sum_ns, 0,
		  "a reused slot's histogram starts empty");
	ASSERT_EQ(h.devid, 3, "the histogram names its owner");
}

/* --- differential test against the reference model --- */

static __u64 rnd_state = 0x9e3779b97f4a7c15ULL;

static __u64 rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static __u64 pick(const __u64 *v, int n)
{
	return v[rnd() % n];
}

static void random_limits(struct blkqos_limits *l)
{
	static const __u64 rates[] = { 0, 0, 1, 3, 7, 100, 333, 1000, 4096, 1000000, 123456789,
				       BLKQOS_RATE_MAX };
	static const __u64 bursts[] = { 0, 1, 2, 10, 100, 4096, 65536, 1 << 20, BLKQOS_BURST_MAX };
	static const __u64 sizes[] = { 0, 0, 512, 4096, 65536 };
	int i;

	memset(l, 0, sizeof(*l));
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, i);

		if (rnd() % 3)
			continue;
		x->rate = pick(rates, 12);
		x->burst = pick(bursts, 9);
		if (x->rate && rnd() % 3 == 0) {
			x->peak = x->rate * (1 + rnd() % 20);
			if (x->peak > BLKQOS_RATE_MAX)
				x->peak = BLKQOS_RATE_MAX;
		}
	}
	l->iops_size = pick(sizes, 5);
	l->flush_mode = rnd() % 2;
	l->discard_mode = rnd() % 3;
}

static int compare_levels(struct ref_model *m, bool domain, __u32 dom, __u32 dev, long step)
{
	struct blkqos_buckets b;
	int i, bad = 0;

	if ((domain ? get_dom_buckets(skel, dom, &b) : get_vbd_buckets(skel, dom, dev, &b)))
		return 0;
	for (i = 0; i < BLKQOS_NR_LIMITS * 2; i++) {
		struct blkqos_bucket_pair *p = BLKQOS_PAIR_AT(&b, i / 2);
		long long want;

		if (!ref_level(m, domain, dom, dev, i / 2, i % 2, &want))
			continue;
		if ((i % 2 ? p->peak.level : p->sustained.level) != want) {
			fprintf(stderr, "step %ld: %s %u/%u limit %d %s level: expected %lld, seen %lld\n",
				step, domain ? "domain" : "vbd", dom, dev, i / 2,
				i % 2 ? "peak" : "sustained", want,
				(long long)(i % 2 ? p->peak.level : p->sustained.level));
			bad++;
		}
	}
	if (domain)
		return bad;
	for (i = 0; i < 2; i++) {
		const struct ref_scope *v = ref_vbd(m, dom, dev);
		__u64 want = v ? v->turn_at[i] : 0;

		if (b.turn[i].at != want) {
			fprintf(stderr, "step %ld: vbd %u/%u turn %d: expected at %llu, seen %llu\n",
				step, dom, dev, i, (unsigned long long)want,
				(unsigned long long)b.turn[i].at);
			bad++;
		}
	}
	return bad;
}

static void test_differential(int steps)
{
	static const __u64 byte_sizes[] = { 0, 512, 4096, 4097, 65536, 1 << 20, 11 * 4096,
					    (__u64)1 << 31, (__u64)1 << 40, (3ULL << 30) + 1,
					    5000000000ULL, ~0ULL };
	static const __u64 clock_steps[] = { 0, 0, 1, 7, 1000, 999999, 10 * MS_NS, 333333333,
					     SEC_NS, 3600 * SEC_NS };
	struct ref_model *m = calloc(1, sizeof(*m));
	__u64 now = T0;
	long i, admits = 0, deferred = 0, mismatches = 0, level_bad = 0, turns = 0;

	clear_maps(skel);
	ref_init(m);
	for (__u32 d = 1; d <= 2; d++)
		for (__u32 v = 1; v <= 2; v++)
			add_vbd(skel, d, v);
	for (i = 0; i < steps && mismatches + level_bad < 10; i++) {
		__u32 dom = 1 + rnd() % 2, dev = 1 + rnd() % 2, kind = rnd() % BLKQOS_NR_KINDS;
		struct blkqos_limits l;
		__u64 r = rnd() % 100;

		if (r < 3) {			/* change a VBD's limits */
			random_limits(&l);
			if (set_vbd_limits(skel, dom, dev, &l))
				break;
			ref_set_vbd(m, dom, dev, &l);
		} else if (r < 5) {		/* change a domain's limits */
			random_limits(&l);
			if (set_dom_limits(skel, dom, &l))
				break;
			ref_set_dom(m, dom, &l);
		} else if (r < 6) {		/* remove a VBD's limits */
			memset(&l, 0, sizeof(l));
			set_vbd_limits(skel, dom, dev, &l);
			ref_set_vbd(m, dom, dev, NULL);
		} else if (r < 30) {
			now += pick(clock_steps, 10);
		} else if (r < 75) {		/* a request: admit, then charge if admitted */
			__u64 bytes = kind == BLKQOS_KIND_FLUSH ? 0 : pick(byte_sizes, 12);
			/* As the hook knows it: whole pages, a discard's extent. */
			__u64 est = kind == BLKQOS_KIND_DISCARD ? bytes : div_up(bytes, 4096) * 4096;
			long long got = run_admit(skel, dom, dev, kind, est, now);
			__u64 want = ref_admit(m, dom, dev, kind, est, now);

			admits++;
			if (got != (long long)want) {
				fprintf(stderr, "step %ld: admit dom %u dev %u kind %u at %llu: expected wait %llu, seen %lld\n",
					i, dom, dev, kind, (unsigned long long)now,
					(unsigned long long)want, got);
				mismatches++;
			}
			if (want) {
				deferred++;
				turns += ref_vbd(m, dom, dev)->turn_at[kind != R] > now;
			} else {
				run_charge(skel, dom, dev, kind, bytes, now);
				ref_charge(m, dom, dev, kind, bytes, now);
			}
		} else {			/* a charge alone (e.g. after a wake-up) */
			__u64 bytes = pick(byte_sizes, 12);

			run_charge(skel, dom, dev, kind, bytes, now);
			ref_charge(m, dom, dev, kind, bytes, now);
		}
		for (__u32 d = 1; d <= 2; d++) {
			level_bad += compare_levels(m, true, d, 0, i);
			for (__u32 v = 1; v <= 2; v++)
				level_bad += compare_levels(m, false, d, v, i);
		}
	}
	ASSERT_EQ(mismatches, 0, "admission decisions and waits differing from the model");
	ASSERT_EQ(level_bad, 0, "bucket levels differing from the model");
	ASSERT_TRUE(deferred > admits / 10 && deferred < admits,
		    "the random mix exercises both admitted and deferred paths");
	ASSERT_TRUE(turns > deferred / 20, "and turns on the domain's buckets");
	for (__u32 d = 1; d <= 2; d++)
		for (__u32 v = 1; v <= 2; v++) {
			struct blkqos_stats s;
			const struct blkqos_stats *w = ref_stats(m, d, v);

			if (get_vbd_stats(skel, d, v, &s))
				memset(&s, 0, sizeof(s));
			ASSERT_EQ(memcmp(&s.read, &w->read, sizeof(s) - offsetof(struct blkqos_stats, read)),
				  0, "stats equal to the model's");
		}
	printf("differential: %ld steps, %ld admission checks, %ld deferred, %ld waiting for a turn\n",
	       i, admits, deferred, turns);
	free(m);
}

/* --- fairness: several VBDs of one domain, parked and offered as blkback does --- */

#define SIM_MAX_VBDS	6
#define SIM_MAX_QD	16
#define NEVER		(~0ULL)

struct sim_vbd {
	__u32 devid;
	int qd;			/* the guest's queue depth */
	__u64 bytes;		/* size of each of its requests */
	__u64 est;		/* what admission knows of it (0: bytes) */
	__u64 vanish_at;	/* its ring goes away then, turns and all (0: never) */
	__u64 start_at;		/* the guest's first requests (0: T0) */
	__u64 stop_at;		/* no new request from then on (0: never) */
	int parked;		/* requests in blkback; only the oldest is offered */
	__u64 parked_at;	/* when the oldest was first refused (0: not yet) */
	__u64 due;		/* when the oldest is offered next */
	__u64 arrive[SIM_MAX_QD];	/* the guest's next requests, NEVER: none */
	long done;		/* dispatched inside the window */
	__u64 last, max_gap;	/* dispatch times inside the window */
};

struct sim {
	__u32 domid;
	__u32 kind;
	int n;
	__u64 latency;		/* dispatch to the guest's next request (service time) */
	__u64 jitter;		/* a wake-up is late by up to this (timer slack) */
	__u64 from, to;		/* the window measured */
	int errors;
	__u64 change_at;	/* change() runs once, before the first event from then on */
	void (*change)(struct sim *s);
	struct sim_vbd v[SIM_MAX_VBDS];
};

static bool sim_gone(const struct sim_vbd *v, __u64 t)
{
	return v->vanish_at && t >= v->vanish_at;
}

/* The earliest event of a VBD: an arrival, or the offer of its oldest parked request. */
static __u64 sim_next(const struct sim_vbd *v, bool *is_offer)
{
	__u64 t = NEVER;

	for (int k = 0; k < v->qd; k++)
		if (v->arrive[k] < t)
			t = v->arrive[k];
	*is_offer = v->parked && v->due < t;
	return *is_offer ? v->due : t;
}

static void sim_arrive(struct sim_vbd *v, __u64 t)
{
	for (int k = 0; k < v->qd; k++)
		if (v->arrive[k] == t) {
			v->arrive[k] = NEVER;
			break;
		}
	/* Nothing parked before it: offered at once, as blkback offers on arrival. */
	if (v->parked++ == 0)
		v->due = t;
}

static void sim_dispatched(struct sim *s, struct sim_vbd *v, __u64 t)
{
	for (int k = 0; k < v->qd && !(v->stop_at && t >= v->stop_at); k++)
		if (v->arrive[k] == NEVER) {
			v->arrive[k] = t + s->latency;
			break;
		}
	if (t < s->from || t >= s->to)
		return;
	v->done++;
	if (v->last && t - v->last > v->max_gap)
		v->max_gap = t - v->last;
	v->last = t;
}

static void sim_offer(struct sim *s, int i, __u64 t)
{
	struct sim_vbd *v = &s->v[i];
	long long w = run_admit(skel, s->domid, v->devid, s->kind, v->est ? v->est : v->bytes, t);

	/* The tracepoint's charge: a request blkback parked says how long. */
	if (w < 0 || (w == 0 && run_charge_parked(skel, s->domid, v->devid, s->kind, v->bytes,
						  v->parked_at ? t - v->parked_at : 0, t))) {
		s->errors++;
		return;
	}
	if (w && !v->parked_at)
		v->parked_at = t;
	if (w == 0) {
		v->parked_at = 0;
		/* The next oldest is free to go: offered in the same pass. */
		v->parked--;
		v->due = t;
		sim_dispatched(s, v, t);
		return;
	}
	/* blkback: a deadline in whole microseconds, then the hrtimer's slack. */
	v->due = t + div_up(w, 1000) * 1000 + (s->jitter ? rnd() % s->jitter : 0);
}

/* Run from T0 until s->to; ties go to the lowest index, arrivals first. */
static void sim_run(struct sim *s)
{
	__u64 t = T0;

	for (int i = 0; i < s->n; i++)
		for (int k = 0; k < SIM_MAX_QD; k++)
			s->v[i].arrive[k] = k >= s->v[i].qd ? NEVER :
					    s->v[i].start_at ? s->v[i].start_at : T0;
	while (t < s->to && !s->errors) {
		int best = -1;
		bool offer = false;

		t = NEVER;
		for (int i = 0; i < s->n; i++) {
			bool o;
			__u64 e = sim_next(&s->v[i], &o);

			if (e < t && !sim_gone(&s->v[i], e)) {
				t = e;
				best = i;
				offer = o;
			}
		}
		if (best < 0)
			break;
		if (s->change && t >= s->change_at) {
			s->change(s);
			s->change = NULL;
			continue;	/* the next event again, under the new limits */
		}
		if (offer)
			sim_offer(s, best, t);
		else
			sim_arrive(&s->v[best], t);
	}
}

static double sim_rate(const struct sim *s, int i)
{
	return (double)s->v[i].done * SEC_NS / (double)(s->to - s->from);
}

/* Checks a rate within pct % of want, printing both. */
static void assert_rate(const struct sim *s, int i, double want, double pct, const char *what)
{
	double got = sim_rate(s, i);
	bool ok = got >= want * (1 - pct / 100) && got <= want * (1 + pct / 100);

	if (!ok)
		fail_msg("%s: expected %.2f/s within %.0f %%, seen %.2f/s", what, want, pct, got);
}

static void print_rates(const char *name, const struct sim *s, double unit)
{
	printf("fairness %s:", name);
	for (int i = 0; i < s->n; i++)
		printf(" %.2f", sim_rate(s, i) * unit);
	printf("\n");
}

static struct sim sim_setup(__u32 domid, int n, __u64 latency, __u64 jitter)
{
	struct sim s = { .domid = domid, .kind = R, .n = n, .latency = latency, .jitter = jitter,
			 .from = T0 + 2 * SEC_NS, .to = T0 + 32 * SEC_NS };

	for (int i = 0; i < n; i++)
		s.v[i] = (struct sim_vbd){ .devid = 51712 + 16 * i, .qd = 8, .bytes = 4096 };
	return s;
}

/*
 * (a) Three disks share domain iops=90; the last is also limited to 20 on
 * its own: it gets its 20, the other two split the remaining 70. It loses
 * every tie, the worst case for it.
 */
static void test_fair_limited_vbd(__u64 jitter)
{
	struct blkqos_limits dl = { .iops = lim(90, 2, 0) };
	struct blkqos_limits vl = { .iops = lim(20, 1, 0) };
	struct sim s = sim_setup(20, 3, MS_NS, jitter);

	clear_maps(skel);
	set_dom_limits(skel, 20, &dl);
	add_vbd(skel, 20, s.v[0].devid);
	add_vbd(skel, 20, s.v[1].devid);
	set_vbd_limits(skel, 20, s.v[2].devid, &vl);
	sim_run(&s);
	print_rates(jitter ? "(a) iops 90, one VBD at 20, jitter" : "(a) iops 90, one VBD at 20",
		    &s, 1);
	ASSERT_EQ(s.errors, 0, "simulation runs failing");
	assert_rate(&s, 2, 20, 2, "(a) the VBD limited below its share gets its own limit");
	assert_rate(&s, 0, 35, 5, "(a) first backlogged VBD gets half the rest");
	assert_rate(&s, 1, 35, 5, "(a) second backlogged VBD gets half the rest");
}

/*
 * (b), (c) Queue depths 1 and 16 on one domain limit: an equal split.
 * actual: the bytes each request moves, of 64 KiB that admission knows
 * (whole pages per segment: a turn charges that much, the dispatch gives
 * back the difference).
 */
static void test_fair_unequal_depth(bool bytes, __u64 actual)
{
	struct blkqos_limits dl = { .iops = lim(100, 2, 0) };
	struct sim s = sim_setup(21, 2, 2 * MS_NS, 0);
	double unit = 1, want = 50;

	if (bytes) {
		dl = (struct blkqos_limits){ .bps = lim(8 << 20, 64 << 10, 0) };
		s.v[0].bytes = s.v[1].bytes = actual;
		s.v[0].est = s.v[1].est = 64 << 10;
		unit = (double)actual;
		want = (4 << 20) / (double)actual;
	}
	s.v[0].qd = 16;
	s.v[1].qd = 1;
	clear_maps(skel);
	set_dom_limits(skel, 21, &dl);
	add_vbd(skel, 21, s.v[0].devid);
	add_vbd(skel, 21, s.v[1].devid);
	sim_run(&s);
	print_rates(!bytes ? "(b) iops 100, QD 16 and 1" : actual < (64 << 10) ?
		    "(c) bps 8 MiB/s, QD 16 and 1, 60 KiB known as 64 KiB (bytes/s)" :
		    "(c) bps 8 MiB/s, QD 16 and 1 (bytes/s)", &s, unit);
	ASSERT_EQ(s.errors, 0, "simulation runs failing");
	assert_rate(&s, 0, want, 2, bytes ? "(c) QD 16 gets half: 4 MiB/s" : "(b) QD 16 gets half");
	assert_rate(&s, 1, want, 2, bytes ? "(c) QD 1 gets half: 4 MiB/s" : "(b) QD 1 gets half");
}

/*
 * (e) One disk alone on its own byte limit, sub-page requests (2 KiB: one
 * segment), admission knowing a page per segment, as the hook does: the
 * estimate must not slow it below its limit.
 */
static void test_fair_alone_small(__u64 est)
{
	struct blkqos_limits vl = { .bps = lim(1 << 20, 4096, 0) };
	struct sim s = sim_setup(23, 1, 100000, 20000);

	s.v[0].bytes = 2048;
	s.v[0].est = est;
	clear_maps(skel);
	set_vbd_limits(skel, 23, s.v[0].devid, &vl);
	sim_run(&s);
	print_rates("(e) bps 1 MiB/s alone, 2 KiB requests known as 4 KiB (bytes/s)", &s, 2048);
	ASSERT_EQ(s.errors, 0, "simulation runs failing");
	assert_rate(&s, 0, 512, 1, "(e) a disk alone gets its byte limit, 512 ops/s of 2 KiB");
}

/*
 * (d) Two of four disks vanish at 5 s with requests parked (ring torn
 * down, turns held): the other two go on without a stall and split the
 * limit.
 */
static void test_fair_vanish(void)
{
	struct blkqos_limits dl = { .iops = lim(80, 2, 0) };
	struct sim s = sim_setup(22, 4, MS_NS, 20000);

	s.v[1].vanish_at = s.v[2].vanish_at = T0 + 5 * SEC_NS;
	s.from = T0 + 6 * SEC_NS;
	clear_maps(skel);
	set_dom_limits(skel, 22, &dl);
	for (int i = 0; i < 4; i++)
		add_vbd(skel, 22, s.v[i].devid);
	sim_run(&s);
	print_rates("(d) iops 80, two of four gone at 5 s", &s, 1);
	ASSERT_EQ(s.errors, 0, "simulation runs failing");
	assert_rate(&s, 0, 40, 5, "(d) a survivor gets half");
	assert_rate(&s, 3, 40, 5, "(d) the other survivor gets half");
	ASSERT_TRUE(s.v[0].max_gap <= BLKQOS_WAIT_MAX_NS && s.v[3].max_gap <= BLKQOS_WAIT_MAX_NS,
		    "(d) no survivor waits beyond one capped wait between dispatches");
	printf("fairness (d): longest gap between dispatches of a survivor: %llu us, %llu us\n",
	       (unsigned long long)s.v[0].max_gap / 1000, (unsigned long long)s.v[3].max_gap / 1000);
}

/*
 * (f) Live changes of a limit while VBDs hold turns on it, through the
 * loader's own map update (as 'blkqos set' does). Phase 1: three disks of
 * the domain wait on the old rate's turns, then stop; phase 2: two other
 * disks, queue depths 1 and 16, start half a second before the change.
 * After it, the two together get the new rate. dev 0: the domain's limit
 * changes, else that VBD's (phase 2 is then two rings of that one VBD).
 */
static struct blkqos_limits live_to;
static __u32 live_dev;

static void live_change(struct sim *s)
{
	if (live_dev)
		set_vbd_limits(skel, s->domid, live_dev, &live_to);
	else
		set_dom_limits(skel, s->domid, &live_to);
}

static void test_fair_live_change(__u64 from, __u64 to, bool vbd, bool vanish, __u64 p1_stop,
				  __u64 p2_start)
{
	struct blkqos_limits l = { .iops = lim(from, blkqos_default_burst(from), 0) };
	struct sim s = sim_setup(24, 5, MS_NS, 20000);
	char what[160];
	double got;

	for (int i = 0; i < 3; i++) {
		if (vanish)
			s.v[i].vanish_at = T0 + p1_stop;
		else
			s.v[i].stop_at = T0 + p1_stop;
	}
	s.v[3].qd = 1;
	s.v[4].qd = 16;
	s.v[3].start_at = s.v[4].start_at = T0 + p2_start;
	if (vbd)	/* two rings of one VBD */
		s.v[4].devid = s.v[3].devid;
	s.change_at = T0 + 6 * SEC_NS;
	s.change = live_change;
	s.from = T0 + 7 * SEC_NS;
	s.to = T0 + 19 * SEC_NS;
	live_to = (struct blkqos_limits){ .iops = lim(to, blkqos_default_burst(to), 0) };
	clear_maps(skel);
	if (vbd) {
		live_dev = s.v[3].devid;
		for (int i = 0; i < 3; i++)
			add_vbd(skel, 24, s.v[i].devid);
		set_vbd_limits(skel, 24, live_dev, &l);
	} else {
		live_dev = 0;
		set_dom_limits(skel, 24, &l);
		for (int i = 0; i < 5; i++)
			add_vbd(skel, 24, s.v[i].devid);
	}
	sim_run(&s);
	snprintf(what, sizeof(what), "(f) %s iops %llu -> %llu live at 6 s, phase 1 %s at %.1f s, phase 2 from %.1f s",
		 vbd ? "VBD" : "domain", (unsigned long long)from, (unsigned long long)to,
		 vanish ? "vanished" : "stopped", p1_stop / 1e9, p2_start / 1e9);
	print_rates(what, &s, 1);
	ASSERT_EQ(s.errors, 0, "simulation runs failing");
	got = sim_rate(&s, 3) + sim_rate(&s, 4);
	if (got < to * 0.98 || got > to * 1.02)
		fail_msg("%s: the two together expected %llu/s within 2 %%, seen %.2f/s",
			 what, (unsigned long long)to, got);
}

/*
 * (g) A domain limit removed while three disks wait for turns on it: from the
 * change on they are not limited (each gets its queue depth over the
 * service time); and a limit added where none was: it is enforced at once.
 */
static void test_fair_live_unlimit(bool add)
{
	/* Removed: a slow limit, its turns seconds ahead (told 1 s at most). */
	struct blkqos_limits l = { .iops = add ? lim(30, 3, 0) : lim(1, 1, 0) };
	struct sim s = sim_setup(25, 3, MS_NS, 20000);
	struct blkqos_limits none = {};

	s.change_at = T0 + 6 * SEC_NS;
	s.change = live_change;
	s.from = T0 + 7002 * MS_NS;
	s.to = T0 + 19 * SEC_NS;
	live_dev = 0;
	live_to = add ? l : none;
	clear_maps(skel);
	set_dom_limits(skel, 25, add ? &none : &l);
	for (int i = 0; i < 3; i++)
		add_vbd(skel, 25, s.v[i].devid);
	sim_run(&s);
	print_rates(add ? "(g) domain iops added live: none -> 30" :
			  "(g) domain iops removed live: 1 -> none", &s, 1);
	ASSERT_EQ(s.errors, 0, "simulation runs failing");
	for (int i = 0; i < 3; i++)
		assert_rate(&s, i, add ? 10 : 8 * SEC_NS / (double)MS_NS, 2,
			    add ? "(g) a limit added live is enforced, shared equally" :
				  "(g) a limit removed live: the VBDs waiting go unlimited");
	if (!add)
		ASSERT_TRUE(s.v[0].max_gap <= 3 * MS_NS && s.v[2].max_gap <= 3 * MS_NS,
			    "(g) after removal no request waits for an old turn");
}

/* --- concurrency: two CPUs hammer one domain bucket --- */

struct hammer {
	int cpu;
	int n;
	__u64 start;
	int errors;
};

static void *hammer_thread(void *arg)
{
	struct hammer *h = arg;
	cpu_set_t set;
	int i;

	CPU_ZERO(&set);
	CPU_SET(h->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (i = 0; i < h->n; i++) {
		/* Both threads walk the same timeline; refills race on last_ns. */
		__u64 now = h->start + (__u64)i * 1000;

		/*
		 * Charges only: a refused admission takes a turn, which charges
		 * an estimate (the fairness tests count those); here every
		 * charge must land exactly once.
		 */
		h->errors += run_charge(skel, 10, 1 + h->cpu, BLKQOS_KIND_WRITE, 4096, now) != 0;
	}
	return NULL;
}

static void test_concurrency(int n)
{
	/* 1000 ops/s, 1 op per us of clock: the domain sinks deep into debt. */
	struct blkqos_limits l = { .iops = lim(1000, 1000, 0), .bps = lim(1 << 20, 1 << 20, 0) };
	struct hammer h[2] = { { .cpu = 0, .n = n, .start = T0 }, { .cpu = 1, .n = n, .start = T0 } };
	struct blkqos_buckets b;
	struct blkqos_stats s0, s1;
	pthread_t t[2];
	__u64 end = T0 + (__u64)(n - 1) * 1000;
	long long want_iops, want_bps;

	if (libbpf_num_possible_cpus() < 2) {
		printf("SKIP concurrency: one CPU\n");
		return;
	}
	clear_maps(skel);
	set_dom_limits(skel, 10, &l);
	add_vbd(skel, 10, 1);
	add_vbd(skel, 10, 2);
	/* Start the bucket (full) at T0 so the whole timeline is credited. */
	run_admit(skel, 10, 1, BLKQOS_KIND_WRITE, 4096, T0);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, hammer_thread, &h[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	/* A final refill at the end of the timeline settles every interval. */
	run_admit(skel, 10, 1, BLKQOS_KIND_WRITE, 4096, end);
	ASSERT_EQ(h[0].errors + h[1].errors, 0, "test runs failing");
	ASSERT_EQ(get_dom_buckets(skel, 10, &b), 0, "domain buckets");
	/* The final admission, refused, took a turn: one more op, 4096 bytes. */
	want_iops = TOKENS(1000) + 1000LL * (long long)(end - T0) - TOKENS(2LL * n + 1);
	want_bps = TOKENS(1 << 20) + (1LL << 20) * (long long)(end - T0) -
		   TOKENS((2LL * n + 1) * 4096);
	ASSERT_EQ(b.iops.sustained.level, want_iops, "iops level: every charge and every ns counted once");
	ASSERT_EQ(b.bps.sustained.level, want_bps, "bps level: every charge and every ns counted once");
	get_vbd_stats(skel, 10, 1, &s0);
	get_vbd_stats(skel, 10, 2, &s1);
	ASSERT_EQ(s0.write.ops + s1.write.ops, 2 * n, "write ops counted across CPUs");
	printf("concurrency: 2 threads x %d charges on one domain bucket\n", n);
}

/* --- concurrency: charges landing below the debt floor at once --- */

struct floor_race {
	int cpu;
	int trials;
	int *arrived;		/* spin barrier: arrivals so far */
	int wrong;		/* trials not ending at the floor (CPU 0 counts) */
	long long worst;	/* farthest level seen from the floor */
	int errors;
};

static void barrier_wait(int *arrived, int round)
{
	__atomic_add_fetch(arrived, 1, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(arrived, __ATOMIC_SEQ_CST) < 2 * round)
		;
}

static void *floor_thread(void *arg)
{
	struct floor_race *f = arg;
	struct blkqos_buckets b;
	cpu_set_t set;
	int i, round = 0;

	CPU_ZERO(&set);
	CPU_SET(f->cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	for (i = 0; i < f->trials; i++) {
		/* Both charge at once; the clock stands still, so nothing refills. */
		barrier_wait(f->arrived, ++round);
		f->errors += run_charge(skel, 13, 1, BLKQOS_KIND_READ, 4096, T0) != 0;
		barrier_wait(f->arrived, ++round);
		if (f->cpu == 0 && get_vbd_buckets(skel, 13, 1, &b) == 0 &&
		    b.bps.sustained.level != -BLKQOS_DEBT_MAX) {
			long long off = b.bps.sustained.level + BLKQOS_DEBT_MAX;

			f->wrong++;
			if (llabs(off) > llabs(f->worst))
				f->worst = off;
		}
		barrier_wait(f->arrived, ++round);
	}
	return NULL;
}

/*
 * Two CPUs charge a bucket at its floor at the same instant, again and
 * again: whatever the interleaving, each trial must end exactly at the
 * floor (the model: the level never goes below it, and nothing refills).
 */
static void test_floor_race(int trials)
{
	struct blkqos_limits l = { .bps = lim(1, 1, 0) };
	int arrived = 0;
	struct floor_race f[2] = {
		{ .cpu = 0, .trials = trials, .arrived = &arrived },
		{ .cpu = 1, .trials = trials, .arrived = &arrived },
	};
	pthread_t t[2];

	if (libbpf_num_possible_cpus() < 2) {
		printf("SKIP floor race: one CPU\n");
		return;
	}
	clear_maps(skel);
	set_vbd_limits(skel, 13, 1, &l);
	for (int i = 0; i < 8; i++)
		run_charge(skel, 13, 1, BLKQOS_KIND_READ, 1 << 30, T0);
	ASSERT_EQ(vbd_level(13, 1, BLKQOS_LIM_BPS, false), -BLKQOS_DEBT_MAX,
		  "sequential charges end at the floor");
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, floor_thread, &f[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ASSERT_EQ(f[0].errors + f[1].errors, 0, "test runs failing");
	ASSERT_EQ(f[0].wrong, 0, "trials of two racing charges not ending at the floor");
	ASSERT_EQ(f[0].worst, 0, "farthest such level from the floor, nano-tokens");
	printf("floor race: %d trials of 2 charges at once on a bucket at its floor\n", trials);
}

/* The cases, one cmocka test each: a failed check ends its case only. */
static int differential_steps = 20000;

#define CASE(name, call) static void name(void **state) { (void)state; call; }
CASE(case_admit_until_empty, test_admit_until_empty())
CASE(case_exact_wait, test_exact_wait())
CASE(case_refill_capped, test_refill_capped())
CASE(case_direction_separation, test_direction_separation())
CASE(case_iops_size, test_iops_size())
CASE(case_peak_and_burst, test_peak_and_burst())
CASE(case_vbd_and_domain, test_vbd_and_domain())
CASE(case_live_change, test_live_change())
CASE(case_flush_discard, test_flush_discard())
CASE(case_ring_requests, test_ring_requests())
CASE(case_flush_data, test_flush_data())
CASE(case_discard_extent, test_discard_extent())
CASE(case_stats, test_stats())
CASE(case_hist, test_hist())
CASE(case_differential, test_differential(differential_steps))
CASE(case_fair_limited_vbd_1, test_fair_limited_vbd(0))
CASE(case_fair_limited_vbd_2, test_fair_limited_vbd(50000))
CASE(case_fair_unequal_depth_1, test_fair_unequal_depth(false, 0))
CASE(case_fair_unequal_depth_2, test_fair_unequal_depth(true, 64 << 10))
CASE(case_fair_unequal_depth_3, test_fair_unequal_depth(true, 60 << 10))
CASE(case_fair_vanish, test_fair_vanish())
CASE(case_fair_alone_small, test_fair_alone_small(4096))
CASE(case_fair_live_change_1, test_fair_live_change(90, 60, false, false, 5 * SEC_NS, 5500 * MS_NS))
CASE(case_fair_live_change_2, test_fair_live_change(90, 60, false, true, 5 * SEC_NS, 5500 * MS_NS))
CASE(case_fair_live_change_3, test_fair_live_change(90, 60, false, false, 6500 * MS_NS, 5500 * MS_NS))
CASE(case_fair_live_change_4, test_fair_live_change(90, 60, false, true, 6500 * MS_NS, 5500 * MS_NS))
CASE(case_fair_live_change_5, test_fair_live_change(90, 60, false, false, 5 * SEC_NS, 6500 * MS_NS))
CASE(case_fair_live_change_6, test_fair_live_change(90, 150, false, false, 5 * SEC_NS, 5500 * MS_NS))
CASE(case_fair_live_change_7, test_fair_live_change(90, 150, false, true, 6500 * MS_NS, 5500 * MS_NS))
CASE(case_fair_live_change_8, test_fair_live_change(90, 60, true, false, 5 * SEC_NS, 5500 * MS_NS))
CASE(case_fair_live_change_9, test_fair_live_change(90, 60, true, true, 6500 * MS_NS, 5500 * MS_NS))
CASE(case_fair_live_change_10, test_fair_live_change(90, 150, true, false, 5 * SEC_NS, 5500 * MS_NS))
CASE(case_fair_live_unlimit_1, test_fair_live_unlimit(false))
CASE(case_fair_live_unlimit_2, test_fair_live_unlimit(true))
CASE(case_concurrency, test_concurrency(200000))
CASE(case_floor_race, test_floor_race(20000))

/* test_engine [STEPS]: STEPS of the differential test against the model. */
int main(int argc, char **argv)
{
	const struct CMUnitTest cases[] = {
		cmocka_unit_test(case_admit_until_empty),
		cmocka_unit_test(case_exact_wait),
		cmocka_unit_test(case_refill_capped),
		cmocka_unit_test(case_direction_separation),
		cmocka_unit_test(case_iops_size),
		cmocka_unit_test(case_peak_and_burst),
		cmocka_unit_test(case_vbd_and_domain),
		cmocka_unit_test(case_live_change),
		cmocka_unit_test(case_flush_discard),
		cmocka_unit_test(case_ring_requests),
		cmocka_unit_test(case_flush_data),
		cmocka_unit_test(case_discard_extent),
		cmocka_unit_test(case_stats),
		cmocka_unit_test(case_hist),
		cmocka_unit_test(case_differential),
		cmocka_unit_test(case_fair_limited_vbd_1),
		cmocka_unit_test(case_fair_limited_vbd_2),
		cmocka_unit_test(case_fair_unequal_depth_1),
		cmocka_unit_test(case_fair_unequal_depth_2),
		cmocka_unit_test(case_fair_unequal_depth_3),
		cmocka_unit_test(case_fair_vanish),
		cmocka_unit_test(case_fair_alone_small),
		cmocka_unit_test(case_fair_live_change_1),
		cmocka_unit_test(case_fair_live_change_2),
		cmocka_unit_test(case_fair_live_change_3),
		cmocka_unit_test(case_fair_live_change_4),
		cmocka_unit_test(case_fair_live_change_5),
		cmocka_unit_test(case_fair_live_change_6),
		cmocka_unit_test(case_fair_live_change_7),
		cmocka_unit_test(case_fair_live_change_8),
		cmocka_unit_test(case_fair_live_change_9),
		cmocka_unit_test(case_fair_live_change_10),
		cmocka_unit_test(case_fair_live_unlimit_1),
		cmocka_unit_test(case_fair_live_unlimit_2),
		cmocka_unit_test(case_concurrency),
		cmocka_unit_test(case_floor_race),
	};
	int failed;

	if (argc > 1)
		differential_steps = atoi(argv[1]);
	skel = harness_load();
	failed = cmocka_run_group_tests_name("test_engine", cases, NULL, NULL);
	blkqos_bpf__destroy(skel);
	return failed ? 1 : 0;
}
