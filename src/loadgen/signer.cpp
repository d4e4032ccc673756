#include "loadgen/signer.hpp"

#include "crypto/hmac.hpp"

#include <cassert>

namespace bulwark::loadgen {

void sign_body(std::string& event, std::string_view kid, std::span<const std::uint8_t> key) {
  assert(event.size() >= 2 && event.back() == '}');
  const std::string mac = crypto::to_hex(crypto::hmac_sha256(key, event));
  event.pop_back();
  event += R"(,"sig":{"kid":")";
  event += kid;
  event += R"(","mac":")";
  event += mac;
  event += "\"}}";
}

std::string header_signature(std::string_view value, std::string_view kid,
                             std::span<const std::uint8_t> key) {
  std::string out(kid);
  out += ':';
  out += crypto::to_hex(crypto::hmac_sha256(key, value));
  return out;
}

} // namespace bulwark::loadgen
