#!/usr/bin/env bash
# Build an out-of-tree kernel module with Kbuild against the headers of
# exactly the guest kernel, inside a chroot of the guest image's rootfs (its
# gcc and its kernel's build scripts). The sources are copied to OUT_DIR so
# the source tree stays clean.
# usage: kbuild.sh [--kernel DEBUG_KERNEL] IMAGE SRC_DIR OUT_DIR [make args...]
# IMAGE is the image directory or a file holding its path. --kernel builds
# against the debug kernel flavour instead of the image's stock kernel:
# DEBUG_KERNEL is build-debug-kernel.sh's output directory or a file
# holding its path.
set -euo pipefail
kernel=
if [ "${1:-}" = --kernel ]; then
	kernel=$2
	shift 2
	[ -f "$kernel" ] && kernel=$(cat "$kernel")
fi
[ $# -ge 3 ] || { echo "usage: $0 [--kernel DIR] IMAGE SRC_DIR OUT_DIR [make args]" >&2; exit 2; }
image=$1
[ -f "$image" ] && image=$(cat "$image")
image=$(cd "$image" && pwd)
src=$(cd "$2" && pwd)
out=$3
shift 3
root="$image/rootfs"
. "$image/image.env"
if [ -n "$kernel" ]; then
	KVER=$(cat "$kernel/kernel.release")
	kdir="$kernel/modules/lib/modules/$KVER/build"
	[ -f "$kdir/Module.symvers" ] || {
		echo "kbuild: no debug kernel build tree in $kdir" >&2
		exit 1
	}
else
	kdir=
	chroot "$root" test -d "/lib/modules/$KVER/build" || {
		echo "kbuild: no headers for $KVER in $root" >&2
		exit 1
	}
fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Copy the sources whose content differs, stamped with the time of the
# copy: make then rebuilds what changed and only that, also when a source
# went back to older content (a newer-only copy would keep it stale).
(cd "$src" && find . -type f) | while read -r f; do
	cmp -s "$src/$f" "$out/$f" 2>/dev/null || { mkdir -p "$out/${f%/*}" && cp "$src/$f" "$out/$f"; }
done
# Objects built against another kernel (the debug kernel rebuilt with a
# new config, a new image) are cleaned first: Kbuild's dependency files
# name the old kernel's headers, which are still there and unchanged, so
# it would keep modules whose struct layouts no longer match.
id="$image $KVER $kdir"
clean=
[ "$(cat "$out/.kbuild-kernel" 2>/dev/null)" = "$id" ] || clean=1

# A private mount namespace: the bind mounts vanish with the process. The
# debug kernel's build tree appears at the chroot's /mnt.
cd /
unshare --mount --propagation private -- bash -euo pipefail -c '
	root=$1 out=$2 kver=$3 kdir=$4 clean=$5
	shift 5
	mount -t proc proc "$root/proc"
	mount --bind "$out" "$root/p2pbar/build"
	build=/lib/modules/$kver/build
	if [ -n "$kdir" ]; then
		mount --bind -o ro "$kdir" "$root/mnt"
		build=/mnt
	fi
	[ -z "$clean" ] || chroot "$root" make -s -C "$build" M=/p2pbar/build "$@" clean
	chroot "$root" make -C "$build" M=/p2pbar/build \
		KBUILD_MODPOST_WARN= W=1 "$@"
' kbuild "$root" "$out" "$KVER" "$kdir" "$clean" "$@"
echo "$id" >"$out/.kbuild-kernel"
