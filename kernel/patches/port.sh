#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# port.sh SERIES SERIES_TARBALL [BASE_TARBALL]      regenerate patches/SERIES/
# port.sh --check SERIES SERIES_TARBALL [BASE_TARBALL]   fail if it differs
# port.sh --record SERIES                          save a hand resolution
#
# One source of truth: the 6.1 commit, patches/6.1/*.patch.  A port is that
# commit rebased onto the series' pristine driver in a scratch git repository
# (build/ports/SERIES): the 6.1 driver, the commit on it (git am), the
# series' driver, then git cherry-pick with rerere.  What git cannot merge
# is resolved by hand once and recorded in patches/SERIES/:
#   rr-cache/   git rerere's record of the conflict resolutions
#   api.diff    the changes the series' kernel API needs on top (e.g.
#               BTF_KFUNCS_START, hrtimer_setup), applied after the pick
# and the result is squashed into one commit with the 6.1 commit's message
# and author, and written with git format-patch.
#
# The first time (or when a new driver conflicts anew): run port.sh SERIES
# ...; it stops in build/ports/SERIES with the conflicts; resolve them, git
# add, git -c core.editor=true cherry-pick --continue, make the API changes
# in the working tree, then port.sh --record SERIES.
#
# Tarballs: Debian's /usr/src/linux-source-<series>.tar.xz (BASE: 6.1's).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BASE_SERIES=6.1

die() { echo "port: $*" >&2; exit 1; }

mode=write
case "${1:-}" in
--check) mode=check; shift ;;
--record) mode=record; shift ;;
esac
SERIES=${1:?usage: $0 [--check|--record] SERIES [SERIES_TARBALL [BASE_TARBALL]]}
[ "$SERIES" != "$BASE_SERIES" ] || die "$BASE_SERIES is the source of truth, not a port"
OUTDIR=$HERE/$SERIES
W=$TOP/build/ports/$SERIES

export GIT_AUTHOR_NAME=port GIT_AUTHOR_EMAIL=port@localhost
export GIT_COMMITTER_NAME=port GIT_COMMITTER_EMAIL=port@localhost
export GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" GIT_AUTHOR_DATE="2000-01-01T00:00:00Z"
g() { git -C "$W" -c core.autocrlf=false -c commit.gpgsign=false "$@"; }

# driver TARBALL: replace the scratch tree's driver with TARBALL's.
driver() {
	top=$(tar -tJf "$1" 2>/dev/null | head -n 1 | cut -d/ -f1)
	[ -n "$top" ] || die "cannot read $1"
	rm -rf "$W/drivers" "$W/.x"
	mkdir -p "$W/.x" "$W/drivers/block"
	tar -xJf "$1" -C "$W/.x" "$top/drivers/block/xen-blkback"
	mv "$W/.x/$top/drivers/block/xen-blkback" "$W/drivers/block/"
	rm -rf "$W/.x"
}

# finish OUT: fold what is staged into the pick, with the 6.1 commit's
# message, author and date, and write the patch to OUT.
finish() {
	g commit -q --amend --no-verify --allow-empty -C hook
	rm -rf "$1" && mkdir -p "$1"
	g format-patch -q -1 --zero-commit --no-signature -o "$1" HEAD
}

if [ "$mode" = record ]; then
	[ -d "$W/.git" ] || die "no scratch repository $W: run $0 $SERIES TARBALL first"
	[ -z "$(g diff --name-only --diff-filter=U)" ] || die "unresolved conflicts in $W"
	! g rev-parse -q --verify CHERRY_PICK_HEAD >/dev/null ||
		die "finish the pick first: git -C $W -c core.editor=true cherry-pick --continue"
	# After a full run, edit on top of it: api.diff is relative to the pick.
	if g rev-parse -q --verify picked >/dev/null; then
		g reset -q --soft picked
	else
		g tag picked
	fi
	mkdir -p "$OUTDIR"
	rm -rf "$OUTDIR/rr-cache"
	if [ -d "$W/.git/rr-cache" ] && [ -n "$(ls "$W/.git/rr-cache")" ]; then
		cp -r "$W/.git/rr-cache" "$OUTDIR/rr-cache"
		find "$OUTDIR/rr-cache" -type f ! -name preimage ! -name postimage -delete
	fi
	g add -A drivers
	g diff --cached HEAD -- drivers > "$OUTDIR/api.diff"
	[ -s "$OUTDIR/api.diff" ] || rm -f "$OUTDIR/api.diff"
	finish "$W/out"
	rm -f "$OUTDIR"/*.patch
	cp "$W/out"/*.patch "$OUTDIR/"
	echo "port: recorded patches/$SERIES/ ($(cd "$OUTDIR" && ls | tr '\n' ' '))"
	exit 0
fi

TARBALL=${2:?usage: $0 SERIES SERIES_TARBALL [BASE_TARBALL]}
BASE_TARBALL=${3:-/usr/src/linux-source-$BASE_SERIES.tar.xz}
[ -r "$TARBALL" ] || die "$TARBALL not readable"
[ -r "$BASE_TARBALL" ] || die "$BASE_TARBALL not readable (linux-source-$BASE_SERIES)"

rm -rf "$W" && mkdir -p "$W"
g init -q -b upstream-6.1
g config rerere.enabled true
g config rerere.autoupdate true
driver "$BASE_TARBALL"
g add -A && g commit -q -m "pristine $BASE_SERIES"
g tag base
g am -q "$HERE/$BASE_SERIES"/*.patch || die "the $BASE_SERIES patch does not apply to $BASE_TARBALL"
g tag hook
g checkout -q -b port base
driver "$TARBALL"
g add -A && g commit -q -m "pristine $SERIES"
g tag pristine
# Every series' recorded resolutions: the same conflict is resolved alike.
mkdir -p "$W/.git/rr-cache"
for rr in "$HERE"/*/rr-cache; do
	[ ! -d "$rr" ] || cp -r "$rr/." "$W/.git/rr-cache/"
done
if ! g cherry-pick hook >/dev/null 2>&1; then
	if [ -n "$(g diff --name-only --diff-filter=U)" ]; then
		g diff --name-only --diff-filter=U >&2
		die "conflicts without a recorded resolution in $W: resolve them, git add, git -C $W -c core.editor=true cherry-pick --continue, make the API changes, then $0 --record $SERIES"
	fi
	g -c core.editor=true cherry-pick --continue >/dev/null
fi
g tag picked
if [ -f "$OUTDIR/api.diff" ]; then
	g apply --index "$OUTDIR/api.diff" || die "patches/$SERIES/api.diff does not apply"
fi
finish "$W/out"

if [ "$mode" = check ]; then
	for f in "$W/out"/*.patch; do
		cmp -s "$f" "$OUTDIR/$(basename "$f")" ||
			die "patches/$SERIES/$(basename "$f") is not what port.sh makes (run make -C kernel ports)"
	done
	[ "$(ls "$W/out" | wc -l)" = "$(ls "$OUTDIR"/*.patch | wc -l)" ] ||
		die "patches/$SERIES/ has other patches than port.sh makes"
	echo "port: patches/$SERIES/ is up to date"
else
	mkdir -p "$OUTDIR"
	rm -f "$OUTDIR"/*.patch
	cp "$W/out"/*.patch "$OUTDIR/"
	echo "port: wrote patches/$SERIES/ ($(cd "$W/out" && ls))"
fi
