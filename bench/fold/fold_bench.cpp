// Micro benchmarks of the fold topic's records (src/pipeline/fold.hpp): what
// an instance pays per forwarded drift event and per alert occurrence, and
// what the owner pays to take one. Each checks the round trip before timing.
//
//   build/bench/fold/bench_fold --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "pipeline/fold.hpp"

#include <array>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace bulwark;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

/// A fraud-scoring event's drift inputs: three numbers and a category.
const std::array<drift::feature_value, 4>& values() {
  static const std::array<drift::feature_value, 4> v{
      drift::feature_value::of(3.36), drift::feature_value::of(std::string_view("IN")),
      drift::feature_value::of(0.8125), drift::feature_value::of(4.0)};
  return v;
}

alert_request occurrence() {
  alert_request r;
  r.kind = "pii";
  r.level = severity::medium;
  r.source = "srv-17";
  r.authenticated = true;
  r.model = "support-bot";
  r.rule = "email";
  r.title = "PII in telemetry (redacted)";
  r.evidence = R"({"rule":"email","count":2})";
  r.at = 1'800'000'000'000;
  r.ref.topic = "telemetry";
  r.ref.partition = 5;
  r.ref.offset = 123'456;
  return r;
}

void BM_encode_drift(benchmark::State& state) {
  for (auto _ : state) {
    std::string s = pipeline::fold::encode("fraud", "fraud", 1'800'000'000'000,
                                           72'057'594'037'927'977, values());
    benchmark::DoNotOptimize(s);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_encode_drift);

void BM_decode_drift(benchmark::State& state) {
  const std::string text =
      pipeline::fold::encode("fraud", "fraud", 1'800'000'000'000, 72'057'594'037'927'977, values());
  {
    auto d = pipeline::fold::decode(text, values().size());
    const auto* v = std::get_if<pipeline::fold::drift_values>(&d);
    if (v == nullptr || v->features.size() != 4 || v->features[1].text != "IN") fail("drift");
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  std::vector<drift::feature_value> out;
  for (auto _ : state) {
    auto d = pipeline::fold::decode(text, values().size());
    std::get<pipeline::fold::drift_values>(d).values(out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_decode_drift);

void BM_decode_alert(benchmark::State& state) {
  const std::string text = pipeline::fold::encode(occurrence());
  {
    auto d = pipeline::fold::decode(text, 0);
    const auto* r = std::get_if<alert_request>(&d);
    if (r == nullptr || r->evidence != occurrence().evidence || r->ref.offset != 123'456)
      fail("alert");
  }
  state.counters["bytes"] = static_cast<double>(text.size());
  for (auto _ : state) {
    auto d = pipeline::fold::decode(text, 0);
    benchmark::DoNotOptimize(d);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_decode_alert);

} // namespace

BENCHMARK_MAIN();
