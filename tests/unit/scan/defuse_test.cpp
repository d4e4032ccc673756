#include "scan/defuse.hpp"
#include "support/escaped.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::scan {
namespace {

std::string defused(std::string_view in) {
  std::string out;
  defuse(in, out);
  return out;
}

using bulwark::testing::escaped;

struct row {
  std::string_view in;
  std::string_view want;
};

void expect_table(const std::vector<row>& rows) {
  for (const auto& [in, want] : rows) {
    EXPECT_EQ(defused(in), want) << "input: " << escaped(in);
    EXPECT_EQ(needs_defuse(in), in != want) << "input: " << escaped(in);
  }
}

using namespace std::string_view_literals;

TEST(Defuse, ReplacesTagOpeningLessThanSigns) {
  expect_table({
      {"<script>alert(1)</script>", "[LT]script>alert(1)[LT]/script>"},
      {"<img src=x onerror=alert(1)>", "[LT]img src=x onerror=alert(1)>"},
      {"<!-- x -->", "[LT]!-- x -->"},
      {"<?xml version", "[LT]?xml version"},
      {"<<b>", "<[LT]b>"},
      {"x<Svg", "x[LT]Svg"},
  });
}

TEST(Defuse, ReplacesTheColonOfScriptSchemesInAnyCaseAndSpacing) {
  expect_table({
      {"javascript:alert(1)", "javascript[:]alert(1)"},
      {"JaVaScRiPt :x", "JaVaScRiPt [:]x"},
      {"java\tscript:x", "java\tscript[:]x"},
      {"jav\na\tscript\n:x", "jav\na\tscript\n[:]x"},
      {"java\rscript:x", "java[CR]script[:]x"},
      {"java\x01script:x", "java[CTRL-01]script[:]x"},
      {"j a v a s c r i p t:x", "j a v a s c r i p t[:]x"},
      {"java\u200Bscript:x", "java\u200Bscript[:]x"},
      {"href=\"javascript:void(0)\"", "href=\"javascript[:]void(0)\""},
      {"VBScript:MsgBox(1)", "VBScript[:]MsgBox(1)"},
      {"vb\tscript:x", "vb\tscript[:]x"},
      {"jjavascript:", "jjavascript[:]"},
  });
}

TEST(Defuse, ReplacesTheColonOfDataUrlsWithActiveMediaTypes) {
  expect_table({
      {"data:text/html;base64,PHNjcmlwdD4=", "data[:]text/html;base64,PHNjcmlwdD4="},
      {"DATA:TEXT/HTML,x", "DATA[:]TEXT/HTML,x"},
      {"data: image/svg+xml,x", "data[:] image/svg+xml,x"},
      {"data:application/javascript,x", "data[:]application/javascript,x"},
      {"data:text/xml,x", "data[:]text/xml,x"},
      {"data:application/xhtml+xml,x", "data[:]application/xhtml+xml,x"},
      {"data:image/png;base64,iVBO", "data:image/png;base64,iVBO"},
      {"data: 42", "data: 42"},
      {"metadata:text/plain", "metadata:text/plain"},
  });
}

TEST(Defuse, ReplacesTheBraceOfLookupOpenings) {
  expect_table({
      {"${jndi:ldap://x/a}", "$[{]jndi:ldap://x/a}"},
      {"${${lower:j}ndi:x}", "$[{]$[{]lower:j}ndi:x}"},
      {"$ {x}", "$ [{]x}"},
      {"$\t\n{x}", "$\t\n[{]x}"},
      {"$\u200B{x}", "$\u200B[{]x}"},
      {"$\r{x}", "$[CR][{]x}"},
      {"$${x}", "$$[{]x}"},
  });
}

TEST(Defuse, ReplacesControlCharactersByNamedTokens) {
  expect_table({
      {"a\0b"sv, "a[NUL]b"},
      {"\x07", "[BEL]"},
      {"\x08", "[BS]"},
      {"\x0b", "[VT]"},
      {"\x0c", "[FF]"},
      {"\r\n", "[CR]\n"},
      {"\x1b[31mred\x1b[0m", "[ESC][31mred[ESC][0m"},
      {"\x01\x02\x0e\x1f", "[CTRL-01][CTRL-02][CTRL-0E][CTRL-1F]"},
      {"\x7f", "[DEL]"},
      {"\xc2\x9b"
       "1;1H",
       "[C1-9B]1;1H"},
      {"\xc2\x80\xc2\x85\xc2\x9f", "[C1-80][C1-85][C1-9F]"},
      {"a\u2028b\u2029c", "a[LS]b[PS]c"},
      {"\u202A\u202B\u202C\u202D\u202E", "[BIDI][BIDI][BIDI][BIDI][BIDI]"},
      {"\u2066\u2067\u2068\u2069", "[BIDI][BIDI][BIDI][BIDI]"},
  });
}

TEST(Defuse, LeavesBenignTextUntouched) {
  expect_table({
      {"", ""},
      {"Hello!\nHow are you?\tFine, thanks.\n\n-- Bob",
       "Hello!\nHow are you?\tFine, thanks.\n\n-- Bob"},
      {"I <3 you", "I <3 you"},
      {"if a < b then a <= b", "if a < b then a <= b"},
      {"x<-y, <>, <=>, 1<2", "x<-y, <>, <=>, 1<2"},
      {"costs $5 {approx}", "costs $5 {approx}"},
      {"{\"json\": true, \"list\": [1, 2]}", "{\"json\": true, \"list\": [1, 2]}"},
      {"javascript is fun; I like vbscript and data science",
       "javascript is fun; I like vbscript and data science"},
      {"see https://example.com/a?b=c&d=e#f", "see https://example.com/a?b=c&d=e#f"},
      {"data: see the attached table", "data: see the attached table"},
      {"emoji \U0001F600\U0001F44D\U0001F3FD \u2764\uFE0F",
       "emoji \U0001F600\U0001F44D\U0001F3FD \u2764\uFE0F"},
      {"\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8 \u4E2D\u6587",
       "\u65E5\u672C\u8A9E\u306E\u30C6\u30AD\u30B9\u30C8 \u4E2D\u6587"},
      {"caf\u00E9 \u00FCn\u00EFcode \u2014 fine \u2026 \u00A0",
       "caf\u00E9 \u00FCn\u00EFcode \u2014 fine \u2026 \u00A0"},
      {"\u201Cquoted\u201D \u2019", "\u201Cquoted\u201D \u2019"},
  });
}

TEST(Defuse, AppendsToTheOutputAndCountsReplacedConstructs) {
  std::string out = "prefix:";
  EXPECT_EQ(defuse("<b>${x}\r", out), 3u);
  EXPECT_EQ(out, "prefix:[LT]b>$[{]x}[CR]");
  EXPECT_EQ(defuse("plain", out), 0u);
  EXPECT_EQ(out, "prefix:[LT]b>$[{]x}[CR]plain");
  out.clear();
  EXPECT_EQ(defuse("java\rscript:", out), 2u);
}

// ------------------------------------------------------------ properties

constexpr std::uint32_t kSeed = 20261118;

std::string random_hostile(std::mt19937& rng) {
  static const std::vector<std::string_view> kFragments = {"<script>",    "<img src=x onerror=",
                                                           "javascript:", "jav\tascript:",
                                                           "JAVA",        "script",
                                                           ":",           "vb",
                                                           "data",        "text/html",
                                                           "${jndi:",     "$ {",
                                                           "$",           "{",
                                                           "\x1b[31m",    "\r\n",
                                                           "\0"sv,        "\xc2\x9b",
                                                           "\u2028",      "\u202e",
                                                           "\u200b",      "\u00a0",
                                                           "hello ",      "world",
                                                           "<3",          "a < b",
                                                           "$5",          "{x}",
                                                           "<",           "/",
                                                           "!",           "?",
                                                           "\t",          "\n",
                                                           " ",           "\x7f",
                                                           "\x01",        "\xc2\x85",
                                                           "\u2066",      "j",
                                                           "v",           "d",
                                                           "a",           "[",
                                                           "]",           "\U0001F600",
                                                           "\u4E2D"};
  std::uniform_int_distribution<std::size_t> count(0, 30);
  std::uniform_int_distribution<std::size_t> pick(0, kFragments.size() - 1);
  std::string s;
  for (std::size_t k = count(rng); k > 0; --k)
    s += kFragments[pick(rng)];
  return s;
}

/// Blank, invisible or control characters: ASCII <= 0x20 and DEL, C1 and
/// NBSP, soft hyphen, U+2000..U+200F, U+2028..U+202F, U+205F..U+206F, U+3000,
/// U+FEFF (a superset of what a consumer might drop inside a word).
std::size_t blank_length(std::string_view s, std::size_t i) {
  const auto at = [&](std::size_t k) {
    return k < s.size() ? static_cast<unsigned char>(s[k]) : 0u;
  };
  const unsigned c = at(i);
  if (c <= 0x20 || c == 0x7F) return 1;
  if (c == 0xC2 && ((at(i + 1) >= 0x80 && at(i + 1) <= 0xA0) || at(i + 1) == 0xAD)) return 2;
  if (c == 0xE2 && at(i + 1) == 0x80 &&
      (at(i + 2) <= 0x8F || (at(i + 2) >= 0xA8 && at(i + 2) <= 0xAF)))
    return 3;
  if (c == 0xE2 && at(i + 1) == 0x81 && at(i + 2) >= 0x9F && at(i + 2) <= 0xAF) return 3;
  if ((c == 0xE3 && at(i + 1) == 0x80 && at(i + 2) == 0x80) ||
      (c == 0xEF && at(i + 1) == 0xBB && at(i + 2) == 0xBF))
    return 3;
  return 0;
}

std::string without_blanks_lowered(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    if (const std::size_t b = blank_length(s, i)) {
      i += b;
      continue;
    }
    const char c = s[i++];
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  }
  return out;
}

