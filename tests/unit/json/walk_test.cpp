#include "json/walk.hpp"
#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <gtest/gtest.h>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <vector>

// GCC cannot see that the replaced operators below pair malloc with free.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

// Counts heap allocations in this test binary, to check that a warm walker
// allocates nothing per line. Every non-aligned form is replaced, so that
// new and delete always pair up (sanitizers check that).
namespace {
std::atomic<std::size_t> heap_allocations{0};

void* counted_alloc(std::size_t n) noexcept {
  heap_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n == 0 ? 1 : n);
}
} // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  std::free(p);
}

namespace bulwark::json {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

/// A value_ref with its views copied, so it outlives the callback.
struct seen {
  std::string pointer;
  value_kind kind;
  std::string text;
  std::size_t begin;
  std::size_t end;
  std::size_t member_begin;
  std::uint32_t depth;
  bool in_object;

  bool operator==(const seen&) const = default;
};

class recorder final : public visitor {
public:
  std::vector<seen> values;
  std::size_t stop_after = static_cast<std::size_t>(-1);

  bool on_value(const value_ref& v) override {
    values.push_back({std::string(v.pointer), v.kind, std::string(v.text), v.begin, v.end,
                      v.member_begin, v.depth, v.in_object});
    return values.size() < stop_after;
  }

  const seen* find(std::string_view pointer) const {
    for (const seen& s : values) {
      if (s.pointer == pointer) return &s;
    }
    return nullptr;
  }

  std::vector<std::string> pointers() const {
    std::vector<std::string> out;
    for (const seen& s : values)
      out.push_back(s.pointer);
    return out;
  }
};

/// Walks `line` from a copy without padding (the copied-parse path).
error walk_copied(walker& w, std::string_view line, visitor* v = nullptr) {
  return w.walk(line, 0, v);
}

/// Walks `line` in place: it sits in a larger buffer followed by `after`.
error walk_in_place(walker& w, std::string_view line, std::string_view after,
                    visitor* v = nullptr) {
  std::string buffer(line);
  buffer.append(after);
  while (buffer.size() < line.size() + walker::required_padding())
    buffer.push_back(' ');
  return w.walk(std::string_view(buffer.data(), line.size()), buffer.size() - line.size(), v);
}

error check(std::string_view line, limits lim = {}) {
  walker w(lim);
  return walk_copied(w, line);
}

std::string nested_objects(std::size_t depth) {
  std::string s;
  for (std::size_t i = 0; i < depth; ++i)
    s += "{\"a\":";
  s += "1";
  for (std::size_t i = 0; i < depth; ++i)
    s += "}";
  return s;
}

std::string nested_in_arrays(std::size_t depth) {
  // One root object, then depth - 1 arrays.
  std::string s = "{\"a\":";
  for (std::size_t i = 1; i < depth; ++i)
    s += "[";
  s += "1";
  for (std::size_t i = 1; i < depth; ++i)
    s += "]";
  s += "}";
  return s;
}

// ---------------------------------------------------------------------------
// Pointers, order, depth

TEST(Walker, ReportsEveryValueWithItsJsonPointerInDocumentOrder) {
  walker w({});
  recorder r;
  const std::string line =
      R"({"input":{"messages":[{"role":"user","content":"hi"},[1,2]],"n":null},"ok":true})";
  ASSERT_EQ(walk_copied(w, line, &r), error::none);
  const std::vector<std::string> expected{"",
                                          "/input",
                                          "/input/messages",
                                          "/input/messages/0",
                                          "/input/messages/0/role",
                                          "/input/messages/0/content",
                                          "/input/messages/1",
                                          "/input/messages/1/0",
                                          "/input/messages/1/1",
                                          "/input/n",
                                          "/ok"};
  EXPECT_EQ(r.pointers(), expected);
}

TEST(Walker, ReportsKindsDepthsAndWhetherAValueIsAMember) {
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, R"({"o":{"s":"x","a":[1,false,null]}})", &r), error::none);
  ASSERT_EQ(r.values.size(), 7U);
  EXPECT_EQ(r.values[0].kind, value_kind::object);
  EXPECT_EQ(r.values[0].depth, 0U);
  EXPECT_FALSE(r.values[0].in_object);
  EXPECT_EQ(r.find("/o")->kind, value_kind::object);
  EXPECT_EQ(r.find("/o")->depth, 1U);
  EXPECT_TRUE(r.find("/o")->in_object);
  EXPECT_EQ(r.find("/o/s")->kind, value_kind::string);
  EXPECT_EQ(r.find("/o/s")->depth, 2U);
  EXPECT_EQ(r.find("/o/a")->kind, value_kind::array);
  EXPECT_EQ(r.find("/o/a/0")->kind, value_kind::number);
  EXPECT_EQ(r.find("/o/a/0")->depth, 3U);
  EXPECT_FALSE(r.find("/o/a/0")->in_object);
  EXPECT_EQ(r.find("/o/a/1")->kind, value_kind::boolean);
  EXPECT_EQ(r.find("/o/a/2")->kind, value_kind::null);
}

