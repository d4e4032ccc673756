#pragma once
/// bulwark_signer.hpp — sign telemetry for bulwark (SPEC §4) from a C++ model
/// server. Header-only; needs OpenSSL's libcrypto (link -lcrypto).
///
///   bulwark_signer::signer s("k1", key_bytes);       // or signer::from_hex("k1", hex)
///   bulwark_signer::sequence seq("srv-4");            // source name, fresh epoch per start
///   std::string event = R"({"ts":"2026-11-27T10:15:00Z","source":"srv-4","seq":)" +
///                       std::to_string(seq.next()) + R"(,"epoch":")" + seq.epoch() +
///                       R"(","type":"metric","model":"fraud","name":"latency_p99_ms","value":118.2})";
///   std::string signed_event = s.sign_body(event);     // in-body form: appends "sig"
///   // or, on Kafka: value = event, header bw-sig = s.header_value(event)
///
/// The MAC is HMAC-SHA256 over the exact bytes bulwark will see: serialise the
/// event once, sign those bytes, send them unchanged. No canonicalisation.
#include <array>
#include <chrono>
#include <cstdint>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark_signer {

/// Signs serialised events with one key id.
class signer {
public:
  /// `key` is the raw key (bulwark's `integrity.keys.<kid>` holds it as hex).
  signer(std::string kid, std::vector<unsigned char> key)
      : kid_(std::move(kid)), key_(std::move(key)) {}

  /// A signer from a hex key; nothing when `hex` is not even-length hex.
  static std::optional<signer> from_hex(std::string kid, std::string_view hex) {
    if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
    std::vector<unsigned char> key;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
      const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
      if (hi < 0 || lo < 0) return std::nullopt;
      key.push_back(static_cast<unsigned char>(hi * 16 + lo));
    }
    return signer(std::move(kid), std::move(key));
  }

  /// The in-body form: `event` (one serialised JSON object with at least one
  /// member and no `sig` member yet) with `,"sig":{"kid":…,"mac":…}` inserted
  /// before its closing brace. Surrounding whitespace is dropped. Empty when
  /// `event` is not shaped like a non-empty object.
  std::string sign_body(std::string_view event) const {
    const std::string_view object = trim(event);
    if (object.size() < 2 || object.front() != '{' || object.back() != '}') return {};
    const std::string_view prefix = object.substr(0, object.size() - 1);
    if (trim(prefix.substr(1)).empty()) return {}; // `{}`: no member to follow
    // The signed bytes are the prefix plus `}` — that is `object` itself,
    // because the comma is inserted right after the prefix.
    std::string out(prefix);
    out += R"(,"sig":{"kid":")";
    out += kid_;
    out += R"(","mac":")";
    out += mac_hex(object);
    out += "\"}}";
    return out;
  }

  /// The Kafka header form: the value of header `bw-sig` for record value `value`.
  std::string header_value(std::string_view value) const { return kid_ + ":" + mac_hex(value); }

  /// Lowercase hex HMAC-SHA256 of `data` under this key.
  std::string mac_hex(std::string_view data) const {
    std::array<unsigned char, 32> mac{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &len);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (unsigned i = 0; i < len; ++i) {
      out += hex[mac[i] >> 4];
      out += hex[mac[i] & 0xF];
    }
    return out;
  }

  const std::string& kid() const noexcept { return kid_; }

private:
  static int digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  static std::string_view trim(std::string_view s) noexcept {
    auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && ws(s.front()))
      s.remove_prefix(1);
    while (!s.empty() && ws(s.back()))
      s.remove_suffix(1);
    return s;
  }

  std::string kid_;
  std::vector<unsigned char> key_;
};

/// `seq` and `epoch` for one source: 1, 2, 3… under an epoch that is new at
/// every process start, so that bulwark tells a restart from a replay.
class sequence {
public:
  explicit sequence(std::string source) : source_(std::move(source)) {
    std::random_device rd;
    const auto now = std::chrono::system_clock::now().time_since_epoch();
    epoch_ = std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now).count()) + "-" +
             std::to_string(rd() % 1000000);
  }
  /// The next sequence number (starts at 1).
  std::uint64_t next() noexcept { return ++last_; }
  const std::string& epoch() const noexcept { return epoch_; }
  const std::string& source() const noexcept { return source_; }

private:
  std::string source_;
  std::string epoch_;
  std::uint64_t last_ = 0;
};

} // namespace bulwark_signer
