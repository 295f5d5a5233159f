#!/bin/bash
# Host side of the BAR smoke test, run by run-in-guest around the guest:
#   pre:  write the "host" pattern into the ivshmem backing file
#   post: verify the "guest" pattern the guest wrote through the BAR
# The offsets must match tests/vm/smoke-bar.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
file=$P2PBAR_SHM0
size=$(stat -c %s "$file")
ranges=("0 65536" "$((size / 2 - 100)) 4296" "$((size - 4096)) 4096")
case $1 in
pre) op=write seed=host ;;
post) op=verify seed=guest ;;
*) echo "usage: $0 pre|post" >&2; exit 2 ;;
esac
for r in "${ranges[@]}"; do
	set -- $r
	python3 "$here/pattern.py" "$op" "$file" "$1" "$2" "$seed"
done
[ "$op" = verify ] && echo "RESULT: host read the guest's pattern from the ivshmem file ($file)"
exit 0
