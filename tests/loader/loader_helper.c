// SPDX-License-Identifier: GPL-2.0
/*
 * loader_helper: what tests/loader/test_loader.sh and bench_loader.sh cannot
 * do quickly from the shell. Talks to xenstore with the real libxenstore
 * (XENSTORED_PATH names the test server) and reads the pinned maps in
 * /sys/fs/bpf/blkqos/ directly with bpf_map_lookup_elem().
 *
 *   count                         "vbds N doms N": entries in the two maps
 *   peek DOMID DEVID              slot, dom_slot, iops rate/epoch, bucket and stats of a VBD
 *   poke DOMID DEVID LEVEL OPS    write a recognisable bucket level (iops, sustained)
 *                                 and read ops count (CPU 0) into the VBD's slots,
 *                                 as if I/O had gone through
 *   cycles N FIRSTDOM             N create/destroy cycles of a domain with one VBD,
 *                                 waiting for the loader at each step; prints a summary
 *   mkvbds NDOMS PERDOM FIRSTDOM  create NDOMS*PERDOM VBDs with qos keys (introduced)
 *   rawreads NDOMS PERDOM FIRSTDOM  time the xenstore requests a full sync of those
 *                                 VBDs needs, without the loader (server cost)
 *   latency DOMID DEVID N         N writes of qos/iops; time each until the map shows it;
 *                                 prints p50/p99/max in ms
 *   wait-synced DOMID DEVID RATE TIMEOUT_S   wait until the VBD's iops rate is RATE
 *   io DOMID DEVID read|write|flush BYTES N   N requests through the BPF engine's test
 *                                 entries (the real object, on the pinned maps), one
 *                                 after another from CLOCK_MONOTONIC now on a synthetic
 *                                 clock: a refused one is parked for the wait it was
 *                                 told (the clock moves on), offered again, and charged
 *                                 with the time it was held; prints what happened
 *
 * Exit 0 ok, 1 failure (message on stderr), 2 usage.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xenstore.h>
#include "blkqos.h"
#include "blkqos.skel.h"

#define PIN "/sys/fs/bpf/blkqos"
#define VBD_ROOT "/local/domain/0/backend/vbd"
#define CTL "/tool/xenstored-test/"

static struct xs_handle *xs;
static int vbds_fd = -1, doms_fd = -1, vb_fd = -1, st_fd = -1;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "loader_helper: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void open_xs(void)
{
	xs = xs_open(0);
	if (!xs)
		die("xs_open");
}

static int open_map(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), PIN "/%s", name);
	fd = bpf_obj_get(path);
	if (fd < 0)
		die(path);
	return fd;
}

static void open_maps(void)
{
	vbds_fd = open_map("vbds");
	doms_fd = open_map("doms");
	vb_fd = open_map("vbd_buckets");
	st_fd = open_map("vbd_stats");
}

static void xw(const char *path, const char *val)
{
	if (!xs_write(xs, XBT_NULL, path, val, strlen(val)))
		die(path);
}

static void ctl(const char *cmd, unsigned int domid)
{
	char path[128], val[16];

	snprintf(path, sizeof(path), CTL "%s", cmd);
	snprintf(val, sizeof(val), "%u", domid);
	xw(path, val);
}

static int vbd_get(unsigned int domid, unsigned int devid, struct blkqos_vbd *v)
{
	struct blkqos_vbd_key k = { domid, devid & 0xffff };

	return bpf_map_lookup_elem(vbds_fd, &k, v);
}

static unsigned int count_vbds(unsigned int domid_or_all)
{
	struct blkqos_vbd_key k, *prev = NULL;
	unsigned int n = 0;

	while (bpf_map_get_next_key(vbds_fd, prev, &k) == 0) {
		prev = &k;
		if (domid_or_all == ~0u || k.domid == domid_or_all)
			n++;
	}
	return n;
}

static unsigned int count_doms(void)
{
	__u32 k, *prev = NULL;
	unsigned int n = 0;

	while (bpf_map_get_next_key(doms_fd, prev, &k) == 0) {
		prev = &k;
		n++;
	}
	return n;
}

static unsigned int count_range_vbds(unsigned int lo, unsigned int hi)
{
	struct blkqos_vbd_key k, *prev = NULL;
	unsigned int n = 0;

	while (bpf_map_get_next_key(vbds_fd, prev, &k) == 0) {
		prev = &k;
		n += k.domid >= lo && k.domid < hi;
	}
	return n;
}

static unsigned int count_range_doms(unsigned int lo, unsigned int hi)
{
	__u32 k, *prev = NULL;
	unsigned int n = 0;

	while (bpf_map_get_next_key(doms_fd, prev, &k) == 0) {
		prev = &k;
		n += k >= lo && k < hi;
	}
	return n;
}

/* Wait until the VBD's iops rate is rate (rate ~0: until the VBD is absent). */
static int wait_rate(unsigned int domid, unsigned int devid, unsigned long long rate,
		     double timeout)
{
	double end = now_s() + timeout;
	struct blkqos_vbd v;

	for (;;) {
		int r = vbd_get(domid, devid, &v);

		if (rate == ~0ULL ? r != 0 : (r == 0 && v.limits.iops.rate == rate))
			return 0;
		if (now_s() > end)
			return -1;
		sched_yield();
	}
}

