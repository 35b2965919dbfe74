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
#include "vbdtab.h"
#include "xspath.h"

#define MAX_RINGS	4096	/* bounds what a backend's multi-queue-max-queues may claim */
#define XENBUS_CONNECTED 4

/*
 * A backend event only marks its VBD for a look; the loop's next pass looks
 * for the ring threads of every VBD marked or due, from one scan of /proc
 * (about a millisecond on a host, far more in an emulated dom0). blkback
 * starts the threads just after it writes Connected, so a look that finds
 * none yet looks again at the next pass, LOOKS_AT_ONCE times, then after 5,
 * 10 and 20 ms, then every 50 ms for 10 s. A thread runs unthrottled until
 * found: the interval bounds that time.
 */
#define LOOKS_AT_ONCE	3
#define RETRY_EVERY_MS	50
#define NR_RETRIES	(LOOKS_AT_ONCE + 3 + 10000 / RETRY_EVERY_MS)

static unsigned int retry_delay_ms(unsigned int tries, bool none_yet)
{
	static const unsigned int first[3] = { 5, 10, 20 };

	if (tries < LOOKS_AT_ONCE) {
		if (none_yet)
			return 0;
		tries = 0;
	} else {
		tries -= LOOKS_AT_ONCE;
	}
	return tries < 3 ? first[tries] : RETRY_EVERY_MS;
}

struct stock_vbd {
	struct vbd_node node;		/* its domid and devid, in stock->vbds */
	__u64 cgid;			/* group's cgroup id once made; 0 before */
	unsigned int disk;		/* backing whole disk (kernel dev_t); 0 unknown */
	unsigned int maj, min;		/* physical-device as last read (disk != 0) */
	unsigned long state;		/* backend state as last read */
	unsigned long rings;		/* rings blkback offers, as last read (Connected) */
	char dev[32];			/* the backend's dev key, as last read (Connected) */
	struct blkqos_stock_dev devkey;	/* its stock_devs key, once registered (dev != 0) */
	__u32 slot;			/* its vbd_stats slot, as registered */
	int nthreads;			/* ring threads moved in, as last found */
	unsigned int tries;		/* looks done while threads are missing */
	__u64 retry_at;			/* CLOCK_MONOTONIC ns of the next look; 0: none */
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
	unsigned long births_moved;	/* ring threads moved in at their birth */
	struct vbd_table vbds;		/* of struct stock_vbd */
};

static struct stock_vbd *vbd_of(struct vbd_node *n)
{
	return n ? vbd_entry(n, struct stock_vbd, node) : NULL;
}

