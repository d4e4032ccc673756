#include "integrity/poisoning.hpp"

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace bulwark::integrity {
namespace {

constexpr timestamp_ms t0 = 1'790'000'040'000; // not aligned to a minute on purpose
constexpr timestamp_ms minute = 60'000;

/// A fleet of model servers reporting three health metrics every 10 s with
/// realistic noise: per-server offsets (hardware differs), per-sample jitter,
/// and rare honest latency spikes.
struct fleet {
  struct server {
    std::string name;
    double latency_base;
    double error_base;
    double accuracy_base;
  };
  std::mt19937_64 rng;
  std::vector<server> servers;
  /// Which server lies, from when to when, and how.
  std::string liar;
  timestamp_ms lie_from = 0, lie_to = 0;
  double latency_factor = 1, lie_error_rate = -1, lie_accuracy = -1;

  explicit fleet(std::uint64_t seed, int n = 10) : rng(seed) {
    std::normal_distribution<double> lat(120, 6), err(0.01, 0.002), acc(0.93, 0.004);
    for (int i = 0; i < n; ++i)
      servers.push_back(
          {"srv-" + std::to_string(i), lat(rng), std::max(0.0, err(rng)), std::min(1.0, acc(rng))});
  }

  /// Every sample of one 10-second tick at time `t`.
  std::vector<metric_sample> tick(timestamp_ms t) {
    std::vector<metric_sample> out;
    std::normal_distribution<double> jitter(0, 1);
    std::uniform_real_distribution<double> u(0, 1);
    for (const auto& s : servers) {
      double latency = s.latency_base + 8 * jitter(rng);
      if (u(rng) < 0.01) latency *= 1.6; // an honest spike
      double error = std::max(0.0, s.error_base + 0.003 * jitter(rng));
      double accuracy = std::min(1.0, s.accuracy_base + 0.01 * jitter(rng));
      if (s.name == liar && t >= lie_from && t < lie_to) {
        latency *= latency_factor;
        if (lie_error_rate >= 0) error = lie_error_rate;
        if (lie_accuracy >= 0) accuracy = lie_accuracy;
      }
      out.push_back({s.name, "fraud", "latency_p99_ms", latency, t, true});
      out.push_back({s.name, "fraud", "error_rate", error, t, true});
      out.push_back({s.name, "fraud", "accuracy", accuracy, t, true});
    }
    return out;
  }
};

/// Runs `minutes` of the fleet through a monitor; returns the findings with
/// the time each was raised.
std::vector<std::pair<timestamp_ms, poisoning_finding>> run(fleet& f, peer_monitor& m,
                                                            int minutes) {
  std::vector<std::pair<timestamp_ms, poisoning_finding>> all;
  std::vector<poisoning_finding> found;
  for (timestamp_ms t = t0; t < t0 + minutes * minute; t += 10'000) {
    for (const auto& s : f.tick(t))
      m.observe(s, t, found);
    m.advance(t, t, found);
    for (auto& x : found)
      all.emplace_back(t, std::move(x));
    found.clear();
  }
  return all;
}

TEST(Poisoning, AnHonestNoisyFleetIsNeverFlagged) {
  for (std::uint64_t seed = 1; seed <= 25; ++seed) {
    fleet f(seed);
    peer_monitor m(poisoning_settings{});
    const auto found = run(f, m, 90);
    EXPECT_TRUE(found.empty()) << "seed " << seed << ": " << found.front().second.source << " "
                               << found.front().second.metric << " z "
                               << found.front().second.robust_z;
  }
}

TEST(Poisoning, ASourceMisreportingForFiveMinutesIsCaughtAndNoHonestPeerIsFlagged) {
  for (std::uint64_t seed = 1; seed <= 25; ++seed) {
    fleet f(seed);
    f.liar = "srv-3";
    f.lie_from = t0 + 30 * minute;
    f.lie_to = f.lie_from + 5 * minute;
    f.latency_factor = 1.8; // the current model "got slower"
    peer_monitor m(poisoning_settings{});
    const auto found = run(f, m, 60);
    ASSERT_EQ(found.size(), 1U) << "seed " << seed;
    const auto& [when, finding] = found[0];
    EXPECT_EQ(finding.source, "srv-3");
    EXPECT_EQ(finding.metric, "latency_p99_ms");
    EXPECT_EQ(finding.reason, poisoning_finding::why::peer_outlier);
    EXPECT_GT(finding.robust_z, 6.0);
    EXPECT_GE(finding.outlier_windows, 2U);
    EXPECT_EQ(finding.peers, 10U);
    // Caught while the lie is still going on (plus the closing grace).
    EXPECT_LE(when, f.lie_to + 15'000) << "seed " << seed;
    EXPECT_TRUE(m.untrusted("srv-3", when));
    EXPECT_FALSE(m.untrusted("srv-4", when));
  }
}

TEST(Poisoning, AnErrorRateAndAccuracyLieIsCaughtOncePerSource) {
  fleet f(7);
  f.liar = "srv-5";
  f.lie_from = t0 + 10 * minute;
  f.lie_to = f.lie_from + 5 * minute;
  f.lie_error_rate = 0.2;
  f.lie_accuracy = 0.6;
  peer_monitor m(poisoning_settings{});
  const auto found = run(f, m, 30);
  ASSERT_EQ(found.size(), 1U); // both metrics disagree; one alert per offending source
  EXPECT_EQ(found[0].second.source, "srv-5");
}

TEST(Poisoning, ImpossibleValuesAreOffencesAtOnceAndUntrustExpires) {
  poisoning_settings s;
  s.untrusted_for = 10 * minute;
  peer_monitor m(s);
  std::vector<poisoning_finding> found;
  m.observe({"srv-1", "fraud", "latency_p99_ms", -3.0, t0, true}, t0, found);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].reason, poisoning_finding::why::impossible_value);
  EXPECT_EQ(found[0].bound, "non_negative");
  EXPECT_EQ(found[0].untrusted_until, t0 + 10 * minute);
  // Again while untrusted: no new alert, but the untrust is extended.
  m.observe({"srv-1", "fraud", "error_rate", 1.5, t0 + minute, true}, t0 + minute, found);
  EXPECT_EQ(found.size(), 1U);
  EXPECT_TRUE(m.untrusted("srv-1", t0 + 10 * minute));
  EXPECT_FALSE(m.untrusted("srv-1", t0 + 11 * minute));
  // After it expired, a new offence is a new alert.
  m.observe({"srv-1", "fraud", "accuracy", -0.1, t0 + 12 * minute, true}, t0 + 12 * minute, found);
  ASSERT_EQ(found.size(), 2U);
  EXPECT_EQ(found[1].bound, "unit_interval");
  m.observe({"srv-2", "fraud", "anything", std::nan(""), t0, true}, t0, found);
  ASSERT_EQ(found.size(), 3U);
  EXPECT_EQ(found[2].bound, "finite");
  // In range, or names no pattern restricts: fine.
  m.observe({"srv-3", "fraud", "error_rate", 1.0, t0, true}, t0, found);
  m.observe({"srv-3", "fraud", "latency_p99_ms", 0.0, t0, true}, t0, found);
  m.observe({"srv-3", "fraud", "temperature_delta", -4.0, t0, true}, t0, found);
  EXPECT_EQ(found.size(), 3U);
}

TEST(Poisoning, IdenticalPeersMakeMadZeroWithoutInfiniteScores) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  // Nine servers report exactly 0 errors; srv-9 reports a rounding-sized
  // difference, then srv-8 a real one, for three windows.
  for (int w = 0; w < 3; ++w) {
    const timestamp_ms t = t0 + w * minute;
    for (int i = 0; i < 8; ++i)
      m.observe({"srv-" + std::to_string(i), "fraud", "error_rate", 0.0, t, true}, t, found);
    m.observe({"srv-8", "fraud", "error_rate", 0.25, t, true}, t, found);
    m.observe({"srv-9", "fraud", "error_rate", 0.0004, t, true}, t, found);
  }
  m.close_all(t0 + 3 * minute, found);
  ASSERT_EQ(found.size(), 1U);
  EXPECT_EQ(found[0].source, "srv-8");
  EXPECT_TRUE(std::isfinite(found[0].robust_z));
  EXPECT_EQ(found[0].peer_median, 0.0);
}

