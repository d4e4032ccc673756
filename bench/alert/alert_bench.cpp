// Micro benchmarks of the alert engine. Each checks what the engine emitted
// against the rules (criticals in their own submit, bounded output, a flood
// naming sources) before timing it: a fast wrong answer is not a result.
//
//   build/bench/alert/bench_alert --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "alert/alertmanager.hpp"
#include "alert/engine.hpp"
#include "core/json_writer.hpp"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace bulwark;
using bulwark::alert::alert;
using bulwark::alert::alert_sink;
using bulwark::alert::engine;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

constexpr timestamp_ms t0 = 1'800'000'000'000;

/// Counts records and remembers which submit emitted each critical.
class checking_sink final : public alert_sink {
public:
  void emit(const alert& a) override {
    ++records;
    if (a.kind == "flood") {
      ++floods;
      last_flood_evidence = a.evidence;
    }
    if (a.level == severity::critical) critical_calls.push_back(call);
  }
  std::uint64_t records = 0;
  std::uint64_t floods = 0;
  std::uint64_t call = 0;
  std::vector<std::uint64_t> critical_calls;
  std::string last_flood_evidence;
};

alert_request make_request(std::string kind, std::string source, bool authenticated,
                           timestamp_ms at, std::string rule) {
  alert_request r;
  r.kind = std::move(kind);
  r.level = default_severity(r.kind);
  r.source = std::move(source);
  r.authenticated = authenticated;
  r.model = "support-bot";
  r.rule = std::move(rule);
  r.title = r.kind + " finding (" + r.rule + ") from source " + r.source;
  json_writer w;
  w.begin_object().key("rule").value(r.rule).key("count").value(1).key("path").value("/input");
  w.end_object();
  r.evidence = w.take();
  r.at = at;
  return r;
}

/// Issue 7's flood: 200,000 medium injection findings from 1,000 signed
/// sources at 1,000/s with 3 tampered events interleaved.
struct flood_corpus {
  std::vector<alert_request> requests;
  std::vector<std::uint64_t> tamper_index; ///< 1-based submit numbers of the criticals
};

