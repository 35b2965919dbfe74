#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Run by tests/pkg/test_packages.sh inside a fresh Debian 12 root
# (tests/fresh-machine.sh; the checkout at /src): installs the packages of
# build/deb/ with apt as an operator would and checks where their files
# land, the unit, the man pages, the DKMS build for a kernel whose headers
# arrive after the package, and what removal and purge leave.
# Prints "ok - ..." / "not ok - ..." and "N passed, N failed".
set -u
cd /src || exit 1
export DEBIAN_FRONTEND=noninteractive
PASSED=0 FAILED=0
ok() { PASSED=$((PASSED + 1)); echo "ok - $1"; }
notok() { FAILED=$((FAILED + 1)); echo "not ok - $1 expected $2, seen $3"; }
check_eq() { if [ "$2" = "$3" ]; then ok "$1"; else notok "$1" "'$2'" "'$3'"; fi; }
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" = 0 ]; exit; }
one_line() { tr '\n' ' ' | sed 's/ $//'; }
apt_install() { apt-get install -y -q --no-install-recommends "$@" >"$LOGDIR/apt.log" 2>&1; }

LOGDIR=$(mktemp -d)
DEB=$(ls build/deb/blkqos_*_amd64.deb 2>/dev/null | head -n 1)
DKMS_DEB=$(ls build/deb/blkqos-dkms_*_all.deb 2>/dev/null | head -n 1)
[ -n "$DEB" ] && [ -n "$DKMS_DEB" ] || { notok "make deb built both packages" "2 .debs" "$(ls build/deb)"; finish; }

# Where the files are after a remove (a list of paths that exist).
leftovers() {
	find / -xdev \( -path /src -o -path /proc -o -path /sys -o -path /dev \
		-o -path /var/cache/apt -o -path /var/lib/dpkg \) -prune -o \
		\( -name '*blkqos*' -o -name '*xen-blkback-bpf*' \) -print 2>/dev/null | sort
}
before=$(leftovers)
# A dom0 has man (debootstrap's base does not): systemd-analyze verify
# also checks Documentation=man:... with it.
apt_install man-db || { notok "apt-get install man-db" "exit 0" "$(tail -3 "$LOGDIR/apt.log" | one_line)"; finish; }

# ---- blkqos: install ---------------------------------------------------------
if apt_install "./$DEB"; then ok "apt-get install ./$(basename "$DEB")"
else notok "apt-get install ./$(basename "$DEB")" "exit 0" "$(tail -5 "$LOGDIR/apt.log" | one_line)"; finish; fi
files=$(dpkg -L blkqos | while read -r f; do [ -d "$f" ] || echo "$f"; done | sort | one_line)
check_eq "blkqos's files are where Debian 12 puts them" \
	"/etc/blkqos.rules /lib/systemd/system/blkqos.service /usr/lib/tmpfiles.d/blkqos.conf /usr/sbin/blkqos /usr/share/doc/blkqos/changelog.gz /usr/share/doc/blkqos/copyright /usr/share/lintian/overrides/blkqos /usr/share/man/man5/blkqos.rules.5.gz /usr/share/man/man8/blkqos.8.gz" \
	"$files"
check_eq "/etc/blkqos.rules is a conffile" 1 \
	"$(dpkg-query -W -f='${Conffiles}\n' blkqos | grep -c '^ /etc/blkqos.rules ')"
check_eq "installing limits nothing: the rules file is comments only" 0 \
	"$(grep -cvE '^[[:space:]]*(#|$)' /etc/blkqos.rules)"
check_eq "the service is enabled (multi-user.target wants it)" /lib/systemd/system/blkqos.service \
	"$(readlink /etc/systemd/system/multi-user.target.wants/blkqos.service)"
check_eq "tmpfiles made the loader's lock (/run/blkqos.lock)" yes \
	"$([ -f /run/blkqos.lock ] && echo yes || echo no)"
check_eq "blkqos's libraries resolve" "" "$(ldd /usr/sbin/blkqos | grep 'not found')"
check_eq "blkqos --help runs" 0 "$(/usr/sbin/blkqos --help >/dev/null 2>&1; echo $?)"
out=$(/usr/sbin/blkqos probe 2>&1); rc=$?
check_eq "blkqos probe here (no Xen): exit 3, says why" "3 yes" \
	"$rc $(echo "$out" | grep -q 'xen_blkback is not loaded' && echo yes || echo no)"

