#!/bin/bash
# Compile p2pbar.ko and the test importer against the kernel headers of a
# Debian suite (bookworm 6.1, trixie 6.12, sid 7.x), warnings as errors,
# with that suite's gcc. Uses the suite's guest image if it can be built
# or reused; otherwise a headers-only rootfs (cached, keyed by the
# headers' version, built with Check-Valid-Until off because the mirror's
# sid Release file may have expired). Skips (77) if neither can be had.
# usage: kmod-compat.sh SUITE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
suite=$1 out=$2
export P2PBAR_SUITE=$suite
. "$here/testbed/common.sh"

headers_root() {
	local ver dir
	guest_apt_setup && guest_apt apt-get update -qq >/dev/null 2>&1 || return 1
	ver=$(guest_apt apt-cache show --no-all-versions linux-headers-amd64 |
		awk '/^Version:/ { print $2 }')
	[ -n "$ver" ] || return 1
	dir=$P2PBAR_CACHE/kheaders/$suite-$ver
	if [ ! -e "$dir/ready" ]; then
		rm -rf "$dir"
		mkdir -p "$dir"
		mmdebstrap --variant=apt --mode=root --quiet \
			--aptopt='Acquire::Check-Valid-Until "false"' \
			--include=linux-headers-amd64,gcc,make,libc6-dev \
			--dpkgopt='path-exclude=/usr/share/man/*' \
			--dpkgopt='path-exclude=/usr/share/doc/*' \
			--dpkgopt='path-exclude=/usr/share/locale/*' \
			--customize-hook='mkdir -p "$1/p2pbar/build"' \
			"$suite" "$dir/rootfs" "$(debian_mirror)" >&2 || return 1
		echo "KVER=$(ls "$dir/rootfs/lib/modules" | sort -V | tail -n1)" >"$dir/image.env"
		touch "$dir/ready"
	fi
	echo "$dir"
}

if ! image=$("$here/testbed/build-image.sh" 2>/dev/null); then
	echo "kmod-compat: no $suite guest image; using a headers-only rootfs"
	image=$(headers_root) || {
		echo "SKIP: cannot get $suite kernel headers"
		exit 77
	}
fi
. "$image/image.env"
rm -rf "$out"
"$here/testbed/kbuild.sh" "$image" "$here/p2p-kmod" "$out"
ls "$out/p2pbar.ko" "$out/selftest/p2pbar_selftest.ko" >/dev/null
echo "RESULT: p2pbar.ko and p2pbar_selftest.ko build against $suite $KVER"