TEST(Poisoning, OneOutlierWindowIsNotEnough) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  for (int w = 0; w < 5; ++w) {
    const timestamp_ms t = t0 + w * minute;
    for (int i = 0; i < 6; ++i) {
      const double v = (i == 0 && w == 2) ? 900.0 : 100.0 + i;
      m.observe({"srv-" + std::to_string(i), "fraud", "latency_p99_ms", v, t, true}, t, found);
    }
  }
  m.close_all(t0 + 5 * minute, found);
  EXPECT_TRUE(found.empty());
}

TEST(Poisoning, FewerThanMinPeersAreNotCompared) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  for (int w = 0; w < 5; ++w) {
    const timestamp_ms t = t0 + w * minute;
    m.observe({"srv-0", "fraud", "latency_p99_ms", 100, t, true}, t, found);
    m.observe({"srv-1", "fraud", "latency_p99_ms", 101, t, true}, t, found);
    m.observe({"srv-2", "fraud", "latency_p99_ms", 900, t, true}, t, found);
  }
  m.close_all(t0 + 5 * minute, found);
  EXPECT_TRUE(found.empty());
}

TEST(Poisoning, SamplesForAClosedWindowAreCountedLate) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  m.observe({"srv-0", "fraud", "latency_p99_ms", 100, t0, true}, t0, found);
  m.advance(t0 + 5 * minute, t0, found);
  m.observe({"srv-1", "fraud", "latency_p99_ms", 100, t0, true}, t0, found);
  EXPECT_EQ(m.late_samples(), 1U);
}

