#!/usr/bin/env bash
# Build pyverbs and assemble rdma-core's python test suite from the same
# Debian source of the guest's rdma-core as the provider (fetched by
# build-provider.sh), with the same patch series (ours on pyverbs'
# dma-buf allocator among them) and p2pbar's uAPI header, in the guest
# image's chroot (~10 min on two busy cores, so it is cached in
# $P2PBAR_CACHE/pyverbs/SUITE-VERSION-HASH, HASH of the series and the
# header). OUT/suite, a copy, is what the guest runs (tests/rdma-core/rdma-core.sh):
# pyverbs/ (symlinks resolved: the build tree's point into the chroot) and
# tests/. --outcome FILE (sid): a series that no longer applies or builds
# is recorded in FILE, not a build failure.
# usage: build-pyverbs.sh [--outcome FILE] IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
image_build_args "$@"
full=$VERSION_RDMA_CORE
upver=${full%-*}
cache="$P2PBAR_CACHE/rdma-core-$upver"
series=$(patch_series "$here/rdma-core" "$upver")
patches=("$series"/*.patch)
uapi="$top/p2p-kmod/include/uapi/linux/p2pbar.h"
unsupported() {
	local what="the rdma-core patch series ${series#"$top"/} $1 rdma-core $full"
	[ -n "$outcome" ] || { echo "build-pyverbs: $what: rebase it (verbs-provider/README.md)" >&2; exit 1; }
	mkdir -p "$(dirname "$outcome")"
	outcome_unsupported "$outcome" "$what (Debian moved the guest's rdma-core past our patch): \
port it to $upver as verbs-provider/rdma-core/$upver/ (verbs-provider/README.md)"
	exit 0
}
[ -f "$cache/.unpacked" ] ||
	{ echo "build-pyverbs: no rdma-core $upver source in $cache (build-provider.sh fetches it)" >&2; exit 1; }
chroot "$image/rootfs" sh -c 'command -v cython3 && test -f /usr/include/python3*/Python.h' >/dev/null || {
	echo "build-pyverbs: the image lacks cython3/python3-dev (testbed/build-image.sh)" >&2
	exit 1
}

stamp=$( (echo "$full ${series#"$top"/}"; cat "${patches[@]}" "$uapi") | sha256sum | cut -c1-16)
mkdir -p "$out"
out=$(cd "$out" && pwd)
built="$P2PBAR_CACHE/pyverbs/$SUITE-$full-$stamp"
# the result: a copy of the cached suite (the stamp says which)
deliver() {
	if [ "$(cat "$out/suite/.stamp" 2>/dev/null)" != "$stamp" ]; then
		rm -rf "$out/suite"
		cp -a "$built/suite" "$out/suite"
	fi
	touch "$out/suite/.stamp" # up to date for make, too
	[ -z "$outcome" ] || outcome_ok "$outcome"
	echo "$out/suite"
	exit 0
}
[ ! -f "$built/suite/.stamp" ] || deliver

tmp="$built.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/src" "$tmp/build"
trap 'rm -rf "$tmp"' EXIT
cp -a "$cache/." "$tmp/src/"
apply_patches "$tmp/src" 1 "${patches[@]}" || unsupported "does not apply to"
cp "$uapi" "$tmp/src/pyverbs/p2pbar.h"

# Only pyverbs' modules (and what they link: libibverbs, librdmacm, the
# mlx5 and efa libraries the provider modules wrap) are built.
chroot_build build-pyverbs "$image/rootfs" "$top" "$tmp" '
	cd /p2pbar/build/build
	cmake -Wno-dev -GNinja -DNO_MAN_PAGES=1 -DCMAKE_BUILD_TYPE=RelWithDebInfo ../src >/dev/null
	ninja $(ninja -t targets all | sed -n "s|^\(python/pyverbs/.*\.so\):.*|\1|p") >/dev/null
	mkdir -p ../suite
	cp -rL python/pyverbs ../suite/pyverbs
	# 29 MB of debug info would be read over 9p by every test process
	find ../suite/pyverbs -name "*.so" -exec strip --strip-debug {} +
	cp -r ../src/tests ../suite/tests
' >&2 ||
	{ [ -n "$outcome" ] && unsupported "does not build against"; } ||
	exit 1
ls "$tmp"/suite/pyverbs/dmabuf*.so >/dev/null
echo "$stamp" >"$tmp/suite/.stamp"
# the build trees (150 MB) are not needed again
rm -rf "$tmp/src" "$tmp/build" "$built"
mv "$tmp" "$built"
trap - EXIT
deliver