TEST(Walker, EscapesTildeAndSlashInPointerSegmentsFromTheUnescapedKey) {
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, R"({"a/b":1,"m~n":2,"\/x\u007e":3,"":4,"~1":{"/":5}})", &r),
            error::none);
  const std::vector<std::string> expected{"", "/a~1b", "/m~0n", "/~1x~0", "/", "/~01", "/~01/~1"};
  EXPECT_EQ(r.pointers(), expected);
}

TEST(Walker, NumbersArrayIndicesInDecimal) {
  std::string line = R"({"a":[)";
  for (int i = 0; i < 12; ++i)
    line += (i == 0 ? "" : ",") + std::to_string(i);
  line += "]}";
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, line, &r), error::none);
  EXPECT_NE(r.find("/a/10"), nullptr);
  EXPECT_NE(r.find("/a/11"), nullptr);
  EXPECT_EQ(r.find("/a/12"), nullptr);
}

TEST(Walker, VisitsBothMembersOfADuplicateKey) {
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, R"({"k":"first","k":"second"})", &r), error::none);
  ASSERT_EQ(r.values.size(), 3U);
  EXPECT_EQ(r.values[1].pointer, "/k");
  EXPECT_EQ(r.values[1].text, "first");
  EXPECT_EQ(r.values[2].pointer, "/k");
  EXPECT_EQ(r.values[2].text, "second");
}

// ---------------------------------------------------------------------------
// Unescaping

TEST(Walker, DeliversStringsUnescaped) {
  walker w({});
  recorder r;
  const std::string line =
      R"({"html":"\u003cscript\u003e","esc":"\u001b[31m","nul":"a\u0000b","emoji":"\ud83d\ude00",)"
      R"("simple":"q\"b\\s\/n\nt\tr\rb\bf\f","raw":"caf)"
      "\xC3\xA9"
      R"("})";
  ASSERT_EQ(walk_copied(w, line, &r), error::none);
  EXPECT_EQ(r.find("/html")->text, "<script>");
  EXPECT_EQ(r.find("/esc")->text, "\x1b[31m");
  EXPECT_EQ(r.find("/nul")->text, "a\0b"s);
  EXPECT_EQ(r.find("/emoji")->text, "\xF0\x9F\x98\x80");
  EXPECT_EQ(r.find("/simple")->text, "q\"b\\s/n\nt\tr\rb\bf\f");
  EXPECT_EQ(r.find("/raw")->text, "caf\xC3\xA9");
}

TEST(Walker, GivesNoTextForNonStrings) {
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, R"({"n":12,"b":true,"z":null,"o":{},"a":[]})", &r), error::none);
  for (const seen& s : r.values)
    EXPECT_TRUE(s.text.empty()) << s.pointer;
}

