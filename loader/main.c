// SPDX-License-Identifier: GPL-2.0
/*
 * blkqos: per-guest disk I/O limits for xen-blkback, enforced by BPF.
 * This is the operator's command: it loads and attaches the programs, keeps
 * the maps in step with xenstore, and shows what is going on.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <xenstore.h>
#include <bpf/libbpf.h>
#include "bpfobj.h"
#include "devname.h"
#include "exporter.h"
#include "limits.h"
#include "log.h"
#include "notify.h"
#include "parse.h"
#include "stats.h"
#include "stock.h"
#include "sync.h"
#include "xspath.h"

#define BLKQOS_RUN_LOCK	"/run/blkqos.lock"

static const char usage_main[] =
"Usage: blkqos [-v] COMMAND [ARGS]\n"
"\n"
"Per-guest disk I/O limits for Xen's block backend (xen-blkback), enforced\n"
"in the kernel by BPF. Limits are xenstore keys; this command keeps the BPF\n"
"maps in step with them. Refill happens in BPF: if blkqos run stops, the\n"
"limits stay in force.\n"
"\n"
"Commands:\n"
"  run      load and attach, sync xenstore into the maps, follow changes\n"
"  stats    limits, bucket levels and counters per VBD\n"
"  set      write limit keys into xenstore (validated)\n"
"  get      show the limit keys configured in xenstore\n"
"  wait     wait until given limit values are in force in the maps\n"
"  keys     list every limit key with its unit, default and example\n"
"  probe    say which mode this host supports\n"
"  unload   detach the programs and remove the pinned state\n"
"\n"
"Options: -v  libbpf and xenstore detail on stderr;  -h  this help.\n"
"'blkqos COMMAND --help' explains a command.\n"
"Exit codes: 0 ok, 1 failure (run: also another blkqos run is running),\n"
"2 usage, 3 host lacks something (BPF, bpffs, xen-blkback, a cgroup block\n"
"throttle for stock mode, the hook for --mode bpf), 4 nothing loaded (run\n"
"'blkqos run' first).\n";

static const char usage_run[] =
"Usage: blkqos run [--mode auto|bpf|stock] [--no-attach] [--rules FILE]\n"
"                  [--backend-domid N] [--once] [--metrics-file PATH]\n"
"                  [--metrics-interval S] [--metrics-listen ADDR:PORT]\n"
"\n"
"Loads the BPF programs (or reuses what is pinned in " BLKQOS_PIN_DIR "/),\n"
"attaches them to the patched xen-blkback (or, on a stock one, sets up stock\n"
"mode, below), syncs every VBD's limits from xenstore into the maps and then\n"
"follows xenstore watches (no polling).\n"
"SIGTERM/SIGINT stop it; the limits stay in force (pinned). Run it again to\n"
"resume: bucket levels and counters carry on.\n"
"\n"
"Modes (the first line of the log says which one is in force):\n"
"  bpf    the patched xen-blkback (kernel/): every key is enforced, a request\n"
"         over the limit waits in the guest's ring for the exact time\n"
"  stock  xen-blkback without the hook: each VBD's ring threads go into a\n"
"         cgroup (blkqos.slice/vbd-DOMID-DEVID under the cgroup v2 mount, or\n"
"         the v1 blkio hierarchy) whose block throttle (io.max) holds the\n"
"         rates; BPF still counts, so 'blkqos stats' works. The throttle has no\n"
"         burst, peak, iops-size or flush/discard modes, a total iops/bps\n"
"         applies to each direction, and a domain limit only holds for a\n"
"         domain with one VBD: each VBD's keys it cannot honour are named in\n"
"         the log. Deferrals count the bios the throttle held; it works in\n"
"         slices of about 100 ms, so latency under the limit is coarser.\n"
"  auto   (default) bpf if xen-blkback has the hook, else stock\n"
"\n"
"  --mode MODE        see above\n"
"  --no-attach        maps only, do not attach (a dry run; works without Xen)\n"
"  --rules FILE       persistent rules by domain name, e.g. 'web01 xvda iops=500';\n"
"                     written into xenstore whenever a matching VBD appears, and\n"
"                     when a domain is renamed (xl rename, migrate: a migrating\n"
"                     '<name>--incoming' is matched as <name>)\n"
"  --backend-domid N  the domain blkback runs in (default: our own, usually 0)\n"
"  --once             sync once and exit\n"
"  --metrics-file PATH  keep PATH current with the metrics in Prometheus's text\n"
"                     format (for node_exporter's textfile collector: written to\n"
"                     PATH.tmp, then renamed over PATH; mode 0644)\n"
"  --metrics-interval S  how often PATH is written (default 5 s)\n"
"  --metrics-listen ADDR:PORT  serve GET /metrics over HTTP on this numeric\n"
"                     address (127.0.0.1:9477, [::1]:9477; default: none)\n"
"\n"
"One loader per host: it holds " BLKQOS_RUN_LOCK " (flock; released when it\n"
"exits, however it dies). A second blkqos run exits 1 naming the first one's\n"
"pid. BLKQOS_LOCK=FILE names another lock file (for tests).\n"
"If the xenstore connection drops (xenstored restarted), the maps stay as they\n"
"are, in force; it connects again (tries 100 ms apart, then up to 5 s apart),\n"
"watches again and resyncs.\n";

static const char usage_stats[] =
"Usage: blkqos stats [DOMID[/DEV]] [--format table|json|prometheus] [--json]\n"
"                    [--histogram] [--interval S]\n"
"\n"
"Per VBD: limits (VBD and domain), current bucket levels in tokens (ops or\n"
"bytes), ops and bytes by kind, deferrals and time deferred. In stock mode\n"
"the buckets are unused, ops count bios, and deferrals count the bios the\n"
"block throttle held (it does not say for how long); unthrottled counts, of\n"
"those bios, the ones a ring thread submitted before the loader moved it into\n"
"its VBD's group (the throttle never saw them).\n"
"DEV is a name (xvda) or a device id (51712). --interval repeats every S s.\n"
"--json is --format json. --format prometheus: the metrics 'blkqos run'\n"
"exports to a file or over HTTP (text exposition format; blkqos(8), METRICS).\n"
"--histogram adds how long requests were held (parked) before dispatch, per\n"
"direction, in log2 buckets of microseconds (bpf mode; stock mode does not\n"
"measure it and says so).\n"
"The same data: bpftool map dump pinned " BLKQOS_PIN_DIR "/vbd_stats (etc.)\n";

static const char usage_set[] =
"Usage: blkqos set DOMID DEV KEY=VALUE...   (one VBD)\n"
"       blkqos set DOMID KEY=VALUE...       (the whole domain, all its VBDs)\n"
"\n"
"Validates and writes /local/domain/<backend>/backend/vbd/DOMID/DEVID/qos/KEY\n"
"(or .../vbd/DOMID/qos/KEY for the domain). KEY= (empty) removes a key.\n"
"--wait: then wait until the running loader has put it in force, print the\n"
"time that took (exit 1 if not within --timeout S, default 5).\n"
"Examples: blkqos set 5 xvda iops=500 bps=20M;  blkqos set 5 iops=2000\n"
"'blkqos keys' lists the keys.\n";

static const char usage_wait[] =
"Usage: blkqos wait DOMID [DEV] KEY=VALUE... [--timeout S]\n"
"\n"
"Waits until the BPF maps hold these values (as 'blkqos run' syncs them from\n"
"xenstore) and prints how long that took. Exit 0 when in force, 1 after the\n"
"timeout (default 5 s). 'blkqos set ... --wait' writes and waits.\n";

static const char usage_get[] =
"Usage: blkqos get [DOMID [DEV]]\n"
"\n"
"Shows the limit keys configured in xenstore, per domain and VBD.\n";


/*
 * One loader per host: two would fight over the maps and the qos nodes.
 * The flock goes with the process, so a lock file left by a loader that was
 * killed stops nobody. Returns the locked fd, or -1 after saying why.
 */
