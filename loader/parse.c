// SPDX-License-Identifier: GPL-2.0
/* Configuration values as operators write them, and the xenstore schema (parse.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "parse.h"
#include "limits.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Most significant fraction digits kept: 10^19 still fits a __u64. */
#define FRAC_DIGITS_MAX	19

/* ---- Small helpers ------------------------------------------------------ */

void qos_shown(const char *text, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	if (!len)
		return;
	if (!text)
		text = "";
	for (i = 0; text[i]; i++) {
		unsigned char c = text[i];

		/* Room for the longest escape, "..." and the NUL. */
		if (i == 48 || o + 8 > len) {
			if (o + 4 <= len) {
				memcpy(buf + o, "...", 3);
				o += 3;
			}
			break;
		}
		if (c == '"' || c == '\\') {
			buf[o++] = '\\';
			buf[o++] = c;
		} else if (c < 0x20 || c >= 0x7f) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[c >> 4];
			buf[o++] = hex[c & 15];
		} else {
			buf[o++] = c;
		}
	}
	buf[o] = '\0';
}

/* Write "\"<text>\": <reason>" into err; returns ret for tail calls. */
static int __attribute__((format(printf, 5, 6)))
fail(int ret, const char *text, char *err, size_t errlen, const char *fmt, ...)
{
	char shown[QOS_SHOWN_MAX], why[QOS_ERR_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!err || !errlen)
		return ret;
	if (text) {
		qos_shown(text, shown, sizeof(shown));
		snprintf(err, errlen, "\"%s\": %s", shown, why);
	} else {
		snprintf(err, errlen, "%s", why);
	}
	return ret;
}

