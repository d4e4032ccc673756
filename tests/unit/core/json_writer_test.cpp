#include "core/alert_request.hpp"
#include "core/json_writer.hpp"

#include <gtest/gtest.h>
#include <limits>

namespace bulwark {
namespace {

TEST(JsonWriter, BuildsNestedObjectsWithCommas) {
  json_writer w;
  w.begin_object()
      .key("a")
      .value(1)
      .key("b")
      .begin_array()
      .value("x")
      .value(2.5)
      .null()
      .end_array();
  w.key("c").begin_object().end_object().key("d").value(true).end_object();
  EXPECT_EQ(w.str(), R"({"a":1,"b":["x",2.5,null],"c":{},"d":true})");
}

TEST(JsonWriter, EscapesControlsQuotesAndInvalidUtf8) {
  std::string out;
  append_json_string(out, std::string_view{"q\"b\\\n\t\r\x01\x7f\xc3\xa9\xff\xed\xa0\x80 end", 19});
  EXPECT_EQ(out, "\"q\\\"b\\\\\\n\\t\\r\\u0001\\u007f\xc3\xa9\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
                 "\xef\xbf\xbd end\"");
}

/// One byte at a time, as RFC 8259 and the writer's contract say: the
/// reference the run-copying writer is checked against.
std::string reference_json_string(std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n' || c == '\t' || c == '\r') {
      out += c == '\n' ? "\\n" : c == '\t' ? "\\t" : "\\r";
      ++i;
    } else if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
      ++i;
    } else if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
    } else if (const std::size_t n = utf8_length(text, i); n != 0) {
      out.append(text.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out + '"';
}

TEST(JsonWriter, EscapingMatchesAByteAtATimeReferenceOnRandomBytes) {
  // Mostly printable text with escapes, UTF-8 (valid and cut short) and
  // stray bytes mixed in, at every position including the ends.
  std::uint64_t state = 42;
  const auto next = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<unsigned>(state >> 33);
  };
  const std::string_view pieces[] = {"a",
                                     "Z",
                                     " ",
                                     "\"",
                                     "\\",
                                     "\n",
                                     "\x01",
                                     "\x7f",
                                     "\xc3\xa9",
                                     "\xe2\x82\xac",
                                     "\xf0\x9f\x98\x80",
                                     "\xc3",
                                     "\xe2\x82",
                                     "\xff",
                                     "\xed\xa0\x80",
                                     "{}",
                                     "0"};
  for (int round = 0; round < 2000; ++round) {
    std::string text;
    const unsigned len = next() % 24;
    for (unsigned k = 0; k < len; ++k)
      text += next() % 3 == 0 ? pieces[next() % std::size(pieces)]
                              : std::string_view("plain words ").substr(next() % 12, 1);
    std::string out = "prefix,";
    append_json_string(out, text);
    ASSERT_EQ(out, "prefix," + reference_json_string(text)) << round;
  }
  for (unsigned b = 0; b < 256; ++b) {
    const std::string text(1, static_cast<char>(b));
    std::string out;
    append_json_string(out, text);
    EXPECT_EQ(out, reference_json_string(text)) << b;
  }
}

TEST(JsonWriter, NonFiniteNumbersBecomeNull) {
  std::string out;
  append_json_number(out, std::numeric_limits<double>::quiet_NaN());
  out += ',';
  append_json_number(out, std::numeric_limits<double>::infinity());
  out += ',';
  append_json_number(out, 0.1);
  EXPECT_EQ(out, "null,null,0.1");
}

TEST(AlertRequest, DefaultSeveritiesFollowTheSpecTable) {
  EXPECT_EQ(default_severity("integrity.tamper"), severity::critical);
  EXPECT_EQ(default_severity("rollback_guard"), severity::critical);
  EXPECT_EQ(default_severity("flood"), severity::high);
  EXPECT_EQ(default_severity("integrity.skew"), severity::medium);
  EXPECT_EQ(default_severity("dlq"), severity::low);
  EXPECT_EQ(default_severity("something-new"), severity::medium);
}

} // namespace
} // namespace bulwark
