#include "integrity/signature.hpp"
#include "support/temp_dir.hpp"
#include "unit/integrity/fleet.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace bulwark::integrity {
namespace {

using namespace bulwark::integrity::testing;

constexpr timestamp_ms t0 = 1'790'000'000'000;

/// One verifier for the whole suite: results point at its keys.
const verifier& default_verifier() {
  static const verifier v(test_ring());
  return v;
}

// RFC 4231 §4: HMAC-SHA256 known answers. Run through the header form, whose
// MAC covers the whole record, so the data need not be JSON. Test case 5
// (truncated output) does not apply to a 256-bit MAC.
struct rfc4231_case {
  int number;
  std::vector<std::uint8_t> key;
  std::string data;
  std::string mac;
};

std::vector<rfc4231_case> rfc4231() {
  std::vector<std::uint8_t> key4;
  for (std::uint8_t b = 1; b <= 0x19; ++b)
    key4.push_back(b);
  return {
      {1, std::vector<std::uint8_t>(20, 0x0b), "Hi There",
       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
      {2,
       {'J', 'e', 'f', 'e'},
       "what do ya want for nothing?",
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
      {3, std::vector<std::uint8_t>(20, 0xaa), std::string(50, '\xdd'),
       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"},
      {4, key4, std::string(50, '\xcd'),
       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"},
      {6, std::vector<std::uint8_t>(131, 0xaa),
       "Test Using Larger Than Block-Size Key - Hash Key First",
       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
      {7, std::vector<std::uint8_t>(131, 0xaa),
       "This is a test using a larger than block-size key and a larger than block-size data. "
       "The key needs to be hashed before being used by the HMAC algorithm.",
       "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"},
  };
}

TEST(Rfc4231, EveryKnownAnswerVerifiesThroughTheHeaderForm) {
  for (const auto& c : rfc4231()) {
    key_ring ring;
    ASSERT_FALSE(ring.add("rfc", c.key).has_value());
    const verifier v(std::move(ring));
    const auto ok = v.verify(c.data, "rfc:" + c.mac, t0);
    EXPECT_EQ(ok.status, integrity_status::verified) << "test case " << c.number;
    // One bit off in the MAC, or one byte off in the data, fails.
    std::string wrong_mac = c.mac;
    wrong_mac[63] = wrong_mac[63] == '0' ? '1' : '0';
    EXPECT_EQ(v.verify(c.data, "rfc:" + wrong_mac, t0).status, integrity_status::invalid)
        << "test case " << c.number;
    std::string wrong_data = c.data;
    wrong_data[0] = static_cast<char>(wrong_data[0] ^ 1);
    const auto bad = v.verify(wrong_data, "rfc:" + c.mac, t0);
    EXPECT_EQ(bad.status, integrity_status::invalid) << "test case " << c.number;
    EXPECT_EQ(bad.problem, sig_problem::bad_mac);
  }
}

TEST(Rfc4231, TheInBodyFormMacsThePrefixPlusAClosingBrace) {
  // Test case 2's key over a body whose signed bytes are `{"q":"what do ya want for nothing?"}`.
  key_ring ring;
  ASSERT_FALSE(ring.add("jefe", {'J', 'e', 'f', 'e'}).has_value());
  const verifier v(std::move(ring));
  const std::string signed_bytes = R"({"q":"what do ya want for nothing?"})";
  const std::string mac = crypto::to_hex(
      crypto::hmac_sha256(std::vector<std::uint8_t>{'J', 'e', 'f', 'e'}, signed_bytes));
  const std::string event =
      R"({"q":"what do ya want for nothing?","sig":{"kid":"jefe","mac":")" + mac + R"("}})";
  EXPECT_EQ(v.verify(event, std::nullopt, t0).status, integrity_status::verified);
}

TEST(BodySignature, ASignedEventVerifiesAndNamesItsKey) {
  const auto e = signed_event(ev_of(1, t0));
  const auto v = default_verifier().verify(e.raw, std::nullopt, t0);
  EXPECT_EQ(v.status, integrity_status::verified);
  ASSERT_NE(v.key, nullptr);
  EXPECT_EQ(v.key->kid, "k1");
}

TEST(BodySignature, EveryEditedByteOfTheSignedPartFailsVerification) {
  const auto e = signed_event(ev_of(7, t0));
  const auto claim = find_body_signature(e.raw);
  ASSERT_EQ(claim.problem, sig_problem::none);
  const std::size_t signed_len = claim.signed_part.size();
  const verifier& v = default_verifier();
  for (std::size_t i = 0; i < signed_len; ++i) {
    std::string edited = e.raw;
    edited[i] = static_cast<char>(edited[i] == 'x' ? 'y' : 'x');
    EXPECT_NE(v.verify(edited, std::nullopt, t0).status, integrity_status::verified)
        << "byte " << i;
  }
}

TEST(BodySignature, ChangingAValueIsABadMac) {
  const auto e = signed_event(ev_of(7, t0));
  std::string edited = e.raw;
  const auto at = edited.find("\"seq\":7");
  ASSERT_NE(at, std::string::npos);
  edited[at + 6] = '8';
  const auto v = default_verifier().verify(edited, std::nullopt, t0);
  EXPECT_EQ(v.status, integrity_status::invalid);
  EXPECT_EQ(v.problem, sig_problem::bad_mac);
}

std::string mac_over(const std::string& signed_bytes, const std::string& hex = key1_hex) {
  return crypto::to_hex(crypto::hmac_sha256(bytes_of(hex), signed_bytes));
}

TEST(BodySignature, WhitespaceAroundMembersIsAllowedAndSignedAsIs) {
  // The signed bytes keep the space before the comma; the sig object may
  // list mac before kid and spread over lines.
  const std::string prefix = "  {\n \"source\" : \"srv-1\" , \"seq\" : 3 ";
  const std::string mac = mac_over("{\n \"source\" : \"srv-1\" , \"seq\" : 3 }");
  const std::string event =
      prefix + ",\n \"sig\" : {\n  \"mac\" : \"" + mac + "\" ,\n  \"kid\" : \"k1\"\n }\n}\r\n";
  EXPECT_EQ(default_verifier().verify(event, std::nullopt, t0).status, integrity_status::verified);
}

TEST(BodySignature, StringsAndNestedObjectsThatMentionSigDoNotConfuseTheScanner) {
  const std::string body =
      R"({"note":"a \"sig\": {\"kid\":\"k1\"}, } \\","nested":{"sig":{"kid":"x","mac":"y"}},)"
      R"("list":[{"sig":1},"]}"],"seq":1})";
  const auto e = sign_body(body, "k1", bytes_of(key1_hex));
  const auto claim = find_body_signature(e);
  EXPECT_EQ(claim.problem, sig_problem::none);
  EXPECT_EQ(claim.signed_part, body.substr(0, body.size() - 1));
  EXPECT_EQ(default_verifier().verify(e, std::nullopt, t0).status, integrity_status::verified);
}

TEST(BodySignature, ValuesFullOfQuotesBackslashesAndBracesAreSkippedExactly) {
  // Random member values from an alphabet of JSON's troublemakers, escaped
  // by the project's own writer: the scanner must find the same cut.
  std::mt19937 rng(11);
  const std::string alphabet = "a\\\"{}[],: \n";
  for (int round = 0; round < 2000; ++round) {
    json_writer w;
    w.begin_object();
    const int members = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < members; ++m) {
      std::string text;
      const int len = static_cast<int>(rng() % 12);
      for (int k = 0; k < len; ++k)
        text += alphabet[rng() % alphabet.size()];
      w.key(text).value(text);
    }
    w.end_object();
    const std::string body = w.take();
    const std::string event = sign_body(body, "k1", bytes_of(key1_hex));
    const auto claim = find_body_signature(event);
    ASSERT_EQ(claim.problem, sig_problem::none) << event;
    ASSERT_EQ(claim.signed_part, std::string_view(body).substr(0, body.size() - 1)) << event;
    ASSERT_EQ(default_verifier().verify(event, std::nullopt, t0).status,
              integrity_status::verified);
  }
}

TEST(BodySignature, ASigThatIsNotLastIsInvalid) {
  const auto body = std::string(R"({"source":"srv-1","seq":1})");
  const auto e = sign_body(body, "k1", bytes_of(key1_hex));
  // Move a member after the (otherwise valid) signature.
  const std::string moved = e.substr(0, e.size() - 1) + R"(,"extra":true})";
  const auto v = default_verifier().verify(moved, std::nullopt, t0);
  EXPECT_EQ(v.status, integrity_status::invalid);
  EXPECT_EQ(v.problem, sig_problem::sig_not_last);
}

TEST(BodySignature, MalformedSignaturesAreInvalidWithTheirReason) {
  const std::string mac(64, 'a');
  const std::vector<std::pair<std::string, sig_problem>> cases{
      {R"({"a":1,"sig":{"kid":"k1","mac":")" + mac + R"("},"sig":{"kid":"k1","mac":")" + mac +
           R"("}})",
       sig_problem::duplicate_sig},
      {R"({"a":1,"\u0073ig":{"kid":"k1","mac":")" + mac + R"("}})", sig_problem::sig_key_escaped},
      {R"({"sig":{"kid":"k1","mac":")" + mac + R"("}})", sig_problem::sig_only_member},
      {R"({"a":1,"sig":{"kid":"k1","mac":")" + std::string(64, 'A') + R"("}})",
       sig_problem::bad_mac_format},
      {R"({"a":1,"sig":{"kid":"k1","mac":")" + mac.substr(1) + R"("}})",
       sig_problem::bad_mac_format},
      {R"({"a":1,"sig":{"kid":"k1","mac":")" + mac + R"(","alg":"none"}})",
       sig_problem::bad_sig_object},
      {R"({"a":1,"sig":{"kid":"k1"}})", sig_problem::bad_sig_object},
      {R"({"a":1,"sig":"k1:)" + mac + R"("})", sig_problem::bad_sig_object},
      {R"({"a":1,"sig":{"kid":"","mac":")" + mac + R"("}})", sig_problem::bad_kid},
      {R"({"a":1,"sig":{"kid":"k\u0031","mac":")" + mac + R"("}})", sig_problem::bad_kid},
      {R"({"a":1,"sig":{"kid":"k1","mac":")" + mac + R"("}} trailing)",
       sig_problem::malformed_event},
      {R"(["not an object"])", sig_problem::malformed_event},
  };
  const verifier& v = default_verifier();
  for (const auto& [event, problem] : cases) {
    const auto r = v.verify(event, std::nullopt, t0);
    EXPECT_EQ(r.status, integrity_status::invalid) << event;
    EXPECT_EQ(r.problem, problem) << event;
    EXPECT_EQ(r.key, nullptr);
  }
}

