#!/usr/bin/env python3
"""The audit chain of `bulwark run` across restarts and writers (SPEC §5,
docs/audit.md).

Against a `bulwark broker` process, three `bulwark run` instances of writer
`w-main` follow each other on the same topics: the first stops with SIGTERM,
the second is killed with SIGKILL, the third stops with SIGTERM. Meanwhile an
instance of another writer, `w-other`, runs alongside the third on the same
audit topic. Each `w-main` instance continues the chain its predecessor left,
and `w-other` keeps a chain of its own (records keyed by writer id), so:
- `bulwark verify --topic bulwark.audit` accepts the whole topic (exit 0) and
  names both writers, each chain ok;
- each chain's indexes run 0, 1, 2, … without a gap or a restart at 0;
- `w-main` holds one `chain_resumed` decision per restart (2), `w-other` none.
Then a record that is not part of the chain is written at the end of the audit
partition under the key `w-main`: a fourth `w-main` instance refuses to start
(exit 1) rather than start a second chain there, and says why naming the
topic and the writer.

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
from bulwark_proc import Run, fail_with, wait_for  # noqa: E402
import kafka_e2e  # noqa: E402  (the shared `bulwark broker` wrapper)
from kafka_e2e import Broker  # noqa: E402

kafka_e2e.TOPICS = kafka_e2e.TOPICS + [
    "telemetry.other:32", "bulwark.alerts.other:4", "bulwark.dlq.other:4",
    "bulwark.quarantine.other:4", "bulwark.integrity.state.other:32"]

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
            def config(writer, topics):
                path = os.path.join(d, f"{writer}.yaml")
                with open(path, "w") as f:
                    f.write(f"""workers: 2
kafka:
  brokers: "{broker.bootstrap}"
{topics}  audit_writer: {writer}
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500", log_level: "3"}}
integrity:
  keys: {{k1: {{env: BULWARK_AUDIT_RESUME_K1}}}}
http:
  listen: 127.0.0.1:0
""")
                return path

            cfg = config("w-main", "")
            # Another deployment on the same audit topic: its own group reads
            # the same input into its own outputs, so both writers have
            # records to chain.
            cfg_other = config("w-other", """  group_id: other
  sanitized_suffix: .other
  alerts_topic: bulwark.alerts.other
  dlq_topic: bulwark.dlq.other
  quarantine_topic: bulwark.quarantine.other
  integrity_state_topic: bulwark.integrity.state.other
""")
            env = dict(os.environ, BULWARK_AUDIT_RESUME_K1=KEY_HEX)
            total = 0
            other = None
            for n, (count, how) in enumerate([(2000, signal.SIGTERM), (2000, signal.SIGKILL),
                                              (1000, signal.SIGTERM)]):
                run = Run(a.bulwark, cfg, os.path.join(d, f"run{n}.log"), fail, env=env,
                          embedded=False)
                if n == 2:
                    other = Run(a.bulwark, cfg_other, os.path.join(d, "other.log"), fail,
                                env=env, embedded=False)
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
                if n == 2:
                    # All of the input through the other deployment too.
                    until = time.monotonic() + 120
                    while other.metric('bulwark_records_received_total{stage="writer"}') < total:
                        if time.monotonic() > until:
                            fail("the w-other instance did not process the input")
                        time.sleep(0.3)
                time.sleep(1)
                run.proc.send_signal(how)
                rc = run.proc.wait(30)
                if how == signal.SIGTERM and rc != 0:
                    fail(f"instance {n} exited {rc} on SIGTERM: {run.output()[-1500:]}")
            other.proc.send_signal(signal.SIGTERM)
            if other.proc.wait(30) != 0:
                fail(f"the w-other instance exited {other.proc.returncode} on SIGTERM")

            v = subprocess.run([a.bulwark, "verify", "--topic", "bulwark.audit", "-c", cfg],
                               capture_output=True, text=True, env=env, timeout=120)
            if v.returncode != 0:
                fail(f"verify --topic exited {v.returncode}: {v.stdout[-800:]} {v.stderr[-800:]}")
            said = v.stdout.splitlines()
            if sorted(line.split(":")[0] for line in said) != ["writer w-main", "writer w-other"]:
                fail(f"verify --topic should report one chain per writer: {v.stdout[-800:]}")
            recs = subprocess.run([a.tool, "consume", broker.bootstrap, "bulwark.audit", "0", "30"],
                                  capture_output=True, text=True).stdout.splitlines()
            by_writer = {}
            for r in recs:
                rec = json.loads(r)
                by_writer.setdefault(rec["key"], []).append(json.loads(rec["value"]))
            if sorted(by_writer) != ["w-main", "w-other"]:
                fail(f"audit records keyed by {sorted(by_writer)}, expected w-main and w-other")
            for writer, expect_resumed in (("w-main", 2), ("w-other", 0)):
                chain = sorted(by_writer[writer], key=lambda x: x["index"])
                indexes = [x["index"] for x in chain]
                if indexes != list(range(len(indexes))):
                    fail(f"{writer}: chain indexes are not 0..{len(indexes) - 1} without gaps "
                         "or restarts")
                resumed = [x for x in chain if x.get("decision") == "chain_resumed"]
                if len(resumed) != expect_resumed:
                    fail(f"{writer}: expected {expect_resumed} chain_resumed decisions, "
                         f"found {len(resumed)}")
                print(f"run_audit_resume.py: {writer}: {len(chain)} records in one chain "
                      f"({len(resumed)} resumed)")
            print("run_audit_resume.py: verify --topic exit 0, one chain per writer")

            # A foreign record at the end of w-main's chain: no silent second chain.
            subprocess.run([a.tool, "produce", broker.bootstrap, "bulwark.audit", "1", "w-main"],
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
            if (rc != 1 or "bulwark.audit" not in text or "cannot be continued" not in text
                    or "w-main" not in text):
                fail(f"expected exit 1 naming the audit topic and writer, got {rc}: {text[-1500:]}")
            print("run_audit_resume.py: a foreign last record is refused, exit 1")

            # w-other's last record now lies behind the foreign one and 300
            # records of a third key: the next w-other instance still finds
            # it (the reader goes back in growing steps) and continues there.
            noise = "".join(json.dumps({"noise": i}) + "\n" for i in range(300)).encode()
            subprocess.run([a.tool, "produce", broker.bootstrap, "bulwark.audit", "1", "w-noise"],
                           input=noise, check=True, stderr=subprocess.DEVNULL)
            again = Run(a.bulwark, cfg_other, os.path.join(d, "other2.log"), fail, env=env,
                        embedded=False)
            expected = len(by_writer["w-other"])
            found = None

            def continued():
                nonlocal found
                for line in again.output().splitlines():
                    if '"audit chain' in line and '"writer":"w-other"' in line:
                        found = json.loads(line).get("next_index", "a new chain")
                return found is not None

            wait_for("the second w-other instance to set up its chain", continued, 60, fail)
            again.proc.send_signal(signal.SIGTERM)
            again.proc.wait(30)
            if found != expected:
                fail(f"w-other did not continue its chain at index {expected} behind 301 records "
                     f"of other writers (continued at {found}): {again.output()[-1500:]}")
            print(f"run_audit_resume.py: w-other continued at index {expected} behind 301 records "
                  "of other writers")
    finally:
        broker.stop()
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
