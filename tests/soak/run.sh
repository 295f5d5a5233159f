#!/bin/bash
# make soak: long runs on the debug kernel, each in its own boot, then a
# table of what each part did. usage: tests/soak/run.sh BUILD_DIR
# Sizes (environment; the defaults make the whole run ~30 min on a
# two-core machine; a real soak raises them):
#   SOAK_SECONDS   the fuzzer's random and racing calls as root (S) and as
#                  a member of group p2pbar (S/2), tests/fuzz/fuzz.sh (120)
#   SOAK_FAULTS    the fault-injection sites per path the fuzzer fails, the
#                  exporter's paths and the importers' (400)
#   SOAK_REBIND    unbind/rebind + module reload under rxe traffic (4)
#   SOAK_EVICT     2x oversubscribed eviction passes (3)
#   SOAK_RESET     RESETs with an rxe MR and the test importer attached (15)
#   SOAK_RXE_SIZE  the dma-buf MRs of rebind and reset (1 MiB)
#   SOAK_BAR_SIZE  the BAR of the fuzzer's and the parts' boots (32 MiB)
#   SOAK_B2B       two-node BAR-to-BAR transfers (8, 112 MiB each: 30+ for several GiB)
#   SOAK_B2B_SIZE  the buffer of each (16 MiB; see tests/soak/bar-to-bar.sh)
# The output of every boot is kept in BUILD_DIR/soak/<date>/; the run
# fails if any part does (a kernel report included: the runner's rule).
set -uo pipefail
build=${1:?usage: run.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
secs=${SOAK_SECONDS:-120}
faults=${SOAK_FAULTS:-400}
rebind=${SOAK_REBIND:-4}
evict=${SOAK_EVICT:-3}
reset=${SOAK_RESET:-15}
rxe_size=${SOAK_RXE_SIZE:-$((1 << 20))}
bar=${SOAK_BAR_SIZE:-32M}
b2b=${SOAK_B2B:-8}
b2b_size=${SOAK_B2B_SIZE:-$((16 << 20))}
out=$build/soak/$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
rig=("$src/testbed/run-in-guest" --build-dir "$build" --flavour debug)
rc=0 t0=$SECONDS
declare -A took status

# run NAME COMMAND...: its output on the terminal and in $out/NAME.log
run() {
	local name=$1 t=$SECONDS r
	shift
	echo "== soak: $name"
	"$@" 2>&1 | tee "$out/$name.log"
	r=${PIPESTATUS[0]}
	took[$name]=$((SECONDS - t))
	status[$name]=$r
	[ "$r" = 0 ] || rc=1
}

run fuzz "${rig[@]}" --name soak-fuzz --bar-size "$bar" --edu --timeout $((3 * secs + 1800)) \
	"$src/tests/fuzz/fuzz.sh" root:"$secs" user:$((secs / 2)) faults:"$faults" importers:"$faults"
run parts "${rig[@]}" --name soak-parts --bar-size "$bar" \
	--timeout $((600 + 60 * rebind + 120 * evict + 20 * reset)) \
	"$src/tests/soak/soak.sh" rebind:"$rebind":"$rxe_size" evict:"$evict" reset:"$reset":"$rxe_size"
run bar-to-bar "${rig[@]}" --name soak-bar-to-bar --guests 2 --bar-size "$bar" \
	--timeout $((900 + 300 * b2b * (b2b_size >> 20) / 16)) \
	--host-post "$src/testbed/bar-verify.py" "$src/tests/soak/bar-to-bar.sh" "$b2b" "$b2b_size"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
{
	echo
	echo "== soak results ($(date -u '+%F %T') UTC, debug kernel, $((SECONDS - t0)) s)"
	for name in fuzz parts bar-to-bar; do
		echo "$name: exit ${status[$name]}, ${took[$name]} s"
	done
	grep -h 'calls: [0-9]' "$out/fuzz.log" | sed 's/^/  /' || true
	grep -h 'faults: ' "$out/fuzz.log" | sed 's/^\(\[g[0-9]\] \)\?/  /' || true
	echo
	echo "| part | iterations | MiB moved | MiB verified | max used MiB | max Slab MiB |"
	echo "| --- | --- | --- | --- | --- | --- |"
	grep -h 'SOAK-ROW: ' "$out/parts.log" "$out/bar-to-bar.log" | sed 's/.*SOAK-ROW: //' |
		while read -r part n moved verified used slab; do
			echo "| $part | $n | $(mib "$moved") | $(mib "$verified") |" \
				"$(mib $((used * 1024))) | $(mib $((slab * 1024))) |"
		done
	grep -h 'RESULT: host read' "$out/bar-to-bar.log" | sed 's/^/  /' || true
	[ $rc = 0 ] && echo "soak: every part passed" || echo "soak: FAILED (logs in $out)"
} | tee "$out/table.md"
exit $rc
