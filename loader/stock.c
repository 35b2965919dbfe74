// SPDX-License-Identifier: GPL-2.0
/* Stock mode: VBD groups in step with the maps (see stock.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "cgroup.h"
#include "limits.h"
#include "log.h"
#include "stock.h"

#define NR_BUCKETS	1024
#define MAX_RINGS	4096	/* bounds what a backend's multi-queue-max-queues may claim */
#define XENBUS_CONNECTED 4

/*
 * After Connected, look for the ring threads again: soon, then every 50 ms
 * for 10 s. They run unthrottled until found, so the interval bounds that
 * time; a scan of /proc costs about a millisecond.
 */
#define RETRY_EVERY_MS	50
#define NR_RETRIES	(3 + 10000 / RETRY_EVERY_MS)

static unsigned int retry_delay_ms(unsigned int tries)
{
	static const unsigned int first[3] = { 5, 10, 20 };

	return tries < 3 ? first[tries] : RETRY_EVERY_MS;
}

struct stock_vbd {
	struct stock_vbd *next;
	unsigned int domid, devid;
	__u64 cgid;			/* group's cgroup id once made; 0 before */
	unsigned int disk;		/* backing whole disk (kernel dev_t); 0 unknown */
	unsigned int maj, min;		/* physical-device as last read (disk != 0) */
	unsigned long state;		/* backend state as last read */
	int nthreads;			/* ring threads moved in, as last found */
	unsigned int tries;		/* retries done while threads are missing */
	__u64 retry_at;			/* CLOCK_MONOTONIC ns; 0: none pending */
	char physdev_bad[64];		/* a bad physical-device value, reported once */
	char unsupported[512];		/* what was last reported as not enforced */
};

struct stock {
	struct xs_handle *xs;
	struct blkqos_maps *maps;
	char vbd_root[64];
	bool any_task;
	unsigned int pending;		/* entries with retry_at set */
	unsigned long scans;		/* scans of /proc so far (-v logs them per loop pass) */
	struct stock_vbd *bucket[NR_BUCKETS];
};

struct stock *stock_init(struct xs_handle *xs, struct blkqos_maps *maps, const char *vbd_root,
			 bool any_task, char *err, size_t errlen)
{
	struct stock *st;

	if (maps->stock_groups_fd < 0) {
		snprintf(err, errlen, "the stock_groups map is not open");
		return NULL;
	}
	if (cg_init(CG_AUTO, NULL, err, errlen))
		return NULL;
	st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	st->xs = xs;
	st->maps = maps;
	st->any_task = any_task;
	snprintf(st->vbd_root, sizeof(st->vbd_root), "%s", vbd_root);
	log_info("stock mode: VBD groups in %s (cgroup %s)", cg_slice_path(),
		 cg_is_v1() ? "v1 blkio" : "v2 io.max");
	return st;
}

void stock_fini(struct stock *st)
{
	int i;

	if (!st)
		return;
	for (i = 0; i < NR_BUCKETS; i++)
		while (st->bucket[i]) {
			struct stock_vbd *e = st->bucket[i];

			st->bucket[i] = e->next;
			free(e);
		}
	free(st);
}

static struct stock_vbd **entry_slot(struct stock *st, unsigned int domid, unsigned int devid)
{
	struct stock_vbd **p = &st->bucket[(domid * 31 + devid) % NR_BUCKETS];

	while (*p && ((*p)->domid != domid || (*p)->devid != devid))
		p = &(*p)->next;
	return p;
}

static char *read_key(struct stock *st, const char *dir, const char *key)
{
	char path[512];
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_read(st->xs, XBT_NULL, path, &len);
}

static unsigned long read_ulong(struct stock *st, const char *dir, const char *key,
				unsigned long dflt)
{
	char *v = read_key(st, dir, key), *end;
	unsigned long n = dflt;

	if (v) {
		n = strtoul(v, &end, 10);
		if (end == v || *end)
			n = dflt;
		free(v);
	}
	return n;
}

