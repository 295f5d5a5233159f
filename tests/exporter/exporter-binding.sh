#!/bin/bash
# Binding: p2pbar takes other PCI functions through driver_override, the
# BAR is configurable, and a device without a usable BAR is refused with a
# clear message. QEMU adds an "edu" device: BAR0 is 1 MiB of
# non-prefetchable memory (registers).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
export PATH=$P2PBAR_BUILD/tools:$PATH

edu=$(lspci -D -n -d 1234:11e8 | awk '{print $1}')
[ -n "$edu" ] || die "no edu device (QEMU -device edu)"
ivshmem=$(lspci -D -n -d 1af4:1110 | awk '{print $1}')

bind_edu() {
	echo p2pbar >"/sys/bus/pci/devices/$edu/driver_override"
	echo "$edu" >/sys/bus/pci/drivers_probe 2>/dev/null || true
}

# Default BAR choice: edu has no prefetchable BAR, so probe must fail.
p2pbar_load
bind_edu
[ ! -e "/sys/bus/pci/devices/$edu/driver" ] || die "p2pbar bound edu without a prefetchable BAR"
dmesg_has "$edu: no prefetchable memory BAR to export" || die "no clear message for edu"
[ "$(p2pbar list | wc -l)" = 1 ] || die "expected only the ivshmem device"
result "a device without a prefetchable BAR is refused: $(dmesg | grep "$edu: no prefetchable" | tail -n1 | cut -d']' -f2)"
rmmod p2pbar

# bar=0: edu's BAR0 (1 MiB) is exported; ivshmem's BAR0 (256 registers)
# is smaller than a page and is refused.
p2pbar_load bar=0
bind_edu
[ "$(basename "$(readlink -f "/sys/bus/pci/devices/$edu/driver")")" = p2pbar ] ||
	die "driver_override did not bind edu to p2pbar"
dmesg_has "$ivshmem: BAR 0 is smaller than a page" || die "ivshmem BAR0 not refused"
p2pbar info "$edu" | tee /tmp/info
grep -q "^bar_size *1048576$" /tmp/info || die "edu BAR0 is 1 MiB"
grep -q "^bar  *0$" /tmp/info || die "edu: wrong BAR index"
# edu's BAR0 holds registers (DMA, interrupts), not memory: allocate only,
# no pattern: writing one would program its DMA engine.
p2pbar alloc -d "$edu" 64K --hold 5 >/tmp/held &
holder=$!
wait_for 10 grep -q "^buffer" /tmp/held || die "alloc on edu failed"
p2pbar stats "$edu" | grep -q "used 65536 buffers 1" || die "edu: wrong stats"
# edu's BAR0 is not prefetchable (registers): its kernel mapping and
# mmaps are uncached, never write-combined; ivshmem's BAR2 is WC.
pat=/sys/kernel/debug/x86/pat_memtype_list
[ -r "$pat" ] || die "no $pat: cannot tell the BAR mappings' memory types"
edu0=$(printf '%016x' "$(awk '{print $1; exit}' "/sys/bus/pci/devices/$edu/resource")")
grep -i "$edu0" "$pat" | tee /tmp/edu-pat
grep -q "uncached-minus" /tmp/edu-pat || die "edu BAR0 (non-prefetchable) is not mapped uncached"
! grep -q "write-combining" /tmp/edu-pat || die "edu BAR0 (non-prefetchable) is mapped write-combined"
wait "$holder" || die "alloc on edu failed"
result "driver_override binds edu; bar=0 exports its 1 MiB BAR0 (mapped uncached: not prefetchable) and buffers are carved from it"
echo "$edu" >"/sys/bus/pci/devices/$edu/driver/unbind"
rmmod p2pbar
