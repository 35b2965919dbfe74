#!/bin/bash
# tests/e2e/build.sh - build the inputs of the emulated Xen end-to-end run.
#
#   build.sh prepare            fetch + extract packages, xen, vmlinux.gz, loadgen (cached)
#   build.sh initramfs SCENARIO OUTDIR
#                               build OUTDIR/guest.cpio and OUTDIR/dom0.cpio for a scenario
#
# DIST=debian12 (default) or debian13: the release whose Xen, dom0 kernel and
# tools are fetched (dist.sh); its packages are resolved and downloaded with
# that release's apt lists (in its chroot on a host of another release).
#
# Outputs under build/ at the repo top (git-ignored); for DIST=debian13,
# build/debs-debian13/ and build/e2e/debian13/ instead:
#   build/debs/            downloaded .deb files (cache; reused if already there)
#   build/e2e/root/        all packages extracted with dpkg-deb -x
#   build/e2e/xen          the hypervisor (gunzipped, for qemu -kernel)
#   build/e2e/vmlinux.gz   the Debian kernel as an ELF vmlinux, gzip -1
#   build/e2e/loadgen      static load generator
#   build/e2e/qmp          static QMP client (tests/e2e/qmp.c)
#   build/e2e/qemu-root/   with E2E_QDISK=1: qemu-system-xen and the libraries
#                          it needs, extracted (the qdisk mode's disk backend)
#
# Environment used by 'initramfs' (all optional):
#   E2E_BLKBACK_KO=path      replace xen-blkback.ko in dom0 with this file
#   E2E_DOM0_EXTRA="host:guest ..."
#                            extra files for dom0; dynamic ELF files get their
#                            libraries too (from the packages first, then the host)
#   E2E_DOM0_SCRIPT=path     hook script for dom0 (else the scenario's DOM0_SCRIPT,
#                            else tests/e2e/hooks/default.sh)
#   E2E_QDISK=1              (prepare too) dom0 gets QEMU, the disk backend of
#                            backendtype=qdisk disks, and the qmp client
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$E2E_DIR/../.." && pwd)
. "$E2E_DIR/dist.sh"
B=$E2E_B
DEBS=$E2E_DEBS
ROOT=$B/root
# the kernel and Xen of the distribution's metapackages (KVER=, XENVER= pin);
# its one line once per run, from prepare
say=--sh
[ "${1:-}" = prepare ] && say=--say
resolved=$(in_dist "$TOP/kernel/resolve-kernel.sh" $say) || exit 2
eval "$resolved"
EPOCH=1700000000	# fixed mtime for reproducible cpio archives

PKGS="xen-hypervisor-$XENVER-amd64 linux-image-$KVER xen-utils-$XENVER xen-utils-common
 xenstore-utils libxencall1 libxenevtchn1 libxenforeignmemory1 libxengnttab1
 libxenmisc$XENVER libxenstore4 libxentoollog1 libxendevicemodel1 libxenhypfs1
 libxentoolcore1 libyajl2 libncurses6 libtinfo6 libc6 libgcc-s1 libuuid1 liblzma5
 zlib1g libzstd1 busybox-static bash util-linux"

log() { echo "e2e-build: $*" >&2; }
die() { echo "e2e-build: ERROR: $*" >&2; exit 1; }

# newest cached .deb of a package, or nothing (from one listing: load_deblist)
DEBLIST=""
load_deblist() {
	# (none yet is not an error: set -e and pipefail would make it one)
	DEBLIST=$(cd "$DEBS" && { ls -- *.deb 2>/dev/null || true; } | sort -V)
}
deb_of() {
	local f last=""
	for f in $DEBLIST; do
		case "$f" in "$1"_*) last=$f ;; esac
	done
	[ -n "$last" ] && echo "$DEBS/$last"
	return 0
}

