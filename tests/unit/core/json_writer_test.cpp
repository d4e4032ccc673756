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
