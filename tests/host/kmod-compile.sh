#!/bin/bash
# Compile the modules from scratch against one kernel's headers; any
# warning fails (the Kbuild file sets -Werror).
# usage: kmod-compile.sh HEADERS_ROOT_OR_PATHFILE SRC_DIR OUT_DIR
set -euo pipefail
root=$1
[ -f "$root" ] && root=$(cat "$root")
rm -rf "$3"
"$(dirname "$0")/../../testbed/kbuild.sh" "$root" "$2" "$3"
. "$root/image.env"
echo "RESULT: modules compile without warnings against $SUITE $KVER"
