// Generated streams against the detectors: a slow mean drift, a constant small
// shift, an abrupt categorical change, and stationary streams.
#include "drift/reference.hpp"
#include "drift/statistics.hpp"
#include "unit/drift/stream.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <iostream>
#include <random>

namespace bulwark::drift {
namespace {

using namespace streams;

// Window volume of every scenario: 1000 events per 1 h window, 24 reference
// windows (a reference sample of min(24 000, reference_sample = 8192) values).
constexpr int volume = 1000;
constexpr std::int64_t reference_windows = 24;

monitor make_monitor(std::vector<feature_spec> features) {
  settings s;
  s.features = std::move(features);
  auto m = monitor::make(s);
  return std::move(std::get<monitor>(m));
}

feature_spec numeric(std::string path) {
  return {std::move(path), feature_type::numeric, {}, {}, {}};
}

feature_spec categorical(std::string path) {
  return {std::move(path), feature_type::categorical, {}, {}, {}};
}

/// PSI between two samples on 10 equal-width bins over [-3, 3] (the outer
/// ones open): what a "today against yesterday" comparison would see.
double psi_between(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> ha(10), hb(10);
  const auto bin = [](double x) {
    return static_cast<std::size_t>(std::clamp((x + 3) / 6 * 10, 0.0, 9.0));
  };
  for (const double x : a)
    ++ha[bin(x)];
  for (const double x : b)
    ++hb[bin(x)];
  return population_stability_index(ha, hb);
}

TEST(DriftScenario, AMeanMovingTwoPercentOfAnSdPerWindowAlertsBeforeHalfAnSd) {
  monitor m = make_monitor({numeric("/score")});
  driver d(m);
  std::mt19937_64 rng(2026);
  std::normal_distribution<double> noise(0, 1);
  constexpr std::int64_t drift_start = reference_windows + 10;
  const auto shift_at = [&](std::int64_t w) {
    return w < drift_start ? 0.0 : 0.02 * static_cast<double>(w - drift_start + 1);
  };
  std::vector<double> previous, current;
  double worst_consecutive_psi = 0;
  std::int64_t w = 0;
  for (; w < drift_start + 30 && d.of_kind("drift").empty(); ++w) {
    current.clear();
    d.window(w, volume, [&](int) {
      const double x = shift_at(w) + noise(rng);
      current.push_back(x);
      return std::vector<feature_value>{feature_value::of(x)};
    });
    if (w >= drift_start && !previous.empty())
      worst_consecutive_psi = std::max(worst_consecutive_psi, psi_between(previous, current));
    previous = current;
  }
  // Today against yesterday sees nothing: consecutive windows stay far below
  // any PSI threshold (0.1) the whole time; their sampling noise alone is
  // about 0.02 at 1000 events.
  EXPECT_LT(worst_consecutive_psi, 0.05);
  // Let the window that was open when the last batch ended close too.
  d.take(m.advance(t0 + (w + 1) * hour));
  const auto alerts = d.of_kind("drift");
  ASSERT_FALSE(alerts.empty()) << "no alert in 30 drifting windows (0.6 SD)";
  const std::int64_t tripped = last_window(*alerts.front());
  EXPECT_GE(tripped, drift_start) << "an alert before the drift started";
  EXPECT_LT(shift_at(tripped), 0.5);
  const auto e = evidence(*alerts.front());
  std::cout << "slow drift: alert after " << tripped - drift_start + 1 << " windows, shift "
            << shift_at(tripped) << " SD, detector " << field(e, "detector") << " ("
            << field(e, "signature") << ")\n";
  // The onset estimate lands in the drift, not in the stationary past.
  const auto onset = parse_rfc3339(field(e, "onset"));
  ASSERT_TRUE(onset);
  EXPECT_GE(*onset, t0 + (drift_start - 2) * hour);
}

TEST(DriftScenario, AConstantSmallShiftIsCaughtAsABoilingFrogWhileNoWindowDrifts) {
  monitor m = make_monitor({numeric("/score")});
  driver d(m);
  std::mt19937_64 rng(77);
  std::normal_distribution<double> noise(0, 1);
  constexpr std::int64_t drift_start = reference_windows + 10;
  // 0.06 SD: each window's own test sits far below its critical value.
  for (std::int64_t w = 0; w < drift_start + 120 && d.of_kind("drift").empty(); ++w)
    d.window(w, volume, [&](int) {
      return std::vector<feature_value>{
          feature_value::of((w >= drift_start ? 0.06 : 0) + noise(rng))};
    });
  const auto alerts = d.of_kind("drift");
  ASSERT_FALSE(alerts.empty());
  const auto e = evidence(*alerts.front());
  EXPECT_GE(last_window(*alerts.front()), drift_start);
  EXPECT_NE(field(e, "detector"), "window");
  EXPECT_EQ(field(e, "signature"), "boiling_frog");
  EXPECT_NE(alerts.front()->request.title.find("boiling_frog"), std::string::npos);
  std::cout << "constant 0.06 SD: alert after " << last_window(*alerts.front()) - drift_start + 1
            << " windows by " << field(e, "detector") << " " << field(e, "scale") << "\n";
}

TEST(DriftScenario, AnAbruptCategoricalMixChangeAlertsInTheWindowItHappens) {
  monitor m = make_monitor({categorical("/country")});
  driver d(m);
  std::mt19937_64 rng(5);
  std::uniform_real_distribution<double> u(0, 1);
  constexpr std::int64_t change = reference_windows + 10;
  static const std::string leaked = "alice@example.com"; // a value that must not be echoed
  for (std::int64_t w = 0; w <= change + 2; ++w)
    d.window(w, volume, [&](int) {
      const double r = u(rng);
      std::string_view c;
      if (w < change)
        c = r < 0.5 ? "DE" : (r < 0.8 ? "FR" : "IT");
      else
        c = r < 0.3 ? "DE" : (r < 0.6 ? "FR" : (r < 0.8 ? "IT" : std::string_view(leaked)));
      return std::vector<feature_value>{feature_value::of(c)};
    });
  d.finish();
  const auto alerts = d.of_kind("drift");
  ASSERT_FALSE(alerts.empty());
  const raised_alert& a = *alerts.front();
  EXPECT_EQ(first_window(a), change);
  EXPECT_EQ(last_window(a), change);
  const auto e = evidence(a);
  EXPECT_EQ(field(e, "detector"), "window");
  EXPECT_EQ(field(e, "signature"), "abrupt");
  EXPECT_EQ(a.request.level, severity::high); // PSI far above psi_large
  EXPECT_EQ(a.ref_id, d.last_ref.at(change));
  // New categories are a count and digests, never the raw value.
  EXPECT_EQ(a.request.evidence.find("alice"), std::string::npos);
  EXPECT_NE(a.request.evidence.find(short_digest(leaked)), std::string::npos);
  const auto* novel = e.find("new_categories");
  ASSERT_NE(novel, nullptr);
  EXPECT_EQ(number(*novel, "distinct"), 1.0);
  EXPECT_GT(number(*novel, "events"), 150.0);
  // The table's own categories, identifier-shaped, are named with a direction.
  EXPECT_NE(a.request.evidence.find(R"("category":"DE")"), std::string::npos);
  EXPECT_NE(a.request.evidence.find(R"("slot":"other")"), std::string::npos);
}

/// A stationary stream with several features of the natural shapes.
void stationary(std::uint64_t seed) {
  monitor m = make_monitor(
      {numeric("/score"), numeric("/latency_ms"), numeric("/tokens"), categorical("/country")});
  driver d(m);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> score(0.2, 0.1);
  std::lognormal_distribution<double> latency(4, 0.5);
  std::poisson_distribution<int> tokens(40);
  std::uniform_real_distribution<double> u(0, 1);
  constexpr std::int64_t windows = reference_windows + 500;
  for (std::int64_t w = 0; w < windows; ++w)
    d.window(w, volume, [&](int) {
      const double r = u(rng);
      return std::vector<feature_value>{
          feature_value::of(score(rng)), feature_value::of(latency(rng)),
          feature_value::of(static_cast<double>(tokens(rng))),
          feature_value::of(std::string_view(r < 0.6 ? "en" : (r < 0.9 ? "de" : "fr")))};
    });
  d.finish();
  for (const auto* a : d.of_kind("drift"))
    ADD_FAILURE() << "false alarm: " << a->request.title << " " << a->request.evidence;
  EXPECT_EQ(m.stats().applied, static_cast<std::uint64_t>(500 * volume));
  EXPECT_EQ(m.state().frozen, 4U);
}

TEST(DriftScenario, AStationaryStreamRaisesNoAlertIn500WindowsSeed1) {
  stationary(1);
}

TEST(DriftScenario, AStationaryStreamRaisesNoAlertIn500WindowsSeed2) {
  stationary(2);
}

TEST(DriftScenario, AStationaryStreamRaisesNoAlertIn500WindowsSeed3) {
  stationary(3);
}

} // namespace
} // namespace bulwark::drift
