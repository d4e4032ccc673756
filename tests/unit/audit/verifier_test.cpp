#include "audit/verifier.hpp"
#include "crypto/ed25519.hpp"
#include "unit/audit/fixture.hpp"

#include <cctype>
#include <gtest/gtest.h>

namespace bulwark::audit {
namespace {

using namespace bulwark::audit::testing;

const key_ring ring = ring_with("k1", key_a());

void expect_bad_at(const verify_result& r, std::uint64_t index, problem what) {
  EXPECT_FALSE(r.ok);
  ASSERT_TRUE(r.first_bad_index.has_value()) << describe(r);
  EXPECT_EQ(*r.first_bad_index, index) << describe(r);
  EXPECT_EQ(r.what, what) << describe(r);
  EXPECT_FALSE(r.reason.empty());
}

TEST(VerifyChain, TheIntactChainPasses) {
  const auto c = hmac_chain();
  const auto r = verify(c.lines, ring);
  EXPECT_TRUE(r.ok) << describe(r);
  EXPECT_FALSE(r.first_bad_index.has_value());
  EXPECT_EQ(r.records, c.lines.size());
  EXPECT_EQ(r.checkpoints, 3U);
  EXPECT_EQ(r.receipts, 25U);
  EXPECT_EQ(r.unsealed, 0U);
  EXPECT_TRUE(r.ends_final);
  EXPECT_EQ(r.checkpoint_list.size(), 3U);
  EXPECT_EQ(r.head.next_index, c.lines.size());
  EXPECT_EQ(describe(r),
            "intact: 10 records, 3 checkpoints, 25 receipts, ends with a final checkpoint");
}

TEST(VerifyChain, StreamingLineByLineGivesTheSameVerdict) {
  auto c = hmac_chain();
  c.lines[4][c.lines[4].find("deploy")] = 'D';
  chain_verifier v(ring);
  for (const auto& l : c.lines)
    v.add(l);
  const auto streamed = v.finish();
  const auto whole = verify(c.lines, ring);
  EXPECT_EQ(streamed.first_bad_index, whole.first_bad_index);
  EXPECT_EQ(streamed.what, whole.what);
  EXPECT_EQ(streamed.lines, c.lines.size());
  expect_bad_at(streamed, 4, problem::modified);
}

TEST(VerifyChain, ChangingAnyOneByteOfARecordIsCaughtAtThatRecord) {
  // Every byte of one record of each type (decision, event, checkpoint, final
  // checkpoint): every member's name and value, the hash and the signature.
  const auto c = hmac_chain();
  for (const std::size_t i :
       {std::size_t{0}, std::size_t{4}, std::size_t{5}, c.checkpoint_at[1], c.lines.size() - 1}) {
    for (std::size_t pos = 0; pos < c.lines[i].size(); ++pos) {
      auto lines = c.lines;
      char& b = lines[i][pos];
      b = b == 'x' ? 'y' : 'x';
      const auto r = verify(lines, ring);
      ASSERT_FALSE(r.ok) << "line " << i << " byte " << pos;
      ASSERT_EQ(r.first_bad_index, i) << "line " << i << " byte " << pos << ": " << describe(r);
    }
  }
}

TEST(VerifyChain, AnEditedFieldIsReportedAsAModifiedRecord) {
  // One character of each member's value, changed to another of its kind
  // (digit to digit, letter to letter): the hash is checked before the
  // meaning, so even an edit that breaks a field's format reads "modified".
  const auto c = hmac_chain();
  struct target {
    std::size_t line;
    std::vector<std::string_view> fields;
  };
  for (const target& t :
       {target{5, {"v", "index", "prev", "type", "at", "decision", "detail"}},
        target{4, {"ref", "receipt", "event"}},
        target{c.checkpoint_at[1], {"final", "count", "root", "receipts", "alg", "kid", "sig"}}}) {
    for (const std::string_view field : t.fields) {
      auto lines = c.lines;
      std::string& l = lines[t.line];
      auto [b, e] = value_range(l, field);
      while (b < e && std::isalnum(static_cast<unsigned char>(l[b])) == 0)
        ++b;
      ASSERT_LT(b, e) << field;
      if (l.compare(b, 5, "false") == 0) {
        l.replace(b, 5, "true"); // no one-character edit keeps a boolean valid JSON
        expect_bad_at(verify(lines, ring), t.line, problem::modified);
        continue;
      }
      char& ch = l[b];
      if (std::isdigit(static_cast<unsigned char>(ch)) != 0) {
        ch = static_cast<char>('0' + (ch - '0' + 1) % 10);
      } else {
        ch = ch == 'z' ? 'a' : static_cast<char>(ch + 1);
      }
      SCOPED_TRACE(std::string(field));
      expect_bad_at(verify(lines, ring), t.line, problem::modified);
    }
  }
}

TEST(VerifyChain, ADeletedRecordIsCaughtWhereItIsMissing) {
  const auto c = hmac_chain();
  for (std::size_t i = 0; i + 1 < c.lines.size(); ++i) {
    auto lines = c.lines;
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
    expect_bad_at(verify(lines, ring), i, problem::missing);
  }
}

TEST(VerifyChain, DeletingTheFinalCheckpointIsCaughtAsTruncation) {
  auto lines = hmac_chain().lines;
  lines.pop_back();
  const auto r = verify(lines, ring);
  expect_bad_at(r, lines.size(), problem::truncated);
  EXPECT_EQ(r.unsealed, 1U);
}

TEST(VerifyChain, ADuplicatedRecordIsCaughtAtTheCopy) {
  const auto c = hmac_chain();
  for (std::size_t i = 0; i < c.lines.size(); ++i) {
    auto lines = c.lines;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i + 1), c.lines[i]);
    expect_bad_at(verify(lines, ring), i + 1, problem::out_of_order);
  }
}

