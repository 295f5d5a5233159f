#!/bin/bash
# Dynamic placement tests in one guest: load p2pbar.ko (and the test
# importer for "pinned" and "reset") and run each case of
# tests/dynamic/p2pbar-dynamic.c given as an argument.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
t=$P2PBAR_BUILD/tests/dynamic/p2pbar-dynamic

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
if [ "$(cat "$dev/move_notify")" = 1 ]; then
	log "kernel has CONFIG_DMABUF_MOVE_NOTIFY: dynamic importers' maps do not pin"
else
	log "stock kernel without CONFIG_DMABUF_MOVE_NOTIFY: checking the pin-on-map fallback"
fi
# The tracepoints record what happens (checked after the cases).
tr=/sys/kernel/tracing
[ -d "$tr/events" ] || mount -t tracefs nodev "$tr" || die "cannot mount tracefs"
[ -d "$tr/events/p2pbar" ] || die "no p2pbar tracepoints under $tr/events/p2pbar"
echo >"$tr/trace"
echo 1 >"$tr/events/p2pbar/enable"

for c in "$@"; do
	log "case $c"
	if [ "$c" = pinned ] || [ "$c" = reset ]; then
		insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
			die "cannot load p2pbar_selftest.ko"
	fi
	"$t" "$c" "$node" || die "case $c"
	if [ "$c" = pinned ] || [ "$c" = reset ]; then
		rmmod p2pbar_selftest || die "p2pbar_selftest does not unload"
	fi
done
echo 0 >"$tr/events/p2pbar/enable"
want=(p2pbar_move)
case " $* " in *" pinned "*) want+=(p2pbar_attach p2pbar_pin p2pbar_map) ;; esac
case " $* " in *" reset "*) want+=(p2pbar_revoke) ;; esac
for e in "${want[@]}"; do
	n=$(grep -c " $e: " "$tr/trace" || true)
	[ "$n" -gt 0 ] || die "no $e events in the trace"
	log "trace: $n $e events, e.g. $(grep -m1 " $e: " "$tr/trace" | sed 's/.*: //')"
done
for f in evictions migrations bytes_moved; do
	log "$f $(cat "$dev/$f")"
done
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar unloads cleanly after: $*"
