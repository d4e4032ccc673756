#include "drift/settings.hpp"

#include "drift/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <set>

namespace bulwark::drift {

std::string_view to_string(feature_type t) noexcept {
  return t == feature_type::numeric ? "numeric" : "categorical";
}

settings from_config(const config::drift_options& options) {
  settings s;
  s.event_time = options.event_time;
  s.key = options.key;
  s.window_ms = options.window.count();
  if (options.allowed_lateness) {
    s.allowed_lateness_ms = options.allowed_lateness->count();
  } else if (s.window_ms > 0) {
    // The default lateness (5 min) is also capped at 8 windows, so short
    // windows (seconds, as in the demo) stay valid without a setting.
    s.allowed_lateness_ms = std::min(s.allowed_lateness_ms, 8 * s.window_ms);
  }
  s.reference_windows =
      options.reference_windows > 0 ? static_cast<std::uint32_t>(options.reference_windows) : 0;
  s.reference_file = options.reference_file;
  s.learn_references = options.reference_file.empty();
  for (const auto& f : options.features) {
    feature_spec spec;
    spec.path = f.path;
    spec.type = f.kind == config::drift_feature::type::numeric ? feature_type::numeric
                                                               : feature_type::categorical;
    spec.psi_floor = f.floors.psi;
    spec.js_floor = f.floors.js;
    spec.u_shift_floor = f.floors.shift;
    s.features.push_back(std::move(spec));
  }
  s.max_keys = options.max_keys;
  s.evict_idle_windows = options.evict_idle_windows;
  s.scales.clear();
  for (const auto& sc : options.scales)
    s.scales.push_back({sc.windows, sc.step});
  s.numeric_bins = options.bins;
  s.max_categories = options.max_categories;
  s.min_window_events = options.min_window_events;
  s.min_pane_events = options.min_pane_events;
  s.false_alarm_windows = options.false_alarm_windows;
  s.psi_floor = options.floors.psi.value_or(s.psi_floor);
  s.js_floor = options.floors.js.value_or(s.js_floor);
  s.u_shift_floor = options.floors.shift.value_or(s.u_shift_floor);
  s.psi_large = options.large.psi.value_or(s.psi_large);
  s.js_large = options.large.js.value_or(s.js_large);
  s.u_shift_large = options.large.shift.value_or(s.u_shift_large);
  s.cusum_slack = options.cusum_slack;
  s.repeat_windows = options.repeat_windows;
  return s;
}

namespace {

bool positive_finite(double v) noexcept {
  return std::isfinite(v) && v > 0;
}

std::optional<error> fail(std::string message) {
  return error{"drift: " + std::move(message)};
}

} // namespace

std::optional<error> validate(const settings& s) {
  if (s.window_ms <= 0) return fail("window must be positive");
  if (s.learn_references && s.reference_windows < 1)
    return fail("reference.windows must be at least 1");
  if (s.allowed_lateness_ms < 0) return fail("allowed_lateness must not be negative");
  if (s.allowed_lateness_ms / s.window_ms > 64)
    return fail("allowed_lateness must be at most 64 windows");
  if (s.max_future_windows > 64) return fail("max_future_windows must be at most 64");
  if (s.max_keys < 1) return fail("max_keys must be at least 1");
  if (s.numeric_bins < 2 || s.numeric_bins > 1024)
    return fail("numeric_bins must be between 2 and 1024");
  if (s.max_categories < 1 || s.max_categories > 4096)
    return fail("max_categories must be between 1 and 4096");
  if (s.reference_sample < 64 || s.reference_sample > (1U << 24))
    return fail("reference_sample must be between 64 and 16777216");
  if (s.min_window_events < 1) return fail("min_window_events must be at least 1");
  if (s.min_pane_events < 1) return fail("min_pane_events must be at least 1");
  if (!(s.false_alarm_windows >= 1) || !std::isfinite(s.false_alarm_windows))
    return fail("false_alarm_windows must be at least 1");
  for (const double v : {s.psi_floor, s.psi_large, s.js_floor, s.js_large, s.u_shift_floor,
                         s.u_shift_large, s.cusum_slack, s.psi_epsilon})
    if (!positive_finite(v)) return fail("thresholds, floors and slack must be positive");
  if (s.psi_epsilon > 0.01) return fail("psi_epsilon must be at most 0.01");
  if (!(s.reference_allowance >= 0) || !std::isfinite(s.reference_allowance))
    return fail("reference_allowance must not be negative");
  if (s.repeat_windows < 1) return fail("repeat_windows must be at least 1");
  std::set<std::uint32_t> lengths;
  for (const auto& sc : s.scales) {
    if (sc.windows < 2) return fail("a scale spans at least 2 windows");
    if (sc.step < 1 || sc.windows % sc.step != 0)
      return fail("a scale's step must divide its windows");
    if (sc.windows / sc.step > 4096) return fail("a scale may hold at most 4096 steps");
    if (!lengths.insert(sc.windows).second) return fail("scales must differ in length");
  }
  if (s.scales.size() > 8) return fail("at most 8 scales");
  if (s.features.size() > 256) return fail("at most 256 features");
  std::set<std::string> paths;
  for (const auto& f : s.features) {
    if (f.path.empty() || f.path.front() != '/')
      return fail("feature path '" + f.path + "' is not a JSON pointer");
    if (!paths.insert(f.path).second) return fail("feature '" + f.path + "' is listed twice");
    for (const auto& v : {f.psi_floor, f.js_floor, f.u_shift_floor})
      if (v && !positive_finite(*v))
        return fail("feature '" + f.path + "': floors must be positive");
  }
  return std::nullopt;
}

calibration calibrate(const settings& s) {
  calibration c;
  for (const auto& f : s.features)
    c.detectors += 1 + s.scales.size() + (f.type == feature_type::numeric ? 1 : 0);
  c.rate =
      1.0 / (s.false_alarm_windows * static_cast<double>(std::max<std::size_t>(1, c.detectors)));
  // A scale evaluated every `step` windows may spend `step` windows' worth of
  // the rate on each evaluation; numeric features split it between the binned
  // test and the u-mean test.
  std::vector<std::uint32_t> steps{1};
  for (const auto& sc : s.scales)
    steps.push_back(sc.step);
  for (const std::uint32_t step : steps) {
    const double alpha = std::min(0.5, c.rate * step);
    c.alpha.push_back(alpha);
    c.z_critical.push_back(normal_two_sided_critical(alpha / 2));
  }
  // Two one-sided CUSUMs: each gets half the rate.
  c.cusum_run_length = 2.0 / c.rate;
  c.cusum_threshold = cusum_threshold(s.cusum_slack, c.cusum_run_length);
  return c;
}

} // namespace bulwark::drift
