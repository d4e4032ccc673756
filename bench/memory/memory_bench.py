#!/usr/bin/env python3
"""Peak RSS of `bulwark scan` at many distinct sources and drift keys (issue 9:
"peak RSS bounded and reported at 100k distinct sources and 10k drift keys").

Workload (fixed, generated here, deterministic): E signed events (HMAC-SHA256,
in-body `sig`, key k1), event i from source `src-{i % S}` with seq
`i // S + 1` (every source counts 1, 2, ...), drift key `/model` =
`m-{i % K}`, a numeric feature `/features/amount` and a categorical feature
`/features/country` (12 values); event times evenly spread over 6 one-minute
windows, so every key learns its reference (2 windows) and then holds its
steady-state panes. One extra event at the end carries a wrong MAC.
Config: integrity keys with max_sources/max_streams >= S, drift max_keys >= K,
the built-in rule packs, 1 worker.

Four configurations run with the same number of events, so the differences
isolate what each table holds:

  small         S_small sources, K_small keys   (default 1k / 100)
  sources       S sources,       K_small keys   (default 100k / 100)
  keys          S_small sources, K keys         (default 1k / 10k)
  both          S sources,       K keys         (default 100k / 10k)

Peak RSS is the process's ru_maxrss (getrusage via wait4); each configuration
runs --runs times (interleaved), medians and ranges are reported.
Bytes per source = (sources - small) / (S - S_small), bytes per key =
(keys - small) / (K - K_small), from the medians.

Before a configuration is reported its run is checked: every line read, every
signed event passed clean, exactly the one tampered event quarantined with an
`integrity.tamper` alert, every event observed by drift, no key untracked and
no `capacity` alert (the caps were not hit, so every source and key is held).

    bench/memory/memory_bench.py --build build/release [--sources 100000 --keys 10000] [--runs 3]
        [--json out.json]
"""
import argparse
import hashlib
import hmac
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEY_HEX = "6d" * 32
T0 = 1_795_000_000_000
WINDOW_MS = 60_000
WINDOWS = 6
COUNTRIES = ["DE", "FR", "GB", "US", "IT", "ES", "NL", "PL", "SE", "JP", "BR", "IN"]


