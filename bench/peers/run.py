#!/usr/bin/env python3
"""bulwark and its peers side by side on one labelled corpus: what each catches, and its cost.

    bench/peers/run.py --build build/peers --events 50000 --runs 3

Generates one corpus with tests/corpus/gen_corpus.py (fixed seed, ~500-byte events, planted
secrets, PII, injections and hard negatives, one label per planted value), then runs every
tool over it R times, interleaved (run 1 of every tool, then run 2, ...), each as a whole
process from start-up to exit reading the NDJSON file and writing one:

  bulwark all packs             bulwark scan, built-in packs, 1 worker
  bulwark all packs + prompt    the same with one registered system prompt (rules.system_prompts)
  parse_only                    simdjson On-Demand visiting every string: the limit, no output
  python re                     bench/peers/python_re.py, the homegrown baseline
  redact-pii                    npm redact-pii, defaults, every string value (redact_pii.js)
  redact-pii --narrow           the same without its names, digits, zipcode and url built-ins
  secretlint                    npm secretlint, recommended preset (secretlint.mjs)
  syslog-ng                     syslog-ng-core, 17 PCRE subst rules (syslog-ng.conf)

Timing: user+sys CPU of the whole process tree (getrusage(RUSAGE_CHILDREN) around each run),
start-up included; medians (min..max) over the runs. Before timing, bulwark's compiled-rule
cache is warmed (as bench/scan_bench.py does). Every run's output must have one line per
input line and be byte-identical to the tool's first run, or the script stops.

Judging: the same judge as tests/corpus/score.py (score.judge). bulwark and python_re
annotate findings per JSON pointer and are judged as score.py judges bulwark. Tools that only
replace text (redact-pii, secretlint, syslog-ng) are judged text-only: a secret or PII value
is caught when it no longer appears at its pointer, an injection when its payload no longer
appears verbatim there, a negative kept when it is still there; an output line that is not
JSON counts as a miss for every label on it. Recall is over all labels of a category
(street-address included, which the gate of score.py leaves out).

Peers that are not installed (bench/peers/install-peers) are skipped and named as such.
Prints a Markdown report on stdout; per-kind recall of every tool goes to --details, and every
tool's samples, medians, ranges and recall to --json.
"""
import argparse
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "corpus"))
import score  # noqa: E402  (the corpus judge)

CATS = ("secret", "pii", "injection")
SYSTEM_PROMPT = ("You are a helpful customer support assistant for an online shop. Answer politely "
                 "and concisely, never reveal internal tooling.")


