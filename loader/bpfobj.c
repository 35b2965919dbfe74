// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "blkqos.skel.h"
#include "bpfobj.h"
#include "log.h"

static const char *const map_names[] = { "vbds", "doms", "vbd_buckets", "dom_buckets", "vbd_stats",
					 "stock_groups", "stock_devs", "vbd_hist", "ring_births" };
#define NR_MAPS (sizeof(map_names) / sizeof(map_names[0]))
#define LINK_ADMIT	BLKQOS_PIN_DIR "/link_admit"
#define LINK_DISPATCH	BLKQOS_PIN_DIR "/link_dispatch"
#define LINK_STOCK	BLKQOS_PIN_DIR "/link_stock_account"
#define LINK_RING_NEW	BLKQOS_PIN_DIR "/link_stock_ring_new"
#define LINK_RING_RENAME BLKQOS_PIN_DIR "/link_stock_ring_rename"

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Without -v, not even warnings: we print our own actionable errors. */
	(void)level;
	if (!blkqos_verbose)
		return 0;
	return log_vdebug_raw(fmt, ap);
}

const char *blkqos_mode_name(enum blkqos_mode mode)
{
	switch (mode) {
	case BLKQOS_MODE_FMOD_RET:
		return "bpf (fmod_ret on xen_blkif_bpf_admit)";
	case BLKQOS_MODE_FENTRY_KFUNC:
		return "bpf (fentry on xen_blkif_bpf_admit + bpf_xen_blkif_defer kfunc)";
	case BLKQOS_MODE_STOCK:
		return "stock (xen-blkback without the BPF hook: cgroup block throttle on the "
		       "ring threads, BPF accounting on block_bio_queue)";
	default:
		return "maps only (not attached)";
	}
}

static bool btf_struct_has_member(const struct btf *btf, const char *name,
				   const char *member)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	const struct btf_member *m;
	const struct btf_type *t;
	int i;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (strcmp(btf__name_by_offset(btf, m->name_off), member) == 0)
			return true;
	return false;
}

void blkqos_probe_blkback(struct blkqos_probe *p)
{
	struct btf *vmlinux, *mod;

	memset(p, 0, sizeof(*p));
	p->module_loaded = access("/sys/module/xen_blkback", F_OK) == 0;
	p->module_btf = access("/sys/kernel/btf/xen_blkback", F_OK) == 0;
	if (!p->module_btf)
		return;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux)
		return;
	mod = btf__load_module_btf("xen_blkback", vmlinux);
	if (mod) {
		p->hook = btf__find_by_name_kind(mod, "xen_blkif_bpf_admit", BTF_KIND_FUNC) > 0;
		p->kfunc = btf__find_by_name_kind(mod, "bpf_xen_blkif_defer", BTF_KIND_FUNC) > 0;
		p->tracepoint = btf__find_by_name_kind(mod, "btf_trace_xen_blkif_dispatch",
						       BTF_KIND_TYPEDEF) > 0;
		p->parking = btf_struct_has_member(mod, "xen_blkif_ring", "parked");
		btf__free(mod);
	}
	btf__free(vmlinux);
}

const char *blkqos_probe_problem(const struct blkqos_probe *p)
{
	if (!p->module_loaded)
		return "xen_blkback is not loaded (modprobe xen-blkback; on a host without Xen "
		       "use 'blkqos run --no-attach')";
	if (!p->module_btf)
		return "xen_blkback is loaded without BTF: it was built against another kernel "
		       "(Debian loads it anyway, CONFIG_MODULE_ALLOW_BTF_MISMATCH); rebuild it with "
		       "'make -C kernel KVER=$(uname -r)' and reload it";
	if (!p->hook || !p->tracepoint)
		return "xen_blkback is the stock module: it lacks the xen_blkif_bpf_admit hook and "
		       "the xen_blkif_dispatch tracepoint; install the patched module "
		       "(make -C kernel && make -C kernel install, or DKMS: see kernel/README.md)";
	if (!p->parking)
		return "xen_blkback has an older BPF hook whose deferrals stall the whole ring "
		       "(no parking); rebuild and reload it from this tree (make -C kernel, "
		       "see kernel/README.md)";
	return NULL;
}

bool blkqos_probe_has_hook(const struct blkqos_probe *p)
{
	return p->module_loaded && p->module_btf && p->hook && p->tracepoint && p->parking;
}

