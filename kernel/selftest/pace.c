// SPDX-License-Identifier: GPL-2.0-only
/*
 * pace INTERVAL_NS [FMODRET_OBJ]: attach pace.bpf.c until SIGTERM/SIGINT,
 * then print its counters on one line ("PACE key=value ...").  With
 * FMODRET_OBJ, first report whether an fmod_ret program on the hook loads.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "pace.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, ap) : 0;
}

static void try_fmodret(const char *path)
{
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	int err;

	if (!obj) {
		printf("FMODRET open=%d\n", -errno);
		return;
	}
	libbpf_set_print(NULL);
	err = bpf_object__load(obj);
	libbpf_set_print(silent);
	printf("FMODRET load=%d\n", err);
	bpf_object__close(obj);
}

int main(int argc, char **argv)
{
	struct pace_bpf *skel;
	int err, i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s INTERVAL_NS [FMODRET_OBJ]\n", argv[0]);
		return 2;
	}
	libbpf_set_print(silent);
	if (argc > 2)
		try_fmodret(argv[2]);

	skel = pace_bpf__open();
	if (!skel) {
		perror("pace: open");
		return 1;
	}
	skel->rodata->interval_ns = strtoull(argv[1], NULL, 0);
	err = pace_bpf__load(skel);
	if (!err)
		err = pace_bpf__attach(skel);
	if (err) {
		printf("PACE failed=%d\n", err);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("PACE attached\n");
	fflush(stdout);
	while (!stop)
		pause();

	printf("PACE interval_ns=%llu hook_calls=%llu admitted=%llu deferred=%llu"
	       " ret_pos=%llu ret_us_max=%llu dispatched=%llu sectors=%llu"
	       " domid=%llu handle=%llu domid_mismatch=%llu ops=",
	       (unsigned long long)skel->rodata->interval_ns,
	       skel->bss->hook_calls, skel->bss->admitted, skel->bss->deferred,
	       skel->bss->ret_pos, skel->bss->ret_us_max, skel->bss->dispatched,
	       skel->bss->sectors, skel->bss->last_domid,
	       skel->bss->last_handle, skel->bss->domid_mismatch);
	for (i = 0; i < 8; i++)
		printf("%s%llu", i ? "," : "", skel->bss->ops[i]);
	printf("\n");
	pace_bpf__destroy(skel);
	return 0;
}
