#!/usr/bin/env node
// secretlint (npm, @secretlint/core with the recommended preset) over NDJSON. secretlint lints
// whole files and reports ranges; here each event's string values are joined by a blank line
// into one source (one lintSource call per event, not per value: secretlint's per-call cost is
// large, and its rules are anchored so they do not match across the blank line), every
// reported range is mapped back to the values it covers and replaced there by
// [REDACTED:<rule>], and the event is written back with the same JSON structure.
//
//   node secretlint.mjs IN.ndjson OUT.ndjson
import fs from 'node:fs';
import readline from 'node:readline';
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';

const SEP = '\n\n';
const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };

// Collects the string values of node in document order, as setters that write them back.
function collect(node, slots) {
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      if (typeof v === 'string') slots.push({ text: v, set: (s) => (node[i] = s) });
      else collect(v, slots);
    });
  } else if (node !== null && typeof node === 'object') {
    for (const k of Object.keys(node)) {
      const v = node[k];
      if (typeof v === 'string') slots.push({ text: v, set: (s) => (node[k] = s) });
      else collect(v, slots);
    }
  }
}

async function redactEvent(doc) {
  const slots = [];
  collect(doc, slots);
  if (!slots.length) return doc;
  let offset = 0;
  for (const s of slots) {
    s.start = offset;
    offset += s.text.length + SEP.length;
  }
  const content = slots.map((s) => s.text).join(SEP);
  const result = await lintSource({
    source: { content, filePath: 'event.txt', ext: '.txt', contentType: 'text' },
    options: { config, noPhysicFilePath: true },
  });
  if (!result.messages.length) return doc;
  const cuts = slots.map(() => []);
  for (const m of result.messages) {
    const [a, b] = m.range;
    slots.forEach((s, i) => {
      const lo = Math.max(a, s.start) - s.start;
      const hi = Math.min(b, s.start + s.text.length) - s.start;
      if (lo < hi) cuts[i].push([lo, hi, m.ruleId]);
    });
  }
  slots.forEach((s, i) => {
    if (!cuts[i].length) return;
    // right to left so earlier offsets stay valid; overlapping ranges merge into one cut
    const cs = cuts[i].sort((x, y) => y[0] - x[0]);
    let text = s.text;
    let limit = Infinity;
    for (const [lo, hi, rule] of cs) {
      const end = Math.min(hi, limit);
      if (lo >= end) continue;
      text = text.slice(0, lo) + `[REDACTED:${rule.replace(/^.*secretlint-rule-/, '')}]` + text.slice(end);
      limit = lo;
    }
    s.set(text);
  });
  return doc;
}

async function main() {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    process.stderr.write('usage: secretlint.mjs IN.ndjson OUT.ndjson\n');
    process.exit(2);
  }
  const out = fs.createWriteStream(output);
  const rl = readline.createInterface({ input: fs.createReadStream(input), crlfDelay: Infinity });
  let buf = [];
  for await (const line of rl) {
    let text = line;
    let doc;
    try {
      doc = JSON.parse(line);
    } catch (e) {
      doc = undefined; // not JSON: written back as it came
    }
    if (doc !== undefined) text = JSON.stringify(await redactEvent(doc));
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
  process.stderr.write(`secretlint: ${e.stack || e}\n`);
  process.exit(1);
});
