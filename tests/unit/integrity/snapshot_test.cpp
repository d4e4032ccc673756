// Per-source integrity state across instances: the blob's byte form, and
// restore-then-continue judging exactly as a checker that never moved.
#include "integrity/checker.hpp"
#include "integrity/snapshot.hpp"
#include "integrity/state_book.hpp"
#include "unit/integrity/fleet.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace bulwark::integrity {
namespace {

using namespace bulwark::integrity::testing;

constexpr timestamp_ms t0 = 1'790'000'000'000;
constexpr timestamp_ms second = 1'000;
constexpr timestamp_ms minute = 60'000;

checker_settings wall_settings() {
  checker_settings s;
  s.silence_basis = time_basis::wall_clock;
  s.silence_after = 5 * minute;
  s.silence_sweep_interval = 0; // every tick sweeps: two checkers tick alike
  return s;
}

/// Everything observable about one verdict, for comparing two checkers.
std::string describe(const check_result& r) {
  std::string out = r.status ? std::string(to_string(*r.status)) : "-";
  out += r.quarantine ? " q:" + std::string(r.quarantine_reason) : "";
  out += r.untrusted ? " untrusted" : "";
  for (const auto& a : r.alerts)
    out += " [" + a.kind + " " + a.source + " " + a.evidence + "]";
  if (r.audit) out += " audit:" + r.audit->to_json();
  return out;
}

std::string describe(const std::vector<alert_request>& alerts) {
  std::string out;
  for (const auto& a : alerts)
    out += " [" + a.kind + " " + a.source + " " + a.evidence + "]";
  return out;
}

source_snapshot sample_snapshot() {
  source_snapshot s;
  s.source = "srv-1";
  s.saved_at = t0;
  s.current_epoch = "e2";
  s.newest_time = t0 - second;
  stream_snapshot a;
  a.epoch = "e1";
  a.head = 70;
  a.seen = {0x05, 0x01}; // 70, 68, 62
  a.next_unjudged = 6;
  a.accounted = {7, 9};
  a.open_run = std::pair<std::uint64_t, std::uint64_t>{3, 5};
  a.newest_time = t0 - minute;
  stream_snapshot b;
  b.epoch = "e2";
  b.head = 2;
  b.seen = {0x03};
  b.next_unjudged = 1;
  s.streams = {a, b};
  s.wall_clock_basis = true;
  s.last_heard = t0 - 2 * second;
  s.silent = false;
  s.untrusted_until = t0 + minute;
  return s;
}

TEST(Snapshot, EncodeDecodeRoundTrip) {
  const source_snapshot s = sample_snapshot();
  const auto back = decode(encode(s));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(encode(*back), encode(s));
  EXPECT_EQ(back->source, "srv-1");
  ASSERT_EQ(back->streams.size(), 2U);
  EXPECT_EQ(back->streams[0].accounted, (std::vector<std::uint64_t>{7, 9}));
  EXPECT_EQ(back->streams[0].open_run->first, 3U);
  EXPECT_EQ(back->untrusted_until, t0 + minute);
  EXPECT_FALSE(back->streams[1].newest_time.has_value());
}

TEST(Snapshot, EveryTruncationAndTrailingByteIsRefused) {
  const std::string blob = encode(sample_snapshot());
  for (std::size_t n = 0; n < blob.size(); ++n)
    EXPECT_FALSE(decode(std::string_view(blob).substr(0, n)).has_value()) << n;
  EXPECT_FALSE(decode(blob + '\0').has_value());
}

TEST(Snapshot, AnotherVersionOrMagicIsRefused) {
  std::string blob = encode(sample_snapshot());
  blob[4] = static_cast<char>(snapshot_version + 1);
  EXPECT_FALSE(decode(blob).has_value());
  blob = encode(sample_snapshot());
  blob[0] = 'X';
  EXPECT_FALSE(decode(blob).has_value());
}

TEST(Snapshot, InconsistentStreamsAreRefused) {
  auto refused = [](auto&& change) {
    source_snapshot s = sample_snapshot();
    change(s);
    return !decode(encode(s)).has_value();
  };
  EXPECT_TRUE(refused([](source_snapshot& s) { s.source.clear(); }));
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[0].seen[0] = 0x04; })); // head unseen
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[0].accounted = {9, 7}; }));
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[0].accounted = {7, 7}; }));
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[0].accounted = {5}; })); // judged
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[0].next_unjudged = 72; }));
  EXPECT_TRUE(refused([](source_snapshot& s) {
    s.streams[0].open_run = std::pair<std::uint64_t, std::uint64_t>{3, 6};
  }));
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[1].seen = {0x03, 0x00}; })); // below 0
  EXPECT_TRUE(refused([](source_snapshot& s) { s.streams[1].epoch = "e1"; }));        // two e1
  EXPECT_TRUE(refused([](source_snapshot& s) {
    s.last_heard.reset();
    s.silent = true;
  }));
}

