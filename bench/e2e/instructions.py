#!/usr/bin/env python3
"""run / (relay + scan) in instructions: the same comparison as e2e.py's CPU
ratio, counted by callgrind instead of timed, so that it does not move with
the load of a shared machine.

For each of `bulwark run --relay`, `bulwark run` (1 worker, the embedded
cluster, the same configuration as e2e.py) and `bulwark scan` (1 worker), the
user-space instructions of the whole process (every thread) are counted while
it handles N preloaded gen-telemetry events, at two sizes N1 < N2. The
difference between the two sizes divided by N2 - N1 is each mode's marginal
cost per event, with start-up, group join and idle polling cancelled out;
the totals at N2 are reported too, and the worker thread's share apart from
librdkafka's threads and bulwark's others. Those other threads also poll while
idle (the group join, the wait for the reader), which varies with wall time:
keep N2 - N1 large (the default, 10k) so that it weighs little per event.

What instructions do not show: kernel time (system calls, page faults,
wake-ups and context switches of librdkafka's threads), cache misses and the
threads competing for the machine's cores. callgrind runs one thread at a
time, and slower than natively, so librdkafka batches differently here: its
per-batch work (a produce request, a delivery report, an LZ4F context whose
clearing valgrind counts byte by byte) falls on fewer records per batch than at
full speed, more so for `run` than for the relay. The worker thread's figures
are free of that.

usage: bench/e2e/instructions.py --build build [--events 10000,20000] [--json out.json]
"""
import argparse
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e import Broker, config, preload_and_read  # noqa: E402


WORKER = "worker::run(std::latch&)"  # the function a worker thread of `run` runs


def collected(out_file):
    """(instructions of the whole process, of its worker threads) from callgrind's
    per-thread files (`--separate-threads=yes`: OUT-01, OUT-02, ...)."""
    total = worker = 0
    files = sorted(glob.glob(out_file + "-*"))
    if not files:
        sys.exit(f"no callgrind output at {out_file}-*")
    for path in files:
        count, is_worker = None, False
        with open(path, errors="replace") as f:
            for line in f:
                if line.startswith(("summary:", "totals:")):
                    count = int(line.split()[1])
                elif WORKER in line:
                    is_worker = True
        if count is None:
            sys.exit(f"no instruction total in {path}")
        total += count
        worker += count if is_worker else 0
    return total, worker


def callgrind(args, out_file):
    return ["valgrind", "--tool=callgrind", "--separate-threads=yes",
            f"--callgrind-out-file={out_file}"] + args


def kafka_mode(a, tmp, events_file, n, mode):
    broker = Broker(a.bulwark)
    try:
        reader = preload_and_read(a, broker, events_file, n, 1800)
        out_file = os.path.join(tmp, f"callgrind.{mode}.{n}")
        args = [a.bulwark, "run", "-c", config(tmp, broker.bootstrap, 1, {})]
        if mode == "relay":
            args.append("--relay")
        proc = subprocess.Popen(callgrind(args, out_file), stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        out, _ = reader.communicate(timeout=1800)
        if f"count={n}" not in out:
            sys.exit(f"{mode}: the reader saw {out.strip()!r}, not {n} outputs")
        proc.send_signal(signal.SIGTERM)
        if proc.wait(300) != 0:
            sys.exit(f"{mode}: bulwark exited {proc.returncode}")
        return collected(out_file)
    finally:
        broker.stop()


def scan_mode(a, tmp, events_file, n):
    cfg = os.path.join(tmp, "scan-1.yaml")
    with open(cfg, "w") as f:
        f.write("workers: 1\n")
    out_file = os.path.join(tmp, f"callgrind.scan.{n}")
    with open(events_file, "rb") as f:
        rc = subprocess.run(callgrind([a.bulwark, "scan", "-c", cfg, "--out", "/dev/null"],
                                      out_file), stdin=f, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL).returncode
    if rc != 0:
        sys.exit(f"scan exited {rc}")
    return collected(out_file)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--events", default="10000,20000",
                    help="two event counts N1,N2: the marginal cost is taken between them")
    ap.add_argument("--json", help="also write the counts and ratios as JSON here")
    a = ap.parse_args()
    sizes = [int(x) for x in a.events.split(",")]
    if len(sizes) != 2 or not 0 < sizes[0] < sizes[1]:
        ap.error("--events takes two increasing counts, e.g. 10000,20000")
    a.bulwark = os.path.join(a.build, "src/app/bulwark")
    a.tool = os.path.join(a.build, "tests/integration/kafka_tool")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    counts = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            events_file = os.path.join(tmp, f"events.{n}.ndjson")
            with open(events_file, "w") as f:
                subprocess.run([sys.executable, os.path.join(root, "scripts/gen-telemetry"),
                                "--events", str(n), "--seed", "7"], stdout=f, check=True)
            counts[("relay", n)] = kafka_mode(a, tmp, events_file, n, "relay")
            counts[("run", n)] = kafka_mode(a, tmp, events_file, n, "run")
            counts[("scan", n)] = scan_mode(a, tmp, events_file, n)
    n1, n2 = sizes

    def per_event(mode, part):
        return (counts[(mode, n2)][part] - counts[(mode, n1)][part]) / (n2 - n1)

    doc = {"events": sizes, "instructions": {}, "per_event": {}, "worker_per_event": {},
           "ratios": {}}
    for mode in ("relay", "run", "scan"):
        doc["instructions"][mode] = {str(n): counts[(mode, n)][0] for n in sizes}
        doc["per_event"][mode] = per_event(mode, 0)
        line = (f"{mode:6s} {counts[(mode, n1)][0]:>15,} instructions at {n1} events, "
                f"{counts[(mode, n2)][0]:>15,} at {n2}; {per_event(mode, 0):,.0f} per event "
                "between them")
        if mode != "scan":
            doc["worker_per_event"][mode] = per_event(mode, 1)
            line += (f" (worker thread {per_event(mode, 1):,.0f}, librdkafka's and the other "
                     f"threads {per_event(mode, 0) - per_event(mode, 1):,.0f})")
        print(line)
    pe, wpe = doc["per_event"], doc["worker_per_event"]
    total = counts[("run", n2)][0] / (counts[("relay", n2)][0] + counts[("scan", n2)][0])
    marginal = pe["run"] / (pe["relay"] + pe["scan"])
    doc["ratios"] = {f"run / (relay + scan), totals at {n2} events": total,
                     "run / (relay + scan), per event": marginal,
                     "run's worker thread / (relay's worker thread + scan), per event":
                         wpe["run"] / (wpe["relay"] + pe["scan"])}
    print(f"run / (relay + scan): {total:.2f} in totals at {n2} events (start-ups included), "
          f"{marginal:.2f} per event; worker thread alone: run's / (relay's + scan) "
          f"{wpe['run'] / (wpe['relay'] + pe['scan']):.2f} per event")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)


if __name__ == "__main__":
    main()
