/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A table of VBDs by (domid, devid), with a per-domain index so that what
 * concerns one domain (its VBDs joining, leaving, a domain limit) visits
 * that domain's VBDs only. The sync's key cache and stock mode's groups
 * each keep one: their entries embed a struct vbd_node. Chains of fixed
 * bucket arrays: no entry is ever dropped for want of room.
 */
#ifndef BLKQOS_VBDTAB_H
#define BLKQOS_VBDTAB_H

#include <stddef.h>

#define VBDTAB_BUCKETS		1024
#define VBDTAB_DOM_BUCKETS	256

struct vbd_node {
	struct vbd_node *next;		/* in its (domid, devid) bucket */
	struct vbd_node *dom_next;	/* in its domain's bucket (other domains too) */
	unsigned int domid, devid;
};

struct vbd_table {
	struct vbd_node *bucket[VBDTAB_BUCKETS];
	struct vbd_node *dom[VBDTAB_DOM_BUCKETS];
};

/* The entry that embeds node n as member m. */
#define vbd_entry(n, type, m)	((type *)((char *)(n) - offsetof(type, m)))

struct vbd_node *vbdtab_find(const struct vbd_table *t, unsigned int domid, unsigned int devid);
/* Add n (not in t; no other node of that VBD is) as domid/devid. */
void vbdtab_add(struct vbd_table *t, struct vbd_node *n, unsigned int domid, unsigned int devid);
/* Take n out of t (the caller frees its entry). */
void vbdtab_del(struct vbd_table *t, struct vbd_node *n);

/*
 * The domain's VBDs, in no order: for (n = vbdtab_dom_first(t, d); n;
 * n = vbdtab_dom_next(n)). Taking the current node out is safe when its
 * successor was read first.
 */
struct vbd_node *vbdtab_dom_first(const struct vbd_table *t, unsigned int domid);
struct vbd_node *vbdtab_dom_next(const struct vbd_node *n);

/* Every VBD, in no order; the same rule for taking nodes out. */
struct vbd_node *vbdtab_first(const struct vbd_table *t);
struct vbd_node *vbdtab_next(const struct vbd_table *t, const struct vbd_node *n);

#endif
