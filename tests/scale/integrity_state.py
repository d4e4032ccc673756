#!/usr/bin/env python3
"""Integrity state across rebalances and restarts (issue 11.2), on `bulwark broker`.

Signed telemetry from 50 sources, keyed by source, goes through three
`bulwark run` instances of one group while instances move: one stops
(SIGTERM), another starts, one is killed (-9) and restarted. Phase 1 is a
clean stream; phase 2 plants real gaps (5 sources skip numbers) and replays
(5 sources send again an event of phase 1, byte for byte).

With the changelog (kafka.integrity_state_topic) the run must show:
  - no integrity.gap / replay / silence / reset alert other than the planted ones,
  - every planted gap and replay detected (by source) and every replayed copy
    quarantined as a replay,
  - every input in an output, none in two kinds of output (duplicates only
    from what the killed instance had not committed).
The control run, the same stream and moves with the changelog off
(integrity_state_topic: ""), must show false alerts or miss planted replays
(which of the two depends on where the assignor moves each partition):
otherwise this test could not tell a working restore from a broken one.

usage: integrity_state.py --bulwark BIN --tool KAFKA_TOOL [--only on|control] [--broker BIN]
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import kafka_e2e  # noqa: E402  (Broker, Instance, consume)
from bulwark_proc import parse_ts, sign_body  # noqa: E402

KEY_HEX = "5c" * 32
SOURCES = [f"srv-{i:02d}" for i in range(50)]
GAP_SOURCES = SOURCES[0:5]
REPLAY_SOURCES = SOURCES[5:10]
RATE = 300            # events/s, all sources in turn
PHASE1_S = 45
PHASE2_S = 12
PARTITIONS = 8
SILENCE_AFTER_S = 20
INTEGRITY_KINDS = ("integrity.gap", "integrity.replay", "integrity.silence", "integrity.reset",
                   "integrity.tamper", "integrity.unsigned")


def make_stream(start_ms):
    """Lines of both phases, and what was planted: the ids of the replayed
    originals (their copies carry the same bytes)."""
    lines, originals = [], {}
    seq = {s: 0 for s in SOURCES}
    n = 0

    def event(source, i):
        nonlocal n
        seq[source] += 1
        ev = {"ts": start_ms + i * 1000 // RATE, "source": source, "seq": seq[source],
              "epoch": "boot-1", "type": "prediction", "model": "fraud", "bw_test_id": n,
              "features": {"amount": (n * 7919) % 1000 / 10}}
        n += 1
        line = sign_body(ev, KEY_HEX)
        originals.setdefault(source, []).append((ev["bw_test_id"], line))
        return line

    total1 = RATE * PHASE1_S
    for i in range(total1):
        lines.append(event(SOURCES[i % len(SOURCES)], i))
    for s in GAP_SOURCES:
        seq[s] += 100  # a hundred numbers never sent
    replayed = []
    for i in range(total1, total1 + RATE * PHASE2_S):
        lines.append(event(SOURCES[i % len(SOURCES)], i))
        k = i - total1
        if k % 50 == 25 and k // 50 < len(REPLAY_SOURCES):
            s = REPLAY_SOURCES[k // 50]
            # From the first seconds, before any instance moved: whoever holds
            # the source now knows that number only from the changelog.
            tid, copy = originals[s][20]
            lines.append(copy)
            replayed.append(tid)
    return lines, total1, replayed


def write_config(path, bootstrap, changelog):
    with open(path, "w") as f:
        f.write(f"""workers: 1
kafka:
  brokers: "{bootstrap}"
  inputs: [telemetry]
  integrity_state_topic: "{'bulwark.integrity.state' if changelog else ''}"
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    log_level: "3"
    fetch.wait.max.ms: "10"
integrity:
  keys:
    k1: {{hex: "{KEY_HEX}"}}
  require_signature: ["srv-*"]
  silence_after: {SILENCE_AFTER_S}s
  reorder_tolerance: 8
