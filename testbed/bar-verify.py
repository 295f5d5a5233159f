#!/usr/bin/env python3
"""Host side of the tests that leave a pattern in a guest's BAR
(run-in-guest --host-post).

usage: exporter-verify.py [NODE[:FILE]...]   (default: node 0, fill.txt)

Each guest NODE wrote its buffer with the pattern of
util/p2pbar_pattern.h (through its dma-buf mmap, or by RDMA) and "offset length seed" to FILE (default fill.txt) in
its run directory; check those bytes in its ivshmem backing file
($P2PBAR_SHM<NODE>).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../util"))
import p2pbar_pattern  # noqa: E402


def verify(node, name="fill.txt"):
    try:
        info = os.path.join(os.environ[f"P2PBAR_GUEST_DIR{node}"], name)
        shm = os.environ[f"P2PBAR_SHM{node}"]
    except KeyError as e:
        sys.exit(f"exporter-verify: no guest {node} in this run ({e} unset)")
    try:
        off, length, seed = (int(v) for v in open(info).read().split())
    except FileNotFoundError:
        sys.exit(f"exporter-verify: {info} missing (guest {node}'s fill failed?)")
    with open(shm, "rb") as f:
        f.seek(off)
        data = f.read(length)
    if len(data) != length or length < 8:
        sys.exit(f"exporter-verify: node {node}: {length} bytes at {off:#x} "
                 f"not in the {shm} file")
    bad = p2pbar_pattern.mismatch(seed, data)
    if bad is not None:
        sys.exit(f"exporter-verify: node {node}: mismatch at BAR offset "
                 f"{off + bad:#x}")
    print(f"RESULT: host read guest {node}'s {length} bytes from its ivshmem "
          f"file at BAR offset {off:#x}"
          + ("" if name == "fill.txt" else f" ({name})"))


def main():
    for arg in sys.argv[1:] or ["0"]:
        node, _, name = arg.partition(":")
        verify(int(node), name or "fill.txt")


if __name__ == "__main__":
    main()
