// SPDX-License-Identifier: GPL-2.0
/* Unit tests of loader/rules.c: the rules file. */
#define _GNU_SOURCE		/* fmemopen() */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "rules.h"
#include "devname.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#include "logcapture.h"

static int load(const char *text, struct qos_rules *rules, struct logbuf *lb)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	assert_non_null(f);
	memset(lb, 0, sizeof(*lb));
	ret = qos_rules_load(f, "/etc/blkqos/rules", rules, capture, lb);
	fclose(f);
	return ret;
}

static void test_good_file(void **state)
{
	static const char text[] =
		"# blkqos rules\n"
		"\n"
		"web01 xvda bps=20M iops=500\n"
		"   web01\txvdb1   read-bps=50MiB read-bps-burst=8MiB   # data\n"
		"web01 domain iops=2000\n"
		"db-2 51712 write-iops=200 write-iops-peak=400 flush=exempt discard=bytes\n"
		"db-2 hda iops-size=64Ki iops=100\r\n"
		"db-2 d0p1 bps=1G#no space before the comment\n"
		"        # indented comment\n"
		"last xvdc iops=10";			/* no final newline */
	struct qos_rules rules;
	const struct qos_rule *r;
	struct logbuf lb;
	__u32 devid;

	(void)state;
	assert_int_equal(load(text, &rules, &lb), 0);
	assert_int_equal(lb.n, 0);
	assert_int_equal(rules.n, 7);

	r = qos_rules_find_vbd(&rules, "web01", 51712);
	assert_non_null(r);
	assert_int_equal(r->line, 3);
	assert_false(r->domain_scope);
	assert_int_equal(r->limits.bps.rate, 20000000);
	assert_int_equal(r->limits.bps.burst, 2000000);
	assert_true(r->limits.bps.full_ns != 0);
	assert_int_equal(r->limits.iops.rate, 500);

	assert_int_equal(qos_devname_to_devid("xvdb1", &devid), 0);
	r = qos_rules_find_vbd(&rules, "web01", devid);
	assert_non_null(r);
	assert_int_equal(r->limits.read_bps.rate, 50 << 20);
	assert_int_equal(r->limits.read_bps.burst, 8 << 20);

	r = qos_rules_find_domain(&rules, "web01");
	assert_non_null(r);
	assert_true(r->domain_scope);
	assert_int_equal(r->limits.iops.rate, 2000);
	assert_int_equal(r->line, 5);

	r = qos_rules_find_vbd(&rules, "db-2", 51712);
	assert_non_null(r);
	assert_int_equal(r->limits.write_iops.peak, 400);
	assert_int_equal(r->limits.flush_mode, BLKQOS_FLUSH_EXEMPT);
	assert_int_equal(r->limits.discard_mode, BLKQOS_DISCARD_BYTES);

	r = qos_rules_find_vbd(&rules, "db-2", 768);
	assert_non_null(r);
	assert_int_equal(r->limits.iops_size, 65536);
	assert_int_equal(r->limits.iops.rate, 100);

	r = qos_rules_find_vbd(&rules, "db-2", 51713);
	assert_non_null(r);
	assert_int_equal(r->limits.bps.rate, 1000000000);

	r = qos_rules_find_vbd(&rules, "last", 51744);
	assert_non_null(r);
	assert_int_equal(r->line, 10);

	/* Lookups that must miss. */
	assert_null(qos_rules_find_vbd(&rules, "web01", 51713));
	assert_null(qos_rules_find_vbd(&rules, "WEB01", 51712));
	assert_null(qos_rules_find_vbd(&rules, "web0", 51712));
	assert_null(qos_rules_find_domain(&rules, "db-2"));
	assert_null(qos_rules_find_domain(&rules, "nobody"));
	qos_rules_free(&rules);
	assert_int_equal(rules.n, 0);
	qos_rules_free(&rules);		/* twice is fine */
}

static void test_empty_file(void **state)
{
	struct qos_rules rules;
	struct logbuf lb;

	(void)state;
	assert_int_equal(load("", &rules, &lb), 0);
	assert_int_equal(rules.n, 0);
	assert_null(qos_rules_find_vbd(&rules, "web01", 51712));
	qos_rules_free(&rules);
	assert_int_equal(load("# only a comment\n\n  \n", &rules, &lb), 0);
	assert_int_equal(rules.n, 0);
	qos_rules_free(&rules);
}

