#!/usr/bin/env python3
"""The audit chain of `bulwark run` across restarts (SPEC §5, docs/audit.md).

Against a `bulwark broker` process, three `bulwark run` instances follow each
other on the same topics: the first stops with SIGTERM, the second is killed
with SIGKILL, the third stops with SIGTERM. Each continues the chain the one
before left on the audit topic, so:
- `bulwark verify --topic bulwark.audit` accepts the whole topic (exit 0);
- the chain's indexes run 0, 1, 2, … without a gap or a restart at 0;
- it holds one `chain_resumed` decision per restart (2).
Then a record that is not part of the chain is written at the end of the audit
partition: a fourth instance refuses to start (exit 1) rather than start a
second chain there, and says why naming the topic.

usage: run_audit_resume.py --bulwark BIN --tool KAFKA_TOOL
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "support"))
from bulwark_proc import Run, fail_with  # noqa: E402
from kafka_e2e import Broker  # noqa: E402  (the shared `bulwark broker` wrapper)

KEY_HEX = "4b" * 32

fail = fail_with("run_audit_resume.py")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--tool", required=True)
    a = ap.parse_args()
    broker = Broker(a.bulwark)
    try:
        with tempfile.TemporaryDirectory(prefix="bulwark_audit_resume_") as d:
            cfg = os.path.join(d, "bulwark.yaml")
            with open(cfg, "w") as f:
                f.write(f"""workers: 2
kafka:
  brokers: "{broker.bootstrap}"
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500", log_level: "3"}}
integrity:
  keys: {{k1: {{env: BULWARK_AUDIT_RESUME_K1}}}}
http:
  listen: 127.0.0.1:0
""")
            env = dict(os.environ, BULWARK_AUDIT_RESUME_K1=KEY_HEX)
            total = 0
            for n, (count, how) in enumerate([(2000, signal.SIGTERM), (2000, signal.SIGKILL),
                                              (1000, signal.SIGTERM)]):
                run = Run(a.bulwark, cfg, os.path.join(d, f"run{n}.log"), fail, env=env,
                          embedded=False)
                lines = "".join(json.dumps({"n": total + i, "source": f"s{i % 7}", "msg": "ok"})
                                + "\n" for i in range(count))
                subprocess.run([a.tool, "produce", broker.bootstrap, "telemetry", "32"],
                               input=lines.encode(), check=True, stderr=subprocess.DEVNULL)
                total += count
                until = time.monotonic() + 120
                # Every record of this round through the stage (an instance
                # after a kill -9 also re-reads its predecessor's uncommitted tail).
                while run.metric('bulwark_records_received_total{stage="writer"}') < count:
                    if time.monotonic() > until:
                        fail(f"instance {n} did not process its {count} records")
                    time.sleep(0.3)
                time.sleep(1)
                run.proc.send_signal(how)
                rc = run.proc.wait(30)
                if how == signal.SIGTERM and rc != 0:
                    fail(f"instance {n} exited {rc} on SIGTERM: {run.output()[-1500:]}")

            v = subprocess.run([a.bulwark, "verify", "--topic", "bulwark.audit", "-c", cfg],
                               capture_output=True, text=True, env=env, timeout=120)
            if v.returncode != 0:
                fail(f"verify --topic exited {v.returncode}: {v.stdout[-800:]} {v.stderr[-800:]}")
            recs = subprocess.run([a.tool, "consume", broker.bootstrap, "bulwark.audit", "0", "30"],
                                  capture_output=True, text=True).stdout.splitlines()
            chain = sorted((json.loads(json.loads(r)["value"]) for r in recs),
                           key=lambda x: x["index"])
            indexes = [x["index"] for x in chain]
            if indexes != list(range(len(indexes))):
                fail(f"chain indexes are not 0..{len(indexes) - 1} without gaps or restarts")
            resumed = [x for x in chain if x.get("decision") == "chain_resumed"]
            if len(resumed) != 2:
                fail(f"expected 2 chain_resumed decisions, found {len(resumed)}")
            print(f"run_audit_resume.py: {len(chain)} records in one chain over 3 instances "
                  f"(2 resumed), verify exit 0")

            # A foreign record at the end of the audit partition: no silent second chain.
            subprocess.run([a.tool, "produce", broker.bootstrap, "bulwark.audit", "1"],
                           input=b'{"not":"a chain record"}\n', check=True,
                           stderr=subprocess.DEVNULL)
            log = os.path.join(d, "run_refused.log")
            with open(log, "w") as out:
                refused = subprocess.Popen([a.bulwark, "run", "-c", cfg], stdout=out,
                                           stderr=subprocess.STDOUT, env=env)
                try:
                    rc = refused.wait(60)
                except subprocess.TimeoutExpired:
                    refused.kill()
                    fail("an instance started on an audit topic whose last record is not a "
                         "chain record")
            with open(log, errors="replace") as f:
                text = f.read()
            if rc != 1 or "bulwark.audit" not in text or "cannot be continued" not in text:
                fail(f"expected exit 1 naming the audit topic, got {rc}: {text[-1500:]}")
            print("run_audit_resume.py: a foreign last record is refused, exit 1")
    finally:
        broker.stop()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
