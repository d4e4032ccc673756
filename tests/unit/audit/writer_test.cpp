#include "audit/writer.hpp"
#include "crypto/merkle.hpp"
#include "unit/audit/fixture.hpp"

#include <gtest/gtest.h>

namespace bulwark::audit {
namespace {

using namespace bulwark::audit::testing;

chain_writer new_writer(checkpoint_policy policy = checkpoint_policy::scan(),
                        std::optional<chain_head> resume = {}) {
  writer_settings s;
  s.policy = policy;
  return must<chain_writer>(
      chain_writer::make(s, checkpoint_signer::hmac("k1", key_a()), t0, resume));
}

// SHA-256 of a line with its `,"hash":"…"` member cut off and `}` appended,
// computed from the documented layout by string surgery.
std::string documented_hash(const std::string& line) {
  const std::size_t k = line.rfind(",\"hash\":\"");
  EXPECT_NE(k, std::string::npos);
  EXPECT_EQ(line.size(), k + 75);
  return crypto::to_hex(crypto::sha256(line.substr(0, k) + "}"));
}

std::string member_text(const std::string& line, std::string_view name) {
  const auto [b, e] = value_range(line, name);
  return line.substr(b, e - b);
}

TEST(ChainWriter, ARecordHasTheDocumentedLayoutAndHash) {
  auto w = new_writer();
  const std::string line =
      must<std::string>(w.append_decision(t0, "rules_reloaded", R"({"rules":3})"));
  const std::string zeros(64, '0');
  EXPECT_EQ(
      line.substr(0, line.size() - 75),
      R"({"v":1,"index":0,"prev":")" + zeros +
          R"(","type":"decision","at":"2026-11-18T11:06:40.000Z","decision":"rules_reloaded","detail":{"rules":3})");
  EXPECT_EQ(member_text(line, "hash"), "\"" + documented_hash(line) + "\"");
  EXPECT_EQ(w.head().next_index, 1U);
  EXPECT_EQ(crypto::to_hex(w.head().prev), documented_hash(line));
}

TEST(ChainWriter, EachRecordNamesThePreviousRecordsHashAndTheNextIndex) {
  const auto c = hmac_chain();
  ASSERT_EQ(c.lines.size(), 10U);
  for (std::size_t i = 1; i < c.lines.size(); ++i) {
    EXPECT_EQ(member_text(c.lines[i], "prev"), "\"" + documented_hash(c.lines[i - 1]) + "\"");
    EXPECT_EQ(member_text(c.lines[i], "index"), std::to_string(i));
  }
}

TEST(ChainWriter, ACheckpointIsSignedOverItsBytesBeforeTheSignature) {
  const auto c = hmac_chain();
  const std::string& cp = c.lines[c.checkpoint_at[0]];
  const std::size_t k = cp.rfind(",\"sig\":\"");
  ASSERT_NE(k, std::string::npos);
  const auto mac = crypto::hmac_sha256(key_a(), cp.substr(0, k) + "}");
  EXPECT_EQ(member_text(cp, "sig"), "\"" + crypto::to_hex(mac) + "\"");
  EXPECT_EQ(member_text(cp, "alg"), "\"hmac-sha256\"");
  EXPECT_EQ(member_text(cp, "kid"), "\"k1\"");
  EXPECT_EQ(member_text(cp, "final"), "false");
  EXPECT_EQ(member_text(c.lines.back(), "final"), "true");
}

TEST(ChainWriter, ACheckpointCarriesItsReceiptsAndTheirRfc6962Root) {
  auto w = new_writer();
  const auto a = crypto::sha256("event a");
  const auto b = crypto::sha256("event b");
  EXPECT_FALSE(w.record_receipt(a));
  EXPECT_FALSE(w.record_receipt(b));
  const std::string cp = w.checkpoint(t0, false);
  // Leaf = SHA-256(0x00 || receipt), root = SHA-256(0x01 || left || right).
  auto bytes = [](const crypto::digest& d) { return std::string(d.begin(), d.end()); };
  const auto leaf_a = crypto::sha256(std::string(1, '\0') + bytes(a));
  const auto leaf_b = crypto::sha256(std::string(1, '\0') + bytes(b));
  const auto root = crypto::sha256("\x01" + bytes(leaf_a) + bytes(leaf_b));
  EXPECT_EQ(member_text(cp, "root"), "\"" + crypto::to_hex(root) + "\"");
  EXPECT_EQ(member_text(cp, "count"), "2");
  EXPECT_EQ(member_text(cp, "receipts"),
            "[\"" + crypto::to_hex(a) + "\",\"" + crypto::to_hex(b) + "\"]");
  EXPECT_EQ(w.pending_receipts(), 0U);
}

TEST(ChainWriter, AnEmptyCheckpointHasTheEmptyTreeRoot) {
  auto w = new_writer();
  const std::string cp = w.checkpoint(t0, true);
  EXPECT_EQ(member_text(cp, "count"), "0");
  EXPECT_EQ(member_text(cp, "receipts"), "[]");
  EXPECT_EQ(member_text(cp, "root"),
            "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"");
}

TEST(ChainWriter, TheCountPolicyAsksForACheckpointEveryNReceipts) {
  auto w = new_writer(checkpoint_policy{3, 0, false});
  EXPECT_FALSE(w.record_receipt(crypto::sha256("1")));
  EXPECT_FALSE(w.record_receipt(crypto::sha256("2")));
  EXPECT_FALSE(w.checkpoint_due(t0 + 1'000'000));
  EXPECT_TRUE(w.record_receipt(crypto::sha256("3")));
  EXPECT_TRUE(w.checkpoint_due(t0));
  w.checkpoint(t0, false);
  EXPECT_FALSE(w.checkpoint_due(t0));
  EXPECT_EQ(checkpoint_policy::scan().every_events, 1000U);
}

TEST(ChainWriter, TheTimePolicyAsksOnlyWhenSomethingWaitsToBeSealed) {
  auto w = new_writer(checkpoint_policy{1000, 10'000, false});
  EXPECT_FALSE(w.checkpoint_due(t0 + 20'000)); // nothing happened
  (void)w.record_receipt(crypto::sha256("x"));
  EXPECT_FALSE(w.checkpoint_due(t0 + 9'999));
  EXPECT_TRUE(w.checkpoint_due(t0 + 10'000));
  w.checkpoint(t0 + 10'000, false);
  EXPECT_FALSE(w.checkpoint_due(t0 + 19'999));
  (void)must<std::string>(w.append_decision(t0 + 15'000, "epoch_started"));
  EXPECT_TRUE(w.checkpoint_due(t0 + 20'000));
}

TEST(ChainWriter, WithHeartbeatsTheTimePolicyAsksEvenWhenIdle) {
  auto w = new_writer(checkpoint_policy::run());
  EXPECT_FALSE(w.checkpoint_due(t0 + 9'999));
  EXPECT_TRUE(w.checkpoint_due(t0 + 10'000));
  w.checkpoint(t0 + 10'000, false);
  EXPECT_FALSE(w.checkpoint_due(t0 + 19'999));
  EXPECT_TRUE(w.checkpoint_due(t0 + 20'000));
}

TEST(ChainWriter, ImpossiblePoliciesAreRefused) {
  for (const checkpoint_policy p :
       {checkpoint_policy{0, 0, false}, checkpoint_policy{2'000'000, 0, false},
        checkpoint_policy{10, -1, false}, checkpoint_policy{10, 0, true}}) {
    writer_settings s;
    s.policy = p;
    EXPECT_TRUE(std::holds_alternative<audit_error>(
        chain_writer::make(s, checkpoint_signer::hmac("k1", key_a()), t0)));
  }
}

TEST(ChainWriter, AnEventRecordEmbedsTheSanitisedEventWithItsRefAndReceipt) {
  auto w = new_writer();
  const std::string ev = R"({"type":"audit","action":"rollback","note":"[REDACTED:secret]"})";
  const auto receipt = crypto::sha256("the raw bytes");
  const std::string line =
      must<std::string>(w.append_event(t0, input_ref{"", -1, -1, 17}, receipt, ev));
  EXPECT_EQ(member_text(line, "event"), ev);
  EXPECT_EQ(member_text(line, "ref"), R"({"line":17})");
  EXPECT_EQ(member_text(line, "receipt"), "\"" + crypto::to_hex(receipt) + "\"");
  const std::string kafka =
      must<std::string>(w.append_event(t0, input_ref{"telemetry", 3, 42, 0}, receipt, ev));
  EXPECT_EQ(member_text(kafka, "ref"), R"({"topic":"telemetry","partition":3,"offset":42})");
}

TEST(ChainWriter, LineBreaksBetweenTokensOfAnEventBecomeSpaces) {
  auto w = new_writer();
  const std::string line = must<std::string>(w.append_event(
      t0, input_ref{"", -1, -1, 1}, crypto::sha256("x"), "{\r\n  \"action\": \"deploy\"\n}\n"));
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_EQ(member_text(line, "event"), "{    \"action\": \"deploy\" }");
}

TEST(ChainWriter, InputsThatWouldBreakTheLineAreRefusedAndDoNotAdvanceTheChain) {
  auto w = new_writer();
  const input_ref line1{"", -1, -1, 1};
  const auto r = crypto::sha256("x");
  EXPECT_TRUE(std::holds_alternative<audit_error>(w.append_event(t0, line1, r, "[1,2]")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(w.append_event(t0, line1, r, "{\"a\":")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(w.append_event(t0, input_ref{}, r, "{\"a\":1}")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(
      w.append_event(t0, input_ref{"t", -1, 0, 0}, r, "{\"a\":1}")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(w.append_decision(t0, "Rules Reloaded")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(w.append_decision(t0, "")));
  EXPECT_TRUE(std::holds_alternative<audit_error>(w.append_decision(t0, "ok", "\"text\"")));
  EXPECT_EQ(w.head().next_index, 0U);
}

TEST(ChainWriter, AResumedChainContinuesFromItsLastLineAndVerifiesAsOne) {
  // A first session writes and stops without a final checkpoint (a crash);
  // the second continues from the last line of the file.
  auto first = new_writer(checkpoint_policy{2, 0, false});
  std::vector<std::string> lines;
  lines.push_back(must<std::string>(first.append_decision(t0, "chain_started")));
  (void)first.record_receipt(crypto::sha256("e1"));
  if (first.record_receipt(crypto::sha256("e2"))) lines.push_back(first.checkpoint(t0 + 1, false));
  lines.push_back(must<std::string>(first.append_decision(t0 + 2, "epoch_started")));

  const auto head = must<chain_head>(resume_point(lines.back()));
  EXPECT_EQ(head.next_index, 3U);
  auto second = new_writer(checkpoint_policy{2, 0, false}, head);
  lines.push_back(must<std::string>(second.append_decision(t0 + 3, "chain_resumed")));
  (void)second.record_receipt(crypto::sha256("e3"));
  lines.push_back(second.checkpoint(t0 + 4, true));

  EXPECT_EQ(member_text(lines[3], "index"), "3");
  const auto r = verify(lines, ring_with("k1", key_a()));
  EXPECT_TRUE(r.ok) << describe(r);
  EXPECT_EQ(r.records, 5U);
  EXPECT_EQ(r.checkpoints, 2U);
  EXPECT_TRUE(r.ends_final);
  EXPECT_EQ(r.head.next_index, second.head().next_index);
  EXPECT_EQ(r.head.prev, second.head().prev);
}

TEST(ChainWriter, AChainIsNotResumedFromAModifiedOrPartialLastLine) {
  auto w = new_writer();
  std::string line = must<std::string>(w.append_decision(t0, "chain_started"));
  EXPECT_TRUE(std::holds_alternative<chain_head>(resume_point(line)));
  std::string modified = line;
  modified[modified.find("chain_started")] = 'C';
  EXPECT_TRUE(std::holds_alternative<audit_error>(resume_point(modified)));
  EXPECT_TRUE(std::holds_alternative<audit_error>(resume_point(line.substr(0, line.size() / 2))));
}

TEST(CheckpointSigner, TheConfigurationChoosesTheAuditKeyOrTheSigningKey) {
  config::integrity_options opts;
  opts.keys["k0"] = config::key_source{config::key_source::kind::hex, std::string(64, 'a')};
  opts.keys["k1"] = config::key_source{config::key_source::kind::hex, std::string(64, 'b')};
  opts.audit_key = "k1";
  auto hmac = must<checkpoint_signer>(checkpoint_signer::from_config(opts, "."));
  EXPECT_EQ(hmac.alg(), signature_alg::hmac_sha256);
  EXPECT_EQ(hmac.kid(), "k1");
  EXPECT_EQ(hmac.sign_hex("m"),
            crypto::to_hex(crypto::hmac_sha256(crypto::key_bytes(32, 0xbb), "m")));

  opts.audit_key = "nope";
  EXPECT_TRUE(std::holds_alternative<audit_error>(checkpoint_signer::from_config(opts, ".")));

  opts.audit_signing_key =
      config::key_source{config::key_source::kind::hex,
                         "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"};
  auto ed = must<checkpoint_signer>(checkpoint_signer::from_config(opts, "."));
  EXPECT_EQ(ed.alg(), signature_alg::ed25519);
  EXPECT_EQ(ed.kid().rfind("ed25519:", 0), 0U);
  EXPECT_EQ(ed.kid().size(), 8U + 16U);

  const auto ring = must<key_ring>(key_ring::from_config(opts, "."));
  EXPECT_EQ(ring.hmac.size(), 2U);
  EXPECT_EQ(ring.ed25519.count(ed.kid()), 1U);

  config::integrity_options none;
  EXPECT_TRUE(std::holds_alternative<audit_error>(checkpoint_signer::from_config(none, ".")));
}

} // namespace
} // namespace bulwark::audit
