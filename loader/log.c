// SPDX-License-Identifier: GPL-2.0
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"

int blkqos_verbose;

/*
 * systemd sets JOURNAL_STREAM=<dev>:<ino> to the stream it connected stdout
 * and stderr to; only when stderr is still that stream (not redirected by a
 * wrapper) do the lines get syslog priority prefixes. The journal then keeps
 * the priority, and adds the name, pid and time itself.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &tail) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st))
		return false;
	return st.st_dev == dev && st.st_ino == ino;
}

static int journal = -1;	/* unknown until the first line */

static bool to_journal(void)
{
	if (journal < 0)
		journal = stderr_is_journal();
	return journal;
}

/* <3> err, <4> warning, <6> info, <7> debug (syslog(3) levels) */
static int level_prio(const char *level)
{
	if (!level)
		return 6;
	if (!strcmp(level, "error"))
		return 3;
	if (!strcmp(level, "warning"))
		return 4;
	if (!strcmp(level, "debug"))
		return 7;
	return 6;
}

void log_msg(const char *level, const char *fmt, ...)
{
	va_list ap;

	/* the journal names us already; a terminal or a log file needs it */
	if (to_journal())
		fprintf(stderr, "<%d>", level_prio(level));
	else
		fputs("blkqos: ", stderr);
	if (level)
		fprintf(stderr, "%s: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int log_vdebug_raw(const char *fmt, va_list ap)
{
	if (to_journal())
		fputs("<7>", stderr);
	return vfprintf(stderr, fmt, ap);
}
