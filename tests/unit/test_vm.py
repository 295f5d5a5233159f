"""Host-only tests of the testbed runner's pure parts."""
import argparse
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "testbed"))
import vm  # noqa: E402


class ParseSize(unittest.TestCase):
    def test_units(self):
        self.assertEqual(vm.parse_size("256M"), 256 << 20)
        self.assertEqual(vm.parse_size("4G"), 4 << 30)
        self.assertEqual(vm.parse_size("4GiB"), 4 << 30)
        self.assertEqual(vm.parse_size("4096"), 4096)

    def test_garbage(self):
        for bad in ("", "M", "-1M", "1.5G", "12Q"):
            with self.assertRaises(argparse.ArgumentTypeError):
                vm.parse_size(bad)


class Quote(unittest.TestCase):
    def test_roundtrip_through_sh(self):
        for s in ("plain", "with space", "it's", "$HOME", "a\"b", ""):
            out = subprocess.run(["sh", "-c", "printf %s " + vm.shquote(s)],
                                 capture_output=True, text=True).stdout
            self.assertEqual(out, s)


class StaleShm(unittest.TestCase):
    def test_only_dead_runners_files_go(self):
        dead = subprocess.Popen(["true"])
        dead.wait()
        stale = f"{vm.SHM_PREFIX}{dead.pid}-g0"
        live = f"{vm.SHM_PREFIX}{os.getpid()}-g0"
        other = "/dev/shm/not-ours-p2pbar-test"
        for p in (stale, live, other):
            open(p, "w").close()
        try:
            vm.remove_stale_shm()
            self.assertFalse(os.path.exists(stale))
            self.assertTrue(os.path.exists(live))
            self.assertTrue(os.path.exists(other))
        finally:
            for p in (stale, live, other):
                if os.path.exists(p):
                    os.unlink(p)


COMPLAINTS = (
    "WARNING: CPU: 0 PID: 1 at foo.c:1", "BUG: KASAN: use-after-free",
    "unreferenced object 0xffff", "WARNING: possible circular locking",
    "BUG: sleeping function called from invalid context at x.c:1",
    "WARNING: inconsistent lock state", "WARNING: suspicious RCU usage",
    "INFO: trying to register non-static key.",
    "refcount_t: underflow; use-after-free.",
    "kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)",
    "DMA-API: pci 0000:00:03.0: device driver tries to free DMA memory",
)
NOT_COMPLAINTS = (
    "p2pbar: exporting BAR 2", "rxe0: port active",
    "kmemleak: Kernel memory leak detector initialized (mem pool available: 31000)",
    "DMA-API: debugging enabled by kernel config",
    "DMA-API: preallocated 65536 debug entries",
)


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


