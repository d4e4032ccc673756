// Micro benchmarks of the metrics registry: the hot-path cost of a counter
// increment and a histogram observation from 1 and 2 threads (each with its
// own writer, as workers will), a shared atomic for comparison, and a scrape
// of the full catalogue. Each run checks its counts before they are reported:
// a fast wrong answer is not a result.
//
//   build/bench/metrics/bench_metrics --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true
#include "metrics/catalog.hpp"

#include <atomic>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

namespace {

using namespace bulwark::metrics;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

/// The catalogue as the service declares it: ~130 rules, 2 topics of 8
/// partitions, 3 models x 4 features, 2 keys.
catalog_inputs realistic_inputs() {
  catalog_inputs in;
  for (int i = 0; i < 130; ++i)
    in.rules.push_back("rule-" + std::to_string(i));
  in.inputs = {{"telemetry", 8}, {"audit-events", 8}};
  in.models = {"fraud", "support-bot", "churn"};
  in.features = {"/score", "/features/amount", "/features/country", "/latency_ms"};
  in.key_ids = {"k1", "k2"};
  in.version = "0.1.0";
  return in;
}

struct shared_registry {
  catalog cat;
  std::unique_ptr<registry> reg;
};

/// One registry for every thread of a benchmark; google-benchmark runs the
/// function on each thread, so the registry lives outside it.
shared_registry& instance() {
  static shared_registry s = [] {
    builder b;
    shared_registry r;
    r.cat = declare_catalog(b, realistic_inputs());
    auto made = registry::make(std::move(b));
    if (std::holds_alternative<error>(made)) fail("the catalogue does not declare");
    r.reg = std::move(std::get<std::unique_ptr<registry>>(made));
    return r;
  }();
  return s;
}

void BM_counter_add(benchmark::State& state) {
  shared_registry& s = instance();
  const counter c = s.reg->series(s.cat.records_received, {"worker"});
  const std::uint64_t before = state.thread_index() == 0 ? s.reg->value(c) : 0;
  {
    writer w = s.reg->make_writer();
    for (auto _ : state)
      w.add(c);
  }
  if (state.thread_index() == 0 && s.reg->value(c) < before + state.iterations())
    fail("increments lost");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_counter_add)->Threads(1)->Threads(2);

/// The label is looked up on every update (a rule id from a finding).
void BM_counter_add_by_label(benchmark::State& state) {
  shared_registry& s = instance();
  const counter c = s.reg->series(s.cat.rule_findings, {"rule-77"});
  const std::uint64_t before = state.thread_index() == 0 ? s.reg->value(c) : 0;
  {
    writer w = s.reg->make_writer();
    for (auto _ : state)
      w.add(s.cat.rule_findings, {"rule-77"});
  }
  if (state.thread_index() == 0 && s.reg->value(c) < before + state.iterations())
    fail("increments lost");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_counter_add_by_label)->Threads(1)->Threads(2);

void BM_histogram_observe(benchmark::State& state) {
  shared_registry& s = instance();
  const histogram h = s.reg->series(s.cat.stage_duration, {"worker"});
  std::uint64_t n = 0;
  {
    writer w = s.reg->make_writer();
    double v = 1e-6;
    for (auto _ : state) {
      w.observe(h, v);
      // Spread over the buckets like real latencies (1 µs to ~4 ms).
      v = v < 4e-3 ? v * 1.7 : 1e-6;
      ++n;
    }
  }
  if (n != static_cast<std::uint64_t>(state.iterations())) fail("observations lost");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_histogram_observe)->Threads(1)->Threads(2);

/// What the per-thread shards avoid: every thread on one atomic counter.
void BM_shared_atomic_fetch_add(benchmark::State& state) {
  static std::atomic<std::uint64_t> shared{0};
  for (auto _ : state)
    shared.fetch_add(1, std::memory_order_relaxed);
  if (shared.load() < static_cast<std::uint64_t>(state.iterations())) fail("increments lost");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_shared_atomic_fetch_add)->Threads(1)->Threads(2);

/// A whole scrape: callbacks, summing every shard, rendering the text.
void BM_scrape(benchmark::State& state) {
  builder b;
  const catalog cat = declare_catalog(b, realistic_inputs());
  auto made = registry::make(std::move(b));
  if (std::holds_alternative<error>(made)) fail("the catalogue does not declare");
  registry& reg = *std::get<std::unique_ptr<registry>>(made);
  // Two worker shards with data in them, and a lag callback over 16 partitions.
  writer w1 = reg.make_writer(), w2 = reg.make_writer();
  for (int i = 0; i < 1000; ++i) {
    w1.add(cat.rule_findings, {"rule-" + std::to_string(i % 130)});
    w2.observe(cat.stage_duration, {"worker"}, 1e-5 * i);
  }
  auto hook = reg.on_scrape([&cat](registry& r) {
    for (std::size_t p = 0; p < 8; ++p)
      r.set(cat.consumer_lag, {"telemetry", at{p}}, static_cast<double>(p));
  });
  std::string out;
  reg.render(out);
  if (out.find("bulwark_stage_duration_seconds_count{stage=\"worker\"} 1000\n") ==
      std::string::npos)
    fail("the scrape does not show the observations");
  std::size_t bytes = 0;
  for (auto _ : state) {
    out.clear();
    reg.render(out);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.counters["series"] = static_cast<double>(reg.series_count());
  state.counters["bytes"] = static_cast<double>(bytes);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
BENCHMARK(BM_scrape)->Unit(benchmark::kMicrosecond);

} // namespace

BENCHMARK_MAIN();
