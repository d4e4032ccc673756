#pragma once
/// Settings of the drift monitor. The SPEC §2 keys (`drift.event_time`, `key`,
/// `window`, `reference`, `features`) come from config::drift_options; the rest
/// are this module's own, each with the default documented here and in
/// docs/drift.md.
#include "config/options.hpp"
#include "core/time.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::drift {

/// How a feature's values are binned.
enum class feature_type : std::uint8_t { numeric, categorical };

std::string_view to_string(feature_type t) noexcept;

/// One monitored feature: a JSON pointer into the event and its type, with
/// optional per-feature effect-size floors (unset: the monitor-wide ones).
struct feature_spec {
  std::string path;
  feature_type type = feature_type::numeric;
  std::optional<double> psi_floor;
  std::optional<double> js_floor;
  std::optional<double> u_shift_floor;
};

/// A longer scale: the last `windows` windows, evaluated every `step` windows
/// on windows aligned to multiples of `step` since the epoch (so with 1 h
/// windows, step 24 evaluates on UTC days). `step` divides `windows`.
struct scale_spec {
  std::uint32_t windows = 24;
  std::uint32_t step = 1;
};

/// Why settings or input files were refused.
struct error {
  std::string message;
};

/// Everything the monitor needs. Defaults are the documented defaults.
struct settings {
  // --- SPEC §2 `drift` (informational here: the caller extracts the values) ---
  std::string event_time = "/ts";         ///< read by the caller
  std::vector<std::string> key{"/model"}; ///< read and joined by the caller
  std::vector<feature_spec> features;     ///< the values passed to observe(), in order
  timestamp_ms window_ms = 3'600'000;     ///< event-time window (pane) length
  std::uint32_t reference_windows = 24;   ///< windows learned per key before freezing
  std::string reference_file;             ///< loaded by the caller (load_reference)

  // --- drift settings beyond SPEC §2 ---
  /// Learn a reference for keys (and features) absent from a loaded file.
  /// Default true; false when `reference_file` is set (an operator who ships a
  /// baseline expects it to be the baseline).
  bool learn_references = true;
  timestamp_ms allowed_lateness_ms = 300'000; ///< 5 min: later events are counted as late
  std::uint32_t max_future_windows = 1;       ///< events this far ahead of the watermark
  std::size_t max_keys = 256;                 ///< tracked keys; more raise one `capacity` alert
  /// Opt-in: a key whose references were learned (not loaded) and that saw
  /// no event for this many windows is forgotten, with an audit record, and
  /// learns afresh if it returns (an automatic re-baseline, hence off by
  /// default); 0: never. Keys are never evicted to make room.
  std::uint32_t evict_idle_windows = 0;
  /// Longer scales, in windows (the window itself is always a scale): one day
  /// sliding hourly and one week hopping daily with the default 1 h window.
  std::vector<scale_spec> scales{{24, 1}, {168, 24}};
  std::uint32_t numeric_bins = 32;   ///< equal-probability bins per numeric feature
  std::uint32_t max_categories = 32; ///< categories kept per categorical feature
  /// Values sampled per (key, feature) to place the cuts during the first
  /// quarter of the reference windows (the rest are counted, not sampled).
  std::uint32_t reference_sample = 4096;
  std::uint64_t min_window_events = 100; ///< a window with fewer values is not tested
  std::uint64_t min_pane_events = 30;    ///< a pane with fewer values does not move the CUSUM
  /// Expected windows between false alarms per model (split across features
  /// and detectors): 100 000 (≈ 11 years of 1 h windows).
  double false_alarm_windows = 100'000;
  double psi_floor = 0.10;      ///< effect floor: PSI ("moderate shift")
  double psi_large = 0.25;      ///< severity high at or above ("major shift")
  double js_floor = 0.10;       ///< effect floor: Jensen–Shannon distance (≈ PSI 0.08)
  double js_large = 0.18;       ///< severity high at or above (≈ PSI 0.26)
  double u_shift_floor = 0.014; ///< effect floor: |mean u - reference|, ≈ 0.05 SD of a normal
  double u_shift_large = 0.138; ///< severity high at or above, ≈ 0.5 SD of a normal
  double cusum_slack = 0.5;     ///< k, in standard scores per window
  /// Extra slack, in standard deviations of the reference's own sampling error
  /// (a frozen reference is an estimate; its error is a persistent shift).
  double reference_allowance = 3.0;
  std::uint32_t repeat_windows = 24; ///< a drift still present is re-alerted this often
  double psi_epsilon = 1e-4;         ///< smoothing of empty cells in PSI
};

/// Settings from the configuration file's `drift` section; the extra settings
/// keep their defaults.
settings from_config(const config::drift_options& options);

/// Nothing when the settings are usable, else why not (naming the setting).
std::optional<error> validate(const settings& s);

/// What the false-alarm budget works out to: per-evaluation significance
/// levels of each scale and the CUSUM threshold. Derived once from settings.
struct calibration {
  std::size_t detectors = 0;      ///< Σ over features of its detectors (scales + CUSUM)
  double rate = 0;                ///< false alarms per window allowed to each detector
  std::vector<double> alpha;      ///< per scale (index 0: the window), per test
  std::vector<double> z_critical; ///< two-sided critical |z| of the u-mean test per scale
  double cusum_threshold = 0;     ///< h, one-sided, standard scores
  double cusum_run_length = 0;    ///< one-sided in-control run length h was chosen for
};

/// The calibration of valid settings (see docs/drift.md for the derivation).
calibration calibrate(const settings& s);

} // namespace bulwark::drift
