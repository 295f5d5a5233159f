#!/bin/bash
# One guest: p2pbar.ko binds to the ivshmem device, reports a BAR of the
# size QEMU was given, reads the pattern the host wrote into the backing
# file, and writes one the host then checks (tests/smoke/bar-pattern.sh).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
pattern() { python3 "$P2PBAR_SRC/util/p2pbar_pattern.py" "$@"; }

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
pci=$(basename "$(readlink -f "$dev/device")")
[ "$(cat "/sys/bus/pci/devices/$pci/vendor"):$(cat "/sys/bus/pci/devices/$pci/device")" = 0x1af4:0x1110 ] ||
	die "p2pbar bound to $pci, not the ivshmem device"
size=$(cat "$dev/bar_size")
bar=$(cat "$dev/bar")
log "p2pbar bound to $pci, BAR $bar, $size bytes"
[ "$size" = "$P2PBAR_BAR_SIZE" ] || die "BAR size $size, but QEMU was given $P2PBAR_BAR_SIZE"
result "p2pbar reports BAR $bar of $size bytes ($((size >> 20)) MiB) = the size QEMU was given"

node=/dev/$(basename "$dev")
ranges=("0 65536" "$((size / 2 - 100)) 4296" "$((size - 4096)) 4096")
for r in "${ranges[@]}"; do
	set -- $r
	pattern verify "$node" "$1" "$2" 0x4057 || die "host pattern not seen through the BAR"
done
result "guest read the host's pattern through the BAR"
for r in "${ranges[@]}"; do
	set -- $r
	pattern write "$node" "$1" "$2" 0x6e57
done
# Bad input: an access past the BAR's end is refused, not wrapped.
if dd if=/dev/zero of="$node" bs=1 count=1 seek="$size" conv=notrunc 2>/tmp/dd.err; then
	die "a write past the end of the BAR succeeded"
fi
grep -q "No space left" /tmp/dd.err || { cat /tmp/dd.err; die "write past the end: wrong error"; }
rmmod p2pbar || die "p2pbar does not unload"
log "p2pbar unloaded"