TEST(BodySignature, AnEventWithoutSigIsUnsigned) {
  const verifier& v = default_verifier();
  EXPECT_EQ(v.verify(R"({"source":"srv-1","seq":1})", std::nullopt, t0).status,
            integrity_status::not_signed);
  EXPECT_EQ(v.verify("{}", std::nullopt, t0).status, integrity_status::not_signed);
  EXPECT_EQ(v.verify(R"({"sigma":1,"signature":2})", std::nullopt, t0).status,
            integrity_status::not_signed);
}

TEST(BodySignature, EveryTruncationOfASignedEventIsRejectedSafely) {
  const auto e = signed_event(ev_of(1, t0));
  const verifier& v = default_verifier();
  for (std::size_t n = 0; n < e.raw.size(); ++n) {
    const std::string cut = e.raw.substr(0, n); // own allocation: ASan sees any overread
    EXPECT_NE(v.verify(cut, std::nullopt, t0).status, integrity_status::verified) << n;
  }
}

TEST(BodySignature, AnUnknownKeyIdIsUnknownKeyAndNotEchoed) {
  const auto e = signed_event(ev_of(1, t0), "k9", key1_hex);
  const auto v = default_verifier().verify(e.raw, std::nullopt, t0);
  EXPECT_EQ(v.status, integrity_status::unknown_key);
  EXPECT_EQ(v.problem, sig_problem::unknown_kid);
  EXPECT_EQ(v.key, nullptr);
}

