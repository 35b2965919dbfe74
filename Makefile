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

.PHONY: all clean test test-run bench bench-run deps help regen-vmlinux e2e demo
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
	$(Q)$(CC) $(CFLAGS) -o $@ $(LOADER_SRCS) $(LIBS)

# --- tests ---------------------------------------------------------------

TEST_COMMON := tests/bpf/harness.c tests/bpf/refmodel.c loader/limits.c loader/maps.c

$(BIN)/test_engine: tests/bpf/test_engine.c $(TEST_COMMON) tests/bpf/*.h $(SKEL) | $(BIN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -o $@ tests/bpf/test_engine.c $(TEST_COMMON) $(LIBS) -lpthread

$(BIN)/bench_engine: tests/bpf/bench_engine.c $(TEST_COMMON) tests/bpf/*.h $(SKEL) | $(BIN)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/bpf -o $@ tests/bpf/bench_engine.c $(TEST_COMMON) $(LIBS)

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
		$(XENSTORED_TEST) $(LOADER_TESTS) "$(KERNEL_CHECK)" \
		$(foreach d,$(E2E_DISTS),"DIST=$(d) $(E2E_IN_TEST_$(d))")

# The part of the end-to-end suite `make test` runs (about 9 minutes of
# emulation): rate accuracy of every limit kind, each direction held to its
# own limit under mixed load with reads and writes overtaking parked
# requests, loader kill -9 / restart, destroy while throttled, ring thread
# CPU with the patched xen-blkback (bpf mode); the same limits with Debian's
# stock xen-blkback (stock mode: cgroup io.max). `make e2e` runs every
# scenario.
E2E_IN_TEST ?= tests/e2e/e2e.sh bpf:limits bpf:direction bpf:lifecycle stock:limits
# The Debian releases whose Xen and dom0 kernel make test boots: debian12
# (Xen 4.17, 6.1) runs E2E_IN_TEST; E2E_DISTS="debian12 debian13" adds the
# rate accuracy of the patched module on Debian 13 (Xen 4.20, 6.12: a trixie
# chroot builds the module; measured in tests/e2e/README.md).
E2E_DISTS ?= debian12
E2E_IN_TEST_debian12 = $(E2E_IN_TEST)
E2E_IN_TEST_debian13 ?= tests/e2e/e2e.sh bpf:limits

bench: deps
	$(Q)$(MAKE) --no-print-directory bench-run

bench-run: $(BIN)/bench_engine blkqos $(LOADER_TEST_BINS)
	$(Q)$(BIN)/bench_engine
	$(Q)for b in $(LOADER_BENCH); do $$b || exit 1; done

# End to end on an emulated Xen host (QEMU): every scenario, or SCENARIO=path,
# in each mode of E2E_MODES: bpf (the patched xen-blkback), stock (Debian's;
# limits through cgroup io.max). With both, ends with the modes side by side.
# DIST=debian13 boots Debian 13's Xen 4.20 and 6.12 kernel instead of
# Debian 12's Xen 4.17 and 6.1 (the default, DIST=debian12).
E2E_MODES ?= bpf
DIST ?= debian12
e2e: deps
	$(Q)DIST="$(DIST)" E2E_MODES="$(E2E_MODES)" tests/e2e/e2e.sh $(SCENARIO)

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
	@echo "              E2E_MODES=\"bpf stock\" also with the stock xen-blkback, side by side)"
	@echo "              DIST=debian13 (e2e, demo): Debian 13's Xen 4.20 and 6.12 kernel"
	@echo "              E2E_DISTS=\"debian12 debian13\" (test): bpf:limits on Debian 13 too"
	@echo "make deps     apt-get install what the build needs (Debian 12)"
	@echo "V=1           show the commands; CLANG=clang-16 picks another clang"
