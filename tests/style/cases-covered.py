#!/usr/bin/env python3
"""Every case a harness test program lists is run by some ctest test.

usage: cases-covered.py BUILD_DIR [--opt-in FILE] PROGRAM:SCRIPT...

PROGRAM (a built test program, t_harness.h) lists its cases with
--list; SCRIPT is the guest script that runs them. A case no test of
SCRIPT names (as an argument, alone or in an a,b,c list) is dead code or
a forgotten test: fail, naming it. FILE lists the tests this
configuration leaves out (make test-debug, test-sid run them), one
"SCRIPT ARGS..." line each: their cases count as run. (A name a test gives that the program
does not have fails in that test's own run: "no case".)
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile


def test_args(build_dir):
    # From a copy of the CTestTestfile.cmake tree: ctest run in the build
    # tree itself would rewrite Testing/Temporary/LastTest.log under the
    # ctest run this test is part of, whose log make test reads.
    with tempfile.TemporaryDirectory() as tmp:
        for d, _, files in os.walk(build_dir):
            if "CTestTestfile.cmake" in files:
                to = os.path.join(tmp, os.path.relpath(d, build_dir))
                os.makedirs(to, exist_ok=True)
                shutil.copy(os.path.join(d, "CTestTestfile.cmake"), to)
        out = subprocess.run(["ctest", "--test-dir", tmp, "--show-only=json-v1"],
                             check=True, capture_output=True, text=True).stdout
    for t in json.loads(out)["tests"]:
        yield t["name"], t.get("command", [])


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[2])
    build_dir = sys.argv[1]
    pairs = sys.argv[2:]
    tests = list(test_args(build_dir))
    if pairs[:1] == ["--opt-in"] and len(pairs) > 1:
        with open(pairs[1]) as f:
            tests += [("opt-in", l.split()) for l in f if l.strip()]
        pairs = pairs[2:]
    missing = []
    total = 0
    for pair in pairs:
        prog, script = pair.split(":", 1)
        listed = subprocess.run([os.path.join(build_dir, prog), "--list"], check=True,
                                capture_output=True, text=True).stdout.split("\n")
        cases = [l.split()[0] for l in listed if l.strip()]
        if not cases:
            sys.exit(f"cases-covered: {prog} --list gave no case")
        named = set()
        for _, cmd in tests:
            if any(c.endswith(script) for c in cmd):
                for a in cmd:
                    named.update(a.split(","))
        missing += [f"{prog}: {c}" for c in cases if c not in named]
        total += len(cases)
    if missing:
        sys.exit("cases-covered: no test runs: " + ", ".join(missing))
    print(f"RESULT: each of the {total} cases of {len(pairs)} test programs is run by a test")


if __name__ == "__main__":
    main()