def write_events(path, n, sources, keys):
    """n signed events over `sources` sources and `keys` drift keys, plus one tampered."""
    key = bytes.fromhex(KEY_HEX)
    span = WINDOWS * WINDOW_MS
    with open(path, "wb") as out:
        buf = []

        def event(i, seq, forge):
            body = ('{"ts":%d,"source":"src-%d","seq":%d,"type":"prediction","model":"m-%d",'
                    '"features":{"amount":%d.%02d,"country":"%s"},"score":0.%04d}'
                    % (T0 + i * span // n, i % sources, seq, i % keys, (i * 7919) % 5000,
                       i % 100, COUNTRIES[(i * 31) % len(COUNTRIES)], (i * 104729) % 10000)).encode()
            mac = hmac.new(key, body, hashlib.sha256).hexdigest()
            if forge:
                mac = ("0" if mac[0] != "0" else "1") + mac[1:]
            return body[:-1] + b',"sig":{"kid":"k1","mac":"' + mac.encode() + b'"}}\n'

        for i in range(n):
            buf.append(event(i, i // sources + 1, False))
            if len(buf) == 20000:
                out.write(b"".join(buf))
                buf.clear()
        # the tampered event: the next one of its source, MAC changed
        buf.append(event(n, n // sources + 1, True))
        out.write(b"".join(buf))


def write_config(path, sources, keys):
    cap = max(sources, 16384)
    with open(path, "w") as f:
        f.write(f"""workers: 1
integrity:
  keys: {{k1: {{hex: "{KEY_HEX}"}}}}
  max_sources: {cap}
  max_streams: {cap}
drift:
  key: [/model]
  window: 1m
  reference: {{windows: 2}}
  max_keys: {max(keys, 256)}
  features: [{{path: /features/amount, type: numeric}}, {{path: /features/country, type: categorical}}]
""")


def summary_fields(stderr):
    for line in reversed(stderr.splitlines()):
        if line.startswith("bulwark scan:"):
            return dict(kv.split("=", 1) for kv in line.split()[2:] if "=" in kv)
    return None


def run_once(bulwark, cfg, events, n, work):
    alerts = os.path.join(work, "alerts.ndjson")
    quarantine = os.path.join(work, "quarantine.ndjson")
    out = os.path.join(work, "out.ndjson")
    for p in (alerts, quarantine):
        if os.path.exists(p):
            os.remove(p)
    start = time.perf_counter()
    proc = subprocess.Popen([bulwark, "scan", "-c", cfg, "--in", events, "--out", out,
                             "--alerts", alerts, "--quarantine", quarantine],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = proc.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bulwark scan failed:\n" + err[-2000:])
    s = summary_fields(err)
    if s is None:
        sys.exit("no summary line from bulwark scan:\n" + err[-2000:])
    kinds = {}
    with open(alerts) as f:
        for line in f:
            kind = json.loads(line)["kind"]
            kinds[kind] = kinds.get(kind, 0) + 1
    # Verify: the run held every source and key, and integrity was really on.
    problems = []
    if int(s["lines_in"]) != n + 1:
        problems.append("lines_in %s, expected %d" % (s["lines_in"], n + 1))
    if int(s["clean"]) != n:
        problems.append("clean %s, expected %d (every signed event verified, no finding)"
                        % (s["clean"], n))
    if int(s["quarantined"]) != 1 or kinds.get("integrity.tamper", 0) < 1:
        problems.append("the tampered event was not quarantined with an integrity.tamper alert "
                        "(quarantined=%s, alerts %s)" % (s["quarantined"], kinds))
    if int(s.get("drift.observed", -1)) < n:
        problems.append("drift observed %s of %d events" % (s.get("drift.observed"), n))
    if int(s.get("drift.untracked", 0)) != 0 or "capacity" in kinds:
        problems.append("a cap was hit (drift.untracked=%s, alerts %s)"
                        % (s.get("drift.untracked"), kinds))
    with open(out, "rb") as f:
        lines_out = sum(1 for _ in f)
    if lines_out != n + 1:  # the quarantined event leaves a placeholder line
        problems.append("%d output lines, expected %d" % (lines_out, n + 1))
    if problems:
        sys.exit("verification failed: " + "; ".join(problems))
    return {"peak_rss_kb": ru.ru_maxrss, "cpu_s": ru.ru_utime + ru.ru_stime, "wall_s": wall,
            "alerts": kinds}


def med_range(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "samples": list(vals)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--sources", type=int, default=100_000)
    ap.add_argument("--keys", type=int, default=10_000)
    ap.add_argument("--small-sources", type=int, default=1_000)
    ap.add_argument("--small-keys", type=int, default=100)
    ap.add_argument("--events", type=int, default=0, help="events per run (default 2 x --sources)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", help="write the results here")
    a = ap.parse_args()
    if a.sources <= a.small_sources or a.keys <= a.small_keys:
        ap.error("--sources and --keys must exceed --small-sources and --small-keys")
    n = a.events or 2 * a.sources
    if n < max(a.sources, a.keys):
        ap.error("--events must be at least --sources and --keys (every source and key appears)")
    bulwark = os.path.join(os.path.abspath(a.build), "src", "app", "bulwark")
    if not os.access(bulwark, os.X_OK):
        sys.exit("missing %s: build the bulwark target first" % bulwark)

    configs = [("small", a.small_sources, a.small_keys), ("sources", a.sources, a.small_keys),
               ("keys", a.small_sources, a.keys), ("both", a.sources, a.keys)]
    work = tempfile.mkdtemp(prefix="bulwark-memory-")
    try:
        files = {}
        for name, s, k in configs:
            ev, cfg = os.path.join(work, name + ".ndjson"), os.path.join(work, name + ".yaml")
            write_events(ev, n, s, k)
            write_config(cfg, s, k)
            files[name] = (ev, cfg)
            # warm the compiled-rule cache (and check the config loads) outside the timed runs
            subprocess.run([bulwark, "scan", "-c", cfg, "--in", "/dev/null", "--out", "/dev/null"],
                           check=True, stderr=subprocess.DEVNULL)
        samples = {name: [] for name, _, _ in configs}
        for r in range(a.runs):  # interleaved, so machine noise hits every configuration alike
            for name, _, _ in configs:
                ev, cfg = files[name]
                samples[name].append(run_once(bulwark, cfg, ev, n, work))
                print("run %d/%d %-8s peak RSS %.1f MiB" % (r + 1, a.runs, name,
                                                          samples[name][-1]["peak_rss_kb"] / 1024),
                      file=sys.stderr)
    finally:
        shutil.rmtree(work)

    result = {"workload": {"events": n, "windows": WINDOWS, "window": "1m", "reference_windows": 2,
                           "features": ["/features/amount numeric", "/features/country categorical"],
                           "rule_packs": "built-in", "workers": 1, "runs": a.runs},
              "configs": []}
    rss = {}
    for name, s, k in configs:
        kb = [x["peak_rss_kb"] for x in samples[name]]
        rss[name] = statistics.median(kb) * 1024
        result["configs"].append({"name": name, "sources": s, "keys": k,
                                  "peak_rss_bytes": med_range([v * 1024 for v in kb]),
                                  "cpu_s": med_range([x["cpu_s"] for x in samples[name]]),
                                  "wall_s": med_range([x["wall_s"] for x in samples[name]])})
    result["bytes_per_source"] = (rss["sources"] - rss["small"]) / (a.sources - a.small_sources)
    result["bytes_per_key"] = (rss["keys"] - rss["small"]) / (a.keys - a.small_keys)
    result["both_over_small"] = rss["both"] / rss["small"]

    print("workload: %d signed events, 1 tampered; drift: 1 numeric + 1 categorical feature, "
          "6 windows of 1 m, reference 2 windows; built-in packs, 1 worker; %d runs each, "
          "medians (min..max)\n" % (n, a.runs))
    print("| configuration | sources | drift keys | peak RSS MiB | CPU s |")
    print("|---|---|---|---|---|")
    for c in result["configs"]:
        r, cpu = c["peak_rss_bytes"], c["cpu_s"]
        print("| %s | %d | %d | %.1f (%.1f..%.1f) | %.2f (%.2f..%.2f) |"
              % (c["name"], c["sources"], c["keys"], r["median"] / 2**20, r["min"] / 2**20,
                 r["max"] / 2**20, cpu["median"], cpu["min"], cpu["max"]))
    print("\nbytes per source: %.0f; bytes per drift key (2 features): %.0f; "
          "both / small: %.2fx" % (result["bytes_per_source"], result["bytes_per_key"],
                                   result["both_over_small"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