static int cmd_count(void)
{
	open_maps();
	printf("vbds %u doms %u\n", count_vbds(~0u), count_doms());
	return 0;
}

static int cmd_peek(unsigned int domid, unsigned int devid)
{
	struct blkqos_buckets b;
	struct blkqos_stats *st;
	struct blkqos_vbd v;
	int ncpu = libbpf_num_possible_cpus(), i;
	unsigned long long ops = 0;

	open_maps();
	if (vbd_get(domid, devid, &v)) {
		printf("absent\n");
		return 1;
	}
	st = calloc(ncpu, sizeof(*st));
	if (bpf_map_lookup_elem(vb_fd, &v.slot, &b) || bpf_map_lookup_elem(st_fd, &v.slot, st))
		die("lookup slot");
	for (i = 0; i < ncpu; i++)
		ops += st[i].read.ops;
	printf("slot=%u dom_slot=%u rate=%llu epoch=%llu level=%lld last_ns=%llu bepoch=%llu "
	       "read_ops=%llu owner=%u/%u\n", v.slot, v.dom_slot,
	       (unsigned long long)v.limits.iops.rate, (unsigned long long)v.limits.iops.epoch,
	       (long long)b.iops.sustained.level, (unsigned long long)b.iops.sustained.last_ns,
	       (unsigned long long)b.iops.sustained.epoch, ops, b.domid, b.devid);
	free(st);
	return 0;
}

static int cmd_poke(unsigned int domid, unsigned int devid, long long level,
		    unsigned long long ops)
{
	struct blkqos_buckets b;
	struct blkqos_stats *st;
	struct blkqos_vbd v;
	int ncpu = libbpf_num_possible_cpus();

	open_maps();
	if (vbd_get(domid, devid, &v))
		die("no such VBD in the map");
	st = calloc(ncpu, sizeof(*st));
	if (bpf_map_lookup_elem(vb_fd, &v.slot, &b) || bpf_map_lookup_elem(st_fd, &v.slot, st))
		die("lookup slot");
	b.iops.sustained.level = level;
	b.iops.sustained.last_ns = 123456789;
	b.iops.sustained.epoch = v.limits.iops.epoch;
	st[0].read.ops = ops;
	st[0].read.bytes = ops * 4096;
	if (bpf_map_update_elem(vb_fd, &v.slot, &b, BPF_EXIST) ||
	    bpf_map_update_elem(st_fd, &v.slot, st, BPF_EXIST))
		die("update slot");
	free(st);
	return 0;
}

static const char *val_of(char *buf, size_t len, unsigned int v)
{
	snprintf(buf, len, "%u", v);
	return buf;
}

/*
 * One domain's life, as a toolstack and blkback would write it: name,
 * introduce, VBD with a limit, domain-wide limit; then death: release, the
 * backend's last state write, the toolstack removing the VBD.
 */
