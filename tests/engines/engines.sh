#!/bin/bash
# libfabric and UCX between two guests' BARs (examples/fi-bar-to-bar.c,
# examples/uct-bar-to-bar.c), in one boot:
#   what each engine says about dma-buf support on this rxe (its own log)
#   negative control: FI_VERBS_USE_DMABUF=no, FI_MR_DMABUF is refused
#   UCT rc_verbs put_zcopy/get_zcopy between the BARs (bytes checked)
#   libfabric verbs FI_EP_MSG write/read and verbs;ofi_rxm FI_EP_RDM tagged
#   eager/SAR/rendezvous (bytes checked; the host then checks both BARs)
# UCX runs first: its buffers are freed at its exit and libfabric's reuse
# (and zero) the same BAR range, so only the last program's bytes are
# still there for the host (testbed/bar-verify.py).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
ex=$P2PBAR_BUILD/examples

rxe_p2pbar_up
rxe_lossless_wire
wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"

if [ "$NODE_ID" = 0 ]; then
	log "kallsyms: $(grep -c ' ib_umem_dmabuf_get' /proc/kallsyms) ib_umem_dmabuf_get (libfabric verbs' probe)"
	out=$(FI_LOG_LEVEL=info FI_LOG_PROV=verbs "$ex/fi-bar-to-bar" probe 2>&1) ||
		{ echo "$out"; die "libfabric: FI_MR_DMABUF registration failed"; }
	echo "$out" | grep -E 'dmabuf support|^probe' | sed 's/^/libfabric: /'
	set +e
	out=$(FI_VERBS_USE_DMABUF=no "$ex/fi-bar-to-bar" probe 2>&1)
	rc=$?
	set -e
	echo "$out" | sed 's/^/FI_VERBS_USE_DMABUF=no: /'
	[ "$rc" = 3 ] || die "FI_VERBS_USE_DMABUF=no: exit $rc, expected 3 (registration refused)"
	echo "$out" | grep -q 'refused FI_MR_DMABUF.*dma-buf support is off' ||
		die "FI_VERBS_USE_DMABUF=no: no clear refusal message"
	result "engines: FI_VERBS_USE_DMABUF=no refuses FI_MR_DMABUF with a clear message"
	out=$(UCX_LOG_LEVEL=debug "$ex/uct-bar-to-bar" probe 2>&1) ||
		{ echo "$out"; die "UCX: dma-buf registration failed"; }
	echo "$out" | grep -E 'dmabuf|^probe' | sed 's/^/ucx: /'
fi

if [ "$NODE_ID" = 0 ]; then
	"$ex/uct-bar-to-bar" server 18600 "$P2PBAR_RUN" || { rxe_counters; die "UCT server failed"; }
	"$ex/fi-bar-to-bar" server "$NODE_IP" 18610 "$P2PBAR_RUN" || { rxe_counters; die "libfabric server failed"; }
else
	"$ex/uct-bar-to-bar" client "$PEER_IP" 18600 "$P2PBAR_RUN" || { rxe_counters; die "UCT client failed"; }
	"$ex/fi-bar-to-bar" client "$PEER_IP" 18610 "$P2PBAR_RUN" || { rxe_counters; die "libfabric client failed"; }
fi
rxe_counters
rxe_dmabuf_down "$P2PBAR_DEV"
result "engines: node $NODE_ID: UCT put/get, libfabric MSG write/read and RDM tagged eager/SAR/rendezvous between the BARs"
