#!/usr/bin/env python3
"""Write or verify a deterministic byte pattern in a file or device.

usage: pattern.py write|verify PATH OFFSET LENGTH SEED

Used on both sides of the testbed: the host on the ivshmem backing file,
the guest on /dev/p2pbarN, so each can check what the other wrote.
"""
import hashlib
import os
import sys


def pattern(seed, offset, length):
    # 32-byte blocks keyed by their absolute position: any misplaced or
    # stale block fails the check.
    first = offset // 32
    out = bytearray()
    block = first
    while len(out) < (offset - first * 32) + length:
        out += hashlib.sha256(f"{seed}:{block}".encode()).digest()
        block += 1
    start = offset - first * 32
    return bytes(out[start:start + length])


def main():
    if len(sys.argv) != 6 or sys.argv[1] not in ("write", "verify"):
        sys.exit(__doc__.strip().splitlines()[2])
    op, path, off, length, seed = sys.argv[1:]
    off, length = int(off, 0), int(length, 0)
    want = pattern(seed, off, length)
    fd = os.open(path, os.O_RDWR if op == "write" else os.O_RDONLY)
    try:
        if op == "write":
            if os.pwrite(fd, want, off) != length:
                sys.exit(f"pattern: short write to {path} at {off}")
            return
        got = b""
        while len(got) < length:
            chunk = os.pread(fd, length - len(got), off + len(got))
            if not chunk:
                break
            got += chunk
    finally:
        os.close(fd)
    if got != want:
        bad = next((i for i in range(min(len(got), length)) if got[i] != want[i]),
                   len(got))
        sys.exit(f"pattern: {path}: mismatch at offset {off + bad} "
                 f"(read {len(got)} of {length} bytes, seed {seed})")
    print(f"pattern: {path}: {length} bytes at {off} verified (seed {seed})")


if __name__ == "__main__":
    main()