static int cmd_cycles(unsigned int n, unsigned int first)
{
	unsigned int i, timeouts = 0, mdom = first - 1, left_v, left_d;
	double t0 = now_s();
	char path[256], val[32], mpath[256], mval[32];

	open_xs();
	open_maps();
	/* A marker VBD in domain first - 1, gone again at the end. */
	snprintf(path, sizeof(path), "/local/domain/%u/name", mdom);
	xw(path, "cycmarker");
	ctl("introduce-domain", mdom);
	snprintf(mpath, sizeof(mpath), VBD_ROOT "/%u/51712/qos/iops", mdom);
	for (i = 0; i < n; i++) {
		unsigned int d = first + i;

		snprintf(path, sizeof(path), "/local/domain/%u/name", d);
		snprintf(val, sizeof(val), "cyc%u", d);
		xw(path, val);
		ctl("introduce-domain", d);
		snprintf(path, sizeof(path), VBD_ROOT "/%u/51712/params", d);
		xw(path, "/dev/vg/cyc");
		snprintf(path, sizeof(path), VBD_ROOT "/%u/qos/iops", d);
		xw(path, "1000");
		snprintf(path, sizeof(path), VBD_ROOT "/%u/51712/qos/iops", d);
		snprintf(val, sizeof(val), "%u", 100 + i);
		xw(path, val);
		if (wait_rate(d, 51712, 100 + i, 2.0)) {
			timeouts++;
			fprintf(stderr, "cycle %u: VBD %u/51712 not in the map after 2 s\n", i, d);
		}
		ctl("release-domain", d);
		if (wait_rate(d, 51712, ~0ULL, 2.0)) {
			timeouts++;
			fprintf(stderr, "cycle %u: VBD %u/51712 still in the map 2 s after death\n",
				i, d);
		}
		/* blkback's last word after the frontend went, then the toolstack's rm. */
		snprintf(path, sizeof(path), VBD_ROOT "/%u/51712/state", d);
		xw(path, "6");
		/*
		 * Barrier: the loader handles watch events in order, so once the
		 * marker VBD shows this value, it has seen the state write while
		 * the VBD was still there (the racy order of a real teardown).
		 */
		xw(mpath, val_of(mval, sizeof(mval), 1000000 + i));
		if (wait_rate(mdom, 51712, 1000000 + i, 2.0)) {
			timeouts++;
			fprintf(stderr, "cycle %u: marker VBD not updated after 2 s\n", i);
		}
		snprintf(path, sizeof(path), VBD_ROOT "/%u/51712", d);
		if (!xs_rm(xs, XBT_NULL, path))
			die(path);
		if (timeouts > 5)
			break;
	}
	/*
	 * Let the loader drain its queue (one more marker write), then count what
	 * is left of the cycled domains while the marker domain still lives: its
	 * own death would fire @releaseDomain and hide a leak.
	 */
	xw(mpath, val_of(mval, sizeof(mval), 999999));
	if (wait_rate(mdom, 51712, 999999, 2.0))
		timeouts++;
	left_v = count_range_vbds(first, first + n);
	left_d = count_range_doms(first, first + n);
	ctl("release-domain", mdom);
	snprintf(path, sizeof(path), VBD_ROOT "/%u", mdom);
	xs_rm(xs, XBT_NULL, path);
	if (wait_rate(mdom, 51712, ~0ULL, 2.0))
		timeouts++;
	printf("cycles %u timeouts %u seconds %.2f left_vbds %u left_doms %u\n", i, timeouts,
	       now_s() - t0, left_v, left_d);
	return timeouts || left_v || left_d ? 1 : 0;
}

static const char *const dev_names[] = { "51712", "51728", "51744", "51760", "51776",
	"51792", "51808", "51824" };

static unsigned int devid_of(unsigned int j)
{
	/* xvda.. for the first 8, then xvd numbers in the extended scheme. */
	return j < 8 ? (unsigned int)atoi(dev_names[j]) : (1u << 28) | (j << 8);
}

static int cmd_mkvbds(unsigned int ndoms, unsigned int per, unsigned int first)
{
	unsigned int d, j;
	char path[256], val[32];
	double t0 = now_s();

	open_xs();
	for (d = first; d < first + ndoms; d++) {
		snprintf(path, sizeof(path), "/local/domain/%u/name", d);
		snprintf(val, sizeof(val), "bench%u", d);
		xw(path, val);
		ctl("introduce-domain", d);
		for (j = 0; j < per; j++) {
			unsigned int dev = devid_of(j);

			snprintf(path, sizeof(path), VBD_ROOT "/%u/%u/params", d, dev);
			xw(path, "/dev/vg/bench");
			snprintf(path, sizeof(path), VBD_ROOT "/%u/%u/qos/iops", d, dev);
			snprintf(val, sizeof(val), "%u", 100 + j);
			xw(path, val);
			snprintf(path, sizeof(path), VBD_ROOT "/%u/%u/qos/bps", d, dev);
			xw(path, "20M");
		}
	}
	fprintf(stderr, "mkvbds: %u VBDs in %.2f s\n", ndoms * per, now_s() - t0);
	return 0;
}

