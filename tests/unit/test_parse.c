// SPDX-License-Identifier: GPL-2.0
/* Unit tests of loader/parse.c: amounts, credit, modes, the xenstore schema. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "asserts.h"
#include "parse.h"
#include "limits.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define U64_MAX		18446744073709551615ULL

/* ---- Log capture -------------------------------------------------------- */

#include "logcapture.h"

/* ---- Amounts ------------------------------------------------------------ */

struct amount_case {
	const char *text;
	enum qos_unit unit;
	__u64 want;
};

static const struct amount_case accepted[] = {
	{ "500", QOS_UNIT_IOPS, 500 },
	{ "0", QOS_UNIT_IOPS, 0 },
	{ "", QOS_UNIT_BPS, 0 },
	{ "   ", QOS_UNIT_BPS, 0 },
	{ "max", QOS_UNIT_IOPS, 0 },
	{ "MAX", QOS_UNIT_BYTES, 0 },
	{ "unlimited", QOS_UNIT_BPS, 0 },
	{ "Unlimited\n", QOS_UNIT_OPS, 0 },
	{ "5k", QOS_UNIT_IOPS, 5000 },
	{ "5K", QOS_UNIT_OPS, 5000 },
	{ "10M", QOS_UNIT_BPS, 10000000 },
	{ "10m", QOS_UNIT_BPS, 10000000 },
	{ "10MB", QOS_UNIT_BPS, 10000000 },
	{ "10MiB", QOS_UNIT_BPS, 10485760 },
	{ "10Mi", QOS_UNIT_IOPS, 10485760 },
	{ "1G", QOS_UNIT_BPS, 1000000000 },
	{ "1GiB", QOS_UNIT_BYTES, 1073741824 },
	{ "2T", QOS_UNIT_BPS, 2000000000000ULL },
	{ "2Ti", QOS_UNIT_BPS, 2199023255552ULL },
	{ "3KiB", QOS_UNIT_BYTES, 3072 },
	{ "7B", QOS_UNIT_BYTES, 7 },
	{ "10M/s", QOS_UNIT_BPS, 10000000 },
	{ "10MiB/s", QOS_UNIT_BPS, 10485760 },
	{ "500/s", QOS_UNIT_IOPS, 500 },
	{ "5k/S", QOS_UNIT_IOPS, 5000 },
	{ " 42 ", QOS_UNIT_IOPS, 42 },
	{ "\t42\n", QOS_UNIT_IOPS, 42 },
	{ "42\r\n", QOS_UNIT_IOPS, 42 },
	{ "10 MiB", QOS_UNIT_BYTES, 10485760 },
	{ "007", QOS_UNIT_IOPS, 7 },
	{ "1.5M", QOS_UNIT_BPS, 1500000 },
	{ "1.5M", QOS_UNIT_IOPS, 1500000 },
	{ "0.5Ki", QOS_UNIT_BYTES, 512 },
	{ "0.5K", QOS_UNIT_OPS, 500 },
	{ "1.0", QOS_UNIT_IOPS, 1 },
	{ "2.50K", QOS_UNIT_IOPS, 2500 },
	{ "1.000000000000000000000000000", QOS_UNIT_IOPS, 1 },
	{ "0.001K", QOS_UNIT_IOPS, 1 },
	{ "0.0009765625Ki", QOS_UNIT_BYTES, 1 },
	{ "18446744073709551615", QOS_UNIT_BYTES, U64_MAX },
	{ "18446744073709551615/s", QOS_UNIT_BPS, U64_MAX },
	{ "18446744073709551.615K", QOS_UNIT_BPS, U64_MAX },
	{ "18446744073709551K", QOS_UNIT_BPS, 18446744073709551000ULL },
	{ "16777215Ti", QOS_UNIT_BPS, 16777215ULL << 40 },
	{ "18446744.073709551615T", QOS_UNIT_BPS, U64_MAX },
};

static void test_amount_accepted(void **state)
{
	char err[QOS_ERR_MAX];
	size_t i;
	__u64 v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(accepted); i++) {
		const struct amount_case *c = &accepted[i];

		v = 12345;
		err[0] = '\0';
		if (qos_parse_amount(c->text, c->unit, &v, err, sizeof(err)))
			fail_msg("\"%s\" refused: %s", c->text, err);
		if (v != c->want)
			fail_msg("\"%s\" = %llu, want %llu", c->text,
				 (unsigned long long)v, (unsigned long long)c->want);
	}
}

struct reject_case {
	const char *text;
	enum qos_unit unit;
	int ret;
	const char *why;	/* a piece of the message */
};

static const struct reject_case rejected[] = {
	{ "-5", QOS_UNIT_IOPS, -EINVAL, "negative" },
	{ "-0", QOS_UNIT_IOPS, -EINVAL, "negative" },
	{ "abc", QOS_UNIT_IOPS, -EINVAL, "not a number" },
	{ "+5", QOS_UNIT_IOPS, -EINVAL, "not a number" },
	{ "1.5.3", QOS_UNIT_IOPS, -EINVAL, "unexpected \".3\"" },
	{ "0x10", QOS_UNIT_IOPS, -EINVAL, "hexadecimal" },
	{ "0XFF", QOS_UNIT_BPS, -EINVAL, "hexadecimal" },
	{ "1e6", QOS_UNIT_IOPS, -EINVAL, "unexpected" },
	{ "10X", QOS_UNIT_IOPS, -EINVAL, "unexpected \"X\"" },
	{ "10 M B", QOS_UNIT_BPS, -EINVAL, "unexpected" },
	{ "10M junk", QOS_UNIT_BPS, -EINVAL, "unexpected" },
	{ "10Mb", QOS_UNIT_BPS, -EINVAL, "bits" },
	{ "10mib", QOS_UNIT_BYTES, -EINVAL, "bits" },
	{ "10MB", QOS_UNIT_IOPS, -EINVAL, "counted in ops" },
	{ "10B", QOS_UNIT_OPS, -EINVAL, "counted in ops" },
	{ "10M/s", QOS_UNIT_BYTES, -EINVAL, "not a rate" },
	{ "10/s", QOS_UNIT_OPS, -EINVAL, "not a rate" },
	{ "10/m", QOS_UNIT_IOPS, -EINVAL, "unexpected" },
	{ "10/sec", QOS_UNIT_IOPS, -EINVAL, "unexpected" },
	{ "0.3", QOS_UNIT_IOPS, -EINVAL, "not a whole number of ops" },
	{ "1.5", QOS_UNIT_BYTES, -EINVAL, "not a whole number of bytes" },
	{ "1.0001K", QOS_UNIT_IOPS, -EINVAL, "not a whole number" },
	{ "0.1Ki", QOS_UNIT_BYTES, -EINVAL, "not a whole number" },
	{ "1.", QOS_UNIT_IOPS, -EINVAL, "followed by digits" },
	{ ".5K", QOS_UNIT_IOPS, -EINVAL, "not a number" },
	{ "1.12345678901234567891K", QOS_UNIT_IOPS, -EINVAL, "decimal places" },
	{ "1 2", QOS_UNIT_IOPS, -EINVAL, "unexpected" },
	{ "max/s", QOS_UNIT_IOPS, -EINVAL, "not a number" },
	{ "maxi", QOS_UNIT_IOPS, -EINVAL, "not a number" },
	{ "18446744073709551616", QOS_UNIT_BYTES, -ERANGE, "too large" },
	{ "99999999999999999999999", QOS_UNIT_BYTES, -ERANGE, "too large" },
	{ "18446744073709551616k", QOS_UNIT_BPS, -ERANGE, "too large" },
	{ "18446744073709552K", QOS_UNIT_BPS, -ERANGE, "too large" },
	{ "18446744073709551.616K", QOS_UNIT_BPS, -ERANGE, "too large" },
	{ "16777216Ti", QOS_UNIT_BPS, -ERANGE, "too large" },
	{ "18446744073709551615K", QOS_UNIT_BPS, -ERANGE, "too large" },
	{ "10P", QOS_UNIT_BPS, -EINVAL, "unexpected \"P\"" },
	{ "5\n6", QOS_UNIT_IOPS, -EINVAL, "unexpected" },
};

