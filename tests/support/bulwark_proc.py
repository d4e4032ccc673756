"""Helpers shared by the Python tests that drive `bulwark run`.

    from bulwark_proc import Run, fail_with, wait_for, http, samples, sign_body, parse_ts

Run starts `bulwark run -c CONFIG` with its output in a log file and reads the
HTTP port and the embedded cluster's bootstrap it announces on stdout.
"""
import datetime
import hashlib
import hmac
import json
import re
import subprocess
import time
import urllib.error
import urllib.request


def fail_with(prefix):
    """A fail(msg) that exits with `prefix: FAIL: msg`."""
    def fail(msg):
        raise SystemExit(f"{prefix}: FAIL: {msg}")
    return fail


def wait_for(what, check, timeout, fail):
    """check()'s first truthy result, polled every 0.2 s, or fail."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    fail(f"timed out after {timeout} s waiting for {what}")


def http(method, url, timeout=5):
    """(status, body text); status 0 when nothing answered."""
    req = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", errors="replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


def samples(exposition):
    """{'name{labels}': float} of every sample line of a Prometheus exposition."""
    out = {}
    for line in exposition.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def sign_body(obj, key_hex, kid="k1"):
    """`obj` as compact JSON signed in the SPEC §4 body form: HMAC-SHA256
    under `key_hex` of the bytes before `,"sig"` plus the closing `}`."""
    body = json.dumps(obj, separators=(",", ":")).encode()
    mac = hmac.new(bytes.fromhex(key_hex), body, hashlib.sha256).hexdigest()
    return (body[:-1] + b',"sig":{"kid":"' + kid.encode() + b'","mac":"' + mac.encode()
            + b'"}}').decode()


def parse_ts(text):
    """Seconds since the epoch of an RFC 3339 UTC time as bulwark writes it."""
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Run:
    """`bulwark run -c config`, output to `log_path`."""

    def __init__(self, bulwark, config, log_path, fail, env=None, embedded=True):
        self.fail = fail
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([bulwark, "run", "-c", config], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.port = None
        self.bootstrap = None

        def started():
            if self.proc.poll() is not None:
                fail(f"bulwark run exited {self.proc.returncode}: {self.output()[-2000:]}")
            text = self.output()
            port = re.search(r"http listening on 127\.0\.0\.1:(\d+)", text)
            boot = re.search(r"embedded cluster bootstrap (\S+)", text)
            if port and (boot or not embedded):
                self.port = int(port.group(1))
                self.bootstrap = boot.group(1) if boot else None
                return True
            return False

        wait_for("bulwark run to announce its port", started, 60, fail)

    def output(self):
        self.log.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def metric(self, name):
        """A sample's value; 0 until /metrics answers 200 (a slow start, e.g.
        under a sanitizer, answers 503 while the service sets up)."""
        status, body = http("GET", self.url("/metrics"))
        return samples(body).get(name, 0) if status == 200 else 0

    def stop(self, sig=None, timeout=30):
        """Sends `sig` (SIGTERM by default) and returns the exit code."""
        import signal
        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
