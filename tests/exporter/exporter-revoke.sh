#!/bin/bash
# Revoke that drains and fences that block no one else: each case of
# tests/exporter/p2pbar-revoke.c given as an argument (see that file),
# with vgem (a fence nobody signals) and the test importer loaded.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
t=$P2PBAR_BUILD/tests/exporter/p2pbar-revoke

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
pci=$(basename "$(readlink -f "$dev/device")")
vgem_up
insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
	die "cannot load p2pbar_selftest.ko"

for c in "$@"; do
	log "case $c"
	"$t" "$c" "$node" "$pci" || die "case $c"
	if [ "$c" = drain-unbind ]; then
		dev=$(p2pbar_sysfs) || die "no p2pbar device after rebinding"
		node=/dev/$(basename "$dev")
	fi
done
rmmod p2pbar_selftest || die "p2pbar_selftest does not unload"
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar unloads cleanly after: $*"
