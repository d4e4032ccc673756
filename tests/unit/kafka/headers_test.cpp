#include "kafka/headers.hpp"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace bulwark::kafka {
namespace {

TEST(Headers, OrdinaryHeadersTravelEvenWithBinaryValuesAndNoValue) {
  const std::vector<header> hs{{"traceparent", "00-abc-def-01"},
                               {"x-binary", std::string_view("\xff\xfe\x00", 3)},
                               {"bw-sig", "k1:00ff"},
                               {"empty", std::nullopt}};
  EXPECT_FALSE(header_problem(hs));
  EXPECT_FALSE(header_problem({}));
}

TEST(Headers, NamesMustBePrintableAsciiAndNotEmpty) {
  for (const std::string_view name :
       {std::string_view(""), std::string_view("a b"), std::string_view("evil\x1b[31m"),
        std::string_view("line\nbreak"), std::string_view("caf\xc3\xa9"),
        std::string_view("nul\0x", 5)}) {
    const std::vector<header> hs{{"ok", "1"}, {name, "v"}};
    EXPECT_TRUE(header_problem(hs)) << "name of " << name.size() << " bytes";
  }
  const std::string long_name(256, 'a');
  EXPECT_TRUE(header_problem(std::vector<header>{{long_name, "v"}}));
  const std::string longest(255, 'a');
  EXPECT_FALSE(header_problem(std::vector<header>{{longest, "v"}}));
}

TEST(Headers, ANameBulwarkWritesCannotBeForged) {
  EXPECT_TRUE(header_problem(std::vector<header>{{"bw-reason", "not_json"}}));
  EXPECT_TRUE(header_problem(std::vector<header>{{"BW-Reason", "not_json"}}));
  EXPECT_FALSE(header_problem(std::vector<header>{{"bw-reasons", "x"}}));
}

TEST(Headers, CountAndSizeAreBounded) {
  std::vector<header> many(65, header{"h", "v"});
  EXPECT_TRUE(header_problem(many));
  many.resize(64);
  EXPECT_FALSE(header_problem(many));

  const std::string big(64 * 1024 + 1, 'x');
  EXPECT_TRUE(header_problem(std::vector<header>{{"big", big}}));
  const std::string fits(64 * 1024, 'x');
  EXPECT_FALSE(header_problem(std::vector<header>{{"fits", fits}}));

  header_limits small;
  small.max_total_bytes = 100;
  const std::string sixty(60, 'x');
  EXPECT_TRUE(header_problem(std::vector<header>{{"a", sixty}, {"b", sixty}}, small));
  EXPECT_FALSE(header_problem(std::vector<header>{{"a", sixty}}, small));
}

TEST(Headers, TheReasonNeverQuotesAHeader) {
  const std::string secret = "AKIAQWERTYUIOPASDFGH";
  const auto why = header_problem(std::vector<header>{{"x\x01" + secret, secret}});
  ASSERT_TRUE(why);
  EXPECT_EQ(why->find(secret), std::string_view::npos);
}

} // namespace
} // namespace bulwark::kafka