/* The group's cgroup id: its directory's inode number (kernfs). */
static __u64 group_id(unsigned int domid, unsigned int devid)
{
	char dir[PATH_MAX];
	struct stat sb;

	cg_vbd_path(domid, devid, dir, sizeof(dir));
	return stat(dir, &sb) ? 0 : (__u64)sb.st_ino;
}

static void set_retry(struct stock *st, struct stock_vbd *e, bool want)
{
	if (want && e->tries < NR_RETRIES) {
		if (!e->retry_at)
			st->pending++;
		e->retry_at = blkqos_mono_ns() + retry_delay_ms(e->tries++) * 1000000ULL;
		return;
	}
	if (e->retry_at)
		st->pending--;
	e->retry_at = 0;
	if (!want)
		e->tries = 0;
}

/*
 * How many rings blkback may have made for the VBD: its own
 * multi-queue-max-queues (1 without it), which no guest can write. The
 * guest's multi-queue-num-queues is not used: the guest may rewrite it after
 * blkback read it.
 */
static unsigned long rings_offered(struct stock *st, const char *dir)
{
	unsigned long most = read_ulong(st, dir, "multi-queue-max-queues", 1);

	return most < 1 ? 1 : most > MAX_RINGS ? MAX_RINGS : most;
}

/*
 * Ring threads of a Connected VBD among tasks (a scan of /proc), into *pids
 * (free it). Returns how many were found.
 */
static int ring_threads(unsigned int domid, const char *dev, const struct cg_task *tasks,
			int ntasks, pid_t **pids)
{
	const char *name;
	int i, found = 0;

	*pids = NULL;
	if (!dev || ntasks <= 0)
		return 0;
	/* blkback names them after the backend's dev key, without /dev/ */
	name = strncmp(dev, "/dev/", 5) ? dev : dev + 5;
	for (i = 0; i < ntasks; i++)
		if (cg_task_is_ring_of(&tasks[i], domid, name))
			found++;
	if (!found)
		return 0;
	*pids = calloc(found, sizeof(**pids));
	if (!*pids)
		return 0;
	found = 0;
	for (i = 0; i < ntasks; i++)
		if (cg_task_is_ring_of(&tasks[i], domid, name))
			(*pids)[found++] = tasks[i].pid;
	return found;
}

/* One scan of /proc for ring threads: how many tasks, or -errno (logged). */
static int scan_tasks(struct stock *st, struct cg_task **tasks)
{
	int n = cg_list_ring_tasks("/proc", !st->any_task, tasks);

	st->scans++;
	if (n < 0)
		log_warn("/proc: cannot look for ring threads: %s (looked again later)",
			 strerror(-n));
	return n;
}

/* A scan of /proc shared by the VBDs whose retry is due. */
struct scan {
	struct cg_task *tasks;
	int n;
};

/*
 * Are all nr VBDs of the domain known, on one disk? Then (cgroup v2) the
 * domain's group enforces the domain's limits: *disk says which.
 */
static bool dom_on_one_disk(struct stock *st, unsigned int domid, unsigned int nr,
			    unsigned int *disk)
{
	unsigned int seen = 0;
	struct stock_vbd *e;
	int b;

	*disk = 0;
	if (cg_is_v1() || nr < 2)
		return false;
	for (b = 0; b < NR_BUCKETS; b++)
		for (e = st->bucket[b]; e; e = e->next) {
			if (e->domid != domid)
				continue;
			if (!e->disk || (*disk && e->disk != *disk))
				return false;
			*disk = e->disk;
			seen++;
		}
	return seen == nr;
}

/* The domain group's limits: the domain's, or none. */
static void dom_apply(unsigned int domid, const struct blkqos_limits *dom,
		      bool one_disk, unsigned int disk)
{
	char err[512];
	int ret;

	if (cg_is_v1())
		return;
	ret = cg_dom_apply(domid, disk >> 20, disk & 0xfffff, one_disk ? dom : NULL, err,
			   sizeof(err));
	if (ret)
		log_err("domain %u: %s (the last setting stays)", domid, err);
}

