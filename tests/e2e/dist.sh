# tests/e2e/dist.sh - sourced by build.sh, run.sh, e2e.sh and demo.sh (with
# TOP set): which Debian release the emulated host runs, and where its files go.
#
#   DIST=debian12 (default)  bookworm: Xen 4.17, kernel 6.1
#   DIST=debian13            trixie:   Xen 4.20, kernel 6.12
#
# Sets E2E_B (build/e2e, or build/e2e/<dist>), E2E_DEBS (build/debs, or
# build/debs-<dist>: the suites' .debs never mix), E2E_KO (the patched
# module "make -C kernel DIST=..." builds) and defines in_dist, which runs a
# command where that release's apt lists are: here on a host of the same
# release, else in its chroot (kernel/chroot.sh; the host's apt sources are
# never touched).
DIST=${DIST:-debian12}
case "$DIST" in
debian12) E2E_SUITE=bookworm ;;
debian13) E2E_SUITE=trixie ;;
*)
	echo "e2e: unknown DIST '$DIST': valid are debian12 debian13" >&2
	exit 2
	;;
esac
if [ "$DIST" = debian12 ]; then
	E2E_B=$TOP/build/e2e
	E2E_DEBS=$TOP/build/debs
	E2E_KO=$TOP/kernel/build/xen-blkback.ko
else
	E2E_B=$TOP/build/e2e/$DIST
	E2E_DEBS=$TOP/build/debs-$DIST
	E2E_KO=$TOP/kernel/build/$DIST/xen-blkback.ko
fi
E2E_HOST_SUITE=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")

# in_dist CMD [ARG...]: CMD sees DIST's apt lists (the chroot starts with an
# empty environment: KVER and XENVER pins are passed on)
in_dist() {
	if [ "$E2E_SUITE" = "$E2E_HOST_SUITE" ]; then
		"$@"
	else
		"$TOP/kernel/chroot.sh" "$DIST" /usr/bin/env \
			${KVER:+KVER=$KVER} ${XENVER:+XENVER=$XENVER} "$@"
	fi
}