fetch() {	# the packages of PKGS, those not in the cache yet
	mkdir -p "$DEBS"
	load_deblist
	local missing="" p
	for p in $PKGS; do
		[ -n "$(deb_of "$p")" ] || missing="$missing $p"
	done
	[ -z "$missing" ] && return 0
	log "apt-get download:$missing"
	local tmp
	tmp=$(mktemp -d "$DEBS/.dl.XXXXXX")
	chmod 755 "$tmp"
	# apt's _apt user must be able to write there (the _apt of the release's
	# chroot when in one)
	if ! in_dist sh -c 'cd "$1" && shift && { chown _apt . 2>/dev/null || chmod 777 .; } &&
		exec apt-get download -q "$@"' download "$tmp" $missing >&2; then
		rm -rf "$tmp"
		die "apt-get download failed (tests/deps.sh refreshes the apt lists; is the mirror reachable?)"
	fi
	mv "$tmp"/*.deb "$DEBS"/
	rm -rf "$tmp"
	load_deblist
}

extract() {
	local key="" p d
	for p in $PKGS; do
		d=$(deb_of "$p")
		key="$key $(basename "$d")"
	done
	if [ -f "$ROOT.stamp" ] && [ "$(cat "$ROOT.stamp")" = "$key" ]; then
		return 0
	fi
	log "extracting packages into $ROOT"
	rm -rf "$ROOT" "$B/xen" "$B/vmlinux.gz" "$B/vmlinux"
	mkdir -p "$ROOT"
	for p in $PKGS; do
		dpkg-deb -x "$(deb_of "$p")" "$ROOT"
	done
	echo "$key" > "$ROOT.stamp"
}

kernel_images() {
	if [ ! -s "$B/xen" ]; then
		log "xen: gunzip boot/xen-$XENVER-amd64.gz"
		gzip -dc "$ROOT/boot/xen-$XENVER-amd64.gz" > "$B/xen.tmp"
		mv "$B/xen.tmp" "$B/xen"
	fi
	if [ ! -s "$B/vmlinux.gz" ] || [ ! -s "$B/vmlinux" ]; then
		# the bzImage payload: xz (Debian 12) or zstd (Debian 13)
		log "vmlinux: the ELF from vmlinuz-$KVER, gzip -1"
		VMLINUZ=$ROOT/boot/vmlinuz-$KVER "$TOP/kernel/extract-vmlinux.sh" "$KVER" \
			"$B/vmlinux.tmp" >&2 || die "no ELF vmlinux in $ROOT/boot/vmlinuz-$KVER"
		readelf -h "$B/vmlinux.tmp" 2>/dev/null | grep -q 'EXEC' || die "vmlinux-$KVER is no executable"
		gzip -1 -n -c "$B/vmlinux.tmp" > "$B/vmlinux.gz.tmp"
		mv "$B/vmlinux.tmp" "$B/vmlinux"
		mv "$B/vmlinux.gz.tmp" "$B/vmlinux.gz"
	fi
}

build_static() {	# NAME: build/e2e/NAME from tests/e2e/NAME.c
	if [ ! -x "$B/$1" ] || [ "$E2E_DIR/$1.c" -nt "$B/$1" ]; then
		log "gcc -static $1"
		gcc -static -O2 -Wall -Wextra -o "$B/$1.tmp" "$E2E_DIR/$1.c"
		mv "$B/$1.tmp" "$B/$1"
	fi
}

# The qdisk mode's backend: Debian's qemu-system-xen (libxl starts it for a
# PV guest with backendtype=qdisk disks) and the library packages of its
# dependency closure in that release, resolved there (the names differ
# between releases); firmware and data packages are of no use to a PV
# guest's disk backend, but for qemu-system-data's keymaps (libxl passes
# -vnc none, and QEMU reads its keymap even then).
QROOT=$B/qemu-root
qemu_pkgs() {
	in_dist apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances qemu-system-xen |
		grep -E '^(qemu-system-xen|qemu-system-data|lib[^ <]*)$' | sort -u
}
prepare_qemu() {
	local pkgs p key=""
	pkgs=$(qemu_pkgs) || die "apt-cache depends qemu-system-xen failed"
	grep -qx qemu-system-xen <<< "$pkgs" || die "no qemu-system-xen package in $DIST"
	PKGS=$pkgs fetch
	for p in $pkgs; do key="$key $(basename "$(deb_of "$p")")"; done
	[ -f "$QROOT.stamp" ] && [ "$(cat "$QROOT.stamp")" = "$key" ] && return 0
	log "extracting qemu-system-xen and its libraries into $QROOT"
	rm -rf "$QROOT"
	mkdir -p "$QROOT"
	for p in $pkgs; do dpkg-deb -x "$(deb_of "$p")" "$QROOT"; done
	echo "$key" > "$QROOT.stamp"
}

prepare() {
	log "kernel $KVER ($KVERSION), Xen $XENVER"
	mkdir -p "$B"
	fetch
	extract
	kernel_images
	build_static loadgen
	build_static qmp
	[ "${E2E_QDISK:-0}" != 1 ] || prepare_qemu
}

# ---------------------------------------------------------------- initramfs

# pkgfile PATH: an extracted file by its path before or after the /usr merge
# (Debian 13 ships /usr/bin/bash, /usr/lib/modules)
pkgfile() {
	local f
	for f in "$ROOT/$1" "$ROOT/usr/$1"; do
		if [ -e "$f" ]; then
			echo "$f"
			return 0
		fi
	done
	die "$1 is in none of the extracted packages"
}

# library search: the extracted packages first, then the host
LIBDIRS="$ROOT/lib/x86_64-linux-gnu $ROOT/usr/lib/x86_64-linux-gnu
 /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu"

find_lib() {
	local d
	for d in $LIBDIRS; do
		if [ -e "$d/$1" ]; then
			echo "$d/$1"
			return 0
		fi
	done
	return 1
}

# copy_libs STAGE ELF...: copy the NEEDED closure into STAGE/lib/x86_64-linux-gnu
copy_libs() {
	local stage=$1
	shift
	local queue=("$@") f n p
	mkdir -p "$stage/lib/x86_64-linux-gnu" "$stage/lib64"
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]}
		queue=("${queue[@]:1}")
		for n in $(readelf -d "$f" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			[ -e "$stage/lib/x86_64-linux-gnu/$n" ] && continue
			p=$(find_lib "$n") || die "library $n (needed by $f) not found"
			cp -L "$p" "$stage/lib/x86_64-linux-gnu/$n"
			queue+=("$p")
		done
	done
	if [ ! -e "$stage/lib64/ld-linux-x86-64.so.2" ]; then
		cp -L "$(find_lib ld-linux-x86-64.so.2)" "$stage/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
		ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$stage/lib64/ld-linux-x86-64.so.2"
	fi
}

is_dyn_elf() {
	readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'
}

# busybox plus /bin/sh; the init scripts run "busybox --install -s /bin" first
# (one process at boot instead of ~300 ln at build time)
install_busybox() {
	local stage=$1
	mkdir -p "$stage/bin" "$stage/sbin" "$stage/usr/bin" "$stage/usr/sbin"
	cp "$(pkgfile bin/busybox)" "$stage/bin/busybox"
	ln -s busybox "$stage/bin/sh"
}

# mk_cpio STAGE OUT: reproducible newc archive
mk_cpio() {
	local stage=$1 out=$2
	find "$stage" -exec touch -h -d "@$EPOCH" {} +
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort |
		cpio -o -H newc --reproducible -R 0:0 --quiet) > "$out.tmp"
	mv "$out.tmp" "$out"
}

# modfile NAME: the module's file, .ko or compressed (Debian 13: .ko.xz)
modfile() {
	local f
	f=$(find "$MODDIR/kernel" \( -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" \) |
		head -n 1)
	[ -n "$f" ] || die "module $1 not found"
	echo "$f"
}

# copy_mod SRC DST: DST is a plain .ko (busybox insmod reads no compressed one)
copy_mod() {
	case "$1" in
	*.ko.xz) xz -dc "$1" > "$2" ;;
	*.ko.zst) zstd -qdc "$1" > "$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# add_modules STAGE NAME...: copy modules + dependencies, write /lib/modules/load-order
add_modules() {
	local stage=$1
	shift
	local mdir="$stage/lib/modules/$KVER" name f rel dep
	mkdir -p "$mdir"
	: > "$stage/lib/modules/load-order.tmp"
	_add_mod() {
		local name=$1 src=$2 rel dep
		name=${name//_/-}
		grep -qx "$name" "$stage/lib/modules/load-order.tmp" 2>/dev/null && return 0
		for dep in $(modinfo -F depends "$src" | tr ',' ' '); do
			_add_mod "$dep" "$(modfile "$(_modname_file "$dep")")"
		done
		rel=${src#$MODDIR/}
		[ "$rel" = "$src" ] && rel=kernel/extra/$(basename "$src")
		rel=${rel%.xz}
		rel=${rel%.zst}
		case "$name" in
		xen-blkback)
			rel=kernel/drivers/block/xen-blkback/xen-blkback.ko
			if [ -n "${E2E_BLKBACK_KO:-}" ]; then
				src=$E2E_BLKBACK_KO
				log "dom0: xen-blkback.ko replaced by $src"
			fi
			;;
		esac
		mkdir -p "$(dirname "$mdir/$rel")"
		copy_mod "$src" "$mdir/$rel"
		echo "$name" >> "$stage/lib/modules/load-order.tmp"
		echo "/lib/modules/$KVER/$rel" >> "$stage/lib/modules/load-order"
	}
	for name in "$@"; do
		f=$(modfile "$name")
		if [ "$name" = xen-blkback ] && [ -n "${E2E_BLKBACK_KO:-}" ]; then
			[ -f "$E2E_BLKBACK_KO" ] || die "E2E_BLKBACK_KO=$E2E_BLKBACK_KO: no such file"
			f=$E2E_BLKBACK_KO
		fi
		_add_mod "$name" "$f"
	done
	rm -f "$stage/lib/modules/load-order.tmp"
	cp "$MODDIR/modules.builtin" "$MODDIR/modules.order" "$MODDIR/modules.builtin.modinfo" \
		"$mdir/"
	depmod -b "$stage" "$KVER"
}

# module names in 'depends' use '_' or '-' freely: find the file
_modname_file() {
	local n=$1
	if [ -n "$(find "$MODDIR/kernel" -name "$n.ko*" | head -n 1)" ]; then
		echo "$n"
	else
		echo "${n//_/-}"
	fi
}

# load a scenario's settings in a subshell-safe way
load_scenario() {
	DISKS="xvda:128M"
	GUEST_MEM=256
	GUEST_VCPUS=1
	GUEST_TIMEOUT=300
	DOM0_SCRIPT=""
	WORKLOAD=""
	# shellcheck disable=SC1090
	. "$1"
	[ -n "$WORKLOAD" ] || die "scenario $1 sets no WORKLOAD"
}

build_guest() {
	local scen=$1 out=$2 stage=$3/guest
	rm -rf "$stage"
	mkdir -p "$stage"/{proc,sys,dev,tmp}
	install_busybox "$stage"
	cp "$B/loadgen" "$stage/bin/loadgen"
	add_modules "$stage" xen-blkfront
	cp "$E2E_DIR/guest-init.sh" "$stage/init"
	chmod 755 "$stage/init"
	printf '%s\n' "$WORKLOAD" > "$stage/workload.sh"
	mk_cpio "$stage" "$out"
}

build_dom0() {
	local scen=$1 out=$2 guestcpio=$3 stage=$4/dom0 x hook
	local XB=usr/lib/xen-$XENVER/bin
	rm -rf "$stage"
	mkdir -p "$stage"/{proc,sys,dev,tmp,run,root,etc,var/lib/xen,var/log/xen/console} \
		"$stage/$XB" "$stage/usr/bin" "$stage/e2e" "$stage/guest"
	ln -s ../run "$stage/var/run"
	install_busybox "$stage"
	# real tools that the hotplug scripts need
	cp "$(pkgfile bin/bash)" "$stage/bin/bash"
	cp "$(pkgfile bin/flock)" "$stage/bin/flock"
	# libxl-save-helper: libxl runs it to write or read a domain's memory
	# (xl save, restore, migrate, migrate-receive)
	for x in xl xenstored xenconsoled xen-init-dom0 xenstore-control libxl-save-helper; do
		cp "$ROOT/$XB/$x" "$stage/$XB/$x"
	done
	ln -s "xen-$XENVER" "$stage/usr/lib/xen"	# dom0-init.sh's PATH
	cp "$ROOT/usr/bin/xenstore" "$stage/usr/bin/xenstore"
	for x in chmod exists list ls read rm watch write; do
		ln -s xenstore "$stage/usr/bin/xenstore-$x"
	done
	mkdir -p "$stage/etc/xen"
	cp -a "$ROOT/etc/xen/scripts" "$ROOT/etc/xen/xl.conf" "$stage/etc/xen/"
	cp "$E2E_DIR/block-e2e" "$stage/etc/xen/scripts/block-e2e"
	copy_libs "$stage" "$stage/bin/bash" "$stage/bin/flock" "$stage/usr/bin/xenstore" \
		"$stage/$XB"/*
	# xl dlopens libgcc_s for pthread_cancel; ldd does not list it
	cp -L "$(find_lib libgcc_s.so.1)" "$stage/lib/x86_64-linux-gnu/libgcc_s.so.1"
	add_modules "$stage" xen-evtchn xenfs xen-privcmd xen-gntdev xen-gntalloc loop xen-blkback

	# the guest kernel: the plain ELF by default (libxl need not gunzip 65 MB in
	# the emulated dom0; create is ~2x faster), or gzip -1 (E2E_GUEST_KERNEL=gz)
	if [ "${E2E_GUEST_KERNEL:-raw}" = raw ]; then
		cp "$B/vmlinux" "$stage/guest/vmlinux"
	else
		cp "$B/vmlinux.gz" "$stage/guest/vmlinux"
	fi
	cp "$guestcpio" "$stage/guest/initrd.cpio"
	cp "$E2E_DIR/dom0-init.sh" "$stage/init"
	chmod 755 "$stage/init"
	cp "$scen" "$stage/e2e/scenario"

	hook=${E2E_DOM0_SCRIPT:-}
	if [ -z "$hook" ] && [ -n "$DOM0_SCRIPT" ]; then
		case "$DOM0_SCRIPT" in
		/*) hook=$DOM0_SCRIPT ;;
		*) hook=$(dirname "$scen")/$DOM0_SCRIPT ;;
		esac
	fi
	[ -n "$hook" ] || hook=$E2E_DIR/hooks/default.sh
	[ -f "$hook" ] || die "dom0 hook $hook: no such file"
	cp "$hook" "$stage/e2e/hook"
	chmod 755 "$stage/e2e/hook"

	local extra_elves=() h g
	for x in ${E2E_DOM0_EXTRA:-}; do
		h=${x%%:*}
		g=${x#*:}
		[ "$h" != "$x" ] && [ -n "$g" ] || die "E2E_DOM0_EXTRA entry '$x' is not host:guest"
		case "$g" in /*) ;; *) die "E2E_DOM0_EXTRA guest path '$g' is not absolute" ;; esac
		[ -e "$h" ] || die "E2E_DOM0_EXTRA: $h: no such file"
		mkdir -p "$stage$(dirname "$g")"
		cp -rL "$h" "$stage$g"
		if [ -f "$stage$g" ] && is_dyn_elf "$stage$g"; then
			extra_elves+=("$stage$g")
		fi
		log "dom0: extra $h -> $g"
	done
	[ ${#extra_elves[@]} -eq 0 ] || copy_libs "$stage" "${extra_elves[@]}"
	[ "${E2E_QDISK:-0}" != 1 ] || add_qemu "$stage"
	mk_cpio "$stage" "$out"
}

# add_qemu STAGE: QEMU where libxl looks for it, its libraries, the qmp client
add_qemu() {
	local stage=$1 qemu=usr/libexec/xen-qemu-system-i386
	[ -x "$QROOT/$qemu" ] || die "$QROOT/$qemu missing (build.sh prepare with E2E_QDISK=1)"
	mkdir -p "$stage/usr/libexec"
	cp "$QROOT/$qemu" "$stage/$qemu"
	mkdir -p "$stage/usr/share/qemu"
	cp -r "$QROOT/usr/share/qemu/keymaps" "$stage/usr/share/qemu/"
	# the release's libraries before the host's (QEMU is built against them)
	LIBDIRS="$ROOT/lib/x86_64-linux-gnu $ROOT/usr/lib/x86_64-linux-gnu
 $QROOT/lib/x86_64-linux-gnu $QROOT/usr/lib/x86_64-linux-gnu $LIBDIRS" \
		copy_libs "$stage" "$stage/$qemu"
	cp "$B/qmp" "$stage/usr/bin/qmp"
	log "dom0: qemu-system-xen ($(du -sh "$stage/$qemu" | cut -f1)) and qmp"
}

initramfs() {
	local scen=$1 outdir=$2
	[ -f "$scen" ] || die "scenario $scen: no such file"
	scen=$(cd "$(dirname "$scen")" && pwd)/$(basename "$scen")
	MODDIR=$(dirname "$(pkgfile "lib/modules/$KVER/modules.order")")
	mkdir -p "$outdir"
	load_scenario "$scen"
	build_guest "$scen" "$outdir/guest.cpio" "$outdir"
	build_dom0 "$scen" "$outdir/dom0.cpio" "$outdir/guest.cpio" "$outdir"
	rm -rf "$outdir/guest" "$outdir/dom0"
}

case "${1:-}" in
prepare) prepare ;;
initramfs)
	[ $# -eq 3 ] || die "usage: build.sh initramfs SCENARIO OUTDIR"
	initramfs "$2" "$3"
	;;
*) die "usage: build.sh prepare | initramfs SCENARIO OUTDIR" ;;
esac
