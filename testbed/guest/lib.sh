# Helpers for test scripts that run inside a testbed guest (sourced).
# The runner exports NODE_ID, NODE_COUNT, NODE_IP, PEER_IP, P2PBAR_BAR_SIZE,
# P2PBAR_SRC (source tree, read-only), P2PBAR_BUILD (build tree, read-only),
# P2PBAR_FLAVOUR (stock, debug or sid) and P2PBAR_KMOD: where the running
# flavour's out-of-tree modules are, with the build tree's layout (e.g.
# $P2PBAR_KMOD/p2p-kmod/p2pbar.ko); every insmod of ours goes through it.
# P2PBAR_IMAGE_BUILD: what was built in the chroot of the running image
# (our rxe provider, perftest), with the build tree's layout.

log() { echo "[$(hostname)] $*"; }
die() { echo "FAIL: $*" >&2; exit 1; }

# On sid, a patch of ours that no longer fits sid's version is recorded
# at build time in an outcome file (testbed/common.sh); a test that needs
# that part is not run, saying why, with status 77 (ctest's
# SKIP_RETURN_CODE for sid tests). usage: require_supported OUTCOME_FILE...
require_supported() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || continue
		[ "$(cat "$f")" = supported ] || { echo "NOT RUN: $(cat "$f")"; exit 77; }
	done
}
result() { echo "RESULT: $*"; }

# The p2pbar device DEV (its sysfs directory) holds nothing any more: no
# buffer, BAR byte, pin, attachment or charged host byte. Dies naming the
# first counter that is not 0. usage: p2pbar_idle DEV
p2pbar_idle() {
	local f v
	for f in used buffers pinned attachments host_charged; do
		v=$(cat "$1/$f") || die "p2pbar: no $1/$f"
		[ "$v" = 0 ] || die "p2pbar $f is $v at the end, not 0"
	done
}

# Wait until COMMAND succeeds, at most SECONDS.
wait_for() {
	local secs=$1
	shift
	local end=$((SECONDS + secs))
	until "$@" >/dev/null 2>&1; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.5
	done
}

# vgem loaded and its DRM device up. Its device is a platform device on
# 6.x (/sys/devices/platform/vgem) and a faux device on 7.x
# (/sys/devices/faux/vgem): matched by name under either bus.
vgem_up() {
	modprobe vgem || die "no vgem"
	wait_for 10 vgem_present || die "no vgem DRM device (/sys/class/drm/card*: $(ls /sys/class/drm))"
}
vgem_present() {
	local c
	for c in /sys/class/drm/card*; do
		case $(readlink -f "$c") in */vgem/drm/card*) return 0 ;; esac
	done
	return 1
}

# The kernel log has a line matching the grep pattern PATTERN. Not
# "dmesg | grep -q": grep stops at the first match, dmesg's next write
# then dies of SIGPIPE, and under pipefail the pipeline fails although the
# line is there.
dmesg_has() { dmesg | grep -c -- "$1" >/dev/null; }

# The kernel's complaints among the lines of kernel log on stdin (dmesg
# output): the lines by which the runner fails a run, printed; status 0
# when there is one. The rule is the runner's own file. usage:
#   if dmesg | kernel_complaints; then die "the kernel complained"; fi
kernel_complaints() {
	local rule=$P2PBAR_SRC/testbed/kernel-trouble.regex pats excl
	# no rule is no clean bill: "a complaint" (this is a pipeline's end)
	[ -r "$rule" ] || { echo "kernel_complaints: cannot read $rule"; return 0; }
	# patterns as arguments, not <(...): the debug guest has no /dev/fd
	pats=$(grep -v -e '^#' -e '^!' -e '^$' "$rule")
	excl=$(sed -n 's/^!//p' "$rule")
	if [ -n "$excl" ]; then
		grep -E -e "$pats" | grep -v -E -e "$excl"
	else
		grep -E -e "$pats"
	fi
}

# Fault injection (debug kernel: CONFIG_FAILSLAB, FAIL_PAGE_ALLOC,
# FAULT_INJECTION_USERCOPY, the stacktrace filter): failslab,
# fail_page_alloc and fail_usercopy fail only calls with a frame in
# [START, END) on their stack; no random failures (probability 0), so
# only a thread's /proc/thread-self/fail-nth fails one. Sleeping and
# order-0 allocations count too. Never failed: DMA-API debug's own
# bookkeeping (add_dma_entry's radix tree node, GFP_ATOMIC under any
# dma_map_*), whose failure turns DMA-API debug off with a complaint.
# usage: fault_aim START END (0x... each)
fault_aim() {
	local dbg=/sys/kernel/debug a rs re
	[ -d $dbg/failslab ] || die "no $dbg/failslab: this kernel has no CONFIG_FAILSLAB"
	# add_dma_entry's text: its address to the next symbol's ("0 0": none)
	read -r rs re <<<"$(sort /proc/kallsyms | awk '$3 == "add_dma_entry" { s = $1; next }
		s != "" { print "0x" s, "0x" $1; done = 1; exit } END { if (!done) print "0 0" }')"
	for a in failslab fail_page_alloc fail_usercopy; do
		echo "$rs" >$dbg/$a/reject-start
		echo "$re" >$dbg/$a/reject-end
		echo 0 >$dbg/$a/probability
		echo 0 >$dbg/$a/verbose
		echo -1 >$dbg/$a/times
		echo N >$dbg/$a/task-filter
		echo "$1" >$dbg/$a/require-start
		echo "$2" >$dbg/$a/require-end
		echo 32 >$dbg/$a/stacktrace-depth
	done
	echo N >$dbg/failslab/ignore-gfp-wait
	echo N >$dbg/fail_page_alloc/ignore-gfp-wait
	echo N >$dbg/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$dbg/fail_page_alloc/min-order
}

