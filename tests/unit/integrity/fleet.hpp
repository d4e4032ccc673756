#pragma once
// Test helpers: events of a simulated fleet, built as raw JSON and as the
// facts the pipeline would extract, signed the SPEC §4 way with the crypto
// primitives directly (independently of the verifier under test).
#include "core/json_writer.hpp"
#include "crypto/hmac.hpp"
#include "crypto/keys.hpp"
#include "integrity/checker.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

namespace bulwark::integrity::testing {

inline const std::string key1_hex =
    "6b31c0ffee6b31c0ffee6b31c0ffee6b31c0ffee6b31c0ffee6b31c0ffee6b31";
inline const std::string key2_hex =
    "6b32deadbeef6b32deadbeef6b32deadbeef6b32deadbeef6b32deadbeef6b32";

inline crypto::key_bytes bytes_of(const std::string& hex) {
  return std::get<crypto::key_bytes>(crypto::decode_hex(hex));
}

/// A ring with k1 and k2 (no rotation windows).
inline key_ring test_ring() {
  key_ring ring;
  (void)ring.add("k1", bytes_of(key1_hex));
  (void)ring.add("k2", bytes_of(key2_hex));
  return ring;
}

/// One event of the fleet, before serialisation.
struct ev {
  std::string source = "srv-1";
  std::optional<std::uint64_t> seq;
  std::string epoch;              ///< "" = no epoch member
  std::optional<timestamp_ms> ts; ///< epoch milliseconds
  std::string type = "prediction";
  std::string model = "fraud";
  std::string name;            ///< metric name
  std::optional<double> value; ///< metric value
  std::string action;          ///< audit action

  /// The event's JSON (no signature).
  std::string body() const {
    json_writer w;
    w.begin_object();
    if (ts) w.key("ts").value(*ts);
    w.key("source").value(source);
    if (seq) w.key("seq").value(*seq);
    if (!epoch.empty()) w.key("epoch").value(epoch);
    w.key("type").value(type);
    w.key("model").value(model);
    if (!name.empty()) w.key("name").value(name);
    if (value) w.key("value").value(*value);
    if (!action.empty()) w.key("action").value(action);
    w.key("features")
        .begin_object()
        .key("amount")
        .value(12.5)
        .key("note")
        .value("a \"quoted\" {note}");
    w.end_object();
    w.end_object();
    return w.take();
  }
};

/// An event of `source` with a sequence number and an event time.
inline ev ev_of(std::optional<std::uint64_t> seq, std::optional<timestamp_ms> ts = std::nullopt,
                std::string source = "srv-1") {
  ev e;
  e.seq = seq;
  e.ts = ts;
  e.source = std::move(source);
  return e;
}

/// Appends `"sig"` to a serialised object the SPEC §4 way.
inline std::string sign_body(const std::string& body, const std::string& kid,
                             const crypto::key_bytes& key) {
  const std::string mac = crypto::to_hex(crypto::hmac_sha256(key, body));
  std::string out = body.substr(0, body.size() - 1);
  out += R"(,"sig":{"kid":")" + kid + R"(","mac":")" + mac + R"("}})";
  return out;
}

/// An event with its bytes and the facts the pipeline would pass.
struct owned_event {
  ev e;
  std::string raw;
  std::optional<std::string> header;
  std::optional<timestamp_ms> record_time;

  event_facts facts() const {
    event_facts f;
    f.raw = raw;
    if (header) f.sig_header = *header;
    f.event_time = e.ts;
    f.record_time = record_time;
    f.source = e.source;
    f.seq = e.seq;
    f.epoch = e.epoch;
    f.type = e.type;
    f.model = e.model;
    f.name = e.name;
    f.value = e.value;
    f.action = e.action;
    return f;
  }
};

inline owned_event signed_event(ev e, const std::string& kid = "k1",
                                const std::string& hex = key1_hex) {
  owned_event o{e, sign_body(e.body(), kid, bytes_of(hex)), std::nullopt, std::nullopt};
  return o;
}

inline owned_event header_signed_event(ev e, const std::string& kid = "k1",
                                       const std::string& hex = key1_hex) {
  owned_event o{e, e.body(), std::nullopt, std::nullopt};
  o.header = kid + ":" + crypto::to_hex(crypto::hmac_sha256(bytes_of(hex), o.raw));
  return o;
}

inline owned_event unsigned_event(ev e) {
  owned_event o{e, e.body(), std::nullopt, std::nullopt};
  return o;
}

/// Alerts of one kind in `alerts`.
template <class Alerts> std::size_t count_kind(const Alerts& alerts, std::string_view kind) {
  std::size_t n = 0;
  for (const auto& a : alerts)
    if (a.kind == kind) ++n;
  return n;
}

/// A checker with the test ring and `s`, or abort.
inline checker make_checker(checker_settings s = {}, key_ring ring = test_ring()) {
  auto made = checker::make(std::move(s), std::move(ring));
  return std::get<checker>(std::move(made));
}

} // namespace bulwark::integrity::testing
