#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# make install with DESTDIR and PREFIX: where each file goes, the unit
# pointing at the installed binary, an existing /etc/blkqos.rules kept, and
# install-dkms's source tree. Into a scratch DESTDIR; needs ./blkqos built.
# Prints "ok - ..." / "not ok - ..." and "N passed, N failed".
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
notok() { FAILED=$((FAILED + 1)); echo "not ok - $1 expected $2, seen $3"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "'$2'" "'$3'"; fi; }
d=$(mktemp -d) || exit 1
trap 'rm -rf "$d"' EXIT
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
tmpfilesdir=$(pkg-config --variable=tmpfilesdir systemd 2>/dev/null || echo /usr/lib/tmpfiles.d)

out=$(make --no-print-directory install DESTDIR="$d/a" PREFIX=/usr/local 2>&1); rc=$?
check_eq "make install DESTDIR PREFIX=/usr/local" 0 "$rc"
check_eq "it is quiet (one line per step, no commands)" 0 "$(echo "$out" | grep -c 'install -D')"
files=$(cd "$d/a" && find . -type f | sort | tr '\n' ' ')
check_eq "the files, where PREFIX and systemd put them" \
	"$(printf '%s\n' ./etc/blkqos.rules ".$unitdir/blkqos.service" ".$tmpfilesdir/blkqos.conf" \
		./usr/local/sbin/blkqos ./usr/local/share/man/man5/blkqos.rules.5 \
		./usr/local/share/man/man8/blkqos.8 | sort | tr '\n' ' ')" "$files"
check_eq "the unit starts the installed binary" \
	"ExecStart=/usr/local/sbin/blkqos run --rules /etc/blkqos.rules" \
	"$(grep '^ExecStart=' "$d/a$unitdir/blkqos.service")"
check_eq "the binary is executable, the rest not" "755 644" \
	"$(stat -c %a "$d/a/usr/local/sbin/blkqos") $(stat -c %a "$d/a/usr/local/share/man/man8/blkqos.8")"

echo "web01 xvda iops=500" >"$d/a/etc/blkqos.rules"
make --no-print-directory install DESTDIR="$d/a" PREFIX=/usr/local >/dev/null 2>&1
check_eq "a second install keeps the operator's /etc/blkqos.rules" "web01 xvda iops=500" \
	"$(cat "$d/a/etc/blkqos.rules")"

make --no-print-directory install DESTDIR="$d/b" PREFIX=/usr SYSCONFDIR=/etc >/dev/null 2>&1
check_eq "PREFIX=/usr: /usr/sbin/blkqos, and the unit says so" "yes ExecStart=/usr/sbin/blkqos run --rules /etc/blkqos.rules" \
	"$([ -x "$d/b/usr/sbin/blkqos" ] && echo yes) $(grep '^ExecStart=' "$d/b$unitdir/blkqos.service")"

make --no-print-directory install-dkms DESTDIR="$d/c" >/dev/null 2>&1
src=$d/c/usr/src/xen-blkback-bpf-0.1
check_eq "install-dkms: dkms.conf under /usr/src/NAME-VERSION" yes "$([ -f "$src/dkms.conf" ] && echo yes)"
check_eq "... with kernel/'s Makefile and scripts, executable" yes \
	"$([ -f "$src/Makefile" ] && [ -x "$src/extract-vmlinux.sh" ] && [ -x "$src/check-module.sh" ] && echo yes)"
check_eq "... every series' patches, and no build output, self-test or upstream series" \
	"$(cd kernel && ls patches/*/*.patch | sort | tr '\n' ' ')" \
	"$(cd "$src" && find patches -type f | sort | tr '\n' ' ')"
check_eq "... nothing else" "" "$(cd "$src" && ls -d build selftest upstream 2>/dev/null)"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
