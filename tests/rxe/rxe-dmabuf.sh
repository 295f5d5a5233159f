#!/bin/bash
# dma-buf MRs on soft-RoCE in one guest: our rdma_rxe.ko replaces the stock
# module, our rxe provider replaces the stock one (a tmpfs over
# /etc/libibverbs.d whose rxe.driver points into the build tree; the image
# is not modified), then each case of tests/rxe/rxe-dmabuf-test.c given as
# an argument runs (the script's case names are the program's). dmesg must stay free of warnings.
#   probe | badinput | rereg (PD and access of a dma-buf MR) |
#   notify (move_notify under traffic revokes the MR) |
#   migrate (MIGRATE under traffic is EBUSY: the MR pins; after dereg it moves) |
#   revoke-reset | revoke-unbind (RESET / unbind under traffic; leave
#     fill-revoke-*.txt: the revoked range's new owner) |
#   p2pbar (data via p2pbar; leaves fill.txt for testbed/bar-verify.py) |
#   udmabuf | vgem (the same data test on dma-bufs of other exporters) |
#   regrace (register/deregister while the buffer moves; an oops panics) |
#   noparent (rxe on veth: the probe and registrations agree) |
#   fence (a move whose fence never signals: registration bounded, no hang) |
#   vgemfence (a vgem fence imported into the buffer: what userspace reaches) |
#   allocfail (debug kernel: a registration's allocations and user copies
#     failed in turn) |
#   trafficfail (debug kernel: rxe's requester's packet allocations failed
#     at random under RDMA WRITE/READ traffic, then all of them)
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
t=$P2PBAR_BUILD/tests/rxe/rxe-dmabuf-test

rxe_p2pbar_up

for c in "$@"; do
	log "case $c"
	case $c in
	probe) "$t" probe || die "case probe" ;;
	notify)
		insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
			die "cannot load p2pbar_selftest.ko"
		"$t" notify "$P2PBAR_NODE" || die "case notify"
		rmmod p2pbar_selftest
		;;
	badinput) "$t" badinput "$P2PBAR_NODE" || die "case badinput" ;;
	rereg) "$t" rereg "$P2PBAR_NODE" || die "case rereg" ;;
	regrace)
		# A NULL dereference in move_notify would leave the resv locked
		# and the registering process stuck: end the run at once instead.
		# Only the debug kernel dereferences (lockdep's assertion).
		echo 1 >/proc/sys/kernel/panic_on_oops
		# Before the fix the debug kernel oopsed within ~10 s.
		secs=20
		[ "$P2PBAR_FLAVOUR" != debug ] || secs=40
		"$t" regrace "$P2PBAR_NODE" $secs || die "case regrace"
		echo 0 >/proc/sys/kernel/panic_on_oops
		;;
	noparent)
		ip link add veth0 type veth peer name veth1 || die "cannot create veth0"
		ip link set veth0 up && ip link set veth1 up || die "cannot bring veth up"
		rdma link add rxev type rxe netdev veth0 || die "cannot create rxev on veth0"
		"$t" noparent rxev rxe0 "$P2PBAR_NODE" || die "case noparent"
		rdma link delete rxev
		ip link delete veth0
		;;
	vgemfence)
		vgem_up
		"$t" vgemfence "$P2PBAR_NODE" || die "case vgemfence"
		;;
	fence)
		insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
			die "cannot load p2pbar_selftest.ko"
		"$t" fence "$P2PBAR_NODE" || die "case fence"
		rmmod p2pbar_selftest
		;;
	revoke-reset | revoke-unbind)
		pci=$(basename "$(readlink -f "$P2PBAR_DEV/device")")
		# the program binds the device again after unbind
		"$t" "$c" "$P2PBAR_NODE" "$pci" "$P2PBAR_RUN/fill-$c.txt" ||
			die "case $c"
		P2PBAR_DEV=$(p2pbar_sysfs) || die "no p2pbar device after $c"
		P2PBAR_NODE=/dev/$(basename "$P2PBAR_DEV")
		;;
	migrate)
		"$t" migrate "$P2PBAR_NODE" "$P2PBAR_RUN/fill.txt" || die "case migrate"
		cat "$P2PBAR_DEV/migrations" "$P2PBAR_DEV/bytes_moved"
		;;
	allocfail)
		# fail-nth in the registering thread, at every allocation and user
		# copy made under a module's frame (ib_uverbs, ib_core, rdma_rxe,
		# p2pbar's dma-buf ops)
		span=$(module_span "*")
		# shellcheck disable=SC2086 # START END
		fault_aim $span
		"$t" allocfail "$P2PBAR_NODE" || die "case allocfail"
		;;
	trafficfail)
		# failslab fails only skb heads (the cache filter) allocated
		# under rxe's send side (rxe_sender, and rxe_requester, which it
		# may inline): the requester's packets, never the responder's
		# acks and read replies. The program sets how often and counts.
		span=$(symbol_span rxe_requester rxe_sender)
		# shellcheck disable=SC2086 # START END
		fault_aim $span
		echo 1 >/sys/kernel/debug/failslab/interval
		echo 1 >/sys/kernel/slab/skbuff_head_cache/failslab ||
			die "cannot mark skbuff_head_cache for failslab"
		echo Y >/sys/kernel/debug/failslab/cache-filter
		"$t" trafficfail "$P2PBAR_NODE" /sys/kernel/debug/failslab ||
			die "case trafficfail"
		echo N >/sys/kernel/debug/failslab/cache-filter
		echo 0 >/sys/kernel/slab/skbuff_head_cache/failslab
		;;
	p2pbar) "$t" p2pbar "$P2PBAR_NODE" "$P2PBAR_RUN/fill.txt" || die "case p2pbar" ;;
	udmabuf)
		[ -e /dev/udmabuf ] || modprobe udmabuf || die "no udmabuf"
		"$t" udmabuf || die "case udmabuf"
		;;
	vgem)
		vgem_up
		"$t" vgem || die "case vgem"
		;;
	*) die "unknown case $c" ;;
	esac
	result "rxe dma-buf MR case $c passed"
done

# fill.txt's buffer was freed at exit too: everything is back to 0
rxe_dmabuf_down "$P2PBAR_DEV"
result "dmesg clean; our rdma_rxe unloads; p2pbar counters back to 0 after: $*"
