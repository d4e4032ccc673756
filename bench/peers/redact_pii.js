#!/usr/bin/env node
// redact-pii (npm) over NDJSON: every string value of every event goes through one
// SyncRedactor with the library's defaults (names, e-mail, phones, cards, SSNs, IPs,
// addresses, zip codes, digit runs, URLs, "password: x", "credentials: x y"), and the event
// is written back with the same JSON structure. redact-pii only replaces text (no findings),
// so bench/peers/run.py judges it on whether planted values are gone. --narrow turns off the
// built-ins that take whole classes of ordinary text (person names, any run of 4+ digits, 5-digit
// numbers as zip codes, every URL): the configuration a team would try after seeing the default
// one eat its timestamps and order numbers.
//
//   node redact_pii.js [--narrow] IN.ndjson OUT.ndjson
'use strict';
const fs = require('fs');
const readline = require('readline');
const { SyncRedactor } = require('redact-pii');

const args = process.argv.slice(2);
const narrow = args[0] === '--narrow';
if (narrow) args.shift();
const off = { enabled: false };
const redactor = new SyncRedactor(
  narrow ? { builtInRedactors: { names: off, digits: off, zipcode: off, url: off } } : {},
);

function walk(node) {
  if (typeof node === 'string') return redactor.redact(node);
  if (Array.isArray(node)) return node.map(walk);
  if (node !== null && typeof node === 'object') {
    const out = {};
    for (const k of Object.keys(node)) out[k] = walk(node[k]);
    return out;
  }
  return node;
}

async function main() {
  const [input, output] = args;
  if (!input || !output) {
    process.stderr.write('usage: redact_pii.js [--narrow] IN.ndjson OUT.ndjson\n');
    process.exit(2);
  }
  const out = fs.createWriteStream(output);
  const rl = readline.createInterface({ input: fs.createReadStream(input), crlfDelay: Infinity });
  let buf = [];
  for await (const line of rl) {
    let text = line;
    try {
      text = JSON.stringify(walk(JSON.parse(line)));
    } catch (e) {
      // not JSON: written back as it came, like the other peers do
    }
    buf.push(text);
    if (buf.length >= 1024) {
      if (!out.write(buf.join('\n') + '\n')) await new Promise((r) => out.once('drain', r));
      buf = [];
    }
  }
  if (buf.length) out.write(buf.join('\n') + '\n');
  await new Promise((r) => out.end(r));
}

main().catch((e) => {
  process.stderr.write(`redact_pii: ${e.stack || e}\n`);
  process.exit(1);
});
