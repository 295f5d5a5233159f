#!/usr/bin/env python3
"""The test data pattern (the Python twin of p2pbar_pattern.h), and a
tool that writes or verifies it in a file or device:
  p2pbar_pattern.py write|verify PATH OFFSET LENGTH SEED
The host uses it on the ivshmem file, the guest on /dev/p2pbarN.

Word n of a range filled with SEED is word(SEED, n), stored
little-endian; n counts 8-byte words from the start of the range.
"""
import struct

_M = (1 << 64) - 1


def word(seed, n):
    x = (((n + 1) * 0x9E3779B97F4A7C15) & _M) ^ seed
    x ^= x >> 29
    return (x * 0xBF58476D1CE4E5B9) & _M


def data(seed, length):
    """The first LENGTH bytes of a range filled with SEED."""
    words = (length + 7) // 8
    return struct.pack(f"<{words}Q", *(word(seed, n) for n in range(words)))[:length]


def mismatch(seed, got):
    """The offset of the first byte of GOT that differs, or None."""
    want = data(seed, len(got))
    if got == want:
        return None
    return next(i for i in range(len(got)) if got[i] != want[i])


def main():
    import os
    import sys

    usage = "usage: p2pbar_pattern.py write|verify PATH OFFSET LENGTH SEED"
    if len(sys.argv) != 6 or sys.argv[1] not in ("write", "verify"):
        sys.exit(usage)
    op, path = sys.argv[1:3]
    off, length, seed = (int(v, 0) for v in sys.argv[3:])
    fd = os.open(path, os.O_RDWR if op == "write" else os.O_RDONLY)
    try:
        if op == "write":
            if os.pwrite(fd, data(seed, length), off) != length:
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
    bad = mismatch(seed, got)
    if bad is not None or len(got) != length:
        sys.exit(f"pattern: {path}: mismatch at offset {off + (bad or len(got))} "
                 f"(read {len(got)} of {length} bytes, seed {seed:#x})")
    print(f"pattern: {path}: {length} bytes at {off} verified (seed {seed:#x})")


if __name__ == "__main__":
    main()
