#pragma once
/// Settings of the alert engine, each with its documented default (also in
/// docs/alerts.md). SPEC §2 has only `alerts.format` and `alerts.alertmanager`;
/// everything here is this module's own, for the lead to expose under
/// `alerts:`. Durations are milliseconds.
#include "alert/rate.hpp"
#include "config/options.hpp"
#include "core/verdict.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::alert {

/// Alertmanager-like timers of one alert (a "fold" of repeats).
struct timers {
  /// After the first occurrence, wait this long before the first record so
  /// that a burst becomes one record.
  std::int64_t group_wait = 0;
  /// After a record, further occurrences are emitted no sooner than this.
  std::int64_t group_interval = 0;
  /// An alert with no new occurrence is re-emitted this long after its last
  /// record, while still active; 0 = never.
  std::int64_t repeat_interval = 0;
  /// An alert with no occurrence for this long is forgotten: the next
  /// occurrence opens a new alert (new first_seen, count 1).
  std::int64_t resolve_timeout = 3'600'000;
};

/// Timers for one kind, overriding the severity defaults.
struct kind_timers {
  std::string kind;
  timers value;
};

/// Flood detection: "noise" is every low/medium finding that did not open an
/// alert of its own — a repeat folded into an existing alert, or a new one
/// over its budget.
struct flood_settings {
  std::int64_t window = 10'000;    ///< the rate is measured over this sliding window
  std::uint64_t enter_count = 200; ///< noise in the window that starts a flood (20/s)
  /// The flood ends `quiet_for` after the last noise finding that arrived
  /// with at least `exit_count` in the window (hysteresis below enter_count).
  std::uint64_t exit_count = 50;
  std::int64_t quiet_for = 60'000;
  std::int64_t update_interval = 30'000; ///< at most one flood update per interval
  std::size_t top_n = 10;                ///< sources and kinds named in the flood alert
  std::size_t source_slots = 64;         ///< Space-Saving capacity for sources
  std::size_t kind_slots = 16;           ///< Space-Saving capacity for kinds
};

/// Caps that bound memory whatever the cardinality an attacker sends.
struct limits {
  std::size_t max_folds = 2048;          ///< low/medium alerts tracked (LRU eviction)
  std::size_t max_priority_folds = 2048; ///< high/critical alerts tracked (LRU eviction)
  std::size_t max_budgets = 4096;        ///< per-source buckets (LRU eviction, full ones first)
  std::size_t max_identifier_bytes = 64; ///< longer source/model/rule names are hashed
  std::size_t max_title_bytes = 256;     ///< titles are clipped
  std::size_t max_evidence_bytes = 2048; ///< larger evidence is replaced by a placeholder
  std::size_t max_refs = 4;              ///< first occurrence + the most recent ones
};

/// Everything the engine needs. Defaults are the documented defaults.
struct engine_settings {
  /// Timers per severity (index: low, medium, high, critical). Critical
  /// ignores group_wait and group_interval: SPEC §6 emits every critical
  /// occurrence at once.
  std::array<timers, 4> by_severity{{
      {30'000, 300'000, 0, 3'600'000},     // low
      {30'000, 300'000, 0, 3'600'000},     // medium
      {0, 60'000, 14'400'000, 86'400'000}, // high
      {0, 0, 3'600'000, 86'400'000},       // critical
  }};
  std::vector<kind_timers> by_kind; ///< overrides; none by default

  budget per_source{10, 6'000}; ///< per authenticated source: 10 records, then 10/min
  budget unverified{10, 6'000}; ///< shared by all unverified requests
  budget global{100, 1'000};    ///< all low/medium records: 100, then 1/s
  flood_settings flood;
  limits limit;
  /// Prefix of every id (e.g. host and process start), so ids stay unique
  /// across engines; "" = none.
  std::string instance;
};

/// Why settings were refused.
struct error {
  std::string message;
};

/// Settings from the configuration file's `alerts` section: every key that
/// is set there overrides the default above (docs/configuration.md).
engine_settings settings_from(const config::alerts_options& options);

/// The first problem with `s`, naming the setting; nothing when valid.
std::optional<error> validate(const engine_settings& s);

} // namespace bulwark::alert
