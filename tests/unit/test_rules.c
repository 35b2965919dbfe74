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
#include "asserts.h"
#include "rules.h"
#include "devname.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

#include "logcapture.h"

static int load(const char *text, struct qos_rules *rules, struct logbuf *lb)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int ret;

	ASSERT_NOT_NULL(f, "f");
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
	ASSERT_EQ(load(text, &rules, &lb), 0, "load(text, &rules, &lb)");
	ASSERT_EQ(lb.n, 0, "lb.n");
	ASSERT_EQ(rules.n, 7, "rules.n");

	r = qos_rules_find_vbd(&rules, "web01", 51712);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->line, 3, "r->line");
	ASSERT_FALSE(r->domain_scope, "r->domain_scope");
	ASSERT_EQ(r->limits.bps.rate, 20000000, "r->limits.bps.rate");
	ASSERT_EQ(r->limits.bps.burst, 2000000, "r->limits.bps.burst");
	ASSERT_TRUE(r->limits.bps.full_ns != 0, "r->limits.bps.full_ns != 0");
	ASSERT_EQ(r->limits.iops.rate, 500, "r->limits.iops.rate");

	ASSERT_EQ(qos_devname_to_devid("xvdb1", &devid), 0,
		"qos_devname_to_devid(\"xvdb1\", &devid)");
	r = qos_rules_find_vbd(&rules, "web01", devid);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->limits.read_bps.rate, 50 << 20, "r->limits.read_bps.rate");
	ASSERT_EQ(r->limits.read_bps.burst, 8 << 20, "r->limits.read_bps.burst");

	r = qos_rules_find_domain(&rules, "web01");
	ASSERT_NOT_NULL(r, "r");
	ASSERT_TRUE(r->domain_scope, "r->domain_scope");
	ASSERT_EQ(r->limits.iops.rate, 2000, "r->limits.iops.rate");
	ASSERT_EQ(r->line, 5, "r->line");

	r = qos_rules_find_vbd(&rules, "db-2", 51712);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->limits.write_iops.peak, 400, "r->limits.write_iops.peak");
	ASSERT_EQ(r->limits.flush_mode, BLKQOS_FLUSH_EXEMPT, "r->limits.flush_mode");
	ASSERT_EQ(r->limits.discard_mode, BLKQOS_DISCARD_BYTES, "r->limits.discard_mode");

	r = qos_rules_find_vbd(&rules, "db-2", 768);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->limits.iops_size, 65536, "r->limits.iops_size");
	ASSERT_EQ(r->limits.iops.rate, 100, "r->limits.iops.rate");

	r = qos_rules_find_vbd(&rules, "db-2", 51713);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->limits.bps.rate, 1000000000, "r->limits.bps.rate");

	r = qos_rules_find_vbd(&rules, "last", 51744);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->line, 10, "r->line");

	/* Lookups that must miss. */
	ASSERT_NULL(qos_rules_find_vbd(&rules, "web01", 51713),
		"qos_rules_find_vbd(&rules, \"web01\", 51713)");
	ASSERT_NULL(qos_rules_find_vbd(&rules, "WEB01", 51712),
		"qos_rules_find_vbd(&rules, \"WEB01\", 51712)");
	ASSERT_NULL(qos_rules_find_vbd(&rules, "web0", 51712),
		"qos_rules_find_vbd(&rules, \"web0\", 51712)");
	ASSERT_NULL(qos_rules_find_domain(&rules, "db-2"),
		"qos_rules_find_domain(&rules, \"db-2\")");
	ASSERT_NULL(qos_rules_find_domain(&rules, "nobody"),
		"qos_rules_find_domain(&rules, \"nobody\")");
	qos_rules_free(&rules);
	ASSERT_EQ(rules.n, 0, "rules.n");
	qos_rules_free(&rules);		/* twice is fine */
}

