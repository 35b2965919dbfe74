// SPDX-License-Identifier: GPL-2.0
/* Unit tests of loader/devname.c against Xen's VBD encoding. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "asserts.h"
#include "devname.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

struct name_case {
	const char *name;
	__u32 devid;
	const char *canonical;	/* what devid prints as; NULL = name itself */
};

static const struct name_case names[] = {
	{ "xvda", 51712, NULL },		/* 202 << 8 */
	{ "xvda1", 51713, NULL },
	{ "xvdb", 51728, NULL },
	{ "xvdb1", 51729, NULL },
	{ "xvdp15", 202 << 8 | 15 << 4 | 15, NULL },
	{ "xvdq", 1 << 28 | 16 << 8, NULL },	/* disk 16: extended format */
	{ "xvda16", 1 << 28 | 16, NULL },	/* partition 16: extended format */
	{ "xvdz", 1 << 28 | 25 << 8, NULL },
	{ "xvdaa", 1 << 28 | 26 << 8, NULL },
	{ "xvdaz", 1 << 28 | 51 << 8, NULL },
	{ "xvdba", 1 << 28 | 52 << 8, NULL },
	{ "xvdzz", 1 << 28 | 701 << 8, NULL },
	{ "xvdaaa", 1 << 28 | 702 << 8, NULL },
	{ "xvdtq37", 1 << 28 | 536 << 8 | 37, NULL },	/* the spec's d536p37 */
	{ "xvdb255", 1 << 28 | 1 << 8 | 255, NULL },
	{ "xvdbgqcv", 1 << 28 | 0xfffff << 8, NULL },	/* disk 2^20 - 1, the last */
	{ "sda", 8 << 8, NULL },
	{ "sdb3", 8 << 8 | 1 << 4 | 3, NULL },
	{ "sdp15", 8 << 8 | 15 << 4 | 15, NULL },
	{ "hda", 3 << 8, NULL },
	{ "hda1", 3 << 8 | 1, NULL },
	{ "hdb", 3 << 8 | 1 << 6, NULL },
	{ "hdb63", 3 << 8 | 1 << 6 | 63, NULL },
	{ "hdc", 22 << 8, NULL },
	{ "hdc2", 22 << 8 | 2, NULL },
	{ "hdd", 22 << 8 | 1 << 6, NULL },
	{ "d0", 51712, "xvda" },
	{ "d0p0", 51712, "xvda" },
	{ "d1p2", 51730, "xvdb2" },	/* the spec pairs it with "xvda2": a typo there */
	{ "d536p37", 1 << 28 | 536 << 8 | 37, "xvdtq37" },
	{ "d1048575p255", 1 << 28 | 0xfffff << 8 | 255, "xvdbgqcv255" },
	{ "51712", 51712, "xvda" },
	{ "0xca00", 51712, "xvda" },
	{ "0XCA01", 51713, "xvda1" },
	{ "768", 768, "hda" },
	{ "4294967295", 4294967295U, "4294967295" },	/* reserved: number kept */
	{ "0", 0, "0" },
	{ "1234", 1234, "1234" },			/* deprecated: still a devid */
};

static void test_names(void **state)
{
	char buf[QOS_DEVNAME_MAX];
	const char *want;
	size_t i;
	__u32 id;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(names); i++) {
		id = 0xdeadbeef;
		ret = qos_devname_to_devid(names[i].name, &id);
		if (ret || id != names[i].devid)
			fail_msg("%s: ret %d devid %u, want %u", names[i].name, ret, id,
				 names[i].devid);
		want = names[i].canonical ? names[i].canonical : names[i].name;
		ret = qos_devid_to_devname(id, buf, sizeof(buf));
		if (strcmp(buf, want))
			fail_msg("%u: \"%s\", want \"%s\"", id, buf, want);
		/* A name: 0; the number: -EINVAL. */
		ASSERT_EQ(ret, want[0] >= '0' && want[0] <= '9' ? -EINVAL : 0, "ret");
	}
}

