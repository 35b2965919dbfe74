// SPDX-License-Identifier: GPL-2.0
/*
 * Engine benchmark, measured inside the kernel: the blkqos_test_bench entry loops
 * admit+charge with bpf_loop and reads bpf_ktime_get_ns() before and after.
 * Setup as in production: a VBD with bytes and ops limits, a domain ops
 * limit, stats on. Prints "BENCH <name> <value> <unit>" lines; the figure is
 * the median of several runs.
 */
#include <stdlib.h>
#include <string.h>
#include "harness.h"

#define LOOPS	1000000
#define RUNS	7

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * ns per iteration of OP (BENCH, or BENCH_BASE: the same loop doing one map
 * lookup); *admitted_out gets the admitted count of the last run.
 */
static double bench_op(struct blkqos_bpf *skel, __u32 op, __u32 devid, __u64 step,
		       __u64 *admitted_out)
{
	double v[RUNS];
	__u64 now = 1000000000ULL;
	int i;

	for (i = 0; i < RUNS; i++) {
		struct blkqos_test_ctx ctx = {
			.op = op, .domid = 1, .devid = devid,
			.kind = BLKQOS_KIND_READ, .bytes = 4096, .now_ns = now,
			.loops = LOOPS, .step_ns = step,
		};

		if (run_ctx(skel, &ctx)) {
			fprintf(stderr, "bench run failed\n");
			exit(1);
		}
		now = ctx.now_ns;
		v[i] = (double)ctx.elapsed_ns / LOOPS;
		*admitted_out = ctx.admitted;
	}
	qsort(v, RUNS, sizeof(v[0]), cmp_double);
	return v[RUNS / 2];
}

static double bench(struct blkqos_bpf *skel, __u32 devid, __u64 step, __u64 *admitted_out)
{
	return bench_op(skel, BLKQOS_TEST_BENCH, devid, step, admitted_out);
}

int main(void)
{
	struct blkqos_bpf *skel = harness_load();
	struct blkqos_limits fast = {
		.iops = lim(BLKQOS_RATE_MAX, BLKQOS_BURST_MAX, 0),
		.bps = lim(BLKQOS_RATE_MAX, BLKQOS_BURST_MAX, 0),
	};
	struct blkqos_limits slow = { .iops = lim(1, 1, 0), .bps = lim(1, 1, 0) };
	struct blkqos_limits dom = { .iops = lim(BLKQOS_RATE_MAX, BLKQOS_BURST_MAX, 0) };
	__u64 admitted;
	double ns, base;

	set_dom_limits(skel, 1, &dom);
	/* Admitted path: limits far above what the loop can spend. */
	set_vbd_limits(skel, 1, 1, &fast);
	ns = bench(skel, 1, 1000, &admitted);
	if (admitted != LOOPS)
		fprintf(stderr, "warning: admitted path admitted %llu of %d\n",
			(unsigned long long)admitted, LOOPS);
	printf("BENCH engine_admitted_path %.1f ns/request\n", ns);
	/* The floor in the same run: the loop and one lookup of the same VBD. */
	base = bench_op(skel, BLKQOS_TEST_BENCH_BASE, 1, 0, &admitted);
	printf("BENCH engine_loop_floor %.1f ns/request\n", base);
	printf("BENCH engine_admitted_ratio %.2f x_floor\n", ns / base);

	/* Refused path: a bucket deep in debt, the clock standing still. */
	set_vbd_limits(skel, 1, 2, &slow);
	run_charge(skel, 1, 2, BLKQOS_KIND_READ, 1 << 30, 1000000000ULL);
	ns = bench(skel, 2, 0, &admitted);
	if (admitted != 0)
		fprintf(stderr, "warning: refused path admitted %llu\n", (unsigned long long)admitted);
	printf("BENCH engine_refused_path %.1f ns/request\n", ns);

	/* No VBD limit, only the domain's and the stats. */
	add_vbd(skel, 1, 3);
	ns = bench(skel, 3, 1000, &admitted);
	printf("BENCH engine_domain_only_path %.1f ns/request\n", ns);
	blkqos_bpf__destroy(skel);
	return 0;
}
