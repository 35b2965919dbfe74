/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Keeping the BPF maps in step with xenstore: a full sync at start, then one
 * VBD or domain at a time as watches fire. xenstore is the only source.
 */
#ifndef BLKQOS_SYNC_H
#define BLKQOS_SYNC_H

#include <stdbool.h>
#include <xenstore.h>
#include "maps.h"
#include "rules.h"
#include "vbdtab.h"

struct vbd_cache;
struct fold_owner;
struct dom_name;
/*
 * What the sync tells whatever enforces the limits beside the maps (stock
 * mode's cgroup throttle), after the maps took them: the sync does not know
 * which mode it runs in. Every member may be NULL.
 */
struct sync_events {
	/* a VBD's limits are in the maps (added: it is new to its domain) */
	void (*vbd_limits)(void *ctx, unsigned int domid, unsigned int devid, bool added);
	/* a VBD's backend state or physical-device changed */
	void (*vbd_backend)(void *ctx, unsigned int domid, unsigned int devid);
	/* a VBD left the maps */
	void (*vbd_gone)(void *ctx, unsigned int domid, unsigned int devid);
	/* a domain's limits are in the maps */
	void (*dom_limits)(void *ctx, unsigned int domid);
	/* a domain and all its VBDs left the maps */
	void (*dom_gone)(void *ctx, unsigned int domid);
};

struct sync {
	struct xs_handle *xs;
	struct blkqos_maps *maps;
	unsigned int backend;		/* our domid: the backend path's owner */
	char vbd_root[64];		/* /local/domain/<backend>/backend/vbd */
	struct qos_rules rules;		/* may be empty */
	bool have_rules;
	unsigned long syncs, errors;	/* counters, for -v and tests */
	/* xenstored refused IS_DOMAIN_INTRODUCED (a driver domain): domain
	 * death cannot be asked, see sync_reap() */
	bool cannot_ask;
	/* Each known VBD's QoS keys as last read, so that a watch event on one
	 * key costs two xenstore requests instead of a re-read of the VBD. */
	struct vbd_table cache;		/* of struct vbd_cache */
	/* Which devid holds each (domain, 16-bit handle) in the maps: blkback
	 * keeps a VBD's handle in 16 bits, so devids that fold to one handle
	 * are one VBD to it; the first one holds it, the others are refused. */
	struct fold_owner *owners[256];
	/* With rules: each domain's name they were matched by, and a watch on
	 * it, so that a renamed domain gets the rules of its new name. */
	struct dom_name *names[64];
	/* Told of what changed in the maps (NULL: nobody), with events_ctx. */
	const struct sync_events *events;
	void *events_ctx;
};

/* The backend domid this process runs in: "domid" in xenstore, else 0. */
unsigned int sync_own_domid(struct xs_handle *xs);

int sync_init(struct sync *s, struct xs_handle *xs, struct blkqos_maps *maps,
	      unsigned int backend);
/* Load a rules file; problems are logged. Returns 0, or -errno if unreadable. */
int sync_load_rules(struct sync *s, const char *path);

/* Bring every VBD and domain in the maps in line with xenstore. */
void sync_all(struct sync *s);
/* React to one watch event path. */
void sync_path(struct sync *s, const char *path);
/* After a reconnect: watch the names of the domains followed again. */
void sync_rewatch(struct sync *s);
/* Write again the rules of names whose write failed, once their time has come. */
void sync_retry(struct sync *s);
/* Forget domains xenstore says no longer exist (after @releaseDomain); an
 * error is not death. In a driver domain, forget domains without VBDs. */
void sync_reap(struct sync *s);

void sync_fini(struct sync *s);

/* The xenstore directory of a VBD's backend, and of a domain's limits. */
void sync_vbd_path(const struct sync *s, unsigned int domid, unsigned int devid, char *buf,
		   size_t len);
void sync_dom_path(const struct sync *s, unsigned int domid, char *buf, size_t len);

/* Create dir (if absent) owned by the backend, readable by the guest only. */
int sync_make_qos_dir(struct xs_handle *xs, unsigned int backend, unsigned int guest,
		      const char *dir);

struct qos_keys;

/*
 * Write keys under dir (each name relative to dir; an empty value removes
 * the key) in one xenstore transaction. 0, or -errno with the path that
 * failed in bad.
 */
int sync_write_keys(struct xs_handle *xs, const char *dir, const struct qos_keys *keys,
		    char *bad, size_t badlen);

#endif
