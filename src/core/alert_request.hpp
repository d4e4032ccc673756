#pragma once
/// What a detector (scan, drift, integrity) hands to the alert engine: the
/// facts of one occurrence. The alert module folds, budgets and renders them
/// (SPEC §6); detectors never see Kafka or sinks.
#include "core/time.hpp"
#include "core/verdict.hpp"

#include <cstdint>
#include <span>
#include <string>

namespace bulwark {

/// Where the input that raised an alert came from: a line in `scan`, a
/// topic/partition/offset in `run`.
struct input_ref {
  std::string topic; ///< empty in `scan`
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::int64_t line = 0; ///< 1-based; 0 when the input came from Kafka
};

/// One occurrence of something worth an alert.
struct alert_request {
  std::string kind; ///< SPEC §6 kind, e.g. "integrity.gap", "secret", "drift"
  severity level = severity::medium;
  std::string source;         ///< the event's `source` ("" when none)
  bool authenticated = false; ///< the source was proven by a verified signature
  std::string model;          ///< the event's `model` or the drift key's first field
  std::string rule;           ///< rule id, feature pointer, metric name: what fired
  std::string title;          ///< one line for humans; never raw event text
  std::string evidence;       ///< a JSON object (json_writer); never raw secrets or PII
  timestamp_ms at = 0;        ///< event time in `scan`, wall clock in `run`
  input_ref ref;
};

/// Every alert kind bulwark emits (SPEC §6, plus `dlq`), in severity order.
std::span<const std::string_view> alert_kinds() noexcept;

/// SPEC §6 default severity of a kind; medium for kinds it does not list.
severity default_severity(std::string_view kind) noexcept;

} // namespace bulwark
