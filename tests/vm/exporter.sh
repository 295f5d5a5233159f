#!/bin/bash
# Exporter tests in one guest: load p2pbar.ko and run each case of
# tests/exporter/p2pbar-test.c given as an argument (see that file).
# "fill" (run it last: later cases reuse the range) leaves its BAR offset in $P2PBAR_RUN/fill.txt for the
# host hook tests/host/exporter-verify.py.
set -euo pipefail
. "$P2PBAR_SRC/tests/vm/lib.sh"
t=$P2PBAR_BUILD/tests/exporter/p2pbar-test

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
pci=$(basename "$(readlink -f "$dev/device")")
[ -d "/sys/kernel/debug/p2pbar/$pci" ] || die "no debugfs directory for $pci"

for c in "$@"; do
	log "case $c"
	case $c in
	fill)
		"$t" fill "$node" $((1 << 20)) 0x5eed "$P2PBAR_RUN/fill.txt" ||
			die "case fill"
		;;
	unbind)
		"$t" unbind "$node" "$pci" || die "case unbind"
		dev=$(p2pbar_sysfs) || die "no p2pbar device after rebinding"
		node=/dev/$(basename "$dev")
		[ "$(cat "$dev/used")" = 0 ] || die "used != 0 after rebind"
		;;
	*)
		"$t" "$c" "$node" || die "case $c"
		;;
	esac
done
cat "/sys/kernel/debug/p2pbar/$pci/stats" 2>/dev/null || true
for f in used buffers pinned attachments; do
	[ "$(cat "$dev/$f")" = 0 ] || die "$f is $(cat "$dev/$f") at the end, not 0"
done
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar unloads cleanly after: $*"