TEST(Poisoning, TablesAreCappedAndTheHitNamesTheTable) {
  poisoning_settings s;
  s.max_groups = 4;
  peer_monitor m(s);
  std::vector<poisoning_finding> found;
  for (int i = 0; i < 20; ++i)
    m.observe({"srv-0", "model-" + std::to_string(i), "latency_ms", 1, t0, true}, t0, found);
  auto hit = m.take_capacity_hit();
  ASSERT_TRUE(hit.has_value());
  EXPECT_EQ(hit->table, "metric_groups");
  EXPECT_EQ(hit->cap, 4U);
  EXPECT_FALSE(m.take_capacity_hit().has_value());
  EXPECT_EQ(m.entries(), 4U); // evicted groups give their entries back
}

TEST(Poisoning, OneEntryBudgetBoundsEveryWindowTogether) {
  poisoning_settings s;
  s.max_entries = 100;
  peer_monitor m(s);
  std::vector<poisoning_finding> found;
  // An unauthenticated flood of invented sources, models and metrics.
  for (int i = 0; i < 5000; ++i) {
    const std::string name = "x-" + std::to_string(i);
    const timestamp_ms t = t0 + (i % 7) * minute;
    m.observe({name, "model-" + std::to_string(i % 13), name, 1.0, t, false}, t, found);
    m.advance(t, t, found);
    ASSERT_LE(m.entries(), 100U);
  }
  auto hit = m.take_capacity_hit();
  ASSERT_TRUE(hit.has_value());
}

/// Feeds `minutes` of a latency metric for model "fraud": 8 honest signed
/// servers around 100 ms and one extra server (`odd`) reporting `odd_value`.
void feed_latency(peer_monitor& m, int minutes, const std::string& odd, double odd_value,
                  bool odd_authenticated, std::vector<poisoning_finding>& found) {
  std::mt19937_64 rng(99);
  std::normal_distribution<double> noise(0, 2);
  for (timestamp_ms t = t0; t < t0 + minutes * minute; t += 10'000) {
    for (int i = 0; i < 8; ++i)
      m.observe({"srv-" + std::to_string(i), "fraud", "latency_p99_ms", 100 + noise(rng), t, true},
                t, found);
    m.observe({odd, "fraud", "latency_p99_ms", odd_value, t, odd_authenticated}, t, found);
    m.advance(t, t, found);
  }
}

TEST(RollbackGuard, FiresWhenTheWorseMetricsCameFromAnUntrustedSource) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  feed_latency(m, 10, "srv-evil", 400, true, found);
  ASSERT_EQ(found.size(), 1U);
  const timestamp_ms at = t0 + 10 * minute;
  const auto a = m.assess_rollback("fraud", at, at);
  EXPECT_TRUE(a.fire());
  ASSERT_FALSE(a.suspects.empty());
  EXPECT_EQ(a.suspects[0].source, "srv-evil");
  EXPECT_TRUE(a.suspects[0].untrusted);
  EXPECT_FALSE(a.suspects[0].unauthenticated);
  EXPECT_FALSE(m.assess_rollback("other-model", at, at).fire());
}

TEST(RollbackGuard, FiresWhenTheWorseMetricsWereUnsignedEvenBelowThePoisoningThreshold) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  feed_latency(m, 10, "srv-unsigned", 115, false, found); // z about 3: worse, not poisoning
  EXPECT_TRUE(found.empty());
  const timestamp_ms at = t0 + 10 * minute;
  const auto a = m.assess_rollback("fraud", at, at);
  EXPECT_TRUE(a.fire());
  ASSERT_FALSE(a.suspects.empty());
  EXPECT_EQ(a.suspects[0].source, "srv-unsigned");
  EXPECT_TRUE(a.suspects[0].unauthenticated);
  EXPECT_GE(a.suspects[0].robust_z, 2.0);
}

TEST(RollbackGuard, StaysQuietWhenTheWholeSignedFleetDegraded) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  // Everyone slows down together: a real regression, a rollback is justified.
  feed_latency(m, 10, "srv-8", 100, true, found);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 2);
  for (timestamp_ms t = t0 + 10 * minute; t < t0 + 15 * minute; t += 10'000)
    for (int i = 0; i < 9; ++i)
      m.observe({"srv-" + std::to_string(i), "fraud", "latency_p99_ms", 300 + noise(rng), t, true},
                t, found);
  EXPECT_TRUE(found.empty());
  const timestamp_ms at = t0 + 15 * minute;
  const auto a = m.assess_rollback("fraud", at, at);
  EXPECT_FALSE(a.fire());
}

TEST(RollbackGuard, OnlyRecentWindowsCount) {
  peer_monitor m(poisoning_settings{});
  std::vector<poisoning_finding> found;
  feed_latency(m, 10, "srv-unsigned", 115, false, found);
  EXPECT_TRUE(m.assess_rollback("fraud", t0 + 10 * minute, t0 + 10 * minute).fire());
  // An hour later the unsigned source's old numbers no longer explain a rollback.
  const timestamp_ms later = t0 + 70 * minute;
  EXPECT_FALSE(m.assess_rollback("fraud", later, later).fire());
}

} // namespace
} // namespace bulwark::integrity
