#include "metrics/catalog.hpp"

#include "core/alert_request.hpp"

#include <algorithm>
#include <span>

namespace bulwark::metrics {

namespace {

label_spec label(std::string name, std::span<const std::string_view> values) {
  return {std::move(name), std::vector<std::string>(values.begin(), values.end())};
}

label_spec label(std::string name, const std::vector<std::string>& values) {
  return {std::move(name), values};
}

/// Whether a model name may become a label value: an identifier, never
/// free text (the names may come from a reference file built from events).
bool identifier_shaped(std::string_view s) noexcept {
  if (s.empty() || s.size() > max_model_bytes) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '-' || c == ':' || c == '/';
  });
}

} // namespace

std::vector<std::string> model_label_values(const std::vector<std::string>& models) {
  std::vector<std::string> out;
  for (const auto& m : models) {
    if (out.size() == max_models) break;
    if (m == "other" || !identifier_shaped(m)) continue;
    if (std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
  }
  return out;
}

std::vector<double> stage_duration_buckets() {
  return {1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
          5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,    0.25, 0.5,  1,      2.5,  5,    10};
}

std::vector<double> record_hold_buckets() {
  return {5e-4, 1e-3, 2e-3,   3e-3, 5e-3, 7.5e-3, 1e-2, 1.5e-2, 2e-2, 2.5e-2, 3e-2,
          4e-2, 5e-2, 7.5e-2, 0.1,  0.15, 0.25,   0.5,  1,      2.5,  5,      10};
}

catalog declare_catalog(builder& b, const catalog_inputs& in) {
  using namespace vocabulary;
  catalog c;
  const auto stage = [] { return label("stage", stages); };

  c.records_received =
      b.add_counter("bulwark_records_received_total", "Records a stage took in.", {stage()});
  c.records_sent = b.add_counter("bulwark_records_sent_total",
                                 "Records a stage handed on to the next one.", {stage()});
  c.records_dropped = b.add_counter(
      "bulwark_records_dropped_total",
      "Records a stage gave up without an output (bulwark's design keeps it at 0).", {stage()});
  c.errors = b.add_counter("bulwark_errors_total",
                           "Errors a stage met: consumer errors, failed deliveries (retried), "
                           "failed writes.",
                           {stage()});
  c.stage_duration =
      b.add_histogram("bulwark_stage_duration_seconds",
                      "Time one record spent in a stage (producer: from produce to its delivery "
                      "report).",
                      stage_duration_buckets(), {stage()});
  c.input_bytes =
      b.add_counter("bulwark_input_bytes_total", "Bytes of input records (values only).");
  c.output_records =
      b.add_counter("bulwark_output_records_total", "Records written or delivered, by output.",
                    {label("output", outputs)});
  c.output_bytes = b.add_counter("bulwark_output_bytes_total",
                                 "Bytes of records written or delivered, by output.",
                                 {label("output", outputs)});
  c.verdicts =
      b.add_counter("bulwark_verdicts_total", "Input records by verdict (exactly one per record).",
                    {label("verdict", verdicts)});
  c.dead_letters = b.add_counter("bulwark_dead_letters_total",
                                 "Records rejected to the dead-letter output, by reason.",
                                 {label("reason", dlq_reasons)});
  c.quarantined = b.add_counter("bulwark_quarantined_total",
                                "Records sent to quarantine, by the alert kind that sent them.",
                                {label("reason", quarantine_reasons)});

  c.findings = b.add_counter("bulwark_findings_total",
                             "Matched spans in input records, by category and action taken.",
                             {label("category", categories), label("action", actions)});
  c.rule_findings =
      b.add_counter("bulwark_rule_findings_total", "Matched spans in input records, by rule.",
                    {label("rule", in.rules)});
  const std::span<const std::string_view> kinds = alert_kinds();
  c.alert_requests =
      b.add_counter("bulwark_alert_requests_total",
                    "Occurrences handed to the alert engine, by kind, before folding and budgets.",
                    {label("kind", kinds)});
  static constexpr std::array<std::string_view, 4> severities{"low", "medium", "high", "critical"};
  c.alerts = b.add_counter("bulwark_alerts_total", "Alert records emitted, by kind and severity.",
                           {label("kind", kinds), label("severity", severities)});
  c.alert_outcomes = b.add_counter("bulwark_alert_outcomes_total",
                                   "Occurrences the alert engine folded, delayed, absorbed or "
                                   "lost, and table evictions.",
                                   {label("outcome", alert_outcomes)});
  c.alertmanager_posts =
      b.add_counter("bulwark_alertmanager_posts_total",
                    "Posts of alerts to Alertmanager, by result.", {label("result", results)});

  std::vector<std::string> topics;
  std::size_t partitions = 0;
  for (const auto& t : in.inputs) {
    topics.push_back(t.name);
    partitions = std::max(partitions, t.partitions);
  }
  const auto topic_partition = [&] {
    return std::vector<label_spec>{label("topic", topics), numbered_label("partition", partitions)};
  };
  c.consumer_lag = b.add_gauge("bulwark_consumer_lag_records",
                               "Records of an input partition not yet consumed: high watermark "
                               "minus the consumer's position.",
                               topic_partition());
  c.partition_assigned =
      b.add_gauge("bulwark_partition_assigned",
                  "1 when this instance holds the input partition, else 0.", topic_partition());
  c.consumption_paused = b.add_gauge("bulwark_consumption_paused",
                                     "1 while consumption waits for the producer queue, else 0.");
  c.commit_refusals =
      b.add_counter("bulwark_offset_commit_refusals_total",
                    "Partition offsets whose commit the broker refused; each is committed again "
                    "with the next periodic commit while the partition is held.");
  c.record_hold = b.add_histogram(
      "bulwark_record_hold_seconds",
      "Time from consuming a record to the delivery report of an output it produced (each "
      "output once): bulwark's own part of the end-to-end latency, the output's produce "
      "included.",
      record_hold_buckets());

  c.integrity_events = b.add_counter("bulwark_integrity_events_total",
                                     "Events whose integrity was checked, by outcome.",
                                     {label("status", integrity_statuses)});
  c.integrity_verified =
      b.add_counter("bulwark_integrity_verified_total",
                    "Verified signatures, by configured key id.", {label("kid", in.key_ids)});
  c.integrity_sources =
      b.add_gauge("bulwark_integrity_sources", "Sources the integrity stage knows, by state.",
                  {label("state", source_states)});
  c.integrity_watermark =
      b.add_gauge("bulwark_integrity_watermark_timestamp_seconds",
                  "The fleet event-time watermark, in seconds since the Unix epoch.");

  c.drift_observations = b.add_counter("bulwark_drift_observations_total",
                                       "Events the drift monitor saw, by what it did with them.",
                                       {label("outcome", drift_outcomes)});
  c.drift_keys = b.add_gauge("bulwark_drift_keys", "Drift keys tracked.");
  c.drift_references =
      b.add_gauge("bulwark_drift_references", "(key, feature) references, by state.",
                  {label("state", reference_states)});
  c.drift_state_bytes = b.add_gauge("bulwark_drift_state_bytes", "Bytes of drift state held.");
  const std::vector<std::string> models = model_label_values(in.models);
  const auto model_feature = [&] {
    return std::vector<label_spec>{label("model", models), label("feature", in.features)};
  };
  c.drift_psi = b.add_gauge("bulwark_drift_psi",
                            "Population stability index of the last closed window against the "
                            "frozen reference.",
                            model_feature());
  c.drift_js_distance = b.add_gauge("bulwark_drift_js_distance",
                                    "Jensen-Shannon distance of the last closed window against "
                                    "the frozen reference.",
                                    model_feature());
  c.drift_wasserstein_u =
      b.add_gauge("bulwark_drift_wasserstein_u",
                  "Wasserstein distance on the reference quantile scale of the last closed "
                  "window (numeric features).",
                  model_feature());
  c.drift_windows =
      b.add_counter("bulwark_drift_windows_total",
                    "Windows closed and compared with the reference.", model_feature());

  c.fold_records = b.add_counter(
      "bulwark_fold_records_total",
      "Fold topic records by outcome (taken, skipped as covered by restored state, refused).",
      {label("outcome", fold_outcomes)});
  c.fold_partitions =
      b.add_gauge("bulwark_fold_partitions", "Fold topic partitions this instance owns.");
  c.drift_state_writes =
      b.add_counter("bulwark_drift_state_records_total",
                    "Drift state records written to the fold state topic (keys and positions).");

  c.audit_records =
      b.add_counter("bulwark_audit_records_total", "Records appended to the audit chain.");
  c.audit_checkpoints = b.add_counter("bulwark_audit_checkpoints_total",
                                      "Signed checkpoints appended to the audit chain.");
  c.rules_loaded = b.add_gauge("bulwark_rules_loaded", "Rules compiled and in use.");
  c.rule_reloads = b.add_counter("bulwark_rule_reloads_total", "Rule reloads, by result.",
                                 {label("result", results)});
  c.rules_loaded_timestamp =
      b.add_gauge("bulwark_rules_loaded_timestamp_seconds",
                  "When the rules in use were loaded, in seconds since the Unix epoch.");
  c.build_info = b.add_gauge(
      "bulwark_build_info", "Always 1; the version is a label.",
      {label("version", std::vector<std::string>{in.version.empty() ? "unknown" : in.version})});
  c.start_time = b.add_gauge("bulwark_start_time_seconds",
                             "When the process started, in seconds since the Unix epoch.");
  c.workers = b.add_gauge("bulwark_workers", "Pipeline worker threads.");
  c.ready = b.add_gauge("bulwark_ready", "1 when /readyz answers ready, else 0.");
  return c;
}

} // namespace bulwark::metrics
