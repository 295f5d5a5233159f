#!/bin/bash
# Kernel code follows kernel coding style: checkpatch.pl --strict from the
# guest kernel's own source package.
# usage: checkpatch.sh IMAGE
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
ksrc=$("$src/testbed/kernel-source.sh" "$1")
cd "$src"
files=$(git ls-files 'p2p-kmod/*.[ch]' 'bench/kmod/*.[ch]')
run_checkpatch() { perl "$ksrc/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types "$@"; }
rc=0
run_checkpatch -f $(echo "$files" | grep -v p2pbar_compat.h) || rc=1
# The compat header is the one place that tests kernel versions.
run_checkpatch --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f p2p-kmod/p2pbar_compat.h || rc=1
# Our patches on upstream kernel code (verbs-provider/kernel). The
# Signed-off-by is added by the person who submits them. Absolute paths:
# checkpatch misreads a relative "dir/x.patch" in this tree as a file.
patches=$(git ls-files 'verbs-provider/kernel/*.patch')
[ -z "$patches" ] || run_checkpatch --ignore MISSING_SIGN_OFF $(printf "$src/%s " $patches) || rc=1
[ $rc -eq 0 ] || { echo "FAIL: checkpatch found problems"; exit 1; }
echo "RESULT: checkpatch --strict is clean on $(echo "$files" | wc -l) kernel source files and $(echo "$patches" | grep -c .) kernel patches"
