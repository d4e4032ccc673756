// Integrity signatures (src/integrity/signature.hpp): find_signature and
// verifier::verify on arbitrary lines and `bw-sig` headers.
//
// Input: byte 0 chooses the form and the mutation; then, when bit 0 is set,
// a header value up to the first `\n`; the rest is the record.
// Invariants:
//  - no crash; the claim's views (kid, signed part) lie inside the record or
//    the header, and a malformed claim never verifies;
//  - the record signed by the harness (body form: `"sig"` appended as the
//    last member of an object; header form: `k1:<mac>`) verifies when its
//    claim is well-formed, and with any one byte of the signed range changed
//    it never verifies.
#include "integrity/signature.hpp"

#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace bulwark;

constexpr timestamp_ms key_time = 1'795'000'000'000;

const crypto::key_bytes& key() {
  static const crypto::key_bytes k(32, 0x6b);
  return k;
}

const integrity::verifier& verifier() {
  static const integrity::verifier v = [] {
    integrity::key_ring ring;
    FUZZ_CHECK(!ring.add("k1", key()).has_value());
    return integrity::verifier(std::move(ring));
  }();
  return v;
}

bool inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

integrity::verification check(std::string_view raw, std::optional<std::string_view> header) {
  const auto claim = integrity::find_signature(raw, header);
  if (claim.where == integrity::signature_claim::form::header) {
    FUZZ_CHECK(header.has_value());
    FUZZ_CHECK(inside(claim.kid, *header));
    if (claim.problem == integrity::sig_problem::none) FUZZ_CHECK(claim.signed_part == raw);
  } else if (claim.where == integrity::signature_claim::form::body) {
    FUZZ_CHECK(inside(claim.kid, raw));
    FUZZ_CHECK(inside(claim.signed_part, raw));
  }
  const auto result = verifier().verify(claim, key_time);
  if (claim.problem != integrity::sig_problem::none || !claim.present())
    FUZZ_CHECK(result.status != integrity::integrity_status::verified);
  return result;
}

bool verified(std::string_view raw, std::optional<std::string_view> header) {
  return check(raw, header).status == integrity::integrity_status::verified;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  std::optional<std::string_view> header;
  if ((selector & 1) != 0) {
    const auto nl = rest.find('\n');
    if (nl != std::string_view::npos) {
      header = rest.substr(0, nl);
      rest.remove_prefix(nl + 1);
    }
  }
  const std::string_view raw = rest;
  check(raw, header);
  check(raw, std::nullopt);

  // The mutation: which byte of the signed range, and a non-zero XOR mask.
  const std::uint8_t mask = static_cast<std::uint8_t>((selector >> 1) | 1);

  // Header form over the whole record.
  {
    const std::string sig = "k1:" + crypto::to_hex(crypto::hmac_sha256(key(), raw));
    FUZZ_CHECK(verified(raw, sig));
    if (!raw.empty()) {
      std::string mutated(raw);
      mutated[size % mutated.size()] ^= static_cast<char>(mask);
      FUZZ_CHECK(!verified(mutated, sig));
    }
  }

  // Body form: the record, when it ends in `}`, signed as its last member.
  const auto close = raw.find_last_not_of(" \t\r\n");
  if (close == std::string_view::npos || raw[close] != '}') return 0;
  // Leading whitespace is outside the signed range (it starts at the `{`).
  const std::size_t open = raw.find_first_not_of(" \t\r\n");
  const std::string_view prefix = raw.substr(open, close - open);
  const std::string mac = crypto::to_hex(crypto::hmac_sha256(key(), {prefix, "}"}));
  const std::string signed_event =
      std::string(raw.substr(0, close)) + R"(,"sig":{"kid":"k1","mac":")" + mac + "\"}}";
  const auto claim = integrity::find_signature(signed_event, std::nullopt);
  const bool ok = verified(signed_event, std::nullopt);
  if (claim.where == integrity::signature_claim::form::body &&
      claim.problem == integrity::sig_problem::none) {
    FUZZ_CHECK(claim.signed_part == prefix);
    FUZZ_CHECK(ok);
  }
  if (!prefix.empty()) {
    std::string mutated = signed_event;
    mutated[open + size % prefix.size()] ^= static_cast<char>(mask);
    FUZZ_CHECK(!verified(mutated, std::nullopt));
  }
  return 0;
}