class Tool:
    def __init__(self, name, argv, out=None, stdin=False, stdout=False, env=None, judge=None, note=""):
        self.name, self.argv, self.out = name, argv, out
        self.stdin, self.stdout, self.env = stdin, stdout, env
        self.judge = judge            # None (not scored), "findings" or "text"
        self.note = note
        self.samples = []             # (wall s, cpu s)
        self.digest = None

    def run(self, corpus):
        if self.out and os.path.exists(self.out):
            os.remove(self.out)       # syslog-ng's file() destination appends
        fin = open(corpus, "rb") if self.stdin else subprocess.DEVNULL
        fout = open(self.out, "wb") if self.stdout else subprocess.DEVNULL
        env = dict(os.environ, **(self.env or {}))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run(self.argv, stdin=fin, stdout=fout, stderr=subprocess.PIPE, env=env)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        for f in (fin, fout):
            if f is not subprocess.DEVNULL:
                f.close()
        if proc.returncode != 0:
            sys.exit("%s failed (exit %d): %s\n%s" % (self.name, proc.returncode, " ".join(self.argv),
                                                      proc.stderr.decode(errors="replace")[-2000:]))
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.samples.append((wall, cpu))
        if self.out:
            h = hashlib.sha256()
            with open(self.out, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            if self.digest is None:
                self.digest = h.hexdigest()
            elif self.digest != h.hexdigest():
                sys.exit("%s: output differs between runs" % self.name)


def read_outputs(path, n):
    with open(path, "rb") as f:
        raw = f.read().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    if len(raw) != n:
        sys.exit("%s: %d input lines but %d output lines" % (path, n, len(raw)))
    docs = []
    for line in raw:
        try:
            docs.append(json.loads(line))
        except ValueError:
            docs.append(None)
    return docs


def med(vals):
    return statistics.median(vals)


def fmt_k(v):
    return "%.1fk" % (v / 1000.0) if v < 1e6 else "%.2fM" % (v / 1e6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="bulwark build directory")
    ap.add_argument("--events", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--work", help="keep corpus and outputs here (default: a temporary directory)")
    ap.add_argument("--details", help="write per-kind recall of every tool as JSON here")
    ap.add_argument("--only", help="comma-separated tool names to run (bulwark always runs)")
    ap.add_argument("--json", help="write every tool's samples, medians and recall as JSON here")
    a = ap.parse_args()

    build = os.path.abspath(a.build)
    bulwark = os.path.join(build, "src/app/bulwark")
    parse_only = os.path.join(build, "bench/parse_only")
    for exe in (bulwark, parse_only):
        if not os.access(exe, os.X_OK):
            sys.exit("missing %s: build the bulwark and parse_only targets first" % exe)
    work = a.work or tempfile.mkdtemp(prefix="bulwark-peers-")
    os.makedirs(work, exist_ok=True)
    corpus = os.path.join(work, "events.ndjson")
    labels_path = os.path.join(work, "labels.ndjson")
    subprocess.run([sys.executable, os.path.join(ROOT, "tests/corpus/gen_corpus.py"), "--seed", str(a.seed),
                    "--events", str(a.events), "--out", corpus, "--labels", labels_path], check=True,
                   stderr=subprocess.DEVNULL)
    size = os.path.getsize(corpus)

    cfg_all = os.path.join(work, "all.yaml")
    with open(cfg_all, "w") as f:
        f.write("workers: 1\n")
    cfg_prompt = os.path.join(work, "prompt.yaml")
    with open(cfg_prompt, "w") as f:
        f.write("workers: 1\nrules:\n  system_prompts:\n    - name: support-bot\n      text: %s\n"
                % json.dumps(SYSTEM_PROMPT))

    def out(name):
        return os.path.join(work, name + ".out.ndjson")

    node = shutil.which("node")
    syslog_ng = shutil.which("syslog-ng") or (os.path.exists("/usr/sbin/syslog-ng") and "/usr/sbin/syslog-ng")
    have_npm = os.path.isdir(os.path.join(HERE, "node_modules", "redact-pii")) and \
        os.path.isdir(os.path.join(HERE, "node_modules", "@secretlint", "core"))
    sng_dir = os.path.join(work, "syslog-ng")
    os.makedirs(sng_dir, exist_ok=True)

    tools = [
        Tool("bulwark all packs", [bulwark, "scan", "-c", cfg_all, "--in", corpus, "--out", out("bulwark")],
             out=out("bulwark"), judge="findings"),
        Tool("bulwark all packs + system prompt",
             [bulwark, "scan", "-c", cfg_prompt, "--in", corpus, "--out", out("bulwark-prompt")],
             out=out("bulwark-prompt"), judge="findings"),
        Tool("parse_only (simdjson, every string)", [parse_only, corpus]),
        Tool("python re", [sys.executable, os.path.join(HERE, "python_re.py")], out=out("python-re"),
             stdin=True, stdout=True, judge="findings"),
    ]
    skipped = []
    if node and have_npm:
        tools += [
            Tool("redact-pii", [node, os.path.join(HERE, "redact_pii.js"), corpus, out("redact-pii")],
                 out=out("redact-pii"), judge="text"),
            Tool("redact-pii --narrow",
                 [node, os.path.join(HERE, "redact_pii.js"), "--narrow", corpus, out("redact-pii-narrow")],
                 out=out("redact-pii-narrow"), judge="text"),
            Tool("secretlint", [node, os.path.join(HERE, "secretlint.mjs"), corpus, out("secretlint")],
                 out=out("secretlint"), judge="text"),
        ]
    else:
        skipped += ["redact-pii", "secretlint"]
    if syslog_ng:
        # a pipe, because syslog-ng's stdin() source cannot poll a regular file; cat is timed too
        tools.append(Tool("syslog-ng", ["sh", "-c", 'cat "$1" | exec "$2" -F -f "$3" -R "$4/persist" '
                                        '-p "$4/pid" -c "$4/ctl"', "sh", corpus, syslog_ng,
                                        os.path.join(HERE, "syslog-ng.conf"), sng_dir],
                          out=out("syslog-ng"), env={"PEERS_OUT": out("syslog-ng")}, judge="text"))
    else:
        skipped.append("syslog-ng")
    if a.only:
        keep = {n.strip() for n in a.only.split(",")}
        tools = [t for t in tools if t.name.startswith("bulwark") or t.name in keep or
                 t.name.split(" ")[0] in keep]

    # warm bulwark's compiled-rule cache so timed runs measure scanning, not the first compile
    for cfg in (cfg_all, cfg_prompt):
        subprocess.run([bulwark, "scan", "-c", cfg, "--in", "/dev/null", "--out", "/dev/null"],
                       check=True, stderr=subprocess.DEVNULL)
    for r in range(a.runs):
        for t in tools:
            t.run(corpus)
            print("run %d/%d %-40s cpu %.2f s" % (r + 1, a.runs, t.name, t.samples[-1][1]), file=sys.stderr)

    with open(corpus, "rb") as f:
        inputs = f.read().split(b"\n")
    if inputs and inputs[-1] == b"":
        inputs.pop()
    labels = [json.loads(l) for l in open(labels_path, encoding="utf-8") if l.strip()]
    judged = {}
    for t in tools:
        if t.judge:
            docs = read_outputs(t.out, len(inputs))
            judged[t.name] = score.judge(inputs, docs, labels, text_only=t.judge == "text")
            if t.name.startswith("bulwark all packs +"):
                judged[t.name + " (text-only judge)"] = score.judge(inputs, docs, labels, text_only=True)

    counts = {c: sum(1 for l in labels if l["category"] == c) for c in CATS + ("negative",)}
    print("corpus: gen_corpus.py --seed %d --events %d: %.1f MB (%.0f bytes/event); labels: %s; "
          "%d runs each, interleaved, medians (min..max)\n"
          % (a.seed, a.events, size / 1e6, size / a.events,
             ", ".join("%s %d" % kv for kv in counts.items()), a.runs))
    print("| tool | events per CPU-s | MB per CPU-s | wall MB/s | secret | pii | injection "
          "| negatives kept | clean events untouched | judged |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    per_cpu = {}
    doc = {"corpus": {"generator": "tests/corpus/gen_corpus.py --seed %d" % a.seed, "events": a.events,
                      "bytes": size, "labels": counts},
           "runs": a.runs, "tools": [], "skipped": skipped}

    def stats(vals):
        return {"median": med(vals), "min": min(vals), "max": max(vals), "samples": vals}

    for t in tools:
        epc = [a.events / c for _, c in t.samples]
        mbc = [size / c / 1e6 for _, c in t.samples]
        mbw = [size / w / 1e6 for w, _ in t.samples]
        per_cpu[t.name] = med(epc)
        entry = {"name": t.name, "judged": t.judge, "events_per_cpu_s": stats(epc),
                 "mb_per_cpu_s": stats(mbc), "wall_mb_per_s": stats(mbw)}
        if judged.get(t.name):
            j = judged[t.name]
            entry["recall"] = {c: j.recall(c) for c in CATS}
            entry["negatives_kept"] = j.recall("negative")
            entry["clean_untouched"] = j.clean_same / j.clean_total if j.clean_total else 1.0
            entry["lines_not_json"] = j.broken
        doc["tools"].append(entry)
        cells = ["%s (%s..%s)" % (fmt_k(med(epc)), fmt_k(min(epc)), fmt_k(max(epc))),
                 "%.1f" % med(mbc), "%.1f" % med(mbw)]
        j = judged.get(t.name)
        if j:
            cells += ["%.1f%%" % (100 * j.recall(c)) for c in CATS + ("negative",)]
            cells.append("%.1f%%" % (100.0 * j.clean_same / j.clean_total if j.clean_total else 100.0))
            cells.append("findings" if t.judge == "findings" else "text only")
            if j.broken:
                cells[-1] += ", %d lines not JSON" % j.broken
        else:
            cells += ["-"] * 5 + ["not scored"]
        print("| %s | %s |" % (t.name, " | ".join(cells)))
    ref = "bulwark all packs + system prompt"
    print("\nevents per CPU-second, %s / tool (same run):" % ref)
    for t in tools:
        if t.name != ref:
            print("  %-40s %.2f×" % (t.name, per_cpu[ref] / per_cpu[t.name]))
    tj = judged.get(ref + " (text-only judge)")
    if tj:
        print("\n%s under the text-only judge: %s" % (ref, ", ".join(
            "%s %.1f%%" % (c, 100 * tj.recall(c)) for c in CATS + ("negative",))))
    if skipped:
        print("\nnot installed, skipped (bench/peers/install-peers): %s" % ", ".join(skipped))

    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    if a.details:
        det = {}
        for name, j in judged.items():
            det[name] = {"%s/%s" % k: [j.khit[k], j.ktot[k]] for k in sorted(j.ktot)}
        with open(a.details, "w") as f:
            json.dump(det, f, indent=1, sort_keys=True)
    if not a.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
