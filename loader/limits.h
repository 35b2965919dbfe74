/* SPDX-License-Identifier: GPL-2.0 */
/* Checking a limit against the engine's bounds and deriving its hot-path fields. */
#ifndef BLKQOS_LIMITS_H
#define BLKQOS_LIMITS_H

#include <stddef.h>
#include "blkqos.h"

/* The limit at index id (enum blkqos_limit_id) of a scope's limits. */
static inline struct blkqos_limit *blkqos_limit_at(struct blkqos_limits *l, int id)
{
	return BLKQOS_LIMIT_AT(l, id);
}

/* Does the scope limit anything (a rate, or iops-size)? */
static inline int blkqos_limits_any(const struct blkqos_limits *l)
{
	int i;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++)
		if (BLKQOS_LIMIT_AT(l, i)->rate)
			return 1;
	return l->iops_size != 0;
}

/* Canonical key names, indexed by enum blkqos_limit_id: "iops", "read-bps", ... */
extern const char *const blkqos_limit_names[BLKQOS_NR_LIMITS];

/*
 * Validate l against the engine's bounds and fill full_ns / peak_full_ns.
 * Returns 0, or -ERANGE with a reason in err (e.g. "rate 2e12 above 137438953472/s").
 */
int blkqos_limit_derive(struct blkqos_limit *l, char *err, size_t errlen);

/* Derive every limit of a scope; on error names the limit in err. */
int blkqos_limits_derive(struct blkqos_limits *l, char *err, size_t errlen);

/*
 * Carry bucket identity from the limits in force (old, may be NULL) to new
 * ones: a limit that stays limited keeps its epoch (the bucket keeps its
 * level); one that becomes limited gets a fresh epoch (its bucket starts full).
 * next_epoch supplies fresh, never-reused epoch values.
 */
void blkqos_limits_carry_epochs(const struct blkqos_limits *old, struct blkqos_limits *new,
				__u64 (*next_epoch)(void));

/* Default burst when the operator gives none: a tenth of a second, at least 1. */
static inline __u64 blkqos_default_burst(__u64 rate)
{
	__u64 b = rate / 10;

	return b ? b : 1;
}

#endif
