/*
 * loadgen - a small block I/O load generator for the blkqos end-to-end tests.
 *
 * It runs inside the PV guest on /dev/xvdX, so it is built static
 * (gcc -static) and depends on nothing but the kernel.
 *
 * I/O engine: Linux native AIO through the raw syscalls (io_setup, io_submit,
 * io_getevents) on an O_DIRECT file descriptor, from a single thread.  The
 * queue depth --qd is the number of requests kept in flight: each completion
 * immediately submits a new request in its slot.  With --qd 1 this is the same
 * as a pread/pwrite loop.  All timing uses clock_gettime(CLOCK_MONOTONIC)
 * inside the guest; latency is measured from just before io_submit to the
 * moment the completion is reaped.
 *
 * Output (stdout; one line each, space-separated key=value):
 *   SAMPLE  name=N t_ms=T ops=O bytes=B        completions in (T-interval, T]
 *   VERIFYBAD name=N block=K reason=R          first mismatches in --verify
 *   RESUME  name=N t_ms=T slept_ms=S           (--resumes) the guest was suspended (xl save,
 *                                              a migration) and runs again at T
 *   LOADGEN name=N ... ops= bytes= seconds= iops= bps= errors= lat_*_us= ...
 * The LOADGEN line is printed last, once per run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum rw_mode { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_MIXED };

static const char *rw_names[] = { "read", "write", "randread", "randwrite", "mixed" };

struct opts {
	const char *name;
	const char *dev;
	enum rw_mode rw;
	int mix_read_pct;	/* for mixed: percentage of reads */
	uint64_t bs;
	int qd;
	double seconds;
	double ramp;
	uint64_t offset;	/* start of the region on the device */
	uint64_t size;		/* region size; 0 = device size - offset */
	int verify;		/* bit 0: write phase, bit 1: read-back phase */
	int interval_ms;	/* 0 = no samples */
	uint64_t seed;
	int quiet_samples;
	int resumes;		/* --resumes: report suspends (RESUME lines) */
	double rate;		/* --rate: submissions per second at most; 0 = as fast as qd allows */
	int sync;		/* --sync: O_DSYNC, so every write is a FUA write */
};

/* ---------- small helpers ---------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64* */
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	uint64_t mul = 1;

	switch (*end) {
	case 'k': case 'K': mul = 1024; end++; break;
	case 'm': case 'M': mul = 1024 * 1024; end++; break;
	case 'g': case 'G': mul = 1024ull * 1024 * 1024; end++; break;
	case 0: break;
	default:
		fprintf(stderr, "loadgen: bad size '%s'\n", s);
		exit(2);
	}
	if (*end == 'i' || *end == 'b' || *end == 'B')
		end++;
	if (*end) {
		fprintf(stderr, "loadgen: bad size '%s'\n", s);
		exit(2);
	}
	return (uint64_t)(v * (double)mul);
}

/* ---------- latency histogram (log-linear, ~3% resolution) ---------- */

#define SUB_BITS 5
#define NSUB (1u << SUB_BITS)
#define NBUCKETS (64 * NSUB)

struct hist {
	uint64_t b[NBUCKETS];
	uint64_t n, sum, max;
};

static unsigned hist_idx(uint64_t v)
{
	unsigned msb;

	if (v < NSUB)
		return (unsigned)v;
	msb = 63u - (unsigned)__builtin_clzll(v);
	return (msb - SUB_BITS + 1) * NSUB + (unsigned)((v >> (msb - SUB_BITS)) & (NSUB - 1));
}