""")


def run_once(args, changelog, tmp):
    """One run; returns (alerts by kind → sources, per-id outputs, replayed ids, n inputs)."""
    kafka_e2e.TOPICS = [f"telemetry:{PARTITIONS}", f"telemetry.sanitized:{PARTITIONS}",
                        "bulwark.dlq:2", "bulwark.quarantine:2", "bulwark.alerts:2",
                        "bulwark.audit:1", f"bulwark.integrity.state:{PARTITIONS}"]
    broker = kafka_e2e.Broker(args.broker or args.bulwark)
    instances = []
    tag = "on" if changelog else "control"
    try:
        config = os.path.join(tmp, f"bulwark-{tag}.yaml")
        write_config(config, broker.bootstrap, changelog)

        def start(name):
            inst = kafka_e2e.Instance(args.bulwark, config, os.path.join(tmp, f"{tag}-{name}.log"))
            inst.name = name
            instances.append(inst)
            return inst

        a, b, c = start("a"), start("b"), start("c")
        time.sleep(8)  # all three in the group before the stream begins
        start_ms = int(time.time() * 1000)
        lines, phase1, replayed = make_stream(start_ms)
        producer = subprocess.Popen([args.tool, "produce-by-source", broker.bootstrap, "telemetry",
                                     str(RATE)], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        feeder_data = ("\n".join(lines) + "\n").encode()
        t0 = time.time()

        def feed():  # the producer paces itself: the pipe fills and waits
            producer.stdin.write(feeder_data)
            producer.stdin.close()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()

        def at(seconds):
            time.sleep(max(0.0, t0 + seconds - time.time()))

        at(6)
        print(f"[{tag}] t=6 SIGTERM b: rc={b.stop()}", flush=True)
        instances.remove(b)
        at(14)
        start("d")
        print(f"[{tag}] t=14 started d", flush=True)
        at(24)
        c.proc.kill()
        c.proc.wait()
        c.log.close()
        instances.remove(c)
        print(f"[{tag}] t=24 kill -9 c", flush=True)
        at(30)
        start("c2")
        print(f"[{tag}] t=30 restarted c", flush=True)
        if producer.wait(PHASE1_S + PHASE2_S + 60) != 0:
            raise SystemExit("the producer failed")
        t_end = time.time()
        print(f"[{tag}] produced {len(lines)} records in {t_end - t0:.1f} s", flush=True)
        # Everything processed (sanitised + quarantined), well before silence_after.
        sanitized = kafka_e2e.consume(args.tool, broker.bootstrap, "telemetry.sanitized",
                            len(lines) - len(replayed), 120)
        quarantine = kafka_e2e.consume(args.tool, broker.bootstrap, "bulwark.quarantine", 0, 15)
        dlq = kafka_e2e.consume(args.tool, broker.bootstrap, "bulwark.dlq", 0, 10)
        for inst in list(instances):
            rc = inst.stop()
            if rc != 0:
                raise SystemExit(f"[{tag}] instance {inst.name} exited {rc}")
        instances.clear()
        alerts = kafka_e2e.consume(args.tool, broker.bootstrap, "bulwark.alerts", 0, 15)
    finally:
        for inst in instances:
            try:
                inst.stop(signal.SIGKILL, 10)
            except Exception:  # noqa: BLE001
                pass
        broker.stop()

    # Every source sends until t_end: a silence can be real only from
    # silence_after later (the instances keep running while the outputs are
    # read back, so the end of the stream does fall silent).
    real_from = t_end + SILENCE_AFTER_S - 3
    by_kind = {}
    for rec in alerts:
        al = json.loads(rec["value"])
        if al["kind"] == "integrity.silence" and parse_ts(al["first_seen"]) >= real_from:
            continue
        by_kind.setdefault(al["kind"], set()).add(al.get("source", ""))
    outputs = {}
    for topic, recs in (("sanitized", sanitized), ("quarantine", quarantine), ("dlq", dlq)):
        for rec in recs:
            value = json.loads(rec["value"])
            tid = value.get("bw_test_id")
            if tid is None and "raw" in value:  # quarantine / DLQ: the original inside
                try:
                    tid = json.loads(value["raw"]).get("bw_test_id")
                except (json.JSONDecodeError, AttributeError):
                    tid = None
            if tid is None:
                raise SystemExit(f"[{tag}] an output record without a test id in {topic}")
            outputs.setdefault(tid, []).append((topic, value.get("reason")))
    n_ids = len(lines) - len(replayed)
    print(f"[{tag}] alerts: " + ", ".join(f"{k}={sorted(v)}" for k, v in sorted(by_kind.items())
                                         if k.startswith("integrity.")), flush=True)
    return by_kind, outputs, replayed, n_ids


def judge_on(by_kind, outputs, replayed, n_ids):
    failures = []

    def check(cond, what):
        print(("ok: " if cond else "FAIL: ") + what, flush=True)
        if not cond:
            failures.append(what)

    check(by_kind.get("integrity.gap", set()) == set(GAP_SOURCES),
          f"integrity.gap exactly for the planted sources ({sorted(by_kind.get('integrity.gap', []))})")
    check(by_kind.get("integrity.replay", set()) == set(REPLAY_SOURCES),
          "integrity.replay exactly for the planted sources "
          f"({sorted(by_kind.get('integrity.replay', []))})")
    for kind in ("integrity.silence", "integrity.reset", "integrity.tamper", "integrity.unsigned"):
        check(not by_kind.get(kind),
              f"no {kind} alert while the sources send ({sorted(by_kind.get(kind, []))})")
    missing = [i for i in range(n_ids) if i not in outputs]
    check(not missing, f"every input reached an output ({len(missing)} missing, e.g. {missing[:5]})")
    mixed, dups = [], 0
    for tid, outs in outputs.items():
        kinds = sorted({t for t, _ in outs})
        expected = ["quarantine", "sanitized"] if tid in replayed else ["sanitized"]
        if kinds != expected:
            mixed.append((tid, kinds))
        dups += len(outs) - (2 if tid in replayed else 1)
    check(not mixed, f"each input in exactly its one kind of output ({len(mixed)} not, e.g. {mixed[:5]})")
    bad_reason = [tid for tid in replayed
                  if ("quarantine", "integrity.replay") not in outputs.get(tid, [])]
    check(not bad_reason, f"every replayed copy quarantined as integrity.replay ({bad_reason})")
    print(f"duplicates (uncommitted tail of the killed instance): {dups}", flush=True)
    return failures


def judge_control(by_kind, replayed, outputs):
    false_alerts = {k: sorted(v - (set(GAP_SOURCES) if k == "integrity.gap" else
                                   set(REPLAY_SOURCES) if k == "integrity.replay" else set()))
                    for k, v in by_kind.items() if k in INTEGRITY_KINDS}
    false_alerts = {k: v for k, v in false_alerts.items() if v}
    missed = [tid for tid in replayed
              if ("quarantine", "integrity.replay") not in outputs.get(tid, [])]
    dups = sum(len(o) for o in outputs.values()) - len(outputs) - len(replayed)
    print(f"control: false alerts {false_alerts}; replays missed {len(missed)} of {len(replayed)}; "
          f"duplicates {dups}", flush=True)
    # Which instance holds a partition after each move is the assignor's
    # choice, so which of the two failures shows varies from run to run; a run
    # without either would mean the moves did not exercise the changelog.
    if not false_alerts and not missed:
        print("FAIL: the control run (no changelog) shows no false alert and misses no replay: "
              "the moves in this test do not exercise what the changelog fixes", flush=True)
        return ["control without false alerts or missed replays"]
    print("ok: the control run (no changelog) fails where the changelog run does not "
          f"({len(false_alerts)} kind(s) of false alert, {len(missed)} replay(s) missed)", flush=True)
    return []


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bulwark", required=True)
    p.add_argument("--tool", required=True)
    p.add_argument("--only", choices=["on", "control"])
    p.add_argument("--broker", help="the `bulwark` that runs `bulwark broker` (default --bulwark; "
                   "a sanitizer build of the instances may need a plain one here)")
    args = p.parse_args()
    failures = []
    with tempfile.TemporaryDirectory(prefix="bulwark-scale-") as tmp:
        try:
            if args.only in (None, "on"):
                by_kind, outputs, replayed, n_ids = run_once(args, True, tmp)
                failures += judge_on(by_kind, outputs, replayed, n_ids)
            if args.only in (None, "control"):
                by_kind, outputs, replayed, _ = run_once(args, False, tmp)
                failures += judge_control(by_kind, replayed, outputs)
        finally:
            if failures and os.environ.get("BULWARK_KEEP_LOGS"):
                keep = os.environ["BULWARK_KEEP_LOGS"]
                subprocess.run(["cp", "-r", tmp, keep], check=False)
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
