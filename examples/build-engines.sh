#!/usr/bin/env bash
# Build the engine examples (fi-bar-to-bar, uct-bar-to-bar) in the guest
# image's chroot: they need libfabric >= 1.20 and UCX >= 1.14, which the
# guest (trixie: 2.1.0, 1.18.1) has and the build host (bookworm: 1.17,
# 1.13) does not. libp2pbar (static, testbed/common.sh chroot_build) and
# rdma-util are compiled in from their sources with the host build's
# warnings.
# usage: build-engines.sh IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
[ $# -eq 2 ] || { echo "usage: $0 IMAGE OUT_DIR" >&2; exit 2; }
image=$1 out=$2
[ -f "$image" ] && image=$(cat "$image")
root="$image/rootfs"
mkdir -p "$out"
out=$(cd "$out" && pwd)
# <libp2pbar.h> includes the uAPI as installed: <p2pbar/uapi.h>
stage_libp2pbar "$top" "$out"
chroot "$root" sh -c 'test -e /usr/include/rdma/fi_domain.h && test -e /usr/include/uct/api/uct.h' || {
	echo "build-engines: the image lacks libfabric-dev or libucx-dev (testbed/build-image.sh)" >&2
	exit 1
}
chroot_build build-engines "$root" "$top" "$out" '
	cd /p2pbar/src
	cflags="-O2 -g -std=gnu11 -Wall -Wextra -Werror -I/p2pbar/build/libp2pbar/include -Iutil"
	common="util/rdma-util.c /p2pbar/build/libp2pbar/lib/libp2pbar.a"
	cc $cflags -o /p2pbar/build/fi-bar-to-bar examples/fi-bar-to-bar.c $common -lfabric -libverbs
	cc $cflags -o /p2pbar/build/uct-bar-to-bar examples/uct-bar-to-bar.c $common -luct -lucs -libverbs'
