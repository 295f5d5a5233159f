#!/bin/bash
# The two-node demo (`make demo`): each guest has its own accelerator BAR
# exported by p2pbar and soft-RoCE with dma-buf MRs (verbs-provider/).
# Node 1 fills a buffer in its BAR and RDMA-WRITEs it into a buffer in
# node 0's BAR (examples/bar-to-bar.c); node 0 leaves the buffer's BAR
# offset in fill.txt and the host then reads those bytes from node 0's
# ivshmem file (testbed/bar-verify.py).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
export LD_LIBRARY_PATH=$P2PBAR_BUILD/lib
demo=$P2PBAR_BUILD/examples/bar-to-bar
# 64 MiB, 16 MiB on the debug kernel: there every freed skb waits in
# KASAN's quarantine, which only a blocking allocation trims, and this
# transfer makes none, so larger ones run a 2 GiB guest out of memory.
size=$((64 << 20))
[ "${P2PBAR_FLAVOUR:-stock}" != debug ] || size=$((16 << 20))
size=${DEMO_SIZE:-$size}

p2pbar_load
rxe_dmabuf_up
rxe_lossless_wire
wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"
if [ "$NODE_ID" = 0 ]; then
	"$demo" server "$size" 18515 "$P2PBAR_RUN/fill.txt" || { rxe_counters; die "server failed"; }
else
	"$demo" client "$size" 18515 "$PEER_IP" || { rxe_counters; die "client failed"; }
fi
rxe_counters
result "bar-to-bar $((size >> 20)) MiB, node $NODE_ID done"