/*
 * The requests a full sync makes per VBD (directory of the VBD, directory and
 * perms of qos/, perms and read per key) and per domain (directory, qos/
 * directory and perms, is_domain_introduced), timed without the loader.
 */
static int cmd_rawreads(unsigned int ndoms, unsigned int per, unsigned int first)
{
	unsigned int d, j, n, reqs = 0;
	char path[256];
	double t0;

	open_xs();
	/*
	 * With a watch set, as in the loader: libxenstore then hands every reply
	 * over from its reader thread (RAW_NO_WATCH=1: without).
	 */
	if (!getenv("RAW_NO_WATCH"))
		xs_watch(xs, "/tool/loader-helper-unused", "x");
	t0 = now_s();
	free(xs_directory(xs, XBT_NULL, VBD_ROOT, &n));
	reqs++;
	for (d = first; d < first + ndoms; d++) {
		struct xs_permissions *p;

		snprintf(path, sizeof(path), VBD_ROOT "/%u", d);
		free(xs_directory(xs, XBT_NULL, path, &n));
		snprintf(path, sizeof(path), VBD_ROOT "/%u/qos", d);
		free(xs_directory(xs, XBT_NULL, path, &n));
		xs_is_domain_introduced(xs, d);
		reqs += 3;
		for (j = 0; j < per; j++) {
			static const char *const keys[] = { "iops", "bps" };
			unsigned int dev = devid_of(j), k;

			snprintf(path, sizeof(path), VBD_ROOT "/%u/%u", d, dev);
			free(xs_directory(xs, XBT_NULL, path, &n));
			snprintf(path, sizeof(path), VBD_ROOT "/%u/%u/qos", d, dev);
			free(xs_directory(xs, XBT_NULL, path, &n));
			p = xs_get_permissions(xs, XBT_NULL, path, &n);
			free(p);
			reqs += 3;
			for (k = 0; k < 2; k++) {
				snprintf(path, sizeof(path), VBD_ROOT "/%u/%u/qos/%s", d, dev, keys[k]);
				p = xs_get_permissions(xs, XBT_NULL, path, &n);
				free(p);
				free(xs_read(xs, XBT_NULL, path, &n));
				reqs += 2;
			}
		}
	}
	printf("rawreads %u requests %.3f s %s\n", reqs, now_s() - t0,
	       getenv("RAW_NO_WATCH") ? "no-watch" : "watch");
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmd_latency(unsigned int domid, unsigned int devid, unsigned int n)
{
	double *lat = calloc(n, sizeof(double)), t, sum = 0;
	char path[256], val[32];
	unsigned int i, lost = 0;

	open_xs();
	open_maps();
	snprintf(path, sizeof(path), VBD_ROOT "/%u/%u/qos/iops", domid, devid);
	for (i = 0; i < n; i++) {
		unsigned long long want = 1000 + (i % 2 ? 1 : 2) * 1000 + i;

		snprintf(val, sizeof(val), "%llu", want);
		t = now_s();
		xw(path, val);
		if (wait_rate(domid, devid, want, 2.0))
			lost++;
		lat[i] = (now_s() - t) * 1e3;
		sum += lat[i];
	}
	qsort(lat, n, sizeof(double), cmp_double);
	printf("latency n %u p50 %.3f p99 %.3f max %.3f mean %.3f lost %u\n", n,
	       lat[n / 2], lat[(size_t)(n * 0.99)], lat[n - 1], sum / n, lost);
	free(lat);
	return lost ? 1 : 0;
}

static int cmd_wait_synced(unsigned int domid, unsigned int devid, unsigned long long rate,
			   double timeout)
{
	open_maps();
	return wait_rate(domid, devid, rate, timeout) ? 1 : 0;
}

/* The real object on the pinned maps, for its SEC("syscall") test entries. */
static struct blkqos_bpf *load_engine(void)
{
	static const char *const pinned[] = { "vbds", "doms", "vbd_buckets", "dom_buckets",
					      "vbd_stats", "vbd_hist" };
	struct blkqos_bpf *skel = blkqos_bpf__open();
	char path[128];
	unsigned int i;

	if (!skel)
		die("open the BPF object");
	for (i = 0; i < sizeof(pinned) / sizeof(pinned[0]); i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(skel->obj, pinned[i]);

		snprintf(path, sizeof(path), PIN "/%s", pinned[i]);
		if (!m || access(path, F_OK) || bpf_map__set_pin_path(m, path))
			die(path);
	}
	if (blkqos_bpf__load(skel))
		die("load the BPF object on the pinned maps");
	return skel;
}

static int test_run(struct bpf_program *prog, struct blkqos_test_ctx *ctx)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = sizeof(*ctx));

	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) || ctx->verdict < 0)
		die("run a test entry");
	return 0;
}

