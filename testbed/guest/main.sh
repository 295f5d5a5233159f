#!/bin/sh
# PID 1 of a testbed guest after p2pbar-init mounted the run share: set up
# the guest, run the script with its output on the console and in
# output.log, record its exit status and the kernel log (on the debug
# flavour also kmemleak's report), power off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root LANG=C.UTF-8
run=/p2pbar/run
cd "$run" || exit 1
. "$run/env"
export NODE_ID NODE_COUNT NODE_IP PEER_IP P2PBAR_BAR_SIZE P2PBAR_SRC \
	P2PBAR_BUILD P2PBAR_RUN P2PBAR_FLAVOUR P2PBAR_KVER P2PBAR_KMOD \
	P2PBAR_IMAGE_BUILD
kmemleak=/sys/kernel/debug/kmemleak
never=/tmp/p2pbar-never

# Power off. PID 1 must outlive the power-off, whose work runs beside it:
# its exit is a kernel panic ("Attempted to kill init!"), which fails the
# run. So nothing runs from the root disk once the power-off has begun to
# shut it down (a "sleep 60" there died of EIO): PID 1 blocks in the
# open of a FIFO that no one writes.
power_off() {
	echo o >/proc/sysrq-trigger
	read -r _ <"$never"
}

fail() {
	echo "guest setup: $*" | tee -a "$run/output.log" >/dev/console
	echo 125 >"$run/status"
	power_off
}

mount -t tmpfs -o mode=1777 tmpfs /tmp
mkfifo -m 0600 "$never"
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /dev/pts /dev/shm
# What udev or initramfs-tools would make: bash's <(...) needs /dev/fd
# (our initrd and the debug kernel's devtmpfs have none).
ln -sfn /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
[ -e /dev/fd/0 ] || fail "no /dev/fd"
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro src /p2pbar/src ||
	fail "cannot mount the source share"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro build /p2pbar/build ||
	fail "cannot mount the build share"
if [ "$P2PBAR_FLAVOUR" = debug ]; then
	# the debug kernel's modules, in place of the image's
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro modules /lib/modules ||
		fail "cannot mount the debug kernel's modules"
	[ -w $kmemleak ] || fail "kmemleak is off: $(dmesg | grep -m1 kmemleak)"
fi
[ "$(uname -r)" = "$P2PBAR_KVER" ] ||
	fail "running kernel $(uname -r), expected $P2PBAR_KVER ($P2PBAR_FLAVOUR)"
hostname "p2pbar-g$NODE_ID"
# Warnings and worse (loglevel 4 and below) stay on the console, whose log
# is the run's whole kernel log that the runner's verdict reads, even when
# a script turns the console down with dmesg -n or -D: the kernel raises
# those to the minimum console loglevel, 5 here. (Only a direct write to
# /proc/sys/kernel/printk gets past it; dmesg.txt then still has the
# ring buffer's lines.) Not the shell's read: it reads a byte at a time,
# and a sysctl file read at an offset past 0 is empty.
levels=$(awk '{ print $1, $2, 5, $4 }' /proc/sys/kernel/printk)
echo "$levels" >/proc/sys/kernel/printk &&
	[ "$(awk '{ print $3 }' /proc/sys/kernel/printk)" = 5 ] ||
	fail "cannot set the minimum console loglevel (kernel.printk: $levels)"
ulimit -l unlimited # RDMA registers memory

ip link set lo up
modprobe virtio_net || fail "cannot load virtio_net"
ip link set eth0 mtu 9000 up || fail "no eth0"
ip addr add "$NODE_IP/24" dev eth0 || fail "cannot address eth0"
date +%s >"$run/booted"
# Where a run's time goes (seconds since boot, /proc/uptime): reported as
# one "guest timing:" line at the end.
uptime_s() { cut -d' ' -f1 /proc/uptime; }
t_booted=$(uptime_s)
# No "echo clear" for kmemleak here: it only forgets leaks an earlier scan
# reported, and none ran (no auto-scan in this kernel); a scan to clear
# would cost as much as the two at the end. So a leak of the boot itself
# would fail every debug run (none does: smoke-debug-kernel shows it).

{
	./script "$@"
	echo $? >"$run/status.tmp"
} 2>&1 | tee "$run/output.log" >/dev/console
t_script=$(uptime_s)
t_scan=$t_script

if [ "$P2PBAR_FLAVOUR" = debug ]; then
	# Two scans: kmemleak reports an object only when it was unreferenced
	# and unchanged in two scans in a row.
	if echo scan >$kmemleak && echo scan >$kmemleak; then
		cat $kmemleak >"$run/kmemleak.txt"
	else
		echo "guest teardown: kmemleak scan failed" | tee -a "$run/output.log" >/dev/console
		echo 125 >"$run/status.tmp"
	fi
	t_scan=$(uptime_s)
fi
dmesg >"$run/dmesg.txt"
awk -v b="$t_booted" -v s="$t_script" -v k="$t_scan" -v e="$(uptime_s)" 'BEGIN {
	printf "guest timing: boot %.1f s, script %.1f s, kmemleak %.1f s, teardown %.1f s\n",
		b, s - b, k - s, e - k }' | tee -a "$run/output.log" >/dev/console
mv "$run/status.tmp" "$run/status"
sync
power_off
