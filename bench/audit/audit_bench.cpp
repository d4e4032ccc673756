// Micro benchmarks of the audit chain: what it costs per consumed event
// (receipt + its share of a checkpoint), one checkpoint, verification per
// record, and a receipt proof. Each checks its output first: the chain it
// times is verified and a receipt proven before any timing.
//
//   build/h-audit-rel/bench/audit/bench_audit --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
#include "audit/verifier.hpp"
#include "audit/writer.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/merkle.hpp"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace bulwark;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

constexpr timestamp_ms t0 = 1'795'000'000'000;
const crypto::key_bytes hmac_key(32, 0x5a);

audit::checkpoint_signer signer(bool ed25519) {
  if (!ed25519) return audit::checkpoint_signer::hmac("k1", hmac_key);
  auto k = crypto::ed25519_signer::from_seed(crypto::key_bytes(32, 0x42));
  if (!std::holds_alternative<crypto::ed25519_signer>(k)) fail("ed25519 key");
  return audit::checkpoint_signer::ed25519(std::get<crypto::ed25519_signer>(std::move(k)));
}

audit::key_ring ring() {
  audit::key_ring r;
  r.hmac.emplace("k1", hmac_key);
  auto k = crypto::ed25519_signer::from_seed(crypto::key_bytes(32, 0x42));
  r.add_ed25519(std::get<crypto::ed25519_signer>(k).public_key());
  return r;
}

audit::chain_writer writer(bool ed25519) {
  auto w = audit::chain_writer::make({}, signer(ed25519), t0);
  if (!std::holds_alternative<audit::chain_writer>(w)) fail("writer");
  return std::get<audit::chain_writer>(std::move(w));
}

/// ~430-byte telemetry events, the size of the scan benchmark's corpus.
std::vector<std::string> make_events(std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(
        R"({"ts":"2026-11-26T10:00:00.123Z","source":"srv-)" + std::to_string(i % 24) +
        R"(","seq":)" + std::to_string(i) +
        R"(,"type":"prediction","model":"support-bot","model_version":"2.3.1","input":{"messages":[{"role":"user","content":"where is my order, it was due last week and the tracking page shows nothing"}]},"output":{"content":"I am sorry to hear that. Let me check the delivery status for you.","tokens":212},"latency_ms":240.5,"request_id":"req-)" +
        std::to_string(1000000 + i) + R"("})");
  return out;
}

const std::vector<std::string>& events() {
  static const std::vector<std::string> e = make_events(10'000);
  return e;
}

/// The pipeline's per-event work: receipt, count, checkpoint when due; every
/// `record_every`th event is an audit event and gets an event record.
std::vector<std::string> write(audit::chain_writer& w, const std::vector<std::string>& evs,
                               std::int64_t record_every) {
  std::vector<std::string> lines;
  std::int64_t n = 0;
  for (const auto& e : evs) {
    ++n;
    const auto receipt = crypto::sha256(e);
    if (record_every > 0 && n % record_every == 0) {
      auto line = w.append_event(t0 + n, input_ref{"", -1, -1, n}, receipt, e);
      if (!std::holds_alternative<std::string>(line)) fail("append_event");
      lines.push_back(std::get<std::string>(std::move(line)));
    }
    if (w.record_receipt(receipt)) lines.push_back(w.checkpoint(t0 + n, false));
  }
  lines.push_back(w.checkpoint(t0 + n, true));
  return lines;
}

void check_chain(const std::vector<std::string>& lines, std::uint64_t receipts) {
  const std::vector<std::string_view> v(lines.begin(), lines.end());
  const auto r = audit::verify_chain(v, ring());
  if (!r.ok || r.receipts != receipts || !r.ends_final) fail("chain does not verify");
  const auto p = audit::prove_receipt(v, ring(), crypto::sha256(events()[4321]));
  if (!p.proof || !audit::verify_receipt_proof(*p.proof, p.chain)) fail("receipt not proven");
}

void BM_receipt_and_checkpoint_per_event(benchmark::State& state) {
  const bool ed = state.range(0) != 0;
  {
    auto w = writer(ed);
    check_chain(write(w, events(), 50), events().size());
  }
  auto w = writer(ed);
  std::size_t lines = 0;
  for (auto _ : state) {
    for (const auto& e : events())
      if (w.record_receipt(crypto::sha256(e))) {
        benchmark::DoNotOptimize(w.checkpoint(t0, false).data());
        ++lines;
      }
  }
  if (lines == 0) fail("no checkpoint written");
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events().size()));
  state.SetLabel(ed ? "ed25519" : "hmac-sha256");
}
BENCHMARK(BM_receipt_and_checkpoint_per_event)->Arg(0)->Arg(1);

