#include "config/rules.hpp"
#include "scan/filter.hpp"
#include "scan/normalize.hpp"
#include "scan/ruleset.hpp"
#include "scan/scanner.hpp"

#include <gtest/gtest.h>
#include <re2/re2.h>

namespace bulwark::scan {
namespace {

std::string cut(std::string_view pattern, double bits) {
  return hyperscan_filter(pattern, false, bits).value_or("(not cut)");
}

} // namespace

TEST(Filter, CutsABranchOnceItIsSelectiveEnough) {
  // Letters count 3 bits (capped), [A-Z2-7] 3: 12 + 13 x 3 >= 48.
  EXPECT_EQ(cut(R"(\b(AKIA[A-Z2-7]{16})\b)", 48), R"(\b(AKIA[A-Z2-7]{13}))");
  // A quantified group keeps its first repetitions whole; the trailing
  // groups and `\b` go.
  EXPECT_EQ(cut(R"(\bDE\d{2}(?: ?[A-Z0-9]{4}){4} ?[A-Z0-9]{2}\b)", 48),
            R"(\bDE\d{2}(?: ?[A-Z0-9]{4}){3})");
  // Assertions and optional pieces add nothing.
  // A digit is 8 bits (1 in ~250 bytes of telemetry).
  EXPECT_EQ(cut(R"(^x?\b\s*1234567)", 16), R"(^x?\b\s*123)");
}

TEST(Filter, CutsEachBranchOfAnAlternationOnItsOwn) {
  EXPECT_EQ(cut("12345678|xy[0-9]{8}", 24), "1234|xy[0-9]{4}");
  EXPECT_EQ(cut("(?:NO\\d{2}a{9}|BE\\d{2}b{9})c", 28), "(?:NO\\d{2}a{5}|BE\\d{2}b{5})");
}

TEST(Filter, NeverCutsAGroupWhoseBranchesWouldStopAtDifferentPlaces) {
  // Cutting "2345678" inside the group and keeping "9" after it would need
  // "234" directly before "9": not a prefix of the pattern's matches. The
  // group stays whole (it is worth its least branch) and the cut comes after.
  EXPECT_EQ(cut("(?:1|2345678)9012", 24), "(?:1|2345678)901");
}

TEST(Filter, LeavesShortPatternsAndUnfollowedSyntaxAlone) {
  EXPECT_EQ(hyperscan_filter(R"(\bsk-ant-\w+)", false, 200), std::nullopt);
  EXPECT_EQ(hyperscan_filter(R"((?=x)abcdefghijkl)", false, 8), std::nullopt);
  EXPECT_EQ(hyperscan_filter(R"(\p{L}abcdefghijkl)", false, 8), std::nullopt);
  EXPECT_EQ(hyperscan_filter(R"([[:alpha:]]abcdefghijkl)", false, 8), std::nullopt);
  EXPECT_EQ(hyperscan_filter(R"((a)\1bcdefghijkl)", false, 8), std::nullopt);
  EXPECT_EQ(hyperscan_filter(R"((?x)a b c d e f g)", false, 8), std::nullopt);
  EXPECT_EQ(hyperscan_filter(R"(abc[def)", false, 8), std::nullopt);
}

TEST(Filter, ReadsClassesEscapesAndFlagsAsOneAtomEach) {
  // [\]\-x]: 5.3 bits ('x' is common); \x{1F600}: a non-ASCII byte, 9.7; \x41: a letter, 3.
  EXPECT_EQ(cut(R"([\]\-x]{4}\x{1F600}\x41zzzz)", 33), R"([\]\-x]{4}\x{1F600}\x41)");
  EXPECT_EQ(cut("(?i)(?:ab){3}cd", 6), "(?i)(?:ab)");
  EXPECT_EQ(cut(R"(\d{2,}?x{1,3}y)", 9.4), R"(\d{2,}?x)");
  EXPECT_EQ(cut("caf\xC3\xA9s and more", 18), "caf\xC3\xA9");
}

TEST(Filter, ACaselessClassCountsBothCases) {
  // [A-Z] is rare in telemetry (3.3 bits), [A-Za-z] common (0.5).
  EXPECT_EQ(cut("[A-Z]{20}", 10), "[A-Z]{4}");
  EXPECT_EQ(hyperscan_filter("[A-Z]{20}", true, 10), std::nullopt);
  EXPECT_EQ(hyperscan_filter("(?i)[A-Z]{20}", false, 10), std::nullopt);
  EXPECT_EQ(cut("(?i:x)[A-Z]{20}", 10), "(?i:x)[A-Z]{3}");
}

TEST(Filter, FlattensAnAlternationOfDigitFormatsIntoOneClassSequence) {
  // Issuer prefixes, then an optional separator: every match starts with a
  // byte of [45], three digits, a digit or separator, three digits.
  EXPECT_EQ(cut(R"((?:^|[^\w.])(4\d{3}[ -]?\d{4}|5[1-5]\d{2}[ -]?\d{4}|4\d{7})\b)", 40),
            R"((?:^|[^\w.])[45][0-9]{3}[\x20\x2d0-9][0-9]{3})");
  // Only as far as the budget asks.
  EXPECT_EQ(cut(R"((\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}))", 20), R"([0-9]{3}[\x20\x2d])");
  // A shorter branch bounds the window: the classes stop at its length.
  EXPECT_EQ(cut(R"((?:[12]\d{4}|3\d{6}))", 30), R"([1-3][0-9]{4})");
}

TEST(Filter, LeavesAlternationsWithLettersOrTooLittleSelectivityAlone) {
  // Words are literals to Hyperscan, cheap as they are.
  EXPECT_EQ(cut(R"((?:ab12|cd34)5678)", 100), "(not cut)");
  // A class that admits non-ASCII bytes: one UTF-8 character, several offsets.
  EXPECT_EQ(cut(R"((?:[^\w\s]\d{6}|#\d{7}))", 40), "(not cut)");
  // A union of ranges too wide to keep three quarters of the budget.
  EXPECT_EQ(cut(R"((?:[ -/]{4}|[:-@]{4}))", 40), "(not cut)");
}

TEST(Filter, RequiredLiteralIsTheLongestRunEveryMatchHolds) {
  EXPECT_EQ(required_literal(R"((?:[^A-Za-z0-9/+=]|^)([A-Za-z0-9/+]{40}))", false), 0U);
  EXPECT_EQ(required_literal(R"((?i)\bpass(?:[ \t]{0,2}[:=]|[ \t]{1,3})(\S+))", false), 4U);
  EXPECT_EQ(required_literal(R"((?:[ \t]|^)(?:-a|--pass)[ \t]+(\S+))", false), 2U);
  EXPECT_EQ(required_literal(R"(\b(AC[0-9a-f]{14}))", false), 2U);
  EXPECT_EQ(required_literal(R"(x?abc(?:de)?f{2,})", false), 3U);
  EXPECT_EQ(required_literal(R"(a{3}b)", false), 4U);
  EXPECT_EQ(required_literal(R"(a{2,3}b)", false), 2U);
  EXPECT_EQ(required_literal(R"([ab]cd|efg)", false), 2U);
  EXPECT_EQ(required_literal(R"((a)\1)", false), 0U) << "syntax the parser does not follow";
}

// The property the scanner relies on: wherever a built-in rule's pattern
// matches (its examples, on the text its form scans), its filter matches too.
TEST(Filter, EveryBuiltInRuleFilterMatchesWhereverItsPatternDoes) {
  int cut_rules = 0;
  for (const char* pack : {"secrets", "pii", "injection", "prompt_injection"}) {
    auto loaded = config::load_rule_file(default_rules_dir() + "/" + pack + ".yaml");
    ASSERT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(loaded)) << pack;
    for (const auto& r : std::get<std::vector<config::rule_spec>>(loaded)) {
      const auto filter = hyperscan_filter(r.pattern, r.form == config::text_form::normalized);
      if (!filter) continue;
      ++cut_rules;
      re2::RE2::Options o;
      o.set_log_errors(false);
      const re2::RE2 exact(r.pattern, o);
      const re2::RE2 loose(*filter, o);
      ASSERT_TRUE(loose.ok()) << r.id << ": " << *filter;
      for (const auto& examples : {r.match, r.no_match})
        for (const auto& ex : examples) {
          std::string text = ex.text;
          if (r.form == config::text_form::normalized) {
            normalized_text n;
            normalize(ex.text, n);
            text = n.text;
          }
          if (re2::RE2::PartialMatch(text, exact)) {
            EXPECT_TRUE(re2::RE2::PartialMatch(text, loose)) << r.id << ": " << ex.text;
          }
        }
    }
  }
  EXPECT_GT(cut_rules, 20); // the cut is in use: ibans, cards, phones, tokens
}

// A filter decides only which rules RE2 runs: a text the loose filter accepts
// but the exact pattern does not yields nothing.
TEST(Filter, TheExactPatternStillDecides) {
  config::rule_spec r;
  r.id = "wide";
  r.cat = category::pii;
  r.pattern = R"(\b(QX\d{2}(?:-[A-Z]{4}){5})\b)";
  ASSERT_TRUE(hyperscan_filter(r.pattern, false).has_value());
  auto built = ruleset::build({r});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const ruleset>>(built))
      << std::get<std::string>(built);
  scanner s(std::get<std::shared_ptr<const ruleset>>(built));
  std::vector<match> out;
  s.scan("id QX12-ABCD-EFGH-IJKL x", out);
  EXPECT_TRUE(out.empty());
  s.scan("id QX12-ABCD-EFGH-IJKL-MNOP-QRST x", out);
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].begin, 3U);
  EXPECT_EQ(out[0].end, 32U);
}

} // namespace bulwark::scan
