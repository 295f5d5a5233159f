#!/bin/bash
# Two guests joined by a datagram netdev: ib_write_bw from node 1 (client)
# to node 0 (server) over rxe, host memory on both sides.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"

rxe_up
wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"
log "peer $PEER_IP reachable"

size=65536
args=(-d rxe0 -s "$size" -n 2000 "${PERFTEST_OPTS[@]}")
if [ "$NODE_ID" = 0 ]; then
	ib_write_bw "${args[@]}" >/tmp/server.log 2>&1 ||
		{ cat /tmp/server.log; die "ib_write_bw server failed"; }
	cat /tmp/server.log
	log "server done"
else
	perftest_client /tmp/client.log "" ib_write_bw "${args[@]}" "$PEER_IP" ||
		die "ib_write_bw client failed"
	cat /tmp/client.log
	bw=$(perftest_bw /tmp/client.log "$size") || die "no bandwidth in output"
	awk -v b="$bw" 'BEGIN { exit !(b > 0) }' || die "bandwidth $bw is not positive"
	result "ib_write_bw between two guests over rxe, $size-byte messages: $bw MiB/s"
fi
