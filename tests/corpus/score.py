#!/usr/bin/env python3
"""Score `bulwark scan` against a labelled corpus made by gen_corpus.py.

    score.py --bulwark build/rel/src/app/bulwark --events events.ndjson --labels labels.ndjson

Runs `bulwark scan` over the events, then judges every label on the output event:

  secret, pii  caught when the planted value no longer appears in the decoded string
               at the label's JSON pointer AND the event's `_bulwark` carries a finding
               at that pointer. A caught value of which half or more still appears
               (a span cut too short) is reported as a partial leak, not as a miss.
  injection    caught when the event's `_bulwark` has a finding of category
               `injection` at the pointer. Whether the value was also defused (SPEC §3:
               no tag-opening `<`, no `javascript:`, no `${`, no control character but
               \\t and \\n left) is reported beside it.
  negative     kept when the value still appears verbatim in the string at its pointer and
               there is no finding at that pointer (unless a planted secret, PII or
               injection shares the string and explains it).

Per kind, the notes say how values were missed, how many caught values still leak half
or more of themselves, which were caught only by a rule of another category (a database
password taken by the email rule), and which injections were flagged but not defused.
Also reported: findings at pointers that carry no secret/pii/injection label (noise on
fields that should pass: trace ids, clean messages, ...), excluding the built-in
system-message policy, and how many unlabelled events came out byte-identical.

The judging is importable: score.judge(inputs, outputs, labels, report_only, text_only)
scores any tool's output the same way (bench/peers/run.py), with text_only for tools that
replace text without reporting findings.

Exit 0 when every gated category's recall >= --min-recall and negatives kept >= --min-kept;
1 otherwise; 2 when the corpus or the run is broken (missing lines, rejected events).
"""
import argparse
import collections
import json
import os
import re
import subprocess
import sys
import tempfile

GATED = ("secret", "pii", "injection")


def resolve(doc, pointer):
    cur = doc
    for raw in pointer.split("/")[1:]:
        seg = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict):
            if seg not in cur:
                return None
            cur = cur[seg]
        elif isinstance(cur, list):
            if not seg.isdigit() or int(seg) >= len(cur):
                return None
            cur = cur[int(seg)]
        else:
            return None
    return cur


def short(s, n=160):
    r = json.dumps(s, ensure_ascii=False)[1:-1]
    return r if len(r) <= n else r[:n - 1] + "…"


def around(s, value, width=70):
    """The text around value in s, value marked with » «."""
    if not isinstance(s, str):
        return "<%s>" % ("missing" if s is None else type(s).__name__)
    i = s.find(value)
    if i < 0:
        return short(s, 2 * width + 40)
    a, b = max(0, i - width), min(len(s), i + len(value) + width)
    return ("…" if a else "") + short(s[a:i], 10 ** 6) + "»" + short(value, 120) + "«" + \
        short(s[i + len(value):b], 10 ** 6) + ("…" if b < len(s) else "")


