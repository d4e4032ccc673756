#include "metrics/status_board.hpp"

#include "core/alert_request.hpp"
#include "core/json_writer.hpp"

#include "json/walk.hpp"
#include <algorithm>
#include <charconv>
#include <tuple>

namespace bulwark::metrics {

namespace {

/// The integrity alert kinds counted per source, in source_entry::counts order.
constexpr std::array<std::string_view, 7> source_kinds{
    "integrity.gap",     "integrity.replay", "integrity.tamper", "integrity.unsigned",
    "integrity.silence", "integrity.skew",   "poisoning"};
constexpr std::array<std::string_view, 7> source_kind_keys{
    "gaps", "replays", "tamper", "unsigned", "silence", "skew", "poisoning"};
constexpr std::array<std::string_view, 5> verdict_names{"clean", "redacted", "flagged",
                                                        "quarantined", "rejected"};
constexpr std::array<std::string_view, 4> category_names{"secret", "pii", "prompt_leak",
                                                         "injection"};

std::string_view clip_utf8(std::string_view s, std::size_t max) noexcept {
  if (s.size() <= max) return s;
  std::size_t end = max;
  // Back off continuation bytes so the cut lands on a character boundary.
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80)
    --end;
  return s.substr(0, end);
}

/// The top-level members of an alert record the board keeps.
struct alert_fields final : json::visitor {
  std::string_view line;
  std::string id, ts, severity, kind, title, source, model, fingerprint;
  std::uint64_t count = 1;
  bool on_value(const json::value_ref& v) override {
    if (v.depth != 1) return true;
    const std::string_view name = v.pointer.substr(1);
    if (v.kind == json::value_kind::number && name == "count") {
      const std::string_view raw = line.substr(v.begin, v.end - v.begin);
      std::uint64_t c = 0;
      const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), c);
      if (ec == std::errc{} && end == raw.data() + raw.size()) count = c;
      return true;
    }
    if (v.kind != json::value_kind::string) return true;
    std::string* into = name == "id"            ? &id
                        : name == "ts"          ? &ts
                        : name == "severity"    ? &severity
                        : name == "kind"        ? &kind
                        : name == "title"       ? &title
                        : name == "source"      ? &source
                        : name == "model"       ? &model
                        : name == "fingerprint" ? &fingerprint
                                                : nullptr;
    if (into != nullptr) into->assign(v.text);
    return true;
  }
};

void write_time(json_writer& w, std::optional<timestamp_ms> t) {
  if (t)
    w.value(format_rfc3339(*t));
  else
    w.null();
}

} // namespace

void harden_json(std::string& json, std::size_t from) {
  std::string out;
  bool changed = false;
  for (std::size_t i = from; i < json.size(); ++i) {
    const char c = json[i];
    std::string_view rep;
    std::size_t skip = 0;
    if (c == '<')
      rep = "\\u003c";
    else if (c == '>')
      rep = "\\u003e";
    else if (c == '&')
      rep = "\\u0026";
    else if (c == '\xE2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
             (json[i + 2] == '\xA8' || json[i + 2] == '\xA9')) {
      rep = json[i + 2] == '\xA8' ? "\\u2028" : "\\u2029";
      skip = 2;
    }
    if (rep.empty()) {
      if (changed) out += c;
      continue;
    }
    if (!changed) {
      out.assign(json, 0, i);
      changed = true;
    }
    out += rep;
    i += skip;
  }
  if (changed) json = std::move(out);
}

status_board::status_board(board_limits l) : limits_(l), by_kind_(alert_kinds().size() + 1, 0) {}

std::string status_board::clip(std::string_view s) const {
  return std::string(clip_utf8(s, limits_.field_bytes));
}

void status_board::set_flow(const flow_totals& t, timestamp_ms now) {
  std::lock_guard lock(mu_);
  flow_ = t;
  if (!rate_base_) {
    rate_base_.emplace(t, now);
    return;
  }
  const timestamp_ms dt = now - rate_base_->second;
  if (dt < 1000) return;
  const std::uint64_t before = rate_base_->first.consumed;
  rate_ = t.consumed >= before
              ? static_cast<double>(t.consumed - before) * 1000.0 / static_cast<double>(dt)
              : 0;
  rate_interval_s_ = static_cast<double>(dt) / 1000.0;
  rate_base_.emplace(t, now);
}

