// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition (format 0.0.4). Names follow what operators
 * already scrape for VM disks, the libvirt exporters'
 * libvirt_domain_block_stats_{read,write}_{bytes,requests}_total with
 * labels domain and target_device, under blkqos's own prefix, with the
 * labels domid and vbd added, and direction where the name has none. The
 * series of one family must be contiguous: every VBD is read first, sorted
 * by domid and devid, then printed family by family.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "devname.h"
#include "limits.h"
#include "metrics.h"
#include "stats.h"

struct row {
	struct blkqos_vbd_key key;
	struct blkqos_vbd v;
	struct blkqos_buckets vb, db;
	struct blkqos_stats st;
	struct blkqos_hist h;
	bool dom_first;		/* the domain's first row: its domain series */
	char labels[METRICS_NAME_MAX * 2 + 96];	/* domain=...,target_device=...,domid,vbd */
	char dom_labels[METRICS_NAME_MAX * 2 + 32];	/* domain=...,domid */
};

struct rows {
	struct row *r;
	size_t n;
	bool stock;
	__u64 now;
};

/* A label value: backslash, double quote and newline escaped (the format's rule). */
static void escape_label(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 3 < len; in++) {
		if (*in == '\\' || *in == '"') {
			out[o++] = '\\';
			out[o++] = *in;
		} else if (*in == '\n') {
			out[o++] = '\\';
			out[o++] = 'n';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->key.domid != y->key.domid)
		return x->key.domid < y->key.domid ? -1 : 1;
	return x->key.devid < y->key.devid ? -1 : x->key.devid > y->key.devid;
}

/* Read every VBD's entry, buckets, stats and histogram; sorted. */
static int rows_read(struct rows *rs, struct blkqos_maps *m)
{
	struct blkqos_vbd_key k, *prev = NULL;
	size_t cap = 0;

	while (blkqos_maps_vbd_next(m, prev, &k) == 0) {
		struct row *r;

		prev = &k;
		if (rs->n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct row *nr = realloc(rs->r, ncap * sizeof(*nr));

			if (!nr)
				return -ENOMEM;
			rs->r = nr;
			cap = ncap;
		}
		r = &rs->r[rs->n];
		memset(r, 0, sizeof(*r));
		r->key = k;
		if (blkqos_maps_vbd_get(m, k.domid, k.devid, &r->v) ||
		    blkqos_maps_vbd_buckets(m, r->v.slot, &r->vb) ||
		    blkqos_maps_dom_buckets(m, r->v.dom_slot, &r->db) ||
		    blkqos_maps_vbd_stats(m, r->v.slot, &r->st))
			continue;	/* gone meanwhile */
		if (blkqos_maps_vbd_hist(m, r->v.slot, &r->h))
			memset(&r->h, 0, sizeof(r->h));
		rs->n++;
	}
	if (rs->n)
		qsort(rs->r, rs->n, sizeof(*rs->r), row_cmp);
	return 0;
}

static void rows_label(struct rows *rs, const struct metrics_src *src)
{
	char name[METRICS_NAME_MAX] = "", esc[METRICS_NAME_MAX * 2], dev[QOS_DEVNAME_MAX];
	size_t i;

	for (i = 0; i < rs->n; i++) {
		struct row *r = &rs->r[i];

		r->dom_first = !i || rs->r[i - 1].key.domid != r->key.domid;
		if (r->dom_first) {
			name[0] = 0;
			if (src->dom_name)
				src->dom_name(src->ctx, r->key.domid, name, sizeof(name));
			escape_label(name, esc, sizeof(esc));
		}
		if (qos_devid_to_devname(r->key.devid, dev, sizeof(dev)) < 0)
			snprintf(dev, sizeof(dev), "%u", r->key.devid);
		snprintf(r->labels, sizeof(r->labels),
			 "domain=\"%s\",target_device=\"%s\",domid=\"%u\",vbd=\"%u\"", esc, dev,
			 r->key.domid, r->key.devid);
		snprintf(r->dom_labels, sizeof(r->dom_labels), "domain=\"%s\",domid=\"%u\"", esc,
			 r->key.domid);
	}
}

