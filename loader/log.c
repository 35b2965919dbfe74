// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

int blkqos_verbose;

void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	fputs("blkqos: ", stderr);
	if (level)
		fprintf(stderr, "%s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