static void test_amount_rejected(void **state)
{
	char err[QOS_ERR_MAX], quoted[128];
	size_t i;
	int ret;
	__u64 v;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rejected); i++) {
		const struct reject_case *c = &rejected[i];

		err[0] = '\0';
		v = 777;
		ret = qos_parse_amount(c->text, c->unit, &v, err, sizeof(err));
		if (ret != c->ret)
			fail_msg("\"%s\": returned %d, want %d (%s)", c->text, ret, c->ret, err);
		if (!strstr(err, c->why))
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"", c->text, err, c->why);
		/* The message names the value (escaped and quoted). */
		qos_shown(c->text, quoted, sizeof(quoted));
		if (strncmp(err + 1, quoted, strlen(quoted)) || err[0] != '"')
			fail_msg("\"%s\": message \"%s\" does not start with the value",
				 c->text, err);
		ASSERT_NULL(strchr(err, '\n'), "strchr(err, '\\n')");
		ASSERT_EQ(v, 777, "v");	/* untouched on error */
	}
}

static void test_amount_message_long_value(void **state)
{
	char text[300], err[QOS_ERR_MAX];
	__u64 v;

	(void)state;
	memset(text, 'z', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	ASSERT_EQ(qos_parse_amount(text, QOS_UNIT_BPS, &v, err, sizeof(err)), -EINVAL,
		"qos_parse_amount(text, QOS_UNIT_BPS, &v, err, sizeof(err))");
	ASSERT_NOT_NULL(strstr(err, "...\""), "strstr(err, \"...\\\"\")");
	ASSERT_TRUE(strlen(err) < sizeof(err) - 1, "strlen(err) < sizeof(err) - 1");
	/* A tiny or absent err buffer is fine too. */
	ASSERT_EQ(qos_parse_amount(text, QOS_UNIT_BPS, &v, err, 4), -EINVAL,
		"qos_parse_amount(text, QOS_UNIT_BPS, &v, err, 4)");
	ASSERT_EQ(strlen(err), 3, "strlen(err)");
	ASSERT_EQ(qos_parse_amount("x", QOS_UNIT_BPS, &v, NULL, 0), -EINVAL,
		"qos_parse_amount(\"x\", QOS_UNIT_BPS, &v, NULL, 0)");
	/* An absent value reads as empty: unlimited. */
	ASSERT_EQ(qos_parse_amount(NULL, QOS_UNIT_BPS, &v, err, sizeof(err)), 0,
		"qos_parse_amount(NULL, QOS_UNIT_BPS, &v, err, sizeof(err))");
	ASSERT_EQ(v, 0, "v");
	ASSERT_EQ(qos_parse_amount("1", 9, &v, err, sizeof(err)), -EINVAL,
		"qos_parse_amount(\"1\", 9, &v, err, sizeof(err))");
}

static void test_shown(void **state)
{
	char buf[QOS_SHOWN_MAX];

	(void)state;
	qos_shown("a\"b\\c\n\x01\xff", buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "a\\\"b\\\\c\\x0a\\x01\\xff", "buf");
	qos_shown(NULL, buf, sizeof(buf));
	ASSERT_STR_EQ(buf, "", "buf");
	qos_shown("abcdefgh", buf, 6);
	ASSERT_TRUE(strlen(buf) < 6, "strlen(buf) < 6");
}

/* ---- Printing amounts --------------------------------------------------- */

static void test_format_amount(void **state)
{
	static const struct { __u64 v; const char *want; } cases[] = {
		{ 0, "max" }, { 1, "1" }, { 500, "500" }, { 999, "999" },
		{ 1000, "1K" }, { 1024, "1Ki" }, { 5000, "5K" }, { 10000000, "10M" },
		{ 10485760, "10Mi" }, { 1500000, "1500K" }, { 1000000000, "1G" },
		{ 1ULL << 30, "1Gi" }, { 2000000000000ULL, "2T" }, { 1ULL << 40, "1Ti" },
		{ 1ULL << 50, "1024Ti" }, { 1ULL << 37, "128Gi" },
		{ U64_MAX, "18446744073709551615" }, { 1000000000000000000ULL, "1000000T" },
	};
	char buf[24], err[QOS_ERR_MAX];
	size_t i;
	__u64 back;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		ASSERT_EQ(qos_format_amount(cases[i].v, buf, sizeof(buf)),
				 strlen(cases[i].want), "qos_format_amount(cases[i].v, buf, sizeof(buf))");
		ASSERT_STR_EQ(buf, cases[i].want, "buf");
		ASSERT_EQ(qos_parse_amount(buf, QOS_UNIT_BYTES, &back, err, sizeof(err)), 0,
			"qos_parse_amount(buf, QOS_UNIT_BYTES, &back, err, sizeof(err))");
		ASSERT_EQ(back, cases[i].v, "back");
	}
	ASSERT_EQ(qos_format_amount(U64_MAX, buf, 20), -ENOSPC,
		"qos_format_amount(U64_MAX, buf, 20)");
	ASSERT_STR_EQ(buf, "", "buf");
	ASSERT_EQ(qos_format_amount(10000000, buf, 4), 3, "qos_format_amount(10000000, buf, 4)");
}

