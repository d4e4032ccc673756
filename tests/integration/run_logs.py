#!/usr/bin/env python3
"""bulwark's own logs (docs/logging.md): `bulwark run` under warnings.

Starts `bulwark broker` (the embedded cluster in its own process, so produce
errors can be injected) and produces records carrying canary secrets in their
values, keys and header values, a forged `bw-reason` header and a value that
is not JSON (both go to the DLQ). Then it makes the next Produce requests fail
(MESSAGE_TOO_LARGE) and starts `bulwark run` with BULWARK_LOG_LEVEL=debug,
librdkafka's `debug` on, and an Alertmanager URL nobody listens on: delivery
failures (rate-limited), an Alertmanager failure and librdkafka's own lines
all have to be logged. Once every record reached an output it stops the
service with SIGTERM and checks:
  - every stderr line of `bulwark run` and of `bulwark broker` is one JSON
    object starting with ts, level, component, msg (ts RFC 3339 UTC with
    milliseconds, level one of debug/info/warn/error);
  - stdout holds only the announcements `bulwark run: http listening on …`;
  - the warnings above are there, the repeated one followed by a
    "suppressed" count, and one "stopped" record counts every record;
  - no canary appears anywhere in stdout or stderr.

usage: run_logs.py --bulwark BIN
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TOPICS = ["telemetry:2", "telemetry.sanitized:2", "bulwark.dlq:1", "bulwark.quarantine:1",
          "bulwark.alerts:1", "bulwark.audit:1"]
LEVELS = {"debug", "info", "warn", "error"}
TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FAILING_REQUESTS = 12


def fail(msg):
    raise SystemExit(f"run_logs.py: FAIL: {msg}")


def canary_key():
    return "AKIA" + "".join(random.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))


def closed_port():
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    def __init__(self, bulwark, err_path):
        args = [bulwark, "broker"]
        for t in TOPICS:
            args += ["--topic", t]
        self.err = open(err_path, "w")
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.err, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("bootstrap "):
            fail(f"broker did not start: {line!r}")
        self.bootstrap = line.split()[1]

    def command(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            fail(f"broker: {cmd}: {answer}")

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
            self.proc.wait()
        self.err.close()


def kcat_produce(bootstrap, lines, key_sep=None, headers=()):
    args = ["kcat", "-P", "-b", bootstrap, "-t", "telemetry"]
    if key_sep:
        args += ["-K", key_sep]
    for h in headers:
        args += ["-H", h]
    subprocess.run(args, input="\n".join(lines) + "\n", text=True, check=True, timeout=60)


def count(bootstrap, topic):
    out = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q",
                          "-f", "x\n"], capture_output=True, text=True, timeout=60)
    return len(out.stdout.splitlines())


def check_lines(name, text):
    """Every line one JSON object with ts, level, component, msg first; returns them."""
    records = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            fail(f"{name} line {i} is not JSON: {line[:300]!r}")
        if not isinstance(rec, dict):
            fail(f"{name} line {i} is not a JSON object: {line[:300]!r}")
        if list(rec)[:4] != ["ts", "level", "component", "msg"]:
            fail(f"{name} line {i} does not start with ts, level, component, msg: {line[:300]!r}")
        if not isinstance(rec["ts"], str) or not TS.match(rec["ts"]):
            fail(f"{name} line {i}: ts {rec['ts']!r}")
        if rec["level"] not in LEVELS:
            fail(f"{name} line {i}: level {rec['level']!r}")
        if not isinstance(rec["component"], str) or not rec["component"]:
            fail(f"{name} line {i}: component {rec['component']!r}")
        if not isinstance(rec["msg"], str):
            fail(f"{name} line {i}: msg {rec['msg']!r}")
        records.append(rec)
    return records


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    a = ap.parse_args()

    value_keys = [canary_key() for _ in range(6)]
    mails = [f"canary.{random.randrange(10**9)}@example.org" for _ in range(6)]
    key_canary = f"key.canary.{random.randrange(10**9)}@example.org"
    header_canary = canary_key()
    forged_canary = canary_key()
    raw_canary = canary_key()
    canaries = value_keys + mails + [key_canary, header_canary, forged_canary, raw_canary]

    with tempfile.TemporaryDirectory(prefix="bulwark-run-logs-") as tmp:
        broker = Broker(a.bulwark, os.path.join(tmp, "broker.err"))
        run = None
        try:
            b = broker.bootstrap
            values = [json.dumps({"source": "srv-1", "i": i,
                                  "msg": f"deploy with aws key {k} and mail {m}"})
                      for i, (k, m) in enumerate(zip(value_keys, mails))]
            kcat_produce(b, values)
            kcat_produce(b, [f"{key_canary}\t" + json.dumps({"source": "srv-2", "msg": "keyed"})],
                         key_sep="\t", headers=[f"authorization=Bearer {header_canary}"])
            kcat_produce(b, [json.dumps({"source": "srv-3", "msg": "forged"})],
                         headers=[f"bw-reason={forged_canary}"])
            kcat_produce(b, [f"not json at all {raw_canary}"])
            total = len(values) + 3

            # Every Produce request of the next few fails: bulwark's deliveries
            # fail and are produced again.
            broker.command(f"fail-produce {FAILING_REQUESTS} 10")

            cfg = os.path.join(tmp, "bulwark.yaml")
            with open(cfg, "w") as f:
                f.write(f"""workers: 2
