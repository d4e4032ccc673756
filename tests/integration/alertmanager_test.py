#!/usr/bin/env python3
"""`bulwark scan` posting its alerts to a real Alertmanager (Debian
prometheus-alertmanager) started here on 127.0.0.1: the alerts arrive with
bulwark's labels, are grouped by [kind, source] as configured, the critical ones
are there, and no planted secret reaches Alertmanager. Then with Alertmanager
down (a closed port): scan still finishes, exit 0, output complete. And a bad
URL is refused with exit 2 before any output is written.

usage: alertmanager_test.py --bulwark BIN [--alertmanager BIN]
"""
import argparse
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
from sign_event import sign_body  # noqa: E402  (the published signer)

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
CANARY = "AKIA" + "ZXCVBNMASDFGHJKL"
EMAIL = "jane.canary" + "@example.com"
CRITICAL = ("integrity.tamper", "integrity.replay")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def build_stream():
    """Signed events stamped a few minutes before now (Alertmanager holds
    alerts as active only when their times are current), with a tamper, a
    replay, a sequence gap, an unsigned event from a source that must sign, a
    secret and PII. Returns (lines, notes)."""
    lines, notes, seqs = [], {}, {}
    start = time.time() - 600

    def emit(src, t, body, sign=True):
        seqs[src] = seqs.get(src, 0) + 1
        ev = {"ts": ts(start + t), "source": src, "seq": seqs[src], "model": "fraud", **body}
        data = json.dumps(ev, separators=(",", ":")).encode()
        lines.append((sign_body(data, "k1", KEY) if sign else data).decode())
        return len(lines)

    t = 0
    for i in range(60):
        for src in ("srv-1", "srv-2", "srv-3", "srv-4"):
            t += 1
            n = emit(src, t, {"type": "prediction", "features": {"amount": 10 + i}})
            if src == "srv-1" and i == 5:
                notes["replayed"] = lines[n - 1]
        if i == 10:
            t += 1
            emit("srv-2", t, {"type": "log", "msg": f"key {CANARY}"})
        if i == 15:
            t += 1
            emit("srv-1", t, {"type": "log", "msg": f"contact {EMAIL}"})
        if i == 20:  # signed, then edited
            t += 1
            n = emit("srv-3", t, {"type": "log", "msg": "amount 10"})
            lines[n - 1] = lines[n - 1].replace("amount 10", "amount 99")
        if i == 30:
            lines.append(notes["replayed"])
        if i == 40:
            seqs["srv-4"] += 5
        if i == 45:
            t += 1
            emit("srv-1", t, {"type": "log", "msg": "hi"}, sign=False)
    return lines