/* Every value that prints must read back the same, in every unit. */
static void test_format_round_trip(void **state)
{
	char buf[24], err[QOS_ERR_MAX];
	__u64 v, back, x = 88172645463325252ULL;
	int i, u;

	(void)state;
	for (i = 0; i < 20000; i++) {
		/* xorshift, mixed with multiples of the suffixes */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		v = i % 3 == 0 ? x : i % 3 == 1 ? (x % 100000) * 1000000 : (x % 100000) << 20;
		ASSERT_TRUE(qos_format_amount(v, buf, sizeof(buf)) > 0,
			"qos_format_amount(v, buf, sizeof(buf)) > 0");
		for (u = QOS_UNIT_IOPS; u <= QOS_UNIT_BYTES; u++) {
			ASSERT_EQ(qos_parse_amount(buf, u, &back, err, sizeof(err)), 0,
				"qos_parse_amount(buf, u, &back, err, sizeof(err))");
			ASSERT_EQ(back, v, "back");
		}
	}
}

/* ---- Credit ------------------------------------------------------------- */

static void test_credit(void **state)
{
	static const struct { const char *text; __u64 rate, burst; } ok[] = {
		{ "5000/s@50ms", 5000, 250 },
		{ "5000@50ms", 5000, 250 },
		{ " 5000/s @ 50 ms\n", 5000, 250 },
		{ "5K/s@1s", 5000, 5000 },
		{ "1000/s@1.5ms", 1000, 2 },		/* 1.5 ops: rounded up */
		{ "3/s@50ms", 3, 1 },			/* 0.15 ops: at least 1 */
		{ "1000/s@500us", 1000, 1 },
		{ "1000000/s@1000ns", 1000000, 1 },
		{ "100/s@10s", 100, 1000 },
		{ "5000/s", 5000, 0 },			/* no interval: default burst */
		{ "0/s@50ms", 0, 0 },
		{ "max@50ms", 0, 0 },
		{ "18446744073709551615/s@1ns", U64_MAX, 18446744074ULL },
	};
	static const struct { const char *text; int ret; const char *why; } bad[] = {
		{ "5000/s@", -EINVAL, "interval: not a number" },
		{ "5000/s@50", -EINVAL, "needs a unit" },
		{ "5000/s@50min", -EINVAL, "needs a unit" },
		{ "5000/s@0ms", -EINVAL, "zero" },
		{ "5000/s@0.5ns", -EINVAL, "whole number of ns" },
		{ "5000/s@-5ms", -EINVAL, "interval: not a number" },
		{ "5000/s@50ms@1s", -EINVAL, "needs a unit" },
		{ "@50ms", -EINVAL, "no rate" },
		{ "", -EINVAL, "no rate" },
		{ "5x/s@50ms", -EINVAL, "rate: unexpected" },
		{ "5000MB/s@50ms", -EINVAL, "rate: \"B\"" },
		{ "0.5/s@50ms", -EINVAL, "rate: not a whole number" },
		{ "18446744073709551615/s@2s", -ERANGE, "too large" },
		{ "100/s@18446744073709551615s", -ERANGE, "interval too long" },
		{ "18446744073709551616/s@1s", -ERANGE, "rate: too large" },
	};
	char err[QOS_ERR_MAX];
	__u64 rate, burst;
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		rate = burst = 99;
		ret = qos_parse_credit(ok[i].text, &rate, &burst, err, sizeof(err));
		if (ret)
			fail_msg("\"%s\" refused: %s", ok[i].text, err);
		if (rate != ok[i].rate || burst != ok[i].burst)
			fail_msg("\"%s\": rate %llu burst %llu", ok[i].text,
				 (unsigned long long)rate, (unsigned long long)burst);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		err[0] = '\0';
		ret = qos_parse_credit(bad[i].text, &rate, &burst, err, sizeof(err));
		if (ret != bad[i].ret || !strstr(err, bad[i].why))
			fail_msg("\"%s\": %d \"%s\", want %d \"%s\"", bad[i].text, ret, err,
				 bad[i].ret, bad[i].why);
		ASSERT_EQ(err[0], '"', "err[0]");
	}
}

/* ---- Modes -------------------------------------------------------------- */