static void test_bad_names(void **state)
{
	static const struct { const char *name; int ret; } bad[] = {
		{ "", -EINVAL }, { "xvd", -EINVAL }, { "xvdA", -EINVAL }, { "vda", -EINVAL },
		{ "xvda0", -EINVAL }, { "xvda01", -EINVAL }, { "xvda1b", -EINVAL },
		{ "xvda-1", -EINVAL }, { " xvda", -EINVAL }, { "xvda ", -EINVAL },
		{ "xvda256", -ERANGE }, { "xvda99999999999", -ERANGE },
		{ "xvdbgqcw", -ERANGE },		/* disk 2^20 */
		{ "xvdaaaaaa", -ERANGE },		/* six letters */
		{ "sdq", -ERANGE }, { "sda16", -ERANGE },	/* deprecated SCSI numbers */
		{ "hde", -ERANGE }, { "hda64", -ERANGE },
		{ "d", -EINVAL }, { "dp1", -EINVAL }, { "d0p", -EINVAL }, { "d01", -EINVAL },
		{ "d0p01", -EINVAL }, { "d0q1", -EINVAL }, { "d1048576", -ERANGE },
		{ "d0p256", -ERANGE },
		{ "0x", -EINVAL }, { "0xg", -EINVAL }, { "012", -EINVAL }, { "12a", -EINVAL },
		{ "-1", -EINVAL }, { "4294967296", -ERANGE }, { "0x100000000", -ERANGE },
		{ "domain", -EINVAL },
	};
	size_t i;
	__u32 id;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		id = 42;
		if (qos_devname_to_devid(bad[i].name, &id) != bad[i].ret)
			fail_msg("\"%s\" not refused with %d", bad[i].name, bad[i].ret);
		ASSERT_EQ(id, 42, "id");
	}
	ASSERT_EQ(qos_devname_to_devid(NULL, &id), -EINVAL, "qos_devname_to_devid(NULL, &id)");
}

static void test_non_canonical_ids(void **state)
{
	static const __u32 ids[] = {
		1 << 28,			/* xvda in the extended format */
		1 << 28 | 15 << 8 | 15,		/* xvdp15, extended */
		2 << 28,			/* reserved */
		0xffffffff,
		3 << 8 | 2 << 6,		/* hd major 3, disk 2: deprecated */
		22 << 8 | 2 << 6,		/* hd major 22, disk 4 */
		9 << 8, 65 << 8,
	};
	char buf[QOS_DEVNAME_MAX], want[16];
	size_t i;
	__u32 back;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ids); i++) {
		ASSERT_EQ(qos_devid_to_devname(ids[i], buf, sizeof(buf)), -EINVAL,
			"qos_devid_to_devname(ids[i], buf, sizeof(buf))");
		snprintf(want, sizeof(want), "%u", ids[i]);
		ASSERT_STR_EQ(buf, want, "buf");
		ASSERT_EQ(qos_devname_to_devid(buf, &back), 0, "qos_devname_to_devid(buf, &back)");
		ASSERT_EQ(back, ids[i], "back");
	}
}

/* Every id maps to a name that maps back to it (names or numbers). */
static void test_round_trip_all_encodings(void **state)
{
	char buf[QOS_DEVNAME_MAX];
	__u32 id, back, disk, part;
	int ret;

	(void)state;
	for (id = 0; id < 0x10000; id++) {
		ret = qos_devid_to_devname(id, buf, sizeof(buf));
		ASSERT_TRUE(ret == 0 || ret == -EINVAL, "ret == 0 || ret == -EINVAL");
		ASSERT_EQ(qos_devname_to_devid(buf, &back), 0, "qos_devname_to_devid(buf, &back)");
		ASSERT_EQ(back, id, "back");
	}
	for (disk = 0; disk < (1 << 20); disk += 997) {
		for (part = 0; part < 256; part += 51) {
			id = 1 << 28 | disk << 8 | part;
			qos_devid_to_devname(id, buf, sizeof(buf));
			ASSERT_EQ(qos_devname_to_devid(buf, &back), 0,
				"qos_devname_to_devid(buf, &back)");
			ASSERT_EQ(back, id, "back");
		}
	}
}

static void test_small_buffer(void **state)
{
	char buf[4];

	(void)state;
	ASSERT_EQ(qos_devid_to_devname(51712, buf, sizeof(buf)), -ENOSPC,
		"qos_devid_to_devname(51712, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "", "buf");
	ASSERT_EQ(qos_devid_to_devname(1 << 28 | 99 << 8, buf, sizeof(buf)), -ENOSPC,
		"qos_devid_to_devname(1 << 28 | 99 << 8, buf, sizeof(buf))");
	ASSERT_EQ(qos_devid_to_devname(0xffffffff, buf, sizeof(buf)), -ENOSPC,
		"qos_devid_to_devname(0xffffffff, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "", "buf");
	ASSERT_EQ(qos_devid_to_devname(8 << 8, buf, sizeof(buf)), 0,
		"qos_devid_to_devname(8 << 8, buf, sizeof(buf))");
	ASSERT_STR_EQ(buf, "sda", "buf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_non_canonical_ids),
		cmocka_unit_test(test_round_trip_all_encodings),
		cmocka_unit_test(test_small_buffer),
	};

	return cmocka_run_group_tests_name("devname", tests, NULL, NULL);
}
