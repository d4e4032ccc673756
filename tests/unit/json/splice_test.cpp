#include "json/splice.hpp"
#include "json/walk.hpp"
#include <gtest/gtest.h>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::json {
namespace {

using namespace std::string_literals;

std::string json_string(std::string_view s) {
  std::string out;
  append_string(out, s);
  return out;
}

std::string lossy(std::string_view s) {
  std::string out;
  append_string_lossy(out, s);
  return out;
}

std::string spliced(std::string_view input, const std::vector<edit>& edits) {
  std::string out;
  apply_edits(input, edits, out);
  return out;
}

bool valid_object(std::string_view line) {
  walker w({});
  return w.walk(line, 0, nullptr) == error::none;
}

// ---------------------------------------------------------------------------
// append_string

TEST(AppendString, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(json_string(""), R"("")");
  EXPECT_EQ(json_string("plain text"), R"("plain text")");
  EXPECT_EQ(json_string("say \"hi\""), R"("say \"hi\"")");
  EXPECT_EQ(json_string("C:\\dir"), R"("C:\\dir")");
  EXPECT_EQ(json_string("a/b"), R"("a/b")");
  EXPECT_EQ(json_string("\n\t\r\b\f"), R"("\n\t\r\b\f")");
  EXPECT_EQ(json_string("\x1b[31m"), R"("\u001b[31m")");
  EXPECT_EQ(json_string("a\0b"s), R"("a\u0000b")");
  EXPECT_EQ(json_string("\x7f"), "\"\x7f\"");
}

TEST(AppendString, EscapesEveryControlCharacterAccordingToTheTable) {
  const char* expected[32] = {
      R"(\u0000)", R"(\u0001)", R"(\u0002)", R"(\u0003)", R"(\u0004)", R"(\u0005)", R"(\u0006)",
      R"(\u0007)", R"(\b)",     R"(\t)",     R"(\n)",     R"(\u000b)", R"(\f)",     R"(\r)",
      R"(\u000e)", R"(\u000f)", R"(\u0010)", R"(\u0011)", R"(\u0012)", R"(\u0013)", R"(\u0014)",
      R"(\u0015)", R"(\u0016)", R"(\u0017)", R"(\u0018)", R"(\u0019)", R"(\u001a)", R"(\u001b)",
      R"(\u001c)", R"(\u001d)", R"(\u001e)", R"(\u001f)"};
  for (int c = 0; c < 32; ++c) {
    EXPECT_EQ(json_string(std::string(1, static_cast<char>(c))),
              "\"" + std::string(expected[c]) + "\"")
        << c;
  }
}

TEST(AppendString, EscapesLineAndParagraphSeparatorsOnly) {
  EXPECT_EQ(json_string("a\xE2\x80\xA8z"), R"("a\u2028z")");
  EXPECT_EQ(json_string("\xE2\x80\xA9"), R"("\u2029")");
  // Other characters with the same lead byte are copied.
  EXPECT_EQ(json_string("\xE2\x82\xAC 5"), "\"\xE2\x82\xAC 5\"");
  EXPECT_EQ(json_string("\xE2\x80\x94"), "\"\xE2\x80\x94\"");
  EXPECT_EQ(json_string("caf\xC3\xA9 \xF0\x9F\x98\x80"), "\"caf\xC3\xA9 \xF0\x9F\x98\x80\"");
}

TEST(AppendString, AppendsToWhatIsAlreadyThere) {
  std::string out = "prefix:";
  append_string(out, "v");
  EXPECT_EQ(out, R"(prefix:"v")");
}

TEST(AppendString, ProducesTextTheWalkerReadsBackExactly) {
  std::string all;
  for (int c = 0; c < 128; ++c)
    all.push_back(static_cast<char>(c));
  all += "\xE2\x80\xA8\xE2\x80\xA9\xC3\xA9\xF0\x9F\x98\x80\xEF\xBF\xBD";
  std::string line = R"({"k":)";
  append_string(line, all);
  line += "}";
  walker w({});
  struct capture final : visitor {
    std::string text;
    bool on_value(const value_ref& v) override {
      if (v.kind == value_kind::string) text = v.text;
      return true;
    }
  } c;
  ASSERT_EQ(w.walk(line, 0, &c), error::none);
  EXPECT_EQ(c.text, all);
}

// ---------------------------------------------------------------------------
// UTF-8

TEST(Utf8, AcceptsWellFormedSequences) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("ascii only, long enough for the word loop"));
  EXPECT_TRUE(is_valid_utf8("\xC2\x80\xDF\xBF"));
  EXPECT_TRUE(is_valid_utf8("\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBF"));
  EXPECT_TRUE(is_valid_utf8("\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));
  EXPECT_TRUE(is_valid_utf8("a\0b"s));
}

TEST(Utf8, RejectsOverlongsSurrogatesAndCodePointsAboveTheMaximum) {
  for (const char* bad : {"\x80", "\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF",
                          "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",
                          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFE", "\xFF", "\xC2",
                          "\xE2\x82", "\xF0\x9F\x98", "\xC2\x41", "0123456789\xFF"}) {
    EXPECT_FALSE(is_valid_utf8(bad)) << bad;
  }
}

TEST(AppendStringLossy, CopiesValidTextLikeAppendString) {
  EXPECT_EQ(lossy("caf\xC3\xA9 \"q\"\n"), json_string("caf\xC3\xA9 \"q\"\n"));
}

TEST(AppendStringLossy, ReplacesEachMaximalSubpartWithOneReplacementCharacter) {
  const std::string fffd = "\xEF\xBF\xBD";
  // Unicode 15 §3.9, Table 3-8.
  EXPECT_EQ(lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "\"a" + fffd + fffd + fffd + "b" + fffd + "c" + fffd + fffd + "d\"");
  EXPECT_EQ(lossy("\xC0\xAF"), "\"" + fffd + fffd + "\"");                       // overlong
  EXPECT_EQ(lossy("\xE0\x80\xAF"), "\"" + fffd + fffd + fffd + "\"");            // overlong
  EXPECT_EQ(lossy("\xED\xA0\x80"), "\"" + fffd + fffd + fffd + "\"");            // surrogate
  EXPECT_EQ(lossy("\xF4\x90\x80\x80"), "\"" + fffd + fffd + fffd + fffd + "\""); // > U+10FFFF
  EXPECT_EQ(lossy("\xF0\x9F\x98"), "\"" + fffd + "\""); // truncated at the end
  EXPECT_EQ(lossy("\xF0\x9F\x98x"), "\"" + fffd + "x\"");
  EXPECT_EQ(lossy("\xFF\xFE"), "\"" + fffd + fffd + "\"");
}

TEST(AppendStringLossy, StillEscapesAroundTheReplacements) {
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(lossy("\"\xFF\n\x01\xFF\\"), "\"\\\"" + fffd + "\\n\\u0001" + fffd + "\\\\\"");
  EXPECT_TRUE(valid_object(R"({"raw":)" + lossy("x\xC3\x28\xA0\xA1\x1b\xE2\x80\xA8") + "}"));
}

// ---------------------------------------------------------------------------
// apply_edits

TEST(ApplyEdits, CopiesTheInputUnchangedWithoutEdits) {
  const std::string input = " {\"a\" : [1, \"x\\u0041\"] }\t";
  EXPECT_EQ(spliced(input, {}), input);
}

TEST(ApplyEdits, ReplacesSpansAndLeavesEveryOtherByteIdentical) {
  const std::string input = R"({"a":"secret","b": 12 ,"c":"keep","d":"x"})";
  const std::size_t a = input.find(R"("secret")");
  const std::size_t d = input.find(R"("x")");
  const std::string out =
      spliced(input, {{a, a + 8, R"("[REDACTED]")"}, {d, d + 3, R"("a\"much longer value")"}});
  EXPECT_EQ(out, R"({"a":"[REDACTED]","b": 12 ,"c":"keep","d":"a\"much longer value"})");
  EXPECT_TRUE(valid_object(out));
}

TEST(ApplyEdits, HandlesEditsAtTheEdgesAndEmptyReplacements) {
  EXPECT_EQ(spliced("abcdef", {{0, 1, "X"}, {5, 6, "Y"}}), "XbcdeY");
  EXPECT_EQ(spliced("abcdef", {{2, 4, ""}}), "abef");
  EXPECT_EQ(spliced("abcdef", {{3, 3, "-"}}), "abc-def");
  EXPECT_EQ(spliced("abcdef", {{0, 2, "1"}, {2, 4, "2"}}), "12ef");
}

TEST(ApplyEdits, AppendsToWhatIsAlreadyThere) {
  std::string out = "keep|";
  const std::vector<edit> edits{{1, 2, "B"}};
  apply_edits("abc", edits, out);
  EXPECT_EQ(out, "keep|aBc");
}

/// Removes the member `key` (found by its quoted text) from `input`.
edit remove(std::string_view input, std::string_view quoted_key) {
  const std::size_t begin = input.find(quoted_key);
  const std::size_t colon = input.find(':', begin + quoted_key.size());
  std::size_t value = colon + 1;
  while (input[value] == ' ')
    ++value;
  return {begin, value_end(input, value), "", true};
}

TEST(RemoveMember, RemovesTheFirstMember) {
  const std::string input = R"({"a":1,"b":2,"c":3})";
  EXPECT_EQ(spliced(input, {remove(input, R"("a")")}), R"({"b":2,"c":3})");
}

TEST(RemoveMember, RemovesAMiddleMember) {
  const std::string input = R"({"a":1,"b":{"x":[1,2]},"c":3})";
  EXPECT_EQ(spliced(input, {remove(input, R"("b")")}), R"({"a":1,"c":3})");
}

TEST(RemoveMember, RemovesTheLastMemberAndTheCommaBeforeIt) {
  const std::string input = R"({"a":1,"b":2,"c":"z"})";
  EXPECT_EQ(spliced(input, {remove(input, R"("c")")}), R"({"a":1,"b":2})");
}

TEST(RemoveMember, RemovesTheOnlyMember) {
  EXPECT_EQ(spliced(R"({"a":1})", {remove(R"({"a":1})", R"("a")")}), "{}");
  EXPECT_EQ(spliced(R"({ "a" : [1] })", {remove(R"({ "a" : [1] })", R"("a")")}), "{  }");
}

TEST(RemoveMember, KeepsTheResultValidWithWhitespaceAroundCommas) {
  const std::string input = R"({ "a" : 1 , "b" : 2 , "c" : 3 })";
  for (const char* key : {R"("a")", R"("b")", R"("c")"}) {
    const std::string out = spliced(input, {remove(input, key)});
    EXPECT_TRUE(valid_object(out)) << out;
    EXPECT_EQ(out.find(key), std::string::npos) << out;
  }
  EXPECT_EQ(spliced(input, {remove(input, R"("a")")}), R"({  "b" : 2 , "c" : 3 })");
  EXPECT_EQ(spliced(input, {remove(input, R"("c")")}), R"({ "a" : 1 , "b" : 2   })");
}

TEST(RemoveMember, RemovesEveryCombinationOfMembers) {
  const std::string input = R"({"a":1, "b":[2], "c":{"d":3}, "e":"4"})";
  const std::vector<std::string> keys{R"("a")", R"("b")", R"("c")", R"("e")"};
  for (unsigned mask = 0; mask < 16; ++mask) {
    std::vector<edit> edits;
    for (unsigned k = 0; k < 4; ++k) {
      if ((mask & (1U << k)) != 0) edits.push_back(remove(input, keys[k]));
    }
    const std::string out = spliced(input, edits);
    EXPECT_TRUE(valid_object(out)) << mask << ": " << out;
    for (unsigned k = 0; k < 4; ++k) {
      EXPECT_EQ(out.find(keys[k]) == std::string::npos, (mask & (1U << k)) != 0) << out;
    }
  }
}

TEST(RemoveMember, WorksNextToAReplacedValueAndInsideNestedObjects) {
  const std::string input = R"({"a":"secret","o":{"x":1,"y":2},"z":0})";
  const std::size_t a = input.find(R"("secret")");
  const std::string out =
      spliced(input, {{a, a + 8, R"("***")"}, remove(input, R"("y")"), remove(input, R"("z")")});
  EXPECT_EQ(out, R"({"a":"***","o":{"x":1}})");
}

// ---------------------------------------------------------------------------
// append_with_member

TEST(AppendWithMember, AddsTheMemberLast) {
  std::string out;
  append_with_member(out, R"({"a":1,"b":[2]})", "_bulwark", R"({"v":1})");
  EXPECT_EQ(out, R"({"a":1,"b":[2],"_bulwark":{"v":1}})");
}

TEST(AppendWithMember, AddsNoCommaToAnEmptyObject) {
  std::string out;
  append_with_member(out, "{}", "_bulwark", "1");
  EXPECT_EQ(out, R"({"_bulwark":1})");
  out.clear();
  append_with_member(out, "{ \t }", "_bulwark", "1");
  EXPECT_EQ(out, "{ \t \"_bulwark\":1}");
  EXPECT_TRUE(valid_object(out));
}

TEST(AppendWithMember, KeepsInnerWhitespaceAndDropsTrailingWhitespace) {
  std::string out;
  append_with_member(out, " { \"a\" : 1 } \r\n", "k", "true");
  EXPECT_EQ(out, R"( { "a" : 1 ,"k":true})");
  EXPECT_TRUE(valid_object(out));
}

TEST(AppendWithMember, EscapesTheKeyAndAppendsToWhatIsAlreadyThere) {
  std::string out = "x";
  append_with_member(out, R"({"a":{}})", "q\"k", "null");
  EXPECT_EQ(out, R"(x{"a":{},"q\"k":null})");
}

} // namespace
} // namespace bulwark::json