static void test_modes(void **state)
{
	char err[QOS_ERR_MAX];
	__u32 m;

	(void)state;
	ASSERT_EQ(qos_parse_flush_mode("charge", &m, err, sizeof(err)), 0,
		"qos_parse_flush_mode(\"charge\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_FLUSH_OP, "m");
	ASSERT_EQ(qos_parse_flush_mode(" exempt\n", &m, err, sizeof(err)), 0,
		"qos_parse_flush_mode(\" exempt\\n\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_FLUSH_EXEMPT, "m");
	ASSERT_EQ(qos_parse_flush_mode("", &m, err, sizeof(err)), 0,
		"qos_parse_flush_mode(\"\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_FLUSH_OP, "m");
	ASSERT_EQ(qos_parse_flush_mode("EXEMPT", &m, err, sizeof(err)), 0,
		"qos_parse_flush_mode(\"EXEMPT\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_FLUSH_EXEMPT, "m");
	ASSERT_EQ(qos_parse_flush_mode("bytes", &m, err, sizeof(err)), -EINVAL,
		"qos_parse_flush_mode(\"bytes\", &m, err, sizeof(err))");
	ASSERT_STR_EQ(err, "\"bytes\": expected charge or exempt", "err");
	ASSERT_EQ(qos_parse_flush_mode("charged", &m, err, sizeof(err)), -EINVAL,
		"qos_parse_flush_mode(\"charged\", &m, err, sizeof(err))");

	ASSERT_EQ(qos_parse_discard_mode("charge", &m, err, sizeof(err)), 0,
		"qos_parse_discard_mode(\"charge\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_DISCARD_OP, "m");
	ASSERT_EQ(qos_parse_discard_mode("exempt", &m, err, sizeof(err)), 0,
		"qos_parse_discard_mode(\"exempt\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_DISCARD_EXEMPT, "m");
	ASSERT_EQ(qos_parse_discard_mode("bytes\n", &m, err, sizeof(err)), 0,
		"qos_parse_discard_mode(\"bytes\\n\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_DISCARD_BYTES, "m");
	ASSERT_EQ(qos_parse_discard_mode("", &m, err, sizeof(err)), 0,
		"qos_parse_discard_mode(\"\", &m, err, sizeof(err))");
	ASSERT_EQ(m, BLKQOS_DISCARD_OP, "m");
	ASSERT_EQ(qos_parse_discard_mode("byte", &m, err, sizeof(err)), -EINVAL,
		"qos_parse_discard_mode(\"byte\", &m, err, sizeof(err))");
	ASSERT_STR_EQ(err, "\"byte\": expected charge, exempt or bytes", "err");

	ASSERT_STR_EQ(qos_flush_mode_name(BLKQOS_FLUSH_EXEMPT), "exempt",
		"qos_flush_mode_name(BLKQOS_FLUSH_EXEMPT)");
	ASSERT_STR_EQ(qos_flush_mode_name(7), "?", "qos_flush_mode_name(7)");
	ASSERT_STR_EQ(qos_discard_mode_name(BLKQOS_DISCARD_BYTES), "bytes",
		"qos_discard_mode_name(BLKQOS_DISCARD_BYTES)");
	ASSERT_STR_EQ(qos_discard_mode_name(3), "?", "qos_discard_mode_name(3)");
}

/* ---- The xenstore schema ------------------------------------------------ */

#define KV(n, v)	{ (n), (v) }

static int from_keys(const struct qos_kv *kv, size_t n, const struct blkqos_limits *prev,
		     struct blkqos_limits *out, struct logbuf *lb)
{
	memset(lb, 0, sizeof(*lb));
	return qos_limits_from_keys(kv, n, prev, out, capture, lb);
}

static void check_limit(const struct blkqos_limit *l, __u64 rate, __u64 burst, __u64 peak)
{
	char err[QOS_ERR_MAX];
	struct blkqos_limit copy = *l;

	ASSERT_EQ(l->rate, rate, "l->rate");
	ASSERT_EQ(l->burst, burst, "l->burst");
	ASSERT_EQ(l->peak, peak, "l->peak");
	/* Derived fields are filled in. */
	ASSERT_EQ(blkqos_limit_derive(&copy, err, sizeof(err)), 0,
		"blkqos_limit_derive(&copy, err, sizeof(err))");
	ASSERT_EQ(copy.full_ns, l->full_ns, "copy.full_ns");
	ASSERT_EQ(copy.peak_full_ns, l->peak_full_ns, "copy.peak_full_ns");
}

static void test_keys_all(void **state)
{
	static const struct qos_kv kv[] = {
		KV("qos", ""),
		KV("params", "/dev/vg/web01"), KV("mode", "w"), KV("state", "4"),
		KV("qos/iops", "500"), KV("qos/iops-burst", "100"), KV("qos/iops-peak", "1000"),
		KV("qos/read-iops", "300"), KV("qos/write-iops", "200/s"),
		KV("qos/write-iops-burst", "2k"),
		KV("qos/bps", "20M"), KV("qos/read-bps", "50MiB"),
		KV("qos/read-bps-burst", "8MiB"), KV("qos/read-bps-peak", "100MiB/s"),
		KV("qos/write-bps", "10MB/s"),
		KV("qos/iops-size", "64Ki"), KV("qos/flush", "exempt"), KV("qos/discard", "bytes"),
	};
	struct blkqos_limits out;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb), 0,
		"from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb)");
	ASSERT_EQ(lb.n, 0, "lb.n");
	check_limit(&out.iops, 500, 100, 1000);
	check_limit(&out.read_iops, 300, 30, 0);
	check_limit(&out.write_iops, 200, 2000, 0);
	check_limit(&out.bps, 20000000, 2000000, 0);
	check_limit(&out.read_bps, 50 << 20, 8 << 20, 100 << 20);
	check_limit(&out.write_bps, 10000000, 1000000, 0);
	ASSERT_EQ(out.iops_size, 65536, "out.iops_size");
	ASSERT_EQ(out.flush_mode, BLKQOS_FLUSH_EXEMPT, "out.flush_mode");
	ASSERT_EQ(out.discard_mode, BLKQOS_DISCARD_BYTES, "out.discard_mode");
	ASSERT_EQ(out.iops.epoch, 0, "out.iops.epoch");
}

static void test_keys_none(void **state)
{
	struct blkqos_limits out, zero;
	struct logbuf lb;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	memset(&out, 0xa5, sizeof(out));
	ASSERT_EQ(from_keys(NULL, 0, NULL, &out, &lb), 0, "from_keys(NULL, 0, NULL, &out, &lb)");
	ASSERT_MEM_EQ(&out, &zero, sizeof(out), "&out");
}

static void test_keys_defaults(void **state)
{
	static const struct qos_kv kv[] = {
		KV("qos/iops", "5"),			/* default burst rate/10 = 0 -> 1 */
		KV("qos/read-iops", "1000"),
		KV("qos/read-iops-burst", "0"),		/* 0 = default */
		KV("qos/write-iops", "1000"),
		KV("qos/write-iops-burst", ""),		/* empty = default */
		KV("qos/bps", "100G"),			/* rate/10 capped at BURST_MAX */
		KV("qos/read-bps", "max"),		/* unlimited, burst ignored */
		KV("qos/write-bps", "0"),
		KV("qos/write-bps-burst", "1M"),
	};
	struct blkqos_limits out;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb), 0,
		"from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb)");
	check_limit(&out.iops, 5, 1, 0);
	check_limit(&out.read_iops, 1000, 100, 0);
	check_limit(&out.write_iops, 1000, 100, 0);
	check_limit(&out.bps, 100000000000ULL, BLKQOS_BURST_MAX, 0);
	check_limit(&out.read_bps, 0, 0, 0);
	check_limit(&out.write_bps, 0, 0, 0);
	ASSERT_EQ(out.iops_size, 0, "out.iops_size");
	ASSERT_EQ(out.flush_mode, BLKQOS_FLUSH_OP, "out.flush_mode");
	ASSERT_EQ(out.discard_mode, BLKQOS_DISCARD_OP, "out.discard_mode");
}

/* A good previous setting to fall back on. */
static void make_prev(struct blkqos_limits *prev)
{
	char err[QOS_ERR_MAX];

	memset(prev, 0, sizeof(*prev));
	prev->iops = (struct blkqos_limit){ .rate = 100, .burst = 10, .peak = 200, .epoch = 7 };
	prev->read_bps = (struct blkqos_limit){ .rate = 1000000, .burst = 100000 };
	prev->iops_size = 4096;
	prev->flush_mode = BLKQOS_FLUSH_EXEMPT;
	prev->discard_mode = BLKQOS_DISCARD_BYTES;
	ASSERT_EQ(blkqos_limits_derive(prev, err, sizeof(err)), 0,
		"blkqos_limits_derive(prev, err, sizeof(err))");
}

static void test_keys_bad_value_keeps_last_good(void **state)
{
	static const struct qos_kv kv[] = {
		KV("qos/iops", "5OO"),			/* typo: letter O */
		KV("qos/iops-burst", "50"),
		KV("qos/read-bps", "2M"),
		KV("qos/read-bps-burst", "-1"),		/* bad burst: whole limit kept */
		KV("qos/write-bps", "30M"),		/* good: applied */
		KV("qos/iops-size", "4.5"),
		KV("qos/flush", "sometimes"),
		KV("qos/discard", "exempt"),		/* good: applied */
	};
	struct blkqos_limits prev, out;
	struct logbuf lb;

	(void)state;
	make_prev(&prev);
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb), 4,
		"from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb)");
	ASSERT_EQ(lb.n, 4, "lb.n");
	ASSERT_TRUE(logged(&lb, "qos/iops: \"5OO\": unexpected \"OO\""),
		"logged(&lb, \"qos/iops: \\\"5OO\\\": unexpected \\\"OO\\\"\")");
	ASSERT_TRUE(logged(&lb, "qos/read-bps-burst: \"-1\": negative"),
		"logged(&lb, \"qos/read-bps-burst: \\\"-1\\\": negative\")");
	ASSERT_TRUE(logged(&lb, "qos/iops-size: \"4.5\": not a whole number of bytes"),
		"logged(&lb, \"qos/iops-size: \\\"4.5\\\": not a whole number of bytes\")");
	ASSERT_TRUE(logged(&lb, "qos/flush: \"sometimes\": expected charge or exempt"),
		"logged(&lb, \"qos/flush: \\\"sometimes\\\": expected charge or exempt\")");
	check_limit(&out.iops, 100, 10, 200);
	check_limit(&out.read_bps, 1000000, 100000, 0);
	check_limit(&out.write_bps, 30000000, 3000000, 0);
	ASSERT_EQ(out.iops.epoch, 0, "out.iops.epoch");		/* the caller carries epochs */
	ASSERT_EQ(out.iops_size, 4096, "out.iops_size");
	ASSERT_EQ(out.flush_mode, BLKQOS_FLUSH_EXEMPT, "out.flush_mode");
	ASSERT_EQ(out.discard_mode, BLKQOS_DISCARD_EXEMPT, "out.discard_mode");

	/* Without a previous setting, "last good" is unlimited. */
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb), 4,
		"from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb)");
	check_limit(&out.iops, 0, 0, 0);
	check_limit(&out.read_bps, 0, 0, 0);
	check_limit(&out.write_bps, 30000000, 3000000, 0);
	ASSERT_EQ(out.iops_size, 0, "out.iops_size");
	ASSERT_EQ(out.flush_mode, BLKQOS_FLUSH_OP, "out.flush_mode");
}

