#!/usr/bin/env python3
"""`bulwark run` scraped by a real Prometheus (Debian `prometheus`).

Starts `bulwark run` on the embedded cluster with `http.listen: 127.0.0.1:0`,
reads the port and the bootstrap it prints, produces telemetry (with planted
canary secrets and a few malformed records) with the tests' kafka tool,
checks the endpoint (/healthz, /readyz, 404, 405, the counters against what
was produced), runs `promtool check metrics` on a scraped exposition, starts
Prometheus on 127.0.0.1 scraping bulwark every second and waits until its
query API returns a non-zero bulwark_records_received_total. No canary may
appear in any /metrics output nor in bulwark's own output. Every process is
stopped in `finally`.

usage: prometheus.py --bulwark BIN --tool KAFKA_TOOL --prometheus BIN --promtool BIN
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
import urllib.error
import urllib.parse
import urllib.request

N_EVENTS = 3000
MALFORMED = [b"not json at all", b"[1,2,3]", b'{"a":1} trailing']


def fail(msg):
    raise SystemExit(f"prometheus.py: FAIL: {msg}")


def http_get(url, timeout=5):
    """(status, headers, body text); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()
    except (urllib.error.URLError, OSError):
        return 0, {}, ""


def http_request(method, url):
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout):
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    fail(f"timed out after {timeout} s waiting for {what}")


def samples(exposition):
    """{'name{labels}': float} of every sample line."""
    out = {}
    for line in exposition.splitlines():
        if not line or line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        out[key] = float(value)
    return out


def make_events(seed):
    rng = random.Random(seed)
    lines, canaries = [], []
    for i in range(N_EVENTS):
        ev = {"ts": "2026-11-27T00:00:00Z", "source": f"srv-{i % 7}", "model": f"m{i % 3}",
              "level": "info", "msg": f"request {i} served", "latency_ms": rng.randrange(1, 500)}
        if i % 50 == 0:
            key = "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
            mail = f"canary.{i}.{rng.randrange(10**8)}@example.org"
            ev["msg"] = f"deploy with aws key {key} and mail {mail} please"
            canaries += [key, mail]
        if i % 97 == 0:
            # Hostile values where a careless exporter would take a label from.
            marker = f"canarysource{rng.randrange(10**12)}"
            ev["source"] = marker + '"} 1\nbulwark_evil{x="'
            ev["model"] = marker + "-model"
            canaries.append(marker)
        lines.append(json.dumps(ev, separators=(",", ":")))
    return lines, canaries


