/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stock mode's side of a sync: after the maps took a VBD's limits (the one
 * source for both modes), bring the VBD's cgroup in line with them: its
 * block-throttle limits on the backing device (the backend's
 * physical-device), its ring threads in it once the backend is Connected,
 * and its cgroup id in the stock_groups map so BPF counts its bios. What the
 * throttle cannot do is reported once per VBD and change.
 *
 * A backend event of a Connected VBD marks it for a look for its ring
 * threads; the loader's poll loop looks once per pass, after the pass's
 * events, for every VBD due (stock_look_ms / stock_look: one scan of /proc
 * serves them all, however many events marked them). blkback announces
 * Connected before it starts the ring threads, so a VBD with fewer threads
 * than the rings blkback offers (its own multi-queue-max-queues; never the
 * guest's multi-queue-num-queues, which the guest may rewrite) is looked at
 * again, at once while none is found, then a little later, for a bounded
 * time. Sooner than any look, BPF tells of each ring thread as blkback
 * names it (the ring_births ring buffer; stock_ring_born): it goes into its
 * VBD's group before it has run, if the loop wakes in time.
 */
#ifndef BLKQOS_STOCK_H
#define BLKQOS_STOCK_H

#include <stdbool.h>
#include <sys/types.h>
#include <xenstore.h>
#include "maps.h"
#include "sync.h"

struct stock;

/*
 * Set up the cgroup side (cgroup.h: v2 with io, else v1 blkio). any_task:
 * count user processes named like ring threads too (tests only: there are
 * no blkback kthreads on a host without Xen). NULL on failure, err says why.
 */
struct stock *stock_init(struct xs_handle *xs, struct blkqos_maps *maps, const char *vbd_root,
			 bool any_task, char *err, size_t errlen);
void stock_fini(struct stock *st);
/* The xenstore connection was opened again (after xenstored restarted). */
void stock_set_xs(struct stock *st, struct xs_handle *xs);

/* The sync's events, as the functions below take them (ctx: the stock). */
extern const struct sync_events stock_sync_events;

/* A VBD's limits changed (its backend as last read serves: cheap). */
void stock_vbd(struct stock *st, unsigned int domid, unsigned int devid);
/* A VBD's backend state or physical-device changed: read them, find its ring threads. */
void stock_vbd_backend(struct stock *st, unsigned int domid, unsigned int devid);
/* Every VBD of a domain (its limits changed). */
void stock_domain(struct stock *st, unsigned int domid);
/*
 * A VBD joined or left the domain: the others' groups change only through
 * the domain's limits (folded into a lone VBD, or on the domain's group), so
 * they are rewritten only when the domain has some.
 */
void stock_domain_members(struct stock *st, unsigned int domid);
/* The VBD is gone: remove its group. */
void stock_vbd_gone(struct stock *st, unsigned int domid, unsigned int devid);
/* The domain is gone: remove the groups of all its VBDs. */
void stock_domain_gone(struct stock *st, unsigned int domid);

/* ms until a VBD waiting for its ring threads is looked at again; 0: now; -1: none waits. */
int stock_look_ms(const struct stock *st);
/* Look for the ring threads of every VBD due, from one scan of /proc: once a loop pass. */
void stock_look(struct stock *st);
/*
 * A task was named pid, comm like a ring thread (the ring_births ring
 * buffer): into its VBD's group at once if it is one of a known VBD whose
 * group exists. Anything else waits for the looks.
 */
void stock_ring_born(struct stock *st, pid_t pid, const char *comm);
/* Ring threads moved at their birth so far. */
unsigned long stock_births_moved(const struct stock *st);
/* Scans of /proc for ring threads so far (the loop logs them per pass with -v). */
unsigned long stock_scans(const struct stock *st);

/* Remove every group (blkqos unload). Returns 0 or a negative errno (logged). */
int stock_remove_all(void);

#endif