TEST(Walker, RejectsALoneSurrogateEscapeAsNotJson) {
  EXPECT_EQ(check(R"({"a":"\ud800"})"), error::not_json);
  EXPECT_EQ(check(R"({"a":"\udc00x"})"), error::not_json);
}

TEST(Walker, RejectsInvalidEscapesAsNotJson) {
  EXPECT_EQ(check(R"({"a":"\x41"})"), error::not_json);
  EXPECT_EQ(check(R"({"a":"\u12"})"), error::not_json);
  EXPECT_EQ(check(R"({"a":"\u12G4"})"), error::not_json);
  EXPECT_EQ(check(R"({"\q":1})"), error::not_json);
}

// ---------------------------------------------------------------------------
// Offsets

TEST(Walker, OffsetsPointAtTheRawBytesOfEachValue) {
  walker w({});
  recorder r;
  const std::string line =
      R"(  { "s" : "a\"b" , "n":-1.5e3, "t":true,"f" :false, "z":null, "o":{"x":[ 1 ,"y" ]} }  )";
  ASSERT_EQ(walk_copied(w, line, &r), error::none);
  auto raw = [&](const seen& s) { return line.substr(s.begin, s.end - s.begin); };
  EXPECT_EQ(raw(*r.find("/s")), R"("a\"b")");
  EXPECT_EQ(raw(*r.find("/n")), "-1.5e3");
  EXPECT_EQ(raw(*r.find("/t")), "true");
  EXPECT_EQ(raw(*r.find("/f")), "false");
  EXPECT_EQ(raw(*r.find("/z")), "null");
  EXPECT_EQ(raw(*r.find("/o/x/0")), "1");
  EXPECT_EQ(raw(*r.find("/o/x/1")), R"("y")");

  EXPECT_EQ(r.find("")->begin, 2U);
  EXPECT_EQ(line[r.find("/o")->begin], '{');
  EXPECT_EQ(r.find("/o")->end, r.find("/o")->begin);
  EXPECT_EQ(line[r.find("/o/x")->begin], '[');
  EXPECT_EQ(line.substr(r.find("/o/x")->begin,
                        value_end(line, r.find("/o/x")->begin) - r.find("/o/x")->begin),
            R"([ 1 ,"y" ])");
  EXPECT_EQ(value_end(line, r.find("")->begin), line.size() - 2);
}

TEST(Walker, MemberBeginIsTheKeysOpeningQuote) {
  walker w({});
  recorder r;
  const std::string line = R"({"k1" : "v", "k\"2":[{"k3":1}]})";
  ASSERT_EQ(walk_copied(w, line, &r), error::none);
  EXPECT_EQ(line.substr(r.find("/k1")->member_begin, 4), R"("k1")");
  EXPECT_EQ(line.substr(r.find("/k\"2")->member_begin, 6), R"("k\"2")");
  EXPECT_EQ(line.substr(r.find("/k\"2/0/k3")->member_begin, 4), R"("k3")");
  // Array elements and the root have no key.
  EXPECT_EQ(r.find("/k\"2/0")->member_begin, r.find("/k\"2/0")->begin);
  EXPECT_EQ(r.find("")->member_begin, r.find("")->begin);
}

TEST(Walker, OffsetsIndexTheCallersLineWhenParsingInPlace) {
  walker w({});
  recorder copied;
  recorder in_place;
  const std::string line = R"({"a":"x","b":[1,{"c":"d"}]})";
  ASSERT_EQ(walk_copied(w, line, &copied), error::none);
  ASSERT_EQ(walk_in_place(w, line, "\n", &in_place), error::none);
  EXPECT_EQ(copied.values, in_place.values);
  EXPECT_EQ(line.substr(in_place.find("/b/1/c")->begin, 3), R"("d")");
}

// ---------------------------------------------------------------------------
// Error classes