TEST(VerifyChain, ARecordInsertedFromElsewhereIsCaughtWhereItStands) {
  const auto c = hmac_chain();
  // A record from later in the same chain.
  auto lines = c.lines;
  lines.insert(lines.begin() + 3, c.lines[7]);
  expect_bad_at(verify(lines, ring), 3, problem::missing);
  // Records with the right index from another chain signed with the same key.
  const auto other =
      write_chain(checkpoint_signer::hmac("k1", key_a()), 30, R"({"format":1,"host":"b"})");
  for (const std::size_t i : {std::size_t{1}, std::size_t{3}}) {
    lines = c.lines;
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(i), other.lines[i]);
    expect_bad_at(verify(lines, ring), i, problem::broken_link);
  }
}

TEST(VerifyChain, AWellFormedForgedRecordIsCaughtAtTheRecordItDisplaces) {
  // The forger computes a perfect record for index 3 (prev = hash of record 2).
  // It fits; the original record 3, now at position 4, is where the chain breaks.
  const auto c = hmac_chain();
  const auto head = must<chain_head>(resume_point(c.lines[2]));
  auto forger =
      must<chain_writer>(chain_writer::make({}, checkpoint_signer::hmac("k1", key_b()), t0, head));
  auto lines = c.lines;
  lines.insert(lines.begin() + 3, must<std::string>(forger.append_decision(t0, "forged")));
  expect_bad_at(verify(lines, ring), 4, problem::out_of_order);
}

TEST(VerifyChain, ReorderedRecordsAreCaughtAtTheFirstOutOfPlace) {
  const auto c = hmac_chain();
  for (std::size_t i = 0; i + 1 < c.lines.size(); ++i) {
    auto lines = c.lines;
    std::swap(lines[i], lines[i + 1]);
    expect_bad_at(verify(lines, ring), i, problem::missing);
  }
  auto lines = c.lines;
  std::rotate(lines.begin() + 2, lines.begin() + 3, lines.begin() + 7); // move record 2 to 6
  expect_bad_at(verify(lines, ring), 2, problem::missing);
}

TEST(VerifyChain, TruncationAfterACheckpointIsCaughtWhereTheChainStops) {
  const auto c = hmac_chain();
  for (std::size_t keep = 1; keep < c.lines.size(); ++keep) {
    const std::vector<std::string> lines(c.lines.begin(),
                                         c.lines.begin() + static_cast<std::ptrdiff_t>(keep));
    expect_bad_at(verify(lines, ring), keep, problem::truncated);
  }
  expect_bad_at(verify({}, ring), 0, problem::truncated);
}

