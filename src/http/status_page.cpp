#include "http/status_page.hpp"

namespace bulwark::http::status_page {

namespace {

constexpr std::string_view page = R"html(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>bulwark status</title>
<link rel="stylesheet" href="/status.css">
<script src="/status.js" defer></script>
</head>
<body>
<header>
<h1>bulwark</h1>
<p id="conn" class="muted">connecting…</p>
</header>
<main>
<section>
<h2>Throughput</h2>
<div id="throughput" class="cards"></div>
</section>
<section>
<h2>Findings</h2>
<div id="findings" class="cards"></div>
</section>
<section>
<h2>Recent alerts</h2>
<p id="alerts-summary" class="muted"></p>
<table id="alerts">
<thead><tr><th>time</th><th>severity</th><th>kind</th><th>title</th><th>source</th><th>model</th><th>count</th></tr></thead>
<tbody></tbody>
</table>
</section>
<section>
<h2>Drift</h2>
<p id="drift-summary" class="muted"></p>
<table id="drift">
<thead><tr><th>model</th><th>key</th><th>feature</th><th>state</th><th>windows</th><th>last window end</th><th>PSI</th><th>JS distance</th><th>shift</th></tr></thead>
<tbody></tbody>
</table>
</section>
<section>
<h2>Integrity</h2>
<p id="integrity-summary" class="muted"></p>
<table id="integrity">
<thead><tr><th>source</th><th>state</th><th>epoch</th><th>last seq</th><th>last seen</th><th>gaps</th><th>replays</th><th>tamper</th><th>unsigned</th><th>silence</th><th>skew</th><th>poisoning</th></tr></thead>
<tbody></tbody>
</table>
</section>
</main>
<footer class="muted">Values refresh every 2 s from <code>/api/status</code>; metrics at <code>/metrics</code>.</footer>
</body>
</html>
)html";

// Rendering goes through text nodes only (see the header's invariant 3).
constexpr std::string_view js = R"js('use strict';
(function () {
  const POLL_MS = 2000;
  const MAX_TEXT = 300;

  function text(v) {
    if (v === null || v === undefined) return '—';
    const s = String(v);
    return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + '…' : s;
  }
  function num(v, digits) {
    if (typeof v !== 'number' || !isFinite(v)) return '—';
    return digits === undefined ? String(v) : v.toFixed(digits);
  }
  function el(tag, content, cls) {
    const e = document.createElement(tag);
    if (content !== undefined) e.textContent = text(content);
    if (cls) e.setAttribute('class', cls);
    return e;
  }
  function card(label, value) {
    const c = el('div', undefined, 'card');
    c.appendChild(el('div', value, 'value'));
    c.appendChild(el('div', label, 'label'));
    return c;
  }
  // Only fixed class names reach the DOM: data picks one, never supplies one.
  const SEVERITIES = ['critical', 'high', 'medium', 'low'];
  function severityClass(s) {
    return SEVERITIES.indexOf(s) >= 0 ? 'sev sev-' + s : 'sev';
  }
  function row(cells) {
    const tr = document.createElement('tr');
    for (const c of cells) {
      if (c instanceof Node) {
        const td = document.createElement('td');
        td.appendChild(c);
        tr.appendChild(td);
      } else {
        tr.appendChild(el('td', c));
      }
    }
    return tr;
  }
  function body(id) {
    return document.getElementById(id).querySelector('tbody');
  }
  function emptyRow(n, message) {
    const tr = document.createElement('tr');
    const td = el('td', message, 'muted');
    td.setAttribute('colspan', String(n));
    tr.appendChild(td);
    return tr;
  }

  function renderThroughput(s) {
    const t = s.throughput || {};
    const v = t.verdicts || {};
    const box = document.getElementById('throughput');
    box.replaceChildren(
      card('events/s (last ' + num(t.interval_s, 1) + ' s)', num(t.events_per_s, 1)),
      card('consumed', num(t.consumed)),
      card('delivered', num(t.delivered)),
      card('clean', num(v.clean)),
      card('redacted', num(v.redacted)),
      card('flagged', num(v.flagged)),
      card('quarantined', num(v.quarantined)),
      card('rejected', num(v.rejected)));
  }
  function renderFindings(s) {
    const f = s.findings || {};
    document.getElementById('findings').replaceChildren(
      card('secret', num(f.secret)), card('pii', num(f.pii)),
      card('prompt leak', num(f.prompt_leak)), card('injection', num(f.injection)));
  }
  function renderAlerts(s) {
    const a = s.alerts || {};
    const kinds = a.by_kind || {};
    const parts = Object.keys(kinds).sort().map(function (k) { return k + ' ' + kinds[k]; });
    document.getElementById('alerts-summary').textContent =
      text('total ' + num(a.total) + (parts.length ? ' · ' + parts.join(' · ') : ''));
    const rows = (a.recent || []).map(function (r) {
      return row([r.ts, el('span', r.severity, severityClass(r.severity)), r.kind, r.title,
                  r.source, r.model, num(r.count)]);
    });
    body('alerts').replaceChildren.apply(body('alerts'),
      rows.length ? rows : [emptyRow(7, 'no alerts yet')]);
  }
  function renderDrift(s) {
    const d = s.drift || {};
    document.getElementById('drift-summary').textContent = d.enabled
      ? text('keys ' + num(d.keys) + ' · references frozen ' + num(d.frozen) + ', learning ' +
             num(d.learning) + ' · state ' + num(d.state_bytes) + ' bytes')
      : 'drift monitoring is off';
    const rows = (d.rows || []).map(function (r) {
      const state = el('span', r.alarm ? r.state + ' · drift' : r.state,
                       r.alarm ? 'sev sev-high' : undefined);
      return row([r.model, r.key, r.feature, state, num(r.windows), r.window_end,
                  num(r.psi, 3), num(r.js, 3), num(r.u_shift, 3)]);
    });
    body('drift').replaceChildren.apply(body('drift'),
      rows.length ? rows : [emptyRow(9, 'no drift keys yet')]);
  }
  function renderIntegrity(s) {
    const g = s.integrity || {};
    document.getElementById('integrity-summary').textContent =
      text((g.keyed ? 'signatures checked' : 'no integrity keys: signatures not checked') +
           ' · tracked ' + num(g.tracked) + ' · untrusted ' + num(g.untrusted) +
           ' · watermark ' + text(g.watermark));
    const rows = (g.sources || []).map(function (r) {
      const bad = r.state === 'untrusted' || r.tamper > 0 || r.replays > 0;
      return row([r.source, el('span', r.state, bad ? 'sev sev-critical' : undefined), r.epoch,
                  num(r.last_seq), r.last_seen, num(r.gaps), num(r.replays), num(r.tamper),
                  num(r.unsigned), num(r.silence), num(r.skew), num(r.poisoning)]);
    });
    body('integrity').replaceChildren.apply(body('integrity'),
      rows.length ? rows : [emptyRow(12, 'no sources yet')]);
  }

  const conn = document.getElementById('conn');
  function poll() {
    fetch('/api/status', {cache: 'no-store', credentials: 'omit'})
      .then(function (res) {
        if (!res.ok) throw new Error('HTTP ' + res.status);
        return res.json();
      })
      .then(function (s) {
        renderThroughput(s);
        renderFindings(s);
        renderAlerts(s);
        renderDrift(s);
        renderIntegrity(s);
        conn.textContent = text('updated ' + s.now);
        conn.setAttribute('class', 'muted');
      })
      .catch(function (e) {
        conn.textContent = text('status unavailable (' + e.message + '); retrying');
        conn.setAttribute('class', 'sev sev-high');
      })
      .finally(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
)js";

constexpr std::string_view css =
    R"css(body { font: 14px/1.4 system-ui, sans-serif; margin: 0 1.5em 2em; color: #1d2125; background: #fafbfc; }
header { display: flex; align-items: baseline; gap: 1em; }
h1 { font-size: 1.4em; margin: .6em 0 .2em; }
h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
.muted { color: #626f86; }
.cards { display: flex; flex-wrap: wrap; gap: .6em; }
.card { background: #fff; border: 1px solid #dcdfe4; border-radius: 6px; padding: .5em .9em; min-width: 7em; }
.card .value { font-size: 1.3em; font-variant-numeric: tabular-nums; }
.card .label { color: #626f86; font-size: .85em; }
table { border-collapse: collapse; width: 100%; background: #fff; }
th, td { text-align: left; border-bottom: 1px solid #ebecf0; padding: .25em .5em; vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; background: #f1f2f4; }
td { font-variant-numeric: tabular-nums; }
.sev { padding: 0 .4em; border-radius: 4px; }
.sev-critical { background: #ffd5d2; color: #ae2e24; }
.sev-high { background: #ffe2bd; color: #a54800; }
.sev-medium { background: #f8e6a0; color: #7f5f01; }
.sev-low { background: #e9f2ff; color: #0055cc; }
code { font-size: .95em; }
)css";

} // namespace

std::string_view html() noexcept {
  return page;
}

std::string_view script() noexcept {
  return js;
}

std::string_view stylesheet() noexcept {
  return css;
}

} // namespace bulwark::http::status_page