def get_json(port, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
        return json.loads(r.read())


class Alertmanager:
    """A prometheus-alertmanager of its own: loopback port, storage in a temp
    dir, no cluster gossip, a route grouping by [kind, source] to a null
    receiver."""

    def __init__(self, exe, workdir):
        self.exe, self.dir, self.proc, self.port = exe, workdir, None, None

    def start(self):
        cfg = os.path.join(self.dir, "alertmanager.yml")
        with open(cfg, "w") as f:
            f.write("route:\n"
                    "  receiver: 'null'\n"
                    "  group_by: [kind, source]\n"
                    "  group_wait: 1s\n"
                    "  group_interval: 1s\n"
                    "  repeat_interval: 1h\n"
                    "receivers:\n"
                    "  - name: 'null'\n")
        for _ in range(5):  # the free port may be taken between probe and bind
            self.port = free_port()
            self.log = open(os.path.join(self.dir, "alertmanager.log"), "w")
            self.proc = subprocess.Popen(
                [self.exe, f"--config.file={cfg}", f"--storage.path={os.path.join(self.dir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
                 "--log.level=warn"], stdout=self.log, stderr=subprocess.STDOUT)
            deadline = time.time() + 30
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
                        if r.status == 200:
                            return
                except OSError:
                    time.sleep(0.2)
            self.stop()
        raise RuntimeError("alertmanager did not become ready: " +
                           open(os.path.join(self.dir, "alertmanager.log")).read()[-2000:])

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--alertmanager", default=shutil.which("prometheus-alertmanager") or
                    "/usr/bin/prometheus-alertmanager")
    a = ap.parse_args()
    if not os.access(a.alertmanager, os.X_OK):
        print(f"FAIL no Alertmanager at {a.alertmanager}: install prometheus-alertmanager (scripts/install-deps)")
        return 1
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= bool(cond)

    lines = build_stream()
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in.ndjson")
        with open(inp, "w") as f:
            f.write("\n".join(lines) + "\n")

        def scan(name, url):
            cfg = os.path.join(tmp, name + ".yaml")
            with open(cfg, "w") as f:
                f.write(f'integrity:\n  keys: {{k1: {{hex: "{KEY.hex()}"}}}}\n'
                        f'  require_signature: ["srv-*"]\n'
                        f'alerts:\n  alertmanager: "{url}"\n')
            out, alerts = os.path.join(tmp, name + ".out"), os.path.join(tmp, name + ".alerts")
            r = subprocess.run([a.bulwark, "scan", "-c", cfg, "--in", inp, "--out", out, "--alerts", alerts],
                               capture_output=True, text=True, timeout=120)
            return r, out, alerts

        am = Alertmanager(a.alertmanager, tmp)
        try:
            am.start()
            r, out, alerts_path = scan("up", f"http://127.0.0.1:{am.port}")
            check(r.returncode == 0, f"scan exits 0 ({r.stderr.strip()[-400:]})")
            check(len(open(out).read().splitlines()) == len(lines), "one output line per input line")
            records = [json.loads(l) for l in open(alerts_path)]
            latest = {}
            for rec in records:  # the last record of each alert is what Alertmanager holds
                latest[rec["fingerprint"]] = rec
            summary = [l for l in r.stderr.splitlines() if "alertmanager: alerts_sent=" in l]
            check(summary and "undelivered=0" in summary[0] and "posts_failed=0" in summary[0],
                  f"scan reports every alert delivered ({summary})")

            held = get_json(am.port, "/api/v2/alerts")
            by_fp = {x["annotations"].get("fingerprint"): x for x in held}
            check(len(latest) >= 6, f"the stream raised several alerts ({sorted(r['kind'] for r in latest.values())})")
            check(set(by_fp) == set(latest),
                  f"Alertmanager holds exactly bulwark's alerts ({len(by_fp)} of {len(latest)})")
            for fp, rec in sorted(latest.items()):
                x = by_fp.get(fp)
                if x is None:
                    continue
                labels = x["labels"]
                want = {"alertname": "bulwark_" + rec["kind"].replace(".", "_"), "severity": rec["severity"],
                        "kind": rec["kind"]}
                if rec["source"]:
                    want["source"] = rec["source"]
                check(all(labels.get(k) == v for k, v in want.items()) and
                      set(labels) <= {"alertname", "severity", "kind", "source", "model", "rule"},
                      f"{rec['kind']}/{rec['source']}: bulwark's labels ({labels})")
                check(x["annotations"]["count"] == str(rec["count"]) and x["annotations"]["bulwark_id"] == rec["id"],
                      f"{rec['kind']}/{rec['source']}: the latest record (count {rec['count']})")
                check(x["startsAt"].startswith(rec["first_seen"][:19]) and x["status"]["state"] == "active",
                      f"{rec['kind']}/{rec['source']}: active since first_seen")
                check(x["generatorURL"] == "http://127.0.0.1:9464/", "generatorURL is http://<http.listen>/")
            crit = [x for x in held if x["labels"]["severity"] == "critical"]
            check(sorted(x["labels"]["kind"] for x in crit) == sorted(CRITICAL),
                  f"the critical alerts are there ({sorted(x['labels']['kind'] for x in crit)})")
            # A tampered event proves no source: it is only claimed, in the evidence, never a label.
            tamper = [x for x in crit if x["labels"]["kind"] == "integrity.tamper"]
            check(tamper and "source" not in tamper[0]["labels"] and
                  json.loads(tamper[0]["annotations"]["evidence"]).get("claimed_source") == "srv-3",
                  "the tamper alert names srv-3 as claimed source, not as a label")

            # Grouping runs in Alertmanager's dispatcher, a moment after the POST.
            want_groups = {(x["labels"]["kind"], x["labels"].get("source")) for x in held}
            groups, deadline = [], time.time() + 30
            while time.time() < deadline:
                groups = get_json(am.port, "/api/v2/alerts/groups")
                if sum(len(g["alerts"]) for g in groups) == len(held):
                    break
                time.sleep(0.5)
            got_groups = {(g["labels"].get("kind"), g["labels"].get("source")) for g in groups}
            check(got_groups == want_groups, f"one group per (kind, source): {sorted(map(str, got_groups))}")
            check(all(set(g["labels"]) <= {"kind", "source"} and g["receiver"]["name"] == "null" and
                      all(x["labels"]["kind"] == g["labels"]["kind"] and
                          x["labels"].get("source") == g["labels"].get("source") for x in g["alerts"])
                      for g in groups), "groups are keyed by kind and source only, to the null receiver")
            check(sum(len(g["alerts"]) for g in groups) == len(held), "every alert is in a group")

            blob = json.dumps(held) + json.dumps(groups) + r.stderr
            check(CANARY not in blob and EMAIL not in blob, "no planted secret or e-mail reached Alertmanager")
            check(CANARY not in open(out).read(), "the planted key is redacted in the output")
            first_out = open(out).read()
        finally:
            am.stop()

        # Alertmanager down: nothing listens on the port.
        r, out, alerts_path = scan("down", f"http://127.0.0.1:{free_port()}")
        check(r.returncode == 0, f"with Alertmanager down, scan exits 0 ({r.stderr.strip()[-400:]})")
        check(open(out).read() == first_out, "and its output is complete and the same")
        check(len(open(alerts_path).read().splitlines()) == len(records), "and every alert is in --alerts")
        summary = [l for l in r.stderr.splitlines() if "alertmanager: alerts_sent=0" in l]
        check(summary and f"undelivered={len(latest)}" in summary[0],
              f"scan says how many alerts were not delivered ({summary})")
        check("failed (connect" in r.stderr, "and why (a connect failure), once")
        check(r.stderr.count("failed (connect") == 1, "the failure is logged once, not per retry")

        # A bad URL: exit 2 naming the key, before any output exists.
        r, out, alerts_path = scan("https", "https://127.0.0.1:9093")
        check(r.returncode == 2 and "alerts.alertmanager" in r.stderr and "https is not supported" in r.stderr,
              f"https is refused with exit 2 naming the key ({r.stderr.strip()})")
        check(not os.path.exists(out), "and no output file was created")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