struct stock *stock_init(struct xs_handle *xs, struct blkqos_maps *maps, const char *vbd_root,
			 bool any_task, char *err, size_t errlen)
{
	struct stock *st;

	if (maps->stock_groups_fd < 0 || maps->stock_devs_fd < 0) {
		snprintf(err, errlen, "the stock_groups or stock_devs map is not open");
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
	struct vbd_node *n, *next;

	if (!st)
		return;
	for (n = vbdtab_first(&st->vbds); n; n = next) {
		next = vbdtab_next(&st->vbds, n);
		vbdtab_del(&st->vbds, n);
		free(vbd_of(n));
	}
	free(st);
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

/* The VBD's stock_devs entry goes, unless another VBD of the domain took the key since. */
static void forget_dev(struct stock *st, struct stock_vbd *e)
{
	__u32 slot;

	if (!e->devkey.dev)
		return;
	if (!bpf_map_lookup_elem(st->maps->stock_devs_fd, &e->devkey, &slot) && slot == e->slot)
		bpf_map_delete_elem(st->maps->stock_devs_fd, &e->devkey);
	e->devkey.dev = 0;
}

/* Every stock_devs entry of the domain (those of an earlier run too). */
static void forget_domain_devs(struct stock *st, unsigned int domid)
{
	struct blkqos_stock_dev k, *prev = NULL;

	while (!bpf_map_get_next_key(st->maps->stock_devs_fd, prev, &k)) {
		prev = &k;
		/* after a delete, start over: the deleted key leads nowhere */
		if (k.domid == domid && !bpf_map_delete_elem(st->maps->stock_devs_fd, &k))
			prev = NULL;
	}
}

/* A look at the next pass, for a VBD whose backend changed: a fresh count of tries. */
static void look_now(struct stock *st, struct stock_vbd *e)
{
	if (!e->retry_at)
		st->pending++;
	e->retry_at = blkqos_mono_ns();
	e->tries = 0;
}

/* Another look after one that found fewer threads than rings; false if none is left. */
static bool look_again(struct stock *st, struct stock_vbd *e, bool none_yet)
{
	if (e->tries < NR_RETRIES) {
		if (!e->retry_at)
			st->pending++;
		e->retry_at = blkqos_mono_ns() + retry_delay_ms(e->tries++, none_yet) * 1000000ULL;
		return true;
	}
	if (e->retry_at)
		st->pending--;
	e->retry_at = 0;
	return false;
}

static void no_look(struct stock *st, struct stock_vbd *e)
{
	if (e->retry_at)
		st->pending--;
	e->retry_at = 0;
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
 * (free it). name: the backend's dev key without /dev/. Returns how many
 * were found.
 */
static int ring_threads(unsigned int domid, const char *name, const struct cg_task *tasks,
			int ntasks, pid_t **pids)
{
	int i, found = 0;

	*pids = NULL;
	if (!name || ntasks <= 0)
		return 0;
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

/* A scan of /proc shared by the VBDs due for a look. */
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

	*disk = 0;
	if (cg_is_v1() || nr < 2)
		return false;
	for (e = vbd_of(vbdtab_dom_first(&st->vbds, domid)); e;
	     e = vbd_of(vbdtab_dom_next(&e->node))) {
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
 * The VBD's backing device and domain in stock_devs: the bios of its ring
 * threads from outside its group count (as unthrottled) until they are in.
 */
static void register_dev(struct stock *st, struct stock_vbd *e, __u32 slot)
{
	struct blkqos_stock_dev key = { .dev = blkqos_kdev(e->maj, e->min),
					.domid = e->node.domid };

	if (e->devkey.dev && (e->devkey.dev != key.dev || e->slot != slot))
		forget_dev(st, e);
	if (bpf_map_update_elem(st->maps->stock_devs_fd, &key, &slot, BPF_ANY)) {
		log_warn("vbd %u/%u: cannot register its device for accounting: %s", e->node.domid,
			 e->node.devid, strerror(errno));
		return;
	}
	e->devkey = key;
	e->slot = slot;
}

/* The backend's dev key into e->dev ("" if unreadable): blkback names the
 * ring threads after it, without /dev/. */
static void read_ring_name(struct stock *st, struct stock_vbd *e, const char *dir)
{
	char *dev = read_key(st, dir, "dev");

	snprintf(e->dev, sizeof(e->dev), "%s",
		 !dev ? "" : strncmp(dev, "/dev/", 5) ? dev : dev + 5);
	free(dev);
}

/*
 * Bring the VBD's group in line. backend: its xenstore state or device
 * changed, so read them again and, once Connected, mark it for a look for
 * its ring threads at the loop's next pass (no scan here: a burst of events
 * costs one scan); otherwise (limits changed) what was read last time
 * serves, and only the limits are written.
 */
static void vbd_sync(struct stock *st, unsigned int domid, unsigned int devid, bool backend)
{
	struct stock_vbd *e = vbd_of(vbdtab_find(&st->vbds, domid, devid));
	char dir[256], err[512], why[512];
	struct blkqos_limits eff;
	struct blkqos_stock_group g;
	struct blkqos_dom dom;
	struct blkqos_vbd v;
	unsigned int nr, disk;
	bool one_disk;

	if (blkqos_maps_vbd_get(st->maps, domid, devid, &v)) {
		if (e)		/* not in the maps (refused, or going): no look */
			no_look(st, e);
		return;
	}
	nr = blkqos_maps_dom_get(st->maps, domid, &dom) ? 1 : dom.nr_vbds;
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e)
			return;
		vbdtab_add(&st->vbds, &e->node, domid, devid);
	}
	xs_vbd_dir(dir, sizeof(dir), st->vbd_root, domid, devid);
	backend = backend || !e->disk;
	if (backend && !read_backend(st, e, dir)) {
		no_look(st, e);		/* its physical-device event comes */
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

	if (backend) {
		if (e->state == XENBUS_CONNECTED) {
			read_ring_name(st, e, dir);
			e->rings = rings_offered(st, dir);
			look_now(st, e);
		} else {
			e->nthreads = 0;	/* a reconnect starts new threads */
			no_look(st, e);
		}
	}
	cg_merge_domain(&v.limits, &v.dom_limits, nr, &eff);
	if (cg_vbd_apply(domid, devid, e->maj, e->min, &eff, NULL, 0, err, sizeof(err))) {
		log_err("vbd %u/%u: %s (the last setting stays)", domid, devid, err);
		return;
	}
	dom_apply(domid, &v.dom_limits, one_disk, disk);

	g.slot = v.slot;
	g.dev = blkqos_kdev(e->maj, e->min);
	e->cgid = group_id(domid, devid);
	if (!e->cgid || bpf_map_update_elem(st->maps->stock_groups_fd, &e->cgid, &g, BPF_ANY))
		log_warn("vbd %u/%u: cannot register its group for accounting: %s", domid, devid,
			 strerror(errno));
	register_dev(st, e, v.slot);
}

/*
 * A look for a Connected VBD's ring threads among the scan's tasks: those
 * found go into its group; fewer than blkback offers (a guest may use
 * fewer) are looked for again, for a bounded time.
 */
static void vbd_look(struct stock *st, struct stock_vbd *e, const struct scan *scan)
{
	unsigned int domid = e->node.domid, devid = e->node.devid;
	char err[512];
	pid_t *pids = NULL;
	int npids;

	npids = ring_threads(domid, e->dev[0] ? e->dev : NULL, scan->tasks, scan->n, &pids);
	if (npids && cg_vbd_move(domid, devid, pids, npids, err, sizeof(err))) {
		log_err("vbd %u/%u: %s (looked again later)", domid, devid, err);
		free(pids);
		look_again(st, e, false);
		return;
	}
	free(pids);
	if (npids != e->nthreads && npids)
		log_info("vbd %u/%u: %d ring thread%s in its group", domid, devid, npids,
			 npids == 1 ? "" : "s");
	e->nthreads = npids;
	if ((unsigned long)npids >= e->rings)
		no_look(st, e);
	else if (look_again(st, e, !npids))
		;
	else if (!npids)
		log_warn("vbd %u/%u: Connected, but no ring thread found in %u s: it is not "
			 "limited", domid, devid, NR_RETRIES * RETRY_EVERY_MS / 1000);
	else
		log_info("vbd %u/%u: %d of the %lu rings blkback offers have a thread (the guest "
			 "uses fewer)", domid, devid, npids, e->rings);
}

void stock_vbd(struct stock *st, unsigned int domid, unsigned int devid)
{
	vbd_sync(st, domid, devid, false);
}

void stock_vbd_backend(struct stock *st, unsigned int domid, unsigned int devid)
{
	vbd_sync(st, domid, devid, true);
}

/*
 * The devids of the domain's known VBDs, all of them, in *devids (free it).
 * Returns how many, or -ENOMEM (logged; what is in force stays).
 */
static int domain_devids(struct stock *st, unsigned int domid, unsigned int **devids)
{
	unsigned int n = 0, cap = 0, *v = NULL;
	struct stock_vbd *e;

	for (e = vbd_of(vbdtab_dom_first(&st->vbds, domid)); e;
	     e = vbd_of(vbdtab_dom_next(&e->node))) {
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
		v[n++] = e->node.devid;
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
	struct stock_vbd *e = vbd_of(vbdtab_find(&st->vbds, domid, devid));

	forget_group(st, domid, devid, e ? e->cgid : 0);
	if (!e)
		return;
	forget_dev(st, e);
	no_look(st, e);
	vbdtab_del(&st->vbds, &e->node);
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
	forget_domain_devs(st, domid);
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

/* The ring thread t of one of domid's known VBDs with a group, or NULL. */
static struct stock_vbd *vbd_of_ring(struct stock *st, unsigned int domid,
				     const struct cg_task *t)
{
	struct stock_vbd *e;
	char dir[256];

	for (e = vbd_of(vbdtab_dom_first(&st->vbds, domid)); e;
	     e = vbd_of(vbdtab_dom_next(&e->node))) {
		if (!e->cgid)
			continue;
		if (!e->dev[0]) {	/* first connection: Connected not read yet */
			xs_vbd_dir(dir, sizeof(dir), st->vbd_root, domid, e->node.devid);
			read_ring_name(st, e, dir);
			if (!e->dev[0])
				continue;
		}
		if (cg_task_is_ring_of(t, domid, e->dev))
			return e;
	}
	return NULL;
}

void stock_ring_born(struct stock *st, pid_t pid, const char *comm)
{
	struct stock_vbd *e;
	struct cg_task t;
	char err[512];
	unsigned long domid;
	char *end;

	if (!st)
		return;
	/* the pid again, as /proc has it: it must still be that thread */
	if (cg_read_task("/proc", pid, !st->any_task, &t) || strncmp(t.comm, comm, sizeof(t.comm)))
		return;
	domid = strtoul(t.comm, &end, 10);
	if (end == t.comm || *end != '.' || domid > 0xffff)
		return;
	e = vbd_of_ring(st, domid, &t);
	if (!e)
		return;		/* not a VBD this loader knows yet: the looks find it */
	if (cg_vbd_move(e->node.domid, e->node.devid, &pid, 1, err, sizeof(err))) {
		log_warn("vbd %u/%u: ring thread %s at its birth: %s (looked for again)", e->node.domid,
			 e->node.devid, t.comm, err);
		return;
	}
	st->births_moved++;
	log_info("vbd %u/%u: ring thread %s (pid %d) in its group at its birth", e->node.domid,
		 e->node.devid, t.comm, (int)pid);
}

unsigned long stock_births_moved(const struct stock *st)
{
	return st ? st->births_moved : 0;
}

unsigned long stock_scans(const struct stock *st)
{
	return st ? st->scans : 0;
}

int stock_look_ms(const struct stock *st)
{
	__u64 now, first = 0;
	struct stock_vbd *e;

	if (!st || !st->pending)
		return -1;
	for (e = vbd_of(vbdtab_first(&st->vbds)); e;
	     e = vbd_of(vbdtab_next(&st->vbds, &e->node)))
		if (e->retry_at && (!first || e->retry_at < first))
			first = e->retry_at;
	now = blkqos_mono_ns();
	return first <= now ? 0 : (int)((first - now + 999999) / 1000000);
}

/*
 * Every VBD marked or due for a look, from one scan of /proc: the cost of a
 * pass does not grow with the VBDs waiting nor with the events that marked
 * them, and the loop handles xenstore events between passes, so no domain's
 * wait delays another's updates.
 */
void stock_look(struct stock *st)
{
	struct scan sc = { NULL, 0 };
	__u64 now = blkqos_mono_ns();
	struct stock_vbd **due, *e;
	unsigned int n = 0, i;

	if (!st || !st->pending)
		return;
	due = calloc(st->pending, sizeof(*due));
	if (!due) {
		log_warn("stock mode: out of memory for %u looks (tried again)", st->pending);
		return;
	}
	/* Looks do not add, remove nor free entries: pointers stay valid. */
	for (e = vbd_of(vbdtab_first(&st->vbds)); e;
	     e = vbd_of(vbdtab_next(&st->vbds, &e->node)))
		if (e->retry_at && e->retry_at <= now && n < st->pending)
			due[n++] = e;
	if (n) {
		sc.n = scan_tasks(st, &sc.tasks);
		log_debug("stock: /proc scan %lu: %d candidate tasks, for %u VBD%s", st->scans,
			  sc.n, n, n == 1 ? "" : "s");
	}
	for (i = 0; i < n; i++) {
		if (sc.n < 0)		/* no scan: looked at again (bounded) */
			look_again(st, due[i], false);
		else
			vbd_look(st, due[i], &sc);
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

/* The sync's events: each VBD's cgroup follows its map entry. */
static void on_vbd_limits(void *ctx, unsigned int domid, unsigned int devid, bool added)
{
	stock_vbd(ctx, domid, devid);
	if (added)	/* the domain has one VBD more */
		stock_domain_members(ctx, domid);
}

static void on_vbd_backend(void *ctx, unsigned int domid, unsigned int devid)
{
	stock_vbd_backend(ctx, domid, devid);
}

/* its group goes, its domain has one VBD less */
static void on_vbd_gone(void *ctx, unsigned int domid, unsigned int devid)
{
	stock_vbd_gone(ctx, domid, devid);
	stock_domain_members(ctx, domid);
}

static void on_dom_limits(void *ctx, unsigned int domid)
{
	stock_domain(ctx, domid);
}

static void on_dom_gone(void *ctx, unsigned int domid)
{
	stock_domain_gone(ctx, domid);
}

const struct sync_events stock_sync_events = {
	.vbd_limits = on_vbd_limits,
	.vbd_backend = on_vbd_backend,
	.vbd_gone = on_vbd_gone,
	.dom_limits = on_dom_limits,
	.dom_gone = on_dom_gone,
};