status_board::source_entry& status_board::source_slot(std::string_view name, timestamp_ms seen) {
  const std::string key = clip(name);
  for (auto& e : sources_)
    if (e.row.source == key) {
      e.last_seen = std::max(e.last_seen, seen);
      return e;
    }
  if (sources_.size() >= limits_.sources && !sources_.empty()) {
    // Full: the least recently seen source makes room.
    auto oldest = std::min_element(
        sources_.begin(), sources_.end(),
        [](const source_entry& a, const source_entry& b) { return a.last_seen < b.last_seen; });
    sources_.erase(oldest);
  }
  source_entry& e = sources_.emplace_back();
  e.row.source = key;
  e.last_seen = seen;
  return e;
}

void status_board::add_alerts(std::string_view ndjson) {
  if (ndjson.empty()) return;
  json::walker walker(json::limits{});
  std::lock_guard lock(mu_);
  for (std::size_t pos = 0; pos < ndjson.size();) {
    const std::size_t nl = ndjson.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? ndjson.size() : nl;
    const std::string_view line = ndjson.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    alert_fields f;
    f.line = line;
    if (walker.walk(line, 0, &f) != json::error::none || f.kind.empty()) continue;
    alert_row a;
    a.kind = clip(f.kind);
    a.id = clip(f.id);
    a.ts = clip(f.ts);
    a.severity = clip(f.severity);
    a.title = clip(f.title);
    a.source = clip(f.source);
    a.model = clip(f.model);
    const std::string fingerprint = clip(f.fingerprint);
    const std::uint64_t count = f.count;
    a.count = count;

    const auto kinds = alert_kinds();
    const auto k = std::find(kinds.begin(), kinds.end(), a.kind);
    ++by_kind_[static_cast<std::size_t>(k - kinds.begin())];
    ++alerts_total_;

    const auto sk = std::find(source_kinds.begin(), source_kinds.end(), a.kind);
    if (sk != source_kinds.end() && !a.source.empty()) {
      const timestamp_ms seen = parse_rfc3339(a.ts).value_or(0);
      source_entry& e = source_slot(a.source, seen);
      const auto i = static_cast<std::size_t>(sk - source_kinds.begin());
      // A repeat of the same alert carries the running count: add the news.
      if (!fingerprint.empty() && e.last_fp[i] == fingerprint && count >= e.last_count[i])
        e.counts[i] += count - e.last_count[i];
      else
        e.counts[i] += count;
      e.last_fp[i] = fingerprint;
      e.last_count[i] = count;
    }
    alerts_.push_front(std::move(a));
    if (alerts_.size() > limits_.alerts) alerts_.pop_back();
  }
}

void status_board::set_stage(stage_view v) {
  std::lock_guard lock(mu_);
  // Over the cap, rows in alarm and those compared most recently stay.
  std::stable_sort(
      v.drift_rows.begin(), v.drift_rows.end(), [](const drift_row& a, const drift_row& b) {
        if (a.alarm != b.alarm) return a.alarm;
        const auto ea = a.window_end.value_or(INT64_MIN);
        const auto eb = b.window_end.value_or(INT64_MIN);
        if (ea != eb) return ea > eb;
        return std::tie(a.model, a.key, a.feature) < std::tie(b.model, b.key, b.feature);
      });
  if (v.drift_rows.size() > limits_.drift_rows) v.drift_rows.resize(limits_.drift_rows);
  for (auto& r : v.drift_rows) {
    r.key = clip(r.key);
    r.model = clip(r.model);
    r.feature = clip(r.feature);
  }
  for (auto& e : sources_)
    e.in_stage = false;
  // Most recently heard first, so that over the cap the freshest stay.
  std::vector<source_row> rows = std::move(v.sources);
  std::sort(rows.begin(), rows.end(), [](const source_row& a, const source_row& b) {
    return a.last_heard.value_or(INT64_MIN) > b.last_heard.value_or(INT64_MIN);
  });
  if (rows.size() > limits_.sources) rows.resize(limits_.sources);
  for (auto it = rows.rbegin(); it != rows.rend(); ++it) {
    source_entry& e = source_slot(it->source, it->last_heard.value_or(0));
    std::string name = std::move(e.row.source);
    e.row = std::move(*it);
    e.row.source = std::move(name);
    e.row.epoch = clip(e.row.epoch);
    e.in_stage = true;
  }
  stage_ = std::move(v);
  stage_.sources.clear();
}

std::size_t status_board::alert_count() const {
  std::lock_guard lock(mu_);
  return alerts_.size();
}

std::size_t status_board::source_count() const {
  std::lock_guard lock(mu_);
  return sources_.size();
}

