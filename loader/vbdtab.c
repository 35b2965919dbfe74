// SPDX-License-Identifier: GPL-2.0
/* A table of VBDs with a per-domain index (see vbdtab.h). */
#include "vbdtab.h"

static unsigned int vbd_hash(unsigned int domid, unsigned int devid)
{
	return (domid * 31 + devid) % VBDTAB_BUCKETS;
}

struct vbd_node *vbdtab_find(const struct vbd_table *t, unsigned int domid, unsigned int devid)
{
	struct vbd_node *n;

	for (n = t->bucket[vbd_hash(domid, devid)]; n; n = n->next)
		if (n->domid == domid && n->devid == devid)
			return n;
	return NULL;
}

void vbdtab_add(struct vbd_table *t, struct vbd_node *n, unsigned int domid, unsigned int devid)
{
	struct vbd_node **b = &t->bucket[vbd_hash(domid, devid)];
	struct vbd_node **d = &t->dom[domid % VBDTAB_DOM_BUCKETS];

	n->domid = domid;
	n->devid = devid;
	n->next = *b;
	*b = n;
	n->dom_next = *d;
	*d = n;
}

void vbdtab_del(struct vbd_table *t, struct vbd_node *n)
{
	struct vbd_node **p;

	for (p = &t->bucket[vbd_hash(n->domid, n->devid)]; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			break;
		}
	for (p = &t->dom[n->domid % VBDTAB_DOM_BUCKETS]; *p; p = &(*p)->dom_next)
		if (*p == n) {
			*p = n->dom_next;
			break;
		}
	n->next = n->dom_next = NULL;
}

/* n, or the first node after it in its domain's chain, of the same domain */
static struct vbd_node *same_domain(struct vbd_node *n, unsigned int domid)
{
	while (n && n->domid != domid)
		n = n->dom_next;
	return n;
}

struct vbd_node *vbdtab_dom_first(const struct vbd_table *t, unsigned int domid)
{
	return same_domain(t->dom[domid % VBDTAB_DOM_BUCKETS], domid);
}

struct vbd_node *vbdtab_dom_next(const struct vbd_node *n)
{
	return same_domain(n->dom_next, n->domid);
}

/* the first node of bucket i or a later one */
static struct vbd_node *from_bucket(const struct vbd_table *t, unsigned int i)
{
	for (; i < VBDTAB_BUCKETS; i++)
		if (t->bucket[i])
			return t->bucket[i];
	return NULL;
}

struct vbd_node *vbdtab_first(const struct vbd_table *t)
{
	return from_bucket(t, 0);
}

struct vbd_node *vbdtab_next(const struct vbd_table *t, const struct vbd_node *n)
{
	return n->next ? n->next : from_bucket(t, vbd_hash(n->domid, n->devid) + 1);
}