static void test_keys_derive_refusals(void **state)
{
	char over_rate[32], over_burst[32];
	struct qos_kv kv[] = {
		KV("qos/iops", over_rate),		/* above BLKQOS_RATE_MAX */
		KV("qos/read-iops", "1000"),
		KV("qos/read-iops-peak", "500"),	/* peak below rate */
		KV("qos/bps", "1G"),
		KV("qos/bps-burst", over_burst),	/* above BLKQOS_BURST_MAX */
		KV("qos/write-bps", "1M"),
		KV("qos/write-bps-peak", "200Ti"),	/* peak above RATE_MAX */
		KV("qos/iops-size", "2Gi"),		/* above QOS_IOPS_SIZE_MAX */
	};
	struct blkqos_limits prev, out;
	struct logbuf lb;

	(void)state;
	snprintf(over_rate, sizeof(over_rate), "%llu", BLKQOS_RATE_MAX + 1);
	snprintf(over_burst, sizeof(over_burst), "%llu", BLKQOS_BURST_MAX + 1);
	make_prev(&prev);
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb), 5,
		"from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "qos/iops: \"137438953473\": rate 137438953473/s is above"),
		"logged(&lb, \"qos/iops: \\\"137438953473\\\": rate 137438953473/s is above\")");
	ASSERT_TRUE(logged(&lb, "qos/read-iops-peak: \"500\": peak 500/s is below the rate"),
		"logged(&lb, \"qos/read-iops-peak: \\\"500\\\": peak 500/s is below the rate\")");
	ASSERT_TRUE(logged(&lb, "qos/bps-burst: \"2147483649\": burst 2147483649 is above"),
		"logged(&lb, \"qos/bps-burst: \\\"2147483649\\\": burst 2147483649 is above\")");
	ASSERT_TRUE(logged(&lb, "qos/write-bps-peak: \"200Ti\": peak"),
		"logged(&lb, \"qos/write-bps-peak: \\\"200Ti\\\": peak\")");
	ASSERT_TRUE(logged(&lb, "qos/iops-size: \"2Gi\": iops-size 2147483648 is above"),
		"logged(&lb, \"qos/iops-size: \\\"2Gi\\\": iops-size 2147483648 is above\")");
	check_limit(&out.iops, 100, 10, 200);
	check_limit(&out.read_iops, 0, 0, 0);
	check_limit(&out.bps, 0, 0, 0);
	check_limit(&out.write_bps, 0, 0, 0);
	ASSERT_EQ(out.iops_size, 4096, "out.iops_size");

	/* Exactly at the bounds is fine. */
	snprintf(over_rate, sizeof(over_rate), "%llu", BLKQOS_RATE_MAX);
	snprintf(over_burst, sizeof(over_burst), "%llu", BLKQOS_BURST_MAX);
	kv[2].value = "1000";
	kv[6].value = "128Gi";
	kv[7].value = "1Gi";
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb), 0,
		"from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb)");
	check_limit(&out.iops, BLKQOS_RATE_MAX, BLKQOS_BURST_MAX, 0);
	check_limit(&out.read_iops, 1000, 100, 1000);
	check_limit(&out.bps, 1000000000, BLKQOS_BURST_MAX, 0);
	check_limit(&out.write_bps, 1000000, 100000, BLKQOS_RATE_MAX);
	ASSERT_EQ(out.iops_size, QOS_IOPS_SIZE_MAX, "out.iops_size");
}

