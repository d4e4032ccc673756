// Micro benchmarks of the JSON layer: parse + walk, pass-through processing,
// splice + annotate, string escaping. Each checks its output against a
// reference before timing it (a fast wrong answer is not a result).
//
//   build/bench/bench_json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "pipeline/processor.hpp"

#include "json/splice.hpp"
#include "json/walk.hpp"
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace bulwark;

/// ~500-byte events shaped like the fleet's telemetry (chat, tabular, log lines).
std::vector<std::string> make_corpus(std::size_t n) {
  static const char* words[] = {"order",  "refund", "account", "invoice", "delivery", "status",
                                "card",   "please", "thanks",  "help",    "update",   "tracking",
                                "return", "policy", "weather", "booking", "flight",   "summary"};
  std::mt19937 rng(42);
  auto sentence = [&](int lo, int hi) {
    std::string s;
    const int n_words = std::uniform_int_distribution<int>(lo, hi)(rng);
    for (int i = 0; i < n_words; ++i) {
      if (i) s += ' ';
      s += words[rng() % (sizeof words / sizeof *words)];
    }
    return s;
  };
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::string e;
    switch (i % 3) {
    case 0:
      e = R"({"ts":"2026-11-26T10:00:00.123Z","source":"srv-)" + std::to_string(i % 24) +
          R"(","seq":)" + std::to_string(i) +
          R"(,"type":"prediction","model":"support-bot","model_version":"2.3.1","input":{"messages":[{"role":"system","content":"You are a helpful support assistant."},{"role":"user","content":")" +
          sentence(10, 24) + R"("}]},"output":{"content":")" + sentence(12, 30) +
          R"(\nThanks!","tokens":212},"latency_ms":240.5})";
      break;
    case 1:
      e = R"({"ts":1795000000123,"source":"srv-)" + std::to_string(i % 24) + R"(","seq":)" +
          std::to_string(i) +
          R"(,"type":"prediction","model":"fraud","features":{"amount":123.45,"country":"DE","merchant_id":"m-00042","hour":11,"note":")" +
          sentence(8, 20) + R"("},"score":0.1234,"label":0,"latency_ms":12.5,"request_id":"req-)" +
          std::to_string(1000000 + i) + R"("})";
      break;
    default:
      e = R"({"ts":"2026-11-26T10:00:00.123Z","source":"srv-)" + std::to_string(i % 24) +
          R"(","type":"log","level":"INFO","logger":"app.http","msg":"GET /v1/predict 200 12ms","host":"node-07","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","detail":")" +
          sentence(20, 40) + R"(\t\u00e9"})";
    }
    out.push_back(std::move(e));
  }
  return out;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> c = make_corpus(2000);
  return c;
}

std::int64_t corpus_bytes() {
  std::int64_t b = 0;
  for (const auto& e : corpus())
    b += static_cast<std::int64_t>(e.size());
  return b;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

class counting_visitor final : public json::visitor {
public:
  bool on_value(const json::value_ref& v) override {
    if (v.kind == json::value_kind::string) {
      ++strings;
      text_bytes += v.text.size();
      if (first_string_begin == 0 && v.in_object && v.depth == 1 && v.pointer == "/source") {
        first_string_begin = v.begin;
        first_string_end = v.end;
      }
    }
    return true;
  }
  std::size_t strings = 0, text_bytes = 0, first_string_begin = 0, first_string_end = 0;
};

void BM_walk_validate_only(benchmark::State& state) {
  json::walker w(json::limits{});
  for (const auto& e : corpus())
    if (w.walk(e, 0, nullptr) != json::error::none) fail("corpus line rejected");
  for (auto _ : state)
    for (const auto& e : corpus())
      benchmark::DoNotOptimize(w.walk(e, 0, nullptr));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(corpus().size()));
  state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_walk_validate_only);

void BM_walk_every_string(benchmark::State& state) {
  json::walker w(json::limits{});
  counting_visitor v;
  for (const auto& e : corpus())
    w.walk(e, 0, &v);
  if (v.strings < corpus().size() * 5) fail("too few strings visited");
  for (auto _ : state)
    for (const auto& e : corpus())
      benchmark::DoNotOptimize(w.walk(e, 0, &v));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(corpus().size()));
  state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_walk_every_string);

void BM_processor_pass_through(benchmark::State& state) {
  pipeline::processor p(config::options{});
  std::string out, dlq;
  for (const auto& e : corpus()) {
    out.clear();
    p.process(e, {}, {}, out, dlq);
    if (out != e) fail("pass-through changed a clean event");
  }
  for (auto _ : state) {
    for (const auto& e : corpus()) {
      out.clear();
      p.process(e, {}, {}, out, dlq);
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(corpus().size()));
  state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_processor_pass_through);

void BM_splice_and_annotate(benchmark::State& state) {
  json::walker w(json::limits{});
  counting_visitor v;
  std::string replacement, spliced, out;
  json::append_string(replacement, "[REDACTED:test]");
  const std::string annotation =
      R"({"v":1,"verdict":"redacted","findings":[{"rule":"test","category":"secret","path":"/source","action":"tag","count":1}]})";
  auto once = [&](const std::string& e) {
    v = counting_visitor{};
    w.walk(e, 0, &v);
    const json::edit ed{v.first_string_begin, v.first_string_end, replacement};
    spliced.clear();
    json::apply_edits(e, {&ed, 1}, spliced);
    out.clear();
    json::append_with_member(out, spliced, "_bulwark", annotation);
  };
  json::walker check(json::limits{});
  for (const auto& e : corpus()) {
    once(e);
    if (check.walk(out, 0, nullptr) != json::error::none) fail("spliced output is not valid JSON");
    if (out.find(R"("source":"[REDACTED:test]")") == std::string::npos) fail("splice missing");
  }
  for (auto _ : state)
    for (const auto& e : corpus()) {
      once(e);
      benchmark::DoNotOptimize(out.data());
    }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(corpus().size()));
  state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_splice_and_annotate);

void BM_append_string(benchmark::State& state) {
  std::string text;
  for (int i = 0; i < 64; ++i)
    text += "plain words of a chat message, \"quoted\"\n\ttabbed \xC3\xA9 ";
  std::string out;
  json::append_string(out, text);
  json::walker w(json::limits{});
  const std::string doc = "{\"s\":" + out + "}";
  if (w.walk(doc, 0, nullptr) != json::error::none) fail("escaped string is not valid JSON");
  for (auto _ : state) {
    out.clear();
    json::append_string(out, text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_append_string);

} // namespace

BENCHMARK_MAIN();
