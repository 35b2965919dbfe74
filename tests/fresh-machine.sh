#!/bin/bash
# tests/fresh-machine.sh [COMMAND] - run COMMAND (default: the README's
# 'make test' and a 'make demo') in this checkout on a fresh Debian 12 made
# by debootstrap, so that only what the README's commands install is there.
# A machine that has run the tests before has packages a newcomer lacks;
# this is how CI sees a missing install step.
#
# The checkout is bound at /src in the chroot, with /proc, /sys (cgroups,
# BTF, bpffs), /dev and /run/lock (the e2e lock) from the host.  Downloads
# are cached between runs under $CACHE (default /var/cache/blkqos-fresh):
# the base system's tarball (remade when a week old), apt's .deb archive and
# the e2e harness's build/debs.  The chroot itself is made anew every run and
# removed at the end (FRESH_KEEP=1 keeps it for a look).
#
# Run as root on Debian 12.  Exit: COMMAND's status, or 2 for a setup error.
set -uo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${CACHE:-/var/cache/blkqos-fresh}
SUITE=bookworm
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
CMD=${1:-make test && make demo}
ROOT=""

log() { echo "fresh-machine: $*" >&2; }
die() { log "ERROR: $*"; exit 2; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap, mounts, chroot)"
command -v debootstrap >/dev/null || {
	log "apt-get install debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null ||
		die "cannot install debootstrap"
}
mkdir -p "$CACHE/archives/partial" "$CACHE/debs"

# The base system (debootstrap's default variant: required + important, what
# a Debian 12 installation without tasks has), made at most once a week.
base=$CACHE/base-$SUITE.tar
if [ -z "$(find "$base" -mtime -7 2>/dev/null)" ]; then
	log "debootstrap $SUITE from $MIRROR (cached in $base)"
	tmp=$(mktemp -d "$CACHE/.base.XXXXXX")
	debootstrap --cache-dir="$CACHE/archives" "$SUITE" "$tmp" "$MIRROR" \
		>"$CACHE/debootstrap.log" 2>&1 || {
		tail -n 20 "$CACHE/debootstrap.log" >&2
		rm -rf "$tmp"
		die "debootstrap failed (log: $CACHE/debootstrap.log)"
	}
	tar -C "$tmp" -cf "$base.tmp" . && mv "$base.tmp" "$base"
	rm -rf "$tmp"
fi

umount_all() {
	[ -n "$ROOT" ] || return 0
	# deepest first; the rbinds are rslave, so this does not reach the host
	findmnt -rn -o TARGET | grep -E "^$ROOT(/|$)" | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
}
cleanup() {
	umount_all
	if [ -n "$ROOT" ] && findmnt -rn -o TARGET | grep -qE "^$ROOT(/|$)"; then
		# never rm through a bind mount (the checkout is one)
		log "mounts left under $ROOT; not removing it"
	elif [ -n "$ROOT" ] && [ "${FRESH_KEEP:-0}" != 1 ]; then
		rm -rf --one-file-system "$ROOT"
	elif [ -n "$ROOT" ]; then
		log "kept $ROOT"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ROOT=$(mktemp -d /var/tmp/blkqos-fresh.XXXXXX)
chmod 755 "$ROOT"	# a root file system, not a private temp dir
log "fresh root $ROOT"
tar -C "$ROOT" -xf "$base" || die "unpacking $base failed"

cat > "$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY $SUITE-security main
EOF
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
echo "blkqos-fresh" > "$ROOT/etc/hostname"

bind() { # bind SRC DST [rslave]
	mkdir -p "$ROOT$2"
	mount --rbind "$1" "$ROOT$2" || die "mount --rbind $1 $ROOT$2"
	mount --make-rslave "$ROOT$2"
}
mount -t proc proc "$ROOT/proc" || die "mount proc"
bind /sys /sys
bind /dev /dev
mount -t tmpfs tmpfs "$ROOT/run" || die "mount tmpfs /run"
bind /run/lock /run/lock
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
bind "$CACHE/archives" /var/cache/apt/archives
bind "$TOP" /src
# a fresh-machine.sh inside (tests/pkg/test_packages.sh) reuses this cache
bind "$CACHE" /var/cache/blkqos-fresh
mkdir -p "$TOP/build/debs"
bind "$CACHE/debs" /src/build/debs

# A newcomer has cloned the tree with git and has make; nothing else.
in_root() { chroot "$ROOT" /usr/bin/env -i HOME=/root TERM=dumb \
	PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	LANG=C.UTF-8 CI="${CI:-}" /bin/bash -c "$1"; }
log "apt-get install make git (what the README assumes)"
in_root 'apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive \
	apt-get install -y -q --no-install-recommends make git >/dev/null' ||
	die "installing make and git failed"

log "running: $CMD"
t0=$(date +%s)
in_root "cd /src && $CMD"
rc=$?
log "exit $rc after $(( $(date +%s) - t0 )) s"
exit $rc
