#!/usr/bin/env python3
"""Boot testbed guests under QEMU (TCG), run one script in them, report.

Each guest gets: the cached Debian image (ext4, snapshot=on, so runs never
change it; or a qcow2 overlay of it, --root-overlay), an ivshmem-plain "accelerator" backed by a file in /dev/shm that
the host can read and write, a virtio NIC, and three 9p shares: the per-run
directory (read-write: script, env, output, exit status, dmesg), the source
tree and the build tree (both read-only). With two guests their NICs are
joined by a unix stream socket (lossless).

Three kernel flavours: stock (the image's Debian kernel, with our small
initrd), debug (testbed/build-debug-kernel.sh: lockdep, KASAN, kmemleak,
DMA-API debug, dma-buf move-notify, P2PDMA; booted without initrd, its
modules shared over 9p) and sid (the Debian sid image, its kernel and our
initrd). Out-of-tree modules of the running flavour are under
$P2PBAR_KMOD in the guest, what was built in the chroot of its image (our
rxe provider, perftest) under $P2PBAR_IMAGE_BUILD, both with the build
tree's layout.

The exit status is the script's (the first non-zero one of the guests), or
123 when a guest died before its script started, 124 on timeout, 125 when a
guest died without reporting a status, 126 when
the kernel log of the run (the console log, and dmesg.txt) shows a warning,
oops or sanitizer report, or the debug kernel's kmemleak a leak: a
complaint by the one rule of kernel-trouble.regex.
"""

import argparse
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
SHM_PREFIX = "/dev/shm/p2pbar-tb-"
GUEST_NET = "10.77.0."

# What counts as a kernel complaint (exit 126 unless --allow-kernel-warnings)
# is one rule, kernel-trouble.regex beside this file; guest scripts apply
# the same file (kernel_complaints in testbed/guest/lib.sh).
RULE_FILE = os.path.join(HERE, "kernel-trouble.regex")

# A kernel line on the console or in dmesg output: the kernel's timestamp
# (printk.time=1 on the command line), the caller id if the kernel has
# CONFIG_PRINTK_CALLER, the message. Searched for anywhere in a console
# line, not only at its start: the kernel writes each of its lines to the
# serial port in one go, but it can land in the middle of a line the
# guest script is writing to the console.
KERNEL_LINE = re.compile(r"\[ *\d+\.\d{6}\](?:\[ *[TC]\d+\])? .*")


def load_rule(path=RULE_FILE):
    """kernel-trouble.regex as (complaint, exception) regexes (None: none)."""
    patterns = {False: [], True: []}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            exception = line.startswith("!")
            patterns[exception].append(line[1:] if exception else line)
    return tuple(re.compile("|".join(f"(?:{p})" for p in patterns[e]))
                 if patterns[e] else None for e in (False, True))


COMPLAINT, NOT_COMPLAINT = load_rule()


def is_complaint(line):
    """A kernel log line (timestamp and all) is a complaint by the rule."""
    return bool(COMPLAINT and COMPLAINT.search(line)
                and not (NOT_COMPLAINT and NOT_COMPLAINT.search(line)))


EXIT_BOOT, EXIT_TIMEOUT, EXIT_NO_STATUS, EXIT_KERNEL = 123, 124, 125, 126
# Seconds the other guest(s) may go on after one died or failed.
PEER_GRACE = 30


def parse_size(text):
    m = re.fullmatch(r"(\d+)([KMGT]?)i?B?", text.strip(), re.I)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size: {text!r}")
    shift = {"": 0, "K": 10, "M": 20, "G": 30, "T": 40}[m.group(2).upper()]
    return int(m.group(1)) << shift


def die_with_parent():
    """Make QEMU die with the runner, whatever kills the runner."""
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    os.setpgrp()


def remove_stale_shm():
    """Remove accelerator files of earlier runners that died (only ours)."""
    for name in os.listdir("/dev/shm"):
        path = "/dev/shm/" + name
        if not path.startswith(SHM_PREFIX):
            continue
        pid = name[len(SHM_PREFIX) - len("/dev/shm/"):].split("-")[0]
        if pid.isdigit() and not os.path.exists(f"/proc/{pid}"):
            os.unlink(path)


