/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The xenstore paths of the backend's VBDs, built here only:
 *   ROOT = /local/domain/<backend>/backend/vbd
 *   ROOT/<domid>           a domain (its qos/ holds the domain's limits)
 *   ROOT/<domid>/<devid>   a VBD (its qos/ holds the VBD's limits)
 */
#ifndef BLKQOS_XSPATH_H
#define BLKQOS_XSPATH_H

#include <stdio.h>

static inline void xs_vbd_root(char *buf, size_t len, unsigned int backend)
{
	snprintf(buf, len, "/local/domain/%u/backend/vbd", backend);
}

static inline void xs_dom_dir(char *buf, size_t len, const char *root, unsigned int domid)
{
	snprintf(buf, len, "%s/%u", root, domid);
}

static inline void xs_vbd_dir(char *buf, size_t len, const char *root, unsigned int domid,
			      unsigned int devid)
{
	snprintf(buf, len, "%s/%u/%u", root, domid, devid);
}

#endif
