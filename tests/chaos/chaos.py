#!/usr/bin/env python3
"""Long chaos runs (ctest label `chaos`, skipped by CI; `ctest -L chaos`).

Scenarios:
  kill9        1,000,000 events through `bulwark run` against `bulwark broker`
               while bulwark is killed with SIGKILL and restarted every few
               seconds: every input reaches exactly one output (duplicates
               from uncommitted tails are counted, not failed), no planted
               canary leaks.
  flood        10,000,000 signed events from 10,000,000 distinct sources with
               as many distinct drift keys through `bulwark scan`, with the
               integrity and drift tables capped: peak RSS after 10M events
               stays within 25% of peak RSS after 1M (bounded, not growing
               with the number of sources), and each capped table raises a
               `capacity` alert (repeated at most per reminder interval, never
               per evicted entry).
  pathological deep nesting, 1 MB strings of one character, regex bait:
               each input finishes (a generous per-input limit catches a hang,
               the times are printed), yields exactly one output line, and the
               output is valid JSON.

usage: chaos.py --bulwark BIN --tool KAFKA_TOOL SCENARIO [--events N]
"""
import argparse
import hashlib
import hmac
import json
import os
import random
import re
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time

KEY_HEX = "5a" * 32


def fail(msg):
    print(f"chaos.py: FAIL: {msg}")
    sys.exit(1)


# ------------------------------------------------------------------ kill9

TOPICS = ["telemetry:48", "telemetry.sanitized:48", "bulwark.dlq:4", "bulwark.quarantine:4",
          "bulwark.alerts:4", "bulwark.audit:4"]


class Broker:
    def __init__(self, bulwark):
        args = [bulwark, "broker"]
        for t in TOPICS:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("bootstrap "):
            fail(f"broker did not start: {line!r}")
        self.bootstrap = line.split()[1]

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(10)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()