static void test_empty_file(void **state)
{
	struct qos_rules rules;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(load("", &rules, &lb), 0, "load(\"\", &rules, &lb)");
	ASSERT_EQ(rules.n, 0, "rules.n");
	ASSERT_NULL(qos_rules_find_vbd(&rules, "web01", 51712),
		"qos_rules_find_vbd(&rules, \"web01\", 51712)");
	qos_rules_free(&rules);
	ASSERT_EQ(load("# only a comment\n\n  \n", &rules, &lb), 0,
		"load(\"# only a comment\\n\\n \\n\", &rules, &lb)");
	ASSERT_EQ(rules.n, 0, "rules.n");
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
	ASSERT_EQ(load(text, &rules, &lb), 13, "load(text, &rules, &lb)");
	ASSERT_EQ(lb.n, 13, "lb.n");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:2: \"bps=2x0\": unexpected \"x0\""),
		"logged(&lb, \"/etc/blkqos/rules:2: \\\"bps=2x0\\\": unexpected \\\"x0\\\"\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:3: \"ipos=500\": unknown key"),
		"logged(&lb, \"/etc/blkqos/rules:3: \\\"ipos=500\\\": unknown key\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:4: \"iops\": expected KEY=VALUE"),
		"logged(&lb, \"/etc/blkqos/rules:4: \\\"iops\\\": expected KEY=VALUE\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:5: \"vda\": not a device"),
		"logged(&lb, \"/etc/blkqos/rules:5: \\\"vda\\\": not a device\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:6: \"sdq\": device name beyond"),
		"logged(&lb, \"/etc/blkqos/rules:6: \\\"sdq\\\": device name beyond\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:7: \"web01\": expected DOMAIN DEVICE"),
		"logged(&lb, \"/etc/blkqos/rules:7: \\\"web01\\\": expected DOMAIN DEVICE\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:8: \"xvde\": expected KEY=VALUE after"),
		"logged(&lb, \"/etc/blkqos/rules:8: \\\"xvde\\\": expected KEY=VALUE after\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:9: \"iops=6\": iops given twice"),
		"logged(&lb, \"/etc/blkqos/rules:9: \\\"iops=6\\\": iops given twice\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:10: \"iops-peak=50\": peak 50/s is below"),
		"logged(&lb, \"/etc/blkqos/rules:10: \\\"iops-peak=50\\\": peak 50/s is below\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:11: \"iops=5\": not a domain name"),
		"logged(&lb, \"/etc/blkqos/rules:11: \\\"iops=5\\\": not a domain name\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:12: \"credit=5000/s@50ms\": unknown key"),
		"logged(&lb, \"/etc/blkqos/rules:12: \\\"credit=5000/s@50ms\\\": unknown key\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:13: \"iops=0.5\": not a whole number of ops"),
		"logged(&lb, \"/etc/blkqos/rules:13: \\\"iops=0.5\\\": not a whole number of ops\")");
	ASSERT_TRUE(logged(&lb, "/etc/blkqos/rules:13: \"flush=never\": expected charge"),
		"logged(&lb, \"/etc/blkqos/rules:13: \\\"flush=never\\\": expected charge\")");

	/* Only lines 1 and 14 survive. */
	ASSERT_EQ(rules.n, 2, "rules.n");
	ASSERT_NOT_NULL(qos_rules_find_vbd(&rules, "web01", 51712),
		"qos_rules_find_vbd(&rules, \"web01\", 51712)");
	ASSERT_NOT_NULL(qos_rules_find_vbd(&rules, "web02", 51712),
		"qos_rules_find_vbd(&rules, \"web02\", 51712)");
	ASSERT_NULL(qos_rules_find_vbd(&rules, "web01", 51728),
		"qos_rules_find_vbd(&rules, \"web01\", 51728)");
	ASSERT_NULL(qos_rules_find_vbd(&rules, "web01", 51840),
		"qos_rules_find_vbd(&rules, \"web01\", 51840)");
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
	ASSERT_EQ(load(text, &rules, &lb), 3, "load(text, &rules, &lb)");
	ASSERT_TRUE(logged(&lb, "rules:1: \"flush=exempt\": ignored: flush applies to a disk"),
		"logged(&lb, \"rules:1: \\\"flush=exempt\\\": ignored: flush applies to a disk\")");
	ASSERT_TRUE(logged(&lb, "rules:2: \"bps-burst=1M\": ignored: no rate (bps)"),
		"logged(&lb, \"rules:2: \\\"bps-burst=1M\\\": ignored: no rate (bps)\")");
	ASSERT_TRUE(logged(&lb, "rules:3: \"web01\": replaces the rule at line 2"),
		"logged(&lb, \"rules:3: \\\"web01\\\": replaces the rule at line 2\")");
	ASSERT_EQ(rules.n, 2, "rules.n");
	r = qos_rules_find_domain(&rules, "web01");
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->limits.iops.rate, 2000, "r->limits.iops.rate");
	ASSERT_EQ(r->limits.flush_mode, 0, "r->limits.flush_mode");
	r = qos_rules_find_vbd(&rules, "web01", 51712);
	ASSERT_NOT_NULL(r, "r");
	ASSERT_EQ(r->line, 3, "r->line");
	ASSERT_EQ(r->limits.iops.rate, 5, "r->limits.iops.rate");
	ASSERT_EQ(r->limits.bps.rate, 0, "r->limits.bps.rate");
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
		ASSERT_EQ(qos_rules_load(f, NULL, &rules, capture, &lb), 1,
			"qos_rules_load(f, NULL, &rules, capture, &lb)");
		fclose(f);
		ASSERT_TRUE(logged(&lb, "rules:1: \"web01 xvda iops=5\": NUL byte in line"),
			"logged(&lb, \"rules:1: \\\"web01 xvda iops=5\\\": NUL byte in line\")");
		ASSERT_EQ(rules.n, 1, "rules.n");
		ASSERT_NOT_NULL(qos_rules_find_vbd(&rules, "web02", 51712),
			"qos_rules_find_vbd(&rules, \"web02\", 51712)");
		qos_rules_free(&rules);
	}

	/* A line too long. */
	n = snprintf(text, sizeof(text), "web01 xvda iops=5 ");
	memset(text + n, ' ', QOS_RULE_LINE_MAX);
	strcpy(text + n + QOS_RULE_LINE_MAX, "\nweb02 xvda iops=6\n");
	ASSERT_EQ(load(text, &rules, &lb), 1, "load(text, &rules, &lb)");
	ASSERT_TRUE(logged(&lb, "rules:1: \"web01 xvda iops=5   "),
		"logged(&lb, \"rules:1: \\\"web01 xvda iops=5 \")");
	ASSERT_TRUE(logged(&lb, "line longer than 4096 bytes"),
		"logged(&lb, \"line longer than 4096 bytes\")");
	ASSERT_EQ(rules.n, 1, "rules.n");
	qos_rules_free(&rules);

	/* Too many tokens. */
	n = snprintf(text, sizeof(text), "web01 xvda");
	for (int i = 0; i < 30; i++)
		n += snprintf(text + n, sizeof(text) - n, " iops=%d", i);
	ASSERT_EQ(load(text, &rules, &lb), 1, "load(text, &rules, &lb)");
	ASSERT_TRUE(logged(&lb, "too many KEY=VALUE tokens (at most 21: one per key"),
		"logged(&lb, \"too many KEY=VALUE tokens (at most 21: one per key\")");
	ASSERT_EQ(rules.n, 0, "rules.n");
	qos_rules_free(&rules);

	/* A control character in a domain name; escaped in the message. */
	ASSERT_EQ(load("we\x1b" "b xvda iops=5\n", &rules, &lb), 1,
		"load(\"we\\x1b\" \"b xvda iops=5\\n\", &rules, &lb)");
	ASSERT_TRUE(logged(&lb, "rules:1: \"we\\x1bb\": not a domain name"),
		"logged(&lb, \"rules:1: \\\"we\\\\x1bb\\\": not a domain name\")");
	qos_rules_free(&rules);

	/* Many rules: the table grows. */
	{
		static char many[64 * 40];
		const struct qos_rule *r;
		int i;

		for (n = 0, i = 0; i < 60; i++)
			n += snprintf(many + n, sizeof(many) - n, "dom%d xvda iops=%d\n", i, i + 1);
		ASSERT_EQ(load(many, &rules, &lb), 0, "load(many, &rules, &lb)");
		ASSERT_EQ(rules.n, 60, "rules.n");
		r = qos_rules_find_vbd(&rules, "dom42", 51712);
		ASSERT_NOT_NULL(r, "r");
		ASSERT_EQ(r->limits.iops.rate, 43, "r->limits.iops.rate");
		ASSERT_EQ(r->line, 43, "r->line");
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
	ASSERT_NOT_NULL(f, "f");
	ASSERT_EQ(qos_rules_load(f, "x", &rules, capture, NULL), -EIO,
		"qos_rules_load(f, \"x\", &rules, capture, NULL)");
	ASSERT_EQ(rules.n, 0, "rules.n");
	ASSERT_NULL(rules.rule, "rules.rule");
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