# ---- the unit -------------------------------------------------------------------
out=$(systemd-analyze verify /lib/systemd/system/blkqos.service 2>&1); rc=$?
check_eq "systemd-analyze verify accepts blkqos.service" "0 ''" "$rc '$(echo "$out" | grep blkqos | one_line)'"
show() { grep -E "^$1=" /lib/systemd/system/blkqos.service | cut -d= -f2- | one_line; }
check_eq "Type=notify" notify "$(show Type)"
check_eq "Restart=on-failure" on-failure "$(show Restart)"
check_eq "after xenstored, before xendomains" "xen.service xenstored.service proc-xen.mount / xendomains.service" \
	"$(show After) / $(show Before)"
check_eq "xen-blkback is loaded first (outside the sandbox), so that run sees the hook" \
	"-+/sbin/modprobe xen-blkback" "$(show ExecStartPre)"
check_eq "ExecStart is the packaged binary with the packaged rules" \
	"/usr/sbin/blkqos run --rules /etc/blkqos.rules" "$(show ExecStart)"
# what systemd makes of the sandbox, line by line (an unknown one is a warning)
sec=$(systemd-analyze security --offline=true /lib/systemd/system/blkqos.service 2>&1 | tail -n 1)
echo "# systemd-analyze security: $sec"

# ---- man ---------------------------------------------------------------------------
check_eq "man -w blkqos finds blkqos(8)" /usr/share/man/man8/blkqos.8.gz "$(man -w blkqos 2>&1)"
check_eq "man blkqos renders (its COMMANDS and SERVICE)" 2 \
	"$(MANWIDTH=80 man -P cat blkqos 2>/dev/null | grep -cE '^(COMMANDS|SERVICE)$')"
check_eq "man 5 blkqos.rules renders (its key table)" 1 \
	"$(MANWIDTH=80 man -P cat 5 blkqos.rules 2>/dev/null | grep -cE '^ +qos/write-bps-peak +bytes/s')"
# what whatis and apropos index: the NAME line
check_eq "lexgrog reads blkqos(8)'s NAME (whatis, apropos)" 1 \
	"$(lexgrog /usr/share/man/man8/blkqos.8.gz 2>/dev/null | grep -c '"blkqos - per-guest disk I/O limits')"

# ---- remove, purge ---------------------------------------------------------------
apt-get remove -y -q blkqos >"$LOGDIR/apt.log" 2>&1
check_eq "apt-get remove blkqos: config files stay" "deinstall ok config-files" \
	"$(dpkg-query -W -f='${Status}' blkqos 2>&1)"
left=$(comm -13 <(echo "$before") <(leftovers) | grep -vxE '/run/blkqos.lock' | one_line)
# deb-systemd-helper keeps the unit's enablement (configuration) until purge
check_eq "after remove only configuration is left" \
	"/etc/blkqos.rules /etc/systemd/system/multi-user.target.wants/blkqos.service /var/lib/systemd/deb-systemd-helper-enabled/blkqos.service.dsh-also /var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/blkqos.service" \
	"$left"
apt-get purge -y -q blkqos >"$LOGDIR/apt.log" 2>&1
check_eq "apt-get purge blkqos: gone" "" "$(dpkg-query -W -f='${Status}' blkqos 2>/dev/null)"
check_eq "after purge nothing is left (but /run/blkqos.lock, until reboot)" "" \
	"$(comm -13 <(echo "$before") <(leftovers) | grep -vxE '/run/blkqos.lock' | one_line)"

# ---- blkqos-dkms: a kernel's headers arrive after it, DKMS builds for them ----
eval "$(kernel/resolve-kernel.sh --sh)" || { notok "resolve-kernel.sh names the kernel" "KVER" "nothing"; finish; }
echo "# kernel $KVER $KVERSION"
# A dom0 has the kernel's image in /boot (the module's base BTF comes from
# it): from the e2e harness's cached package, else a download.
img=$(ls build/debs/linux-image-"$KVER"_"$KVERSION"_amd64.deb \
	/var/cache/blkqos-fresh/debs/linux-image-"$KVER"_"$KVERSION"_amd64.deb 2>/dev/null | head -n 1)
if [ -z "$img" ]; then
	(cd "$LOGDIR" && apt-get download -q "linux-image-$KVER=$KVERSION" >/dev/null 2>&1)
	img=$(ls "$LOGDIR"/linux-image-"$KVER"_*.deb 2>/dev/null | head -n 1)
