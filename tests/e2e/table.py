#!/usr/bin/env python3
"""The end-to-end accuracy lines of several modes side by side, as markdown.

usage: table.py [LABEL=]ACCURACY_FILE... [--modes bpf,stock]

Reads the "E2E MODE:SCENARIO/CASE configured=.. achieved=.. unit=..
error_pct=.. [lat_us=P50/P99/MAX] PASS|FAIL" lines of tests/e2e/check.py
(as tests/e2e/e2e.sh keeps them in build/e2e/accuracy.txt) and prints one
row per measured case (SCENARIO/CASE): what was configured, what the guest
achieved in each mode with its error, and the guest-measured latency
p50/p99/max of the case's loadgen in each mode. A case that is not checked
in a mode (a mode-restricted EXPECT line, or a scenario not run in that
mode) shows "-". "hook check" cases (and a run's own failure) are counted
below the table, and every failed case is listed there. Modes: in order of appearance, or --modes.
A LABEL (debian12=build/e2e/accuracy.txt debian13=build/e2e/debian13/accuracy.txt)
makes the file's columns "LABEL MODE": releases side by side; --modes then
names those columns ("debian12 bpf,debian13 bpf").
Exit 0, or 2 if no line could be read.
"""
import re
import sys

LINE = re.compile(r'^E2E (?:(\w+):)?(\S+) configured=(\S+) achieved=(\S+) unit=(\S+) '
                  r'error_pct=(\S+)(?: lat_us=(\d+)/(\d+)/(\d+))? (PASS|FAIL)(?:\s+#\s*(.*))?$')


def num(v, unit, whole=False):
    try:
        x = float(v)
    except ValueError:
        return v
    if unit == 'bytes/s' or abs(x) >= 10000 or (whole and x == int(x)):
        return '{:,.0f}'.format(x)
    if x == int(x) and unit != 'ops/s':
        return '%d' % x
    return '%.1f' % x


def ms(us):
    x = int(us) / 1000.0
    return ('%.1f' % x) if x < 100 else ('%.0f' % x)


def main(argv):
    files, modes = [], []
    i = 0
    while i < len(argv):
        if argv[i] == '--modes' and i + 1 < len(argv):
            modes = argv[i + 1].split(',')
            i += 2
            continue
        files.append(argv[i])
        i += 1
    if not files:
        sys.stderr.write('usage: table.py [LABEL=]ACCURACY_FILE... [--modes bpf,stock]\n')
        return 2
    rows, order, checks, failed, seen_modes = {}, [], {}, [], []
    for f in files:
        label, sep, path = f.partition('=')
        if sep and '/' not in label:
            f = path
        else:
            label = ''
        try:
            text = open(f, errors='replace').read().splitlines()
        except OSError as e:
            sys.stderr.write('table.py: %s\n' % e)
            return 2
        for ln in text:
            m = LINE.match(ln.strip())
            if not m:
                continue
            mode = m.group(1) or '-'
            if label:
                mode = label + ' ' + mode
            case, unit, verdict = m.group(2), m.group(5), m.group(10)
            if mode not in seen_modes:
                seen_modes.append(mode)
            if verdict == 'FAIL':
                failed.append('%s:%s%s' % (mode, case, ('  # ' + m.group(11)) if m.group(11) else ''))
            if unit in ('check', 'run'):
                c = checks.setdefault(mode, [0, 0])
                c[0 if verdict == 'PASS' else 1] += 1
                continue
            if case not in rows:
                rows[case] = {}
                order.append(case)
            rows[case][mode] = {
                'configured': m.group(3), 'achieved': m.group(4), 'unit': unit,
                'err': m.group(6), 'lat': m.group(7, 8, 9) if m.group(7) else None,
                'ok': verdict == 'PASS'}
    if not order and not checks:
        sys.stderr.write('table.py: no E2E lines in %s\n' % ' '.join(files))
        return 2
    modes = modes or seen_modes
    head = ['case', 'configured'] + ['%s achieved (error)' % m for m in modes] + \
        ['%s latency p50/p99/max ms' % m for m in modes]
    out = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    for case in order:
        r = rows[case]
        conf = []
        for m in modes:
            if m in r:
                c = '%s %s' % (num(r[m]['configured'], r[m]['unit'], True), r[m]['unit'])
                if c not in conf:
                    conf.append(c)
        cells = [case, ' / '.join(conf) or '-']
        for m in modes:
            if m not in r:
                cells.append('-')
                continue
            e = r[m]['err']
            cell = num(r[m]['achieved'], r[m]['unit'])
            if e != 'n/a':
                cell += ' (%s %%)' % e
            if not r[m]['ok']:
                cell += ' **FAIL**'
            cells.append(cell)
        for m in modes:
            lat = r.get(m, {}).get('lat')
            cells.append('/'.join(ms(x) for x in lat) if lat else '-')
        out.append('| ' + ' | '.join(cells) + ' |')
    out.append('')
    out.append('checks: ' + '; '.join('%s %d passed, %d failed' % (m, checks.get(m, [0, 0])[0],
                                                                   checks.get(m, [0, 0])[1])
                                      for m in modes))
    if failed:
        out.append('failed:')
        out.extend('- ' + f for f in failed)
    print('\n'.join(out))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