def find_debug_kernel(build_dir, kernel):
    """build-debug-kernel.sh's output: bzImage, kernel.release, modules/."""
    kernel = kernel or os.environ.get("P2PBAR_DEBUG_KERNEL")
    if not kernel:
        marker = os.path.join(build_dir, "testbed", "debug-kernel.path")
        if not os.path.exists(marker):
            sys.exit(f"run-in-guest: no debug kernel ({marker} missing); "
                     "run `make build` first")
        with open(marker) as f:
            kernel = f.read().strip()
    for part in ("bzImage", "kernel.release", "modules"):
        if not os.path.exists(os.path.join(kernel, part)):
            sys.exit(f"run-in-guest: {kernel}/{part} missing; "
                     "rebuild the debug kernel")
    return kernel


def find_image(build_dir, image, marker_name="image.path"):
    if marker_name == "image.path":
        image = image or os.environ.get("P2PBAR_IMAGE")
    if not image:
        marker = os.path.join(build_dir, "testbed", marker_name)
        if not os.path.exists(marker):
            sys.exit(f"run-in-guest: no guest image ({marker} missing); "
                     "run `make build` first")
        with open(marker) as f:
            image = f.read().strip()
    for part in ("vmlinuz", "initrd.img", "rootfs.ext4"):
        if not os.path.exists(os.path.join(image, part)):
            sys.exit(f"run-in-guest: {image}/{part} missing; rebuild the image")
    return image


def root_drive(a, image):
    """The image's disk, never changed (snapshot=on); or with
    --root-overlay a qcow2 overlay of it (a cached disk state, e.g. the
    packages tests/install/dkms-state.sh installed), written only with
    --root-overlay-write."""
    if not a.root_overlay:
        return (f"file={os.path.join(image, 'rootfs.ext4')},"
                "if=virtio,format=raw,snapshot=on")
    snapshot = "off" if a.root_overlay_write else "on"
    return f"file={a.root_overlay},if=virtio,format=qcow2,snapshot={snapshot}"


def check_overlay(path, image):
    """An overlay is only good on the image it was made from."""
    info = subprocess.run(["qemu-img", "info", "-U", "--output=json", path],
                          capture_output=True, text=True)
    if info.returncode:
        sys.exit(f"run-in-guest: {path}: {info.stderr.strip()}")
    fields = json.loads(info.stdout)
    backing = fields.get("full-backing-filename") or fields.get("backing-filename")
    want = os.path.realpath(os.path.join(image, "rootfs.ext4"))
    if fields.get("format") != "qcow2" or not backing or os.path.realpath(backing) != want:
        sys.exit(f"run-in-guest: {path} is not a qcow2 overlay of {want} "
                 f"(format {fields.get('format')}, backing file {backing})")


def pci_devices(a):
    """The accelerator (ivshmem) and, with --edu, QEMU's DMA-capable edu
    device (64-bit DMA mask; QEMU's default is 28 bits), placed as
    --topology says: rc, both on the q35 root complex; switch, each on
    a downstream port of one PCIe switch (x3130-upstream with two
    xio3130-downstream ports) behind a root port. QEMU routes every DMA
    to its root address space (the vIOMMU's if there is one), whatever
    the switch: it does not model peer-to-peer routing or ACS."""
    ivshmem = "ivshmem-plain,memdev=accmem"
    edu = "edu,dma_mask=0xffffffffffffffff"
    devs = []
    if a.topology == "switch":
        devs = ["-device", "pcie-root-port,id=sw_rp,bus=pcie.0,chassis=1,slot=1",
                "-device", "x3130-upstream,id=sw_up,bus=sw_rp",
                "-device", "xio3130-downstream,id=sw_dn0,bus=sw_up,"
                           "chassis=2,slot=0,port=0",
                "-device", "xio3130-downstream,id=sw_dn1,bus=sw_up,"
                           "chassis=2,slot=1,port=1"]
        ivshmem += ",bus=sw_dn0"
        edu += ",bus=sw_dn1"
    devs += ["-device", ivshmem]
    if a.edu:
        devs += ["-device", edu]
    return devs