static uint64_t hist_val(unsigned idx)
{
	unsigned grp = idx / NSUB, sub = idx % NSUB;

	if (grp == 0)
		return sub;
	/* upper edge of the bucket */
	return (((uint64_t)NSUB | sub) << (grp - 1)) + ((1ull << (grp - 1)) - 1);
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[hist_idx(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
}

static uint64_t hist_pct(const struct hist *h, double pct)
{
	uint64_t want, acc = 0;
	unsigned i;

	if (!h->n)
		return 0;
	want = (uint64_t)((double)h->n * pct / 100.0 + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < NBUCKETS; i++) {
		acc += h->b[i];
		if (acc >= want) {
			uint64_t v = hist_val(i);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

/* ---------- AIO through raw syscalls ---------- */

static int io_setup_(unsigned nr, aio_context_t *ctx)
{
	return (int)syscall(SYS_io_setup, nr, ctx);
}

static int io_submit_(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return (int)syscall(SYS_io_submit, ctx, n, iocbs);
}

static int io_getevents_(aio_context_t ctx, long min, long max, struct io_event *ev,
			 struct timespec *ts)
{
	return (int)syscall(SYS_io_getevents, ctx, min, max, ev, ts);
}

static int io_destroy_(aio_context_t ctx)
{
	return (int)syscall(SYS_io_destroy, ctx);
}

/* ---------- verify pattern ---------- */

#define VMAGIC 0x424c4b514f53564full /* "BLKQOSVO" */

struct vhdr {
	uint64_t magic;
	uint64_t block;
	uint64_t seed;
	uint64_t bs;
	uint64_t csum;		/* FNV-1a 64 of the payload after the header */
	uint64_t pad[3];
};

static uint64_t fnv64(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	while (n--) {
		h ^= *p++;
		h *= 0x100000001b3ull;
	}
	return h;
}

static void fill_payload(unsigned char *buf, uint64_t bs, uint64_t seed, uint64_t block)
{
	uint64_t s = (seed ^ (block * 0x9E3779B97F4A7C15ull)) | 1;
	uint64_t *w = (uint64_t *)(buf + sizeof(struct vhdr));
	size_t i, n = (bs - sizeof(struct vhdr)) / 8;

	for (i = 0; i < n; i++)
		w[i] = rng_next(&s);
}

static void make_block(unsigned char *buf, uint64_t bs, uint64_t seed, uint64_t block)
{
	struct vhdr *h = (struct vhdr *)buf;

	fill_payload(buf, bs, seed, block);
	memset(h, 0, sizeof(*h));
	h->magic = VMAGIC;
	h->block = block;
	h->seed = seed;
	h->bs = bs;
	h->csum = fnv64(buf + sizeof(*h), bs - sizeof(*h));
}

/* returns NULL if good, else a reason */
static const char *check_block(unsigned char *buf, unsigned char *scratch, uint64_t bs,
			       uint64_t seed, uint64_t block)
{
	struct vhdr *h = (struct vhdr *)buf;

	if (h->magic != VMAGIC)
		return "magic";
	if (h->block != block)
		return "blockno";
	if (h->seed != seed || h->bs != bs)
		return "header";
	if (h->csum != fnv64(buf + sizeof(*h), bs - sizeof(*h)))
		return "checksum";
	fill_payload(scratch, bs, seed, block);
	if (memcmp(buf + sizeof(*h), scratch + sizeof(*h), bs - sizeof(*h)))
		return "payload";
	return NULL;
}

/* ---------- the run ---------- */

struct slot {
	struct iocb cb;
	unsigned char *buf;
	uint64_t t_submit;
	uint64_t block;
	int is_read;
};

struct run {
	struct opts *o;
	uint64_t rate_t0;	/* --rate: when the first request went */
	uint64_t submitted;	/* --rate: requests submitted since */
	int fd;
	aio_context_t ctx;
	struct slot *slots;
	uint64_t nblocks;	/* blocks in the region */
	uint64_t seq_next;	/* next block for sequential modes */
	uint64_t rng;
	/* results, for the measured window only */
	uint64_t ops, bytes, errors, rd_ops, wr_ops;
	struct hist lat;
	/* samples */
	uint64_t *s_ops, *s_bytes;
	size_t nsamples;
	uint64_t t0;		/* start of the run (ramp included) */
	/* suspends seen: CLOCK_MONOTONIC stops while the guest is suspended,
	 * CLOCK_BOOTTIME and CLOCK_REALTIME do not */
	int64_t clock_gap_ns;	/* the larger of BOOTTIME, REALTIME minus MONOTONIC */
	uint64_t resume_t[16], resume_slept[16];
	int nresumes;
};

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void prep(struct run *r, struct slot *s, int is_read, uint64_t block)
{
	struct opts *o = r->o;

	memset(&s->cb, 0, sizeof(s->cb));
	s->cb.aio_data = (uint64_t)(uintptr_t)s;
	s->cb.aio_lio_opcode = is_read ? IOCB_CMD_PREAD : IOCB_CMD_PWRITE;
	s->cb.aio_fildes = (uint32_t)r->fd;
	s->cb.aio_buf = (uint64_t)(uintptr_t)s->buf;
	s->cb.aio_nbytes = o->bs;
	s->cb.aio_offset = (int64_t)(o->offset + block * o->bs);
	s->block = block;
	s->is_read = is_read;
}

static void prep_workload(struct run *r, struct slot *s)
{
	struct opts *o = r->o;
	uint64_t block;
	int is_read;

	switch (o->rw) {
	case RW_READ:
	case RW_WRITE:
		block = r->seq_next++ % r->nblocks;
		is_read = o->rw == RW_READ;
		break;
	case RW_RANDREAD:
	case RW_RANDWRITE:
		block = rng_next(&r->rng) % r->nblocks;
		is_read = o->rw == RW_RANDREAD;
		break;
	default:
		block = rng_next(&r->rng) % r->nblocks;
		is_read = (int)(rng_next(&r->rng) % 100) < o->mix_read_pct;
		break;
	}
	prep(r, s, is_read, block);
}

/* --rate: sleep until the next request's turn on a fixed schedule. */
static void pace(struct run *r)
{
	uint64_t due, t = now_ns();
	struct timespec ts;

	if (r->o->rate <= 0)
		return;
	if (!r->submitted++) {
		r->rate_t0 = t;
		return;
	}
	due = r->rate_t0 + (uint64_t)((double)(r->submitted - 1) * 1e9 / r->o->rate);
	if (due <= t)
		return;
	ts.tv_sec = (time_t)(due / 1000000000ull);
	ts.tv_nsec = (long)(due % 1000000000ull);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void submit(struct run *r, struct slot *s)
{
	struct iocb *p = &s->cb;
	int rc;

	pace(r);
	s->t_submit = now_ns();
	do
		rc = io_submit_(r->ctx, 1, &p);
	while (rc < 0 && (errno == EAGAIN || errno == EINTR));
	if (rc != 1)
		die("io_submit");
}

static int64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* How far BOOTTIME and REALTIME have run ahead of MONOTONIC (the larger). */
static int64_t clock_gap(void)
{
	int64_t mono = clock_ns(CLOCK_MONOTONIC);
	int64_t boot = clock_ns(CLOCK_BOOTTIME) - mono, real = clock_ns(CLOCK_REALTIME) - mono;

	return boot > real ? boot : real;
}

/* A suspend of 200 ms or more shows as a jump of clock_gap(): record when. */
#define RESUME_MIN_NS 200000000ll
static void resume_check(struct run *r, uint64_t t)
{
	int64_t gap = clock_gap(), slept = gap - r->clock_gap_ns;

	if (slept < RESUME_MIN_NS && slept > -RESUME_MIN_NS)
		return;
	r->clock_gap_ns = gap;
	if (slept < 0 || r->nresumes >= (int)(sizeof(r->resume_t) / sizeof(r->resume_t[0])))
		return;		/* the clock was set back: no suspend */
	r->resume_t[r->nresumes] = t - r->t0;
	r->resume_slept[r->nresumes++] = (uint64_t)slept;
}

static void sample_add(struct run *r, uint64_t t, uint64_t bytes)
{
	size_t i;

	if (!r->o->interval_ms || !r->s_ops)
		return;
	i = (size_t)((t - r->t0) / ((uint64_t)r->o->interval_ms * 1000000ull));
	if (i >= r->nsamples)
		i = r->nsamples - 1;
	r->s_ops[i]++;
	r->s_bytes[i] += bytes;
}

/*
 * Keep qd requests in flight until 'end'; count completions at or after
 * 'meas_start'.  phase_fn picks the next request for a slot, or returns 0 when
 * there is nothing more to submit (verify phases).
 */
typedef int (*next_fn)(struct run *r, struct slot *s);

static int next_workload(struct run *r, struct slot *s)
{
	prep_workload(r, s);
	return 1;
}

static struct slot *g_vscratch;
static uint64_t g_vnext, g_vbad;

static int next_vwrite(struct run *r, struct slot *s)
{
	if (g_vnext >= r->nblocks)
		return 0;
	make_block(s->buf, r->o->bs, r->o->seed, g_vnext);
	prep(r, s, 0, g_vnext++);
	return 1;
}

static int next_vread(struct run *r, struct slot *s)
{
	if (g_vnext >= r->nblocks)
		return 0;
	memset(s->buf, 0, r->o->bs);
	prep(r, s, 1, g_vnext++);
	return 1;
}

static void run_loop(struct run *r, next_fn next, uint64_t meas_start, uint64_t end,
		     int do_verify_reads)
{
	struct io_event ev[256];
	int inflight = 0, i, n, stopping = 0;

	for (i = 0; i < r->o->qd; i++) {
		if (!next(r, &r->slots[i]))
			break;
		submit(r, &r->slots[i]);
		inflight++;
	}
	while (inflight > 0) {
		struct timespec ts = { 0, 50 * 1000000 };

		n = io_getevents_(r->ctx, 1, 256, ev, &ts);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("io_getevents");
		}
		uint64_t t = now_ns();

		if (r->o->resumes)
			resume_check(r, t);
		if (end && t >= end)
			stopping = 1;
		for (i = 0; i < n; i++) {
			struct slot *s = (struct slot *)(uintptr_t)ev[i].data;
			int64_t res = ev[i].res;
			int ok = res == (int64_t)r->o->bs;

			inflight--;
			if (t >= meas_start && (!end || t < end)) {
				r->ops++;
				if (ok)
					r->bytes += r->o->bs;
				else
					r->errors++;
				if (s->is_read)
					r->rd_ops++;
				else
					r->wr_ops++;
				hist_add(&r->lat, (t - s->t_submit) / 1000);
			}
			if (!end || t < end)
				sample_add(r, t, ok ? r->o->bs : 0);
			if (!ok && r->errors <= 5)
				fprintf(stderr, "loadgen: %s error at block %" PRIu64 ": %s\n",
					s->is_read ? "read" : "write", s->block,
					res < 0 ? strerror((int)-res) : "short");
			if (do_verify_reads && ok) {
				const char *why = check_block(s->buf, g_vscratch->buf, r->o->bs,
							      r->o->seed, s->block);
				if (why) {
					g_vbad++;
					if (g_vbad <= 10)
						printf("VERIFYBAD name=%s block=%" PRIu64 " reason=%s\n",
						       r->o->name, s->block, why);
				}
			} else if (do_verify_reads) {
				g_vbad++;
			}
			if (!stopping && next(r, s)) {
				submit(r, s);
				inflight++;
			}
		}
	}
}

static void usage(void)
{
	fprintf(stderr,
		"usage: loadgen --dev DEV [--name N] [--rw read|write|randread|randwrite|mixed]\n"
		"       [--mix READ_PCT] [--bs 4k] [--qd 1] [--seconds 10] [--ramp 0]\n"
		"       [--offset 0] [--size BYTES] [--verify] [--verify-phase write|read|both]\n"
		"       [--interval-ms 100]\n"
		"       [--no-samples] [--resumes] [--seed N] [--rate OPS_PER_S] [--sync]\n"
		"  I/O: O_DIRECT + Linux AIO (raw io_submit), --qd requests in flight, one thread.\n"
		"  --verify: write every block of the region with a checksummed pattern\n"
		"            (at --qd), read all back and count mismatches; --rw is ignored.\n"
		"  --verify-phase write|read|both: only write the pattern, or only check it\n"
		"            (same --seed/--bs/--offset/--size), or both (= --verify).\n"
		"  --rate: submit at most this many requests per second, on a fixed schedule\n"
		"            (a guest issuing a rate itself, to compare with a throttled one).\n"
		"  --sync: open with O_DSYNC too: each write is a FUA write, which blkfront\n"
		"            sends as a flush or barrier request carrying the data.\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "name", 1, 0, 'n' }, { "dev", 1, 0, 'd' }, { "rw", 1, 0, 'r' },
		{ "mix", 1, 0, 'm' }, { "bs", 1, 0, 'b' }, { "qd", 1, 0, 'q' },
		{ "seconds", 1, 0, 's' }, { "ramp", 1, 0, 'R' }, { "offset", 1, 0, 'o' },
		{ "size", 1, 0, 'z' }, { "verify", 0, 0, 'v' }, { "verify-phase", 1, 0, 'V' },
		{ "interval-ms", 1, 0, 'i' },
		{ "no-samples", 0, 0, 'N' }, { "resumes", 0, 0, 'U' }, { "seed", 1, 0, 'S' }, { "help", 0, 0, 'h' },
		{ "rate", 1, 0, 'P' }, { "sync", 0, 0, 'Y' },
		{ 0, 0, 0, 0 }
	};
	struct opts o = {
		.name = "run", .rw = RW_RANDREAD, .mix_read_pct = 50, .bs = 4096, .qd = 1,
		.seconds = 10, .interval_ms = 100, .seed = 0x5eed,
	};
	struct run r;
	uint64_t devsize = 0, t_end, meas_start;
	struct stat st;
	int c, i;

	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'n': o.name = optarg; break;
		case 'd': o.dev = optarg; break;
		case 'r':
			for (i = 0; i < 5; i++)
				if (!strcmp(optarg, rw_names[i]))
					break;
			if (i == 5)
				usage();
			o.rw = (enum rw_mode)i;
			break;
		case 'm': o.mix_read_pct = atoi(optarg); break;
		case 'b': o.bs = parse_size(optarg); break;
		case 'q': o.qd = atoi(optarg); break;
		case 's': o.seconds = atof(optarg); break;
		case 'R': o.ramp = atof(optarg); break;
		case 'o': o.offset = parse_size(optarg); break;
		case 'z': o.size = parse_size(optarg); break;
		case 'v': o.verify = 3; break;
		case 'V':
			if (!strcmp(optarg, "write"))
				o.verify = 1;
			else if (!strcmp(optarg, "read"))
				o.verify = 2;
			else if (!strcmp(optarg, "both"))
				o.verify = 3;
			else
				usage();
			break;
		case 'i': o.interval_ms = atoi(optarg); break;
		case 'N': o.quiet_samples = 1; break;
		case 'U': o.resumes = 1; break;
		case 'S': o.seed = strtoull(optarg, NULL, 0); break;
		case 'P': o.rate = atof(optarg); break;
		case 'Y': o.sync = 1; break;
		default: usage();
		}
	}
	if (!o.dev || o.bs < 512 || o.bs % 512 || o.qd < 1 || o.qd > 256 ||
	    o.seconds <= 0 || o.ramp < 0 || o.mix_read_pct < 0 || o.mix_read_pct > 100 ||
	    o.rate < 0)
		usage();

	memset(&r, 0, sizeof(r));
	r.o = &o;
	r.rng = o.seed | 1;
	r.fd = open(o.dev, ((o.rw == RW_READ || o.rw == RW_RANDREAD) && !o.verify) || o.verify == 2 ?
			   O_RDONLY | O_DIRECT : O_RDWR | O_DIRECT | (o.sync ? O_DSYNC : 0));
	if (r.fd < 0)
		die(o.dev);
	if (fstat(r.fd, &st) == 0 && S_ISBLK(st.st_mode)) {
		if (ioctl(r.fd, BLKGETSIZE64, &devsize))
			die("BLKGETSIZE64");
	} else {
		devsize = (uint64_t)st.st_size;
	}
	if (!o.size)
		o.size = devsize > o.offset ? devsize - o.offset : 0;
	if (o.offset + o.size > devsize) {
		fprintf(stderr, "loadgen: region beyond device end (%" PRIu64 ")\n", devsize);
		return 2;
	}
	r.nblocks = o.size / o.bs;
	if (!r.nblocks) {
		fprintf(stderr, "loadgen: region smaller than one block\n");
		return 2;
	}
	if (io_setup_((unsigned)o.qd, &r.ctx))
		die("io_setup");
	r.slots = calloc((size_t)o.qd + 1, sizeof(*r.slots));
	if (!r.slots)
		die("calloc");
	for (i = 0; i <= o.qd; i++) {
		if (posix_memalign((void **)&r.slots[i].buf, 4096, o.bs))
			die("posix_memalign");
		/* a non-zero, non-trivial pattern for plain writes */
		for (uint64_t k = 0; k < o.bs; k++)
			r.slots[i].buf[k] = (unsigned char)(k * 31 + i);
	}
	g_vscratch = &r.slots[o.qd];

	if (o.interval_ms > 0) {
		r.nsamples = (size_t)((o.ramp + o.seconds) * 1000.0 / o.interval_ms) + 2;
		if (o.verify)
			r.nsamples = 36000000 / (size_t)o.interval_ms; /* up to 10 h */
		r.s_ops = calloc(r.nsamples, sizeof(uint64_t));
		r.s_bytes = calloc(r.nsamples, sizeof(uint64_t));
	}

	const char *rwname = rw_names[o.rw];
	uint64_t meas_ns;

	/* Live, unlike the SAMPLE lines: lets dom0 align its actions with this run. */
	printf("GUEST-LOADGEN-START name=%s\n", o.name);
	fflush(stdout);
	r.t0 = now_ns();
	r.clock_gap_ns = clock_gap();
	if (!o.verify) {
		meas_start = r.t0 + (uint64_t)(o.ramp * 1e9);
		t_end = meas_start + (uint64_t)(o.seconds * 1e9);
		run_loop(&r, next_workload, meas_start, t_end, 0);
		meas_ns = t_end - meas_start;
	} else {
		/* write phase then read phase, both complete; time is the total */
		rwname = o.verify == 1 ? "verify-write" : o.verify == 2 ? "verify-read" : "verify";
		meas_start = r.t0;
		if (o.verify & 1) {
			g_vnext = 0;
			run_loop(&r, next_vwrite, meas_start, 0, 0);
		}
		if (o.verify & 2) {
			g_vnext = 0;
			run_loop(&r, next_vread, meas_start, 0, 1);
		}
		meas_ns = now_ns() - meas_start;
	}
	io_destroy_(r.ctx);
	close(r.fd);

	if (r.s_ops && !o.quiet_samples) {
		size_t last = r.nsamples;

		while (last > 0 && !r.s_ops[last - 1])
			last--;
		for (size_t k = 0; k < last; k++)
			printf("SAMPLE name=%s t_ms=%zu ops=%" PRIu64 " bytes=%" PRIu64 "\n",
			       o.name, (k + 1) * (size_t)o.interval_ms, r.s_ops[k], r.s_bytes[k]);
	}

	for (int k = 0; k < r.nresumes; k++)
		printf("RESUME name=%s t_ms=%" PRIu64 " slept_ms=%" PRIu64 "\n", o.name,
		       r.resume_t[k] / 1000000, r.resume_slept[k] / 1000000);

	double secs = (double)meas_ns / 1e9;

	printf("LOADGEN name=%s dev=%s rw=%s bs=%" PRIu64 " qd=%d ops=%" PRIu64
	       " reads=%" PRIu64 " writes=%" PRIu64 " bytes=%" PRIu64
	       " seconds=%.3f ramp=%.3f iops=%.1f bps=%.0f mibps=%.2f errors=%" PRIu64
	       " lat_avg_us=%" PRIu64 " lat_p50_us=%" PRIu64 " lat_p99_us=%" PRIu64
	       " lat_max_us=%" PRIu64 " interval_ms=%d",
	       o.name, o.dev, rwname, o.bs, o.qd, r.ops, r.rd_ops, r.wr_ops, r.bytes, secs,
	       o.verify ? 0.0 : o.ramp, (double)r.ops / secs, (double)r.bytes / secs,
	       (double)r.bytes / secs / 1048576.0, r.errors + g_vbad,
	       r.lat.n ? r.lat.sum / r.lat.n : 0, hist_pct(&r.lat, 50), hist_pct(&r.lat, 99),
	       r.lat.max, o.interval_ms);
	if (o.verify)
		printf(" blocks=%" PRIu64 " mismatches=%" PRIu64, r.nblocks, g_vbad);
	printf("\n");
	fflush(stdout);
	return (r.errors || g_vbad) ? 1 : 0;
}
