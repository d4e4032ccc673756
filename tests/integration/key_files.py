#!/usr/bin/env python3
"""Key hygiene through the binary (issue 10.5).

`bulwark scan -c FILE --in /dev/null` loads every key the configuration names.
For each bad key (a key file others or the group can access, bad hex, a short
key, a missing or non-regular file), inline, in a file or in the environment,
and for each place a key goes (integrity.keys, integrity.audit_signing_key,
rules.hash_key): exit 2, a message naming the configuration path of the key,
and never the planted key material, neither on stderr nor on stdout.

usage: key_files.py --bulwark BIN
"""
import argparse
import os
import subprocess
import tempfile

CANARY = "c0ffee11c0ffee22c0ffee33c0ffee44c0ffee55c0ffee66"  # 24 bytes of hex
CANARY_SHORT = "c0ffee77c0ffee88"                           # 8 bytes: too short


def fail(msg):
    raise SystemExit(f"key_files.py: FAIL: {msg}")


def scan(bulwark, tmp, config_text, env=None, extra=()):
    config = os.path.join(tmp, "bulwark.yaml")
    with open(config, "w") as f:
        f.write(config_text)
    r = subprocess.run([bulwark, "scan", "-c", config, "--in", "/dev/null", "--out", "/dev/null",
                        *extra], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, **(env or {})))
    return r.returncode, r.stdout + r.stderr


def key_file(tmp, name, content, mode):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(content)
    os.chmod(path, mode)
    return path


def expect_refused(case, rc, out, *parts):
    if rc != 2:
        fail(f"{case}: exit {rc}, expected 2: {out[-1000:]}")
    for p in parts:
        if p not in out:
            fail(f"{case}: {p!r} missing from {out[-1000:]!r}")
    if "c0ffee" in out:
        fail(f"{case}: key material in the output: {out[-1000:]!r}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulwark", required=True)
    a = ap.parse_args()
    cases = 0
    with tempfile.TemporaryDirectory(prefix="bulwark-keys-") as tmp:
        k1 = "integrity:\n  keys:\n    k1: {file: k1.hex}\n"
        for mode, who in ((0o644, "other users"), (0o604, "other users"), (0o640, "its group"),
                          (0o660, "its group")):
            path = key_file(tmp, "k1.hex", CANARY + "\n", mode)
            rc, out = scan(a.bulwark, tmp, k1)
            expect_refused(f"key file mode {mode:o}", rc, out, "integrity.keys.k1", path,
                           f"mode {mode:04o}", who, f"chmod 600 {path}")
            cases += 1
        for mode in (0o600, 0o400):
            key_file(tmp, "k1.hex", CANARY + "\n", mode)
            rc, out = scan(a.bulwark, tmp, k1)
            if rc != 0 or "c0ffee" in out:
                fail(f"a private key file (mode {mode:o}): exit {rc} {out[-1000:]}")
            cases += 1

        key_file(tmp, "k1.hex", CANARY_SHORT + "\n", 0o600)
        rc, out = scan(a.bulwark, tmp, k1)
        expect_refused("a short key in a file", rc, out, "integrity.keys.k1", "at least 16 bytes")
        os.remove(os.path.join(tmp, "k1.hex"))
        rc, out = scan(a.bulwark, tmp, k1)
        expect_refused("a missing key file", rc, out, "integrity.keys.k1", "No such file")
        os.mkdir(os.path.join(tmp, "k1.hex"), 0o700)
        rc, out = scan(a.bulwark, tmp, k1)
        expect_refused("a directory as key file", rc, out, "integrity.keys.k1", "not a regular file")
        cases += 3

        for bad in (CANARY + "zz", CANARY + "0", CANARY_SHORT, "zz" + CANARY):
            rc, out = scan(a.bulwark, tmp, f'integrity:\n  keys:\n    k1: {{hex: "{bad}"}}\n')
            expect_refused(f"inline hex {bad[:4]}…{bad[-4:]}", rc, out, "integrity.keys.k1.hex")
            rc, out = scan(a.bulwark, tmp, "integrity:\n  keys:\n    k1: {env: BULWARK_KF_K1}\n",
                           env={"BULWARK_KF_K1": bad})
            expect_refused(f"env {bad[:4]}…{bad[-4:]}", rc, out, "integrity.keys.k1",
                           "env BULWARK_KF_K1")
            cases += 2
        rc, out = scan(a.bulwark, tmp, f"integrity:\n  keys:\n    k1: {CANARY}\n")
        expect_refused("a key where its source belongs", rc, out, "integrity.keys.k1")
        cases += 1

        pem = key_file(tmp, "audit.pem", f"-----BEGIN PRIVATE KEY-----\n{CANARY}\n", 0o644)
        rc, out = scan(a.bulwark, tmp, "integrity:\n  keys: {k1: {env: BULWARK_KF_K1}}\n"
                       "  audit_signing_key: {file: audit.pem}\n",
                       env={"BULWARK_KF_K1": CANARY}, extra=("--audit", os.path.join(tmp, "a")))
        expect_refused("an exposed audit signing key", rc, out, "integrity.audit_signing_key",
                       f"chmod 600 {pem}")
        hk = key_file(tmp, "hash.key", CANARY, 0o644)
        rc, out = scan(a.bulwark, tmp, "rules:\n  action: hash\n  hash_key: {file: hash.key}\n")
        expect_refused("an exposed hash key", rc, out, "rules.hash_key", f"chmod 600 {hk}")
        cases += 2
    print(f"key_files.py: ok ({cases} cases, no key material in any message)")


if __name__ == "__main__":
    main()