class Guest:
    def __init__(self, args, index, run_dir, sock_dir):
        self.args = args
        self.index = index
        self.name = f"g{index}"
        self.dir = os.path.join(run_dir, self.name)
        self.console = os.path.join(run_dir, f"console-{self.name}.log")
        self.shm = f"{SHM_PREFIX}{os.getpid()}-{self.name}"
        self.sock_dir = sock_dir
        self.proc = None
        self.stopped = False
        self.started = None
        self.booted_after = None
        self.out_pos = 0
        self.out_partial = ""

    def prepare(self, script, script_args):
        os.makedirs(self.dir)
        shutil.copy(os.path.join(HERE, "guest", "main.sh"), self.dir)
        shutil.copy(script, os.path.join(self.dir, "script"))
        os.chmod(os.path.join(self.dir, "script"), 0o755)
        count = self.args.guests
        peer = GUEST_NET + str(2 - self.index) if count == 2 else ""
        a = self.args
        env = {
            "P2PBAR_FLAVOUR": a.flavour,
            "P2PBAR_KVER": a.kver,
            "P2PBAR_KMOD": "/p2pbar/build" + ("" if a.flavour == "stock" else "/" + a.flavour),
            "P2PBAR_IMAGE_BUILD": "/p2pbar/build" + ("/sid" if a.flavour == "sid" else ""),
            "NODE_ID": self.index,
            "NODE_COUNT": count,
            "NODE_IP": GUEST_NET + str(self.index + 1),
            "PEER_IP": peer,
            "P2PBAR_BAR_SIZE": self.args.bar_size,
            "P2PBAR_SRC": "/p2pbar/src",
            "P2PBAR_BUILD": "/p2pbar/build",
            "P2PBAR_RUN": "/p2pbar/run",
        }
        with open(os.path.join(self.dir, "env"), "w") as f:
            for k, v in env.items():
                f.write(f"{k}={shquote(str(v))}\n")
            f.write("set -- " + " ".join(shquote(x) for x in script_args) + "\n")
        # The accelerator's memory: created here so a host pre-hook can fill it.
        with open(self.shm, "wb") as f:
            f.truncate(self.args.bar_size)

    def command(self, image, build_dir):
        a = self.args
        # The console log is the run's whole kernel log, which the verdict
        # reads: loglevel=7 prints warnings and worse there (main.sh keeps
        # them there whatever a script does), printk.time=1 marks the
        # kernel's lines apart from the script's output echoed there. A
        # 4 MiB ring buffer (dmesg.txt; 128 KiB by default) holds the
        # lower levels of long runs too.
        cmdline = ("console=ttyS0 loglevel=7 printk.time=1 log_buf_len=4M "
                   "root=/dev/vda rw init=/sbin/p2pbar-init "
                   "panic=-1 mitigations=off net.ifnames=0 " + a.append).strip()
        cpu = "max"
        if a.flavour == "debug":
            # Root disk drivers and ext4 are built in: no initrd.
            boot = ["-kernel", os.path.join(a.debug_kernel, "bzImage")]
            cmdline += " rootfstype=ext4"
            # 4-level paging: with TCG's LA57 the 6.12 kernel uses 5
            # levels, and identify_cpu() clears the CPU's feature bits
            # for a moment with interrupts on; an interrupt then sees
            # pgtable_l5_enabled() false, KASAN's shadow bounds of 4
            # levels, and reports its irq_desc lock in the 5-level direct
            # map as a wild-memory-access, now and then at boot.
            cpu = "max,la57=off"
        else:
            boot = ["-kernel", os.path.join(image, "vmlinuz"),
                    "-initrd", os.path.join(image, "initrd.img")]
        mac = f"52:54:00:77:00:{self.index + 1:02x}"
        if a.guests == 2:
            # A stream socket, not datagrams: a lossless wire, so RDMA
            # tests see no drops caused by a busy host. g0 listens.
            sock = os.path.join(self.sock_dir, "wire.sock")
            server = "on" if self.index == 0 else "off"
            netdev = (f"stream,id=net0,server={server},"
                      f"addr.type=unix,addr.path={sock}")
        else:
            # A wire to nowhere that still takes every frame: datagrams to
            # a socket path nobody binds are dropped by QEMU. (A lone hub
            # port would never complete a transmit: the guest's TX queue
            # stalls and its watchdog fires.)
            me = os.path.join(self.sock_dir, f"{self.name}.sock")
            nowhere = os.path.join(self.sock_dir, "nowhere.sock")
            netdev = (f"dgram,id=net0,local.type=unix,local.path={me},"
                      f"remote.type=unix,remote.path={nowhere}")
        cmd = [
            "qemu-system-x86_64", "-accel", "tcg", "-nodefaults",
            "-display", "none", "-no-reboot",
            "-machine", "q35", "-cpu", cpu,
            "-smp", str(a.smp), "-m", a.mem,
            *boot,
            "-append", cmdline,
            "-drive", root_drive(a, image),
            "-chardev", f"file,id=con0,path={self.console}",
            "-serial", "chardev:con0",
            "-object", f"memory-backend-file,id=accmem,share=on,"
                       f"mem-path={self.shm},size={a.bar_size}",
            *pci_devices(a),
            "-netdev", netdev,
            "-device", f"virtio-net-pci,netdev=net0,mac={mac}",
        ]
        shares = [("run", self.dir, False), ("src", SRC, True),
                  ("build", build_dir, True)]
        if a.flavour == "debug":
            # /lib/modules of the debug kernel (main.sh mounts it there)
            shares.append(("modules", os.path.join(a.debug_kernel, "modules",
                                                   "lib", "modules"), True))
        for tag, path, ro in shares:
            opt = f"local,path={path},mount_tag={tag},security_model=none"
            cmd += ["-virtfs", opt + (",readonly=on" if ro else "")]
        cmd += a.qemu_arg
        if a.icount is not None:
            # Guest time counts instructions (2^shift ns each) and jumps
            # over idle time: a run's figures depend on the work the
            # guest did, not on what else the host ran. One TCG thread.
            cmd += ["-icount", f"shift={a.icount},sleep=off"]
        if a.iommu:
            cmd[cmd.index("q35")] = "q35,kernel-irqchip=split"
            cmd += ["-device", "intel-iommu,intremap=on,caching-mode=on"]
        return cmd

    def start(self, image, build_dir):
        cmd = self.command(image, build_dir)
        with open(os.path.join(self.dir, "qemu-cmdline"), "w") as f:
            f.write(" ".join(shquote(c) for c in cmd) + "\n")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=open(os.path.join(self.dir, "qemu.log"), "w"),
                                     stderr=subprocess.STDOUT,
                                     preexec_fn=die_with_parent)

    def poll_output(self, prefix):
        """Stream new lines of the guest script's output to our stdout."""
        if self.booted_after is None and os.path.exists(os.path.join(self.dir, "booted")):
            self.booted_after = time.monotonic() - self.started
        path = os.path.join(self.dir, "output.log")
        try:
            with open(path, errors="replace") as f:
                f.seek(self.out_pos)
                data = f.read()
                self.out_pos = f.tell()
        except FileNotFoundError:
            return
        data = self.out_partial + data
        lines = data.split("\n")
        self.out_partial = lines.pop()
        for line in lines:
            print(prefix + line, flush=True)

    def flush_output(self, prefix):
        self.poll_output(prefix)
        if self.out_partial:
            print(prefix + self.out_partial, flush=True)
            self.out_partial = ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.stopped = True
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def cleanup(self):
        self.stop()
        if os.path.exists(self.shm):
            os.unlink(self.shm)

    def status(self):
        try:
            with open(os.path.join(self.dir, "status")) as f:
                return int(f.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def kernel_trouble(self):
        return kernel_trouble(self.console, os.path.join(self.dir, "dmesg.txt"),
                              os.path.join(self.dir, "kmemleak.txt"))


def kernel_trouble(console=None, dmesg=None, kmemleak=None):
    """The complaints in a guest's kernel log: the lines that fail a run.

    The console log holds every kernel line of the run at the console's
    loglevel (warnings and worse always, main.sh sees to it), however
    much the kernel logged; dmesg.txt, the ring buffer read at the end,
    also has the lines below that loglevel, but only the last log_buf_len
    bytes of them. Both are read; a line found in both is given once. The
    console's other lines (the script's output, echoed there) are not the
    kernel's and count for nothing. Every line of kmemleak's report is the
    kernel's.
    """
    found, seen = [], set()
    for path in (console, dmesg):
        if not path or not os.path.exists(path):
            continue
        with open(path, errors="replace") as f:
            for line in f:
                m = KERNEL_LINE.search(line)
                kline = m and m.group(0).rstrip()
                if kline and kline not in seen and is_complaint(kline):
                    seen.add(kline)
                    found.append(kline)
    if kmemleak and os.path.exists(kmemleak):
        with open(kmemleak, errors="replace") as f:
            found += [l.rstrip() for l in f if is_complaint(l)]
    return found


def shquote(s):
    s = str(s)
    if re.fullmatch(r"[\w@%+=:,./-]+", s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def tail(path, n=60):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except FileNotFoundError:
        return "(no console log)\n"


def wait_for_socket(path, server, secs=30):
    """The second guest connects to the first one's listening socket."""
    end = time.monotonic() + secs
    while not os.path.exists(path):
        if server.proc.poll() is not None or time.monotonic() > end:
            raise SystemExit(f"run-in-guest: {server.name} never listened on {path}; "
                             f"see {server.dir}/qemu.log")
        time.sleep(0.05)


def hook_env(guests, run_dir):
    env = dict(os.environ, P2PBAR_RUN_DIR=run_dir)
    for g in guests:
        env[f"P2PBAR_SHM{g.index}"] = g.shm
        env[f"P2PBAR_GUEST_DIR{g.index}"] = g.dir
    return env


def run_hook(cmd, guests, run_dir, what):
    rc = subprocess.call(cmd, shell=True, env=hook_env(guests, run_dir))
    if rc:
        print(f"run-in-guest: host {what} hook failed with {rc}: {cmd}", flush=True)
    return rc


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="run-in-guest",
        description="Boot fresh testbed guest(s) under QEMU TCG, run SCRIPT "
                    "in each and exit with its status.")
    p.add_argument("script")
    p.add_argument("script_args", nargs=argparse.REMAINDER)
    p.add_argument("--guests", type=int, choices=(1, 2), default=1)
    p.add_argument("--smp", type=int, default=2)
    p.add_argument("--mem", default="2G")
    p.add_argument("--bar-size", type=parse_size, default=256 << 20,
                   help="accelerator BAR size (default 256M, power of two)")
    p.add_argument("--timeout", type=int, default=600, help="seconds, hard")
    p.add_argument("--name", default=None, help="name of the log directory")
    p.add_argument("--log-dir", default=None)
    p.add_argument("--build-dir", default=os.path.join(SRC, "build"))
    p.add_argument("--image", default=None)
    p.add_argument("--flavour", choices=("stock", "debug", "sid"), default="stock",
                   help="guest kernel: the image's stock Debian kernel, the "
                   "debug one (lockdep, KASAN, kmemleak, DMA-API debug, "
                   "move-notify, P2PDMA), or the Debian sid image and its kernel")
    p.add_argument("--debug-kernel", default=None,
                   help="build-debug-kernel.sh's output directory (default: "
                   "the build tree's testbed/debug-kernel.path)")
    p.add_argument("--root-overlay", metavar="QCOW2",
                   help="boot from this qcow2 overlay of the image's rootfs.ext4 "
                   "(still unchanged by the run unless --root-overlay-write)")
    p.add_argument("--root-overlay-write", action="store_true",
                   help="the run writes into --root-overlay (making a disk state)")
    p.add_argument("--append", default="", help="extra kernel command line")
    p.add_argument("--iommu", action="store_true", help="add intel-iommu")
    p.add_argument("--edu", action="store_true",
                   help="add QEMU's edu device (a DMA engine; 64-bit DMA mask)")
    p.add_argument("--topology", choices=("rc", "switch"), default="rc",
                   help="rc: the devices on the root complex (default); switch: "
                   "ivshmem and edu on two downstream ports of one PCIe switch")
    p.add_argument("--icount", type=int, choices=range(0, 11), metavar="SHIFT",
                   help="count instructions (QEMU -icount shift=SHIFT,sleep=off): "
                   "the guest clock advances 2^SHIFT ns per instruction, so "
                   "timings inside it are instruction counts, repeatable on a "
                   "busy host; vCPUs share one host thread")
    p.add_argument("--qemu-arg", action="append", default=[],
                   help="extra QEMU argument (repeat), e.g. --qemu-arg=-device --qemu-arg=edu")
    p.add_argument("--host-pre", help="host command run before boot")
    p.add_argument("--host-post", help="host command run after the guests")
    p.add_argument("--host-while", help="host command run beside the guests; "
                   "it must finish with status 0 before they do")
    p.add_argument("--allow-kernel-warnings", action="store_true")
    a = p.parse_args(argv)
    size = a.bar_size
    if size < (1 << 20) or size & (size - 1):
        p.error("--bar-size must be a power of two of at least 1M")
    if not os.path.isfile(a.script):
        p.error(f"no such script: {a.script}")
    a.build_dir = os.path.abspath(a.build_dir)
    if not os.path.isdir(a.build_dir):
        p.error(f"no build directory {a.build_dir}; run `make build` first")
    return a


def locate(a):
    """The image to boot, and a.kver: the release of the kernel it runs."""
    image = find_image(a.build_dir, a.image,
                       "image-sid.path" if a.flavour == "sid" else "image.path")
    if a.root_overlay_write and not a.root_overlay:
        p.error("--root-overlay-write needs --root-overlay")
    if a.root_overlay:
        if a.guests != 1 and a.root_overlay_write:
            p.error("--root-overlay-write is for one guest")
        check_overlay(a.root_overlay, image)
    if a.flavour == "debug":
        a.debug_kernel = find_debug_kernel(a.build_dir, a.debug_kernel)
        with open(os.path.join(a.debug_kernel, "kernel.release")) as f:
            a.kver = f.read().strip()
    else:
        with open(os.path.join(image, "image.env")) as f:
            a.kver = re.search(r"^KVER=(\S+)", f.read(), re.M).group(1)
    return image


def wait_guests(guests, a):
    """Relay the guests' output until they end or time out; then stop them.

    A guest that ended well ends the run only when all did; one that died
    or failed leaves its peer waiting for it, so the others get PEER_GRACE
    seconds to finish before they are stopped. Returns (timed_out, the
    guest that ended badly or None).
    """
    deadline = time.monotonic() + a.timeout
    timed_out = False
    ended_badly = None
    while any(g.proc.poll() is None for g in guests):
        for g in guests:
            g.poll_output(f"[{g.name}] " if a.guests > 1 else "")
        if ended_badly is None:
            ended_badly = next((g for g in guests if g.proc.poll() is not None
                                and g.status() != 0), None)
            if ended_badly:
                print(f"run-in-guest: {ended_badly.name} ended with exit status "
                      f"{ended_badly.status()}; stopping the other guest(s) "
                      f"in {PEER_GRACE} s", flush=True)
                deadline = min(deadline, time.monotonic() + PEER_GRACE)
        if time.monotonic() > deadline:
            timed_out = ended_badly is None
            break
        time.sleep(0.2)
    for g in guests:
        g.stop()
        g.flush_output(f"[{g.name}] " if a.guests > 1 else "")
    return timed_out, ended_badly


def guest_rc(g, a, timed_out, ended_badly):
    """Report how guest G ended; its exit code for the run (0: fine)."""
    rc = 0
    st = g.status()
    boot = f"{g.booted_after:.1f} s" if g.booted_after else "never"
    print(f"run-in-guest: {g.name}: booted in {boot}, "
          f"exit status {st if st is not None else 'none'}", flush=True)
    if st is None and ended_badly not in (None, g) and g.stopped:
        print(f"run-in-guest: {g.name} was stopped after "
              f"{ended_badly.name} ended", flush=True)
    elif st is None:
        why = "timed out" if timed_out else "died without an exit status"
        print(f"run-in-guest: {g.name} {why}; console tail "
              f"({g.console}):\n{tail(g.console)}", flush=True)
        if timed_out:
            rc = EXIT_TIMEOUT
        elif g.booted_after is None:
            # Died before main.sh reached the script: a boot failure
            # (run-in-guest boots once more), not the test's.
            rc = EXIT_BOOT
        else:
            rc = EXIT_NO_STATUS
    elif st:
        rc = st
    trouble = g.kernel_trouble()
    if trouble and not a.allow_kernel_warnings:
        print(f"run-in-guest: {g.name}: kernel log shows trouble "
              f"(full reports: {g.console}, {g.dir}/dmesg.txt, "
              "kmemleak.txt):", flush=True)
        for line in trouble[:20]:
            print("  " + line, flush=True)
        rc = rc or EXIT_KERNEL
    return rc


def beside_rc(beside, a):
    """The --host-while hook's status, once the guests are done."""
    try:
        brc = beside.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(beside.pid, signal.SIGKILL)
        beside.wait()
        brc = 1
        print("run-in-guest: host while-hook still running when the "
              f"guests were done: {a.host_while}", flush=True)
    if brc:
        print(f"run-in-guest: host while-hook failed with {brc}", flush=True)
    return brc


def main(argv=None):
    a = parse_args(argv)
    image = locate(a)
    name = a.name or os.path.splitext(os.path.basename(a.script))[0]
    log_root = a.log_dir or os.path.join(a.build_dir, "testbed", "logs")
    run_dir = os.path.join(log_root, f"{name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    sock_dir = tempfile.mkdtemp(prefix="p2pbar-tb-")
    remove_stale_shm()

    guests = [Guest(a, i, run_dir, sock_dir) for i in range(a.guests)]
    # SIGTERM (ctest's timeout, CI) must still clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    rc = 0
    try:
        for g in guests:
            g.prepare(a.script, a.script_args)
        icount = "" if a.icount is None else f"icount shift {a.icount}, "
        print(f"run-in-guest: {name}: {a.flavour} kernel {a.kver}, "
              f"{a.guests} guest(s), smp {a.smp}, mem {a.mem}, {icount}"
              f"BAR {a.bar_size >> 20} MiB, timeout {a.timeout} s, logs {run_dir}", flush=True)
        if a.host_pre and run_hook(a.host_pre, guests, run_dir, "pre"):
            return 1
        for g in guests:
            g.start(image, a.build_dir)
            if a.guests == 2 and g.index == 0:
                wait_for_socket(os.path.join(sock_dir, "wire.sock"), g)
        beside = None
        if a.host_while:
            beside = subprocess.Popen(a.host_while, shell=True,
                                      env=hook_env(guests, run_dir),
                                      preexec_fn=die_with_parent)
        timed_out, ended_badly = wait_guests(guests, a)
        for g in guests:
            rc = rc or guest_rc(g, a, timed_out, ended_badly)
        if beside:
            rc = rc or beside_rc(beside, a)
        if a.host_post:
            rc = rc or run_hook(a.host_post, guests, run_dir, "post")
        return rc
    finally:
        for g in guests:
            g.cleanup()
        shutil.rmtree(sock_dir, ignore_errors=True)
        print(f"run-in-guest: {name}: exit {rc}", flush=True)

if __name__ == "__main__":
    sys.exit(main())
