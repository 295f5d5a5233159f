#!/bin/bash
# Compile p2pbar.ko and the test importer against the kernel headers of a
# Debian suite (bookworm 6.1, trixie 6.12, sid 7.x), warnings as errors.
# The suite's guest image is built or reused from the cache.
# usage: kmod-compat.sh SUITE OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
suite=$1 out=$2
image=$(P2PBAR_SUITE=$suite "$here/testbed/build-image.sh")
. "$image/image.env"
rm -rf "$out"
"$here/testbed/kbuild.sh" "$image" "$here/p2p-kmod" "$out"
ls "$out/p2pbar.ko" "$out/selftest/p2pbar_selftest.ko" >/dev/null
echo "RESULT: p2pbar.ko and p2pbar_selftest.ko build against $suite $KVER"