static int take_run_lock(void)
{
	const char *path = getenv("BLKQOS_LOCK");
	char buf[32];
	ssize_t n;
	int fd, err;

	if (!path || !*path)
		path = BLKQOS_RUN_LOCK;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		log_err("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = errno;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (err == EWOULDBLOCK)
			log_err("another blkqos run is running (pid %s, it holds %s): one loader per "
				"host", *buf ? buf : "unknown", path);
		else
			log_err("%s: cannot lock: %s", path, strerror(err));
		close(fd);
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, n, 0) != n)
		log_warn("%s: cannot write our pid: %s", path, strerror(errno));
	return fd;
}

/*
 * Internal functions return 0 or -errno; the commands turn that into their
 * exit status here: -ENODEV the host lacks something, -ENOENT nothing is
 * loaded, anything else a failure.
 */
static int exit_code(int err)
{
	switch (err) {
	case 0:
		return EXIT_OK;
	case -ENODEV:
		return EXIT_ENV;
	case -ENOENT:
		return EXIT_NOT_LOADED;
	default:
		return EXIT_FAIL;
	}
}

/* Returns 0, or -ENODEV after saying why. */
static int xs_or_die(struct xs_handle **xs)
{
	*xs = xs_open(0);
	if (!*xs) {
		log_err("cannot connect to xenstore: %s (is xenstored running? this must run "
			"in dom0 or the driver domain; XENSTORED_PATH names another socket)",
			strerror(errno));
		return -ENODEV;
	}
	return 0;
}

static bool want_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return true;
	return false;
}

/*
 * For commands without options: getopt's own message on one, then the
 * usage. Returns 0 or EXIT_USAGE; operands start at argv[optind] (1).
 */
static int parse_no_options(int argc, char **argv, const char *usage)
{
	static const struct option none[] = { { NULL, 0, NULL, 0 } };

	if (getopt_long(argc, argv, "", none, NULL) != -1 || optind != 1) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	return 0;
}

/* For commands that take nothing: neither options nor operands. */
static int parse_no_operands(int argc, char **argv, const char *usage)
{
	int ret = parse_no_options(argc, argv, usage);

	if (!ret && argc > 1) {
		log_err("%s takes no arguments: \"%s\"", argv[0], argv[1]);
		return EXIT_USAGE;
	}
	return ret;
}

static int parse_domid(const char *s, unsigned int *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || errno || v >= 0x7ff0)
		return -1;
	*out = v;
	return 0;
}

static int parse_dev(const char *s, unsigned int *out)
{
	__u32 d;

	if (qos_devname_to_devid(s, &d))
		return -1;
	*out = d;
	return 0;
}

/* ---- run ---------------------------------------------------------------- */

static bool watch_all(struct xs_handle *xs, const char *vbd_root)
{
	return xs_watch(xs, vbd_root, "vbd") && xs_watch(xs, "@releaseDomain", "release");
}

/*
 * The xenstore connection dropped (xenstored restarted): the maps stay as
 * they are, in force, while this connects again, waiting 100 ms, 200 ms...
 * up to 5 s between tries. Returns the new handle with the watches set, or
 * NULL when SIGTERM/SIGINT (on sfd) asks to stop meanwhile.
 */
static struct xs_handle *xs_reconnect(const char *vbd_root, int sfd)
{
	unsigned int tries = 0;
	int delay = 100;

	for (;;) {
		struct pollfd p = { .fd = sfd, .events = POLLIN };
		struct xs_handle *xs;

		if (poll(&p, 1, delay) > 0)
			return NULL;
		tries++;
		xs = xs_open(0);
		if (xs && watch_all(xs, vbd_root)) {
			log_info("xenstore: reconnected after %u tries; resyncing", tries);
			return xs;
		}
		if (tries == 1 || !(tries % 20))
			log_warn("xenstore: cannot reconnect yet: %s (try %u; the limits stay in "
				 "force)", strerror(errno), tries);
		if (xs)
			xs_close(xs);
		delay = delay * 2 > 5000 ? 5000 : delay * 2;
	}
}

/*
 * Event handling a look for ring threads that is due may wait for (stock
 * mode): a thread runs unthrottled until found, and in a slow dom0 a burst
 * of events (VBDs connecting) takes far longer to handle than this.
 */
#define EVENTS_PER_LOOK_NS	(20 * 1000000ULL)

/*
 * Tell the service manager (Type=notify) that the first full sync is done:
 * the limits xenstore holds are in force. Returns whether it was told.
 */
