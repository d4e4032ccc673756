#include "crypto/keys.hpp"
#include "crypto/merkle.hpp"

#include <cstdlib>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace bulwark::crypto::merkle {
namespace {

std::vector<std::uint8_t> bytes(std::string_view hex) {
  if (hex.empty()) return {};
  auto k = decode_hex(hex);
  if (!std::holds_alternative<key_bytes>(k)) std::abort();
  return std::get<key_bytes>(k);
}

digest dh(std::string_view hex) {
  const auto b = bytes(hex);
  if (b.size() != 32) std::abort();
  digest d{};
  std::copy(b.begin(), b.end(), d.begin());
  return d;
}

// The Certificate Transparency reference tree (RFC 6962 test data, as used by
// certificate-transparency and transparency-dev/merkle): eight leaves and the
// published root of every prefix 0..8.
const std::vector<std::string> reference_leaves = {"",
                                                   "00",
                                                   "10",
                                                   "2021",
                                                   "3031",
                                                   "40414243",
                                                   "5051525354555657",
                                                   "606162636465666768696a6b6c6d6e6f"};
const std::vector<std::string> reference_roots = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"};

std::vector<digest> reference_leaf_hashes() {
  std::vector<digest> out;
  for (const auto& l : reference_leaves)
    out.push_back(leaf_hash(std::span<const std::uint8_t>(bytes(l))));
  return out;
}

std::span<const digest> prefix(const std::vector<digest>& v, std::size_t n) {
  return std::span<const digest>(v).first(n);
}

struct inclusion_vector {
  std::uint64_t index;
  std::uint64_t size;
  std::vector<std::string> proof;
};

// Published inclusion proofs for the reference tree (0-based leaf index).
const std::vector<inclusion_vector> inclusion_vectors = {
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct consistency_vector {
  std::uint64_t size1;
  std::uint64_t size2;
  std::vector<std::string> proof;
};

const std::vector<consistency_vector> consistency_vectors = {
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

std::vector<digest> decode_all(const std::vector<std::string>& hex) {
  std::vector<digest> out;
  for (const auto& h : hex)
    out.push_back(dh(h));
  return out;
}

digest flipped(digest d, std::size_t bit) {
  d[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
  return d;
}

// MTH written as RFC 6962 §2.1 defines it, recursively: an independent check
// on the level-by-level implementation for sizes the published vectors miss.
digest reference_root(std::span<const digest> d) {
  if (d.empty()) return sha256("");
  if (d.size() == 1) return d[0];
  std::uint64_t k = 1;
  while (k * 2 < d.size())
    k *= 2;
  return node_hash(reference_root(d.first(k)), reference_root(d.subspan(k)));
}

std::vector<digest> synthetic_leaves(std::size_t n) {
  std::vector<digest> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(leaf_hash(std::to_string(i * 7919)));
  return out;
}

TEST(Merkle, TheRootOfEveryPrefixOfTheReferenceTreeIsThePublishedOne) {
  const auto leaves = reference_leaf_hashes();
  for (std::size_t n = 0; n <= leaves.size(); ++n)
    EXPECT_EQ(to_hex(root(prefix(leaves, n))), reference_roots[n]) << "size " << n;
  EXPECT_EQ(to_hex(root(leaves)),
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328");
}

TEST(Merkle, LeafAndNodeHashesUseTheDomainSeparationPrefixes) {
  // The one-leaf tree's root is the leaf hash of "" and the two-leaf root a
  // node hash: both published values pin the 0x00 and 0x01 prefixes.
  EXPECT_EQ(to_hex(leaf_hash(std::string_view{})), reference_roots[1]);
  const auto leaves = reference_leaf_hashes();
  EXPECT_EQ(to_hex(node_hash(leaves[0], leaves[1])), reference_roots[2]);
  EXPECT_EQ(to_hex(empty_root()), reference_roots[0]);
  EXPECT_NE(leaf_hash(std::string_view{"\x01"}), sha256("\x01"));
}

TEST(Merkle, TheSplitIsTheLargestPowerOfTwoBelowTheSize) {
  EXPECT_EQ(split_point(2), 1U);
  EXPECT_EQ(split_point(3), 2U);
  EXPECT_EQ(split_point(4), 2U);
  EXPECT_EQ(split_point(5), 4U);
  EXPECT_EQ(split_point(8), 4U);
  EXPECT_EQ(split_point(9), 8U);
  EXPECT_EQ(split_point(1000), 512U);
  EXPECT_EQ(split_point((1ULL << 40) + 1), 1ULL << 40);
}

TEST(Merkle, RootsAgreeWithTheRecursiveDefinitionForEverySizeUpTo130) {
  const auto leaves = synthetic_leaves(130);
  for (std::size_t n = 0; n <= leaves.size(); ++n)
    EXPECT_EQ(root(prefix(leaves, n)), reference_root(prefix(leaves, n))) << "size " << n;
}

TEST(Merkle, InclusionProofsAreThePublishedOnesAndVerify) {
  const auto leaves = reference_leaf_hashes();
  for (const auto& v : inclusion_vectors) {
    const auto expected = decode_all(v.proof);
    const auto tree = prefix(leaves, v.size);
    const auto proof = inclusion_proof(tree, v.index);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(*proof, expected) << v.index << "/" << v.size;
    const digest r = dh(reference_roots[v.size]);
    EXPECT_TRUE(verify_inclusion(v.index, v.size, leaves[v.index], expected, r));
    const auto computed = root_from_inclusion_proof(v.index, v.size, leaves[v.index], expected);
    ASSERT_TRUE(computed.has_value());
    EXPECT_EQ(*computed, r);
  }
}

TEST(Merkle, EveryCorruptionProbeOfAnInclusionProofFails) {
  // The probes of transparency-dev/merkle's verifier tests, plus every single
  // bit of every proof element, of the leaf and of the root.
  const auto leaves = reference_leaf_hashes();
  const digest some_hash = dh("abacaba000000000000000000000000000000000000000000060061e00123456");
  for (const auto& v : inclusion_vectors) {
    SCOPED_TRACE(std::to_string(v.index) + "/" + std::to_string(v.size));
    const auto proof = decode_all(v.proof);
    const digest r = dh(reference_roots[v.size]);
    const digest leaf = leaves[v.index];
    const auto i = v.index;
    const auto n = v.size;
    ASSERT_TRUE(verify_inclusion(i, n, leaf, proof, r));

    EXPECT_FALSE(verify_inclusion(i - 1, n, leaf, proof, r)) << "index - 1";
    EXPECT_FALSE(verify_inclusion(i + 1, n, leaf, proof, r)) << "index + 1";
    EXPECT_FALSE(verify_inclusion(i ^ 2U, n, leaf, proof, r)) << "index ^ 2";
    EXPECT_FALSE(verify_inclusion(i, n * 2, leaf, proof, r)) << "size * 2";
    EXPECT_FALSE(verify_inclusion(i, n / 2, leaf, proof, r)) << "size / 2";
    EXPECT_FALSE(verify_inclusion(i, n, leaf, proof, empty_root())) << "empty root";
    EXPECT_FALSE(verify_inclusion(i, n, leaf, proof, some_hash)) << "random root";
    EXPECT_FALSE(verify_inclusion(i, n, some_hash, proof, r)) << "wrong leaf";

    auto extended = proof;
    extended.push_back(r);
    EXPECT_FALSE(verify_inclusion(i, n, leaf, extended, r)) << "trailing root";
    auto preceded = proof;
    preceded.insert(preceded.begin(), r);
    EXPECT_FALSE(verify_inclusion(i, n, leaf, preceded, r)) << "preceding root";
    auto truncated = proof;
    truncated.pop_back();
    EXPECT_FALSE(verify_inclusion(i, n, leaf, truncated, r)) << "removed component";
    EXPECT_FALSE(verify_inclusion(i, n, leaf, {}, r)) << "empty proof";
    if (proof.size() > 1) {
      auto inserted = proof;
      inserted.insert(inserted.begin() + 1, some_hash);
      EXPECT_FALSE(verify_inclusion(i, n, leaf, inserted, r)) << "inserted component";
      for (std::size_t e = 0; e + 1 < proof.size(); ++e) {
        auto swapped = proof;
        std::swap(swapped[e], swapped[e + 1]);
        EXPECT_FALSE(verify_inclusion(i, n, leaf, swapped, r)) << "swapped " << e;
      }
    }
    for (std::size_t e = 0; e < proof.size(); ++e)
      for (std::size_t bit = 0; bit < 256; ++bit) {
        auto wrong = proof;
        wrong[e] = flipped(wrong[e], bit);
        ASSERT_FALSE(verify_inclusion(i, n, leaf, wrong, r)) << "proof[" << e << "] bit " << bit;
      }
    for (std::size_t bit = 0; bit < 256; ++bit) {
      ASSERT_FALSE(verify_inclusion(i, n, flipped(leaf, bit), proof, r)) << "leaf bit " << bit;
      ASSERT_FALSE(verify_inclusion(i, n, leaf, proof, flipped(r, bit))) << "root bit " << bit;
    }
  }
}

TEST(Merkle, ASizeOffByOneFailsWheneverItChangesTheShapeSeenFromTheLeaf) {
  // Worked through RFC 9162 §2.1.3.2 by hand: these sizes change the path's
  // length or the side of a sibling, so the proof cannot verify.
  const auto leaves = reference_leaf_hashes();
  struct probe {
    std::size_t vector;
    std::uint64_t size;
  };
  for (const probe p :
       {probe{0, 9}, probe{1, 6}, probe{1, 9}, probe{2, 2}, probe{2, 4}, probe{3, 4}}) {
    const auto& v = inclusion_vectors[p.vector];
    EXPECT_FALSE(verify_inclusion(v.index, p.size, leaves[v.index], decode_all(v.proof),
                                  dh(reference_roots[v.size])))
        << v.index << "/" << v.size << " as size " << p.size;
  }
}

TEST(Merkle, AnInclusionProofDoesNotBindTheSizeWhenTheShapeIsTheSame) {
  // Leaf 0 of 8 and leaf 0 of 7 have the same path shape (three left turns),
  // so the 8-tree's proof also "verifies" for size 7 against the 8-tree's
  // root. The audit chain therefore takes the size from the signed checkpoint
  // and never from the proof (audit::verify_receipt_proof checks it).
  const auto leaves = reference_leaf_hashes();
  const auto& v = inclusion_vectors[0];
  EXPECT_TRUE(verify_inclusion(0, 7, leaves[0], decode_all(v.proof), dh(reference_roots[8])));
}

TEST(Merkle, EveryLeafOfEveryTreeUpTo40ProvesItsInclusionAndOnlyItsOwn) {
  const auto leaves = synthetic_leaves(40);
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    const auto tree = prefix(leaves, n);
    const digest r = root(tree);
    for (std::size_t i = 0; i < n; ++i) {
      const auto proof = inclusion_proof(tree, i);
      ASSERT_TRUE(proof.has_value());
      ASSERT_TRUE(verify_inclusion(i, n, leaves[i], *proof, r)) << i << "/" << n;
      const std::size_t other = (i + 1) % n;
      if (other != i) {
        EXPECT_FALSE(verify_inclusion(i, n, leaves[other], *proof, r));
      }
      EXPECT_FALSE(verify_inclusion(i, n * 2, leaves[i], *proof, r));
      if (!proof->empty()) {
        auto wrong = *proof;
        wrong.back() = flipped(wrong.back(), 0);
        EXPECT_FALSE(verify_inclusion(i, n, leaves[i], wrong, r));
      }
    }
    EXPECT_FALSE(inclusion_proof(tree, n).has_value());
  }
}

TEST(Merkle, ConsistencyProofsAreThePublishedOnesAndVerify) {
  const auto leaves = reference_leaf_hashes();
  for (const auto& v : consistency_vectors) {
    const auto expected = decode_all(v.proof);
    const auto proof = consistency_proof(prefix(leaves, v.size2), v.size1);
    ASSERT_TRUE(proof.has_value());
    EXPECT_EQ(*proof, expected) << v.size1 << "->" << v.size2;
    EXPECT_TRUE(verify_consistency(v.size1, v.size2, dh(reference_roots[v.size1]),
                                   dh(reference_roots[v.size2]), expected));
  }
}

TEST(Merkle, EveryCorruptionProbeOfAConsistencyProofFails) {
  for (const auto& v : consistency_vectors) {
    SCOPED_TRACE(std::to_string(v.size1) + "->" + std::to_string(v.size2));
    const auto proof = decode_all(v.proof);
    const digest r1 = dh(reference_roots[v.size1]);
    const digest r2 = dh(reference_roots[v.size2]);
    const auto s1 = v.size1;
    const auto s2 = v.size2;
    const digest wrong_root = sha256("WrongRoot");
    EXPECT_FALSE(verify_consistency(s1 - 1, s2, r1, r2, proof)) << "size1 - 1";
    EXPECT_FALSE(verify_consistency(s1 + 1, s2, r1, r2, proof)) << "size1 + 1";
    EXPECT_FALSE(verify_consistency(s1 ^ 2U, s2, r1, r2, proof)) << "size1 ^ 2";
    EXPECT_FALSE(verify_consistency(s1, s2 * 2, r1, r2, proof)) << "size2 * 2";
    EXPECT_FALSE(verify_consistency(s1, s2 / 2, r1, r2, proof)) << "size2 / 2";
    EXPECT_FALSE(verify_consistency(s1, s2, wrong_root, r2, proof)) << "wrong root1";
    EXPECT_FALSE(verify_consistency(s1, s2, r1, wrong_root, proof)) << "wrong root2";
    EXPECT_FALSE(verify_consistency(s1, s2, r2, r1, proof)) << "swapped roots";
    EXPECT_FALSE(verify_consistency(s1, s2, r1, r2, {})) << "empty proof";
    for (const digest& extra : {r1, r2}) {
      auto trailing = proof;
      trailing.push_back(extra);
      EXPECT_FALSE(verify_consistency(s1, s2, r1, r2, trailing)) << "trailing root";
      auto preceding = proof;
      preceding.insert(preceding.begin(), extra);
      EXPECT_FALSE(verify_consistency(s1, s2, r1, r2, preceding)) << "preceding root";
    }
    auto doubled = proof;
    doubled.insert(doubled.begin(), proof[0]);
    EXPECT_FALSE(verify_consistency(s1, s2, r1, r2, doubled)) << "preceding proof[0]";
    auto truncated = proof;
    truncated.pop_back();
    EXPECT_FALSE(verify_consistency(s1, s2, r1, r2, truncated)) << "truncated proof";
    for (std::size_t e = 0; e < proof.size(); ++e)
      for (std::size_t bit = 0; bit < 256; ++bit) {
        auto wrong = proof;
        wrong[e] = flipped(wrong[e], bit);
        ASSERT_FALSE(verify_consistency(s1, s2, r1, r2, wrong)) << "proof[" << e << "] bit " << bit;
      }
  }
}

TEST(Merkle, TrivialConsistencyNeedsEqualRootsOrAnEmptyOldTree) {
  const digest a = sha256("a");
  const digest b = sha256("b");
  EXPECT_TRUE(verify_consistency(0, 0, a, a, {}));
  EXPECT_FALSE(verify_consistency(0, 0, a, b, {}));
  EXPECT_TRUE(verify_consistency(0, 5, a, b, {}));
  EXPECT_TRUE(verify_consistency(3, 3, b, b, {}));
  EXPECT_FALSE(verify_consistency(3, 3, a, b, {}));
  EXPECT_FALSE(verify_consistency(3, 3, a, a, std::vector<digest>{a}));
  EXPECT_FALSE(verify_consistency(2, 1, a, b, {}));
  EXPECT_FALSE(verify_consistency(1, 2, a, b, {}));
}

TEST(Merkle, EveryPrefixOfEveryTreeUpTo40IsProvenConsistent) {
  const auto leaves = synthetic_leaves(40);
  for (std::size_t n = 1; n <= leaves.size(); ++n) {
    const auto tree = prefix(leaves, n);
    const digest r2 = root(tree);
    for (std::size_t m = 1; m < n; ++m) {
      const digest r1 = root(prefix(leaves, m));
      const auto proof = consistency_proof(tree, m);
      ASSERT_TRUE(proof.has_value());
      ASSERT_TRUE(verify_consistency(m, n, r1, r2, *proof)) << m << "->" << n;
      EXPECT_FALSE(verify_consistency(m, n, r2, r1, *proof)) << m << "->" << n;
    }
    EXPECT_FALSE(consistency_proof(tree, n + 1).has_value());
  }
}

} // namespace
} // namespace bulwark::crypto::merkle
