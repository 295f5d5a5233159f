#!/usr/bin/env bash
# The stock flavour's initrd: busybox, initrd-init and, decompressed, the
# modules every run loads first: the root disk's (virtio_blk, ext4), the
# 9p shares' and the NIC's, with their dependencies. 2-3 MiB in place of
# initramfs-tools' 36 MiB, and no udev: under TCG the guest is up about
# 5 s sooner (udev probes every device; the kernel unpacks xz modules).
# usage: mkinitrd.sh ROOTFS KVER OUT
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
rootfs=$1 kver=$2 out=$3
modules="virtio_blk ext4 9pnet_virtio 9p virtio_net"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/modules" "$tmp/lib64" "$tmp/lib/x86_64-linux-gnu"
install -m 0755 "$here/initrd-init" "$tmp/init"
cp "$rootfs/usr/bin/busybox" "$tmp/bin/busybox"
# busybox's shared libraries, at the paths the dynamic linker looks in
chroot "$rootfs" ldd /usr/bin/busybox | awk '$(NF-1) ~ /^\// { print $(NF-1) } $1 ~ /^\// { print $1 }' |
	while read -r lib; do
		mkdir -p "$tmp$(dirname "$lib")"
		cp -L "$rootfs$lib" "$tmp$lib"
	done
: >"$tmp/modules.order"
chroot "$rootfs" modprobe -S "$kver" -a --show-depends $modules |
	awk '$1 == "insmod" && !seen[$2]++ { print $2 }' | while read -r ko; do
		name=$(basename "$ko")
		case $name in
		*.xz) xz -dc "$rootfs$ko" >"$tmp/modules/${name%.xz}" ;;
		*.ko) cp "$rootfs$ko" "$tmp/modules/$name" ;;
		*) echo "mkinitrd: $ko: a compression this script does not know" >&2; exit 1 ;;
		esac
		echo "${name%.xz}" >>"$tmp/modules.order"
	done
[ -s "$tmp/modules.order" ] || { echo "mkinitrd: no modules for $kver" >&2; exit 1; }
(cd "$tmp" && find . | sort | cpio -o -H newc --quiet | gzip -1) >"$out"
