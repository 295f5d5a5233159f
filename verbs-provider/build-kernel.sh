#!/usr/bin/env bash
# Build rdma_rxe.ko with our dma-buf MR patch, out of tree, against exactly
# the guest kernel: extract drivers/infiniband/sw/rxe from the guest
# kernel's Debian linux-source package (cached by version), copy it to OUT,
# apply verbs-provider/kernel/*.patch there and run Kbuild in the image's
# chroot (testbed/kbuild.sh). Only our patches are in the repository.
# usage: build-kernel.sh [--kernel DEBUG_KERNEL] IMAGE OUT_DIR
# (--kernel: against the debug kernel flavour, as for testbed/kbuild.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
flavour=()
[ "${1:-}" != --kernel ] || { flavour=(--kernel "$2"); shift 2; }
[ $# -eq 2 ] || { echo "usage: $0 [--kernel DIR] IMAGE OUT_DIR" >&2; exit 2; }
image=$1 out=$2
rxe=drivers/infiniband/sw/rxe
ksrc=$("$top/testbed/kernel-source.sh" "$image" "$rxe")

# A fresh patched copy each time the patches change; Kbuild's own outputs
# live in OUT/build.
stamp=$( (cat "$here"/kernel/*.patch 2>/dev/null || true) | sha256sum | cut -c1-16)
src="$out/src"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	cp -a "$ksrc/$rxe/." "$src/"
	apply_patches "$src" 5 "$here"/kernel/*.patch || {
		echo "build-kernel: the rxe patch does not fit the rxe of $(basename "$ksrc"):" \
			"rebase it (verbs-provider/README.md)" >&2
		exit 1
	}
	# Out of tree: build the module unconditionally.
	echo 'obj-m += rdma_rxe.o' >"$src/Kbuild"
	sed '/^obj-\$(CONFIG_RDMA_RXE)/d' "$src/Makefile" >>"$src/Kbuild"
	rm -f "$src/Makefile"
	echo "$stamp" >"$src/.stamp"
fi
"$top/testbed/kbuild.sh" "${flavour[@]}" "$image" "$src" "$out/build" >&2
ls "$out/build/rdma_rxe.ko"
