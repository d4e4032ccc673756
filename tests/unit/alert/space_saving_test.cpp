// Space-Saving: heavy hitters in fixed memory.
#include "alert/space_saving.hpp"

#include <gtest/gtest.h>
#include <map>
#include <random>

namespace {

using bulwark::alert::space_saving;

TEST(SpaceSaving, SmallStreamsAreCountedExactly) {
  space_saving s(8);
  for (int i = 0; i < 5; ++i)
    s.add("a");
  s.add("b", 3);
  s.add("c");
  const auto top = s.top(2);
  ASSERT_EQ(top.size(), 2U);
  EXPECT_EQ(top[0].key, "a");
  EXPECT_EQ(top[0].count, 5U);
  EXPECT_EQ(top[0].error, 0U);
  EXPECT_EQ(top[1].key, "b");
  EXPECT_EQ(top[1].count, 3U);
  EXPECT_EQ(s.total(), 9U);
  EXPECT_FALSE(s.saturated());
}

TEST(SpaceSaving, HeavyHittersSurviveHundredsOfThousandsOfDistinctKeysAndCountsBracketTheTruth) {
  space_saving s(32);
  std::map<std::string, std::uint64_t> truth;
  std::mt19937 rng(7);
  std::uint64_t n = 0;
  for (int i = 0; i < 300'000; ++i) {
    std::string key;
    if (i % 10 < 3) {
      key = "heavy-" + std::to_string(i % 3); // 30% of the stream over 3 keys
      ++truth[key];
    } else {
      key = "noise-" + std::to_string(rng()); // 70% nearly all distinct
    }
    s.add(key);
    ++n;
  }
  EXPECT_EQ(s.total(), n);
  EXPECT_TRUE(s.saturated());
  EXPECT_EQ(s.size(), 32U);
  const auto top = s.top(3);
  ASSERT_EQ(top.size(), 3U);
  for (const auto& item : top) {
    ASSERT_TRUE(truth.count(item.key)) << item.key;
    const std::uint64_t t = truth[item.key];
    EXPECT_LE(item.count - item.error, t);
    EXPECT_GE(item.count, t);
  }
}

TEST(SpaceSaving, MemoryDoesNotGrowWithDistinctKeys) {
  space_saving s(16, 40);
  const std::size_t before = s.memory_bytes();
  for (int i = 0; i < 100'000; ++i)
    s.add("key-" + std::to_string(i));
  EXPECT_EQ(s.memory_bytes(), before);
  EXPECT_EQ(s.size(), 16U);
}

TEST(SpaceSaving, MergingTwoWindowsAddsTheirCounts) {
  space_saving a(8);
  space_saving b(8);
  a.add("x", 4);
  a.add("y", 1);
  b.add("x", 2);
  b.add("z", 5);
  a.merge(b);
  EXPECT_EQ(a.total(), 12U);
  const auto top = a.top(3);
  EXPECT_EQ(top[0].key, "x");
  EXPECT_EQ(top[0].count, 6U);
  EXPECT_EQ(top[1].key, "z");
  EXPECT_EQ(top[1].count, 5U);
}

} // namespace