class Bulwark:
    def __init__(self, exe, config, log_path):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([exe, "run", "-c", config], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self.port = None
        self.bootstrap = None

        def started():
            if self.proc.poll() is not None:
                fail(f"bulwark run exited {self.proc.returncode}: {self.output()}")
            text = self.output()
            port = re.search(r"bulwark run: http listening on 127\.0\.0\.1:(\d+)", text)
            boot = re.search(r"bulwark run: embedded cluster bootstrap (\S+)", text)
            if port and boot:
                self.port, self.bootstrap = int(port.group(1)), boot.group(1)
                return True
            return False

        wait_for("bulwark run to print its port and bootstrap", started, 60)

    def output(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def check_endpoint(b, canaries):
    status, headers, body = http_get(b.url("/healthz"))
    if status != 200 or body != "ok\n":
        fail(f"/healthz: {status} {body!r}")
    wait_for("/readyz to answer 200", lambda: http_get(b.url("/readyz"))[0] == 200, 60)
    hostile = "/x%3Cscript%3E" + canaries[0]
    status, _, body = http_get(b.url(hostile))
    if status != 404 or canaries[0] in body or "script" in body:
        fail(f"unknown path: {status} {body!r}")
    status, headers = http_request("POST", b.url("/metrics"))
    if status != 405 or headers.get("Allow") != "GET, HEAD":
        fail(f"POST /metrics: {status} {headers}")
    status, headers, body = http_get(b.url("/metrics"))
    if status != 200 or not headers.get("Content-Type", "").startswith(
            "text/plain; version=0.0.4"):
        fail(f"/metrics: {status} {headers}")
    return body


def scraped(b):
    status, _, body = http_get(b.url("/metrics"))
    if status != 200:
        fail(f"/metrics answered {status}")
    return body


def check_counts(b, total):
    """Waits until every record went through, then checks the counters agree."""
    def all_in():
        s = samples(scraped(b))
        return s if s.get('bulwark_records_received_total{stage="writer"}', 0) >= total else None

    s = wait_for(f"{total} records through the writer stage", all_in, 120)
    verdicts = sum(v for k, v in s.items() if k.startswith("bulwark_verdicts_total{"))
    if verdicts != s['bulwark_records_received_total{stage="writer"}']:
        fail(f"verdicts {verdicts} != records through the writer stage")
    if s['bulwark_records_received_total{stage="reader"}'] < total:
        fail("reader count below what was produced")
    dead = sum(v for k, v in s.items() if k.startswith("bulwark_dead_letters_total{"))
    if dead < len(MALFORMED) or s.get('bulwark_dead_letters_total{reason="not_json"}', 0) < 1:
        fail(f"dead letters: {dead}")
    secrets = sum(v for k, v in s.items() if k.startswith('bulwark_findings_total{category="secret"'))
    if secrets < N_EVENTS // 50:
        fail(f"secret findings: {secrets}")
    by_rule = sum(v for k, v in s.items() if k.startswith("bulwark_rule_findings_total{"))
    by_cat = sum(v for k, v in s.items() if k.startswith("bulwark_findings_total{"))
    if by_rule != by_cat or by_rule == 0:
        fail(f"findings by rule {by_rule} != by category and action {by_cat}")
    if s.get('bulwark_stage_duration_seconds_count{stage="worker"}', 0) < total:
        fail("worker latency histogram not fed")

    def delivered():
        now = samples(scraped(b))
        # Each record has one of these; alerts and audit records come on top.
        out = sum(now.get(f'bulwark_output_records_total{{output="{o}"}}', 0)
                  for o in ("sanitized", "dlq", "quarantine"))
        return now if out >= total else None

    s = wait_for("outputs delivered", delivered, 60)
    if s.get('bulwark_output_records_total{output="dlq"}', 0) < len(MALFORMED):
        fail("DLQ deliveries not counted")
    # Each record's main output (sanitised, DLQ or quarantine) is held from
    # consumption to its delivery report; alerts count on top, audit records
    # (not tied to one input record) do not.
    # (observed just after the output counter: scrape until it is in)
    def hold_observed():
        now = samples(scraped(b))
        return now if now.get("bulwark_record_hold_seconds_count", 0) >= total else None

    s = wait_for("record hold observed", hold_observed, 30)
    held = s["bulwark_record_hold_seconds_count"]
    # Outputs counted by a later scrape: a scrape reads the output counter
    # before the histogram, and deliveries may come in between.
    all_out = sum(v for k, v in samples(scraped(b)).items()
                  if k.startswith("bulwark_output_records_total{"))
    if not total <= held <= all_out:
        fail(f"bulwark_record_hold_seconds_count {held}: expected {total}..{all_out}")
    hold_buckets = sorted((float(k.split('le="')[1].split('"')[0]), v) for k, v in s.items()
                          if k.startswith("bulwark_record_hold_seconds_bucket{"))
    if (len(hold_buckets) < 2 or hold_buckets[-1][1] != held or
            any(a[1] > b[1] for a, b in zip(hold_buckets, hold_buckets[1:]))):
        fail(f"bulwark_record_hold_seconds buckets not cumulative up to the count: {hold_buckets}")
    if s.get("bulwark_ready", 0) != 1:
        fail("bulwark_ready is not 1 while /readyz is 200")
    assigned = sum(v for k, v in s.items() if k.startswith("bulwark_partition_assigned{"))
    if assigned != 4:
        fail(f"partitions assigned: {assigned}, expected the 4 of the input")
    if any(k.startswith("bulwark_evil") for k in s):
        fail("a series was injected from telemetry")


def check_port_in_use(a, tmp, b):
    """A second instance whose port is taken runs on without the endpoint."""
    config = os.path.join(tmp, "second.yaml")
    with open(config, "w") as f:
        f.write(f"""workers: 1
kafka:
  brokers: "{b.bootstrap}"
  group_id: bulwark-second
  properties:
    log_level: "3"
http:
  listen: 127.0.0.1:{b.port}
""")
    log_path = os.path.join(tmp, "second.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([a.bulwark, "run", "-c", config], stdout=log,
                                stderr=subprocess.STDOUT)
        try:
            def said():
                with open(log_path) as f:
                    return "running without the HTTP endpoint" in f.read()

            wait_for("the second instance to report the busy port", said, 30)
            time.sleep(1)
            if proc.poll() is not None:
                fail(f"the second instance exited {proc.returncode} over a busy port")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
    if proc.returncode != 0:
        fail(f"the second instance exited {proc.returncode} on SIGTERM")
    # The first one still serves.
    if http_get(b.url("/healthz"))[0] != 200:
        fail("/healthz of the first instance after the second came and went")


def run_prometheus(a, tmp, target_port):
    port = free_port()
    config = os.path.join(tmp, "prometheus.yml")
    with open(config, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: bulwark
    scrape_interval: 1s
    static_configs:
      - targets: ["127.0.0.1:{target_port}"]
""")
    log = open(os.path.join(tmp, "prometheus.log"), "w")
    proc = subprocess.Popen([a.prometheus, f"--config.file={config}",
                             f"--storage.tsdb.path={os.path.join(tmp, 'tsdb')}",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=log, stderr=subprocess.STDOUT)
    return proc, port, log


def query(port, expr):
    status, _, body = http_get(
        f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))
    if status != 200:
        return None
    data = json.loads(body)
    if data.get("status") != "success":
        return None
    return data["data"]["result"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--tool", required=True)
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("--promtool", required=True)
    a = ap.parse_args()
    for exe in (a.prometheus, a.promtool):
        if not os.access(exe, os.X_OK):
            fail(f"{exe} is missing: scripts/install-deps installs Debian's prometheus")

    with tempfile.TemporaryDirectory(prefix="bulwark-prometheus-") as tmp:
        config = os.path.join(tmp, "bulwark.yaml")
        with open(config, "w") as f:
            f.write("""workers: 2
kafka:
  brokers: embedded
  embedded_partitions: 4
  properties:
    session.timeout.ms: "6000"
    heartbeat.interval.ms: "500"
    log_level: "3"
http:
  listen: 127.0.0.1:0
""")
        lines, canaries = make_events(8)
        b = None
        prom = None
        prom_log = None
        exposition = []
        try:
            b = Bulwark(a.bulwark, config, os.path.join(tmp, "bulwark.log"))
            exposition.append(check_endpoint(b, canaries))
            subprocess.run([a.tool, "produce", b.bootstrap, "telemetry", "4"],
                           input=("\n".join(lines) + "\n").encode(), check=True)
            for raw in MALFORMED:
                subprocess.run([a.tool, "produce", b.bootstrap, "telemetry"], input=raw + b"\n",
                               check=True, stderr=subprocess.DEVNULL)
            check_counts(b, N_EVENTS + len(MALFORMED))

            text = scraped(b)
            exposition.append(text)
            r = subprocess.run([a.promtool, "check", "metrics"], input=text.encode(),
                               capture_output=True)
            if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
                fail(f"promtool check metrics: rc={r.returncode} {r.stdout[:2000]!r} "
                     f"{r.stderr[:2000]!r}")

            prom, prom_port, prom_log = run_prometheus(a, tmp, b.port)

            def series():
                res = query(prom_port, "bulwark_records_received_total")
                if not res:
                    return None
                total = sum(float(x["value"][1]) for x in res)
                return res if total > 0 else None

            res = wait_for("Prometheus to return a non-zero bulwark_records_received_total",
                           series, 90)
            stages = {x["metric"].get("stage", ""): float(x["value"][1]) for x in res}
            if sorted(stages) != ["other", "producer", "reader", "worker", "writer"]:
                fail(f"series in Prometheus: {sorted(stages)}")
            if stages["other"] != 0 or min(stages[s] for s in stages if s != "other") <= 0:
                fail(f"values in Prometheus: {stages}")
            up = query(prom_port, 'up{job="bulwark"}')
            if not up or up[0]["value"][1] != "1":
                fail(f"up: {up}")
            exposition.append(scraped(b))
            check_port_in_use(a, tmp, b)
            print(f"prometheus.py: Prometheus holds {len(res)} bulwark_records_received_total "
                  f"series; promtool clean; {len(canaries)} canaries absent")
        finally:
            if prom is not None and prom.poll() is None:
                prom.terminate()
                try:
                    prom.wait(15)
                except subprocess.TimeoutExpired:
                    prom.kill()
                    prom.wait()
            if prom_log is not None:
                prom_log.close()
            rc = b.stop() if b is not None else None
        out = b.output()
        if rc != 0:
            fail(f"bulwark run exited {rc}: {out[-3000:]}")
        for text in exposition + [out]:
            for c in canaries:
                if c in text:
                    fail("a canary from the telemetry appears in /metrics or bulwark's output")
    print("prometheus.py: ok")


if __name__ == "__main__":
    main()
