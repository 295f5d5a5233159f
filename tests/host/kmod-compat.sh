#!/bin/bash
# Compile p2pbar.ko and the test importer against the kernel headers of a
# Debian suite (bookworm 6.1, trixie 6.12, sid 7.x), warnings as errors.
# The suite's guest image is built or reused from the cache; if it cannot
# be built (e.g. the mirror's sid Release file has expired) the test is
# skipped (exit 77), not failed.
# usage: kmod-compat.sh SUITE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
suite=$1 out=$2
image=$(P2PBAR_SUITE=$suite "$here/testbed/build-image.sh") || {
	echo "SKIP: no $suite image (see build-image.sh errors above)"
	exit 77
}
. "$image/image.env"
rm -rf "$out"
"$here/testbed/kbuild.sh" "$image" "$here/p2p-kmod" "$out"
ls "$out/p2pbar.ko" "$out/selftest/p2pbar_selftest.ko" >/dev/null
echo "RESULT: p2pbar.ko and p2pbar_selftest.ko build against $suite $KVER"
