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

static int xs_or_die(struct xs_handle **xs)
{
	*xs = xs_open(0);
	if (!*xs) {
		log_err("cannot connect to xenstore: %s (is xenstored running? this must run "
			"in dom0 or the driver domain; XENSTORED_PATH names another socket)",
			strerror(errno));
		return EXIT_ENV;
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

static int cmd_run(int argc, char **argv)
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
		{ "help", no_argument, NULL, 'h' },
		{ "verbose", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	struct exporter_opts xo = { .interval_s = 5 };
	struct exporter *exp = NULL;
	const char *rules = NULL;
	bool attach = true, once = false, have_backend = false, seen_initial = false;
	unsigned long pass = 0;
	bool any_task = false;
	bool ready = false;
	unsigned int backend = 0;
	enum blkqos_mode_request want = BLKQOS_WANT_AUTO;
	struct blkqos_loaded l;
	struct xs_handle *xs = NULL;
	struct sync s;
	struct ring_buffer *births = NULL;
	/* xenstore, signals, ring births (stock mode), the exporter's */
	struct pollfd pfd[3 + EXPORTER_MAX_FDS];
	sigset_t mask;
	int c, ret, sfd = -1, lock_fd;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			attach = false;
			break;
		case 'm':
			if (!strcmp(optarg, "auto")) {
				want = BLKQOS_WANT_AUTO;
			} else if (!strcmp(optarg, "bpf")) {
				want = BLKQOS_WANT_BPF;
			} else if (!strcmp(optarg, "stock")) {
				want = BLKQOS_WANT_STOCK;
			} else {
				log_err("--mode: \"%s\" is not auto, bpf or stock", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'r':
			rules = optarg;
			break;
		case 'b':
			if (parse_domid(optarg, &backend)) {
				log_err("--backend-domid: \"%s\" is not a domain id", optarg);
				return EXIT_USAGE;
			}
			have_backend = true;
			break;
		case 'o':
			once = true;
			break;
		case 'F':
			xo.file = optarg;
			break;
		case 'I':
			if (parse_seconds("--metrics-interval", optarg, 0.1, 3600, &xo.interval_s))
				return EXIT_USAGE;
			break;
		case 'L': {
			struct sockaddr_storage ss;
			unsigned int len;

			if (exporter_parse_addr(optarg, &ss, &len)) {
				log_err("--metrics-listen: \"%s\" is not ADDR:PORT with a numeric "
					"address (127.0.0.1:9477, [::1]:9477)", optarg);
				return EXIT_USAGE;
			}
			xo.listen = optarg;
			break;
		}
		case 'v':
			blkqos_verbose = 1;
			break;
		case 'h':
			fputs(usage_run, stdout);
			return 0;
		default:
			fputs(usage_run, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		log_err("run: unexpected argument \"%s\"", argv[optind]);
		return EXIT_USAGE;
	}
	lock_fd = take_run_lock();
	if (lock_fd < 0)
		return EXIT_FAIL;
	ret = xs_or_die(&xs);
	if (ret)
		goto cleanup_lock;
	/* Test builds only (-DBLKQOS_TEST_BUILD): a host without Xen has no
	 * blkback kthreads to move nor to count; production takes kernel
	 * threads only. */
#ifdef BLKQOS_TEST_BUILD
	any_task = getenv("BLKQOS_TEST_RING_ANY_TASK") != NULL;
	blkqos_bpf_user_rings(any_task);
#endif
	ret = blkqos_load(&l, attach, want);
	if (ret)
		goto cleanup_xs;
	if (!have_backend)
		backend = sync_own_domid(xs);
	log_info("mode: %s%s; backend domain %u", blkqos_mode_name(l.mode),
		 l.reused_links ? " (already attached, reused)" : "", backend);
	sync_init(&s, xs, &l.maps, backend);
	if (l.mode == BLKQOS_MODE_STOCK) {
		char err[512];

		log_info("stock mode cannot enforce: bursts, peaks, iops-size, flush/discard modes, "
			 "a domain limit over several VBDs; a total iops/bps applies per direction "
			 "(named per VBD below)");
#ifdef BLKQOS_TEST_BUILD
		if (any_task)
			log_warn("test build: BLKQOS_TEST_RING_ANY_TASK: any process named like a "
				 "ring thread is taken for one");
#else
		if (getenv("BLKQOS_TEST_RING_ANY_TASK"))
			log_warn("BLKQOS_TEST_RING_ANY_TASK is ignored: only the test build "
				 "(tests/bin/blkqos-test) takes user processes for ring threads");
#endif
		s.stock = stock_init(xs, &l.maps, s.vbd_root, any_task, err, sizeof(err));
		if (!s.stock) {
			log_err("stock mode: %s", err);
			ret = EXIT_ENV;
			goto cleanup;
		}
		births = ring_buffer__new(l.maps.ring_births_fd, on_ring_birth, s.stock, NULL);
		if (!births)
			log_warn("stock mode: cannot read the ring_births ring buffer: %s; new ring "
				 "threads are found by looking at /proc, later", strerror(errno));
	}
	if (rules && (ret = sync_load_rules(&s, rules))) {
		log_err("--rules %s: %s", rules, strerror(-ret));
		ret = EXIT_USAGE;
		goto cleanup;
	}
	/* Watches first, so nothing changes unseen between the sync and them. */
	if (!watch_all(xs, s.vbd_root)) {
		log_err("cannot watch %s: %s", s.vbd_root, strerror(errno));
		ret = EXIT_FAIL;
		goto cleanup;
	}
	sync_all(&s);
	log_info("synced: %lu VBDs and domains, %lu problems", s.syncs, s.errors);
	if (once) {
		ret = 0;
		goto cleanup;
	}
	if (xo.file || xo.listen) {
		struct metrics_src src = {
			.maps = &l.maps, .mode = metrics_mode(l.mode),
			.stock = l.mode == BLKQOS_MODE_STOCK, .dom_name = sync_dom_name, .ctx = &s,
		};
		char err[300];

		exp = exporter_new(&xo, &src, err, sizeof(err));
		if (!exp) {
			log_err("%s", err);
			ret = EXIT_FAIL;
			goto cleanup;
		}
		if (xo.listen)
			log_info("metrics: serving http://%s/metrics", xo.listen);
		if (xo.file)
			log_info("metrics: writing %s every %g s", xo.file, xo.interval_s);
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	pfd[0] = (struct pollfd){ .fd = xs_fileno(xs), .events = POLLIN };
	pfd[1] = (struct pollfd){ .fd = sfd, .events = POLLIN };
	/* poll() skips a negative fd: without the ring buffer, looks only */
	pfd[2] = (struct pollfd){ .fd = births ? ring_buffer__epoll_fd(births) : -1,
				  .events = POLLIN };
	log_info("following xenstore (SIGTERM stops; the limits stay in force)");
	ready = notify_ready(&l, &s);
	for (;;) {
		unsigned long scans = stock_scans(s.stock);
		unsigned int n = 0;
		__u64 drain_end;
		int watch_err;
		bool cut;
		char **ev;

		int wait_ms = stock_look_ms(s.stock);
		int xwait = exporter_timeout_ms(exp);
		int nx = exporter_pollfds(exp, pfd + 3);

		/* libxenstore does not wake the watch fd when the connection
		 * drops: look at least once a second (a local check) */
		if (wait_ms < 0 || wait_ms > 1000)
			wait_ms = 1000;
		if (xwait >= 0 && xwait < wait_ms)
			wait_ms = xwait;
		if (poll(pfd, 3 + nx, wait_ms) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			ret = EXIT_FAIL;
			break;
		}
		if (pfd[1].revents) {
			log_info("stopping; limits stay in force (blkqos unload removes them)");
			ret = 0;
			break;
		}
		/* first: a thread just born has not run yet */
		if (pfd[2].revents)
			ring_buffer__consume(births);
		/* then scrapes: they are cheap, and xenstore work may take a while */
		exporter_handle(exp, pfd + 3, nx);
		exporter_tick(exp);
		drain_end = blkqos_mono_ns() + EVENTS_PER_LOOK_NS;
		cut = false;
		while (!cut && (ev = xs_check_watch(xs))) {
			/*
			 * xenstored fires every new watch once at once; sync_all()
			 * above already covered that first event of the root.
			 */
			if (!seen_initial && !strcmp(ev[XS_WATCH_TOKEN], "vbd") &&
			    !strcmp(ev[XS_WATCH_PATH], s.vbd_root)) {
				seen_initial = true;
				free(ev);
				continue;
			}
			sync_path(&s, ev[XS_WATCH_PATH]);
			free(ev);
			n++;
			/* a birth does not wait for the rest of a burst (no syscall) */
			if (births)
				ring_buffer__consume(births);
			/* a storm of events does not hold back a look that is due:
			 * the rest are handled at the next pass, after it */
			cut = blkqos_mono_ns() >= drain_end && stock_look_ms(s.stock) == 0;
		}
		watch_err = cut ? 0 : errno;	/* why xs_check_watch() returned NULL */
		/* after the events: they only marked VBDs, one scan serves them all */
		stock_look(s.stock);
		pass++;
		/* what a pass cost: tests count scans per pass (stock mode) */
		if (n || stock_scans(s.stock) != scans)
			log_debug("loop pass %lu: %u xenstore events, %lu /proc scans", pass, n,
				  stock_scans(s.stock) - scans);
		/* EINVAL: libxenstore closed the connection (its reader saw EOF) */
		if (watch_err != EAGAIN && watch_err != 0 && watch_err != EINTR) {
			log_warn("xenstore connection lost: %s; the maps stay as they are, "
				 "reconnecting", watch_err == EINVAL ? "closed by xenstored" :
				 strerror(watch_err));
			xs_close(xs);
			s.xs = NULL;
			stock_set_xs(s.stock, NULL);
			xs = xs_reconnect(s.vbd_root, sfd);
			if (!xs) {
				log_info("stopping; limits stay in force (blkqos unload removes them)");
				ret = 0;
				break;
			}
			s.xs = xs;
			stock_set_xs(s.stock, xs);
			sync_rewatch(&s);
			pfd[0].fd = xs_fileno(xs);
			seen_initial = false;
			sync_all(&s);
			log_info("resynced: %lu VBDs and domains, %lu problems so far", s.syncs,
				 s.errors);
		}
		errno = 0;
	}
cleanup:
	exporter_free(exp);
	if (ready)
		notify_send("STOPPING=1");
	if (sfd >= 0)
		close(sfd);
	ring_buffer__free(births);
	stock_fini(s.stock);
	sync_fini(&s);
	blkqos_loaded_close(&l);
cleanup_xs:
	if (xs)		/* NULL if stopped while reconnecting */
		xs_close(xs);
cleanup_lock:
	close(lock_fd);
	return ret;
}

/* ---- stats -------------------------------------------------------------- */

static void stats_dom_name(void *ctx, unsigned int domid, char *buf, size_t len)
{
	xs_dom_name(ctx, domid, buf, len);
}

static int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "format", required_argument, NULL, 'f' },
		{ "histogram", no_argument, NULL, 'H' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct stats_filter f = { .any_dom = true, .any_dev = true };
	struct xs_handle *xs = NULL;
	struct blkqos_maps *m;
	bool json = false, prom = false;
	double interval = 0;
	int c, ret;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'f':
			json = !strcmp(optarg, "json");
			prom = !strcmp(optarg, "prometheus");
			if (!json && !prom && strcmp(optarg, "table")) {
				log_err("--format: \"%s\" is not table, json or prometheus", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'H':
			f.histogram = true;
			break;
		case 'i': {
			char *end;

			interval = strtod(optarg, &end);
			if (*end || interval <= 0 || interval > 86400) {
				log_err("--interval: \"%s\" is not a number of seconds", optarg);
				return EXIT_USAGE;
			}
			break;
		}
		case 'h':
			fputs(usage_stats, stdout);
			return 0;
		default:
			fputs(usage_stats, stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		char *arg = argv[optind], *slash = strchr(arg, '/');

		if (slash)
			*slash = 0;
		if (parse_domid(arg, &f.domid) || (slash && parse_dev(slash + 1, &f.devid))) {
			log_err("stats: \"%s\" is not DOMID or DOMID/DEV", argv[optind]);
			return EXIT_USAGE;
		}
		f.any_dom = false;
		f.any_dev = !slash;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return EXIT_FAIL;
	ret = blkqos_open_pinned(m);
	if (ret) {
		if (ret == EXIT_NOT_LOADED)	/* else it said why */
			log_err("nothing pinned in %s: start 'blkqos run' first", BLKQOS_PIN_DIR);
		free(m);
		return ret;
	}
	f.stock = blkqos_pinned_mode() == BLKQOS_MODE_STOCK;
	if (prom)	/* for the domain label; without xenstore it is empty */
		xs = xs_open(0);
	for (;;) {
		if (prom) {
			struct metrics_src src = {
				.maps = m, .mode = metrics_mode(blkqos_pinned_mode()),
				.stock = f.stock, .dom_name = stats_dom_name, .ctx = xs,
			};

			ret = metrics_render(stdout, &src);
			if (ret < 0) {
				log_err("cannot read the maps: %s", strerror(-ret));
				break;
			}
		} else {
			stats_print(stdout, m, &f, json);
		}
		ret = 0;
		fflush(stdout);
		if (interval <= 0)
			break;
		usleep((useconds_t)(interval * 1e6));
		if (!json && !prom)
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

struct scope_kvs {
	unsigned int domid, devid;
	bool dom_scope;
	bool wait;
	double timeout_s;
	struct qos_kv *kv;	/* one per argument, as many as given */
	char (*rel)[128];
	int n;
	struct blkqos_limits out;	/* the limits the given keys alone make */
};

/*
 * Parse "DOMID [DEV] KEY=VALUE... [--wait] [--timeout S]" and validate the
 * pairs exactly as the loader will read them. Returns 0 or an EXIT_* code.
 */
static int parse_scope_kvs(int argc, char **argv, const char *usage, struct scope_kvs *p)
{
	struct set_check chk = { 0 };
	int i, first;

	p->timeout_s = 5;
	if (want_help(argc, argv)) {
		fputs(usage, stdout);
		return -1;
	}
	/* options may come anywhere; take them out */
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--wait")) {
			p->wait = true;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			char *end;

			p->timeout_s = strtod(argv[i + 1], &end);
			if (*end || p->timeout_s <= 0 || p->timeout_s > 3600) {
				log_err("--timeout: \"%s\" is not a number of seconds", argv[i + 1]);
				return EXIT_USAGE;
			}
			memmove(&argv[i], &argv[i + 1], (argc - i - 1) * sizeof(*argv));
			argc--;
		} else {
			continue;
		}
		memmove(&argv[i], &argv[i + 1], (argc - i - 1) * sizeof(*argv));
		argc--;
		i--;
	}
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
	p->kv = calloc(argc - first, sizeof(*p->kv));
	p->rel = calloc(argc - first, sizeof(*p->rel));
	if (!p->kv || !p->rel) {
		log_err("out of memory for %d pairs", argc - first);
		return EXIT_FAIL;
	}
	for (i = first; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		char *rel = p->rel[p->n];

		if (!eq || eq == argv[i] || (size_t)(eq - argv[i]) >= 100) {
			log_err("\"%s\" is not KEY=VALUE", argv[i]);
			return EXIT_USAGE;
		}
		snprintf(rel, sizeof(p->rel[0]), "qos/%.*s", (int)(eq - argv[i]), argv[i]);
		if (qos_slot_of_key(rel + 4) < 0 || qos_slot_of_key(rel + 4) >= QOS_NR_QOS_SLOTS) {
			log_err("unknown key \"%s\" ('blkqos keys' lists them)", rel + 4);
			return EXIT_USAGE;
		}
		p->kv[p->n].name = rel;
		p->kv[p->n].value = eq + 1;
		p->n++;
	}
	if (p->dom_scope)
		qos_dom_limits_from_keys(p->kv, p->n, NULL, &p->out, set_log, &chk);
	else
		qos_limits_from_keys(p->kv, p->n, NULL, &p->out, set_log, &chk);
	return chk.bad ? EXIT_USAGE : 0;
}

static void scope_kvs_free(struct scope_kvs *p)
{
	free(p->kv);
	free(p->rel);
	free(p);
}

/* Do the maps hold what the given keys say (only the fields they name)? */
static bool limits_hold(const struct scope_kvs *p, const struct blkqos_limits *have)
{
	int i;

	for (i = 0; i < p->n; i++) {
		int slot = qos_slot_of_key(p->kv[i].name + 4);

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
		if (ret == EXIT_NOT_LOADED)	/* else it said why */
			log_err("nothing pinned in %s: is 'blkqos run' running?", BLKQOS_PIN_DIR);
		free(m);
		return ret;
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
	return ret < 0 ? 0 : ret;
}

static int cmd_set(int argc, char **argv)
{
	struct xs_handle *xs = NULL;
	struct scope_kvs *p = calloc(1, sizeof(*p));
	char dir[256], qdir[300], path[512];
	unsigned int backend;
	struct sync s;
	__u64 t0;
	int i, ret;

	if (!p)
		return EXIT_FAIL;
	ret = parse_scope_kvs(argc, argv, usage_set, p);
	if (ret) {
		scope_kvs_free(p);
		return ret < 0 ? 0 : ret;
	}
	ret = xs_or_die(&xs);
	if (ret)
		goto out;
	backend = sync_own_domid(xs);
	sync_init(&s, xs, NULL, backend);
	if (p->dom_scope)
		snprintf(dir, sizeof(dir), "%s/%u", s.vbd_root, p->domid);
	else
		sync_vbd_path(&s, p->domid, p->devid, dir, sizeof(dir));
	snprintf(qdir, sizeof(qdir), "%s/qos", dir);
	t0 = blkqos_mono_ns();
	if (sync_make_qos_dir(xs, backend, p->domid, qdir)) {
		log_err("cannot create %s: %s", qdir, strerror(errno));
		ret = EXIT_FAIL;
		goto cleanup;
	}
	for (i = 0; i < p->n; i++) {
		const struct qos_kv *kv = &p->kv[i];

		snprintf(path, sizeof(path), "%s/%s", dir, kv->name);
		if (!*kv->value ? !xs_rm(xs, XBT_NULL, path) && errno != ENOENT :
		    !xs_write(xs, XBT_NULL, path, kv->value, strlen(kv->value))) {
			log_err("cannot write %s: %s", path, strerror(errno));
			ret = EXIT_FAIL;
			goto cleanup;
		}
		printf("%s = %s\n", path, *kv->value ? kv->value : "(removed)");
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

	if (want_help(argc, argv)) {
		fputs(usage_get, stdout);
		return 0;
	}
	if ((argc > 1 && parse_domid(argv[1], &domid)) || (argc > 2 && parse_dev(argv[2], &devid)) ||
	    argc > 3) {
		fputs(usage_get, stderr);
		return EXIT_USAGE;
	}
	ret = xs_or_die(&xs);
	if (ret)
		return ret;
	snprintf(root, sizeof(root), "/local/domain/%u/backend/vbd", sync_own_domid(xs));
	doms = xs_directory(xs, XBT_NULL, root, &n);
	for (i = 0; doms && i < n; i++) {
		char *end;

		d = strtoul(doms[i], &end, 10);
		if (*end || (argc > 1 && d != domid))
			continue;
		snprintf(dir, sizeof(dir), "%s/%u", root, d);
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
			snprintf(dir, sizeof(dir), "%s/%u/%lu", root, d, dv);
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

static int cmd_keys(void)
{
	const struct qos_key_doc *k;

	printf("%-20s %-8s %-16s %-10s %s\n", "KEY", "UNIT", "DEFAULT", "EXAMPLE", "MEANING");
	for (k = qos_key_docs; k->name; k++)
		printf("%-20s %-8s %-16s %-10s %s\n", k->name, k->unit, k->dflt, k->example,
		       k->description);
	return 0;
}

static int cmd_probe(void)
{
	struct blkqos_probe p;
	const char *problem;

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

int main(int argc, char **argv)
{
	const char *cmd;

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
	cmd = argv[1];
	argv++;
	argc--;
	if (!strcmp(cmd, "run"))
		return cmd_run(argc, argv);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc, argv);
	if (!strcmp(cmd, "set"))
		return cmd_set(argc, argv);
	if (!strcmp(cmd, "wait"))
		return cmd_wait(argc, argv);
	if (!strcmp(cmd, "get"))
		return cmd_get(argc, argv);
	if ((!strcmp(cmd, "keys") || !strcmp(cmd, "probe")) && want_help(argc, argv)) {
		fputs(!strcmp(cmd, "keys") ? usage_keys : usage_probe, stdout);
		return 0;
	}
	if (!strcmp(cmd, "keys"))
		return cmd_keys();
	if (!strcmp(cmd, "probe"))
		return cmd_probe();
	if (!strcmp(cmd, "unload")) {
		int ret;

		if (want_help(argc, argv)) {
			printf("Usage: blkqos unload\n\nDetaches the programs and removes %s/. "
			       "xenstore keys stay.\n", BLKQOS_PIN_DIR);
			return 0;
		}
		ret = blkqos_unload();
		/* stock mode's groups: the throttle stops with them */
		if (stock_remove_all() && ret != EXIT_FAIL)
			ret = EXIT_FAIL;
		if (ret == EXIT_NOT_LOADED)
			log_info("nothing was loaded");
		return ret == EXIT_NOT_LOADED ? 0 : ret;
	}
	if (!strcmp(cmd, "help")) {
		fputs(usage_main, stdout);
		return 0;
	}
	fprintf(stderr, "blkqos: unknown command \"%s\"\n\n%s", cmd, usage_main);
	return EXIT_USAGE;
}
