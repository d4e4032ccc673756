#include "crypto/hmac.hpp"

#include <atomic>
#include <gtest/gtest.h>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::crypto {
namespace {

TEST(Sha256, MatchesTheFips180KnownAnswers) {
  EXPECT_EQ(to_hex(sha256("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(HmacSha256, MatchesRfc4231TestCases) {
  const std::vector<std::uint8_t> key1(20, 0x0b);
  EXPECT_EQ(to_hex(hmac_sha256(key1, "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  const std::string jefe = "Jefe";
  const std::vector<std::uint8_t> key2(jefe.begin(), jefe.end());
  EXPECT_EQ(to_hex(hmac_sha256(key2, "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size is hashed first.
  const std::vector<std::uint8_t> key6(131, 0xaa);
  EXPECT_EQ(to_hex(hmac_sha256(key6, "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(HmacSha256, MatchesTheRemainingRfc4231TestCases) {
  auto bytes = [](std::string_view hex) {
    std::vector<std::uint8_t> out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
      out.push_back(
          static_cast<std::uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
    return out;
  };
  // Test case 3: 50 bytes of 0xdd under twenty 0xaa.
  const std::vector<std::uint8_t> key3(20, 0xaa);
  EXPECT_EQ(to_hex(hmac_sha256(key3, std::string(50, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 4: key 0x01..0x19, 50 bytes of 0xcd.
  const auto key4 = bytes("0102030405060708090a0b0c0d0e0f10111213141516171819");
  EXPECT_EQ(to_hex(hmac_sha256(key4, std::string(50, '\xcd'))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 7: a long key and a long message.
  const std::vector<std::uint8_t> key7(131, 0xaa);
  EXPECT_EQ(to_hex(hmac_sha256(
                key7, "This is a test using a larger than block-size key and a larger than "
                      "block-size data. The key needs to be hashed before being used by the HMAC "
                      "algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST(HmacSha256, AcceptsAnEmptyKeyAndAnEmptyMessage) {
  EXPECT_EQ(to_hex(hmac_sha256(std::span<const std::uint8_t>{}, "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

// The per-thread cache keeps a few keyed contexts: a key evicted and used
// again, keys that share a prefix, and keys of different lengths must each
// still yield their own MAC, whatever order they come in.
TEST(HmacSha256, CachedKeysNeverLeakIntoOtherKeysResults) {
  std::vector<std::vector<std::uint8_t>> keys;
  for (int i = 0; i < 9; ++i)
    keys.emplace_back(static_cast<std::size_t>(16 + (i % 3)), static_cast<std::uint8_t>(0x40 + i));
  keys.push_back(keys[0]);
  keys.back().push_back(0x40); // keys[0] plus one byte: a prefix match is no match
  const std::vector<std::uint8_t> key1(20, 0x0b);
  const std::string rfc_case1 = "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7";
  std::vector<std::string> first;
  for (const auto& k : keys)
    first.push_back(to_hex(hmac_sha256(k, "telemetry")));
  for (std::size_t i = 0; i < first.size(); ++i)
    for (std::size_t j = i + 1; j < first.size(); ++j)
      EXPECT_NE(first[i], first[j]) << i << " vs " << j;
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const std::size_t k = (i * 7 + static_cast<std::size_t>(round)) % keys.size();
      EXPECT_EQ(to_hex(hmac_sha256(keys[k], "telemetry")), first[k]) << "key " << k;
      EXPECT_EQ(to_hex(hmac_sha256(key1, "Hi There")), rfc_case1);
    }
  }
}

TEST(HmacSha256, PartsHashLikeTheirConcatenation) {
  const std::vector<std::uint8_t> key(32, 0x5a);
  const std::string whole = R"({"source":"srv-1","seq":7})";
  const auto expected = hmac_sha256(key, whole);
  EXPECT_EQ(hmac_sha256(key, {std::string_view(whole).substr(0, whole.size() - 1), "}"}), expected);
  EXPECT_EQ(hmac_sha256(key, {"", whole, ""}), expected);
  EXPECT_EQ(hmac_sha256(key, {whole.substr(0, 3), whole.substr(3, 10), whole.substr(13)}),
            expected);
  EXPECT_NE(hmac_sha256(key, {whole, "}"}), expected);
}

TEST(Sha256, RepeatedCallsOnOneThreadStartFresh) {
  // The thread's context is reused: a call must not continue the last one.
  const std::string abc = to_hex(sha256("abc"));
  (void)sha256(std::string(1000, 'x'));
  EXPECT_EQ(to_hex(sha256("abc")), abc);
  // FIPS 180-2 two-block message.
  EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(HmacSha256, ThreadsComputeTheSameMacsConcurrently) {
  std::vector<std::vector<std::uint8_t>> keys;
  for (int i = 0; i < 6; ++i)
    keys.emplace_back(32, static_cast<std::uint8_t>(i + 1));
  std::vector<std::string> messages;
  for (int i = 0; i < 50; ++i)
    messages.push_back(std::string(static_cast<std::size_t>(i * 37), 'm') + std::to_string(i));
  std::vector<digest> expected;
  for (std::size_t i = 0; i < messages.size(); ++i)
    expected.push_back(hmac_sha256(keys[i % keys.size()], messages[i]));
  std::vector<digest> hashes;
  for (const auto& m : messages)
    hashes.push_back(sha256(m));
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 200; ++round)
        for (std::size_t i = 0; i < messages.size(); ++i) {
          const std::size_t j = (i + static_cast<std::size_t>(t * 11 + round)) % messages.size();
          if (hmac_sha256(keys[j % keys.size()], messages[j]) != expected[j]) ++mismatches;
          if (sha256(messages[j]) != hashes[j]) ++mismatches;
        }
    });
  for (auto& th : threads)
    th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ConstantTimeEqual, ComparesContentAndLength) {
  const std::vector<std::uint8_t> a{1, 2, 3}, b{1, 2, 3}, c{1, 2, 4}, d{1, 2};
  EXPECT_TRUE(constant_time_equal(a, b));
  EXPECT_FALSE(constant_time_equal(a, c));
  EXPECT_FALSE(constant_time_equal(a, d));
}

} // namespace
} // namespace bulwark::crypto
