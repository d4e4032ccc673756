#!/usr/bin/env python3
"""Telemetry integrity through the real `bulwark scan` (issue 6, SPEC §3, §4, §6).

Each scenario builds a stream of events from a simulated fleet, signed with the
published example signer (examples/sign_event.py) or produced by
bulwark-loadgen, runs `bulwark scan` over it and checks the exact alerts (kind,
source, count, refs, evidence), the verdicts and `_bulwark` annotations of the
output lines, and the quarantine and audit outputs.

usage: scan_integrity.py --bulwark BIN --loadgen BIN SCENARIO...
scenarios: silence skew reset poisoning rollback_guard rotation reorder clean
           loadgen_episodes loadgen_mix (or all)

The header form of the signature (`bw-sig`) travels in a Kafka header, which an
NDJSON line has no place for: `scan` cannot carry it, so it is not covered here
(tests/unit/integrity covers it in the checker, kafka_e2e.py on Kafka).
"""
import argparse
import calendar
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples"))
from sign_event import sign_body  # noqa: E402  (the published signer)

KEYS = {
    "k1": bytes.fromhex("6b31" * 16),
    "k2": bytes.fromhex("6b32" * 16),
}
# bulwark-loadgen's published demo key (docs/loadgen.md).
LOADGEN_KEY = "62756c7761726b2d6c6f616467656e2064656d6f206b65792c207075626c6963"
INTEGRITY_KINDS = ("integrity.tamper", "integrity.replay", "integrity.gap", "integrity.unsigned",
                   "integrity.silence", "integrity.reset", "integrity.skew", "poisoning",
                   "rollback_guard", "capacity")

T0 = calendar.timegm((2026, 11, 27, 10, 0, 0)) * 1000  # ms
MIN = 60_000


def rfc(ms):
    s, m = divmod(ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s)) + f".{m:03d}Z"


