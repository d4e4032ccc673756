/// YAML -> options.
///
/// The readers below are small functions from a YAML node (with its dotted
/// path and line) to a typed value. A section is a table of fields, each one a
/// key name, the member it fills and the reader for its value; adding a key is
/// adding one line to a table (and to docs/configuration.md).
///
/// Invariants:
///  1. Keys are visited in file order, so the error reported is the first one
///     an operator would meet reading the file top to bottom.
///  2. A key that is absent keeps the default from options.hpp.
///  3. Key material (hex values, librdkafka property values) is never copied
///     into an error; any echoed value with a long run of hex digits is
///     withheld too, in case a key was pasted into the wrong field.
///  4. Nothing throws out of load_*: the readers throw `failure`, yaml-cpp throws
///     its own exceptions, and load_string turns both into a load_error.
#include "config/load.hpp"

#include "config/readers.hpp"
#include "core/alert_request.hpp"
#include "core/verdict.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace bulwark::config {

using namespace readers;

std::string load_error::message() const {
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  for (const std::string* part : {&key, &reason}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

namespace {

/// A number followed by a unit from `units`, scaled; nullopt on anything else,
/// including a missing number, a sign, spaces or overflow past `max`.
std::optional<std::uint64_t>
scaled_number(std::string_view text,
              std::initializer_list<std::pair<std::string_view, std::uint64_t>> units,
              std::uint64_t max) {
  std::uint64_t n = 0;
  const char* const end = text.data() + text.size();
  const auto [unit_begin, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{}) return std::nullopt;
  const std::string_view unit(unit_begin, static_cast<std::size_t>(end - unit_begin));
  for (const auto& [name, factor] : units) {
    if (unit != name) continue;
    if (n > max / factor) return std::nullopt;
    return n * factor;
  }
  return std::nullopt;
}

} // namespace

std::optional<duration> parse_duration(std::string_view text) {
  constexpr auto max_ms = static_cast<std::uint64_t>(std::numeric_limits<duration::rep>::max());
  const auto ms = scaled_number(
      text, {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}, max_ms);
  if (!ms) return std::nullopt;
  return duration(static_cast<duration::rep>(*ms));
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  return scaled_number(text, {{"", 1}, {"B", 1}, {"KiB", kib}, {"MiB", mib}, {"GiB", gib}},
                       std::numeric_limits<std::uint64_t>::max());
}

namespace {

// ---------------------------------------------------------------------------
// Sections.

limits_options read_limits(const value& v) {
  limits_options o;
  read_mapping(v, {
                      field("max_event_bytes", o.max_event_bytes, byte_size(64, 256 * mib)),
                      field("max_depth", o.max_depth, integer<std::size_t>(1, 1024)),
                  });
  return o;
}

/// Topics bulwark reads and writes must all differ: an output that is also an
/// input would feed bulwark its own records, and two outputs sharing a topic
/// would mix record kinds (the audit chain in particular).
void check_topics(const value& section, const present& seen, const kafka_options& o) {
  struct use {
    std::string topic;
    std::string what;
    value at;
    bool in_file; ///< named in the file, not a default: the better place to point at
  };
  const auto located = [&](std::string_view key) {
    const auto it = seen.find(key);
    return it != seen.end()
               ? std::pair{it->second, true}
               : std::pair{value{section.node, section.child_path(key), section.line}, false};
  };
  std::vector<use> uses;
  const auto [inputs, inputs_in_file] = located("inputs");
  const bool suffix_in_file = seen.contains("sanitized_suffix");
  for (std::size_t i = 0; i < o.inputs.size(); ++i) {
    const value at = inputs.item(i, inputs.node.IsSequence() ? inputs.node[i] : YAML::Node());
    const std::string sanitized = o.inputs[i] + o.sanitized_suffix;
    if (!is_valid_topic_name(sanitized))
      at.fail(
          cat("the sanitized topic ", shown(sanitized), " would be longer than 249 characters"));
    uses.push_back({o.inputs[i], at.path, at, inputs_in_file});
    const value& sanitized_at =
        !inputs_in_file && suffix_in_file ? seen.at("sanitized_suffix") : at;
    uses.push_back({sanitized, cat(at.path, " + sanitized_suffix"), sanitized_at,
                    inputs_in_file || suffix_in_file});
  }
  for (const auto& [key, topic] : {std::pair{"alerts_topic", &o.alerts_topic},
                                   {"audit_topic", &o.audit_topic},
                                   {"dlq_topic", &o.dlq_topic},
                                   {"quarantine_topic", &o.quarantine_topic},
                                   {"integrity_state_topic", &o.integrity_state_topic},
                                   {"fold_topic", &o.fold_topic}}) {
    if (topic->empty()) continue; // a changelog turned off uses no topic
    const auto [at, in_file] = located(key);
    uses.push_back({*topic, at.path, at, in_file});
  }
  if (!o.fold_topic.empty()) {
    const auto [at, in_file] = located("fold_topic");
    const std::string state = o.fold_topic + ".state";
    if (!is_valid_topic_name(state))
      at.fail(cat("the drift state topic ", shown(state), " would be longer than 249 characters"));
    uses.push_back({state, cat(at.path, " + .state"), at, in_file});
  }
  for (std::size_t j = 1; j < uses.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (uses[i].topic != uses[j].topic) continue;
      // Point at what the operator wrote, and of two such places at the later one.
      const use& first = uses[i];
      const use& second = uses[j];
      const bool pick_first = first.in_file && (!second.in_file || first.at.line > second.at.line);
      const value& at = pick_first ? first.at : second.at;
      at.fail(cat("topic ", shown(uses[i].topic), " is used twice: by ", uses[i].what, " and by ",
                  uses[j].what));
    }
  }
}

kafka_options read_kafka(const value& v) {
  kafka_options o;
  const present seen = read_mapping(
      v, {
             field("brokers", o.brokers, non_empty_text),
             field("group_id", o.group_id, non_empty_text),
             field("exactly_once", o.exactly_once, boolean),
             field("inputs", o.inputs, list_of(topic_name, non_empty_list)),
             field("sanitized_suffix", o.sanitized_suffix, topic_suffix),
             field("alerts_topic", o.alerts_topic, topic_name),
             field("audit_topic", o.audit_topic, topic_name),
             field("audit_writer", o.audit_writer,
                   [](const value& t) {
                     std::string s = text(t);
                     if (!is_valid_writer_id(s))
                       t.fail(cat("not a writer id (1-128 characters of a-z A-Z 0-9 . _ - :), got ",
                                  shown(s)));
                     return s;
                   }),
             field("dlq_topic", o.dlq_topic, topic_name),
             field("quarantine_topic", o.quarantine_topic, topic_name),
             field("integrity_state_topic", o.integrity_state_topic,
                   [](const value& t) { return text(t).empty() ? std::string() : topic_name(t); }),
             field("fold_topic", o.fold_topic,
                   [](const value& t) { return text(t).empty() ? std::string() : topic_name(t); }),
             field("embedded_partitions", o.embedded_partitions, integer<int>(1, 1000)),
             field("properties", o.properties, map_of(property_value, property_name_problem)),
         });
  check_topics(v, seen, o);
  return o;
}

system_prompt read_system_prompt(const value& v) {
  system_prompt p;
  const present seen = read_mapping(v, {
                                           required_field("name", p.name, non_empty_text),
                                           field("file", p.file, non_empty_text),
                                           field("text", p.text, non_empty_text),
                                       });
  exactly_one_of(v, seen, {"file", "text"});
  return p;
}

rules_options read_rules(const value& v) {
  rules_options o;
  read_mapping(v, {
                      field("packs", o.packs, list_of(one_of(known_rule_packs), distinct_list)),
                      field("extra", o.extra, list_of(non_empty_text, distinct_list)),
                      field("system_prompts", o.system_prompts,
                            list_of(read_system_prompt, distinct_by("name"))),
                      field("action", o.action, one_of(action_names())),
                      field("hash_key", o.hash_key, key_source_reader()),
                  });
  return o;
}

policy read_policy(const value& v) {
  policy p;
  read_mapping(v, {
                      required_field("path", p.path, json_pointer),
                      required_field("action", p.action, one_of(action_names())),
                  });
  return p;
}

void read_reference(const value& v, drift_options& o) {
  int windows = o.reference_windows;
  std::string file;
  const present seen = read_mapping(v, {
                                           field("windows", windows, integer<int>(1, 1'000'000)),
                                           field("file", file, non_empty_text),
                                       });
  exactly_one_of(v, seen, {"windows", "file"});
  o.reference_windows = windows;
  o.reference_file = std::move(file);
}

/// Floors (or "large" thresholds) of the drift tests. PSI and the JS
/// distance of two distributions are bounded; the shift of a mean quantile
/// is at most 0.5.
drift_floors read_floors(const value& v) {
  drift_floors f;
  read_mapping(v, {
                      field("psi", f.psi, optional_of(real(0.0, 10.0))),
                      field("js", f.js, optional_of(real(0.0, 1.0))),
                      field("shift", f.shift, optional_of(real(0.0, 0.5))),
                  });
  return f;
}

/// Like read_floors, but every member is required (the section-wide values).
auto complete_floors(drift_floors defaults) {
  return [defaults](const value& v) {
    drift_floors f = read_floors(v);
    if (!f.psi) f.psi = defaults.psi;
    if (!f.js) f.js = defaults.js;
    if (!f.shift) f.shift = defaults.shift;
    return f;
  };
}

drift_feature read_feature(const value& v) {
  drift_feature f;
  read_mapping(v, {
                      required_field("path", f.path, json_pointer),
                      required_field("type", f.kind,
                                     choice<drift_feature::type>(
                                         {{"numeric", drift_feature::type::numeric},
                                          {"categorical", drift_feature::type::categorical}})),
                      field("floors", f.floors, read_floors),
                  });
  return f;
}

drift_scale read_scale(const value& v) {
  drift_scale sc;
  read_mapping(v, {
                      required_field("windows", sc.windows, integer<std::uint32_t>(2, 100'000)),
                      field("step", sc.step, integer<std::uint32_t>(1, 100'000)),
                  });
  if (sc.windows % sc.step != 0)
    v.fail(cat("step (", std::to_string(sc.step), ") must divide windows (",
               std::to_string(sc.windows), ")"));
  return sc;
}

drift_options read_drift(const value& v) {
  drift_options o;
  const drift_options defaults;
  read_mapping(
      v,
      {
          field("event_time", o.event_time, json_pointer),
          field("key", o.key, list_of(json_pointer, distinct_list)),
          field("window", o.window, positive_duration),
          {"reference", [&o](const value& r) { read_reference(r, o); }},
          field("features", o.features, list_of(read_feature, distinct_by("path"))),
          field("allowed_lateness", o.allowed_lateness, optional_of(any_duration)),
          field("max_keys", o.max_keys, integer<std::size_t>(1, 1'000'000)),
          field("evict_idle_windows", o.evict_idle_windows, integer<std::uint32_t>(0, 1'000'000)),
          field("scales", o.scales, list_of(read_scale)),
          field("bins", o.bins, integer<std::uint32_t>(2, 1024)),
          field("max_categories", o.max_categories, integer<std::uint32_t>(1, 4096)),
          field("min_window_events", o.min_window_events, integer<std::uint64_t>(1, 1'000'000'000)),
          field("min_pane_events", o.min_pane_events, integer<std::uint64_t>(1, 1'000'000'000)),
          field("false_alarm_windows", o.false_alarm_windows, real(1.0, 1e12)),
          field("floors", o.floors, complete_floors(defaults.floors)),
          field("large", o.large, complete_floors(defaults.large)),
          field("cusum_slack", o.cusum_slack, real(0.0, 10.0)),
          field("repeat_windows", o.repeat_windows, integer<std::uint32_t>(1, 1'000'000)),
      });
  return o;
}

/// `integrity.keys`: key id -> a key source, optionally with a rotation
/// window (`not_before` / `not_after`, RFC 3339, inclusive).
void read_signing_keys(const value& keys, integrity_options& o) {
  const std::vector<key_source::kind> any{key_source::kind::hex, key_source::kind::file,
                                          key_source::kind::env};
  for_each_entry(keys, [&](const std::string& id, int key_line, const value& entry) {
    if (std::string why = key_id_problem(id); !why.empty())
      throw failure{key_line, entry.path, std::move(why)};
    key_window window;
    o.keys.emplace(id, read_key_source(entry, any, &window));
    if (window.not_before || window.not_after) o.key_windows.emplace(id, window);
  });
}

poisoning_options read_poisoning(const value& v) {
  poisoning_options o;
  const present seen = read_mapping(
      v, {
             field("window", o.window, positive_duration),
             field("min_peers", o.min_peers, integer<std::size_t>(3, 256)),
             field("z_threshold", o.z_threshold, real(1.0, 1000.0)),
             field("persistence", o.persistence, integer<std::size_t>(1, 64)),
             field("persistence_lookback", o.persistence_lookback, integer<std::size_t>(1, 64)),
             field("untrusted_for", o.untrusted_for, positive_duration),
             field("rollback_min_z", o.rollback_min_z, real(0.1, 1000.0)),
             field("non_negative", o.non_negative, list_of(non_empty_text, distinct_list)),
             field("unit_interval", o.unit_interval, list_of(non_empty_text, distinct_list)),
             field("higher_is_worse", o.higher_is_worse, list_of(non_empty_text, distinct_list)),
             field("lower_is_worse", o.lower_is_worse, list_of(non_empty_text, distinct_list)),
         });
  if (o.persistence > o.persistence_lookback)
    (seen.contains("persistence") ? seen.at("persistence") : seen.at("persistence_lookback"))
        .fail(cat("persistence (", std::to_string(o.persistence),
                  ") must not exceed persistence_lookback (",
                  std::to_string(o.persistence_lookback), ")"));
  return o;
}

integrity_options read_integrity(const value& v) {
  integrity_options o;
  const present seen = read_mapping(
      v,
      {
          field("event_time", o.event_time, json_pointer),
          {"keys", [&o](const value& keys) { read_signing_keys(keys, o); }},
          field("require_signature", o.require_signature, list_of(non_empty_text, distinct_list)),
          field("silence_after", o.silence_after, positive_duration),
          field("max_skew", o.max_skew, positive_duration),
          field("replay_window", o.replay_window, integer<std::size_t>(64, 1'048'576)),
          field("audit_key", o.audit_key, text),
          field("audit_signing_key", o.audit_signing_key,
                key_source_reader({key_source::kind::file})),
          field("reorder_tolerance", o.reorder_tolerance, integer<std::uint64_t>(0, 1'048'576)),
          field("reset_max_seq", o.reset_max_seq, integer<std::uint64_t>(0, 1'000'000)),
          field("watermark_quorum", o.watermark_quorum, integer<std::size_t>(1, 1000)),
          field("max_sources", o.max_sources, integer<std::size_t>(1, 10'000'000)),
          field("max_streams", o.max_streams, integer<std::size_t>(1, 10'000'000)),
          field("max_epochs_per_source", o.max_epochs_per_source, integer<std::size_t>(1, 64)),
          field("poisoning", o.poisoning, read_poisoning),
      });
  // The bitmap must hold the tolerated stragglers and the newest number.
  if (o.reorder_tolerance + 1 >= o.replay_window)
    (seen.contains("reorder_tolerance") ? seen.at("reorder_tolerance") : seen.at("replay_window"))
        .fail(cat("reorder_tolerance (", std::to_string(o.reorder_tolerance),
                  ") must be below replay_window - 1 (", std::to_string(o.replay_window), ")"));
  const bool signing = o.audit_signing_key.from != key_source::kind::none;
  if (!o.audit_key.empty() && signing)
    seen.at("audit_signing_key")
        .fail("set either audit_key (HMAC checkpoints) or audit_signing_key (Ed25519), not both");
  if (!o.audit_key.empty() && !o.keys.contains(o.audit_key)) {
    std::vector<std::string_view> ids;
    for (const auto& entry : o.keys)
      ids.push_back(entry.first);
    seen.at("audit_key")
        .fail(o.keys.empty()
                  ? cat("names key ", shown(o.audit_key), ", but integrity.keys is empty")
                  : cat("names key ", shown(o.audit_key), ", which is not in integrity.keys (",
                        join(ids), ")"));
  }
  if (!o.require_signature.empty() && o.keys.empty())
    seen.at("require_signature")
        .fail("needs integrity.keys: with no keys, signatures are not checked");
  if (o.audit_key.empty() && !signing && !o.keys.empty())
    o.audit_key = seen.at("keys").node.begin()->first.Scalar(); // first in file order
  return o;
}

alert_timers read_timers(const value& v) {
  alert_timers t;
  read_mapping(v, {
                      field("group_wait", t.group_wait, optional_of(any_duration)),
                      field("group_interval", t.group_interval, optional_of(any_duration)),
                      field("repeat_interval", t.repeat_interval, optional_of(any_duration)),
                      field("resolve_timeout", t.resolve_timeout, optional_of(positive_duration)),
                  });
  return t;
}

std::array<alert_timers, 4> read_severity_timers(const value& v) {
  std::array<alert_timers, 4> out;
  for_each_entry(v, [&](const std::string& name, int key_line, const value& entry) {
    const auto* it = std::find(severity_names.begin(), severity_names.end(), name);
    if (it == severity_names.end())
      throw failure{key_line, entry.path, cat("not a severity: use ", join(severity_names))};
    out[static_cast<std::size_t>(it - severity_names.begin())] = read_timers(entry);
  });
  return out;
}

std::string alert_kind_problem(std::string_view name) {
  const auto kinds = alert_kinds();
  if (std::find(kinds.begin(), kinds.end(), name) != kinds.end()) return {};
  return cat("not an alert kind: use one of ", join(kinds));
}

/// A budget; members left out keep `defaults` (each budget has its own).
auto budget_reader(alert_budget defaults) {
  return [defaults](const value& v) {
    alert_budget b = defaults;
    read_mapping(v, {
                        field("burst", b.burst, integer<std::uint32_t>(1, 1'000'000)),
                        field("refill_every", b.refill_every, positive_duration),
                    });
    return b;
  };
}

alert_flood_options read_flood(const value& v) {
  alert_flood_options f;
  const present seen =
      read_mapping(v, {
                          field("window", f.window, positive_duration),
                          field("enter", f.enter, integer<std::uint64_t>(1, 1'000'000'000)),
                          field("exit", f.exit, integer<std::uint64_t>(0, 1'000'000'000)),
                          field("quiet_for", f.quiet_for, any_duration),
                          field("update_interval", f.update_interval, any_duration),
                          field("top", f.top, integer<std::size_t>(1, 64)),
                      });
  if (f.exit >= f.enter)
    (seen.contains("exit") ? seen.at("exit") : seen.at("enter"))
        .fail(cat("exit (", std::to_string(f.exit), ") must be below enter (",
                  std::to_string(f.enter), ")"));
  return f;
}

alerts_options read_alerts(const value& v) {
  alerts_options o;
  using format = alerts_options::output_format;
  read_mapping(v, {
                      field("format", o.format,
                            choice<format>({{"bulwark", format::bulwark}, {"ocsf", format::ocsf}})),
                      field("alertmanager", o.alertmanager, http_url_or_empty),
                      field("timers", o.timers, read_severity_timers),
                      field("kinds", o.kinds, map_of(read_timers, alert_kind_problem)),
                      field("per_source", o.per_source, budget_reader(o.per_source)),
                      field("unverified", o.unverified, budget_reader(o.unverified)),
                      field("global", o.global, budget_reader(o.global)),
                      field("flood", o.flood, read_flood),
                      field("max_alerts", o.max_alerts, integer<std::size_t>(1, 1'000'000)),
                      field("max_sources", o.max_sources, integer<std::size_t>(1, 1'000'000)),
                  });
  return o;
}

http_options read_http(const value& v) {
  http_options o;
  read_mapping(v, {field("listen", o.listen, listen_address)});
  return o;
}

options read_options(const value& root) {
  if (!root.node.IsNull() && !root.node.IsMap())
    root.fail(cat("the configuration must be a mapping of sections (workers, kafka, rules, ...), "
                  "got ",
                  kind_of(root.node)));
  options o;
  read_mapping(root, {
                         field("workers", o.workers, integer<int>(0, 1024)),
                         field("limits", o.limits, read_limits),
                         field("kafka", o.kafka, read_kafka),
                         field("rules", o.rules, read_rules),
                         field("policies", o.policies, list_of(read_policy, distinct_by("path"))),
                         field("drift", o.drift, read_drift),
                         field("integrity", o.integrity, read_integrity),
                         field("alerts", o.alerts, read_alerts),
                         field("http", o.http, read_http),
                     });
  return o;
}

} // namespace

load_result load_string(std::string_view yaml, std::string_view name) {
  return read_document<options>(yaml, name, read_options);
}

load_result load_file(const std::string& path) {
  load_result result = read_document_file<options>(path, read_options);
  if (auto* loaded = std::get_if<options>(&result)) {
    // Absolute, so relative paths in the file keep their meaning whatever the
    // working directory is later.
    std::error_code ec;
    const std::filesystem::path directory =
        std::filesystem::absolute(std::filesystem::path(path), ec).parent_path();
    loaded->base_dir = ec || directory.empty() ? "." : directory.lexically_normal().string();
  }
  return result;
}

} // namespace bulwark::config