TEST(VerifyChain, AnOpenTailIsAcceptedForALiveChainAndReportedUnsealed) {
  const auto c = hmac_chain();
  const std::vector<std::string> lines(c.lines.begin(), c.lines.begin() + 5);
  verify_settings live;
  live.require_final = false;
  const auto r = verify(lines, ring, live);
  EXPECT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.unsealed, 1U);
  EXPECT_FALSE(r.ends_final);
  ASSERT_TRUE(r.last_checkpoint.has_value());
  EXPECT_EQ(r.last_checkpoint->index, 3U);
  EXPECT_NE(describe(r).find("not sealed"), std::string::npos);
  EXPECT_TRUE(verify({}, ring, live).ok);
}

TEST(VerifyChain, ALiveChainWhoseLastCheckpointIsTooOldIsStale) {
  const auto c = hmac_chain();
  const std::vector<std::string> lines(c.lines.begin(), c.lines.begin() + 5);
  verify_settings live;
  live.require_final = false;
  live.max_checkpoint_age_ms = 30'000;
  const auto at = verify(lines, ring, live).last_checkpoint->at;
  live.now = at + 30'000;
  EXPECT_TRUE(verify(lines, ring, live).ok);
  live.now = at + 30'001;
  expect_bad_at(verify(lines, ring, live), 5, problem::stale);
}

TEST(VerifyChain, AnAnchorCatchesACutAfterAFinalCheckpointAndAReplacedChain) {
  // A resumed chain has a final checkpoint in the middle; cutting there leaves
  // a chain that ends cleanly. Only an anchor kept elsewhere shows the cut.
  const auto c = hmac_chain();
  auto lines = c.lines;
  const auto head = must<chain_head>(resume_point(lines.back()));
  auto second =
      must<chain_writer>(chain_writer::make({}, checkpoint_signer::hmac("k1", key_a()), t0, head));
  lines.push_back(must<std::string>(second.append_decision(t0, "chain_resumed")));
  lines.push_back(second.checkpoint(t0, true));
  ASSERT_TRUE(verify(lines, ring).ok);

  verify_settings anchored;
  anchored.anchor = chain_anchor{second.head().next_index - 1, second.head().prev};
  EXPECT_TRUE(verify(lines, ring, anchored).ok);
  EXPECT_TRUE(verify(c.lines, ring).ok); // the cut is invisible without the anchor
  expect_bad_at(verify(c.lines, ring, anchored), c.lines.size(), problem::anchor_missing);

  // A whole chain replaced by another one signed with the same key.
  const auto other =
      write_chain(checkpoint_signer::hmac("k1", key_a()), 25, R"({"format":1,"host":"b"})");
  ASSERT_TRUE(verify(other.lines, ring).ok);
  const auto first_checkpoint = verify(c.lines, ring).checkpoint_list[0];
  anchored.anchor = chain_anchor{first_checkpoint.index, first_checkpoint.hash};
  EXPECT_TRUE(verify(c.lines, ring, anchored).ok);
  expect_bad_at(verify(other.lines, ring, anchored), first_checkpoint.index,
                problem::anchor_missing);
}

TEST(VerifyChain, AnUnparsableLineIsBadAtItsIndex) {
  const auto c = hmac_chain();
  for (const std::string garbage : {"not json", "", "{\"v\":1", "[1,2,3]"}) {
    auto lines = c.lines;
    lines[6] = garbage;
    expect_bad_at(verify(lines, ring), 6, problem::unparsable);
  }
  auto lines = c.lines;
  lines[6] = R"({"v":1,"index":6})";
  expect_bad_at(verify(lines, ring), 6, problem::malformed);
  lines[6] = R"({"v":2,"index":6})";
  expect_bad_at(verify(lines, ring), 6, problem::malformed);
}

TEST(VerifyChain, AWrongKeyFailsAtTheFirstCheckpoint) {
  const auto c = hmac_chain();
  expect_bad_at(verify(c.lines, ring_with("k1", key_b())), c.checkpoint_at[0],
                problem::bad_signature);
  expect_bad_at(verify(c.lines, ring_with("k2", key_a())), c.checkpoint_at[0],
                problem::unknown_key);
  expect_bad_at(verify(c.lines, key_ring{}), c.checkpoint_at[0], problem::unknown_key);
}

