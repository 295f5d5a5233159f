#!/usr/bin/env bash
# Build rdma-core's rxe provider (librxe-rdmav34.so) with our dma-buf MR
# patch, from the Debian source of exactly the guest's rdma-core, in the
# guest image's chroot (so it matches the guest's libibverbs). The
# .orig.tarball is downloaded once (sha256 from the Sources index) and
# unpacked into $P2PBAR_CACHE/rdma-core-VERSION; the patched copy and the
# CMake build live in OUT. The patch series: verbs-provider/rdma-core/*.patch
# (written for trixie's 56.1), or rdma-core/VERSION/ for VERSION and newer
# (testbed/common.sh patch_series). --outcome FILE (sid): a series that no
# longer applies or builds is recorded in FILE, not a build failure.
# usage: build-provider.sh [--outcome FILE] IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
image_build_args "$@"
P2PBAR_SUITE=$SUITE # the image's Debian suite has its source
full=$VERSION_RDMA_CORE        # e.g. 56.1-1
upver=${full%-*}               # 56.1
cache="$P2PBAR_CACHE/rdma-core-$upver"
series=$(patch_series "$here/rdma-core" "$upver")
patches=("$series"/*.patch)
# What does not fit: fail (trixie), or record it (sid).
unsupported() {
	local what="the rxe provider patch series ${series#"$top"/} $1 rdma-core $full"
	[ -n "$outcome" ] || { echo "build-provider: $what: rebase it (verbs-provider/README.md)" >&2; exit 1; }
	mkdir -p "$(dirname "$outcome")"
	outcome_unsupported "$outcome" "$what (Debian moved the guest's rdma-core past our patch): \
port it to $upver as verbs-provider/rdma-core/$upver/ (verbs-provider/README.md)"
	exit 0
}

[ -f "$cache/.unpacked" ] || echo "build-provider: fetching rdma-core $upver source" >&2
debian_source_unpack "$cache" "rdma-core=$full"

stamp=$( (echo "$series"; cat "${patches[@]}" 2>/dev/null || true) | sha256sum | cut -c1-16)
mkdir -p "$out"
out=$(cd "$out" && pwd)
src="$out/src"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$src" "$out/build"
	mkdir -p "$src"
	cp -a "$cache/." "$src/"
	apply_patches "$src" 1 "${patches[@]}" || { rm -rf "$src"; unsupported "does not apply to"; }
	echo "$stamp" >"$src/.stamp"
fi
mkdir -p "$out/build"

root="$image/rootfs"
chroot "$root" sh -c 'command -v cmake && command -v ninja' >/dev/null || {
	echo "build-provider: the image lacks cmake/ninja (testbed/build-image.sh)" >&2
	exit 1
}
# the provider's library name carries rdma-core's provider ABI version
pabi=$(sed -n 's/^set(IBVERBS_PABI_VERSION "\(.*\)")/\1/p' "$src/CMakeLists.txt")
unshare --mount --propagation private -- bash -euo pipefail -c '
	root=$1 out=$2 pabi=$3
	mount -t proc proc "$root/proc"
	mount --bind "$out" "$root/p2pbar/build"
	chroot "$root" sh -ec "
		cd /p2pbar/build/build
		[ -f build.ninja ] || cmake -Wno-dev -GNinja -DNO_PYVERBS=1 -DNO_MAN_PAGES=1 \
			-DCMAKE_BUILD_TYPE=RelWithDebInfo ../src >/dev/null
		ninja rxe-rdmav$pabi >/dev/null
	"
' build-provider "$root" "$out" "$pabi" >&2 ||
	{ [ -n "$outcome" ] && rm -f "$src/.stamp" && unsupported "does not build against"; } ||
	exit 1
[ -z "$outcome" ] || outcome_ok "$outcome"
ls "$out"/build/lib/librxe-rdmav*.so