TEST(Snapshot, RandomBytesAndBitFlipsNeverCrash) {
  std::mt19937_64 rng(11);
  const std::string blob = encode(sample_snapshot());
  auto c = make_checker(wall_settings());
  for (int i = 0; i < 20'000; ++i) {
    std::string b = blob;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      b[rng() % b.size()] ^= static_cast<char>(1U << (rng() % 8));
    (void)c.restore_source("srv-1", b, t0);
    std::string noise(rng() % 200, '\0');
    for (auto& ch : noise)
      ch = static_cast<char>(rng());
    EXPECT_FALSE(c.restore_source("srv-1", noise, t0));
  }
  EXPECT_GE(c.restores_refused(), 20'000U);
  // Whatever was restored, the checker still judges events.
  const auto r = c.check(signed_event(ev_of(1000, t0, "srv-1")).facts(), t0);
  EXPECT_TRUE(r.status.has_value());
}

TEST(Snapshot, ABlobUnderAnotherSourceIsRefusedAndCounted) {
  auto a = make_checker(wall_settings());
  ASSERT_TRUE(a.check(signed_event(ev_of(5, t0, "srv-1")).facts(), t0).alerts.empty());
  const auto blob = a.export_source("srv-1", t0);
  ASSERT_TRUE(blob.has_value());
  auto b = make_checker(wall_settings());
  EXPECT_FALSE(b.restore_source("srv-2", *blob, t0));
  EXPECT_EQ(b.restores_refused(), 1U);
  EXPECT_TRUE(b.restore_source("srv-1", *blob, t0));
  EXPECT_EQ(b.restores_refused(), 1U);
}

TEST(Snapshot, NothingIsExportedWithoutKeysOrState) {
  auto unkeyed = make_checker(wall_settings(), key_ring{});
  (void)unkeyed.check(unsigned_event(ev_of(1, t0)).facts(), t0);
  EXPECT_FALSE(unkeyed.export_source("srv-1", t0).has_value());
  auto keyed = make_checker(wall_settings());
  EXPECT_FALSE(keyed.export_source("srv-9", t0).has_value());
  EXPECT_FALSE(keyed.export_source("", t0).has_value());
}

// The move the changelog exists for: a replay of an event the old owner
// accepted is caught by the new one, a gap is still one gap, and numbers the
// old owner saw are not reported missing.
TEST(Snapshot, RestoredWindowsCatchReplaysAndKeepGapsExact) {
  auto a = make_checker(wall_settings());
  for (std::uint64_t n = 1; n <= 300; ++n)
    if (n != 200) (void)a.check(signed_event(ev_of(n, t0 + n, "srv-1")).facts(), t0 + n);
  auto b = make_checker(wall_settings());
  ASSERT_TRUE(b.restore_source("srv-1", *a.export_source("srv-1", t0 + 300), t0 + 300));
  const auto replay = b.check(signed_event(ev_of(250, t0 + 250, "srv-1")).facts(), t0 + 301);
  EXPECT_EQ(replay.quarantine_reason, "integrity.replay");
  // 200 was pending (within the reorder tolerance): it arrives late, quietly.
  EXPECT_TRUE(
      b.check(signed_event(ev_of(200, t0 + 200, "srv-1")).facts(), t0 + 302).alerts.empty());
  // A real gap after the move: 301..310 missing, reported once judged.
  std::size_t gaps = 0;
  for (std::uint64_t n = 311; n <= 400; ++n)
    gaps += count_kind(b.check(signed_event(ev_of(n, t0 + n, "srv-1")).facts(), t0 + n).alerts,
                       "integrity.gap");
  EXPECT_EQ(gaps, 1U);
  EXPECT_TRUE(b.finish(t0 + 500).empty());
}

TEST(Snapshot, TheSilenceClockStopsWhileNobodyHoldsTheSource) {
  auto a = make_checker(wall_settings());
  (void)a.check(signed_event(ev_of(1, t0, "srv-1")).facts(), t0);
  const auto blob = a.export_source("srv-1", t0 + minute); // quiet for 1 min when exported
  auto b = make_checker(wall_settings());
  const timestamp_ms back = t0 + 3 * 60 * minute; // every instance was down for hours
  ASSERT_TRUE(b.restore_source("srv-1", *blob, back));
  EXPECT_EQ(count_kind(b.tick(back), "integrity.silence"), 0U);
  EXPECT_EQ(count_kind(b.tick(back + 3 * minute), "integrity.silence"), 0U);
  // 1 min before the export + 4 min after the restore: silence_after.
  const auto later = b.tick(back + 4 * minute + second);
  EXPECT_EQ(count_kind(later, "integrity.silence"), 1U) << describe(later);
}

TEST(Snapshot, AReportedSilenceIsNotReportedAgainAfterTheMove) {
  auto a = make_checker(wall_settings());
  (void)a.check(signed_event(ev_of(1, t0, "srv-1")).facts(), t0);
  ASSERT_EQ(count_kind(a.tick(t0 + 6 * minute), "integrity.silence"), 1U);
  auto b = make_checker(wall_settings());
  ASSERT_TRUE(
      b.restore_source("srv-1", *a.export_source("srv-1", t0 + 6 * minute), t0 + 6 * minute));
  EXPECT_EQ(count_kind(b.tick(t0 + 20 * minute), "integrity.silence"), 0U);
  // Heard again, then quiet again: a new episode.
  (void)b.check(signed_event(ev_of(2, t0 + 21 * minute, "srv-1")).facts(), t0 + 21 * minute);
  EXPECT_EQ(count_kind(b.tick(t0 + 27 * minute), "integrity.silence"), 1U);
}

TEST(Snapshot, ForgottenSourcesAreNeitherSilentNorJudged) {
  auto c = make_checker(wall_settings());
  (void)c.check(signed_event(ev_of(10, t0, "srv-1")).facts(), t0);
  c.forget_source("srv-1");
  EXPECT_EQ(count_kind(c.tick(t0 + 60 * minute), "integrity.silence"), 0U);
  EXPECT_FALSE(c.export_source("srv-1", t0).has_value());
  // Its next number is a first number again, not a gap.
  EXPECT_TRUE(c.check(signed_event(ev_of(500, t0 + 61 * minute, "srv-1")).facts(), t0 + 61 * minute)
                  .alerts.empty());
  EXPECT_TRUE(c.finish(t0 + 62 * minute).empty());
}

TEST(Snapshot, ASmallerReplayWindowKeepsTheNewestNumbers) {
  checker_settings big = wall_settings();
  big.replay_window = 4096;
  auto a = make_checker(big);
  for (std::uint64_t n = 1; n <= 3000; ++n)
    (void)a.check(signed_event(ev_of(n, t0 + n, "srv-1")).facts(), t0 + n);
  checker_settings small = wall_settings();
  small.replay_window = 256;
  auto b = make_checker(small);
  ASSERT_TRUE(b.restore_source("srv-1", *a.export_source("srv-1", t0 + 3000), t0 + 3000));
  EXPECT_EQ(
      b.check(signed_event(ev_of(2990, t0 + 2990, "srv-1")).facts(), t0 + 3001).quarantine_reason,
      "integrity.replay");
  EXPECT_EQ(
      b.check(signed_event(ev_of(100, t0 + 100, "srv-1")).facts(), t0 + 3002).quarantine_reason,
      "integrity.replay"); // below the smaller window
  for (std::uint64_t n = 3001; n <= 3200; ++n)
    EXPECT_TRUE(b.check(signed_event(ev_of(n, t0 + n, "srv-1")).facts(), t0 + n).alerts.empty());
  EXPECT_TRUE(b.finish(t0 + 4000).empty());
}

TEST(Snapshot, UntrustIsRestoredWithoutANewAlert) {
  checker_settings s = wall_settings();
  auto a = make_checker(s);
  ev bad = ev_of(1, t0, "srv-1");
  bad.type = "metric";
  bad.name = "latency_ms";
  bad.value = -5; // impossible: an offence at once
  const auto r = a.check(signed_event(bad).facts(), t0);
  ASSERT_EQ(count_kind(r.alerts, "poisoning"), 1U);
  auto b = make_checker(s);
  ASSERT_TRUE(b.restore_source("srv-1", *a.export_source("srv-1", t0), t0 + second));
  const auto next = b.check(signed_event(ev_of(2, t0 + second, "srv-1")).facts(), t0 + second);
  EXPECT_TRUE(next.untrusted);
  EXPECT_TRUE(next.alerts.empty()) << describe(next);
  // It expires when it would have (untrusted_for after the offence).
  EXPECT_FALSE(b.check(signed_event(ev_of(3, t0 + 61 * minute, "srv-1")).facts(), t0 + 61 * minute)
                   .untrusted);
}

/// One random fleet: reordering, drops, duplicates, forgeries, new epochs
/// and restarts, for a few sources.
std::vector<owned_event> random_stream(std::uint64_t seed, std::size_t count) {
  std::mt19937_64 rng(seed);
  struct src_state {
    std::string name, epoch;
    std::uint64_t next = 1;
    std::vector<std::uint64_t> sent;
    int epochs = 0;
  };
  std::vector<src_state> fleet(4);
  for (std::size_t i = 0; i < fleet.size(); ++i)
    fleet[i].name = "srv-" + std::to_string(i);
  std::vector<owned_event> out;
  std::vector<owned_event> held; // reordered: sent a little later
  timestamp_ms ts = t0;
  for (std::size_t k = 0; k < count; ++k) {
    ts += 100 + static_cast<timestamp_ms>(rng() % 200);
    // The last source falls silent for good half way through.
    const std::size_t pick = rng() % (k < count / 2 ? fleet.size() : fleet.size() - 1);
    src_state& s = fleet[pick];
    const unsigned roll = static_cast<unsigned>(rng() % 100);
    ev e = ev_of(s.next, ts, s.name);
    e.epoch = s.epoch;
    if (roll < 3 && !s.sent.empty()) { // a replay of something sent
      e.seq = s.sent[rng() % s.sent.size()];
      e.ts = ts - 30 * second;
      out.push_back(signed_event(e));
      continue;
    }
    if (roll < 5) { // a forgery: fails verification, its number accounted for
      out.push_back(signed_event(e, "k1", key2_hex));
      ++s.next;
      continue;
    }
    if (roll < 7) s.next += 1 + rng() % 150; // lost numbers: a gap
    if (roll == 7 && s.epochs < 3) {         // a restart with a new epoch
      s.epoch = "boot-" + std::to_string(++s.epochs);
      s.next = 1;
    }
    if (roll == 8) s.next = 1 + rng() % 10; // a restart without one (a reset)
    e.seq = s.next;
    e.epoch = s.epoch;
    s.sent.push_back(s.next++);
    owned_event o = signed_event(e);
    if (roll < 20) {
      held.push_back(std::move(o)); // overtaken by a few events
    } else {
      out.push_back(std::move(o));
      if (!held.empty() && rng() % 3 == 0) {
        out.push_back(std::move(held.front()));
        held.erase(held.begin());
      }
    }
  }
  for (auto& h : held)
    out.push_back(std::move(h));
  return out;
}

// The property the changelog rests on: exporting every source after any
// prefix, restoring into a fresh checker and continuing gives the verdicts,
// alerts, silences and final gaps of a checker that never moved.
TEST(Snapshot, RestoreThenContinueJudgesAsIfNeverMoved) {
  for (std::uint64_t seed = 1; seed <= 60; ++seed) {
    const auto events = random_stream(seed, 1500);
    const std::size_t cut = 50 + static_cast<std::size_t>(seed * 97 % (events.size() - 100));
    auto stay = make_checker(wall_settings());
    auto before = make_checker(wall_settings());
    std::set<std::string> sources;
    auto now_of = [](const owned_event& e) { return *e.e.ts; };
    timestamp_ms last = t0;
    for (std::size_t i = 0; i < cut; ++i) {
      const timestamp_ms now = std::max(last, now_of(events[i]));
      last = now;
      ASSERT_EQ(describe(stay.check(events[i].facts(), now)),
                describe(before.check(events[i].facts(), now)));
      ASSERT_EQ(describe(stay.tick(now)), describe(before.tick(now)));
      sources.insert(events[i].e.source);
    }
    auto moved = make_checker(wall_settings());
    for (const auto& s : sources) {
      if (auto blob = before.export_source(s, last)) {
        ASSERT_TRUE(moved.restore_source(s, *blob, last)) << s;
      }
    }
    for (std::size_t i = cut; i < events.size(); ++i) {
      const timestamp_ms now = std::max(last, now_of(events[i]));
      last = now;
      ASSERT_EQ(describe(stay.check(events[i].facts(), now)),
                describe(moved.check(events[i].facts(), now)))
          << "seed " << seed << " event " << i << " (cut " << cut << ")";
      ASSERT_EQ(describe(stay.tick(now)), describe(moved.tick(now))) << seed;
    }
    const timestamp_ms end = last + 10 * minute;
    ASSERT_EQ(describe(stay.tick(end)), describe(moved.tick(end))) << seed;
    ASSERT_EQ(describe(stay.finish(end)), describe(moved.finish(end))) << seed;
  }
}

// The generator above does exercise what the property is about.
TEST(Snapshot, TheRandomStreamsHoldEveryKindOfSequenceEvent) {
  auto c = make_checker(wall_settings());
  std::map<std::string, std::size_t> kinds;
  const auto events = random_stream(7, 3000);
  timestamp_ms last = t0;
  for (const auto& e : events) {
    last = std::max(last, *e.e.ts);
    for (const auto& a : c.check(e.facts(), last).alerts)
      ++kinds[a.kind];
    for (const auto& a : c.tick(last))
      ++kinds[a.kind];
  }
  for (const auto& a : c.tick(last + 10 * minute))
    ++kinds[a.kind];
  for (const char* k : {"integrity.gap", "integrity.replay", "integrity.tamper", "integrity.reset",
                        "integrity.silence"})
    EXPECT_GT(kinds[k], 0U) << k;
}

TEST(Position, RoundTripAndRefusals) {
  partition_position p;
  p.high = 1234;
  p.replayed = {7, 99, 1234};
  const auto back = decode_position(encode(p));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->high, 1234);
  EXPECT_EQ(back->replayed, p.replayed);
  const std::string blob = encode(p);
  for (std::size_t n = 0; n < blob.size(); ++n)
    EXPECT_FALSE(decode_position(std::string_view(blob).substr(0, n)).has_value()) << n;
  EXPECT_FALSE(decode_position(blob + "x").has_value());
  EXPECT_FALSE(decode(blob).has_value()); // a position is not a source's state
  EXPECT_FALSE(decode_position(encode(sample_snapshot())).has_value());
  partition_position past = p;
  past.replayed = {1235}; // a replay beyond the position
  EXPECT_FALSE(decode_position(encode(past)).has_value());
  partition_position unsorted = p;
  unsorted.replayed = {99, 7};
  EXPECT_FALSE(decode_position(encode(unsorted)).has_value());
}

