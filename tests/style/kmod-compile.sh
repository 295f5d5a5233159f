#!/bin/bash
# Compile the modules from scratch against one kernel's headers; any
# warning fails (-Werror, P2PBAR_WERROR=y; the test importers and the
# bench importer, bench/kmod, too).
# With "sparse" as 4th argument, also run sparse (make C=1): any sparse
# warning fails too.
# usage: kmod-compile.sh HEADERS_ROOT_OR_PATHFILE SRC_DIR OUT_DIR [sparse]
set -euo pipefail
root=$1
[ -f "$root" ] && root=$(cat "$root")
rm -rf "$3"
mkdir -p "$(dirname "$3")"
args=(P2PBAR_SELFTEST=y P2PBAR_WERROR=y)
[ "${4:-}" = sparse ] && args+=(C=1)
top=$(cd "$(dirname "$0")/../.." && pwd)
"$top/testbed/kbuild.sh" "$root" "$2" "$3" "${args[@]}" 2>&1 | tee "$3.log"
# bench/kmod's Kbuild finds the exporter's compat header beside it.
mkdir -p "$3/bench"
cp "$2/p2pbar_compat.h" "$3/bench/"
"$top/testbed/kbuild.sh" "$root" "$top/bench/kmod" "$3/bench" "${args[@]}" 2>&1 | tee -a "$3.log"
. "$root/image.env"
if grep -E "(warning|error):" "$3.log"; then
	echo "FAIL: warnings above"
	exit 1
fi
echo "RESULT: modules compile without warnings against $SUITE $KVER${4:+ (and sparse is clean)}"
