// Micro benchmarks of the drift monitor: observe() throughput (updates per
// second per core, one update = one feature value of one event), the cost of
// closing a window (all three detectors), the window statistics alone, and the
// bytes of state per (key, feature). Each checks its output against an
// independent computation before timing it.
//
//   build/h-drift-rel/bench/drift/bench_drift --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include "drift/compare.hpp"
#include "drift/monitor.hpp"
#include "drift/reference.hpp"

#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace bulwark;
using namespace bulwark::drift;

constexpr timestamp_ms t0 = 1'767'225'600'000;
constexpr timestamp_ms hour = 3'600'000;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

/// The natural features of a model's telemetry: score, confidence, latency,
/// prompt and response tokens, and (categorical) the country.
settings bench_settings() {
  settings s;
  s.features = {{"/score", feature_type::numeric, {}, {}, {}},
                {"/confidence", feature_type::numeric, {}, {}, {}},
                {"/latency_ms", feature_type::numeric, {}, {}, {}},
                {"/usage/prompt_tokens", feature_type::numeric, {}, {}, {}},
                {"/usage/completion_tokens", feature_type::numeric, {}, {}, {}},
                {"/features/country", feature_type::categorical, {}, {}, {}}};
  s.learn_references = false;
  return s;
}

const std::vector<std::string>& countries() {
  static const std::vector<std::string> c = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 40; ++i) // 32 fit the table, 8 land in "other"
      v.push_back("C" + std::to_string(i));
    return v;
  }();
  return c;
}

struct event {
  std::vector<double> numbers;
  std::size_t country;
};

std::vector<event> make_events(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> score(0.3, 0.1);
  std::uniform_real_distribution<double> conf(0.5, 1);
  std::lognormal_distribution<double> latency(4, 0.5);
  std::poisson_distribution<int> prompt(300), completion(120);
  std::geometric_distribution<int> country(0.12);
  std::vector<event> out(n);
  for (auto& e : out) {
    e.numbers = {score(rng), conf(rng), latency(rng), static_cast<double>(prompt(rng)),
                 static_cast<double>(completion(rng))};
    e.country = std::min<std::size_t>(static_cast<std::size_t>(country(rng)), 39);
  }
  return out;
}

std::vector<feature_value> values_of(const event& e) {
  std::vector<feature_value> v;
  for (const double x : e.numbers)
    v.push_back(feature_value::of(x));
  v.push_back(feature_value::of(std::string_view(countries()[e.country])));
  return v;
}

/// A reference file for `keys` keys built from 10 000 events each.
const std::string& reference_file(std::size_t keys) {
  static std::map<std::size_t, std::string> cache;
  auto& text = cache[keys];
  if (!text.empty()) return text;
  auto made = baseline_builder::make(bench_settings());
  auto& b = std::get<baseline_builder>(made);
  const auto events = make_events(10000, 1);
  for (std::size_t k = 0; k < keys; ++k) {
    const std::string key = "model-" + std::to_string(k);
    for (const auto& e : events)
      b.add(key, key, values_of(e));
  }
  text = b.finish();
  return text;
}

monitor loaded_monitor(std::size_t keys) {
  auto made = monitor::make(bench_settings());
  auto& m = std::get<monitor>(made);
  if (std::holds_alternative<error>(m.load_reference(reference_file(keys), t0)))
    fail("reference file did not load");
  return std::move(m);
}

/// Verifies observe(): the panes a monitor holds after a batch equal the
/// counts computed directly from the reference.
void verify_observe(std::size_t keys) {
  monitor m = loaded_monitor(keys);
  const auto events = make_events(20000, 2);
  for (std::size_t i = 0; i < events.size(); ++i) {
    const std::string key = "model-" + std::to_string(i % keys);
    const auto v = values_of(events[i]);
    if (m.observe(key, key, v, t0 + static_cast<timestamp_ms>(i), i) != observe_result::applied)
      fail("an event was not applied");
  }
  if (m.stats().applied != events.size()) fail("applied count");
  // Every value lands in exactly one slot: the exported panes hold
  // keys × features × ... values in total, one per (event, feature).
  const std::string panes = m.export_panes();
  std::uint64_t total = 0;
  for (std::size_t pos = panes.find("\"slots\":["); pos != std::string::npos;
       pos = panes.find("\"slots\":[", pos + 1)) {
    std::size_t p = pos + 9;
    while (panes[p] != ']') {
      char* end = nullptr;
      total += std::strtoull(panes.c_str() + p, &end, 10);
      p = static_cast<std::size_t>(end - panes.c_str());
      if (panes[p] == ',') ++p;
    }
  }
  if (total != events.size() * 6) fail("pane totals differ from the events observed");
}

struct prepared {
  std::vector<std::vector<feature_value>> values;
  std::vector<std::string> names;
};

prepared prepare(std::size_t keys) {
  static const auto events = make_events(8192, 3);
  prepared p;
  for (const auto& e : events)
    p.values.push_back(values_of(e));
  for (std::size_t k = 0; k < keys; ++k)
    p.names.push_back("model-" + std::to_string(k));
  return p;
}