static void test_bad_lines_skipped(void **state)
{
	static const char text[] =
		"web01 xvda bps=20M\n"			/* 1: good */
		"web01 xvdb bps=2x0\n"			/* 2: bad value */
		"web01 xvdc ipos=500\n"			/* 3: unknown key */
		"web01 xvdd iops\n"			/* 4: no = */
		"web01 vda iops=5\n"			/* 5: bad device */
		"web01 sdq iops=5\n"			/* 6: device past the encoding */
		"web01\n"				/* 7: no device */
		"web01 xvde\n"				/* 8: no keys */
		"web01 xvdf iops=5 iops=6\n"		/* 9: key twice */
		"web01 xvdg iops=100 iops-peak=50\n"	/* 10: refused by derive */
		"iops=5 xvda bps=1M\n"			/* 11: no domain */
		"web01 xvdh credit=5000/s@50ms\n"	/* 12: flat keys are not rule keys */
		"web01 xvdi bps=1M iops=0.5 flush=never\n"	/* 13: two bad values */
		"web02 xvda iops=300\n";		/* 14: good */
	struct qos_rules rules;
	struct logbuf lb;

	(void)state;
	assert_int_equal(load(text, &rules, &lb), 13);
	assert_int_equal(lb.n, 13);
	assert_true(logged(&lb, "/etc/blkqos/rules:2: \"bps=2x0\": unexpected \"x0\""));
	assert_true(logged(&lb, "/etc/blkqos/rules:3: \"ipos=500\": unknown key"));
	assert_true(logged(&lb, "/etc/blkqos/rules:4: \"iops\": expected KEY=VALUE"));
	assert_true(logged(&lb, "/etc/blkqos/rules:5: \"vda\": not a device"));
	assert_true(logged(&lb, "/etc/blkqos/rules:6: \"sdq\": device name beyond"));
	assert_true(logged(&lb, "/etc/blkqos/rules:7: \"web01\": expected DOMAIN DEVICE"));
	assert_true(logged(&lb, "/etc/blkqos/rules:8: \"xvde\": expected KEY=VALUE after"));
	assert_true(logged(&lb, "/etc/blkqos/rules:9: \"iops=6\": iops given twice"));
	assert_true(logged(&lb, "/etc/blkqos/rules:10: \"iops-peak=50\": peak 50/s is below"));
	assert_true(logged(&lb, "/etc/blkqos/rules:11: \"iops=5\": not a domain name"));
	assert_true(logged(&lb, "/etc/blkqos/rules:12: \"credit=5000/s@50ms\": unknown key"));
	assert_true(logged(&lb, "/etc/blkqos/rules:13: \"iops=0.5\": not a whole number of ops"));
	assert_true(logged(&lb, "/etc/blkqos/rules:13: \"flush=never\": expected charge"));

	/* Only lines 1 and 14 survive. */
	assert_int_equal(rules.n, 2);
	assert_non_null(qos_rules_find_vbd(&rules, "web01", 51712));
	assert_non_null(qos_rules_find_vbd(&rules, "web02", 51712));
	assert_null(qos_rules_find_vbd(&rules, "web01", 51728));
	assert_null(qos_rules_find_vbd(&rules, "web01", 51840));
	qos_rules_free(&rules);
}

static void test_notes_keep_line(void **state)
{
	static const char text[] =
		"web01 domain iops=2000 flush=exempt\n"		/* ignored at domain scope */
		"web01 xvda bps-burst=1M\n"			/* burst without its rate */
		"web01 xvda iops=5\n";				/* replaces line 2 */
	struct qos_rules rules;
	const struct qos_rule *r;
	struct logbuf lb;

	(void)state;
	assert_int_equal(load(text, &rules, &lb), 3);
	assert_true(logged(&lb, "rules:1: \"flush=exempt\": ignored: flush applies to a disk"));
	assert_true(logged(&lb, "rules:2: \"bps-burst=1M\": ignored: no rate (bps)"));
	assert_true(logged(&lb, "rules:3: \"web01\": replaces the rule at line 2"));
	assert_int_equal(rules.n, 2);
	r = qos_rules_find_domain(&rules, "web01");
	assert_non_null(r);
	assert_int_equal(r->limits.iops.rate, 2000);
	assert_int_equal(r->limits.flush_mode, 0);
	r = qos_rules_find_vbd(&rules, "web01", 51712);
	assert_non_null(r);
	assert_int_equal(r->line, 3);
	assert_int_equal(r->limits.iops.rate, 5);
	assert_int_equal(r->limits.bps.rate, 0);
	qos_rules_free(&rules);
}

