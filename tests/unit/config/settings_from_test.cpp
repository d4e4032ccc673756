/// The YAML keys beyond SPEC §2 fill config structs whose defaults are
/// written out a second time in options.hpp; these tests pin that both
/// copies agree (an empty file gives each module exactly its own defaults)
/// and that every key reaches the module setting it names.
#include "alert/settings.hpp"
#include "config/load.hpp"
#include "drift/settings.hpp"
#include "integrity/checker.hpp"

#include <gtest/gtest.h>

namespace bulwark {
namespace {

config::options loads(std::string_view yaml) {
  auto result = config::load_string(yaml, "test.yaml");
  if (const auto* e = std::get_if<config::load_error>(&result)) {
    ADD_FAILURE() << e->message();
    return {};
  }
  return std::get<config::options>(std::move(result));
}

void expect_same(const alert::timers& a, const alert::timers& b, const std::string& what) {
  EXPECT_EQ(a.group_wait, b.group_wait) << what;
  EXPECT_EQ(a.group_interval, b.group_interval) << what;
  EXPECT_EQ(a.repeat_interval, b.repeat_interval) << what;
  EXPECT_EQ(a.resolve_timeout, b.resolve_timeout) << what;
}

TEST(SettingsFrom, AnEmptyFileGivesTheAlertEngineItsOwnDefaults) {
  const alert::engine_settings got = alert::settings_from(loads("").alerts);
  const alert::engine_settings want;
  for (std::size_t i = 0; i < want.by_severity.size(); ++i)
    expect_same(got.by_severity[i], want.by_severity[i], "severity " + std::to_string(i));
  EXPECT_TRUE(got.by_kind.empty());
  for (const auto& [g, w] : {std::pair{got.per_source, want.per_source},
                             {got.unverified, want.unverified},
                             {got.global, want.global}}) {
    EXPECT_EQ(g.burst, w.burst);
    EXPECT_EQ(g.refill_every, w.refill_every);
  }
  EXPECT_EQ(got.flood.window, want.flood.window);
  EXPECT_EQ(got.flood.enter_count, want.flood.enter_count);
  EXPECT_EQ(got.flood.exit_count, want.flood.exit_count);
  EXPECT_EQ(got.flood.quiet_for, want.flood.quiet_for);
  EXPECT_EQ(got.flood.update_interval, want.flood.update_interval);
  EXPECT_EQ(got.flood.top_n, want.flood.top_n);
  EXPECT_EQ(got.flood.source_slots, want.flood.source_slots);
  EXPECT_EQ(got.limit.max_folds, want.limit.max_folds);
  EXPECT_EQ(got.limit.max_priority_folds, want.limit.max_priority_folds);
  EXPECT_EQ(got.limit.max_budgets, want.limit.max_budgets);
  EXPECT_FALSE(alert::validate(got));
}

TEST(SettingsFrom, AlertKeysReachTheEngineAndAKindInheritsItsSeverity) {
  const auto s = alert::settings_from(loads(R"(alerts:
  timers:
    high: {group_interval: 2m}
  kinds:
    integrity.gap: {repeat_interval: 0s}
  per_source: {burst: 3, refill_every: 20s}
  flood: {enter: 1000, exit: 10, top: 40}
  max_alerts: 99
  max_sources: 77
)")
                                          .alerts);
  EXPECT_EQ(s.by_severity[2].group_interval, 120'000);
  EXPECT_EQ(s.by_severity[2].group_wait, 0); // unset: the built-in value
  ASSERT_EQ(s.by_kind.size(), 1U);
  EXPECT_EQ(s.by_kind[0].kind, "integrity.gap");
  // integrity.gap is high: its other timers are high's, as configured.
  EXPECT_EQ(s.by_kind[0].value.group_interval, 120'000);
  EXPECT_EQ(s.by_kind[0].value.repeat_interval, 0);
  EXPECT_EQ(s.by_kind[0].value.resolve_timeout,
            alert::engine_settings{}.by_severity[2].resolve_timeout);
  EXPECT_EQ(s.per_source.burst, 3U);
  EXPECT_EQ(s.per_source.refill_every, 20'000);
  EXPECT_EQ(s.flood.enter_count, 1000U);
  EXPECT_EQ(s.flood.exit_count, 10U);
  EXPECT_EQ(s.flood.top_n, 40U);
  EXPECT_GE(s.flood.source_slots, 40U); // the top N must fit
  EXPECT_EQ(s.limit.max_folds, 99U);
  EXPECT_EQ(s.limit.max_budgets, 77U);
  EXPECT_FALSE(alert::validate(s));
}

TEST(SettingsFrom, AnEmptyFileGivesTheDriftMonitorItsOwnDefaults) {
  // One feature, so the whole settings object is validated as the monitor would.
  const auto got =
      drift::from_config(loads("drift:\n  features: [{path: /x, type: numeric}]\n").drift);
  const drift::settings want;
  EXPECT_EQ(got.max_keys, want.max_keys);
  EXPECT_EQ(got.evict_idle_windows, want.evict_idle_windows);
  ASSERT_EQ(got.scales.size(), want.scales.size());
  for (std::size_t i = 0; i < want.scales.size(); ++i) {
    EXPECT_EQ(got.scales[i].windows, want.scales[i].windows);
    EXPECT_EQ(got.scales[i].step, want.scales[i].step);
  }
  EXPECT_EQ(got.numeric_bins, want.numeric_bins);
  EXPECT_EQ(got.max_categories, want.max_categories);
  EXPECT_EQ(got.min_window_events, want.min_window_events);
  EXPECT_EQ(got.min_pane_events, want.min_pane_events);
  EXPECT_EQ(got.false_alarm_windows, want.false_alarm_windows);
  EXPECT_EQ(got.psi_floor, want.psi_floor);
  EXPECT_EQ(got.js_floor, want.js_floor);
  EXPECT_EQ(got.u_shift_floor, want.u_shift_floor);
  EXPECT_EQ(got.psi_large, want.psi_large);
  EXPECT_EQ(got.js_large, want.js_large);
  EXPECT_EQ(got.u_shift_large, want.u_shift_large);
  EXPECT_EQ(got.cusum_slack, want.cusum_slack);
  EXPECT_EQ(got.repeat_windows, want.repeat_windows);
  // 1 h windows: the 5 min default lateness is under the 8-window cap.
  EXPECT_EQ(got.allowed_lateness_ms, want.allowed_lateness_ms);
  ASSERT_EQ(got.features.size(), 1U);
  EXPECT_FALSE(got.features[0].psi_floor);
  EXPECT_FALSE(drift::validate(got));
}

TEST(SettingsFrom, DriftKeysReachTheMonitor) {
  const auto s = drift::from_config(loads(R"(drift:
  window: 2s
  features: [{path: /x, type: numeric, floors: {psi: 0.3, shift: 0.05}}]
  allowed_lateness: 10s
  scales: [{windows: 30, step: 5}]
  bins: 20
  floors: {psi: 0.2}
  large: {js: 0.4}
)")
                                        .drift);
  EXPECT_EQ(s.window_ms, 2000);
  EXPECT_EQ(s.allowed_lateness_ms, 10'000); // set explicitly: not capped
  ASSERT_EQ(s.scales.size(), 1U);
  EXPECT_EQ(s.scales[0].windows, 30U);
  EXPECT_EQ(s.scales[0].step, 5U);
  EXPECT_EQ(s.numeric_bins, 20U);
  EXPECT_EQ(s.psi_floor, 0.2);
  EXPECT_EQ(s.js_floor, drift::settings{}.js_floor);
  EXPECT_EQ(s.js_large, 0.4);
  EXPECT_EQ(s.features[0].psi_floor, 0.3);
  EXPECT_FALSE(s.features[0].js_floor);
  EXPECT_EQ(s.features[0].u_shift_floor, 0.05);
  EXPECT_FALSE(drift::validate(s));
}

TEST(SettingsFrom, TheDefaultLatenessIsCappedAtEightShortWindows) {
  const auto s = drift::from_config(loads("drift:\n  window: 2s\n").drift);
  EXPECT_EQ(s.allowed_lateness_ms, 16'000);
}

TEST(SettingsFrom, AnEmptyFileGivesTheIntegrityCheckerItsOwnDefaults) {
  const integrity::checker_settings got = integrity::settings_from(loads("").integrity);
  const integrity::checker_settings want;
  EXPECT_EQ(got.silence_after, want.silence_after);
  EXPECT_EQ(got.max_skew, want.max_skew);
  EXPECT_EQ(got.replay_window, want.replay_window);
  EXPECT_EQ(got.reorder_tolerance, want.reorder_tolerance);
  EXPECT_EQ(got.reset_max_seq, want.reset_max_seq);
  EXPECT_EQ(got.watermark_quorum, want.watermark_quorum);
  EXPECT_EQ(got.max_sources, want.max_sources);
  EXPECT_EQ(got.max_streams, want.max_streams);
  EXPECT_EQ(got.max_epochs_per_source, want.max_epochs_per_source);
  const auto& p = got.poisoning;
  const auto& q = want.poisoning;
  EXPECT_EQ(p.window, q.window);
  EXPECT_EQ(p.min_peers, q.min_peers);
  EXPECT_EQ(p.z_threshold, q.z_threshold);
  EXPECT_EQ(p.persistence, q.persistence);
  EXPECT_EQ(p.persistence_lookback, q.persistence_lookback);
  EXPECT_EQ(p.untrusted_for, q.untrusted_for);
  EXPECT_EQ(p.rollback_min_z, q.rollback_min_z);
  EXPECT_EQ(p.non_negative, q.non_negative);
  EXPECT_EQ(p.unit_interval, q.unit_interval);
  EXPECT_EQ(p.higher_is_worse, q.higher_is_worse);
  EXPECT_EQ(p.lower_is_worse, q.lower_is_worse);
}

TEST(SettingsFrom, IntegrityKeysReachTheChecker) {
  const auto s = integrity::settings_from(loads(R"(integrity:
  reorder_tolerance: 8
  reset_max_seq: 2
  watermark_quorum: 1
  max_streams: 10
  poisoning: {window: 30s, min_peers: 6, z_threshold: 3, untrusted_for: 10m,
              unit_interval: ["*ratio*"]}
)")
                                              .integrity);
  EXPECT_EQ(s.reorder_tolerance, 8U);
  EXPECT_EQ(s.reset_max_seq, 2U);
  EXPECT_EQ(s.watermark_quorum, 1U);
  EXPECT_EQ(s.max_streams, 10U);
  EXPECT_EQ(s.poisoning.window, 30'000);
  EXPECT_EQ(s.poisoning.min_peers, 6U);
  EXPECT_EQ(s.poisoning.z_threshold, 3.0);
  EXPECT_EQ(s.poisoning.untrusted_for, 600'000);
  EXPECT_EQ(s.poisoning.unit_interval, std::vector<std::string>{"*ratio*"});
}

} // namespace
} // namespace bulwark
