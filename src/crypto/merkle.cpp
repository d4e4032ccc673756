#include "crypto/merkle.hpp"

#include <bit>
#include <cassert>
#include <cstring>
#include <memory>
#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace bulwark::crypto::merkle {
namespace {

// Fetched once: an implicit fetch per EVP_Digest call costs about as much as
// hashing the 65 bytes of a node.
const EVP_MD* sha256_md() noexcept {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  assert(md != nullptr);
  return md;
}

// One digest context per thread, reset for every hash: EVP_Digest allocates
// and frees a context per call, which costs more than hashing a node.
EVP_MD_CTX* thread_context() noexcept {
  thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                 EVP_MD_CTX_free);
  assert(ctx != nullptr);
  return ctx.get();
}

// SHA-256 of `prefix` (when given) followed by data[0, size).
digest hash_prefixed(const std::uint8_t* prefix, const std::uint8_t* data,
                     std::size_t size) noexcept {
  EVP_MD_CTX* ctx = thread_context();
  digest d{};
  unsigned int len = 0;
  const bool ok = EVP_DigestInit_ex(ctx, sha256_md(), nullptr) == 1 &&
                  (prefix == nullptr || EVP_DigestUpdate(ctx, prefix, 1) == 1) &&
                  (size == 0 || EVP_DigestUpdate(ctx, data, size) == 1) &&
                  EVP_DigestFinal_ex(ctx, d.data(), &len) == 1;
  assert(ok && len == d.size());
  (void)ok;
  return d;
}

digest prefixed_hash(std::uint8_t prefix, const std::uint8_t* data, std::size_t size) noexcept {
  // Receipts are 32 bytes: the common case is one contiguous update.
  constexpr std::size_t small = 128;
  if (size < small) {
    std::uint8_t buf[small];
    buf[0] = prefix;
    if (size != 0) std::memcpy(buf + 1, data, size);
    return hash_prefixed(nullptr, buf, size + 1);
  }
  return hash_prefixed(&prefix, data, size);
}

bool equal(const digest& a, const digest& b) noexcept {
  return constant_time_equal(a, b);
}

void path(std::span<const digest> leaves, std::uint64_t m, std::vector<digest>& out) {
  const std::uint64_t n = leaves.size();
  if (n <= 1) return;
  const std::uint64_t k = split_point(n);
  if (m < k) {
    path(leaves.first(k), m, out);
    out.push_back(root(leaves.subspan(k)));
  } else {
    path(leaves.subspan(k), m - k, out);
    out.push_back(root(leaves.first(k)));
  }
}

void subproof(std::uint64_t m, std::span<const digest> leaves, bool whole,
              std::vector<digest>& out) {
  const std::uint64_t n = leaves.size();
  if (m == n) {
    if (!whole) out.push_back(root(leaves));
    return;
  }
  const std::uint64_t k = split_point(n);
  if (m <= k) {
    subproof(m, leaves.first(k), whole, out);
    out.push_back(root(leaves.subspan(k)));
  } else {
    subproof(m - k, leaves.subspan(k), false, out);
    out.push_back(root(leaves.first(k)));
  }
}

// Shifts fn and sn right together until fn's lowest bit is set or fn is 0
// (the "right-shift both equally" steps of RFC 9162).
void shift_to_set_bit(std::uint64_t& fn, std::uint64_t& sn) noexcept {
  while ((fn & 1U) == 0 && fn != 0) {
    fn >>= 1U;
    sn >>= 1U;
  }
}

} // namespace

digest leaf_hash(std::span<const std::uint8_t> data) noexcept {
  return prefixed_hash(0x00, data.data(), data.size());
}

digest leaf_hash(std::string_view data) noexcept {
  return prefixed_hash(0x00, reinterpret_cast<const std::uint8_t*>(data.data()), data.size());
}