TEST(Walker, NamesEveryError) {
  EXPECT_EQ(to_string(error::empty), "empty");
  EXPECT_EQ(to_string(error::too_large), "too_large");
  EXPECT_EQ(to_string(error::invalid_utf8), "invalid_utf8");
  EXPECT_EQ(to_string(error::not_json), "not_json");
  EXPECT_EQ(to_string(error::not_object), "not_object");
  EXPECT_EQ(to_string(error::too_deep), "too_deep");
  EXPECT_EQ(to_string(error::control_character), "control_character");
  EXPECT_EQ(to_string(error::trailing_content), "trailing_content");
}

TEST(Walker, CallsAnEmptyOrWhitespaceLineEmpty) {
  EXPECT_EQ(check(""), error::empty);
  EXPECT_EQ(check("   "), error::empty);
  EXPECT_EQ(check(" \t\r\n "), error::empty);
  EXPECT_EQ(check("\f"), error::not_json); // form feed is not JSON whitespace
}

TEST(Walker, AcceptsWhitespaceAroundAndInsideTheObject) {
  EXPECT_EQ(check(" \t{ \"a\" :\t[ 1 , 2 ] ,\"b\":{ } }\r"), error::none);
  EXPECT_EQ(check("{}"), error::none);
  EXPECT_EQ(check("{ }"), error::none);
  EXPECT_EQ(check(R"({"a":1}   )"), error::none);
}

TEST(Walker, CallsALineOverTheLimitTooLargeAndAcceptsItWhenTheLimitIsRaised) {
  std::string line = R"({"big":")";
  line.append(3U << 20, 'x');
  line += R"("})";
  EXPECT_EQ(check(line), error::too_large);
  EXPECT_EQ(check(line, {.max_event_bytes = 4U << 20, .max_depth = 64}), error::none);

  walker w({.max_event_bytes = 4U << 20, .max_depth = 64});
  recorder r;
  ASSERT_EQ(walk_in_place(w, line, "", &r), error::none);
  EXPECT_EQ(r.find("/big")->text.size(), 3U << 20);
}

TEST(Walker, ChecksTheSizeBeforeParsing) {
  // Invalid UTF-8 and garbage, but too large comes first.
  std::string line(100, '\xff');
  EXPECT_EQ(check(line, {.max_event_bytes = 99, .max_depth = 64}), error::too_large);
  EXPECT_EQ(check(std::string(100, 'x'), {.max_event_bytes = 100, .max_depth = 64}),
            error::not_json);
}

TEST(Walker, RejectsInvalidUtf8OfEveryKind) {
  EXPECT_EQ(check("{\"a\":\"\x80\"}"), error::invalid_utf8);             // lone continuation
  EXPECT_EQ(check("{\"a\":\"\xC0\xAF\"}"), error::invalid_utf8);         // overlong
  EXPECT_EQ(check("{\"a\":\"\xE0\x80\xAF\"}"), error::invalid_utf8);     // overlong, 3 bytes
  EXPECT_EQ(check("{\"a\":\"\xED\xA0\x80\"}"), error::invalid_utf8);     // surrogate
  EXPECT_EQ(check("{\"a\":\"\xF4\x90\x80\x80\"}"), error::invalid_utf8); // > U+10FFFF
  EXPECT_EQ(check("{\"a\":\"\xF5\x80\x80\x80\"}"), error::invalid_utf8); // F5
  EXPECT_EQ(check("{\"a\":\"\xE2\x82\"}"), error::invalid_utf8);         // truncated
  EXPECT_EQ(check("{\"\xFF\":1}"), error::invalid_utf8);                 // in a key
  EXPECT_EQ(check("{\"a\":1}\xFF"), error::invalid_utf8);                // outside strings
}

