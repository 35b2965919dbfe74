/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VBD device names <-> device ids, following Xen's VBD interface
 * (docs/misc/vbd-interface.txt):
 *
 *   202 << 8 | disk << 4 | partition      xvd, disks and partitions 0..15
 *   1 << 28 | disk << 8 | partition       xvd, otherwise (disk < 2^20, partition <= 255)
 *   8 << 8 | disk << 4 | partition        sd, disks and partitions 0..15
 *   3 << 8 | disk << 6 | partition        hd, disks 0..1 (hda, hdb), partitions 0..63
 *   22 << 8 | (disk - 2) << 6 | partition hd, disks 2..3 (hdc, hdd), partitions 0..63
 *
 * Names: "xvda", "xvdb1", "xvdaa" (disk 26: letters count like spreadsheet
 * columns), "sdb3", "hdc2", Xen's "d<disk>[p<partition>]" (xvd: "d0p1"),
 * or the device id itself as a number (decimal, or hex with 0x: "51712",
 * "0xca00"). A name has no partition 0 ("xvda0" is refused: write "xvda").
 */
#ifndef BLKQOS_DEVNAME_H
#define BLKQOS_DEVNAME_H

#include <stddef.h>
#include <linux/types.h>

/* Longest name qos_devid_to_devname() writes, with its NUL ("xvdaaaaa255"). */
#define QOS_DEVNAME_MAX		16

/*
 * Returns 0 with *devid set, -EINVAL if name is not a device name, or
 * -ERANGE if it is one the encoding cannot express (e.g. "sdq": SCSI disks
 * past 15 are deprecated).
 */
int qos_devname_to_devid(const char *name, __u32 *devid);

/*
 * Name of devid ("xvda"). Returns 0, or -EINVAL if devid is not in a
 * canonical encoding above (buf then holds the number in decimal, which
 * qos_devname_to_devid() accepts back), or -ENOSPC if buf is too small.
 */
int qos_devid_to_devname(__u32 devid, char *buf, size_t len);

#endif