static void test_keys_unknown_and_orphans(void **state)
{
	static const struct qos_kv kv[] = {
		KV("qos/ipos", "500"),			/* typo */
		KV("qos/iops/x", "1"),
		KV("qos/", "1"),
		KV("qos/read-bps-burst", "1M"),		/* burst without its rate */
		KV("qos/write-iops-peak", "9"),		/* peak without its rate */
		KV("qos/bps", "1M"), KV("qos/bps", "2M"),	/* duplicate: last wins */
		KV("frontend", "/local/domain/5/device/vbd/51712"),
		KV(NULL, "ignored"),
	};
	struct blkqos_limits out;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb), 6,
		"from_keys(kv, ARRAY_SIZE(kv), NULL, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "qos/ipos: \"500\": unknown key, ignored"),
		"logged(&lb, \"qos/ipos: \\\"500\\\": unknown key, ignored\")");
	ASSERT_TRUE(logged(&lb, "qos/iops/x: \"1\": unknown key"),
		"logged(&lb, \"qos/iops/x: \\\"1\\\": unknown key\")");
	ASSERT_TRUE(logged(&lb, "qos/: \"1\": unknown key"),
		"logged(&lb, \"qos/: \\\"1\\\": unknown key\")");
	ASSERT_TRUE(logged(&lb, "qos/read-bps-burst: \"1M\": ignored: no rate (read-bps)"),
		"logged(&lb, \"qos/read-bps-burst: \\\"1M\\\": ignored: no rate (read-bps)\")");
	ASSERT_TRUE(logged(&lb, "qos/write-iops-peak: \"9\": ignored: no rate (write-iops)"),
		"logged(&lb, \"qos/write-iops-peak: \\\"9\\\": ignored: no rate (write-iops)\")");
	ASSERT_TRUE(logged(&lb, "qos/bps: \"2M\": duplicate key"),
		"logged(&lb, \"qos/bps: \\\"2M\\\": duplicate key\")");
	check_limit(&out.bps, 2000000, 200000, 0);
	check_limit(&out.read_bps, 0, 0, 0);
	check_limit(&out.write_iops, 0, 0, 0);
	check_limit(&out.iops, 0, 0, 0);
}

static void test_keys_flat_compat(void **state)
{
	static const struct qos_kv tokens[] = {
		KV("tokens-refill", "1000"), KV("tokens-max", "300"),
	};
	static const struct qos_kv tokens_default[] = { KV("tokens-refill", "1000") };
	static const struct qos_kv credit[] = { KV("credit", "5000/s@50ms") };
	static const struct qos_kv credit_no_interval[] = { KV("credit", "5000/s") };
	static const struct qos_kv credit_and_max[] = {
		KV("credit", "5000/s@50ms"), KV("tokens-max", "300"),
	};
	static const struct qos_kv max_alone[] = { KV("tokens-max", "300") };
	static const struct qos_kv bad_tokens[] = {
		KV("tokens-refill", "lots"), KV("tokens-max", "300"),
	};
	struct blkqos_limits prev, out;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(from_keys(tokens, ARRAY_SIZE(tokens), NULL, &out, &lb), 0,
		"from_keys(tokens, ARRAY_SIZE(tokens), NULL, &out, &lb)");
	check_limit(&out.iops, 1000, 300, 0);
	ASSERT_EQ(from_keys(tokens_default, 1, NULL, &out, &lb), 0,
		"from_keys(tokens_default, 1, NULL, &out, &lb)");
	check_limit(&out.iops, 1000, 100, 0);
	ASSERT_EQ(from_keys(credit, 1, NULL, &out, &lb), 0,
		"from_keys(credit, 1, NULL, &out, &lb)");
	check_limit(&out.iops, 5000, 250, 0);
	ASSERT_EQ(from_keys(credit_and_max, 2, NULL, &out, &lb), 1,
		"from_keys(credit_and_max, 2, NULL, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "tokens-max: \"300\": ignored: no tokens-refill"),
		"logged(&lb, \"tokens-max: \\\"300\\\": ignored: no tokens-refill\")");
	check_limit(&out.iops, 5000, 250, 0);
	ASSERT_EQ(from_keys(credit_no_interval, 1, NULL, &out, &lb), 0,
		"from_keys(credit_no_interval, 1, NULL, &out, &lb)");
	check_limit(&out.iops, 5000, 500, 0);
	ASSERT_EQ(from_keys(max_alone, 1, NULL, &out, &lb), 1,
		"from_keys(max_alone, 1, NULL, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "tokens-max: \"300\": ignored: no tokens-refill"),
		"logged(&lb, \"tokens-max: \\\"300\\\": ignored: no tokens-refill\")");
	check_limit(&out.iops, 0, 0, 0);

	make_prev(&prev);
	ASSERT_EQ(from_keys(bad_tokens, 2, &prev, &out, &lb), 1,
		"from_keys(bad_tokens, 2, &prev, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "tokens-refill: \"lots\": not a number"),
		"logged(&lb, \"tokens-refill: \\\"lots\\\": not a number\")");
	check_limit(&out.iops, 100, 10, 200);
}

static void test_keys_precedence(void **state)
{
	static const struct qos_kv all[] = {
		KV("credit", "5000/s@50ms"), KV("tokens-refill", "1000"),
		KV("tokens-max", "300"), KV("qos/iops", "500"),
	};
	static const struct qos_kv tokens_and_credit[] = {
		KV("credit", "5000/s@50ms"), KV("tokens-refill", "1000"),
	};
	static const struct qos_kv burst_only[] = {
		KV("tokens-refill", "1000"), KV("qos/iops-burst", "50"),
	};
	static const struct qos_kv bad_qos[] = {
		KV("tokens-refill", "1000"), KV("qos/iops", "fast"),
	};
	static const struct qos_kv other_limit[] = {
		KV("tokens-refill", "1000"), KV("qos/read-iops", "200"),
	};
	struct blkqos_limits prev, out;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(from_keys(all, ARRAY_SIZE(all), NULL, &out, &lb), 3,
		"from_keys(all, ARRAY_SIZE(all), NULL, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "credit: \"5000/s@50ms\": ignored: qos/iops keys take precedence"),
		"logged(&lb, \"credit: \\\"5000/s@50ms\\\": ignored: qos/iops keys take precedence\")");
	ASSERT_TRUE(logged(&lb, "tokens-refill: \"1000\": ignored: qos/iops keys"),
		"logged(&lb, \"tokens-refill: \\\"1000\\\": ignored: qos/iops keys\")");
	ASSERT_TRUE(logged(&lb, "tokens-max: \"300\": ignored: qos/iops keys"),
		"logged(&lb, \"tokens-max: \\\"300\\\": ignored: qos/iops keys\")");
	check_limit(&out.iops, 500, 50, 0);

	ASSERT_EQ(from_keys(tokens_and_credit, 2, NULL, &out, &lb), 1,
		"from_keys(tokens_and_credit, 2, NULL, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "credit: \"5000/s@50ms\": ignored: tokens-refill takes precedence"),
		"logged(&lb, \"credit: \\\"5000/s@50ms\\\": ignored: tokens-refill takes precedence\")");
	check_limit(&out.iops, 1000, 100, 0);

	/* Any qos/iops* key hands the limit to qos/: here it has no rate. */
	ASSERT_EQ(from_keys(burst_only, 2, NULL, &out, &lb), 2,
		"from_keys(burst_only, 2, NULL, &out, &lb)");
	check_limit(&out.iops, 0, 0, 0);

	/* A bad qos/iops keeps the last good setting; it does not fall back to flat keys. */
	make_prev(&prev);
	ASSERT_EQ(from_keys(bad_qos, 2, &prev, &out, &lb), 2,
		"from_keys(bad_qos, 2, &prev, &out, &lb)");
	check_limit(&out.iops, 100, 10, 200);

	/* Flat keys only compete with the total iops limit. */
	ASSERT_EQ(from_keys(other_limit, 2, NULL, &out, &lb), 0,
		"from_keys(other_limit, 2, NULL, &out, &lb)");
	check_limit(&out.iops, 1000, 100, 0);
	check_limit(&out.read_iops, 200, 20, 0);
}