static void test_odd_lines(void **state)
{
	char text[2 * QOS_RULE_LINE_MAX];
	struct qos_rules rules;
	struct logbuf lb;
	size_t n;

	(void)state;
	/* A NUL byte: the line is skipped, the next one is read. */
	{
		static const char nul[] = "web01 xvda iops=5\0junk\nweb02 xvda iops=6\n";
		FILE *f = fmemopen((void *)nul, sizeof(nul) - 1, "r");

		memset(&lb, 0, sizeof(lb));
		assert_int_equal(qos_rules_load(f, NULL, &rules, capture, &lb), 1);
		fclose(f);
		assert_true(logged(&lb, "rules:1: \"web01 xvda iops=5\": NUL byte in line"));
		assert_int_equal(rules.n, 1);
		assert_non_null(qos_rules_find_vbd(&rules, "web02", 51712));
		qos_rules_free(&rules);
	}

	/* A line too long. */
	n = snprintf(text, sizeof(text), "web01 xvda iops=5 ");
	memset(text + n, ' ', QOS_RULE_LINE_MAX);
	strcpy(text + n + QOS_RULE_LINE_MAX, "\nweb02 xvda iops=6\n");
	assert_int_equal(load(text, &rules, &lb), 1);
	assert_true(logged(&lb, "rules:1: \"web01 xvda iops=5   "));
	assert_true(logged(&lb, "line longer than 4096 bytes"));
	assert_int_equal(rules.n, 1);
	qos_rules_free(&rules);

	/* Too many tokens. */
	n = snprintf(text, sizeof(text), "web01 xvda");
	for (int i = 0; i < 30; i++)
		n += snprintf(text + n, sizeof(text) - n, " iops=%d", i);
	assert_int_equal(load(text, &rules, &lb), 1);
	assert_true(logged(&lb, "too many KEY=VALUE tokens (at most 21: one per key"));
	assert_int_equal(rules.n, 0);
	qos_rules_free(&rules);

	/* A control character in a domain name; escaped in the message. */
	assert_int_equal(load("we\x1b" "b xvda iops=5\n", &rules, &lb), 1);
	assert_true(logged(&lb, "rules:1: \"we\\x1bb\": not a domain name"));
	qos_rules_free(&rules);

	/* Many rules: the table grows. */
	{
		static char many[64 * 40];
		const struct qos_rule *r;
		int i;

		for (n = 0, i = 0; i < 60; i++)
			n += snprintf(many + n, sizeof(many) - n, "dom%d xvda iops=%d\n", i, i + 1);
		assert_int_equal(load(many, &rules, &lb), 0);
		assert_int_equal(rules.n, 60);
		r = qos_rules_find_vbd(&rules, "dom42", 51712);
		assert_non_null(r);
		assert_int_equal(r->limits.iops.rate, 43);
		assert_int_equal(r->line, 43);
		qos_rules_free(&rules);
	}
}

static void test_read_error(void **state)
{
	struct qos_rules rules;
	char buf[64];
	FILE *f;

	(void)state;
	f = fmemopen(buf, sizeof(buf), "w");	/* reading it fails */
	assert_non_null(f);
	assert_int_equal(qos_rules_load(f, "x", &rules, capture, NULL), -EIO);
	assert_int_equal(rules.n, 0);
	assert_null(rules.rule);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_file),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_bad_lines_skipped),
		cmocka_unit_test(test_notes_keep_line),
		cmocka_unit_test(test_odd_lines),
		cmocka_unit_test(test_read_error),
	};

	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
