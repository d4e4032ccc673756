#!/usr/bin/env python3
"""The homegrown baseline: what a team writes with Python's `re` before adopting a tool.

Reads NDJSON, applies a list of common public regexes to every string value (json.loads,
walk, re.sub, json.dumps) and writes one line per input line. A matched value becomes
`[REDACTED:<rule>]`; an event with matches gains a bulwark-style
`"_bulwark":{"v":1,"verdict":"redacted","findings":[{"rule","category","path","count"}]}`
so the same judge as bulwark's (tests/corpus/score.py) can score it by path. A line that
is not a JSON object is written back unchanged.

    python_re.py < events.ndjson > out.ndjson

The patterns are the usual ones from README snippets, gitleaks-style configs and Stack
Overflow answers, written once and compiled once, applied in order; cards get a Luhn
check and IBANs none (what such code usually does). Nothing here is tuned to the corpus.
"""
import json
import re
import sys

# (rule, category, pattern, group to replace: 0 = whole match)
PATTERNS = [
    # --- secrets ---
    ("pem-private-key", "secret",
     r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", 0),
    ("aws-access-key-id", "secret", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b", 0),
    ("aws-secret-access-key", "secret",
     r"(?i)aws.{0,20}?(?:secret|key).{0,20}?['\"\s:=]+([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])", 1),
    ("github-token", "secret", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b", 0),
    ("github-fine-grained-pat", "secret", r"\bgithub_pat_[A-Za-z0-9_]{82}\b", 0),
    ("gitlab-pat", "secret", r"\bglpat-[A-Za-z0-9_\-]{20}\b", 0),
    ("slack-token", "secret", r"\bxox[abposr]-[A-Za-z0-9-]{10,}", 0),
    ("slack-webhook", "secret", r"https://hooks\.slack\.com/services/T[A-Z0-9]+/B[A-Z0-9]+/[A-Za-z0-9]+", 0),
    ("stripe-key", "secret", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,}\b", 0),
    ("openai-key", "secret", r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,}", 0),
    ("google-api-key", "secret", r"\bAIza[0-9A-Za-z\-_]{35}", 0),
    ("sendgrid-key", "secret", r"\bSG\.[A-Za-z0-9_\-]{22}\.[A-Za-z0-9_\-]{43}\b", 0),
    ("npm-token", "secret", r"\bnpm_[A-Za-z0-9]{36}\b", 0),
    ("huggingface-token", "secret", r"\bhf_[A-Za-z0-9]{34,}\b", 0),
    ("jwt", "secret", r"\beyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+", 0),
    ("connection-string-password", "secret", r"\b[a-z][a-z0-9+.-]*://[^:/\s@]+:([^@\s/]+)@", 1),
    ("authorization-header", "secret", r"(?i)\b(?:bearer|basic)\s+([A-Za-z0-9\-._~+/]{8,}=*)", 1),
    ("password-assignment", "secret",
     r"(?i)\b(?:password|passwd|pwd|pass|secret|secret_key|api_key|apikey|token|access_token)"
     r"[\"']?\s*[:=]\s*[\"']?([^\s\"',;&]{4,})", 1),
    # --- pii ---
    ("email", "pii", r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", 0),
    ("credit-card", "pii", r"\b(?:\d[ -]?){12,18}\d\b", 0),            # Luhn-checked below
    ("iban", "pii", r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b", 0),
    ("us-ssn", "pii", r"\b\d{3}-\d{2}-\d{4}\b", 0),
    ("phone", "pii", r"(?:\+\d{1,3}[\s.-]?)?\(?\b\d{3}\)?[\s.-]?\d{3}[\s.-]?\d{4}\b", 0),
    ("phone-international", "pii", r"\+\d{1,3}(?:[\s.-]?\d{1,4}){2,5}\b", 0),
    ("ipv4", "pii", r"\b(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)\b", 0),
    ("ipv6", "pii", r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b|\b(?:[0-9a-f]{1,4}:){1,6}:(?:[0-9a-f]{1,4}:){0,5}[0-9a-f]{1,4}\b", 0),
    # --- injections ---
    ("script-tag", "injection", r"(?i)<\s*/?\s*script\b[^>]*>?", 0),
    ("html-event-handler", "injection", r"(?i)<[a-z]+[^>]*\bon[a-z]+\s*=", 0),
    ("javascript-url", "injection", r"(?i)javascript\s*:", 0),
    ("log4shell", "injection", r"(?i)\$\{(?:jndi|[^}]*j[^}]*n[^}]*d[^}]*i)[^}]*\}?", 0),
    ("crlf-injection", "injection", r"(?i)(?:\r\n|\n|%0d%0a|%0a)(?=[^\n]*\b(?:INFO|WARN|ERROR|DEBUG|admin|login)\b)", 0),
    ("ansi-escape", "injection", r"\x1b(?:\[[0-9;?]*[A-Za-z]|\][^\x07\x1b]*(?:\x07|\x1b\\))", 0),
    ("sql-injection", "injection",
     r"(?i)'\s*(?:or|and)\s+'?\d+'?\s*=\s*'?\d+|\bunion\s+(?:all\s+)?select\b|;\s*drop\s+table\b|--\s*$|\bsleep\s*\(\s*\d+\s*\)", 0),
    ("template-injection", "injection", r"\{\{.*?(?:__|config|self|\d+\s*\*\s*\d+).*?\}\}", 0),
    ("prompt-injection", "injection",
     r"(?i)\b(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|prior|above|earlier)\s+"
     r"(?:instructions|prompts?|rules)|\byou\s+are\s+now\s+(?:DAN|in\s+developer\s+mode)|"
     r"\b(?:reveal|print|show)\s+(?:me\s+)?your\s+system\s+prompt", 0),
]

COMPILED = [(rule, cat, re.compile(p), g) for rule, cat, p, g in PATTERNS]


def luhn(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = ord(c) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def redact(text, path, findings):
    for rule, cat, rx, group in COMPILED:
        count = 0

        def repl(m):
            nonlocal count
            if rule == "credit-card" and not luhn(re.sub(r"\D", "", m.group(0))):
                return m.group(0)
            count += 1
            tag = "[REDACTED:%s]" % rule
            if group == 0:
                return tag
            s, e = m.span(group)
            base = m.start()
            whole = m.group(0)
            return whole[:s - base] + tag + whole[e - base:]

        text = rx.sub(repl, text)
        if count:
            findings.append({"rule": rule, "category": cat, "path": path, "action": "tag", "count": count})
    return text


def escape(key):
    return str(key).replace("~", "~0").replace("/", "~1")


def walk(node, path, findings):
    if isinstance(node, str):
        return redact(node, path, findings)
    if isinstance(node, dict):
        return {k: walk(v, path + "/" + escape(k), findings) for k, v in node.items()}
    if isinstance(node, list):
        return [walk(v, path + "/" + str(i), findings) for i, v in enumerate(node)]
    return node


def main():
    out = sys.stdout
    for line in sys.stdin:
        line = line.rstrip("\n")
        try:
            doc = json.loads(line)
        except ValueError:
            out.write(line + "\n")
            continue
        if not isinstance(doc, dict):
            out.write(line + "\n")
            continue
        findings = []
        doc = walk(doc, "", findings)
        if findings:
            doc["_bulwark"] = {"v": 1, "verdict": "redacted", "findings": findings}
        out.write(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
