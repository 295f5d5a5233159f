#!/bin/bash
# Dynamic placement tests in one guest: load p2pbar.ko (and the test
# importer for "pinned" and "reset") and run each case of
# tests/dynamic/p2pbar-dynamic.c given as an argument.
set -euo pipefail
. "$P2PBAR_SRC/tests/vm/lib.sh"
t=$P2PBAR_BUILD/tests/dynamic/p2pbar-dynamic

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
if [ "$(cat "$dev/move_notify")" = 1 ]; then
	log "kernel has CONFIG_DMABUF_MOVE_NOTIFY: dynamic importers' maps do not pin"
else
	log "stock kernel without CONFIG_DMABUF_MOVE_NOTIFY: checking the pin-on-map fallback"
fi
for c in "$@"; do
	log "case $c"
	if [ "$c" = pinned ] || [ "$c" = reset ]; then
		insmod "$P2PBAR_BUILD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
			die "cannot load p2pbar_selftest.ko"
	fi
	"$t" "$c" "$node" || die "case $c"
	if [ "$c" = pinned ] || [ "$c" = reset ]; then
		rmmod p2pbar_selftest || die "p2pbar_selftest does not unload"
	fi
done
for f in evictions migrations bytes_moved; do
	log "$f $(cat "$dev/$f")"
done
for f in used buffers pinned attachments; do
	[ "$(cat "$dev/$f")" = 0 ] || die "$f is $(cat "$dev/$f") at the end, not 0"
done
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar unloads cleanly after: $*"
