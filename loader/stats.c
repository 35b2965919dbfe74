// SPDX-License-Identifier: GPL-2.0
#include <string.h>
#include "devname.h"
#include "limits.h"
#include "metrics.h"
#include "parse.h"
#include "stats.h"

double stats_bucket_tokens(const struct blkqos_bucket *b, const struct blkqos_limit *l,
			   bool peak, __u64 now)
{
	__u64 rate = peak ? l->peak : l->rate;
	double size = peak ? (double)l->peak * BLKQOS_PEAK_WINDOW_NS / BLKQOS_SCALE :
			     (double)l->burst;
	double level;

	if (b->epoch != (peak ? l->peak_epoch : l->epoch))
		return size;	/* not used yet: full */
	level = (double)b->level / BLKQOS_SCALE;
	if (now > b->last_ns)
		level += (double)rate * (double)(now - b->last_ns) / BLKQOS_SCALE;
	return level < size ? level : size;
}

static void fmt(__u64 v, char *buf, size_t len)
{
	if (qos_format_amount(v, buf, len) < 0)
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void print_limits_text(FILE *out, const char *scope, const struct blkqos_limits *l,
			      const struct blkqos_buckets *b, __u64 now)
{
	char r[32], bu[32], p[32];
	int i, any = 0;

	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, i);
		const struct blkqos_bucket_pair *bp = BLKQOS_PAIR_AT(b, i);

		if (!x->rate)
			continue;
		fmt(x->rate, r, sizeof(r));
		strncat(r, "/s", sizeof(r) - strlen(r) - 1);
		fmt(x->burst, bu, sizeof(bu));
		fprintf(out, "    %-6s %-10s %-10s burst %-8s", scope, blkqos_limit_names[i], r, bu);
		if (x->peak) {
			fmt(x->peak, p, sizeof(p));
			fprintf(out, " peak %s/s", p);
		}
		fprintf(out, "  level %.1f", stats_bucket_tokens(&bp->sustained, x, false, now));
		if (x->peak)
			fprintf(out, " (peak %.1f)", stats_bucket_tokens(&bp->peak, x, true, now));
		fputc('\n', out);
		any = 1;
	}
	if (!any)
		fprintf(out, "    %-6s unlimited\n", scope);
}

static void print_limits_json(FILE *out, const struct blkqos_limits *l,
			      const struct blkqos_buckets *b, __u64 now)
{
	int i, first = 1;

	fputc('{', out);
	for (i = 0; i < BLKQOS_NR_LIMITS; i++) {
		const struct blkqos_limit *x = BLKQOS_LIMIT_AT(l, i);
		const struct blkqos_bucket_pair *bp = BLKQOS_PAIR_AT(b, i);

		if (!x->rate)
			continue;
		fprintf(out, "%s\"%s\":{\"rate\":%llu,\"burst\":%llu,\"peak\":%llu,\"level\":%.3f",
			first ? "" : ",", blkqos_limit_names[i], (unsigned long long)x->rate,
			(unsigned long long)x->burst, (unsigned long long)x->peak,
			stats_bucket_tokens(&bp->sustained, x, false, now));
		if (x->peak)
			fprintf(out, ",\"peak_level\":%.3f",
				stats_bucket_tokens(&bp->peak, x, true, now));
		fputc('}', out);
		first = 0;
	}
	fprintf(out, "%s\"iops_size\":%llu}", first ? "" : ",", (unsigned long long)l->iops_size);
}

static void print_hist_json(FILE *out, const struct blkqos_hist_dir *d)
{
	unsigned long long n = 0;
	int i;

	for (i = 0; i < BLKQOS_HIST_SLOTS; i++)
		n += d->slot[i];
	fprintf(out, "{\"count\":%llu,\"sum_ns\":%llu,\"slots\":[", n,
		(unsigned long long)d->sum_ns);
	for (i = 0; i < BLKQOS_HIST_SLOTS; i++)
		fprintf(out, "%s%llu", i ? "," : "", (unsigned long long)d->slot[i]);
	fputs("]}", out);
}

/* The VBD's wait-time histograms, after its other stats. */
static void print_hist(FILE *out, struct blkqos_maps *m, __u32 slot, bool stock, bool json)
{
	struct blkqos_hist h;
	bool have = !stock && blkqos_maps_vbd_hist(m, slot, &h) == 0;

	if (json) {
		if (!have) {
			fputs(",\"wait_hist\":null", out);
			return;
		}
		/* slot i counts holds of [2^i, 2^(i+1)) us; slot 0 from 0, the last to infinity */
		fputs(",\"wait_hist\":{\"unit\":\"log2 us\",\"read\":", out);
		print_hist_json(out, &h.dir[BLKQOS_HIST_READ]);
		fputs(",\"write\":", out);
		print_hist_json(out, &h.dir[BLKQOS_HIST_WRITE]);
		fputc('}', out);
	} else if (stock) {
		fputs("    wait times: not measured in stock mode (the block throttle holds the "
		      "bios and does not say for how long)\n", out);
	} else if (have) {
		fputs("    time held before dispatch (parked; requests never held not counted):\n",
		      out);
		metrics_print_hist(out, &h);
	}
}