/* The backend's physical-device and state into e; false if there is no usable device. */
static bool read_backend(struct stock *st, struct stock_vbd *e, const char *dir)
{
	char *physdev = read_key(st, dir, "physical-device");
	unsigned int maj, min;
	char why[256];

	e->disk = 0;
	e->state = read_ulong(st, dir, "state", 0);
	if (!physdev) {
		log_debug("%s: no physical-device yet: no group", dir);
		return false;
	}
	if (cg_parse_physdev(physdev, &maj, &min, why, sizeof(why))) {
		if (strncmp(e->physdev_bad, physdev, sizeof(e->physdev_bad) - 1))
			log_warn("%s/physical-device: \"%s\": %s; this VBD is not limited in stock "
				 "mode", dir, physdev, why);
		snprintf(e->physdev_bad, sizeof(e->physdev_bad), "%s", physdev);
		free(physdev);
		return false;
	}
	free(physdev);
	e->physdev_bad[0] = '\0';
	e->maj = maj;
	e->min = min;
	cg_whole_disk(&maj, &min);
	e->disk = blkqos_kdev(maj, min);
	return true;
}

/*
 * Bring the VBD's group in line. backend: its xenstore state or device
 * changed, so read them again and look for ring threads; otherwise (limits
 * changed) what was read last time serves, and only the limits are written.
 */
static void vbd_sync(struct stock *st, unsigned int domid, unsigned int devid, bool backend,
		     const struct scan *scan)
{
	struct stock_vbd **p = entry_slot(st, domid, devid), *e = *p;
	char dir[256], err[512], why[512];
	struct blkqos_limits eff;
	struct blkqos_stock_group g;
	struct blkqos_dom dom;
	struct blkqos_vbd v;
	unsigned long expected = 1;
	unsigned int nr, disk;
	bool one_disk;
	pid_t *pids = NULL;
	int npids = 0;

	if (blkqos_maps_vbd_get(st->maps, domid, devid, &v)) {
		if (e)		/* not in the maps (refused, or going): no retry */
			set_retry(st, e, false);
		return;
	}
	nr = blkqos_maps_dom_get(st->maps, domid, &dom) ? 1 : dom.nr_vbds;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		e->domid = domid;
		e->devid = devid;
		*p = e;
	}
	snprintf(dir, sizeof(dir), "%s/%u/%u", st->vbd_root, domid, devid);
	backend = backend || !e->disk;
	if (backend && !read_backend(st, e, dir)) {
		set_retry(st, e, false);	/* its physical-device event comes */
		return;
	}
	one_disk = dom_on_one_disk(st, domid, nr, &disk);

	if (cg_unsupported_keys(&v.limits, &v.dom_limits, nr, one_disk, why, sizeof(why)) > 0) {
		if (strcmp(why, e->unsupported))
			log_warn("vbd %u/%u: not enforced in stock mode: %s", domid, devid, why);
	} else if (e->unsupported[0]) {
		log_info("vbd %u/%u: every limit is enforced in stock mode", domid, devid);
	}
	snprintf(e->unsupported, sizeof(e->unsupported), "%s", why);

	if (backend && e->state == XENBUS_CONNECTED) {
		struct scan own = { NULL, 0 };
		char *dev = read_key(st, dir, "dev");

		if (!scan) {	/* an event of this VBD: a scan of its own */
			own.n = scan_tasks(st, &own.tasks);
			scan = &own;
		}
		expected = rings_offered(st, dir);
		npids = ring_threads(domid, dev, scan->tasks, scan->n, &pids);
		free(own.tasks);
		free(dev);
	}
	cg_merge_domain(&v.limits, &v.dom_limits, nr, &eff);
	if (cg_vbd_apply(domid, devid, e->maj, e->min, &eff, pids, npids, err, sizeof(err))) {
		log_err("vbd %u/%u: %s (the last setting stays)", domid, devid, err);
		free(pids);
		return;
	}
	free(pids);
	dom_apply(domid, &v.dom_limits, one_disk, disk);
	if (backend) {
		if (npids != e->nthreads && npids)
			log_info("vbd %u/%u: %d ring thread%s in its group", domid, devid, npids,
				 npids == 1 ? "" : "s");
		e->nthreads = npids;
		/* Look again until as many as blkback offers are found, for a
		 * bounded time: a guest may use fewer rings. */
		if (e->state == XENBUS_CONNECTED && (unsigned long)npids < expected) {
			set_retry(st, e, true);
			if (!e->retry_at && !npids)
				log_warn("vbd %u/%u: Connected, but no ring thread found in %u s: it "
					 "is not limited", domid, devid, NR_RETRIES * RETRY_EVERY_MS / 1000);
			else if (!e->retry_at)
				log_info("vbd %u/%u: %d of the %lu rings blkback offers have a thread "
					 "(the guest uses fewer)", domid, devid, npids, expected);
		} else {
			set_retry(st, e, false);
		}
	}

	g.slot = v.slot;
	g.dev = blkqos_kdev(e->maj, e->min);
	e->cgid = group_id(domid, devid);
	if (!e->cgid || bpf_map_update_elem(st->maps->stock_groups_fd, &e->cgid, &g, BPF_ANY))
		log_warn("vbd %u/%u: cannot register its group for accounting: %s", domid, devid,
			 strerror(errno));
}

