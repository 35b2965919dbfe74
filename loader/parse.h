/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Configuration values as operators write them, and the xenstore schema.
 * Pure code: no I/O, no globals that change; safe to fuzz.
 *
 * Amounts (rates, bursts, sizes):
 *   "500", "5k", "10M", "10MB", "10MiB", "1.5G", "10M/s", " 7 \n"
 *   - K, M, G, T are powers of 1000; Ki, Mi, Gi, Ti powers of 1024; the
 *     letter's case does not matter ("5k" = "5K", "10m" = "10M": there is no
 *     milli). They apply to ops and bytes alike.
 *   - A trailing "B" (bytes) is accepted on byte amounts only: "10MB" on an
 *     iops key is almost certainly a bps meant, so it is refused. A lowercase
 *     "b" is refused everywhere: it reads as bits.
 *   - "/s" is accepted on rates only.
 *   - A decimal point is fine when the scaled value is whole:
 *     "1.5M" = 1500000, "0.5Ki" = 512; "0.3" or "1.5" ops are refused.
 *   - "0", "max", "unlimited" (any case) and "" all mean 0, i.e. unlimited.
 *   - Whitespace around the value (and a trailing newline) is ignored;
 *     whitespace between the number and its suffix is allowed ("10 MiB").
 *   - Refused: negative, hex, exponents, "1.5.3", junk, anything past
 *     2^64 - 1. Engine bounds (BLKQOS_RATE_MAX...) are checked later by
 *     blkqos_limit_derive(); this layer only guarantees nothing wraps.
 */
#ifndef BLKQOS_PARSE_H
#define BLKQOS_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "blkqos.h"

/* What an amount counts; decides whether "/s" and "B" are allowed. */
enum qos_unit {
	QOS_UNIT_IOPS = 0,	/* a rate of ops per second */
	QOS_UNIT_BPS,		/* a rate of bytes per second */
	QOS_UNIT_OPS,		/* a number of ops (an iops burst) */
	QOS_UNIT_BYTES,		/* a number of bytes (a bps burst, iops-size) */
};

/*
 * Largest iops-size accepted. No blkif request comes near it, so a larger
 * value would mean the same as this one; the bound keeps the engine's
 * ceil(bytes / iops_size) from wrapping.
 */
#define QOS_IOPS_SIZE_MAX	(1ULL << 30)

/* Enough for any error message these functions write. */
#define QOS_ERR_MAX		256

/*
 * Parse an amount (see above). Returns 0 with *out set, or -EINVAL (syntax)
 * / -ERANGE (past 2^64 - 1) with a message naming the value in err.
 */
int qos_parse_amount(const char *text, enum qos_unit unit, __u64 *out,
		     char *err, size_t errlen);

/*
 * xend's credit syntax "RATE[/s][@INTERVAL]", e.g. "5000/s@50ms": RATE ops
 * per second, handed out every INTERVAL (ns, us, ms or s; required unit).
 * The bucket holds one interval's worth: burst = ceil(rate * interval), at
 * least 1. Without "@INTERVAL" the burst is left 0 (the caller's default).
 * A rate of 0 means unlimited (burst 0).
 */
int qos_parse_credit(const char *text, __u64 *rate, __u64 *burst,
		     char *err, size_t errlen);

/* "charge" (the default, also for "") or "exempt": enum blkqos_flush_mode. */
int qos_parse_flush_mode(const char *text, __u32 *mode, char *err, size_t errlen);

/* "charge" (the default, also for ""), "exempt" or "bytes": enum blkqos_discard_mode. */
int qos_parse_discard_mode(const char *text, __u32 *mode, char *err, size_t errlen);

/* Names of the modes, for printing: never NULL ("?" for an unknown mode). */
const char *qos_flush_mode_name(__u32 mode);
const char *qos_discard_mode_name(__u32 mode);

/*
 * Print an amount so that qos_parse_amount() reads it back exactly:
 * 0 -> "max", 500 -> "500", 10000000 -> "10M", 1048576 -> "1Mi",
 * 1500000 -> "1500K" (the largest suffix that divides it exactly).
 * Returns the length, or -ENOSPC if buf is too small (buf then holds "").
 * 24 bytes are always enough.
 */
int qos_format_amount(__u64 value, char *buf, size_t len);

/*
 * Copy text into buf printable and on one line: control and non-ASCII bytes
 * become \xNN, '"' and '\\' are escaped, and anything past about 48 input
 * bytes becomes "...". Used for every value put in a message.
 */
#define QOS_SHOWN_MAX		(48 * 4 + 8)
void qos_shown(const char *text, char *buf, size_t len);

/* ---- The xenstore schema ------------------------------------------------ */

/*
 * One xenstore key of a VBD (or domain), name relative to the backend
 * directory /local/domain/<backend>/backend/vbd/<domid>/<devid>/:
 * "qos/iops", "qos/read-bps-burst", "tokens-refill", "credit", ...
 * Keys that are not QoS keys (params, mode, state...) may be passed too and
 * are ignored; so is the "qos" directory node itself.
 */
struct qos_kv {
	const char *name;
	const char *value;
};

