#!/usr/bin/env python3
"""End-to-end benchmark of `bulwark run` on the embedded cluster, next to the
bare relay (`bulwark run --relay`: the same consumers, producer, settings and
commit discipline, no processing) and `bulwark scan` on the same events, all in
the same run.

Workload (fixed): scripts/gen-telemetry events (~450 bytes, seed 7), preloaded
into a 32-partition input topic (the embedded cluster keeps only ~5 MB per
partition), each record stamped with its event's `ts` (a server producing its
own events; stamped at load time, the days-old corpus would be an
integrity.skew alert per event in `run`). For each mode and worker count:
  throughput  the events are preloaded, then bulwark starts; a live reader of
              the sanitised topic times the first and last output; CPU is the
              bulwark process's user+sys over its whole life (start-up, group
              join and idle polling included), peak RSS its VmHWM.
  latency     bulwark runs; a paced producer (e2e_client.cpp, built here, no
              batching of its own) sends events stamped with the wall clock
              (`sent_us`, and `ts` set to the send time) at
              half the measured maximum rate; a reader records when each arrives
              on the sanitised topic: p50/p99/p999 of the difference. Mode
              `direct` runs no bulwark: the probe writes the output topic itself,
              the floor that the cluster and the probe set.
              bulwark's CPU while the paced events go through is reported too
              (CPU-µs/event at that rate), and so are bulwark's own part of
              the latency (bulwark_record_hold_seconds from its /metrics:
              consumption to the output's delivery report, p50/p99
              interpolated in the histogram's buckets) and the embedded
              cluster's CPU per event (its broker process; the cluster runs
              in one thread, rdk:mock, so ~1e6/rate µs/event is all it has).
              The probe sends in 1 ms bursts (each record stamped when handed
              to librdkafka) and lingers 0 ms unless --probe-property says.
              With --latency-rate every mode runs at the same rate, and
              run / (relay + scan) is reported for it: the comparison without
              the effect of each mode's own maximum rate on batching and
              wake-ups per event.
Each configuration runs --runs times; medians and ranges are reported.
--property K=V passes a librdkafka property to bulwark (run and relay alike);
--probe-property K=V one to the probe's producer and reader (e.g.
fetch.wait.max.ms=1). --input-probe adds a reader of the input topic during
the latency runs: the first hop's latency with bulwark running alongside.
--json PATH also writes every run's figures, medians and ranges, and each
configuration's latency distribution (quantiles over all its runs), as JSON.

usage: bench/e2e/e2e.py --build build [--events 200000] [--runs 3] [--workers 1,2]
         [--modes relay,run,direct] [--latency-only --latency-rate EPS] [--property K=V]...
         [--probe-property K=V]... [--input-probe] [--json results.json]
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOPICS = ["telemetry:32", "telemetry.sanitized:32", "bulwark.dlq:4", "bulwark.quarantine:4",
          "bulwark.alerts:4", "bulwark.audit:4"]


def stat_cpu(path):
    """(name, user+sys CPU seconds) from a /proc stat file."""
    with open(path) as f:
        st = f.read()
    fields = st.rsplit(")", 1)[1].split()
    return (st[st.index("(") + 1:st.rindex(")")],
            (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))


def cpu_seconds(pid):
    return stat_cpu(f"/proc/{pid}/stat")[1]


def thread_cpu(pid):
    """CPU seconds per thread name (user+sys) of a process: librdkafka names
    its threads (rdk:broker<N>, rdk:main, and rdk:mock for the embedded
    cluster's one thread)."""
    out = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return out
    for tid in tids:
        try:
            out[tid] = stat_cpu(f"/proc/{pid}/task/{tid}/stat")
        except FileNotFoundError:
            continue  # the thread ended
    return out


def cpu_by_name(before, after):
    total = {}
    for tid, (name, cpu) in after.items():
        total[name] = total.get(name, 0.0) + cpu - before.get(tid, (name, 0.0))[1]
    return total


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Broker:
    def __init__(self, bulwark):
        args = [bulwark, "broker"]
        for t in TOPICS:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        self.bootstrap = self.proc.stdout.readline().split()[1]

    def stop(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.flush()
        self.proc.wait(10)


def config(tmp, bootstrap, workers, extra, http_port=None):
    path = os.path.join(tmp, f"bench-{workers}.yaml")
    # The embedded (mock) broker holds a fetch for fetch.wait.max.ms even
    # when data arrives meanwhile; real brokers answer early. 10 ms keeps
    # the mock from dominating the latency of both modes alike.
    props = {"session.timeout.ms": "6000", "log_level": "3", "fetch.wait.max.ms": "10"}
    props.update(extra)
    with open(path, "w") as f:
        f.write(f'workers: {workers}\nkafka:\n  brokers: "{bootstrap}"\n  properties:\n')
        for k, v in props.items():
            f.write(f'    {k}: "{v}"\n')
        if http_port:
            f.write(f'http:\n  listen: "127.0.0.1:{http_port}"\n')
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hold_buckets(port):
    """bulwark_record_hold_seconds from /metrics: [(upper bound s, cumulative count)]."""
    deadline = time.time() + 10
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                text = r.read().decode()
            break
        except OSError:
            if time.time() > deadline:
                return []
            time.sleep(0.2)
    out = []
    for line in text.splitlines():
        if line.startswith("bulwark_record_hold_seconds_bucket{"):
            le = line.split('le="')[1].split('"')[0]
            out.append((float(le), float(line.rsplit(" ", 1)[1])))
    return sorted(out)


def hold_quantile(before, after, q):
    """The q-quantile (ms) of the records held between two scrapes, by linear
    interpolation inside its bucket (as Prometheus' histogram_quantile)."""
    if not after:
        return float("nan")
    prev = dict(before)
    counts = [(le, c - prev.get(le, 0)) for le, c in after]
    total = counts[-1][1]
    if total <= 0:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for le, c in counts:
        if c >= rank:
            if le == float("inf"):
                return lower * 1000
            return (lower + (le - lower) * (rank - below) / max(c - below, 1e-9)) * 1000
        lower, below = le, c
    return float("nan")


def preload_and_read(a, broker, events_file, n, timeout_s):
    """Loads the events into the input topic and starts a reader that waits
    for n outputs (its stdout: first_us=.. last_us=.. count=..)."""
    with open(events_file, "rb") as f:
        # Each record's timestamp is its event's `ts`, as when servers
        # produce their own events: the preloaded corpus is days old, and
        # records stamped now would put every event past max_skew (an
        # integrity.skew alert each, which scan never sees).
        subprocess.run([a.tool, "produce-at-event-time", broker.bootstrap, "telemetry", "32"],
                       stdin=f, check=True, stderr=subprocess.DEVNULL)
    reader = subprocess.Popen([a.tool, "wait", broker.bootstrap, "telemetry.sanitized", str(n),
                               str(timeout_s)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True)
    time.sleep(5)  # the reader has joined its group
    return reader


def throughput(a, tmp, events_file, n, mode, workers):
    broker = Broker(a.bulwark)
    try:
        reader = preload_and_read(a, broker, events_file, n, 900)
        args = [a.bulwark, "run", "-c", config(tmp, broker.bootstrap, workers, a.properties)]
        if mode == "relay":
            args.append("--relay")
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, _ = reader.communicate(timeout=900)
        cpu, rss = cpu_seconds(proc.pid), peak_rss_mb(proc.pid)
        proc.terminate()
        proc.wait(15)
        fields = dict(kv.split("=") for kv in out.split())
        span = (int(fields["last_us"]) - int(fields["first_us"])) / 1e6
        return {"events_per_s": n / span if span > 0 else 0, "cpu_s": cpu, "rss_mb": rss,
                "cpu_us_per_event": cpu / n * 1e6}
    finally:
        broker.stop()


def latency(a, tmp, lines, rate, mode, workers):
    """mode "direct": no bulwark; the paced producer writes the sanitised topic
    itself, so the result is the floor the harness and the cluster set (one
    produce hop and one fetch hop, where run and relay have two of each)."""
    broker = Broker(a.bulwark)
    proc = None
    port = free_port()
    try:
        if mode != "direct":
            args = [a.bulwark, "run", "-c",
                    config(tmp, broker.bootstrap, workers, a.properties, port)]
            if mode == "relay":
                args.append("--relay")
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The reader writes to a file: a pipe read only at the end would fill
        # and stall it, and the stall would count as latency.
        out_path = os.path.join(tmp, "latency.txt")
        with open(out_path, "w") as out_file:
            reader = subprocess.Popen([a.client, "latency", broker.bootstrap,
                                       "telemetry.sanitized", str(len(lines)), "900"]
                                      + a.probe_properties,
                                      stdout=out_file, stderr=subprocess.DEVNULL)
        # --input-probe: a second reader on the input topic, timing the first
        # hop (probe -> cluster -> a consumer) while bulwark runs alongside.
        in_path = os.path.join(tmp, "latency-input.txt")
        in_reader = None
        if a.input_probe and mode != "direct":
            with open(in_path, "w") as in_file:
                in_reader = subprocess.Popen([a.client, "latency", broker.bootstrap, "telemetry",
                                              str(len(lines)), "900"] + a.probe_properties,
                                             stdout=in_file, stderr=subprocess.DEVNULL)
        time.sleep(8)  # bulwark and the reader have joined
        cpu_before = cpu_seconds(proc.pid) if proc else 0.0
        # The embedded cluster runs in one thread (rdk:mock) of the broker
        # process; its CPU per event says whether it kept up.
        cluster_before = thread_cpu(broker.proc.pid)
        # bulwark's own part: consumption to the output's delivery report
        # (bulwark_record_hold_seconds), over the paced events only.
        held_before = hold_buckets(port) if proc else []
        subprocess.run([a.client, "paced", broker.bootstrap,
                        "telemetry.sanitized" if mode == "direct" else "telemetry", "32", str(rate)]
                       + a.probe_properties,
                       input="\n".join(lines) + "\n", text=True, check=True,
                       stderr=subprocess.DEVNULL)
        reader.wait(900)
        if in_reader:
            in_reader.wait(900)
        # bulwark's CPU while the paced events went through (start-up and
        # group join excluded): its cost per event at this input rate.
        paced_cpu = (cpu_seconds(proc.pid) - cpu_before) / len(lines) * 1e6 if proc else None
        held_after = hold_buckets(port) if proc else []
        cluster = cpu_by_name(cluster_before, thread_cpu(broker.proc.pid))
        cluster_us = sum(cluster.values()) / len(lines) * 1e6
        mock_share = cluster.get("rdk:mock", 0.0) / max(sum(cluster.values()), 1e-9)
        hold = ({"p50_ms": hold_quantile(held_before, held_after, 0.5),
                 "p99_ms": hold_quantile(held_before, held_after, 0.99)} if proc else None)
        if proc:
            proc.terminate()
            proc.wait(15)
        with open(out_path) as f:
            lat = [int(l.split()[0]) / 1000 for l in f]
        lat.sort()
        pick = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
        first_hop = None
        if in_reader:
            with open(in_path) as f:
                hop = sorted(int(l.split()[0]) / 1000 for l in f)
            at = lambda q: hop[min(len(hop) - 1, int(q * len(hop)))] if hop else float("nan")
            first_hop = {"p50_ms": at(0.5), "p99_ms": at(0.99)}
        return {"cluster_cpu_us_per_event": cluster_us, "cluster_mock_thread_share": mock_share,
                "first_hop": first_hop, "hold": hold, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "p999_ms": pick(0.999),
                "max_ms": lat[-1] if lat else float("nan"), "samples": len(lat), "all_ms": lat,
                "rate": rate, "paced_cpu_us_per_event": paced_cpu}
    finally:
        broker.stop()


def latency_summary(lat):
    p50 = statistics.median(l["p50_ms"] for l in lat)
    p99, plo, phi = med([l["p99_ms"] for l in lat])
    p999 = statistics.median(l["p999_ms"] for l in lat)
    text = (f"p50 {p50:.1f} ms, p99 {p99:.1f} ms [{plo:.1f}..{phi:.1f}], p999 {p999:.1f} ms, "
            f"max {statistics.median(l['max_ms'] for l in lat):.1f} ms "
            f"({min(l['samples'] for l in lat)} samples)")
    if lat[0]["first_hop"] is not None:
        text += (f"; input hop alone p50 "
                 f"{statistics.median(l['first_hop']['p50_ms'] for l in lat):.1f} ms, p99 "
                 f"{statistics.median(l['first_hop']['p99_ms'] for l in lat):.1f} ms")
    if lat[0]["hold"] is not None:
        hp99, hlo, hhi = med([l["hold"]["p99_ms"] for l in lat])
        text += (f"; held by bulwark p50 "
                 f"{statistics.median(l['hold']['p50_ms'] for l in lat):.1f} ms, p99 "
                 f"{hp99:.1f} ms [{hlo:.1f}..{hhi:.1f}]")
    if lat[0]["paced_cpu_us_per_event"] is not None:
        cpu, lo, hi = med([l["paced_cpu_us_per_event"] for l in lat])
        text += f"; at that rate {cpu:.2f} CPU-µs/event [{lo:.2f}..{hi:.2f}]"
    ccpu, clo, chi = med([l["cluster_cpu_us_per_event"] for l in lat])
    share = statistics.median(l["cluster_mock_thread_share"] for l in lat)
    text += (f"; embedded cluster {ccpu:.2f} CPU-µs/event [{clo:.2f}..{chi:.2f}] "
             f"({share:.0%} in its one thread)")
    return text


def scan_cpu(a, tmp, events_file):
    """`bulwark scan` on the same events, 1 worker: CPU seconds of the process, one run."""
    cfg = os.path.join(tmp, "bw-scan-1.yaml")
    with open(cfg, "w") as f:
        f.write("workers: 1\n")
    with open(events_file, "rb") as f:
        proc = subprocess.Popen([a.bulwark, "scan", "-c", cfg, "--out", "/dev/null"], stdin=f,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, ru = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit("bulwark scan failed")
    return ru.ru_utime + ru.ru_stime


def quantiles(values, points=200):
    """The latency distribution as `points` + 1 evenly spaced quantiles (for a CDF)."""
    v = sorted(values)
    if not v:
        return []
    return [v[min(len(v) - 1, round(i * (len(v) - 1) / points))] for i in range(points + 1)]


def stats(vals):
    return {"median": statistics.median(vals), "min": min(vals), "max": max(vals),
            "samples": list(vals)}


def med(xs):
    return statistics.median(xs), min(xs), max(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--events", type=int, default=200000)
    ap.add_argument("--latency-events", type=int, default=30000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--modes", default="relay,run")
    ap.add_argument("--latency-rate", type=float, default=0,
                    help="events/s for the latency runs (default: half the measured maximum)")
    ap.add_argument("--latency-only", action="store_true",
                    help="skip the throughput runs (needs --latency-rate)")
    ap.add_argument("--property", action="append", default=[], metavar="KEY=VALUE",
                    help="a librdkafka property for bulwark, run and relay alike (repeatable)")
    ap.add_argument("--probe-property", action="append", default=[], metavar="KEY=VALUE",
                    help="a librdkafka property for the latency probe's producer and reader "
                         "(repeatable; e.g. fetch.wait.max.ms=1 for the reader)")
    ap.add_argument("--input-probe", action="store_true",
                    help="also time the first hop: a second reader on the input topic while "
                         "bulwark runs (one more consumer on the machine)")
    ap.add_argument("--json", help="also write the results as JSON here")
    a = ap.parse_args()
    if a.latency_only and not a.latency_rate:
        ap.error("--latency-only needs --latency-rate")
    a.properties = dict(p.split("=", 1) for p in a.property)
    a.probe_properties = list(a.probe_property)
    a.bulwark = os.path.join(a.build, "src/app/bulwark")
    a.tool = os.path.join(a.build, "tests/integration/kafka_tool")
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    modes = a.modes.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        # The latency probe links librdkafka only; it is built here so the
        # benchmark needs nothing from the build but bulwark and kafka_tool.
        a.client = os.path.join(tmp, "e2e_client")
        subprocess.run(["c++", "-O2", "-std=c++20", os.path.join(here, "e2e_client.cpp"),
                        "-lrdkafka", "-o", a.client], check=True)
        events_file = os.path.join(tmp, "events.ndjson")
        with open(events_file, "w") as f:
            subprocess.run([sys.executable, os.path.join(root, "scripts/gen-telemetry"), "--events",
                            str(max(a.events, a.latency_events)), "--seed", "7"], stdout=f,
                           check=True)
        size = os.path.getsize(events_file) / max(a.events, a.latency_events)
        with open(events_file) as f:
            lat_lines = [next(f).rstrip("\n") for _ in range(a.latency_events)]
        if a.properties:
            print(f"properties: {a.properties}")
        doc = {"workload": {"generator": "scripts/gen-telemetry --seed 7", "events": a.events,
                            "latency_events": a.latency_events, "bytes_per_event": size,
                            "partitions": 32, "properties": a.properties},
               "runs": a.runs, "configs": [], "ratios": {}, "round_ratios": {}}
        print(f"workload: {a.events} events, {size:.0f} bytes each on average", flush=True)
        # `scan` (1 worker, the same events) CPU-µs per event, each run.
        scan_us_runs = []
        if "run" in modes and a.latency_only:
            scan_us_runs = [scan_cpu(a, tmp, events_file) / a.events * 1e6 for _ in range(a.runs)]
        results = {}
        for workers in [int(w) for w in a.workers.split(",")]:
            # The throughput runs go in rounds (scan, then each mode), so that
            # a slow minute of this shared machine weighs on every mode alike,
            # and each round gives its own run / (relay + scan).
            tps = {m: [] for m in modes if m != "direct"}
            round_scan = []
            if not a.latency_only:
                for _ in range(a.runs):
                    if "run" in tps:
                        round_scan.append(scan_cpu(a, tmp, events_file) / a.events * 1e6)
                    for m in tps:
                        tps[m].append(throughput(a, tmp, events_file, a.events, m, workers))
            scan_us_runs += round_scan
            scan_us = statistics.median(scan_us_runs) if scan_us_runs else None
            for mode in modes:
                tp = tps.get(mode, [])
                # Each mode at half its own maximum; "direct" at run's rate.
                own = tp or results.get(("run", workers), ([],))[0]
                rate = (2 * a.latency_rate if a.latency_rate
                        else statistics.median(t["events_per_s"] for t in own))
                lat = [latency(a, tmp, lat_lines, rate / 2, mode, workers) for _ in range(a.runs)]
                results[(mode, workers)] = (tp, lat)
                line = f"{mode:6s} workers={workers}: "
                if tp:
                    eps, lo, hi = med([t["events_per_s"] for t in tp])
                    cpu, clo, chi = med([t["cpu_us_per_event"] for t in tp])
                    rss = statistics.median(t["rss_mb"] for t in tp)
                    line += (f"{eps:,.0f} events/s [{lo:,.0f}..{hi:,.0f}] {eps * size / 1e6:.1f} "
                             f"MB/s; {cpu:.2f} CPU-µs/event [{clo:.2f}..{chi:.2f}]; peak RSS "
                             f"{rss:.0f} MB; ")
                print(line + f"at {rate / 2:,.0f} events/s: {latency_summary(lat)}", flush=True)
                entry = {"mode": mode, "workers": workers, "latency_rate": rate / 2,
                         "latency": {k: stats([l[k] for l in lat])
                                     for k in ("p50_ms", "p99_ms", "p999_ms", "max_ms")},
                         "latency_quantiles_ms": quantiles([x for l in lat for x in l["all_ms"]])}
                if lat[0]["first_hop"] is not None:
                    entry["first_hop"] = {k: stats([l["first_hop"][k] for l in lat])
                                          for k in ("p50_ms", "p99_ms")}
                if lat[0]["hold"] is not None:
                    entry["held_by_bulwark"] = {k: stats([l["hold"][k] for l in lat])
                                                for k in ("p50_ms", "p99_ms")}
                entry["cluster_cpu_us_per_event"] = stats(
                    [l["cluster_cpu_us_per_event"] for l in lat])
                if lat[0]["paced_cpu_us_per_event"] is not None:
                    entry["paced_cpu_us_per_event"] = stats(
                        [l["paced_cpu_us_per_event"] for l in lat])
                if tp:
                    entry.update({k: stats([t[k] for t in tp])
                                  for k in ("events_per_s", "cpu_us_per_event", "rss_mb")})
                doc["configs"].append(entry)
            if (a.latency_rate and scan_us is not None and ("relay", workers) in results and
                    ("run", workers) in results):
                # The same input rate for both: the ratio without the effect
                # of each mode's own maximum rate on batching and wake-ups.
                relay_cpu = statistics.median(
                    l["paced_cpu_us_per_event"] for l in results[("relay", workers)][1])
                run_cpu = statistics.median(
                    l["paced_cpu_us_per_event"] for l in results[("run", workers)][1])
                print(f"workers={workers} at {a.latency_rate:,.0f} events/s: run {run_cpu:.2f} vs "
                      f"relay {relay_cpu:.2f} + scan {scan_us:.2f} CPU-µs/event -> ratio "
                      f"{run_cpu / (relay_cpu + scan_us):.2f}", flush=True)
                doc["ratios"][f"run / (relay + scan) at {a.latency_rate:g} events/s, {workers} "
                              "worker" + ("" if workers == 1 else "s")] = \
                    run_cpu / (relay_cpu + scan_us)
            if (not a.latency_only and scan_us is not None and ("relay", workers) in results and
                    ("run", workers) in results):
                relay_cpu = statistics.median(
                    t["cpu_us_per_event"] for t in results[("relay", workers)][0])
                run_cpu = statistics.median(
                    t["cpu_us_per_event"] for t in results[("run", workers)][0])
                round_scan_us = statistics.median(round_scan)
                bound = 1.2 * (relay_cpu + round_scan_us)
                per_round = [t_run["cpu_us_per_event"] / (t_relay["cpu_us_per_event"] + sc)
                             for t_run, t_relay, sc in zip(results[("run", workers)][0],
                                                           results[("relay", workers)][0],
                                                           round_scan)]
                pr, plo, phi = med(per_round)
                print(f"workers={workers}: run {run_cpu:.2f} vs 1.2 x (relay {relay_cpu:.2f} + scan "
                      f"{round_scan_us:.2f}) = {bound:.2f} CPU-µs/event -> ratio "
                      f"{run_cpu / (relay_cpu + round_scan_us):.2f}; each round's own ratio "
                      f"{pr:.2f} [{plo:.2f}..{phi:.2f}]", flush=True)
                key = f"run / (relay + scan), {workers} worker" + ("" if workers == 1 else "s")
                doc["ratios"][key] = run_cpu / (relay_cpu + round_scan_us)
                doc["round_ratios"][key] = stats(per_round)
        if scan_us_runs:
            doc["scan_cpu_us_per_event"] = stats(scan_us_runs)
            print(f"scan (1 worker): {statistics.median(scan_us_runs):.2f} CPU-µs/event "
                  f"({len(scan_us_runs)} runs)", flush=True)
        if a.json:
            with open(a.json, "w") as f:
                json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