static bool notify_ready(const struct blkqos_loaded *l, const struct sync *s)
{
	char msg[256];
	int ret;

	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=mode: %s; %lu VBDs and domains synced, "
		 "%lu problems", blkqos_mode_name(l->mode), s->syncs, s->errors);
	ret = notify_send(msg);
	if (ret < 0)
		log_warn("NOTIFY_SOCKET: cannot tell the service manager we are ready: %s",
			 strerror(-ret));
	return ret > 0;
}

/* A ring thread's birth, from BPF (stock mode): see stock_ring_born(). */
static int on_ring_birth(void *ctx, void *data, size_t size)
{
	const struct blkqos_ring_birth *b = data;
	char comm[sizeof(b->comm) + 1];

	if (size < sizeof(*b))
		return 0;
	memcpy(comm, b->comm, sizeof(b->comm));
	comm[sizeof(b->comm)] = '\0';
	stock_ring_born(ctx, (pid_t)b->pid, comm);
	return 0;
}

static const char *metrics_mode(enum blkqos_mode mode)
{
	switch (mode) {
	case BLKQOS_MODE_STOCK:
		return "stock";
	case BLKQOS_MODE_NONE:
		return "maps-only";
	default:
		return "bpf";
	}
}

/* A domain's name from xenstore ("" if it cannot be read). */
static void xs_dom_name(struct xs_handle *xs, unsigned int domid, char *buf, size_t len)
{
	char path[64], *v = NULL;
	unsigned int n;

	buf[0] = 0;
	snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
	if (xs)
		v = xs_read(xs, XBT_NULL, path, &n);
	if (v)
		snprintf(buf, len, "%s", v);
	free(v);
}

/* For the exporter: through the run loop's connection (NULL while it reconnects). */
static void sync_dom_name(void *ctx, unsigned int domid, char *buf, size_t len)
{
	xs_dom_name(((struct sync *)ctx)->xs, domid, buf, len);
}

static int parse_seconds(const char *opt, const char *arg, double min, double max, double *out)
{
	char *end;

	*out = strtod(arg, &end);
	if (!*arg || *end || !(*out >= min && *out <= max)) {
		log_err("%s: \"%s\" is not a number of seconds from %g to %g", opt, arg, min, max);
		return -1;
	}
	return 0;
}

/* What the command line of blkqos run asks for. */
struct run_opts {
	bool attach, once, have_backend;
	unsigned int backend;
	enum blkqos_mode_request want;
	const char *rules;
	struct exporter_opts xo;
};

