#!/bin/bash
# dma-buf MRs on soft-RoCE in one guest: our rdma_rxe.ko replaces the stock
# module, our rxe provider replaces the stock one (a tmpfs over
# /etc/libibverbs.d whose rxe.driver points into the build tree; the image
# is not modified), then each case of tests/rxe/rxe-dmabuf-test.c given as
# an argument runs. dmesg must stay free of warnings.
#   probe | badinput | notify (move_notify under traffic) |
#   p2pbar (data via p2pbar; leaves fill.txt for tests/host/exporter-verify.py) |
#   udmabuf | vgem (the same data test on dma-bufs of other exporters)
set -euo pipefail
. "$P2PBAR_SRC/tests/vm/lib.sh"
. "$P2PBAR_SRC/tests/vm/rxe-lib.sh"
t=$P2PBAR_BUILD/tests/rxe/rxe-dmabuf-test

dmesg -n 1
dmesg -C
rxe_dmabuf_up
p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")

for c in "$@"; do
	log "case $c"
	case $c in
	probe) "$t" probe || die "case probe" ;;
	notify)
		insmod "$P2PBAR_KMOD/tests/rxe/notify-kmod/dmabuf_notify.ko" ||
			die "cannot load dmabuf_notify.ko"
		"$t" notify "$node" || die "case notify"
		rmmod dmabuf_notify
		;;
	badinput) "$t" badinput "$node" || die "case badinput" ;;
	p2pbar) "$t" data p2pbar "$node" "$P2PBAR_RUN/fill.txt" || die "case p2pbar" ;;
	udmabuf)
		[ -e /dev/udmabuf ] || modprobe udmabuf || die "no udmabuf"
		"$t" data udmabuf || die "case udmabuf"
		;;
	vgem)
		modprobe vgem || die "no vgem"
		wait_for 10 test -e /sys/devices/platform/vgem/drm || die "no vgem DRM device"
		"$t" data vgem || die "case vgem"
		;;
	*) die "unknown case $c" ;;
	esac
	result "rxe dma-buf MR case $c passed"
done

rdma link delete rxe0
rmmod rdma_rxe || die "our rdma_rxe does not unload"
for f in used buffers pinned attachments; do
	v=$(cat "$dev/$f")
	# fill.txt's buffer was freed at exit too: everything is back to 0
	[ "$v" = 0 ] || die "p2pbar $f is $v at the end, not 0"
done
if dmesg | grep -E 'WARNING|BUG|Oops|refcount|UBSAN|KASAN|lockdep|circular'; then
	die "dmesg is not clean"
fi
result "dmesg clean; our rdma_rxe unloads; p2pbar counters back to 0 after: $*"
