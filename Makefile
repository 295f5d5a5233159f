# The README's commands. CMake does the work; this is a thin front.
MAKEFLAGS += --no-print-directory
BUILD ?= build
CTEST_ARGS ?=
# Guest kernel flavours (FLAVOURS=stock skips the debug kernel) and which
# vm tests run on the debug one: default (the DEBUG_DEFAULT subset of
# tests/CMakeLists.txt) or all (build-debug/, make test-debug's tree).
FLAVOURS ?= stock;debug;sid
DEBUG_TESTS ?= $(if $(filter build-debug,$(BUILD)),all,default)
# Which vm tests run on the Debian sid flavour: default (SID_DEFAULT) or
# all (build-sid/, make test-sid's tree).
SID_TESTS ?= $(if $(filter build-sid,$(BUILD)),all,default)
# Tests at once: ctest runs two single-guest tests side by side on two
# cores (tests/CMakeLists.txt: PROCESSORS; benchmarks run alone).
TEST_JOBS ?= $(shell nproc)
CONFIGURE_ARGS = -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DP2PBAR_FLAVOURS=$(FLAVOURS)" \
  -DP2PBAR_DEBUG_TESTS=$(DEBUG_TESTS) -DP2PBAR_SID_TESTS=$(SID_TESTS)

.PHONY: all deps configure build product test test-debug test-sid test-rdma-core soak demo deb bench clean
all: build

deps:
	@testbed/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) $(CONFIGURE_ARGS) >/dev/null

build: configure
	@cmake --build $(BUILD)

# The product alone (lib, CLI, examples, man pages, p2pbar.ko against
# KDIR, default the running kernel's), as an unprivileged user, in build-product/: no
# deps.sh, no guest image. KDIR= builds without the module.
PRODUCT_BUILD ?= build-product
PREFIX ?= /usr/local
product:
	@cmake -S . -B $(PRODUCT_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DP2PBAR_TESTBED=OFF \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(if $(filter undefined,$(origin KDIR)),,"-DP2PBAR_KDIR=$(KDIR)") >/dev/null
	@cmake --build $(PRODUCT_BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure -j$(TEST_JOBS) $(CTEST_ARGS); rc=$$?; \
	  echo "== results"; \
	  grep -h '^\(\[g[0-9]\] \)\?RESULT:' Testing/Temporary/LastTest.log || true; \
	  exit $$rc

# Every vm test on the debug kernel flavour (lockdep, KASAN, kmemleak,
# DMA-API debug, move-notify), in build-debug/; `make test` runs only the
# DEBUG_DEFAULT subset on it.
test-debug:
	@$(MAKE) test BUILD=build-debug "FLAVOURS=stock;debug" DEBUG_TESTS=all CTEST_ARGS="-L debug"

# Long runs on the debug kernel, a table of what each did at the end
# (tests/soak/run.sh; ~30 min with these defaults, raise them for a real
# soak): the fuzzer (tests/fuzz/fuzz.sh; make test runs a short one as
# fuzz-debug) for SOAK_SECONDS as root and half as long as a p2pbar group
# member, then SOAK_FAULTS fault-injection sites per path; SOAK_REBIND
# unbind/rebinds and module reloads under rxe traffic; SOAK_EVICT passes of
# 2x oversubscribed eviction, every byte checked; SOAK_RESET RESETs with an
# rxe MR and the test importer attached; SOAK_B2B two-node BAR-to-BAR
# transfers of SOAK_B2B_SIZE bytes (x7 on the wire each), node 0's ivshmem
# file checked by the host.
SOAK_SECONDS ?= 120
SOAK_FAULTS ?= 400
SOAK_REBIND ?= 4
SOAK_EVICT ?= 3
SOAK_RESET ?= 15
SOAK_B2B ?= 8
SOAK_B2B_SIZE ?= 16777216
soak: build
	@SOAK_SECONDS=$(SOAK_SECONDS) SOAK_FAULTS=$(SOAK_FAULTS) SOAK_REBIND=$(SOAK_REBIND) \
	  SOAK_EVICT=$(SOAK_EVICT) SOAK_RESET=$(SOAK_RESET) SOAK_B2B=$(SOAK_B2B) \
	  SOAK_B2B_SIZE=$(SOAK_B2B_SIZE) tests/soak/run.sh $(BUILD)

# Every vm test on the Debian sid flavour (sid's kernel, rdma-core and
# perftest), in build-sid/; `make test` runs only the SID_DEFAULT subset.
test-sid:
	@$(MAKE) test BUILD=build-sid "FLAVOURS=stock;sid" SID_TESTS=all CTEST_ARGS="-L sid"

# rdma-core's whole python test suite on rxe0, stock vs ours
# (tests/rdma-core/rdma-core.sh; make test runs the modules that touch what we
# change as rdma-core-suite). RDMA_CORE_FLAVOUR=sid: on Debian sid.
RDMA_CORE_FLAVOUR ?= stock
test-rdma-core: build
	@testbed/run-in-guest --build-dir $(BUILD) --name rdma-core-all --flavour $(RDMA_CORE_FLAVOUR) \
	  --timeout 3600 tests/rdma-core/rdma-core.sh all

# Two guests: node 1 RDMA-writes its BAR into node 0's BAR; the host then
# checks the bytes in node 0's ivshmem file (examples/bar-to-bar.sh). Builds
# only what the demo needs (not the debug kernel, the header roots,
# perftest or the tests), one progress line a step, logs in $(BUILD)/logs.
DEMO_TARGETS = image kmod rxe-kmod rxe-provider bar-to-bar
demo:
	@testbed/build-steps.sh $(BUILD) '$(CONFIGURE_ARGS)' $(DEMO_TARGETS)
	@testbed/run-in-guest --build-dir $(BUILD) --name demo --guests 2 \
	  --host-post testbed/bar-verify.py examples/bar-to-bar.sh

# The benchmark suite: tables and plots in build/bench/<date>/results.md
# (bench/run.sh; 15-30 min under TCG, by the machine).
bench: build
	@bench/run.sh --build-dir $(BUILD)

# The Debian packages (pkg/) in $(BUILD)/deb, lintian's report beside
# them (pkg/build-deb.sh).
deb: build
	@cmake --build $(BUILD) --target deb

clean:
	rm -rf $(BUILD)
