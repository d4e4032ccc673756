// Micro benchmarks of the integrity stage: the SHA-256 / HMAC-SHA256
// primitives (against the one-shot OpenSSL calls they replaced), signature
// verification per event (in-body and header forms; ~300-, 500- and
// 1000-byte events), the signature scanner alone, the anti-replay window and
// sequence tracker, and the whole checker per event. Each checks its results
// against a reference before timing.
//
//   build/bench/integrity/bench_integrity --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include "crypto/hmac.hpp"
#include "crypto/keys.hpp"
#include "integrity/checker.hpp"
#include "integrity/sequence.hpp"
#include "integrity/signature.hpp"

#include <algorithm>
#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace {

using namespace bulwark;
using namespace bulwark::integrity;

const std::string key_hex = "6b31c0ffee6b31c0ffee6b31c0ffee6b31c0ffee6b31c0ffee6b31c0ffee6b31";
constexpr timestamp_ms t0 = 1'790'000'000'000;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

crypto::key_bytes key() {
  return std::get<crypto::key_bytes>(crypto::decode_hex(key_hex));
}

/// One event of the corpus: unsigned body, its in-body signed form, its
/// header value, and the fields the pipeline would extract.
struct sample {
  std::string body;
  std::string signed_body;
  std::string header;
  std::string source;
  std::uint64_t seq = 0;
  timestamp_ms ts = 0;
};

/// Prediction events from 24 sources, each source counting 1, 2, 3…, whose
/// signed in-body form is `signed_bytes` long give or take a word.
std::vector<sample> make_corpus(std::size_t n, std::size_t signed_bytes) {
  static const char* words[] = {"order",  "refund", "account", "invoice", "delivery", "status",
                                "card",   "please", "thanks",  "help",    "update",   "tracking",
                                "return", "policy", "weather", "booking", "flight",   "summary"};
  constexpr std::size_t sig_bytes = 92; // ,"sig":{"kid":"k1","mac":"<64>"}
  std::mt19937 rng(42);
  auto sentence = [&](std::size_t bytes) {
    std::string s;
    while (s.size() < bytes) {
      if (!s.empty()) s += ' ';
      s += words[rng() % (sizeof words / sizeof *words)];
    }
    return s;
  };
  const auto k = key();
  std::vector<sample> out;
  for (std::size_t i = 0; i < n; ++i) {
    sample s;
    s.source = "srv-" + std::to_string(i % 24);
    s.seq = i / 24 + 1;
    s.ts = t0 + static_cast<timestamp_ms>(i) * 10;
    const std::string head = R"({"ts":)" + std::to_string(s.ts) + R"(,"source":")" + s.source +
                             R"(","seq":)" + std::to_string(s.seq) +
                             R"(,"type":"prediction","model":"support-bot","input":")";
    const std::string middle = R"(","output":")";
    const std::string tail = R"(","latency_ms":240.5})";
    const std::size_t fixed = head.size() + middle.size() + tail.size() + sig_bytes;
    const std::size_t text = signed_bytes > fixed + 16 ? signed_bytes - fixed : 16;
    const std::size_t in_bytes = text * (35 + rng() % 30) / 100;
    std::string input = sentence(in_bytes);
    std::string output = sentence(text - std::min(text, input.size() + 1));
    s.body = head + input + middle + output + tail;
    const std::string mac = crypto::to_hex(crypto::hmac_sha256(k, s.body));
    s.signed_body =
        s.body.substr(0, s.body.size() - 1) + R"(,"sig":{"kid":"k1","mac":")" + mac + R"("}})";
    s.header = "k1:" + mac;
    out.push_back(std::move(s));
  }
  return out;
}

/// The corpus of ~`bytes`-byte signed events (300, 500 or 1000).
const std::vector<sample>& corpus(std::size_t bytes = 500) {
  static std::map<std::size_t, std::vector<sample>> made;
  auto it = made.find(bytes);
  if (it == made.end()) it = made.emplace(bytes, make_corpus(2400, bytes)).first;
  return it->second;
}

std::int64_t corpus_bytes(std::size_t bytes = 500) {
  std::int64_t b = 0;
  for (const auto& s : corpus(bytes))
    b += static_cast<std::int64_t>(s.signed_body.size());
  return b;
}

/// Items, bytes and the mean signed size of one pass over a corpus.
void count(benchmark::State& state, std::size_t bytes) {
  const auto n = static_cast<std::int64_t>(corpus(bytes).size());
  state.SetItemsProcessed(state.iterations() * n);
  state.SetBytesProcessed(state.iterations() * corpus_bytes(bytes));
  state.counters["event_bytes"] = static_cast<double>(corpus_bytes(bytes)) / static_cast<double>(n);
}

