#!/usr/bin/env python3
"""Drift through the real `bulwark scan`: a fleet from bulwark-loadgen whose
fraud model's `/features/amount` moves 2% of a reference standard deviation
per window after a 24-window reference (the boiling frog), next to its clean
twin (same seed, no drift).

Checks, each able to fail:
  drifted stream  a drift alert on /features/amount of model fraud before the
                  total shift reaches 0.5 SD; its evidence carries the
                  statistics, thresholds, onset, moved bins; refs[0] is the
                  last fraud event of the window that tripped it; no alert on
                  the features that did not move; at most one record per
                  repeat period (no duplicates)
  clean twin      no drift alert at all
  key cap         drift.max_keys below the number of models: one `capacity`
                  alert, the tracked keys keep working
  frozen file     `bulwark drift baseline` from the clean twin, then scan the
                  drifted stream against that file with --audit: the loaded
                  reference is an audit record, the chain verifies, drift is
                  still caught

usage: scan_drift.py --bulwark BIN --loadgen BIN
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

DEMO_KEY = "62756c7761726b2d6c6f616467656e2064656d6f206b65792c207075626c6963"
START_WINDOW = 24
STEP_SD = 0.02
WINDOW = "1m"
EVENTS = 140_000  # 40 events per simulated second: ~58 one-minute windows


def minute(ts):
    """Minutes since the loadgen start (2026-11-27T00:00:00Z) of an RFC 3339 time."""
    hh, mm = ts[11:13], ts[14:16]
    return int(hh) * 60 + int(mm)


def config(tmp, name, extra=""):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(f"""rules: {{packs: []}}
integrity:
  keys: {{k1: {{hex: "{DEMO_KEY}"}}}}
