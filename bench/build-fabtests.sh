#!/usr/bin/env bash
# Build fabtests with our p2pbar memory (bench/fabtests/*.patch: -D p2pbar)
# from the libfabric source of exactly the guest's libfabric, in the guest
# image's chroot against the image's libfabric-dev. fabtests ship in
# libfabric's upstream tarball but Debian does not package them; Debian's
# own patches touch the library's build only, and its .debian tarball is
# not on every mirror, so only the .orig tarball is used. The tarball is
# downloaded once (sha256 from the Sources index) and its fabtests/
# unpacked into $P2PBAR_CACHE/fabtests-VERSION; the patched copy and its
# build live in OUT (binaries in OUT/src/benchmarks). libp2pbar is compiled
# in the chroot as a static library from lib/, as for perftest.
# usage: build-fabtests.sh IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
[ $# -eq 2 ] || { echo "usage: $0 IMAGE OUT_DIR" >&2; exit 2; }
image=$1 out=$2
[ -f "$image" ] && image=$(cat "$image")
image=$(cd "$image" && pwd)
. "$image/image.env"
full=${VERSION_LIBFABRIC1:?the image records no libfabric1 version (testbed/build-image.sh)}
cache="$P2PBAR_CACHE/fabtests-$full"

if [ ! -f "$cache/.unpacked" ]; then
	echo "build-fabtests: fetching libfabric $full source" >&2
	debian_source_unpack "$cache" "libfabric=$full" --wildcards '*/fabtests/*'
fi

root="$image/rootfs"
# shellcheck disable=SC2046
stamp=$(cat "$here"/fabtests/*.patch $(libp2pbar_files "$top") "$0" | sha256sum | cut -c1-16)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/src"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$out/tree" "$src"
	mkdir -p "$out/tree"
	cp -a "$cache/." "$out/tree/"
	apply_patches "$out/tree" 1 "$here"/fabtests/*.patch
	mv "$out/tree/fabtests" "$src"
	rm -rf "$out/tree"
	stage_libp2pbar "$top" "$out"
	echo "$stamp" >"$src/.stamp"
fi

chroot "$root" sh -c 'command -v autoreconf && command -v make && command -v cc &&
	test -e /usr/include/rdma/fi_domain.h' >/dev/null 2>&1 || {
	echo "build-fabtests: the image lacks autoconf/make/cc or libfabric-dev (testbed/build-image.sh)" >&2
	exit 1
}
chroot_build build-fabtests "$root" "$top" "$out" '
	cd /p2pbar/build/src
	if [ ! -f Makefile ]; then
		./autogen.sh >/dev/null 2>&1
		./configure -q CPPFLAGS=-I/p2pbar/build/libp2pbar/include \
			LIBS="/p2pbar/build/libp2pbar/lib/libp2pbar.a -libverbs" >/dev/null
	fi
	make -j2 benchmarks/fi_rma_bw benchmarks/fi_msg_bw benchmarks/fi_rdm_tagged_bw >/dev/null' >&2
ls "$out/src/benchmarks/fi_rma_bw"
