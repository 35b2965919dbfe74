/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading the BPF object, pinning its state under /sys/fs/bpf/blkqos/,
 * probing the running xen-blkback and attaching in the mode it allows.
 */
#ifndef BLKQOS_BPFOBJ_H
#define BLKQOS_BPFOBJ_H

#include <stdbool.h>
#include "maps.h"

#define BLKQOS_PIN_DIR	"/sys/fs/bpf/blkqos"

enum blkqos_mode {
	BLKQOS_MODE_NONE = 0,		/* maps only (--no-attach) */
	BLKQOS_MODE_FMOD_RET,		/* fmod_ret on the hook: the design's first choice */
	BLKQOS_MODE_FENTRY_KFUNC,	/* fentry on the hook + bpf_xen_blkif_defer() */
	BLKQOS_MODE_STOCK,		/* stock xen-blkback: cgroup block throttle, BPF counts */
};

/* What the operator asks for (blkqos run --mode). */
enum blkqos_mode_request {
	BLKQOS_WANT_AUTO = 0,	/* the hook if xen-blkback has it, else stock mode */
	BLKQOS_WANT_BPF,	/* the hook or nothing */
	BLKQOS_WANT_STOCK,	/* stock mode even with the hook present */
};

/* What the running xen-blkback offers. */
struct blkqos_probe {
	bool module_loaded;	/* /sys/module/xen_blkback */
	bool module_btf;	/* /sys/kernel/btf/xen_blkback */
	bool hook;		/* func xen_blkif_bpf_admit */
	bool kfunc;		/* func bpf_xen_blkif_defer */
	bool tracepoint;	/* btf_trace_xen_blkif_dispatch */
	bool parking;		/* xen_blkif_ring::parked: deferrals park, not stall */
};

void blkqos_probe_blkback(struct blkqos_probe *p);
/* One line for operators: what was found, or what is missing and how to fix it. */
const char *blkqos_probe_problem(const struct blkqos_probe *p);
/* Does the running xen-blkback have what BPF mode attaches to? */
bool blkqos_probe_has_hook(const struct blkqos_probe *p);
const char *blkqos_mode_name(enum blkqos_mode mode);

struct blkqos_bpf;

struct blkqos_loaded {
	struct blkqos_bpf *skel;
	enum blkqos_mode mode;
	bool reused_links;	/* programs were already attached (pinned links) */
	struct blkqos_maps maps;
};

/*
 * Test builds only (before blkqos_load): the accounting program takes a
 * user process named like a ring thread for one, as the test build's
 * stock mode does with BLKQOS_TEST_RING_ANY_TASK.
 */
void blkqos_bpf_user_rings(bool on);

/* Mount bpffs at /sys/fs/bpf if it is not there. */
int blkqos_ensure_bpffs(void);

/*
 * Load the object with its maps pinned (reusing pinned ones), then attach
 * in the mode want and the probe allow, unless attach is false. Returns 0
 * or, after logging why, -ENODEV (the host lacks something: BPF, bpffs,
 * xen-blkback, the hook) or another -errno.
 */
int blkqos_load(struct blkqos_loaded *l, bool attach, enum blkqos_mode_request want);
/* The mode the pinned state was attached in (BLKQOS_MODE_NONE if none). */
enum blkqos_mode blkqos_pinned_mode(void);
void blkqos_loaded_close(struct blkqos_loaded *l);

/*
 * Open the pinned maps only (stats, get): returns 0, -ENOENT if nothing is
 * pinned, -EPROTO (logged) for maps of another blkqos version.
 */
int blkqos_open_pinned(struct blkqos_maps *m);
void blkqos_close_pinned(struct blkqos_maps *m);

/* Detach and unpin everything. Returns 0, -ENOENT if nothing was, or -EBUSY (logged). */
int blkqos_unload(void);

#endif
