#!/bin/bash
# make soak's two-node part (tests/soak/run.sh boots two debug guests and
# then checks node 0's ivshmem file with testbed/bar-verify.py), usage:
# bar-to-bar.sh N [SIZE]. N transfers of examples/bar-to-bar, each with a
# new pattern, from node 1's BAR into node 0's: per transfer node 1
# RDMA-WRITEs its device buffer three times and its host buffer three
# times, then READs node 0's device buffer back and checks it; node 0
# checks both its buffers. Each transfer is a new process: new
# registrations on new buffers. SIZE per transfer, default 16 MiB: on the
# debug kernel a transfer's freed skbs wait in KASAN's quarantine, which
# only a blocking allocation trims, and a transfer makes none (README);
# the next process's start does. Each node ends with a SOAK-ROW line as
# tests/soak/soak.sh's parts do.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
export LD_LIBRARY_PATH=$P2PBAR_BUILD/lib
demo=$P2PBAR_BUILD/examples/bar-to-bar
n=${1:?usage: bar-to-bar.sh TRANSFERS [SIZE]}
size=${2:-$((16 << 20))}
samples=/tmp/soak-mem.txt

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
rxe_dmabuf_up
rxe_lossless_wire
wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"
while :; do
	awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } /^Slab:/ { s = $2 }
	     END { print t - a, s }' /proc/meminfo
	sleep 1
done >"$samples" &
sampler=$!
for i in $(seq "$n"); do
	seed=$((0x50a6 * 65536 + i))
	port=$((18600 + i % 100))
	if [ "$NODE_ID" = 0 ]; then
		"$demo" server "$size" $port "$P2PBAR_RUN/fill.txt" $seed >/tmp/b2b.txt 2>&1 ||
			{ cat /tmp/b2b.txt; rxe_counters; die "transfer $i: server failed"; }
	else
		"$demo" client "$size" $port "$PEER_IP" $seed >/tmp/b2b.txt 2>&1 ||
			{ cat /tmp/b2b.txt; rxe_counters; die "transfer $i: client failed"; }
	fi
	[ $((i % 8)) != 1 ] || log "transfer $i: $(grep -h -e 'MiB/s' -e '^server:' /tmp/b2b.txt | head -n 1)"
	if dmesg | kernel_complaints; then die "the kernel complained during transfer $i"; fi
done
kill $sampler
wait $sampler 2>/dev/null || true
rxe_counters
# 4 KiB warm-up, 3 WRITEs of each buffer, 1 READ: the same bytes on both
# nodes; node 0 checks its two buffers, node 1 the READ's
moved=$((n * (7 * size + 4096)))
if [ "$NODE_ID" = 0 ]; then verified=$((n * 2 * size)); else verified=$((n * size)); fi
read -r used slab <<<"$(awk '$1 > u { u = $1 } $2 > s { s = $2 } END { print u + 0, s + 0 }' "$samples")"
echo "SOAK-ROW: bar-to-bar-node$NODE_ID $n $moved $verified $used $slab"
rdma link delete rxe0
rmmod rdma_rxe || die "our rdma_rxe does not unload"
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "bar-to-bar soak: $n transfers of $((size >> 20)) MiB, node $NODE_ID"
