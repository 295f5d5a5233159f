#!/bin/bash
# The benchmark suite's guest half (run by bench/run.sh through
# testbed/run-in-guest). One guest: perftest over rxe loopback, bounce vs
# direct over loopback, registration cost, exporter costs. Two guests:
# perftest, bounce vs direct and fabtests (host vs p2pbar memory) between
# the nodes (node 0 serves).
# icount: one guest whose clock counts instructions (run.sh boots it with
# --icount 0 --smp 1): perftest over rxe loopback, every verb at every
# size, and the kernel copies, as instruction counts that a busy host
# cannot disturb.
# Raw measurement lines go to $P2PBAR_RUN/bench-NODE.txt; the host turns
# them into tables and plots (bench/report.py).
# usage: bench.sh full|short [wall|icount]
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
export LD_LIBRARY_PATH=$P2PBAR_BUILD/lib
pt=${P2PBAR_IMAGE_BUILD:-$P2PBAR_BUILD}/bench/perftest/src
require_supported "$pt/../outcome"
bin=$P2PBAR_BUILD/bench
out=$P2PBAR_RUN/bench-$NODE_ID.txt
mode=${1:-full} clock=${2:-wall} events=()

# Each perftest run moves about pt_bytes (at least pt_min iterations):
# 32 MiB in the full suite, 2-4 s of transfer at TCG's 8-30 MiB/s, so a
# vCPU losing its host CPU for a moment moves a figure by a few percent,
# not by the 20 % it did with 8 MiB (0.5-1 s). A run's setup costs
# 10-15 s under TCG on a loaded host, so the full
# suite sweeps sizes with WRITE and measures READ and SEND at 1 MiB;
# "sweep" does every verb at every size (for a quiet machine, ~1 h).
# Latency (every verb, both MR kinds) runs in loopback in short mode.
case $mode in
full | sweep)
	reps=5 pt_bytes=$((32 << 20)) pt_min=10 lat_iters=200 lat_where=none lat_reps=3
	write_sizes=(4096 65536 1048576 8388608) other_sizes=(1048576)
	[ "$mode" = sweep ] && other_sizes=("${write_sizes[@]}")
	bounce_sizes=(4096 65536 1048576 8388608) bounce_bytes=$((16 << 20))
	reg_sizes=(4096 65536 1048576 16777216 268435456 1073741824)
	alloc_sizes=(4096 1048576 67108864)
	mmap_size=$((64 << 20))
	ft_sizes=(65536 1048576) ft_bytes=$((16 << 20)) ft_reps=2
	ft_tests=(rma_write rma_read msg rdm_tagged)
	;;
*)
	reps=2 pt_bytes=$((4 << 20)) pt_min=10 lat_iters=100 lat_where=loopback lat_reps=1
	write_sizes=(65536) other_sizes=(65536)
	bounce_sizes=(65536 1048576) bounce_bytes=$((4 << 20))
	reg_sizes=(4096 1048576 16777216)
	alloc_sizes=(4096 1048576)
	mmap_size=$((4 << 20))
	ft_sizes=(1048576) ft_bytes=$((4 << 20)) ft_reps=1
	ft_tests=(rdm_tagged) # rxm rendezvous: an RMA read of the peer's BAR, -v checked
	;;
esac
case $clock in
wall) ;;
icount)
	# READ and SEND wait for CQ events (-e) instead of busy polling: a
	# spinning poller would be counted too, and the count is meant to be
	# the data path's work (ib_write_bw has no -e: WRITE polls). A run is
	# repeatable to ~2 %, so less data per run will do.
	other_sizes=("${write_sizes[@]}") pt_bytes=$((16 << 20))
	[ "$mode" = short ] || reps=3
	events=(-e)
	;;
*) die "usage: bench.sh full|short [wall|icount]" ;;
esac
max_size=${bounce_sizes[-1]}
: >"$out"

p2pbar_load
rxe_dmabuf_up
if [ "$NODE_COUNT" = 2 ]; then
	where=two-guests
	wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"
