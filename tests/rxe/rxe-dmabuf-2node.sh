#!/bin/bash
# dma-buf MRs on soft-RoCE across two guests (tests/rxe/rxe-dmabuf-2node.c):
# node 1 serves, node 0 drives every verb between the host and dma-buf MRs
# of both nodes and leaves, like node 1, a pattern written by RDMA in its
# BAR and fill.txt for the host (testbed/bar-verify.py 0 1).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
t=$P2PBAR_BUILD/tests/rxe/rxe-dmabuf-2node
port=18516

rxe_p2pbar_up
rxe_lossless_wire
wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"

[ $# = 2 ] || die "usage: $0 NODE0_CASE NODE1_CASE"
if [ "$NODE_ID" = 0 ]; then
	[ "$1" = drive ] || die "node 0 drives, not $1"
	"$t" drive "$P2PBAR_NODE" "$port" "$PEER_IP" "$P2PBAR_RUN/fill.txt" ||
		{ rxe_counters; die "node 0 (driver) failed"; }
else
	[ "$2" = serve ] || die "node 1 serves, not $2"
	"$t" serve "$P2PBAR_NODE" "$port" "$P2PBAR_RUN/fill.txt" ||
		{ rxe_counters; die "node 1 (server) failed"; }
fi
rxe_counters
rxe_dmabuf_down "$P2PBAR_DEV"
result "node $NODE_ID: two-node dma-buf MR matrix passed; dmesg clean; p2pbar counters back to 0"