TEST(Walker, RanksInvalidUtf8AboveEveryOtherProblem) {
  EXPECT_EQ(check("{\"a\":\"\xFF"), error::invalid_utf8);              // and an unclosed string
  EXPECT_EQ(check("[\"\xFF\"]"), error::invalid_utf8);                 // and not an object
  EXPECT_EQ(check("{\"a\":\"\x01\xFF\"}"), error::invalid_utf8);       // and a control byte
  EXPECT_EQ(check("{\"a\":1} x \xFF"), error::invalid_utf8);           // and trailing content
  EXPECT_EQ(check(nested_objects(100) + "\xFF"), error::invalid_utf8); // and too deep
}

TEST(Walker, CallsTruncatedJsonNotJson) {
  const std::string full = R"({"a":{"b":[1,"two",{"c":null}]},"d":"e\"f","g":true})";
  walker w({});
  for (std::size_t n = 1; n < full.size(); ++n) {
    const std::string_view prefix(full.data(), n);
    EXPECT_EQ(walk_copied(w, prefix), error::not_json) << prefix;
    // The bytes after the line must not change the verdict.
    EXPECT_EQ(walk_in_place(w, prefix, std::string(80, '}')), error::not_json) << prefix;
    EXPECT_EQ(walk_in_place(w, prefix, full), error::not_json) << prefix;
    EXPECT_EQ(walk_in_place(w, prefix, full.substr(n)), error::not_json) << prefix;
  }
  EXPECT_EQ(walk_copied(w, full), error::none);
}

TEST(Walker, CallsMalformedStructureNotJson) {
  for (const char* line : {"{",
                           "}",
                           "{\"a\"}",
                           "{\"a\" 1}",
                           "{\"a\":}",
                           "{\"a\":1,}",
                           "{,}",
                           "{\"a\":1 \"b\":2}",
                           "{\"a\":[1,]}",
                           "{\"a\":[,1]}",
                           "{\"a\":[1 2]}",
                           "{\"a\":[}",
                           "{\"a\":{]}",
                           "{\"a\":1]",
                           "{a:1}",
                           "{'a':1}",
                           "{1:1}",
                           "{\"a\"::1}",
                           "{\"a\":'x'}",
                           "{\"a\":\"x\"y}",
                           "{\"a\":tru}",
                           "{\"a\":True}",
                           "{\"a\":nul}",
                           "{\"a\":nulll}",
                           "{\"a\":falsey}",
                           "{\"a\":NaN}",
                           "{\"a\":Infinity}",
                           "{\"a\":undefined}",
                           "{\"a\":1\x01}",
                           "{\"a\":\x01\"b\"}",
                           "{\x01\"a\":1}",
                           "{\"a\":\"b\"\x02}",
                           "hello",
                           "x{\"a\":1}"}) {
    EXPECT_EQ(check(line), error::not_json) << line;
  }
}

TEST(Walker, RejectsNumbersOutsideTheJsonGrammar) {
  for (const char* num : {"01", "1.", ".5", "+1", "-", "-01", "1e", "1e+", "1E-", "0x10", "1.e5",
                          "1.5.5", "--1", "1-", "00", "-.5", "1e5.5", "١"}) {
    EXPECT_EQ(check(std::string(R"({"n":)") + num + "}"), error::not_json) << num;
    EXPECT_EQ(check(std::string(R"({"n":[)") + num + "]}"), error::not_json) << num;
  }
}

TEST(Walker, PassesHugeNumbersThroughUnchanged) {
  const std::string big_int(100, '7');
  for (const std::string& num : {"1e400"s, "-1e-400"s, big_int, "-" + big_int + ".5e+99999"s, "0"s,
                                 "-0"s, "0.0e0"s, "1E+2"s, "123456789012345678901234567890"s}) {
    walker w({});
    recorder r;
    const std::string line = R"({"n":)" + num + R"(,"m":[)" + num + "]}";
    ASSERT_EQ(walk_copied(w, line, &r), error::none) << num;
    EXPECT_EQ(line.substr(r.find("/n")->begin, r.find("/n")->end - r.find("/n")->begin), num);
    EXPECT_EQ(line.substr(r.find("/m/0")->begin, r.find("/m/0")->end - r.find("/m/0")->begin), num);
  }
}

