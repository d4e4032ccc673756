#include "audit/verifier.hpp"
#include "crypto/merkle.hpp"
#include "unit/audit/fixture.hpp"

#include "json/walk.hpp"
#include <gtest/gtest.h>

namespace bulwark::audit {
namespace {

using namespace bulwark::audit::testing;

const key_ring ring = ring_with("k1", key_a());

receipt_proof must_prove(const std::vector<std::string>& lines, const crypto::digest& receipt) {
  const auto v = views(lines);
  auto r = prove_receipt(v, ring, receipt);
  if (!r.proof) {
    ADD_FAILURE() << r.reason << " / " << describe(r.chain);
    std::abort();
  }
  return *r.proof;
}

crypto::digest flipped(crypto::digest d, std::size_t bit) {
  d[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
  return d;
}

TEST(ReceiptProof, EveryReceiptOfEveryCheckpointIsProvenUnderItsCheckpoint) {
  const auto c = hmac_chain();
  const auto chain = verify(c.lines, ring);
  ASSERT_TRUE(chain.ok);
  for (std::size_t k = 0; k < c.receipts.size(); ++k) {
    for (std::size_t i = 0; i < c.receipts[k].size(); ++i) {
      const auto proof = must_prove(c.lines, c.receipts[k][i]);
      EXPECT_EQ(proof.checkpoint_index, c.checkpoint_at[k]);
      EXPECT_EQ(proof.leaf_index, i);
      EXPECT_EQ(proof.tree_size, c.receipts[k].size());
      EXPECT_EQ(proof.kid, "k1");
      EXPECT_TRUE(verify_receipt_proof(proof));
      EXPECT_TRUE(verify_receipt_proof(proof, chain));
    }
  }
}

TEST(ReceiptProof, AnAlteredProofFailsEveryWay) {
  const auto c = hmac_chain();
  const auto chain = verify(c.lines, ring);
  // Leaf 5 of the first checkpoint's 10: a path of four elements.
  const auto good = must_prove(c.lines, c.receipts[0][5]);
  ASSERT_EQ(good.path.size(), 4U);
  ASSERT_TRUE(verify_receipt_proof(good, chain));

  auto expect_rejected = [&](const receipt_proof& p, const std::string& what) {
    EXPECT_FALSE(verify_receipt_proof(p, chain)) << what;
  };
  for (const std::int64_t d : {-1, 1}) {
    auto p = good;
    p.leaf_index = static_cast<std::uint64_t>(static_cast<std::int64_t>(p.leaf_index) + d);
    expect_rejected(p, "leaf index " + std::to_string(d));
    p = good;
    p.tree_size = static_cast<std::uint64_t>(static_cast<std::int64_t>(p.tree_size) + d);
    expect_rejected(p, "tree size " + std::to_string(d));
    p = good;
    p.checkpoint_index =
        static_cast<std::uint64_t>(static_cast<std::int64_t>(p.checkpoint_index) + d);
    expect_rejected(p, "checkpoint index " + std::to_string(d));
  }
  for (std::size_t e = 0; e < good.path.size(); ++e) {
    for (std::size_t bit = 0; bit < 256; bit += 37) {
      auto p = good;
      p.path[e] = flipped(p.path[e], bit);
      expect_rejected(p, "path element " + std::to_string(e));
    }
    if (e + 1 < good.path.size()) {
      auto p = good;
      std::swap(p.path[e], p.path[e + 1]);
      expect_rejected(p, "swapped elements " + std::to_string(e));
    }
  }
  auto p = good;
  p.path.pop_back();
  expect_rejected(p, "truncated path");
  p = good;
  p.path.push_back(good.root);
  expect_rejected(p, "extended path");
  p = good;
  p.receipt = flipped(p.receipt, 3);
  expect_rejected(p, "receipt");
  p = good;
  p.root = flipped(p.root, 200);
  expect_rejected(p, "root");
  p = good;
  p.checkpoint_hash = flipped(p.checkpoint_hash, 0);
  expect_rejected(p, "checkpoint hash");
}

TEST(ReceiptProof, AProofIsOnlyAsGoodAsTheChainThatVerifiedItsCheckpoint) {
  // A self-consistent proof of a root no verified checkpoint carries.
  const auto c = hmac_chain();
  const auto chain = verify(c.lines, ring);
  const std::vector<crypto::digest> fake_receipts = {crypto::sha256("a"), crypto::sha256("b")};
  std::vector<crypto::digest> leaves;
  for (const auto& r : fake_receipts)
    leaves.push_back(crypto::merkle::leaf_hash(r));
  receipt_proof forged = must_prove(c.lines, c.receipts[2][0]);
  forged.receipt = fake_receipts[1];
  forged.leaf_index = 1;
  forged.tree_size = 2;
  forged.path = *crypto::merkle::inclusion_proof(leaves, 1);
  forged.root = crypto::merkle::root(leaves);
  EXPECT_TRUE(verify_receipt_proof(forged));
  EXPECT_FALSE(verify_receipt_proof(forged, chain));
}

TEST(ReceiptProof, AReceiptThatIsNotSealedHasNoProof) {
  const auto c = hmac_chain();
  const auto lines = views(c.lines);
  auto r = prove_receipt(lines, ring, crypto::sha256("never consumed"));
  EXPECT_FALSE(r.proof.has_value());
  EXPECT_TRUE(r.chain.ok);
  EXPECT_NE(r.reason.find("not among the receipts"), std::string::npos);
}

TEST(ReceiptProof, AReceiptAfterTheFirstBadIndexHasNoProof) {
  auto c = hmac_chain();
  c.lines[5][c.lines[5].find("rules")] = 'R';
  const auto lines = views(c.lines);
  // Under the first checkpoint (index 3, before the damage): still proven.
  const auto early = prove_receipt(lines, ring, c.receipts[0][0]);
  EXPECT_FALSE(early.chain.ok);
  ASSERT_TRUE(early.proof.has_value());
  EXPECT_EQ(early.proof->checkpoint_index, 3U);
  EXPECT_TRUE(verify_receipt_proof(*early.proof, early.chain));
  // Under the second checkpoint (index 7, after it): not.
  const auto late = prove_receipt(lines, ring, c.receipts[1][0]);
  EXPECT_FALSE(late.proof.has_value());
  EXPECT_NE(late.reason.find("before the first bad index 5"), std::string::npos);
}

TEST(ReceiptProof, AOneReceiptCheckpointHasAnEmptyPath) {
  auto w = must<chain_writer>(chain_writer::make({}, checkpoint_signer::hmac("k1", key_a()), t0));
  const auto receipt = crypto::sha256("only");
  (void)w.record_receipt(receipt);
  const std::vector<std::string> lines = {w.checkpoint(t0, true)};
  const auto proof = must_prove(lines, receipt);
  EXPECT_TRUE(proof.path.empty());
  EXPECT_EQ(proof.tree_size, 1U);
  EXPECT_EQ(proof.root, crypto::merkle::leaf_hash(receipt));
  EXPECT_TRUE(verify_receipt_proof(proof, verify(lines, ring)));
}

TEST(ReceiptProof, ThePrintedProofIsOneJsonObjectWithEveryPart) {
  const auto c = hmac_chain();
  const auto proof = must_prove(c.lines, c.receipts[1][7]);
  const std::string text = format_receipt_proof(proof);
  json::walker w(json::limits{});
  EXPECT_EQ(w.walk(text, 0, nullptr), json::error::none);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  EXPECT_NE(text.find("\"receipt\":\"" + crypto::to_hex(c.receipts[1][7]) + "\""),
            std::string::npos);
  EXPECT_NE(text.find("\"leaf_index\":7,\"tree_size\":10,"), std::string::npos);
  EXPECT_NE(text.find("\"root\":\"" + crypto::to_hex(proof.root) + "\""), std::string::npos);
  for (const auto& p : proof.path)
    EXPECT_NE(text.find(crypto::to_hex(p)), std::string::npos);
  EXPECT_NE(text.find("\"checkpoint\":{\"index\":7,"), std::string::npos);
  EXPECT_NE(text.find("\"hash\":\"" + crypto::to_hex(proof.checkpoint_hash) + "\""),
            std::string::npos);
}

} // namespace
} // namespace bulwark::audit
