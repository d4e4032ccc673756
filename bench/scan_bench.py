#!/usr/bin/env python3
"""Whole-process benchmark of `bulwark scan` next to the parse-only limit.

Generates a fixed corpus of realistic telemetry (scripts/gen-telemetry, ~430-byte
events, seed 7), checks that bulwark's pass-through output is byte-identical to
the clean input, then times, in the same run and interleaved, R repetitions of:

  parse_only          simdjson On-Demand visiting every string (one thread)
  pass-through w=1    bulwark scan, no rules (rules.packs: []), one worker
  pass-through w=all  the same, one worker per core
  all packs w=1       bulwark scan with the built-in packs (the default), one worker
  all packs w=all     the same, one worker per core
  <pack> w=1          each built-in pack alone, one worker
  <pack> w=all        each built-in pack alone, one worker per core

Reported: medians (and min..max) of wall time, events/s, MB/s, and events per
CPU-second (user+sys of the whole process, start-up included), plus the ratios
of scan w=1 to parse_only and of every rules case to pass-through (same worker
count), per CPU-second. And the steady-state rate: events per
CPU-second once started, the median CPU of the same command on an empty input
(start-up: configuration, rule files, databases from the compiled-rule cache)
subtracted; the same for one worker per core.

    bench/scan_bench.py --build build --events 200000 --runs 5 [--json results.json]

--json writes every case's samples, medians and ranges (and the ratios) as JSON too.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKS = ("secrets", "pii", "injection", "prompt_injection")


def timed(cmd, stdout=subprocess.DEVNULL):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), err))
    return wall, rusage.ru_utime + rusage.ru_stime


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", help="also write the results as JSON here")
    a = ap.parse_args()

    bulwark = os.path.join(a.build, "src/app/bulwark")
    parse_only = os.path.join(a.build, "bench/parse_only")
    work = tempfile.mkdtemp(prefix="bulwark-bench-")
    corpus = os.path.join(work, "events.ndjson")
    with open(corpus, "w") as f:
        subprocess.run([os.path.join(ROOT, "scripts/gen-telemetry"), "--events", str(a.events),
                        "--seed", "7"], stdout=f, check=True)
    size = os.path.getsize(corpus)
    cfgs = {}
    variants = [("w1", 1, "[]"), ("wall", 0, "[]"), ("w1-all", 1, None), ("wall-all", 0, None)]
    for pack in PACKS:
        variants += [("w1-" + pack, 1, "[%s]" % pack), ("wall-" + pack, 0, "[%s]" % pack)]
    for name, workers, packs in variants:
        cfgs[name] = os.path.join(work, name + ".yaml")
        with open(cfgs[name], "w") as f:
            f.write("workers: %d\n" % workers)
            if packs is not None:
                f.write("rules: {packs: %s}\n" % packs)

    # Warm the compiled-rule cache so every timed run measures scanning, not
    # compiling (a cold start compiles once, ~2 s for all packs).
    for cfg in cfgs.values():
        subprocess.run([bulwark, "scan", "-c", cfg, "--in", "/dev/null", "--out", "/dev/null"],
                       check=True, stderr=subprocess.DEVNULL)
    # Verify before timing: clean input passes through byte-identical.
    out = os.path.join(work, "out.ndjson")
    subprocess.run([bulwark, "scan", "-c", cfgs["wall"], "--in", corpus, "--out", out],
                   check=True, stderr=subprocess.DEVNULL)
    with open(corpus, "rb") as f1, open(out, "rb") as f2:
        if f1.read() != f2.read():
            sys.exit("verification failed: pass-through output differs from the clean input")
    os.remove(out)
    check = subprocess.run([parse_only, corpus], capture_output=True, text=True, check=True)
    if "lines=%d " % a.events not in check.stdout:
        sys.exit("verification failed: parse_only saw %s" % check.stdout)

    def scan(cfg):
        return [bulwark, "scan", "-c", cfgs[cfg], "--in", corpus, "--out", "/dev/null"]

    def start_up(cfg):
        return [bulwark, "scan", "-c", cfgs[cfg], "--in", "/dev/null", "--out", "/dev/null"]

    n = os.cpu_count()
    cases = {
        "parse_only (simdjson, every string, 1 thread)": [parse_only, corpus],
        "scan pass-through, 1 worker": scan("w1"),
        "scan pass-through, %d workers" % n: scan("wall"),
        "scan all packs, 1 worker": scan("w1-all"),
        "scan all packs, %d workers" % n: scan("wall-all"),
    }
    # (rules, workers) of each case, for the JSON output
    shape = {"parse_only (simdjson, every string, 1 thread)": ("parse_only", 1),
             "scan pass-through, 1 worker": ("pass-through", 1),
             "scan pass-through, %d workers" % n: ("pass-through", n),
             "scan all packs, 1 worker": ("all packs", 1),
             "scan all packs, %d workers" % n: ("all packs", n)}
    baseline = {"scan all packs, 1 worker": "scan pass-through, 1 worker",
                "scan all packs, %d workers" % n: "scan pass-through, %d workers" % n}
    for pack in PACKS:
        cases["scan %s pack, 1 worker" % pack] = scan("w1-" + pack)
        cases["scan %s pack, %d workers" % (pack, n)] = scan("wall-" + pack)
        baseline["scan %s pack, 1 worker" % pack] = "scan pass-through, 1 worker"
        baseline["scan %s pack, %d workers" % (pack, n)] = "scan pass-through, %d workers" % n
        shape["scan %s pack, 1 worker" % pack] = (pack, 1)
        shape["scan %s pack, %d workers" % (pack, n)] = (pack, n)
    # Start-up alone (configuration, rule files, compiled databases from the
    # cache, an empty input): subtracted below for the steady-state rate.
    starts = {"scan pass-through, 1 worker": start_up("w1"),
              "scan all packs, 1 worker": start_up("w1-all"),
              "scan pass-through, %d workers" % n: start_up("wall"),
              "scan all packs, %d workers" % n: start_up("wall-all")}
    results = {k: [] for k in cases}
    start_cpu = {k: [] for k in starts}
    for _ in range(a.runs):  # interleaved, so machine noise hits every case alike
        for name, cmd in cases.items():
            results[name].append(timed(cmd))
        for name, cmd in starts.items():
            for _ in range(3):
                start_cpu[name].append(timed(cmd)[1])

    def fmt_range(vals, f):
        return "%s (%s..%s)" % (f(statistics.median(vals)), f(min(vals)), f(max(vals)))

    print("corpus: %d events, %.1f MB (%.0f bytes/event), %d runs each, medians (min..max)\n"
          % (a.events, size / 1e6, size / a.events, a.runs))
    print("| case | wall s | events/s | MB/s | events per CPU-second |")
    print("|---|---|---|---|---|")
    per_cpu = {}
    doc = {"corpus": {"generator": "scripts/gen-telemetry --seed 7", "events": a.events,
                      "bytes": size},
           "runs": a.runs, "cpus": n, "cases": []}

    def stats(vals):
        return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
                "samples": vals}

    for name, rs in results.items():
        walls = [w for w, _ in rs]
        eps = [a.events / w for w, _ in rs]
        mbs = [size / w / 1e6 for w, _ in rs]
        epc = [a.events / c for _, c in rs]
        per_cpu[name] = statistics.median(epc)
        doc["cases"].append({"name": name, "rules": shape[name][0], "workers": shape[name][1],
                             "wall_s": stats(walls), "cpu_s": stats([c for _, c in rs]),
                             "events_per_s": stats(eps), "mb_per_s": stats(mbs),
                             "events_per_cpu_s": stats(epc)})
        print("| %s | %s | %s | %s | %s |" % (
            name, fmt_range(walls, lambda v: "%.3f" % v), fmt_range(eps, lambda v: "%.0f" % v),
            fmt_range(mbs, lambda v: "%.0f" % v), fmt_range(epc, lambda v: "%.0f" % v)))
    names = list(cases)
    print("\nsteady state: events per CPU-second once started (the median CPU of a "
          "run on an empty input, the same configuration, subtracted):")
    doc["steady_state"] = {}
    for name, cpus in start_cpu.items():
        start = statistics.median(cpus)
        run = statistics.median([c for _, c in results[name]])
        rate = a.events / (run - start)
        doc["steady_state"][name] = {"start_up_cpu_s": stats(cpus), "events_per_cpu_s": rate}
        print("  %s: start-up %.3f CPU-s, %.0f events per CPU-second" % (name, start, rate))
    print("\npass-through scan (1 worker) / parse_only, events per CPU-second: %.2f"
          % (per_cpu[names[1]] / per_cpu[names[0]]))
    print("\nevents per CPU-second, rules vs pass-through with the same workers:")
    for name, base in baseline.items():
        print("  %s: %.2f" % (name, per_cpu[name] / per_cpu[base]))
    doc["ratios"] = {"pass-through 1 worker / parse_only": per_cpu[names[1]] / per_cpu[names[0]]}
    for name, base in baseline.items():
        doc["ratios"]["%s / %s" % (name, base)] = per_cpu[name] / per_cpu[base]
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
