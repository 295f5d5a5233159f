#!/usr/bin/env bash
# Build the engine examples (fi-bar-to-bar, uct-bar-to-bar) in the guest
# image's chroot: they need libfabric >= 1.20 and UCX >= 1.14, which the
# guest (trixie: 2.1.0, 1.18.1) has and the build host (bookworm: 1.17,
# 1.13) does not. libp2pbar and rdma-util are compiled in from their
# sources with the same warnings as the host build.
# usage: build-engines.sh IMAGE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
[ $# -eq 2 ] || { echo "usage: $0 IMAGE OUT_DIR" >&2; exit 2; }
image=$1 out=$2
[ -f "$image" ] && image=$(cat "$image")
root="$image/rootfs"
mkdir -p "$out/include/p2pbar"
out=$(cd "$out" && pwd)
# <p2pbar.h> includes the uAPI as installed: <p2pbar/uapi.h>
cp "$top/p2p-kmod/include/uapi/linux/p2pbar.h" "$out/include/p2pbar/uapi.h"
chroot "$root" sh -c 'test -e /usr/include/rdma/fi_domain.h && test -e /usr/include/uct/api/uct.h' || {
	echo "build-engines: the image lacks libfabric-dev or libucx-dev (testbed/build-image.sh)" >&2
	exit 1
}
unshare --mount --propagation private -- bash -euo pipefail -c '
	root=$1 top=$2 out=$3
	mount --bind "$top" "$root/p2pbar/src"
	mount --bind "$out" "$root/p2pbar/build"
	chroot "$root" sh -ec "
		cd /p2pbar/src
		cflags=\"-O2 -g -std=gnu11 -Wall -Wextra -Werror -Ilib/include -I/p2pbar/build/include -Iutil\"
		common=\"lib/p2pbar.c lib/p2pbar_error.c lib/p2pbar_verbs.c util/rdma-util.c\"
		cc \$cflags -o /p2pbar/build/fi-bar-to-bar examples/fi-bar-to-bar.c \$common -lfabric -libverbs
		cc \$cflags -o /p2pbar/build/uct-bar-to-bar examples/uct-bar-to-bar.c \$common -luct -lucs -libverbs
	"
' build-engines "$root" "$top" "$out"