verifier make_verifier() {
  key_ring ring;
  (void)ring.add("k1", key());
  return verifier(std::move(ring));
}

// The primitives, against the one-shot OpenSSL calls they replaced (an
// implicit algorithm fetch per call), on the same messages.
void BM_hmac_sha256(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const auto k = key();
  for (const auto& s : corpus(bytes)) {
    unsigned char ref[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()),
         reinterpret_cast<const unsigned char*>(s.body.data()), s.body.size(), ref, &len);
    if (std::memcmp(crypto::hmac_sha256(k, s.body).data(), ref, 32) != 0)
      fail("hmac_sha256 disagrees with OpenSSL's HMAC()");
  }
  for (auto _ : state)
    for (const auto& s : corpus(bytes))
      benchmark::DoNotOptimize(crypto::hmac_sha256(k, s.body));
  count(state, bytes);
}
BENCHMARK(BM_hmac_sha256)->Arg(300)->Arg(1000);

void BM_hmac_openssl_oneshot(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const auto k = key();
  for (auto _ : state)
    for (const auto& s : corpus(bytes)) {
      unsigned char out[32];
      unsigned int len = 0;
      HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()),
           reinterpret_cast<const unsigned char*>(s.body.data()), s.body.size(), out, &len);
      benchmark::DoNotOptimize(out);
    }
  count(state, bytes);
}
BENCHMARK(BM_hmac_openssl_oneshot)->Arg(300)->Arg(1000);

void BM_sha256(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  for (const auto& s : corpus(bytes)) {
    unsigned char ref[32];
    unsigned int len = 0;
    EVP_Digest(s.body.data(), s.body.size(), ref, &len, EVP_sha256(), nullptr);
    if (std::memcmp(crypto::sha256(s.body).data(), ref, 32) != 0)
      fail("sha256 disagrees with OpenSSL's EVP_Digest()");
  }
  for (auto _ : state)
    for (const auto& s : corpus(bytes))
      benchmark::DoNotOptimize(crypto::sha256(s.body));
  count(state, bytes);
}
BENCHMARK(BM_sha256)->Arg(300)->Arg(1000);

void BM_sha256_openssl_oneshot(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  for (auto _ : state)
    for (const auto& s : corpus(bytes)) {
      unsigned char out[32];
      unsigned int len = 0;
      EVP_Digest(s.body.data(), s.body.size(), out, &len, EVP_sha256(), nullptr);
      benchmark::DoNotOptimize(out);
    }
  count(state, bytes);
}
BENCHMARK(BM_sha256_openssl_oneshot)->Arg(300)->Arg(1000);

void BM_find_body_signature(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  for (const auto& s : corpus(bytes)) {
    const auto c = find_body_signature(s.signed_body);
    if (c.problem != sig_problem::none || c.signed_part.size() + 1 != s.body.size())
      fail("scanner did not find the signed prefix");
  }
  for (auto _ : state)
    for (const auto& s : corpus(bytes))
      benchmark::DoNotOptimize(find_body_signature(s.signed_body));
  count(state, bytes);
}
BENCHMARK(BM_find_body_signature)->Arg(300)->Arg(1000);

/// The whole in-body verification: find the signature, look the key up, MAC.
void BM_verify_body(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const verifier v = make_verifier();
  for (const auto& s : corpus(bytes)) {
    if (v.verify(s.signed_body, std::nullopt, t0).status != integrity_status::verified)
      fail("a signed event did not verify");
    std::string edited = s.signed_body;
    edited[10] = edited[10] == '1' ? '2' : '1';
    if (v.verify(edited, std::nullopt, t0).status != integrity_status::invalid)
      fail("an edited event verified");
  }
  for (auto _ : state)
    for (const auto& s : corpus(bytes))
      benchmark::DoNotOptimize(v.verify(s.signed_body, std::nullopt, t0));
  count(state, bytes);
}
BENCHMARK(BM_verify_body)->Arg(300)->Arg(500)->Arg(1000);

/// The header form: parse `kid:hex`, MAC the whole value. Bytes are those of
/// the signed body form for comparison; the value hashed is 92 bytes shorter.
void BM_verify_header(benchmark::State& state) {
  const auto bytes = static_cast<std::size_t>(state.range(0));
  const verifier v = make_verifier();
  for (const auto& s : corpus(bytes)) {
    if (v.verify(s.body, s.header, t0).status != integrity_status::verified)
      fail("a header-signed event did not verify");
    if (v.verify(s.signed_body, s.header, t0).status != integrity_status::invalid)
      fail("a header over other bytes verified");
  }
  for (auto _ : state)
    for (const auto& s : corpus(bytes))
      benchmark::DoNotOptimize(v.verify(s.body, s.header, t0));
  count(state, bytes);
}
BENCHMARK(BM_verify_header)->Arg(300)->Arg(500)->Arg(1000);

