#!/bin/bash
# Tenant isolation and accounting in one guest (tests/exporter/
# p2pbar-isolation.c has the cases). Sets up what a distribution package
# would: group p2pbar, p2p-kmod/udev/60-p2pbar.rules, run by a real
# systemd-udevd; plus two unprivileged users, p2ptest (in the group) and
# p2pother (not). Done here, at test time, rather than in the guest image:
# the image is keyed by testbed/build-image.sh, and a rebuild for a group
# and a rule would cost every checkout a new debootstrap. Case rdma:
# p2ptest's RDMA through a dma-buf MR of its own buffer.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
t=$P2PBAR_BUILD/tests/exporter/p2pbar-isolation
params=/sys/module/p2pbar/parameters

groupadd --system p2pbar || die "groupadd p2pbar"
useradd --no-create-home --shell /bin/sh --groups p2pbar p2ptest || die "useradd p2ptest"
useradd --no-create-home --shell /bin/sh p2pother || die "useradd p2pother"
install -m 0644 "$P2PBAR_SRC/p2p-kmod/udev/60-p2pbar.rules" /etc/udev/rules.d/ ||
	die "cannot install the udev rule"
/usr/lib/systemd/systemd-udevd --daemon || die "cannot start systemd-udevd"
trap 'udevadm control --exit 2>/dev/null || true' EXIT

p2pbar_load
udevadm settle --timeout=60 || die "udev events did not settle"
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
perm=$(stat -c '%G %a' "$node")
[ "$perm" = "p2pbar 660" ] || die "$node is '$perm' after udev, want 'p2pbar 660'"
log "$node: group p2pbar, mode 0660 (udev rule)"

for c in "$@"; do
	log "case $c"
	case $c in
	privilege)
		"$t" privilege "$node" p2ptest p2pother || die "case $c"
		;;
	caps)
		echo 4 >$params/max_bufs_per_file
		echo 8 >$params/max_host_mb
		"$t" caps "$node" p2ptest || die "case $c"
		echo 1024 >$params/max_bufs_per_file
		echo 0 >$params/max_host_mb
		;;
	memcg)
		cg=/sys/fs/cgroup
		# The debug kernel is tinyconfig plus debugging: no cgroups.
		if [ "$P2PBAR_FLAVOUR" = debug ] && ! grep -qw cgroup2 /proc/filesystems; then
			log "memcg: skipped, the debug kernel has no cgroup2 (stock runs it)"
			continue
		fi
		mountpoint -q $cg || mount -t cgroup2 cgroup2 $cg || die "cannot mount cgroup2"
		grep -qw memory $cg/cgroup.controllers || die "no memory controller in cgroup2"
		echo +memory >$cg/cgroup.subtree_control || die "cannot enable the memory controller"
		mkdir -p $cg/p2pbar-test
		# The test runs as p2ptest inside the cgroup.
		sh -c 'echo $$ >"$1/cgroup.procs" && exec setpriv --reuid=p2ptest \
			--regid=p2ptest --init-groups "$2" memcg "$3" "$1"' \
			sh $cg/p2pbar-test "$t" "$node" || die "case $c"
		rmdir $cg/p2pbar-test
		;;
	rdma)
		# RDMA through a dma-buf MR of p2ptest's own buffer: our rxe
		# (testbed/guest/rxe-lib.sh), the p2pbar case of tests/rxe/rxe-dmabuf-test.c.
		# Nothing in it is privilege-specific to debug; it takes ~18 min
		# under KASAN (2026-12-02), the rxe-dmabuf tests cover rxe there.
		if [ "$P2PBAR_FLAVOUR" = debug ]; then
			log "rdma: skipped on the debug kernel (stock runs it)"
			continue
		fi
		. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
		rxe_dmabuf_up
		setpriv --reuid=p2ptest --regid=p2ptest --init-groups \
			"$P2PBAR_BUILD/tests/rxe/rxe-dmabuf-test" p2pbar "$node" ||
			die "case $c"
		rdma link delete rxe0
		rmmod rdma_rxe || die "our rdma_rxe does not unload"
		result "p2ptest (no capabilities): RDMA through a dma-buf MR of its own buffer"
		;;
	*)
		"$t" "$c" "$node" || die "case $c"
		;;
	esac
done
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar unloads cleanly after: $*"