def scenario_kill9(a, tmp):
    n = a.events or 1_000_000
    broker = Broker(a.bulwark)
    try:
        cfg = os.path.join(tmp, "bulwark.yaml")
        with open(cfg, "w") as f:
            f.write(f"""workers: 2
kafka:
  brokers: "{broker.bootstrap}"
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    log_level: "3"
http:
  listen: 127.0.0.1:0
""")
        rng = random.Random(9)
        canaries = []
        lines = []
        for i in range(n):
            ev = {"bw_test_id": i, "source": f"srv-{i % 50}", "type": "log", "msg": "request ok"}
            if i % 500 == 0:
                key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
                                       for _ in range(16))
                ev["msg"] = f"deploy with {key}"
                canaries.append(key)
            lines.append(json.dumps(ev, separators=(",", ":")))
        # The reader runs from the start: the embedded cluster keeps ~5 MB per
        # partition, so the sanitised topic is drained while it is written.
        out_path = os.path.join(tmp, "sanitized.ndjson")
        reader = subprocess.Popen([a.tool, "consume", broker.bootstrap, "telemetry.sanitized",
                                   str(n), "1800"], stdout=open(out_path, "w"),
                                  stderr=subprocess.DEVNULL)
        producer = subprocess.Popen([a.tool, "produce-paced", broker.bootstrap, "telemetry", "48",
                                     "15000"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        feeder = threading.Thread(target=lambda: (producer.stdin.write(
            ("\n".join(lines) + "\n").encode()), producer.stdin.close()))
        feeder.start()
        kills = 0
        logs = []

        def start():
            log = os.path.join(tmp, f"run{len(logs)}.log")
            logs.append(log)
            return subprocess.Popen([a.bulwark, "run", "-c", cfg], stdout=open(log, "w"),
                                    stderr=subprocess.STDOUT)

        proc = start()
        started = time.monotonic()
        while producer.poll() is None:
            time.sleep(rng.uniform(4, 9))
            if producer.poll() is not None:
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            proc = start()
        feeder.join()
        if producer.wait() != 0:
            fail("the producer failed")
        reader.wait()
        seen = {}
        leaked = 0

        def tally(path, count_again):
            nonlocal leaked
            with open(path) as f:
                for line in f:
                    value = json.loads(line)["value"]
                    tid = json.loads(value).get("bw_test_id")
                    if "AKIA" in value and any(c in value for c in canaries):
                        leaked += 1
                    if count_again or tid not in seen:
                        seen[tid] = seen.get(tid, 0) + 1

        tally(out_path, True)
        # The reader stops at n records, and duplicates from the kills count
        # towards n: ids still on their way are read by further passes (from
        # the oldest record the cluster kept), counted once each.
        deadline = time.monotonic() + 180
        passes = 0
        while any(i not in seen for i in range(n)) and time.monotonic() < deadline:
            passes += 1
            again = os.path.join(tmp, f"sanitized.{passes}.ndjson")
            subprocess.run([a.tool, "consume", broker.bootstrap, "telemetry.sanitized", "0", "60"],
                           stdout=open(again, "w"), stderr=subprocess.DEVNULL)
            tally(again, False)
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(30)
        took = time.monotonic() - started
        dlq = subprocess.run([a.tool, "consume", broker.bootstrap, "bulwark.dlq", "0", "15"],
                             capture_output=True, text=True).stdout.splitlines()
        missing = [i for i in range(n) if i not in seen]
        dups = sum(c - 1 for c in seen.values())
        print(f"kill9: events={n} kills={kills} seconds={took:.0f} unique={len(seen)} "
              f"missing={len(missing)} duplicates={dups} dlq={len(dlq)} leaked={leaked} "
              f"final_exit={rc} extra_passes={passes}")
        if missing:
            fail(f"{len(missing)} inputs never reached the sanitised topic, e.g. {missing[:10]}")
        if leaked:
            fail(f"{leaked} sanitised records carry a planted key")
        if rc != 0:
            fail(f"the last instance exited {rc} on SIGTERM")
    finally:
        broker.stop()


# ------------------------------------------------------------------ flood

def flood_events(n, out):
    """n signed events, each from a new source and with a new drift key."""
    key = bytes.fromhex(KEY_HEX)
    t0 = 1_795_000_000_000
    buf = []
    for i in range(n):
        body = (f'{{"ts":{t0 + i // 100},"source":"src-{i}","seq":1,"type":"prediction",'
                f'"model":"m-{i}","features":{{"amount":{i % 1000}}}}}').encode()
        mac = hmac.new(key, body, hashlib.sha256).hexdigest()
        buf.append(body[:-1] + b',"sig":{"kid":"k1","mac":"' + mac.encode() + b'"}}\n')
        if len(buf) == 20000:
            out.write(b"".join(buf))
            buf.clear()
    out.write(b"".join(buf))


def run_flood(a, tmp, n):
    cfg = os.path.join(tmp, "flood.yaml")
    with open(cfg, "w") as f:
        f.write(f"""integrity:
  keys: {{k1: {{hex: "{KEY_HEX}"}}}}
  max_sources: 20000
  max_streams: 20000
drift:
  key: [/model]
  window: 1m
  reference: {{windows: 2}}
  max_keys: 1000
  features: [{{path: /features/amount, type: numeric}}]
""")
    alerts = os.path.join(tmp, f"alerts{n}.ndjson")
    started = time.monotonic()
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", a.bulwark, "scan", "-c", cfg,
                             "--out", "/dev/null", "--alerts", alerts],
                            stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    err = []
    t = threading.Thread(target=lambda: err.append(proc.stderr.read()))
    t.start()
    flood_events(n, proc.stdin)
    proc.stdin.close()
    rc = proc.wait()
    t.join()
    text = err[0].decode(errors="replace")
    if rc != 0:
        fail(f"scan of {n} events exited {rc}: {text[-1000:]}")
    peak_kb = int(text.strip().splitlines()[-1])
    kinds = {}
    with open(alerts) as f:
        for line in f:
            al = json.loads(line)
            kind = al["kind"]
            if kind == "capacity":
                ev = al.get("evidence", {})
                kind = f"capacity:{ev.get('table') or ev.get('module')}"
            kinds[kind] = kinds.get(kind, 0) + 1
    summary = [l for l in text.splitlines() if "lines_in=" in l]
    return peak_kb, kinds, time.monotonic() - started, summary[-1] if summary else ""


def scenario_flood(a, tmp):
    n = a.events or 10_000_000
    small = max(n // 10, 1)
    rss_small, kinds_small, t_small, _ = run_flood(a, tmp, small)
    rss_big, kinds_big, t_big, summary = run_flood(a, tmp, n)
    print(f"flood: {small} sources: peak RSS {rss_small / 1024:.0f} MiB in {t_small:.0f} s; "
          f"{n} sources: peak RSS {rss_big / 1024:.0f} MiB in {t_big:.0f} s; alerts {kinds_big}")
    print(f"flood: {summary}")
    if rss_big > rss_small * 1.25:
        fail(f"peak RSS grew from {rss_small} KiB to {rss_big} KiB with 10x the sources: unbounded")
    counts = dict(kv.split("=", 1) for kv in summary.split() if "=" in kv)
    if counts.get("lines_in") != str(n) or counts.get("lines_out") != str(n):
        fail(f"every line should get its output: {summary}")
    capacity = {k: v for k, v in kinds_big.items() if k.startswith("capacity:")}
    if "capacity:drift" not in capacity or len(capacity) < 2:
        fail(f"expected capacity alerts for drift and the integrity tables: {kinds_big}")
    # One per table, repeated at most once per capacity_alert_interval of
    # event time (the stream spans 100 s of it): never one per evicted entry.
    if max(capacity.values()) > 3:
        fail(f"capacity alerts repeat per eviction, not per table: {capacity}")


# ------------------------------------------------------------------ pathological

def pathological_inputs():
    mb = 1024 * 1024
    yield "deep nesting 100k", b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    yield "deep objects 50k", b'{"a":' + b'{"b":' * 50_000 + b"1" + b"}" * 50_000 + b"}"
    for ch, name in [("a", "letters"), ("1", "digits"), ("A", "capitals"), (" ", "spaces"),
                     ("<", "angles"), ("$", "dollars"), ("{", "braces"), ("=", "equals"),
                     ("-", "dashes"), ("@", "ats"), ("/", "slashes"), ("%", "percents"),
                     (".", "dots"), ("+", "pluses")]:
        yield f"1 MB of {name}", json.dumps({"msg": ch * mb}).encode()
    yield "1 MB of backslashes", json.dumps({"msg": "\\" * mb}).encode()
    yield "1 MB of escaped newlines", json.dumps({"msg": "\n" * mb}).encode()
    yield "1 MB of zero-width joiners", json.dumps({"msg": "\u200b" * (mb // 3)},
                                                   ensure_ascii=False).encode()
    bait = {
        "AKIA prefixes": "AKIA" * (mb // 4),
        "password assignments": "password=" * (mb // 9),
        "jndi openers": "${jndi:" * (mb // 7),
        "nested lookups": "${${${" * (mb // 6),
        "CRLF escapes": "%0d%0a" * (mb // 6),
        "card-like digits": "4111 1111 " * (mb // 10),
        "phone-like digits": "+1 555 " * (mb // 7),
        "IBAN-like": "DE89 3704 " * (mb // 10),
        "emails without end": "a@b." * (mb // 4),
        "script openers": "<script" * (mb // 7),
        "ignore previous": "ignore previous " * (mb // 16),
        "base64 run": "QUJD" * (mb // 4),
        "ANSI escapes": "\x1b[" * (mb // 2),
        "PEM headers": "-----BEGIN " * (mb // 11),
        "bearer": "Bearer " * (mb // 7),
        "jwt-like": "eyJ." * (mb // 4),
    }
    for name, text in bait.items():
        yield f"bait: {name}", json.dumps({"msg": text}).encode()
    yield "100k members", b"{" + b",".join(b'"k%d":"v"' % i for i in range(100_000)) + b"}"
    yield "100k short strings", json.dumps({"a": ["x1"] * 100_000}).encode()


def scenario_pathological(a, tmp):
    cfg = os.path.join(tmp, "patho.yaml")
    with open(cfg, "w") as f:
        f.write("limits:\n  max_event_bytes: 4194304\n  max_depth: 64\n")
    limit = 120  # seconds per input: a hang detector, far above any normal time
    worst = 0.0
    for name, data in pathological_inputs():
        started = time.monotonic()
        try:
            r = subprocess.run([a.bulwark, "scan", "-c", cfg], input=data + b"\n",
                               capture_output=True, timeout=limit)
        except subprocess.TimeoutExpired:
            fail(f"{name}: no answer within {limit} s")
        took = time.monotonic() - started
        worst = max(worst, took)
        out = r.stdout.decode("utf-8", errors="strict").splitlines()
        if r.returncode != 0 or len(out) != 1:
            fail(f"{name}: exit {r.returncode}, {len(out)} output lines: "
                 f"{r.stderr.decode(errors='replace')[-300:]}")
        doc = json.loads(out[0])
        verdict = doc.get("_bulwark", {}).get("verdict", "clean")
        print(f"pathological: {name}: {len(data) / 1024:.0f} KiB in {took:.2f} s, {verdict}")
    print(f"pathological: slowest input {worst:.2f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--events", type=int, default=0)
    ap.add_argument("scenario", choices=["kill9", "flood", "pathological"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bulwark_chaos_") as tmp:
        {"kill9": scenario_kill9, "flood": scenario_flood,
         "pathological": scenario_pathological}[a.scenario](a, tmp)
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
