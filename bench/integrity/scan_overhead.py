#!/usr/bin/env python3
"""What verifying signed telemetry costs `bulwark scan`, whole process.

Generates one signed stream with bulwark-loadgen (its clean fleet: chat and
tabular predictions, logs, metrics, audit events; ~550 bytes per event, the
92-byte in-body signature included), checks that with `integrity.keys` every
event verifies and nothing is alerted or quarantined, then times, interleaved,
R repetitions of `bulwark scan` with all rule packs and 1 worker:

  no keys           integrity neither checked nor annotated (SPEC §3)
  keys              integrity.keys + require_signature: every event's MAC,
                    sequence window, watermark, silence, peer windows
  keys + audit      the same plus --audit: a SHA-256 receipt per event and the
                    chain's checkpoints

Reported: medians (min..max) of wall time and of events per CPU-second (user +
sys of the process, start-up included), and the ratios to "no keys".

    bench/integrity/scan_overhead.py --build build/rel --events 200000 --runs 7
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# bulwark-loadgen's published demo key (docs/loadgen.md): fine for a benchmark.
DEMO_KEY = "62756c7761726b2d6c6f616467656e2064656d6f206b65792c207075626c6963"


def timed(cmd):
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode()
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.stderr.close()
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), err))
    return wall, rusage.ru_utime + rusage.ru_stime, err


def summary_field(stderr, name):
    for tok in stderr.split():
        if tok.startswith(name + "="):
            return tok.split("=", 1)[1]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--bulwark", help="the bulwark binary [BUILD/src/app/bulwark], e.g. of "
                                      "another build to compare")
    a = ap.parse_args()

    bulwark = a.bulwark or os.path.join(a.build, "src/app/bulwark")
    loadgen = os.path.join(a.build, "src/loadgen/bulwark-loadgen")
    work = tempfile.mkdtemp(prefix="bulwark-integrity-bench-")
    corpus = os.path.join(work, "events.ndjson")
    with open(corpus, "w") as f:
        subprocess.run([loadgen, "-q", "--events", str(a.events), "--seed", "7"], stdout=f,
                       check=True)
    size = os.path.getsize(corpus)

    plain = os.path.join(work, "plain.yaml")
    keyed = os.path.join(work, "keyed.yaml")
    with open(plain, "w") as f:
        f.write("workers: 1\n")
    with open(keyed, "w") as f:
        f.write('workers: 1\nintegrity:\n  keys: {k1: {hex: "%s"}}\n'
                '  require_signature: ["srv-*"]\n' % DEMO_KEY)

    audit = os.path.join(work, "audit.ndjson")
    alerts = os.path.join(work, "alerts.ndjson")
    cases = {
        "no keys": [bulwark, "scan", "-c", plain, "--in", corpus, "--out", "/dev/null"],
        "keys": [bulwark, "scan", "-c", keyed, "--in", corpus, "--out", "/dev/null"],
        "keys + audit": [bulwark, "scan", "-c", keyed, "--in", corpus, "--out", "/dev/null",
                         "--audit", audit],
    }
    # Warm the compiled-rule cache, then check before timing: with keys every
    # event verifies (nothing quarantined, no integrity alert of any kind).
    for cmd in cases.values():
        timed(cmd[:5] + ["/dev/null", "--out", "/dev/null"])
    _, _, err = timed(cases["keys"] + ["--alerts", alerts])
    if summary_field(err, "quarantined") != "0" or summary_field(err, "lines_in") != str(a.events):
        sys.exit("verification failed: %s" % err)
    with open(alerts) as f:
        bad = [l for l in f if '"kind":"integrity.' in l or '"kind":"poisoning"' in l
               or '"kind":"rollback_guard"' in l]
    if bad:
        sys.exit("verification failed: integrity alerts on a clean fleet: %s" % bad[0][:300])

    results = {k: [] for k in cases}
    for _ in range(a.runs):  # interleaved, so machine noise hits every case alike
        for name, cmd in cases.items():
            wall, cpu, _ = timed(cmd)
            results[name].append((wall, cpu))

    def fmt(vals, f):
        return "%s (%s..%s)" % (f(statistics.median(vals)), f(min(vals)), f(max(vals)))

    print("corpus: %d signed events from bulwark-loadgen, %.1f MB (%.0f bytes/event), all rule "
          "packs, 1 worker, %d interleaved runs each, medians (min..max)\n"
          % (a.events, size / 1e6, size / a.events, a.runs))
    print("| case | wall s | events per CPU-second | CPU µs per event |")
    print("|---|---|---|---|")
    per_cpu = {}
    for name, rs in results.items():
        epc = [a.events / c for _, c in rs]
        per_cpu[name] = statistics.median(epc)
        print("| %s | %s | %s | %s |" % (
            name, fmt([w for w, _ in rs], lambda v: "%.3f" % v), fmt(epc, lambda v: "%.0f" % v),
            fmt([c / a.events * 1e6 for _, c in rs], lambda v: "%.2f" % v)))
    base = per_cpu["no keys"]
    print()
    for name in ("keys", "keys + audit"):
        print("%s / no keys, events per CPU-second: %.3f (%.2f µs of CPU per event more)"
              % (name, per_cpu[name] / base, (1 / per_cpu[name] - 1 / base) * 1e6))
    for p in (corpus, audit, alerts):
        if os.path.exists(p):
            os.remove(p)


if __name__ == "__main__":
    main()