static void test_keys_credit_errors(void **state)
{
	static const struct qos_kv bad[] = { KV("credit", "5000/s@50") };
	static const struct qos_kv huge[] = { KV("credit", "1G/s@10s") };
	struct blkqos_limits prev, out;
	struct logbuf lb;

	(void)state;
	make_prev(&prev);
	ASSERT_EQ(from_keys(bad, 1, &prev, &out, &lb), 1, "from_keys(bad, 1, &prev, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "credit: \"5000/s@50\": interval needs a unit"),
		"logged(&lb, \"credit: \\\"5000/s@50\\\": interval needs a unit\")");
	check_limit(&out.iops, 100, 10, 200);
	/* burst = 1e10 is above BLKQOS_BURST_MAX: refused by derive, blamed on credit */
	ASSERT_EQ(from_keys(huge, 1, &prev, &out, &lb), 1, "from_keys(huge, 1, &prev, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "credit: \"1G/s@10s\": burst 10000000000 is above"),
		"logged(&lb, \"credit: \\\"1G/s@10s\\\": burst 10000000000 is above\")");
	check_limit(&out.iops, 100, 10, 200);
}

static void test_keys_domain_scope(void **state)
{
	static const struct qos_kv kv[] = {
		KV("qos/iops", "2000"), KV("qos/flush", "exempt"), KV("qos/discard", "bytes"),
		KV("qos/iops-size", "128K"),
	};
	struct blkqos_limits out;
	struct logbuf lb;

	(void)state;
	memset(&lb, 0, sizeof(lb));
	ASSERT_EQ(qos_dom_limits_from_keys(kv, ARRAY_SIZE(kv), NULL, &out,
						  capture, &lb), 2, "qos_dom_limits_from_keys(kv, ARRAY_SIZE(kv), NULL, &out, capture, &lb)");
	ASSERT_TRUE(logged(&lb, "qos/flush: \"exempt\": ignored: flush applies to a disk"),
		"logged(&lb, \"qos/flush: \\\"exempt\\\": ignored: flush applies to a disk\")");
	ASSERT_TRUE(logged(&lb, "qos/discard: \"bytes\": ignored: discard applies to a disk"),
		"logged(&lb, \"qos/discard: \\\"bytes\\\": ignored: discard applies to a disk\")");
	check_limit(&out.iops, 2000, 200, 0);
	ASSERT_EQ(out.iops_size, 128000, "out.iops_size");
	ASSERT_EQ(out.flush_mode, 0, "out.flush_mode");
	ASSERT_EQ(out.discard_mode, 0, "out.discard_mode");
	/* A NULL log is fine. */
	ASSERT_EQ(qos_dom_limits_from_keys(kv, ARRAY_SIZE(kv), NULL, &out, NULL, NULL), 2,
		"qos_dom_limits_from_keys(kv, ARRAY_SIZE(kv), NULL, &out, NULL, NULL)");
}

/* A previous setting the engine would refuse is never carried forward. */
static void test_keys_invalid_prev(void **state)
{
	static const struct qos_kv kv[] = {
		KV("qos/iops", "bad"), KV("qos/iops-size", "bad"), KV("qos/flush", "bad"),
	};
	struct blkqos_limits prev, out;
	struct logbuf lb;

	(void)state;
	memset(&prev, 0, sizeof(prev));
	prev.iops.rate = BLKQOS_RATE_MAX * 2;
	prev.iops_size = ~0ULL;
	prev.flush_mode = 99;
	ASSERT_EQ(from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb), 3,
		"from_keys(kv, ARRAY_SIZE(kv), &prev, &out, &lb)");
	check_limit(&out.iops, 0, 0, 0);
	ASSERT_EQ(out.iops_size, 0, "out.iops_size");
	ASSERT_EQ(out.flush_mode, 0, "out.flush_mode");
}

static void test_keys_log_sanitised(void **state)
{
	static const struct qos_kv kv[] = { KV("qos/iops", "12\n34\x1b[31m") };
	struct blkqos_limits out;
	struct logbuf lb;

	(void)state;
	ASSERT_EQ(from_keys(kv, 1, NULL, &out, &lb), 1, "from_keys(kv, 1, NULL, &out, &lb)");
	ASSERT_TRUE(logged(&lb, "qos/iops: \"12\\x0a34\\x1b[31m\": unexpected"),
		"logged(&lb, \"qos/iops: \\\"12\\\\x0a34\\\\x1b[31m\\\": unexpected\")");
}

static void test_slots(void **state)
{
	int slot;

	(void)state;
	for (slot = 0; slot < QOS_NR_QOS_SLOTS; slot++)
		ASSERT_EQ(qos_slot_of_key(qos_slot_name(slot)), slot,
			"qos_slot_of_key(qos_slot_name(slot))");
	for (slot = QOS_NR_QOS_SLOTS; slot < QOS_NR_SLOTS; slot++)
		ASSERT_EQ(qos_slot_of_key(qos_slot_name(slot)), -1,
			"qos_slot_of_key(qos_slot_name(slot))");
	ASSERT_EQ(qos_slot_of_key("bps-peak"), QOS_SLOT_PEAK + 3 * BLKQOS_LIM_BPS,
		"qos_slot_of_key(\"bps-peak\")");
	ASSERT_EQ(qos_slot_of_key("iops-"), -1, "qos_slot_of_key(\"iops-\")");
	ASSERT_EQ(qos_slot_of_key(""), -1, "qos_slot_of_key(\"\")");
	ASSERT_STR_EQ(qos_slot_name(-1), "?", "qos_slot_name(-1)");
	ASSERT_STR_EQ(qos_slot_name(QOS_NR_SLOTS), "?", "qos_slot_name(QOS_NR_SLOTS)");
}

