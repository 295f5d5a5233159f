#!/usr/bin/env python3
"""Host side of a perftest write over rxe loopback with --use_p2pbar
(run-in-guest --host-post): the bytes really moved.

usage: perftest-verify.py SIZE

perftest's bandwidth tests do not check data. Both ends of a loopback
run have their buffers in the one guest's BAR, each filled with its own
random bytes (our perftest patch seeds with the pid); ib_write_bw's
client writes SIZE bytes of its buffer into the server's. So the BAR, read
from the guest's ivshmem file ($P2PBAR_SHM0), must hold those SIZE bytes
twice, page-aligned at two places: a run of SIZE / 4096 pages, each
distinct and non-zero, equal to another such run. Nothing but the write
copies a random page, so a match is the written data; a longer run says
the two buffers were alike before it (both seeded alike).
"""
import collections
import hashlib
import os
import sys

PAGE = 4096


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    size = int(sys.argv[1])
    want = -(-size // PAGE)
    shm = os.environ.get("P2PBAR_SHM0")
    if not shm:
        sys.exit("perftest-verify: no guest 0 in this run (P2PBAR_SHM0 unset)")
    with open(shm, "rb") as f:
        bar = f.read()
    zero = bytes(PAGE)
    where = collections.defaultdict(list)
    for off in range(0, len(bar) - PAGE + 1, PAGE):
        page = bar[off:off + PAGE]
        if page != zero:
            where[hashlib.sha256(page).digest()].append(off)
    # a page found exactly twice: its copy's offset
    twin = {}
    for offs in where.values():
        if len(offs) == 2:
            twin[offs[0]] = offs[1]
    best = (0, None, None)
    for a, b in twin.items():
        if twin.get(a - PAGE) == b - PAGE:
            continue  # not the start of a run
        n = 1
        while twin.get(a + n * PAGE) == b + n * PAGE:
            n += 1
        best = max(best, (n, a, b))
    n, a, b = best
    if n != want:
        # more: the two ends' buffers held the same bytes before the write
        sys.exit(f"perftest-verify: not {size} bytes of random data twice in the "
                 f"BAR ({shm}): the longest copied run is {n} page(s), not {want}")
    print(f"RESULT: host found the {size} bytes ib_write_bw wrote in the guest's "
          f"ivshmem file: {n} distinct random pages at BAR offset {a:#x} "
          f"and again at {b:#x}")


if __name__ == "__main__":
    main()
