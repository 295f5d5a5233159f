#!/usr/bin/env bash
# Build an out-of-tree kernel module with Kbuild against the headers of
# exactly the guest kernel, inside a chroot of the guest image's rootfs (its
# gcc and its kernel's build scripts). The sources are copied to OUT_DIR so
# the source tree stays clean.
# usage: kbuild.sh IMAGE SRC_DIR OUT_DIR [make args...]
# IMAGE is the image directory or a file holding its path.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 IMAGE SRC_DIR OUT_DIR [make args]" >&2; exit 2; }
image=$1
[ -f "$image" ] && image=$(cat "$image")
image=$(cd "$image" && pwd)
src=$(cd "$2" && pwd)
out=$3
shift 3
root="$image/rootfs"
. "$image/image.env"
# build is often an absolute symlink: resolve it inside the rootfs.
build=$root/lib/modules/$KVER/build
[ -L "$build" ] && case $(readlink "$build") in /*) build=$root$(readlink "$build") ;; esac
[ -d "$build" ] || {
	echo "kbuild: no headers for $KVER in $root" >&2
	exit 1
}
mkdir -p "$out"
out=$(cd "$out" && pwd)
# Copy only changed sources so make's timestamps stay meaningful.
cp -a -u "$src/." "$out/"

# A private mount namespace: the bind mounts vanish with the process.
exec unshare --mount --propagation private -- bash -euo pipefail -c '
	root=$1 out=$2 kver=$3
	shift 3
	mount -t proc proc "$root/proc"
	mount --bind "$out" "$root/p2pbar/build"
	chroot "$root" make -C "/lib/modules/$kver/build" M=/p2pbar/build \
		KBUILD_MODPOST_WARN= W=1 "$@"
' kbuild "$root" "$out" "$KVER" "$@"
