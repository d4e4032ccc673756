#include "pipeline/detectors.hpp"

#include "alert/sanitize.hpp"
#include "audit/keys.hpp"
#include "core/json_writer.hpp"
#include "crypto/hmac.hpp"
#include "metrics/status_board.hpp"
#include "pipeline/fold.hpp"

#include "json/splice.hpp"
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bulwark::pipeline {
namespace {

/// Alert lines, rendered as configured, appended to a buffer.
class buffer_sink final : public alert::alert_sink {
public:
  buffer_sink(alert::output_format f, stage_outputs& out, alert::alert_sink* also)
      : format_(f), out_(out), also_(also) {}
  void emit(const alert::alert& a) override {
    out_.alerts += alert::render(a, format_);
    out_.alerts += '\n';
    ++out_.alert_count;
    if (also_ != nullptr) also_->emit(a);
  }

private:
  alert::output_format format_;
  stage_outputs& out_;
  alert::alert_sink* also_;
};

std::optional<double> number_of(const fact& f) {
  if (!f.is_number()) return std::nullopt;
  double v = 0;
  const char* b = f.text.data();
  const auto [end, ec] = std::from_chars(b, b + f.text.size(), v);
  if (ec != std::errc{} || end != b + f.text.size()) return std::nullopt;
  return v;
}

std::optional<timestamp_ms> time_of(const fact& f) {
  if (f.is_string()) return parse_rfc3339(f.text);
  if (auto n = number_of(f)) return static_cast<timestamp_ms>(*n); // epoch milliseconds
  return std::nullopt;
}

std::string_view text_of(const fact& f) {
  return f.is_string() ? std::string_view(f.text) : std::string_view{};
}

/// Drift ids carry where the event came from: the line in scan; in run the
/// input topic's index, partition and offset, so no table is needed.
std::uint64_t ref_id_of(const input_ref& ref, const std::vector<std::string>& topics) {
  if (ref.topic.empty()) return static_cast<std::uint64_t>(ref.line);
  std::uint64_t topic = 0;
  for (std::size_t i = 0; i < topics.size(); ++i)
    if (topics[i] == ref.topic) topic = i;
  return (topic << 56) | (static_cast<std::uint64_t>(ref.partition & 0xFFFF) << 40) |
         (static_cast<std::uint64_t>(ref.offset) & ((std::uint64_t{1} << 40) - 1));
}

input_ref ref_of(std::uint64_t id, bool kafka, const std::vector<std::string>& topics) {
  input_ref r;
  if (!kafka) {
    r.line = static_cast<std::int64_t>(id);
    return r;
  }
  const std::size_t topic = id >> 56;
  r.topic = topic < topics.size() ? topics[topic] : std::string{};
  r.partition = static_cast<std::int32_t>((id >> 40) & 0xFFFF);
  r.offset = static_cast<std::int64_t>(id & ((std::uint64_t{1} << 40) - 1));
  return r;
}

std::string_view title_for(category c) {
  switch (c) {
  case category::secret:
    return "secret in telemetry (redacted)";
  case category::pii:
    return "personal data in telemetry (redacted)";
  case category::prompt_leak:
    return "system prompt leaked into telemetry (redacted)";
  case category::injection:
    return "injection in telemetry (defused)";
  }
  return "finding";
}

integrity::event_facts integrity_facts(const record_facts& f, std::string_view raw,
                                       std::optional<std::string_view> sig_header,
                                       std::optional<timestamp_ms> event_time,
                                       std::optional<timestamp_ms> record_time) {
  integrity::event_facts e;
  e.raw = raw;
  e.sig_header = sig_header;
  e.event_time = event_time;
  e.record_time = record_time;
  e.source = text_of(f.at(fact_spec::source));
  if (auto n = number_of(f.at(fact_spec::seq));
      n && *n >= 0 && *n == static_cast<double>(static_cast<std::uint64_t>(*n)))
    e.seq = static_cast<std::uint64_t>(*n);
  e.epoch = text_of(f.at(fact_spec::epoch));
  e.type = text_of(f.at(fact_spec::type));
  e.model = text_of(f.at(fact_spec::model));
  e.name = text_of(f.at(fact_spec::name));
  e.value = number_of(f.at(fact_spec::value));
  e.action = text_of(f.at(fact_spec::action));
  return e;
}

} // namespace

detectors::~detectors() = default;

std::variant<std::unique_ptr<detectors>, std::string>
detectors::make(const config::options& opts, const fact_spec& spec, options o) {
  std::unique_ptr<detectors> d(new detectors());
  d->spec_ = &spec;
  d->options_ = o;
  d->input_topics_ = opts.kafka.inputs;

  // Integrity: keys, sequences, silence, skew, poisoning.
  std::map<std::string, integrity::key_validity> windows;
  for (const auto& [kid, w] : opts.integrity.key_windows)
    windows.emplace(kid, integrity::key_validity{w.not_before, w.not_after});
  auto ring = integrity::key_ring::load(opts.integrity.keys, windows, opts.base_dir);
  if (auto* e = std::get_if<integrity::key_ring_error>(&ring))
    // The ring's reasons already name the key (`integrity.keys.k1: …`).
    return e->reason.starts_with("integrity.keys") ? e->reason : "integrity.keys: " + e->reason;
  integrity::checker_settings cs = integrity::settings_from(opts.integrity);
  cs.silence_basis = o.clock == clock_mode::wall_clock ? integrity::time_basis::wall_clock
                                                       : integrity::time_basis::event_time;
  auto checker =
      integrity::checker::make(std::move(cs), std::get<integrity::key_ring>(std::move(ring)));
  if (auto* e = std::get_if<integrity::settings_error>(&checker)) return "integrity: " + e->reason;
  d->integrity_.emplace(std::get<integrity::checker>(std::move(checker)));
  if (o.integrity_state && d->integrity_->keyed())
    d->book_.emplace(opts.integrity.max_sources + opts.integrity.max_streams);

  // Alerts.
  alert::engine_settings as = alert::settings_from(opts.alerts);
  auto engine = alert::engine::make(as);
  if (auto* e = std::get_if<alert::error>(&engine)) return "alerts: " + e->message;
  d->alerts_.emplace(std::get<alert::engine>(std::move(engine)));
  d->sink_ = std::make_unique<buffer_sink>(opts.alerts.format ==
                                                   config::alerts_options::output_format::ocsf
                                               ? alert::output_format::ocsf
                                               : alert::output_format::bulwark,
                                           d->out_, o.also);

  // Drift, when features are configured.
  if (!opts.drift.features.empty()) {
    auto made = drift::monitor::make(drift::from_config(opts.drift));
    if (auto* e = std::get_if<drift::error>(&made)) return "drift: " + e->message;
    d->drift_.emplace(std::get<drift::monitor>(std::move(made)));
    d->drift_values_.resize(opts.drift.features.size());
  }

  // The audit chain.
  if (o.audit) {
    auto signer = audit::checkpoint_signer::from_config(opts.integrity, opts.base_dir);
    if (auto* e = std::get_if<audit::audit_error>(&signer))
      return "the audit chain needs integrity.audit_key (or integrity.keys, or "
             "integrity.audit_signing_key): " +
             e->reason;
    audit::writer_settings ws;
    ws.policy = o.clock == clock_mode::wall_clock ? audit::checkpoint_policy::run()
                                                  : audit::checkpoint_policy::scan();
    ws.embedded_limits = json::limits{opts.limits.max_event_bytes, opts.limits.max_depth};
    auto chain = audit::chain_writer::make(
        ws, std::get<audit::checkpoint_signer>(std::move(signer)), 0, o.resume_audit);
    if (auto* e = std::get_if<audit::audit_error>(&chain)) return "audit: " + e->reason;
    d->chain_.emplace(std::get<audit::chain_writer>(std::move(chain)));
  }

  // A frozen reference from a file (`drift baseline`): loading it is an
  // explicit act, recorded in the audit chain.
  if (d->drift_ && !opts.drift.reference_file.empty()) {
    const std::filesystem::path p(opts.drift.reference_file);
    const std::string file = p.is_absolute() ? opts.drift.reference_file
                                             : (std::filesystem::path(opts.base_dir) / p).string();
    std::ifstream in(file, std::ios::binary);
    if (!in) return "drift.reference.file " + file + ": cannot read";
    std::ostringstream text;
    text << in.rdbuf();
    auto loaded = d->drift_->load_reference(text.str(), 0);
    if (auto* e = std::get_if<drift::error>(&loaded))
      return "drift.reference.file " + file + ": " + e->message;
    if (d->chain_)
      for (const auto& rec : std::get<std::vector<drift::audit_record>>(loaded)) {
        auto line = d->chain_->append_decision(0, "drift_reference_loaded", rec.json);
        if (auto* l = std::get_if<std::string>(&line)) d->audit_line(std::move(*l));
      }
  }
  return d;
}

const drift::counters* detectors::drift_stats() const noexcept {
  return drift_ ? &drift_->stats() : nullptr;
}

void detectors::snapshot(metrics::stage_view& out, timestamp_ms now) const {
  // Names from telemetry reach the status page the way they reach alerts
  // (alert::safe_identifier): a plain name passes, anything else (spaces,
  // `=`, `@`, quotes, markup, non-ASCII, too long) becomes `~<hash>`, so a
  // secret or an e-mail sent as a source or model name is never shown.
  const auto shown = [](std::string_view name) { return alert::safe_identifier(name, 64); };
  if (drift_) {
    out.drift = true;
    const drift::monitor_state st = drift_->state();
    out.drift_keys = st.keys;
    out.drift_frozen = st.frozen;
    out.drift_learning = st.learning;
    out.drift_bytes = st.bytes;
    const auto& features = drift_->config().features;
    drift_->for_each_feature([&](const drift::feature_status& f) {
      metrics::drift_row& r = out.drift_rows.emplace_back();
      r.key = shown(f.key);
      r.model = shown(f.model);
      r.feature = f.feature < features.size() ? features[f.feature].path : std::string();
      r.state = f.state == drift::reference_phase::frozen     ? "frozen"
                : f.state == drift::reference_phase::learning ? "learning"
                                                              : "idle";
      r.alarm = f.alarm;
      r.windows = f.windows;
      r.window_end = f.window_end;
      r.n = f.n;
      r.psi = f.psi;
      r.js = f.js;
      r.wasserstein_u = f.wasserstein_u;
      r.u_shift = f.u_shift;
    });
  }
  if (integrity_) {
    out.keyed = integrity_->keyed();
    const integrity::source_counts c = integrity_->sources(now);
    out.sources_tracked = c.tracked;
    out.sources_untrusted = c.untrusted;
    out.watermark = integrity_->watermark();
    integrity_->for_each_source(now, [&](const integrity::source_view& v) {
      metrics::source_row& r = out.sources.emplace_back();
      r.source = shown(v.source);
      r.last_heard = v.last_heard;
      r.silent = v.silent;
      r.untrusted = v.untrusted;
      r.epoch = shown(v.epoch);
      r.last_seq = v.last_seq;
    });
  }
}

const alert::engine_stats& detectors::alert_stats() const {
  return alerts_->stats();
}

void detectors::audit_line(std::string line) {
  out_.audit += line;
  out_.audit += '\n';
  ++out_.audit_count;
}

void detectors::decision(timestamp_ms now, std::string_view name, const std::string& json) {
  if (!chain_) return;
  // Event time in scan: the stage's own clock, so the chain stays monotonic.
  const timestamp_ms at = options_.clock == clock_mode::wall_clock ? now : now_;
  auto line = chain_->append_decision(at, name, json);
  if (auto* l = std::get_if<std::string>(&line)) audit_line(std::move(*l));
}

void detectors::raise(alert_request r, timestamp_ms now) {
  submit(std::move(r), options_.clock == clock_mode::wall_clock ? now : now_);
}

void detectors::submit_at(alert_request& r, timestamp_ms at) {
  r.at = at;
  const auto kinds = alert_kinds();
  ++requests_[static_cast<std::size_t>(std::find(kinds.begin(), kinds.end(), r.kind) -
                                       kinds.begin())];
  // Critical alerts are never delayed (SPEC §6): the instance that sees one
  // emits it. The rest are folded by the one instance holding the alert
  // partition, so N instances emit one alert, not N.
  if (options_.fold_partitions > 0 && r.level != severity::critical) {
    out_.fold.push_back({fold::partition_of(fold::alert_key, options_.fold_partitions),
                         std::string(fold::alert_key), fold::encode(r)});
    return;
  }
  alerts_->submit(r, at, *sink_);
}

std::optional<std::string> detectors::fold_in(std::string_view value, timestamp_ms now) {
  if (options_.clock == clock_mode::wall_clock) now_ = now;
  auto decoded = fold::decode(value, drift_ ? drift_values_.size() : 0);
  if (auto* e = std::get_if<std::string>(&decoded)) return std::move(*e);
  if (auto* r = std::get_if<alert_request>(&decoded)) {
    alerts_->submit(*r, now_, *sink_); // counted where it was raised
    return std::nullopt;
  }
  if (!drift_) return std::string("drift values, but no drift features are configured");
  const auto& d = std::get<fold::drift_values>(decoded);
  d.values(fold_values_);
  drift_alerts(drift_->advance(now_));
  drift_->observe(d.key, d.model, fold_values_, d.at, d.ref);
  if (!drift_dirty_.contains(d.key)) drift_dirty_.emplace(d.key);
  return std::nullopt;
}

std::vector<fold_record> detectors::take_drift_state(const std::set<std::int32_t>& parts,
                                                     bool all) {
  std::vector<fold_record> out;
  if (!drift_ || options_.fold_partitions <= 0 || parts.empty()) return out;
  const timestamp_ms window = drift_->config().window_ms;
  const timestamp_ms current = window > 0 ? now_ / window : 0;
  // A window that closed changed every key's state (panes, rings, CUSUMs).
  std::set<std::int32_t> closed;
  for (const std::int32_t p : parts) {
    auto [it, fresh] = drift_written_window_.try_emplace(p, current);
    if (fresh || it->second != current) closed.insert(p);
    it->second = current;
  }
  const auto ref_text = [](std::uint64_t id) { return std::to_string(id); };
  for (const std::string& key : drift_->tracked_keys()) {
    std::string fk = fold::drift_fold_key(key);
    const std::int32_t p = fold::partition_of(fk, options_.fold_partitions);
    if (!parts.contains(p)) continue;
    const auto dirty = drift_dirty_.find(key);
    if (!all && !closed.contains(p) && dirty == drift_dirty_.end()) continue;
    if (dirty != drift_dirty_.end()) drift_dirty_.erase(dirty);
    if (auto text = drift_->export_key(key, ref_text))
      out.push_back({p, std::move(fk), std::move(*text)});
  }
  return out;
}

std::optional<std::string> detectors::restore_drift(std::string_view key, std::string_view value) {
  if (!drift_) return std::string("no drift features are configured");
  if (!fold::drift_key_of(key)) return std::string("not a drift key");
  const auto ref_id = [](std::string_view text) -> std::optional<std::uint64_t> {
    std::uint64_t id = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
    return id;
  };
  if (auto err = drift_->import_key(value, ref_id)) return err->message;
  return std::nullopt;
}

void detectors::release_fold_partitions(const std::set<std::int32_t>& parts, timestamp_ms now) {
  if (options_.fold_partitions <= 0) return;
  if (options_.clock == clock_mode::wall_clock) now_ = now;
  if (drift_)
    for (const std::string& key : drift_->tracked_keys())
      if (parts.contains(fold::partition_of(fold::drift_fold_key(key), options_.fold_partitions))) {
        drift_->release_key(key);
        drift_dirty_.erase(key);
      }
  for (const std::int32_t p : parts)
    drift_written_window_.erase(p);
  if (parts.contains(fold::partition_of(fold::alert_key, options_.fold_partitions)))
    alerts_->flush(now_, *sink_);
}

void detectors::drift_alerts(std::vector<drift::raised_alert> raised) {
  // References that froze after learning are decisions for the audit chain.
  for (auto& rec : drift_->take_audit_records()) {
    if (!chain_) break;
    auto line = chain_->append_decision(now_, "drift_reference_frozen", rec.json);
    if (auto* l = std::get_if<std::string>(&line)) audit_line(std::move(*l));
  }
  const bool kafka = options_.clock == clock_mode::wall_clock;
  for (auto& a : raised) {
    if (a.ref_id) a.request.ref = ref_of(*a.ref_id, kafka, input_topics_);
    submit(std::move(a.request), now_);
  }
}

stage_decision detectors::observe(const record_facts& f, std::string_view raw,
                                  std::string_view line, const input_ref& ref,
                                  std::optional<std::string_view> sig_header,
                                  std::optional<timestamp_ms> record_time, timestamp_ms now) {
  stage_decision d;
  const std::optional<timestamp_ms> event_time =
      f.parsed ? time_of(f.at(fact_spec::integrity_time)) : std::nullopt;
  // Event time in scan never goes backwards: late events do not rewind timers.
  if (options_.clock == clock_mode::wall_clock) {
    now_ = now;
  } else if (event_time && (*event_time > now_ || !started_)) {
    now_ = *event_time;
  }
  started_ = true;
  if (redelivered(ref)) return observe_again(f, raw, ref, sig_header, event_time, record_time);

  if (!f.parsed) {
    alert_request r;
    r.kind = "dlq";
    r.level = default_severity("dlq");
    r.rule = std::string(f.reason);
    r.title = "record rejected to the dead-letter queue";
    json_writer ev;
    ev.begin_object().key("reason").value(f.reason).end_object();
    r.evidence = ev.take();
    r.ref = ref;
    submit(std::move(r), now_);
  }

  bool authenticated = false;
  if (f.parsed) {
    const integrity::event_facts e = integrity_facts(f, raw, sig_header, event_time, record_time);
    integrity::check_result r = integrity_->check(e, now_);
    if (r.quarantine && r.quarantine_reason == "integrity.replay") remember_replay(ref);
    if (book_ && !e.source.empty() && !ref.topic.empty())
      book_->touched(e.source, integrity::home{ref.topic, ref.partition});
    if (r.status) {
      d.integrity = integrity::to_string(*r.status);
      authenticated = *r.status == integrity::integrity_status::verified;
    }
    d.quarantine = r.quarantine;
    d.reason = r.quarantine_reason;
    d.untrusted = r.untrusted;
    for (auto& a : r.alerts) {
      a.ref = ref;
      submit(std::move(a), now_);
    }
    if (r.audit && chain_) {
      auto rec = chain_->append_decision(now_, "epoch_started", r.audit->to_json());
      if (auto* l = std::get_if<std::string>(&rec)) audit_line(std::move(*l));
    }
  }

  if (f.parsed && !d.quarantine) {
    for (const auto& fs : f.findings) {
      // One request, its strings' storage reused from finding to finding.
      alert_request& r = finding_request_;
      r.kind.assign(to_string(fs.cat));
      r.level = default_severity(r.kind);
      r.source.assign(text_of(f.at(fact_spec::source)));
      r.authenticated = authenticated;
      // An unverified event's model is the sender's claim: kept out of the
      // fingerprint (high alerts bypass budgets, so a claim per event would
      // be an alert per event), shown in the evidence instead.
      const std::string_view model = text_of(f.at(fact_spec::model));
      r.model.assign(authenticated ? model : std::string_view{});
      r.rule.assign(fs.rule);
      r.title.assign(title_for(fs.cat));
      json_writer ev(std::move(r.evidence));
      ev.begin_object().key("rule").value(fs.rule).key("count").value(std::uint64_t{fs.count});
      if (!authenticated && !model.empty() && model.size() <= 64)
        ev.key("claimed_model").value(model);
      ev.end_object();
      r.evidence = ev.take();
      r.ref = ref;
      submit_at(r, now_);
    }
    // Drift learns from and watches trusted events only: an unverified or
    // untrusted source must not move the picture of the fleet.
    const bool trusted = (!d.integrity || authenticated) && !d.untrusted;
    if (drift_ && trusted) {
      // The default reads both times from /ts: parse it once.
      const std::optional<timestamp_ms> t =
          spec_->one_event_time() ? event_time : time_of(f.at(fact_spec::drift_time));
      if (t) {
        std::string_view model;
        drift_inputs(f, *spec_, drift_key_, model, drift_values_);
        const std::uint64_t ref_id = ref_id_of(ref, input_topics_);
        if (options_.fold_partitions > 0) {
          // To the key's owner, which observes them as a single instance would.
          std::string fk = fold::drift_fold_key(drift_key_);
          const std::int32_t p = fold::partition_of(fk, options_.fold_partitions);
          out_.fold.push_back(
              {p, std::move(fk), fold::encode(drift_key_, model, *t, ref_id, drift_values_)});
        } else {
          drift_alerts(drift_->advance(now_));
          drift_->observe(drift_key_, model, drift_values_, *t, ref_id);
        }
      }
    }
  }

  if (chain_) {
    const crypto::digest receipt = crypto::sha256(raw);
    if (f.parsed && !d.quarantine && text_of(f.at(fact_spec::type)) == "audit") {
      auto rec = chain_->append_event(now_, ref, receipt, line);
      if (auto* l = std::get_if<std::string>(&rec)) audit_line(std::move(*l));
    }
    if (chain_->record_receipt(receipt)) audit_line(chain_->checkpoint(now_, false));
  }
  return d;
}

bool detectors::redelivered(const input_ref& ref) {
  if (ref.topic.empty() || ref.partition < 0) return false; // scan: every line is read once
  // Looked up by view: no allocation per record once a topic is known.
  auto it = high_offsets_.find(std::string_view(ref.topic));
  if (it == high_offsets_.end()) it = high_offsets_.emplace(ref.topic, 0).first;
  std::vector<std::int64_t>& highs = it->second;
  const auto p = static_cast<std::size_t>(ref.partition);
  if (p >= highs.size()) highs.resize(p + 1, -1);
  if (highs[p] >= 0 && ref.offset <= highs[p]) {
    ++redelivered_;
    return true;
  }
  highs[p] = ref.offset;
  return false;
}

void detectors::remember_replay(const input_ref& ref) {
  if (ref.topic.empty()) return;
  // Bounded: the oldest is forgotten first. Redelivery re-reads only what was
  // not yet committed, a far shorter span than this many replays.
  constexpr std::size_t max_remembered = 65'536;
  offset_key key{ref.topic, ref.partition, ref.offset};
  if (!replayed_.insert(key).second) return;
  replayed_order_.push_back(std::move(key));
  if (replayed_order_.size() > max_remembered) {
    replayed_.erase(replayed_order_.front());
    replayed_order_.pop_front();
  }
}

stage_decision detectors::observe_again(const record_facts& f, std::string_view raw,
                                        const input_ref& ref,
                                        std::optional<std::string_view> sig_header,
                                        std::optional<timestamp_ms> event_time,
                                        std::optional<timestamp_ms> record_time) {
  // Judged before (and its alerts, drift values and audit receipt with it):
  // the same verdict again, nothing counted twice.
  stage_decision d;
  if (!f.parsed) return d;
  if (replayed_.contains(offset_key{ref.topic, ref.partition, ref.offset})) {
    d.quarantine = true;
    d.reason = "integrity.replay";
    d.integrity = integrity::to_string(integrity::integrity_status::replay);
    return d;
  }
  const integrity::check_result r =
      integrity_->recheck(integrity_facts(f, raw, sig_header, event_time, record_time), now_);
  if (r.status) d.integrity = integrity::to_string(*r.status);
  d.quarantine = r.quarantine;
  d.reason = r.quarantine_reason;
  d.untrusted = r.untrusted;
  return d;
}

std::string detectors::state_key(std::string_view topic, std::string_view source) {
  // Topic names never hold a NUL, so the first one ends the topic.
  std::string key(topic);
  key += '\0';
  key += source;
  return key;
}

std::vector<detectors::state_record>
detectors::take_state(const std::set<integrity::home>* only, timestamp_ms now,
                      std::map<integrity::home, std::int64_t>& positions) {
  std::vector<state_record> out;
  if (!book_) return out;
  for (auto& [source, h] : book_->take_changed(only)) {
    state_record r{h.partition, state_key(h.topic, source), integrity_->export_source(source, now)};
    out.push_back(std::move(r));
  }
  // Positions go last: a reader that sees one has every source before it.
  std::set<integrity::home> homes;
  if (only != nullptr) homes = *only;
  for (const auto& [topic, highs] : high_offsets_)
    for (std::size_t p = 0; p < highs.size(); ++p) {
      integrity::home h{topic, static_cast<std::int32_t>(p)};
      if (highs[p] < 0 || (only != nullptr && !only->contains(h))) continue;
      const auto w = written_high_.find(h);
      if (only == nullptr && w != written_high_.end() && w->second == highs[p]) continue;
      homes.insert(std::move(h));
    }
  for (const integrity::home& h : homes) {
    const auto it = high_offsets_.find(std::string_view(h.topic));
    if (it == high_offsets_.end() || static_cast<std::size_t>(h.partition) >= it->second.size() ||
        it->second[static_cast<std::size_t>(h.partition)] < 0)
      continue;
    integrity::partition_position pos;
    pos.high = it->second[static_cast<std::size_t>(h.partition)];
    for (auto r = replayed_.lower_bound(offset_key{h.topic, h.partition, 0});
         r != replayed_.end() && std::get<0>(*r) == h.topic && std::get<1>(*r) == h.partition; ++r)
      pos.replayed.push_back(std::get<2>(*r));
    if (pos.replayed.size() > integrity::max_position_replays)
      pos.replayed.erase(pos.replayed.begin(),
                         pos.replayed.end() -
                             static_cast<std::ptrdiff_t>(integrity::max_position_replays));
    out.push_back(state_record{h.partition, state_key(h.topic, ""), integrity::encode(pos)});
    written_high_[h] = pos.high;
    positions[h] = pos.high;
  }
  return out;
}

std::optional<std::int64_t> detectors::restore_state(const integrity::home& h, std::string_view key,
                                                     std::string_view value, timestamp_ms now) {
  if (!book_ || key.size() <= h.topic.size() || !key.starts_with(h.topic) ||
      key[h.topic.size()] != '\0')
    return std::nullopt;
  const std::string_view source = key.substr(h.topic.size() + 1);
  if (!source.empty()) {
    if (integrity_->restore_source(source, value, now)) book_->placed(source, h);
    return std::nullopt;
  }
  const auto pos = integrity::decode_position(value);
  if (!pos || h.partition < 0) return std::nullopt;
  // Records up to the position were judged by the previous owner and their
  // effect is in the restored state: read again, they are redeliveries.
  auto it = high_offsets_.find(std::string_view(h.topic));
  if (it == high_offsets_.end()) it = high_offsets_.emplace(h.topic, 0).first;
  auto& highs = it->second;
  const auto p = static_cast<std::size_t>(h.partition);
  if (p >= highs.size()) highs.resize(p + 1, -1);
  highs[p] = std::max(highs[p], pos->high);
  written_high_[h] = highs[p];
  for (std::int64_t off : pos->replayed)
    remember_replay(input_ref{h.topic, h.partition, off});
  return pos->high;
}

void detectors::release_partition(const integrity::home& h) {
  if (!book_) return;
  for (const std::string& source : book_->release(h))
    integrity_->forget_source(source);
}

void detectors::tick(timestamp_ms now) {
  if (options_.clock == clock_mode::wall_clock) now_ = now;
  for (auto& a : integrity_->tick(now_))
    submit(std::move(a), now_);
  if (drift_) drift_alerts(drift_->advance(now_));
  alerts_->tick(now_, *sink_);
  if (chain_ && chain_->checkpoint_due(now_)) audit_line(chain_->checkpoint(now_, false));
}

void detectors::finish(timestamp_ms now) {
  if (options_.clock == clock_mode::wall_clock) now_ = now;
  for (auto& a : integrity_->finish(now_))
    submit(std::move(a), now_);
  if (drift_) drift_alerts(drift_->finish());
  alerts_->flush(now_, *sink_);
  if (chain_) audit_line(chain_->checkpoint(now_, true));
}

void drift_inputs(const record_facts& f, const fact_spec& spec, std::string& key,
                  std::string_view& model, std::vector<drift::feature_value>& values) {
  key.clear();
  model = {};
  const std::size_t keys = spec.drift_feature_slot(0) - spec.drift_key_slot(0);
  for (std::size_t i = 0; i < keys; ++i) {
    const fact& k = f.at(spec.drift_key_slot(i));
    if (i != 0) key += '\x1f'; // a unit separator: the joining stays injective
    key += k.text;
    if (i == 0) model = k.text;
  }
  for (std::size_t i = 0; i < values.size(); ++i) {
    const fact& v = f.at(spec.drift_feature_slot(i));
    if (auto n = number_of(v))
      values[i] = drift::feature_value::of(*n);
    else if (v.is_string())
      values[i] = drift::feature_value::of(std::string_view(v.text));
    else if (v.k == fact::kind::boolean)
      values[i] =
          drift::feature_value::of(v.flag ? std::string_view("true") : std::string_view("false"));
    else
      values[i] = drift::feature_value::missing();
  }
}

void reannotate(std::string& out, std::string_view line, const record_facts& f,
                const stage_decision& d) {
  // The event body: the line without its `_bulwark` member when it had one.
  std::string body;
  if (f.body_size != 0) {
    body.assign(line.substr(0, f.body_size - 1));
    body += '}';
  } else {
    body.assign(line);
  }
  std::string annotation;
  const verdict v = f.findings.empty() ? verdict::clean : f.v;
  append_annotation(annotation, v, d.integrity, d.untrusted, f.findings_json);
  json::append_with_member(out, body, "_bulwark", annotation);
}

} // namespace bulwark::pipeline
