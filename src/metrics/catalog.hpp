#pragma once
/// bulwark's metric catalogue (docs/metrics.md): every family the service
/// exports, declared from the bounded sets known at start-up. The wiring
/// declares it once, keeps the returned handles and updates through them;
/// docs/metrics.md says what each family counts and who updates it.
///
/// Every label set is either a fixed vocabulary below or comes from the
/// configuration (rule ids, input topics and their partition counts, drift
/// models and features, key ids), never from an event.
#include "metrics/registry.hpp"

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::metrics {

/// The fixed vocabularies (SPEC names where SPEC has them). Positions are
/// stable, so a caller may select a value with at{position} where its own
/// enum has the same order (verdict, category, action, severity).
namespace vocabulary {
/// The stages of a record: reader (NDJSON reader or Kafka consumer), worker
/// (parse, scan, splice), writer (in-order stateful detectors), producer
/// (output writes and Kafka deliveries).
inline constexpr std::array<std::string_view, 4> stages{"reader", "worker", "writer", "producer"};
/// bulwark::verdict order.
inline constexpr std::array<std::string_view, 5> verdicts{"clean", "redacted", "flagged",
                                                          "quarantined", "rejected"};
/// bulwark::category order.
inline constexpr std::array<std::string_view, 4> categories{"secret", "pii", "prompt_leak",
                                                            "injection"};
/// bulwark::action order.
inline constexpr std::array<std::string_view, 5> actions{"tag", "hash", "mask", "drop", "defuse"};
/// Where a record or an alert went.
inline constexpr std::array<std::string_view, 5> outputs{"sanitized", "dlq", "quarantine", "alerts",
                                                         "audit"};
/// Dead-letter reasons: json::error order (without `none`), then Kafka's null
/// value and headers that cannot travel (kafka/headers.hpp).
inline constexpr std::array<std::string_view, 10> dlq_reasons{
    "empty",    "too_large",         "invalid_utf8",     "not_json",   "not_object",
    "too_deep", "control_character", "trailing_content", "null_value", "bad_headers"};
/// Quarantine reasons: the alert kinds that quarantine a record.
inline constexpr std::array<std::string_view, 3> quarantine_reasons{
    "integrity.tamper", "integrity.replay", "integrity.unsigned"};
/// SPEC §3 `_bulwark.integrity` values, integrity::integrity_status order.
inline constexpr std::array<std::string_view, 5> integrity_statuses{
    "verified", "unsigned", "invalid", "replay", "unknown_key"};
/// Known sources of the integrity stage, by state.
inline constexpr std::array<std::string_view, 2> source_states{"tracked", "untrusted"};
/// What drift::monitor::observe did with an event (drift::observe_result order).
inline constexpr std::array<std::string_view, 7> drift_outcomes{
    "applied", "learning", "late", "future", "untracked", "unreferenced", "reference_late"};
/// (key, feature) references by state.
inline constexpr std::array<std::string_view, 2> reference_states{"frozen", "learning"};
/// What the alert engine did with an occurrence besides emitting it
/// (alert::engine_stats fields).
inline constexpr std::array<std::string_view, 7> alert_outcomes{
    "folded",          "over_budget",   "deferred",       "absorbed",
    "dropped_pending", "evicted_folds", "evicted_budgets"};
/// What the fold member did with a fold record (kafka.fold_topic): taken
/// into the stage, skipped (covered by restored state), refused (malformed).
inline constexpr std::array<std::string_view, 3> fold_outcomes{"taken", "skipped", "refused"};
/// Outcome of an Alertmanager post or a rule reload.
inline constexpr std::array<std::string_view, 2> results{"ok", "failed"};
} // namespace vocabulary

/// An input topic and its partition count at start-up.
struct input_topic {
  std::string name;
  std::size_t partitions = 0;
};

/// The configured sets the catalogue's labels take values from.
struct catalog_inputs {
  std::vector<std::string> rules;  ///< loaded rule ids
  std::vector<input_topic> inputs; ///< kafka.inputs (empty in `scan`)
  std::vector<std::string> models; ///< drift models named by configuration, see model_label_values
  std::vector<std::string> features; ///< drift.features paths
  std::vector<std::string> key_ids;  ///< integrity.keys ids
  std::string version;               ///< bulwark's version, for bulwark_build_info
};

/// At most this many models get series of their own; the rest share `other`.
inline constexpr std::size_t max_models = 64;
/// Model names longer than this share `other`.
inline constexpr std::size_t max_model_bytes = 64;

/// The `model` label's values from configured model names: the first
/// max_models distinct ones that are identifier-shaped (a letter or digit,
/// then letters, digits and `. _ - : /`, at most max_model_bytes), in order.
/// Anything else, including "other", is left to the `other` series: model
/// names may come from a reference file built from events.
std::vector<std::string> model_label_values(const std::vector<std::string>& models);

/// Bucket bounds of bulwark_stage_duration_seconds: 1 µs to 10 s, roughly
/// ×2.5 apart, so one record's few microseconds and a slow delivery both land
/// in informative buckets.
std::vector<double> stage_duration_buckets();

/// Bucket bounds of bulwark_record_hold_seconds: 0.5 ms to 10 s, close
/// together between 1 and 50 ms, where a latency objective such as a p99 of
/// 20 ms is judged.
std::vector<double> record_hold_buckets();

/// Handles of every family of the catalogue.
struct catalog {
  // Flow of records, per stage.
  counter_family records_received; ///< {stage}
  counter_family records_sent;     ///< {stage}
  counter_family records_dropped;  ///< {stage}
  counter_family errors;           ///< {stage}
  histogram_family stage_duration; ///< {stage}
  counter_family input_bytes;      ///<
  counter_family output_records;   ///< {output}
  counter_family output_bytes;     ///< {output}
  counter_family verdicts;         ///< {verdict}
  counter_family dead_letters;     ///< {reason}
  counter_family quarantined;      ///< {reason}
  // Findings and alerts.
  counter_family findings;           ///< {category, action}
  counter_family rule_findings;      ///< {rule}
  counter_family alert_requests;     ///< {kind}
  counter_family alerts;             ///< {kind, severity}
  counter_family alert_outcomes;     ///< {outcome}
  counter_family alertmanager_posts; ///< {result}
  // Kafka.
  gauge_family consumer_lag;       ///< {topic, partition}
  gauge_family partition_assigned; ///< {topic, partition}
  gauge_family consumption_paused;
  counter_family commit_refusals; ///< partition offsets whose commit the broker refused
  histogram_family record_hold;   ///< consumption to an output's delivery report
  // Integrity.
  counter_family integrity_events;   ///< {status}
  counter_family integrity_verified; ///< {kid}
  gauge_family integrity_sources;    ///< {state}
  gauge_family integrity_watermark;
  // Drift.
  counter_family drift_observations; ///< {outcome}
  gauge_family drift_keys;
  gauge_family drift_references; ///< {state}
  gauge_family drift_state_bytes;
  gauge_family drift_psi;           ///< {model, feature}
  gauge_family drift_js_distance;   ///< {model, feature}
  gauge_family drift_wasserstein_u; ///< {model, feature}
  counter_family drift_windows;     ///< {model, feature}
  // Several instances (kafka.fold_topic).
  counter_family fold_records;       ///< {outcome}
  gauge_family fold_partitions;      ///< held by this instance
  counter_family drift_state_writes; ///< drift state records written
  // Audit chain, rules, process.
  counter_family audit_records;
  counter_family audit_checkpoints;
  gauge_family rules_loaded;
  counter_family rule_reloads; ///< {result}
  gauge_family rules_loaded_timestamp;
  gauge_family build_info; ///< {version}
  gauge_family start_time;
  gauge_family workers;
  gauge_family ready;
};

/// Declares the whole catalogue on `b` (errors, e.g. a rule id that is not
/// UTF-8 or is "other", surface from registry::make(b)).
catalog declare_catalog(builder& b, const catalog_inputs& in);

} // namespace bulwark::metrics