TEST(StateBook, ChangedSourcesAreTakenOncePerPartition) {
  state_book book(100);
  const home p0{"telemetry", 0}, p1{"telemetry", 1};
  book.touched("srv-1", p0);
  book.touched("srv-2", p1);
  book.touched("srv-1", p0);
  EXPECT_EQ(book.changed(), 2U);
  const std::set<home> only{p1};
  const auto first = book.take_changed(&only);
  ASSERT_EQ(first.size(), 1U);
  EXPECT_EQ(first[0].first, "srv-2");
  EXPECT_EQ(first[0].second, p1);
  const auto rest = book.take_changed(nullptr);
  ASSERT_EQ(rest.size(), 1U);
  EXPECT_EQ(rest[0].first, "srv-1");
  EXPECT_TRUE(book.take_changed(nullptr).empty());
  // A source follows its latest record's partition.
  book.touched("srv-1", p1);
  EXPECT_EQ(book.take_changed(nullptr)[0].second, p1);
}

TEST(StateBook, ReleasingAPartitionForgetsItsSourcesOnly) {
  state_book book(100);
  const home p0{"telemetry", 0}, p1{"telemetry", 1};
  book.touched("srv-1", p0);
  book.placed("srv-2", p0); // restored: written already
  book.touched("srv-3", p1);
  auto gone = book.release(p0);
  std::sort(gone.begin(), gone.end());
  EXPECT_EQ(gone, (std::vector<std::string>{"srv-1", "srv-2"}));
  EXPECT_EQ(book.size(), 1U);
  EXPECT_EQ(book.changed(), 1U);
  EXPECT_TRUE(book.release(p0).empty());
}

TEST(StateBook, ItStaysBoundedAndKeepsWhatIsNotWrittenYet) {
  state_book book(4);
  const home p0{"telemetry", 0};
  for (int i = 0; i < 4; ++i)
    book.placed("old-" + std::to_string(i), p0);
  book.touched("new-1", p0); // full: the written ones make room
  EXPECT_EQ(book.size(), 1U);
  for (int i = 2; i <= 4; ++i)
    book.touched("new-" + std::to_string(i), p0);
  book.touched("new-5", p0); // full of unwritten sources: this one waits
  EXPECT_EQ(book.size(), 4U);
  EXPECT_EQ(book.take_changed(nullptr).size(), 4U);
}

} // namespace
} // namespace bulwark::integrity
