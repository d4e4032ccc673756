#include "drift/settings.hpp"
#include "drift/statistics.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <vector>

namespace bulwark::drift {
namespace {

TEST(DriftIncompleteGamma, MatchesClosedFormsForIntegerAndHalfIntegerShapes) {
  for (const double x : {0.01, 0.5, 1.0, 3.0, 10.0, 40.0}) {
    // Q(1, x) = e^-x; Q(2, x) = (1 + x) e^-x; P(1/2, x) = erf(√x).
    EXPECT_NEAR(regularized_gamma_q(1, x), std::exp(-x), 1e-14 + 1e-12 * std::exp(-x)) << x;
    EXPECT_NEAR(regularized_gamma_q(2, x) / ((1 + x) * std::exp(-x)), 1.0, 1e-12) << x;
    EXPECT_NEAR(regularized_gamma_p(0.5, x), std::erf(std::sqrt(x)), 1e-13) << x;
    EXPECT_NEAR(regularized_gamma_p(3.5, x) + regularized_gamma_q(3.5, x), 1.0, 1e-14) << x;
  }
}

TEST(DriftIncompleteGamma, KeepsRelativePrecisionDeepInTheTail) {
  // Q(1, 500) = e^-500 ≈ 7e-218: a p-value that 1 - P would round to zero.
  EXPECT_NEAR(regularized_gamma_q(1, 500) / std::exp(-500.0), 1.0, 1e-10);
  EXPECT_GT(chi_square_sf(400, 10), 0.0);
}

TEST(DriftIncompleteGamma, RejectsArgumentsOutsideItsDomain) {
  EXPECT_TRUE(std::isnan(regularized_gamma_p(0, 1)));
  EXPECT_TRUE(std::isnan(regularized_gamma_q(1, -1)));
  EXPECT_EQ(regularized_gamma_p(2, 0), 0.0);
  EXPECT_EQ(regularized_gamma_q(2, 0), 1.0);
}

TEST(DriftChiSquare, TwoDegreesOfFreedomIsExponential) {
  for (const double x : {0.1, 2.0, 9.21, 30.0})
    EXPECT_NEAR(chi_square_sf(x, 2) / std::exp(-x / 2), 1.0, 1e-12);
  EXPECT_EQ(chi_square_sf(5, 0), 1.0);
}

TEST(DriftChiSquare, GoodnessOfFitCountsCellsAndSkipsDoublyEmptyOnes) {
  const std::vector<double> o{10, 20, 30, 0}, e{20, 20, 20, 0};
  const auto r = chi_square_test(o, e);
  EXPECT_DOUBLE_EQ(r.statistic, 10.0);
  EXPECT_EQ(r.df, 2);
  EXPECT_NEAR(r.p, std::exp(-5.0), 1e-12);
  const std::vector<double> impossible{1, 0}, never{0, 1};
  EXPECT_EQ(chi_square_test(impossible, never).p, 0.0);
}

TEST(DriftHomogeneityTest, IdenticalProportionsGiveZeroAndAnEmptyRowGivesNoEvidence) {
  const std::vector<double> a{100, 200, 300}, b{10, 20, 30}, empty{0, 0, 0};
  const auto r = homogeneity_test(a, b);
  EXPECT_NEAR(r.statistic, 0.0, 1e-12);
  EXPECT_EQ(r.df, 2);
  EXPECT_NEAR(r.p, 1.0, 1e-12);
  EXPECT_EQ(homogeneity_test(a, empty).p, 1.0);
  EXPECT_NEAR(homogeneity_test(a, b, divergence::log_likelihood).statistic, 0.0, 1e-12);
}

TEST(DriftDistances, AreZeroForEqualDistributionsAndBoundedForDisjointOnes) {
  const std::vector<double> a{1, 2, 3}, a10{10, 20, 30}, left{1, 0}, right{0, 1};
  EXPECT_NEAR(population_stability_index(a, a10), 0.0, 1e-15);
  EXPECT_NEAR(jensen_shannon_distance(a, a10), 0.0, 1e-8);
  EXPECT_NEAR(hellinger_distance(a, a10), 0.0, 1e-8);
  EXPECT_NEAR(jensen_shannon_distance(left, right), std::sqrt(std::log(2.0)), 1e-12);
  EXPECT_NEAR(hellinger_distance(left, right), 1.0, 1e-12);
  // Smoothing keeps PSI finite: (1 - ε') ln(1/ε') twice, ε' = ε / (1 + 2ε).
  const double eps = 1e-4, e = eps / (1 + 2 * eps), p = (1 + eps) / (1 + 2 * eps);
  EXPECT_NEAR(population_stability_index(left, right, eps), 2 * (p - e) * std::log(p / e), 1e-12);
}

TEST(DriftDistances, WassersteinIsTheAreaBetweenTheCdfs) {
  const std::vector<double> x{0, 1, 3}, a{1, 0, 0}, b{0, 0, 1}, c{0, 1, 0};
  EXPECT_DOUBLE_EQ(wasserstein_distance(x, a, b), 3.0);
  EXPECT_DOUBLE_EQ(wasserstein_distance(x, a, c), 1.0);
  EXPECT_DOUBLE_EQ(wasserstein_distance(x, b, b), 0.0);
}

TEST(DriftNormal, CriticalValueInvertsTheTwoSidedPValue) {
  EXPECT_NEAR(normal_two_sided_critical(0.05), 1.959963984540054, 1e-9);
  for (const double p : {1e-3, 1e-7, 1e-12})
    EXPECT_NEAR(normal_two_sided_p(normal_two_sided_critical(p)) / p, 1.0, 1e-8);
}

TEST(DriftCusum, ThresholdReachesTheRequestedRunLength) {
  // Siegmund's one-sided approximation, halved for two sides, reproduces the
  // textbook two-sided ARL0 ≈ 465 of k = 0.5, h = 5 (Montgomery, table 9.3).
  EXPECT_NEAR(cusum_average_run_length(0.5, 5) / 2, 465, 10);
  for (const double arl : {1e3, 1e5, 8e5}) {
    const double h = cusum_threshold(0.5, arl);
    EXPECT_GE(cusum_average_run_length(0.5, h), arl);
    EXPECT_LT(cusum_average_run_length(0.5, h - 0.01), arl);
  }
}

TEST(DriftCalibration, SplitsTheFalseAlarmBudgetAcrossFeaturesAndDetectors) {
  settings s;
  s.features = {{"/score", feature_type::numeric, {}, {}, {}},
                {"/country", feature_type::categorical, {}, {}, {}}};
  const calibration c = calibrate(s);
  // numeric: window + 2 scales + CUSUM; categorical: window + 2 scales.
  EXPECT_EQ(c.detectors, 7U);
  EXPECT_DOUBLE_EQ(c.rate, 1.0 / (100000.0 * 7));
  ASSERT_EQ(c.alpha.size(), 3U);
  EXPECT_DOUBLE_EQ(c.alpha[0], c.rate);
  EXPECT_DOUBLE_EQ(c.alpha[1], c.rate);      // one day, sliding every window
  EXPECT_DOUBLE_EQ(c.alpha[2], c.rate * 24); // one week, hopping daily
  EXPECT_NEAR(normal_two_sided_p(c.z_critical[0]), c.alpha[0] / 2, c.alpha[0] * 1e-6);
  EXPECT_GE(cusum_average_run_length(s.cusum_slack, c.cusum_threshold), 2 / c.rate);
}

TEST(DriftSettings, RejectNonsenseWithTheSettingsName) {
  settings s;
  s.scales = {{24, 5}};
  ASSERT_TRUE(validate(s));
  EXPECT_NE(validate(s)->message.find("step"), std::string::npos);
  s = settings{};
  s.features = {{"score", feature_type::numeric, {}, {}, {}}};
  EXPECT_TRUE(validate(s));
  s = settings{};
  s.numeric_bins = 1;
  EXPECT_TRUE(validate(s));
  EXPECT_FALSE(validate(settings{}));
}

TEST(DriftSettings, ComeFromTheConfigurationSection) {
  config::drift_options o;
  o.window = std::chrono::minutes(5);
  o.reference_windows = 12;
  o.reference_file = "baseline.json";
  o.features = {{"/score", config::drift_feature::type::numeric},
                {"/country", config::drift_feature::type::categorical}};
  const settings s = from_config(o);
  EXPECT_EQ(s.window_ms, 300000);
  EXPECT_EQ(s.reference_windows, 12U);
  EXPECT_FALSE(s.learn_references);
  ASSERT_EQ(s.features.size(), 2U);
  EXPECT_EQ(s.features[1].type, feature_type::categorical);
}

} // namespace
} // namespace bulwark::drift