digest node_hash(const digest& left, const digest& right) noexcept {
  // One contiguous buffer: a single update is measurably cheaper than three.
  std::uint8_t buf[1 + 2 * sizeof(digest)];
  buf[0] = 0x01;
  std::memcpy(buf + 1, left.data(), left.size());
  std::memcpy(buf + 1 + left.size(), right.data(), right.size());
  return hash_prefixed(nullptr, buf, sizeof buf);
}

digest empty_root() noexcept {
  return hash_prefixed(nullptr, nullptr, 0);
}

std::uint64_t split_point(std::uint64_t n) noexcept {
  assert(n >= 2);
  return std::bit_floor(n - 1);
}

digest root(std::span<const digest> leaf_hashes) {
  if (leaf_hashes.empty()) return empty_root();
  // Level by level, carrying an unpaired last node up unchanged: this builds
  // exactly RFC 6962's left-complete tree (the split at the largest power of two).
  std::vector<digest> level(leaf_hashes.begin(), leaf_hashes.end());
  std::size_t n = level.size();
  while (n > 1) {
    std::size_t out = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2)
      level[out++] = node_hash(level[i], level[i + 1]);
    if (n % 2 == 1) level[out++] = level[n - 1];
    n = out;
  }
  return level[0];
}

std::optional<std::vector<digest>> inclusion_proof(std::span<const digest> leaf_hashes,
                                                   std::uint64_t index) {
  if (index >= leaf_hashes.size()) return std::nullopt;
  std::vector<digest> out;
  path(leaf_hashes, index, out);
  return out;
}

std::optional<digest> root_from_inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                const digest& leaf, std::span<const digest> proof) {
  if (index >= size) return std::nullopt;
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  digest r = leaf;
  for (const digest& p : proof) {
    if (sn == 0) return std::nullopt;
    if ((fn & 1U) != 0 || fn == sn) {
      r = node_hash(p, r);
      if ((fn & 1U) == 0) shift_to_set_bit(fn, sn);
    } else {
      r = node_hash(r, p);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

bool verify_inclusion(std::uint64_t index, std::uint64_t size, const digest& leaf,
                      std::span<const digest> proof, const digest& root) noexcept {
  const auto r = root_from_inclusion_proof(index, size, leaf, proof);
  return r.has_value() && equal(*r, root);
}

std::optional<std::vector<digest>> consistency_proof(std::span<const digest> leaf_hashes,
                                                     std::uint64_t old_size) {
  if (old_size > leaf_hashes.size()) return std::nullopt;
  std::vector<digest> out;
  if (old_size == 0 || old_size == leaf_hashes.size()) return out;
  subproof(old_size, leaf_hashes, true, out);
  return out;
}

bool verify_consistency(std::uint64_t size1, std::uint64_t size2, const digest& root1,
                        const digest& root2, std::span<const digest> proof) noexcept {
  if (size2 < size1) return false;
  if (size1 == size2) return proof.empty() && equal(root1, root2);
  if (size1 == 0) return proof.empty();
  if (proof.empty()) return false;

  // Step 2: when size1 is a power of two the old root is itself a node of the
  // new tree and the proof omits it; put it back in front.
  const bool prepend = std::has_single_bit(size1);
  auto element = [&](std::size_t i) -> const digest& {
    if (prepend) return i == 0 ? root1 : proof[i - 1];
    return proof[i];
  };
  const std::size_t count = proof.size() + (prepend ? 1 : 0);

  std::uint64_t fn = size1 - 1;
  std::uint64_t sn = size2 - 1;
  while ((fn & 1U) != 0) {
    fn >>= 1U;
    sn >>= 1U;
  }
  digest fr = element(0);
  digest sr = element(0);
  for (std::size_t i = 1; i < count; ++i) {
    const digest& c = element(i);
    if (sn == 0) return false;
    if ((fn & 1U) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      if ((fn & 1U) == 0) shift_to_set_bit(fn, sn);
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1U;
    sn >>= 1U;
  }
  return sn == 0 && equal(fr, root1) && equal(sr, root2);
}

} // namespace bulwark::crypto::merkle