TEST(Walker, CallsArraysAndScalarsAtTheRootNotObject) {
  for (const char* line : {"[]", "[1,2]", " [ {\"a\":1} ] ", "\"str\"", "42", "-1.5e3", "true",
                           "false", "null", " \"a\\\"b\" ", "[1,", "[\"unclosed", "[}"}) {
    EXPECT_EQ(check(line), error::not_object) << line;
  }
}

TEST(Walker, CallsAnInvalidScalarAtTheRootNotJson) {
  for (const char* line : {"tru", "nul", "01", "\"abc", "1 2", "\"a\" \"b\"", "\"\\x\"", "-"}) {
    EXPECT_EQ(check(line), error::not_json) << line;
  }
}

TEST(Walker, CallsALineStartingWithAByteOrderMarkNotJson) {
  EXPECT_EQ(check("\xEF\xBB\xBF{\"a\":1}"), error::not_json);
  EXPECT_EQ(check(" \xEF\xBB\xBF{\"a\":1}"), error::not_json);
}

TEST(Walker, RejectsRawControlBytesInAStringValue) {
  EXPECT_EQ(check("{\"a\":\"x\x01y\"}"), error::control_character);
  EXPECT_EQ(check("{\"a\":\"\x1f\"}"), error::control_character);
  EXPECT_EQ(check("{\"a\":\"tab\there\"}"), error::control_character);
  EXPECT_EQ(check("{\"a\":[\"ok\",\"new\nline\"]}"), error::control_character);
  EXPECT_EQ(check("{\"a\":\"nul\0\"}"s), error::control_character);
}

TEST(Walker, RejectsRawControlBytesInAKey) {
  EXPECT_EQ(check("{\"k\x01\":1}"), error::control_character);
  EXPECT_EQ(check("{\"ok\":{\"\x1b[31m\":1}}"), error::control_character);
  EXPECT_EQ(check("{\"a:\tb\" : 1}"), error::control_character);
}

TEST(Walker, AcceptsEscapedControlCharactersAndRawWhitespaceOutsideStrings) {
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, "{\t\"a\":\r\"\\u0000\\u001b\\t\"\t,\"k\\u0001\":1}", &r), error::none);
  EXPECT_EQ(r.find("/a")->text, "\0\x1b\t"s);
  EXPECT_NE(r.find("/k\x01"), nullptr);
}

TEST(Walker, SurvivesFiveThousandLevelsOfNestingAsTooDeep) {
  EXPECT_EQ(check(nested_objects(5000)), error::too_deep);
  EXPECT_EQ(check(nested_in_arrays(5000)), error::too_deep);
  // Unbalanced: simdjson sees that the last token is not `}` before any walking.
  EXPECT_EQ(check(std::string(5000, '{')), error::not_json);
  EXPECT_EQ(check("{\"a\":" + std::string(5000, '[')), error::not_json);
  EXPECT_EQ(check("{\"a\":" + std::string(5000, '[') + "}"), error::too_deep);
  // The configuration allows up to 1024 levels: the recursion must cope with that.
  const limits deepest{.max_event_bytes = 1U << 20, .max_depth = 1024};
  EXPECT_EQ(check(nested_objects(1024), deepest), error::none);
  EXPECT_EQ(check(nested_in_arrays(1024), deepest), error::none);
  EXPECT_EQ(check(nested_objects(5000), deepest), error::too_deep);
}

TEST(Walker, AcceptsExactlyMaxDepthLevelsOfNesting) {
  EXPECT_EQ(check(nested_objects(64)), error::none);
  EXPECT_EQ(check(nested_objects(65)), error::too_deep);
  EXPECT_EQ(check(nested_in_arrays(64)), error::none);
  EXPECT_EQ(check(nested_in_arrays(65)), error::too_deep);
  EXPECT_EQ(check(nested_objects(3), {.max_event_bytes = 1U << 20, .max_depth = 3}), error::none);
  EXPECT_EQ(check(nested_objects(4), {.max_event_bytes = 1U << 20, .max_depth = 3}),
            error::too_deep);
  EXPECT_EQ(check("{}", {.max_event_bytes = 1U << 20, .max_depth = 0}), error::too_deep);
}