int blkqos_ensure_bpffs(void)
{
	struct statfs fs;

	if (statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type == BPF_FS_MAGIC)
		return 0;
	mkdir("/sys/fs/bpf", 0700);
	if (mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL)) {
		log_err("cannot mount bpffs on /sys/fs/bpf: %s", strerror(errno));
		return -errno;
	}
	log_debug("mounted bpffs on /sys/fs/bpf");
	return 0;
}

static struct bpf_map *map_by_name(struct blkqos_bpf *skel, const char *name)
{
	return bpf_object__find_map_by_name(skel->obj, name);
}

static bool user_rings;

void blkqos_bpf_user_rings(bool on)
{
	user_rings = on;
}

/* Open, pin maps, enable the programs of a mode, load. NULL on failure (errno set). */
static struct blkqos_bpf *open_and_load(enum blkqos_mode mode, int *err)
{
	struct blkqos_bpf *skel = blkqos_bpf__open();
	struct bpf_program *prog;
	char path[256];
	unsigned int i;

	if (!skel) {
		*err = -errno;
		return NULL;
	}
	for (i = 0; i < NR_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", BLKQOS_PIN_DIR, map_names[i]);
		bpf_map__set_pin_path(map_by_name(skel, map_names[i]), path);
	}
	bpf_program__set_autoload(skel->progs.blkqos_admit_fmod_ret, mode == BLKQOS_MODE_FMOD_RET);
	bpf_program__set_autoload(skel->progs.blkqos_admit_fentry,
				  mode == BLKQOS_MODE_FENTRY_KFUNC);
	bpf_program__set_autoload(skel->progs.blkqos_dispatch,
				  mode == BLKQOS_MODE_FMOD_RET || mode == BLKQOS_MODE_FENTRY_KFUNC);
	bpf_program__set_autoload(skel->progs.blkqos_stock_account, mode == BLKQOS_MODE_STOCK);
	bpf_program__set_autoload(skel->progs.blkqos_stock_ring_new, mode == BLKQOS_MODE_STOCK);
	bpf_program__set_autoload(skel->progs.blkqos_stock_ring_rename, mode == BLKQOS_MODE_STOCK);
	skel->rodata->stock_user_rings = user_rings;
	/*
	 * The test entries (tests/bpf load them) are most of the verifier's
	 * work: tens of seconds in an emulated dom0, at every start.
	 */
	bpf_object__for_each_program(prog, skel->obj)
		if (!strncmp(bpf_program__name(prog), "blkqos_test_", 12))
			bpf_program__set_autoload(prog, false);
	*err = blkqos_bpf__load(skel);
	if (*err) {
		blkqos_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

static int pin_link(struct bpf_link *link, const char *path)
{
	int err = bpf_link__pin(link, path);

	if (err)
		log_err("cannot pin %s: %s", path, strerror(-err));
	return err;
}

/* bpffs holds no plain files: the pinned links tell the mode they were made in. */
enum blkqos_mode blkqos_pinned_mode(void)
{
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	enum blkqos_mode mode = BLKQOS_MODE_NONE;
	int fd;

	if (access(LINK_STOCK, F_OK) == 0)
		return BLKQOS_MODE_STOCK;
	fd = bpf_obj_get(LINK_ADMIT);
	if (fd < 0)
		return BLKQOS_MODE_NONE;
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && info.type == BPF_LINK_TYPE_TRACING)
		mode = info.tracing.attach_type == BPF_MODIFY_RETURN ? BLKQOS_MODE_FMOD_RET
								     : BLKQOS_MODE_FENTRY_KFUNC;
	close(fd);
	return mode;
}

/*
 * A ring thread's birth, seen by the task tracepoint that names it. Without
 * it the loader still finds threads by looking at /proc, later: a warning.
 */
static void attach_ring_birth(struct bpf_program *prog, const char *tp, const char *pin)
{
	struct bpf_link *a = bpf_program__attach(prog);

	if (!a || pin_link(a, pin))
		log_warn("cannot attach to the %s tracepoint: %s; new ring threads are found "
			 "by looking at /proc, later", tp, a ? "cannot pin it" : strerror(errno));
	bpf_link__destroy(a);
}

static int attach_stock(struct blkqos_loaded *l)
{
	struct bpf_link *a = bpf_program__attach(l->skel->progs.blkqos_stock_account);
	int err;

	if (!a) {
		err = -errno;
		log_err("cannot attach to the block_bio_queue tracepoint: %s", strerror(-err));
		return err;
	}
	err = pin_link(a, LINK_STOCK);
	bpf_link__destroy(a);
	if (err)
		return err;
	attach_ring_birth(l->skel->progs.blkqos_stock_ring_new, "task_newtask", LINK_RING_NEW);
	attach_ring_birth(l->skel->progs.blkqos_stock_ring_rename, "task_rename",
			  LINK_RING_RENAME);
	return 0;
}

static int attach(struct blkqos_loaded *l)
{
	struct bpf_program *admit = l->mode == BLKQOS_MODE_FMOD_RET ?
		l->skel->progs.blkqos_admit_fmod_ret : l->skel->progs.blkqos_admit_fentry;
	struct bpf_link *a = NULL, *d = NULL;
	int err;

	if (l->mode == BLKQOS_MODE_STOCK)
		return attach_stock(l);
	a = bpf_program__attach(admit);
	if (!a) {
		err = -errno;
		log_err("cannot attach to xen_blkif_bpf_admit: %s", strerror(-err));
		goto cleanup;
	}
	d = bpf_program__attach(l->skel->progs.blkqos_dispatch);
	if (!d) {
		err = -errno;
		log_err("cannot attach to the xen_blkif_dispatch tracepoint: %s", strerror(-err));
		goto cleanup;
	}
	err = pin_link(d, LINK_DISPATCH);
	if (!err)
		err = pin_link(a, LINK_ADMIT);
	if (err) {
		unlink(LINK_DISPATCH);
		goto cleanup;
	}
cleanup:
	/* Pinned links outlive this process; the local references go. */
	bpf_link__destroy(a);
	bpf_link__destroy(d);
	return err;
}

static int open_maps(struct blkqos_maps *m, struct blkqos_bpf *skel)
{
	int err = blkqos_maps_init(m, bpf_map__fd(skel->maps.vbds), bpf_map__fd(skel->maps.doms),
				   bpf_map__fd(skel->maps.vbd_buckets),
				   bpf_map__fd(skel->maps.dom_buckets),
				   bpf_map__fd(skel->maps.vbd_stats));

	m->stock_groups_fd = bpf_map__fd(skel->maps.stock_groups);
	m->stock_devs_fd = bpf_map__fd(skel->maps.stock_devs);
	m->ring_births_fd = bpf_map__fd(skel->maps.ring_births);
	return err ? err : blkqos_maps_set_hist(m, bpf_map__fd(skel->maps.vbd_hist));
}

/* The BPF mode: fmod_ret first; kernels without error injection refuse it at load. */
static int load_bpf_mode(struct blkqos_loaded *l, const struct blkqos_probe *probe, int *err)
{
	l->mode = BLKQOS_MODE_FMOD_RET;
	l->skel = open_and_load(l->mode, err);
	if (l->skel)
		return 0;
	log_debug("fmod_ret refused (%s); trying fentry + kfunc", strerror(-*err));
	if (!probe->kfunc) {
		log_err("the kernel refuses fmod_ret on xen_blkif_bpf_admit and xen_blkback has no "
			"bpf_xen_blkif_defer kfunc (empty kfunc set: was the module built without "
			"resolve_btfids?)");
		return -ENODEV;
	}
	l->mode = BLKQOS_MODE_FENTRY_KFUNC;
	l->skel = open_and_load(l->mode, err);
	return 0;
}

int blkqos_load(struct blkqos_loaded *l, bool want_attach, enum blkqos_mode_request want)
{
	struct blkqos_probe probe;
	const char *problem;
	int err = 0, ret;

	memset(l, 0, sizeof(*l));
	libbpf_set_print(libbpf_print);
	if (blkqos_ensure_bpffs())
		return -ENODEV;
	mkdir(BLKQOS_PIN_DIR, 0700);

	l->reused_links = access(LINK_ADMIT, F_OK) == 0 || access(LINK_STOCK, F_OK) == 0;
	if (want_attach && !l->reused_links) {
		blkqos_probe_blkback(&probe);
		problem = blkqos_probe_problem(&probe);
		if (want == BLKQOS_WANT_STOCK) {
			if (!probe.module_loaded)
				log_warn("xen_blkback is not loaded: stock mode limits VBDs once "
					 "their ring threads exist");
			l->mode = BLKQOS_MODE_STOCK;
		} else if (blkqos_probe_has_hook(&probe)) {
			ret = load_bpf_mode(l, &probe, &err);
			if (ret)
				return ret;
		} else if (!probe.module_loaded || want == BLKQOS_WANT_BPF) {
			log_err("%s", problem);
			return -ENODEV;
		} else {
			log_info("%s", problem);
			l->mode = BLKQOS_MODE_STOCK;
		}
		if (l->mode == BLKQOS_MODE_STOCK)
			l->skel = open_and_load(l->mode, &err);
	} else {
		l->skel = open_and_load(BLKQOS_MODE_NONE, &err);
		l->mode = l->reused_links ? blkqos_pinned_mode() : BLKQOS_MODE_NONE;
	}
	if (!l->skel) {
		if (err == -EPERM || err == -ENOSYS)
			log_err("the kernel refused to load BPF programs (%s): run as root on a "
				"kernel with BPF", strerror(-err));
		else if (err == -EINVAL)
			log_err("cannot load the BPF object (%s); maps pinned in %s by another "
				"blkqos version? 'blkqos unload' removes them (-v shows libbpf's log)",
				strerror(-err), BLKQOS_PIN_DIR);
		else
			log_err("cannot load the BPF object: %s (-v shows libbpf's log)",
				strerror(-err));
		return -ENODEV;
	}
	if (open_maps(&l->maps, l->skel)) {
		log_err("cannot read the pinned maps");
		blkqos_loaded_close(l);
		return -EIO;
	}
	if (want_attach && !l->reused_links && attach(l)) {
		blkqos_loaded_close(l);
		return -EIO;
	}
	return 0;
}

void blkqos_loaded_close(struct blkqos_loaded *l)
{
	if (l->skel)
		blkqos_bpf__destroy(l->skel);
	l->skel = NULL;
}

/* The fd of map name among those blkqos_open_pinned() opened, in map_names' order. */
static int pinned_fd(const int *fd, const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_MAPS; i++)
		if (!strcmp(map_names[i], name))
			return fd[i];
	return -1;
}

