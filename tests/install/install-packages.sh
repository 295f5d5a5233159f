#!/bin/bash
# The Debian packages as a user installs them (make deb, build/deb): apt
# installs libp2pbar0, libp2pbar-dev, p2pbar-tools, the rxe provider and
# perftest-p2pbar offline from copies of the .debs; the provider diverts
# the stock one; the package's group and udev rule give /dev/p2pbar0 to
# group p2pbar, mode 0660; a member of the group (not root) runs the CLI,
# builds a program with pkg-config and runs the installed
# p2pbar-ib_write_bw --use_p2pbar over rxe loopback (dma-buf MRs on both
# sides; the host finds the written bytes in the BAR:
# tests/install/perftest-verify.py). apt purge removes them, and the stock provider and rxe work
# again. The modules are the testbed's: the DKMS packages are
# install-dkms-packages.sh's (make test-install-dkms, not in make test).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/tests/install/tenant.sh"

pkgs=(libp2pbar0 libp2pbar-dev p2pbar-tools ibverbs-provider-rxe-p2pbar perftest-p2pbar)
provider=/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so
stock=$(sha256sum "$provider" | cut -d' ' -f1)
# apt takes local .debs only from a writable directory
mkdir -p /tmp/debs
for p in "${pkgs[@]}"; do
	cp "$P2PBAR_BUILD"/deb/"${p}"_*.deb /tmp/debs/ || die "no $p package: make deb"
done
apt-get install -y -q /tmp/debs/*.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; die "apt install"; }
dpkg-divert --list "$provider" | grep -c ibverbs-provider-rxe-p2pbar >/dev/null || die "no divert of $provider"
[ "$(sha256sum "$provider" | cut -d' ' -f1)" != "$stock" ] || die "the stock provider is still in place"
getent group p2pbar >/dev/null || die "no group p2pbar"
result "apt installed ${pkgs[*]} offline; the rxe provider is diverted"

# No systemd here: udevd by hand, as a booted system has it.
/usr/lib/systemd/systemd-udevd --daemon
p2pbar_load
udevadm settle
[ "$(stat -c %G:%a /dev/p2pbar0)" = p2pbar:660 ] || die "/dev/p2pbar0 is $(stat -c %G:%a /dev/p2pbar0), not p2pbar:660"
result "/dev/p2pbar0 is p2pbar:660 by the package's udev rule"
tenant_uses_library

{ modprobe rdma_rxe && rmmod rdma_rxe; } || die "cannot load the stock rdma_rxe's dependencies"
insmod "$P2PBAR_KMOD/verbs-provider/kernel/build/rdma_rxe.ko" || die "cannot load our rdma_rxe.ko"
tenant_write_bw
rdma link del rxe0
rmmod rdma_rxe

apt-get purge -y -q "${pkgs[@]}" >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; die "apt purge"; }
[ -z "$(dpkg-divert --list "$provider")" ] || die "the divert is left"
[ "$(sha256sum "$provider" | cut -d' ' -f1)" = "$stock" ] || die "the stock provider is not back"
for f in /usr/bin/p2pbar /usr/lib/udev/rules.d/60-p2pbar.rules /lib/udev/rules.d/60-p2pbar.rules \
	/usr/include/libp2pbar.h /usr/bin/p2pbar-ib_write_bw; do
	[ ! -e "$f" ] || die "$f is left after purge"
done
rxe_up
ibv_devinfo -d rxe0 | grep -c 'state:.*PORT_ACTIVE' >/dev/null || die "stock rxe0 is not PORT_ACTIVE"
ibv_devices | grep -c rxe0 >/dev/null || die "the stock provider does not list rxe0"
result "apt purge removed the packages, the divert and the rule; the stock rxe and provider work"
