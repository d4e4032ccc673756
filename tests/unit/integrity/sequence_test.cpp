#include "integrity/sequence.hpp"

#include <algorithm>
#include <array>
#include <gtest/gtest.h>
#include <random>
#include <set>
#include <vector>

namespace bulwark::integrity {
namespace {

constexpr timestamp_ms t0 = 1'790'000'000'000;

sequence_tracker tracker(sequence_settings s = {}) {
  return std::get<sequence_tracker>(sequence_tracker::make(s));
}

const stream_id srv{"srv-1", ""};

/// Commits 1..n in order (event time t0 + seq) and returns every gap seen.
std::vector<gap_report> feed(sequence_tracker& t, std::uint64_t from, std::uint64_t to,
                             stream_id id = srv) {
  std::vector<gap_report> gaps;
  for (std::uint64_t s = from; s <= to; ++s) {
    auto c = t.commit(id, s, t0 + static_cast<timestamp_ms>(s));
    EXPECT_NE(c.verdict, seq_verdict::replay) << s;
    if (c.gap) gaps.push_back(*c.gap);
  }
  return gaps;
}

// The IPsec rule, spelled out on a plain set: a number is fresh when nothing
// was accepted yet, when it is above the highest, or when it is within the
// window below the highest and not accepted before.
TEST(ReplayWindowProperty, AgreesWithAReferenceSetOnShuffledDuplicatedStreams) {
  constexpr std::array<std::size_t, 5> sizes{1, 64, 100, 256, 1024};
  std::uint64_t accepted_total = 0, refused_total = 0;
  for (std::uint32_t seed = 0; seed < 3000; ++seed) {
    std::mt19937_64 rng(seed);
    replay_window w(sizes[seed % sizes.size()]);
    const std::uint64_t span = w.size();
    // Consecutive numbers with occasional jumps, locally shuffled by up to
    // about three windows, with duplicates of recent and old numbers mixed in.
    const std::size_t n = 100 + rng() % 1200;
    std::vector<std::uint64_t> numbers;
    std::uint64_t next = rng() % 5000;
    for (std::size_t i = 0; i < n; ++i) {
      if (rng() % 50 == 0) next += rng() % (3 * span);
      numbers.push_back(next++);
    }
    const std::size_t reach = 1 + rng() % (3 * span);
    for (std::size_t i = 0; i < numbers.size(); ++i)
      std::swap(numbers[i], numbers[std::min(numbers.size() - 1, i + rng() % reach)]);
    std::vector<std::uint64_t> stream;
    for (const auto x : numbers) {
      stream.push_back(x);
      if (rng() % 4 == 0) stream.push_back(stream[rng() % stream.size()]);
      if (rng() % 8 == 0) stream.push_back(x);
    }

    std::set<std::uint64_t> reference;
    for (const auto x : stream) {
      const bool fresh = reference.empty() || x > *reference.rbegin() ||
                         (*reference.rbegin() - x < span && reference.count(x) == 0);
      const auto pos = w.locate(x);
      ASSERT_EQ(pos == replay_window::position::empty || pos == replay_window::position::ahead ||
                    pos == replay_window::position::inside_unseen,
                fresh)
          << "seed " << seed << " seq " << x;
      ASSERT_EQ(w.accept(x), fresh) << "seed " << seed << " seq " << x;
      if (fresh) {
        reference.insert(x);
        ++accepted_total;
      } else {
        ++refused_total;
      }
      ASSERT_EQ(w.head(), *reference.rbegin());
    }
  }
  // The streams exercised both outcomes heavily.
  EXPECT_GT(accepted_total, 500'000U);
  EXPECT_GT(refused_total, 1'000'000U);
}

TEST(ReplayWindow, SizeIsRoundedToWholeWordsAndJumpsClearTheRing) {
  replay_window w(100);
  EXPECT_EQ(w.size(), 128U);
  EXPECT_TRUE(w.accept(5));
  EXPECT_TRUE(w.accept(5 + 128 + 5)); // a jump beyond the window forgets everything
  EXPECT_EQ(w.locate(5), replay_window::position::below);
  EXPECT_EQ(w.locate(5 + 128), replay_window::position::inside_unseen);
  EXPECT_TRUE(w.accept(5 + 128));
  EXPECT_FALSE(w.accept(5 + 128));
}

TEST(Sequences, ACleanStreamHasNoGapsAndNoReplays) {
  auto t = tracker();
  EXPECT_TRUE(feed(t, 1, 5000).empty());
  EXPECT_TRUE(t.finish().empty());
}

TEST(Sequences, ReorderingWithinTheToleranceRaisesNothing) {
  sequence_settings s;
  s.reorder_tolerance = 8;
  auto t = tracker(s);
  // Each block of 9 arrives reversed: the first number waits for 8 others.
  std::vector<gap_report> gaps;
  for (std::uint64_t block = 0; block < 200; ++block)
    for (std::uint64_t k = 9; k >= 1; --k) {
      const std::uint64_t seq = block * 9 + k;
      auto c = t.commit(srv, seq, t0);
      EXPECT_NE(c.verdict, seq_verdict::replay);
      if (c.gap) gaps.push_back(*c.gap);
    }
  EXPECT_TRUE(gaps.empty());
  EXPECT_TRUE(t.finish().empty());
}

TEST(Sequences, MissingNumbersAreReportedOnceWithCountAndRange) {
  sequence_settings s;
  s.reorder_tolerance = 4;
  auto t = tracker(s);
  EXPECT_TRUE(feed(t, 1, 4).empty());
  // Head 12 is more than 4 past 5, 6 and 7: they are missing, but the run
  // might go on (8 is not judged yet), so nothing is reported.
  EXPECT_TRUE(feed(t, 12, 12).empty());
  EXPECT_TRUE(feed(t, 8, 11).empty()); // overtaken by 12, still within the tolerance
  auto gaps = feed(t, 13, 13);         // 8 is judged present: the run 5..7 is over
  ASSERT_EQ(gaps.size(), 1U);
  EXPECT_EQ(gaps[0].missing, 3U);
  EXPECT_EQ(gaps[0].first, 5U);
  EXPECT_EQ(gaps[0].last, 7U);
  ASSERT_EQ(gaps[0].ranges.size(), 1U);
  EXPECT_EQ(gaps[0].ranges[0], std::make_pair(std::uint64_t{5}, std::uint64_t{7}));
  EXPECT_EQ(gaps[0].source, "srv-1");
  // A straggler after its number was reported is accepted quietly, once.
  EXPECT_EQ(t.commit(srv, 6, t0).verdict, seq_verdict::late);
  EXPECT_EQ(t.commit(srv, 6, t0).verdict, seq_verdict::replay);
  EXPECT_TRUE(feed(t, 14, 100).empty());
  EXPECT_TRUE(t.finish().empty());
}

TEST(Sequences, ABurstOfLossesIsOneReport) {
  sequence_settings s;
  s.reorder_tolerance = 4;
  auto t = tracker(s);
  std::vector<gap_report> gaps;
  for (std::uint64_t n = 1; n <= 500; ++n) {
    if (n >= 100 && n < 300) continue;
    if (auto c = t.commit(srv, n, t0); c.gap) gaps.push_back(*c.gap);
  }
  ASSERT_EQ(gaps.size(), 1U);
  EXPECT_EQ(gaps[0].missing, 200U);
  EXPECT_EQ(gaps[0].first, 100U);
  EXPECT_EQ(gaps[0].last, 299U);
}

TEST(Sequences, ASeenNumberInsideTheWindowIsAReplayAndChangesNothing) {
  auto t = tracker();
  feed(t, 1, 50);
  EXPECT_EQ(t.check(srv, 20, t0 + 20), seq_verdict::replay);
  EXPECT_EQ(t.commit(srv, 20, t0 + 20).verdict, seq_verdict::replay);
  EXPECT_EQ(t.head(srv), 50U);
  EXPECT_EQ(t.check(srv, 51, t0 + 51), seq_verdict::advance);
}

TEST(Sequences, ANumberBelowTheWindowCountsAsAReplay) {
  sequence_settings s;
  s.window_bits = 1024;
  auto t = tracker(s);
  t.commit(srv, 900, t0); // first seen at 900: 1..899 were never seen here
  feed(t, 901, 2000);
  EXPECT_EQ(t.check(srv, 976, t0), seq_verdict::replay); // 2000 - 976 = 1024: just below
  EXPECT_EQ(t.check(srv, 977, t0), seq_verdict::replay); // inside, seen
  EXPECT_EQ(t.check(srv, 100, t0), seq_verdict::replay); // far below, never seen
}

TEST(Sequences, AccountedNumbersAreNotGapsAndDoNotMoveTheWindow) {
  sequence_settings s;
  s.reorder_tolerance = 4;
  auto t = tracker(s);
  feed(t, 1, 10);
  // Forged events carried 11, 12 and a huge number.
  t.account(srv, 11);
  t.account(srv, 12);
  t.account(srv, 1'000'000'000);
  EXPECT_EQ(t.head(srv), 10U);
  // Genuine 12 still arrives later and is fresh (a forger cannot burn it);
  // 11 never arrives but was accounted for by the tamper alert.
  EXPECT_EQ(t.commit(srv, 12, t0).verdict, seq_verdict::advance);
  EXPECT_TRUE(feed(t, 13, 40).empty());
  EXPECT_TRUE(t.finish().empty());
  // Accounting for an unknown stream creates nothing.
  t.account({"ghost", ""}, 5);
  EXPECT_FALSE(t.knows("ghost"));
}

TEST(Sequences, AJumpByMillionsIsCountedWithoutWalkingIt) {
  sequence_settings s;
  s.reorder_tolerance = 64;
  auto t = tracker(s);
  feed(t, 1, 10);
  EXPECT_FALSE(t.commit(srv, 1'000'000'000, t0).gap.has_value()); // the run is still open
  auto rest = t.finish();
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].missing, 1'000'000'000U - 11);
  EXPECT_EQ(rest[0].first, 11U);
  EXPECT_EQ(rest[0].last, 1'000'000'000U - 1);
  ASSERT_EQ(rest[0].ranges.size(), 1U);
}

TEST(Sequences, GapRangesAreListedUpToTheCapButCountedInFull) {
  sequence_settings s;
  s.reorder_tolerance = 62;
  s.max_gap_ranges = 3;
  auto t = tracker(s);
  for (std::uint64_t seq = 1; seq <= 39; seq += 2)
    t.commit(srv, seq, t0); // every even number is missing; none judged yet
  auto gaps = t.finish();
  ASSERT_EQ(gaps.size(), 1U);
  EXPECT_EQ(gaps[0].missing, 19U);
  EXPECT_EQ(gaps[0].first, 2U);
  EXPECT_EQ(gaps[0].last, 38U);
  ASSERT_EQ(gaps[0].ranges.size(), 3U);
  EXPECT_EQ(gaps[0].ranges[2], std::make_pair(std::uint64_t{6}, std::uint64_t{6}));
  EXPECT_TRUE(gaps[0].ranges_truncated);
  EXPECT_TRUE(t.finish().empty()); // judged once
}

// Property: with numbers delayed by less than the tolerance and some dropped,
// the numbers reported missing are exactly the dropped ones.
TEST(SequencesProperty, ReportedGapsAreExactlyTheDroppedNumbers) {
  for (std::uint32_t seed = 0; seed < 400; ++seed) {
    std::mt19937_64 rng(seed);
    sequence_settings s;
    s.reorder_tolerance = 1 + rng() % 64;
    s.max_gap_ranges = 1U << 20;
    auto t = tracker(s);
    const std::uint64_t n = 200 + rng() % 2000;
    std::set<std::uint64_t> dropped;
    std::vector<std::pair<double, std::uint64_t>> order{{-1.0, 1}};
    for (std::uint64_t k = 2; k <= n; ++k) {
      if (rng() % 10 == 0 && k != n) {
        dropped.insert(k);
        continue;
      }
      const double delay = std::uniform_real_distribution<double>(
          0, static_cast<double>(s.reorder_tolerance) / 2)(rng);
      order.emplace_back(static_cast<double>(k) + delay, k);
    }
    std::sort(order.begin(), order.end());
    std::set<std::uint64_t> reported;
    auto collect = [&](const gap_report& g) {
      for (const auto& [a, b] : g.ranges)
        for (std::uint64_t x = a; x <= b; ++x)
          ASSERT_TRUE(reported.insert(x).second) << "seed " << seed << " reported twice " << x;
    };
    for (const auto& [key, seq] : order) {
      (void)key;
      auto c = t.commit(srv, seq, t0);
      ASSERT_NE(c.verdict, seq_verdict::replay) << "seed " << seed;
      if (c.gap) collect(*c.gap);
    }
    for (const auto& g : t.finish())
      collect(g);
    ASSERT_EQ(reported, dropped) << "seed " << seed;
  }
}

TEST(Sequences, ALowNumberWithANewerTimeIsAResetAndAnOldCopyIsAReplay) {
  auto t = tracker();
  feed(t, 1, 200); // event times t0+1 .. t0+200
  // A copy of event 3 (its signed time is old): a replay.
  EXPECT_EQ(t.check(srv, 3, t0 + 3), seq_verdict::replay);
  // The sender restarted its count without a new epoch: newer than anything.
  auto c = t.commit(srv, 1, t0 + 10'000);
  EXPECT_EQ(c.verdict, seq_verdict::reset);
  EXPECT_EQ(c.reset_from, 200U);
  EXPECT_FALSE(c.gap.has_value());
  EXPECT_EQ(t.head(srv), 1U);
  EXPECT_EQ(t.commit(srv, 2, t0 + 10'001).verdict, seq_verdict::advance);
  // Numbers above reset_max_seq far behind are replays whatever their time.
  feed(t, 3, 300);
  EXPECT_EQ(t.check(srv, 50, t0 + 99'999), seq_verdict::replay);
}

TEST(Sequences, ANewEpochIsRecordedAndOldEpochsKeepTheirWindows) {
  auto t = tracker();
  const stream_id a{"srv-1", "boot-a"}, b{"srv-1", "boot-b"};
  EXPECT_FALSE(t.commit(a, 1, t0).epoch.has_value()); // first sight: not a restart
  feed(t, 2, 10, a);
  auto c = t.commit(b, 1, t0 + 100);
  EXPECT_EQ(c.verdict, seq_verdict::first);
  ASSERT_TRUE(c.epoch.has_value());
  EXPECT_EQ(c.epoch->previous_epoch, "boot-a");
  EXPECT_EQ(c.epoch->epoch, "boot-b");
  EXPECT_EQ(c.epoch->first_seq, 1U);
  // A straggler of the old epoch is still checked against its own window.
  EXPECT_EQ(t.commit(a, 11, t0 + 50).verdict, seq_verdict::advance);
  EXPECT_EQ(t.commit(a, 5, t0 + 5).verdict, seq_verdict::replay);
  EXPECT_FALSE(t.commit(b, 2, t0 + 101).epoch.has_value());
}

TEST(Sequences, AnUntrackedEpochOlderThanTheSourceIsAStaleReplay) {
  sequence_settings s;
  s.stale_epoch_after = 120'000;
  auto t = tracker(s);
  t.commit({"srv-1", "boot-b"}, 1, t0 + 600'000);
  EXPECT_EQ(t.check({"srv-1", "boot-a"}, 7, t0), seq_verdict::stale_epoch);
  EXPECT_EQ(t.commit({"srv-1", "boot-a"}, 7, t0).verdict, seq_verdict::stale_epoch);
  EXPECT_EQ(t.check({"srv-1", "boot-c"}, 1, t0 + 500'000), seq_verdict::first);
}

TEST(Sequences, StreamsAreCappedWithLeastRecentlyUsedEviction) {
  sequence_settings s;
  s.max_streams = 16;
  s.max_epochs_per_source = 2;
  auto t = tracker(s);
  bool hit = false;
  for (int i = 0; i < 100; ++i) {
    const std::string name = "srv-" + std::to_string(i);
    hit = t.commit({name, ""}, 1, t0).capacity_hit || hit;
    EXPECT_LE(t.stream_count(), 16U);
  }
  EXPECT_TRUE(hit);
  EXPECT_TRUE(t.knows("srv-99"));
  EXPECT_FALSE(t.knows("srv-0"));
  // Epochs per source: the third epoch retires the least recently used one.
  for (int e = 0; e < 5; ++e)
    t.commit({"srv-99", "e" + std::to_string(e)}, 1, t0 + e);
  EXPECT_FALSE(t.head({"srv-99", "e0"}).has_value());
  EXPECT_TRUE(t.head({"srv-99", "e4"}).has_value());
}

TEST(Sequences, SettingsAreValidated) {
  sequence_settings s;
  s.window_bits = 0;
  EXPECT_TRUE(std::holds_alternative<settings_error>(sequence_tracker::make(s)));
  s = {};
  s.window_bits = 64;
  s.reorder_tolerance = 63;
  EXPECT_TRUE(std::holds_alternative<settings_error>(sequence_tracker::make(s)));
  s.reorder_tolerance = 62;
  EXPECT_TRUE(std::holds_alternative<sequence_tracker>(sequence_tracker::make(s)));
}

} // namespace
} // namespace bulwark::integrity
