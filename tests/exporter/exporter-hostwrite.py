#!/usr/bin/env python3
"""Host side of the exporter hostwrite case (run-in-guest --host-while).

Waits for the guest to publish its buffer ("offset length seed" in
hostwrite.txt), writes the pattern of util/p2pbar_pattern.h into the
ivshmem backing file at that BAR offset, then tells the guest to check.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../util"))
import p2pbar_pattern  # noqa: E402


def main():
    gdir = os.environ["P2PBAR_GUEST_DIR0"]
    info = os.path.join(gdir, "hostwrite.txt")
    deadline = time.monotonic() + 300
    while not os.path.exists(info):
        if time.monotonic() > deadline:
            sys.exit("exporter-hostwrite: the guest never published its buffer")
        time.sleep(0.2)
    off, length, seed = (int(v) for v in open(info).read().split())
    data = p2pbar_pattern.data(seed, length)
    with open(os.environ["P2PBAR_SHM0"], "r+b") as f:
        f.seek(off)
        f.write(data)
    open(os.path.join(gdir, "hostwrite.done"), "w").close()
    print(f"exporter-hostwrite: wrote {length} bytes at BAR offset {off:#x}")


if __name__ == "__main__":
    main()
