#!/usr/bin/env bash
# Build some CMake targets one step each, one progress line a step; the
# full output of a step goes to BUILD_DIR/logs/STEP.log, and a failing
# step prints that log's tail. Steps: deps (testbed/deps.sh), configure
# (only when BUILD_DIR has no CMake cache yet: CONFIGURE_ARGS), then each
# TARGET in order.
# usage: build-steps.sh BUILD_DIR "CONFIGURE_ARGS" TARGET...
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: $0 BUILD_DIR CONFIGURE_ARGS TARGET..." >&2; exit 2; }
build=$1 configure_args=$2
shift 2
mkdir -p "$build/logs"
logs=$(cd "$build/logs" && pwd)
steps=(deps)
[ -f "$build/CMakeCache.txt" ] || steps+=(configure)
steps+=("$@")
n=0
for step in "${steps[@]}"; do
	n=$((n + 1))
	log=$logs/$step.log
	printf '[%d/%d] %-14s ' "$n" "${#steps[@]}" "$step"
	start=$SECONDS
	case $step in
	deps) cmd=("$top/testbed/deps.sh") ;;
	# CONFIGURE_ARGS is shell words, quoted as in the Makefile
	configure) eval "cmd=(cmake -S \"\$top\" -B \"\$build\" $configure_args)" ;;
	*) cmd=(cmake --build "$build" --target "$step") ;;
	esac
	if "${cmd[@]}" >"$log" 2>&1; then
		echo "ok ($((SECONDS - start)) s)"
	else
		echo "FAILED ($((SECONDS - start)) s); the end of $log:"
		tail -n 30 "$log" | sed 's/^/    /'
		exit 1
	fi
done