static void header(FILE *o, const char *name, const char *type, const char *help)
{
	fprintf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* --- counters ------------------------------------------------------------ */

enum counter {
	C_READ_REQ, C_READ_BYTES, C_WRITE_REQ, C_WRITE_BYTES, C_FLUSH_REQ, C_DISCARD_REQ,
	C_DISCARD_BYTES, C_THROTTLED, C_THROTTLED_S, C_UNTHROTTLED_REQ, C_UNTHROTTLED_BYTES,
	NR_COUNTERS,
};

static const struct {
	const char *name;
	const char *help;
	int bpf_only;	/* 1: not in stock mode (not measured); -1: stock mode only */
} counters[NR_COUNTERS] = {
	[C_READ_REQ] = { "blkqos_block_stats_read_requests_total", "Read requests dispatched." },
	[C_READ_BYTES] = { "blkqos_block_stats_read_bytes_total", "Bytes read." },
	[C_WRITE_REQ] = { "blkqos_block_stats_write_requests_total",
			  "Write requests dispatched (with flushes and barriers carrying data)." },
	[C_WRITE_BYTES] = { "blkqos_block_stats_write_bytes_total", "Bytes written." },
	[C_FLUSH_REQ] = { "blkqos_block_stats_flush_requests_total",
			  "Empty flush and barrier requests dispatched." },
	[C_DISCARD_REQ] = { "blkqos_block_stats_discard_requests_total",
			    "Discard requests dispatched." },
	[C_DISCARD_BYTES] = { "blkqos_block_stats_discard_bytes_total",
			      "Bytes discarded (each discard's extent)." },
	[C_THROTTLED] = { "blkqos_block_stats_throttled_requests_total",
			  "Requests held back by a limit (bpf mode: parked by blkback; stock mode: "
			  "bios the block throttle held)." },
	[C_THROTTLED_S] = { "blkqos_block_stats_throttled_seconds_total",
			    "Time the throttled requests were held, summed (bpf mode only).", 1 },
	[C_UNTHROTTLED_REQ] = { "blkqos_block_stats_unthrottled_requests_total",
				"Stock mode: bios a ring thread submitted before the loader moved "
				"it into its VBD's group (the throttle never saw them).", -1 },
	[C_UNTHROTTLED_BYTES] = { "blkqos_block_stats_unthrottled_bytes_total",
				  "Stock mode: bytes of those bios.", -1 },
};

static void counter_value(FILE *o, const struct blkqos_stats *s, enum counter c)
{
	static const size_t off[] = {
		[C_READ_REQ] = offsetof(struct blkqos_stats, read.ops),
		[C_READ_BYTES] = offsetof(struct blkqos_stats, read.bytes),
		[C_WRITE_REQ] = offsetof(struct blkqos_stats, write.ops),
		[C_WRITE_BYTES] = offsetof(struct blkqos_stats, write.bytes),
		[C_FLUSH_REQ] = offsetof(struct blkqos_stats, flush.ops),
		[C_DISCARD_REQ] = offsetof(struct blkqos_stats, discard.ops),
		[C_DISCARD_BYTES] = offsetof(struct blkqos_stats, discard.bytes),
		[C_THROTTLED] = offsetof(struct blkqos_stats, deferrals),
		[C_THROTTLED_S] = offsetof(struct blkqos_stats, deferred_ns),
		[C_UNTHROTTLED_REQ] = offsetof(struct blkqos_stats, unthrottled.ops),
		[C_UNTHROTTLED_BYTES] = offsetof(struct blkqos_stats, unthrottled.bytes),
	};
	__u64 v;

	memcpy(&v, (const char *)s + off[c], sizeof(v));
	if (c == C_THROTTLED_S)
		fprintf(o, "%llu.%09llu\n", (unsigned long long)(v / 1000000000ULL),
			(unsigned long long)(v % 1000000000ULL));
	else
		fprintf(o, "%llu\n", (unsigned long long)v);
}

static void print_counters(FILE *o, const struct rows *rs)
{
	size_t i;
	int c;

	for (c = 0; c < NR_COUNTERS; c++) {
		if (counters[c].bpf_only && (counters[c].bpf_only > 0) == rs->stock)
			continue;
		header(o, counters[c].name, "counter", counters[c].help);
		for (i = 0; i < rs->n; i++) {
			fprintf(o, "%s{%s} ", counters[c].name, rs->r[i].labels);
			counter_value(o, &rs->r[i].st, c);
		}
	}
}

/* --- limits and bucket levels ---------------------------------------------- */

static const char *const lim_direction[BLKQOS_NR_LIMITS] = {
	[BLKQOS_LIM_IOPS] = "total", [BLKQOS_LIM_READ_IOPS] = "read",
	[BLKQOS_LIM_WRITE_IOPS] = "write", [BLKQOS_LIM_BPS] = "total",
	[BLKQOS_LIM_READ_BPS] = "read", [BLKQOS_LIM_WRITE_BPS] = "write",
};

static bool lim_is_bytes(int id)
{
	return id >= BLKQOS_LIM_BPS;
}

enum lim_field { F_RATE, F_BURST, F_PEAK, F_LEVEL };

/* A gauge family over the configured limits of one scope and unit. */
struct lim_family {
	const char *name;
	const char *help;
	bool dom;
	bool bytes;
	enum lim_field field;
};

static void print_level(FILE *o, const char *name, const char *labels, const char *dir,
			const char *bucket, double v)
{
	fprintf(o, "%s{%s,direction=\"%s\",bucket=\"%s\"} %.3f\n", name, labels, dir, bucket, v);
}

static void print_lim_family(FILE *o, const struct rows *rs, const struct lim_family *f)
{
	bool headed = false;
	size_t i;
	int id;

	for (i = 0; i < rs->n; i++) {
		const struct row *r = &rs->r[i];
		const struct blkqos_limits *l = f->dom ? &r->v.dom_limits : &r->v.limits;
		const struct blkqos_buckets *b = f->dom ? &r->db : &r->vb;
		const char *labels = f->dom ? r->dom_labels : r->labels;

		if (f->dom && !r->dom_first)
			continue;
		for (id = 0; id < BLKQOS_NR_LIMITS; id++) {
			const struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, id);
			const struct blkqos_bucket_pair *bp = BLKQOS_PAIR_AT(b, id);

			if (!x->rate || lim_is_bytes(id) != f->bytes)
				continue;
			if (f->field == F_PEAK && !x->peak)
				continue;
			if (!headed)
				header(o, f->name, "gauge", f->help);
			headed = true;
			if (f->field == F_LEVEL) {
				print_level(o, f->name, labels, lim_direction[id], "sustained",
					    stats_bucket_tokens(&bp->sustained, x, false, rs->now));
				if (x->peak)
					print_level(o, f->name, labels, lim_direction[id], "peak",
						    stats_bucket_tokens(&bp->peak, x, true,
									rs->now));
				continue;
			}
			fprintf(o, "%s{%s,direction=\"%s\"} %llu\n", f->name, labels,
				lim_direction[id],
				(unsigned long long)(f->field == F_RATE ? x->rate :
						     f->field == F_BURST ? x->burst : x->peak));
		}
	}
}

