#!/bin/bash
# p2pbar buffers imported by a PCI device that really DMAs: QEMU's edu
# (run-in-guest --edu [--topology switch] [--iommu]) bound to
# p2pbar_edu.ko, which imports the way a NIC does and moves bytes with
# edu's DMA engine (tests/edu/p2pbar-edu-test.c runs the cases given as
# arguments). The host then checks the ivshmem file
# (tests/edu/edu-verify.py).
#
# What QEMU cannot model: a PCIe switch routes peer-to-peer TLPs between
# its downstream ports (unless ACS redirects them upstream); QEMU sends
# every DMA to the root's address space, through the vIOMMU when there
# is one, whatever the switch and its ACS bits say. So under a switch
# with an IOMMU the exporter hands edu the bus address (the P2PDMA map
# type BUS_ADDR: no IOMMU mapping, as a real switch never shows the TLP
# to the IOMMU), but edu's DMA to it goes through the vIOMMU here, which
# has no mapping for it: that run checks the address kind, not bytes.
# And on q35 a BAR's bus address equals its CPU physical address, so a
# CPU address handed out as a bus address cannot be caught here either.
#
# What each topology gives (the asserts follow INFO's P2PDMA cap and the
# topology the test reads from sysfs, not this list):
#   stock (no P2PDMA): edu has no P2P path to the BAR anywhere: every
#     dynamic/pinned import of a DEVICE buffer is downgraded to HOST (a
#     FIXED DEVICE buffer refuses it); edu DMAs into RAM (an IOVA with
#     an IOMMU). MIGRATE of a mapped buffer is EBUSY (no move-notify).
#   debug, sid (P2PDMA): root complex: downgraded to HOST too (no common
#     upstream bridge, q35 not on the host-bridge allowlist); switch: the
#     BAR's bus address, with or without an IOMMU; without one the bytes
#     land in the BAR (the host checks the ivshmem file); MIGRATE under a
#     running DMA invalidates, edu waits for the transfer in flight,
#     remaps, every byte arrives.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
t=$P2PBAR_BUILD/tests/edu/p2pbar-edu-test

edu=$(lspci -D -n -d 1234:11e8 | awk '{print $1}')
[ -n "$edu" ] || die "no edu device (run-in-guest --edu)"
ivshmem=$(lspci -D -n -d 1af4:1110 | awk '{print $1}')
log "topology:"
lspci -tv
for d in "$ivshmem" "$edu"; do
	g=none
	[ -e "/sys/bus/pci/devices/$d/iommu_group" ] &&
		g=$(basename "$(readlink -f "/sys/bus/pci/devices/$d/iommu_group")")
	log "$d: iommu group $g"
done
# ACS as the kernel set it (P2P redirect on where an IOMMU is in use).
# QEMU 7.2 gives its root ports ACS, its xio3130 downstream ports none.
lspci -vvv 2>/dev/null | awk '/^[0-9a-f]/ { d = $1 } /ACSCtl/ { print d ":" $0 }' || true

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_edu.ko" || die "cannot load p2pbar_edu.ko"
[ "$(basename "$(readlink -f "/sys/bus/pci/devices/$edu/driver")")" = p2pbar_edu ] ||
	die "p2pbar_edu did not bind $edu"

# One process for all cases: each keeps its buffers, so no later case
# reuses a range the host still has to check.
rm -f "$P2PBAR_RUN/edu-expect.txt"
"$t" "$(IFS=,; echo "$*")" "$node" "$P2PBAR_RUN/edu-expect.txt" || die "edu importer cases failed"
dmesg | grep p2pbar_edu | tail -n 5 || true
# (the unbind case rebinds: the device may have a new name)
dev=$(p2pbar_sysfs) || die "no p2pbar device after the cases"

rmmod p2pbar_edu || die "p2pbar_edu does not unload"
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "edu importer cases passed: $*"
