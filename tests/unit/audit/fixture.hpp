#pragma once
// Test helpers for the audit chain: a small chain written by the real writer
// (events, decisions, three checkpoints), the ring that verifies it, and ways
// to look at and tamper with its lines.
#include "audit/verifier.hpp"
#include "audit/writer.hpp"
#include "crypto/hmac.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::audit::testing {

inline crypto::key_bytes key_a() {
  return crypto::key_bytes(32, 0x5a);
}
inline crypto::key_bytes key_b() {
  return crypto::key_bytes(32, 0xa5);
}

inline constexpr timestamp_ms t0 = 1'795'000'000'000; // 2026-11-18

template <typename T, typename V> T must(V&& v) {
  if (auto* e = std::get_if<audit_error>(&v)) {
    ADD_FAILURE() << e->reason;
    std::abort();
  }
  return std::get<T>(std::forward<V>(v));
}

inline key_ring ring_with(std::string kid, crypto::key_bytes key) {
  key_ring r;
  r.hmac.emplace(std::move(kid), std::move(key));
  return r;
}

inline std::vector<std::string_view> views(const std::vector<std::string>& lines) {
  return {lines.begin(), lines.end()};
}

inline verify_result verify(const std::vector<std::string>& lines, const key_ring& ring,
                            const verify_settings& s = {}) {
  const auto v = views(lines);
  return verify_chain(v, ring, s);
}

/// A chain: decision, 25 consumed events (every fifth an audit event), a
/// decision in the middle, checkpoints after 10 and 20 receipts and a final
/// one over the last 5.
struct chain {
  std::vector<std::string> lines;
  std::vector<std::vector<crypto::digest>> receipts; ///< per checkpoint, in order
  std::vector<std::size_t> checkpoint_at;            ///< line index of each checkpoint
};

inline std::string raw_event(int i) {
  if (i % 5 == 0)
    return R"({"ts":"2026-11-18T10:00:0)" + std::to_string(i % 10) +
           R"(Z","type":"audit","action":"deploy","actor":"ci","model":"fraud","version":"1.)" +
           std::to_string(i) + R"("})";
  return R"({"type":"prediction","source":"srv-1","seq":)" + std::to_string(i) + R"(,"score":0.5})";
}

inline chain write_chain(checkpoint_signer signer, int events = 25,
                         std::string_view first_detail = R"({"format":1})") {
  writer_settings settings;
  settings.policy.every_events = 10;
  auto w = must<chain_writer>(chain_writer::make(settings, std::move(signer), t0));
  chain c;
  std::vector<crypto::digest> pending;
  auto checkpoint = [&](bool final) {
    c.checkpoint_at.push_back(c.lines.size());
    c.lines.push_back(w.checkpoint(t0 + 1000 * static_cast<timestamp_ms>(c.lines.size()), final));
    c.receipts.push_back(pending);
    pending.clear();
  };
  c.lines.push_back(must<std::string>(w.append_decision(t0, "chain_started", first_detail)));
  for (int i = 0; i < events; ++i) {
    const std::string raw = raw_event(i);
    const auto receipt = crypto::sha256(raw);
    const timestamp_ms at = t0 + i;
    if (i % 5 == 0) {
      c.lines.push_back(
          must<std::string>(w.append_event(at, input_ref{"", -1, -1, i + 1}, receipt, raw)));
    }
    if (i == 12) {
      c.lines.push_back(must<std::string>(
          w.append_decision(at, "rules_reloaded", R"({"rules":42,"packs":["secrets"]})")));
    }
    pending.push_back(receipt);
    if (w.record_receipt(receipt)) checkpoint(false);
  }
  checkpoint(true);
  return c;
}

inline chain hmac_chain() {
  return write_chain(checkpoint_signer::hmac("k1", key_a()));
}

/// Byte range of member `name`'s value in `line` (the value's first byte to
/// one past its last), found by text search: records are written compactly.
inline std::pair<std::size_t, std::size_t> value_range(std::string_view line,
                                                       std::string_view name) {
  const std::string needle = "\"" + std::string(name) + "\":";
  const std::size_t k = line.find(needle);
  if (k == std::string_view::npos) std::abort();
  const std::size_t b = k + needle.size();
  std::size_t e = b;
  if (line[b] == '"') {
    e = line.find('"', b + 1) + 1;
  } else if (line[b] == '{' || line[b] == '[') {
    int depth = 0;
    for (e = b; e < line.size(); ++e) {
      if (line[e] == '{' || line[e] == '[') ++depth;
      if (line[e] == '}' || line[e] == ']') --depth;
      if (depth == 0) break;
    }
    ++e;
  } else {
    while (e < line.size() && line[e] != ',' && line[e] != '}')
      ++e;
  }
  return {b, e};
}

} // namespace bulwark::audit::testing