static void print_iops_size(FILE *o, const struct rows *rs, bool dom)
{
	const char *name = dom ? "blkqos_domain_limit_iops_size_bytes" :
				 "blkqos_limit_iops_size_bytes";
	bool headed = false;
	size_t i;

	for (i = 0; i < rs->n; i++) {
		const struct row *r = &rs->r[i];
		__u64 v = dom ? r->v.dom_limits.iops_size : r->v.limits.iops_size;

		if (!v || (dom && !r->dom_first))
			continue;
		if (!headed)
			header(o, name, "gauge", "iops-size: a larger request counts as "
			       "ceil(size / iops-size) requests.");
		headed = true;
		fprintf(o, "%s{%s} %llu\n", name, dom ? r->dom_labels : r->labels,
			(unsigned long long)v);
	}
}

static void print_limits(FILE *o, const struct rows *rs)
{
	static const struct lim_family fams[] = {
		{ "blkqos_limit_requests_per_second", "Configured request rate limit of the VBD.",
		  false, false, F_RATE },
		{ "blkqos_limit_bytes_per_second", "Configured bandwidth limit of the VBD.",
		  false, true, F_RATE },
		{ "blkqos_limit_burst_requests", "Bucket size of the VBD's request rate limit.",
		  false, false, F_BURST },
		{ "blkqos_limit_burst_bytes", "Bucket size of the VBD's bandwidth limit.",
		  false, true, F_BURST },
		{ "blkqos_limit_peak_requests_per_second",
		  "Peak request rate while the VBD's burst is spent.", false, false, F_PEAK },
		{ "blkqos_limit_peak_bytes_per_second",
		  "Peak bandwidth while the VBD's burst is spent.", false, true, F_PEAK },
		{ "blkqos_bucket_level_requests",
		  "Tokens in the VBD's request bucket now (negative: debt being paid back).",
		  false, false, F_LEVEL },
		{ "blkqos_bucket_level_bytes",
		  "Tokens in the VBD's bandwidth bucket now (negative: debt being paid back).",
		  false, true, F_LEVEL },
		{ "blkqos_domain_limit_requests_per_second",
		  "Configured request rate limit of the domain, all its VBDs together.",
		  true, false, F_RATE },
		{ "blkqos_domain_limit_bytes_per_second",
		  "Configured bandwidth limit of the domain, all its VBDs together.",
		  true, true, F_RATE },
		{ "blkqos_domain_limit_burst_requests",
		  "Bucket size of the domain's request rate limit.", true, false, F_BURST },
		{ "blkqos_domain_limit_burst_bytes", "Bucket size of the domain's bandwidth limit.",
		  true, true, F_BURST },
		{ "blkqos_domain_limit_peak_requests_per_second",
		  "Peak request rate while the domain's burst is spent.", true, false, F_PEAK },
		{ "blkqos_domain_limit_peak_bytes_per_second",
		  "Peak bandwidth while the domain's burst is spent.", true, true, F_PEAK },
		{ "blkqos_domain_bucket_level_requests",
		  "Tokens in the domain's request bucket now (negative: debt).",
		  true, false, F_LEVEL },
		{ "blkqos_domain_bucket_level_bytes",
		  "Tokens in the domain's bandwidth bucket now (negative: debt).",
		  true, true, F_LEVEL },
	};
	size_t i;

	for (i = 0; i < sizeof(fams) / sizeof(fams[0]); i++) {
		if (fams[i].field == F_LEVEL && rs->stock)
			continue;	/* the throttle enforces; the buckets are unused */
		print_lim_family(o, rs, &fams[i]);
	}
	print_iops_size(o, rs, false);
	print_iops_size(o, rs, true);
}

