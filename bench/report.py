#!/usr/bin/env python3
"""Turn the benchmark's raw measurement lines into results.md and plots.

usage: report.py OUT_DIR IMAGE_ENV RAW_FILE... [--check] [--note=TEXT]

Raw lines (from bench/vm/bench.sh and the programs it runs):
  BW where verb mem size run MiB/s        perftest bandwidth
  LAT where verb mem size run usec        perftest latency (t_typical)
  ONESIDE where verb size MiB/s           perftest, dma-buf MR at the server only
  ZERO label attempt                      a perftest run reported 0 MiB/s; re-run
  CLOCK label attempt                     perftest's cycle-rate sample failed; it
                                          used /proc/cpuinfo's (perftest patch 0002)
  BOUNCE where mode size run MiB/s        bench/bounce.c
  REG kind size run reg_us dereg_us       bench/regcost.c
  ALLOC size run alloc_us free_us         bench/exporter-cost.c
  ATTACH size rounds am_med am_min am_max ud_med ud_min ud_max  (ns)
  MMAP kind size run MiB/s
  KCOPY kind size rounds med min max      (ns) in-kernel copy of SIZE bytes
  ICOPY kind size rounds med min max      the same in the instruction-counted
                                          guest (1 ns = 1 instruction)
  FABTEST where test mem size run MiB/s   fabtests (bench/fabtests patch), test
                                          rma_write|rma_read|msg|rdm_tagged

BW lines of where "icount" come from a guest under QEMU -icount shift=0
(bench/run.sh): its clock advances 1 ns per instruction executed, so
their MiB/s are MiB per 10^9 guest instructions.

Every figure is the median over the repeated runs with [min, max].
--check: fail unless every part produced positive figures (the ctest).
"""
import argparse
import collections
import os
import statistics
import subprocess
import sys

KIB = 1024
MIB = 1 << 20


def human(n):
    n = int(n)
    for unit, div in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", KIB)):
        if n >= div and n % div == 0:
            return f"{n // div} {unit}"
    return f"{n} B"


def stats(vals):
    return statistics.median(vals), min(vals), max(vals)


def fmt(vals, digits=0):
    med, lo, hi = stats(vals)
    return f"{med:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def ratio(num, den):
    a, b = statistics.median(num), statistics.median(den)
    return f"{a / b:.3g}" if b else "n/a"


def pair_ratios(data, where, verb, size):
    """dma-buf ÷ host of each round that has both runs, as 'lo-hi' (or '')."""
    host = dict(data.get(("BWRUN", where, verb, "host", size), []))
    r = [d / host[k] for k, d in data.get(("BWRUN", where, verb, "dmabuf", size), [])
         if host.get(k)]
    return f"{min(r):.2f}-{max(r):.2f}" if r else ""


def parse(paths):
    data = collections.defaultdict(list)
    attach = {}
    for path in paths:
        with open(path) as f:
            for line in f:
                w = line.split()
                if not w:
                    continue
                kind = w[0]
                if kind == "BW" or kind == "LAT":
                    data[(kind, w[1], w[2], w[3], int(w[4]))].append(float(w[6]))
                    # by run, to pair each dma-buf run with its round's host run
                    data[(kind + "RUN", w[1], w[2], w[3], int(w[4]))].append((w[5], float(w[6])))
                elif kind == "ZERO" or kind == "CLOCK":
                    data[(kind,)].append(w[1])
                elif kind == "ONESIDE":
                    data[(kind, w[1], w[2], int(w[3]))].append(float(w[4]))
                elif kind == "BOUNCE":
                    data[(kind, w[1], w[2], int(w[3]))].append(float(w[5]))
                elif kind == "REG":
                    data[("REG", w[1], int(w[2]))].append(float(w[4]))
                    data[("DEREG", w[1], int(w[2]))].append(float(w[5]))
                elif kind == "ALLOC":
                    data[("ALLOC", int(w[1]))].append(float(w[3]))
                    data[("FREE", int(w[1]))].append(float(w[4]))
                elif kind == "ATTACH":
                    attach[int(w[1])] = [int(x) for x in w[2:]]
                elif kind == "KCOPY":
                    attach[(w[1], int(w[2]))] = [int(x) for x in w[3:]]
                elif kind == "ICOPY":
                    data[(kind, w[1], int(w[2]))] = [int(x) for x in w[3:]]
                elif kind == "MMAP":
                    data[("MMAP", w[1], int(w[2]))].append(float(w[4]))
                elif kind == "FABTEST":
                    data[(kind, w[1], w[2], w[3], int(w[4]))].append(float(w[6]))
    return data, attach


