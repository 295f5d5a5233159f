#!/bin/bash
# A/B probe for perftest cases in one guest (rxe loopback) or two (node 0
# serves, node 1 connects): runs each CASE in turn, REPS rounds,
# alternating, and records per run the bandwidth, the client's wall time,
# rxe's hw counters that moved and the guest's CPU time split
# (user/sys/idle, in ticks) and context switches, so a gap between two
# cases can be pinned on retransmits, RNR NAKs, CPU or time outside the
# transfer. Raw lines go to $P2PBAR_RUN/abprobe.txt: one PROBE line per
# run from the client's guest, and with two guests one SERVER line per run
# from node 0 (its counters over the run).
# usage (through testbed/run-in-guest): abprobe.sh REPS CASE...
#   CASE = VERB,SIZE,ITERS,CLIENT_MEM,SERVER_MEM[,SETTING...][,PERFTEST_OPTION...]
#   VERB write|read|send, MEM host|dmabuf (dmabuf = --use_p2pbar), e.g.
#   abprobe.sh 6 send,1048576,10,host,host send,1048576,10,dmabuf,dmabuf
#   SETTING, applied before the run and kept until a case sets it again:
#   preempt=none|voluntary|full  the kernel's preemption mode (debugfs)
#   rxe=PATH                     this rdma_rxe.ko (relative to the build
#                                tree), swapped in for rxe0
#   qdisc=pfifo|fq_codel         eth0's root qdisc: pfifo is the lossless
#                                wire of rxe_lossless_wire, fq_codel the
#                                default
#   trace=FUNC+FUNC...|off       function_graph on these kernel functions
#                                in every guest: each line gets n_FUNC (calls)
#                                and us_FUNC (total µs, sleeps included)
set -euo pipefail
. "$P2PBAR_SRC/testbed/guest/lib.sh"
. "$P2PBAR_SRC/testbed/guest/rxe-lib.sh"
export LD_LIBRARY_PATH=$P2PBAR_BUILD/lib
pt=${P2PBAR_IMAGE_BUILD:-$P2PBAR_BUILD}/bench/perftest/src
out=$P2PBAR_RUN/abprobe.txt
reps=$1
shift
: >"$out"

p2pbar_load
rxe_dmabuf_up
[ "$NODE_COUNT" = 1 ] || wait_for 60 ping -c1 -W1 "$PEER_IP" || die "peer $PEER_IP unreachable"
hwc=/sys/class/infiniband/rxe0/ports/1/hw_counters

[ -d /sys/kernel/debug/sched ] || mount -t debugfs none /sys/kernel/debug
rxe_ko=$P2PBAR_KMOD/verbs-provider/kernel/build/rdma_rxe.ko

# rxe0 on another rdma_rxe.ko
rxe_swap() {
	[ "$1" != "$rxe_ko" ] || return 0
	rdma link delete rxe0
	rmmod rdma_rxe || die "cannot unload rdma_rxe"
	insmod "$1" || die "cannot load $1"
	rxe_link_up
	rxe_ko=$1
}

