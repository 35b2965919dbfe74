#!/usr/bin/env python3
"""Check an end-to-end run's results against the scenario's EXPECT lines.

usage: check.py RESULTS EXPECT_FILE SCENARIO_NAME [MODE]

RESULTS is results.txt of tests/e2e/run.sh (LOADGEN/SAMPLE lines measured in
the guest, "hook ..." lines from dom0). MODE is how the run enforced the
limits (tests/e2e/e2e.sh: "bpf", the patched xen-blkback; "stock", Debian's
module with cgroup io.max). EXPECT lines:

  CASE iops NAME X [TOL%]            LOADGEN iops of NAME
  CASE bps NAME X [TOL%]             LOADGEN bytes/s
  CASE read_iops|write_iops NAME X   reads or writes per second
  CASE sum_iops N1,N2 X              sum of the LOADGEN iops
  CASE mean_iops N1,N2 X [TOL%]      their ops over their seconds: loadgens run
                                     one after another
  CASE window_iops NAME T0 T1 X      ops/s from SAMPLE lines with t_ms in (T0, T1]
  CASE window_ops NAME T0 T1 X       ops in that window
  CASE max_sample NAME T0 T1 X       no single SAMPLE above X ops
  CASE min_window_iops NAME T0 T1 X  ops/s in that window at least X (a limit
                                     lifted: the rate of an unlimited disk)
  CASE min_iops NAME X               LOADGEN iops at least X: an unlimited disk
                                     of the backend, far above the limits
  CASE stats_ops DEVID N1,N2         blkqos stats ops of the VBD = the guest's
                                     ops (SAMPLE totals incl. ramp), within TOL
  CASE verify NAME                   a loadgen --verify run read back every block
                                     it wrote: mismatches=0, errors=0
  CASE fact_max FACT KEY X           the hook's "fact FACT KEY=V ..." has V <= X
                                     (a time, a cost; "never" or no fact fails)
  CASE fact_diff FACT A B LO HI      that fact's A > 0 and A - B in [LO, HI]
  CASE cpu_pct DEV X                 the ring thread of DEV, throttled at its
                                     limit_iops, costs under X % of a CPU
                                     (us_per_request x limit_iops / 1e4)

A CASE may be restricted to some modes: "stock:CASE" or "bpf,stock:CASE";
it is skipped in the others. A CASE without a prefix is checked in every
mode (a comparable case keeps its name in both modes: tests/e2e/table.py
puts the modes side by side by case name).

T0/T1 are ms, MARK[+ms] where MARK comes from "hook mark MARK t_ms=..", or
cross:MARK:OLD:NEW[+ms], the first sample from MARK on whose rate (over it
and the next two samples) is nearer NEW than OLD (where a live change shows
in the guest), or resume:MARK[+ms], the first time from MARK on that the
guest ran again after a suspend (loadgen's RESUME line: xl save/restore,
xl migrate).
Every "hook check NAME ok|FAIL" becomes a case too, and so does the
backend's CPU per request the hook reports (a figure, failed only if
missing): "hook ring-cpu ... limit_iops=.." (blkback's ring thread of the
throttled disk) and "hook backend-cpu dev=all" (the qdisk mode's QEMU
process, over all the disks) both as case backend-cpu, unit us/request. In
every scenario, stock mode's "fact stock-move-DEV ms=.." (how long DEV's ring
thread ran before it was moved into its group) is bounded by
STOCK_MOVE_MAX_MS. Prints one line per case:
  E2E [MODE:]SCENARIO/CASE configured=<x> achieved=<y> unit=<u> error_pct=<e> [lat_us=P50/P99/MAX] PASS|FAIL
and exits 1 if any case failed. lat_us is the guest-measured latency (submit
to completion, us) of the case's loadgen over its whole run (for sum_iops the
worst of its loadgens): what a limit costs in latency, not only in rate. The
window cases have none (loadgen's latencies cover its whole run, not a window).
"""
import json
import re
import sys

# The loader looks for a VBD's ring thread for 10 s after the VBD appears: a
# thread found later is never found, so a move must fall inside that horizon.
STOCK_MOVE_MAX_MS = 10000

def kv(line):
    return dict(re.findall(r'(\w+)=(\S+)', line))