/* --- wait-time histograms -------------------------------------------------- */

#define HIST_NAME	"blkqos_throttle_wait_seconds"

static unsigned long long hist_count(const struct blkqos_hist_dir *d)
{
	unsigned long long n = 0;
	int i;

	for (i = 0; i < BLKQOS_HIST_SLOTS; i++)
		n += d->slot[i];
	return n;
}

static void print_hist_dir(FILE *o, const char *labels, const char *dir,
			   const struct blkqos_hist_dir *d)
{
	unsigned long long cum = 0, us;
	int i;

	/* 29 series each: a direction never held has none (most VBDs, most of the time) */
	if (!hist_count(d))
		return;

	for (i = 0; i < BLKQOS_HIST_SLOTS - 1; i++) {
		cum += d->slot[i];
		us = metrics_hist_bound_us(i);
		fprintf(o, HIST_NAME "_bucket{%s,direction=\"%s\",le=\"%llu.%06llu\"} %llu\n",
			labels, dir, us / 1000000, us % 1000000, cum);
	}
	cum += d->slot[BLKQOS_HIST_SLOTS - 1];
	fprintf(o, HIST_NAME "_bucket{%s,direction=\"%s\",le=\"+Inf\"} %llu\n", labels, dir, cum);
	fprintf(o, HIST_NAME "_sum{%s,direction=\"%s\"} %llu.%09llu\n", labels, dir,
		(unsigned long long)(d->sum_ns / 1000000000ULL),
		(unsigned long long)(d->sum_ns % 1000000000ULL));
	fprintf(o, HIST_NAME "_count{%s,direction=\"%s\"} %llu\n", labels, dir, cum);
}

