/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the libFuzzer targets: checks every target makes. */
#ifndef BLKQOS_FUZZ_COMMON_H
#define BLKQOS_FUZZ_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "limits.h"
#include "parse.h"

#define CHECK(cond)							\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "%s:%d: check failed: %s\n",	\
				__FILE__, __LINE__, #cond);		\
			abort();					\
		}							\
	} while (0)

/* The input as a NUL-terminated string (the parsers take C strings). */
static inline char *fuzz_cstr(const unsigned char *data, size_t size)
{
	char *s = malloc(size + 1);

	CHECK(s);
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* A message: one printable line. */
static inline void check_line(const char *s)
{
	CHECK(s);
	for (; *s; s++)
		CHECK(*s >= 0x20 && *s < 0x7f);
}

static inline void check_log(void *ctx, const char *key, const char *value, const char *reason)
{
	(void)ctx;
	check_line(key);
	check_line(value);
	check_line(reason);
	CHECK(*reason);
}

/* Limits the engine will accept: derived, within bounds. */
static inline void check_limits(const struct blkqos_limits *l)
{
	struct blkqos_limits copy = *l;
	char err[QOS_ERR_MAX];
	int i;

	CHECK(!blkqos_limits_derive(&copy, err, sizeof(err)));
	CHECK(!memcmp(&copy, l, sizeof(copy)));
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, i);

		CHECK(x->rate <= BLKQOS_RATE_MAX);
		CHECK(x->burst <= BLKQOS_BURST_MAX);
		CHECK(!x->rate || x->burst);
		CHECK(!x->epoch && !x->peak_epoch);
	}
	CHECK(l->iops_size <= QOS_IOPS_SIZE_MAX);
	CHECK(l->flush_mode <= BLKQOS_FLUSH_EXEMPT);
	CHECK(l->discard_mode <= BLKQOS_DISCARD_BYTES);
}

#endif
