#include "crypto/ed25519.hpp"
#include "crypto/hmac.hpp"
#include "support/temp_dir.hpp"

#include <cstdlib>
#include <filesystem>
#include <gtest/gtest.h>

namespace bulwark::crypto {
namespace {

using bulwark::testing::temp_dir;
using bulwark::testing::write_file;

key_bytes unhex(std::string_view hex) {
  if (hex.empty()) return {};
  auto k = decode_hex(hex);
  if (!std::holds_alternative<key_bytes>(k)) std::abort();
  return std::get<key_bytes>(k);
}

std::string as_text(const key_bytes& b) {
  return {b.begin(), b.end()};
}

// RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte).
const std::string test1_seed = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
const std::string test1_public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const std::string test1_signature =
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
    "46bd25bf5f0595bbe24655141438e7a100b";
const std::string test2_seed = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";
const std::string test2_public = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const std::string test2_signature =
    "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
    "d8c387b2eaeb4302aeeb00d291612bb0c00";

// TEST 1's key as `openssl genpkey -algorithm ed25519` writes it (PKCS#8).
const std::string test1_private_pem =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
const std::string test1_public_pem =
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=\n"
    "-----END PUBLIC KEY-----\n";

ed25519_signer must(std::variant<ed25519_signer, key_error> v) {
  if (auto* e = std::get_if<key_error>(&v)) {
    ADD_FAILURE() << e->reason;
    std::abort();
  }
  return std::get<ed25519_signer>(std::move(v));
}

TEST(Ed25519, SignaturesMatchTheRfc8032KnownAnswers) {
  const auto s1 = must(ed25519_signer::from_seed(unhex(test1_seed)));
  EXPECT_EQ(to_hex(s1.public_key()), test1_public);
  EXPECT_EQ(to_hex(s1.sign("")), test1_signature);
  const auto s2 = must(ed25519_signer::from_seed(unhex(test2_seed)));
  EXPECT_EQ(to_hex(s2.public_key()), test2_public);
  EXPECT_EQ(to_hex(s2.sign(as_text(unhex("72")))), test2_signature);
}

TEST(Ed25519, TheKnownAnswerSignaturesVerifyAndAnyChangeFails) {
  ed25519_public_key pub{};
  const auto p = unhex(test2_public);
  std::copy(p.begin(), p.end(), pub.begin());
  const auto sig = unhex(test2_signature);
  const std::string msg = as_text(unhex("72"));
  EXPECT_TRUE(ed25519_verify(pub, msg, sig));
  EXPECT_FALSE(ed25519_verify(pub, "\x73", sig));
  EXPECT_FALSE(ed25519_verify(pub, "", sig));
  for (std::size_t bit = 0; bit < sig.size() * 8; bit += 7) {
    auto wrong = sig;
    wrong[bit / 8] ^= static_cast<std::uint8_t>(1U << (bit % 8));
    EXPECT_FALSE(ed25519_verify(pub, msg, wrong)) << "signature bit " << bit;
  }
  auto other_key = pub;
  other_key[0] ^= 1;
  EXPECT_FALSE(ed25519_verify(other_key, msg, sig));
  EXPECT_FALSE(ed25519_verify(pub, msg, std::span<const std::uint8_t>(sig).first(63)));
}

TEST(Ed25519, APemPrivateKeySignsLikeItsSeedAndYieldsItsPublicKey) {
  const auto from_pem = must(ed25519_signer::from_pem(test1_private_pem));
  EXPECT_EQ(to_hex(from_pem.public_key()), test1_public);
  EXPECT_EQ(to_hex(from_pem.sign("")), test1_signature);

  auto pub = ed25519_public_key_from_pem(test1_public_pem);
  ASSERT_TRUE(std::holds_alternative<ed25519_public_key>(pub));
  EXPECT_EQ(to_hex(std::get<ed25519_public_key>(pub)), test1_public);
  auto derived = ed25519_public_key_from_pem(test1_private_pem);
  ASSERT_TRUE(std::holds_alternative<ed25519_public_key>(derived));
  EXPECT_EQ(to_hex(std::get<ed25519_public_key>(derived)), test1_public);
}

TEST(Ed25519, KeysThatAreNotEd25519AreRefusedWithoutEchoingThem) {
  const std::string garbage = "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n"
                              "-----END PRIVATE KEY-----\n";
  auto bad = ed25519_signer::from_pem(garbage);
  ASSERT_TRUE(std::holds_alternative<key_error>(bad));
  EXPECT_EQ(std::get<key_error>(bad).reason.find("base64"), std::string::npos);
  EXPECT_TRUE(std::holds_alternative<key_error>(ed25519_signer::from_seed(unhex("00112233"))));
  EXPECT_TRUE(std::holds_alternative<key_error>(ed25519_public_key_from_pem("nothing")));
  // A configured hex key of the wrong size: the error names the source only.
  const std::string short_seed = "00112233445566778899aabbccddeeff0011223344";
  auto wrong =
      ed25519_signer::load(config::key_source{config::key_source::kind::hex, short_seed}, ".");
  ASSERT_TRUE(std::holds_alternative<key_error>(wrong));
  EXPECT_EQ(std::get<key_error>(wrong).reason.find(short_seed), std::string::npos);
  EXPECT_NE(std::get<key_error>(wrong).reason.find("hex Ed25519 key"), std::string::npos);
}

TEST(Ed25519, ConfiguredKeysLoadFromAPrivateFileOrAHexSeed) {
  temp_dir dir;
  write_file(dir.file("audit.pem"), test1_private_pem);
  std::filesystem::permissions(dir.file("audit.pem"), std::filesystem::perms::owner_read |
                                                          std::filesystem::perms::owner_write);
  const auto from_file = must(ed25519_signer::load(
      config::key_source{config::key_source::kind::file, "audit.pem"}, dir.path().string()));
  EXPECT_EQ(to_hex(from_file.public_key()), test1_public);

  const auto from_hex = must(
      ed25519_signer::load(config::key_source{config::key_source::kind::hex, test2_seed}, "."));
  EXPECT_EQ(to_hex(from_hex.public_key()), test2_public);

  std::filesystem::permissions(dir.file("audit.pem"), std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto exposed = ed25519_signer::load(
      config::key_source{config::key_source::kind::file, "audit.pem"}, dir.path().string());
  ASSERT_TRUE(std::holds_alternative<key_error>(exposed));
  EXPECT_NE(std::get<key_error>(exposed).reason.find("other users"), std::string::npos);
}

} // namespace
} // namespace bulwark::crypto
