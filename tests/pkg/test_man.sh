#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The man pages render without a warning and say what the program says:
# every command and option of 'blkqos --help' and 'blkqos COMMAND --help'
# is in blkqos(8) and the other way round, and blkqos.rules(5)'s key table
# is 'blkqos keys' (tests/pkg/check_man.py).
#
# usage: tests/pkg/test_man.sh      (needs ./blkqos; man-db, groff-base)
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
for tp in man:man-db col:bsdextrautils python3:python3; do
	command -v "${tp%%:*}" >/dev/null && continue
	echo "not ok - ${tp%%:*} is installed: package ${tp#*:} (tests/deps.sh installs it)"
	echo "0 passed, 1 failed"; exit 1
done
[ -x ./blkqos ] || { echo "not ok - ./blkqos is built (run make)"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d) || exit 1
trap 'rm -rf "$work"' EXIT
fail=0
for p in man/blkqos.8 man/blkqos.rules.5; do
	# plain text, wide, no hyphenation: options stay whole words
	LC_ALL=C MANWIDTH=200 MANROFFOPT=-rHY=0 man --warnings -l "$p" 2>"$work/warn" |
		col -b >"$work/$(basename "$p").txt"
	if [ -s "$work/warn" ]; then
		echo "not ok - $p renders without warnings: $(head -3 "$work/warn" | tr '\n' ' ')"
		fail=1
	else
		echo "ok - $p renders without warnings"
	fi
done
python3 tests/pkg/check_man.py ./blkqos "$work/blkqos.8.txt" "$work/blkqos.rules.5.txt"
rc=$?
[ $fail = 0 ] && exit $rc
exit 1
