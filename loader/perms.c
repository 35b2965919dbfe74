// SPDX-License-Identifier: GPL-2.0
#include "perms.h"

#define XSPERM_ALL	(XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER)

static bool names(unsigned int id, unsigned int dom, int target)
{
	return id == dom || (target != XSPERM_NO_TARGET && id == (unsigned int)target);
}

unsigned int xsperm_of(const struct xs_permissions *p, unsigned int n, unsigned int dom,
		       int target)
{
	unsigned int i;

	if (dom == 0 || n == 0 || names(p[0].id, dom, target))
		return XSPERM_ALL;
	for (i = 1; i < n; i++)
		if (!(p[i].perms & XS_PERM_IGNORE) && names(p[i].id, dom, target))
			return p[i].perms & XSPERM_ALL;
	return p[0].perms & XSPERM_ALL;
}

bool xsperm_guest_can_write(const struct xs_permissions *p, unsigned int n, unsigned int guest,
			    int (*is_stub)(void *ctx, unsigned int dom), void *ctx)
{
	unsigned int i;

	if (xsperm_of(p, n, guest, XSPERM_NO_TARGET) & XS_PERM_WRITE)
		return true;
	/* A stub domain not listed has exactly its target's rights: only the
	 * domains the list names can differ. Domain 0 is nobody's stub. */
	for (i = 0; i < n; i++) {
		unsigned int d = p[i].id;

		if (d == guest || d == 0 || (i && (p[i].perms & XS_PERM_IGNORE)))
			continue;
		if (!(xsperm_of(p, n, d, (int)guest) & XS_PERM_WRITE))
			continue;
		if (is_stub && is_stub(ctx, d) != 0)
			return true;
	}
	return false;
}
