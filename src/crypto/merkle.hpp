#pragma once
/// Merkle tree hashing of RFC 6962 §2.1 / RFC 9162 §2.1 (the Certificate
/// Transparency tree), so that roots and proofs bulwark emits can be checked by
/// any other implementation of the standard.
///
///   leaf hash  = SHA-256(0x00 || data)
///   node hash  = SHA-256(0x01 || left || right)
///   MTH({})    = SHA-256("")
///   MTH(D[n])  = node(MTH(D[0:k]), MTH(D[k:n])), k the largest power of two < n
///
/// Invariants:
///  1. Every function takes leaf *hashes* except `leaf_hash` itself: callers hash
///     each leaf once and pass the digests around.
///  2. Verification follows RFC 9162 §2.1.3.2 (inclusion) and §2.1.4.2
///     (consistency) literally: a proof verifies only if every element is used
///     and the sizes fit, so a truncated, extended or reordered proof fails.
///  3. No allocation in verification; roots are compared in constant time.
#include "crypto/hmac.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace bulwark::crypto::merkle {

/// RFC 6962 leaf hash: SHA-256(0x00 || data).
digest leaf_hash(std::span<const std::uint8_t> data) noexcept;

/// RFC 6962 leaf hash of the bytes of `data`.
digest leaf_hash(std::string_view data) noexcept;

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
digest node_hash(const digest& left, const digest& right) noexcept;

/// The root of the empty tree: SHA-256 of the empty string.
digest empty_root() noexcept;

/// MTH over the leaves whose hashes are given, in order (any count, 0 included).
digest root(std::span<const digest> leaf_hashes);

/// The largest power of two strictly smaller than `n` (n >= 2): where RFC 6962
/// splits a tree of n leaves.
std::uint64_t split_point(std::uint64_t n) noexcept;

/// PATH(index, D[n]) of RFC 6962 §2.1.1: the audit path from the leaf up to the
/// root, nearest sibling first. Nothing when `index` is not a leaf of the tree.
std::optional<std::vector<digest>> inclusion_proof(std::span<const digest> leaf_hashes,
                                                   std::uint64_t index);

/// The root that `proof` implies for leaf `index` of a tree of `size` leaves
/// (RFC 9162 §2.1.3.2 steps 1-4); nothing when the proof cannot belong to such
/// a tree (index out of range, too few or too many elements).
std::optional<digest> root_from_inclusion_proof(std::uint64_t index, std::uint64_t size,
                                                const digest& leaf, std::span<const digest> proof);

/// True when `proof` shows that the leaf with hash `leaf` is leaf `index` of the
/// tree of `size` leaves whose root is `root` (RFC 9162 §2.1.3.2).
bool verify_inclusion(std::uint64_t index, std::uint64_t size, const digest& leaf,
                      std::span<const digest> proof, const digest& root) noexcept;

/// PROOF(old_size, D[n]) of RFC 6962 §2.1.2: shows that the first `old_size`
/// leaves form a prefix of the tree. Empty for old_size 0 or n; nothing when
/// old_size > n.
std::optional<std::vector<digest>> consistency_proof(std::span<const digest> leaf_hashes,
                                                     std::uint64_t old_size);

/// True when `proof` shows that the tree of `size1` leaves with root `root1` is
/// a prefix of the tree of `size2` leaves with root `root2` (RFC 9162 §2.1.4.2;
/// equal sizes need equal roots and an empty proof, size1 0 an empty proof).
bool verify_consistency(std::uint64_t size1, std::uint64_t size2, const digest& root1,
                        const digest& root2, std::span<const digest> proof) noexcept;

} // namespace bulwark::crypto::merkle