void stock_vbd(struct stock *st, unsigned int domid, unsigned int devid)
{
	vbd_sync(st, domid, devid, false, NULL);
}

void stock_vbd_backend(struct stock *st, unsigned int domid, unsigned int devid)
{
	vbd_sync(st, domid, devid, true, NULL);
}

/*
 * The devids of the domain's known VBDs, all of them, in *devids (free it).
 * Returns how many, or -ENOMEM (logged; what is in force stays).
 */
static int domain_devids(struct stock *st, unsigned int domid, unsigned int **devids)
{
	unsigned int n = 0, cap = 0, *v = NULL;
	struct stock_vbd *e;
	int b;

	for (b = 0; b < NR_BUCKETS; b++)
		for (e = st->bucket[b]; e; e = e->next) {
			if (e->domid != domid)
				continue;
			if (n == cap) {
				unsigned int *nv = realloc(v, (cap ? 2 * cap : 16) * sizeof(*v));

				if (!nv) {
					free(v);
					log_err("domain %u: out of memory listing its VBDs (the last "
						"setting stays)", domid);
					return -ENOMEM;
				}
				v = nv;
				cap = cap ? 2 * cap : 16;
			}
			v[n++] = e->devid;
		}
	*devids = v;
	return n;
}

void stock_domain(struct stock *st, unsigned int domid)
{
	unsigned int *devids = NULL;
	int n = domain_devids(st, domid, &devids), i;

	for (i = 0; i < n; i++)
		stock_vbd(st, domid, devids[i]);
	free(devids);
}

void stock_domain_members(struct stock *st, unsigned int domid)
{
	struct blkqos_dom dom;

	if (blkqos_maps_dom_get(st->maps, domid, &dom) == 0 && blkqos_limits_any(&dom.limits))
		stock_domain(st, domid);
}

static void forget_group(struct stock *st, unsigned int domid, unsigned int devid, __u64 cgid)
{
	char err[512];
	int ret;

	if (!cgid)
		cgid = group_id(domid, devid);
	if (cgid)
		bpf_map_delete_elem(st->maps->stock_groups_fd, &cgid);
	ret = cg_vbd_remove(domid, devid, err, sizeof(err));
	if (ret && ret != -ENOENT)
		log_err("vbd %u/%u: %s", domid, devid, err);
	else if (!ret)
		log_debug("vbd %u/%u: group removed", domid, devid);
}

void stock_vbd_gone(struct stock *st, unsigned int domid, unsigned int devid)
{
	struct stock_vbd **p = entry_slot(st, domid, devid), *e = *p;

	forget_group(st, domid, devid, e ? e->cgid : 0);
	if (!e)
		return;
	set_retry(st, e, false);
	*p = e->next;
	free(e);
}

