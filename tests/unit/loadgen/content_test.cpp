#include "loadgen/content.hpp"
#include "scan/validators.hpp"

#include <gtest/gtest.h>
#include <set>
#include <string>

namespace bulwark::loadgen {
namespace {

// The checks here come from the scan module (the detectors' own validators),
// so the generator and the detectors agree on what a valid value is.

TEST(Content, Crc32MatchesTheStandardCheckValue) {
  EXPECT_EQ(content::crc32("123456789"), 0xCBF43926U);
  EXPECT_EQ(content::crc32(""), 0U);
}

TEST(Content, CardNumbersPassLuhnAndVary) {
  rng r(7);
  std::set<std::string> seen;
  for (int i = 0; i < 2'000; ++i) {
    const std::string c = content::card_number(r);
    ASSERT_TRUE(scan::luhn_valid(c)) << c;
    ASSERT_TRUE(content::luhn_ok(c)) << c;
    ASSERT_EQ(c.size(), 19U) << c;
    ASSERT_TRUE(c[0] == '4' || c[0] == '5') << c;
    seen.insert(c);
  }
  EXPECT_GT(seen.size(), 1'990U);
  EXPECT_FALSE(content::luhn_ok("4539 1488 0343 6468"));
}

TEST(Content, IbansPassMod97) {
  rng r(8);
  for (int i = 0; i < 2'000; ++i) {
    const std::string v = content::iban(r);
    ASSERT_TRUE(scan::iban_valid(v)) << v;
    ASSERT_TRUE(content::iban_ok(v)) << v;
    ASSERT_EQ(v.rfind("DE", 0), 0U);
  }
  EXPECT_TRUE(content::iban_ok("DE89 3704 0044 0532 0130 00"));
  EXPECT_FALSE(content::iban_ok("DE88 3704 0044 0532 0130 00"));
}

TEST(Content, SsnsHaveValidAreasGroupsAndSerials) {
  rng r(9);
  for (int i = 0; i < 5'000; ++i) {
    const std::string v = content::ssn(r);
    ASSERT_TRUE(scan::us_ssn_valid(v)) << v;
    ASSERT_EQ(v.size(), 11U);
  }
}

TEST(Content, GithubTokensCarryTheirCrcCheck) {
  rng r(10);
  for (int i = 0; i < 2'000; ++i) {
    const std::string v = content::github_token(r);
    ASSERT_EQ(v.size(), 40U);
    ASSERT_TRUE(scan::github_token_crc_valid(v)) << v;
    std::string broken = v;
    broken[10] = broken[10] == 'a' ? 'b' : 'a';
    ASSERT_FALSE(scan::github_token_crc_valid(broken)) << broken;
  }
}

TEST(Content, AwsKeysHaveTheAccessKeyIdShape) {
  rng r(11);
  for (int i = 0; i < 1'000; ++i) {
    const std::string v = content::aws_access_key(r);
    ASSERT_EQ(v.size(), 20U);
    ASSERT_EQ(v.rfind("AKIA", 0), 0U);
    for (char c : v.substr(4))
      ASSERT_TRUE((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')) << v;
  }
}

TEST(Content, PemKeysAreArmouredBase64) {
  rng r(12);
  const std::string v = content::pem_private_key(r);
  EXPECT_EQ(v.rfind("-----BEGIN RSA PRIVATE KEY-----\n", 0), 0U);
  EXPECT_EQ(v.substr(v.size() - 30), "\n-----END RSA PRIVATE KEY-----");
  EXPECT_GT(v.size(), 250U);
}

TEST(Content, CleanTextCarriesNoDigitsAtSignsOrLineBreaks) {
  rng r(13);
  for (int i = 0; i < 2'000; ++i) {
    const std::string s = content::sentence(r, 3, 20);
    ASSERT_EQ(s.find_first_of("0123456789@\n\r=:"), std::string::npos) << s;
    ASSERT_EQ(s.back(), '.');
  }
}

TEST(Content, TraceIdsStartWithALetter) {
  rng r(14);
  for (int i = 0; i < 1'000; ++i) {
    const std::string t = content::trace_id(r);
    ASSERT_EQ(t.size(), 32U);
    ASSERT_TRUE(t[0] >= 'a' && t[0] <= 'f') << t;
  }
}

TEST(Content, TheGeneratorIsReproducibleAndUniform) {
  rng a(42);
  rng b(42);
  for (int i = 0; i < 1'000; ++i)
    ASSERT_EQ(a.next(), b.next());
  rng r(3);
  double sum = 0;
  double sq = 0;
  const int n = 100'000;
  for (int i = 0; i < n; ++i) {
    const double z = r.normal();
    sum += z;
    sq += z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.02);
  EXPECT_NEAR(sq / n, 1.0, 0.02);
  int hits[6] = {};
  for (int i = 0; i < 60'000; ++i)
    ++hits[r.between(0, 5)];
  for (int h : hits)
    EXPECT_NEAR(h, 10'000, 500);
}

} // namespace
} // namespace bulwark::loadgen