TEST(VerifyChain, ARewrittenSegmentWithRecomputedHashesFailsAtTheNextCheckpoint) {
  // The attacker edits record 4 and re-chains records 4..7 with fresh hashes,
  // but cannot sign checkpoint 7 with the audit key.
  const auto c = hmac_chain();
  const auto head = must<chain_head>(resume_point(c.lines[3]));
  auto forger =
      must<chain_writer>(chain_writer::make({}, checkpoint_signer::hmac("k1", key_b()), t0, head));
  auto lines = c.lines;
  lines[4] = must<std::string>(forger.append_event(t0, input_ref{"", -1, -1, 11},
                                                   crypto::sha256("x"), R"({"action":"none"})"));
  lines[5] = must<std::string>(forger.append_decision(t0, "rules_reloaded"));
  lines[6] = must<std::string>(forger.append_decision(t0, "nothing_to_see"));
  lines[7] = forger.checkpoint(t0, false);
  expect_bad_at(verify(lines, ring), 7, problem::bad_signature);
  // Keeping the old checkpoint instead breaks its link.
  lines[7] = c.lines[7];
  expect_bad_at(verify(lines, ring), 7, problem::broken_link);
}

TEST(VerifyChain, ACheckpointWhoseReceiptsWereEditedAndRehashedHasABadRoot) {
  const auto c = hmac_chain();
  auto lines = c.lines;
  std::string& cp = lines[c.checkpoint_at[0]];
  const auto [b, e] = value_range(cp, "receipts");
  cp[b + 2] = cp[b + 2] == 'a' ? 'b' : 'a';
  const std::size_t k = cp.rfind(",\"hash\":\"");
  cp = cp.substr(0, k) + ",\"hash\":\"" + crypto::to_hex(crypto::sha256(cp.substr(0, k) + "}")) +
       "\"}";
  expect_bad_at(verify(lines, ring), c.checkpoint_at[0], problem::bad_root);
}

TEST(VerifyChain, AChainSignedWithEd25519Verifies) {
  const auto seed = crypto::key_bytes(32, 0x42);
  auto signer = std::get<crypto::ed25519_signer>(crypto::ed25519_signer::from_seed(seed));
  const auto pub = signer.public_key();
  const auto c = write_chain(checkpoint_signer::ed25519(std::move(signer)));
  key_ring ed_ring;
  ed_ring.add_ed25519(pub);
  const auto r = verify(c.lines, ed_ring);
  EXPECT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.checkpoint_list[0].alg, signature_alg::ed25519);
  EXPECT_EQ(r.checkpoint_list[0].kid, ed25519_kid(pub));

  expect_bad_at(verify(c.lines, ring), c.checkpoint_at[0], problem::unknown_key);
  key_ring wrong;
  auto other_pub = pub;
  other_pub[0] ^= 1;
  wrong.ed25519[ed25519_kid(pub)] = other_pub;
  expect_bad_at(verify(c.lines, wrong), c.checkpoint_at[0], problem::bad_signature);
}

TEST(VerifyChain, AnHmacKeyIdClaimedAsEd25519DoesNotVerify) {
  // Algorithm confusion: the ring decides which algorithm a key id uses, so a
  // checkpoint re-labelled "ed25519" under an HMAC key id finds no key.
  auto lines = hmac_chain().lines;
  std::string& cp = lines[3];
  const std::size_t a = cp.find("\"alg\":\"hmac-sha256\"");
  ASSERT_NE(a, std::string::npos);
  const std::size_t s = cp.rfind(",\"sig\":\"");
  std::string body = cp.substr(0, a) + "\"alg\":\"ed25519\"" + cp.substr(a + 19, s - a - 19);
  body += ",\"sig\":\"" + std::string(128, 'a') + "\"";
  cp = body + ",\"hash\":\"" + crypto::to_hex(crypto::sha256(body + "}")) + "\"}";
  expect_bad_at(verify(lines, ring), 3, problem::unknown_key);
}

TEST(VerifyChain, ReasonsNeverQuoteTheChainsBytes) {
  auto c = hmac_chain();
  const std::string secret = "AKIAIOSFODNN7EXAMPLE";
  auto lines = c.lines;
  lines[2] = "{\"" + secret + "\":1}";
  auto r = verify(lines, ring);
  EXPECT_EQ(r.reason.find(secret), std::string::npos);
  lines[2] = secret;
  r = verify(lines, ring);
  EXPECT_EQ(r.reason.find(secret), std::string::npos);
  r = verify(c.lines, ring_with(secret, key_a()));
  EXPECT_EQ(r.reason.find(secret), std::string::npos);
}

} // namespace
} // namespace bulwark::audit
