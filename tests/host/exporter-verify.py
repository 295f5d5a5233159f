#!/usr/bin/env python3
"""Host side of the exporter fill test (run-in-guest --host-post).

The guest allocated a buffer, filled it through its dma-buf mmap with the
pattern of tests/exporter/p2pbar-test.c and wrote "offset length seed"
to fill.txt; check those bytes in the ivshmem backing file.
"""
import os
import struct
import sys

M = (1 << 64) - 1


def pat(seed, i):
    x = (((i + 1) * 0x9E3779B97F4A7C15) & M) ^ seed
    x ^= x >> 29
    return (x * 0xBF58476D1CE4E5B9) & M


def main():
    info = os.path.join(os.environ["P2PBAR_GUEST_DIR0"], "fill.txt")
    try:
        off, length, seed = (int(v) for v in open(info).read().split())
    except FileNotFoundError:
        sys.exit(f"exporter-verify: {info} missing (guest fill failed?)")
    with open(os.environ["P2PBAR_SHM0"], "rb") as f:
        f.seek(off)
        data = f.read(length)
    words = struct.unpack(f"<{length // 8}Q", data)
    for i, w in enumerate(words):
        if w != pat(seed, i):
            sys.exit(f"exporter-verify: mismatch at BAR offset {off + i * 8:#x}")
    print(f"RESULT: host read the guest's {length} bytes from the ivshmem "
          f"file at BAR offset {off:#x}")


if __name__ == "__main__":
    main()
