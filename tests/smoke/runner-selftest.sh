#!/bin/bash
# The runner's contract, checked against real guests: a failing guest
# command fails the run with its status and its output shown; a kernel
# warning fails a run (126) even when later kernel log has pushed it out
# of the ring buffer, and a script's output is not taken for the kernel's;
# a hung guest is killed at the timeout; either way no QEMU process or
# /dev/shm file of the run is left behind.
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
echo "WARNING: a script's output on the console, not the kernel's"
exit 3
S
run "$tmp/fails.sh" 300
[ $rc -eq 3 ] || fail "failing guest script gave exit $rc, want 3"
grep -q "marker: about to fail" <<<"$out" || fail "guest output missing"
# (A boot that died first and was retried may list its own trouble.)
! grep -q "^  WARNING: a script's output" <<<"$out" ||
	fail "the script's WARNING line was taken for a kernel complaint"
[ -z "$(leftovers $pid)" ] || fail "leftovers after a failing run: $(leftovers $pid)"
echo "RESULT: a failing guest command fails the run (exit 3) with its output"

# A warning early in a long run whose kernel log then wraps the ring
# buffer (as a module logging a line per command does): dmesg.txt has
# lost it, the console log has not. The script checks that the ring
# buffer lost the warning, so the case cannot pass vacuously. The flood
# is KERN_DEBUG, below the console's loglevel, so it takes seconds.
cat >"$tmp/flood.sh" <<'S'
#!/bin/bash
set -eu
in_dmesg() { [ "$(dmesg | grep -c 'runner self-test: early warning')" != 0 ]; }
dmesg -n 1 # a script turning the console down (rxe-lib.sh does) keeps warnings on it
echo on >/proc/sys/kernel/printk_devkmsg # no rate limit on /dev/kmsg
echo '<4>WARNING: runner self-test: early warning' >/dev/kmsg
in_dmesg || { echo "the warning is not in dmesg"; exit 5; }
sleep 1
# 2000 lines of 500 bytes a round, one write (one log record) each
line=$(printf '<7>runner self-test: flood %0472d' 0)
for round in $(seq 20); do
	yes "$line" | head -n 2000 | dd of=/dev/kmsg bs=$((${#line} + 1)) iflag=fullblock status=none
	if ! in_dmesg; then
		echo "marker: the ring buffer lost the warning after $round MB of kernel log"
		exit 0
	fi
done
echo "the ring buffer kept the warning through 20 MB of kernel log"
exit 4
S
run "$tmp/flood.sh" 300
grep -q "marker: the ring buffer lost the warning" <<<"$out" ||
	fail "the flood did not push the warning out of the ring buffer (exit $rc)"
[ $rc -eq 126 ] || fail "a warning flooded out of the ring buffer gave exit $rc, want 126"
grep -q "^  \[ *[0-9.]*\] WARNING: runner self-test: early warning" <<<"$out" ||
	fail "the runner did not name the warning"
logs=$(sed -n 's/^run-in-guest: .*, logs //p' <<<"$out")
grep -q "runner self-test: early warning" "$logs/console-g0.log" ||
	fail "the warning is not in the console log $logs/console-g0.log"
! grep -q "runner self-test: early warning" "$logs/g0/dmesg.txt" ||
	fail "the warning is still in $logs/g0/dmesg.txt: nothing was flooded out"
[ -z "$(leftovers $pid)" ] || fail "leftovers after a kernel warning: $(leftovers $pid)"
echo "RESULT: a kernel warning flooded out of the ring buffer fails the run (exit 126)"

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
