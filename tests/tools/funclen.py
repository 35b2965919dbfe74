#!/usr/bin/env python3
"""Function lengths of C files in kernel style (a definition's opening brace
alone in column 0): prints the count, the median and the longest N.

usage: funclen.py [--top N] FILE...
"""
import re
import statistics
import sys


def functions(path):
    lines = open(path, errors='replace').read().split('\n')
    out, start, name = [], None, None
    for i, ln in enumerate(lines):
        if ln == '{' and i > 0:
            # the name: the last identifier before "(" in the lines above
            j = i - 1
            head = lines[j]
            while j > 0 and '(' not in head:
                j -= 1
                head = lines[j] + head
            m = re.search(r'(\w+)\s*\(', head)
            start, name = i, m.group(1) if m else '?'
        elif ln == '}' and start is not None:
            out.append((i - start + 1, '%s:%s' % (path, name)))
            start = None
    return out


def main(argv):
    top = 5
    if len(argv) > 1 and argv[0] == '--top':
        top, argv = int(argv[1]), argv[2:]
    fns = [f for p in argv for f in functions(p)]
    if not fns:
        sys.exit('funclen.py: no functions in %s' % ' '.join(argv))
    lens = sorted(n for n, _ in fns)
    print('functions %d, median %g lines, mean %.1f' % (len(lens), statistics.median(lens),
                                                          statistics.mean(lens)))
    for n, name in sorted(fns, reverse=True)[:top]:
        print('%5d %s' % (n, name))


if __name__ == '__main__':
    main(sys.argv[1:])
