/* SPDX-License-Identifier: GPL-2.0 */
/* Small files of sysfs, procfs and cgroupfs, read and written whole. */
#ifndef BLKQOS_FILEIO_H
#define BLKQOS_FILEIO_H

#include <stddef.h>

/* Write val to path in one write(); -errno with what failed in err. */
int file_write_str(const char *path, const char *val, char *err, size_t errlen);

/* The whole small file into buf (NUL-terminated, cut at len - 1); -errno. */
int file_read_small(const char *path, char *buf, size_t len);

/* A path into buf: callers keep their parts short enough to fit. */
void pathf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
