#include "scan/validators.hpp"

#include <gtest/gtest.h>

namespace bulwark::scan {
namespace {

TEST(Luhn, AcceptsTestCardsOfTheMajorBrandsWithAnySeparators) {
  for (const char* card : {"4111111111111111", "4111 1111 1111 1111", "4111-1111-1111-1111",
                           "5555555555554444", "378282246310005", "6011111111111117",
                           "3530111333300000", "36227206271667", "6200000000000005"}) {
    EXPECT_TRUE(luhn_valid(card)) << card;
  }
}

TEST(Luhn, RejectsNumbersThatFailTheChecksumOrHaveTheWrongLength) {
  for (const char* card :
       {"4111111111111112", "1234567812345678", "4111", "0", "41111111111111111111111", ""}) {
    EXPECT_FALSE(luhn_valid(card)) << card;
  }
}

TEST(Iban, AcceptsValidIbansOfSeveralCountriesWithOrWithoutSpaces) {
  for (const char* iban :
       {"DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432",
        "gb82 west 1234 5698 7654 32", "FR1420041010050500013M02606", "NO9386011117947",
        "NL91ABNA0417164300", "CH9300762011623852957"}) {
    EXPECT_TRUE(iban_valid(iban)) << iban;
  }
}

TEST(Iban, RejectsABadCheckDigitAWrongLengthOrAnUnknownCountry) {
  for (const char* iban :
       {"GB82WEST12345698765433", "DE8937040044053201300", "DE893704004405320130000",
        "XX89370400440532013000", "DE89", "DE89-3704-0044-0532-0130-00"}) {
    EXPECT_FALSE(iban_valid(iban)) << iban;
  }
}

TEST(UsSsn, AcceptsWellFormedNumbers) {
  for (const char* ssn : {"536-22-1234", "536221234", "536 22 1234", "001-01-0001"}) {
    EXPECT_TRUE(us_ssn_valid(ssn)) << ssn;
  }
}

TEST(UsSsn, RejectsNumbersThatCannotBeIssued) {
  for (const char* ssn :
       {"000-12-3456", "666-12-3456", "900-12-3456", "999-12-3456", "536-00-1234", "536-22-0000",
        "123-45-6789", "078-05-1120", "536-22-123", "536-22-12345", "53a-22-1234"}) {
    EXPECT_FALSE(us_ssn_valid(ssn)) << ssn;
  }
}

TEST(Jwt, AcceptsATokenWhoseHeaderAndPayloadAreJsonObjects) {
  EXPECT_TRUE(
      jwt_valid("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
                "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"));
}

TEST(Jwt, RejectsLookAlikes) {
  // Three dotted base64 segments that do not decode to a JOSE header.
  EXPECT_FALSE(jwt_valid("aGVsbG8.d29ybGQ.Zm9v"));
  EXPECT_FALSE(jwt_valid("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0"));   // two segments
  EXPECT_FALSE(jwt_valid("eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiIxIn0.sig")); // no alg
  EXPECT_FALSE(jwt_valid("version.1.2"));
}

TEST(Entropy, RandomLooksRandomAndRepetitionDoesNot) {
  EXPECT_DOUBLE_EQ(shannon_entropy("aaaaaaaa"), 0.0);
  EXPECT_DOUBLE_EQ(shannon_entropy("abababab"), 1.0);
  EXPECT_GT(shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), 4.0);
  EXPECT_LT(shannon_entropy("passwordpassword"), 3.0);
}

TEST(GithubToken, AcceptsATokenWhoseLastSixCharactersAreTheCrc32OfItsPayload) {
  // Checksum computed independently with Python's zlib.crc32 + base62.
  EXPECT_TRUE(github_token_crc_valid("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"));
}

TEST(GithubToken, RejectsAnyChangeToPayloadOrChecksum) {
  EXPECT_FALSE(github_token_crc_valid("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ01244WLnuK"));
  EXPECT_FALSE(github_token_crc_valid("ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234WLnuL"));
  EXPECT_FALSE(github_token_crc_valid("ghp_16C7e42F292c6912E7710c838347Ae178B4a"));
  EXPECT_FALSE(github_token_crc_valid("ghp_short"));
}

} // namespace
} // namespace bulwark::scan
