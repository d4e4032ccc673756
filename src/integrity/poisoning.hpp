#pragma once
/// Metric poisoning: each source's metric compared with its peers serving the
/// same model, per short event-time window; and the rollback guard.
///
///   metric sample ─▶ impossible? ──yes──▶ offence (at once)
///        │ no
///        ▼
///   window [k·w, (k+1)·w) of (model, metric name), per-source mean
///        │ closes when the clock passes its end + grace
///        ▼
///   median m and MAD over the sources' means; scale = max(1.4826·MAD,
///   rel_floor·|m|, abs_floor [unit_interval_floor for rates]);
///   robust z = (value − m) / scale
///        │ |z| > z_threshold in `persistence` of the last
///        ▼ `persistence_lookback` windows of that metric
///   offence ─▶ `poisoning` finding once per episode; the source is untrusted
///              until `untrusted_for` after its last offence
///
/// Why these choices: the median and MAD ignore up to half the sources being
/// wrong; the scale floors stop a fleet that reports identical values (MAD =
/// 0) from turning a rounding difference into an infinite z; the persistence
/// rule stops an honest one-minute spike from being called poisoning. With the
/// defaults, in a tight fleet a source must be more than 6 × 5% = 30% away
/// from the peer median, in 2 of 5 consecutive windows, to be called a liar;
/// a looser fleet (larger MAD) needs proportionally more.
///
/// Rollback guard: the "triggering metrics" of a rollback of model M at time t
/// are the per-source window means of M's metrics, in the `rollback_lookback`
/// windows up to t (closed or still open), that were worse than their peers:
/// robust z of at least `rollback_min_z` in the metric's bad direction (higher
/// for latency/error-like names, lower for accuracy-like names, either for
/// others), every mean of a window with fewer than `min_peers` sources (it
/// cannot be compared, so it cannot be ruled out), and impossible values. The
/// guard fires when any triggering metric came from a source that is untrusted
/// now or whose samples were not all authenticated.
#include "core/time.hpp"
#include "integrity/status.hpp"

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bulwark::integrity {

/// Tunables (documented defaults in brackets).
struct poisoning_settings {
  timestamp_ms window = 60'000;  ///< peer comparison window [1m]
  timestamp_ms grace = 15'000;   ///< a window closes when the clock is this far past its end [15s]
  std::size_t min_peers = 4;     ///< sources needed in a window to compare [4]
  double z_threshold = 6.0;      ///< |robust z| above this is an outlier window [6]
  double rel_scale_floor = 0.05; ///< scale is at least this fraction of |median| [0.05]
  double abs_scale_floor = 1e-3; ///< and at least this [0.001]
  /// For unit-interval metrics (rates, accuracy) at least this: one percentage
  /// point. Honest servers' error rates differ by fractions of a point, which
  /// the relative floor (5% of a 1% rate) would call enormous. [0.01]
  double unit_interval_scale_floor = 0.01;
  std::size_t persistence = 2;            ///< outlier windows needed for an offence ... [2]
  std::size_t persistence_lookback = 5;   ///< ... among this many latest windows of the metric [5]
  timestamp_ms untrusted_for = 3'600'000; ///< untrusted this long after the last offence [1h]
  std::size_t rollback_lookback = 5;      ///< windows examined for a rollback [5]
  double rollback_min_z = 2.0;            ///< "worse than the peers" for the guard [2]
  /// Metric names (glob, `*`) whose values cannot be negative.
  std::vector<std::string> non_negative{"*latency*", "*_ms", "*_seconds", "*duration*"};
  /// Metric names whose values lie in [0, 1].
  std::vector<std::string> unit_interval{"*error_rate*", "*err_rate*",  "*failure_rate*",
                                         "*accuracy*",   "*precision*", "*recall*"};
  /// Names where a higher value is worse (for the rollback guard).
  std::vector<std::string> higher_is_worse{"*latency*", "*_ms",      "*_seconds", "*duration*",
                                           "*error*",   "*failure*", "*loss*"};
  /// Names where a lower value is worse.
  std::vector<std::string> lower_is_worse{"*accuracy*", "*precision*", "*recall*", "*auc*", "*f1*"};
  std::size_t max_groups = 1024;            ///< (model, metric) pairs tracked [1024]
  std::size_t max_sources_per_window = 256; ///< sources per window [256]
  std::size_t max_open_windows = 4;         ///< open windows per (model, metric) [4]
  /// Per-source window entries in all (open and kept closed windows together):
  /// the budget that bounds memory whatever the mix (~100 bytes each) [262144]
  std::size_t max_entries = 262'144;
  std::size_t max_trust_entries = 16384; ///< sources with an offence remembered [16384]
};

/// One metric event, as the façade hands it over.
struct metric_sample {
  std::string_view source;
  std::string_view model;
  std::string_view name;
  double value = 0;
  timestamp_ms at = 0;        ///< event time
  bool authenticated = false; ///< verified signature, or no keys configured at all
};

/// A source found misreporting (one per episode).
struct poisoning_finding {
  enum class why : std::uint8_t { peer_outlier, impossible_value };
  why reason = why::peer_outlier;
  std::string source;
  std::string model;
  std::string metric;
  double value = 0;                ///< the source's window mean, or the impossible value
  double peer_median = 0;          ///< peer_outlier only
  double robust_z = 0;             ///< peer_outlier only
  std::size_t peers = 0;           ///< sources in the window
  std::size_t outlier_windows = 0; ///< of the last persistence_lookback windows
  timestamp_ms window_start = 0;
  std::string_view bound;     ///< impossible_value: "non_negative", "unit_interval", "finite"
  bool authenticated = false; ///< every sample behind it was authenticated
  timestamp_ms untrusted_until = 0;
};

/// One triggering metric of a rollback that came from a suspect source.
struct rollback_suspect {
  std::string source;
  std::string metric;
  double value = 0;
  double robust_z = 0; ///< 0 when the window had too few peers to compare
  bool untrusted = false;
  bool unauthenticated = false;
  timestamp_ms window_start = 0;
};

/// The rollback guard's view of one rollback.
struct rollback_assessment {
  std::size_t triggering = 0;             ///< triggering metrics found
  std::size_t suspicious = 0;             ///< of those, from suspect sources
  std::vector<rollback_suspect> suspects; ///< the first 8
  bool fire() const noexcept { return suspicious > 0; }
};

/// Peer comparison state. Not thread-safe.
class peer_monitor {
public:
  /// A monitor with no windows yet; settings are validated by checker::make.
  explicit peer_monitor(poisoning_settings s) : settings_(std::move(s)) {}

  /// Records a sample; an impossible value is an offence at once.
  /// `now` is the caller's clock (untrust expiry runs on it).
  void observe(const metric_sample& m, timestamp_ms now, std::vector<poisoning_finding>& out);

  /// Closes every window whose end + grace is at or before `clock` (event
  /// time: the fleet watermark) and reports offences.
  void advance(timestamp_ms clock, timestamp_ms now, std::vector<poisoning_finding>& out);

  /// Closes every open window (end of input).
  void close_all(timestamp_ms now, std::vector<poisoning_finding>& out);

  /// Whether `source` is under a poisoning alert at `now`.
  bool untrusted(std::string_view source, timestamp_ms now) const noexcept;
  /// Until when `source` is untrusted, if it is at `now`.
  std::optional<timestamp_ms> untrusted_until(std::string_view source,
                                              timestamp_ms now) const noexcept;
  /// Keeps `source` untrusted until at least `until` (a restored state; no
  /// alert: the offence was reported where it happened).
  void restore_untrusted(std::string_view source, timestamp_ms until, timestamp_ms now);
  /// Sources under a poisoning alert at `now`; `each`, when given, is called
  /// with every one of them.
  std::size_t untrusted_sources(timestamp_ms now,
                                const std::function<void(std::string_view)>& each = {}) const;

  /// The rollback guard for a rollback of `model` at event time `at`.
  rollback_assessment assess_rollback(std::string_view model, timestamp_ms at,
                                      timestamp_ms now) const;

  /// Samples that arrived for an already closed window (not compared).
  std::uint64_t late_samples() const noexcept { return late_; }
  /// A cap that refused or evicted state since the last call: its name and
  /// size (then resets). Names: metric_groups, window_sources, open_windows,
  /// window_entries, untrusted_sources.
  struct capacity_hit {
    std::string_view table;
    std::size_t cap = 0;
  };
  std::optional<capacity_hit> take_capacity_hit() noexcept {
    auto hit = capacity_hit_;
    capacity_hit_.reset();
    return hit;
  }
  /// Per-source window entries held now (bounded by max_entries).
  std::size_t entries() const noexcept { return entries_; }

private:
  struct source_agg {
    std::string source;
    double sum = 0;
    std::uint32_t count = 0;
    bool all_authenticated = true;
    bool impossible = false;
    double mean() const noexcept { return count ? sum / count : 0; }
  };
  struct open_window {
    std::int64_t index = 0;
    std::vector<source_agg> sources;
  };
  struct scored_source {
    std::string source;
    double value = 0;
    double z = 0;
    bool authenticated = true;
    bool impossible = false;
    bool outlier = false;
  };
  struct closed_window {
    std::int64_t index = 0;
    bool compared = false; ///< enough peers for a median
    double median = 0;
    double scale = 0;
    std::vector<scored_source> sources;
  };
  struct group {
    std::string model;
    std::string metric;
    std::vector<open_window> open;
    std::deque<closed_window> history; ///< newest last
    std::int64_t last_closed = INT64_MIN;
    double abs_floor = 0; ///< the absolute scale floor for this metric
    std::uint64_t touched = 0;
  };
  struct trust {
    timestamp_ms untrusted_until = 0;
  };

  closed_window score(const group& g, const open_window& w) const;
  void close(group& g, std::size_t open_index, timestamp_ms now,
             std::vector<poisoning_finding>& out);
  /// Marks an offence; true when it starts a new episode (alert).
  bool offend(std::string_view source, timestamp_ms now, timestamp_ms& until);
  group* group_for(std::string_view model, std::string_view metric);
  void hit(std::string_view table, std::size_t cap) noexcept { capacity_hit_ = {table, cap}; }
  static std::size_t entries_of(const group& g) noexcept;
  void refresh_next_close();

  poisoning_settings settings_;
  std::unordered_map<std::string, group, string_hash, std::equal_to<>> groups_;
  std::unordered_map<std::string, trust, string_hash, std::equal_to<>> trust_;
  std::optional<timestamp_ms> next_close_; ///< earliest close time of any open window
  std::uint64_t late_ = 0;
  std::uint64_t clock_ = 0;
  std::size_t entries_ = 0; ///< source_agg + scored_source entries held
  std::optional<capacity_hit> capacity_hit_;
  std::string key_; ///< scratch for group keys
};

} // namespace bulwark::integrity