elif [ "$clock" = icount ]; then
	where=icount
else
	where=loopback
fi

# Server and client of one perftest run; on two guests node 0 serves and
# node 1 connects. Each run has its own port, so a client never reaches
# the previous run's server. server_only: options for the server alone.
port=18600
server_only=()
perftest_run() {
	local log=/tmp/pt.log
	port=$((port + 1))
	if [ "$NODE_COUNT" = 1 ]; then
		perftest_server /tmp/pt-server.log "$@" "${server_only[@]}" -p "$port"
		perftest_client "$log" "$PERFTEST_SERVER_PID" "$@" -p "$port" "$NODE_IP" >&2 ||
			die "$* (client) failed"
		wait "$PERFTEST_SERVER_PID" || { cat /tmp/pt-server.log >&2; die "$* (server) failed"; }
	elif [ "$NODE_ID" = 0 ]; then
		"$@" "${server_only[@]}" -p "$port" >"$log" 2>&1 ||
			{ cat "$log" >&2; die "$* (server) failed"; }
		return 0
	else
		perftest_client "$log" "" "$@" -p "$port" "$PEER_IP" >&2 || die "$* (client) failed"
	fi
	cat "$log"
}

# perftest times runs in TSC cycles and converts them with a rate it
# samples against gettimeofday(); a sample disturbed by the vCPU losing
# its host CPU (r^2 < 0.9) gave 0 MHz, and with -F a report of 0.00 MiB/s
# for a run that took seconds. Our perftest patch 0002 falls back to
# /proc/cpuinfo's rate then (logged here as CLOCK, counted by the
# report). A run that still reports 0 is logged as ZERO (the report lists
# them) and gives no figure; in one guest it is run again, at most twice
# (two guests cannot: the server has moved on to the next run).
# usage: bw_run SIZE LABEL PERFTEST ARGS...   prints MiB/s or nothing
bw_run() {
	local size=$1 label=$2 try bw res tries=3
	shift 2
	[ "$NODE_COUNT" = 1 ] || tries=1
	for try in $(seq 1 "$tries"); do
		res=$(perftest_run "$@")
		bw=$(awk -v s="$size" '$1 == s && NF >= 5 { print $4 }' <<<"$res")
		! grep -q "Sampling the cycle rate failed" <<<"$res" || echo "CLOCK $label $try" >>"$out"
		measures || return 0
		[ -n "$bw" ] || die "no result from $*"
		awk -v b="$bw" 'BEGIN { exit !(b > 0) }' && { echo "$bw"; return 0; }
		log "bench: $label reported $bw MiB/s (attempt $try)" >&2
		echo "ZERO $label $try" >>"$out"
	done
}

# Iterations of SIZE-byte messages for one perftest run: about pt_bytes,
# at least pt_min.
iters_for() {
	local n=$((pt_bytes / $1))
	echo $((n > pt_min ? n : pt_min))
}

# The client (or the only guest) measures; a two-guest server only serves.
record() {
	[ -z "$2" ] || echo "$1 $2" >>"$out"
}
measures() { [ "$NODE_COUNT" = 1 ] || [ "$NODE_ID" = 1 ]; }

