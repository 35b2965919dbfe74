// SPDX-License-Identifier: GPL-2.0
/*
 * A stand-in for a blkback ring thread on a host without Xen: a process
 * named like one ("<domid>.<dev>-<ring>") that does O_DIRECT I/O on a block
 * device when told, so the stock mode's cgroup (and the BPF accounting of
 * the bios it submits) can be tested for real.
 *
 * usage: ring_stub COMM DEVICE
 * stdin: "read N" / "write N" (N 4 KiB requests, one at a time, sequential
 * from the device's start) or "exit"; each is answered "done N" or
 * "error N <errno text>" on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>

#define BS 4096

int main(int argc, char **argv)
{
	char line[128], op[16];
	unsigned long n, i;
	void *buf;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: ring_stub COMM DEVICE\n");
		return 2;
	}
	if (prctl(PR_SET_NAME, argv[1], 0, 0, 0)) {
		perror("prctl");
		return 1;
	}
	fd = open(argv[2], O_RDWR | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, BS, BS)) {
		fprintf(stderr, "ring_stub: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	memset(buf, 0x5a, BS);
	setvbuf(stdout, NULL, _IOLBF, 0);
	while (fgets(line, sizeof(line), stdin)) {
		if (sscanf(line, "%15s %lu", op, &n) != 2)
			break;	/* "exit" or anything else */
		for (i = 0; i < n; i++) {
			ssize_t r = !strcmp(op, "write") ? pwrite(fd, buf, BS, (off_t)(i % 1024) * BS)
							 : pread(fd, buf, BS, (off_t)(i % 1024) * BS);
			if (r != BS)
				break;
		}
		if (i == n)
			printf("done %lu\n", n);
		else
			printf("error %lu %s\n", i, strerror(errno));
	}
	return 0;
}