TEST(BodySignature, TheRightKeyIdWithTheWrongKeyIsABadMac) {
  const auto e = signed_event(ev_of(1, t0), "k1", key2_hex);
  const auto v = default_verifier().verify(e.raw, std::nullopt, t0);
  EXPECT_EQ(v.status, integrity_status::invalid);
  EXPECT_EQ(v.problem, sig_problem::bad_mac);
}

TEST(KeyRotation, AKeyIsAcceptedOnlyInsideItsWindow) {
  key_ring ring;
  ASSERT_FALSE(ring.add("old", bytes_of(key1_hex), {std::nullopt, t0}).has_value());
  ASSERT_FALSE(ring.add("new", bytes_of(key2_hex), {t0 - 60'000, std::nullopt}).has_value());
  const verifier v(std::move(ring));
  const auto by_old = signed_event(ev_of(1), "old", key1_hex);
  const auto by_new = signed_event(ev_of(1), "new", key2_hex);

  EXPECT_EQ(v.verify(by_old.raw, std::nullopt, t0).status, integrity_status::verified);
  const auto expired = v.verify(by_old.raw, std::nullopt, t0 + 1);
  EXPECT_EQ(expired.status, integrity_status::unknown_key);
  EXPECT_EQ(expired.problem, sig_problem::key_expired);

  EXPECT_EQ(v.verify(by_new.raw, std::nullopt, t0 - 60'000).status, integrity_status::verified);
  const auto early = v.verify(by_new.raw, std::nullopt, t0 - 60'001);
  EXPECT_EQ(early.status, integrity_status::unknown_key);
  EXPECT_EQ(early.problem, sig_problem::key_not_yet_valid);
}

TEST(HeaderSignature, TheHeaderCoversTheWholeValueAndWins) {
  const auto e = header_signed_event(ev_of(1, t0), "k2", key2_hex);
  const verifier& v = default_verifier();
  EXPECT_EQ(v.verify(e.raw, *e.header, t0).status, integrity_status::verified);
  // Upper-case hex and surrounding spaces are accepted in the header.
  std::string upper = *e.header;
  for (auto& c : upper)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  EXPECT_EQ(v.verify(e.raw, " " + upper + " ", t0).status, integrity_status::verified);
  // One byte anywhere in the value breaks it.
  std::string edited = e.raw;
  edited.back() = ' ';
  EXPECT_EQ(v.verify(edited, *e.header, t0).status, integrity_status::invalid);
  // A valid in-body signature does not rescue a bad header.
  const auto body = signed_event(ev_of(1, t0));
  EXPECT_EQ(v.verify(body.raw, "k1:" + std::string(64, '0'), t0).status, integrity_status::invalid);
}

TEST(HeaderSignature, AMalformedHeaderIsInvalid) {
  const verifier& v = default_verifier();
  const std::vector<std::string> headers{"", "k1", ":" + std::string(64, 'a'),
                                         "k1:" + std::string(63, 'a'),
                                         "k1:" + std::string(64, 'g')};
  for (const auto& h : headers) {
    const auto r = v.verify("{}", h, t0);
    EXPECT_EQ(r.status, integrity_status::invalid) << h;
    EXPECT_EQ(r.problem, sig_problem::bad_header) << h;
  }
}

TEST(KeyRing, LoadsHexEnvironmentAndFileKeysWithWindows) {
  bulwark::testing::temp_dir dir;
  bulwark::testing::write_file(dir.file("k3.hex"), key2_hex + "\n");
  std::filesystem::permissions(dir.file("k3.hex"), std::filesystem::perms::owner_read |
                                                       std::filesystem::perms::owner_write);
  ::setenv("BULWARK_INTEGRITY_TEST_KEY", key1_hex.c_str(), 1);
  using kind = config::key_source::kind;
  const std::map<std::string, config::key_source> keys{
      {"k1", {kind::hex, key1_hex}},
      {"k2", {kind::env, "BULWARK_INTEGRITY_TEST_KEY"}},
      {"k3", {kind::file, "k3.hex"}}};
  auto loaded = key_ring::load(keys, {{"k3", {t0, std::nullopt}}}, dir.path().string());
  ::unsetenv("BULWARK_INTEGRITY_TEST_KEY");
  ASSERT_TRUE(std::holds_alternative<key_ring>(loaded));
  const verifier v(std::get<key_ring>(std::move(loaded)));
  EXPECT_EQ(v.ring().size(), 3U);
  EXPECT_EQ(v.verify(signed_event(ev(), "k2", key1_hex).raw, std::nullopt, t0).status,
            integrity_status::verified);
  EXPECT_EQ(v.verify(signed_event(ev(), "k3", key2_hex).raw, std::nullopt, t0).status,
            integrity_status::verified);
  EXPECT_EQ(v.verify(signed_event(ev(), "k3", key2_hex).raw, std::nullopt, t0 - 1).status,
            integrity_status::unknown_key);
}

TEST(KeyRing, RefusesBadConfigurationNamingTheKeyIdNotTheKey) {
  using kind = config::key_source::kind;
  auto missing = key_ring::load({{"k1", {kind::env, "BULWARK_INTEGRITY_UNSET_VAR"}}}, {}, ".");
  ASSERT_TRUE(std::holds_alternative<key_ring_error>(missing));
  EXPECT_NE(std::get<key_ring_error>(missing).reason.find("integrity.keys.k1"), std::string::npos);

  auto short_key = key_ring::load({{"k1", {kind::hex, "00112233"}}}, {}, ".");
  ASSERT_TRUE(std::holds_alternative<key_ring_error>(short_key));
  EXPECT_EQ(std::get<key_ring_error>(short_key).reason.find("00112233"), std::string::npos);

  auto stray = key_ring::load({{"k1", {kind::hex, key1_hex}}}, {{"k2", {t0, std::nullopt}}}, ".");
  EXPECT_TRUE(std::holds_alternative<key_ring_error>(stray));

  key_ring ring;
  EXPECT_TRUE(ring.add("k1", bytes_of(key1_hex), {t0, t0 - 1}).has_value());
  EXPECT_TRUE(ring.add("", bytes_of(key1_hex)).has_value());
  EXPECT_TRUE(ring.add("k1", {}).has_value());
  EXPECT_FALSE(ring.add("k1", bytes_of(key1_hex)).has_value());
  EXPECT_TRUE(ring.add("k1", bytes_of(key2_hex)).has_value());
}

TEST(Glob, StarMatchesAnyRun) {
  EXPECT_TRUE(glob_match("fraud-svc-*", "fraud-svc-1"));
  EXPECT_TRUE(glob_match("fraud-svc-*", "fraud-svc-"));
  EXPECT_FALSE(glob_match("fraud-svc-*", "fraud-svc"));
  EXPECT_TRUE(glob_match("*latency*", "p99_latency_ms"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("srv-1", "srv-10"));
}

} // namespace
} // namespace bulwark::integrity
