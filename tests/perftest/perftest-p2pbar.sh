#!/bin/bash
# One guest: the perftest built from the running image's Debian perftest
# with our --use_p2pbar patch moves data between p2pbar dma-buf MRs over
# rxe loopback (our rdma_rxe.ko and provider): ib_write_bw and ib_read_bw,
# p2pbar buffers on both sides, a positive bandwidth each. The short check
# of the bench label for flavours that do not run bench-short by default.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
pt=${P2PBAR_IMAGE_BUILD:-$P2PBAR_BUILD}/bench/perftest/src
require_supported "$pt/../outcome"
export LD_LIBRARY_PATH=$P2PBAR_BUILD/lib

rxe_p2pbar_up
port=18650
for tool in ib_write_bw ib_read_bw; do
	port=$((port + 1))
	args=("$pt/$tool" -d rxe0 "${PERFTEST_OPTS[@]}" --use_p2pbar -s 65536 -n 50 -p "$port")
	perftest_server /tmp/server.log "${args[@]}"
	perftest_client /tmp/client.log "$PERFTEST_SERVER_PID" "${args[@]}" "$NODE_IP" ||
		die "$tool --use_p2pbar (client) failed"
	wait "$PERFTEST_SERVER_PID" || { cat /tmp/server.log; die "$tool --use_p2pbar (server) failed"; }
	grep -q "Using p2pbar device" /tmp/client.log || { cat /tmp/client.log; die "$tool did not use p2pbar memory"; }
	bw=$(perftest_bw /tmp/client.log 65536) || { cat /tmp/client.log; die "$tool: no 64 KiB figure"; }
	awk -v b="$bw" 'BEGIN { exit !(b > 0) }' || die "$tool: bandwidth $bw MiB/s"
	result "$tool --use_p2pbar, 64 KiB, p2pbar MRs both sides over rxe loopback: $bw MiB/s"
done
rxe_dmabuf_down "$P2PBAR_DEV"
