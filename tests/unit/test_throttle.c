// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of loader/throttle.c: stock mode's translation of limits to the
 * block throttle (a backend's physical-device, io.max lines, a domain folded
 * in, and the text naming what the throttle cannot honour).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "asserts.h"
#include "limits.h"
#include "throttle.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static struct blkqos_limit lim(__u64 rate)
{
	struct blkqos_limit l = { .rate = rate, .burst = rate ? blkqos_default_burst(rate) : 0 };

	return l;
}

static void test_physdev(void **state)
{
	static const struct { const char *s; int ok; unsigned int maj, min; } c[] = {
		{ "fe:0", 1, 254, 0 }, { "7:3", 1, 7, 3 }, { "ca:10\n", 1, 202, 16 },
		{ "103:1a", 1, 259, 26 }, { "ca00", 0, 0, 0 }, { "", 0, 0, 0 }, { "zz:1", 0, 0, 0 },
		{ "7:", 0, 0, 0 }, { "7:0 x", 0, 0, 0 }, { "-7:0", 0, 0, 0 },
	};
	unsigned int i, maj, min;
	char err[128];

	(void)state;
	for (i = 0; i < ARRAY_SIZE(c); i++) {
		int ret = cg_parse_physdev(c[i].s, &maj, &min, err, sizeof(err));

		if (c[i].ok) {
			ASSERT_EQ(ret, 0, "ret");
			ASSERT_EQ(maj, c[i].maj, "maj");
			ASSERT_EQ(min, c[i].min, "min");
		} else {
			ASSERT_EQ(ret, -EINVAL, "ret");
			ASSERT_NOT_NULL(strstr(err, "physical-device"),
				"strstr(err, \"physical-device\")");
		}
	}
}

