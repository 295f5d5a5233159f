#!/bin/bash
# The exporter fuzzer (tests/fuzz/p2pbar-fuzz.c) in one guest, one run per
# argument CASE:SECONDS (faults: CASE:MAX_SITES):
#   root:S   as root, with RESET; S/2 s of random calls, S/2 s of races
#   user:S   as p2ptest, an unprivileged member of group p2pbar (the node
#            chgrp'd as the udev rule does; tests/exporter/isolation.sh runs the
#            rule itself), the foreign dma-bufs' devices passed as fds
#   faults:N as root: failslab, fail_page_alloc and fail_usercopy aimed at
#            p2pbar.ko (require-start/end: its memory in /proc/modules),
#            the first N allocation/copy sites of each path failed in turn
#            (the debug kernel's CONFIG_FAULT_INJECTION; fails without it)
#   importers:N as root: the same aimed at every module's text, on the
#            importers' map paths (p2pbar_selftest.ko's map, and
#            p2pbar_edu.ko's imports when the boot has an edu device,
#            run-in-guest --edu) and on the revoke and drain of an unbind
#            (tests/fuzz/p2pbar-importer-faults.c), N sites each at most
# P2PBAR_FUZZ_SEED fixes the seeds (default: random, printed).
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
t=$P2PBAR_BUILD/tests/fuzz/p2pbar-fuzz
imp=$P2PBAR_BUILD/tests/fuzz/p2pbar-importer-faults
seed=${P2PBAR_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

p2pbar_load
dev=$(p2pbar_sysfs) || die "no p2pbar device after loading the module"
node=/dev/$(basename "$dev")
# foreign dma-buf exporters (modules on stock, built in on debug)
modprobe vgem 2>/dev/null || true
modprobe udmabuf 2>/dev/null || true
vgem=
for c in /sys/class/drm/card*; do
	[ -e "$c/device" ] && readlink "$c/device" | grep -q vgem && vgem=/dev/dri/$(basename "$c")
done

faults_setup() {
	local span
	span=$(module_span p2pbar)
	# shellcheck disable=SC2086 # START END
	fault_aim $span
	log "fault injection aimed at p2pbar.ko: $span"
}

n=0
for arg in "$@"; do
	c=${arg%%:*} v=${arg#*:}
	s=$((seed + n))
	n=$((n + 1))
	log "case $c ($v), seed $s"
	case $c in
	root)
		"$t" --seed "$s" --seconds $((v / 2)) --race-seconds $((v / 2)) --reset "$node" ||
			die "case root, seed $s"
		;;
	user)
		getent group p2pbar >/dev/null || groupadd --system p2pbar
		id p2ptest >/dev/null 2>&1 ||
			useradd --no-create-home --shell /bin/sh --groups p2pbar p2ptest
		chgrp p2pbar "$node" && chmod 0660 "$node"
		exec 7<>/dev/udmabuf || die "cannot open /dev/udmabuf"
		if [ -n "$vgem" ]; then exec 8<>"$vgem"; else exec 8</dev/null; fi
		setpriv --reuid=p2ptest --regid=p2ptest --init-groups \
			"$t" --seed "$s" --seconds $((v / 2)) --race-seconds $((v / 2)) \
			--udmabuf-fd 7 --vgem-fd 8 "$node" || die "case user, seed $s"
		exec 7>&- 8>&-
		;;
	faults)
		faults_setup
		"$t" --faults --ops "$v" --reset "$node" || die "case faults"
		;;
	importers)
		[ -e /sys/kernel/debug/p2pbar_selftest ] ||
			insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_selftest.ko" ||
			die "cannot load p2pbar_selftest.ko"
		edu=$(lspci -D -n -d 1234:11e8 | awk '{print $1}')
		if [ -n "$edu" ] && [ ! -e /sys/bus/pci/drivers/p2pbar_edu ]; then
			insmod "$P2PBAR_KMOD/p2p-kmod/selftest/p2pbar_edu.ko" ||
				die "cannot load p2pbar_edu.ko"
		fi
		span=$(module_span "*")
		# shellcheck disable=SC2086 # START END
		fault_aim $span
		log "fault injection aimed at every module: $span"
		"$imp" selftest "$node" "$v" || die "case importers: selftest"
		if [ -n "$edu" ]; then
			"$imp" edu "$node" "$v" || die "case importers: edu"
		else
			log "no edu device in this boot: its imports not run"
		fi
		pci=$(basename "$(readlink -f "$dev/device")")
		"$imp" unbind "$node" "$pci" "$v" || die "case importers: unbind"
		dev=$(p2pbar_sysfs) || die "no p2pbar device after the unbinds"
		node=/dev/$(basename "$dev")
		[ -z "$edu" ] || rmmod p2pbar_edu || die "p2pbar_edu does not unload"
		rmmod p2pbar_selftest || die "p2pbar_selftest does not unload"
		;;
	*) die "unknown case $arg" ;;
	esac
	if dmesg | kernel_complaints; then die "the kernel complained during case $c"; fi
done
p2pbar_idle "$dev"
rmmod p2pbar || die "p2pbar does not unload"
result "p2pbar-fuzz: $* (seed $seed): every invariant held, p2pbar unloads"
