// SPDX-License-Identifier: GPL-2.0
/* libFuzzer: qos_rules_load() on the input as a file. */
#define _GNU_SOURCE		/* fmemopen() */
#include <stdint.h>
#include "fuzz_common.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct qos_rules rules;
	const struct qos_rule *r;
	FILE *f;
	size_t i;
	int ret;

	if (!size)
		return 0;
	f = fmemopen((void *)data, size, "r");
	CHECK(f);
	ret = qos_rules_load(f, "fuzz.rules", &rules, check_log, NULL);
	fclose(f);
	CHECK(ret >= 0);
	for (i = 0; i < rules.n; i++) {
		r = &rules.rule[i];
		check_limits(&r->limits);
		CHECK(r->line >= 1);
		CHECK(r->domain[0]);
		/* Every rule is found, and is the only one for its key. */
		if (r->domain_scope) {
			CHECK(qos_rules_find_domain(&rules, r->domain) == r);
		} else {
			CHECK(qos_rules_find_vbd(&rules, r->domain, r->devid) == r);
			CHECK(!r->limits.flush_mode || !r->domain_scope);
		}
	}
	qos_rules_free(&rules);
	return 0;
}