/* Returns 0, or EXIT_USAGE after saying why. */
static int parse_run_opts(int argc, char **argv, struct run_opts *o)
{
	static const struct option opts[] = {
		{ "no-attach", no_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "rules", required_argument, NULL, 'r' },
		{ "backend-domid", required_argument, NULL, 'b' },
		{ "once", no_argument, NULL, 'o' },
		{ "metrics-file", required_argument, NULL, 'F' },
		{ "metrics-interval", required_argument, NULL, 'I' },
		{ "metrics-listen", required_argument, NULL, 'L' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct sockaddr_storage ss;
	unsigned int len;
	int c;

	*o = (struct run_opts){ .attach = true, .want = BLKQOS_WANT_AUTO,
				.xo = { .interval_s = 5 } };
	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->attach = false;
			break;
		case 'm':
			if (!strcmp(optarg, "auto")) {
				o->want = BLKQOS_WANT_AUTO;
			} else if (!strcmp(optarg, "bpf")) {
				o->want = BLKQOS_WANT_BPF;
			} else if (!strcmp(optarg, "stock")) {
				o->want = BLKQOS_WANT_STOCK;
			} else {
				log_err("--mode: \"%s\" is not auto, bpf or stock", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			o->rules = optarg;
			break;
		case 'b':
			if (parse_domid(optarg, &o->backend)) {
				log_err("--backend-domid: \"%s\" is not a domain id", optarg);
				return EXIT_USAGE;
			}
			o->have_backend = true;
			break;
		case 'o':
			o->once = true;
			break;
		case 'F':
			o->xo.file = optarg;
			break;
		case 'I':
			if (parse_seconds("--metrics-interval", optarg, 0.1, 3600, &o->xo.interval_s))
				return EXIT_USAGE;
			break;
		case 'L':
			if (exporter_parse_addr(optarg, &ss, &len)) {
				log_err("--metrics-listen: \"%s\" is not ADDR:PORT with a numeric "
					"address (127.0.0.1:9477, [::1]:9477)", optarg);
				return EXIT_USAGE;
			}
			o->xo.listen = optarg;
			break;
		case 'v':
			blkqos_verbose = 1;
			break;
		default:
			fputs(usage_run, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_err("run: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	return 0;
}

/* Fds the run loop polls: xenstore, signals, ring births, the exporter's. */
enum { PFD_XS, PFD_SIGNAL, PFD_BIRTHS, PFD_EXPORTER, PFD_NR = PFD_EXPORTER + EXPORTER_MAX_FDS };

/* A running loader: what start-up made and the event loop uses. */
struct run_state {
	struct blkqos_loaded l;
	struct xs_handle *xs;
	struct sync s;
	struct stock *stock;		/* stock mode's cgroup throttle; NULL in bpf mode */
	struct ring_buffer *births;	/* stock mode; NULL: the looks only */
	struct exporter *exp;
	struct pollfd pfd[PFD_NR];
	bool loaded, synced;	/* blkqos_load() and sync_init() done: stop_run() undoes */
	bool any_task;		/* test builds: user processes pass for ring threads */
	bool seen_initial;	/* the watch's first event of the root, covered by sync_all() */
	bool ready;		/* the service manager was told */
	unsigned long pass;
	int sfd;
};

/* Stock mode: the cgroup throttle and the ring-thread births. */
static int start_stock(struct run_state *r)
{
	char err[512];

	log_info("stock mode cannot enforce: bursts, peaks, iops-size, flush/discard modes, "
		 "a domain limit over several VBDs; a total iops/bps applies per direction "
		 "(named per VBD below)");
#ifdef BLKQOS_TEST_BUILD
	if (r->any_task)
		log_warn("test build: BLKQOS_TEST_RING_ANY_TASK: any process named like a "
			 "ring thread is taken for one");
#else
	if (getenv("BLKQOS_TEST_RING_ANY_TASK"))
		log_warn("BLKQOS_TEST_RING_ANY_TASK is ignored: only the test build "
			 "(tests/bin/blkqos-test) takes user processes for ring threads");
#endif
	r->stock = stock_init(r->xs, &r->l.maps, r->s.vbd_root, r->any_task, err, sizeof(err));
	if (!r->stock) {
		log_err("stock mode: %s", err);
		return EXIT_ENV;
	}
	r->s.events = &stock_sync_events;
	r->s.events_ctx = r->stock;
	r->births = ring_buffer__new(r->l.maps.ring_births_fd, on_ring_birth, r->stock, NULL);
	if (!r->births)
		log_warn("stock mode: cannot read the ring_births ring buffer: %s; new ring "
			 "threads are found by looking at /proc, later", strerror(errno));
	return 0;
}

/*
 * Start-up: xenstore, the programs and maps, the sync (and stock mode),
 * the rules, the watches, the first full sync. Returns 0 or an EXIT_* code;
 * stop_run() undoes whatever was done either way.
 */
static int start_run(struct run_state *r, const struct run_opts *o)
{
	unsigned int backend = o->backend;
	int ret;

	ret = xs_or_die(&r->xs);
	if (ret)
		return exit_code(ret);
	/* Test builds only (-DBLKQOS_TEST_BUILD): a host without Xen has no
	 * blkback kthreads to move nor to count; production takes kernel
	 * threads only. */
#ifdef BLKQOS_TEST_BUILD
	r->any_task = getenv("BLKQOS_TEST_RING_ANY_TASK") != NULL;
	blkqos_bpf_user_rings(r->any_task);
#endif
	ret = blkqos_load(&r->l, o->attach, o->want);
	if (ret)
		return exit_code(ret);
	r->loaded = true;
	if (!o->have_backend)
		backend = sync_own_domid(r->xs);
	log_info("mode: %s%s; backend domain %u", blkqos_mode_name(r->l.mode),
		 r->l.reused_links ? " (already attached, reused)" : "", backend);
	sync_init(&r->s, r->xs, &r->l.maps, backend);
	r->synced = true;
	if (r->l.mode == BLKQOS_MODE_STOCK && (ret = start_stock(r)))
		return ret;
	if (o->rules && (ret = sync_load_rules(&r->s, o->rules))) {
		log_err("--rules %s: %s", o->rules, strerror(-ret));
		return EXIT_USAGE;
	}
	/* Watches first, so nothing changes unseen between the sync and them. */
	if (!watch_all(r->xs, r->s.vbd_root)) {
		log_err("cannot watch %s: %s", r->s.vbd_root, strerror(errno));
		return EXIT_FAIL;
	}
	sync_all(&r->s);
	log_info("synced: %lu VBDs and domains, %lu problems", r->s.syncs, r->s.errors);
	return 0;
}

/* The metrics file and listener, if asked for. Returns 0 or EXIT_FAIL. */
static int start_exporter(struct run_state *r, const struct exporter_opts *xo)
{
	struct metrics_src src = {
		.maps = &r->l.maps, .mode = metrics_mode(r->l.mode),
		.stock = r->l.mode == BLKQOS_MODE_STOCK, .dom_name = sync_dom_name, .ctx = &r->s,
	};
	char err[300];

	if (!xo->file && !xo->listen)
		return 0;
	r->exp = exporter_new(xo, &src, err, sizeof(err));
	if (!r->exp) {
		log_err("%s", err);
		return EXIT_FAIL;
	}
	if (xo->listen)
		log_info("metrics: serving http://%s/metrics", xo->listen);
	if (xo->file)
		log_info("metrics: writing %s every %g s", xo->file, xo->interval_s);
	return 0;
}

/* SIGTERM and SIGINT through a signalfd, and the poll set. */
static void start_polling(struct run_state *r)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	r->sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	r->pfd[PFD_XS] = (struct pollfd){ .fd = xs_fileno(r->xs), .events = POLLIN };
	r->pfd[PFD_SIGNAL] = (struct pollfd){ .fd = r->sfd, .events = POLLIN };
	/* poll() skips a negative fd: without the ring buffer, looks only */
	r->pfd[PFD_BIRTHS] = (struct pollfd){
		.fd = r->births ? ring_buffer__epoll_fd(r->births) : -1, .events = POLLIN };
}

/*
 * Handle the xenstore events that are queued. Returns why xs_check_watch()
 * stopped giving events (errno; 0 when cut short so that a look that is due
 * runs first), and the number handled in *n.
 */
static int handle_events(struct run_state *r, unsigned int *n)
{
	__u64 drain_end = blkqos_mono_ns() + EVENTS_PER_LOOK_NS;
	bool cut = false;
	char **ev;

	*n = 0;
	while (!cut && (ev = xs_check_watch(r->xs))) {
		/*
		 * xenstored fires every new watch once at once; sync_all()
		 * already covered that first event of the root.
		 */
		if (!r->seen_initial && !strcmp(ev[XS_WATCH_TOKEN], "vbd") &&
		    !strcmp(ev[XS_WATCH_PATH], r->s.vbd_root)) {
			r->seen_initial = true;
			free(ev);
			continue;
		}
		sync_path(&r->s, ev[XS_WATCH_PATH]);
		free(ev);
		(*n)++;
		/* a birth does not wait for the rest of a burst (no syscall) */
		if (r->births)
			ring_buffer__consume(r->births);
		/* a storm of events does not hold back a look that is due:
		 * the rest are handled at the next pass, after it */
		cut = blkqos_mono_ns() >= drain_end && stock_look_ms(r->stock) == 0;
	}
	return cut ? 0 : errno;
}

/*
 * The xenstore connection was lost: connect again, watch again, resync.
 * Returns false when asked to stop meanwhile.
 */
static bool reconnect(struct run_state *r, int why)
{
	log_warn("xenstore connection lost: %s; the maps stay as they are, reconnecting",
		 why == EINVAL ? "closed by xenstored" : strerror(why));
	xs_close(r->xs);
	r->s.xs = NULL;
	stock_set_xs(r->stock, NULL);
	r->xs = xs_reconnect(r->s.vbd_root, r->sfd);
	if (!r->xs)
		return false;
	r->s.xs = r->xs;
	stock_set_xs(r->stock, r->xs);
	sync_rewatch(&r->s);
	r->pfd[PFD_XS].fd = xs_fileno(r->xs);
	r->seen_initial = false;
	sync_all(&r->s);
	log_info("resynced: %lu VBDs and domains, %lu problems so far", r->s.syncs, r->s.errors);
	return true;
}

/*
 * One wait for work and what came: births, scrapes, xenstore, a look.
 * Returns 0 to go on, 1 when asked to stop, -errno when poll() failed.
 */
static int run_pass(struct run_state *r)
{
	unsigned long scans = stock_scans(r->stock);
	int wait_ms = stock_look_ms(r->stock);
	int xwait = exporter_timeout_ms(r->exp);
	int nx = exporter_pollfds(r->exp, r->pfd + PFD_EXPORTER);
	unsigned int n;
	int watch_err;

	/* libxenstore does not wake the watch fd when the connection
	 * drops: look at least once a second (a local check) */
	if (wait_ms < 0 || wait_ms > 1000)
		wait_ms = 1000;
	if (xwait >= 0 && xwait < wait_ms)
		wait_ms = xwait;
	if (poll(r->pfd, PFD_EXPORTER + nx, wait_ms) < 0) {
		if (errno == EINTR)
			return 0;
		log_err("poll: %s", strerror(errno));
		return -errno;
	}
	if (r->pfd[PFD_SIGNAL].revents)
		return 1;
	/* first: a thread just born has not run yet */
	if (r->pfd[PFD_BIRTHS].revents)
		ring_buffer__consume(r->births);
	/* then scrapes: they are cheap, and xenstore work may take a while */
	exporter_handle(r->exp, r->pfd + PFD_EXPORTER, nx);
	exporter_tick(r->exp);
	watch_err = handle_events(r, &n);
	sync_retry(&r->s);
	/* after the events: they only marked VBDs, one scan serves them all */
	stock_look(r->stock);
	r->pass++;
	/* what a pass cost: tests count scans per pass (stock mode) */
	if (n || stock_scans(r->stock) != scans)
		log_debug("loop pass %lu: %u xenstore events, %lu /proc scans", r->pass, n,
			  stock_scans(r->stock) - scans);
	/* EINVAL: libxenstore closed the connection (its reader saw EOF) */
	if (watch_err != EAGAIN && watch_err != 0 && watch_err != EINTR && !reconnect(r, watch_err))
		return 1;
	errno = 0;
	return 0;
}

/* The event loop: until SIGTERM/SIGINT (0) or a failure (EXIT_FAIL). */
static int run_loop(struct run_state *r)
{
	int ret;

	log_info("following xenstore (SIGTERM stops; the limits stay in force)");
	r->ready = notify_ready(&r->l, &r->s);
	while (!(ret = run_pass(r)))
		;
	if (ret < 0)
		return EXIT_FAIL;
	log_info("stopping; limits stay in force (blkqos unload removes them)");
	return 0;
}

/* Undo start-up: the limits stay in force (pinned). */
static void stop_run(struct run_state *r)
{
	exporter_free(r->exp);
	if (r->ready)
		notify_send("STOPPING=1");
	if (r->sfd >= 0)
		close(r->sfd);
	ring_buffer__free(r->births);
	if (r->synced) {
		stock_fini(r->stock);
		sync_fini(&r->s);
	}
	if (r->loaded)
		blkqos_loaded_close(&r->l);
	if (r->xs)		/* NULL if stopped while reconnecting */
		xs_close(r->xs);
}

static int cmd_run(int argc, char **argv)
{
	struct run_state r = { .sfd = -1 };
	struct run_opts o;
	int ret, lock_fd;

	ret = parse_run_opts(argc, argv, &o);
	if (ret)
		return ret;
	lock_fd = take_run_lock();
	if (lock_fd < 0)
		return EXIT_FAIL;
	ret = start_run(&r, &o);
	if (!ret && !o.once && !(ret = start_exporter(&r, &o.xo))) {
		start_polling(&r);
		ret = run_loop(&r);
	}
	stop_run(&r);
	close(lock_fd);
	return ret;
}

/* ---- stats -------------------------------------------------------------- */

static void stats_dom_name(void *ctx, unsigned int domid, char *buf, size_t len)
{
	xs_dom_name(ctx, domid, buf, len);
}

/* What the command line of blkqos stats asks for. */
struct stats_opts {
	struct stats_filter f;
	bool json, prom;
	double interval;	/* 0: once */
};

/* Returns 0, or EXIT_USAGE after saying why. */
static int parse_stats_opts(int argc, char **argv, struct stats_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 },
	};
	char *end, *arg, *slash;
	int c;

	*o = (struct stats_opts){ .f = { .any_dom = true, .any_dev = true } };
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'f':
			o->json = !strcmp(optarg, "json");
			o->prom = !strcmp(optarg, "prometheus");
			if (!o->json && !o->prom && strcmp(optarg, "table")) {
				log_err("--format: \"%s\" is not table, json or prometheus", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			o->f.histogram = true;
			break;
		case 'i':
			o->interval = strtod(optarg, &end);
			if (*end || o->interval <= 0 || o->interval > 86400) {
				log_err("--interval: \"%s\" is not a number of seconds", optarg);
				return EXIT_USAGE;
			}
			break;
		default:
			fputs(usage_stats, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		return 0;
	arg = argv[optind];
	slash = strchr(arg, '/');
	if (slash)
		*slash = 0;
	if (parse_domid(arg, &o->f.domid) || (slash && parse_dev(slash + 1, &o->f.devid))) {
		if (slash)
			*slash = '/';
		log_err("stats: \"%s\" is not DOMID or DOMID/DEV", argv[optind]);
		return EXIT_USAGE;
	}
	o->f.any_dom = false;
	o->f.any_dev = !slash;
	return 0;
}

/* One snapshot in the format asked for. Returns 0 or -errno. */
static int stats_show(const struct stats_opts *o, struct blkqos_maps *m, struct xs_handle *xs)
{
	struct metrics_src src = {
		.maps = m, .mode = metrics_mode(blkqos_pinned_mode()),
		.stock = o->f.stock, .dom_name = stats_dom_name, .ctx = xs,
	};
	int ret;

	if (!o->prom) {
		stats_print(stdout, m, &o->f, o->json);
		return 0;
	}
	ret = metrics_render(stdout, &src);
	if (ret < 0)
		log_err("cannot read the maps: %s", strerror(-ret));
	return ret < 0 ? ret : 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct xs_handle *xs = NULL;
	struct blkqos_maps *m;
	struct stats_opts o;
	int ret;

	ret = parse_stats_opts(argc, argv, &o);
	if (ret)
		return ret;
	m = calloc(1, sizeof(*m));
	if (!m)
		return EXIT_FAIL;
	ret = blkqos_open_pinned(m);
	if (ret) {
		if (ret == -ENOENT)	/* else it said why */
			log_err("nothing pinned in %s: start 'blkqos run' first", BLKQOS_PIN_DIR);
		free(m);
		return exit_code(ret);
	}
	o.f.stock = blkqos_pinned_mode() == BLKQOS_MODE_STOCK;
	if (o.prom)	/* for the domain label; without xenstore it is empty */
		xs = xs_open(0);
	for (;;) {
		ret = stats_show(&o, m, xs);
		fflush(stdout);
		if (ret || o.interval <= 0)
			break;
		usleep((useconds_t)(o.interval * 1e6));
		if (!o.json && !o.prom)
			putchar('\n');
	}
	if (xs)
		xs_close(xs);
	blkqos_close_pinned(m);
	free(m);
	return ret ? EXIT_FAIL : 0;
}

/* ---- set / get ---------------------------------------------------------- */

struct set_check {
	int bad;
};

static void set_log(void *ctx, const char *key, const char *value, const char *reason)
{
	struct set_check *c = ctx;

	log_err("%s=%s: %s", key, value, reason);
	c->bad++;
}

/*
 * One KEY=VALUE of blkqos set into keys as "qos/KEY"; says what is wrong:
 * -EINVAL (not a known KEY=VALUE), -EEXIST (given twice) or -ENOMEM.
 */
static int add_set_pair(struct qos_keys *keys, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char rel[QOS_KEY_PATH_MAX];
	int slot;

	if (!eq || eq == arg) {
		log_err("\"%s\" is not KEY=VALUE", arg);
		return -EINVAL;
	}
	snprintf(rel, sizeof(rel), "qos/%.*s", (int)(eq - arg), arg);
	slot = (size_t)(eq - arg) < sizeof(rel) - 4 ? qos_slot_of_key(rel + 4) : -1;
	if (slot < 0 || slot >= QOS_NR_QOS_SLOTS) {
		log_err("unknown key \"%.*s\" ('blkqos keys' lists them)", (int)(eq - arg), arg);
		return -EINVAL;
	}
	if (qos_keys_get(keys, rel)) {
		log_err("%s given twice", rel + 4);
		return -EEXIST;
	}
	if (qos_keys_set(keys, rel, eq + 1)) {
		log_err("out of memory for the key %s", rel + 4);
		return -ENOMEM;
	}
	return 0;
}

struct scope_kvs {
	unsigned int domid, devid;
	bool dom_scope;
	bool wait;
	double timeout_s;
	struct qos_keys keys;	/* "qos/KEY" = VALUE, one per argument */
	struct blkqos_limits out;	/* the limits the given keys alone make */
};

/*
 * Parse "DOMID [DEV] KEY=VALUE... [--wait] [--timeout S]" and validate the
 * pairs exactly as the loader will read them. Returns 0 or an EXIT_* code.
 */
static int parse_scope_kvs(int argc, char **argv, const char *usage, struct scope_kvs *p)
{
	static const struct option opts[] = {
		{ "wait", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	struct set_check chk = { 0 };
	int c, i, first, ret, twice = 0;

	p->timeout_s = 5;
	/* options may come anywhere: getopt puts the operands last */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'w':
			p->wait = true;
			break;
		case 't': {
			char *end;

			p->timeout_s = strtod(optarg, &end);
			if (*end || p->timeout_s <= 0 || p->timeout_s > 3600) {
				log_err("--timeout: \"%s\" is not a number of seconds", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	}
	/* the operands from argv[1] on, as before the options were taken out */
	argv += optind - 1;
	argc -= optind - 1;
	if (argc < 3 || parse_domid(argv[1], &p->domid)) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	p->dom_scope = strchr(argv[2], '=') != NULL;
	if (!p->dom_scope && parse_dev(argv[2], &p->devid)) {
		log_err("\"%s\" is neither a device (xvda, 51712) nor KEY=VALUE", argv[2]);
		return EXIT_USAGE;
	}
	first = p->dom_scope ? 2 : 3;
	if (first >= argc) {
		fputs(usage, stderr);
		return EXIT_USAGE;
	}
	for (i = first; i < argc; i++) {
		ret = add_set_pair(&p->keys, argv[i]);
		if (ret == -EEXIST) {
			twice++;
			continue;
		}
		if (ret)
			return ret == -ENOMEM ? EXIT_FAIL : EXIT_USAGE;
	}
	if (twice)
		return EXIT_USAGE;
	if (p->dom_scope)
		qos_dom_limits_from_keys(p->keys.kv, p->keys.n, NULL, &p->out, set_log, &chk);
	else
		qos_limits_from_keys(p->keys.kv, p->keys.n, NULL, &p->out, set_log, &chk);
	return chk.bad ? EXIT_USAGE : 0;
}

static void scope_kvs_free(struct scope_kvs *p)
{
	qos_keys_free(&p->keys);
	free(p);
}

/* Do the maps hold what the given keys say (only the fields they name)? */
static bool limits_hold(const struct scope_kvs *p, const struct blkqos_limits *have)
{
	size_t i;

	for (i = 0; i < p->keys.n; i++) {
		int slot = qos_slot_of_key(p->keys.kv[i].name + 4);

		if (slot < QOS_SLOT_IOPS_SIZE) {
			const struct blkqos_limit *w = BLKQOS_LIMIT_AT(&p->out, slot / 3);
			const struct blkqos_limit *h = BLKQOS_LIMIT_AT(have, slot / 3);
			__u64 wv = slot % 3 == 0 ? w->rate : slot % 3 == 1 ? w->burst : w->peak;
			__u64 hv = slot % 3 == 0 ? h->rate : slot % 3 == 1 ? h->burst : h->peak;

			/* a burst or peak without a rate is ignored by the schema too */
			if (slot % 3 && !w->rate && !h->rate)
				continue;
			if (wv != hv)
				return false;
		} else if (slot == QOS_SLOT_IOPS_SIZE) {
			if (p->out.iops_size != have->iops_size)
				return false;
		} else if (slot == QOS_SLOT_FLUSH) {
			if (p->out.flush_mode != have->flush_mode)
				return false;
		} else if (slot == QOS_SLOT_DISCARD) {
			if (p->out.discard_mode != have->discard_mode)
				return false;
		}
	}
	return true;
}

/*
 * Wait until the maps hold the keys' values; print how long it took since
 * t0. This is what an operator needs to know: the change is in force.
 */
static int wait_in_force(const struct scope_kvs *p, __u64 t0)
{
	struct blkqos_maps *m = calloc(1, sizeof(*m));
	__u64 deadline = t0 + (__u64)(p->timeout_s * 1e9);
	int ret;

	if (!m)
		return EXIT_FAIL;
	ret = blkqos_open_pinned(m);
	if (ret) {
		if (ret == -ENOENT)	/* else it said why */
			log_err("nothing pinned in %s: is 'blkqos run' running?", BLKQOS_PIN_DIR);
		free(m);
		return exit_code(ret);
	}
	ret = EXIT_FAIL;	/* until the values are in force */
	/* For scripts timing a change made by another process: polling starts now. */
	printf("waiting\n");
	fflush(stdout);
	for (;;) {
		struct blkqos_vbd v;
		struct blkqos_dom d;
		bool ok;

		if (p->dom_scope)
			ok = blkqos_maps_dom_get(m, p->domid, &d) == 0 && limits_hold(p, &d.limits);
		else
			ok = blkqos_maps_vbd_get(m, p->domid, p->devid, &v) == 0 &&
			     limits_hold(p, &v.limits);
		if (ok) {
			struct timespec rt;

			/* realtime too, to line up with a write made by another process */
			clock_gettime(CLOCK_REALTIME, &rt);
			printf("in force after %.1f ms at realtime_ns=%lld%09ld\n",
			       (blkqos_mono_ns() - t0) / 1e6, (long long)rt.tv_sec, rt.tv_nsec);
			ret = 0;
			break;
		}
		if (blkqos_mono_ns() > deadline) {
			log_err("not in force after %.1f s: is 'blkqos run' running? (its log "
				"names any refused value)", p->timeout_s);
			break;
		}
		usleep(200);
	}
	blkqos_close_pinned(m);
	free(m);
	return ret;
}

static int cmd_wait(int argc, char **argv)
{
	struct scope_kvs *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return EXIT_FAIL;
	ret = parse_scope_kvs(argc, argv, usage_wait, p);
	if (!ret)
		ret = wait_in_force(p, blkqos_mono_ns());
	scope_kvs_free(p);
	return ret;
}

static int cmd_set(int argc, char **argv)
{
	struct xs_handle *xs = NULL;
	struct scope_kvs *p = calloc(1, sizeof(*p));
	char dir[256], qdir[300], path[512];
	unsigned int backend;
	struct sync s;
	__u64 t0;
	size_t i;
	int ret;

	if (!p)
		return EXIT_FAIL;
	ret = parse_scope_kvs(argc, argv, usage_set, p);
	if (ret) {
		scope_kvs_free(p);
		return ret;
	}
	ret = exit_code(xs_or_die(&xs));
	if (ret)
		goto out;
	backend = sync_own_domid(xs);
	sync_init(&s, xs, NULL, backend);
	if (p->dom_scope)
		xs_dom_dir(dir, sizeof(dir), s.vbd_root, p->domid);
	else
		sync_vbd_path(&s, p->domid, p->devid, dir, sizeof(dir));
	snprintf(qdir, sizeof(qdir), "%s/qos", dir);
	t0 = blkqos_mono_ns();
	if (sync_make_qos_dir(xs, backend, p->domid, qdir)) {
		log_err("cannot create %s: %s", qdir, strerror(errno));
		ret = EXIT_FAIL;
		goto cleanup;
	}
	ret = sync_write_keys(xs, dir, &p->keys, path, sizeof(path));
	if (ret) {
		log_err("cannot write %s: %s (nothing of this change was written)", path,
			strerror(-ret));
		ret = EXIT_FAIL;
		goto cleanup;
	}
	for (i = 0; i < p->keys.n; i++) {
		const struct qos_kv *kv = &p->keys.kv[i];

		printf("%s/%s = %s\n", dir, kv->name, *kv->value ? kv->value : "(removed)");
	}
	ret = p->wait ? wait_in_force(p, t0) : 0;
cleanup:
	xs_close(xs);
out:
	scope_kvs_free(p);
	return ret;
}

static void get_dir(struct xs_handle *xs, const char *dir, const char *label)
{
	char qdir[300], path[600];
	unsigned int n, i, len;
	char **ents;

	snprintf(qdir, sizeof(qdir), "%s/qos", dir);
	ents = xs_directory(xs, XBT_NULL, qdir, &n);
	printf("%s:%s\n", label, ents && n ? "" : " (no limits)");
	for (i = 0; ents && i < n; i++) {
		char *v;

		snprintf(path, sizeof(path), "%s/%s", qdir, ents[i]);
		v = xs_read(xs, XBT_NULL, path, &len);
		printf("  %s = %s\n", ents[i], v ? v : "?");
		free(v);
	}
	free(ents);
	for (i = QOS_NR_QOS_SLOTS; i < QOS_NR_SLOTS; i++) {	/* the flat keys */
		char *v;

		snprintf(path, sizeof(path), "%s/%s", dir, qos_slot_name(i));
		v = xs_read(xs, XBT_NULL, path, &len);
		if (v)
			printf("  %s = %s (flat, compatibility)\n", qos_slot_name(i), v);
		free(v);
	}
}

static int cmd_get(int argc, char **argv)
{
	unsigned int domid = 0, devid = 0, n, m, i, j, d;
	struct xs_handle *xs = NULL;
	char root[64], dir[256], label[64], name[32];
	char **doms, **devs;
	int ret;

	ret = parse_no_options(argc, argv, usage_get);
	if (ret)
		return ret;
	if ((argc > 1 && parse_domid(argv[1], &domid)) || (argc > 2 && parse_dev(argv[2], &devid)) ||
	    argc > 3) {
		fputs(usage_get, stderr);
		return EXIT_USAGE;
	}
	ret = xs_or_die(&xs);
	if (ret)
		return exit_code(ret);
	xs_vbd_root(root, sizeof(root), sync_own_domid(xs));
	doms = xs_directory(xs, XBT_NULL, root, &n);
	for (i = 0; doms && i < n; i++) {
		char *end;

		d = strtoul(doms[i], &end, 10);
		if (*end || (argc > 1 && d != domid))
			continue;
		xs_dom_dir(dir, sizeof(dir), root, d);
		snprintf(label, sizeof(label), "domain %u (all VBDs)", d);
		if (argc <= 2)
			get_dir(xs, dir, label);
		devs = xs_directory(xs, XBT_NULL, dir, &m);
		for (j = 0; devs && j < m; j++) {
			unsigned long dv = strtoul(devs[j], &end, 10);

			if (*end || (argc > 2 && dv != devid))
				continue;
			if (qos_devid_to_devname(dv, name, sizeof(name)) < 0)
				snprintf(name, sizeof(name), "%lu", dv);
			xs_vbd_dir(dir, sizeof(dir), root, d, dv);
			snprintf(label, sizeof(label), "domain %u %s (devid %lu)", d, name, dv);
			get_dir(xs, dir, label);
		}
		free(devs);
	}
	free(doms);
	xs_close(xs);
	return 0;
}

static const char usage_keys[] =
"Usage: blkqos keys\n"
"\n"
"Lists every limit key with its unit, default and an example.\n";

static const char usage_probe[] =
"Usage: blkqos probe\n"
"\n"
"Says whether xen-blkback has the BPF hook blkqos attaches to, and which mode\n"
"'blkqos run' would use: a line 'mode: bpf' or 'mode: stock' (see\n"
"'blkqos run --help'). Exit 0 ready, 3 the host lacks something.\n";

static int cmd_keys(int argc, char **argv)
{
	const struct qos_key_doc *k;
	int ret = parse_no_operands(argc, argv, usage_keys);

	if (ret)
		return ret;
	printf("%-20s %-8s %-16s %-10s %s\n", "KEY", "UNIT", "DEFAULT", "EXAMPLE", "MEANING");
	for (k = qos_key_docs; k->name; k++)
		printf("%-20s %-8s %-16s %-10s %s\n", k->name, k->unit, k->dflt, k->example,
		       k->description);
	return 0;
}

static int cmd_probe(int argc, char **argv)
{
	struct blkqos_probe p;
	const char *problem;
	int ret = parse_no_operands(argc, argv, usage_probe);

	if (ret)
		return ret;
	blkqos_probe_blkback(&p);
	printf("xen_blkback loaded: %s\nmodule BTF: %s\nhook xen_blkif_bpf_admit: %s\n"
	       "kfunc bpf_xen_blkif_defer: %s\ntracepoint xen_blkif_dispatch: %s\n",
	       p.module_loaded ? "yes" : "no", p.module_btf ? "yes" : "no",
	       p.hook ? "yes" : "no", p.kfunc ? "yes" : "no", p.tracepoint ? "yes" : "no");
	problem = blkqos_probe_problem(&p);
	if (!p.module_loaded) {
		printf("cannot attach: %s\n", problem);
		return EXIT_ENV;
	}
	if (problem) {
		printf("no BPF hook: %s\n", problem);
		printf("mode: stock (blkqos run limits through the cgroup block throttle; "
		       "bursts, peaks, iops-size and domain limits over several VBDs are not "
		       "enforced there)\n");
		return 0;
	}
	printf("mode: bpf (blkqos run will attach: fmod_ret if the kernel allows it, else fentry "
	       "+ kfunc)\n");
	return 0;
}

static const char usage_unload[] =
"Usage: blkqos unload\n"
"\n"
"Detaches the programs and removes " BLKQOS_PIN_DIR "/ (and stock mode's\n"
"cgroups). xenstore keys stay.\n";

static int cmd_unload(int argc, char **argv)
{
	int ret = parse_no_operands(argc, argv, usage_unload);

	if (ret)
		return ret;
	ret = blkqos_unload();
	/* stock mode's groups: the throttle stops with them */
	if (stock_remove_all())
		ret = -EBUSY;
	if (ret == -ENOENT) {
		log_info("nothing was loaded");
		return 0;
	}
	return exit_code(ret);
}

static int cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fputs(usage_main, stdout);
	return 0;
}

/* The commands: 'blkqos NAME --help' prints usage, else handler runs. */
static const struct cmd {
	const char *name;
	int (*handler)(int argc, char **argv);
	const char *usage;
} cmds[] = {
	{ "run", cmd_run, usage_run },
	{ "stats", cmd_stats, usage_stats },
	{ "set", cmd_set, usage_set },
	{ "get", cmd_get, usage_get },
	{ "wait", cmd_wait, usage_wait },
	{ "keys", cmd_keys, usage_keys },
	{ "probe", cmd_probe, usage_probe },
	{ "unload", cmd_unload, usage_unload },
	{ "help", cmd_help, usage_main },
};

int main(int argc, char **argv)
{
	static char prog[32];
	size_t i;

	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose")) {
			blkqos_verbose = 1;
		} else if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			fputs(usage_main, stdout);
			return 0;
		} else {
			fprintf(stderr, "blkqos: unknown option %s\n\n%s", argv[1], usage_main);
			return EXIT_USAGE;
		}
		argv++;
		argc--;
	}
	if (argc < 2) {
		fputs(usage_main, stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name))
			continue;
		if (want_help(argc - 1, argv + 1)) {
			fputs(cmds[i].usage, stdout);
			return 0;
		}
		/* getopt's own messages then start "blkqos NAME:" */
		snprintf(prog, sizeof(prog), "blkqos %s", cmds[i].name);
		argv[1] = prog;
		return cmds[i].handler(argc - 1, argv + 1);
	}
	fprintf(stderr, "blkqos: unknown command \"%s\"\n\n%s", argv[1], usage_main);
	return EXIT_USAGE;
}