/// SPEC §3 as checked on a defused value; returns what is wrong, "" if none.
std::string violation(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const auto next = i + 1 < s.size() ? static_cast<unsigned char>(s[i + 1]) : 0u;
    const auto next2 = i + 2 < s.size() ? static_cast<unsigned char>(s[i + 2]) : 0u;
    if (c == '<' && ((next | 0x20) >= 'a' && (next | 0x20) <= 'z'))
      return "tag at " + std::to_string(i);
    if (c == '<' && (next == '/' || next == '!' || next == '?'))
      return "tag at " + std::to_string(i);
    if (c < 0x20 && c != '\t' && c != '\n') return "control at " + std::to_string(i);
    if (c == 0x7F) return "DEL at " + std::to_string(i);
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) return "C1 at " + std::to_string(i);
    if (c == 0xE2 && next == 0x80 && next2 >= 0xA8 && next2 <= 0xAE)
      return "LS/PS/bidi at " + std::to_string(i);
    if (c == 0xE2 && next == 0x81 && next2 >= 0xA6 && next2 <= 0xA9)
      return "bidi isolate at " + std::to_string(i);
  }
  const std::string flat = without_blanks_lowered(s);
  if (flat.find("javascript:") != std::string::npos) return "javascript: scheme";
  if (flat.find("vbscript:") != std::string::npos) return "vbscript: scheme";
  if (flat.find("${") != std::string::npos) return "${ lookup";
  return "";
}

