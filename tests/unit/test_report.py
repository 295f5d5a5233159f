"""Host-only tests of bench/report.py: the ratios it derives and --check."""
import os
import subprocess
import sys
import tempfile
import unittest

BENCH = os.path.join(os.path.dirname(__file__), "..", "..", "bench")
sys.path.insert(0, BENCH)
import report  # noqa: E402

MIB = 1 << 20


class CopyGap(unittest.TestCase):
    def test_instructions_per_kib_saved_by_io_copies(self):
        # 4 MiB copies: RAM memcpy 384, I/O copies 256 instructions per KiB
        data = {("ICOPY", "memcpy_ram", 4 * MIB): [5, 384 * 4096, 384 * 4096, 384 * 4096],
                ("ICOPY", "copy_from_bar", 4 * MIB): [5, 256 * 4096, 256 * 4096, 256 * 4096],
                ("ICOPY", "copy_to_bar", 4 * MIB): [5, 256 * 4096, 256 * 4096, 256 * 4096]}
        self.assertAlmostEqual(report.copy_gap(data), 256)

    def test_missing_copy_gives_none(self):
        data = {("ICOPY", "memcpy_ram", MIB): [5, 1, 1, 1]}
        self.assertIsNone(report.copy_gap(data))


class CopyDelay(unittest.TestCase):
    def test_seconds_per_mib_beyond_ram_copies(self):
        # 1 MiB in 1 ms (RAM) and 2 ms (each I/O copy): 2 ms more per MiB
        attach = {("memcpy_ram", MIB): [7, 1_000_000, 1, 1],
                  ("copy_from_bar", MIB): [7, 2_000_000, 1, 1],
                  ("copy_to_bar", MIB): [7, 2_000_000, 1, 1],
                  MIB: [50, 1, 1, 1, 1, 1, 1]}  # an ATTACH entry is ignored
        self.assertAlmostEqual(report.copy_delay(attach), 0.002)

    def test_missing_copy_gives_none(self):
        self.assertIsNone(report.copy_delay({("memcpy_ram", MIB): [7, 1, 1, 1]}))


class Check(unittest.TestCase):
    def run_report(self, lines):
        with tempfile.TemporaryDirectory() as out:
            env = os.path.join(out, "versions.env")
            with open(env, "w") as f:
                f.write("KVER=test\n")
            raw = os.path.join(out, "raw.txt")
            with open(raw, "w") as f:
                f.write("\n".join(lines) + "\n")
            return subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), out, env,
                                   raw, "--check"], capture_output=True, text=True)

    def test_missing_figures_fail_the_check(self):
        r = self.run_report(["BW icount read host 65536 1 180.0",
                             "BW icount read dmabuf 65536 1 190.0"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("bandwidth loopback", r.stderr)
        self.assertIn("instruction-counted kernel copies", r.stderr)
        self.assertNotIn("bandwidth icount", r.stderr)

    def test_zero_figure_fails_the_check(self):
        r = self.run_report(["BW icount read host 65536 1 0.0",
                             "BW icount read dmabuf 65536 1 190.0"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("bandwidth icount read 65536 (a run reported 0)", r.stderr)

    def test_two_guests_without_fabtests_fail_the_check(self):
        r = self.run_report(["BW two-guests write host 65536 1 20.0",
                             "BW two-guests write dmabuf 65536 1 19.0"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("fabtests two-guests", r.stderr)

    def test_fabtests_host_without_p2pbar_is_missing(self):
        r = self.run_report(["FABTEST two-guests rma_write host 1048576 1 8.0",
                             "FABTEST two-guests rdm_tagged host 1048576 1 6.0",
                             "FABTEST two-guests rdm_tagged dmabuf 1048576 1 5.5"])
        self.assertEqual(r.returncode, 1)
        self.assertIn("fabtests two-guests rma_write 1048576", r.stderr)
        self.assertNotIn("fabtests two-guests rdm_tagged", r.stderr)


if __name__ == "__main__":
    unittest.main()