def main():
    if len(sys.argv) not in (4, 5):
        sys.exit('usage: check.py RESULTS EXPECT_FILE SCENARIO_NAME [MODE]')
    results, expect_file, scen = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else ''
    tag = (mode + ':' if mode else '') + scen
    loadgen, samples, marks, checks, stats, cpu = {}, {}, {}, [], None, []
    resumes = {}
    facts, rings = {}, {}
    for line in open(results, errors='replace'):
        line = line.rstrip('\n')
        if line.startswith('guest '):
            line = line[len('guest '):]
        if line.startswith('LOADGEN '):
            d = kv(line)
            loadgen[d['name']] = d
        elif line.startswith('SAMPLE '):
            d = kv(line)
            samples.setdefault(d['name'], []).append((int(d['t_ms']), int(d['ops'])))
        elif line.startswith('RESUME '):
            d = kv(line)
            resumes.setdefault(d['name'], []).append(int(d['t_ms']))
        elif line.startswith('hook mark '):
            p = line.split()
            marks[p[2]] = int(kv(line)['t_ms'])
        elif line.startswith('hook check '):
            p = line.split(None, 4)
            checks.append((p[2], p[3], p[4] if len(p) > 4 else ''))
        elif line.startswith('hook ring-cpu ') or line.startswith('hook backend-cpu '):
            d = kv(line)
            if line.startswith('hook ring-cpu '):
                rings[d.get('dev')] = d
            if 'limit_iops' in d or d.get('dev') == 'all':
                cpu.append(d)
        elif line.startswith('hook fact '):
            p = line.split(None, 3)
            facts[p[2]] = kv(p[3] if len(p) > 3 else '')
        elif line.startswith('hook stats-last '):
            try:
                stats = json.loads(line[len('hook stats-last '):])
            except ValueError:
                stats = None

    def t(expr, name=None):
        # cross:MARK:OLD:NEW[+ms]: the first sample at or after MARK (a lower
        # bound of when a change was made: dom0 sees the guest's lines late)
        # whose rate is nearer NEW than OLD, i.e. where the change shows.
        # The rate is taken over 3 samples (300 ms at the usual interval):
        # one sample's jitter (7 then 11 at 90/s) must not pass for the change.
        m = re.fullmatch(r'cross:(\w+):(\d+):(\d+)([+-]\d+)?', expr)
        if m:
            start, old, new = marks[m.group(1)], float(m.group(2)), float(m.group(3))
            pts = samples.get(name, [])
            for i, (ts, ops) in enumerate(pts):
                if ts < start or i + 2 >= len(pts):
                    continue
                width = pts[i + 2][0] - (pts[i - 1][0] if i else 0)
                rate = sum(o for _, o in pts[i:i + 3]) * 1000.0 / width if width else 0
                if abs(rate - new) < abs(rate - old):
                    return ts + int(m.group(4) or 0)
            raise ValueError('no change from %s to %s after %s' % (m.group(2), m.group(3), m.group(1)))
        # resume:MARK[+ms]: the first time after MARK that the guest ran
        # again after a suspend (xl save, a migration), as loadgen saw it:
        # its CLOCK_MONOTONIC stops while suspended, BOOTTIME does not.
        m = re.fullmatch(r'resume:(\w+)([+-]\d+)?', expr)
        if m:
            start = marks[m.group(1)]
            after = [r for r in resumes.get(name, []) if r >= start]
            if not after:
                raise ValueError('loadgen %s reported no resume after %s' % (name, m.group(1)))
            return min(after) + int(m.group(2) or 0)
        m = re.fullmatch(r'([A-Za-z_]\w*)?([+-]?\d+)?', expr)
        if not m or not (m.group(1) or m.group(2)):
            raise ValueError('bad time ' + expr)
        base = marks[m.group(1)] if m.group(1) else 0
        return base + int(m.group(2) or 0)

    failed = 0
    lines = []

    def lat(names):
        # worst p50/p99/max of the named loadgens, "" if none has run
        ds = [loadgen[n] for n in names if n in loadgen and 'lat_p50_us' in loadgen[n]]
        if not ds:
            return ''
        return ' lat_us=%s' % '/'.join(
            '%d' % max(float(d[k]) for d in ds) for k in ('lat_p50_us', 'lat_p99_us', 'lat_max_us'))

    def report(case, configured, achieved, unit, ok, err=None, names=()):
        nonlocal failed
        if err is None and configured and not isinstance(configured, str):
            err = 100.0 * (achieved - configured) / configured
        lines.append('E2E %s configured=%s achieved=%s unit=%s error_pct=%s%s %s' % (
            case, fmt(configured), fmt(achieved), unit,
            '%+.2f' % err if err is not None else 'n/a', lat(names), 'PASS' if ok else 'FAIL'))
        if not ok:
            failed += 1

    def fact_max(case, name, key, want):
        # the fact's KEY at most want; "never" or no fact fails
        v = facts.get(name, {}).get(key)
        try:
            got = float(v)
        except (TypeError, ValueError):
            report(case, '<=' + fmt(want), v or 'none', key, False, None)
            return
        report(case, '<=' + fmt(want), got, key, got <= want, None)

    for raw in open(expect_file):
        p = raw.split()
        if not p or p[0].startswith('#'):
            continue
        name = p[0]
        if ':' in name:
            modes, name = name.split(':', 1)
            if mode not in modes.split(','):
                continue
        case, metric = '%s/%s' % (tag, name), p[1]
        try:
            if metric in ('iops', 'bps', 'read_iops', 'write_iops'):
                name, want = p[2], float(p[3])
                tol = float(p[4]) if len(p) > 4 else 5.0
                unit = 'bytes/s' if metric == 'bps' else 'ops/s'
                conf = want
                d = loadgen.get(name)
                if d is None:
                    report(case, conf, 0, unit, False, -100.0)
                    continue
                secs = float(d['seconds'])
                got = {'iops': float(d['iops']), 'bps': float(d['bps']),
                       'read_iops': int(d['reads']) / secs,
                       'write_iops': int(d['writes']) / secs}[metric]
                errp = 100.0 * (got - want) / want
                ok = abs(errp) <= tol
                report(case, conf, got, unit, ok and int(d['errors']) == 0, errp, [name])
            elif metric == 'min_iops':
                name, want = p[2], float(p[3])
                d = loadgen.get(name)
                got = float(d['iops']) if d else 0.0
                report(case, '>=' + fmt(want), got, 'ops/s',
                       d is not None and got >= want and int(d['errors']) == 0, None, [name])
            elif metric == 'sum_iops':
                names, want = p[2].split(','), float(p[3])
                tol = float(p[4]) if len(p) > 4 else 5.0
                got = sum(float(loadgen[n]['iops']) for n in names if n in loadgen)
                errp = 100.0 * (got - want) / want
                report(case, want, got, 'ops/s',
                       all(n in loadgen for n in names) and abs(errp) <= tol, errp, names)
            elif metric == 'mean_iops':
                names, want = p[2].split(','), float(p[3])
                tol = float(p[4]) if len(p) > 4 else 5.0
                ds = [loadgen[n] for n in names if n in loadgen]
                secs = sum(float(d['seconds']) for d in ds)
                got = sum(int(d['ops']) for d in ds) / secs if secs else 0.0
                errp = 100.0 * (got - want) / want
                report(case, want, got, 'ops/s',
                       len(ds) == len(names) and all(int(d['errors']) == 0 for d in ds)
                       and abs(errp) <= tol, errp, names)
            elif metric in ('window_iops', 'window_ops', 'max_sample', 'min_window_iops'):
                name = p[2]
                t0, t1, want = t(p[3], name), t(p[4], name), float(p[5])
                tol = float(p[6]) if len(p) > 6 else 5.0
                pts = [(ts, ops) for ts, ops in samples.get(name, []) if t0 < ts <= t1]
                if not pts:
                    report(case, {'max_sample': '<=', 'min_window_iops': '>='}.get(metric, '') + fmt(want)
                           if metric in ('max_sample', 'min_window_iops') else want, 0,
                           {'window_ops': 'ops', 'max_sample': 'ops/sample'}.get(metric, 'ops/s'),
                           False, None if metric == 'max_sample' else -100.0)
                    continue
                if metric == 'max_sample':
                    got = max(ops for _, ops in pts)
                    report(case, '<=' + fmt(want), got, 'ops/sample', got <= want, None)
                    continue
                total = sum(ops for _, ops in pts)
                span = (pts[-1][0] - (pts[0][0] - (pts[1][0] - pts[0][0] if len(pts) > 1 else 100))) / 1000.0
                if metric == 'min_window_iops':
                    got = total / span
                    report(case, '>=' + fmt(want), got, 'ops/s', got >= want, None, [name])
                    continue
                got = total / span if metric == 'window_iops' else total
                errp = 100.0 * (got - want) / want
                report(case, want, got, 'ops/s' if metric == 'window_iops' else 'ops',
                       abs(errp) <= tol, errp)
            elif metric == 'stats_ops':
                devid, names = int(p[2]), p[3].split(',')
                tol = float(p[4]) if len(p) > 4 else 2.0
                guest = sum(ops for n in names for _, ops in samples.get(n, []))
                seen = None
                for v in (stats or {}).get('vbds', []):
                    if v['devid'] == devid:
                        seen = v['read']['ops'] + v['write']['ops']
                if seen is None:
                    report(case, guest, 0, 'ops', False)
                    continue
                # in-flight requests at the end of each run are counted by
                # blkback but not completed in a sample: allow the queue depth
                errp = 100.0 * (seen - guest) / guest if guest else 0
                report(case, guest, seen, 'ops', abs(seen - guest) <= max(16 * len(names), guest * tol / 100), errp)
            elif metric == 'fact_max':
                fact_max(case, p[2], p[3], float(p[4]))
            elif metric == 'fact_diff':
                name, a, b, lo, hi = p[2], p[3], p[4], float(p[5]), float(p[6])
                d = facts.get(name, {})
                try:
                    va, vb = float(d.get(a)), float(d.get(b))
                except (TypeError, ValueError):
                    report(case, '%s-%s:%s..%s' % (a, b, fmt(lo), fmt(hi)),
                           '%s=%s,%s=%s' % (a, d.get(a, 'none'), b, d.get(b, 'none')),
                           'count', False, None)
                    continue
                report(case, '%s-%s:%s..%s' % (a, b, fmt(lo), fmt(hi)), va - vb, 'count',
                       va > 0 and lo <= va - vb <= hi, None)
                lines[-1] += '  # %s=%s %s=%s' % (a, fmt(va), b, fmt(vb))
            elif metric == 'cpu_pct':
                dev, want = p[2], float(p[3])
                d = rings.get(dev, {})
                try:
                    pct = float(d['us_per_request']) * float(d['limit_iops']) / 1e4
                except (KeyError, ValueError):
                    report(case, '<' + fmt(want), 'none', '%cpu', False, None)
                    continue
                report(case, '<' + fmt(want), round(pct, 2), '%cpu', pct < want, None)
            elif metric == 'verify':
                d = loadgen.get(p[2], {})
                bad = int(d.get('mismatches', -1))
                report(case, 'mismatches=0', 'mismatches=%d' % bad, 'check',
                       bad == 0 and int(d.get('errors', 1)) == 0 and int(d.get('blocks', 0)) > 0,
                       None, [p[2]])
            else:
                report(case, 0, 0, metric + '?', False)
        except (KeyError, ValueError, IndexError) as e:
            report(case, 0, 0, 'error:%s' % str(e).replace(' ', '_'), False)

    for name in sorted(n for n in facts if n.startswith('stock-move-')):
        fact_max('%s/%s' % (tag, name), name, 'ms', STOCK_MOVE_MAX_MS)
    for d in cpu:
        us = float(d.get('us_per_request', 0))
        report('%s/backend-cpu' % tag, '-', us, 'us/request', us > 0 and int(d.get('requests', 0)) > 0,
               None)
        lines[-1] += '  # %s over %s requests' % (
            'QEMU process, all disks' if d.get('dev') == 'all' else 'ring thread ' + d.get('thread', '?'),
            d.get('requests', '?'))
    for name, verdict, detail in checks:
        ok = verdict == 'ok'
        lines.append('E2E %s/%s configured=- achieved=- unit=check error_pct=n/a %s  # %s' % (
            tag, name, 'PASS' if ok else 'FAIL', detail))
        if not ok:
            failed += 1
    for ln in lines:
        print(ln)
    return 1 if failed else 0


def fmt(v):
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return '%d' % v
    if isinstance(v, float):
        return ('%.1f' % v) if abs(v) < 1e5 else ('%.0f' % v)
    return str(v)


if __name__ == '__main__':
    sys.exit(main())
