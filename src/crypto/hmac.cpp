#include "crypto/hmac.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <vector>

namespace bulwark::crypto {
namespace {

[[noreturn]] void fatal(const char* what) noexcept {
  std::fprintf(stderr, "bulwark: OpenSSL failure in %s\n", what);
  std::abort();
}

// EVP_sha256() and the one-shot HMAC() look the algorithm up in the provider
// store on every call (OpenSSL 3 "implicit fetch"), which costs more than
// hashing a 500-byte event. Explicit fetches, kept for the process lifetime.
const EVP_MD* sha256_md() noexcept {
  static EVP_MD* const md = [] {
    EVP_MD* m = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (m == nullptr) fatal("EVP_MD_fetch(SHA256)");
    return m;
  }();
  return md;
}

EVP_MAC* hmac_algorithm() noexcept {
  static EVP_MAC* const mac = [] {
    EVP_MAC* m = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (m == nullptr) fatal("EVP_MAC_fetch(HMAC)");
    return m;
  }();
  return mac;
}

/// A thread's digest context, re-initialised for each call.
struct digest_context {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  digest_context() {
    if (ctx == nullptr) fatal("EVP_MD_CTX_new");
  }
  ~digest_context() { EVP_MD_CTX_free(ctx); }
  digest_context(const digest_context&) = delete;
  digest_context& operator=(const digest_context&) = delete;
};

/// A thread's keyed HMAC contexts. Re-initialising an EVP_MAC_CTX without a
/// key restarts from the inner pad state it computed for its key, so a
/// cached key costs two context copies instead of two extra compressions
/// and an algorithm fetch. Few slots: a process verifies with a handful of
/// key ids (a rotation overlaps two) and checkpoints with one more.
class hmac_cache {
public:
  static constexpr std::size_t slots = 4;

  hmac_cache() = default;
  hmac_cache(const hmac_cache&) = delete;
  hmac_cache& operator=(const hmac_cache&) = delete;
  ~hmac_cache() {
    for (auto& s : slots_)
      forget(s);
  }

  /// A context ready for EVP_MAC_update under `key`.
  EVP_MAC_CTX* start(std::span<const std::uint8_t> key) noexcept {
    ++clock_;
    for (auto& s : slots_)
      if (s.ctx != nullptr && s.key.size() == key.size() &&
          CRYPTO_memcmp(s.key.data(), key.data(), key.size()) == 0) {
        s.used = clock_;
        if (EVP_MAC_init(s.ctx, nullptr, 0, nullptr) != 1) fatal("EVP_MAC_init");
        return s.ctx;
      }
    slot* victim = &slots_[0];
    for (auto& s : slots_)
      if (s.used < victim->used) victim = &s;
    forget(*victim);
    victim->ctx = EVP_MAC_CTX_new(hmac_algorithm());
    if (victim->ctx == nullptr) fatal("EVP_MAC_CTX_new");
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    // An empty key is valid HMAC; OpenSSL wants a non-null pointer for it.
    static const unsigned char no_key = 0;
    if (EVP_MAC_init(victim->ctx, key.empty() ? &no_key : key.data(), key.size(), params) != 1)
      fatal("EVP_MAC_init");
    victim->key.assign(key.begin(), key.end());
    victim->used = clock_;
    return victim->ctx;
  }

private:
  struct slot {
    EVP_MAC_CTX* ctx = nullptr;
    std::vector<std::uint8_t> key;
    std::uint64_t used = 0;
  };

  static void forget(slot& s) noexcept {
    EVP_MAC_CTX_free(s.ctx); // cleanses the key pads
    s.ctx = nullptr;
    if (!s.key.empty()) OPENSSL_cleanse(s.key.data(), s.key.size());
    s.key.clear();
    s.used = 0;
  }

  std::array<slot, slots> slots_{};
  std::uint64_t clock_ = 0;
};

template <class Parts>
digest mac_of(std::span<const std::uint8_t> key, const Parts& parts) noexcept {
  thread_local hmac_cache cache;
  EVP_MAC_CTX* ctx = cache.start(key);
  for (const std::string_view p : parts)
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(p.data()), p.size()) != 1)
      fatal("EVP_MAC_update");
  digest d{};
  std::size_t len = 0;
  if (EVP_MAC_final(ctx, d.data(), &len, d.size()) != 1 || len != d.size()) fatal("EVP_MAC_final");
  return d;
}

} // namespace

digest sha256(std::string_view data) noexcept {
  thread_local digest_context c;
  digest d{};
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(c.ctx, sha256_md(), nullptr) != 1 ||
      EVP_DigestUpdate(c.ctx, data.data(), data.size()) != 1 ||
      EVP_DigestFinal_ex(c.ctx, d.data(), &len) != 1 || len != d.size())
    fatal("SHA-256");
  return d;
}

digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) noexcept {
  const std::array<std::string_view, 1> one{data};
  return mac_of(key, one);
}

digest hmac_sha256(std::span<const std::uint8_t> key,
                   std::initializer_list<std::string_view> parts) noexcept {
  return mac_of(key, parts);
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