void BM_receipt_only_per_event(benchmark::State& state) {
  // The SHA-256 of the event alone: the baseline the checkpoint share adds to.
  for (auto _ : state)
    for (const auto& e : events())
      benchmark::DoNotOptimize(crypto::sha256(e));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(events().size()));
}
BENCHMARK(BM_receipt_only_per_event);

void BM_checkpoint_of_1000_receipts(benchmark::State& state) {
  const bool ed = state.range(0) != 0;
  std::vector<crypto::digest> receipts;
  for (std::size_t i = 0; i < 1000; ++i)
    receipts.push_back(crypto::sha256(events()[i]));
  auto w = writer(ed);
  {
    for (std::size_t i = 0; i + 1 < receipts.size(); ++i)
      (void)w.record_receipt(receipts[i]);
    if (!w.record_receipt(receipts.back())) fail("count policy");
    const std::vector<std::string> lines = {w.checkpoint(t0, true)};
    const std::vector<std::string_view> v(lines.begin(), lines.end());
    if (!audit::verify_chain(v, ring()).ok) fail("checkpoint does not verify");
  }
  for (auto _ : state) {
    for (const auto& r : receipts)
      (void)w.record_receipt(r);
    benchmark::DoNotOptimize(w.checkpoint(t0, false).data());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(ed ? "ed25519" : "hmac-sha256");
}
BENCHMARK(BM_checkpoint_of_1000_receipts)->Arg(0)->Arg(1);

void BM_verify_per_record(benchmark::State& state) {
  // Arg 0: event records only (one per 50 events) and their checkpoints
  // (every 1,000 receipts), the chain of a scan; the counter gives receipts/s.
  const bool ed = state.range(0) != 0;
  auto w = writer(ed);
  const auto lines = write(w, events(), 50);
  check_chain(lines, events().size());
  const std::vector<std::string_view> v(lines.begin(), lines.end());
  const auto keys = ring();
  for (auto _ : state) {
    const auto r = audit::verify_chain(v, keys);
    if (!r.ok) fail("verify");
    benchmark::DoNotOptimize(r.records);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(lines.size()));
  state.counters["receipts_per_s"] = benchmark::Counter(static_cast<double>(state.iterations()) *
                                                            static_cast<double>(events().size()),
                                                        benchmark::Counter::kIsRate);
  state.SetLabel(std::to_string(lines.size()) + " records, " + (ed ? "ed25519" : "hmac-sha256"));
}
BENCHMARK(BM_verify_per_record)->Arg(0)->Arg(1);

void BM_verify_event_records(benchmark::State& state) {
  // Every event an event record (~750 bytes each), checkpoints every 1,000:
  // the cost of a record that is not a checkpoint dominates.
  auto w = writer(false);
  const auto lines = write(w, events(), 1);
  check_chain(lines, events().size());
  const std::vector<std::string_view> v(lines.begin(), lines.end());
  const auto keys = ring();
  for (auto _ : state) {
    const auto r = audit::verify_chain(v, keys);
    if (!r.ok) fail("verify");
    benchmark::DoNotOptimize(r.records);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(lines.size()));
  state.SetLabel(std::to_string(lines.size()) + " records");
}
BENCHMARK(BM_verify_event_records);

void BM_prove_receipt(benchmark::State& state) {
  auto w = writer(false);
  const auto lines = write(w, events(), 50);
  check_chain(lines, events().size());
  const std::vector<std::string_view> v(lines.begin(), lines.end());
  const auto keys = ring();
  const auto receipt = crypto::sha256(events()[9876]);
  for (auto _ : state) {
    const auto p = audit::prove_receipt(v, keys, receipt);
    if (!p.proof) fail("prove");
    benchmark::DoNotOptimize(p.proof->root);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_prove_receipt);

} // namespace

BENCHMARK_MAIN();
