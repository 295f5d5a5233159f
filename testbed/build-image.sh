#!/usr/bin/env bash
# Build (or reuse) the guest image: a Debian rootfs with the stock kernel,
# rdma-core, perftest, libfabric and UCX, DKMS, packed as ext4, and our small
# initrd (guest/mkinitrd.sh). Cached under $P2PBAR_CACHE keyed by the
# package versions and the scripts that make it, so it is rebuilt only when they
# change. Prints the image directory on stdout.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"

packages=(
	linux-image-amd64 linux-headers-amd64 build-essential
	rdma-core ibverbs-utils ibverbs-providers libibverbs-dev librdmacm-dev
	perftest rdmacm-utils iproute2 iputils-ping kmod pciutils procps
	python3 udev busybox util-linux sparse
	cmake ninja-build pkgconf
	autoconf automake libtool libibumad-dev libpci-dev
	bc bison flex libelf-dev libssl-dev cpio rsync
	cython3 python3-dev # pyverbs for rdma-core's test suite (tests/rdma-core)
	dkms # the install test's DKMS builds (tests/install)
)
# The packages whose versions define the image.
key_packages=(linux-image-amd64 linux-headers-amd64 rdma-core perftest
	ibverbs-providers gcc)
if [ "$P2PBAR_SUITE" = sid ]; then
	# sid's kernel pulls in dracut (and systemd) unless another initramfs
	# generator is there: initramfs-tools is the smaller one. Guests boot
	# through our initrd either way.
	packages+=(initramfs-tools mount)
else
	# The engines (libfabric, UCX; with ROCm's runtimes and Open MPI, 0.3
	# GB): their test and fabtests run on trixie only.
	packages+=(libfabric1 libfabric-dev libfabric-bin libucx0 libucx-dev ucx-utils)
	key_packages+=(libfabric1 libucx0)
fi

log() { echo "build-image: $*" >&2; }

versions=""
if guest_apt_setup && guest_apt apt-get update -qq >/dev/null 2>&1; then
	versions=$(guest_apt apt-cache show --no-all-versions "${key_packages[@]}" |
		awk '/^Package:/{p=$2} /^Version:/{print p "=" $2}')
fi
if [ -z "$versions" ]; then
	# Offline: reuse the newest image we have, if any.
	latest=$(ls -dt "$P2PBAR_CACHE"/images/"$P2PBAR_SUITE"-*/ 2>/dev/null | head -n1 || true)
	if [ -n "$latest" ] && [ -f "$latest/ready" ]; then
		log "mirror unreachable; reusing ${latest%/}"
		echo "${latest%/}"
		exit 0
	fi
	log "cannot resolve $P2PBAR_SUITE package versions from the mirror"
	exit 1
fi

key=$( (echo "$versions"; echo "${packages[*]}"; cat "$0" "$here"/guest/{p2pbar-init,mkinitrd.sh,initrd-init}) |
	sha256sum | cut -c1-16)
dir="$P2PBAR_CACHE/images/$P2PBAR_SUITE-$key"
if [ -f "$dir/ready" ]; then
	touch "$dir" # in use: keeps it among the newest when older ones are pruned
	echo "$dir"
	exit 0
fi

log "building $P2PBAR_SUITE image $key:"
echo "$versions" | sed 's/^/  /' >&2
mkdir -p "$P2PBAR_CACHE/images"
tmp=$(mktemp -d "$P2PBAR_CACHE/images/.build-XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT

mirror=$(debian_mirror)
start=$SECONDS
mmdebstrap --variant=apt --mode=root --quiet \
	--aptopt='Acquire::Check-Valid-Until "false"' \
	--include="$(IFS=,; echo "${packages[*]}")" \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-exclude=/usr/share/info/*' \
	--customize-hook='echo p2pbar-guest >"$1/etc/hostname"' \
	--customize-hook="install -m 0755 '$here/guest/p2pbar-init' \"\$1/sbin/p2pbar-init\"" \
	--customize-hook='mkdir -p "$1/p2pbar/run" "$1/p2pbar/src" "$1/p2pbar/build"' \
	--customize-hook='rm -f "$1/etc/machine-id"; touch "$1/etc/machine-id"' \
	"$P2PBAR_SUITE" "$tmp/rootfs" "$mirror" >&2
log "rootfs in $((SECONDS - start)) s"

kver=$(ls "$tmp/rootfs/lib/modules" | sort -V | tail -n1)
cp "$tmp/rootfs/boot/vmlinuz-$kver" "$tmp/vmlinuz"
"$here/guest/mkinitrd.sh" "$tmp/rootfs" "$kver" "$tmp/initrd.img"
# Leave head room for what tests write (the disk is used with snapshot=on).
size_mb=$(($(du -sm "$tmp/rootfs" | cut -f1) + 1024))
mke2fs -q -t ext4 -L p2pbar-root -d "$tmp/rootfs" "$tmp/rootfs.ext4" "${size_mb}M" >&2
{
	echo "KVER=$kver"
	echo "SUITE=$P2PBAR_SUITE"
	echo "$versions" | awk -F= '{n = toupper($1); gsub(/[^A-Z0-9]/, "_", n); print "VERSION_" n "=" $2}'
} >"$tmp/image.env"
chroot "$tmp/rootfs" dpkg-query -W >"$tmp/packages.txt"
touch "$tmp/ready"
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
log "image ready in $((SECONDS - start)) s: $dir"
# Keep the six most recently used images of this suite (worktrees and
# clean clones may use different ones); older ones are dead weight.
ls -dt "$P2PBAR_CACHE"/images/"$P2PBAR_SUITE"-*/ | tail -n +7 | xargs -r rm -rf
echo "$dir"
