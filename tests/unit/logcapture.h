/* SPDX-License-Identifier: GPL-2.0 */
/* Capturing the parsers' reports in unit tests (include after asserts.h). */
#ifndef BLKQOS_TEST_LOGCAPTURE_H
#define BLKQOS_TEST_LOGCAPTURE_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

struct logbuf {
	int n;
	char line[32][700];
};

/* A qos_log_fn: every report must be one line. */
static void capture(void *ctx, const char *key, const char *value, const char *reason)
{
	struct logbuf *lb = ctx;

	ASSERT_NULL(strchr(key, '\n'), "strchr(key, '\\n')");
	ASSERT_NULL(strchr(value, '\n'), "strchr(value, '\\n')");
	ASSERT_NULL(strchr(reason, '\n'), "strchr(reason, '\\n')");
	if (lb->n < (int)ARRAY_SIZE(lb->line))
		snprintf(lb->line[lb->n], sizeof(lb->line[0]), "%s: \"%s\": %s", key, value, reason);
	lb->n++;
}

static bool logged(const struct logbuf *lb, const char *needle)
{
	int i;

	for (i = 0; i < lb->n && i < (int)ARRAY_SIZE(lb->line); i++)
		if (strstr(lb->line[i], needle))
			return true;
	return false;
}

#endif