static void test_iomax_line(void **state)
{
	struct blkqos_limits l = { 0 }, dom = { 0 }, m;
	char buf[160];

	(void)state;
	ASSERT_EQ(cg_iomax_line(7, 0, &l, buf, sizeof(buf)), 0,
		"cg_iomax_line(7, 0, &l, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "7:0 riops=max wiops=max rbps=max wbps=max", "buf");
	/* a total iops goes on both directions, the lower rate wins */
	l.iops = lim(500);
	l.write_iops = lim(100);
	l.read_bps = lim(1000000);
	ASSERT_EQ(cg_iomax_line(254, 3, &l, buf, sizeof(buf)), 0,
		"cg_iomax_line(254, 3, &l, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "254:3 riops=500 wiops=100 rbps=1000000 wbps=max", "buf");
	ASSERT_EQ(cg_iomax_line(7, 0, &l, buf, 10), -ENOSPC, "cg_iomax_line(7, 0, &l, buf, 10)");

	/* a domain of one VBD folds into the VBD's limits; of two, it stays out */
	dom.bps = lim(2000000);
	dom.write_iops = lim(50);
	cg_merge_domain(&l, &dom, 1, &m);
	ASSERT_EQ(cg_iomax_line(7, 0, &m, buf, sizeof(buf)), 0,
		"cg_iomax_line(7, 0, &m, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "7:0 riops=500 wiops=50 rbps=1000000 wbps=2000000", "buf");
	cg_merge_domain(&l, &dom, 2, &m);
	ASSERT_EQ(cg_iomax_line(7, 0, &m, buf, sizeof(buf)), 0,
		"cg_iomax_line(7, 0, &m, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "7:0 riops=500 wiops=100 rbps=1000000 wbps=max", "buf");
}

static void test_iomax_holds(void **state)
{
	struct blkqos_limits l = { 0 };

	(void)state;
	/* no line for the device: the throttle limits nothing there */
	ASSERT_TRUE(cg_iomax_holds("", 7, 0, &l), "cg_iomax_holds(\"\", 7, 0, none)");
	ASSERT_TRUE(cg_iomax_holds("8:0 rbps=max wbps=max riops=5 wiops=max\n", 7, 0, &l),
		"another device's line: none holds for 7:0");
	l.iops = lim(50);
	ASSERT_FALSE(cg_iomax_holds("", 7, 0, &l), "cg_iomax_holds(\"\", 7, 0, iops=50)");
	/* the kernel's order of keys, not cg_iomax_line's */
	ASSERT_TRUE(cg_iomax_holds("8:0 riops=1\n7:0 rbps=max wbps=max riops=50 wiops=50\n",
		7, 0, &l), "7:0 riops=50 wiops=50 holds iops=50");
	ASSERT_FALSE(cg_iomax_holds("7:0 rbps=max wbps=max riops=50 wiops=30\n", 7, 0, &l),
		"7:0 wiops=30 does not hold iops=50");
	ASSERT_FALSE(cg_iomax_holds("7:0 rbps=max wbps=max riops=50 wiops=5x\n", 7, 0, &l),
		"a value that is not a number holds nothing");
	/* keys beyond the four (latency, idle) do not matter */
	ASSERT_TRUE(cg_iomax_holds("7:0 rbps=max wbps=max riops=50 wiops=50 latency=max\n",
		7, 0, &l), "an extra key is ignored");
	l.write_bps = lim(1000000);
	ASSERT_TRUE(cg_iomax_holds("7:0 rbps=max wbps=1000000 riops=50 wiops=50", 7, 0, &l),
		"wbps=1000000 holds write-bps=1M");
}

static void test_unsupported(void **state)
{
	struct blkqos_limits l = { 0 }, dom = { 0 };
	char buf[512];

	(void)state;
	ASSERT_EQ(cg_unsupported_keys(&l, NULL, 0, false, buf, sizeof(buf)), 0,
		"cg_unsupported_keys(&l, NULL, 0, false, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "", "buf");
	/* per-direction rates with their default bursts: all enforced */
	l.read_iops = lim(300);
	l.write_bps = lim(10000000);
	ASSERT_EQ(cg_unsupported_keys(&l, &dom, 3, false, buf, sizeof(buf)), 0,
		"cg_unsupported_keys(&l, &dom, 3, false, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "", "buf");

	l.read_iops.burst = 2000;
	l.write_bps.peak = 50000000;
	l.iops = lim(500);
	l.iops_size = 4096;
	l.flush_mode = BLKQOS_FLUSH_EXEMPT;
	l.discard_mode = BLKQOS_DISCARD_BYTES;
	dom.iops = lim(800);
	ASSERT_EQ(cg_unsupported_keys(&l, &dom, 2, false, buf, sizeof(buf)), 7,
		"cg_unsupported_keys(&l, &dom, 2, false, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "read-iops-burst=2000, write-bps-peak=50000000, iops-size=4096, "
			    "flush=exempt, discard=bytes, domain limits across 2 VBDs (need "
			    "cgroup v2 and one backing device), iops=500 applies per direction", "buf");
	/* a domain group on one device enforces the domain's rate, per direction */
	ASSERT_EQ(cg_unsupported_keys(&l, &dom, 2, true, buf, sizeof(buf)), 7,
		"cg_unsupported_keys(&l, &dom, 2, true, buf, sizeof(buf))");
	ASSERT_NULL(strstr(buf, "across"), "strstr(buf, \"across\")");
	ASSERT_NOT_NULL(strstr(buf, "domain iops=800 applies per direction"),
		"strstr(buf, \"domain iops=800 applies per direction\")");

	/* a one-VBD domain's peak is named, its rate folded */
	dom.iops.peak = 1000;
	ASSERT_EQ(cg_unsupported_keys(&l, &dom, 1, false, buf, sizeof(buf)), 7,
		"cg_unsupported_keys(&l, &dom, 1, false, buf, sizeof(buf))");
	ASSERT_NOT_NULL(strstr(buf, "domain iops-peak=1000"),
		"strstr(buf, \"domain iops-peak=1000\")");
	ASSERT_NOT_NULL(strstr(buf, "iops=500 applies"), "strstr(buf, \"iops=500 applies\")");
	ASSERT_NULL(strstr(buf, "across"), "strstr(buf, \"across\")");

	/* a short buffer is cut, the items still counted */
	ASSERT_EQ(cg_unsupported_keys(&l, &dom, 1, false, buf, 16), 7,
		"cg_unsupported_keys(&l, &dom, 1, false, buf, 16)");
	ASSERT_EQ(strlen(buf), 15, "strlen(buf)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_physdev),
		cmocka_unit_test(test_iomax_line),
		cmocka_unit_test(test_iomax_holds),
		cmocka_unit_test(test_unsupported),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
