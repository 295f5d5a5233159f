#!/bin/bash
# Exporter tests in one guest: load p2pbar.ko and run each case of
# tests/exporter/p2pbar-test.c given as an argument (see that file).
# "fill" leaves its buffer's BAR offset in $P2PBAR_RUN/fill.txt for the
# host hook testbed/bar-verify.py (run it last: later cases would
# reuse the range).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
t=$P2PBAR_BUILD/tests/exporter/p2pbar-test

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
pci=$(basename "$(readlink -f "$dev/device")")
[ -d "/sys/kernel/debug/p2pbar/$pci" ] || die "no debugfs directory for $pci"

# The test importer. The exporter's own function doubles as a PCI
# importer: under intel-iommu it is translated, so it must get an IOVA.
load_selftest() {
	lsmod | grep -q '^p2pbar_selftest ' ||
		insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" \
			pci_importer="$pci" ||
		die "cannot load p2pbar_selftest.ko"
}

for c in "$@"; do
	log "case $c"
	case $c in
	fill)
		"$t" fill "$node" $((1 << 20)) 0x5eed "$P2PBAR_RUN/fill.txt" ||
			die "case fill"
		;;
	hostwrite)
		"$t" hostwrite "$node" "$P2PBAR_RUN" || die "case hostwrite"
		;;
	selftest | selftest-big)
		load_selftest
		"$t" "$c" "$node" || die "case $c"
		;;
	selftest-gone | unbind | unbind-race)
		if [ "$c" = selftest-gone ]; then load_selftest; fi
		"$t" "$c" "$node" "$pci" || die "case $c"
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
if lsmod | grep -q '^p2pbar_selftest'; then
	rmmod p2pbar_selftest || die "p2pbar_selftest does not unload"
fi
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar unloads cleanly after: $*"
