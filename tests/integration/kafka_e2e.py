#!/usr/bin/env python3
"""End-to-end tests of `bulwark run` on the embedded cluster (`bulwark broker`).

Each scenario starts its own broker process on 127.0.0.1, runs bulwark
instances against it, produces telemetry with planted canaries and malformed
records, reads every output topic back and checks:
  - every input ends in an output (sanitised, DLQ or quarantine): nothing lost;
  - duplicates come only from what was not committed, and are counted;
  - no planted secret or PII value appears in any output.

usage: kafka_e2e.py --bulwark BIN --tool KAFKA_TOOL --gen GEN_TELEMETRY SCENARIO
scenarios: e2e (100k events, malformed records), rebalance (a second instance
stops mid-stream), kill9 (kill -9 mid-stream, restart), broker-down (a broker
down for 5 s, produce errors injected), eos (exactly-once), interop (kcat and
kafkajs), slow-broker (bounded memory while the output broker is slow),
commit-refused (commits refused as the input goes quiet, then kill -9), late-join
(one worker of an instance joins the group after the others have partitions).
"""
import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

TOPICS = ["telemetry:32", "telemetry.sanitized:32", "bulwark.dlq:4", "bulwark.quarantine:4",
          "bulwark.alerts:4", "bulwark.audit:4", "bulwark.integrity.state:32"]


class Broker:
    def __init__(self, bulwark):
        args = [bulwark, "broker"]
        for t in TOPICS:
            args += ["--topic", t]
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("bootstrap "):
            raise SystemExit(f"broker did not start: {line!r}")
        self.bootstrap = line.split()[1]

    def command(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise SystemExit(f"broker: {cmd}: {answer}")

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Instance:
    def __init__(self, bulwark, config, log, env=None):
        self.log = open(log, "w")
        self.proc = subprocess.Popen([bulwark, "run", "-c", config], stdout=self.log,
                                     stderr=subprocess.STDOUT,
                                     env={**os.environ, **env} if env else None)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout)
        self.log.close()
        return rc


def log_records(text):
    """The JSON log records of a run's output (stdout's announcements are plain text)."""
    out = []
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                pass
    return out


def write_config(dirname, bootstrap, workers=2, extra_properties="", exactly_once=False):
    path = os.path.join(dirname, "bulwark.yaml")
    with open(path, "w") as f:
        f.write(f"""workers: {workers}
kafka:
  brokers: "{bootstrap}"
  exactly_once: {"true" if exactly_once else "false"}
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    log_level: "3"
{extra_properties}""")
    return path


def make_events(gen, count, seed):
    """Telemetry with a unique `bw_test_id`; ~2% carry planted canaries."""
    out = subprocess.run([sys.executable, gen, "--events", str(count), "--seed", str(seed)],
                         check=True, capture_output=True, text=True).stdout.splitlines()
    rng = random.Random(seed)
    lines, canaries = [], []
    for i, raw in enumerate(out):
        ev = json.loads(raw)
        ev["bw_test_id"] = i
        if rng.random() < 0.02:
            key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
            mail = f"canary.{i}.{rng.randrange(10**8)}@example.org"
            ev["note"] = f"deploy with aws key {key} and mail {mail} please"
            canaries += [key, mail]
        lines.append(json.dumps(ev, separators=(",", ":")))
    return lines, canaries


MALFORMED = [b"\xff\xfe binary \x00\x01", b"", b"not json at all", b"[1,2,3]",
             b'{"a":"' + b"x" * (5 * 1024 * 1024) + b'"}']


def produce(tool, bootstrap, lines, partitions=32):
    data = "\n".join(lines) + "\n"
    subprocess.run([tool, "produce", bootstrap, "telemetry", str(partitions)], input=data.encode(),
                   check=True, stderr=subprocess.DEVNULL)


def produce_raw(tool, bootstrap, values):
    """One record per value, whatever its bytes (kafka_tool splits on newlines: no newlines here)."""
    for v in values:
        subprocess.run([tool, "produce", bootstrap, "telemetry"], input=v + b"\n", check=True,
                       stderr=subprocess.DEVNULL)


