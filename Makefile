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

.PHONY: all deps configure build test test-debug test-sid demo bench clean
all: build

deps:
	@testbed/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  "-DP2PBAR_FLAVOURS=$(FLAVOURS)" -DP2PBAR_DEBUG_TESTS=$(DEBUG_TESTS) \
	  -DP2PBAR_SID_TESTS=$(SID_TESTS) >/dev/null

build: configure
	@cmake --build $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure $(CTEST_ARGS); rc=$$?; \
	  echo "== results"; \
	  grep -h '^\(\[g[0-9]\] \)\?RESULT:' Testing/Temporary/LastTest.log || true; \
	  exit $$rc

# Every vm test on the debug kernel flavour (lockdep, KASAN, kmemleak,
# DMA-API debug, move-notify), in build-debug/; `make test` runs only the
# DEBUG_DEFAULT subset on it.
test-debug:
	@$(MAKE) test BUILD=build-debug "FLAVOURS=stock;debug" DEBUG_TESTS=all CTEST_ARGS="-L debug"

# Every vm test on the Debian sid flavour (sid's kernel, rdma-core and
# perftest), in build-sid/; `make test` runs only the SID_DEFAULT subset.
test-sid:
	@$(MAKE) test BUILD=build-sid "FLAVOURS=stock;sid" SID_TESTS=all CTEST_ARGS="-L sid"

# Two guests: node 1 RDMA-writes its BAR into node 0's BAR; the host then
# checks the bytes in node 0's ivshmem file (demo/bar-to-bar.sh).
demo: build
	@testbed/run-in-guest --build-dir $(BUILD) --name demo --guests 2 \
	  --host-post tests/host/exporter-verify.py demo/bar-to-bar.sh

# The benchmark suite: tables and plots in build/bench/<date>/results.md
# (bench/run.sh; 15-30 min under TCG, by the machine).
bench: build
	@bench/run.sh --build-dir $(BUILD)

clean:
	rm -rf $(BUILD)
