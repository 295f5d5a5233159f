#!/bin/bash
# The runner's contract, checked against real guests: a failing guest
# command fails the run with its status and its output shown; a hung guest
# is killed at the timeout; either way no QEMU process or /dev/shm file of
# the run is left behind.
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

leftovers() {
	local pid=$1
	ls /dev/shm/p2pbar-tb-"$pid"-* 2>/dev/null
	pgrep -f "p2pbar-tb-$pid-" 2>/dev/null
}

run() { # run SCRIPT TIMEOUT -> sets rc, pid, out
	"$src/testbed/run-in-guest" --build-dir "$build" --timeout "$2" "$1" >"$tmp/out" 2>&1 &
	pid=$!
	wait $pid
	rc=$?
	out=$(cat "$tmp/out")
	echo "$out"
}

cat >"$tmp/fails.sh" <<'S'
#!/bin/sh
echo "marker: about to fail"
exit 3
S
run "$tmp/fails.sh" 300
[ $rc -eq 3 ] || fail "failing guest script gave exit $rc, want 3"
grep -q "marker: about to fail" <<<"$out" || fail "guest output missing"
[ -z "$(leftovers $pid)" ] || fail "leftovers after a failing run: $(leftovers $pid)"
echo "RESULT: a failing guest command fails the run (exit 3) with its output"

cat >"$tmp/hangs.sh" <<'S'
#!/bin/sh
echo "marker: hanging"
sleep 1000
S
run "$tmp/hangs.sh" 45
[ $rc -eq 124 ] || fail "hung guest gave exit $rc, want 124"
grep -q "timed out" <<<"$out" || fail "no timeout message"
[ -z "$(leftovers $pid)" ] || fail "leftovers after a timeout: $(leftovers $pid)"
echo "RESULT: a hung guest is killed at the timeout (exit 124), nothing left behind"
