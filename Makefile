# The README's commands. CMake does the work; this is a thin front.
MAKEFLAGS += --no-print-directory
BUILD ?= build
CTEST_ARGS ?=

.PHONY: all deps configure build test demo clean
all: build

deps:
	@testbed/deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: configure
	@cmake --build $(BUILD)

test: build
	@cd $(BUILD) && ctest --output-on-failure $(CTEST_ARGS); rc=$$?; \
	  echo "== results"; \
	  grep -h '^\(\[g[0-9]\] \)\?RESULT:' Testing/Temporary/LastTest.log || true; \
	  exit $$rc

demo: build
	@testbed/run-in-guest --build-dir $(BUILD) --name demo demo/testbed-tour.sh

clean:
	rm -rf $(BUILD)