void stock_domain_gone(struct stock *st, unsigned int domid)
{
	unsigned int *devids = NULL, d, dev;
	int n = domain_devids(st, domid, &devids), i;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dir;

	for (i = 0; i < n; i++)
		stock_vbd_gone(st, domid, devids[i]);
	free(devids);
	/* Groups left by an earlier run that never saw this domain. */
	snprintf(path, sizeof(path), "%s/dom-%u", cg_slice_path(), domid);
	dir = opendir(path);
	while (dir && (de = readdir(dir)))
		if (sscanf(de->d_name, "vbd-%u-%u", &d, &dev) == 2 && d == domid)
			forget_group(st, domid, dev, 0);
	if (dir)
		closedir(dir);
}

void stock_set_xs(struct stock *st, struct xs_handle *xs)
{
	if (st)
		st->xs = xs;
}

unsigned long stock_scans(const struct stock *st)
{
	return st ? st->scans : 0;
}

int stock_retry_ms(const struct stock *st)
{
	__u64 now, first = 0;
	struct stock_vbd *e;
	int b;

	if (!st || !st->pending)
		return -1;
	for (b = 0; b < NR_BUCKETS; b++)
		for (e = st->bucket[b]; e; e = e->next)
			if (e->retry_at && (!first || e->retry_at < first))
				first = e->retry_at;
	now = blkqos_mono_ns();
	return first <= now ? 0 : (int)((first - now + 999999) / 1000000);
}

/*
 * Every VBD whose retry is due, from one scan of /proc: the cost of a tick
 * does not grow with the number of VBDs waiting, and xenstore events are
 * handled between ticks, so no domain's wait delays another's updates.
 */
void stock_retry(struct stock *st)
{
	struct due { unsigned int domid, devid; } *due;
	struct scan sc = { NULL, 0 };
	unsigned int n = 0, i;
	__u64 now = blkqos_mono_ns();
	struct stock_vbd *e;
	int b;

	if (!st || !st->pending)
		return;
	due = calloc(st->pending, sizeof(*due));
	if (!due) {
		log_warn("stock mode: out of memory for %u retries (tried again)", st->pending);
		return;
	}
	for (b = 0; b < NR_BUCKETS; b++)
		for (e = st->bucket[b]; e; e = e->next)
			if (e->retry_at && e->retry_at <= now && n < st->pending) {
				due[n].domid = e->domid;
				due[n].devid = e->devid;
				n++;
			}
	sc.n = n ? scan_tasks(st, &sc.tasks) : 0;
	for (i = 0; i < n; i++) {
		struct stock_vbd *d = *entry_slot(st, due[i].domid, due[i].devid);

		if (sc.n < 0) {		/* no scan: the retry stays due (bounded) */
			if (d)
				set_retry(st, d, true);
			continue;
		}
		vbd_sync(st, due[i].domid, due[i].devid, true, &sc);
	}
	free(sc.tasks);
	free(due);
}

int stock_remove_all(void)
{
	char mnt[256], path[PATH_MAX + 64], err[512];
	bool found = false;
	int ret;

	/* Only where a slice exists: never mount or create anything to remove it. */
	if (!cg_find_cgroup2("/proc/self/mountinfo", mnt, sizeof(mnt))) {
		snprintf(path, sizeof(path), "%s/%s", mnt, CG_SLICE_DEFAULT);
		found = access(path, F_OK) == 0;
	}
	if (!found && !cg_find_blkio_v1("/proc/self/mountinfo", mnt, sizeof(mnt))) {
		snprintf(path, sizeof(path), "%s/%s", mnt, CG_SLICE_DEFAULT);
		found = access(path, F_OK) == 0;
	}
	if (!found)
		return 0;
	ret = cg_init(CG_AUTO, NULL, err, sizeof(err));
	if (!ret)
		ret = cg_remove_all(err, sizeof(err));
	if (ret)
		log_err("removing the stock mode groups: %s", err);
	return ret;
}
