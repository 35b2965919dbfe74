/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one assertion style of the C tests: selftests/bpf's ASSERT_*, which
 * say what was checked and print what was expected and what was seen (in
 * decimal: cmocka's own assert_int_equal prints hex). cmocka runs the tests:
 * a failed check ends its test through fail_msg, and cmocka goes on with the
 * next one and reports them all.
 */
#ifndef BLKQOS_TEST_ASSERTS_H
#define BLKQOS_TEST_ASSERTS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#define ASSERT_EQ(seen, expected, what) do {					\
	long long __s = (long long)(seen), __e = (long long)(expected);		\
	if (__s != __e)								\
		fail_msg("%s: expected %lld, seen %lld", (what), __e, __s);	\
} while (0)

#define ASSERT_NE(seen, unexpected, what) do {					\
	long long __s = (long long)(seen), __u = (long long)(unexpected);	\
	if (__s == __u)								\
		fail_msg("%s: expected other than %lld, seen it", (what), __u);	\
} while (0)

/* lo <= seen <= hi */
#define ASSERT_IN_RANGE(seen, lo, hi, what) do {				\
	long long __s = (long long)(seen), __l = (long long)(lo), __h = (long long)(hi); \
	if (__s < __l || __s > __h)						\
		fail_msg("%s: expected %lld..%lld, seen %lld", (what), __l, __h, __s); \
} while (0)

#define ASSERT_TRUE(cond, what) do {						\
	if (!(cond))								\
		fail_msg("%s: expected true, seen false", (what));		\
} while (0)

#define ASSERT_FALSE(cond, what) do {						\
	if (cond)								\
		fail_msg("%s: expected false, seen true", (what));		\
} while (0)

#define ASSERT_STR_EQ(seen, expected, what) do {				\
	const char *__s = (seen), *__e = (expected);				\
	if (!__s || strcmp(__s, __e))						\
		fail_msg("%s: expected \"%s\", seen %s%s%s", (what), __e,	\
			 __s ? "\"" : "", __s ? __s : "NULL", __s ? "\"" : "");	\
} while (0)

#define ASSERT_MEM_EQ(seen, expected, len, what) do {				\
	if (memcmp((seen), (expected), (len)))					\
		fail_msg("%s: expected the %zu bytes given, seen others",	\
			 (what), (size_t)(len));				\
} while (0)

#define ASSERT_NULL(ptr, what) do {						\
	const void *__p = (ptr);						\
	if (__p)								\
		fail_msg("%s: expected NULL, seen %p", (what), __p);		\
} while (0)

#define ASSERT_NOT_NULL(ptr, what) do {						\
	if (!(ptr))								\
		fail_msg("%s: expected a pointer, seen NULL", (what));		\
} while (0)

#define ASSERT_PTR_EQ(seen, expected, what) do {				\
	const void *__s = (seen), *__e = (expected);				\
	if (__s != __e)								\
		fail_msg("%s: expected %p, seen %p", (what), __e, __s);	\
} while (0)

#endif
