// SPDX-License-Identifier: GPL-2.0
/* Small files of sysfs, procfs and cgroupfs, read and written whole (see fileio.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "fileio.h"

int file_write_str(const char *path, const char *val, char *err, size_t errlen)
{
	size_t len = strlen(val);
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "open %s to write \"%s\": %s", path, val, strerror(-ret));
		return ret;
	}
	n = write(fd, val, len);
	if (n < 0) {
		ret = -errno;
		snprintf(err, errlen, "write \"%s\" to %s: %s", val, path, strerror(-ret));
	} else if ((size_t)n != len) {
		ret = -EIO;
		snprintf(err, errlen, "write \"%s\" to %s: short write", val, path);
	}
	close(fd);
	return ret;
}

int file_read_small(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		ret = -errno;
	else
		buf[n] = '\0';
	close(fd);
	return ret;
}

void pathf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}
