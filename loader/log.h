/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One-line messages on stderr; detail only with -v. Under systemd (stderr
 * is the journal, JOURNAL_STREAM) each line starts with its syslog priority
 * instead of "blkqos: ".
 */
#ifndef BLKQOS_LOG_H
#define BLKQOS_LOG_H

#include <stdarg.h>
#include <stdbool.h>

extern int blkqos_verbose;

void log_msg(const char *level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line of someone else's (libbpf's -v output) at debug priority. */
int log_vdebug_raw(const char *fmt, va_list ap);

#define log_err(...)	log_msg("error", __VA_ARGS__)
#define log_warn(...)	log_msg("warning", __VA_ARGS__)
#define log_info(...)	log_msg(NULL, __VA_ARGS__)
#define log_debug(...)	do { if (blkqos_verbose) log_msg("debug", __VA_ARGS__); } while (0)

/* Exit codes scripts can rely on. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,		/* runtime failure */
	EXIT_USAGE = 2,		/* bad command line */
	EXIT_ENV = 3,		/* the host lacks something: BPF, bpffs, blkback, the hook */
	EXIT_NOT_LOADED = 4,	/* nothing pinned: blkqos run has not been started */
};

#endif
