# SPDX-License-Identifier: GPL-2.0
# blkqos: build the BPF object, its skeleton, the loader, and the tests.
# Quiet unless V=1. CLANG=clang-16 selects another clang.

CLANG	?= clang
BPFTOOL	?= bpftool
CC	?= gcc
PKG_CONFIG ?= pkg-config

BUILD	:= build
BIN	:= tests/bin

ifeq ($(V),1)
Q	:=
msg	= @true
else
Q	:= @
msg	= @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Where the BPF object's program ELF lives; vmlinux.h is at the top.
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 \
	-Wall -Werror -I. -Iinclude -Ibpf
CFLAGS	?= -O2 -g
CFLAGS	+= -Wall -Wextra -Werror -Iinclude -Iloader -I$(BUILD) \
	$(shell $(PKG_CONFIG) --cflags libbpf xenstore 2>/dev/null)
LIBS	:= $(shell $(PKG_CONFIG) --libs libbpf xenstore 2>/dev/null || echo -lbpf -lxenstore) -lelf -lz

BPF_OBJ	:= $(BUILD)/blkqos.bpf.o
SKEL	:= $(BUILD)/blkqos.skel.h

LOADER_SRCS := $(wildcard loader/*.c)
LOADER_HDRS := $(wildcard loader/*.h) include/blkqos.h

.PHONY: all clean test test-run bench bench-run deps help regen-vmlinux e2e demo \
	install install-dkms deb results
all: blkqos

$(BUILD):
	$(Q)mkdir -p $@

$(BIN):
	$(Q)mkdir -p $@

$(BPF_OBJ): bpf/blkqos.bpf.c bpf/engine.bpf.h include/blkqos.h vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(@:.o=.tmp.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.o=.tmp.o) && rm -f $(@:.o=.tmp.o)

$(SKEL): $(BPF_OBJ)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name blkqos_bpf > $@.tmp && mv $@.tmp $@

blkqos: $(LOADER_SRCS) $(LOADER_HDRS) $(SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(LOADER_SRCS) $(LIBS)

# --- install -------------------------------------------------------------
# make install [DESTDIR=...] [PREFIX=/usr/local]: the loader, its service,
# man pages, and /etc/blkqos.rules (comments only) unless there is one.
# The unit and tmpfiles directories are systemd's own (pkg-config).
PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
SYSCONFDIR ?= /etc
UNITDIR	?= $(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir systemd 2>/dev/null),/lib/systemd/system)
TMPFILESDIR ?= $(or $(shell $(PKG_CONFIG) --variable=tmpfilesdir systemd 2>/dev/null),/usr/lib/tmpfiles.d)
INSTALL	?= install
# The DKMS source of the patched xen-blkback (kernel/dkms.conf's name and
# version): what blkqos-dkms ships in /usr/src.
DKMS_NAME := $(shell sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' kernel/dkms.conf)
DKMS_VER  := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kernel/dkms.conf)
DKMS_DIR  ?= /usr/src/$(DKMS_NAME)-$(DKMS_VER)

# (the unit is made at each install: it names this PREFIX's binary)
install: blkqos
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/blkqos)
	$(Q)$(INSTALL) -D -m 755 blkqos $(DESTDIR)$(SBINDIR)/blkqos
	$(call msg,INSTALL,$(DESTDIR)$(UNITDIR)/blkqos.service)
	$(Q)$(INSTALL) -d $(DESTDIR)$(UNITDIR)
	$(Q)sed 's|/usr/sbin/blkqos|$(SBINDIR)/blkqos|; s|/etc/blkqos.rules|$(SYSCONFDIR)/blkqos.rules|' \
		systemd/blkqos.service >$(DESTDIR)$(UNITDIR)/blkqos.service
	$(Q)chmod 644 $(DESTDIR)$(UNITDIR)/blkqos.service
	$(Q)$(INSTALL) -D -m 644 systemd/blkqos.tmpfiles $(DESTDIR)$(TMPFILESDIR)/blkqos.conf
	$(call msg,INSTALL,$(DESTDIR)$(MANDIR)/man8/blkqos.8 man5/blkqos.rules.5)
	$(Q)$(INSTALL) -D -m 644 man/blkqos.8 $(DESTDIR)$(MANDIR)/man8/blkqos.8
	$(Q)$(INSTALL) -D -m 644 man/blkqos.rules.5 $(DESTDIR)$(MANDIR)/man5/blkqos.rules.5
	$(Q)if [ -e $(DESTDIR)$(SYSCONFDIR)/blkqos.rules ]; then \
		printf '  %-8s %s\n' KEEP "$(DESTDIR)$(SYSCONFDIR)/blkqos.rules (exists)"; \
	else \
		printf '  %-8s %s\n' INSTALL "$(DESTDIR)$(SYSCONFDIR)/blkqos.rules"; \
		$(INSTALL) -D -m 644 etc/blkqos.rules $(DESTDIR)$(SYSCONFDIR)/blkqos.rules; \
	fi

# The module's source as DKMS builds it (kernel/ less its build output, the
# self-test and the upstream series; only the patches of each series).
install-dkms:
	$(call msg,INSTALL,$(DESTDIR)$(DKMS_DIR))
	$(Q)rm -rf $(DESTDIR)$(DKMS_DIR) && mkdir -p $(DESTDIR)$(DKMS_DIR)
	$(Q)cd kernel && for f in Makefile dkms.conf *.sh *.py; do \
		$(INSTALL) -D -m $$([ -x $$f ] && echo 755 || echo 644) $$f $(DESTDIR)$(DKMS_DIR)/$$f || exit 1; \
	done
	$(Q)cd kernel && for f in patches/*/*.patch; do \
		$(INSTALL) -D -m 644 $$f $(DESTDIR)$(DKMS_DIR)/$$f || exit 1; \
	done

# --- Debian packages -------------------------------------------------------
# make deb: blkqos and blkqos-dkms, unsigned, built by dpkg-buildpackage in
# a copy of this tree (build/deb/blkqos-VERSION, without build output) so
# that the tree stays clean; the .debs land in build/deb/.
DEB_VER	:= $(shell dpkg-parsechangelog -l debian/changelog -S Version 2>/dev/null)
DEB_OUT	:= $(BUILD)/deb
deb:
	$(Q)[ -n "$(DEB_VER)" ] || { echo "make deb: dpkg-parsechangelog (dpkg-dev) found no version in debian/changelog" >&2; exit 1; }
	$(call msg,DEB,$(DEB_OUT)/blkqos_$(DEB_VER)_*.deb blkqos-dkms_$(DEB_VER)_all.deb)
	$(Q)rm -rf $(DEB_OUT) && mkdir -p $(DEB_OUT)/blkqos-$(DEB_VER)
	$(Q)tar --exclude=./build --exclude=./kernel/build --exclude=./tests/bin \
		--exclude=./blkqos --exclude=./.git --exclude='*.o' -cf - . | \
		tar -C $(DEB_OUT)/blkqos-$(DEB_VER) -xf -
	$(Q)cd $(DEB_OUT)/blkqos-$(DEB_VER) && dpkg-buildpackage -us -uc -b >../build.log 2>&1 || { \
		tail -n 30 ../build.log >&2; echo "make deb: failed, log: $(DEB_OUT)/build.log" >&2; exit 1; }
	$(Q)rm -rf $(DEB_OUT)/blkqos-$(DEB_VER)

# --- tests ---------------------------------------------------------------

TEST_COMMON := tests/bpf/harness.c tests/bpf/refmodel.c loader/limits.c loader/maps.c loader/log.c

$(BIN)/test_engine: tests/bpf/test_engine.c $(TEST_COMMON) tests/bpf/*.h tests/include/asserts.h \
		    $(SKEL) | $(BIN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -Itests/include -o $@ tests/bpf/test_engine.c $(TEST_COMMON) \
		$(LIBS) -lpthread -lcmocka

$(BIN)/bench_engine: tests/bpf/bench_engine.c $(TEST_COMMON) tests/bpf/*.h $(SKEL) | $(BIN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -Itests/include -o $@ tests/bpf/bench_engine.c $(TEST_COMMON) $(LIBS)

include tests/unit/Makefile.inc
include tests/fuzz/Makefile.inc
-include tests/loader/Makefile.inc
include tests/cgroup/Makefile.inc

# The README's test command: installs what it needs, builds, runs every suite.
test: deps
	$(Q)$(MAKE) --no-print-directory test-run

KERNEL_CHECK := $(MAKE) --no-print-directory -C kernel check
XENSTORED_TEST := tests/xenstored/test_xenstored.sh

test-run: blkqos $(BIN)/test_engine $(UNIT_TESTS) $(FUZZ_TARGETS) $(LOADER_TEST_BINS) $(CGROUP_TESTS)
	$(Q)tests/run-tests.sh $(UNIT_TESTS) $(BIN)/test_engine "$(MAKE) --no-print-directory fuzz-smoke" \
		"$(BIN)/test_cgroup -n" \
		$(XENSTORED_TEST) $(LOADER_TESTS) $(PKG_TESTS) "$(KERNEL_CHECK)" \
		$(foreach d,$(E2E_DISTS),"DIST=$(d) $(E2E_IN_TEST_$(d))")

# The man pages against --help; make install; the unit's system call filter
# against the loader's calls; the Debian packages built, linted and
# installed in a fresh Debian 12 root with the DKMS build (about 2 min
# with the downloads cached, under the e2e lock).
PKG_TESTS := tests/pkg/test_man.sh tests/pkg/test_install.sh tests/pkg/test_syscalls.sh \
	tests/pkg/test_packages.sh

# The part of the end-to-end suite `make test` runs (about 9 minutes of
# emulation): rate accuracy of every limit kind, each direction held to its
# own limit under mixed load with reads and writes overtaking parked
# requests, loader kill -9 / restart, destroy while throttled, ring thread
# CPU with the patched xen-blkback (bpf mode); the same limits with Debian's
# stock xen-blkback (stock mode: cgroup io.max). `make e2e` runs every
# scenario.
E2E_IN_TEST ?= tests/e2e/e2e.sh bpf:limits bpf:direction bpf:lifecycle stock:limits
# The Debian releases whose Xen and dom0 kernel make test boots: debian12
# (Xen 4.17, 6.1) runs E2E_IN_TEST, debian13 (Xen 4.20, 6.12: a trixie chroot
# builds the module) the rate accuracy of the patched module; the time each
# costs is in tests/e2e/README.md. E2E_DISTS=debian12 leaves Debian 13 out.
E2E_DISTS ?= debian12 debian13
E2E_IN_TEST_debian12 = $(E2E_IN_TEST)
E2E_IN_TEST_debian13 ?= tests/e2e/e2e.sh bpf:limits

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-run

bench-run: $(BIN)/bench_engine blkqos $(LOADER_TEST_BINS)
	$(Q)$(BIN)/bench_engine
	$(Q)for b in $(LOADER_BENCH); do $$b || exit 1; done

# End to end on an emulated Xen host (QEMU): every scenario, or SCENARIO=path,
# in each mode of E2E_MODES: bpf (the patched xen-blkback), stock (Debian's;
# limits through cgroup io.max), qdisk (no blkqos: the disks on QEMU with
# its own throttle, the peer). With several, ends with the modes side by side.
# DIST=debian13 boots Debian 13's Xen 4.20 and 6.12 kernel instead of
# Debian 12's Xen 4.17 and 6.1 (the default, DIST=debian12).
E2E_MODES ?= bpf
DIST ?= debian12
e2e: deps
	$(Q)DIST="$(DIST)" E2E_MODES="$(E2E_MODES)" tests/e2e/e2e.sh $(SCENARIO)

# The last e2e run's table, where it ran and what failed, as docs/results.md
# (committed: the README points there for the full table). Columns in the
# order the modes ran, or RESULTS_MODES=bpf,stock,qdisk.
results:
	$(Q)tests/e2e/results.sh $(if $(RESULTS_MODES),--modes $(RESULTS_MODES)) > docs/results.md.tmp && \
		mv docs/results.md.tmp docs/results.md
	@echo "docs/results.md: from build/e2e/accuracy.txt"

# The whole stack for a person: unlimited, limited, live change, stats.
demo: deps
	$(Q)DIST="$(DIST)" tests/e2e/demo.sh

# Regenerate vmlinux.h: Debian 6.1.0-56-amd64 vmlinux BTF + the patched
# xen_blkback module BTF (kernel/build), or FROM=running on a dom0 with the
# patched module loaded (/sys/kernel/btf/{vmlinux,xen_blkback}).
regen-vmlinux:
	$(call msg,GEN,vmlinux.h)
	$(Q)if [ "$(FROM)" = running ]; then kernel/gen-vmlinux-h.sh --running vmlinux.h; \
	else kernel/gen-vmlinux-h.sh vmlinux.h; fi

# Install the Debian 12 packages the build and tests need.
deps:
	$(Q)tests/deps.sh

clean:
	$(call msg,CLEAN,)
	$(Q)rm -rf $(BUILD)/*.o $(BUILD)/*.skel.h $(BIN) blkqos

help:
	@echo "make          build the BPF object, skeleton and the blkqos loader"
	@echo "make test     run the tests (root, BPF-capable kernel)"
	@echo "make bench    run the benchmarks, one 'BENCH name value unit' line each"
	@echo "make demo     the whole stack on an emulated Xen host (QEMU), a few minutes"
	@echo "make e2e      end-to-end scenarios on emulated Xen (SCENARIO=path for one;"
	@echo "              E2E_MODES=\"bpf stock qdisk\": also with the stock xen-blkback and"
	@echo "              with QEMU's throttle on the qdisk backend, side by side)"
	@echo "              DIST=debian13 (e2e, demo): Debian 13's Xen 4.20 and 6.12 kernel"
	@echo "              E2E_DISTS=\"debian12 debian13\" (test): bpf:limits on Debian 13 too"
	@echo "make results  docs/results.md from the last e2e run (its table, failures)"
	@echo "make deps     apt-get install what the build needs (Debian 12)"
	@echo "make install  the loader, service, man pages (DESTDIR=, PREFIX=/usr/local)"
	@echo "make deb      Debian packages blkqos and blkqos-dkms into build/deb/"
	@echo "V=1           show the commands; CLANG=clang-16 picks another clang"
