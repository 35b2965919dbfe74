#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The Debian packages as an operator gets them: 'make deb', lintian on what
# it built, then tests/pkg/in-fresh-root.sh in a fresh Debian 12 root
# (tests/fresh-machine.sh, its debootstrap cache): apt-get install of both
# packages, files, unit, man pages, the DKMS build for a kernel's headers,
# remove and purge.
#
# usage: tests/pkg/test_packages.sh      (root; debootstrap, network to the
#                                         mirror on the first run)
# Heavy (the DKMS build, a root file system): it takes the e2e lock, as
# tests/e2e/run.sh does (E2E_LOCK=0 when the caller holds it already).
# Prints "ok - ..." / "not ok - ..." and "N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (chroot, mounts)"; exit 77; }
for tp in dpkg-buildpackage:dpkg-dev dh:debhelper dh_dkms:dh-dkms lintian:lintian \
	debootstrap:debootstrap; do
	command -v "${tp%%:*}" >/dev/null && continue
	echo "not ok - ${tp%%:*} is installed: package ${tp#*:} (tests/deps.sh installs it)"
	echo "0 passed, 1 failed"; exit 1
done

LOCK=${E2E_LOCK_FILE:-/run/lock/blkqos-e2e.lock}
if [ "${E2E_LOCK:-1}" = 1 ]; then
	exec 9>"$LOCK"
	flock -n 9 || { echo "# waiting for the e2e lock ($LOCK)"; flock 9; }
fi

PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
notok() { FAILED=$((FAILED + 1)); echo "not ok - $1 expected $2, seen $3"; }

t0=$(date +%s)
if make --no-print-directory deb >/dev/null; then ok "make deb"
else notok "make deb" "exit 0" "a failure (build/deb/build.log)"; echo "$PASSED passed, $FAILED failed"; exit 1; fi
echo "# make deb: $(( $(date +%s) - t0 )) s"
changes=$(ls build/deb/*.changes | head -n 1)
# every tag, pedantic and experimental too: overrides say why in their file
if out=$(lintian --allow-root --pedantic -I -E --fail-on error,warning,info,pedantic \
	"$changes" 2>&1); then ok "lintian finds nothing in $(basename "$changes")"
else notok "lintian finds nothing in $(basename "$changes")" "no tag" "$(echo "$out" | head -5 | tr '\n' ' ')"; fi
echo "# lintian done: $(( $(date +%s) - t0 )) s"

# The chroot's own checks print their lines; its count goes into ours.
t1=$(date +%s)
tests/fresh-machine.sh /src/tests/pkg/in-fresh-root.sh 2>&1 | tee "$top/build/deb/fresh-root.log" |
	grep -E '^(ok|not ok|#) |^fresh-machine: ERROR'
rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' build/deb/fresh-root.log | tail -n 1)
echo "# in the fresh root: $(( $(date +%s) - t1 )) s; all of it: $(( $(date +%s) - t0 )) s"
if [ -z "$line" ]; then
	notok "the fresh root's checks ran" "their count" "exit $rc (build/deb/fresh-root.log)"
else
	PASSED=$((PASSED + ${line%% *})); f=${line#*, }; FAILED=$((FAILED + ${f%% *}))
	[ "$rc" = 0 ] || [ "${f%% *}" != 0 ] || notok "the fresh root exits 0" 0 "$rc"
fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
