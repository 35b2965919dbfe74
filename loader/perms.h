/* SPDX-License-Identifier: GPL-2.0 */
/*
 * xenstore node permissions, read as xenstored reads them (perm_for_conn in
 * xenstored_core.c): the first entry names the owner, who may do anything,
 * and its letter is what every domain not listed gets; of the later entries
 * the first one naming the domain wins. A domain with a target (a
 * device-model stub domain) also matches the entries of its target.
 */
#ifndef BLKQOS_PERMS_H
#define BLKQOS_PERMS_H

#include <stdbool.h>
#include <xenstore_lib.h>

#define XSPERM_NO_TARGET	(-1)

/* XS_PERM_READ/WRITE/OWNER bits domain dom (target: its target domain, or
 * XSPERM_NO_TARGET) has on a node whose list is p[0..n-1]. Domain 0 and an
 * empty list: everything. */
unsigned int xsperm_of(const struct xs_permissions *p, unsigned int n, unsigned int dom,
		       int target);

/*
 * Could the guest write the node, itself or through a domain that counts as
 * it? is_stub(ctx, d) is asked about each other domain d the list names:
 * 1 if d is a stub domain whose target is the guest, 0 if not, < 0 if that
 * cannot be told (counted as 1: a key that may be the guest's is not
 * trusted). An empty list counts as writable.
 */
bool xsperm_guest_can_write(const struct xs_permissions *p, unsigned int n, unsigned int guest,
			    int (*is_stub)(void *ctx, unsigned int dom), void *ctx);

#endif