TEST(DefuseProperty, OutputHasNoTagSchemeLookupOrControlAndIsAFixedPoint) {
  std::mt19937 rng(kSeed);
  for (int iter = 0; iter < 50000; ++iter) {
    const std::string in = random_hostile(rng);
    SCOPED_TRACE("seed " + std::to_string(kSeed) + " iteration " + std::to_string(iter) +
                 " input " + escaped(in));
    std::string once;
    const std::size_t replaced = defuse(in, once);
    ASSERT_EQ(violation(once), "") << escaped(once);
    ASSERT_EQ(replaced > 0, once != in);
    ASSERT_EQ(needs_defuse(in), once != in);
    ASSERT_FALSE(needs_defuse(once)) << escaped(once);
    std::string twice;
    ASSERT_EQ(defuse(once, twice), 0u);
    ASSERT_EQ(twice, once);
  }
}

TEST(DefuseProperty, NeedsDefuseIsTrueExactlyWhenDefuseChangesRandomBytes) {
  std::mt19937 rng(kSeed + 1);
  std::uniform_int_distribution<int> len(0, 40);
  // Mostly letters that start schemes, the construct characters and blanks.
  const std::string_view alphabet = "javscriptbdeJAVSCRIPT:${}<>/!? \t\n\r\x01\x1b\x7f xyz";
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  for (int iter = 0; iter < 50000; ++iter) {
    std::string in;
    for (int k = len(rng); k > 0; --k)
      in += alphabet[pick(rng)];
    std::string out;
    defuse(in, out);
    ASSERT_EQ(needs_defuse(in), out != in)
        << "seed " << kSeed + 1 << " iteration " << iter << " input " << escaped(in);
    ASSERT_EQ(violation(out), "") << "seed " << kSeed + 1 << " iteration " << iter << " input "
                                  << escaped(in);
  }
}

} // namespace
} // namespace bulwark::scan
