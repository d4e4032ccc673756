#include "integrity/checker.hpp"

#include "config/options.hpp"
#include "core/json_writer.hpp"

#include <cmath>

namespace bulwark::integrity {
namespace {

alert_request make_alert(std::string_view kind, std::string_view source, bool authenticated,
                         std::string_view model, std::string_view rule, std::string title,
                         std::string evidence, timestamp_ms at) {
  alert_request a;
  a.kind = std::string(kind);
  a.level = default_severity(kind);
  a.source = std::string(clip_identifier(source));
  a.authenticated = authenticated;
  // An unverified event's model is the sender's claim: kept out of the
  // fingerprint (SPEC §6: authenticated fields only), shown in the evidence,
  // as findings do.
  if (authenticated) {
    a.model = std::string(clip_identifier(model));
  } else if (!model.empty() && model.size() <= 64 && evidence.size() >= 2 &&
             evidence.back() == '}') {
    evidence.pop_back();
    if (evidence.size() > 1) evidence += ',';
    append_json_string(evidence, "claimed_model");
    evidence += ':';
    append_json_string(evidence, model);
    evidence += '}';
  }
  a.rule = std::string(clip_identifier(rule));
  a.title = std::move(title);
  a.evidence = std::move(evidence);
  a.at = at;
  return a;
}

/// "source srv-4" for titles; the name is clipped, never other event text.
std::string naming(std::string_view source) {
  if (source.empty()) return "an event without a source";
  return "source " + std::string(clip_identifier(source, 64));
}

std::string_view form_name(signature_claim::form f) noexcept {
  switch (f) {
  case signature_claim::form::body:
    return "body";
  case signature_claim::form::header:
    return "header";
  case signature_claim::form::none:
    break;
  }
  return "none";
}

std::string gap_evidence(const gap_report& g) {
  json_writer w;
  w.begin_object();
  w.key("epoch").value(clip_identifier(g.epoch));
  w.key("missing").value(g.missing);
  w.key("first").value(g.first);
  w.key("last").value(g.last);
  w.key("ranges").begin_array();
  for (const auto& [a, b] : g.ranges)
    w.begin_array().value(a).value(b).end_array();
  w.end_array();
  w.key("ranges_truncated").value(g.ranges_truncated);
  w.end_object();
  return w.take();
}

alert_request gap_alert(const gap_report& g, timestamp_ms at) {
  std::string title = std::to_string(g.missing) + " sequence number" + (g.missing == 1 ? "" : "s") +
                      " missing from " + naming(g.source);
  return make_alert("integrity.gap", g.source, true, "", "sequence", std::move(title),
                    gap_evidence(g), at);
}

} // namespace

checker_settings settings_from(const config::integrity_options& opts) {
  checker_settings s;
  s.require_signature = opts.require_signature;
  s.silence_after = opts.silence_after.count();
  s.max_skew = opts.max_skew.count();
  s.replay_window = opts.replay_window;
  s.reorder_tolerance = opts.reorder_tolerance;
  s.reset_max_seq = opts.reset_max_seq;
  s.watermark_quorum = opts.watermark_quorum;
  s.max_sources = opts.max_sources;
  s.max_streams = opts.max_streams;
  s.max_epochs_per_source = opts.max_epochs_per_source;
  const auto& p = opts.poisoning;
  s.poisoning.window = p.window.count();
  s.poisoning.min_peers = p.min_peers;
  s.poisoning.z_threshold = p.z_threshold;
  s.poisoning.persistence = p.persistence;
  s.poisoning.persistence_lookback = p.persistence_lookback;
  s.poisoning.untrusted_for = p.untrusted_for.count();
  s.poisoning.rollback_min_z = p.rollback_min_z;
  s.poisoning.non_negative = p.non_negative;
  s.poisoning.unit_interval = p.unit_interval;
  s.poisoning.higher_is_worse = p.higher_is_worse;
  s.poisoning.lower_is_worse = p.lower_is_worse;
  return s;
}

std::string epoch_record::to_json() const {
  json_writer w;
  w.begin_object();
  w.key("kind").value("integrity.epoch");
  w.key("source").value(clip_identifier(change.source));
  w.key("previous_epoch").value(clip_identifier(change.previous_epoch));
  w.key("epoch").value(clip_identifier(change.epoch));
  w.key("seq").value(change.first_seq);
  w.key("ts").value(format_rfc3339(at));
  w.end_object();
  return w.take();
}

std::variant<checker, settings_error> checker::make(checker_settings s, key_ring keys) {
  const auto& p = s.poisoning;
  if (s.silence_after <= 0) return settings_error{"integrity.silence_after: must be positive"};
  if (s.max_skew < 0) return settings_error{"integrity.max_skew: must not be negative"};
  if (s.silence_sweep_interval < 0)
    return settings_error{"integrity.silence_sweep_interval: must not be negative"};
  if (s.watermark_quorum < 1) return settings_error{"integrity.watermark_quorum: must be >= 1"};
  if (s.max_sources < 1) return settings_error{"integrity.max_sources: must be >= 1"};
  if (p.window <= 0) return settings_error{"integrity.poisoning.window: must be positive"};
  if (p.grace < 0) return settings_error{"integrity.poisoning.grace: must not be negative"};
  if (p.min_peers < 3)
    return settings_error{"integrity.poisoning.min_peers: a median needs at least 3 peers"};
  if (!(p.z_threshold > 0) || !(p.rollback_min_z > 0))
    return settings_error{"integrity.poisoning: z thresholds must be positive"};
  if (!(p.rel_scale_floor >= 0) || !(p.abs_scale_floor > 0) || !(p.unit_interval_scale_floor >= 0))
    return settings_error{"integrity.poisoning: abs_scale_floor must be positive, "
                          "rel_scale_floor and unit_interval_scale_floor not negative"};
  if (p.persistence < 1 || p.persistence > p.persistence_lookback)
    return settings_error{"integrity.poisoning.persistence: must be between 1 and "
                          "persistence_lookback"};
  if (p.rollback_lookback < 1)
    return settings_error{"integrity.poisoning.rollback_lookback: must be >= 1"};
  if (p.untrusted_for <= 0)
    return settings_error{"integrity.poisoning.untrusted_for: must be positive"};
  if (p.max_groups < 1 || p.max_sources_per_window < 1 || p.max_open_windows < 1 ||
      p.max_entries < 1 || p.max_trust_entries < 1)
    return settings_error{"integrity.poisoning: caps must be >= 1"};

  sequence_settings q;
  q.window_bits = s.replay_window;
  q.reorder_tolerance = s.reorder_tolerance;
  q.reset_max_seq = s.reset_max_seq;
  q.stale_epoch_after = s.max_skew;
  q.max_streams = s.max_streams;
  q.max_epochs_per_source = s.max_epochs_per_source;
  auto seq = sequence_tracker::make(q);
  if (auto* err = std::get_if<settings_error>(&seq)) return *err;
  return checker(std::move(s), std::move(keys), std::get<sequence_tracker>(std::move(seq)));
}

checker::checker(checker_settings s, key_ring keys, sequence_tracker seq)
    : settings_(std::move(s)), verifier_(std::move(keys)), sequences_(std::move(seq)),
      clock_(clock_settings{settings_.max_skew, settings_.watermark_quorum}),
      silence_(silence_settings{settings_.silence_after, settings_.max_sources}),
      peers_(settings_.poisoning), window_bits_(replay_window(settings_.replay_window).size()) {}

verification checker::verify_only(const event_facts& e, timestamp_ms now) const {
  const timestamp_ms key_time = e.event_time.value_or(e.record_time.value_or(now));
  return verifier_.verify(find_signature(e.raw, e.sig_header), key_time);
}

check_result checker::check(const event_facts& e, timestamp_ms now) {
  if (!keyed()) return check_verified(e, verification{}, std::nullopt, now);
  // The window is consulted before the MAC and changed only after it, so a
  // forged event can neither move it nor burn a genuine number.
  const signature_claim claim = find_signature(e.raw, e.sig_header);
  std::optional<seq_verdict> pre;
  if (claim.present() && claim.problem == sig_problem::none && !e.source.empty() && e.seq)
    pre = sequences_.check({e.source, e.epoch}, *e.seq, e.event_time);
  const timestamp_ms key_time = e.event_time.value_or(e.record_time.value_or(now));
  return check_verified(e, verifier_.verify(claim, key_time), pre, now);
}

check_result checker::recheck(const event_facts& e, timestamp_ms now) const {
  check_result r;
  if (keyed()) {
    const verification v = verify_only(e, now);
    r.status = v.status;
    if (v.status == integrity_status::not_signed) {
      for (const auto& p : settings_.require_signature)
        if (glob_match(p, e.source)) {
          r.quarantine = true;
          r.quarantine_reason = "integrity.unsigned";
          break;
        }
    } else if (v.status != integrity_status::verified) {
      r.quarantine = true;
      r.quarantine_reason = "integrity.tamper";
    }
  }
  r.untrusted = !r.quarantine && !e.source.empty() && peers_.untrusted(e.source, now);
  return r;
}

check_result checker::check(const event_facts& e, const verification& v, timestamp_ms now) {
  return check_verified(e, v, std::nullopt, now);
}

check_result checker::check_verified(const event_facts& e, const verification& v,
                                     std::optional<seq_verdict> pre, timestamp_ms now) {
  check_result r;
  bool authenticated = false;
  if (keyed()) {
    if (v.status == integrity_status::not_signed) {
      r.status = integrity_status::not_signed;
      on_unsigned(e, now, r);
    } else if (v.status != integrity_status::verified) {
      on_failed(e, v, now, r);
    } else {
      authenticated = true;
      if (!pre && !e.source.empty() && e.seq)
        pre = sequences_.check({e.source, e.epoch}, *e.seq, e.event_time);
      on_verified(e, pre.value_or(seq_verdict::first), now, r);
    }
  }
  if (r.quarantine) return r;

  // Only authenticated events may move the fleet's clock when keys exist;
  // without keys nothing is authenticated and every event counts.
  const bool trusted = !keyed() || r.status == integrity_status::verified;
  bool skewed = false;
  check_time(e, trusted, now, r, skewed);
  if (keyed() && r.status == integrity_status::verified && !skewed && !e.source.empty()) {
    std::optional<timestamp_ms> at;
    if (settings_.silence_basis == time_basis::wall_clock)
      at = now;
    else
      at = e.event_time ? e.event_time : clock_.watermark();
    if (at) {
      const heard_outcome h = silence_.heard(e.source, *at);
      if (h.capacity_hit) capacity("sources", settings_.max_sources, now, r.alerts);
    }
  }
  // On event time only events move the clock, so the sweep belongs here: a
  // silence that starts and ends between two tick() calls (one scan batch can
  // span an hour of event time) is still reported, by the event that showed it.
  if (keyed() && settings_.silence_basis == time_basis::event_time)
    if (const auto w = clock_.watermark()) sweep_silence(*w, now, r.alerts);

  const bool counts_as_authenticated = authenticated || !keyed();
  if (e.type == "metric" && !skewed) check_metric(e, counts_as_authenticated, now, r);
  if (e.type == "audit" && e.action == "rollback")
    check_rollback(e, counts_as_authenticated, now, r);
  peers_.advance(clock_.watermark().value_or(now), now, found_);
  poisoning_alerts(found_, now, r.alerts);
  if (const auto hit = peers_.take_capacity_hit()) capacity(hit->table, hit->cap, now, r.alerts);
  r.untrusted = !e.source.empty() && peers_.untrusted(e.source, now);
  return r;
}

void checker::on_unsigned(const event_facts& e, timestamp_ms now, check_result& r) {
  const std::string* pattern = nullptr;
  for (const auto& p : settings_.require_signature)
    if (glob_match(p, e.source)) {
      pattern = &p;
      break;
    }
  if (pattern == nullptr) return;
  r.quarantine = true;
  r.quarantine_reason = "integrity.unsigned";
  if (!e.source.empty() && e.seq) sequences_.account({e.source, e.epoch}, *e.seq);
  json_writer w;
  w.begin_object();
  w.key("reason").value("unsigned");
  w.key("pattern").value(*pattern); // configuration, not event text
  w.end_object();
  r.alerts.push_back(
      make_alert("integrity.unsigned", e.source, false, e.model, *pattern,
                 "unsigned event from " + naming(e.source) + ", which must sign its telemetry",
                 w.take(), now));
}

void checker::on_failed(const event_facts& e, const verification& v, timestamp_ms now,
                        check_result& r) {
  r.status = v.status;
  r.quarantine = true;
  r.quarantine_reason = "integrity.tamper";
  if (!e.source.empty() && e.seq) sequences_.account({e.source, e.epoch}, *e.seq);
  const signature_claim::form form =
      e.sig_header ? signature_claim::form::header : signature_claim::form::body;
  json_writer w;
  w.begin_object();
  w.key("reason").value(to_string(v.problem));
  w.key("form").value(form_name(form));
  // A kid is echoed only when it names a configured key: anything else is
  // event text an attacker chose.
  if (v.key != nullptr) w.key("kid").value(v.key->kid);
  if (e.seq) w.key("seq").value(*e.seq);
  w.end_object();
  std::string title =
      "signature check failed (" + std::string(to_string(v.problem)) + ") for " + naming(e.source);
  r.alerts.push_back(make_alert("integrity.tamper", e.source, false, e.model,
                                v.key != nullptr ? std::string_view(v.key->kid) : "signature",
                                std::move(title), w.take(), now));
}

void checker::on_verified(const event_facts& e, seq_verdict pre, timestamp_ms now,
                          check_result& r) {
  r.status = integrity_status::verified;
  if (e.source.empty() || !e.seq) return;
  const stream_id id{e.source, e.epoch};
  if (pre == seq_verdict::replay || pre == seq_verdict::stale_epoch) {
    r.status = integrity_status::replay;
    r.quarantine = true;
    r.quarantine_reason = "integrity.replay";
    std::string_view why = "stale_epoch";
    std::optional<std::uint64_t> head;
    if (pre == seq_verdict::replay) {
      head = sequences_.head(id);
      why = head && *head >= *e.seq && *head - *e.seq >= window_bits_ ? "below_window" : "seen";
    }
    json_writer w;
    w.begin_object();
    w.key("reason").value(why);
    w.key("epoch").value(clip_identifier(e.epoch));
    w.key("seq").value(*e.seq);
    if (head) w.key("head").value(*head);
    w.end_object();
    r.alerts.push_back(make_alert("integrity.replay", e.source, true, e.model, "sequence",
                                  "replayed event (sequence " + std::to_string(*e.seq) + ") from " +
                                      naming(e.source),
                                  w.take(), now));
    return;
  }

  commit_outcome c = sequences_.commit(id, *e.seq, e.event_time);
  if (c.capacity_hit) capacity("sequence_streams", settings_.max_streams, now, r.alerts);
  if (c.gap) r.alerts.push_back(gap_alert(*c.gap, now));
  if (c.verdict == seq_verdict::reset) {
    json_writer w;
    w.begin_object();
    w.key("epoch").value(clip_identifier(e.epoch));
    w.key("seq").value(*e.seq);
    w.key("previous_head").value(c.reset_from);
    w.end_object();
    r.alerts.push_back(make_alert("integrity.reset", e.source, true, e.model, "sequence",
                                  "sequence of " + naming(e.source) + " restarted at " +
                                      std::to_string(*e.seq) + " without a new epoch",
                                  w.take(), now));
  }
  if (c.epoch) r.audit = epoch_record{std::move(*c.epoch), now, true};
}

void checker::check_time(const event_facts& e, bool may_move, timestamp_ms now, check_result& r,
                         bool& skewed) {
  if (!e.event_time) return;
  const timestamp_ms t = *e.event_time;
  const bool record_skew = e.record_time && skewed_from(t, *e.record_time, settings_.max_skew);
  const bool had_watermark = clock_.watermark().has_value();
  const time_observation obs = clock_.observe(e.source, t, may_move && !record_skew);
  skewed = record_skew || obs.skewed;
  if (!skewed) return;
  json_writer w;
  w.begin_object();
  w.key("event_time").value(format_rfc3339(t));
  if (had_watermark) w.key("watermark_offset_ms").value(obs.offset);
  if (e.record_time) w.key("record_offset_ms").value(t - *e.record_time);
  w.key("max_skew_ms").value(settings_.max_skew);
  w.key("reference").value(obs.skewed ? "watermark" : "record_time");
  w.end_object();
  r.alerts.push_back(make_alert(
      "integrity.skew", e.source, r.status == integrity_status::verified, e.model, "event_time",
      "event time of " + naming(e.source) + " is further than max_skew from the fleet", w.take(),
      now));
}

void checker::check_metric(const event_facts& e, bool authenticated, timestamp_ms now,
                           check_result& r) {
  if (e.source.empty() || e.model.empty() || e.name.empty() || !e.value) return;
  // An unsigned sample under the name of a source that signs is not that
  // source speaking: it must not frame an honest peer or skew the median.
  if (keyed() && !authenticated && (sequences_.knows(e.source) || silence_.knows(e.source))) return;
  metric_sample m;
  m.source = e.source;
  m.model = e.model;
  m.name = e.name;
  m.value = *e.value;
  m.at = e.event_time.value_or(e.record_time.value_or(now));
  m.authenticated = authenticated;
  peers_.observe(m, now, found_);
  poisoning_alerts(found_, now, r.alerts);
}

void checker::check_rollback(const event_facts& e, bool authenticated, timestamp_ms now,
                             check_result& r) {
  if (e.model.empty()) return;
  const timestamp_ms at = e.event_time.value_or(now);
  const rollback_assessment a = peers_.assess_rollback(e.model, at, now);
  if (!a.fire()) return;
  json_writer w;
  w.begin_object();
  w.key("triggering_metrics").value(static_cast<std::uint64_t>(a.triggering));
  w.key("suspicious_metrics").value(static_cast<std::uint64_t>(a.suspicious));
  w.key("rollback_authenticated").value(authenticated);
  w.key("suspects").begin_array();
  for (const auto& s : a.suspects) {
    w.begin_object();
    w.key("source").value(clip_identifier(s.source));
    w.key("metric").value(clip_identifier(s.metric));
    w.key("value").value(s.value);
    w.key("robust_z").value(s.robust_z);
    w.key("untrusted").value(s.untrusted);
    w.key("unsigned").value(s.unauthenticated);
    w.key("window_start").value(format_rfc3339(s.window_start));
    w.end_object();
  }
  w.end_array();
  w.end_object();
  r.alerts.push_back(make_alert("rollback_guard", e.source, authenticated, e.model, "rollback",
                                "rollback of model " + std::string(clip_identifier(e.model, 64)) +
                                    " follows metrics from untrusted or unsigned sources",
                                w.take(), now));
}

void checker::poisoning_alerts(std::vector<poisoning_finding>& found, timestamp_ms now,
                               std::vector<alert_request>& out) {
  for (const auto& f : found) {
    json_writer w;
    w.begin_object();
    const bool outlier = f.reason == poisoning_finding::why::peer_outlier;
    w.key("reason").value(outlier ? "peer_outlier" : "impossible_value");
    w.key("metric").value(clip_identifier(f.metric));
    w.key("value").value(f.value);
    if (outlier) {
      w.key("peer_median").value(f.peer_median);
      w.key("robust_z").value(f.robust_z);
      w.key("peers").value(static_cast<std::uint64_t>(f.peers));
      w.key("outlier_windows").value(static_cast<std::uint64_t>(f.outlier_windows));
    } else {
      w.key("bound").value(f.bound);
    }
    w.key("window_start").value(format_rfc3339(f.window_start));
    w.key("untrusted_until").value(format_rfc3339(f.untrusted_until));
    w.end_object();
    std::string title =
        naming(f.source) +
        (outlier ? " disagrees with its peers on " : " reports an impossible value for ") +
        std::string(clip_identifier(f.metric, 64));
    out.push_back(make_alert("poisoning", f.source, f.authenticated, f.model, f.metric,
                             std::move(title), w.take(), now));
  }
  found.clear();
}

void checker::capacity(std::string_view table, std::size_t cap, timestamp_ms now,
                       std::vector<alert_request>& out) {
  auto it = capacity_alerted_.find(table);
  if (it != capacity_alerted_.end() && now - it->second < settings_.capacity_alert_interval) return;
  capacity_alerted_[std::string(table)] = now;
  json_writer w;
  w.begin_object();
  w.key("table").value(table);
  w.key("cap").value(static_cast<std::uint64_t>(cap));
  w.end_object();
  out.push_back(make_alert("capacity", "", false, "", table,
                           "integrity " + std::string(table) +
                               " table is full; least recently used entries were evicted",
                           w.take(), now));
}

std::vector<alert_request> checker::tick(timestamp_ms now) {
  std::vector<alert_request> out = std::move(pending_);
  pending_.clear();
  peers_.advance(clock_.watermark().value_or(now), now, found_);
  poisoning_alerts(found_, now, out);
  if (!keyed()) return out;
  const std::optional<timestamp_ms> reference = settings_.silence_basis == time_basis::wall_clock
                                                    ? std::optional<timestamp_ms>(now)
                                                    : clock_.watermark();
  if (reference) sweep_silence(*reference, now, out);
  return out;
}

void checker::sweep_silence(timestamp_ms reference, timestamp_ms now,
                            std::vector<alert_request>& out) {
  // Throttle forward steps only: a watermark re-anchored backwards sweeps at once.
  if (last_sweep_ && reference >= *last_sweep_ &&
      reference < *last_sweep_ + settings_.silence_sweep_interval)
    return;
  last_sweep_ = reference;
  for (const auto& s : silence_.sweep(reference)) {
    json_writer w;
    w.begin_object();
    w.key("basis").value(settings_.silence_basis == time_basis::wall_clock ? "wall_clock"
                                                                           : "event_time");
    w.key("last_heard").value(format_rfc3339(s.last_heard));
    w.key("silent_for_ms").value(s.silent_for);
    w.key("silence_after_ms").value(settings_.silence_after);
    w.end_object();
    out.push_back(make_alert("integrity.silence", s.source, true, "", "silence",
                             naming(s.source) + " has gone silent", w.take(), now));
  }
}

std::vector<alert_request> checker::finish(timestamp_ms now) {
  std::vector<alert_request> out;
  for (const auto& g : sequences_.finish())
    out.push_back(gap_alert(g, now));
  peers_.close_all(now, found_);
  poisoning_alerts(found_, now, out);
  return out;
}

std::optional<std::string> checker::export_source(std::string_view source, timestamp_ms now) const {
  if (!keyed() || source.empty()) return std::nullopt;
  source_snapshot s;
  s.source = std::string(source);
  s.saved_at = now;
  s.wall_clock_basis = settings_.silence_basis == time_basis::wall_clock;
  const bool sequenced = sequences_.export_source(source, s);
  if (const auto heard = silence_.state_of(source)) {
    s.last_heard = heard->first;
    s.silent = heard->second;
  }
  s.untrusted_until = peers_.untrusted_until(source, now);
  if (!sequenced && !s.last_heard && !s.untrusted_until) return std::nullopt;
  return encode(s);
}

bool checker::restore_source(std::string_view source, std::string_view blob, timestamp_ms now) {
  if (!keyed()) return false;
  std::optional<source_snapshot> s = decode(blob);
  if (!s || s->source != source) {
    ++restores_refused_;
    return false;
  }
  if (sequences_.restore_source(*s))
    capacity("sequence_streams", settings_.max_streams, now, pending_);
  silence_.forget(source);
  if (s->last_heard) {
    timestamp_ms heard = *s->last_heard;
    // Nobody could hear the source between the export and now (the partition
    // was moving, or every instance was down): that time is not silence.
    const bool wall = settings_.silence_basis == time_basis::wall_clock;
    if (wall && s->wall_clock_basis && now > s->saved_at) heard += now - s->saved_at;
    if (silence_.restore(source, heard, s->silent).capacity_hit)
      capacity("sources", settings_.max_sources, now, pending_);
  }
  if (s->untrusted_until) peers_.restore_untrusted(source, *s->untrusted_until, now);
  return true;
}

void checker::forget_source(std::string_view source) {
  sequences_.forget(source);
  silence_.forget(source);
}

source_counts checker::sources(timestamp_ms now) const {
  return {silence_.size(), peers_.untrusted_sources(now)};
}

void checker::for_each_source(timestamp_ms now,
                              const std::function<void(const source_view&)>& fn) const {
  silence_.for_each([&](std::string_view name, timestamp_ms heard, bool silent) {
    source_view v;
    v.source = name;
    v.last_heard = heard;
    v.silent = silent;
    v.untrusted = peers_.untrusted(name, now);
    if (auto cur = sequences_.current(name)) {
      v.epoch = cur->first;
      v.last_seq = cur->second;
    }
    fn(v);
  });
  // Untrusted sources never heard verified (unkeyed metrics) still get a row.
  peers_.untrusted_sources(now, [&](std::string_view name) {
    if (silence_.knows(name)) return;
    source_view v;
    v.source = name;
    v.untrusted = true;
    fn(v);
  });
}

} // namespace bulwark::integrity
