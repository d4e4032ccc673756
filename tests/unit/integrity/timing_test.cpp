#include "integrity/timing.hpp"

#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace bulwark::integrity {
namespace {

constexpr timestamp_ms t0 = 1'790'000'000'000;
constexpr timestamp_ms minute = 60'000;

TEST(FleetClock, OnlyTrustedEventsStartAndMoveTheWatermark) {
  fleet_clock c(clock_settings{});
  EXPECT_FALSE(c.observe("forger", t0 + 3'600'000, false).first);
  EXPECT_FALSE(c.watermark().has_value());
  EXPECT_TRUE(c.observe("srv-1", t0, true).first);
  EXPECT_EQ(c.watermark(), t0);
  c.observe("srv-2", t0 + minute, true);
  EXPECT_EQ(c.watermark(), t0 + minute);
  // Untrusted input within the band does not move it either.
  EXPECT_FALSE(c.observe("forger", t0 + 2 * minute, false).skewed);
  EXPECT_EQ(c.watermark(), t0 + minute);
  // Older events do not move it back.
  c.observe("srv-1", t0 + 30'000, true);
  EXPECT_EQ(c.watermark(), t0 + minute);
}

TEST(FleetClock, AnEventBeyondMaxSkewIsFlaggedAndDoesNotMoveIt) {
  fleet_clock c(clock_settings{});
  c.observe("srv-1", t0, true);
  c.observe("srv-2", t0, true);
  c.observe("srv-3", t0, true);
  const auto ahead = c.observe("srv-2", t0 + 2 * minute + 1, true);
  EXPECT_TRUE(ahead.skewed);
  EXPECT_EQ(ahead.offset, 2 * minute + 1);
  const auto behind = c.observe("srv-3", t0 - 2 * minute - 1, true);
  EXPECT_TRUE(behind.skewed);
  EXPECT_EQ(c.watermark(), t0);
  EXPECT_FALSE(c.observe("srv-1", t0 + 2 * minute, true).skewed); // the band is inclusive
  EXPECT_EQ(c.watermark(), t0 + 2 * minute);
}

TEST(FleetClock, OneSourceFarOffStaysSkewedButAQuorumReanchors) {
  fleet_clock c(clock_settings{});
  for (const char* s : {"srv-1", "srv-2", "srv-3", "srv-4"})
    c.observe(s, t0, true);
  // A single source an hour ahead, again and again: skew every time.
  for (int i = 0; i < 10; ++i)
    EXPECT_TRUE(c.observe("srv-1", t0 + 60 * minute + i, true).skewed);
  EXPECT_EQ(c.watermark(), t0);
  // A second source agrees: still skew. A third: the watermark was wrong.
  EXPECT_TRUE(c.observe("srv-2", t0 + 60 * minute + 100, true).skewed);
  const auto third = c.observe("srv-3", t0 + 60 * minute + 50, true);
  EXPECT_TRUE(third.reanchored);
  EXPECT_FALSE(third.skewed);
  EXPECT_EQ(c.watermark(), t0 + 60 * minute + 100);
  EXPECT_FALSE(c.observe("srv-4", t0 + 60 * minute, true).skewed);
}

TEST(FleetClock, ALoneSourceIsItsOwnQuorum) {
  fleet_clock c(clock_settings{});
  c.observe("srv-1", t0, true);
  const auto jump = c.observe("srv-1", t0 + 8 * 60 * minute, true);
  EXPECT_TRUE(jump.reanchored);
  EXPECT_EQ(c.watermark(), t0 + 8 * 60 * minute);
}

TEST(Skew, TheRecordTimestampBandIsSymmetric) {
  EXPECT_FALSE(skewed_from(t0 + 2 * minute, t0, 2 * minute));
  EXPECT_TRUE(skewed_from(t0 + 2 * minute + 1, t0, 2 * minute));
  EXPECT_TRUE(skewed_from(t0 - 2 * minute - 1, t0, 2 * minute));
}

TEST(Silence, AQuietSourceIsReportedOncePerEpisode) {
  silence_monitor m(silence_settings{});
  m.heard("srv-1", t0);
  m.heard("srv-2", t0);
  EXPECT_TRUE(m.sweep(t0 + 5 * minute - 1).empty());
  m.heard("srv-2", t0 + 4 * minute);
  auto quiet = m.sweep(t0 + 5 * minute);
  ASSERT_EQ(quiet.size(), 1U);
  EXPECT_EQ(quiet[0].source, "srv-1");
  EXPECT_EQ(quiet[0].last_heard, t0);
  EXPECT_EQ(quiet[0].silent_for, 5 * minute);
  EXPECT_TRUE(m.sweep(t0 + 6 * minute).empty()); // srv-1 already reported, srv-2 not quiet yet
  // It speaks again: the episode is over, and a new silence is a new alert.
  EXPECT_TRUE(m.heard("srv-1", t0 + 7 * minute).resumed);
  EXPECT_FALSE(m.heard("srv-1", t0 + 7 * minute).resumed);
  auto again = m.sweep(t0 + 20 * minute);
  ASSERT_EQ(again.size(), 2U);
  EXPECT_EQ(again[0].source, "srv-1");
  EXPECT_EQ(again[1].source, "srv-2");
  EXPECT_TRUE(m.sweep(t0 + 30 * minute).empty());
}

TEST(Silence, KnownSourcesAreCapped) {
  silence_monitor m(silence_settings{5 * minute, 8});
  bool hit = false;
  for (int i = 0; i < 50; ++i) {
    hit = m.heard("srv-" + std::to_string(i), t0 + i).capacity_hit || hit;
    EXPECT_LE(m.size(), 8U);
  }
  EXPECT_TRUE(hit);
  EXPECT_TRUE(m.knows("srv-49"));
  EXPECT_FALSE(m.knows("srv-0"));
}

TEST(Silence, SweepsAgreeWithAPassOverEverySourceUnderRandomTraffic) {
  // The monitor keeps a queue of deadlines instead of scanning every known
  // source per sweep; a naive model that scans must report the same sources,
  // with the same times, through random speech, silences, resumes, restores,
  // forgets and a cap that evicts.
  struct naive_state {
    timestamp_ms last = 0;
    bool silent = false;
  };
  std::mt19937_64 rng(20261127);
  for (int round = 0; round < 20; ++round) {
    const std::size_t cap = 40;
    silence_monitor m(silence_settings{5 * minute, cap});
    std::map<std::string, naive_state> model;
    timestamp_ms now = t0;
    for (int step = 0; step < 3000; ++step) {
      now += static_cast<timestamp_ms>(rng() % 20'000);
      const std::string name = "srv-" + std::to_string(rng() % 60);
      const unsigned op = static_cast<unsigned>(rng() % 100);
      if (op < 70) {
        const timestamp_ms at = now - static_cast<timestamp_ms>(rng() % 30'000);
        const heard_outcome h = m.heard(name, at);
        auto it = model.find(name);
        if (it == model.end()) {
          if (h.capacity_hit) // mirror the eviction: keep what the monitor kept
            for (auto k = model.begin(); k != model.end();)
              k = m.knows(k->first) ? std::next(k) : model.erase(k);
          model[name] = naive_state{at, false};
        } else {
          EXPECT_EQ(h.resumed, it->second.silent);
          it->second.silent = false;
          it->second.last = std::max(it->second.last, at);
        }
      } else if (op < 95) {
        std::vector<silent_source> want;
        for (auto& [n, st] : model)
          if (!st.silent && now - st.last >= 5 * minute) {
            st.silent = true;
            want.push_back({n, st.last, now - st.last});
          }
        const auto got = m.sweep(now);
        ASSERT_EQ(got.size(), want.size()) << "round " << round << " step " << step;
        for (std::size_t i = 0; i < got.size(); ++i) {
          EXPECT_EQ(got[i].source, want[i].source);
          EXPECT_EQ(got[i].last_heard, want[i].last_heard);
          EXPECT_EQ(got[i].silent_for, want[i].silent_for);
        }
      } else if (op < 98) {
        m.forget(name);
        model.erase(name);
      } else {
        const bool silent = rng() % 2 == 0;
        const timestamp_ms at = now - static_cast<timestamp_ms>(rng() % (10 * minute));
        const heard_outcome h = m.restore(name, at, silent);
        if (h.capacity_hit)
          for (auto k = model.begin(); k != model.end();)
            k = m.knows(k->first) ? std::next(k) : model.erase(k);
        model[name] = naive_state{at, silent};
      }
      ASSERT_EQ(m.size(), model.size());
    }
  }
}

TEST(Silence, TheDeadlineQueueStaysBoundedUnderAFloodOfNewNames) {
  silence_monitor m(silence_settings{5 * minute, 100});
  for (int i = 0; i < 200'000; ++i) {
    m.heard("flood-" + std::to_string(i), t0 + i);
    ASSERT_LE(m.queued(), 2 * m.size() + 1024);
  }
  EXPECT_LE(m.size(), 100U);
}

} // namespace
} // namespace bulwark::integrity