kafka:
  brokers: "{b}"
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    debug: "msg,topic"
http:
  listen: 127.0.0.1:0
alerts:
  alertmanager: http://127.0.0.1:{closed_port()}/
""")
            out_path, err_path = os.path.join(tmp, "run.out"), os.path.join(tmp, "run.err")
            env = dict(os.environ, BULWARK_LOG_LEVEL="debug")
            with open(out_path, "w") as out, open(err_path, "w") as err:
                run = subprocess.Popen([a.bulwark, "run", "-c", cfg], stdout=out, stderr=err, env=env)
            deadline = time.monotonic() + 120
            while True:
                if run.poll() is not None:
                    fail(f"bulwark run exited {run.returncode}")
                got = sum(count(b, t) for t in ("telemetry.sanitized", "bulwark.dlq",
                                                "bulwark.quarantine"))
                if got >= total:
                    break
                if time.monotonic() > deadline:
                    fail(f"only {got} of {total} records reached an output")
                time.sleep(1)
            time.sleep(2)  # the alerts and the Alertmanager retry get their turn
            run.send_signal(signal.SIGTERM)
            try:
                rc = run.wait(30)
            except subprocess.TimeoutExpired:
                run.kill()
                run.wait()
                fail("bulwark run did not stop within 30 s of SIGTERM")
            if rc != 0:
                fail(f"bulwark run exited {rc} on SIGTERM")
        finally:
            if run is not None and run.poll() is None:
                run.kill()
                run.wait()
            broker.stop()

        with open(out_path, errors="replace") as f:
            stdout = f.read()
        with open(err_path, errors="replace") as f:
            stderr = f.read()
        with open(os.path.join(tmp, "broker.err"), errors="replace") as f:
            broker_stderr = f.read()

    for line in stdout.splitlines():
        if not re.match(r"^bulwark run: http listening on 127\.0\.0\.1:\d+$", line):
            fail(f"unexpected stdout line: {line[:300]!r}")
    records = check_lines("bulwark run stderr", stderr)
    broker_records = check_lines("bulwark broker stderr", broker_stderr)

    def having(**want):
        return [r for r in records if all(r.get(k) == v for k, v in want.items())]

    stopped = having(component="run", msg="stopped")
    if len(stopped) != 1:
        fail(f"{len(stopped)} \"stopped\" records")
    s = stopped[0]
    if s["consumed"] < total or s["dlq"] < 2 or s["delivery_failures"] < 1:
        fail(f"the stopped record's counters: {s}")
    if not isinstance(s["seconds"], (int, float)) or not isinstance(s["delivered"], int):
        fail(f"the counters are not numbers: {s}")
    failures = having(component="run", msg="delivery failed; producing it again", level="warn")
    if not failures or any(not {"topic", "partition", "error", "code"} <= r.keys() for r in failures):
        fail(f"delivery failures logged: {failures[:3]}")
    suppressed = [r for r in having(msg="suppressed")
                  if r["key"].startswith("delivery failed:") and r["suppressed"] > 0]
    if s["delivery_failures"] > len(failures) and not suppressed:
        fail(f"{s['delivery_failures']} delivery failures, {len(failures)} logged, none counted "
             "as suppressed")
    if not having(component="alertmanager", level="warn"):
        fail("no Alertmanager warning")
    kafka = [r for r in having(component="kafka") if r["msg"] != "suppressed"]
    if not kafka or any(not {"facility", "client"} <= r.keys() for r in kafka):
        fail(f"librdkafka's lines: {kafka[:3]}")
    if not having(component="kafka", level="debug"):
        fail("no debug line from librdkafka with BULWARK_LOG_LEVEL=debug and debug on")

    for name, text in (("stdout", stdout), ("stderr", stderr), ("the broker's stderr", broker_stderr)):
        for c in canaries:
            if c in text:
                fail(f"a canary appears in bulwark run's {name}: {c}")
    levels = {}
    for r in records:
        levels[r["level"]] = levels.get(r["level"], 0) + 1
    print(f"run_logs.py: ok: {len(records)} JSON lines from run {dict(sorted(levels.items()))}, "
          f"{len(broker_records)} from the broker; {len(failures)} delivery failures logged, "
          f"{sum(r['suppressed'] for r in suppressed)} suppressed; {len(canaries)} canaries absent")


if __name__ == "__main__":
    main()
