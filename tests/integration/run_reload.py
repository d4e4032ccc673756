#!/usr/bin/env python3
"""Hot reload under load (issue 8): `bulwark run` on the embedded cluster keeps
consuming while its rules are reloaded again and again, by SIGHUP and by
`POST /-/reload`, and once from a broken rule file.

Two rule files take turns: generation A has rules reload-a-x and reload-a-y,
B has reload-b-x and reload-b-y; each matches one of the two tokens every event
carries (XTOK<6 digits> and YTOK<6 digits>). A record processed by one whole
rule set has findings from exactly one letter; a record processed by a
half-loaded set, or by two sets, would show a mix or leave a token behind.

Checks:
- every produced event reaches the sanitised topic (none lost), and no token
  survives in any of them;
- each event's findings are {x, y} of one generation, never a mix;
- both generations were in force during the stream (the reloads happened
  under load);
- the broken file keeps the old rules: a `config` alert, a `rules_reload_failed`
  audit record, bulwark_rule_reloads_total{result="failed"} 1, and events
  after it still redacted;
- every good reload is a `rules_reloaded` audit record, counted in
  bulwark_rule_reloads_total{result="ok"};
- POST /-/reload answers 202; GET answers 405;
- the inline key of the test configuration is warned about by name, and its
  bytes appear nowhere in bulwark's output.

usage: run_reload.py --bulwark BIN --tool KAFKA_TOOL
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from bulwark_proc import Run, fail_with, http, wait_for as wait  # noqa: E402

N_EVENTS = 24000
RATE = 1500  # events/s: the stream lasts ~16 s, long enough for every reload

fail = fail_with("run_reload.py")


def wait_for(what, check, timeout):
    return wait(what, check, timeout, fail)


def rule_file(gen):
    rules = []
    for part in ("x", "y"):
        tok = part.upper() + "TOK"
        rules.append(f"""  - id: reload-{gen}-{part}
    category: secret
    severity: high
    action: mask
    pattern: '({tok}[0-9]{{6}})'
    examples:
      match: ['value {tok}123456 here']
      no_match: ['value {tok}12 here']
""")
    return "rules:\n" + "".join(rules)


BROKEN = """rules:
  - id: reload-broken
    category: secret
    pattern: '(unclosed[0-9'
    examples:
      match: ['unclosed1']
      no_match: ['x']
"""


def write_atomically(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def consume(tool, bootstrap, topic, count, timeout):
    r = subprocess.run([tool, "consume", bootstrap, topic, str(count), str(timeout)],
                       capture_output=True, text=True, timeout=timeout + 60)
    return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--tool", required=True)
    a = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bulwark_reload_") as d:
        rules = os.path.join(d, "reload_rules.yaml")
        write_atomically(rules, rule_file("a"))
        cfg = os.path.join(d, "bulwark.yaml")
        with open(cfg, "w") as f:
            f.write(f"""workers: 2
kafka:
  embedded_partitions: 4
  properties: {{session.timeout.ms: "6000", heartbeat.interval.ms: "500", fetch.wait.max.ms: "10"}}
rules:
  packs: [secrets]
  extra: [{rules}]
integrity:
  keys: {{k1: {{hex: "{'ab' * 32}"}}}}
alerts:
  kinds: {{config: {{group_wait: 0s}}}}
http:
  listen: 127.0.0.1:0
