#include "crypto/hmac.hpp"

#include <cassert>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace bulwark::crypto {

digest sha256(std::string_view data) noexcept {
  digest d{};
  unsigned int len = 0;
  const int ok = EVP_Digest(data.data(), data.size(), d.data(), &len, EVP_sha256(), nullptr);
  assert(ok == 1 && len == d.size());
  (void)ok;
  return d;
}

digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) noexcept {
  digest d{};
  unsigned int len = 0;
  const auto* out =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), d.data(), &len);
  assert(out != nullptr && len == d.size());
  (void)out;
  return d;
}

bool constant_time_equal(std::span<const std::uint8_t> a,
                         std::span<const std::uint8_t> b) noexcept {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::uint8_t b : bytes) {
    out += hex[b >> 4];
    out += hex[b & 0xF];
  }
  return out;
}

} // namespace bulwark::crypto