/// Numbers 1..n, shuffled within blocks of 16, every 7th sent twice.
std::vector<std::uint64_t> window_stream(std::size_t n) {
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> s;
  for (std::uint64_t i = 1; i <= n; ++i)
    s.push_back(i);
  for (std::size_t b = 0; b + 16 <= s.size(); b += 16)
    std::shuffle(s.begin() + static_cast<std::ptrdiff_t>(b),
                 s.begin() + static_cast<std::ptrdiff_t>(b + 16), rng);
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    out.push_back(s[i]);
    if (i % 7 == 0) out.push_back(s[i]);
  }
  return out;
}

void BM_replay_window_accept(benchmark::State& state) {
  const auto stream = window_stream(100'000);
  const std::size_t bits = static_cast<std::size_t>(state.range(0));
  {
    replay_window w(bits);
    std::set<std::uint64_t> ref;
    for (const auto x : stream) {
      const bool fresh =
          ref.empty() || x > *ref.rbegin() || (*ref.rbegin() - x < w.size() && ref.count(x) == 0);
      if (w.accept(x) != fresh) fail("window disagrees with the reference set");
      if (fresh) ref.insert(x);
    }
  }
  for (auto _ : state) {
    replay_window w(bits);
    std::size_t accepted = 0;
    for (const auto x : stream)
      accepted += w.accept(x) ? 1 : 0;
    benchmark::DoNotOptimize(accepted);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(BM_replay_window_accept)->Arg(1024)->Arg(65536);

void BM_sequence_check_commit(benchmark::State& state) {
  // Check before and commit after, as the checker does; 24 sources, each
  // sending the reordered, duplicated stream.
  const auto stream = window_stream(10'000);
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 24; ++i)
      v.push_back("srv-" + std::to_string(i));
    return v;
  }();
  auto run_once = [&](sequence_tracker& t) {
    std::size_t replays = 0;
    for (std::size_t i = 0; i < stream.size() * names.size(); ++i) {
      const stream_id id{names[i % names.size()], ""};
      const std::uint64_t seq = stream[i / names.size()];
      if (t.check(id, seq, t0) == seq_verdict::replay) {
        ++replays;
        continue;
      }
      if (t.commit(id, seq, t0).gap) fail("a gap in a stream reordered within the tolerance");
    }
    return replays;
  };
  {
    auto t = std::get<sequence_tracker>(sequence_tracker::make({}));
    if (run_once(t) != (stream.size() - 10'000) * names.size())
      fail("replays differ from the duplicates sent");
  }
  for (auto _ : state) {
    auto t = std::get<sequence_tracker>(sequence_tracker::make({}));
    benchmark::DoNotOptimize(run_once(t));
  }
  state.SetItemsProcessed(state.iterations() *
                          static_cast<std::int64_t>(stream.size() * names.size()));
}
BENCHMARK(BM_sequence_check_commit);

void BM_checker_per_event(benchmark::State& state) {
  auto build = [] {
    key_ring ring;
    (void)ring.add("k1", key());
    return std::get<checker>(checker::make(checker_settings{}, std::move(ring)));
  };
  auto facts_of = [](const sample& s) {
    event_facts f;
    f.raw = s.signed_body;
    f.event_time = s.ts;
    f.source = s.source;
    f.seq = s.seq;
    f.type = "prediction";
    f.model = "support-bot";
    return f;
  };
  {
    auto c = build();
    for (const auto& s : corpus()) {
      const auto r = c.check(facts_of(s), s.ts);
      if (r.status != integrity_status::verified || !r.alerts.empty())
        fail("a clean signed event was not verified quietly");
    }
    const auto again = c.check(facts_of(corpus().front()), t0);
    if (again.status != integrity_status::replay) fail("a replay was not caught");
  }
  for (auto _ : state) {
    state.PauseTiming();
    auto c = build();
    state.ResumeTiming();
    for (const auto& s : corpus())
      benchmark::DoNotOptimize(c.check(facts_of(s), s.ts));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(corpus().size()));
  state.SetBytesProcessed(state.iterations() * corpus_bytes());
}
BENCHMARK(BM_checker_per_event);

} // namespace

BENCHMARK_MAIN();
