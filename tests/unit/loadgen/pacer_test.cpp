#include "loadgen/pacer.hpp"

#include <gtest/gtest.h>

namespace bulwark::loadgen {
namespace {

constexpr std::int64_t ms = 1'000'000;
constexpr std::int64_t s = 1'000 * ms;

TEST(Pacer, AnUnlimitedPacerNeverWaits) {
  pacer p(0);
  EXPECT_TRUE(p.unlimited());
  for (int i = 0; i < 1'000; ++i)
    ASSERT_TRUE(p.try_take(0));
  EXPECT_EQ(p.wait_ns(0), 0);
}

TEST(Pacer, TheWaitIsTheTimeToTheNextToken) {
  pacer p(100, 1); // one token every 10 ms
  EXPECT_TRUE(p.try_take(5 * s));
  EXPECT_FALSE(p.try_take(5 * s));
  EXPECT_EQ(p.wait_ns(5 * s), 10 * ms);
  EXPECT_EQ(p.wait_ns(5 * s + 4 * ms), 6 * ms);
  EXPECT_FALSE(p.try_take(5 * s + 10 * ms - 1));
  EXPECT_TRUE(p.try_take(5 * s + 10 * ms));
  EXPECT_FALSE(p.try_take(5 * s + 10 * ms));
}

TEST(Pacer, ItHoldsTheTargetRateOverSimulatedTime) {
  // A sender that polls every 37 µs for ten simulated seconds at 2,500/s.
  pacer p(2'500);
  std::int64_t taken = 0;
  const std::int64_t step = 37'000;
  for (std::int64_t t = 0; t < 10 * s; t += step)
    while (p.try_take(t))
      ++taken;
  EXPECT_GE(taken, 24'990);
  EXPECT_LE(taken, 25'001);
}

TEST(Pacer, ASenderThatSleepsForTheWaitHitsTheRateExactly) {
  pacer p(1'000, 1);
  std::int64_t t = 0;
  std::int64_t taken = 0;
  while (t < 3 * s) {
    if (p.try_take(t)) {
      ++taken;
      continue;
    }
    t += p.wait_ns(t);
  }
  EXPECT_EQ(taken, 3'000); // one per millisecond of [0, 3 s)
}

TEST(Pacer, AnIdlePacerSavesAtMostOneBurst) {
  pacer p(100, 5);
  EXPECT_EQ(p.burst(), 5);
  ASSERT_TRUE(p.try_take(0));
  int taken = 0;
  while (p.try_take(60 * s))
    ++taken;
  EXPECT_EQ(taken, 5);
}

TEST(Pacer, TheDefaultBurstIsTenMillisecondsOfTraffic) {
  EXPECT_EQ(pacer(50'000).burst(), 500);
  EXPECT_EQ(pacer(10).burst(), 1);
}

TEST(Pacer, AClockSteppingBackAddsNothing) {
  pacer p(1'000, 1);
  ASSERT_TRUE(p.try_take(10 * s));
  EXPECT_FALSE(p.try_take(9 * s));
  EXPECT_FALSE(p.try_take(10 * s));
  EXPECT_TRUE(p.try_take(10 * s + ms));
}

} // namespace
} // namespace bulwark::loadgen
