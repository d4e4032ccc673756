#include "drift/reference.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <random>

namespace bulwark::drift {
namespace {

constexpr double null = std::numeric_limits<double>::quiet_NaN();

TEST(DriftNumericReference, CutsEqualProbabilityBinsAndCountsEachValueOnce) {
  std::mt19937_64 rng(7);
  std::normal_distribution<double> d(50, 10);
  std::vector<double> sample;
  for (int i = 0; i < 3200; ++i)
    sample.push_back(d(rng));
  sample.push_back(null);
  const reference r = build_numeric(sample, 32);
  ASSERT_EQ(r.inner(), 32U);
  ASSERT_EQ(r.slots(), 35U);
  for (std::size_t j = 0; j < r.inner(); ++j)
    EXPECT_NEAR(static_cast<double>(r.counts[j]), 100, 1) << j;
  EXPECT_EQ(r.counts[r.below_slot()], 0U);
  EXPECT_EQ(r.counts[r.above_slot()], 0U);
  EXPECT_EQ(r.counts[r.null_slot()], 1U);
  EXPECT_EQ(r.n, 3201U);
  EXPECT_EQ(r.u_n, 3200U);
  // u of the sample is uniform: mean 1/2, variance 1/12.
  EXPECT_NEAR(r.u_mean, 0.5, 1e-3);
  EXPECT_NEAR(r.u_var, 1.0 / 12, 1e-3);
}

TEST(DriftNumericReference, PlacesValuesOutsideTheRangeAndNullsInTheirOwnSlots) {
  const reference r = build_numeric({1, 2, 3, 4, 5, 6, 7, 8}, 4);
  EXPECT_EQ(r.place(0.5).slot, r.below_slot());
  EXPECT_EQ(r.place(0.5).u, 0);
  EXPECT_EQ(r.place(9).slot, r.above_slot());
  EXPECT_EQ(r.place(9).u, static_cast<std::int32_t>(u_scale));
  EXPECT_EQ(r.place(null).slot, r.null_slot());
  EXPECT_EQ(r.place(null).u, -1);
  EXPECT_EQ(r.place(-INFINITY).slot, r.below_slot());
  // The minimum has u = 0 and the maximum u = 1 (piecewise-linear CDF).
  EXPECT_EQ(r.place(1).u, 0);
  EXPECT_EQ(r.place(8).u, static_cast<std::int32_t>(u_scale));
}

TEST(DriftNumericReference, TiesCollapseDuplicateCuts) {
  // 90% zeros: a score clamped at 0. Equal-probability cuts would repeat 0.
  std::vector<double> sample(900, 0.0);
  for (int i = 0; i < 100; ++i)
    sample.push_back(1 + i);
  const reference r = build_numeric(sample, 10);
  for (std::size_t i = 1; i < r.cuts.size(); ++i)
    EXPECT_LT(r.cuts[i - 1], r.cuts[i]);
  EXPECT_GT(r.cuts.front(), r.min);
  EXPECT_EQ(r.counts[0], 900U); // the atom keeps its own bin
  EXPECT_LT(r.u_var, 1.0 / 12); // an atom makes u less spread than uniform
}

TEST(DriftNumericReference, WithoutValuesEverythingIsBelowAndHasNoU) {
  const reference r = build_numeric({null, null}, 8);
  EXPECT_EQ(r.u_n, 0U);
  EXPECT_EQ(r.place(3).slot, r.below_slot());
  EXPECT_EQ(r.place(3).u, -1);
  EXPECT_EQ(r.counts[r.null_slot()], 2U);
}

TEST(DriftCategoricalReference, KeepsTheMostFrequentCategoriesAndFoldsTheRestIntoOther) {
  categorical_learner l(2);
  for (int i = 0; i < 50; ++i)
    l.add("DE");
  for (int i = 0; i < 30; ++i)
    l.add("FR");
  for (int i = 0; i < 5; ++i)
    l.add("IT");
  l.add(std::string(200, 'x')); // too long to be a table member
  l.add_null();
  const reference r = l.freeze();
  ASSERT_EQ(r.categories, (std::vector<std::string>{"DE", "FR"}));
  EXPECT_EQ(r.counts, (std::vector<std::uint64_t>{50, 30, 6, 1}));
  EXPECT_EQ(r.place("FR"), 1U);
  EXPECT_EQ(r.place("IT"), r.other_slot());
  EXPECT_EQ(r.n, 87U);
}

TEST(DriftCategoricalReference, SpaceSavingKeepsHeavyHittersAmongManyRareValues) {
  categorical_learner l(4); // 16 entries
  for (int i = 0; i < 2000; ++i) {
    l.add(i % 2 == 0 ? "common" : "rare-" + std::to_string(i));
    if (i % 10 == 0) l.add("second");
  }
  const reference r = l.freeze();
  EXPECT_NE(r.place("common"), r.other_slot());
  EXPECT_NE(r.place("second"), r.other_slot());
  // Counts are lower bounds, and everything adds up.
  EXPECT_LE(r.counts[r.place("common")], 1000U);
  EXPECT_GE(r.counts[r.place("common")], 980U);
  EXPECT_EQ(r.n, 2200U);
}

TEST(DriftNumericLearner, SamplesAtMostItsCapacityAndDependsOnlyOnInputOrder) {
  numeric_learner a(100, 42, 8), b(100, 42, 8);
  for (int i = 0; i < 10000; ++i) {
    a.add(i);
    b.add(i);
  }
  const reference ra = a.freeze(), rb = b.freeze();
  EXPECT_EQ(ra.n, 100U);
  EXPECT_EQ(ra.cuts, rb.cuts);
  EXPECT_EQ(a.seen(), 10000U);
  // The reservoir is spread over the whole stream, not its first 100 values.
  EXPECT_GT(ra.max, 5000);
}

TEST(DriftNumericLearner, CountsTheSecondStageExactlyAgainstTheFirstStagesCuts) {
  numeric_learner l(64, 1, 4);
  for (int i = 0; i < 400; ++i)
    l.add(i % 100); // stage 1: 0..99
  l.start_counting();
  const reference first = l.freeze(); // nothing counted yet: the first stage
  for (int i = 0; i < 1000; ++i)
    l.add(i % 2 ? 150.0 : -1.0); // stage 2: outside the range on both sides
  l.add(null);
  const reference r = l.freeze();
  EXPECT_EQ(r.cuts, first.cuts);
  EXPECT_EQ(r.cdf, first.cdf);
  EXPECT_EQ(r.n, 1001U);
  EXPECT_EQ(r.counts[r.below_slot()], 500U);
  EXPECT_EQ(r.counts[r.above_slot()], 500U);
  EXPECT_EQ(r.counts[r.null_slot()], 1U);
  EXPECT_EQ(r.u_n, 1000U);
  EXPECT_DOUBLE_EQ(r.u_mean, 0.5); // half at u = 0, half at u = 1
  EXPECT_DOUBLE_EQ(r.u_var, 0.25);
  EXPECT_LE(l.bytes(), 1024U); // the reservoir is gone
}

json::value parse(const std::string& text) {
  return std::get<json::value>(json::parse(text));
}

std::string entry(const reference& r) {
  json_writer w;
  w.begin_object();
  write_reference(w, r);
  w.end_object();
  return w.take();
}

TEST(DriftReferenceJson, RoundTripsExactly) {
  std::mt19937_64 rng(3);
  std::lognormal_distribution<double> d(1, 0.7);
  std::vector<double> sample;
  for (int i = 0; i < 1000; ++i)
    sample.push_back(i % 97 == 0 ? null : d(rng));
  const reference r = build_numeric(sample, 16);
  const std::string text = entry(r);
  auto back = read_reference(parse(text), feature_type::numeric, 32);
  ASSERT_TRUE(std::holds_alternative<reference>(back)) << std::get<error>(back).message;
  const reference& b = std::get<reference>(back);
  EXPECT_EQ(b.cuts, r.cuts);
  EXPECT_EQ(b.counts, r.counts);
  EXPECT_EQ(b.cdf, r.cdf);
  EXPECT_EQ(b.u_mean, r.u_mean);
  EXPECT_EQ(entry(b), text);
  for (const double x : {0.1, 1.0, 2.5, 40.0})
    EXPECT_EQ(b.place(x).u, r.place(x).u);
}

TEST(DriftReferenceJson, RejectsInconsistentEntries) {
  const reference r = build_numeric({1, 2, 3, 4, 5, 6, 7, 8}, 4);
  const std::string good = entry(r);
  const auto rejects = [](const std::string& text, feature_type t) {
    return std::holds_alternative<error>(read_reference(parse(text), t, 32));
  };
  EXPECT_FALSE(rejects(good, feature_type::numeric));
  EXPECT_TRUE(rejects(good, feature_type::categorical));
  std::string unsorted = good;
  unsorted.replace(unsorted.find("\"cuts\":[") + 8, 1, "9");
  EXPECT_TRUE(rejects(unsorted, feature_type::numeric));
  std::string wrong_n = good;
  wrong_n.replace(wrong_n.find("\"n\":8"), 5, "\"n\":9");
  EXPECT_TRUE(rejects(wrong_n, feature_type::numeric));
  EXPECT_TRUE(rejects(R"({"type":"categorical","n":2,"categories":["b","a"],"counts":[1,1,0,0]})",
                      feature_type::categorical));
  EXPECT_FALSE(rejects(R"({"type":"categorical","n":2,"categories":["a","b"],"counts":[1,1,0,0]})",
                       feature_type::categorical));
}

TEST(DriftIdentifiers, OnlyConservativeShapesAreEchoed) {
  EXPECT_TRUE(is_identifier("DE"));
  EXPECT_TRUE(is_identifier("fraud-v2.3:eu"));
  EXPECT_FALSE(is_identifier("alice@example.com"));
  EXPECT_FALSE(is_identifier("has space"));
  EXPECT_FALSE(is_identifier("-leading"));
  EXPECT_FALSE(is_identifier(std::string(33, 'a')));
  EXPECT_FALSE(is_identifier(""));
  EXPECT_EQ(short_digest("abc"), "ba7816bf");
}

} // namespace
} // namespace bulwark::drift
