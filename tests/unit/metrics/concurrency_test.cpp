// Many writers, one or more scrapers: sums are exact once writers are done,
// and every scrape in between is a consistent, monotonic view. Also run in
// the ThreadSanitizer build (docs/metrics.md).
#include "metrics/registry.hpp"
#include "unit/metrics/exposition.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace bulwark::metrics;
using bulwark::metrics::testing::parse;

constexpr int threads = 4;
#if defined(__SANITIZE_THREAD__)
constexpr int per_thread = 20'000; // TSan is ~10x slower; the interleavings are what count
#else
constexpr int per_thread = 1'000'000;
#endif

struct fixture {
  counter_family total;
  counter_family by_thread;
  histogram_family latency;
  std::unique_ptr<registry> reg;

  fixture() {
    builder b;
    total = b.add_counter("bulwark_records_received_total", "r");
    by_thread =
        b.add_counter("bulwark_thread_records_total", "t", {numbered_label("thread", threads)});
    latency = b.add_histogram("bulwark_stage_duration_seconds", "d", {0.25, 0.5, 0.75});
    auto made = registry::make(std::move(b));
    reg = std::move(std::get<std::unique_ptr<registry>>(made));
  }
};

TEST(MetricsConcurrency, ThreadsIncrementingTheSameSeriesSumExactly) {
  fixture f;
  std::latch start(threads); // all writers update at once, not one after the other
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&f, &start, t] {
      writer w = f.reg->make_writer();
      const counter c = f.reg->series(f.total);
      const histogram h = f.reg->series(f.latency);
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        w.add(c);
        w.add(f.by_thread, {at{static_cast<std::size_t>(t)}}, 2);
        w.observe(h, (i % 4) * 0.25); // 0, 0.25, 0.5, 0.75: on the bounds
      }
    });
  for (auto& th : pool)
    th.join();

  // All writers were alive at once (the latch), so each had a shard of its own.
  EXPECT_EQ(f.reg->shard_count(), static_cast<std::size_t>(threads));
  const auto e = parse(f.reg->render());
  const double n = static_cast<double>(threads) * per_thread;
  EXPECT_EQ(e.value("bulwark_records_received_total"), n);
  for (int t = 0; t < threads; ++t)
    EXPECT_EQ(e.value("bulwark_thread_records_total", {{"thread", std::to_string(t)}}),
              2.0 * per_thread);
  EXPECT_EQ(e.value("bulwark_stage_duration_seconds_bucket", {{"le", "0.25"}}), n / 2);
  EXPECT_EQ(e.value("bulwark_stage_duration_seconds_bucket", {{"le", "0.5"}}), n * 3 / 4);
  EXPECT_EQ(e.value("bulwark_stage_duration_seconds_bucket", {{"le", "0.75"}}), n);
  EXPECT_EQ(e.value("bulwark_stage_duration_seconds_count"), n);
  // Quarter-multiples add exactly in binary floating point.
  EXPECT_EQ(e.value("bulwark_stage_duration_seconds_sum"), n / 4 * (0 + 0.25 + 0.5 + 0.75));
  EXPECT_EQ(f.reg->value(f.reg->series(f.total)), static_cast<std::uint64_t>(n));
}

TEST(MetricsConcurrency, ScrapesDuringUpdatesAreMonotonicAndHistogramsStayConsistent) {
  fixture f;
  std::atomic<int> running{threads};
  std::latch start(threads + 1); // writers begin once the scrapes have
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&f, &running, &start] {
      writer w = f.reg->make_writer();
      const counter c = f.reg->series(f.total);
      const histogram h = f.reg->series(f.latency);
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        w.add(c);
        w.observe(h, 0.1);
      }
      running.fetch_sub(1);
    });

  double last_total = 0, last_count = 0;
  int scrapes = 0;
  // Two scrapers at once: renders are serialised, neither blocks writers.
  std::thread other_scraper([&f, &running] {
    while (running.load() > 0)
      (void)f.reg->render();
  });
  while (running.load() > 0 || scrapes == 0) {
    const auto e = parse(f.reg->render());
    if (scrapes++ == 0) start.count_down();
    const double total = e.value("bulwark_records_received_total");
    const double count = e.value("bulwark_stage_duration_seconds_count");
    EXPECT_GE(total, last_total);
    EXPECT_GE(count, last_count);
    EXPECT_EQ(count, e.value("bulwark_stage_duration_seconds_bucket", {{"le", "+Inf"}}));
    EXPECT_LE(e.value("bulwark_stage_duration_seconds_bucket", {{"le", "0.25"}}),
              e.value("bulwark_stage_duration_seconds_bucket", {{"le", "0.5"}}));
    last_total = total;
    last_count = count;
  }
  for (auto& th : pool)
    th.join();
  other_scraper.join();
  const auto e = parse(f.reg->render());
  EXPECT_EQ(e.value("bulwark_records_received_total"), static_cast<double>(threads) * per_thread);
  EXPECT_GT(scrapes, 0);
}

TEST(MetricsConcurrency, WritersComingAndGoingLoseNothingAndReuseShards) {
  fixture f;
  constexpr int rounds = 50;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&f] {
      const counter c = f.reg->series(f.total);
      for (int r = 0; r < rounds; ++r) {
        writer w = f.reg->make_writer(); // a worker restarting, a rebalance
        for (int i = 0; i < per_thread / rounds; ++i)
          w.add(c);
      }
    });
  std::thread scraper([&f] {
    for (int i = 0; i < 20; ++i)
      (void)f.reg->render();
  });
  for (auto& th : pool)
    th.join();
  scraper.join();
  EXPECT_EQ(f.reg->value(f.reg->series(f.total)),
            static_cast<std::uint64_t>(threads) * (per_thread / rounds) * rounds);
  // Never more shards than writers alive at once.
  EXPECT_LE(f.reg->shard_count(), static_cast<std::size_t>(threads));
}

TEST(MetricsConcurrency, GaugesFromCallbacksAndOwnersRaceScrapesSafely) {
  builder b;
  const auto g =
      b.add_gauge("bulwark_consumer_lag_records", "lag", {numbered_label("partition", 4)});
  auto reg = std::move(std::get<std::unique_ptr<registry>>(registry::make(std::move(b))));
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> lag{0};
  auto hook =
      reg->on_scrape([&](registry& r) { r.set(g, {at{0}}, static_cast<double>(lag.load())); });
  std::thread owner([&] {
    const gauge p1 = reg->series(g, {at{1}});
    for (int i = 0; i < per_thread; ++i) {
      reg->set(p1, i);
      lag.store(i);
    }
    stop = true;
  });
  double last = -1;
  while (!stop.load()) {
    const auto e = parse(reg->render());
    const double v = e.value("bulwark_consumer_lag_records", {{"partition", "1"}});
    EXPECT_GE(v, last);
    last = v;
  }
  owner.join();
  const auto e = parse(reg->render());
  EXPECT_EQ(e.value("bulwark_consumer_lag_records", {{"partition", "0"}}), per_thread - 1);
  EXPECT_EQ(e.value("bulwark_consumer_lag_records", {{"partition", "1"}}), per_thread - 1);
}

} // namespace