TEST(Walker, ReportsTheDepthOfTheDeepestValues) {
  walker w({});
  recorder r;
  ASSERT_EQ(walk_copied(w, nested_objects(64), &r), error::none);
  EXPECT_EQ(r.values.back().kind, value_kind::number);
  EXPECT_EQ(r.values.back().depth, 64U);
}

TEST(Walker, CallsSomethingAfterTheRootObjectTrailingContent) {
  for (const char* line : {"{\"a\":1} x", "{\"a\":1}{\"b\":2}", "{\"a\":1} {\"b\":2}", "{\"a\":1}}",
                           "{\"a\":1}]", "{} 1", "{}\"s\"", "{} ,", "{}\x01", "{\"a\":[1]} x}"}) {
    EXPECT_EQ(check(line), error::trailing_content) << line;
  }
}

TEST(Walker, ReportsAnErrorInsideTheObjectBeforeTrailingContent) {
  EXPECT_EQ(check("{\"a\":tru} x"), error::not_json);
  EXPECT_EQ(check("{\"a\":\"\x01\"} x"), error::control_character);
}

// ---------------------------------------------------------------------------
// Parse paths, reuse, early stop

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> v{
        R"({"a":1})",
        R"( {"s":"\u003cscript\u003e","n":[1,2.5,-3e9],"o":{"x":null,"y":true}} )",
        R"({"k":"first","k":"second"})",
        R"({"e":"a\u0000b\ud83d\ude00"})",
        "{\"big\":1e400}",
        "{\"a\":\"x\x01\"}",
        "{\"\x02\":1}",
        "{\"a\":\"\xFF\"}",
        "[1,2]",
        "\"x\"",
        "{\"a\":1} x",
        "{\"a\":1}}",
        "{\"a\":{\"b\":1}",
        "{\"a\":[1,2}",
        "{\"a\":01}",
        "{\"a\":\"unterminated",
        "",
        "   ",
        "\xEF\xBB\xBF{}",
        nested_objects(65),
        nested_objects(64),
        nested_objects(5000),
        "{}",
        "{\"a\":[],\"b\":{},\"c\":\"\"}",
    };
    return v;
  }();
  return lines;
}

TEST(Walker, GivesIdenticalResultsInPlaceAndCopied) {
  walker w({});
  for (const std::string& line : corpus()) {
    recorder copied;
    const error expected = walk_copied(w, line, &copied);
    for (const std::string_view after :
         {"\n"sv, "}"sv, "}}}}}}}}}}}}}}}}}}}}"sv, ",\"z\":1}"sv, "\0\0\0"sv, "\"\"\"\""sv,
          "]]]]"sv, "\n{\"next\":\"line\"}\n"sv}) {
      recorder in_place;
      EXPECT_EQ(walk_in_place(w, line, after, &in_place), expected) << line;
      if (expected == error::none) {
        EXPECT_EQ(in_place.values, copied.values) << line;
      }
    }
  }
}

TEST(Walker, CanBeReusedForManyLinesIncludingAfterErrors) {
  walker reused({});
  for (int round = 0; round < 50; ++round) {
    for (const std::string& line : corpus()) {
      walker fresh({});
      recorder a;
      recorder b;
      const error expected = walk_copied(fresh, line, &a);
      ASSERT_EQ(walk_copied(reused, line, &b), expected) << line;
      if (expected == error::none) {
        ASSERT_EQ(a.values, b.values) << line;
      }
    }
  }
}

