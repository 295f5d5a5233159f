#!/bin/bash
# The Debian packages as a user installs them (make deb, build/deb), on
# the disk state of tests/install/dkms-state.sh: a fresh guest in which apt
# installed the two DKMS packages offline and DKMS built p2pbar.ko and
# our rdma_rxe.ko for the running kernel. Here apt installs all seven
# packages offline from copies of the .debs (the DKMS ones are already
# there: apt leaves them); modprobe loads the DKMS-built modules; the
# provider diverts the stock one; the package's group and udev rule give
# /dev/p2pbar0 to group p2pbar, mode 0660; a member of the group (not
# root) runs the CLI, builds a program with pkg-config and runs the
# installed p2pbar-ib_write_bw --use_p2pbar over rxe loopback (dma-buf MRs
# on both sides; the host finds the written bytes in the BAR:
# tests/install/perftest-verify.py). apt purge removes packages, modules,
# divert and rule, and the stock rdma_rxe and provider work again.
# The install test of make test (label install); tests/CMakeLists.txt
# runs dkms-state.sh first, as a fixture.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/tests/install/tenant.sh"

kver=$(uname -r)
dkms_pkgs=(p2pbar-dkms rdma-rxe-p2pbar-dkms)
pkgs=(libp2pbar0 libp2pbar-dev p2pbar-tools ibverbs-provider-rxe-p2pbar perftest-p2pbar "${dkms_pkgs[@]}")
provider=/usr/lib/x86_64-linux-gnu/libibverbs/librxe-rdmav34.so
stock=$(sha256sum "$provider" | cut -d' ' -f1)
# The kernel's own rdma_rxe: DKMS (3.2) moved it aside when it installed
# ours, recording where it came from, and puts it back at purge.
orig=/var/lib/dkms/rdma-rxe-p2pbar/original_module/$kver/$(uname -m)
stock_rxe=$(cat "$orig"/rdma_rxe.ko*.origin 2>/dev/null) ||
	stock_rxe=$(find /lib/modules/"$kver"/kernel -name 'rdma_rxe.ko*' | head -n1)
[ -n "$stock_rxe" ] || die "neither the kernel nor DKMS's original_module has the kernel's rdma_rxe"
stock_copy=$stock_rxe
for f in "$orig"/rdma_rxe.ko*; do
	case $f in *.origin | *'*') ;; *) stock_copy=$f ;; esac
done