const flood_corpus& corpus() {
  static const flood_corpus c = [] {
    flood_corpus out;
    out.requests.reserve(200'003);
    for (int i = 0; i < 200'000; ++i) {
      const timestamp_ms at = t0 + i;
      out.requests.push_back(make_request("injection", "src-" + std::to_string(i % 1'000), true, at,
                                          "inj-" + std::to_string(i % 7)));
      out.requests.back().ref.line = i + 1;
      if (i == 50'000 || i == 100'000 || i == 150'000) {
        out.requests.push_back(make_request("integrity.tamper", "srv-real", false, at, "k1"));
        out.tamper_index.push_back(out.requests.size());
      }
    }
    return out;
  }();
  return c;
}

engine new_engine(const bulwark::alert::engine_settings& s = {}) {
  auto made = engine::make(s);
  if (!std::holds_alternative<engine>(made)) fail("engine settings");
  return std::move(std::get<engine>(made));
}

void run_flood(engine& e, checking_sink& sink) {
  for (const alert_request& r : corpus().requests) {
    ++sink.call;
    e.submit(r, r.at, sink);
  }
  e.flush(corpus().requests.back().at, sink);
}

void verify_flood() {
  engine e = new_engine();
  checking_sink sink;
  run_flood(e, sink);
  if (sink.critical_calls != corpus().tamper_index) fail("a critical was not emitted at once");
  if (sink.records >= 2'000) fail("flood output not under 2,000 records");
  if (sink.floods == 0) fail("no flood alert");
  if (sink.last_flood_evidence.find("\"source\":\"src-") == std::string::npos)
    fail("the flood alert names no source");
}

void BM_submit_flood(benchmark::State& state) {
  verify_flood();
  std::uint64_t records = 0;
  std::size_t bytes = 0;
  for (auto _ : state) {
    engine e = new_engine();
    checking_sink sink;
    run_flood(e, sink);
    records = sink.records;
    bytes = e.memory_bytes();
    benchmark::DoNotOptimize(records);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(corpus().requests.size()));
  state.counters["records"] = static_cast<double>(records);
  state.counters["memory_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_submit_flood)->Unit(benchmark::kMillisecond);

/// Criticals only: every request is emitted during its submit.
void BM_submit_critical(benchmark::State& state) {
  std::vector<alert_request> reqs;
  for (int i = 0; i < 10'000; ++i)
    reqs.push_back(make_request("integrity.replay", "srv-" + std::to_string(i % 50), true, t0 + i,
                                "sequence"));
  {
    engine e = new_engine();
    checking_sink sink;
    for (const auto& r : reqs) {
      ++sink.call;
      e.submit(r, r.at, sink);
    }
    if (sink.records != reqs.size()) fail("every critical is emitted");
  }
  for (auto _ : state) {
    engine e = new_engine();
    checking_sink sink;
    for (const auto& r : reqs)
      e.submit(r, r.at, sink);
    benchmark::DoNotOptimize(sink.records);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(reqs.size()));
}
BENCHMARK(BM_submit_critical)->Unit(benchmark::kMillisecond);

/// Attacker cardinality without budgets or flood detection: every request a
/// new fingerprint, tables full, evicting; memory stays at the bound.
void BM_submit_distinct_fingerprints(benchmark::State& state) {
  bulwark::alert::engine_settings s;
  s.flood.enter_count = 1'000'000'000;
  s.global = {1'000'000'000, 1};
  s.per_source = {1'000'000'000, 1};
  std::vector<alert_request> reqs;
  for (int i = 0; i < 50'000; ++i)
    reqs.push_back(
        make_request("pii", "src-" + std::to_string(i), true, t0 + i, "rule-" + std::to_string(i)));
  std::size_t bytes = 0;
  {
    engine e = new_engine(s);
    checking_sink sink;
    for (const auto& r : reqs)
      e.submit(r, r.at, sink);
    if (e.tracked() > s.limit.max_folds) fail("fold cap");
    if (e.memory_bytes() > engine::memory_bound(s)) fail("memory bound");
    bytes = e.memory_bytes();
  }
  for (auto _ : state) {
    engine e = new_engine(s);
    checking_sink sink;
    for (const auto& r : reqs)
      e.submit(r, r.at, sink);
    benchmark::DoNotOptimize(sink.records);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(reqs.size()));
  state.counters["memory_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_submit_distinct_fingerprints)->Unit(benchmark::kMillisecond);

alert sample_alert() {
  alert a;
  a.id = "0011223344556677-1800000000000-1";
  a.ts = t0;
  a.level = severity::high;
  a.kind = "secret";
  a.title = "secret finding (aws-access-key) from source srv-4";
  a.source = "srv-4";
  a.model = "support-bot";
  a.fingerprint = "0011223344556677";
  a.count = 12;
  a.first_seen = t0 - 5'000;
  a.last_seen = t0;
  a.evidence = R"({"rule":"aws-access-key","path":"/input/messages/1/content","count":1})";
  a.refs.push_back(input_ref{"telemetry", 3, 81'234, 0});
  a.rule = "aws-access-key";
  return a;
}

void BM_render(benchmark::State& state) {
  const alert a = sample_alert();
  const auto format = static_cast<bulwark::alert::output_format>(state.range(0));
  const std::string line = bulwark::alert::render(a, format);
  if (line.find(format == bulwark::alert::output_format::ocsf
                    ? "\"class_uid\":2004"
                    : "\"fingerprint\":\"0011") == std::string::npos)
    fail("render");
  for (auto _ : state) {
    std::string out = bulwark::alert::render(a, format);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_render)->Arg(0)->Arg(1)->ArgNames({"ocsf"});

} // namespace

BENCHMARK_MAIN();