def consume(tool, bootstrap, topic, at_least, timeout):
    r = subprocess.run([tool, "consume", bootstrap, topic, str(at_least), str(timeout)],
                       capture_output=True)
    return [json.loads(l) for l in r.stdout.decode().splitlines() if l]


def test_ids(sanitized):
    ids = set()
    for rec in sanitized:
        try:
            ids.add(json.loads(rec["value"]).get("bw_test_id"))
        except (TypeError, json.JSONDecodeError):
            pass
    return ids


def collect(tool, bootstrap, expected, timeout=240):
    """The sanitised topic once it holds every test id below `expected` (or at
    the deadline), with the DLQ and quarantine. A record count alone is not
    enough: after a restart or a rebalance the topic holds duplicates, so
    `expected` records can be there while some ids are still on their way (a
    reader that stopped there reported inputs as lost that arrived seconds
    later). Each pass reads the topic from its start."""
    deadline = time.monotonic() + timeout
    while True:
        left = max(10, int(deadline - time.monotonic()))
        sanitized = consume(tool, bootstrap, "telemetry.sanitized", expected, left)
        have = test_ids(sanitized)
        if all(i in have for i in range(expected)) or time.monotonic() >= deadline:
            break
        time.sleep(2)
    dlq = consume(tool, bootstrap, "bulwark.dlq", 0, 30)
    quarantine = consume(tool, bootstrap, "bulwark.quarantine", 0, 30)
    return sanitized, dlq, quarantine


def exited_cleanly(rc):
    """True for exit code 0 (after SIGTERM); otherwise says so."""
    if rc != 0:
        print(f"FAIL: bulwark run exited {rc} on SIGTERM")
    return rc == 0


def find_leaks(blob, canaries):
    """The canaries that occur in `blob`, exactly as `c in blob` would say, but
    in one pass per distinct 4-character prefix instead of one per canary (a
    blob of 100 MB and thousands of canaries would take minutes)."""
    lengths = {}
    for c in canaries:
        lengths.setdefault(c[:4], set()).add(len(c))
    windows = set()
    for anchor, sizes in lengths.items():
        i = blob.find(anchor)
        while i >= 0:
            windows.update(blob[i:i + n] for n in sizes)
            i = blob.find(anchor, i + 1)
    return [c for c in canaries if c in windows]


def check_outputs(sanitized, dlq, quarantine, n_events, canaries, allow_duplicates):
    seen = {}
    for rec in sanitized:
        ev = json.loads(rec["value"])
        tid = ev.get("bw_test_id")
        if tid == -1:
            continue  # the record whose key and header carry canaries
        if tid is None:
            raise SystemExit(f"a sanitised record has no test id: {rec['value'][:200]}")
        seen[tid] = seen.get(tid, 0) + 1
    missing = [i for i in range(n_events) if i not in seen]
    dups = sum(c - 1 for c in seen.values())
    blob = "\n".join(json.dumps(r) for r in sanitized + dlq + quarantine)
    leaked = find_leaks(blob, canaries)
    print(f"events={n_events} sanitized={len(sanitized)} unique={len(seen)} missing={len(missing)} "
          f"duplicates={dups} dlq={len(dlq)} quarantine={len(quarantine)} canaries={len(canaries)} "
          f"leaked={len(leaked)}")
    ok = True
    if missing:
        print(f"FAIL: {len(missing)} inputs never reached an output, e.g. {missing[:10]}")
        ok = False
    if dups and not allow_duplicates:
        print(f"FAIL: {dups} duplicates in a run without restarts or rebalances")
        ok = False
    if leaked:
        print(f"FAIL: planted values leaked, e.g. {leaked[:3]}")
        ok = False
    return ok, dups


