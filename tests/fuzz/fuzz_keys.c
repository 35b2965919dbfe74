// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer: qos_limits_from_keys(). The input is lines of NAME=VALUE (a line
 * without "=" is a name with an empty value); the first byte picks VBD or
 * domain scope.
 */
#include <stdint.h>
#include "fuzz_common.h"

#define KV_MAX	64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct blkqos_limits first, again;
	struct qos_kv kv[KV_MAX];
	char *text, *line, *next, *eq;
	bool domain;
	size_t n = 0;
	int r1, r2;

	if (!size)
		return 0;
	domain = data[0] & 1;
	text = fuzz_cstr(data + 1, size - 1);
	for (line = text; line && n < KV_MAX; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		eq = strchr(line, '=');
		if (eq)
			*eq++ = '\0';
		kv[n].name = line;
		kv[n].value = eq ? eq : "";
		n++;
	}

	if (domain) {
		r1 = qos_dom_limits_from_keys(kv, n, NULL, &first, check_log, NULL);
		r2 = qos_dom_limits_from_keys(kv, n, &first, &again, check_log, NULL);
		CHECK(!first.flush_mode && !first.discard_mode);
	} else {
		r1 = qos_limits_from_keys(kv, n, NULL, &first, check_log, NULL);
		r2 = qos_limits_from_keys(kv, n, &first, &again, check_log, NULL);
	}
	CHECK(r1 >= 0 && r1 == r2);
	check_limits(&first);
	/* Applying the same keys on top of their own result changes nothing. */
	CHECK(!memcmp(&first, &again, sizeof(first)));
	free(text);
	return 0;
}