def gnuplot(out, name, title, ylabel, series, logy=False, xlabel="message size (bytes)"):
    """SERIES: [(label, [(x, med, lo, hi)])]; log2 x axis of sizes;
    error bars are [min, max]."""
    dat = os.path.join(out, f"{name}.dat")
    with open(dat, "w") as f:
        for label, pts in series:
            f.write(f"# {label}\n")
            for x, med, lo, hi in pts:
                f.write(f"{x} {med} {lo} {hi}\n")
            f.write("\n\n")
    # series come in pairs (host, dma-buf; direct, bounce): one colour a pair
    plots = ", ".join(
        f"'{name}.dat' index {i} using 1:2:3:4 with yerrorlines "
        f"lc {i // 2 + 1} dt {i % 2 + 1} title '{label}'"
        for i, (label, _) in enumerate(series))
    script = f"""set terminal pngcairo size 900,560
set output '{name}.png'
set title '{title}'
set xlabel '{xlabel}'
set ylabel '{ylabel}'
set logscale x 2
set format x '%.0b%B'
set key outside right
set grid
{'set logscale y 10' if logy else 'set yrange [0:*]'}
plot {plots}
"""
    with open(os.path.join(out, f"{name}.gp"), "w") as f:
        f.write(script)
    subprocess.run(["gnuplot", f"{name}.gp"], cwd=out, check=True)
    return f"{name}.png"


def pts(data, key_fn, sizes):
    res = []
    for s in sizes:
        vals = data.get(key_fn(s))
        if vals:
            res.append((s, *stats(vals)))
    return res


ICOUNT_TEXT = (
    "One guest under QEMU `-icount shift=0,sleep=off`, one vCPU: the guest's clock advances "
    "1 ns per instruction executed and skips idle time, so a figure is bytes per instruction "
    "of the whole data path (perftest, rxe, both MR kinds' copies) and does not move when the "
    "host is busy. READ and SEND wait for CQ events (`-e`) instead of spinning, so that the "
    "count is the transfer's work; WRITE polls (ib_write_bw has no `-e`). What it does not "
    "weigh: how long an instruction takes (under TCG and on hardware, a copy from a BAR "
    "costs more per instruction than one from RAM; the kernel-copy table below gives both "
    "per KiB).\n")


def copy_excess(copies, unit):
    """What a dma-buf MR's two copies per byte (memcpy_fromio out of one MR,
    memcpy_toio into the other) cost beyond a host MR's two RAM memcpys, in
    ns per UNIT bytes. COPIES: {(kind, size): [rounds, median ns, ...]}.
    None unless all three kinds were measured."""
    per_unit = {kind: v[1] / (size / unit) for (kind, size), v in copies.items() if v[1] > 0}
    if not all(k in per_unit for k in ("memcpy_ram", "copy_from_bar", "copy_to_bar")):
        return None
    return per_unit["copy_from_bar"] + per_unit["copy_to_bar"] - 2 * per_unit["memcpy_ram"]


def copy_gap(data):
    """Instructions per KiB that a dma-buf MR's two copies save over a host
    MR's in the instruction-counted guest (1 ns = 1 instruction), or None."""
    excess = copy_excess({k[1:]: v for k, v in data.items() if k[0] == "ICOPY"}, KIB)
    return None if excess is None else -excess


def copy_delay(attach):
    """Seconds per MiB that a dma-buf MR's two wall-clock kernel copies take
    beyond a host MR's, from the loopback guest's KCOPY lines, or None."""
    excess = copy_excess({k: v for k, v in attach.items() if isinstance(k, tuple)}, MIB)
    return None if excess is None else excess / 1e9