static void print_hists(FILE *o, const struct rows *rs)
{
	size_t i;

	if (rs->stock)
		return;
	header(o, HIST_NAME, "histogram", "How long throttled requests were held (parked by "
	       "blkback) before dispatch; requests never held are not counted, a direction "
	       "never held has no series. Log2 buckets of microseconds, flushes and discards "
	       "with the writes.");
	for (i = 0; i < rs->n; i++) {
		print_hist_dir(o, rs->r[i].labels, "read", &rs->r[i].h.dir[BLKQOS_HIST_READ]);
		print_hist_dir(o, rs->r[i].labels, "write", &rs->r[i].h.dir[BLKQOS_HIST_WRITE]);
	}
}

int metrics_render(FILE *o, const struct metrics_src *src)
{
	struct rows rs = { .stock = src->stock, .now = blkqos_mono_ns() };
	int err;

	err = rows_read(&rs, src->maps);
	if (err) {
		free(rs.r);
		return err;
	}
	rows_label(&rs, src);
	header(o, "blkqos_mode_info", "gauge", "The mode blkqos enforces in: bpf (the patched "
	       "xen-blkback), stock (cgroup block throttle) or maps-only (not attached).");
	fprintf(o, "blkqos_mode_info{mode=\"%s\"} 1\n", src->mode);
	header(o, "blkqos_vbds", "gauge", "VBDs blkqos has in its maps.");
	fprintf(o, "blkqos_vbds %zu\n", rs.n);
	if (rs.stock)
		fputs("# blkqos: stock mode: the block throttle holds the bios and does not say "
		      "for how long, so there is no blkqos_block_stats_throttled_seconds_total and "
		      "no " HIST_NAME " histogram; its token buckets are unused, so no "
		      "blkqos_*bucket_level_* either.\n", o);
	print_counters(o, &rs);
	print_limits(o, &rs);
	print_hists(o, &rs);
	free(rs.r);
	return (int)rs.n;
}

/* --- the table: stats --histogram ------------------------------------------ */

static void print_hist_table(FILE *o, const char *dir, const struct blkqos_hist_dir *d)
{
	unsigned long long n = 0, max = 0, lo;
	int i, first = -1, last = -1, bar;

	for (i = 0; i < BLKQOS_HIST_SLOTS; i++) {
		n += d->slot[i];
		if (d->slot[i] > max)
			max = d->slot[i];
		if (d->slot[i]) {
			if (first < 0)
				first = i;
			last = i;
		}
	}
	if (!n) {
		fprintf(o, "    %-6s none held\n", dir);
		return;
	}
	fprintf(o, "    %-6s %llu held, %.3f s in total, mean %.3f ms\n", dir, n, d->sum_ns / 1e9,
		d->sum_ns / 1e6 / n);
	fprintf(o, "    %20s : %-9s %s\n", "held (us)", "count", "distribution");
	for (i = first; i <= last; i++) {
		lo = i ? 1ULL << i : 0;
		if (i < BLKQOS_HIST_SLOTS - 1)
			fprintf(o, "    %9llu -> %-8llu : %-9llu |", lo,
				metrics_hist_bound_us(i) - 1, (unsigned long long)d->slot[i]);
		else
			fprintf(o, "    %9llu -> %-8s : %-9llu |", lo, "",
				(unsigned long long)d->slot[i]);
		for (bar = 0; bar < 40; bar++)
			fputc(bar < (int)((d->slot[i] * 40 + max - 1) / max) ? '*' : ' ', o);
		fputs("|\n", o);
	}
}

void metrics_print_hist(FILE *o, const struct blkqos_hist *h)
{
	print_hist_table(o, "reads", &h->dir[BLKQOS_HIST_READ]);
	print_hist_table(o, "writes", &h->dir[BLKQOS_HIST_WRITE]);
}