/* Trim whitespace: [*start, *end) is what is left of text. */
static void trim(const char *text, const char **start, const char **end)
{
	const char *s, *e;

	if (!text)
		text = "";	/* an absent value reads as empty */
	s = text;
	e = text + strlen(text);

	while (s < e && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*start = s;
	*end = e;
}

static bool word_is(const char *s, const char *e, const char *word)
{
	size_t n = strlen(word);

	return (size_t)(e - s) == n && !strncasecmp(s, word, n);
}

static __u64 gcd(__u64 a, __u64 b)
{
	while (b) {
		__u64 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* ---- Decimal numbers with an exact fraction ----------------------------- */

/* whole.frac, frac having frac_digits significant digits (no trailing zeros). */
struct decimal {
	__u64 whole;
	__u64 frac;
	unsigned int frac_digits;
};

/*
 * Scan digits[.digits] at p. Returns the end of the number, or NULL with a
 * reason in why (-ERANGE in *ret for too large, else -EINVAL).
 */
static const char *scan_decimal(const char *p, const char *e, struct decimal *d,
				const char **why, int *ret)
{
	const char *frac_start, *frac_end;

	*d = (struct decimal){ 0 };
	*ret = -EINVAL;
	if (p == e || !isdigit((unsigned char)*p)) {
		*why = "not a number";
		return NULL;
	}
	for (; p < e && isdigit((unsigned char)*p); p++) {
		if (__builtin_mul_overflow(d->whole, 10, &d->whole) ||
		    __builtin_add_overflow(d->whole, *p - '0', &d->whole)) {
			*why = "too large (the maximum is 18446744073709551615)";
			*ret = -ERANGE;
			return NULL;
		}
	}
	if (p == e || *p != '.')
		return p;
	frac_start = ++p;
	while (p < e && isdigit((unsigned char)*p))
		p++;
	if (p == frac_start) {
		*why = "a decimal point must be followed by digits";
		return NULL;
	}
	/* Trailing zeros change nothing; drop them before counting digits. */
	for (frac_end = p; frac_end > frac_start && frac_end[-1] == '0'; frac_end--)
		;
	if (frac_end - frac_start > FRAC_DIGITS_MAX) {
		*why = "too many decimal places";
		return NULL;
	}
	for (; frac_start < frac_end; frac_start++) {
		d->frac = d->frac * 10 + (*frac_start - '0');
		d->frac_digits++;
	}
	return p;
}

/* d * mult into *out: 0, -ERANGE (past 2^64 - 1) or -EDOM (not whole). */
static int scale_decimal(const struct decimal *d, __u64 mult, __u64 *out)
{
	__u64 v, pow10 = 1, g, f;
	unsigned int i;

	if (__builtin_mul_overflow(d->whole, mult, &v))
		return -ERANGE;
	if (d->frac) {
		for (i = 0; i < d->frac_digits; i++)
			pow10 *= 10;
		/* frac / 10^k * mult is whole iff 10^k / gcd(frac, 10^k) divides mult. */
		g = gcd(d->frac, pow10);
		if (mult % (pow10 / g))
			return -EDOM;
		if (__builtin_mul_overflow(d->frac / g, mult / (pow10 / g), &f) ||
		    __builtin_add_overflow(v, f, &v))
			return -ERANGE;
	}
	*out = v;
	return 0;
}

/* ---- Amounts ------------------------------------------------------------ */

static const char *const unit_what[] = {
	[QOS_UNIT_IOPS] = "ops", [QOS_UNIT_BPS] = "bytes",
	[QOS_UNIT_OPS] = "ops", [QOS_UNIT_BYTES] = "bytes",
};

static bool unit_is_rate(enum qos_unit unit)
{
	return unit == QOS_UNIT_IOPS || unit == QOS_UNIT_BPS;
}

static bool unit_is_bytes(enum qos_unit unit)
{
	return unit == QOS_UNIT_BPS || unit == QOS_UNIT_BYTES;
}

/* The multiplier of a K/M/G/T[i] prefix letter, or 0. */
static __u64 prefix_mult(char c, bool binary)
{
	static const char letters[] = "kmgt";
	const char *l = strchr(letters, tolower((unsigned char)c));
	__u64 m = 1;
	int i;

	if (!c || !l)
		return 0;
	for (i = 0; i <= l - letters; i++)
		m *= binary ? 1024 : 1000;
	return m;
}

/*
 * The core of qos_parse_amount() on [s, e): the reason written to why does
 * not repeat the value (callers decide how to show it).
 */
static int parse_amount(const char *s, const char *e, enum qos_unit unit, __u64 *out,
			char *why, size_t whylen)
{
	struct decimal d;
	const char *p, *reason;
	__u64 mult = 1;
	int ret;

	if (s == e || word_is(s, e, "max") || word_is(s, e, "unlimited")) {
		*out = 0;
		return 0;
	}
	if (*s == '-')
		return fail(-EINVAL, NULL, why, whylen, "negative");
	if (e - s > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		return fail(-EINVAL, NULL, why, whylen, "hexadecimal is not accepted");
	p = scan_decimal(s, e, &d, &reason, &ret);
	if (!p)
		return fail(ret, NULL, why, whylen, "%s", reason);
	while (p < e && isspace((unsigned char)*p))
		p++;

	/* [K|M|G|T[i]][B][/s] */
	if (p < e && prefix_mult(*p, false)) {
		bool binary = p + 1 < e && (p[1] == 'i' || p[1] == 'I');

		mult = prefix_mult(*p, binary);
		p += 1 + binary;
	}
	if (p < e && *p == 'b')
		return fail(-EINVAL, NULL, why, whylen,
			    "lowercase \"b\" reads as bits; write \"B\" for bytes");
	if (p < e && *p == 'B') {
		if (!unit_is_bytes(unit))
			return fail(-EINVAL, NULL, why, whylen,
				    "\"B\" (bytes) on a value counted in ops");
		p++;
	}
	if (e - p >= 2 && p[0] == '/' && (p[1] == 's' || p[1] == 'S')) {
		if (!unit_is_rate(unit))
			return fail(-EINVAL, NULL, why, whylen, "\"/s\" on a value that is not a rate");
		p += 2;
	}
	if (p != e) {
		char junk[QOS_SHOWN_MAX], tmp[64];
		size_t n = (size_t)(e - p) < sizeof(tmp) ? (size_t)(e - p) : sizeof(tmp) - 1;

		memcpy(tmp, p, n);
		tmp[n] = '\0';
		qos_shown(tmp, junk, sizeof(junk));
		return fail(-EINVAL, NULL, why, whylen,
			    "unexpected \"%s\" (suffixes: K M G T, Ki Mi Gi Ti%s%s)", junk,
			    unit_is_bytes(unit) ? ", then B" : "",
			    unit_is_rate(unit) ? ", then /s" : "");
	}

	ret = scale_decimal(&d, mult, out);
	if (ret == -ERANGE)
		return fail(ret, NULL, why, whylen,
			    "too large (the maximum is 18446744073709551615)");
	if (ret == -EDOM)
		return fail(-EINVAL, NULL, why, whylen, "not a whole number of %s",
			    unit_what[unit]);
	return 0;
}

int qos_parse_amount(const char *text, enum qos_unit unit, __u64 *out,
		     char *err, size_t errlen)
{
	char why[QOS_ERR_MAX];
	const char *s, *e;
	int ret;

	if ((unsigned int)unit >= ARRAY_SIZE(unit_what))
		return fail(-EINVAL, NULL, err, errlen, "bad unit %d", (int)unit);
	trim(text, &s, &e);
	ret = parse_amount(s, e, unit, out, why, sizeof(why));
	if (ret)
		return fail(ret, text, err, errlen, "%s", why);
	return 0;
}

/* ---- Credit ------------------------------------------------------------- */

static int parse_credit(const char *s, const char *e, __u64 *rate, __u64 *burst,
			char *why, size_t whylen)
{
	static const struct { const char *name; __u64 ns; } units[] = {
		{ "ns", 1 }, { "us", 1000 }, { "ms", 1000000 }, { "s", 1000000000 },
	};
	const char *at = memchr(s, '@', e - s), *re = at ? at : e, *p, *reason;
	char inner[QOS_ERR_MAX];
	struct decimal d;
	__u64 ns = 0, r;
	size_t i;
	int ret;

	while (re > s && isspace((unsigned char)re[-1]))
		re--;
	if (re == s)
		return fail(-EINVAL, NULL, why, whylen, "no rate before \"@\"");
	ret = parse_amount(s, re, QOS_UNIT_IOPS, rate, inner, sizeof(inner));
	if (ret)
		return fail(ret, NULL, why, whylen, "rate: %s", inner);
	*burst = 0;
	if (!at)
		return 0;

	for (p = at + 1; p < e && isspace((unsigned char)*p); p++)
		;
	p = scan_decimal(p, e, &d, &reason, &ret);
	if (!p)
		return fail(ret, NULL, why, whylen, "interval: %s", reason);
	while (p < e && isspace((unsigned char)*p))
		p++;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (word_is(p, e, units[i].name))
			break;
	if (i == ARRAY_SIZE(units))
		return fail(-EINVAL, NULL, why, whylen,
			    "interval needs a unit: ns, us, ms or s");
	ret = scale_decimal(&d, units[i].ns, &ns);
	if (ret == -EDOM)
		return fail(-EINVAL, NULL, why, whylen, "interval is not a whole number of ns");
	if (ret)
		return fail(ret, NULL, why, whylen, "interval too long");
	if (!ns)
		return fail(-EINVAL, NULL, why, whylen, "interval is zero");
	if (!*rate)
		return 0;

	/* burst = ceil(rate * ns / 1e9), split so only a true overflow fails. */
	if (__builtin_mul_overflow(*rate, ns / 1000000000, burst) ||
	    __builtin_mul_overflow(*rate, ns % 1000000000, &r) ||
	    __builtin_add_overflow(*burst, r / 1000000000 + (r % 1000000000 != 0), burst))
		return fail(-ERANGE, NULL, why, whylen, "rate times interval is too large");
	return 0;
}

int qos_parse_credit(const char *text, __u64 *rate, __u64 *burst, char *err, size_t errlen)
{
	char why[QOS_ERR_MAX];
	const char *s, *e;
	int ret;

	trim(text, &s, &e);
	ret = parse_credit(s, e, rate, burst, why, sizeof(why));
	if (ret)
		return fail(ret, text, err, errlen, "%s", why);
	return 0;
}

/* ---- Modes -------------------------------------------------------------- */

static const char *const flush_names[] = {
	[BLKQOS_FLUSH_OP] = "charge", [BLKQOS_FLUSH_EXEMPT] = "exempt",
};

static const char *const discard_names[] = {
	[BLKQOS_DISCARD_OP] = "charge", [BLKQOS_DISCARD_EXEMPT] = "exempt",
	[BLKQOS_DISCARD_BYTES] = "bytes",
};

static int parse_mode(const char *s, const char *e, const char *const *names, size_t n,
		      __u32 *mode, char *why, size_t whylen)
{
	size_t i;

	if (s == e) {
		*mode = 0;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (word_is(s, e, names[i])) {
			*mode = i;
			return 0;
		}
	}
	return fail(-EINVAL, NULL, why, whylen, "expected %s%s%s%s%s", names[0],
		    n > 2 ? ", " : " or ", names[1], n > 2 ? " or " : "", n > 2 ? names[2] : "");
}

int qos_parse_flush_mode(const char *text, __u32 *mode, char *err, size_t errlen)
{
	char why[QOS_ERR_MAX];
	const char *s, *e;

	trim(text, &s, &e);
	if (parse_mode(s, e, flush_names, ARRAY_SIZE(flush_names), mode, why, sizeof(why)))
		return fail(-EINVAL, text, err, errlen, "%s", why);
	return 0;
}

int qos_parse_discard_mode(const char *text, __u32 *mode, char *err, size_t errlen)
{
	char why[QOS_ERR_MAX];
	const char *s, *e;

	trim(text, &s, &e);
	if (parse_mode(s, e, discard_names, ARRAY_SIZE(discard_names), mode, why, sizeof(why)))
		return fail(-EINVAL, text, err, errlen, "%s", why);
	return 0;
}

const char *qos_flush_mode_name(__u32 mode)
{
	return mode < ARRAY_SIZE(flush_names) ? flush_names[mode] : "?";
}

const char *qos_discard_mode_name(__u32 mode)
{
	return mode < ARRAY_SIZE(discard_names) ? discard_names[mode] : "?";
}

/* ---- Printing amounts --------------------------------------------------- */

int qos_format_amount(__u64 value, char *buf, size_t len)
{
	static const char *const suffix[] = { "", "K", "M", "G", "T" };
	__u64 best = value;
	const char *best_suffix = "";
	int i, n;

	if (!value) {
		n = snprintf(buf, len, "max");
	} else {
		/* The suffix leaving the smallest number; decimal wins a tie. */
		for (i = 1; i < (int)ARRAY_SIZE(suffix); i++) {
			__u64 dm = prefix_mult(suffix[i][0], false);
			__u64 bm = prefix_mult(suffix[i][0], true);

			if (value % bm == 0 && value / bm < best) {
				best = value / bm;
				best_suffix = i == 1 ? "Ki" : i == 2 ? "Mi" : i == 3 ? "Gi" : "Ti";
			}
			if (value % dm == 0 && value / dm <= best) {
				best = value / dm;
				best_suffix = suffix[i];
			}
		}
		n = snprintf(buf, len, "%llu%s", (unsigned long long)best, best_suffix);
	}
	if (n < 0 || (size_t)n >= len) {
		if (len)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}

/* ---- The xenstore schema ------------------------------------------------ */

int qos_slot_of_key(const char *name)
{
	static const char *const tail[] = { "", "-burst", "-peak" };
	size_t n;
	int i, t;

	if (!strcmp(name, "iops-size"))
		return QOS_SLOT_IOPS_SIZE;
	if (!strcmp(name, "flush"))
		return QOS_SLOT_FLUSH;
	if (!strcmp(name, "discard"))
		return QOS_SLOT_DISCARD;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		n = strlen(blkqos_limit_names[i]);
		if (strncmp(name, blkqos_limit_names[i], n))
			continue;
		for (t = 0; t < 3; t++)
			if (!strcmp(name + n, tail[t]))
				return 3 * i + t;
	}
	return -1;
}

int qos_slot_of_path(const char *name)
{
	int slot;

	if (!strncmp(name, "qos/", 4))
		return qos_slot_of_key(name + 4);
	for (slot = QOS_NR_QOS_SLOTS; slot < QOS_NR_SLOTS; slot++)
		if (!strcmp(name, qos_slot_name(slot)))
			return slot;
	return -1;
}

const char *qos_slot_name(int slot)
{
	static const char *const names[QOS_NR_SLOTS] = {
		"iops", "iops-burst", "iops-peak",
		"read-iops", "read-iops-burst", "read-iops-peak",
		"write-iops", "write-iops-burst", "write-iops-peak",
		"bps", "bps-burst", "bps-peak",
		"read-bps", "read-bps-burst", "read-bps-peak",
		"write-bps", "write-bps-burst", "write-bps-peak",
		"iops-size", "flush", "discard",
		"tokens-refill", "tokens-max", "credit",
	};

	return slot >= 0 && slot < QOS_NR_SLOTS ? names[slot] : "?";
}

/* The keys found, by slot (NULL = absent): the parser's index of a set of keys. */
struct qos_keyset {
	const char *name[QOS_NR_SLOTS];
	const char *value[QOS_NR_SLOTS];
};

/* Reporting, counting reports and refusals. */
struct reporter {
	qos_log_fn log;
	void *ctx;
	int reports;
	unsigned int errors;
};

static void __attribute__((format(printf, 5, 6)))
report(struct reporter *r, bool error, const char *key, const char *value, const char *fmt, ...)
{
	char k[QOS_SHOWN_MAX], v[QOS_SHOWN_MAX], why[QOS_ERR_MAX];
	va_list ap;

	r->reports++;
	r->errors += error;
	if (!r->log)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	qos_shown(key, k, sizeof(k));
	qos_shown(value, v, sizeof(v));
	r->log(r->ctx, k, v, why);
}

/* Parse one amount slot; absent = 0. Returns false (reported) if bad. */
static bool amount_slot(const struct qos_keyset *ks, int slot, enum qos_unit unit,
			__u64 *out, struct reporter *r)
{
	char why[QOS_ERR_MAX];
	const char *s, *e;

	*out = 0;
	if (!ks->value[slot])
		return true;
	trim(ks->value[slot], &s, &e);
	if (!parse_amount(s, e, unit, out, why, sizeof(why)))
		return true;
	report(r, true, ks->name[slot], ks->value[slot], "%s", why);
	return false;
}

static __u64 default_burst(__u64 rate)
{
	__u64 b = blkqos_default_burst(rate);

	/* Past 21 G/s a tenth of a second no longer fits the engine's bucket. */
	return b < BLKQOS_BURST_MAX ? b : BLKQOS_BURST_MAX;
}

/* Which slot to blame when blkqos_limit_derive() refuses l (same order of checks). */
static int derive_culprit(const struct blkqos_limit *l, int rate, int burst, int peak)
{
	if (l->rate > BLKQOS_RATE_MAX)
		return rate;
	if (l->burst > BLKQOS_BURST_MAX)
		return burst;
	return peak;
}

/*
 * Build limit id from the keyset into *l. Returns true if set as written
 * (or nothing set), false if a key was refused (reported).
 */
static bool build_limit(const struct qos_keyset *ks, int id, struct blkqos_limit *l,
			struct reporter *r)
{
	int rs = QOS_SLOT_RATE + 3 * id, bs = rs + 1, ps = rs + 2, culprit;
	bool ok = true, from_qos = ks->value[rs] || ks->value[bs] || ks->value[ps];
	char why[QOS_ERR_MAX], inner[QOS_ERR_MAX];
	const char *s, *e;
	int i;

	*l = (struct blkqos_limit){ 0 };
	if (id == BLKQOS_LIM_IOPS && from_qos) {
		for (i = QOS_SLOT_TOKENS_REFILL; i <= QOS_SLOT_CREDIT; i++)
			if (ks->value[i])
				report(r, false, ks->name[i], ks->value[i],
				       "ignored: qos/iops keys take precedence");
	}

	if (from_qos) {
		bool rate_unit_bytes = id >= BLKQOS_LIM_BPS;

		ok &= amount_slot(ks, rs, rate_unit_bytes ? QOS_UNIT_BPS : QOS_UNIT_IOPS,
				  &l->rate, r);
		ok &= amount_slot(ks, bs, rate_unit_bytes ? QOS_UNIT_BYTES : QOS_UNIT_OPS,
				  &l->burst, r);
		ok &= amount_slot(ks, ps, rate_unit_bytes ? QOS_UNIT_BPS : QOS_UNIT_IOPS,
				  &l->peak, r);
		for (i = bs; i <= ps; i++)
			if (ks->value[i] && !ks->value[rs])
				report(r, false, ks->name[i], ks->value[i],
				       "ignored: no rate (%s) is set", qos_slot_name(rs));
	} else if (id == BLKQOS_LIM_IOPS && ks->value[QOS_SLOT_TOKENS_REFILL]) {
		ok &= amount_slot(ks, QOS_SLOT_TOKENS_REFILL, QOS_UNIT_IOPS, &l->rate, r);
		ok &= amount_slot(ks, QOS_SLOT_TOKENS_MAX, QOS_UNIT_OPS, &l->burst, r);
		if (ks->value[QOS_SLOT_CREDIT])
			report(r, false, ks->name[QOS_SLOT_CREDIT], ks->value[QOS_SLOT_CREDIT],
			       "ignored: tokens-refill takes precedence");
		rs = QOS_SLOT_TOKENS_REFILL;
		bs = QOS_SLOT_TOKENS_MAX;
	} else if (id == BLKQOS_LIM_IOPS && ks->value[QOS_SLOT_CREDIT]) {
		if (ks->value[QOS_SLOT_TOKENS_MAX])
			report(r, false, ks->name[QOS_SLOT_TOKENS_MAX],
			       ks->value[QOS_SLOT_TOKENS_MAX], "ignored: no tokens-refill is set");
		trim(ks->value[QOS_SLOT_CREDIT], &s, &e);
		if (parse_credit(s, e, &l->rate, &l->burst, why, sizeof(why))) {
			report(r, true, ks->name[QOS_SLOT_CREDIT], ks->value[QOS_SLOT_CREDIT],
			       "%s", why);
			ok = false;
		}
		rs = bs = ps = QOS_SLOT_CREDIT;
	} else if (id == BLKQOS_LIM_IOPS && ks->value[QOS_SLOT_TOKENS_MAX]) {
		report(r, false, ks->name[QOS_SLOT_TOKENS_MAX], ks->value[QOS_SLOT_TOKENS_MAX],
		       "ignored: no tokens-refill is set");
	}
	if (!ok)
		return false;

	if (l->rate && !l->burst)
		l->burst = default_burst(l->rate);
	if (!blkqos_limit_derive(l, inner, sizeof(inner)))
		return true;
	culprit = derive_culprit(l, rs, bs, ps);
	/* A default burst is never the culprit (it is capped), so name is set. */
	report(r, true, ks->name[culprit] ? ks->name[culprit] : ks->name[rs],
	       ks->value[culprit] ? ks->value[culprit] : ks->value[rs], "%s", inner);
	return false;
}

static bool mode_slot(const struct qos_keyset *ks, int slot, __u32 *mode, struct reporter *r)
{
	char why[QOS_ERR_MAX];
	const char *s, *e;
	int ret;

	if (!ks->value[slot]) {
		*mode = 0;
		return true;
	}
	trim(ks->value[slot], &s, &e);
	if (slot == QOS_SLOT_FLUSH)
		ret = parse_mode(s, e, flush_names, ARRAY_SIZE(flush_names), mode, why, sizeof(why));
	else
		ret = parse_mode(s, e, discard_names, ARRAY_SIZE(discard_names), mode,
				 why, sizeof(why));
	if (!ret)
		return true;
	report(r, true, ks->name[slot], ks->value[slot], "%s", why);
	return false;
}

/* The limits of a set of keys by slot; *errors (may be NULL) as below. */
static int limits_from_keyset(const struct qos_keyset *ks, bool domain_scope,
			      const struct blkqos_limits *prev, struct blkqos_limits *out,
			      qos_log_fn log, void *log_ctx, unsigned int *errors)
{
	static const struct blkqos_limits unlimited;
	struct reporter r = { .log = log, .ctx = log_ctx };
	char why[QOS_ERR_MAX];
	const char *s, *e;
	int i, slot;

	if (!prev)
		prev = &unlimited;
	memset(out, 0, sizeof(*out));

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		struct blkqos_limit *l = blkqos_limit_at(out, i);

		if (build_limit(ks, i, l, &r))
			continue;
		/* Last good setting; re-derived in case prev was never derived. */
		*l = *((const struct blkqos_limit *)BLKQOS_LIMIT_AT(prev, i));
		l->epoch = l->peak_epoch = 0;
		if (blkqos_limit_derive(l, why, sizeof(why)))
			*l = (struct blkqos_limit){ 0 };
	}

	slot = QOS_SLOT_IOPS_SIZE;
	if (ks->value[slot]) {
		trim(ks->value[slot], &s, &e);
		if (parse_amount(s, e, QOS_UNIT_BYTES, &out->iops_size, why, sizeof(why))) {
			report(&r, true, ks->name[slot], ks->value[slot], "%s", why);
			out->iops_size = prev->iops_size;
		} else if (out->iops_size > QOS_IOPS_SIZE_MAX) {
			report(&r, true, ks->name[slot], ks->value[slot],
			       "iops-size %llu is above the maximum %llu",
			       (unsigned long long)out->iops_size, QOS_IOPS_SIZE_MAX);
			out->iops_size = prev->iops_size;
		}
		if (out->iops_size > QOS_IOPS_SIZE_MAX)
			out->iops_size = 0;
	}

	if (domain_scope) {
		for (slot = QOS_SLOT_FLUSH; slot <= QOS_SLOT_DISCARD; slot++)
			if (ks->value[slot])
				report(&r, false, ks->name[slot], ks->value[slot],
				       "ignored: %s applies to a disk, not to a domain",
				       qos_slot_name(slot));
	} else {
		if (!mode_slot(ks, QOS_SLOT_FLUSH, &out->flush_mode, &r))
			out->flush_mode = prev->flush_mode;
		if (!mode_slot(ks, QOS_SLOT_DISCARD, &out->discard_mode, &r))
			out->discard_mode = prev->discard_mode;
		if (out->flush_mode >= ARRAY_SIZE(flush_names))
			out->flush_mode = BLKQOS_FLUSH_OP;
		if (out->discard_mode >= ARRAY_SIZE(discard_names))
			out->discard_mode = BLKQOS_DISCARD_OP;
	}

	if (errors)
		*errors = r.errors;
	return r.reports;
}

int qos_scope_limits_from_keys(const struct qos_kv *kv, size_t n, bool domain_scope,
			       const struct blkqos_limits *prev, struct blkqos_limits *out,
			       qos_log_fn log, void *log_ctx, unsigned int *errors)
{
	struct reporter r = { .log = log, .ctx = log_ctx };
	struct qos_keyset ks;
	const char *name;
	size_t i;
	int slot;

	memset(&ks, 0, sizeof(ks));
	for (i = 0; i < n; i++) {
		name = kv[i].name;
		if (!name)
			continue;
		slot = qos_slot_of_path(name);
		if (slot < 0 && !strncmp(name, "qos/", 4)) {
			report(&r, false, name, kv[i].value, "unknown key, ignored");
			continue;
		}
		if (slot < 0)
			continue;	/* "qos" itself, or a key that is not ours */
		if (ks.value[slot])
			report(&r, false, name, kv[i].value,
			       "duplicate key; the last one is used");
		ks.name[slot] = name;
		ks.value[slot] = kv[i].value ? kv[i].value : "";
	}
	return r.reports + limits_from_keyset(&ks, domain_scope, prev, out, log, log_ctx,
					      errors);
}

int qos_limits_from_keys(const struct qos_kv *kv, size_t n,
			 const struct blkqos_limits *prev, struct blkqos_limits *out,
			 qos_log_fn log, void *log_ctx)
{
	return qos_scope_limits_from_keys(kv, n, false, prev, out, log, log_ctx, NULL);
}

int qos_dom_limits_from_keys(const struct qos_kv *kv, size_t n,
			     const struct blkqos_limits *prev, struct blkqos_limits *out,
			     qos_log_fn log, void *log_ctx)
{
	return qos_scope_limits_from_keys(kv, n, true, prev, out, log, log_ctx, NULL);
}

/* ---- A set of keys ------------------------------------------------------- */

static int keys_find(const struct qos_keys *k, const char *name)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		if (!strcmp(k->kv[i].name, name))
			return (int)i;
	return -1;
}

int qos_keys_set(struct qos_keys *k, const char *name, const char *value)
{
	int i = keys_find(k, name);
	char *v = strdup(value), *n;

	if (!v)
		return -ENOMEM;
	if (i >= 0) {
		free((char *)k->kv[i].value);
		k->kv[i].value = v;
		return 0;
	}
	if (k->n == k->cap) {
		size_t cap = k->cap ? 2 * k->cap : 16;
		struct qos_kv *kv = realloc(k->kv, cap * sizeof(*kv));

		if (!kv) {
			free(v);
			return -ENOMEM;
		}
		k->kv = kv;
		k->cap = cap;
	}
	n = strdup(name);
	if (!n) {
		free(v);
		return -ENOMEM;
	}
	k->kv[k->n].name = n;
	k->kv[k->n].value = v;
	k->n++;
	return 0;
}

const char *qos_keys_get(const struct qos_keys *k, const char *name)
{
	int i = keys_find(k, name);

	return i < 0 ? NULL : k->kv[i].value;
}

void qos_keys_unset(struct qos_keys *k, const char *name)
{
	int i = keys_find(k, name);

	if (i < 0)
		return;
	free((char *)k->kv[i].name);
	free((char *)k->kv[i].value);
	k->kv[i] = k->kv[--k->n];
}

void qos_keys_free(struct qos_keys *k)
{
	size_t i;

	for (i = 0; i < k->n; i++) {
		free((char *)k->kv[i].name);
		free((char *)k->kv[i].value);
	}
	free(k->kv);
	memset(k, 0, sizeof(*k));
}

/* ---- Documentation ------------------------------------------------------ */

#define LIMIT_DOCS(lim, what, unit, runit, ex, exb)				\
	{ "qos/" lim, runit, "unlimited", ex,					\
	  "Sustained rate of " what "; 0, max or unlimited = no limit." },	\
	{ "qos/" lim "-burst", unit, "rate/10 (0.1 s)", exb,			\
	  "Bucket size of qos/" lim ": how much may be spent at once." },	\
	{ "qos/" lim "-peak", runit, "none", ex,				\
	  "Rate ceiling while spending the burst of qos/" lim "; >= the rate." }

const struct qos_key_doc qos_key_docs[] = {
	LIMIT_DOCS("iops", "requests (read, write, flush, discard)", "ops", "ops/s", "500", "100"),
	LIMIT_DOCS("read-iops", "read requests", "ops", "ops/s", "300", "60"),
	LIMIT_DOCS("write-iops", "write requests (and charged flushes/discards)",
		   "ops", "ops/s", "200", "40"),
	LIMIT_DOCS("bps", "bytes read and written", "bytes", "bytes/s", "20M", "4M"),
	LIMIT_DOCS("read-bps", "bytes read", "bytes", "bytes/s", "50MiB", "8MiB"),
	LIMIT_DOCS("write-bps", "bytes written", "bytes", "bytes/s", "10MB/s", "2MB"),
	{ "qos/iops-size", "bytes", "0 (off)", "64Ki",
	  "A request larger than this counts as ceil(size / iops-size) ops." },
	{ "qos/flush", "mode", "charge", "exempt",
	  "Empty flushes: charge (one write op) or exempt; one with data is a write. Disks only." },
	{ "qos/discard", "mode", "charge", "bytes",
	  "Discards: charge (one write op), exempt, or bytes (op + extent). Disks only." },
	{ "tokens-refill", "ops/s", "unlimited", "1000",
	  "Compatibility (flat key): same as qos/iops; ignored if qos/iops* is set." },
	{ "tokens-max", "ops", "rate/10 (0.1 s)", "200",
	  "Compatibility (flat key): burst of tokens-refill." },
	{ "credit", "ops/s@interval", "unlimited", "5000/s@50ms",
	  "Compatibility (xend): qos/iops with burst = rate * interval; "
	  "ignored if qos/iops* or tokens-refill is set." },
	{ NULL, NULL, NULL, NULL, NULL },
};