fi
err=$( { dpkg-deb --fsys-tarfile "${img:-/nonexistent}" | tar -x -C / "./boot/vmlinuz-$KVER"; } 2>&1)
check_eq "/boot/vmlinuz-$KVER is there, as on a dom0" "yes ''" \
	"$([ -s "/boot/vmlinuz-$KVER" ] && echo yes || echo no) '$(echo "$err" | one_line)'"

if apt_install "./$DKMS_DEB"; then ok "apt-get install ./$(basename "$DKMS_DEB") (pulls dkms, linux-source, ...)"
else notok "apt-get install ./$(basename "$DKMS_DEB")" "exit 0" "$(tail -5 "$LOGDIR/apt.log" | one_line)"; finish; fi
check_eq "its postinst says how to reload the module and what Secure Boot needs" 2 \
	"$(grep -cE 'modprobe -r xen-blkback && modprobe xen-blkback|mokutil --import /var/lib/dkms/mok.pub' "$LOGDIR/apt.log")"
check_eq "the DKMS source is in /usr/src" yes \
	"$([ -f /usr/src/xen-blkback-bpf-0.1/dkms.conf ] && echo yes || echo no)"
# DKMS signs what it builds with a key of its own, which it makes with
# openssl (recommended by blkqos-dkms): what a Secure Boot host enrols.
apt_install openssl || notok "apt-get install openssl" "exit 0" "$(tail -3 "$LOGDIR/apt.log" | one_line)"
t0=$(date +%s)
apt_install "linux-headers-$KVER=$KVERSION"
t1=$(date +%s)
echo "# apt-get install linux-headers-$KVER with the DKMS build: $((t1 - t0)) s"
cp "$LOGDIR/apt.log" build/deb/dkms-headers-apt.log 2>/dev/null
status=$(dkms status -m xen-blkback-bpf -k "$KVER" 2>&1)
check_eq "the headers' postinst had DKMS build (and make check) and install the module for $KVER" 1 \
	"$(echo "$status" | grep -cE "^xen-blkback-bpf/0.1, $KVER, [a-z0-9_]+: installed$")"
ko=$(ls /lib/modules/"$KVER"/updates/dkms/xen-blkback.ko* 2>/dev/null | head -n 1)
check_eq "... into /lib/modules/$KVER/updates/dkms/" yes "$([ -n "$ko" ] && echo yes || echo no)"
# the project's own module check on what DKMS installed (BTF of the hook,
# the kfunc set resolved), against the kernel's base BTF
src=/usr/src/xen-blkback-bpf-0.1
out=$("$src/extract-vmlinux.sh" "$KVER" "$LOGDIR/vmlinux" 2>&1 &&
	QUIET=1 "$src/check-module.sh" "$ko" "$LOGDIR/vmlinux" 2>&1)
check_eq "... and it passes check-module.sh as installed" 1 "$(echo "$out" | grep -c ' passed$')"
check_eq "... signed with DKMS's key (what Secure Boot needs enrolled)" yes \
	"$([ -n "$(modinfo -F signer "$ko" 2>/dev/null)" ] && [ -s /var/lib/dkms/mok.pub ] && echo yes || echo no)"
check_eq "... with the kernel's vermagic" "$KVER SMP preempt mod_unload modversions" \
	"$(modinfo -F vermagic "$ko" 2>/dev/null | sed 's/ *$//')"
check_eq "modprobe would take it first (depmod)" "$ko" \
	"$(modprobe -S "$KVER" -n -v xen-blkback 2>/dev/null | awk '/^insmod/ { print $2 }' | tail -n 1)"

dkms_before=$before
apt-get purge -y -q blkqos-dkms >"$LOGDIR/apt.log" 2>&1
check_eq "apt-get purge blkqos-dkms: gone" "" "$(dpkg-query -W -f='${Status}' blkqos-dkms 2>/dev/null)"
check_eq "... and the module with it" "no" "$([ -e "$ko" ] && echo yes || echo no)"
check_eq "... and DKMS forgets it" "" "$(dkms status -m xen-blkback-bpf 2>&1)"
check_eq "after purge nothing of blkqos-dkms is left" "" \
	"$(comm -13 <(echo "$dkms_before") <(leftovers) | grep -vxE '/run/blkqos.lock' | one_line)"
finish
