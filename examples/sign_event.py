#!/usr/bin/env python3
"""Sign telemetry for bulwark (SPEC section 4) with the standard library only.

    sign_event.py --kid k1 --key-hex HEX [--header] < events.ndjson

Reads one JSON object per line and writes it signed: in-body form by default
(`"sig"` appended as the last member), or with --header one line
`<bw-sig header value><TAB><unchanged event>` per event for Kafka producers.
The key may also come from the environment variable BULWARK_SIGNING_KEY.

In a model server, serialise each event once, sign those exact bytes and send
them unchanged: the MAC covers bytes, not parsed JSON.
"""
import argparse
import hashlib
import hmac
import itertools
import os
import sys
import time


def sign_body(event: bytes, kid: str, key: bytes) -> bytes:
    """Inserts ,"sig":{...} before the closing brace of a serialised object."""
    obj = event.strip()
    if not (obj.startswith(b"{") and obj.endswith(b"}")) or not obj[1:-1].strip():
        raise ValueError("not a non-empty JSON object")
    # The MAC covers the bytes up to the inserted comma, plus "}": obj itself.
    mac = hmac.new(key, obj, hashlib.sha256).hexdigest()
    return obj[:-1] + b',"sig":{"kid":"' + kid.encode() + b'","mac":"' + mac.encode() + b'"}}'


def header_value(value: bytes, kid: str, key: bytes) -> str:
    """The Kafka header `bw-sig` for a record whose value is `value`."""
    return kid + ":" + hmac.new(key, value, hashlib.sha256).hexdigest()


class Sequence:
    """seq 1, 2, 3... under an epoch that is new at every process start."""

    def __init__(self, source: str):
        self.source = source
        self.epoch = "%d-%s" % (time.time(), os.urandom(3).hex())
        self._next = itertools.count(1)

    def stamp(self, event: dict) -> dict:
        return {**event, "source": self.source, "seq": next(self._next), "epoch": self.epoch}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kid", required=True)
    p.add_argument("--key-hex", default=os.environ.get("BULWARK_SIGNING_KEY"))
    p.add_argument("--header", action="store_true", help="emit header form")
    args = p.parse_args()
    if not args.key_hex:
        p.error("no key: --key-hex or BULWARK_SIGNING_KEY")
    key = bytes.fromhex(args.key_hex)
    out = sys.stdout.buffer
    for line in sys.stdin.buffer:
        line = line.rstrip(b"\r\n")
        if not line.strip():
            continue
        if args.header:
            out.write(header_value(line, args.kid, key).encode() + b"\t" + line + b"\n")
        else:
            out.write(sign_body(line, args.kid, key) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
