#!/usr/bin/env python3
"""The docker-compose stack's files (issue 8.4), checked without Docker.

Two parts, one ctest each (compose.cmake):

`file`: `docker-compose -f docker-compose.yml config -q` accepts the file
(Debian's docker-compose 1.29; exits SKIP when it is not installed); every
host path the services mount exists; bulwark and the fleet get the same
signing key, and `bulwark scan` loads configs/compose.yaml with it (the keys
it names come from the environment compose sets).

`configs`: every bulwark config under configs/ (configs/*.yaml) loads with
`bulwark rules check -c FILE` (every section parsed and validated, the rules
compiled and their examples run; key files, drift baselines and brokers are
not touched); none of the shipped configs holds an inline `hex:` key;
`promtool check config` accepts configs/prometheus.yml (and the rule file it
names), `amtool check-config` configs/alertmanager.yml when amtool exists;
what the Dockerfile copies exists and is not left out by .dockerignore, and
its runtime stage installs the package of every library bulwark links;
the Grafana dashboard parses, uses the provisioned data source, and every
metric name in its queries and in the Prometheus rules appears in a real
exposition: `bulwark run` on the embedded cluster with
`http.listen: 127.0.0.1:0`, /metrics fetched once it answers.

usage: compose.py file --source DIR --bulwark BIN [--docker-compose EXE]
       compose.py configs --source DIR --bulwark BIN --promtool EXE [--amtool EXE]
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

SKIP = 77  # compose.cmake's SKIP_RETURN_CODE
# Configs that must stay: the demo default, the stack's, the production example.
EXPECTED_CONFIGS = {"demo.yaml", "compose.yaml", "production.example.yaml"}
METRIC = re.compile(r"\bbulwark_[a-z0-9_]+\b")


def fail(msg):
    raise SystemExit(f"compose.py: FAIL: {msg}")


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


# ---------------------------------------------------------------------------
# part `file`

def check_compose_file(a):
    exe = a.docker_compose or shutil.which("docker-compose")
    if not exe or not os.access(exe, os.X_OK):
        print("compose.py: docker-compose is not installed (scripts/install-deps installs it): "
              "skipped")
        return SKIP
    compose = os.path.join(a.source, "docker-compose.yml")
    env = {k: v for k, v in os.environ.items() if k != "BULWARK_K1"}
    r = run([exe, "-f", compose, "config", "-q"], cwd=a.source, env=env)
    if r.returncode != 0 or r.stderr.strip():
        fail(f"docker-compose config -q: rc={r.returncode} {r.stdout[-2000:]} {r.stderr[-2000:]}")
    r = run([exe, "-f", compose, "config"], cwd=a.source, env=env)
    if r.returncode != 0:
        fail(f"docker-compose config: rc={r.returncode} {r.stderr[-2000:]}")
    resolved = yaml.safe_load(r.stdout)
    services = resolved["services"]
    wanted = {"kafka", "kafka-init", "bulwark", "loadgen", "prometheus", "alertmanager", "grafana"}
    if not wanted <= set(services):
        fail(f"services: {sorted(services)}, missing {sorted(wanted - set(services))}")

    mounts = 0
    for name, svc in services.items():
        image = svc.get("image", "")
        if "build" not in svc and (":" not in image or image.endswith(":latest")):
            fail(f"service {name}: image {image!r} is not pinned to a version")
        for vol in svc.get("volumes", []):
            source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
            if source.startswith("/"):
                mounts += 1
                if not os.path.exists(source):
                    fail(f"service {name} mounts {source}, which does not exist")
    if mounts < 5:
        fail(f"only {mounts} host paths mounted: the configs are not mounted")

    key = services["bulwark"]["environment"]["BULWARK_K1"]
    fleet = services["loadgen"]["command"]
    if "--key" not in fleet or fleet[fleet.index("--key") + 1] != key:
        fail("the fleet does not sign with the key bulwark verifies with (BULWARK_K1)")
    if "kafka:9092" not in fleet or services["bulwark"]["command"][-1] != "/etc/bulwark/compose.yaml":
        fail(f"loadgen or bulwark commands: {fleet} {services['bulwark']['command']}")
    config = os.path.join(a.source, "configs", "compose.yaml")
    r = run([a.bulwark, "scan", "-c", config, "--in", "/dev/null", "--out", "/dev/null"],
            env=dict(env, BULWARK_K1=key))
    if r.returncode != 0:
        fail(f"bulwark scan with configs/compose.yaml and compose's BULWARK_K1: "
             f"rc={r.returncode} {r.stderr[-2000:]}")
    if key in r.stdout + r.stderr:
        fail("bulwark printed the signing key")
    r = run([a.bulwark, "scan", "-c", config, "--in", "/dev/null", "--out", "/dev/null"], env=env)
    if r.returncode != 2 or "integrity.keys.k1: env BULWARK_K1: not set" not in r.stderr:
        fail(f"without BULWARK_K1: rc={r.returncode} {r.stderr[-2000:]}")
    print(f"compose.py: docker-compose config clean; {len(services)} services, {mounts} mounts; "
          "the stack's key loads")
    return 0


# ---------------------------------------------------------------------------
# part `configs`

def check_bulwark_configs(a):
    configs = sorted(glob.glob(os.path.join(a.source, "configs", "*.yaml")))
    names = {os.path.basename(c) for c in configs}
    if not EXPECTED_CONFIGS <= names:
        fail(f"configs/ lacks {sorted(EXPECTED_CONFIGS - names)}")
    for c in configs:
        r = run([a.bulwark, "rules", "check", "-c", c])
        if r.returncode != 0:
            fail(f"bulwark rules check -c {c}: rc={r.returncode} {r.stdout[-1500:]} "
                 f"{r.stderr[-1500:]}")
        if not re.search(r"\d+ rules compiled, \d+ examples run, 0 failed", r.stdout):
            fail(f"bulwark rules check -c {c}: {r.stdout[-500:]}")
    for name in ("compose.yaml", "production.example.yaml"):
        with open(os.path.join(a.source, "configs", name)) as f:
            for n, line in enumerate(f, 1):
                if re.search(r"\bhex\s*:", line.split("#", 1)[0]):
                    fail(f"configs/{name}:{n}: an inline hex key (use file or env)")
    return len(configs)


def check_tools(a):
    prom = os.path.join(a.source, "configs", "prometheus.yml")
    if not os.access(a.promtool, os.X_OK):
        fail(f"{a.promtool} is missing: scripts/install-deps installs Debian's prometheus")
    r = run([a.promtool, "check", "config", prom])
    if r.returncode != 0:
        fail(f"promtool check config: {r.stdout[-2000:]} {r.stderr[-2000:]}")
    checked = ["promtool"]
    amtool = a.amtool or shutil.which("amtool")
    if amtool and os.access(amtool, os.X_OK):
        r = run([amtool, "check-config", os.path.join(a.source, "configs", "alertmanager.yml")])
        if r.returncode != 0:
            fail(f"amtool check-config: {r.stdout[-2000:]} {r.stderr[-2000:]}")
        checked.append("amtool")
    return checked


def check_dockerfile(a):
    """What the Dockerfile copies exists and is in the build context; the
    runtime stage installs the package of every library the binaries link."""
    with open(os.path.join(a.source, "Dockerfile")) as f:
        text = f.read().replace("\\\n", " ")
    with open(os.path.join(a.source, ".dockerignore")) as f:
        ignored = [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]
    stages = re.split(r"^FROM ", text, flags=re.M)[1:]
    if len(stages) != 2 or not all(re.match(r"debian:12[.\d]*(-slim)?\s", st) for st in stages):
        fail(f"expected a debian:12 build stage and a debian:12 runtime stage: {len(stages)} stages")
    if "scripts/install-deps" not in stages[0]:
        fail("the build stage does not run scripts/install-deps")
    copies = 0
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] != "COPY" or any(w.startswith("--from") for w in words):
            continue
        for src in words[1:-1]:
            copies += 1
            if src != "." and not os.path.exists(os.path.join(a.source, src)):
                fail(f"Dockerfile copies {src}, which does not exist")
            if any(src == i or src.startswith(i + "/") for i in ignored):
                fail(f"Dockerfile copies {src}, which .dockerignore leaves out")
    runtime = set(re.findall(r"\b(lib[a-z0-9.+-]+)", stages[1].split("apt-get install", 1)[1]
                             .split("&&", 1)[0]))
    base = {"libc6", "libstdc++6", "libgcc-s1"}  # in debian:12-slim
    for exe in (a.bulwark, os.path.join(os.path.dirname(os.path.dirname(a.bulwark)), "loadgen",
                                        "bulwark-loadgen")):
        if not os.path.exists(exe):
            continue
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                            run(["readelf", "-d", exe]).stdout)
        resolved = dict(re.findall(r"^\s*(\S+) => (/\S+)", run(["ldd", exe]).stdout, re.M))
        for soname in needed:
            path = resolved.get(soname)
            if path is None:
                fail(f"{os.path.basename(exe)}: ldd does not resolve {soname}")
            # Debian's merged /usr: dpkg knows a library under one of its two paths.
            owners = set()
            for candidate in (path, os.path.realpath(path), "/usr" + path):
                r = run(["dpkg", "-S", candidate])
                if r.returncode == 0:
                    owners = {line.split(":", 1)[0] for line in r.stdout.splitlines()}
                    break
            if not owners:
                fail(f"no Debian package owns {path}")
            if not owners & (runtime | base):
                where = ", ".join(sorted(owners))
                fail(f"{os.path.basename(exe)} links {soname} (package {where}), which the "
                     f"Dockerfile's runtime stage does not install: {sorted(runtime)}")
    return copies


def dashboard_queries(a):
    """Every PromQL expression of the dashboard and the Prometheus rules."""
    grafana = os.path.join(a.source, "configs", "grafana")
    with open(os.path.join(grafana, "provisioning", "datasources", "prometheus.yaml")) as f:
        uids = {d["uid"] for d in yaml.safe_load(f)["datasources"]}
    with open(os.path.join(grafana, "provisioning", "dashboards", "bulwark.yaml")) as f:
        provider_paths = {p["options"]["path"] for p in yaml.safe_load(f)["providers"]}
    with open(os.path.join(a.source, "docker-compose.yml")) as f:
        grafana_mounts = yaml.safe_load(f)["services"]["grafana"]["volumes"]
    if not any(v.startswith("./configs/grafana/dashboards:") and v.split(":")[1] in provider_paths
               for v in grafana_mounts):
        fail(f"the dashboard provider reads {provider_paths}, which compose does not mount")

    with open(os.path.join(grafana, "dashboards", "bulwark.json")) as f:
        dash = json.load(f)
    exprs, ids = [], set()
    panels = [p for p in dash["panels"] if p.get("type") != "row"]
    if len(panels) < 10:
        fail(f"only {len(panels)} panels")
    for p in panels:
        if p["id"] in ids:
            fail(f"panel id {p['id']} twice")
        ids.add(p["id"])
        g = p["gridPos"]
        if g["x"] + g["w"] > 24:
            fail(f"panel {p['title']!r} is wider than the grid")
        if not p.get("targets"):
            fail(f"panel {p['title']!r} has no query")
        for t in p["targets"]:
            if t["datasource"]["uid"] not in uids or p["datasource"]["uid"] not in uids:
                fail(f"panel {p['title']!r} uses a data source that is not provisioned")
            exprs.append((f"panel {p['title']!r}", t["expr"]))

    with open(os.path.join(a.source, "configs", "prometheus-rules.yml")) as f:
        for group in yaml.safe_load(f)["groups"]:
            for rule in group["rules"]:
                exprs.append((f"rule {rule['alert']}", rule["expr"]))
    return exprs


def exposition(a, tmp):
    """/metrics of `bulwark run` on the embedded cluster, with keys and drift features."""
    config = os.path.join(tmp, "bulwark.yaml")
    with open(config, "w") as f:
        f.write("""workers: 1