static int cmd_io(unsigned int domid, unsigned int devid, const char *kind_name,
		  unsigned long long bytes, unsigned int n)
{
	struct blkqos_bpf *skel = load_engine();
	unsigned long long held = 0, held_ns = 0;
	struct timespec ts;
	unsigned int i;
	__u32 kind;
	__u64 t;

	if (!strcmp(kind_name, "read"))
		kind = BLKQOS_KIND_READ;
	else if (!strcmp(kind_name, "write"))
		kind = BLKQOS_KIND_WRITE;
	else if (!strcmp(kind_name, "flush"))
		kind = BLKQOS_KIND_FLUSH;
	else
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t = (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	for (i = 0; i < n; i++) {
		struct blkqos_test_ctx ctx = {
			.domid = domid, .devid = devid, .kind = kind, .bytes = bytes,
		};
		__u64 arrived = t;

		do {	/* offered until admitted, parked for each wait told */
			ctx.op = BLKQOS_TEST_ADMIT;
			ctx.now_ns = t;
			test_run(skel->progs.blkqos_test_admit, &ctx);
			t += ctx.verdict ? 0 : ctx.wait_ns;
		} while (!ctx.verdict);
		ctx.op = BLKQOS_TEST_CHARGE;
		ctx.parked_ns = t - arrived;
		test_run(skel->progs.blkqos_test_charge, &ctx);
		held += t > arrived;
		held_ns += t - arrived;
	}
	printf("io %s requests %u held %llu held_ns %llu\n", kind_name, n, held, held_ns);
	blkqos_bpf__destroy(skel);
	return 0;
}

int main(int argc, char **argv)
{
	const char *c = argc > 1 ? argv[1] : "";

#define U(i) ((unsigned int)strtoul(argv[i], NULL, 0))
	if (!strcmp(c, "count") && argc == 2)
		return cmd_count();
	if (!strcmp(c, "peek") && argc == 4)
		return cmd_peek(U(2), U(3));
	if (!strcmp(c, "poke") && argc == 6)
		return cmd_poke(U(2), U(3), strtoll(argv[4], NULL, 0), strtoull(argv[5], NULL, 0));
	if (!strcmp(c, "cycles") && argc == 4)
		return cmd_cycles(U(2), U(3));
	if (!strcmp(c, "mkvbds") && argc == 5)
		return cmd_mkvbds(U(2), U(3), U(4));
	if (!strcmp(c, "rawreads") && argc == 5)
		return cmd_rawreads(U(2), U(3), U(4));
	if (!strcmp(c, "latency") && argc == 5)
		return cmd_latency(U(2), U(3), U(4));
	if (!strcmp(c, "io") && argc == 7)
		return cmd_io(U(2), U(3), argv[4], strtoull(argv[5], NULL, 0), U(6));
	if (!strcmp(c, "wait-synced") && argc == 6)
		return cmd_wait_synced(U(2), U(3), strtoull(argv[4], NULL, 0), strtod(argv[5], NULL));
	fprintf(stderr, "usage: loader_helper count | peek D DEV | poke D DEV LEVEL OPS | "
		"cycles N FIRST | mkvbds NDOMS PER FIRST | rawreads NDOMS PER FIRST | "
		"latency D DEV N | wait-synced D DEV RATE TIMEOUT | io D DEV KIND BYTES N\n");
	return 2;
}
