// SPDX-License-Identifier: GPL-2.0
/*
 * qmp - send commands to a QEMU monitor (QMP) over its unix socket.
 *
 *   qmp SOCKET COMMAND-JSON...
 *
 * Reads QEMU's greeting, enters command mode (qmp_capabilities), then sends
 * each COMMAND-JSON in turn and prints its reply on one line ({"return": ..}
 * or {"error": ..}); asynchronous events are skipped. Exit 0 if every command
 * returned, 1 if one gave an error (the rest are not sent), 2 if the socket
 * failed. Built static, like loadgen, for the emulated dom0 of the qdisk mode
 * (tests/e2e/e2e.sh), where the QEMU that libxl starts as a PV guest's disk
 * backend listens on /run/xen/qmp-libxenstat-DOMID.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_MAX (1 << 20)

static char buf[REPLY_MAX];
static size_t buf_len;

/* The next line from QEMU into line (NUL-terminated, no CR/LF); -1 at EOF. */
static int read_line(int fd, char *line, size_t size)
{
	for (;;) {
		char *nl = memchr(buf, '\n', buf_len);
		ssize_t n;

		if (nl) {
			size_t len = nl - buf;

			if (len && buf[len - 1] == '\r')
				len--;
			if (len >= size)
				len = size - 1;
			memcpy(line, buf, len);
			line[len] = '\0';
			buf_len -= nl + 1 - buf;
			memmove(buf, nl + 1, buf_len);
			return 0;
		}
		if (buf_len == sizeof(buf))
			return -1;	/* a line longer than any reply we ask for */
		n = read(fd, buf + buf_len, sizeof(buf) - buf_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf_len += n;
	}
}

/* Sends cmd, then returns its reply (events skipped): 0 return, 1 error. */
static int command(int fd, const char *cmd, char *reply, size_t size)
{
	size_t len = strlen(cmd), off = 0;

	while (off < len) {
		ssize_t n = write(fd, cmd + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += n;
	}
	if (write(fd, "\n", 1) != 1)
		return -1;
	for (;;) {
		if (read_line(fd, reply, size))
			return -1;
		if (!strncmp(reply, "{\"return\"", 9))
			return 0;
		if (!strncmp(reply, "{\"error\"", 8))
			return 1;
		/* {"event": ...} or anything else: not the reply */
	}
}

int main(int argc, char **argv)
{
	static char reply[REPLY_MAX];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = -1, rc = 2, i;

	if (argc < 3) {
		fprintf(stderr, "usage: qmp SOCKET COMMAND-JSON...\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "qmp: socket path too long: %s\n", argv[1]);
		return 2;
	}
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "qmp: %s: %s\n", argv[1], strerror(errno));
		goto cleanup;
	}
	if (read_line(fd, reply, sizeof(reply)) || strncmp(reply, "{\"QMP\"", 6)) {
		fprintf(stderr, "qmp: %s: no QMP greeting\n", argv[1]);
		goto cleanup;
	}
	if (command(fd, "{\"execute\": \"qmp_capabilities\"}", reply, sizeof(reply))) {
		fprintf(stderr, "qmp: %s: qmp_capabilities: %s\n", argv[1], reply);
		goto cleanup;
	}
	rc = 0;
	for (i = 2; i < argc; i++) {
		int r = command(fd, argv[i], reply, sizeof(reply));

		if (r < 0) {
			fprintf(stderr, "qmp: %s: connection lost during %s\n", argv[1], argv[i]);
			rc = 2;
			break;
		}
		printf("%s\n", reply);
		if (r) {
			fprintf(stderr, "qmp: %s: %s\n", argv[i], reply);
			rc = 1;
			break;
		}
	}
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
}
