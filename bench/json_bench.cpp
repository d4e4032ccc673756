// Micro benchmarks of the JSON layer: parse + walk, pass-through processing,
// splice + annotate, string escaping. Each checks its output against a
// reference before timing it (a fast wrong answer is not a result): the
// reference parser is simdjson's DOM, which shares no code with the walker.
//
//   build/bench/bench_json --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include "pipeline/processor.hpp"

#include "json/splice.hpp"
#include "json/walk.hpp"
#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <simdjson.h>
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

/// Every string value of `doc` in document order, decoded by simdjson (the reference).
std::vector<std::string> reference_strings(std::string_view doc) {
  static simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(doc.data(), doc.size()).get(root)) fail("simdjson rejects a document");
  std::vector<std::string> out;
  auto visit = [&out](auto&& self, simdjson::dom::element e) -> void {
    switch (e.type()) {
    case simdjson::dom::element_type::OBJECT:
      for (const auto field : simdjson::dom::object(e))
        self(self, field.value);
      break;
    case simdjson::dom::element_type::ARRAY:
      for (const auto child : simdjson::dom::array(e))
        self(self, child);
      break;
    case simdjson::dom::element_type::STRING:
      out.emplace_back(std::string_view(e));
      break;
    default:
      break;
    }
  };
  visit(visit, root);
  return out;
}

/// The walker's string values of one document, in order.
class collecting_visitor final : public json::visitor {
public:
  bool on_value(const json::value_ref& v) override {
    if (v.kind == json::value_kind::string) strings.emplace_back(v.text);
    return true;
  }
  std::vector<std::string> strings;
};

std::vector<std::string> walker_strings(json::walker& w, std::string_view doc) {
  collecting_visitor c;
  if (w.walk(doc, 0, &c) != json::error::none) fail("the walker rejects a document");
  return std::move(c.strings);
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
  for (const auto& e : corpus()) {
    if (w.walk(e, 0, nullptr) != json::error::none) fail("corpus line rejected");
    // What the reference rejects, the walker must reject too.
    const std::string cut = e.substr(0, e.size() / 2);
    simdjson::dom::parser ref;
    if (!ref.parse(cut).error()) fail("reference accepted a truncated line");
    if (w.walk(cut, 0, nullptr) == json::error::none) fail("a truncated line was accepted");
  }
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
  std::size_t expected = 0;
  for (const auto& e : corpus()) {
    const auto ref = reference_strings(e);
    if (walker_strings(w, e) != ref) fail("walked strings differ from the reference's");
    expected += ref.size();
    w.walk(e, 0, &v);
  }
  if (v.strings != expected) fail("visited string count differs from the reference's");
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
    // The reference sees the input's strings with /source replaced, then the annotation's.
    auto want = reference_strings(e);
    const auto got = reference_strings(out);
    const auto source = std::find(
        want.begin(), want.end(),
        e.substr(v.first_string_begin + 1, v.first_string_end - v.first_string_begin - 2));
    if (source == want.end()) fail("reference has no /source");
    *source = "[REDACTED:test]";
    for (const char* s : {"redacted", "test", "secret", "/source", "tag"})
      want.emplace_back(s);
    if (got != want) fail("spliced output differs from the reference");
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
  if (reference_strings(doc) != std::vector<std::string>{text})
    fail("the reference decodes the escaped string to other text");
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
