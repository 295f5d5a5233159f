"""util/p2pbar_pattern.h and its Python twin give the same bytes.

usage: python3 -m unittest tests/unit/test_pattern.py (PATTERN_WORDS names
the built tests/unit/pattern_words program).
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../util"))
import p2pbar_pattern  # noqa: E402


class Twin(unittest.TestCase):
    def test_c_and_python_agree(self):
        out = subprocess.run([os.environ["PATTERN_WORDS"]], check=True,
                             capture_output=True, text=True).stdout.splitlines()
        words = [l for l in out if not l.startswith("fill")]
        self.assertGreater(len(words), 100)
        for l in words:
            seed, n, w = (int(v) for v in l.split())
            self.assertEqual(p2pbar_pattern.word(seed, n), w, l)
        fill = [l for l in out if l.startswith("fill")][0].split()[1:]
        self.assertEqual(bytes(int(b) for b in fill), p2pbar_pattern.data(0x6e57, 61))

    def test_mismatch(self):
        d = bytearray(p2pbar_pattern.data(9, 100))
        self.assertIsNone(p2pbar_pattern.mismatch(9, bytes(d)))
        d[99] ^= 0x80
        self.assertEqual(p2pbar_pattern.mismatch(9, bytes(d)), 99)
        self.assertEqual(p2pbar_pattern.mismatch(10, bytes(d)), 0)


if __name__ == "__main__":
    unittest.main()