# The text of module MODULE ("p2pbar"), or of every module loaded
# (MODULE "*"), as "START END" for fault_aim (/proc/modules: each
# module's base and size; module addresses are all in the top half, so
# bash's signed arithmetic orders them right).
module_span() {
	local name size base end lo="" hi=""
	while read -r name size _ _ _ base _; do
		[ "$1" = "*" ] || [ "$name" = "$1" ] || continue
		end=$((base + size))
		if [ -z "$lo" ] || [ $((base)) -lt $((lo)) ]; then lo=$base; fi
		if [ -z "$hi" ] || [ $end -gt $((hi)) ]; then hi=$(printf '0x%x' $end); fi
	done </proc/modules
	[ -n "$lo" ] || die "module_span: no module $1 loaded"
	echo "$lo $hi"
}

# The text of the functions SYMBOL... (/proc/kallsyms: each from its
# address to the next symbol's) as one "START END" for fault_aim: the
# lowest start to the highest end, what lies between included.
# usage: symbol_span SYMBOL...
symbol_span() {
	LC_ALL=C sort /proc/kallsyms | awk -v want=" $* " '
		open { a = "" $1; if (hi == "" || a > hi) hi = a; open = 0 }
		index(want, " " $3 " ") { a = "" $1; if (lo == "" || a < lo) lo = a; open = 1 }
		END { if (lo == "" || hi == "" || lo == hi) exit 1; print "0x" lo, "0x" hi }' ||
		die "symbol_span: no text of $* in /proc/kallsyms"
}

port_active() { ibv_devinfo -d "$1" 2>/dev/null | grep -q 'PORT_ACTIVE'; }

# Soft-RoCE device rxe0 on eth0 (rdma_rxe loaded), its port active.
rxe_link_up() {
	rdma link add rxe0 type rxe netdev eth0 || die "cannot create rxe0 on eth0"
	wait_for 30 port_active rxe0 || die "rxe0 port never became active"
}

# Create soft-RoCE device rxe0 on eth0 and wait for its port to be active.
rxe_up() {
	modprobe rdma_rxe || die "cannot load rdma_rxe"
	rxe_link_up
}

# The p2pbar module built for the running kernel flavour.
p2pbar_load() {
	insmod "$P2PBAR_KMOD/p2p-kmod/p2pbar.ko" "$@" || die "cannot load p2pbar.ko"
}

# The first p2pbar class device, e.g. /sys/class/p2pbar/p2pbar0.
p2pbar_sysfs() {
	local d
	for d in /sys/class/p2pbar/p2pbar*; do
		[ -e "$d" ] && { echo "$d"; return 0; }
	done
	return 1
}

# Options every perftest run here uses. -u 20: a 4 s QP timeout instead of
# 67 ms. Under TCG a busy host delays ACKs past 67 ms; the spurious
# retransmits then end stock rxe's RC writes with IBV_WC_REM_INV_REQ_ERR.
# The testbed's links are lossless, so a long timeout costs nothing.
PERFTEST_OPTS=(-F -u 20)

# Run a perftest server in the background; its output goes to FILE.
# usage: perftest_server FILE TOOL ARGS...
perftest_server() {
	local out=$1
	shift
	"$@" >"$out" 2>&1 &
	PERFTEST_SERVER_PID=$!
}

# Run a perftest client, retrying while the server is not listening yet.
# usage: perftest_client FILE SERVER_PID_OR_EMPTY TOOL ARGS... SERVER
perftest_client() {
	local out=$1 spid=$2
	shift 2
	local end=$((SECONDS + 90))
	while :; do
		if "$@" >"$out" 2>&1; then
			return 0
		fi
		grep -q "Couldn't connect\|Unable to open file descriptor for socket connection" "$out" ||
			{ cat "$out"; return 1; }
		if [ -n "$spid" ] && ! kill -0 "$spid" 2>/dev/null; then
			cat "$out"
			return 1
		fi
		[ $SECONDS -lt $end ] || { cat "$out"; return 1; }
		sleep 1
	done
}

# Average bandwidth of SIZE-byte messages from a perftest bw output file.
perftest_bw() {
	awk -v s="$2" '$1 == s && NF >= 5 { print $4; found = 1 } END { exit !found }' "$1"
}
