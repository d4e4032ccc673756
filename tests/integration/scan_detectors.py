#!/usr/bin/env python3
"""`bulwark scan` with the stateful detectors, end to end: a signed fleet with
one of each integrity attack, a planted secret, and audit events; then
`bulwark verify` on the chain scan wrote, intact and altered.

usage: scan_detectors.py --bulwark BIN
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
from sign_event import sign_body  # noqa: E402  (the published signer)

KEY = bytes.fromhex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff")
CANARY = "AKIA" + "QWERTYUIOPASDFGH"


def ts(sec):
    return f"2026-11-27T10:{sec // 60:02d}:{sec % 60:02d}.000Z"


def build_stream():
    """Returns (lines, expectations)."""
    lines, notes = [], {}
    seqs = {}

    def emit(src, body, sign=True, seq=None, raw=None):
        seqs[src] = seqs.get(src, 0) + 1
        s = seqs[src] if seq is None else seq
        ev = {"ts": body.pop("ts"), "source": src, "seq": s, "model": "fraud", **body}
        data = json.dumps(ev, separators=(",", ":")).encode()
        line = sign_body(data, "k1", KEY) if sign else data
        lines.append((raw or line).decode())
        return len(lines)  # 1-based line number

    t = 0
    for i in range(60):
        for src in ("srv-1", "srv-2", "srv-3", "srv-4"):
            t += 1
            n = emit(src, {"ts": ts(t), "type": "prediction", "features": {"amount": 10 + i}})
            if src == "srv-1" and i == 5:
                notes["replayed"] = lines[n - 1]
        if i == 10:  # a secret in a signed event
            t += 1
            notes["secret_line"] = emit("srv-2", {"ts": ts(t), "type": "log", "msg": f"key {CANARY}"})
        if i == 20:  # tampered: signed, then edited
            t += 1
            n = emit("srv-3", {"ts": ts(t), "type": "log", "msg": "amount 10"})
            lines[n - 1] = lines[n - 1].replace("amount 10", "amount 99")
            notes["tampered_line"] = n
        if i == 30:  # replay of an earlier signed event
            lines.append(notes["replayed"])
            notes["replay_line"] = len(lines)
        if i == 40:  # srv-4 skips five sequence numbers
            seqs["srv-4"] += 5
        if i == 45:  # unsigned, from a source that must sign
            t += 1
            notes["unsigned_line"] = emit("srv-1", {"ts": ts(t), "type": "log", "msg": "hi"}, sign=False)
        if i == 50:  # an audit event: who deployed which model
            t += 1
            notes["audit_line"] = emit("srv-2", {"ts": ts(t), "type": "audit", "action": "deploy",
                                                 "actor": "ops-7", "version": "4.2.0"})
    return lines, notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    a = ap.parse_args()
    lines, notes = build_stream()
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= bool(cond)

    with tempfile.TemporaryDirectory() as tmp:
        cfg = os.path.join(tmp, "bulwark.yaml")
        with open(cfg, "w") as f:
            f.write(f'integrity:\n  keys: {{k1: {{hex: "{KEY.hex()}"}}}}\n'
                    f'  require_signature: ["srv-*"]\n')
        inp = os.path.join(tmp, "in.ndjson")
        with open(inp, "w") as f:
            f.write("\n".join(lines) + "\n")
        paths = {k: os.path.join(tmp, k + ".ndjson") for k in ("out", "alerts", "quarantine", "audit")}
        r = subprocess.run([a.bulwark, "scan", "-c", cfg, "--in", inp, "--out", paths["out"],
                            "--alerts", paths["alerts"], "--quarantine", paths["quarantine"],
                            "--audit", paths["audit"]], capture_output=True, text=True)
        check(r.returncode == 0, f"scan exits 0 ({r.stderr.strip()[-300:]})")
        out = open(paths["out"]).read().splitlines()
        alerts = [json.loads(l) for l in open(paths["alerts"])]
        quarantine = [json.loads(l) for l in open(paths["quarantine"])]
        check(len(out) == len(lines), f"one output line per input line ({len(out)}/{len(lines)})")

        def bw(n):
            return json.loads(out[n - 1]).get("_bulwark", {})

        check(bw(notes["tampered_line"]).get("verdict") == "quarantined", "the edited event is quarantined")
        check(bw(notes["replay_line"]).get("verdict") == "quarantined", "the replayed event is quarantined")
        check(bw(notes["unsigned_line"]).get("verdict") == "quarantined",
              "the unsigned event from a required source is quarantined")
        sec = bw(notes["secret_line"])
        check(sec.get("verdict") == "redacted" and sec.get("integrity") == "verified",
              "the secret is redacted and the event's integrity is verified")
        check(not any("_bulwark" in json.loads(l) for i, l in enumerate(out[:8])),
              "clean verified events carry no annotation")
        kinds = {}
        for al in alerts:
            kinds[al["kind"]] = kinds.get(al["kind"], 0) + al["count"]
        for kind in ("integrity.tamper", "integrity.replay", "integrity.gap", "integrity.unsigned", "secret"):
            check(kind in kinds, f"an {kind} alert ({kinds.get(kind, 0)})")
        tamper = [al for al in alerts if al["kind"] == "integrity.tamper"]
        check(tamper and tamper[0]["refs"] == [{"line": notes["tampered_line"]}],
              "the tamper alert points at the edited line")
        check(len(quarantine) == 3, f"three quarantine records ({len(quarantine)})")
        blob = open(paths["out"]).read() + open(paths["alerts"]).read() + open(paths["quarantine"]).read() \
            + open(paths["audit"]).read()
        check(CANARY not in blob, "the planted key appears in no output")
        chain = open(paths["audit"]).read().splitlines()
        check(any('"type":"event"' in l and '"deploy"' in l for l in chain), "the deploy event is in the chain")

        def verify(path, *extra):
            return subprocess.run([a.bulwark, "verify", "-c", cfg, "--audit", path, *extra],
                                  capture_output=True, text=True)

        v = verify(paths["audit"])
        check(v.returncode == 0, f"verify: the chain is intact ({v.stdout.strip()})")
        receipt = hashlib.sha256(lines[notes["audit_line"] - 1].encode()).hexdigest()
        v = verify(paths["audit"], "--receipt", receipt)
        check(v.returncode == 0 and '"path"' in v.stdout, "verify --receipt proves the audit event")
        altered = os.path.join(tmp, "altered.ndjson")
        edited = [l.replace('"ops-7"', '"ops-8"') for l in chain]
        with open(altered, "w") as f:
            f.write("\n".join(edited) + "\n")
        v = verify(altered)
        check(v.returncode == 1 and "first bad index" in v.stdout, f"verify: an edited record fails ({v.stdout.strip()})")
        with open(altered, "w") as f:
            f.write("\n".join(chain[:-1]) + "\n")
        v = verify(altered)
        check(v.returncode == 1, "verify: a truncated chain fails")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
