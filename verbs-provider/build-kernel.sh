#!/usr/bin/env bash
# Build rdma_rxe.ko with our dma-buf MR patch, out of tree, against exactly
# the guest kernel: extract drivers/infiniband/sw/rxe from the guest
# kernel's Debian linux-source package (cached by version), copy it to OUT,
# apply our patch series for that kernel there (verbs-provider/kernel/*.patch
# for trixie's 6.12, kernel/X.Y/ for X.Y and newer: testbed/common.sh
# patch_series) and run Kbuild in the image's chroot (testbed/kbuild.sh).
# Only our patches are in the repository.
# usage: build-kernel.sh [--kernel DEBUG_KERNEL] [--outcome FILE] IMAGE OUT_DIR
# (--kernel: against the debug kernel flavour, as for testbed/kbuild.sh;
# --outcome: for sid, which moves: a series that no longer applies or
# builds is recorded in FILE, not a build failure; see testbed/common.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/testbed/common.sh"
flavour=() outcome=
[ "${1:-}" != --kernel ] || { flavour=(--kernel "$2"); shift 2; }
[ "${1:-}" != --outcome ] || { outcome=$2; shift 2; }
[ $# -eq 2 ] || { echo "usage: $0 [--kernel DIR] [--outcome FILE] IMAGE OUT_DIR" >&2; exit 2; }
image=$1 out=$2
rxe=drivers/infiniband/sw/rxe
ksrc=$("$top/testbed/kernel-source.sh" "$image" "$rxe")
[ -f "$image" ] && image=$(cat "$image")
kver=$(sed -n 's/^KVER=//p' "$image/image.env")
series=$(patch_series "$here/kernel" "$kver")
patches=("$series"/*.patch)
# What does not fit: fail (trixie), or record it (sid).
unsupported() {
	local what="the rxe patch series ${series#"$top"/} $1 the rxe of $(basename "$ksrc")"
	[ -n "$outcome" ] || {
		echo "build-kernel: $what: rebase it (verbs-provider/README.md)" >&2
		exit 1
	}
	mkdir -p "$(dirname "$outcome")"
	local xy todo
	xy=$(echo "$kver" | cut -d. -f1,2)
	todo="port it to $xy as verbs-provider/kernel/$xy/"
	[ "$(basename "$series")" != "$xy" ] || todo="rebase verbs-provider/kernel/$xy/ onto it"
	outcome_unsupported "$outcome" "$what (Debian moved the guest kernel past our patch): $todo \
(verbs-provider/README.md)"
	rm -f "$out/build/rdma_rxe.ko"
	exit 0
}

# A fresh patched copy each time the patches change; Kbuild's own outputs
# live in OUT/build.
stamp=$( (echo "$series"; cat "${patches[@]}" 2>/dev/null || true) | sha256sum | cut -c1-16)
src="$out/src"
if [ "$(cat "$src/.stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	cp -a "$ksrc/$rxe/." "$src/"
	# one by one, so the note names the patch that stopped applying
	for p in "${patches[@]}"; do
		apply_patches "$src" 5 "$p" || unsupported "(at $(basename "$p")) does not apply to"
	done
	# Out of tree: build the module unconditionally.
	echo 'obj-m += rdma_rxe.o' >"$src/Kbuild"
	sed '/^obj-\$(CONFIG_RDMA_RXE)/d' "$src/Makefile" >>"$src/Kbuild"
	rm -f "$src/Makefile"
	echo "$stamp" >"$src/.stamp"
fi
"$top/testbed/kbuild.sh" "${flavour[@]}" "$image" "$src" "$out/build" >&2 ||
	{ [ -n "$outcome" ] && rm -f "$src/.stamp" && unsupported "does not build against"; } ||
	exit 1
[ -z "$outcome" ] || outcome_ok "$outcome"
ls "$out/build/rdma_rxe.ko"