TEST(Walker, AllocatesNothingPerLineOnceWarm) {
  struct counter final : visitor {
    std::size_t values = 0;
    std::size_t text = 0;
    bool on_value(const value_ref& v) override {
      ++values;
      text += v.text.size() + v.pointer.size();
      return true;
    }
  } c;
  // Every line with room for in-place parsing after it.
  std::vector<std::string> buffers;
  for (const std::string& line : corpus()) {
    buffers.push_back(line + std::string(walker::required_padding(), ' '));
  }
  walker w({});
  auto walk_all = [&] {
    for (std::size_t i = 0; i < buffers.size(); ++i) {
      const std::string_view line(buffers[i].data(), corpus()[i].size());
      (void)w.walk(line, 0, &c);
      (void)w.walk(line, walker::required_padding(), &c);
      (void)w.walk(line, 0, nullptr);
    }
  };
  walk_all(); // warm up
  const std::size_t probe = heap_allocations.load();
  // An explicit operator call: unlike a new-expression, the optimiser may not elide it.
  ::operator delete(::operator new(16));
  ASSERT_GT(heap_allocations.load(), probe) << "the allocation counter is not in use";
  const std::size_t before = heap_allocations.load();
  for (int round = 0; round < 100; ++round)
    walk_all();
  EXPECT_EQ(heap_allocations.load() - before, 0U);
  EXPECT_GT(c.values, 0U);
}

TEST(Walker, StopsVisitingWhenTheVisitorSaysSoButStillValidates) {
  walker w({});
  recorder r;
  r.stop_after = 2;
  EXPECT_EQ(walk_copied(w, R"({"a":1,"b":2,"c":3})", &r), error::none);
  EXPECT_EQ(r.values.size(), 2U);

  recorder r2;
  r2.stop_after = 2;
  EXPECT_EQ(walk_copied(w, R"({"a":1,"b":2,"c":tru})", &r2), error::not_json);
  EXPECT_EQ(r2.values.size(), 2U);

  // The next walk visits again.
  recorder r3;
  EXPECT_EQ(walk_copied(w, R"({"a":1,"b":2,"c":3})", &r3), error::none);
  EXPECT_EQ(r3.values.size(), 4U);
}

TEST(Walker, ValidatesWithoutAVisitor) {
  walker w({});
  EXPECT_EQ(w.walk(R"({"a":[1,{"b":"c"}]})", 0, nullptr), error::none);
  EXPECT_EQ(w.walk(R"({"a":[1,{"b":"c"]})", 0, nullptr), error::not_json);
}

TEST(Walker, KeepsItsLimitsAndCanBeMoved) {
  walker a({.max_event_bytes = 100, .max_depth = 3});
  walker b = std::move(a);
  EXPECT_EQ(b.get_limits().max_event_bytes, 100U);
  EXPECT_EQ(b.get_limits().max_depth, 3U);
  EXPECT_EQ(b.walk(R"({"a":1})", 0, nullptr), error::none);
  EXPECT_GE(walker::required_padding(), 32U);
}

// ---------------------------------------------------------------------------
// value_end

TEST(ValueEnd, FindsTheEndOfEveryKindOfValue) {
  const std::string line =
      R"({"s":"a\"}\\","o":{"x":"}","y":[1,{"z":"]"}]},"n":-12.5e3 ,"t":true})";
  EXPECT_EQ(value_end(line, 0), line.size());
  const std::size_t s = line.find(R"("a\")");
  EXPECT_EQ(line.substr(s, value_end(line, s) - s), R"("a\"}\\")");
  const std::size_t o = line.find(R"({"x")");
  EXPECT_EQ(line.substr(o, value_end(line, o) - o), R"({"x":"}","y":[1,{"z":"]"}]})");
  const std::size_t n = line.find("-12");
  EXPECT_EQ(line.substr(n, value_end(line, n) - n), "-12.5e3");
  const std::size_t t = line.find("true");
  EXPECT_EQ(line.substr(t, value_end(line, t) - t), "true");
}

} // namespace
} // namespace bulwark::json