/// observe() alone: every event in the same window, advance() called before
/// each observe() as the pipeline does (a no-op here).
void BM_observe(benchmark::State& state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  verify_observe(keys);
  monitor m = loaded_monitor(keys);
  const prepared p = prepare(keys);
  std::uint64_t ref = 0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      const timestamp_ms t = t0 + static_cast<timestamp_ms>(i);
      benchmark::DoNotOptimize(m.advance(t));
      const std::string& key = p.names[i % keys];
      benchmark::DoNotOptimize(m.observe(key, key, p.values[i], t, ++ref));
    }
  }
  const auto n = state.iterations() * static_cast<std::int64_t>(p.values.size());
  state.SetItemsProcessed(n);
  state.counters["updates_per_s"] =
      benchmark::Counter(static_cast<double>(n) * 6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_observe)->Arg(1)->Arg(64);

/// A stream: 1000 events per key per window, so windows close (all three
/// detectors on six features) as they would in production.
void BM_stream(benchmark::State& state) {
  const auto keys = static_cast<std::size_t>(state.range(0));
  monitor m = loaded_monitor(keys);
  const prepared p = prepare(keys);
  const auto per_window = static_cast<timestamp_ms>(1000 * keys);
  std::uint64_t ref = 0;
  timestamp_ms t = t0;
  for (auto _ : state) {
    for (std::size_t i = 0; i < p.values.size(); ++i) {
      t += hour / per_window;
      benchmark::DoNotOptimize(m.advance(t));
      const std::string& key = p.names[i % keys];
      benchmark::DoNotOptimize(m.observe(key, key, p.values[i], t, ++ref));
    }
  }
  if (m.stats().applied != ref) fail("events lost");
  const auto n = state.iterations() * static_cast<std::int64_t>(p.values.size());
  state.SetItemsProcessed(n);
  state.counters["updates_per_s"] =
      benchmark::Counter(static_cast<double>(n) * 6, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_stream)->Arg(1)->Arg(64);

/// One window's statistics against a numeric reference, checked against a
/// naive recomputation of its PSI.
void BM_window_statistics(benchmark::State& state) {
  std::mt19937_64 rng(4);
  std::normal_distribution<double> n(0, 1);
  std::vector<double> sample;
  for (int i = 0; i < 4096; ++i)
    sample.push_back(n(rng));
  const reference ref = build_numeric(sample, 32);
  pane window(ref.slots());
  for (int i = 0; i < 1000; ++i) {
    const placement p = ref.place(n(rng) + 0.5);
    ++window.slots[p.slot];
    ++window.u_n;
    window.u_sum += static_cast<std::uint64_t>(p.u);
  }
  const window_stats s = compare(ref, window, 1e-4);
  double psi = 0;
  const double eps = 1e-4, norm = 1 + static_cast<double>(ref.slots()) * eps;
  for (std::size_t i = 0; i < ref.slots(); ++i) {
    const double p = (static_cast<double>(window.slots[i]) / 1000 + eps) / norm;
    const double q = (static_cast<double>(ref.counts[i]) / 4096 + eps) / norm;
    psi += (p - q) * std::log(p / q);
  }
  if (std::fabs(s.psi - psi) > 1e-12 || !(s.chi2.p < 1e-3) || !(s.z > 3)) fail("window statistics");
  for (auto _ : state)
    benchmark::DoNotOptimize(compare(ref, window, 1e-4));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_window_statistics);

/// Closing one window of one key: six features, the window, two scales and
/// the CUSUM each.
void BM_close_window(benchmark::State& state) {
  monitor m = loaded_monitor(1);
  const auto events = make_events(1000, 5);
  std::vector<std::vector<feature_value>> values;
  for (const auto& e : events)
    values.push_back(values_of(e));
  timestamp_ms t = t0;
  std::uint64_t ref = 0;
  std::int64_t windows = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (std::size_t i = 0; i < values.size(); ++i)
      m.observe("model-0", "model-0", values[i], t + static_cast<timestamp_ms>(i) * 3000, ++ref);
    t += hour;
    state.ResumeTiming();
    benchmark::DoNotOptimize(m.advance(t + hour));
    ++windows;
  }
  if (m.stats().applied != ref) fail("events lost");
  state.SetItemsProcessed(windows);
}
BENCHMARK(BM_close_window);

/// Bytes of state per (key, feature), reported as counters (no timing).
void BM_state_bytes(benchmark::State& state) {
  monitor m = loaded_monitor(1);
  const auto v = values_of(make_events(1, 6).front());
  m.observe("model-0", "model-0", v, t0, 1);
  const auto numeric = m.feature_bytes("model-0", 0);
  const auto categorical = m.feature_bytes("model-0", 5);
  if (!numeric || !categorical) fail("state not found");
  for (auto _ : state)
    benchmark::DoNotOptimize(m.feature_bytes("model-0", 0));
  state.counters["bytes_numeric"] = static_cast<double>(*numeric);
  state.counters["bytes_categorical"] = static_cast<double>(*categorical);
  state.counters["bytes_per_key"] = static_cast<double>(m.state().bytes);
}
BENCHMARK(BM_state_bytes);

} // namespace

BENCHMARK_MAIN();