class Stream:
    """A fleet's events in the order bulwark will read them."""

    def __init__(self):
        self.lines = []
        self.seq = {}
        self.epoch = {}
        self.by_line = {}  # line number -> source

    def event(self, src, t, typ="prediction", model="fraud", kid="k1", sign=True, seq=None,
              epoch=None, **fields):
        """Appends one event at event time T0 + t ms; returns its 1-based line number."""
        if seq is None:
            seq = self.seq.get(src, 0) + 1
        self.seq[src] = max(self.seq.get(src, 0), seq)
        if epoch is not None:
            self.epoch[src] = epoch
        ev = {"ts": rfc(T0 + t), "source": src, "seq": seq,
              "epoch": self.epoch.setdefault(src, "boot-" + src), "type": typ, "model": model}
        ev.update(fields)
        data = json.dumps(ev, separators=(",", ":")).encode()
        line = sign_body(data, kid, KEYS[kid]) if sign else data
        return self.add(line.decode(), src)

    def add(self, line, src=None):
        self.lines.append(line)
        self.by_line[len(self.lines)] = src
        return len(self.lines)

    def prediction(self, src, t, **kw):
        return self.event(src, t, features={"amount": 10 + (t // 1000) % 90}, score=0.25, **kw)

    def metric(self, src, t, name, value, **kw):
        return self.event(src, t, typ="metric", name=name, value=round(value, 6), **kw)


def config(tmp, extra="", keys=("k1",), windows=None, packs="[]", require=('"srv-*"',)):
    windows = windows or {}
    entries = []
    for kid in keys:
        w = "".join(f', {k}: "{v}"' for k, v in windows.get(kid, {}).items())
        entries.append(f'{kid}: {{hex: "{KEYS[kid].hex()}"{w}}}')
    path = os.path.join(tmp, "bulwark.yaml")
    with open(path, "w") as f:
        f.write(f"rules:\n  packs: {packs}\n"
                f"integrity:\n  keys: {{{', '.join(entries)}}}\n"
                f"  require_signature: [{', '.join(require)}]\n" + extra)
    return path


class Scan:
    """One `bulwark scan` run and its outputs."""

    def __init__(self, bulwark, cfg, lines, tmp):
        self.bulwark, self.cfg = bulwark, cfg
        self.inp = os.path.join(tmp, "in.ndjson")
        with open(self.inp, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.lines = lines
        p = {k: os.path.join(tmp, k + ".ndjson") for k in ("out", "alerts", "quarantine", "audit")}
        self.paths = p
        r = subprocess.run([bulwark, "scan", "-c", cfg, "--in", self.inp, "--out", p["out"],
                            "--alerts", p["alerts"], "--quarantine", p["quarantine"],
                            "--audit", p["audit"]], capture_output=True, text=True)
        self.rc, self.stderr = r.returncode, r.stderr
        read = lambda k: open(p[k]).read().splitlines() if os.path.exists(p[k]) else []
        self.out = read("out")
        self.records = [json.loads(l) for l in read("alerts")]
        self.quarantine = [json.loads(l) for l in read("quarantine")]
        self.audit = read("audit")

    def bw(self, line):
        """The `_bulwark` member of output line `line` (1-based), {} when absent."""
        return json.loads(self.out[line - 1]).get("_bulwark", {})

    def alerts(self, kind):
        """Each alert (fold) of `kind` as its latest record, in order of first appearance."""
        folds = {}
        for r in self.records:
            if r["kind"] == kind:
                folds[(r["fingerprint"], r["first_seen"])] = r
        return list(folds.values())

    def records_of(self, kind):
        return [r for r in self.records if r["kind"] == kind]

    def occurrences(self, kind):
        return sum(a["count"] for a in self.alerts(kind))

    def kinds(self):
        return {k: self.occurrences(k) for k in sorted({r["kind"] for r in self.records})}

    def verify(self):
        return subprocess.run([self.bulwark, "verify", "-c", self.cfg,
                               "--audit", self.paths["audit"]],
                              capture_output=True, text=True)


class Checks:
    def __init__(self, name):
        self.name, self.ok = name, True

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + f"[{self.name}] " + what)
        self.ok &= bool(cond)
        return bool(cond)

    def ran(self, s):
        self(s.rc == 0, f"scan exits 0 ({s.stderr.strip()[-300:]})")
        self(len(s.out) == len(s.lines),
             f"one output line per input line ({len(s.out)}/{len(s.lines)})")

    def only(self, s, expected):
        """The integrity alert kinds raised are exactly `expected` {kind: occurrences}."""
        got = {k: v for k, v in s.kinds().items() if k in INTEGRITY_KINDS}
        self(got == expected, f"integrity alerts exactly {expected} (got {got})")

    def untouched(self, s, lines, what):
        changed = [n for n in lines if s.out[n - 1] != s.lines[n - 1]]
        self(not changed, f"{what}: output byte-identical to the input ({len(changed)} differ, "
                          f"first {changed[:3]})")


def honest(rng, level, spread):
    return level * (1 + rng.uniform(-spread, spread))


# --- scenarios ---------------------------------------------------------------------------------

def scenario_silence(a, tmp, c):
    """srv-3 stops for 10 minutes and srv-4 stops for good while the fleet goes on; srv-5 stops
    a minute before the end (under silence_after): exactly srv-3 and srv-4 are named."""
    st = Stream()
    stop = {"srv-3": (5 * MIN, 15 * MIN), "srv-4": (17 * MIN, None), "srv-5": (19 * MIN, None)}
    resumed_line = None
    first_at = {}  # event time -> the first line with it
    for t in range(0, 20 * MIN + 1, 5000):
        first_at[t] = len(st.lines) + 1
        for i in range(1, 6):
            src = f"srv-{i}"
            if src in stop:
                begin, end = stop[src]
                if begin < t and (end is None or t < end):
                    continue
            n = st.prediction(src, t)
            if src == "srv-3" and t == 15 * MIN:
                resumed_line = n
    s = Scan(a.bulwark, config(tmp, "  silence_after: 2m\n"), st.lines, tmp)
    c.ran(s)
    c.only(s, {"integrity.silence": 2})
    silent = {al["source"]: al for al in s.alerts("integrity.silence")}
    c(sorted(silent) == ["srv-3", "srv-4"], f"the silent sources are named: {sorted(silent)}")
    for src in ("srv-3", "srv-4"):
        al = silent.get(src)
        if not al:
            continue
        ev = al["evidence"]
        begin, end = stop[src]
        c(al["severity"] == "high" and al["count"] == 1, f"{src}: one high alert")
        c(ev == {"basis": "event_time", "last_heard": rfc(T0 + begin), "silent_for_ms": 120000,
                 "silence_after_ms": 120000},
          f"{src}: evidence names the last event and the threshold ({ev})")
        # Raised by the first event that takes the fleet's clock silence_after past it.
        revealed = first_at[begin + 2 * MIN]
        c(al["first_seen"] == rfc(T0 + begin + 2 * MIN) and al["refs"] == [{"line": revealed}],
          f"{src}: raised at {rfc(T0 + begin + 2 * MIN)} by line {revealed} "
          f"({al['first_seen']}, {al['refs']})")
    c(s.bw(resumed_line) == {} and s.out[resumed_line - 1] == st.lines[resumed_line - 1],
      "srv-3's first event after the silence passes untouched")
    c.untouched(s, range(1, len(st.lines) + 1), "every event")


def scenario_skew(a, tmp, c):
    """One event 10 minutes ahead of the fleet and one 30 minutes behind: one integrity.skew
    each, neither moves the watermark (nothing after them is skewed, nobody falls silent)."""
    st = Stream()
    ahead = behind = None
    for t in range(0, 10 * MIN + 1, 2000):
        for i in range(1, 5):
            st.prediction(f"srv-{i}", t)
        if t == 3 * MIN:
            ahead = st.prediction("srv-2", t + 10 * MIN)
        if t == 6 * MIN:
            behind = st.prediction("srv-4", t - 30 * MIN)
    s = Scan(a.bulwark, config(tmp, "  silence_after: 3m\n"), st.lines, tmp)
    c.ran(s)
    c.only(s, {"integrity.skew": 2})
    skews = {al["source"]: al for al in s.alerts("integrity.skew")}
    c(sorted(skews) == ["srv-2", "srv-4"], f"the skewed sources are named: {sorted(skews)}")
    for src, line, offset in (("srv-2", ahead, 10 * MIN), ("srv-4", behind, -30 * MIN)):
        al = skews.get(src)
        if not al:
            continue
        ev = al["evidence"]
        c(al["severity"] == "medium" and al["count"] == 1 and al["refs"] == [{"line": line}],
          f"{src}: one medium alert pointing at line {line} ({al['refs']})")
        # The watermark is the newest event before it: the same round's srv-4 at t.
        c(ev.get("reference") == "watermark" and ev.get("watermark_offset_ms") == offset
          and ev.get("max_skew_ms") == 120000 and ev.get("event_time") == json.loads(
              st.lines[line - 1])["ts"], f"{src}: evidence {ev}")
    c.untouched(s, range(1, len(st.lines) + 1), "every event (skew is not quarantined)")


def scenario_reset(a, tmp, c):
    """srv-1 restarts its count without a new epoch (integrity.reset), srv-2 with a new one
    (accepted, recorded in the audit chain), and an old srv-3 event replayed late: a replay,
    not a reset, although its number is small."""
    st = Stream()
    replayed = reset_line = epoch_line = replay_line = None
    for t in range(0, 6 * MIN + 1, 1000):
        for i in range(1, 5):
            src = f"srv-{i}"
            if src == "srv-1" and t == 3 * MIN:
                reset_line = st.prediction(src, t, seq=1)
                st.seq[src] = 1
            elif src == "srv-2" and t == 4 * MIN:
                epoch_line = st.prediction(src, t, seq=1, epoch="boot-srv-2-b")
                st.seq[src] = 1
            else:
                n = st.prediction(src, t)
                if src == "srv-3" and t == 5000:
                    replayed = st.lines[n - 1]
        if t == 5 * MIN:
            replay_line = st.add(replayed, "srv-3")
    head_before_reset = 3 * 60  # srv-1 sent 1..180 at t = 0..179 s
    s = Scan(a.bulwark, config(tmp), st.lines, tmp)
    c.ran(s)
    c.only(s, {"integrity.reset": 1, "integrity.replay": 1})
    reset = s.alerts("integrity.reset")
    if c(len(reset) == 1, "one reset alert"):
        r = reset[0]
        c(r["source"] == "srv-1" and r["severity"] == "high"
          and r["refs"] == [{"line": reset_line}],
          f"it names srv-1 and the restarting line {reset_line} ({r['source']}, {r['refs']})")
        c(r["evidence"] == {"epoch": "boot-srv-1", "seq": 1, "previous_head": head_before_reset},
          f"evidence: epoch, seq, previous head ({r['evidence']})")
    replay = s.alerts("integrity.replay")
    if c(len(replay) == 1, "one replay alert"):
        c(replay[0]["source"] == "srv-3" and replay[0]["refs"] == [{"line": replay_line}]
          and replay[0]["evidence"].get("reason") == "seen",
          f"the late copy of an early srv-3 event is a replay ({replay[0]['evidence']})")
    c(s.bw(replay_line).get("verdict") == "quarantined", "the replayed copy is quarantined")
    c(len(s.quarantine) == 1 and s.quarantine[0].get("reason") == "integrity.replay"
      and s.quarantine[0].get("line") == replay_line,
      f"one quarantine record ({[(q.get('line'), q.get('reason')) for q in s.quarantine][:5]})")
    others = [n for n in range(1, len(st.lines) + 1) if n != replay_line]
    c.untouched(s, others, "every other event, the restarts included")
    epochs = [json.loads(l) for l in s.audit if '"epoch_started"' in l]
    c(len(epochs) == 1, f"one epoch_started record in the audit chain ({len(epochs)})")
    if epochs:
        d = epochs[0].get("detail", {})
        c(d.get("kind") == "integrity.epoch" and d.get("source") == "srv-2"
          and d.get("previous_epoch") == "boot-srv-2" and d.get("epoch") == "boot-srv-2-b"
          and d.get("seq") == 1 and d.get("ts") == json.loads(st.lines[epoch_line - 1])["ts"],
          f"it records srv-2's new epoch at its first event ({d})")
    v = s.verify()
    c(v.returncode == 0, f"verify: the chain with the epoch record is intact ({v.stdout.strip()})")


def metric_plan(rng, sources, model, t_end, lie=None, every=10_000, **kw):
    """Planned events (time, source, kind, fields) of servers of `model` that report latency,
    error rate and accuracy every `every` ms, plus some predictions. Honest servers stay within
    a few percent of the model's level (per-server offsets plus jitter). `lie`: {source: (from,
    to, fn(name, honest value) -> reported)}."""
    offsets = {s: rng.uniform(-0.03, 0.03) for s in sources}
    levels = {"latency_p99_ms": 120.0, "error_rate": 0.02, "accuracy": 0.93}
    plan = []
    for t in range(0, t_end + 1, every):
        for src in sources:
            for name, level in levels.items():
                v = honest(rng, level * (1 + offsets[src]), 0.02)
                if lie and src in lie and lie[src][0] <= t < lie[src][1]:
                    v = lie[src][2](name, v)
                plan.append((t + rng.randrange(0, 500), src, "metric",
                             dict(name=name, value=v, model=model, **kw)))
            if rng.random() < 0.5:
                plan.append((t + 600, src, "prediction", dict(model=model, **kw)))
    return plan


def emit_plan(st, plan):
    """Emits planned events in time order (numbering each source as it goes); an entry may
    carry a `tag` to find its line. Returns {tag: line}."""
    tagged = {}
    for t, src, kind, fields in sorted(plan, key=lambda e: (e[0], e[1])):
        fields = dict(fields)
        tag = fields.pop("tag", None)
        if kind == "metric":
            n = st.metric(src, t, fields.pop("name"), fields.pop("value"), **fields)
        elif kind == "prediction":
            n = st.prediction(src, t, **fields)
        else:
            n = st.event(src, t, typ=kind, **fields)
        if tag:
            tagged[tag] = n
    return tagged


def scenario_poisoning(a, tmp, c):
    """Six servers of one model (fraud): srv-5 reports 2x latency for 5 minutes, srv-6 one
    negative latency. Four of another (summarizer): srv-9 reports its error rate 0.2 too high
    for 5 minutes, srv-8 an error rate of 1.7. Exactly those four are named; their events are
    untrusted from then on; no honest peer is flagged."""
    rng = random.Random(6)
    lie = {"srv-5": (10 * MIN, 15 * MIN, lambda n, v: v * 2 if n == "latency_p99_ms" else v)}
    plan = metric_plan(rng, [f"srv-{i}" for i in range(1, 7)], "fraud", 30 * MIN, lie)
    lie = {"srv-9": (5 * MIN, 10 * MIN, lambda n, v: v + 0.2 if n == "error_rate" else v)}
    plan += metric_plan(rng, [f"srv-{i}" for i in range(7, 11)], "summarizer", 30 * MIN, lie)
    plan.append((20 * MIN + 700, "srv-6", "metric",
                 dict(name="latency_p99_ms", value=-5.0, model="fraud", tag="srv-6")))
    plan.append((22 * MIN + 700, "srv-8", "metric",
                 dict(name="error_rate", value=1.7, model="summarizer", tag="srv-8")))
    st = Stream()
    impossible = emit_plan(st, plan)
    s = Scan(a.bulwark, config(tmp), st.lines, tmp)
    c.ran(s)
    c.only(s, {"poisoning": 4})
    got = {al["source"]: al for al in s.alerts("poisoning")}
    liars = ["srv-5", "srv-6", "srv-8", "srv-9"]
    c(sorted(got) == liars, f"exactly the liars are named: {sorted(got)}")
    for src, model, metric, peers, ratio, begin in (
            ("srv-5", "fraud", "latency_p99_ms", 6, (1.8, 2.2), 10 * MIN),
            ("srv-9", "summarizer", "error_rate", 4, (8, 14), 5 * MIN)):
        liar = got.get(src)
        if not liar:
            continue
        ev = liar["evidence"]
        c(liar["severity"] == "critical" and liar["model"] == model and liar["count"] == 1,
          f"{src}: one critical alert for model {model} ({liar['severity']}, {liar['model']})")
        c(ev.get("reason") == "peer_outlier" and ev.get("metric") == metric
          and ev.get("peers") == peers and ev.get("outlier_windows", 0) >= 2
          and ev.get("robust_z", 0) > 6
          and ratio[0] < ev.get("value", 0) / ev.get("peer_median", 1) < ratio[1],
          f"{src}: evidence {ev}")
        c(rfc(T0 + begin + MIN) < liar["first_seen"] <= rfc(T0 + begin + 5 * MIN),
          f"{src}: caught within the lie ({liar['first_seen']})")
    for src, bound in (("srv-6", "non_negative"), ("srv-8", "unit_interval")):
        al = got.get(src)
        if not al:
            continue
        ev = al["evidence"]
        line = impossible[src]
        c(al["refs"] == [{"line": line}] and ev.get("reason") == "impossible_value"
          and ev.get("bound") == bound, f"{src}: impossible value ({bound}) at line {line}: {ev}")
    # Trust: a source's events carry trust untrusted from the alert on, and only theirs.
    first_untrusted = {}
    for n in range(1, len(st.lines) + 1):
        if s.bw(n).get("trust") == "untrusted":
            first_untrusted.setdefault(st.by_line[n], n)
    c(sorted(first_untrusted) == liars,
      f"only the liars' events are untrusted ({sorted(first_untrusted)})")
    for src, al in got.items():
        ref = al["refs"][0]["line"] if al["refs"] else None
        later = [n for n in range(1, len(st.lines) + 1)
                 if st.by_line[n] == src and ref and n >= ref]
        marked = [n for n in later if s.bw(n).get("trust") == "untrusted"]
        c(later and len(marked) == len(later) and first_untrusted.get(src) == later[0],
          f"{src}: every event from the alert's line {ref} on is untrusted "
          f"({len(marked)}/{len(later)}), none before")
    c(not s.quarantine, "nothing is quarantined")


def scenario_rollback_guard(a, tmp, c):
    """Rollbacks after metrics from an untrusted source (fraud: srv-5 lied and was caught) and
    from an unsigned one (summarizer: edge-1, a short lie, never alerted) raise a critical
    rollback_guard naming them; a rollback after honest metrics (support-bot) raises nothing."""
    rng = random.Random(7)
    lie = {"srv-5": (10 * MIN, 15 * MIN, lambda n, v: v * 3 if n == "latency_p99_ms" else v)}
    plan = metric_plan(rng, [f"srv-{i}" for i in range(1, 7)], "fraud", 30 * MIN, lie)
    plan += metric_plan(rng, [f"srv-{i}" for i in range(7, 11)], "summarizer", 30 * MIN)
    # edge-1 does not sign (and need not); its error rate is bad for 30 s only: one window,
    # below the persistence rule, so it is never called a liar, but it is a triggering metric.
    plan += metric_plan(rng, ["edge-1"], "summarizer", 30 * MIN, {
        "edge-1": (20 * MIN, 20 * MIN + 30_000, lambda n, v: 0.3 if n == "error_rate" else v)},
        sign=False)
    plan += metric_plan(rng, [f"srv-{i}" for i in range(11, 15)], "support-bot", 30 * MIN)
    by = {"fraud": (15 * MIN, "srv-1"), "summarizer": (21 * MIN, "srv-7"),
          "support-bot": (25 * MIN, "srv-11")}
    for model, (at, src) in by.items():
        plan.append((at + 900, src, "audit",
                     dict(model=model, action="rollback", actor="deploy-bot", version="1.0.0",
                          reason="metrics regression", tag=model)))
    st = Stream()
    rollbacks = emit_plan(st, plan)
    s = Scan(a.bulwark, config(tmp), st.lines, tmp)
    c.ran(s)
    c.only(s, {"poisoning": 1, "rollback_guard": 2})
    c([al["source"] for al in s.alerts("poisoning")] == ["srv-5"], "srv-5's lie is caught")
    guards = {al["model"]: al for al in s.alerts("rollback_guard")}
    c(sorted(guards) == ["fraud", "summarizer"],
      f"guards for fraud and summarizer ({sorted(guards)})")
    for model, suspect, untrusted, unsigned in (("fraud", "srv-5", True, False),
                                                ("summarizer", "edge-1", False, True)):
        g = guards.get(model)
        if not g:
            continue
        ev = g["evidence"]
        c(g["severity"] == "critical" and g["refs"] == [{"line": rollbacks[model]}]
          and g["source"] == by[model][1] and ev.get("rollback_authenticated") is True,
          f"{model}: critical, at the rollback line {rollbacks[model]}, by {by[model][1]} "
          f"({g['refs']}, {g['source']})")
        names = {x["source"] for x in ev.get("suspects", [])}
        c(names == {suspect} and ev.get("suspicious_metrics", 0) >= 1
          and ev.get("triggering_metrics", 0) >= ev.get("suspicious_metrics", 0),
          f"{model}: the suspects are exactly {suspect} ({names}, {ev.get('suspicious_metrics')})")
        c(all(x["untrusted"] is untrusted and x["unsigned"] is unsigned
              for x in ev.get("suspects", [])),
          f"{model}: {suspect} is {'untrusted' if untrusted else 'unsigned'}")
    edge = [n for n in range(1, len(st.lines) + 1) if st.by_line[n] == "edge-1"]
    c(edge and all(s.bw(n).get("integrity") == "unsigned"
                   and s.bw(n).get("verdict") != "quarantined" for n in edge),
      "edge-1's unsigned events pass, marked integrity unsigned")


def scenario_rotation(a, tmp, c):
    """k1 valid until 10:10, k2 from 10:05: the fleet switches at 10:08. A k1 signature after
    its window, a k2 signature before its window and an unknown key id are quarantined as
    integrity.tamper with the reason; their numbers leave no gap."""
    st = Stream()
    bad = {}
    for t in range(0, 15 * MIN + 1, 2000):
        for i in range(1, 4):
            src = f"srv-{i}"
            kid = "k1" if t < 8 * MIN else "k2"
            if src == "srv-1" and t == 12 * MIN:
                bad["key_expired"] = st.prediction(src, t, kid="k1")
            elif src == "srv-2" and t == 3 * MIN:
                bad["key_not_yet_valid"] = st.prediction(src, t, kid="k2")
            elif src == "srv-3" and t == 6 * MIN:
                n = st.prediction(src, t, kid="k1")
                line = st.lines[n - 1].replace('"kid":"k1"', '"kid":"k9"')
                st.lines[n - 1] = line
                bad["unknown_kid"] = n
            else:
                st.prediction(src, t, kid=kid)
    windows = {"k1": {"not_after": rfc(T0 + 10 * MIN)}, "k2": {"not_before": rfc(T0 + 5 * MIN)}}
    s = Scan(a.bulwark, config(tmp, keys=("k1", "k2"), windows=windows), st.lines, tmp)
    c.ran(s)
    c.only(s, {"integrity.tamper": 3})
    reasons = {}
    for r in s.records_of("integrity.tamper"):
        for ref in r["refs"]:
            reasons[ref["line"]] = r["evidence"]
    for why, line in bad.items():
        ev = reasons.get(line, {})
        c(ev.get("reason") == why and s.bw(line).get("verdict") == "quarantined",
          f"line {line}: quarantined, tamper reason {why} ({ev})")
    c(reasons.get(bad["key_expired"], {}).get("kid") == "k1"
      and reasons.get(bad["key_not_yet_valid"], {}).get("kid") == "k2"
      and "kid" not in reasons.get(bad["unknown_kid"], {"kid": 1}),
      "configured kids are named, the unknown one is not echoed")
    c(sorted(q["line"] for q in s.quarantine) == sorted(bad.values())
      and all(q["reason"] == "integrity.tamper" for q in s.quarantine),
      f"exactly those three are in the quarantine ({[q['line'] for q in s.quarantine]})")
    rest = [n for n in range(1, len(st.lines) + 1) if n not in bad.values()]
    c.untouched(s, rest, "every event signed with a key inside its window (k1, k2, overlap)")
    c('"k9"' not in open(s.paths["alerts"]).read(), "the unknown key id appears in no alert")


def scenario_reorder(a, tmp, c):
    """Each source's events shuffled within blocks of 16 (reorder_tolerance 64): no alert. One
    srv-4 event held back 100 numbers: one gap of 1 when judged, then accepted quietly."""
    rng = random.Random(16)
    per_source = {}
    for i in range(1, 5):
        src = f"srv-{i}"
        evs = [(seq, (seq - 1) * 1000) for seq in range(1, 301)]
        blocks = [evs[b:b + 16] for b in range(0, len(evs), 16)]
        for blk in blocks:
            rng.shuffle(blk)
        per_source[src] = [e for blk in blocks for e in blk]
    held = next(k for k, e in enumerate(per_source["srv-4"]) if e[0] == 100)
    late_event = per_source["srv-4"].pop(held)
    release = next(k for k, e in enumerate(per_source["srv-4"]) if e[0] == 200) + 1
    per_source["srv-4"].insert(release, late_event)
    st = Stream()
    late_line = None
    for k in range(300):
        for i in range(1, 5):
            src = f"srv-{i}"
            seq, t = per_source[src][k]
            n = st.prediction(src, t, seq=seq)
            if src == "srv-4" and seq == 100:
                late_line = n
    s = Scan(a.bulwark, config(tmp), st.lines, tmp)
    c.ran(s)
    c.only(s, {"integrity.gap": 1})
    gap = s.alerts("integrity.gap")
    if gap:
        c(gap[0]["source"] == "srv-4" and gap[0]["evidence"].get("missing") == 1
          and gap[0]["evidence"].get("first") == 100 and gap[0]["evidence"].get("last") == 100,
          f"the gap is srv-4's number 100 ({gap[0]['source']}, {gap[0]['evidence']})")
        c(gap[0]["refs"][0]["line"] < late_line, "reported before the late event arrived")
    c.untouched(s, range(1, len(st.lines) + 1), "every event, the late one included")
    c(not s.quarantine, "nothing is quarantined")


def loadgen(a, tmp, *args):
    out, labels = os.path.join(tmp, "fleet.ndjson"), os.path.join(tmp, "labels.ndjson")
    r = subprocess.run([a.loadgen, "-q", "--out", out, "--labels", labels, *args],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"bulwark-loadgen failed: {r.stderr}")
    return open(out).read().splitlines(), [json.loads(l) for l in open(labels)]


def loadgen_config(tmp, extra="", packs="[secrets, pii, injection, prompt_injection]"):
    path = os.path.join(tmp, "bulwark.yaml")
    with open(path, "w") as f:
        f.write(f"rules:\n  packs: {packs}\n"
                f'integrity:\n  keys: {{k1: {{hex: "{LOADGEN_KEY}"}}}}\n'
                f'  require_signature: ["srv-*"]\n' + extra)
    return path


def scenario_clean(a, tmp, c):
    """25,000 signed events from bulwark-loadgen's clean fleet (24 servers, metrics every 10 s,
    ~21 minutes of event time), all rule packs: no integrity alert of any kind, nothing
    quarantined, every event verified."""
    lines, labels = loadgen(a, tmp, "--events", "25000", "--clock-rate", "20", "--seed", "11")
    c(not labels and len(lines) == 25000,
      f"a clean stream ({len(lines)} events, {len(labels)} labels)")
    metrics = sum('"type":"metric"' in l for l in lines)
    c(metrics > 3000, f"with {metrics} metric events for the peer comparison")
    s = Scan(a.bulwark, loadgen_config(tmp), lines, tmp)
    c.ran(s)
    c.only(s, {})
    bad = [n for n in range(1, len(lines) + 1)
           if s.bw(n).get("integrity", "verified") != "verified" or "trust" in s.bw(n)
           or s.bw(n).get("verdict") in ("quarantined", "rejected")]
    c(not bad, f"every event verified, none untrusted or quarantined ({len(bad)}, first {bad[:3]})")
    c(not s.quarantine and "quarantined=0" in s.stderr, "the summary counts nothing quarantined")


def scenario_loadgen_episodes(a, tmp, c):
    """bulwark-loadgen's episode presets: a silence and a poisoning that ends in a rollback.
    The alerts name exactly the labelled sources, and the rollback raises rollback_guard."""
    lines, labels = loadgen(a, tmp, "--events", "36000", "--clock-rate", "40", "--seed", "5",
                            "--silence", "1", "--poison", "1", "--sources", "12")
    by_kind = {}
    for l in labels:
        by_kind.setdefault(l["kind"], []).append(l)
    silent = {l["source"] for l in by_kind.get("integrity.silence", [])}
    liars = {l["source"] for l in by_kind.get("poisoning", [])}
    rollbacks = by_kind.get("rollback_guard", [])
    c(len(silent) == 1 and len(liars) == 1 and len(rollbacks) == 1,
      f"the ground truth has one silent source, one liar, one rollback ({silent}, {liars}, "
      f"{len(rollbacks)})")
    s = Scan(a.bulwark, loadgen_config(tmp, "  silence_after: 2m\n"), lines, tmp)
    c.ran(s)
    kinds = {k: v for k, v in s.kinds().items() if k in INTEGRITY_KINDS}
    c(set(kinds) == {"integrity.silence", "poisoning", "rollback_guard"},
      f"only silence, poisoning and rollback_guard alerts ({kinds})")
    c({al["source"] for al in s.alerts("integrity.silence")} == silent,
      f"silence names {silent} ({[al['source'] for al in s.alerts('integrity.silence')]})")
    named = [al["source"] for al in s.alerts("poisoning")]
    c(named == sorted(liars), f"poisoning names exactly the liar {liars} ({named})")
    guards = s.alerts("rollback_guard")
    if c(len(guards) == 1 and rollbacks, f"one rollback_guard ({len(guards)})"):
        g = guards[0]
        c(g["refs"] == [{"line": rollbacks[0]["index"]}] and g["severity"] == "critical",
          f"at the labelled rollback, line {rollbacks[0]['index']} ({g['refs']})")
        c({x["source"] for x in g["evidence"].get("suspects", [])} == liars,
          f"its suspect is the liar ({g['evidence'].get('suspects')})")
    honest_untrusted = [n for n in range(1, len(lines) + 1)
                        if s.bw(n).get("trust") and json.loads(lines[n - 1])["source"] not in liars]
    c(not honest_untrusted, f"no honest server's event is untrusted ({honest_untrusted[:3]})")


def scenario_loadgen_mix(a, tmp, c):
    """bulwark-loadgen's drawn integrity attacks (tamper, replay, gap, unsigned) against its
    ground truth: each labelled event gets its alert and verdict, nothing else does."""
    lines, labels = loadgen(a, tmp, "--events", "30000", "--seed", "9", "--tamper-rate", "0.002",
                            "--replay-rate", "0.002", "--gap-rate", "0.002", "--unsigned-rate",
                            "0.002")
    by_kind = {}
    for l in labels:
        by_kind.setdefault(l["kind"], []).append(l)
    c(all(len(by_kind.get(k, [])) >= 20 for k in
          ("integrity.tamper", "integrity.replay", "integrity.gap", "integrity.unsigned")),
      f"every attack planted ({ {k: len(v) for k, v in by_kind.items()} })")
    # Every gap occurrence as a record of its own (high alerts otherwise fold per minute),
    # so that each one's evidence can be compared with the ground truth.
    timers = "alerts:\n  kinds:\n    integrity.gap: {group_wait: 0s, group_interval: 0s}\n"
    s = Scan(a.bulwark, loadgen_config(tmp, timers, packs="[]"), lines, tmp)
    c.ran(s)
    quarantined_kinds = {"integrity.tamper", "integrity.replay", "integrity.unsigned"}
    expected_q = {l["index"]: l["kind"] for l in labels if l["kind"] in quarantined_kinds}
    got_q = {q["line"]: q["reason"] for q in s.quarantine}
    c(got_q == expected_q, f"exactly the tampered, replayed and unsigned events are quarantined "
                           f"with their kind ({len(got_q)} vs {len(expected_q)}; extra "
                           f"{sorted(set(got_q) - set(expected_q))[:3]}, missed "
                           f"{sorted(set(expected_q) - set(got_q))[:3]})")
    for kind in sorted(quarantined_kinds):
        refs = {r["line"] for al in s.records_of(kind) for r in al["refs"]}
        want = {l["index"] for l in by_kind.get(kind, [])}
        c(s.occurrences(kind) == len(want) and want >= refs,
          f"{kind}: one occurrence per labelled event ({s.occurrences(kind)}/{len(want)}), refs "
          f"among them")
    gaps = by_kind.get("integrity.gap", [])
    # A gap is reported once the source's next event is judged; gaps of one source may
    # merge into one run only when adjacent, which a skip before an event never is.
    missing = sum(l["detail"]["missing"] for l in gaps)
    got_missing = sum(r["evidence"]["missing"] for r in s.records_of("integrity.gap"))
    c(s.occurrences("integrity.gap") == len(gaps) and got_missing == missing,
      f"integrity.gap: one per skip ({s.occurrences('integrity.gap')}/{len(gaps)}), "
      f"{got_missing}/{missing} numbers missing")
    want = sorted((l["source"], l["detail"]["missing_from"], l["detail"]["missing_to"])
                  for l in gaps)
    got = sorted((r["source"], r["evidence"]["first"], r["evidence"]["last"])
                 for r in s.records_of("integrity.gap"))
    c(got == want, f"each gap names its source and the labelled range (first difference: "
                   f"{next(((x, y) for x, y in zip(got, want) if x != y), None)})")
    others = {k: v for k, v in s.kinds().items()
              if k in INTEGRITY_KINDS and k not in quarantined_kinds and k != "integrity.gap"}
    c(not others, f"no other integrity alert ({others})")


SCENARIOS = {name[len("scenario_"):]: fn for name, fn in globals().items()
             if name.startswith("scenario_")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--loadgen", required=True)
    ap.add_argument("scenarios", nargs="+", choices=sorted(SCENARIOS) + ["all"])
    a = ap.parse_args()
    names = sorted(SCENARIOS) if "all" in a.scenarios else a.scenarios
    ok = True
    for name in names:
        with tempfile.TemporaryDirectory() as tmp:
            c = Checks(name)
            started = time.monotonic()
            SCENARIOS[name](a, tmp, c)
            print(f"{'PASS' if c.ok else 'FAIL'} {name} ({time.monotonic() - started:.1f}s)")
            ok &= c.ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
