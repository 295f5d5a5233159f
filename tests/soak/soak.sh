#!/bin/bash
# make soak's single-guest parts (tests/soak/run.sh boots this on the
# debug kernel), one per argument PART:ITERATIONS[:SIZE]:
#   rebind:N  N times: unbind of the p2pbar device while RDMA WRITEs stream
#             into a dma-buf MR on one of its buffers (error completions,
#             the MR deregisters), bind again, a new buffer's MR takes an
#             RDMA WRITE and READ (both checked), then p2pbar.ko is
#             unloaded and loaded again; host-memory RDMA traffic runs
#             beside it all and must never fail (tests/soak/p2pbar-soak.c)
#   evict:N   N passes of tests/dynamic's oversub: 16 buffers of 1/8 of
#             the BAR each (2x the BAR) written, touched and moved at
#             random, then every byte of all of them checked
#   reset:N   N RESETs while RDMA WRITEs stream into a dma-buf MR, with a
#             second buffer pinned by the test importer (p2pbar_selftest)
#             revoked by the same RESET; after each, a new buffer's MR
#             takes a checked WRITE and READ
# SIZE: rebind's and reset's dma-buf MRs (bytes, default 1 MiB). Each part ends
# with a "SOAK-ROW: PART ITERATIONS MOVED VERIFIED MAX_USED_KIB
# MAX_SLAB_KIB" line (bytes; memory sampled each second from
# /proc/meminfo: MemTotal - MemAvailable, Slab) that run.sh tabulates;
# a kernel complaint (KASAN, lockdep, DMA-API debug) fails the part, a
# kmemleak report the run (the runner's rule).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
soak=$P2PBAR_BUILD/tests/soak/p2pbar-soak
dyn=$P2PBAR_BUILD/tests/dynamic/p2pbar-dynamic
samples=/tmp/soak-mem.txt

# "USED_KIB SLAB_KIB" once a second into $samples until killed.
mem_sampler() {
	while :; do
		awk '/^MemTotal:/ { t = $2 } /^MemAvailable:/ { a = $2 } /^Slab:/ { s = $2 }
		     END { print t - a, s }' /proc/meminfo
		sleep 1
	done >"$samples"
}
sampler_start() {
	mem_sampler &
	sampler=$!
}
# The part's row; stops the sampler. (Here-strings, not <(...): the
# debug guest has no /dev/fd.)
soak_row() {
	kill "$sampler"
	wait "$sampler" 2>/dev/null || true
	read -r used slab <<<"$(awk '$1 > u { u = $1 } $2 > s { s = $2 } END { print u + 0, s + 0 }' "$samples")"
	echo "SOAK-ROW: $1 $2 $3 $4 $used $slab"
}
# "SOAK iterations=N moved=B verified=B" of OUT: "MOVED VERIFIED"
soak_bytes() {
	sed -n 's/^SOAK iterations=[0-9]* moved=\([0-9]*\) verified=\([0-9]*\)$/\1 \2/p' "$1"
}
complaints() {
	if dmesg | kernel_complaints; then die "the kernel complained during $1"; fi
}
p2pbar_reload() {
	rmmod p2pbar || die "p2pbar does not unload"
	p2pbar_load
	P2PBAR_DEV=$(p2pbar_sysfs) || die "no p2pbar device after reloading the module"
	P2PBAR_NODE=/dev/$(basename "$P2PBAR_DEV")
}

rxe_p2pbar_up
insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" || die "cannot load p2pbar_selftest.ko"
for arg in "$@"; do
	IFS=: read -r part n size <<<"$arg"
	size=${size:-$((1 << 20))}
	log "part $part: $n iterations"
	sampler_start
	moved=0 verified=0
	case $part in
	rebind)
		# the test importer holds p2pbar.ko: out for the reloads
		rmmod p2pbar_selftest
		rm -f /tmp/soak-stop
		"$soak" traffic $((256 << 10)) /tmp/soak-stop >/tmp/soak-traffic.txt 2>&1 &
		traffic=$!
		for i in $(seq "$n"); do
			pci=$(basename "$(readlink -f "$P2PBAR_DEV/device")")
			"$soak" revoke unbind "$P2PBAR_NODE" "$pci" 1 "$size" "$i" >/tmp/soak-out.txt ||
				{ cat /tmp/soak-out.txt; die "rebind iteration $i"; }
			read -r m v <<<"$(soak_bytes /tmp/soak-out.txt)"
			moved=$((moved + m)) verified=$((verified + v))
			P2PBAR_DEV=$(p2pbar_sysfs) || die "no p2pbar device after rebind $i"
			p2pbar_idle "$P2PBAR_DEV"
			p2pbar_reload
			kill -0 $traffic 2>/dev/null || { cat /tmp/soak-traffic.txt; die "the host-memory traffic ended"; }
			complaints "rebind iteration $i"
		done
		touch /tmp/soak-stop
		wait $traffic || { cat /tmp/soak-traffic.txt; die "the host-memory traffic failed"; }
		read -r m v <<<"$(soak_bytes /tmp/soak-traffic.txt)"
		log "host-memory traffic beside it: $(cat /tmp/soak-traffic.txt)"
		moved=$((moved + m)) verified=$((verified + v))
		insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
			die "cannot load p2pbar_selftest.ko again"
		;;
	evict)
		bar=$(cat "$P2PBAR_DEV/bar_size")
		m0=$(cat "$P2PBAR_DEV/bytes_moved")
		for i in $(seq "$n"); do
			"$dyn" oversub "$P2PBAR_NODE" >/tmp/soak-out.txt ||
				{ cat /tmp/soak-out.txt; die "evict iteration $i"; }
			# 16 buffers of 1/8 BAR, filled and read back whole
			verified=$((verified + 2 * bar))
			complaints "evict iteration $i"
		done
		grep RESULT /tmp/soak-out.txt || true
		moved=$(($(cat "$P2PBAR_DEV/bytes_moved") - m0))
		;;
	reset)
		"$soak" revoke reset "$P2PBAR_NODE" - "$n" "$size" 1 >/tmp/soak-out.txt ||
			{ cat /tmp/soak-out.txt; die "reset loop"; }
		read -r moved verified <<<"$(soak_bytes /tmp/soak-out.txt)"
		complaints "the reset loop"
		;;
	*) die "unknown part $arg" ;;
	esac
	p2pbar_idle "$P2PBAR_DEV"
	soak_row "$part" "$n" "$moved" "$verified"
	result "soak part $part: $n iterations, $moved bytes moved, $verified verified"
done
rmmod p2pbar_selftest || die "p2pbar_selftest does not unload"
rxe_dmabuf_down "$P2PBAR_DEV"
rmmod p2pbar || die "p2pbar does not unload"
result "soak parts $*: no kernel report, p2pbar and rdma_rxe unload"