void status_board::render_json(std::string& out, timestamp_ms now) const {
  json_writer w;
  {
    std::lock_guard lock(mu_);
    w.begin_object();
    w.key("v").value(1);
    w.key("now").value(format_rfc3339(now));

    w.key("throughput").begin_object();
    w.key("events_per_s").value(rate_);
    w.key("interval_s").value(rate_interval_s_);
    w.key("consumed").value(flow_.consumed);
    w.key("delivered").value(flow_.delivered);
    w.key("verdicts").begin_object();
    for (std::size_t i = 0; i < verdict_names.size(); ++i)
      w.key(verdict_names[i]).value(flow_.verdicts[i]);
    w.end_object();
    w.end_object();

    w.key("findings").begin_object();
    for (std::size_t i = 0; i < category_names.size(); ++i)
      w.key(category_names[i]).value(flow_.findings[i]);
    w.end_object();

    w.key("alerts").begin_object();
    w.key("total").value(alerts_total_);
    w.key("by_kind").begin_object();
    const auto kinds = alert_kinds();
    for (std::size_t i = 0; i < by_kind_.size(); ++i)
      if (by_kind_[i] != 0) w.key(i < kinds.size() ? kinds[i] : "other").value(by_kind_[i]);
    w.end_object();
    w.key("recent").begin_array();
    for (const auto& a : alerts_) {
      w.begin_object();
      w.key("ts").value(a.ts);
      w.key("severity").value(a.severity);
      w.key("kind").value(a.kind);
      w.key("title").value(a.title);
      w.key("source").value(a.source);
      w.key("model").value(a.model);
      w.key("count").value(a.count);
      w.end_object();
    }
    w.end_array();
    w.end_object();

    w.key("drift").begin_object();
    w.key("enabled").value(stage_.drift);
    w.key("keys").value(std::uint64_t{stage_.drift_keys});
    w.key("frozen").value(std::uint64_t{stage_.drift_frozen});
    w.key("learning").value(std::uint64_t{stage_.drift_learning});
    w.key("state_bytes").value(std::uint64_t{stage_.drift_bytes});
    w.key("rows").begin_array();
    for (const auto& r : stage_.drift_rows) {
      w.begin_object();
      w.key("key").value(r.key);
      w.key("model").value(r.model);
      w.key("feature").value(r.feature);
      w.key("state").value(r.state);
      w.key("alarm").value(r.alarm);
      w.key("windows").value(r.windows);
      w.key("window_end");
      write_time(w, r.window_end);
      if (r.window_end) {
        w.key("n").value(r.n);
        w.key("psi").value(r.psi);
        w.key("js").value(r.js);
        w.key("wasserstein_u").value(r.wasserstein_u);
        w.key("u_shift").value(r.u_shift);
      }
      w.end_object();
    }
    w.end_array();
    w.end_object();

    w.key("integrity").begin_object();
    w.key("keyed").value(stage_.keyed);
    w.key("tracked").value(std::uint64_t{stage_.sources_tracked});
    w.key("untrusted").value(std::uint64_t{stage_.sources_untrusted});
    w.key("watermark");
    write_time(w, stage_.watermark);
    std::vector<const source_entry*> order;
    order.reserve(sources_.size());
    for (const auto& e : sources_)
      order.push_back(&e);
    std::sort(order.begin(), order.end(), [](const source_entry* a, const source_entry* b) {
      return a->last_seen != b->last_seen ? a->last_seen > b->last_seen
                                          : a->row.source < b->row.source;
    });
    w.key("sources").begin_array();
    for (const source_entry* e : order) {
      const source_row& r = e->row;
      w.begin_object();
      w.key("source").value(r.source);
      const std::string_view state = !e->in_stage  ? "alerts only"
                                     : r.untrusted ? "untrusted"
                                     : r.silent    ? "silent"
                                                   : "tracked";
      w.key("state").value(state);
      w.key("epoch").value(e->in_stage ? std::string_view(r.epoch) : std::string_view());
      w.key("last_seq");
      if (e->in_stage && r.last_seq)
        w.value(*r.last_seq);
      else
        w.null();
      w.key("last_seen");
      write_time(w, e->last_seen > 0 ? std::optional<timestamp_ms>(e->last_seen) : std::nullopt);
      for (std::size_t i = 0; i < source_kind_keys.size(); ++i)
        w.key(source_kind_keys[i]).value(e->counts[i]);
      w.end_object();
    }
    w.end_array();
    w.end_object();
    w.end_object();
  }
  const std::size_t from = out.size();
  out += w.str();
  harden_json(out, from);
}

} // namespace bulwark::metrics
