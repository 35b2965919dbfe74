// SPDX-License-Identifier: GPL-2.0
/* VBD device names <-> device ids (devname.h). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "devname.h"

#define XVD_MAJOR	202
#define SD_MAJOR	8
#define HD_MAJOR_01	3
#define HD_MAJOR_23	22
#define XVD_EXT		(1U << 28)
#define RESERVED	(2U << 28)	/* and above: reserved for future use */
#define XVD_EXT_DISKS	(1U << 20)
#define LETTERS_MAX	5		/* "zzzzz" is past XVD_EXT_DISKS already */

enum disk_type { TYPE_XVD, TYPE_SD, TYPE_HD };

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Decimal number at *p, without leading zeros ("0" alone is fine); moves *p.
 * Returns 0, -EINVAL if there is none, or -ERANGE if it exceeds max.
 */
static int scan_number(const char **p, unsigned long max, unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;

	if (!is_digit(*s) || (s[0] == '0' && is_digit(s[1])))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		v = v * 10 + (*s - '0');
		if (v > max)
			return -ERANGE;
	}
	*p = s;
	*out = v;
	return 0;
}

/* Encode; -ERANGE when the type's encoding has no room for disk/part. */
static int encode(enum disk_type type, unsigned long disk, unsigned long part, __u32 *devid)
{
	switch (type) {
	case TYPE_XVD:
		if (disk <= 15 && part <= 15)
			*devid = XVD_MAJOR << 8 | disk << 4 | part;
		else if (disk < XVD_EXT_DISKS && part <= 255)
			*devid = XVD_EXT | disk << 8 | part;
		else
			return -ERANGE;
		return 0;
	case TYPE_SD:
		if (disk > 15 || part > 15)
			return -ERANGE;
		*devid = SD_MAJOR << 8 | disk << 4 | part;
		return 0;
	case TYPE_HD:
		if (disk > 3 || part > 63)
			return -ERANGE;
		*devid = disk < 2 ? (HD_MAJOR_01 << 8 | disk << 6 | part) :
				    (HD_MAJOR_23 << 8 | (disk - 2) << 6 | part);
		return 0;
	}
	return -EINVAL;
}

/* A plain device id: decimal, or hex after 0x. Leading-zero octal is refused. */
static int parse_number(const char *s, __u32 *devid)
{
	unsigned long long v = 0;
	bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
	const char *p = hex ? s + 2 : s;
	int digit;

	if (!*p || (!hex && s[0] == '0' && s[1]))
		return -EINVAL;
	for (; *p; p++) {
		if (is_digit(*p))
			digit = *p - '0';
		else if (hex && ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'f'))
			digit = (*p | 0x20) - 'a' + 10;
		else
			return -EINVAL;
		v = v * (hex ? 16 : 10) + digit;
		if (v > 0xffffffffULL)
			return -ERANGE;
	}
	*devid = v;
	return 0;
}

int qos_devname_to_devid(const char *name, __u32 *devid)
{
	static const struct { const char *prefix; enum disk_type type; } types[] = {
		{ "xvd", TYPE_XVD }, { "sd", TYPE_SD }, { "hd", TYPE_HD },
	};
	unsigned long disk = 0, part = 0;
	const char *p = NULL;
	size_t i, n;
	int ret;

	if (!name || !*name)
		return -EINVAL;
	if (is_digit(name[0]))
		return parse_number(name, devid);

	/* Xen's d<disk>[p<partition>] syntax, for xvd disks. */
	if (name[0] == 'd' && is_digit(name[1])) {
		p = name + 1;
		ret = scan_number(&p, XVD_EXT_DISKS - 1, &disk);
		if (ret)
			return ret;
		if (*p == 'p') {
			p++;
			ret = scan_number(&p, 255, &part);
			if (ret)
				return ret;
		}
		return *p ? -EINVAL : encode(TYPE_XVD, disk, part, devid);
	}

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		n = strlen(types[i].prefix);
		if (!strncmp(name, types[i].prefix, n)) {
			p = name + n;
			break;
		}
	}
	if (!p || *p < 'a' || *p > 'z')
		return -EINVAL;

	/* Bijective base 26: a..z = 0..25, aa = 26, ab = 27, ... */
	for (n = 0; *p >= 'a' && *p <= 'z'; p++, n++) {
		if (n == LETTERS_MAX)
			return -ERANGE;
		disk = (n ? disk + 1 : 0) * 26 + (*p - 'a');
	}
	if (*p) {
		/* Partitions count from 1; whole disks have no number. */
		if (*p == '0')
			return -EINVAL;
		ret = scan_number(&p, 255, &part);
		if (ret)
			return ret;
		if (*p)
			return -EINVAL;
	}
	return encode(types[i].type, disk, part, devid);
}

/* Write prefix, the disk's letters and the partition (if any) into buf. */
static int format_name(const char *prefix, unsigned long disk, unsigned long part,
		       char *buf, size_t len)
{
	char letters[LETTERS_MAX + 1];
	int i = LETTERS_MAX, n;

	letters[i] = '\0';
	do {
		letters[--i] = 'a' + disk % 26;
		disk = disk / 26;
	} while (disk-- > 0);
	if (part)
		n = snprintf(buf, len, "%s%s%lu", prefix, letters + i, part);
	else
		n = snprintf(buf, len, "%s%s", prefix, letters + i);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return 0;
}

int qos_devid_to_devname(__u32 devid, char *buf, size_t len)
{
	unsigned long disk, part;
	const char *prefix;
	__u32 check;
	int n;

	if (devid >= RESERVED) {
		goto number;
	} else if (devid & XVD_EXT) {
		prefix = "xvd";
		disk = (devid >> 8) & (XVD_EXT_DISKS - 1);
		part = devid & 0xff;
	} else if (devid >> 8 == XVD_MAJOR) {
		prefix = "xvd";
		disk = (devid >> 4) & 15;
		part = devid & 15;
	} else if (devid >> 8 == SD_MAJOR) {
		prefix = "sd";
		disk = (devid >> 4) & 15;
		part = devid & 15;
	} else if (devid >> 8 == HD_MAJOR_01) {
		prefix = "hd";
		disk = (devid >> 6) & 3;
		part = devid & 63;
	} else if (devid >> 8 == HD_MAJOR_23) {
		prefix = "hd";
		disk = 2 + ((devid >> 6) & 3);
		part = devid & 63;
	} else {
		goto number;
	}
	/* Only canonical encodings get a name, so that names always map back. */
	if (encode(prefix[0] == 'x' ? TYPE_XVD : prefix[0] == 's' ? TYPE_SD : TYPE_HD,
		   disk, part, &check) || check != devid)
		goto number;
	return format_name(prefix, disk, part, buf, len);

number:
	n = snprintf(buf, len, "%lu", (unsigned long)devid);
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return -EINVAL;
}