def icopy_table(md, data, missing):
    """The instruction-counted guest's kernel copies, in instructions per KiB."""
    names = {"memcpy_ram": "RAM → RAM memcpy (rxe's host MR path)",
             "copy_from_bar": "BAR → RAM memcpy_fromio (rxe's dma-buf MR, read)",
             "copy_to_bar": "RAM → BAR memcpy_toio (rxe's dma-buf MR, write)"}
    rows = sorted(k for k in data if k[0] == "ICOPY")
    if not rows:
        missing.append("instruction-counted kernel copies")
        return
    md.append("\n| kernel copy, instructions counted | size | instructions per KiB |")
    md.append("| --- | ---: | ---: |")
    for _, kind, size in rows:
        rounds, med, lo, hi = data[("ICOPY", kind, size)]
        if min(med, lo, hi) <= 0:
            missing.append(f"instruction-counted kernel copy {kind}")
            continue
        kib = size / KIB
        md.append(f"| {names.get(kind, kind)} | {human(size)} | {med / kib:.0f} "
                  f"[{lo / kib:.0f}, {hi / kib:.0f}] ({rounds} rounds) |")
    for kind in names:
        if not any(k[1] == kind for k in rows):
            missing.append(f"instruction-counted kernel copy {kind}")


def bandwidth_section(md, missing, data, attach, out, check):
    """1. perftest bandwidth and latency, host MR vs dma-buf MR, per where."""
    headings = {
        "loopback": "loopback (MiB/s)",
        "two-guests": "two-guests (MiB/s)",
        "icount": "loopback, instructions counted (MiB per 10⁹ guest instructions)",
    }
    for where, heading in headings.items():
        sizes = sorted({k[4] for k in data if k[0] == "BW" and k[1] == where})
        if not sizes:
            missing.append(f"bandwidth {where}")
            continue
        md.append(f"\n## 1. Bandwidth, host MR vs p2pbar dma-buf MR, {heading}\n")
        if where == "icount":
            md.append(ICOUNT_TEXT)
        # a column beside the ratio that says how much of it the copies explain
        extra = None
        if where == "icount" and (gap := copy_gap(data)) is not None:
            md.append(f"\"copies alike\": dma-buf ÷ host with the dma-buf run charged "
                      f"{gap:.0f} more instructions per KiB moved, what its two MR copies "
                      f"(one out of an MR, one into one) would have cost as RAM memcpys "
                      f"(kernel-copy table below): the difference of the rest of the "
                      f"data path.\n")

            def alike(h, d, gap=gap):
                # instructions per KiB = 10^9 / (MiB per 10^9 instructions * 1024)
                ih, idb = (1e9 / (statistics.median(v) * KIB) for v in (h, d))
                return ih / (idb + gap)
            extra = ("copies alike", alike)
        elif where == "loopback" and (delay := copy_delay(attach)) is not None:
            md.append(f"\"copies predict\": the dma-buf ÷ host that the kernel copies of "
                      f"section 4 alone predict: each byte is copied once out of an MR and "
                      f"once into one, which costs a dma-buf MR {delay * 1e3:.2f} ms per MiB "
                      f"more than a host MR (I/O copies against RAM memcpys) on top of the "
                      f"host MR's time per MiB.\n")
            extra = ("copies predict",
                     lambda h, d, delay=delay: 1 / (1 + delay * statistics.median(h)))
        if extra:
            md.append("| size | verb | host MR | dma-buf MR | dma-buf ÷ host | ÷ per round "
                      f"| {extra[0]} |")
            md.append("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
        else:
            md.append("| size | verb | host MR | dma-buf MR | dma-buf ÷ host | ÷ per round |")
            md.append("| ---: | --- | ---: | ---: | ---: | ---: |")
        series = []
        for verb in ("write", "read", "send"):
            for s in sizes:
                h = data.get(("BW", where, verb, "host", s))
                d = data.get(("BW", where, verb, "dmabuf", s))
                if not h and not d:
                    continue  # not measured at this size
                if not h or not d:
                    missing.append(f"bandwidth {where} {verb} {s}")
                    continue
                if min(h + d) <= 0:
                    missing.append(f"bandwidth {where} {verb} {s} (a run reported 0)")
                row = (f"| {human(s)} | {verb.upper()} | {fmt(h, 1)} | {fmt(d, 1)} "
                       f"| {ratio(d, h)} | {pair_ratios(data, where, verb, s)} |")
                if extra:
                    row += f" {extra[1](h, d):.3g} |"
                md.append(row)
            for mem in ("host", "dmabuf"):
                series.append((f"{verb.upper()} {mem}",
                               pts(data, lambda s: ("BW", where, verb, mem, s), sizes)))
        title = "loopback, instructions counted" if where == "icount" else where
        png = gnuplot(out, f"bw-{where}", f"RDMA bandwidth over rxe, {title}",
                      "MiB per 10^9 instructions" if where == "icount" else "MiB/s", series)
        md.append(f"\n![bandwidth {where}]({png})\n")
        if where == "icount":
            icopy_table(md, data, missing)
            continue
        lat = [(v, m) for v in ("write", "read", "send") for m in ("host", "dmabuf")
               if data.get(("LAT", where, v, m, 4096))]
        if lat:
            md.append(f"\nLatency of 4 KiB messages, {where} (µs, perftest t_typical)\n")
            md.append("| verb | host MR | dma-buf MR |")
            md.append("| --- | ---: | ---: |")
            for verb in ("write", "read", "send"):
                h = data.get(("LAT", where, verb, "host", 4096))
                d = data.get(("LAT", where, verb, "dmabuf", 4096))
                if h and d and min(h + d) > 0:
                    md.append(f"| {verb.upper()} | {fmt(h, 1)} | {fmt(d, 1)} |")
                else:
                    missing.append(f"latency {where} {verb}")
        one = [(v, data.get(("ONESIDE", where, v, MIB))) for v in ("write", "read", "send")]
        if all(v for _, v in one):
            if min(sum((v for _, v in one), [])) <= 0:
                missing.append(f"one-sided {where} (a run reported 0)")
            md.append(f"\nDma-buf MR at the server only (host MR at the client), 1 MiB, {where}: "
                      + ", ".join(f"{v.upper()} {fmt(x, 1)} MiB/s" for v, x in one) + "\n")
        else:
            missing.append(f"one-sided {where}")
    if check and not any(k[0] == "LAT" for k in data):
        missing.append("latency")  # the short run measures it


def bounce_section(md, missing, data, out):
    """2. direct into the BAR vs bounce through host memory."""
    for where in ("loopback", "two-guests"):
        sizes = sorted({k[3] for k in data if k[0] == "BOUNCE" and k[1] == where})
        if not sizes:
            missing.append(f"bounce {where}")
            continue
        md.append(f"\n## 2. Direct into the BAR vs bounce through host memory, {where} (MiB/s)\n")
        md.append("RDMA WRITE-with-immediate stream, 2 slots, credit per message (bench/bounce.c); "
                  "bounce = into a host buffer, then memcpy into the BAR; data verified in the BAR.\n")
        md.append("| size | direct | bounce | direct ÷ bounce |")
        md.append("| ---: | ---: | ---: | ---: |")
        for s in sizes:
            d = data.get(("BOUNCE", where, "direct", s))
            b = data.get(("BOUNCE", where, "bounce", s))
            if not d or not b or min(d + b) <= 0:
                missing.append(f"bounce {where} {s}")
                continue
            md.append(f"| {human(s)} | {fmt(d, 1)} | {fmt(b, 1)} | {ratio(d, b)} |")
        png = gnuplot(out, f"bounce-{where}", f"direct vs bounce, {where}", "MiB/s",
                      [(m, pts(data, lambda s: ("BOUNCE", where, m, s), sizes))
                       for m in ("direct", "bounce")])
        md.append(f"\n![bounce {where}]({png})\n")


def registration_section(md, missing, data, out):
    """3. MR registration cost."""
    sizes = sorted({k[2] for k in data if k[0] == "REG"})
    if sizes:
        md.append("\n## 3. Registration cost (µs)\n")
        md.append("| size | ibv_reg_mr (host) | ibv_reg_dmabuf_mr | reg dma-buf ÷ host "
                  "| dereg host | dereg dma-buf |")
        md.append("| ---: | ---: | ---: | ---: | ---: | ---: |")
        for s in sizes:
            vals = [data.get((k, m, s)) for k in ("REG", "DEREG") for m in ("host", "dmabuf")]
            if not all(vals) or min(sum(vals, [])) <= 0:
                missing.append(f"registration {s}")
                continue
            rh, rd, dh, dd = vals
            md.append(f"| {human(s)} | {fmt(rh)} | {fmt(rd)} | {ratio(rd, rh)} "
                      f"| {fmt(dh)} | {fmt(dd)} |")
        series = [(f"{what} {m}", pts(data, lambda s: (k, m, s), sizes))
                  for k, what in (("REG", "reg"), ("DEREG", "dereg")) for m in ("host", "dmabuf")]
        png = gnuplot(out, "registration", "MR registration cost", "µs", series, logy=True,
                      xlabel="MR size (bytes)")
        md.append(f"\n![registration]({png})\n")
    else:
        missing.append("registration")


def exporter_section(md, missing, data, attach):
    """4. the exporter's own costs: alloc, attach+map, CPU and kernel copies."""
    kcopy = {k: v for k, v in attach.items() if isinstance(k, tuple)}
    attach = {k: v for k, v in attach.items() if not isinstance(k, tuple)}
    sizes = sorted({k[1] for k in data if k[0] == "ALLOC"})
    if sizes and attach:
        md.append("\n## 4. Exporter costs\n")
        md.append("| size | alloc+export (µs) | free (µs) | attach+map (µs) | unmap+detach (µs) |")
        md.append("| ---: | ---: | ---: | ---: | ---: |")
        for s in sizes:
            a, f = data.get(("ALLOC", s)), data.get(("FREE", s))
            t = attach.get(s)
            if not a or not f or not t or min(a) <= 0 or min(t) <= 0:
                missing.append(f"exporter {s}")
                continue
            am = f"{t[1] / 1e3:.1f} [{t[2] / 1e3:.1f}, {t[3] / 1e3:.1f}]"
            ud = f"{t[4] / 1e3:.1f} [{t[5] / 1e3:.1f}, {t[6] / 1e3:.1f}]"
            md.append(f"| {human(s)} | {fmt(a)} | {fmt(f)} | {am} | {ud} |")
        md.append(f"\nalloc+export includes zeroing the buffer through the BAR; attach+map is "
                  f"timed in the kernel by the bench importer (bench/kmod, importing with "
                  f"the exporter's own PCI function) over {next(iter(attach.values()))[0]} "
                  f"rounds (median [min, max] of those rounds).\n")
    else:
        missing.append("exporter alloc/attach")
    mm = sorted({(k[2], k[1]) for k in data if k[0] == "MMAP"})
    if mm:
        md.append("\n| CPU copy | size | MiB/s |")
        md.append("| --- | ---: | ---: |")
        names = {"bar_write": "host → BAR (mmap, WC)", "bar_read": "BAR → host (mmap)",
                 "host_memcpy": "host → host memcpy"}
        for s, kind in mm:
            v = data[("MMAP", kind, s)]
            if min(v) <= 0:
                missing.append(f"mmap {kind}")
            md.append(f"| {names.get(kind, kind)} | {human(s)} | {fmt(v)} |")
    knames = {"copy_to_bar": "kernel: RAM → BAR (memcpy_toio via vmap, rxe's dma-buf MR path)",
              "copy_from_bar": "kernel: BAR → RAM (memcpy_fromio via vmap)",
              "memcpy_ram": "kernel: RAM → RAM memcpy (rxe's host MR path)"}
    for (kind, s), v in sorted(kcopy.items()):
        rounds, med, lo, hi = v
        if min(v) <= 0:
            missing.append(f"kernel copy {kind}")
            continue
        md.append(f"| {knames.get(kind, kind)} | {human(s)} | {s / med * 1e9 / MIB:.0f} "
                  f"[{s / hi * 1e9 / MIB:.0f}, {s / lo * 1e9 / MIB:.0f}] ({rounds} rounds) |")
    for kind in ("bar_write", "bar_read", "host_memcpy"):
        if not any(k[0] == "MMAP" and k[1] == kind for k in data):
            missing.append(f"mmap {kind}")
    for kind in knames:
        if not any(k[0] == kind for k in kcopy):
            missing.append(f"kernel copy {kind}")


def fabtests_section(md, missing, data, out):
    """5. fabtests between two guests, host memory vs p2pbar memory."""
    fab_names = {"rma_write": "fi_rma_bw -o write (verbs, FI_EP_MSG)",
                 "rma_read": "fi_rma_bw -o read (verbs, FI_EP_MSG)",
                 "msg": "fi_msg_bw (verbs, FI_EP_MSG)",
                 "rdm_tagged": "fi_rdm_tagged_bw (verbs;ofi_rxm, FI_EP_RDM)"}
    fab = sorted({(k[1], k[2], k[4]) for k in data if k[0] == "FABTEST"},
                 key=lambda k: (k[0], list(fab_names).index(k[1]) if k[1] in fab_names else 9, k[2]))
    if fab:
        md.append("\n## 5. fabtests between two guests, host memory vs p2pbar memory (MiB/s)\n")
        md.append("libfabric's benchmarks built from the guest's libfabric source with "
                  "bench/fabtests' patch: `-D p2pbar` allocates the buffers in the BAR and "
                  "registers them with `fi_mr_regattr(FI_MR_DMABUF)`; window 4; the client's "
                  "figure (fabtests print 10⁶ B/s, converted).\n")
        md.append("| test | size | host memory | p2pbar memory | p2pbar ÷ host |")
        md.append("| --- | ---: | ---: | ---: | ---: |")
        for where, test, s in fab:
            h = data.get(("FABTEST", where, test, "host", s))
            d = data.get(("FABTEST", where, test, "dmabuf", s))
            if not h or not d or min(h + d) <= 0:
                missing.append(f"fabtests {where} {test} {s}")
                continue
            md.append(f"| {fab_names.get(test, test)} | {human(s)} | {fmt(h, 1)} | {fmt(d, 1)} "
                      f"| {ratio(d, h)} |")
        for where in sorted({k[0] for k in fab}):
            tests = [t for t in fab_names if any(k[:2] == (where, t) for k in fab)]
            sizes = sorted({k[2] for k in fab if k[0] == where})
            # gnuplot reads "_" as a subscript
            series = [(f"{t.replace('_', '-')} {m}",
                       pts(data, lambda s: ("FABTEST", where, t, m, s), sizes))
                      for t in tests for m in ("host", "dmabuf")]
            png = gnuplot(out, f"fabtests-{where}", f"fabtests over rxe, {where}", "MiB/s",
                          series)
            md.append(f"\n![fabtests {where}]({png})\n")
    elif any(k[0] == "BW" and k[1] == "two-guests" for k in data):
        missing.append("fabtests two-guests")


def reruns_section(md, data):
    """The perftest runs that had to fall back or be re-run."""
    zeros = data.get(("ZERO",), [])
    clocks = data.get(("CLOCK",), [])
    md.append(f"\n{len(clocks)} perftest run(s) could not sample the cycle rate "
              f"(the vCPU lost its host CPU while perftest timed it) and used "
              f"/proc/cpuinfo's; before perftest patch 0002 these reported 0.00 MiB/s"
              + (": " + ", ".join(clocks) if clocks else "") + ".\n")
    md.append(f"\n{len(zeros)} perftest run(s) reported 0.00 MiB/s and were re-run "
              f"(the figures above are the re-runs)"
              + (": " + ", ".join(zeros) if zeros else "") + ".\n")


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Turn bench raw lines into results.md and plots.")
    ap.add_argument("out", help="the results directory")
    ap.add_argument("image_env", help="the guest image's versions (image.env)")
    ap.add_argument("raws", nargs="+", help="raw measurement files")
    ap.add_argument("--check", action="store_true",
                    help="fail unless every part produced positive figures")
    ap.add_argument("--note", default="", help="a paragraph for the top of results.md")
    return ap.parse_args(argv)


def header(md, env, note):
    md.append("# p2pbar benchmark results\n")
    md.append(f"Guest kernel {env.get('KVER')} (linux-image {env.get('VERSION_LINUX_IMAGE_AMD64')}), "
              f"rdma-core {env.get('VERSION_RDMA_CORE')}, perftest {env.get('VERSION_PERFTEST')} "
              f"(+ bench/perftest patches), soft-RoCE (rxe, verbs-provider patches), "
              f"Debian {env.get('SUITE')} guests under **QEMU TCG** (software CPU emulation: "
              f"absolute figures are far below hardware; the ratios are the point).\n")
    if note:
        md.append(note + "\n")
    md.append("Every figure: median [min, max] over the repeated runs. \"÷ per round\": the "
              "lowest and highest ratio of a dma-buf run to the host run of the same round "
              "(how far single pairs swing on this testbed).\n")


def main(argv=None):
    args = parse_args(argv)
    env = dict(l.strip().split("=", 1) for l in open(args.image_env) if "=" in l)
    data, attach = parse(args.raws)
    out, check = args.out, args.check
    md, missing = [], []
    header(md, env, args.note)
    bandwidth_section(md, missing, data, attach, out, check)
    bounce_section(md, missing, data, out)
    registration_section(md, missing, data, out)
    exporter_section(md, missing, data, attach)
    fabtests_section(md, missing, data, out)
    reruns_section(md, data)
    if missing:
        md.append("\n## Missing or zero figures\n")
        md.append("\n".join(f"- {m}" for m in missing))
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    if missing:
        print("report: missing or non-positive figures: " + ", ".join(missing), file=sys.stderr)
        if check:
            return 1
    print(f"report: {os.path.join(out, 'results.md')}")
    return 0



if __name__ == "__main__":
    sys.exit(main())
