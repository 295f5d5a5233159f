#!/bin/bash
# `make demo` (until the two-node BAR-to-BAR demo exists): boot the testbed
# and show what it provides: the accelerator and its BAR, p2pbar bound to
# it, and a soft-RoCE device on the virtio NIC.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"

echo "== guest: $(uname -r), $(nproc) vCPUs, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB"
echo "== accelerator (QEMU ivshmem-plain, backed by a host /dev/shm file)"
lspci -nn -d 1af4:1110 -vv | grep -E 'Inter-VM|Region 2' || die "no ivshmem device"
p2pbar_load
dev=$(p2pbar_sysfs) || die "p2pbar did not bind"
echo "p2pbar: $(basename "$dev") on $(basename "$(readlink -f "$dev/device")"), BAR $(cat "$dev/bar"), $(($(cat "$dev/bar_size") >> 20)) MiB"
echo "== RDMA: soft-RoCE on eth0 ($NODE_IP)"
rxe_up
rdma link show
ibv_devinfo -d rxe0 | grep -E 'hca_id|transport|state|active_mtu|link_layer'
echo "== demo done"
