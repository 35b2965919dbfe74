/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The rules file: limits that follow a guest by name across reboots (its
 * domid changes, its name does not). One rule a line:
 *
 *   # DOMAIN  DEVICE  KEY=VALUE...
 *   web01     xvda    bps=20M iops=500
 *   web01     51712   read-bps=50MiB read-bps-burst=8MiB
 *   web01     domain  iops=2000          # the whole domain
 *
 * DEVICE is a name or number as devname.h accepts (xvda, xvdb1, hda, sdb,
 * d0p1, 51712), or "domain" for a domain-wide limit. KEYs are the names of
 * the keys under qos/ (parse.h: iops, bps-burst, iops-size, flush...), with
 * the same values. "#" starts a comment anywhere; blank lines are fine.
 *
 * A line with any error (unknown key, bad value, bad device...) is skipped
 * whole and reported as FILE:LINE with the offending token; the other lines
 * are kept. A later rule for the same domain and device replaces an earlier
 * one (reported). flush/discard on a domain rule are reported and ignored.
 */
#ifndef BLKQOS_RULES_H
#define BLKQOS_RULES_H

#include <stdbool.h>
#include <stdio.h>
#include "blkqos.h"
#include "parse.h"

#define QOS_RULE_DOMAIN_MAX	255	/* longest domain name accepted */
#define QOS_RULE_LINE_MAX	4096	/* longest line accepted */

struct qos_rule {
	char *domain;			/* the domain's name */
	bool domain_scope;		/* DEVICE was "domain" */
	__u32 devid;			/* the VBD (unless domain_scope) */
	unsigned int line;		/* where it is defined */
	struct blkqos_limits limits;	/* derived; epochs 0 */
};

struct qos_rules {
	struct qos_rule *rule;
	size_t n;
	size_t cap;
};

/*
 * Read rules from f into out (which it initialises; free with
 * qos_rules_free() whatever the result). Problems are reported through
 * log(ctx, "FILE:LINE", token, reason). Returns the number of reports, or
 * -ENOMEM / -EIO (out then empty).
 */
int qos_rules_load(FILE *f, const char *filename, struct qos_rules *out,
		   qos_log_fn log, void *ctx);

void qos_rules_free(struct qos_rules *rules);

/* The rule for a domain's VBD, or for the domain as a whole; NULL if none. */
const struct qos_rule *qos_rules_find_vbd(const struct qos_rules *rules,
					  const char *domain, __u32 devid);
const struct qos_rule *qos_rules_find_domain(const struct qos_rules *rules,
					     const char *domain);

#endif
