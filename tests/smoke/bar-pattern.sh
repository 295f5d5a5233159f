#!/bin/bash
# Host side of the BAR smoke test, run by run-in-guest around the guest:
#   pre:  write the host's pattern (seed 0x4057) into the ivshmem backing file
#   post: verify the guest's pattern (seed 0x6e57) written through the BAR
# The offsets and seeds must match tests/smoke/smoke-bar.sh.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
file=$P2PBAR_SHM0
size=$(stat -c %s "$file")
ranges=("0 65536" "$((size / 2 - 100)) 4296" "$((size - 4096)) 4096")
case $1 in
pre) op=write seed=0x4057 ;;
post) op=verify seed=0x6e57 ;;
*) echo "usage: $0 pre|post" >&2; exit 2 ;;
esac
for r in "${ranges[@]}"; do
	set -- $r
	python3 "$src/util/p2pbar_pattern.py" "$op" "$file" "$1" "$2" "$seed"
done
[ "$op" = verify ] && echo "RESULT: host read the guest's pattern from the ivshmem file ($file)"
exit 0
