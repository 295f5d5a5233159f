#!/usr/bin/env python3
"""Host side of the edu importer tests (run-in-guest --host-post): the
bytes edu DMA'd must be where the buffer's placement said.

The guest (tests/edu/p2pbar-edu-test.c) wrote edu-expect.txt in its run
directory, one line per range it DMA'd:
  present BAR_OFFSET LENGTH SEED   a DEVICE buffer: the pattern is in the
                                   ivshmem file at BAR_OFFSET
  absent LENGTH SEED               a HOST buffer: the pattern is nowhere
                                   in the ivshmem file
The pattern is util/p2pbar_pattern.h's, counted from the range's start.
An empty file is fine: every import was refused (the guest said why).
"""
import mmap
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../util"))
import p2pbar_pattern  # noqa: E402


def main():
    guest = os.environ["P2PBAR_GUEST_DIR0"]
    shm = os.environ["P2PBAR_SHM0"]
    path = os.path.join(guest, "edu-expect.txt")
    if not os.path.exists(path):
        sys.exit(f"edu-verify: {path} missing (the guest test did not start?)")
    lines = [l.split() for l in open(path) if l.strip()]
    present = absent = 0
    with open(shm, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as m:
        for l in lines:
            if l[0] == "present":
                off, length, seed = (int(v) for v in l[1:])
                want = p2pbar_pattern.data(seed, length)
                got = m[off:off + length]
                if got != want:
                    bad = next(i for i in range(length) if i >= len(got) or got[i] != want[i])
                    sys.exit(f"edu-verify: seed {seed:#x}: {length} bytes at BAR offset "
                             f"{off:#x}: mismatch at {off + bad:#x}")
                present += 1
            elif l[0] == "absent":
                length, seed = (int(v) for v in l[1:])
                probe = p2pbar_pattern.data(seed, min(length, 64))
                at = m.find(probe)
                if at >= 0:
                    sys.exit(f"edu-verify: seed {seed:#x} of a HOST buffer found in the "
                             f"ivshmem file at {at:#x}")
                absent += 1
            else:
                sys.exit(f"edu-verify: bad line {' '.join(l)!r} in {path}")
    print(f"RESULT: host: {present} range(s) DMA'd into DEVICE buffers are in the ivshmem "
          f"file at their BAR offsets, {absent} range(s) of HOST buffers are not in it")


if __name__ == "__main__":
    main()
