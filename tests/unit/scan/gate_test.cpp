#include "config/rules.hpp"
#include "scan/gate.hpp"
#include "scan/normalize.hpp"
#include "scan/ruleset.hpp"
#include "scan/scanner.hpp"

#include <gtest/gtest.h>

namespace bulwark::scan {
namespace {

byte_set of(std::string_view bytes) {
  byte_set s;
  for (const char c : bytes)
    s.add(static_cast<unsigned char>(c));
  return s;
}

byte_set digits() {
  byte_set s;
  s.add_range('0', '9');
  return s;
}

bool holds_one_of(std::string_view text, const byte_set& s) {
  for (const char c : text)
    if (s.has(static_cast<unsigned char>(c))) return true;
  return false;
}

} // namespace

TEST(ByteSet, CaseClosedAddsTheOtherCaseOfEachLetterAndNothingElse) {
  // Every single byte, then sets with letters at the edges of both ranges.
  for (unsigned b = 0; b < 256; ++b) {
    byte_set s;
    s.add(static_cast<unsigned char>(b));
    byte_set want = s;
    if (b >= 'a' && b <= 'z') want.add(static_cast<unsigned char>(b - 32));
    if (b >= 'A' && b <= 'Z') want.add(static_cast<unsigned char>(b + 32));
    EXPECT_EQ(s.case_closed(), want) << b;
  }
  EXPECT_EQ(of("@AZ[`az{").case_closed(), of("@AZaz[`{"));
  EXPECT_EQ(of("Mq\xff").case_closed(), of("MmQq\xff"));
  byte_set all = byte_set{}.inverted();
  EXPECT_EQ(all.case_closed(), all);
}

TEST(Gate, ACaseInsensitiveRangeNeedsBothCasesOfItsLetters) {
  byte_set want;
  want.add_range('X', 'Z');
  want.add_range('x', 'z');
  EXPECT_EQ(required_bytes("(?i)[X-Z]"), want);
  want.add_range('0', '9');
  EXPECT_EQ(required_bytes("(?i)[0-9x-z]"), want);
}

TEST(Gate, ASequenceNeedsItsRarestPiece) {
  EXPECT_EQ(required_bytes("abc@x"), of("@"));
  EXPECT_EQ(required_bytes(R"(\d{3}-\d{2}-\d{4})", digits()), digits());
  EXPECT_EQ(required_bytes(R"(\b(AKIA[A-Z2-7]{16})\b)", of("A")), of("A"));
}

TEST(Gate, OptionalPiecesAndUnconstrainedBranchesRequireNothing) {
  EXPECT_EQ(required_bytes("a?@?b", of("@")), std::nullopt);
  EXPECT_EQ(required_bytes(R"(x(?:\d|y))", digits()), std::nullopt);
  EXPECT_EQ(required_bytes(R"((?:\d{2}|[0-4]x)q)", digits()), digits());
  EXPECT_EQ(required_bytes("(?:<|&lt;)s", of("<&")), of("<&"));
  EXPECT_EQ(required_bytes("x{0,3}@", of("x")), std::nullopt);
  EXPECT_EQ(required_bytes("x{2}y", of("x")), of("x"));
}

TEST(Gate, CaseInsensitivePatternsNeedEitherCase) {
  EXPECT_EQ(required_bytes("(?i)k", of("kK")), of("kK"));
  EXPECT_EQ(required_bytes("(?i:k)", of("k")), std::nullopt);
  EXPECT_EQ(required_bytes("(?i)(?-i:k)", of("k")), of("k"));
  EXPECT_EQ(required_bytes("[^a-z]", of("A")), std::nullopt);
}

TEST(Gate, AQuantifiedUtf8CharacterIsOneAtom) {
  // `é?` must not make its lead byte required.
  byte_set high;
  high.add_range(0x80, 0xFF);
  EXPECT_EQ(required_bytes("n\xC3\xA9?e", high), std::nullopt);
  EXPECT_EQ(required_bytes("n\xC3\xA9", high), of("\xC3"));
  EXPECT_EQ(required_bytes("(?i)n\xC3\xA9", high), high); // case folding changes bytes
  EXPECT_EQ(required_bytes(R"([\x{80}-\x{9f}])", high), high);
}

TEST(Gate, WhatItDoesNotUnderstandGetsNoGate) {
  for (const char* p :
       {"(?=x)@", R"((a)\1@)", R"(\p{L}@x)", "[[:alpha:]]@", "a(?<!b)@", "(@", "@)", "[@", "(?x)@"})
    EXPECT_EQ(required_bytes(p), std::nullopt) << p;
}

// Every match example of every built-in rule holds a byte of the rule's gate,
// in every gate class the analysis finds one for: the gate never hides a match
// the examples know of.
TEST(Gate, EveryBuiltInExampleOpensItsRulesGates) {
  byte_set symbols = of("!#$%&*+;<=>?@[\\]^`{|}~\x7f");
  symbols.add_range(0, 0x1F);
  byte_set high;
  high.add_range(0x80, 0xFF);
  byte_set any = byte_set{}.inverted();
  std::size_t gated = 0;
  for (const char* pack : {"secrets", "pii", "injection", "prompt_injection"}) {
    auto loaded = config::load_rule_file(default_rules_dir() + "/" + pack + ".yaml");
    ASSERT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(loaded)) << pack;
    normalized_text norm;
    for (const auto& r : std::get<std::vector<config::rule_spec>>(loaded)) {
      for (const byte_set& within : {of("@"), symbols, digits(), high, any}) {
        auto need = required_bytes(r.pattern, within);
        if (!need) continue;
        ++gated;
        const bool normalized = r.form == config::text_form::normalized;
        for (const auto& ex : r.match) {
          std::string_view text = ex.text;
          if (normalized) {
            normalize(ex.text, norm);
            text = norm.text;
          }
          EXPECT_TRUE(holds_one_of(text, normalized ? need->case_closed() : *need))
              << r.id << ": example line " << ex.line;
        }
      }
    }
  }
  EXPECT_GT(gated, 100U);
}

TEST(Gate, NormalizedRulesSeeBytesThatOnlyDecodingReveals) {
  auto specs =
      config::load_rule_string("rules:\n"
                               "  - id: tag\n    category: injection\n    pattern: '<scr'\n"
                               "    examples: {match: ['<scr'], no_match: []}\n"
                               "  - id: at\n    category: pii\n    pattern: '[a-z]@[a-z]'\n"
                               "    examples: {match: ['a@b'], no_match: []}\n",
                               "test.yaml");
  ASSERT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(specs));
  auto built = ruleset::build(std::get<std::vector<config::rule_spec>>(specs));
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const ruleset>>(built));
  scanner s(std::get<std::shared_ptr<const ruleset>>(built));
  // The raw value has no '<'; its normalized form has. Upper case needs no
  // normalization: the value is scanned as it is, case-insensitively.
  const std::vector<std::string_view> values{"plain words only", "x %3CSCRipt y", "<SCRIPT>",
                                             "mail a@b", "no at sign"};
  std::vector<std::vector<match>> out;
  s.scan_values(values, out);
  EXPECT_TRUE(out[0].empty());
  ASSERT_EQ(out[1].size(), 1U);
  EXPECT_EQ(out[1][0].begin, 2U); // mapped back to the original bytes of "%3CSCR"
  EXPECT_EQ(out[1][0].end, 8U);
  ASSERT_EQ(out[2].size(), 1U);
  EXPECT_EQ(out[2][0].end, 4U);
  ASSERT_EQ(out[3].size(), 1U);
  EXPECT_TRUE(out[4].empty());
}

} // namespace bulwark::scan
