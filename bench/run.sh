#!/usr/bin/env bash
# The benchmark suite (`make bench`): one guest (rxe loopback, registration
# and exporter costs), then two guests (RDMA between the nodes), then one
# instruction-counted guest (rxe loopback with QEMU -icount), then the
# report: OUT/results.md with the tables, PNG plots, the raw measurements
# and the versions. Run on the testbed from a built tree (make build).
# usage: bench/run.sh [--short|--sweep] [--flavour F] [--build-dir DIR] [--out DIR]
#   --short  few sizes and runs, and fail unless every figure was produced
#            and is positive (the `bench` ctest)
#   --sweep  READ and SEND at every size too, not only WRITE (about 1 h)
#   --flavour  the guests' flavour (run-in-guest --flavour; sid: the sid
#            image, its perftest; exit 77 if our patches no longer fit it)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$top/build mode=full out= flavour=stock
while [ $# -gt 0 ]; do
	case $1 in
	--short) mode=short ;;
	--sweep) mode=sweep ;;
	--build-dir) build=$(cd "$2" && pwd); shift ;;
	--flavour) flavour=$2; shift ;;
	--out) out=$2; shift ;;
	*) echo "usage: $0 [--short|--sweep] [--flavour F] [--build-dir DIR] [--out DIR]" >&2; exit 2 ;;
	esac
	shift
done
out=${out:-$build/bench/$(date -u +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)
image=$(cat "$build/testbed/image.path") pt=$build/bench/perftest
if [ "$flavour" = sid ]; then
	image=$(cat "$build/testbed/image-sid.path") pt=$build/sid/bench/perftest
	outcome=$(cat "$pt/outcome" 2>/dev/null || echo "no sid perftest build: build first (make build)")
	[ "$outcome" = supported ] || { echo "NOT RUN: $outcome"; exit 77; }
fi
[ -x "$pt/src/ib_write_bw" ] ||
	{ echo "bench: build first (make build)" >&2; exit 1; }

if [ "$mode" != short ]; then
	# room for 1 GiB of host memory and a 1 GiB dma-buf (registration)
	one=(--mem 3G --bar-size 2G --timeout 3000)
	two=(--timeout 3000)
	counted=(--timeout 3000)
else
	one=(--timeout 500)
	two=(--timeout 500)
	counted=(--timeout 500)
fi

start=$SECONDS
echo "bench ($mode): 1/3 one guest: rxe loopback, registration, exporter costs"
"$top/testbed/run-in-guest" --build-dir "$build" --flavour "$flavour" --name "bench-$mode-loopback" "${one[@]}" \
	--host-post "cp \"\$P2PBAR_GUEST_DIR0/bench-0.txt\" '$out/raw-loopback.txt'" \
	"$top/bench/vm/bench.sh" "$mode"
echo "bench ($mode): 2/3 two guests ($((SECONDS - start)) s so far)"
"$top/testbed/run-in-guest" --build-dir "$build" --flavour "$flavour" --name "bench-$mode-two-guests" --guests 2 \
	"${two[@]}" \
	--host-post "cp \"\$P2PBAR_GUEST_DIR1/bench-1.txt\" '$out/raw-two-guests.txt'" \
	"$top/bench/vm/bench.sh" "$mode"
# One vCPU: with icount every vCPU runs in one host thread anyway, and a
# second one would only add the scheduler's choices to the count.
echo "bench ($mode): 3/3 one guest, instructions counted ($((SECONDS - start)) s so far)"
"$top/testbed/run-in-guest" --build-dir "$build" --flavour "$flavour" --name "bench-$mode-icount" \
	--icount 0 --smp 1 "${counted[@]}" \
	--host-post "cp \"\$P2PBAR_GUEST_DIR0/bench-0.txt\" '$out/raw-icount.txt'" \
	"$top/bench/vm/bench.sh" "$mode" icount

cp "$image/image.env" "$out/versions.env"
note="Run $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) host CPU(s), load average \
$(cut -d' ' -f1-3 /proc/loadavg) at the end (the benchmark's own guests count in it; well above 2 means something else shared the machine), \
source $(git -C "$top" describe --always --dirty 2>/dev/null || echo unknown), $mode run, \
$((SECONDS - start)) s."
check=()
[ "$mode" = short ] && check=(--check)
"$top/bench/report.py" "$out" "$out/versions.env" "$out"/raw-*.txt "--note=$note" "${check[@]}"
echo "bench ($mode): done in $((SECONDS - start)) s: $out/results.md"