def leaked_fragment(s, value):
    """Whether half (at least 8 chars) of value still appears in s."""
    if not isinstance(s, str) or len(value) < 12:
        return False
    w = max(8, len(value) // 2)
    return any(value[i:i + w] in s for i in range(0, len(value) - w + 1))


TAG = re.compile(r"<[A-Za-z!/?]")
CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def defused(s):
    if not isinstance(s, str):
        return True
    return not (TAG.search(s) or "javascript:" in s.lower() or "${" in s or CTRL.search(s))


def pct(a, b):
    return "%6.1f%%" % (100.0 * a / b) if b else "     - "


class Judgement:
    """What judge() found: counters per category and per (category, kind), misses with context."""

    def __init__(self):
        self.tot = collections.Counter()
        self.hit = collections.Counter()
        self.ktot = collections.Counter()
        self.khit = collections.Counter()
        self.kpartial = collections.Counter()
        self.kundefused = collections.Counter()
        self.kforeign = collections.defaultdict(collections.Counter)  # caught only by another category's rule
        self.kreason = collections.defaultdict(collections.Counter)
        self.misses = collections.defaultdict(list)          # category -> [(kind, text)]
        self.noise = collections.Counter()
        self.noise_ex = collections.defaultdict(list)
        self.clean_total = 0
        self.clean_same = 0
        self.broken = 0                                       # output lines that are not JSON

    def recall(self, cat, gated=False):
        """Share of cat's labels judged ok; gated leaves the report-only kinds out."""
        t = self.tot[cat] - (self.tot["~" + cat] if gated else 0)
        h = self.hit[cat] - (self.hit["~" + cat] if gated else 0)
        return h / t if t else 1.0


def judge(inputs, outputs, labels, report_only=(), text_only=False):
    """Judge every label against the output events (the rules in the module docstring).

    inputs: the input lines (bytes); outputs: one parsed output event per input line, None
    where the line is not JSON (every label on it then counts as missed or not kept).
    text_only is for tools that only replace text and annotate nothing: a secret or PII
    value counts as caught when it no longer appears at its path, an injection when its
    payload no longer appears verbatim there, a negative as kept when it is still there,
    and an unlabelled event as clean when it parses equal to its input.
    """
    j = Judgement()
    tot, hit, ktot, khit = j.tot, j.hit, j.ktot, j.khit
    kpartial, kundefused, kforeign, kreason, misses = j.kpartial, j.kundefused, j.kforeign, j.kreason, j.misses
    j.broken = sum(1 for d in outputs if d is None)
    labelled_lines = set()

    def findings(line):
        by = collections.defaultdict(list)
        for f in (outputs[line - 1] or {}).get("_bulwark", {}).get("findings", []):
            by[f.get("path")].append(f)
        return by

    positive_paths = collections.defaultdict(set)
    for lab in labels:
        if lab["category"] != "negative":
            positive_paths[lab["line"]].add(lab["path"])
    for lab in labels:
        line, path, cat, kind, value = lab["line"], lab["path"], lab["category"], lab["kind"], lab["value"]
        labelled_lines.add(line)
        doc = outputs[line - 1]
        s = resolve(doc, path)
        fs = findings(line).get(path, [])
        rules = ",".join(sorted({f.get("rule", "?") for f in fs})) or "-"
        key = (cat, kind)
        ktot[key] += 1
        if doc is None:
            ok = False
            kreason[key]["output line not JSON"] += 1
            misses[cat].append((kind, "line %d %s [output line not JSON]" % (line, path)))
        elif cat in ("secret", "pii"):
            present = isinstance(s, str) and value in s
            ok = not present and (text_only or bool(fs))
            if ok:
                if leaked_fragment(s, value):
                    kpartial[key] += 1
                if fs and not any(f.get("category") == cat for f in fs):
                    kforeign[key][rules] += 1
            else:
                reason = ("not detected" if not fs else "detected (%s) but value left intact" % rules) \
                    if present else "value gone but no finding at the path"
                kreason[key][reason.split(" (")[0]] += 1
                misses[cat].append((kind, "line %d %s [%s]: %s" % (line, path, reason, around(s, value))))
        elif cat == "injection":
            if text_only:
                ok = not (isinstance(s, str) and value in s)
            else:
                ok = any(f.get("category") == "injection" for f in fs)
            if ok:
                if not defused(s):
                    kundefused[key] += 1
            else:
                reason = "not detected" if not fs else "only %s findings (%s)" % (
                    "/".join(sorted({f.get("category") for f in fs})), rules)
                kreason[key][reason.split(" (")[0]] += 1
                misses[cat].append((kind, "line %d %s [%s]: %s" % (line, path, reason, around(s, value))))
        else:
            # kept: verbatim at its path, and no finding there unless a planted value explains it
            intact = isinstance(s, str) and value in s
            ok = intact and not (fs and path not in positive_paths[line])
            if not ok:
                kreason[key]["%s (%s)" % ("flagged" if intact else "altered", rules)] += 1
                src = resolve(json.loads(inputs[line - 1]), path)
                misses[cat].append((kind, "line %d %s [rules at path: %s]\n        in:  %s\n        out: %s" % (
                    line, path, rules, around(src, value), short(s, 240) if isinstance(s, str) else s)))
        tot[cat] += 1
        if kind in report_only:
            tot["~" + cat] += 1
            hit["~" + cat] += ok
        hit[cat] += ok
        khit[key] += ok

    # noise: findings where nothing was planted, and unlabelled events that changed
    for i, doc in enumerate(outputs):
        line = i + 1
        fs = (doc or {}).get("_bulwark", {}).get("findings", [])
        src_doc = None
        for f in fs:
            if f.get("category") == "prompt_leak" and f.get("rule") == "system-prompt":
                continue
            if f.get("path") in positive_paths.get(line, ()):
                continue
            j.noise[f.get("rule")] += 1
            if len(j.noise_ex[f.get("rule")]) < 3:
                src_doc = src_doc or json.loads(inputs[i])
                j.noise_ex[f.get("rule")].append("line %d %s: %s" % (line, f.get("path"),
                                                                      short(resolve(src_doc, f.get("path")), 200)))
        if line not in labelled_lines:
            j.clean_total += 1
            if text_only:
                j.clean_same += doc is not None and doc == json.loads(inputs[i])
            else:
                extra = [f for f in fs
                         if not (f.get("category") == "prompt_leak" and f.get("rule") == "system-prompt")]
                j.clean_same += doc is not None and not extra
    return j


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--bulwark", required=True, help="path to the bulwark binary")
    ap.add_argument("--events", default="events.ndjson")
    ap.add_argument("--labels", default="labels.ndjson")
    ap.add_argument("-c", "--config", help="bulwark configuration (default: built-in defaults)")
    ap.add_argument("--sanitized", help="keep bulwark's output here (default: a temporary file)")
    ap.add_argument("--min-recall", type=float, default=0.99)
    ap.add_argument("--min-kept", type=float, default=0.99)
    ap.add_argument("--report-only", default="street-address",
                    help="comma-separated kinds reported but left out of the gate "
                         "(default: street-address, which no built-in rule claims to find)")
    ap.add_argument("--examples", type=int, default=10, help="example misses per category")
    a = ap.parse_args()
    report_only = {k for k in a.report_only.split(",") if k}

    with open(a.events, "rb") as f:
        inputs = f.read().split(b"\n")
    if inputs and inputs[-1] == b"":
        inputs.pop()
    labels = [json.loads(l) for l in open(a.labels, encoding="utf-8") if l.strip()]

    tmp = None
    out_path = a.sanitized
    if not out_path:
        tmp = tempfile.NamedTemporaryFile(prefix="bulwark-corpus-", suffix=".ndjson", delete=False)
        tmp.close()
        out_path = tmp.name
    cmd = [a.bulwark, "scan"] + (["-c", a.config] if a.config else []) + ["--in", a.events, "--out", out_path]
    try:
        try:
            run = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        except OSError as e:
            print("score: cannot run %s: %s" % (a.bulwark, e), file=sys.stderr)
            return 2
        if run.returncode != 0:
            print("score: `%s` exited %d\n%s" % (" ".join(cmd), run.returncode, run.stderr), file=sys.stderr)
            return 2
        print(run.stderr.strip())
        with open(out_path, "rb") as f:
            raw_out = f.read().split(b"\n")
    finally:
        if tmp:
            os.unlink(tmp.name)
    if raw_out and raw_out[-1] == b"":
        raw_out.pop()
    if len(raw_out) != len(inputs):
        print("score: %d input lines but %d output lines" % (len(inputs), len(raw_out)), file=sys.stderr)
        return 2
    outputs = [json.loads(l) for l in raw_out]
    rejected = [i + 1 for i, d in enumerate(outputs)
                if d.get("_bulwark", {}).get("verdict") in ("rejected", "quarantined")]

    j = judge(inputs, outputs, labels, report_only)
    tot, hit, ktot, khit = j.tot, j.hit, j.ktot, j.khit
    kpartial, kundefused, kforeign, kreason, misses = j.kpartial, j.kundefused, j.kforeign, j.kreason, j.misses
    noise, noise_ex, clean_total, clean_same = j.noise, j.noise_ex, j.clean_total, j.clean_same

    # ---- report ----
    print("\ncorpus: %d events, %d labels, %d unlabelled events; rejected/quarantined lines: %d" % (
        len(inputs), len(labels), clean_total, len(rejected)))
    print("\n%-10s %13s %8s" % ("category", "caught/total", "recall"))
    gate_ok = True
    for cat in GATED:
        g_tot, g_hit = tot[cat] - tot["~" + cat], hit[cat] - hit["~" + cat]
        r = g_hit / g_tot if g_tot else 1.0
        gate_ok &= r >= a.min_recall
        extra = ""
        if tot["~" + cat]:
            extra = "   (gate, without %s: %d/%d %s)" % (",".join(sorted(report_only)), g_hit, g_tot, pct(g_hit, g_tot))
        print("%-10s %6d/%-6d %s%s" % (cat, hit[cat], tot[cat], pct(hit[cat], tot[cat]), extra))
    kept = hit["negative"] / tot["negative"] if tot["negative"] else 1.0
    gate_ok &= kept >= a.min_kept
    print("%-10s %6d/%-6d %s kept" % ("negative", hit["negative"], tot["negative"], pct(hit["negative"], tot["negative"])))
    print("unlabelled events with no finding (system-prompt policy aside): %d/%d %s" % (
        clean_same, clean_total, pct(clean_same, clean_total)))

    print("\nper kind (worst first)%s" % ("; * = report-only" if report_only else ""))
    print("  %-10s %-28s %9s %8s  %s" % ("category", "kind", "ok/total", "rate", "notes"))
    rows = sorted(ktot, key=lambda k: (k[0] == "negative", khit[k] / ktot[k], k))
    for key in rows:
        notes = []
        if kreason[key]:
            notes.append("misses: " + ", ".join("%s %d" % kv for kv in kreason[key].most_common()))
        if kpartial[key]:
            notes.append("partial leak %d" % kpartial[key])
        if kforeign[key]:
            notes.append("caught only by non-%s rules: %s" % (key[0], ", ".join(
                "%s %d" % kv for kv in kforeign[key].most_common(3))))
        if kundefused[key]:
            notes.append("flagged but not defused %d" % kundefused[key])
        print("  %-10s %-28s %4d/%-4d %s  %s" % (key[0], key[1] + ("*" if key[1] in report_only else ""),
                                                khit[key], ktot[key], pct(khit[key], ktot[key]), "; ".join(notes)))

    print("\nexample misses (up to %d per category, spread over kinds)" % a.examples)
    for cat in GATED + ("negative",):
        ms = misses[cat]
        if not ms:
            continue
        by_kind = collections.OrderedDict()
        for kind, text in sorted(ms, key=lambda m: -sum(1 for x in ms if x[0] == m[0])):
            by_kind.setdefault(kind, []).append(text)
        chosen = []
        while len(chosen) < a.examples and any(by_kind.values()):
            for kind, lst in by_kind.items():
                if lst and len(chosen) < a.examples:
                    chosen.append((kind, lst.pop(0)))
        print("  [%s] %d misses" % (cat, len(ms)))
        for kind, text in chosen:
            print("    %-26s %s" % (kind, text))

    if noise:
        print("\nfindings where nothing was planted (rule: count; examples of the input string)")
        for rule, n in noise.most_common():
            print("  %-32s %d" % (rule, n))
            for ex in noise_ex[rule]:
                print("      %s" % ex)

    if rejected:
        print("\nscore: %d events were rejected or quarantined (first: line %d); the corpus is broken"
              % (len(rejected), rejected[0]), file=sys.stderr)
        return 2
    print("\nresult: %s (min recall %.3f, min kept %.3f)" % ("PASS" if gate_ok else "FAIL", a.min_recall, a.min_kept))
    return 0 if gate_ok else 1


if __name__ == "__main__":
    sys.exit(main())