# What DKMS built (the cached disk state): where modprobe finds it.
declare -A built
for m in p2pbar:p2pbar rdma-rxe-p2pbar:rdma_rxe; do
	dkms status -m "${m%%:*}" -k "$kver" | grep -c ': installed' >/dev/null || {
		dkms status
		die "DKMS has not installed ${m%%:*} for $kver (tests/install/dkms-state.sh)"
	}
	path=$(modinfo -n "${m#*:}")
	case $path in
	/lib/modules/"$kver"/updates/dkms/*) built[${m#*:}]=$path ;;
	*) die "modprobe finds ${m#*:} at $path, not in DKMS's updates/dkms" ;;
	esac
done

# apt takes local .debs only from a writable directory
mkdir -p /tmp/debs
for p in "${pkgs[@]}"; do
	cp "$P2PBAR_BUILD"/deb/"${p}"_*.deb /tmp/debs/ || die "no $p package: make deb"
done
apt-get install -y -q /tmp/debs/*.deb >/tmp/apt.log 2>&1 || { cat /tmp/apt.log; die "apt install"; }
for p in "${pkgs[@]}"; do
	[ "$(dpkg-query -W -f '${db:Status-Status}' "$p")" = installed ] || die "$p is not installed"
done
dpkg-divert --list "$provider" | grep -c ibverbs-provider-rxe-p2pbar >/dev/null || die "no divert of $provider"
[ "$(sha256sum "$provider" | cut -d' ' -f1)" != "$stock" ] || die "the stock provider is still in place"
getent group p2pbar >/dev/null || die "no group p2pbar"
result "apt installed ${pkgs[*]} offline; the rxe provider is diverted"

# No systemd here: udevd by hand, as a booted system has it.
/usr/lib/systemd/systemd-udevd --daemon
modprobe p2pbar || die "modprobe p2pbar"
modprobe rdma_rxe || die "modprobe rdma_rxe"
# A module's GNU build id: of a file (.ko, .ko.xz) and of a loaded one.
file_build_id() {
	case $1 in
	*.xz) xz -dc "$1" >/tmp/m.ko ;;
	*) cp "$1" /tmp/m.ko ;;
	esac
	readelf -n /tmp/m.ko | awk '/Build ID:/ { print $3 }'
}
# the note's last 20 bytes (namesz, descsz, type, "GNU\0", then the id)
loaded_build_id() { od -An -tx1 -v "/sys/module/$1/notes/.note.gnu.build-id" | tr -d ' \n' | tail -c 40; }
for m in p2pbar rdma_rxe; do
	id=$(file_build_id "${built[$m]}")
	[ -n "$id" ] && [ "$(loaded_build_id $m)" = "$id" ] ||
		die "the loaded $m (build id $(loaded_build_id $m)) is not DKMS's ${built[$m]} ($id)"
done
stock_id=$(file_build_id "$stock_copy")
[ -n "$stock_id" ] && [ "$id" != "$stock_id" ] || die "DKMS's rdma_rxe is the kernel's"
udevadm settle
[ "$(stat -c %G:%a /dev/p2pbar0)" = p2pbar:660 ] || die "/dev/p2pbar0 is $(stat -c %G:%a /dev/p2pbar0), not p2pbar:660"
result "modprobe loaded DKMS's p2pbar and rdma_rxe (${built[p2pbar]%/*}, build ids checked); /dev/p2pbar0 is p2pbar:660 by the package's udev rule"

tenant_uses_library

tenant_write_bw
rdma link del rxe0
rmmod rdma_rxe p2pbar

apt-get purge -y -q "${pkgs[@]}" >/tmp/purge.log 2>&1 || { cat /tmp/purge.log; die "apt purge"; }
[ -z "$(dpkg-divert --list "$provider")" ] || die "the divert is left"
[ "$(sha256sum "$provider" | cut -d' ' -f1)" = "$stock" ] || die "the stock provider is not back"
for f in /usr/bin/p2pbar /usr/lib/udev/rules.d/60-p2pbar.rules /lib/udev/rules.d/60-p2pbar.rules \
	/usr/include/libp2pbar.h /usr/bin/p2pbar-ib_write_bw "${built[@]}" /usr/src/p2pbar-* \
	/usr/src/rdma-rxe-p2pbar-* /var/lib/dkms/p2pbar /var/lib/dkms/rdma-rxe-p2pbar; do
	[ ! -e "$f" ] || die "$f is left after purge"
done
[ -z "$(dkms status)" ] || { dkms status; die "DKMS still lists modules after purge"; }
! modinfo -n p2pbar >/dev/null 2>&1 || die "modprobe still finds p2pbar at $(modinfo -n p2pbar)"
[ "$(modinfo -n rdma_rxe)" = "$stock_rxe" ] || die "modprobe finds rdma_rxe at $(modinfo -n rdma_rxe), not $stock_rxe"
rxe_up
ibv_devinfo -d rxe0 | grep -c 'state:.*PORT_ACTIVE' >/dev/null || die "stock rxe0 is not PORT_ACTIVE"
ibv_devices | grep -c rxe0 >/dev/null || die "the stock provider does not list rxe0"
[ "$(file_build_id "$stock_rxe")" = "$stock_id" ] || die "$stock_rxe is not the kernel's rdma_rxe after purge"
[ "$(loaded_build_id rdma_rxe)" = "$stock_id" ] || die "the loaded rdma_rxe is not the kernel's"
result "apt purge removed the packages, DKMS's modules, the divert and the rule; the stock rdma_rxe and provider work"
