// SPDX-License-Identifier: GPL-2.0
/* Stock-kernel mode: limits as the block throttle's lines (see throttle.h). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "limits.h"
#include "throttle.h"

int cg_parse_physdev(const char *s, unsigned int *maj, unsigned int *min, char *err, size_t errlen)
{
	unsigned long a, b;
	char *e;

	if (!s || !isxdigit((unsigned char)*s))
		goto bad;
	errno = 0;
	a = strtoul(s, &e, 16);
	if (errno || *e != ':' || !isxdigit((unsigned char)e[1]))
		goto bad;
	b = strtoul(e + 1, &e, 16);
	if (errno || (*e && *e != '\n') || a > 0xfff || b > 0xfffff)
		goto bad;
	*maj = a;
	*min = b;
	return 0;
bad:
	snprintf(err, errlen, "physical-device \"%s\" is not major:minor in hex", s ? s : "(null)");
	return -EINVAL;
}

static __u64 lower(__u64 a, __u64 b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	return a < b ? a : b;
}

void cg_io_rates(const struct blkqos_limits *l, __u64 rates[4])
{
	rates[0] = lower(l->read_iops.rate, l->iops.rate);
	rates[1] = lower(l->write_iops.rate, l->iops.rate);
	rates[2] = lower(l->read_bps.rate, l->bps.rate);
	rates[3] = lower(l->write_bps.rate, l->bps.rate);
}

/* io.max's keys, in the order of cg_io_rates() */
static const char *const iomax_key[4] = { "riops", "wiops", "rbps", "wbps" };

int cg_iomax_line(unsigned int maj, unsigned int min, const struct blkqos_limits *l,
		  char *buf, size_t len)
{
	__u64 r[4];
	size_t off;
	int i, n;

	cg_io_rates(l, r);
	n = snprintf(buf, len, "%u:%u", maj, min);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	off = n;
	for (i = 0; i < 4; i++) {
		if (r[i])
			n = snprintf(buf + off, len - off, " %s=%llu", iomax_key[i],
				     (unsigned long long)r[i]);
		else
			n = snprintf(buf + off, len - off, " %s=max", iomax_key[i]);
		if (n < 0 || (size_t)n >= len - off)
			return -ENOSPC;
		off += n;
	}
	return 0;
}

/* One "key=value" of an io.max line into rates[] (order of cg_io_rates), 0 = max. */
static bool iomax_field(const char *tok, __u64 rates[4])
{
	unsigned long long v;
	char *end;
	int i;

	for (i = 0; i < 4; i++) {
		size_t n = strlen(iomax_key[i]);

		if (strncmp(tok, iomax_key[i], n) || tok[n] != '=')
			continue;
		n++;
		if (!strcmp(tok + n, "max")) {
			rates[i] = 0;
			return true;
		}
		errno = 0;
		v = strtoull(tok + n, &end, 10);
		if (errno || *end || end == tok + n)
			return false;
		rates[i] = v;
		return true;
	}
	return true;	/* a key the throttle has beyond these four */
}

bool cg_iomax_holds(const char *content, unsigned int maj, unsigned int min,
		    const struct blkqos_limits *l)
{
	__u64 want[4], have[4] = { 0 };
	char dev[32], *copy, *line, *tok, *save, *save2;
	bool found = false, ok = true;

	cg_io_rates(l, want);
	snprintf(dev, sizeof(dev), "%u:%u", maj, min);
	copy = strdup(content);
	if (!copy)
		return false;	/* then the line is written */
	for (line = strtok_r(copy, "\n", &save); line && !found;
	     line = strtok_r(NULL, "\n", &save)) {
		tok = strtok_r(line, " ", &save2);
		if (!tok || strcmp(tok, dev))
			continue;
		found = true;
		while (ok && (tok = strtok_r(NULL, " ", &save2)))
			ok = iomax_field(tok, have);
	}
	free(copy);
	return ok && !memcmp(want, have, sizeof(want));
}

void cg_merge_domain(const struct blkqos_limits *vbd, const struct blkqos_limits *dom,
		     unsigned int dom_nr_vbds, struct blkqos_limits *out)
{
	int i;

	*out = *vbd;
	if (!dom || dom_nr_vbds != 1)
		return;
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *d = BLKQOS_LIMIT_AT(dom, i);
		struct blkqos_limit *o = blkqos_limit_at(out, i);

		if (d->rate && (!o->rate || d->rate < o->rate))
			*o = *d;
	}
}

static __u64 default_burst(__u64 rate)
{
	__u64 b = blkqos_default_burst(rate);

	return b < BLKQOS_BURST_MAX ? b : BLKQOS_BURST_MAX;
}

struct sbuf {
	char *buf;
	size_t len, off;
	int items;
};

static void add(struct sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add(struct sbuf *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	s->items++;
	if (!s->len || s->off >= s->len - 1)
		return;
	if (s->items > 1) {
		n = snprintf(s->buf + s->off, s->len - s->off, ", ");
		s->off = n > 0 && (size_t)n < s->len - s->off ? s->off + n : s->len - 1;
	}
	va_start(ap, fmt);
	n = vsnprintf(s->buf + s->off, s->len - s->off, fmt, ap);
	va_end(ap);
	s->off = n > 0 && (size_t)n < s->len - s->off ? s->off + n : s->len - 1;
}

static void scope_keys(struct sbuf *s, const struct blkqos_limits *l, const char *pfx)
{
	int i;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, i);

		if (!x->rate)
			continue;
		if (x->burst != default_burst(x->rate))
			add(s, "%s%s-burst=%llu", pfx, blkqos_limit_names[i],
			    (unsigned long long)x->burst);
		if (x->peak)
			add(s, "%s%s-peak=%llu", pfx, blkqos_limit_names[i],
			    (unsigned long long)x->peak);
	}
	if (l->iops_size)
		add(s, "%siops-size=%llu", pfx, (unsigned long long)l->iops_size);
}

int cg_unsupported_keys(const struct blkqos_limits *l, const struct blkqos_limits *dom,
			unsigned int dom_nr_vbds, bool dom_group, char *buf, size_t len)
{
	struct sbuf s = { buf, len, 0, 0 };
	struct blkqos_limits eff;

	if (len)
		buf[0] = '\0';
	scope_keys(&s, l, "");
	if (l->flush_mode != BLKQOS_FLUSH_OP)
		add(&s, "flush=exempt");
	if (l->discard_mode == BLKQOS_DISCARD_EXEMPT)
		add(&s, "discard=exempt");
	else if (l->discard_mode == BLKQOS_DISCARD_BYTES)
		add(&s, "discard=bytes");
	if (dom && blkqos_limits_any(dom)) {
		if (dom_nr_vbds == 1 || dom_group)
			scope_keys(&s, dom, "domain ");
		else
			add(&s, "domain limits across %u VBDs (need cgroup v2 and one backing device)",
			    dom_nr_vbds);
	}
	/* Total limits: enforced, but per direction. */
	cg_merge_domain(l, dom, dom_nr_vbds, &eff);
	if (eff.iops.rate)
		add(&s, "iops=%llu applies per direction", (unsigned long long)eff.iops.rate);
	if (eff.bps.rate)
		add(&s, "bps=%llu applies per direction", (unsigned long long)eff.bps.rate);
	if (dom && dom_nr_vbds > 1 && dom_group) {
		if (dom->iops.rate)
			add(&s, "domain iops=%llu applies per direction",
			    (unsigned long long)dom->iops.rate);
		if (dom->bps.rate)
			add(&s, "domain bps=%llu applies per direction",
			    (unsigned long long)dom->bps.rate);
	}
	return s.items;
}
