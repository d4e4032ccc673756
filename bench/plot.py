#!/usr/bin/env python3
"""Draws bench/run-all's plots (PNG) from the JSON files of one results directory.

    bench/plot.py bench/results/<date>

  throughput_vs_workers.png   e2e run and relay, and whole-process scan (pass-through, all
                              packs), events/s against worker count; bars are min..max
  latency_cdf.png             e2e latency distribution of every mode and worker count
  peers_events_per_cpu.png    bulwark and its peers, events per CPU-second (log scale)
  peers_recall.png            recall per category and hard negatives kept, per tool
  memory_rss.png              peak RSS per sources/keys configuration

A plot whose data is missing (its part was not run) is not drawn. Needs matplotlib
(Debian: python3-matplotlib).
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402


def load(d, name):
    try:
        with open(os.path.join(d, name + ".json")) as f:
            return json.load(f)
    except OSError:
        return None


def err(stats, scale=1.0):
    """Median and asymmetric (min, max) error bars, scaled."""
    m = stats["median"] * scale
    return m, (m - stats["min"] * scale, stats["max"] * scale - m)


def save(fig, d, name):
    path = os.path.join(d, name)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(path)


def throughput(d, e2e, scan):
    series = {}
    if e2e:
        for c in e2e["configs"]:
            if "events_per_s" in c:
                series.setdefault("e2e %s" % c["mode"], []).append((c["workers"], c["events_per_s"]))
    if scan:
        for c in scan["cases"]:
            if c["rules"] in ("pass-through", "all packs"):
                series.setdefault("scan %s" % c["rules"], []).append((c["workers"], c["events_per_s"]))
    if not series:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, pts in sorted(series.items()):
        pts.sort(key=lambda p: p[0])
        xs = [p[0] for p in pts]
        ms, lo, hi = [], [], []
        for _, s in pts:
            m, (l, h) = err(s, 1e-3)
            ms.append(m)
            lo.append(l)
            hi.append(h)
        ax.errorbar(xs, ms, yerr=[lo, hi], marker="o", capsize=4, label=name)
    ax.set_xlabel("workers")
    ax.set_ylabel("thousand events/s (median, min..max)")
    ax.set_xticks(sorted({x for pts in series.values() for x, _ in pts}))
    ax.set_yscale("log")
    ax.set_title("Throughput vs workers")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    save(fig, d, "throughput_vs_workers.png")


def latency(d, e2e):
    if not e2e or not any(c.get("latency_quantiles_ms") for c in e2e["configs"]):
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in e2e["configs"]:
        q = c.get("latency_quantiles_ms")
        if not q:
            continue
        ys = [i / (len(q) - 1) for i in range(len(q))]
        ax.plot(q, ys, label="%s, %d worker%s, at %.0f events/s" % (
            c["mode"], c["workers"], "" if c["workers"] == 1 else "s", c["latency_rate"]))
    ax.axvline(20, color="grey", linestyle="--", linewidth=1)
    ax.text(20, 0.02, " 20 ms (p99 target)", color="grey", fontsize=8)
    ax.set_xscale("log")
    fmt = matplotlib.ticker.FuncFormatter(lambda v, _: "%g" % v)
    ax.xaxis.set_major_formatter(fmt)
    ax.xaxis.set_minor_formatter(fmt)
    ax.tick_params(axis="x", which="minor", labelsize=7)
    ax.set_xlabel("latency, ms (produce to sanitised topic)")
    ax.set_ylabel("fraction of events")
    ax.set_title("End-to-end latency CDF (embedded cluster)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    save(fig, d, "latency_cdf.png")


def peers(d, p):
    if not p:
        return
    tools = p["tools"]
    names = [t["name"] for t in tools]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(tools) + 1.5))
    ms, lo, hi = [], [], []
    for t in tools:
        m, (l, h) = err(t["events_per_cpu_s"], 1e-3)
        ms.append(m)
        lo.append(l)
        hi.append(h)
    colors = ["tab:blue" if n.startswith("bulwark") else "tab:grey" for n in names]
    ax.barh(range(len(tools)), ms, xerr=[lo, hi], color=colors, capsize=3)
    ax.set_yticks(range(len(tools)))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("thousand events per CPU-second (median, min..max)")
    ax.set_title("bulwark vs peers: cost on the labelled corpus")
    ax.grid(True, axis="x", which="both", alpha=0.3)
    save(fig, d, "peers_events_per_cpu.png")

    scored = [t for t in tools if "recall" in t]
    if not scored:
        return
    cats = [("secret", "secret"), ("pii", "pii"), ("injection", "injection"),
            ("negatives_kept", "negatives kept")]
    fig, ax = plt.subplots(figsize=(11, 4.5))
    width = 0.8 / len(scored)
    for i, t in enumerate(scored):
        vals = [100 * (t["recall"][c] if c in t["recall"] else t[c]) for c, _ in cats]
        ax.bar([j + i * width for j in range(len(cats))], vals, width, label=t["name"])
    ax.set_xticks([j + width * (len(scored) - 1) / 2 for j in range(len(cats))])
    ax.set_xticklabels([label for _, label in cats])
    ax.set_ylabel("% caught (negatives: % kept)")
    ax.set_ylim(0, 105)
    ax.set_title("bulwark vs peers: recall per category")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, d, "peers_recall.png")


def memory(d, m):
    if not m:
        return
    cs = m["configs"]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ms, lo, hi = [], [], []
    for c in cs:
        v, (l, h) = err(c["peak_rss_bytes"], 1 / 2**20)
        ms.append(v)
        lo.append(l)
        hi.append(h)
    ax.bar(range(len(cs)), ms, yerr=[lo, hi], capsize=4, color="tab:blue")
    ax.set_xticks(range(len(cs)))
    ax.set_xticklabels(["%s\n%d sources\n%d keys" % (c["name"], c["sources"], c["keys"]) for c in cs])
    ax.set_ylabel("peak RSS, MiB (median, min..max)")
    ax.set_title("bulwark scan peak RSS: %.0f B/source, %.0f B/drift key"
                 % (m["bytes_per_source"], m["bytes_per_key"]))
    ax.grid(True, axis="y", alpha=0.3)
    save(fig, d, "memory_rss.png")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: plot.py RESULTS_DIR")
    d = sys.argv[1]
    throughput(d, load(d, "e2e"), load(d, "scan"))
    latency(d, load(d, "e2e"))
    peers(d, load(d, "peers"))
    memory(d, load(d, "memory"))


if __name__ == "__main__":
    main()
