#!/usr/bin/env python3
"""Smoke test of bench/run-all (ctest bench_smoke, label integration).

Runs `bench/run-all --quick --only micro,memory` into a temporary directory on the
build under test and checks what it wrote: every micro suite's raw Google Benchmark
JSON and the summary parse and hold results for every suite built, the memory
results hold the four configurations with a peak RSS each, the memory plot is a
PNG, and the generated Markdown section is delimited by its markers. It never
judges a number (the machine is shared and noisy): only that each was produced.
bench/RESULTS.md must be left untouched by a quick run.

    bench_smoke.py --root SRC --build BUILD
Exit 77 (skipped) when no Python with matplotlib is installed (python3-matplotlib).
"""
import argparse
import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile


def fail(msg):
    print("bench_smoke: FAIL: " + msg)
    sys.exit(1)


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", required=True)
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    if not any(subprocess.run([py, "-c", "import matplotlib"], stderr=subprocess.DEVNULL).returncode == 0
               for py in (sys.executable, "/usr/bin/python3") if os.access(py, os.X_OK)):
        print("bench_smoke: skipped, matplotlib is not installed (python3-matplotlib)")
        sys.exit(77)
    results_md = os.path.join(a.root, "bench", "RESULTS.md")
    before = digest(results_md)
    suites = ["bench_json"]
    for cm in glob.glob(os.path.join(a.root, "bench", "*", "CMakeLists.txt")):
        with open(cm) as f:
            suites += re.findall(r"add_executable\((bench_\w+)", f.read())

    with tempfile.TemporaryDirectory(prefix="bulwark-bench-smoke-") as out:
        proc = subprocess.run([sys.executable, os.path.join(a.root, "bench", "run-all"), "--quick",
                               "--only", "micro,memory", "--build", a.build, "--no-build",
                               "--out", out], capture_output=True, text=True)
        if proc.returncode != 0:
            fail("run-all exited %d:\n%s" % (proc.returncode, proc.stderr[-3000:]))

        with open(os.path.join(out, "micro.json")) as f:
            micro = json.load(f)
        for s in suites:
            with open(os.path.join(out, "micro", s + ".json")) as f:
                raw = json.load(f)
            runs = [b for b in raw["benchmarks"] if b.get("run_type") == "iteration"]
            if not runs:
                fail("%s wrote no benchmark runs" % s)
            summary = micro["suites"].get(s)
            if not summary or set(summary) != {b["run_name"] for b in runs}:
                fail("micro.json does not summarise every benchmark of %s" % s)
            for name, b in summary.items():
                t = b["cpu_time"]
                if len(t["samples"]) != micro["repetitions"] or not t["min"] <= t["median"] <= t["max"]:
                    fail("%s %s: not one sample per repetition, or median outside its range"
                         % (s, name))

        with open(os.path.join(out, "memory.json")) as f:
            mem = json.load(f)
        names = [c["name"] for c in mem["configs"]]
        if names != ["small", "sources", "keys", "both"]:
            fail("memory configurations: %s" % names)
        for c in mem["configs"]:
            if not c["peak_rss_bytes"]["median"] > 0:
                fail("memory %s: no peak RSS" % c["name"])
        for key in ("bytes_per_source", "bytes_per_key"):
            if not isinstance(mem.get(key), (int, float)):
                fail("memory.json has no %s" % key)

        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
        if set(meta["parts"]) != {"micro", "memory"} or not meta["quick"]:
            fail("meta.json: parts %s, quick %s" % (sorted(meta["parts"]), meta["quick"]))

        png = os.path.join(out, "memory_rss.png")
        with open(png, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                fail("memory_rss.png is not a PNG")

        with open(os.path.join(out, "results.md")) as f:
            md = f.read()
        if not (md.startswith("<!-- run-all:begin -->") and md.rstrip().endswith("<!-- run-all:end -->")):
            fail("results.md is not one delimited generated section")
        for heading in ("### Micro suites", "### Memory", "memory_rss.png"):
            if heading not in md:
                fail("results.md lacks %s" % heading)

    if digest(results_md) != before:
        fail("a quick run changed bench/RESULTS.md")
    print("bench_smoke: OK: %d micro suites, memory at %d configurations, plot and section written"
          % (len(suites), len(names)))


if __name__ == "__main__":
    main()
