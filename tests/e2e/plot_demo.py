#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Draw what `make demo` showed, as SVG (gnuplot): the guest's read rate over
time from its SAMPLE lines, the configured limit as a line, the live change
marked, and dom0's wait-time histogram (blkqos stats --histogram --json).

usage: plot_demo.py RESULTS OUTDIR   (RESULTS: tests/e2e/run.sh's results.txt)
Writes OUTDIR/demo.svg and the data and gnuplot script it was drawn from.
Exit 0, or 1 if RESULTS lacks the samples (the run failed early).
"""
import json
import os
import re
import subprocess
import sys

PHASES = ["1-unlimited", "2-limited-100", "3-live-change"]
GAP_S = 2.0        # pause drawn between phases (the real ones are longer)
SMOOTH = 10        # samples in the moving average (100 ms each: 1 s)


def parse(path):
    samples = {p: [] for p in PHASES}
    sets, mark, hist = [], {}, None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = re.match(r"guest SAMPLE name=(\S+) t_ms=(\d+) ops=(\d+)", line)
        if m and m.group(1) in samples:
            samples[m.group(1)].append((int(m.group(2)), int(m.group(3))))
            continue
        m = re.match(r"hook demo set iops=(\d+): in force after ([\d.]+) ms", line)
        if m:
            sets.append((int(m.group(1)), float(m.group(2))))
            continue
        m = re.match(r"hook mark (change|changed) t_ms=(\d+)", line)
        if m:
            mark[m.group(1)] = int(m.group(2))
            continue
        if line.startswith("hook show-hist "):
            try:
                hist = json.loads(line[len("hook show-hist "):])
            except ValueError:
                hist = None
    return samples, sets, mark, hist


def write_rates(samples, sets, mark, out):
    """Rates per 100 ms sample and a 1 s moving average, phases back to back;
    the limit in force over the same time axis. The live change: dom0 marks
    when it starts `blkqos set` ("change") and when that said the new limit
    was in force ("changed", a little after: the mark's own delay); the
    limit steps at the latter. Returns both times (None if not marked) and
    the phases' [start, end] in seconds."""
    t0, spans, limit_pts, change_s, start_s = 0.0, [], [], None, None
    with open(os.path.join(out, "rates.dat"), "w") as f:
        f.write("# t_s iops_100ms iops_1s phase\n")
        for i, p in enumerate(PHASES):
            s = sorted(samples[p])
            if not s:
                continue
            win = []
            for t_ms, ops in s:
                win = (win + [ops])[-SMOOTH:]
                f.write("%.3f %.1f %.1f %s\n" % (t0 + t_ms / 1000.0, ops * 10.0,
                                                 sum(win) * 10.0 / len(win), p))
            f.write("\n\n")
            end = t0 + s[-1][0] / 1000.0
            spans.append((p, t0, end))
            if i == 1 and sets:
                limit_pts += [(t0, sets[0][0]), (end, sets[0][0])]
            if i == 2 and sets:
                first = sets[0][0]
                if len(sets) > 1 and "change" in mark:
                    start_s = t0 + mark["change"] / 1000.0
                    # older runs marked the start only: add the in-force time it printed
                    change_s = t0 + (mark["changed"] if "changed" in mark else
                                     mark["change"] + sets[1][1]) / 1000.0
                    limit_pts += [(t0, first), (change_s, first), (change_s, sets[1][0]),
                                  (end, sets[1][0])]
                else:
                    limit_pts += [(t0, first), (end, first)]
            t0 = end + GAP_S
    with open(os.path.join(out, "limit.dat"), "w") as f:
        f.write("# t_s limit_iops (phase 1: none)\n")
        for i, (t, v) in enumerate(limit_pts):
            f.write("%.3f %d\n" % (t, v))
            if i % 2 and i + 1 < len(limit_pts) and limit_pts[i + 1][0] > t + 1e-6:
                f.write("\n")     # a gap between phases: no line drawn across it
    return start_s, change_s, spans


def us_label(us):
    return "%.3g ms" % (us / 1000.0) if us >= 1000 else "%d us" % us


def write_hist(hist, out):
    """The reads' histogram as bars (one log2 bucket each). Returns a title and
    the highest count."""
    vbd = (hist or {}).get("vbds", [{}])
    wh = vbd[0].get("wait_hist") if vbd else None
    d = (wh or {}).get("read")
    with open(os.path.join(out, "hist.dat"), "w") as f:
        f.write("# bucket count label\n")
        if not d or not d.get("count"):
            f.write("0 0 none\n")
            return "no wait-time histogram in this run", 0
        slots = d["slots"]
        used = [i for i, n in enumerate(slots) if n]
        for k, i in enumerate(range(used[0], used[-1] + 1)):
            lo = (1 << i) if i else 0
            f.write('%d %d "%s-%s"\n' % (k, slots[i], us_label(lo).split()[0] if lo else "0",
                                          us_label(2 << i)))
        return ("dom0's BPF histogram: how long each read was held before dispatch "
                "(%d held, mean %.1f ms)"
                % (d["count"], d["sum_ns"] / 1e6 / d["count"]), max(slots))


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    results, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    samples, sets, mark, hist = parse(results)
    if not any(samples.values()):
        sys.stderr.write("plot_demo: no SAMPLE lines in %s: nothing to draw\n" % results)
        return 1
    start_s, change_s, spans = write_rates(samples, sets, mark, out)
    hist_title, hist_max = write_hist(hist, out)
    ymax = max(ops * 10 for p in PHASES for _, ops in samples[p]) * 1.15
    gp = ["set terminal svg size 960,760 dynamic enhanced font 'sans,12' background rgb 'white'",
          "set output 'demo.svg'",
          "set multiplot layout 2,1 title 'make demo: one guest, 4 KiB random reads at QD16, "
          "limited by blkqos in dom0 (emulated Xen host)'",
          "set size 1,0.58", "set origin 0,0.40",
          "set xlabel 'guest time, s (phases back to back; pauses between them drawn as %g s)'" % GAP_S,
          "set ylabel 'reads per second'", "set yrange [0:%d]" % ymax, "set grid ytics",
          "set key below horizontal maxrows 1"]
    for p, a, b in spans:
        gp.append("set label '%s' at %.2f,%d center" % (p, (a + b) / 2, ymax * 0.94))
    if change_s is not None:
        gp.append("set arrow from %.3f,0 to %.3f,%d nohead dashtype 2 lc rgb '#b03030'"
                  % (start_s, start_s, ymax * 0.80))
        gp.append("set arrow from %.3f,0 to %.3f,%d nohead lc rgb '#b03030'"
                  % (change_s, change_s, ymax * 0.88))
        gp.append("set label 'live change, as dom0 saw it: blkqos set iops=%d started (dashed), "
                  "in force (solid)' at %.2f,%d right textcolor rgb '#b03030' offset -0.5,0"
                  % (sets[1][0], change_s, ymax * 0.84))
    gp.append("plot '%s' using 1:2 with lines lw 3 lc rgb '#e8a0a0' "
              "title 'configured limit (iops; none in phase 1)', "
              "'%s' using 1:2 with lines lc rgb '#9ab8d8' title 'guest: per 100 ms', "
              "'' using 1:3 with lines lw 2 lc rgb '#1f4e8c' title 'guest: 1 s average'"
              % ("limit.dat", "rates.dat"))
    gp += ["set size 1,0.40", "set origin 0,0", "unset label", "unset arrow",
           "set title \"%s\" font 'sans,11'" % hist_title.replace('"', "'"),
           "set xlabel 'time held (log2 buckets)'", "set ylabel 'requests'",
           "set yrange [0:%d]" % (hist_max * 1.25 + 1), "set xrange [-0.6:*]", "set style fill solid 0.8",
           "set boxwidth 0.8", "unset key", "set xtics rotate by -30",
           "plot '%s' using 1:2:xtic(3) with boxes lc rgb '#1f4e8c', "
           "'' using 1:2:2 with labels offset 0,0.7" % "hist.dat",
           "unset multiplot"]
    script = os.path.join(out, "demo.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    # in OUTDIR, so that the SVG names its data files without a path
    r = subprocess.run(["gnuplot", "demo.gp"], cwd=out, capture_output=True, text=True)
    if r.returncode:
        sys.stderr.write("plot_demo: gnuplot failed: %s\n" % r.stderr.strip())
        return 1
    print("plot: %s" % os.path.join(out, "demo.svg"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