/*
 * A set of keys as read from xenstore or given on a command line: the one
 * container of them, each name and value owned (copied in, freed by
 * qos_keys_free). Pass .kv and .n to qos_limits_from_keys().
 */
struct qos_keys {
	struct qos_kv *kv;
	size_t n, cap;
};

/* Set name to value (both copied), replacing its value if name is there. */
int qos_keys_set(struct qos_keys *k, const char *name, const char *value);

/* The value of name, or NULL. */
const char *qos_keys_get(const struct qos_keys *k, const char *name);

/* Remove name if it is there. */
void qos_keys_unset(struct qos_keys *k, const char *name);

/* Free every key and the array; k is then empty. */
void qos_keys_free(struct qos_keys *k);

/*
 * Reports a problem with one key: key and value are printable and shortened
 * (see qos_shown()), reason is one line and does not repeat the value.
 * Suggested format: "%s: \"%s\": %s". Called once per problem.
 */
typedef void (*qos_log_fn)(void *ctx, const char *key, const char *value, const char *reason);

/*
 * Build a VBD's limits from its keys.
 *
 * Keys under qos/: for each limit L of iops, read-iops, write-iops, bps,
 * read-bps, write-bps: "qos/L" (the rate), "qos/L-burst" (bucket size;
 * missing, empty or 0 = blkqos_default_burst(rate), capped at
 * BLKQOS_BURST_MAX) and "qos/L-peak" (rate ceiling while spending the
 * burst; 0 = none). Also "qos/iops-size" (bytes; 0 = off), "qos/flush" and
 * "qos/discard" (modes).
 *
 * Flat keys, for compatibility, all setting the total iops limit:
 * "tokens-refill" (ops/s) with "tokens-max" (burst, ops), and xend's
 * "credit" ("5000/s@50ms"). If any of qos/iops, qos/iops-burst,
 * qos/iops-peak exists, the flat keys are ignored (and reported); else
 * tokens-* are used if present (credit then reported ignored); else credit.
 *
 * A bad value, or a limit blkqos_limit_derive() refuses, is reported and
 * that whole limit (rate, burst and peak) or mode keeps its setting from
 * prev: the last good setting stays in force. prev == NULL means
 * unlimited. Unknown keys under qos/, a burst or peak without its rate, and
 * duplicates are reported and change nothing.
 *
 * out is always valid on return (derived fields filled; epochs are left 0 for
 * the caller's blkqos_limits_carry_epochs()). Returns the number of reports
 * (0 when everything was taken as written).
 */
int qos_limits_from_keys(const struct qos_kv *kv, size_t n,
			 const struct blkqos_limits *prev, struct blkqos_limits *out,
			 qos_log_fn log, void *log_ctx);

/* The same for a domain-wide scope: flush and discard are reported and ignored. */
int qos_dom_limits_from_keys(const struct qos_kv *kv, size_t n,
			     const struct blkqos_limits *prev, struct blkqos_limits *out,
			     qos_log_fn log, void *log_ctx);

/*
 * Either of them by domain_scope; *errors (may be NULL) gets the number of
 * keys refused (bad values), as opposed to notes on keys that were ignored.
 */
int qos_scope_limits_from_keys(const struct qos_kv *kv, size_t n, bool domain_scope,
			       const struct blkqos_limits *prev, struct blkqos_limits *out,
			       qos_log_fn log, void *log_ctx, unsigned int *errors);

/* Every key, for the README and --help. Ends with an entry whose name is NULL. */
struct qos_key_doc {
	const char *name;	/* relative to the backend directory */
	const char *unit;
	const char *dflt;
	const char *example;
	const char *description;
};

extern const struct qos_key_doc qos_key_docs[];

/* ---- Lower level, shared with rules.c ----------------------------------- */

/* Slots of the keys, for the three per limit: QOS_SLOT_RATE + 3 * limit id... */
enum qos_slot {
	QOS_SLOT_RATE = 0,	/* + 3 * enum blkqos_limit_id */
	QOS_SLOT_BURST = 1,
	QOS_SLOT_PEAK = 2,
	QOS_SLOT_IOPS_SIZE = 3 * BLKQOS_NR_LIMITS,
	QOS_SLOT_FLUSH,
	QOS_SLOT_DISCARD,
	QOS_NR_QOS_SLOTS,	/* above: keys under qos/; below: flat keys */
	QOS_SLOT_TOKENS_REFILL = QOS_NR_QOS_SLOTS,
	QOS_SLOT_TOKENS_MAX,
	QOS_SLOT_CREDIT,
	QOS_NR_SLOTS,
};

/* Room for a key's path: "qos/" and the longest name, "write-iops-burst". */
#define QOS_KEY_PATH_MAX	32

/* Slot of a key's own name, as under qos/ ("iops-burst"), or -1. */
int qos_slot_of_key(const char *name);

/*
 * Slot of a key by its path relative to the backend directory:
 * "qos/iops-burst", or a flat compatibility key ("tokens-refill",
 * "tokens-max", "credit"); -1 for anything else.
 */
int qos_slot_of_path(const char *name);

/* Name of a slot relative to qos/, or the flat key's name. */
const char *qos_slot_name(int slot);

#endif
