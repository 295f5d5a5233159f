#!/bin/bash
# The p2pbar CLI (and so libp2pbar) against the real driver: list, info,
# alloc with fill/verify through the CPU mapping, zeroed new buffers, and
# a readable non-zero exit on every bad input.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
export PATH=$P2PBAR_BUILD/tools:$PATH

p2pbar_load
p2pbar list | tee /tmp/list
grep -q "^p2pbar0 .* BAR2 $((P2PBAR_BAR_SIZE >> 20)) MiB" /tmp/list || die "list: wrong output"
p2pbar info p2pbar0 | tee /tmp/info
grep -q "^bar_size *$P2PBAR_BAR_SIZE\$" /tmp/info || die "info: wrong BAR size"
pci=$(basename "$(readlink -f /sys/class/p2pbar/p2pbar0/device)")
p2pbar info "$pci" >/dev/null || die "info by PCI address failed"

p2pbar alloc 3M --fill 7 --verify 7 --hold 30 >/tmp/held &
holder=$!
wait_for 20 grep -q verified /tmp/held || die "fill/verify failed"
p2pbar stats p2pbar0 | tee /tmp/stats
grep -q "used 3145728 buffers 1 pinned 0 attachments 0" /tmp/stats || die "stats: wrong counters while a buffer is held"
kill "$holder"
wait "$holder" || true
p2pbar stats | grep -q "used 0 buffers 0" || die "stats: buffer not freed after its process died"
# The range just freed is handed out again: it must read as zeros.
p2pbar alloc 3M --verify 0 || die "a new buffer does not read as zeros"
result "CLI: alloc, fill and verify through mmap; new buffers read as zeros"

# Placements: fill, move back and forth, verify through the same mapping.
p2pbar alloc 2M --fill 9 --migrate host --migrate device --migrate host --verify 9 |
	tee /tmp/mig
[ "$(grep -c '^moved to' /tmp/mig)" = 3 ] || die "alloc --migrate: not 3 moves"
grep -q "verified pattern" /tmp/mig || die "alloc --migrate: pattern lost"
p2pbar stats | grep -q "migrations 3 bytes_moved 6291456" || die "stats: wrong move counters"
p2pbar alloc 1M --host --fixed --verify 0 | grep -q "in host memory" || die "host-only alloc"
# Another process's buffer, through pidfd_getfd.
p2pbar alloc 1M --fill 5 --hold 30 >/tmp/held2 &
holder=$!
wait_for 20 grep -q filled /tmp/held2 || die "holder did not start"
bfd=""
for f in /proc/$holder/fd/*; do
	readlink "$f" | grep -q dmabuf && { bfd=$(basename "$f"); break; }
done
[ -n "$bfd" ] || die "no dma-buf fd in the holder"
p2pbar migrate "$holder" "$bfd" host || die "migrate PID FD host failed"
grep -q " host " "/sys/kernel/debug/p2pbar/$pci/buffers" || die "buffer not in host after migrate"
kill "$holder"
wait "$holder" || true
result "CLI: --host/--fixed/--migrate and migrate PID FD move buffers, content kept"

# usage: bad EXPECTED_EXIT EXPECTED_MESSAGE ARGS...
bad() {
	local want=$1 msg=$2 rc=0
	shift 2
	p2pbar "$@" >/tmp/out 2>/tmp/err || rc=$?
	[ "$rc" = "$want" ] || { cat /tmp/err; die "p2pbar $*: exit $rc, want $want"; }
	grep -q "$msg" /tmp/err || { cat /tmp/err; die "p2pbar $*: no '$msg' message"; }
	echo "rejected: p2pbar $* -> $(head -n1 /tmp/err)"
}
bad 1 "Invalid argument" alloc 0
bad 1 "cannot allocate" alloc $((P2PBAR_BAR_SIZE * 2))
bad 1 "not a size" alloc --align x 4K
bad 2 "usage" alloc
bad 2 "usage" frobnicate
bad 1 "cannot open /dev/p2pbar9" info p2pbar9
bad 1 "no p2pbar device on PCI function" info 0000:00:1f.7
bad 1 "allocated FIXED" alloc --fixed 1M --migrate host
bad 1 "migrate: host or device" alloc --migrate sideways 1M
bad 2 "usage" migrate 1 2 sideways
bad 1 "pidfd_open" migrate 999999 3 host
result "CLI: every bad input exits non-zero with a readable message"
rmmod p2pbar