def scenario_eos(a, tmp):
    """kafka.exactly_once: outputs and offsets in one transaction per batch. A
    read_committed reader sees every input exactly once. (The embedded cluster
    of librdkafka 2.0.2 does not store offsets sent to a transaction as the
    group's committed offsets, so a restart re-reads from the start there: a
    restart under exactly-once needs a real cluster, see README.)"""
    broker = Broker(a.bulwark)
    try:
        # One worker: a rebalance between two members would re-read from the
        # group's committed offsets, which the mock does not take from
        # transactions (see above), and so duplicate.
        cfg = write_config(tmp, broker.bootstrap, workers=1, exactly_once=True)
        inst = Instance(a.bulwark, cfg, os.path.join(tmp, "run.log"))
        lines, canaries = make_events(a.gen, 30000, 13)
        produce(a.tool, broker.bootstrap, lines[:15000])
        produce_raw(a.tool, broker.bootstrap, MALFORMED[:3])
        produce(a.tool, broker.bootstrap, lines[15000:])
        sanitized, dlq, quarantine = collect(a.tool, broker.bootstrap, len(lines))
        rc = inst.stop()
        ok, _ = check_outputs(sanitized, dlq, quarantine, len(lines), canaries, False)
        if len(dlq) != 3:
            print(f"FAIL: {len(dlq)} DLQ records, expected 3")
            ok = False
        return ok and rc == 0
    finally:
        broker.stop()


def scenario_e2e(a, tmp):
    broker = Broker(a.bulwark)
    try:
        cfg = write_config(tmp, broker.bootstrap)
        inst = Instance(a.bulwark, cfg, os.path.join(tmp, "run.log"))
        lines, canaries = make_events(a.gen, 100000, 11)
        produce(a.tool, broker.bootstrap, lines)
        produce_raw(a.tool, broker.bootstrap, MALFORMED)
        key_canary = f"key.canary.{random.randrange(10**9)}@example.org"
        header_canary = "AKIA" + "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        subprocess.run([a.tool, "produce-special", broker.bootstrap, "telemetry", key_canary,
                        "Bearer " + header_canary], check=True, stderr=subprocess.DEVNULL)
        canaries += [key_canary, header_canary]
        sanitized, dlq, quarantine = collect(a.tool, broker.bootstrap, len(lines))
        rc = inst.stop()
        alerts = consume(a.tool, broker.bootstrap, "bulwark.alerts", 1, 30)
        kinds = sorted({json.loads(r["value"])["kind"] for r in alerts})
        print(f"alerts: {len(alerts)} records, kinds {kinds}")
        # Alerts are searched for the canaries too.
        ok, _ = check_outputs(sanitized, dlq, quarantine + alerts, len(lines), canaries, False)
        # Low and medium alerts may be absorbed into a flood alert (that is the
        # design: a flood of findings must not bury the rest).
        if "secret" not in kinds or not ({"dlq", "flood"} & set(kinds)):
            print("FAIL: expected secret and dlq (or flood) alerts on the alerts topic")
            ok = False
        side = [r for r in sanitized if '"bw_test_id":-1' in r["value"]]
        if len(side) != 1 or side[0]["headers"].get("bw-binary") != "\ufffd\ufffd":
            print(f"FAIL: the record with canaries in its key and header: {side}")
            ok = False
        reasons = sorted(r["headers"].get("bw-reason", "?") for r in dlq)
        print(f"dlq reasons: {reasons}")
        # The empty and non-JSON values, the binary one (invalid UTF-8), the
        # array (not an object), the 5 MB one (too large), a null value, and
        # two with bad headers (an escape in a name, a forged bw-reason).
        want = sorted(["invalid_utf8", "empty", "not_json", "not_object", "too_large", "null_value",
                       "bad_headers", "bad_headers"])
        if reasons != want:
            print(f"FAIL: DLQ reasons {reasons}, expected {want}")
            ok = False
        for r in dlq:
            body = json.loads(r["value"])
            if not {"topic", "partition", "offset", "reason", "raw"} <= body.keys():
                print(f"FAIL: DLQ record lacks fields: {sorted(body.keys())}")
                ok = False
        return exited_cleanly(rc) and ok
    finally:
        broker.stop()


