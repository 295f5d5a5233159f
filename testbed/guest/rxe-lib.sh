# Guest helpers for dma-buf MRs on soft-RoCE (sourced after lib.sh).

# Our rdma_rxe.ko in place of the stock module, our rxe provider in place
# of the stock one (a tmpfs over /etc/libibverbs.d whose rxe.driver points
# into the build tree: the image is not modified), and rxe0 on eth0.
rxe_dmabuf_up() {
	local vp=${P2PBAR_IMAGE_BUILD:-$P2PBAR_BUILD}/verbs-provider
	# sid: our patches may no longer fit it (not run, saying why)
	require_supported "$P2PBAR_KMOD/verbs-provider/kernel/outcome" "$vp/rdma-core/outcome"
	# the stock module's dependencies, then ours in its place
	modprobe rdma_rxe || die "cannot load the stock rdma_rxe's dependencies"
	rmmod rdma_rxe || die "cannot unload the stock rdma_rxe"
	insmod "$P2PBAR_KMOD/verbs-provider/kernel/build/rdma_rxe.ko" || die "cannot load our rdma_rxe.ko"
	grep -q . /sys/module/rdma_rxe/taint || die "rdma_rxe is not ours (not tainted O)"
	mount -t tmpfs p2pbar-verbs /etc/libibverbs.d
	echo "driver $vp/rdma-core/build/lib/librxe" >/etc/libibverbs.d/rxe.driver
	rxe_link_up
}

# Two guests: rxe bounds a requester's packets in flight, not a responder's
# READ replies; a 64 MiB READ is answered by one burst of 16k packets, and
# the default qdisc (fq_codel: 10240 packets, and CoDel drops on queueing
# delay) drops part of it; each drop costs the requester a 4 s retransmit
# timeout (rxe counters send_err, completer_retry_err). A deep FIFO keeps
# the wire lossless.
rxe_lossless_wire() {
	tc qdisc replace dev eth0 root pfifo limit 65536 || die "cannot set eth0's qdisc"
}

# rxe0's non-zero counters and eth0's drops: retransmissions and drops
# are what make a transfer slow or fail on this testbed.
rxe_counters() {
	local f v out=""
	for f in /sys/class/infiniband/rxe0/ports/1/hw_counters/*; do
		v=$(cat "$f")
		[ "$v" = 0 ] || out+=" $(basename "$f")=$v"
	done
	log "rxe0 counters:$out; eth0 qdisc: $(tc -s qdisc show dev eth0 | grep -o 'dropped [0-9]*')" \
		"rx_dropped $(cat /sys/class/net/eth0/statistics/rx_dropped)"
}

# A fresh dmesg, rxe_dmabuf_up and p2pbar.ko; sets P2PBAR_DEV (the sysfs
# device, for rxe_dmabuf_down) and P2PBAR_NODE (/dev/p2pbarN).
rxe_p2pbar_up() {
	dmesg -n 1
	dmesg -C
	rxe_dmabuf_up
	p2pbar_load
	P2PBAR_DEV=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
	P2PBAR_NODE=/dev/$(basename "$P2PBAR_DEV")
}

# Undo rxe_dmabuf_up and check that nothing leaked: our rdma_rxe unloads,
# the p2pbar device DEV (sysfs) has no buffer, pin or attachment left (the
# test programs have exited), and dmesg has no kernel complaint.
rxe_dmabuf_down() {
	local dev=$1
	rdma link delete rxe0
	rmmod rdma_rxe || die "our rdma_rxe does not unload"
	p2pbar_idle "$dev"
	if dmesg | kernel_complaints; then
		die "dmesg is not clean"
	fi
}
