#!/bin/bash
# One guest: rdma_rxe loads, rxe0 comes up on the virtio NIC and is
# PORT_ACTIVE, and ib_write_bw moves host memory over rxe loopback.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"

rxe_up
ibv_devinfo -d rxe0
ibv_devinfo -d rxe0 | grep -q 'state:.*PORT_ACTIVE' || die "rxe0 not PORT_ACTIVE"
result "rxe0 on eth0 is PORT_ACTIVE"

size=65536
args=(-d rxe0 -s "$size" -n 5000 "${PERFTEST_OPTS[@]}")
perftest_server /tmp/server.log ib_write_bw "${args[@]}"
perftest_client /tmp/client.log "$PERFTEST_SERVER_PID" ib_write_bw "${args[@]}" "$NODE_IP" ||
	die "ib_write_bw client failed"
wait "$PERFTEST_SERVER_PID" || { cat /tmp/server.log; die "ib_write_bw server failed"; }
cat /tmp/client.log
bw=$(perftest_bw /tmp/client.log "$size") || die "no bandwidth in ib_write_bw output"
awk -v b="$bw" 'BEGIN { exit !(b > 0) }' || die "bandwidth $bw is not positive"
result "ib_write_bw loopback over rxe, $size-byte messages: $bw MiB/s"