drift:
  key: [/model]
  window: {WINDOW}
  features:
    - {{path: /features/amount, type: numeric}}
    - {{path: /features/country, type: categorical}}
    - {{path: /score, type: numeric}}
{extra}""")
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--loadgen", required=True)
    a = ap.parse_args()
    ok = True

    def check(cond, what):
        nonlocal ok
        print(("ok   " if cond else "FAIL ") + what)
        ok &= bool(cond)

    def run(*cmd):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            print(f"FAIL {' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()[-400:]}")
            sys.exit(1)
        return r

    def alerts_of(path):
        return [json.loads(l) for l in open(path)] if os.path.exists(path) else []

    with tempfile.TemporaryDirectory() as tmp:
        drifted = os.path.join(tmp, "drifted.ndjson")
        clean = os.path.join(tmp, "clean.ndjson")
        common = ["-q", "--events", str(EVENTS), "--seed", "5", "--clock-rate", "40",
                  "--metric-interval", "1m", "--drift-window", WINDOW]
        run(a.loadgen, *common, "--drift-step", str(STEP_SD), "--drift-start", str(START_WINDOW),
            "--out", drifted)
        run(a.loadgen, *common, "--out", clean)
        lines = open(drifted).read().splitlines()

        # --- the drifted stream, reference learned from its first 24 windows
        cfg = config(tmp, "learn.yaml", "  reference: {windows: 24}\n")
        out = os.path.join(tmp, "alerts.ndjson")
        run(a.bulwark, "scan", "-c", cfg, "--in", drifted, "--out", os.devnull, "--alerts", out)
        drift = [al for al in alerts_of(out) if al["kind"] == "drift"]
        amount = [al for al in drift if al["evidence"].get("feature") == "/features/amount"]
        check(amount, f"a drift alert on /features/amount ({len(amount)} records)")
        if amount:
            first = amount[0]
            ev = first["evidence"]
            check(first["model"] == "fraud", f"it names the model ({first['model']})")
            tripped = minute(ev["window_end"]) - 1  # the window index (1-minute windows)
            shift_sd = (tripped - START_WINDOW + 1) * STEP_SD
            check(START_WINDOW <= tripped and shift_sd < 0.5,
                  f"it trips in window {tripped}, at a total shift of {shift_sd:.2f} SD (< 0.5)")
            stats = ev.get("statistics", {})
            check(all(k in stats for k in ("psi", "js_distance", "hellinger", "wasserstein_u",
                                           "chi2", "g", "z")),
                  "the evidence carries PSI, JS, Hellinger, Wasserstein, chi-square, G and z")
            check(ev.get("moved") and "thresholds" in ev, "and the bins that moved, and the thresholds")
            check("onset" in ev and minute(ev["onset"]) >= START_WINDOW - 2,
                  f"an onset no earlier than the drift began ({ev.get('onset')})")
            ref = first["refs"][0].get("line", 0)
            want = max(i + 1 for i, l in enumerate(lines)
                       if '"model":"fraud"' in l and ev["window_start"][:16] in l[:40])
            check(ref == want, f"refs[0] is the last fraud event of that window (line {ref}, want {want})")
            # A drift still present is re-raised every repeat_windows (24); a
            # medium alert that grows large is a new, high one (severity is
            # part of the fingerprint), so at most two fingerprints.
            periods = (minute(lines[-1][7:31]) - tripped) // 24 + 1
            by_fp = {}
            for al in amount:
                by_fp.setdefault(al["fingerprint"], []).append(al)
            check(len(by_fp) <= 2 and all(len(v) <= periods and v[-1]["count"] == len(v)
                                          for v in by_fp.values()),
                  f"no duplicates: {len(amount)} record(s) under {len(by_fp)} fingerprint(s) "
                  f"for {periods} repeat period(s)")
        others = sorted({al["evidence"].get("feature") for al in drift} - {"/features/amount"})
        check(not others, f"no drift alert on the features that did not move ({others})")

        # --- the clean twin: nothing
        out_clean = os.path.join(tmp, "alerts-clean.ndjson")
        run(a.bulwark, "scan", "-c", cfg, "--in", clean, "--out", os.devnull, "--alerts", out_clean)
        kinds = sorted({al["kind"] for al in alerts_of(out_clean)})
        check(kinds == [], f"the clean twin raises no alert ({kinds})")

        # --- a late event is counted, not silently dropped (no keys: drift
        # takes unsigned events then)
        late_in = os.path.join(tmp, "late.ndjson")
        with open(late_in, "w") as f:
            f.write(open(clean).read())
            f.write(json.dumps({"ts": "2026-11-27T00:00:30.000Z", "source": "late-src", "seq": 1,
                                "type": "prediction", "model": "fraud",
                                "features": {"amount": 12.5, "country": "DE"}, "score": 0.1}) + "\n")
        nokeys = os.path.join(tmp, "nokeys.yaml")
        with open(nokeys, "w") as f:
            f.write(open(cfg).read().replace(f'integrity:\n  keys: {{k1: {{hex: "{DEMO_KEY}"}}}}\n', ""))
        r = run(a.bulwark, "scan", "-c", nokeys, "--in", late_in, "--out", os.devnull)
        summary = dict(kv.split("=", 1) for kv in r.stderr.split() if "=" in kv)
        check(summary.get("drift.late") == "1" and int(summary.get("drift.observed", 0)) > EVENTS // 2,
              f"the late event is counted in the summary (drift.late={summary.get('drift.late')}, "
              f"observed={summary.get('drift.observed')})")

        # --- a key cap below the number of models
        # Keys are tracked in order of arrival: a fraud event goes first, so
        # fraud is one of the two tracked models.
        first_fraud = next(i for i, l in enumerate(lines) if '"model":"fraud"' in l)
        reordered = os.path.join(tmp, "reordered.ndjson")
        with open(reordered, "w") as f:
            f.write("\n".join([lines[first_fraud]] + lines[:first_fraud] + lines[first_fraud + 1:]))
            f.write("\n")
        capped = config(tmp, "capped.yaml", "  reference: {windows: 24}\n  max_keys: 2\n")
        out_cap = os.path.join(tmp, "alerts-cap.ndjson")
        run(a.bulwark, "scan", "-c", capped, "--in", reordered, "--out", os.devnull, "--alerts",
            out_cap)
        got = alerts_of(out_cap)
        capacity = [al for al in got if al["kind"] == "capacity"]
        check(len(capacity) == 1 and capacity[0]["count"] == 1,
              f"one capacity alert when the third model arrives ({len(capacity)})")
        check(capacity and capacity[0]["evidence"].get("module") == "drift",
              "naming the drift module")
        check(any(al["kind"] == "drift" and al["model"] == "fraud" for al in got),
              "the tracked keys still detect drift")

        # --- a frozen reference from a file; loading it is an audit record
        base = os.path.join(tmp, "baseline.json")
        cfg_base = config(tmp, "base.yaml", "  reference: {windows: 24}\n")
        run(a.bulwark, "drift", "baseline", "-c", cfg_base, "--in", clean, "--out", base)
        cfg_file = config(tmp, "file.yaml", f"  reference: {{file: {base}}}\n")
        out_file = os.path.join(tmp, "alerts-file.ndjson")
        audit = os.path.join(tmp, "audit.ndjson")
        run(a.bulwark, "scan", "-c", cfg_file, "--in", drifted, "--out", os.devnull,
            "--alerts", out_file, "--audit", audit)
        chain = open(audit).read()
        check("drift_reference_loaded" in chain, "loading the reference is in the audit chain")
        v = subprocess.run([a.bulwark, "verify", "-c", cfg_file, "--audit", audit],
                           capture_output=True, text=True)
        check(v.returncode == 0, f"the chain verifies ({v.stdout.strip()[:200]})")
        got = [al for al in alerts_of(out_file)
               if al["kind"] == "drift" and al["evidence"].get("feature") == "/features/amount"]
        check(got and minute(got[0]["evidence"]["window_end"]) - 1 - START_WINDOW < 25,
              "drift is caught against the file reference too")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