lat_here=0
case " $lat_where " in *" $where "*) lat_here=1 ;; esac
oneside=3
[ "$where" != icount ] || oneside=0
total=$((reps * (2 * ${#write_sizes[@]} + 4 * ${#other_sizes[@]} + oneside) + 6 * lat_here * lat_reps))
step=0
progress() {
	step=$((step + 1))
	log "bench $where ($step/$total): $*"
}

# The in-kernel half of exporter-cost, importing with the exporter's own
# PCI function (the first one p2pbar is bound to).
bench_importer_load() {
	local fn
	fn=$(basename "$(ls -d /sys/bus/pci/drivers/p2pbar/0000:* | head -n1)")
	insmod "$P2PBAR_KMOD/bench/kmod/p2pbar_bench.ko" importer="$fn"
}

# Which MR kind runs first in round K: host in odd rounds, dma-buf in even
# ones, so that whatever a run leaves behind for the next one (or a drift
# of the machine) does not always fall on the same kind.
mem_order() { if [ $(($1 % 2)) = 1 ]; then echo host dmabuf; else echo dmabuf host; fi; }

# 1. bandwidth vs size, host MR vs dma-buf MR on both sides, alternating
for k in $(seq 1 "$reps"); do
	for verb in write read send; do
		sizes=("${other_sizes[@]}")
		[ "$verb" = write ] && sizes=("${write_sizes[@]}")
		for size in "${sizes[@]}"; do
			iters=$(iters_for "$size")
			for mem in $(mem_order "$k"); do
				progress "ib_${verb}_bw $mem $size B x $iters, run $k"
				opt=()
				[ "$mem" = dmabuf ] && opt=(--use_p2pbar)
				[ "$verb" = write ] || opt+=("${events[@]}")
				bw=$(bw_run "$size" "$where-$verb-$mem-$size-$k" \
					"$pt/ib_${verb}_bw" -d rxe0 "${PERFTEST_OPTS[@]}" \
					-s "$size" -n "$iters" "${opt[@]}")
				measures || continue
				record "BW $where $verb $mem $size $k" "$bw"
			done
		done
	done
done

# one side only: dma-buf MR at the server, host MR at the client
for k in $(seq 1 "$reps"); do
	[ "$oneside" -gt 0 ] || break
	for verb in write read send; do
		progress "ib_${verb}_bw dma-buf at the server only, 1 MiB, run $k"
		server_only=(--use_p2pbar)
		iters=$(iters_for 1048576)
		bw=$(bw_run 1048576 "$where-$verb-server-only-$k" \
			"$pt/ib_${verb}_bw" -d rxe0 "${PERFTEST_OPTS[@]}" -s 1048576 -n "$iters")
		measures || continue
		record "ONESIDE $where $verb 1048576" "$bw"
	done
done
server_only=()

# latency of 4 KiB messages (perftest's t_typical)
for k in $(seq 1 "$lat_reps"); do
	[ "$lat_here" = 1 ] || break
	for verb in write read send; do
		for mem in $(mem_order "$k"); do
			progress "ib_${verb}_lat $mem 4096 B x $lat_iters, run $k"
			opt=()
			[ "$mem" = dmabuf ] && opt=(--use_p2pbar)
			lat=$(perftest_run "$pt/ib_${verb}_lat" -d rxe0 "${PERFTEST_OPTS[@]}" \
				-s 4096 -n "$lat_iters" "${opt[@]}" |
				awk '$1 == 4096 && NF >= 6 { print $5 }')
			measures || continue
			record "LAT $where $verb $mem 4096 $k" "$lat"
		done
	done
done

if [ "$where" = icount ]; then
	# the copies rxe makes for each MR kind, counted (1 ns = 1 instruction)
	bench_importer_load ||
		die "cannot load p2pbar_bench.ko"
	log "bench: kernel copies, instruction-counted"
	"$bin/exporter-cost" "$reps" "$mmap_size" "${alloc_sizes[0]}" >/tmp/cost.txt ||
		die "exporter-cost failed"
	sed -n 's/^KCOPY /ICOPY /p' /tmp/cost.txt | tee -a "$out"
	rmmod p2pbar_bench
	result "bench $where ($mode): $(wc -l <"$out") measurements"
	exit 0
fi

# 2. bounce through host memory vs direct into the BAR
log "bench $where: bounce vs direct, ${#bounce_sizes[@]} sizes x $reps runs"
if [ "$NODE_COUNT" = 1 ]; then
	"$bin/bounce" server "$max_size" 18599 &
	spid=$!
	"$bin/bounce" client "$max_size" 18599 "$NODE_IP" "$reps" "$bounce_bytes" "${bounce_sizes[@]}" |
		tee /tmp/bounce.log || die "bounce client failed"
	wait "$spid" || die "bounce server failed"
elif [ "$NODE_ID" = 0 ]; then
	"$bin/bounce" server "$max_size" 18599 || die "bounce server failed"
else
	"$bin/bounce" client "$max_size" 18599 "$PEER_IP" "$reps" "$bounce_bytes" "${bounce_sizes[@]}" |
		tee /tmp/bounce.log || die "bounce client failed"
fi
[ -f /tmp/bounce.log ] && sed "s/^BOUNCE /BOUNCE $where /" /tmp/bounce.log >>"$out"

# 3. fabtests between the nodes, host memory vs p2pbar memory (-D p2pbar:
# bench/fabtests patch, FI_MR_DMABUF), alternating like perftest. Node 0
# serves, node 1 connects (retrying until the server listens) and records
# its figure. fabtests print MB/s (10^6 B/s); recorded as MiB/s.
ft=$P2PBAR_BUILD/bench/fabtests/src/benchmarks
# rxm sizes its CQ for FI_UNIVERSE_SIZE peers; rxe's CQs hold 32767 entries
export FI_UNIVERSE_SIZE=64
ft_args() {
	case $1 in
	rma_write) echo "$ft/fi_rma_bw -p verbs -e msg -o write" ;;
	rma_read) echo "$ft/fi_rma_bw -p verbs -e msg -o read" ;;
	msg) echo "$ft/fi_msg_bw -p verbs -e msg -v" ;;
	rdm_tagged) echo "$ft/fi_rdm_tagged_bw -p verbs;ofi_rxm -v" ;;
	esac
}
ft_run() {
	local log=/tmp/ft.log end=$((SECONDS + 90)) rc
	port=$((port + 1))
	if [ "$NODE_ID" = 0 ]; then
		"$@" -s "$NODE_IP" -B "$port" >"$log" 2>&1 || { cat "$log" >&2; die "$* (server) failed"; }
		return 0
	fi
	while :; do
		rc=0
		"$@" -P "$port" "$PEER_IP" >"$log" 2>&1 || rc=$?
		[ "$rc" != 0 ] && grep -q "Connection refused" "$log" && [ $SECONDS -lt $end ] || break
		sleep 0.5
	done
	[ "$rc" = 0 ] || { cat "$log" >&2; die "$* (client) failed"; }
	awk 'f && NF >= 7 { printf "%.2f\n", $5 * 1e6 / 1048576; exit } /MB\/sec/ { f = 1 }' "$log"
}
if [ "$NODE_COUNT" = 2 ]; then
	for k in $(seq 1 "$ft_reps"); do
		for t in "${ft_tests[@]}"; do
			for size in "${ft_sizes[@]}"; do
				n=$((ft_bytes / size)) window=4
				for mem in $(mem_order "$k"); do
					log "bench $where: fabtests $t $mem $size B x $n, run $k"
					opt=()
					[ "$mem" = dmabuf ] && opt=(-D p2pbar)
					# shellcheck disable=SC2046 # ft_args is words
					bw=$(ft_run $(ft_args "$t") -S "$size" -I "$n" -W "$window" "${opt[@]}")
					measures || continue
					[ -n "$bw" ] || die "no figure from fabtests $t $mem $size"
					record "FABTEST $where $t $mem $size $k" "$bw"
				done
			done
		done
	done
fi

if [ "$NODE_COUNT" = 1 ]; then
	# 3. registration cost
	log "bench: registration cost, ${#reg_sizes[@]} sizes x $reps runs"
	"$bin/regcost" "$reps" "${reg_sizes[@]}" | tee -a "$out" || die "regcost failed"
	# 4. exporter costs, attach+map through the bench importer
	bench_importer_load ||
		die "cannot load p2pbar_bench.ko"
	log "bench: exporter costs"
	"$bin/exporter-cost" "$reps" "$mmap_size" "${alloc_sizes[@]}" | tee -a "$out" ||
		die "exporter-cost failed"
	rmmod p2pbar_bench
fi
result "bench $where ($mode): $(wc -l <"$out") measurements"