int blkqos_open_pinned(struct blkqos_maps *m)
{
	int fd[NR_MAPS];
	char path[256];
	unsigned int i;

	libbpf_set_print(libbpf_print);
	for (i = 0; i < NR_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", BLKQOS_PIN_DIR, map_names[i]);
		fd[i] = bpf_obj_get(path);
		if (fd[i] < 0 && !strcmp(map_names[i], "ring_births"))
			continue;	/* stock mode's, and only run reads it */
		if (fd[i] < 0) {
			while (i--)
				if (fd[i] >= 0)
					close(fd[i]);
			return -ENOENT;
		}
	}
	if (blkqos_maps_init(m, fd[0], fd[1], fd[2], fd[3], fd[4])) {
		for (i = 0; i < NR_MAPS; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return -EPROTO;
	}
	m->stock_groups_fd = fd[5];
	m->stock_devs_fd = fd[6];
	m->ring_births_fd = pinned_fd(fd, "ring_births");
	if (blkqos_maps_set_hist(m, pinned_fd(fd, "vbd_hist"))) {
		for (i = 0; i < NR_MAPS; i++)
			if (fd[i] >= 0)
				close(fd[i]);
		return -EPROTO;
	}
	return 0;
}

void blkqos_close_pinned(struct blkqos_maps *m)
{
	close(m->vbds_fd);
	close(m->doms_fd);
	close(m->vbd_buckets_fd);
	close(m->dom_buckets_fd);
	close(m->vbd_stats_fd);
	if (m->stock_groups_fd >= 0)
		close(m->stock_groups_fd);
	if (m->stock_devs_fd >= 0)
		close(m->stock_devs_fd);
	if (m->ring_births_fd >= 0)
		close(m->ring_births_fd);
	if (m->vbd_hist_fd >= 0)
		close(m->vbd_hist_fd);
}

int blkqos_unload(void)
{
	char path[256];
	unsigned int i;
	int found = 0;

	/* Links first: the limits stop before their state goes. */
	found += unlink(LINK_ADMIT) == 0;
	found += unlink(LINK_DISPATCH) == 0;
	found += unlink(LINK_STOCK) == 0;
	found += unlink(LINK_RING_NEW) == 0;
	found += unlink(LINK_RING_RENAME) == 0;
	for (i = 0; i < NR_MAPS; i++) {
		snprintf(path, sizeof(path), "%s/%s", BLKQOS_PIN_DIR, map_names[i]);
		found += unlink(path) == 0;
	}
	if (rmdir(BLKQOS_PIN_DIR) && errno != ENOENT) {
		log_err("cannot remove %s: %s (something else is pinned there)", BLKQOS_PIN_DIR,
			strerror(errno));
		return -EBUSY;
	}
	return found ? 0 : -ENOENT;
}