def scenario_restart(a, tmp, how):
    broker = Broker(a.bulwark)
    try:
        cfg = write_config(tmp, broker.bootstrap)
        first = Instance(a.bulwark, cfg, os.path.join(tmp, "run1.log"))
        second = Instance(a.bulwark, cfg, os.path.join(tmp, "run2.log")) if how == "rebalance" else None
        time.sleep(2)
        lines, canaries = make_events(a.gen, 40000, 12)
        if how == "kill9":
            # Killed while records are in flight: what was processed but not
            # yet committed is processed again after the restart.
            # Half the stream first, so the instance is consuming; then the
            # other half, and the kill while it is being written and read
            # (once it is all written, an idle instance has committed it all).
            produce(a.tool, broker.bootstrap, lines[:20000])
            subprocess.run([a.tool, "wait", broker.bootstrap, "telemetry.sanitized", "20000", "120"],
                           stderr=subprocess.DEVNULL)
            producer = subprocess.Popen([a.tool, "produce", broker.bootstrap, "telemetry", "32"],
                                        stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
            producer.stdin.write(("\n".join(lines[20000:]) + "\n").encode())
            producer.stdin.close()
            time.sleep(0.2)
            first.stop(signal.SIGKILL)
            if producer.wait(120) != 0:
                print("FAIL: the test producer could not deliver")
                return False
            first = Instance(a.bulwark, cfg, os.path.join(tmp, "run1b.log"))
        else:
            produce(a.tool, broker.bootstrap, lines[:20000])
            time.sleep(3)
            if how == "rebalance":
                rc = second.stop()  # a member leaves mid-stream: its partitions move
                if rc != 0:
                    print(f"FAIL: the stopped instance exited {rc}")
                    return False
                produce(a.tool, broker.bootstrap, lines[20000:])
            else:
                # Broker 2 goes down for 5 s while the rest is produced; the
                # mock moves no leaders, so its partitions wait for it.
                broker.command("down 2")
                data = ("\n".join(lines[20000:]) + "\n").encode()
                producer = subprocess.Popen([a.tool, "produce", broker.bootstrap, "telemetry", "32"],
                                            stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
                producer.stdin.write(data)
                producer.stdin.close()
                time.sleep(5)
                broker.command("up 2")
                # Then produce requests fail with retriable errors
                # (NOT_ENOUGH_REPLICAS, REQUEST_TIMED_OUT) while bulwark is
                # still writing its outputs: its producer retries, nothing is
                # lost or duplicated by the idempotent producer.
                broker.command("fail-produce 40 19")
                broker.command("fail-produce 40 7")
                if producer.wait(120) != 0:
                    print("FAIL: the test producer could not deliver")
                    return False
        sanitized, dlq, quarantine = collect(a.tool, broker.bootstrap, len(lines))
        first.stop()
        if how == "kill9":
            with open(os.path.join(tmp, "run1b.log")) as f:
                final = [r for r in log_records(f.read()) if r.get("msg") == "stopped"]
            print(f"after the restart: {json.dumps(final[-1]) if final else '?'}")
        ok, dups = check_outputs(sanitized, dlq, quarantine, len(lines), canaries, True)
        print(f"{how}: duplicates from the uncommitted tail: {dups}")
        return ok
    finally:
        broker.stop()


def scenario_late_join(a, tmp):
    """One worker of an instance joins the group after the group has formed
    without it (on a loaded machine its JoinGroup can miss the group's
    initial delay, 3 s): the others hold their partitions, paused, until it
    has joined, so the rebalance its arrival starts takes nothing they have
    consumed. The embedded cluster refuses commits while a group rebalances,
    so every record consumed before that rebalance would be consumed again
    (an earlier CI run wrote a third of a run twice that way). The input is there
    before the instance starts, so a worker that did not hold would consume
    at once."""
    broker = Broker(a.bulwark)
    try:
        lines, canaries = make_events(a.gen, 40000, 14)
        produce(a.tool, broker.bootstrap, lines)
        cfg = write_config(tmp, broker.bootstrap)
        log_path = os.path.join(tmp, "run.log")
        inst = Instance(a.bulwark, cfg, log_path, env={"BULWARK_TEST_WORKER_STAGGER_MS": "4500"})
        sanitized, dlq, quarantine = collect(a.tool, broker.bootstrap, len(lines))
        rc = inst.stop()
        ok, _ = check_outputs(sanitized, dlq, quarantine, len(lines), canaries, False)
        with open(log_path) as f:
            records = log_records(f.read())
        assigned = [r for r in records if r.get("msg") == "partitions assigned"]
        held = [r for r in assigned if r.get("held_until_all_workers_join")]
        released = [r for r in records if r.get("msg") == "every worker joined the group: consuming"]
        print(f"assignments: {[(r.get('worker'), r.get('partitions'), r.get('held_until_all_workers_join')) for r in assigned]}")
        # The group formed without the late worker: the first assignment is
        # the whole topic, held, and the late worker's arrival revokes it.
        revoked = [r for r in records if r.get("msg") == "partitions revoked"]
        if (not assigned or assigned[0].get("count") != 32 or
                assigned[0].get("partitions") != "telemetry:0-31" or not held or not released):
            print(f"FAIL: expected a held first assignment of all 32 partitions and its release: "
                  f"held={len(held)} released={len(released)}")
            ok = False
        elif len(revoked) < 3:  # the early one's first, then both at the end
            print(f"FAIL: the late worker's arrival revoked nothing: {len(revoked)} revocations")
            ok = False
        if any(r.get("msg", "").startswith("not every worker joined") for r in records):
            print("FAIL: the hold ran out before the late worker joined")
            ok = False
        return exited_cleanly(rc) and ok
    finally:
        broker.stop()


def http_address(log_path, timeout):
    """The instance's HTTP address from its log's first line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log_path) as f:
            for line in f:
                if line.startswith("bulwark run: http listening on "):
                    return line.split()[-1]
        time.sleep(0.2)
    return None


def wait_ready(log_path, timeout):
    """True once /readyz answers 200 (every worker has its first assignment)."""
    import urllib.error
    import urllib.request
    deadline = time.monotonic() + timeout
    addr = http_address(log_path, timeout)
    while addr and time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://{addr}/readyz", timeout=5).status == 200:
                return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    return False


def refusals_metric(log_text):
    """bulwark_offset_commit_refusals_total from the instance's /metrics (its
    address from the log's first line), or -1."""
    import urllib.request
    for line in log_text.splitlines():
        if line.startswith("bulwark run: http listening on "):
            addr = line.split()[-1]
            body = urllib.request.urlopen(f"http://{addr}/metrics", timeout=10).read().decode()
            for m in body.splitlines():
                if m.startswith("bulwark_offset_commit_refusals_total "):
                    return int(float(m.split()[1]))
    return -1


def scenario_commit_refused(a, tmp):
    """The broker refuses bulwark's commits (OffsetCommit fails with a
    permanent error) just as the input goes quiet. A refused commit is offered
    again without waiting for more input, so once the refusals stop every
    offset is committed: a kill -9 then, and a restart, consume nothing twice.
    (Were a refused commit redone only when its partition's watermark moved,
    the last records before a quiet spell would stay uncommitted and be
    consumed again after the restart.)"""
    broker = Broker(a.bulwark)
    try:
        cfg = write_config(tmp, broker.bootstrap)
        first = Instance(a.bulwark, cfg, os.path.join(tmp, "run1.log"))
        lines, canaries = make_events(a.gen, 24000, 14)
        # Both workers in the group first: a worker joining late revokes the
        # other's partitions, and the mock refuses that final commit, which
        # duplicates records for reasons this scenario is not about.
        if not wait_ready(os.path.join(tmp, "run1.log"), 90):
            print("FAIL: the instance did not become ready")
            return False
        produce(a.tool, broker.bootstrap, lines[:20000])
        subprocess.run([a.tool, "wait", broker.bootstrap, "telemetry.sanitized", "20000", "120"],
                       stderr=subprocess.DEVNULL)
        time.sleep(2)  # every commit of the first part is stored
        # INVALID_COMMIT_OFFSET_SIZE (28): permanent, no rejoin. Enough
        # refusals to cover every commit sent while the rest is handled.
        broker.command("fail-commit 30 28")
        produce(a.tool, broker.bootstrap, lines[20000:])
        subprocess.run([a.tool, "wait", broker.bootstrap, "telemetry.sanitized", "24000", "120"],
                       stderr=subprocess.DEVNULL)
        # Quiet input: the refusals run out (2 workers, 5 commits a second
        # each at most) and a commit gets through. Then a progress line.
        time.sleep(8)
        with open(os.path.join(tmp, "run1.log")) as f:
            text = f.read()
        metric = refusals_metric(text)
        first.stop(signal.SIGKILL)
        refused = [r for r in log_records(text) if r.get("msg", "").startswith("commit refused")]
        progress = [r for r in log_records(text) if r.get("msg") == "progress"]
        failures = progress[-1].get("commit_failures", 0) if progress else 0
        second = Instance(a.bulwark, cfg, os.path.join(tmp, "run2.log"))
        sanitized, dlq, quarantine = collect(a.tool, broker.bootstrap, len(lines))
        time.sleep(3)
        second.stop()
        with open(os.path.join(tmp, "run2.log")) as f:
            final = [r for r in log_records(f.read()) if r.get("msg") == "stopped"]
        consumed = final[-1]["consumed"] if final else -1
        print(f"refused commits logged: {len(refused)}, commit_failures: {failures}, "
              f"bulwark_offset_commit_refusals_total: {metric}, "
              f"consumed after the restart: {consumed}")
        ok, dups = check_outputs(sanitized, dlq, quarantine, len(lines), canaries, True)
        # The metric is read after the last progress line: it may be ahead.
        if not refused or failures < 1 or metric < failures:
            print("FAIL: the refused commits were not logged, or not counted in the progress "
                  "line and the metric")
            ok = False
        # Duplicates from a rebalance of the first instance's own workers
        # are allowed (at-least-once); what was committed before the kill is
        # what the restart must not read again.
        if consumed != 0:
            print(f"FAIL: {consumed} consumed after the restart ({dups} duplicates): a refused "
                  "commit was not offered again")
            ok = False
        return ok
    finally:
        broker.stop()


def rss_kb(pid, field="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def leaders(bootstrap, topic):
    """Partition -> leader broker id, from the cluster's metadata (kcat)."""
    md = json.loads(subprocess.run(["kcat", "-L", "-J", "-b", bootstrap, "-t", topic],
                                   capture_output=True, text=True, check=True, timeout=60).stdout)
    (t,) = [t for t in md["topics"] if t["topic"] == topic]
    return {p["partition"]: p["leader"] for p in t["partitions"]}


def produce_to_partitions(bootstrap, topic, lines, partitions):
    """Spreads `lines` round-robin over the given partitions (kcat, one call each)."""
    for i, p in enumerate(partitions):
        data = "\n".join(lines[i::len(partitions)]) + "\n"
        subprocess.run(["kcat", "-P", "-b", bootstrap, "-t", topic, "-p", str(p)], input=data,
                       text=True, check=True, timeout=120)


def read_all(bootstrap, topic):
    """Every record of `topic` as it is now (kcat reads to the end and exits)."""
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                          "-f", "%s\n"], capture_output=True, text=True, check=True, timeout=120)
    return [{"value": v} for v in out.stdout.splitlines() if v]


def wait_outputs(a, bootstrap, topic, count, timeout):
    r = subprocess.run([a.tool, "wait", bootstrap, topic, str(count), str(timeout)],
                       capture_output=True, text=True)
    return r.returncode == 0


def scenario_slow(a, tmp):
    """A slow broker: memory stays bounded, consumption pauses, nothing is lost.

    The backlog goes only to input partitions led by a fast broker whose
    output partition (same number) is led by the slow one: bulwark can read
    it at full speed but write it only slowly, the case where an unbounded
    producer queue would hold the whole backlog. The queues are set small
    through kafka.properties and the backlog is several times their sum.

    The memory check compares two phases of the same test: the same backlog
    with every broker fast (the baseline: bulwark's own working memory at
    full speed), then with the output broker slow. With consumption paused
    on a full producer queue, the slow phase's peak RSS growth exceeds the
    baseline's by at most the producer queue and librdkafka's request
    buffers; without backpressure it would grow by most of the backlog."""
    input_topic, partitions = "backlog", 160
    broker = Broker(a.bulwark)
    try:
        broker.command(f"topic {input_topic}:{partitions}")
        broker.command(f"topic {input_topic}.sanitized:{partitions}")
        lead_in = leaders(broker.bootstrap, input_topic)
        lead_out = leaders(broker.bootstrap, input_topic + ".sanitized")
        # The broker that leads the most outputs whose inputs it does not lead.
        slow = max((1, 2, 3), key=lambda b: sum(1 for p in range(partitions)
                                               if lead_out[p] == b and lead_in[p] != b))
        chosen = [p for p in range(partitions) if lead_out[p] == slow and lead_in[p] != slow]
        producer_kb, fetch_kb, fetch_partition_kb = 4096, 2048, 256
        cfg = write_config(tmp, broker.bootstrap, extra_properties=(
            f'    queue.buffering.max.kbytes: "{producer_kb}"\n'
            f'    queued.max.messages.kbytes: "{fetch_kb}"\n'
            f'    fetch.message.max.bytes: "{fetch_partition_kb * 1024}"\n'
            f'    fetch.max.bytes: "{4 * fetch_partition_kb * 1024}"\n'))
        with open(cfg, "a") as f:
            f.write(f"  inputs: [{input_topic}]\n")
        per_phase = 100000
        lines, canaries = make_events(a.gen, 2 * per_phase, 13)
        backlog_mb = sum(len(l) + 1 for l in lines[:per_phase]) / 2**20
        print(f"slow broker {slow}: backlog {backlog_mb:.0f} MB per phase over {len(chosen)} "
              f"partitions; queues: producer {producer_kb // 1024} MB, fetch {fetch_kb // 1024} MB "
              f"per worker (2 workers)")
        growth, ok = {}, True
        for phase, chunk in (("fast", lines[:per_phase]), ("slow", lines[per_phase:])):
            inst = Instance(a.bulwark, cfg, os.path.join(tmp, f"run-{phase}.log"))
            time.sleep(4)  # joined, partitions assigned, rules loaded: the idle footprint
            idle_kb = rss_kb(inst.proc.pid)
            if phase == "slow":
                broker.command(f"slow {slow} 2000")
            started = time.time()
            produce_to_partitions(broker.bootstrap, input_topic, chunk, chosen)
            if phase == "slow":
                # Long enough for the fetches to outrun the writes many times over.
                time.sleep(max(0.0, 15 - (time.time() - started)))
                broker.command(f"slow {slow} 0")
            done = wait_outputs(a, broker.bootstrap, input_topic + ".sanitized",
                                per_phase * (1 if phase == "fast" else 2), 120)
            peak_kb = rss_kb(inst.proc.pid, "VmHWM")
            rc = inst.stop()
            growth[phase] = (peak_kb - idle_kb) / 1024
            print(f"{phase}: idle {idle_kb // 1024} MB, peak {peak_kb // 1024} MB "
                  f"(+{growth[phase]:.0f} MB), {time.time() - started:.0f} s")
            if not done:
                print(f"FAIL: the {phase} phase's outputs did not all arrive")
                ok = False
            if rc != 0:
                print(f"FAIL: bulwark run exited {rc} on SIGTERM")
                ok = False
        # What the slow phase may hold beyond the baseline: a full producer
        # queue, librdkafka's buffers of the requests in flight to the slow
        # broker, and malloc's per-thread arenas keeping freed memory (+14 MB
        # at most in five runs). With 256 MB / 64 MB queues the same test grew
        # +42 MB over its baseline (+86 against +44): that is what fails.
        allowance = 3 * producer_kb / 1024 + 16
        print(f"peak growth: fast +{growth['fast']:.0f} MB, slow +{growth['slow']:.0f} MB; "
              f"allowed +{growth['fast'] + allowance:.0f} MB; backlog {backlog_mb:.0f} MB")
        if growth["slow"] > growth["fast"] + allowance:
            print("FAIL: memory grew with the backlog instead of staying within the queue bounds")
            ok = False
        # Every output is there (waited for above): read each topic to its end.
        sanitized = read_all(broker.bootstrap, input_topic + ".sanitized")
        dlq = read_all(broker.bootstrap, "bulwark.dlq")
        quarantine = read_all(broker.bootstrap, "bulwark.quarantine")
        good, _ = check_outputs(sanitized, dlq, quarantine, len(lines), canaries, False)
        return ok and good
    finally:
        broker.stop()


def scenario_interop(a, tmp):
    """kcat (Debian) and kafkajs (npm), both outside clients, through `bulwark run`."""
    broker = Broker(a.bulwark)
    inst = None
    try:
        # kafkajs reads gzip without plugins, not bulwark's default lz4: the
        # compression is one of the librdkafka properties passed through.
        cfg = write_config(tmp, broker.bootstrap, extra_properties='    compression.type: "gzip"\n')
        inst = Instance(a.bulwark, cfg, os.path.join(tmp, "run.log"))
        canary = "AKIA" + "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        n = 500
        lines = [json.dumps({"kcat_id": i, "source": "kcat", "note": f"aws {canary} here" if i % 2 == 0
                             else "plain text"}) for i in range(n)]
        subprocess.run(["kcat", "-P", "-b", broker.bootstrap, "-t", "telemetry", "-K", "\t"],
                       input="\n".join(f"kcat-{i}\t{l}" for i, l in enumerate(lines)) + "\n",
                       text=True, check=True, timeout=60)
        got = {}
        deadline = time.time() + 90
        while len(got) < n and time.time() < deadline:
            out = subprocess.run(["kcat", "-C", "-b", broker.bootstrap, "-t", "telemetry.sanitized",
                                  "-o", "beginning", "-e", "-q", "-f", "%k\t%s\n"],
                                 capture_output=True, text=True, timeout=120)
            got = {}
            for line in out.stdout.splitlines():
                key, _, value = line.partition("\t")
                ev = json.loads(value)
                if "kcat_id" in ev:
                    got[ev["kcat_id"]] = (key, ev, value)
            if len(got) < n:
                time.sleep(2)
        ok = len(got) == n
        redacted = sum(1 for k, ev, _ in got.values() if ev.get("_bulwark", {}).get("verdict") == "redacted")
        leaked = sum(1 for _, _, v in got.values() if canary in v)
        keys_kept = all(k == f"kcat-{i}" for i, (k, _, _) in got.items())
        print(f"kcat: produced {n}, read back {len(got)}, redacted {redacted}, leaked {leaked}, "
              f"keys kept {keys_kept}")
        ok = ok and redacted == n // 2 and leaked == 0 and keys_kept
        js_dir = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop")
        if not os.path.isdir(os.path.join(js_dir, "node_modules", "kafkajs")):
            subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=js_dir, check=True,
                           stdout=subprocess.DEVNULL)
        js = subprocess.run(["node", os.path.join(js_dir, "kafkajs_roundtrip.js"), broker.bootstrap,
                             "300", canary], capture_output=True, text=True, timeout=180)
        print(js.stdout.strip() or js.stderr.strip())
        ok = ok and js.returncode == 0
        return ok
    finally:
        if inst:
            inst.stop()
        broker.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--gen", required=True)
    ap.add_argument("scenario", choices=["e2e", "rebalance", "kill9", "eos", "broker-down", "interop",
                                             "slow-broker", "commit-refused", "late-join"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if a.scenario == "e2e":
            ok = scenario_e2e(a, tmp)
        elif a.scenario == "eos":
            ok = scenario_eos(a, tmp)
        elif a.scenario == "interop":
            ok = scenario_interop(a, tmp)
        elif a.scenario == "slow-broker":
            ok = scenario_slow(a, tmp)
        elif a.scenario == "commit-refused":
            ok = scenario_commit_refused(a, tmp)
        elif a.scenario == "late-join":
            ok = scenario_late_join(a, tmp)
        else:
            ok = scenario_restart(a, tmp, a.scenario)
        if not ok:
            for name in sorted(os.listdir(tmp)):
                if name.endswith(".log"):
                    with open(os.path.join(tmp, name)) as f:
                        text = f.read()
                    # What explains a failure: rebalances, warnings and
                    # errors (bulwark's and librdkafka's), then the tail.
                    notable = [l for l in text.splitlines() if l.startswith("{") and (
                        '"level":"warn"' in l or '"level":"error"' in l or
                        '"msg":"partitions ' in l or '"msg":"every worker' in l)]
                    tail = [l for l in text.splitlines() if not l.startswith("%")][-8:]
                    print(f"--- {name}: warnings, errors, rebalances\n" + "\n".join(notable[-60:]))
                    print(f"--- {name}: last lines\n" + "\n".join(tail))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