int stats_print(FILE *out, struct blkqos_maps *m, const struct stats_filter *f, bool json)
{
	struct blkqos_vbd_key k, *prev = NULL;
	__u64 now = blkqos_mono_ns();
	int shown = 0;

	if (json)
		fprintf(out, "{\"mode\":\"%s\",\"vbds\":[", f->stock ? "stock" : "bpf");
	while (blkqos_maps_vbd_next(m, prev, &k) == 0) {
		struct blkqos_buckets vb, db;
		struct blkqos_stats s;
		struct blkqos_vbd v;
		char dev[32];

		prev = &k;
		if ((!f->any_dom && k.domid != f->domid) ||
		    (!f->any_dev && k.devid != blkqos_devid_key(f->devid)))
			continue;
		if (blkqos_maps_vbd_get(m, k.domid, k.devid, &v) ||
		    blkqos_maps_vbd_buckets(m, v.slot, &vb) ||
		    blkqos_maps_dom_buckets(m, v.dom_slot, &db) ||
		    blkqos_maps_vbd_stats(m, v.slot, &s))
			continue;
		if (qos_devid_to_devname(k.devid, dev, sizeof(dev)) < 0)
			snprintf(dev, sizeof(dev), "%u", k.devid);
		if (json) {
			fprintf(out, "%s{\"domid\":%u,\"devid\":%u,\"dev\":\"%s\",\"limits\":",
				shown ? "," : "", k.domid, k.devid, dev);
			print_limits_json(out, &v.limits, &vb, now);
			fputs(",\"domain_limits\":", out);
			print_limits_json(out, &v.dom_limits, &db, now);
			fprintf(out, ",\"read\":{\"ops\":%llu,\"bytes\":%llu},"
				"\"write\":{\"ops\":%llu,\"bytes\":%llu},"
				"\"flush\":{\"ops\":%llu},\"discard\":{\"ops\":%llu,\"bytes\":%llu},"
				"\"deferrals\":%llu,\"deferred_ns\":%llu",
				(unsigned long long)s.read.ops, (unsigned long long)s.read.bytes,
				(unsigned long long)s.write.ops, (unsigned long long)s.write.bytes,
				(unsigned long long)s.flush.ops, (unsigned long long)s.discard.ops,
				(unsigned long long)s.discard.bytes, (unsigned long long)s.deferrals,
				(unsigned long long)s.deferred_ns);
			if (f->stock)
				fprintf(out, ",\"unthrottled\":{\"ops\":%llu,\"bytes\":%llu}",
					(unsigned long long)s.unthrottled.ops,
					(unsigned long long)s.unthrottled.bytes);
			if (f->histogram)
				print_hist(out, m, v.slot, f->stock, true);
			fputc('}', out);
		} else {
			fprintf(out, "dom %u %s (devid %u)\n", k.domid, dev, k.devid);
			print_limits_text(out, "vbd", &v.limits, &vb, now);
			print_limits_text(out, "domain", &v.dom_limits, &db, now);
			fprintf(out, "    read    %llu ops %llu bytes | write %llu ops %llu bytes | "
				"flush %llu | discard %llu ops %llu bytes\n",
				(unsigned long long)s.read.ops, (unsigned long long)s.read.bytes,
				(unsigned long long)s.write.ops, (unsigned long long)s.write.bytes,
				(unsigned long long)s.flush.ops, (unsigned long long)s.discard.ops,
				(unsigned long long)s.discard.bytes);
			if (f->stock)
				fprintf(out, "    throttled %llu bios (stock mode: the wait is not "
					"measured) | unthrottled %llu bios %llu bytes (a ring thread "
					"not yet in its group)\n", (unsigned long long)s.deferrals,
					(unsigned long long)s.unthrottled.ops,
					(unsigned long long)s.unthrottled.bytes);
			else
				fprintf(out, "    deferred %llu times, %.3f s in total\n",
					(unsigned long long)s.deferrals, s.deferred_ns / 1e9);
			if (f->histogram)
				print_hist(out, m, v.slot, f->stock, false);
		}
		shown++;
	}
	if (json)
		fputs("]}\n", out);
	else if (!shown)
		fprintf(out, "no VBDs%s\n", f->any_dom ? "" : " match");
	return shown;
}