class KernelTrouble(unittest.TestCase):
    def test_rule(self):
        for line in COMPLAINTS:
            self.assertTrue(vm.is_complaint(f"[    1.000000] {line}"), line)
        for line in NOT_COMPLAINTS:
            self.assertFalse(vm.is_complaint(f"[    1.000000] {line}"), line)

    def test_guest_scripts_apply_the_same_rule(self):
        """lib.sh's kernel_complaints (grep -E) and vm.py (re) agree."""
        lines = [f"[{i:5}.000000] {l}" for i, l in enumerate(COMPLAINTS + NOT_COMPLAINTS)]
        lib = os.path.join(os.path.dirname(__file__), "..", "..", "testbed", "guest", "lib.sh")
        out = subprocess.run(
            ["bash", "-c", '. "$1" && kernel_complaints', "-", lib],
            input="\n".join(lines) + "\n", capture_output=True, text=True,
            env=dict(os.environ, P2PBAR_SRC=os.path.join(os.path.dirname(__file__), "..", "..")))
        self.assertEqual(out.stderr, "")
        self.assertEqual(out.stdout.splitlines(), [l for l in lines if vm.is_complaint(l)])
        self.assertEqual(len(out.stdout.splitlines()), len(COMPLAINTS))

    def test_console_warning_flooded_out_of_dmesg(self):
        """The ring buffer wrapped: the console log still fails the run."""
        with tempfile.TemporaryDirectory() as d:
            console = write(os.path.join(d, "console-g0.log"),
                            "[    0.000000] Linux version 6.12\r\n"
                            "[    5.100000] WARNING: runner self-test: early warning\r\n"
                            "[    6.000000] p2pbar_selftest: PASS case\r\n")
            dmesg = write(os.path.join(d, "dmesg.txt"),
                          "[    6.000000] p2pbar_selftest: PASS case\n")
            self.assertEqual(vm.kernel_trouble(console, dmesg),
                             ["[    5.100000] WARNING: runner self-test: early warning"])

    def test_console_script_output_is_not_the_kernel(self):
        with tempfile.TemporaryDirectory() as d:
            console = write(os.path.join(d, "console-g0.log"),
                            "WARNING: the script says so\r\n"
                            "marker: BUG: in the script's output\r\n"
                            "[    2.000000] virtio_net virtio1 eth0: renamed\r\n"
                            # a kernel line written amid a script's line
                            "half a line[    3.000000] BUG: KASAN: slab-use-after-free\r\n"
                            "and the rest of it\r\n"
                            # CONFIG_PRINTK_CALLER's caller id
                            "[    4.000000][  T321] WARNING: CPU: 1 PID: 321 at b.c:2\r\n")
            self.assertEqual(vm.kernel_trouble(console),
                             ["[    3.000000] BUG: KASAN: slab-use-after-free",
                              "[    4.000000][  T321] WARNING: CPU: 1 PID: 321 at b.c:2"])

    def test_console_and_dmesg_together(self):
        """A line in both is given once; dmesg adds what the console did not print."""
        with tempfile.TemporaryDirectory() as d:
            console = write(os.path.join(d, "console-g0.log"),
                            "[    4.000000] WARNING: CPU: 1 PID: 9 at a.c:1 f+0x1/0x2\r\n")
            dmesg = write(os.path.join(d, "dmesg.txt"),
                          "[    4.000000] WARNING: CPU: 1 PID: 9 at a.c:1 f+0x1/0x2\n"
                          "[    7.000000] DMA-API: preallocated 65536 debug entries\n"
                          "[    8.000000] refcount_t: saturated; leaking memory.\n")
            self.assertEqual(vm.kernel_trouble(console, dmesg, os.path.join(d, "none")),
                             ["[    4.000000] WARNING: CPU: 1 PID: 9 at a.c:1 f+0x1/0x2",
                              "[    8.000000] refcount_t: saturated; leaking memory."])

    def test_kmemleak_report_fails_a_run(self):
        with tempfile.TemporaryDirectory() as d:
            console = os.path.join(d, "console-g0.log")
            dmesg, leaks = os.path.join(d, "dmesg.txt"), os.path.join(d, "kmemleak.txt")
            write(console, "[    1.000000] virtio_net virtio1 eth0: renamed\r\n")
            write(dmesg, "[    1.000000] virtio_net virtio1 eth0: renamed\n")
            self.assertEqual(vm.kernel_trouble(console, dmesg, leaks), [])
            write(leaks, "unreferenced object 0xffff888003a1c000 (size 64):\n"
                         "  comm \"insmod\", pid 201, jiffies 4294937296\n"
                         "  backtrace (crc 0):\n")
            self.assertEqual(vm.kernel_trouble(console, dmesg, leaks),
                             ["unreferenced object 0xffff888003a1c000 (size 64):"])


class PciDevices(unittest.TestCase):
    def devices(self, **kw):
        a = argparse.Namespace(**dict({"edu": False, "topology": "rc"}, **kw))
        return [d for i, d in enumerate(vm.pci_devices(a)) if i % 2]

    def test_rc(self):
        self.assertEqual(self.devices(), ["ivshmem-plain,memdev=accmem"])
        self.assertEqual(self.devices(edu=True), ["ivshmem-plain,memdev=accmem",
                                                  "edu,dma_mask=0xffffffffffffffff"])

    def test_switch_puts_both_on_its_downstream_ports(self):
        devs = self.devices(edu=True, topology="switch")
        ports = {d.split(",")[0]: d for d in devs}
        self.assertIn("x3130-upstream", ports)
        dn = [d.split("id=")[1].split(",")[0] for d in devs
              if d.startswith("xio3130-downstream")]
        self.assertEqual(len(dn), 2)
        self.assertTrue(ports["ivshmem-plain"].endswith("bus=" + dn[0]))
        self.assertTrue(ports["edu"].endswith("bus=" + dn[1]))


if __name__ == "__main__":
    unittest.main()
