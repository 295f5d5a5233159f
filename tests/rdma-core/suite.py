#!/usr/bin/env python3
"""Run rdma-core's python test suite so that one crash cannot hide the rest.

  suite.py run SUITE_DIR OUT DEV MODULE...   (in the guest)
  suite.py compare STOCK OURS [--flaky FILE] [--require-pass PREFIX OURS_FILE]...

run: each test module in its own process (rdma-core's run_tests.py in one
process dies of a segfault in libibverbs after ~73 tests on 56.1; under
TCG a process costs ~10 s to load pyverbs, so MODULE+MODULE... shares
one); a test
during which the process dies (signal, exit) or stops reporting for
--hang seconds is recorded as crash or hang and the process is restarted
at the next test. OUT gets one line per test: STATUS<TAB>ID<TAB>DETAIL,
STATUS one of ok skip fail error crash hang xfail xpass (then its
seconds); OUT.log the
tests' output and tracebacks.

compare: every test that passes on stock must pass on ours, except those
in the known-flaky file (reported, not judged); --require-pass: every test
of ours in OURS_FILE whose id starts with PREFIX passes, and there is at
least one (the dma-buf tests must really run). Prints per-side counts and
the differences; exits 1 on a regression.
"""
import argparse
import collections
import faulthandler
import importlib
import os
import subprocess
import sys
import time
import types
import unittest

STATUSES = ("ok", "skip", "fail", "error", "crash", "hang", "xfail", "xpass")


