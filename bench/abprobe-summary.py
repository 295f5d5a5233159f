#!/usr/bin/env python3
"""Summarise bench/vm/abprobe.sh's PROBE lines: one row per case (verb,
size, client/server memory, rdma_rxe.ko, preemption mode, eth0's qdisc,
perftest options), each figure the median [min, max] over the runs, and
the client's rxe counters that moved (total over the runs).

usage: abprobe-summary.py ABPROBE_TXT [KO_LABEL=SUBSTRING ...]
  KO_LABEL=SUBSTRING names the rdma_rxe.ko a case's rxe=PATH swapped in
  (first label whose SUBSTRING is in PATH; default: the file name)
"""
import statistics
import sys


def fmt(vals, digits):
    return (f"{statistics.median(vals):.{digits}f} "
            f"[{min(vals):.{digits}f}, {max(vals):.{digits}f}]")


def main():
    labels = [a.split("=", 1) for a in sys.argv[2:]]
    groups = {}
    ko, qdisc = "default", "default"
    for line in open(sys.argv[1]):
        w = line.split()
        if len(w) < 3 or w[0] != "PROBE":
            continue
        case = w[1].split(",")
        for setting in case[5:]:
            if setting.startswith("rxe="):
                path = setting[4:]
                ko = next((lab for lab, sub in labels if sub in path),
                          path.rsplit("/", 1)[-1])
            elif setting.startswith("qdisc="):
                qdisc = setting[6:]
        kv = dict(t.split("=", 1) for t in w[2:] if "=" in t)
        opts = " ".join(x for x in case[5:] if "=" not in x) or "-"
        key = (case[0], case[1], f"{case[3]}/{case[4]}", ko,
               kv.get("preempt", "voluntary"), qdisc, opts)
        groups.setdefault(key, []).append(kv)
    print("| verb | size | client/server MR | rdma_rxe.ko | preempt | qdisc | options "
          "| runs | MiB/s | context switches | rxe counters (sum) |")
    print("| --- | ---: | --- | --- | --- | --- | --- | ---: | ---: | ---: | --- |")
    skip = {"bw", "server_bw", "wall", "run", "preempt", "ctxt",
            "cpu_user", "cpu_sys", "cpu_idle"}
    for key, runs in groups.items():
        bw = [float(r["bw"]) for r in runs]
        ctxt = [int(r["ctxt"]) for r in runs if "ctxt" in r]
        counters = {}
        for r in runs:
            for k, v in r.items():
                if k not in skip:
                    counters[k] = counters.get(k, 0) + int(v)
        moved = " ".join(f"{k}={v}" for k, v in sorted(counters.items())
                         if k not in ("sent_pkts", "rcvd_pkts")) or "-"
        print(f"| {' | '.join(key)} | {len(runs)} | {fmt(bw, 2)} | "
              f"{fmt(ctxt, 0) if ctxt else '-'} | {moved} |")


if __name__ == "__main__":
    main()