""")
        run = Run(a.bulwark, cfg, os.path.join(d, "bulwark.log"), fail)
        proc, output = run.proc, run.output
        producer = None
        try:
            port, bootstrap = run.port, run.bootstrap
            base = f"http://127.0.0.1:{port}"
            wait_for("/readyz", lambda: http("GET", base + "/readyz")[0] == 200, 60)

            status, _ = http("GET", base + "/-/reload")
            if status != 405:
                fail(f"GET /-/reload answered {status}, expected 405")

            lines = "".join(
                json.dumps({"i": i, "text": f"pay XTOK{i:06d} then YTOK{(i * 7) % 10**6:06d}"},
                           separators=(",", ":")) + "\n" for i in range(N_EVENTS))
            producer = subprocess.Popen([a.tool, "produce-paced", bootstrap, "telemetry", "4",
                                         str(RATE)], stdin=subprocess.PIPE, text=True,
                                        stderr=subprocess.DEVNULL)
            feeder = threading.Thread(target=lambda: (producer.stdin.write(lines),
                                                      producer.stdin.close()))
            feeder.start()

            # Reloads while the stream runs: B by SIGHUP, A by HTTP, a broken
            # file by SIGHUP, then B by HTTP (the broken one changed nothing).
            metric = run.metric

            ok_name = 'bulwark_rule_reloads_total{result="ok"}'
            failed_name = 'bulwark_rule_reloads_total{result="failed"}'
            plan = [("b", "SIGHUP"), ("a", "http"), ("broken", "SIGHUP"), ("b", "http"),
                    ("a", "SIGHUP")]
            good = 0
            for gen, how in plan:
                time.sleep(2.5)
                write_atomically(rules, BROKEN if gen == "broken" else rule_file(gen))
                before_ok, before_failed = metric(ok_name), metric(failed_name)
                if how == "SIGHUP":
                    proc.send_signal(signal.SIGHUP)
                else:
                    status, body = http("POST", base + "/-/reload")
                    if status != 202:
                        fail(f"POST /-/reload answered {status} {body!r}")
                if gen == "broken":
                    wait_for("the failed reload to be counted",
                             lambda: metric(failed_name) >= before_failed + 1, 60)
                else:
                    good += 1
                    wait_for(f"reload to {gen} to be counted",
                             lambda: metric(ok_name) >= before_ok + 1, 60)
            feeder.join()
            if producer.wait(120) != 0:
                fail("the producer failed")
            wait_for("every record through the writer stage",
                     lambda: metric('bulwark_records_received_total{stage="writer"}') >= N_EVENTS,
                     120)
            if metric(ok_name) != good or metric(failed_name) != 1:
                fail(f"reload counters: ok={metric(ok_name)} failed={metric(failed_name)}, "
                     f"expected {good} and 1")

            # The embedded cluster lives in the bulwark process: read its
            # topics before stopping it.
            sanitized = consume(a.tool, bootstrap, "telemetry.sanitized", N_EVENTS, 120)
            alerts = consume(a.tool, bootstrap, "bulwark.alerts", 1, 30)
            audit = consume(a.tool, bootstrap, "bulwark.audit", 1, 30)
            proc.send_signal(signal.SIGTERM)
            rc = proc.wait(30)
            if rc != 0:
                fail(f"bulwark run exited {rc} on SIGTERM")

            seen = {}
            generations = {"a": 0, "b": 0}
            for rec in sanitized:
                value = rec["value"]
                ev = json.loads(value)
                if re.search(r"[XY]TOK[0-9]{6}", value):
                    fail(f"a token survived in event {ev.get('i')}: {value[:200]}")
                found = sorted(f["rule"] for f in ev.get("_bulwark", {}).get("findings", []))
                gens = {r.split("-")[1] for r in found if r.startswith("reload-")}
                if len(gens) != 1 or found != [f"reload-{g}-{p}" for g in gens for p in "xy"]:
                    fail(f"event {ev.get('i')} was processed by a mixed or partial rule set: "
                         f"{found}")
                generations[gens.pop()] += 1
                seen[ev["i"]] = seen.get(ev["i"], 0) + 1
            missing = [i for i in range(N_EVENTS) if i not in seen]
            if missing:
                fail(f"{len(missing)} events missing from the sanitised topic, e.g. {missing[:5]}")
            if not generations["a"] or not generations["b"]:
                fail(f"both rule generations should have been in force: {generations}")
            config_alerts = [json.loads(r["value"]) for r in alerts
                             if json.loads(r["value"]).get("kind") == "config"]
            if len(config_alerts) != 1:
                fail(f"expected one config alert for the broken file, got {len(config_alerts)}")
            evidence = json.dumps(config_alerts[0].get("evidence", {}))
            if "reload_rules.yaml" not in evidence:
                fail(f"the config alert does not name the file: {evidence}")
            decisions = [json.loads(r["value"]) for r in audit]
            names = [x.get("decision") for x in decisions if x.get("decision")]
            if names.count("rules_reloaded") != good or names.count("rules_reload_failed") != 1:
                fail(f"audit decisions: {names}")
            text = output()
            if "XTOK" in text or "YTOK" in text:
                fail("a token reached bulwark's own log")
            # The inline test key is warned about by name, never printed.
            warned = [l for l in text.splitlines() if l.startswith("{")
                      and json.loads(l).get("key") == "integrity.keys.k1"
                      and json.loads(l).get("level") == "warn"]
            if not warned:
                fail("no warning names the inline key integrity.keys.k1")
            if "ab" * 32 in text:
                fail("the key material reached bulwark's own log")
            print(f"run_reload.py: ok: {len(sanitized)} events, {dict(generations)} by generation, "
                  f"{good} reloads and 1 refused")
        finally:
            if producer and producer.poll() is None:
                producer.kill()
            run.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