class EventResult(unittest.TextTestResult):
    """Writes 'start ID' and 'STATUS ID DETAIL' lines as they happen."""

    def __init__(self, events, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.events = events

    def _emit(self, status, tid, detail=""):
        fields = [status, tid, detail]
        if status != "start":
            fields.append(f"{time.monotonic() - self.t0:.1f}")
        line = "\t".join(str(f).replace("\t", " ").replace("\n", " ")[:300] for f in fields)
        os.write(self.events, (line + "\n").encode())

    def startTest(self, test):
        self.t0 = time.monotonic()
        self._emit("start", test.id())
        super().startTest(test)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._emit("ok", test.id())

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._emit("skip", test.id(), reason)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._emit("fail", test.id(), err[1])

    def addError(self, test, err):
        super().addError(test, err)
        self._emit("error", test.id(), f"{err[0].__name__}: {err[1]}")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._emit("xfail", test.id())

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._emit("xpass", test.id())


def flatten(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from flatten(t)
        else:
            yield t


def child(argv):
    """child SUITE_DIR EVENTS_FD DEV NAME...: lists the tests, then runs them"""
    suite_dir, events, dev, names = argv[0], int(argv[1]), argv[2], argv[3:]
    faulthandler.enable()  # a crash's python stack into the log
    tests_dir = os.path.join(suite_dir, "tests")
    sys.path[:0] = [tests_dir, suite_dir]
    from args_parser import parser  # rdma-core's tests/args_parser.py

    sys.argv = [sys.argv[0], "--dev", dev]
    parser.parse_args()
    # The package without its __init__.py, which imports every test
    # module (half a minute under TCG): only the named ones are loaded.
    pkg = types.ModuleType("tests")
    pkg.__path__ = [tests_dir]
    sys.modules["tests"] = pkg
    # first, as in __init__'s order: utils and efa_base import each other
    importlib.import_module("tests.utils")

    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromName(n if n.startswith("tests.") else "tests." + n) for n in names)
    for t in flatten(suite):
        os.write(events, f"test\t{t.id()}\n".encode())
    runner = unittest.TextTestRunner(
        stream=sys.stderr, verbosity=2,
        resultclass=lambda *a, **k: EventResult(events, *a, **k))
    runner.run(suite)
    return 0


def spawn(suite_dir, dev, args, log, hang):
    """Runs a child; returns (events lines, how it ended)."""
    r, w = os.pipe()
    p = subprocess.Popen([sys.executable, __file__, "child", suite_dir, str(w), dev] + args,
                         stdout=log, stderr=subprocess.STDOUT, pass_fds=(w,))
    os.close(w)
    os.set_blocking(r, False)
    buf, last = b"", time.monotonic()
    ended = None
    while True:
        try:
            chunk = os.read(r, 65536)
        except BlockingIOError:
            chunk = None
        if chunk:
            buf += chunk
            last = time.monotonic()
            continue
        if chunk == b"" and p.poll() is not None:
            break
        if time.monotonic() - last > hang:
            p.kill()
            ended = "hang"
        time.sleep(0.05)
    os.close(r)
    if ended is None:
        rc = p.wait()
        ended = "exit 0" if rc == 0 else (f"signal {-rc}" if rc < 0 else f"exit {rc}")
    return buf.decode(errors="replace").splitlines(), ended


def run(argv):
    ap = argparse.ArgumentParser(prog="suite.py run")
    ap.add_argument("suite_dir")
    ap.add_argument("out")
    ap.add_argument("dev")
    ap.add_argument("modules", nargs="+",
                    help="test_mr, test_mr.DmaBufMRTest, or test_mr+test_qp: in one process")
    ap.add_argument("--hang", type=int, default=180, help="seconds without progress")
    a = ap.parse_args(argv)
    with open(a.out, "w") as out, open(a.out + ".log", "w") as log:
        def record(status, tid, detail="", secs=""):
            out.write(f"{status}\t{tid}\t{detail}\t{secs}\n")
            out.flush()

        for mod in a.modules:
            t0 = time.monotonic()
            log.write(f"=== {mod}\n")
            log.flush()
            todo, counts, first = mod.split("+"), collections.Counter(), True
            while todo:
                events, ended = spawn(a.suite_dir, a.dev, todo, log, a.hang)
                done, running = set(), None
                if first:
                    # names as the loader gives them, to resume after a crash
                    todo = [ev.split("\t")[1] for ev in events if ev.startswith("test\t")]
                    first = False
                    if not todo:
                        status = "hang" if ended == "hang" else "crash"
                        record(status, f"tests.{mod}", f"loading the module: {ended}")
                        counts[status] += 1
                        break
                for ev in events:
                    f = ev.split("\t")
                    if f[0] == "start":
                        running = f[1]
                    elif f[0] in STATUSES:
                        record(f[0], f[1], *f[2:4])
                        counts[f[0]] += 1
                        done.add(f[1])
                        if f[1] == running:
                            running = None
                if running is not None:
                    status = "hang" if ended == "hang" else "crash"
                    record(status, running, ended)
                    counts[status] += 1
                    done.add(running)
                elif ended != "exit 0":
                    # died between tests (garbage collection, exit)
                    last = max((todo.index(d) for d in done if d in todo), default=-1)
                    record("crash", f"tests.{mod}.<after {todo[last] if last >= 0 else 'start'}>",
                           ended)
                    counts["crash"] += 1
                    if last < 0:
                        break
                # unittest runs the named tests in order: resume after the
                # last one that reported
                idx = [i for i, t in enumerate(todo) if t in done]
                if not idx or ended == "exit 0":
                    break
                todo = todo[max(idx) + 1:]
            log.write(f"=== {mod}: {dict(counts)} in {time.monotonic() - t0:.0f} s\n")
            log.flush()
            print(f"{mod}: {' '.join(f'{k}={v}' for k, v in sorted(counts.items()))}"
                  f" in {time.monotonic() - t0:.0f} s", flush=True)
    return 0


def load(path):
    res = {}
    with open(path) as f:
        for line in f:
            status, tid, detail = (line.rstrip("\n").split("\t") + [""])[:3]
            res[tid] = (status, detail)
    return res


def counts(res):
    c = collections.Counter(s for s, _ in res.values())
    return " ".join(f"{s}={c[s]}" for s in STATUSES if c[s] or s in ("ok", "skip", "fail", "crash"))


def compare(argv):
    ap = argparse.ArgumentParser(prog="suite.py compare")
    ap.add_argument("stock")
    ap.add_argument("ours")
    ap.add_argument("--flaky", help="known-flaky ids, one a line, # comments")
    ap.add_argument("--require-pass", nargs=2, action="append", default=[],
                    metavar=("PREFIX", "RESULTS"))
    a = ap.parse_args(argv)
    stock, ours = load(a.stock), load(a.ours)
    flaky = set()
    if a.flaky:
        with open(a.flaky) as f:
            flaky = {ln.split("#")[0].strip() for ln in f} - {""}
    print(f"stock: {counts(stock)}")
    print(f"ours:  {counts(ours)}")
    bad = 0
    for tid in sorted(set(stock) | set(ours)):
        s, o = stock.get(tid, ("absent", "")), ours.get(tid, ("absent", ""))
        if s[0] == o[0]:
            continue
        regress = s[0] == "ok"
        tag = "KNOWN-FLAKY" if tid in flaky else ("REGRESSION" if regress else "differs")
        print(f"{tag}: {tid}: stock {s[0]}, ours {o[0]} {o[1]}".rstrip())
        bad += regress and tid not in flaky
    for prefix, path in a.require_pass:
        res = {t: v for t, v in load(path).items() if t.startswith(prefix)}
        print(f"{prefix} in {os.path.basename(path)}: {counts(res)}")
        for tid, (s, d) in sorted(res.items()):
            if s != "ok":
                print(f"NOT PASSED: {tid}: {s} {d}".rstrip())
                bad += 1
        if not res:
            print(f"NOT RUN: no test {prefix}* in {path}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    fn = {"run": run, "compare": compare, "child": child}.get(cmd)
    if not fn:
        sys.exit(__doc__)
    sys.exit(fn(sys.argv[2:]))