kafka:
  brokers: embedded
  embedded_partitions: 2
  properties:
    log_level: "3"
integrity:
  keys: {k1: {env: BULWARK_COMPOSE_TEST_KEY}}
drift:
  features: [{path: /score, type: numeric}]
http:
  listen: 127.0.0.1:0
""")
    env = dict(os.environ, BULWARK_COMPOSE_TEST_KEY="00112233445566778899aabbccddeeff")
    log_path = os.path.join(tmp, "run.log")
    with open(log_path, "w") as log:
        proc = subprocess.Popen([a.bulwark, "run", "-c", config], stdout=log,
                                stderr=subprocess.STDOUT, env=env)
    try:
        until = time.monotonic() + 90
        port, body = None, None
        while time.monotonic() < until and body is None:
            if proc.poll() is not None:
                with open(log_path) as f:
                    fail(f"bulwark run exited {proc.returncode}: {f.read()[-2000:]}")
            with open(log_path, errors="replace") as f:
                m = re.search(r"http listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                port = int(m.group(1))
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                        body = r.read().decode()
                except (urllib.error.URLError, OSError):
                    pass  # 503 while the cluster starts
            if body is None:
                time.sleep(0.2)
        if body is None:
            fail("no /metrics from bulwark run within 90 s")
        return body
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def check_configs(a):
    n = check_bulwark_configs(a)
    tools = check_tools(a)
    copies = check_dockerfile(a)
    exprs = dashboard_queries(a)
    with tempfile.TemporaryDirectory(prefix="bulwark-compose-") as tmp:
        body = exposition(a, tmp)
    names = set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, 1)[0])
    if "bulwark_records_received_total" not in names:
        fail(f"the exposition looks wrong: {body[:500]!r}")
    used = set()
    for where, expr in exprs:
        found = METRIC.findall(expr)
        if not found and "up{" not in expr:
            fail(f"{where}: no bulwark metric in {expr!r}")
        for name in found:
            if name not in names:
                fail(f"{where}: {name} is not in bulwark's exposition")
            used.add(name)
    print(f"compose.py: {n} bulwark configs load; {' and '.join(tools)} clean; Dockerfile "
          f"copies {copies} paths that exist; "
          f"{len(exprs)} queries over {len(used)} metric names, all exposed")
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("part", choices=["file", "configs"])
    ap.add_argument("--source", required=True)
    ap.add_argument("--bulwark", required=True)
    ap.add_argument("--docker-compose")
    ap.add_argument("--promtool")
    ap.add_argument("--amtool")
    a = ap.parse_args()
    a.source = os.path.abspath(a.source)
    if a.part == "file":
        rc = check_compose_file(a)
    else:
        if not a.promtool:
            fail("--promtool is required")
        rc = check_configs(a)
    if rc == 0:
        print("compose.py: ok")
    sys.exit(rc)


if __name__ == "__main__":
    main()
