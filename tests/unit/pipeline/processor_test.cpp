#include "pipeline/processor.hpp"

#include <gtest/gtest.h>

namespace bulwark::pipeline {
namespace {

std::string process_one(processor& p, std::string_view line, std::string* dlq_out = nullptr) {
  std::string out, dlq;
  p.process(line, raw_info{}, origin{7}, out, dlq);
  if (dlq_out != nullptr) *dlq_out = dlq;
  return out;
}

TEST(Processor, AnEventWithNoFindingPassesThroughByteIdentical) {
  processor p(config::options{});
  const std::string line =
      R"({ "ts" : "2026-11-26T10:00:00Z","x":[1, 2.50, -0.0e+1],"s":"a\u0041\n"} )";
  std::string dlq;
  EXPECT_EQ(process_one(p, line, &dlq), line);
  EXPECT_TRUE(dlq.empty());
  EXPECT_EQ(p.counters().count(verdict::clean), 1U);
}

TEST(Processor, ARejectedLineYieldsThePlaceholderAndADeadLetter) {
  processor p(config::options{});
  std::string dlq;
  EXPECT_EQ(process_one(p, R"(["an","array"])", &dlq),
            R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"not_object","line":7}})");
  EXPECT_EQ(dlq, R"({"line":7,"reason":"not_object","raw":"[\"an\",\"array\"]"})");
  EXPECT_EQ(p.counters().count(verdict::rejected), 1U);
  EXPECT_EQ(p.counters().rejected_by_reason[static_cast<int>(json::error::not_object)], 1U);
}

TEST(Processor, InvalidUtf8IsReplacedInTheDeadLetterSoItStaysValidJson) {
  processor p(config::options{});
  std::string dlq;
  process_one(p, "{\"a\":\"\xff\xfe\"}", &dlq);
  EXPECT_EQ(dlq, "{\"line\":7,\"reason\":\"invalid_utf8\",\"raw\":\"{\\\"a\\\":"
                 "\\\"\xEF\xBF\xBD\xEF\xBF\xBD\\\"}\"}");
}

TEST(Processor, ATooLargeRecordIsRejectedBeforeParsing) {
  config::options o;
  o.limits.max_event_bytes = 64;
  processor p(o);
  const std::string big = R"({"a":")" + std::string(100, 'x') + R"("})";
  std::string dlq;
  EXPECT_EQ(process_one(p, big, &dlq),
            R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"too_large","line":7}})");
  EXPECT_NE(dlq.find(std::string(100, 'x')), std::string::npos) << "the whole original is kept";
}

TEST(Processor, ATruncatedRecordNamesItsRealSize) {
  processor p(config::options{});
  std::string out, dlq;
  p.process("{\"a\":\"xxxx", raw_info{0, 5000000, true}, origin{3}, out, dlq);
  EXPECT_EQ(out, R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"too_large","line":3}})");
  EXPECT_EQ(
      dlq,
      R"({"line":3,"reason":"too_large","raw":"{\"a\":\"xxxx","truncated":true,"bytes":5000000})");
}

TEST(Processor, PlaceholderEscapesTheReason) {
  std::string out;
  append_placeholder(out, verdict::quarantined, "bad \"mac\"", origin{12});
  EXPECT_EQ(out,
            R"({"_bulwark":{"v":1,"verdict":"quarantined","reason":"bad \"mac\"","line":12}})");
}

} // namespace
} // namespace bulwark::pipeline