# function_graph on the functions of trace=, so the time a path takes
# per packet can be compared between cases
tr=/sys/kernel/debug/tracing
trace_funcs=()
trace_set() {
	local f
	echo 0 >"$tr/tracing_on"
	echo nop >"$tr/current_tracer"
	trace_funcs=()
	[ "$1" != off ] || return 0
	IFS=+ read -r -a trace_funcs <<<"$1"
	: >"$tr/set_ftrace_filter"
	for f in "${trace_funcs[@]}"; do
		# not every function can be traced (inlined, notrace): say so, go on
		echo "$f" >>"$tr/set_ftrace_filter" 2>/dev/null || log "abprobe: cannot trace $f"
	done
	echo 16384 >"$tr/buffer_size_kb"
	echo function_graph >"$tr/current_tracer"
}
trace_start() {
	[ ${#trace_funcs[@]} -gt 0 ] || return 0
	: >"$tr/trace"
	echo 1 >"$tr/tracing_on"
}
# n_FUNC=calls us_FUNC=total µs for each traced function, from the
# graph's nesting (per CPU: an entry "f() {", its exit "} DURATION") and
# leaf lines "DURATION | f();"
trace_stop() {
	[ ${#trace_funcs[@]} -gt 0 ] || return 0
	echo 0 >"$tr/tracing_on"
	awk '/\|/ {
		cpu = $1; s = substr($0, index($0, "|") + 1); us = 0
		if (match($0, /[0-9]+\.[0-9]+ us/)) us = substr($0, RSTART, RLENGTH - 3) + 0
		sub(/^ +/, "", s); sub(/ +$/, "", s)
		if (s ~ /\{$/) { split(s, w, /[ (]/); st[cpu, ++d[cpu]] = w[1]; next }
		if (s ~ /^\}/) { if (d[cpu] > 0) { f = st[cpu, d[cpu]--]; n[f]++; t[f] += us }; next }
		if (s ~ /\);$/) { split(s, w, /[ (]/); n[w[1]]++; t[w[1]] += us }
	}
	END { for (f in n) printf "n_%s=%d us_%s=%d ", f, n[f], f, t[f] }' "$tr/trace"
}

snap() {
	local f
	for f in "$hwc"/*; do
		echo "$(basename "$f") $(cat "$f")"
	done
	awk '$1 == "cpu" { print "cpu_user", $2 + $3; print "cpu_sys", $4 + $7 + $8; print "cpu_idle", $5 + $6 }
		$1 == "ctxt" { print "ctxt", $2 }' /proc/stat
}

# counters that moved between two snapshots, as name=delta
moved() {
	awk 'NR == FNR { a[$1] = $2; next } $2 != a[$1] { printf "%s=%d ", $1, $2 - a[$1] }' "$1" "$2"
}

port=18700
for k in $(seq 1 "$reps"); do
	for c in "$@"; do
		IFS=, read -r -a f <<<"$c"
		verb=${f[0]} size=${f[1]} iters=${f[2]} cmem=${f[3]} smem=${f[4]}
		extra=()
		for x in "${f[@]:5}"; do
			case $x in
			preempt=*) echo "${x#preempt=}" >/sys/kernel/debug/sched/preempt ;;
			rxe=*) rxe_swap "$P2PBAR_BUILD/${x#rxe=}" ;;
			qdisc=pfifo) rxe_lossless_wire ;;
			qdisc=fq_codel) tc qdisc replace dev eth0 root fq_codel || die "cannot set fq_codel" ;;
			trace=*) trace_set "${x#trace=}" ;;
			*) extra+=("$x") ;;
			esac
		done
		sopt=() copt=()
		[ "$smem" != dmabuf ] || sopt=(--use_p2pbar)
		[ "$cmem" != dmabuf ] || copt=(--use_p2pbar)
		port=$((port + 1))
		opts=(-d rxe0 "${PERFTEST_OPTS[@]}" -s "$size" -n "$iters" -p "$port" "${extra[@]}")
		if [ "$NODE_COUNT" = 2 ] && [ "$NODE_ID" = 0 ]; then
			snap >/tmp/ab-before
			trace_start
			"$pt/ib_${verb}_bw" "${opts[@]}" "${sopt[@]}" >/tmp/ab-server.log 2>&1 ||
				{ cat /tmp/ab-server.log >&2; die "$c (server) failed"; }
			traced=$(trace_stop)
			snap >/tmp/ab-after
			sbw=$(perftest_bw /tmp/ab-server.log "$size") || sbw=-
			line="SERVER $c run=$k server_bw=$sbw $(moved /tmp/ab-before /tmp/ab-after)$traced"
			echo "$line" >>"$out"
			log "$line"
			continue
		fi
		server=$PEER_IP
		if [ "$NODE_COUNT" = 1 ]; then
			server=$NODE_IP
			perftest_server /tmp/ab-server.log "$pt/ib_${verb}_bw" "${opts[@]}" "${sopt[@]}"
		fi
		snap >/tmp/ab-before
		trace_start
		t0=$(date +%s.%N)
		perftest_client /tmp/ab-client.log "${PERFTEST_SERVER_PID:-}" "$pt/ib_${verb}_bw" \
			"${opts[@]}" "${copt[@]}" "$server" >&2 || die "$c (client) failed"
		t1=$(date +%s.%N)
		if [ "$NODE_COUNT" = 1 ]; then
			wait "$PERFTEST_SERVER_PID" || { cat /tmp/ab-server.log >&2; die "$c (server) failed"; }
		fi
		traced=$(trace_stop)
		snap >/tmp/ab-after
		bw=$(perftest_bw /tmp/ab-client.log "$size") || { cat /tmp/ab-client.log >&2; die "$c: no figure"; }
		sbw=-
		[ "$NODE_COUNT" = 2 ] || sbw=$(perftest_bw /tmp/ab-server.log "$size") || sbw=-
		line="PROBE $c run=$k preempt=$(grep -o '([a-z]*)' /sys/kernel/debug/sched/preempt | tr -d '()') bw=$bw server_bw=$sbw wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') $(moved /tmp/ab-before /tmp/ab-after)$traced"
		echo "$line" >>"$out"
		log "$line"
	done
done
result "abprobe: $(wc -l <"$out") runs"
