# Guest helpers for dma-buf MRs on soft-RoCE (sourced after lib.sh).

# Our rdma_rxe.ko in place of the stock module, our rxe provider in place
# of the stock one (a tmpfs over /etc/libibverbs.d whose rxe.driver points
# into the build tree: the image is not modified), and rxe0 on eth0.
rxe_dmabuf_up() {
	local vp=$P2PBAR_BUILD/verbs-provider
	# the stock module's dependencies, then ours in its place
	modprobe rdma_rxe || die "cannot load the stock rdma_rxe's dependencies"
	rmmod rdma_rxe || die "cannot unload the stock rdma_rxe"
	insmod "$P2PBAR_KMOD/verbs-provider/kernel/build/rdma_rxe.ko" || die "cannot load our rdma_rxe.ko"
	grep -q . /sys/module/rdma_rxe/taint || die "rdma_rxe is not ours (not tainted O)"
	mount -t tmpfs p2pbar-verbs /etc/libibverbs.d
	echo "driver $vp/rdma-core/build/lib/librxe" >/etc/libibverbs.d/rxe.driver
	rdma link add rxe0 type rxe netdev eth0 || die "cannot create rxe0 on eth0"
	wait_for 30 port_active rxe0 || die "rxe0 port never became active"
}
