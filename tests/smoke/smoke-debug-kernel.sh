#!/bin/bash
# The debug flavour is what it claims: the running kernel is the debug
# build, every option of testbed/debug-kernel.config is live in it
# (/proc/config.gz), its bug finders are armed (lockdep, KASAN, kmemleak,
# DMA-API debug), and the modules of /lib/modules and $P2PBAR_KMOD are its.
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"

[ "$P2PBAR_FLAVOUR" = debug ] || die "run me with --flavour debug"
[ "$(uname -r)" = "$P2PBAR_KVER" ] || die "kernel $(uname -r), expected $P2PBAR_KVER"
zcat /proc/config.gz >/tmp/config || die "no /proc/config.gz"
# One grep for all options, not one per line: every exec costs ~0.5 s on
# the debug kernel under TCG (KASAN, lockdep, kmemleak).
grep '^CONFIG_[A-Za-z0-9_]*=' "$P2PBAR_SRC/testbed/debug-kernel.config" >/tmp/want ||
	die "no options in debug-kernel.config"
if grep -vxFf /tmp/config /tmp/want >/tmp/missing; then
	sed 's/^/not set: /' /tmp/missing
	die "the running kernel lacks options of debug-kernel.config"
fi
result "debug kernel $(uname -r): every option of debug-kernel.config is set"

grep -q 'debug_locks: *1$' /proc/lockdep_stats ||
	die "lockdep is off: $(grep debug_locks /proc/lockdep_stats)"
dmesg_has 'KernelAddressSanitizer initialized' || die "KASAN did not initialise"
[ -e /sys/kernel/debug/kmemleak ] || die "no kmemleak"
[ -e /sys/kernel/debug/dma-api/error_count ] || die "no DMA-API debug"
[ "$(cat /sys/kernel/debug/dma-api/disabled)" = N ] || die "DMA-API debug disabled itself"
result "lockdep, KASAN, kmemleak and DMA-API debug are armed"

for m in "$P2PBAR_KMOD/p2p-kmod/p2pbar.ko" \
	"$P2PBAR_KMOD/verbs-provider/kernel/build/rdma_rxe.ko" \
	"$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" \
	"$(modinfo -n rdma_rxe)"; do
	v=$(modinfo -F vermagic "$m") || die "no module $m"
	[ "${v%% *}" = "$(uname -r)" ] || die "$m is built for ${v%% *}"
done
result "our modules and /lib/modules are built for $(uname -r)"
