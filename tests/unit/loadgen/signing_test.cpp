#include "crypto/hmac.hpp"
#include "loadgen/fleet.hpp"
#include "loadgen/signer.hpp"
#include "support.hpp"

#include <cctype>
#include <gtest/gtest.h>
#include <string>

namespace bulwark::loadgen {
namespace {

using testing::generate;
using testing::parse;

/// Independent SPEC §4 check: cut at the last `,"sig":`, append `}`, HMAC.
/// Returns false when there is no signature or it does not match.
bool body_signature_verifies(const std::string& event, const std::vector<std::uint8_t>& key,
                             std::string* kid = nullptr) {
  const std::size_t cut = event.rfind(R"(,"sig":{"kid":")");
  if (cut == std::string::npos) return false;
  const std::size_t kid_begin = cut + 15;
  const std::size_t kid_end = event.find('"', kid_begin);
  const std::string mac_prefix = R"(","mac":")";
  if (event.compare(kid_end, mac_prefix.size(), mac_prefix) != 0) return false;
  const std::string mac = event.substr(kid_end + mac_prefix.size(), 64);
  if (event.substr(kid_end + mac_prefix.size() + 64) != "\"}}") return false;
  for (char c : mac)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  if (kid != nullptr) *kid = event.substr(kid_begin, kid_end - kid_begin);
  const std::string signed_bytes = event.substr(0, cut) + "}";
  return crypto::to_hex(crypto::hmac_sha256(key, signed_bytes)) == mac;
}

TEST(Signing, EveryBodySignatureVerifiesOverTheBytesBeforeTheSigMember) {
  options o;
  ASSERT_TRUE(apply_preset("demo", o));
  o.mix.tamper = 0;
  o.mix.unsigned_events = 0;
  o.mix.flood.sources = 0; // every event comes from a signing server
  const auto key = testing::unhex(demo_key_hex);
  std::size_t checked = 0;
  for (const auto& g : generate(o, 8'000)) {
    std::string kid;
    ASSERT_TRUE(body_signature_verifies(g.rec.value, key, &kid)) << g.rec.value;
    EXPECT_EQ(kid, "k1");
    EXPECT_TRUE(g.rec.sig_header.empty());
    ++checked;
  }
  EXPECT_EQ(checked, 8'000U);
}

TEST(Signing, ATamperedEventDoesNotVerifyAndItsLabelNamesTheEditedMember) {
  options o;
  o.mix.tamper = 0.05;
  const auto key = testing::unhex(demo_key_hex);
  std::size_t tampered = 0;
  for (const auto& g : generate(o, 8'000)) {
    const attack* t = testing::find_attack(g.truth, attack_kind::tamper);
    EXPECT_EQ(body_signature_verifies(g.rec.value, key), t == nullptr) << g.rec.value;
    if (t == nullptr) continue;
    ++tampered;
    // Still one valid JSON object with that member: only the MAC gives it away.
    const auto e = parse(g.rec.value);
    EXPECT_TRUE(e.ok()) << g.rec.value;
    EXPECT_TRUE(e.has(t->path)) << t->path;
  }
  EXPECT_GT(tampered, 250U);
}

TEST(Signing, ATamperedEventDiffersFromItsSignedOriginalInOneDigitOfTheLabelledMember) {
  // Tampering draws the same random numbers as a clean event, so the stream
  // without it holds each original as it was signed.
  options with;
  with.mix.tamper = 0.02;
  options without;
  const auto a = generate(with, 5'000);
  const auto b = generate(without, 5'000);
  std::size_t tampered = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const attack* t = testing::find_attack(a[i].truth, attack_kind::tamper);
    if (t == nullptr) {
      ASSERT_EQ(a[i].rec.value, b[i].rec.value);
      continue;
    }
    ++tampered;
    const std::string& edited = a[i].rec.value;
    const std::string& original = b[i].rec.value;
    ASSERT_EQ(edited.size(), original.size());
    std::vector<std::size_t> diffs;
    for (std::size_t k = 0; k < edited.size(); ++k)
      if (edited[k] != original[k]) diffs.push_back(k);
    ASSERT_EQ(diffs.size(), 1U);
    EXPECT_TRUE(std::isdigit(static_cast<unsigned char>(edited[diffs[0]])));
    // The byte lies inside the labelled member's value.
    const std::string member = ",\"" + t->path.substr(1) + "\":";
    const std::size_t at = original.find(member);
    ASSERT_NE(at, std::string::npos);
    EXPECT_GT(diffs[0], at + member.size() - 1);
    EXPECT_LT(diffs[0], original.find_first_of(",}", at + member.size() + 1) + 1);
    EXPECT_TRUE(parse(edited).ok()) << edited;
  }
  EXPECT_GT(tampered, 50U);
}

TEST(Signing, HeaderSignaturesCoverTheWholeValue) {
  options o;
  o.sign = signing::header;
  o.mix.tamper = 0.02;
  o.mix.unsigned_events = 0.02;
  const auto key = testing::unhex(demo_key_hex);
  std::size_t verified = 0;
  for (const auto& g : generate(o, 5'000)) {
    EXPECT_EQ(g.rec.value.find("\"sig\""), std::string::npos);
    if (testing::find_attack(g.truth, attack_kind::unsigned_event)) {
      EXPECT_TRUE(g.rec.sig_header.empty());
      continue;
    }
    ASSERT_EQ(g.rec.sig_header.rfind("k1:", 0), 0U);
    const std::string mac = g.rec.sig_header.substr(3);
    ASSERT_EQ(mac.size(), 64U);
    const bool ok = crypto::to_hex(crypto::hmac_sha256(key, g.rec.value)) == mac;
    EXPECT_EQ(ok, testing::find_attack(g.truth, attack_kind::tamper) == nullptr);
    verified += ok ? 1 : 0;
  }
  EXPECT_GT(verified, 4'000U);
}

TEST(Signing, UnsignedEventsCarryNoSignatureAndAreLabelled) {
  options o;
  o.mix.unsigned_events = 0.05;
  std::size_t unsigned_count = 0;
  for (const auto& g : generate(o, 10'000)) {
    const bool labelled = testing::find_attack(g.truth, attack_kind::unsigned_event) != nullptr;
    EXPECT_EQ(parse(g.rec.value).has("/sig/mac"), !labelled) << g.rec.value;
    unsigned_count += labelled ? 1 : 0;
  }
  EXPECT_GT(unsigned_count, 300U);
}

TEST(Signing, AConfiguredKeyAndKidAreUsedAndTheDemoKeyNoLongerVerifies) {
  options o;
  o.kid = "fleet-2026";
  o.key_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
  for (const auto& g : generate(o, 500)) {
    std::string kid;
    EXPECT_TRUE(body_signature_verifies(g.rec.value, testing::unhex(o.key_hex), &kid));
    EXPECT_EQ(kid, "fleet-2026");
    EXPECT_FALSE(body_signature_verifies(g.rec.value, testing::unhex(demo_key_hex)));
  }
}

TEST(Signing, SigningCanBeTurnedOff) {
  options o;
  o.sign = signing::none;
  for (const auto& g : generate(o, 500)) {
    EXPECT_FALSE(parse(g.rec.value).has("/sig/kid"));
    EXPECT_TRUE(g.rec.sig_header.empty());
  }
}

TEST(Signing, SignBodyMatchesAKnownVector) {
  // RFC 4231 test case 2 key ("Jefe"), over a tiny event.
  std::string event = R"({"a":1})";
  const std::string key = "Jefe";
  sign_body(event, "k1", std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()));
  const auto expect = crypto::to_hex(crypto::hmac_sha256(
      std::span(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()), R"({"a":1})"));
  EXPECT_EQ(event, R"({"a":1,"sig":{"kid":"k1","mac":")" + expect + "\"}}");
}

} // namespace
} // namespace bulwark::loadgen
