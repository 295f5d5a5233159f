#!/bin/bash
# A fresh guest installs the two DKMS packages offline, as a user does
# (apt install ./*.deb), and DKMS builds p2pbar.ko and our rdma_rxe.ko
# for the running kernel from the sources they ship. Run by
# tests/install/dkms-state.sh on a writable overlay of the image: the disk it
# leaves is the cached state install-packages.sh starts from.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"

kver=$(uname -r)
# apt takes local .debs only from a writable directory
mkdir -p /tmp/debs
for p in p2pbar-dkms rdma-rxe-p2pbar-dkms; do
	cp "$P2PBAR_BUILD"/deb/"${p}"_*.deb /tmp/debs/ || die "no $p package: make deb"
done
start=$SECONDS
apt-get install -y -q /tmp/debs/*.deb >/tmp/apt.log 2>&1 || {
	cat /tmp/apt.log /var/lib/dkms/*/*/build/make.log 2>/dev/null
	die "apt install of the DKMS packages"
}
secs=$((SECONDS - start))
dkms status
for m in p2pbar rdma-rxe-p2pbar; do
	dkms status -m "$m" -k "$kver" | grep -c ': installed' >/dev/null ||
		{ cat /tmp/apt.log; die "DKMS did not install $m for $kver"; }
done
for m in p2pbar rdma_rxe; do
	path=$(modinfo -k "$kver" -n "$m")
	case $path in
	/lib/modules/"$kver"/updates/dkms/*) ;;
	*) die "modprobe would load $m from $path, not DKMS's updates/dkms" ;;
	esac
done
result "apt installed p2pbar-dkms and rdma-rxe-p2pbar-dkms offline; DKMS built both for $kver in $secs s ($(nproc) vCPUs)"
# The disk is kept (the power-off does not unmount): on the disk now.
sync
mount -o remount,ro / 2>/dev/null || true