/* The documentation table covers exactly the keys the parser knows. */
static void test_key_docs(void **state)
{
	bool seen[QOS_NR_SLOTS] = { false };
	const struct qos_key_doc *d;
	struct blkqos_limits out;
	struct qos_kv kv[2];
	struct logbuf lb;
	char rate[32];
	int slot, n = 0;

	(void)state;
	for (d = qos_key_docs; d->name; d++, n++) {
		ASSERT_NOT_NULL(d->unit, "d->unit");
		ASSERT_NOT_NULL(d->dflt, "d->dflt");
		ASSERT_NOT_NULL(d->example, "d->example");
		ASSERT_NOT_NULL(d->description, "d->description");
		if (!strncmp(d->name, "qos/", 4)) {
			slot = qos_slot_of_key(d->name + 4);
		} else {
			for (slot = QOS_NR_QOS_SLOTS; slot < QOS_NR_SLOTS; slot++)
				if (!strcmp(qos_slot_name(slot), d->name))
					break;
		}
		ASSERT_TRUE(slot >= 0 && slot < QOS_NR_SLOTS, "slot >= 0 && slot < QOS_NR_SLOTS");
		ASSERT_FALSE(seen[slot], "seen[slot]");
		seen[slot] = true;

		/*
		 * Every example is accepted as it stands (bursts and peaks
		 * along with a rate of 1, so that no peak is below it).
		 */
		kv[1] = (struct qos_kv){ d->name, d->example };
		kv[0] = (struct qos_kv){ "params", "/dev/vg/lv" };	/* not ours */
		if (slot == QOS_SLOT_TOKENS_MAX)
			kv[0] = (struct qos_kv){ "tokens-refill", "1" };
		if (slot < QOS_SLOT_IOPS_SIZE && slot % 3) {
			snprintf(rate, sizeof(rate), "qos/%s", qos_slot_name(slot - slot % 3));
			kv[0] = (struct qos_kv){ rate, "1" };
		}
		memset(&lb, 0, sizeof(lb));
		ASSERT_EQ(qos_limits_from_keys(kv, 2, NULL, &out, capture, &lb), 0,
			"qos_limits_from_keys(kv, 2, NULL, &out, capture, &lb)");
	}
	ASSERT_EQ(n, QOS_NR_SLOTS, "n");
}

/* The one container of keys: set copies, replaces by name; unset; free. */
static void test_keys_container(void **state)
{
	struct qos_keys k = { 0 };
	struct blkqos_limits out;
	char value[8] = "100";
	int i;

	(void)state;
	ASSERT_EQ(qos_keys_set(&k, "qos/iops", value), 0, "qos_keys_set(&k, \"qos/iops\", value)");
	value[0] = '9';		/* copied: the caller's buffer is its own */
	ASSERT_STR_EQ(qos_keys_get(&k, "qos/iops"), "100", "qos_keys_get(&k, \"qos/iops\")");
	ASSERT_EQ(qos_keys_set(&k, "qos/iops", "200"), 0,
		"qos_keys_set(&k, \"qos/iops\", \"200\")");
	ASSERT_EQ(k.n, 1, "k.n");
	ASSERT_STR_EQ(qos_keys_get(&k, "qos/iops"), "200", "qos_keys_get(&k, \"qos/iops\")");
	for (i = 0; i < 40; i++) {	/* past the first allocation */
		char name[32];

		snprintf(name, sizeof(name), "other-%d", i);
		ASSERT_EQ(qos_keys_set(&k, name, "x"), 0, "qos_keys_set(&k, name, \"x\")");
	}
	ASSERT_EQ(k.n, 41, "k.n");
	ASSERT_EQ(qos_keys_set(&k, "qos/read-bps", "1M"), 0,
		"qos_keys_set(&k, \"qos/read-bps\", \"1M\")");
	/* what the parser takes: other keys are not ours and are ignored */
	ASSERT_EQ(qos_limits_from_keys(k.kv, k.n, NULL, &out, NULL, NULL), 0,
		"qos_limits_from_keys(k.kv, k.n, NULL, &out, NULL, NULL)");
	ASSERT_EQ(out.iops.rate, 200, "out.iops.rate");
	ASSERT_EQ(out.read_bps.rate, 1000000, "out.read_bps.rate");
	qos_keys_unset(&k, "qos/iops");
	qos_keys_unset(&k, "qos/iops");		/* absent: nothing */
	ASSERT_NULL(qos_keys_get(&k, "qos/iops"), "qos_keys_get(&k, \"qos/iops\")");
	ASSERT_STR_EQ(qos_keys_get(&k, "qos/read-bps"), "1M", "qos_keys_get(&k, \"qos/read-bps\")");
	ASSERT_EQ(k.n, 41, "k.n");
	qos_keys_free(&k);
	ASSERT_EQ(k.n, 0, "k.n");
	ASSERT_NULL(k.kv, "k.kv");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_amount_accepted),
		cmocka_unit_test(test_amount_rejected),
		cmocka_unit_test(test_amount_message_long_value),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_format_amount),
		cmocka_unit_test(test_format_round_trip),
		cmocka_unit_test(test_credit),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_keys_all),
		cmocka_unit_test(test_keys_none),
		cmocka_unit_test(test_keys_defaults),
		cmocka_unit_test(test_keys_bad_value_keeps_last_good),
		cmocka_unit_test(test_keys_derive_refusals),
		cmocka_unit_test(test_keys_unknown_and_orphans),
		cmocka_unit_test(test_keys_flat_compat),
		cmocka_unit_test(test_keys_precedence),
		cmocka_unit_test(test_keys_credit_errors),
		cmocka_unit_test(test_keys_domain_scope),
		cmocka_unit_test(test_keys_invalid_prev),
		cmocka_unit_test(test_keys_log_sanitised),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_key_docs),
		cmocka_unit_test(test_keys_container),
	};

	return cmocka_run_group_tests_name("parse", tests, NULL, NULL);
}
