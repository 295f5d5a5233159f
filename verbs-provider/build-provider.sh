#!/usr/bin/env bash
# Build rdma-core's rxe provider (librxe-rdmav34.so) with our dma-buf MR
# patch, from the Debian source of exactly the guest's rdma-core, in the
# guest image's chroot (so it matches the guest's libibverbs). The
# .orig.tarball is downloaded once (sha256 from the Sources index) and
# unpacked into $P2PBAR_CACHE/rdma-core-VERSION; the patched copy and the
# CMake build live in OUT.
# usage: build-provider.sh IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
[ $# -eq 2 ] || { echo "usage: $0 IMAGE OUT_DIR" >&2; exit 2; }
image=$1 out=$2
[ -f "$image" ] && image=$(cat "$image")
image=$(cd "$image" && pwd)
. "$image/image.env"
full=$VERSION_RDMA_CORE        # e.g. 56.1-1
upver=${full%-*}               # 56.1
cache="$P2PBAR_CACHE/rdma-core-$upver"

if [ ! -f "$cache/.unpacked" ]; then
	echo "build-provider: fetching rdma-core $upver source" >&2
	guest_apt_setup
	guest_apt apt-get update -qq >/dev/null
	mkdir -p "$cache.tmp"
	orig=$(debian_source_file "rdma-core=$full" .orig.tar "$cache.tmp")
	tar -xf "$orig" -C "$cache.tmp" --strip-components=1
	rm -f "$orig"
	touch "$cache.tmp/.unpacked"
	rm -rf "$cache"
	mv "$cache.tmp" "$cache"
fi

stamp=$( (cat "$here"/rdma-core/*.patch 2>/dev/null || true) | sha256sum | cut -c1-16)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/src"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$src" "$out/build"
	mkdir -p "$src"
	cp -a "$cache/." "$src/"
	apply_patches "$src" 1 "$here"/rdma-core/*.patch
	echo "$stamp" >"$src/.stamp"
fi
mkdir -p "$out/build"

root="$image/rootfs"
chroot "$root" sh -c 'command -v cmake && command -v ninja' >/dev/null || {
	echo "build-provider: the image lacks cmake/ninja (testbed/build-image.sh)" >&2
	exit 1
}
unshare --mount --propagation private -- bash -euo pipefail -c '
	root=$1 out=$2
	mount -t proc proc "$root/proc"
	mount --bind "$out" "$root/p2pbar/build"
	chroot "$root" sh -ec "
		cd /p2pbar/build/build
		[ -f build.ninja ] || cmake -Wno-dev -GNinja -DNO_PYVERBS=1 -DNO_MAN_PAGES=1 \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo ../src >/dev/null
		ninja rxe-rdmav34 >/dev/null
	"
' build-provider "$root" "$out" >&2
ls "$out/build/lib/librxe-rdmav34.so"
