#include "pipeline/ndjson.hpp"
#include "support/temp_dir.hpp"

#include <csignal>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

namespace bulwark::pipeline {
namespace {

using bulwark::testing::lines_of;
using bulwark::testing::read_file;
using bulwark::testing::temp_dir;
using bulwark::testing::write_file;

struct scan_output {
  ndjson_result result;
  std::string out;
  std::string dlq;
};

scan_output scan(const std::string& input, config::options opts = {}, ndjson_tuning tuning = {},
                 const std::shared_ptr<const scan::ruleset>& rules = nullptr) {
  temp_dir dir;
  write_file(dir.file("in"), input);
  ndjson_io io;
  io.in = ::open(dir.file("in").c_str(), O_RDONLY);
  io.out = ::open(dir.file("out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  io.dlq = ::open(dir.file("dlq").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  scan_output s;
  s.result = run_ndjson(opts, io, rules, tuning);
  ::close(io.in);
  ::close(io.out);
  ::close(io.dlq);
  s.out = read_file(dir.file("out"));
  s.dlq = read_file(dir.file("dlq"));
  return s;
}

std::string numbered_events(int n) {
  std::string in;
  for (int i = 1; i <= n; ++i) {
    if (i % 97 == 0) {
      in += "not json " + std::to_string(i) + "\n";
    } else {
      in += R"({"n":)" + std::to_string(i) + R"(,"pad":")" + std::string(i % 50, 'p') + "\"}\n";
    }
  }
  return in;
}

TEST(NdjsonScan, OutputLinesStayInInputOrderWhateverTheWorkerCount) {
  const std::string in = numbered_events(5000);
  const auto expected_lines = lines_of(in);
  for (int workers : {1, 2, 3, 8}) {
    config::options o;
    o.workers = workers;
    // Tiny batches force many batches in flight at once.
    const auto s = scan(in, o, ndjson_tuning{512});
    ASSERT_TRUE(s.result.error.empty()) << s.result.error;
    const auto out = lines_of(s.out);
    ASSERT_EQ(out.size(), expected_lines.size()) << "workers=" << workers;
    for (std::size_t i = 0; i < out.size(); ++i) {
      if ((i + 1) % 97 == 0) {
        EXPECT_EQ(out[i], R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"not_json","line":)" +
                              std::to_string(i + 1) + "}}");
      } else {
        EXPECT_EQ(out[i], expected_lines[i]);
      }
    }
    EXPECT_EQ(lines_of(s.dlq).size(), 5000U / 97U);
    EXPECT_EQ(s.result.lines, 5000U);
    EXPECT_EQ(s.result.totals.count(verdict::rejected), 5000U / 97U);
    EXPECT_EQ(s.result.bytes_read, in.size());
  }
}

TEST(NdjsonScan, WorkersShareOneRulesetAndGiveTheSingleWorkerResult) {
  auto built = scan::load_ruleset(scan::default_rules_dir(),
                                  {"secrets", "pii", "injection", "prompt_injection"}, {});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const scan::ruleset>>(built));
  const auto rules = std::get<std::shared_ptr<const scan::ruleset>>(built);
  std::string in;
  for (int i = 0; i < 3000; ++i) {
    switch (i % 4) {
    case 0:
      in += R"({"msg":"key AKIAZ3MSJV4WWNKWW5FG n)" + std::to_string(i) + "\"}\n";
      break;
    case 1:
      in += R"({"msg":"mail a)" + std::to_string(i) + "@example.com <script>x\"}\n";
      break;
    case 2:
      in += R"({"msg":"plain text )" + std::to_string(i) + "\"}\n";
      break;
    default:
      in += "not json\n";
    }
  }
  config::options one;
  one.workers = 1;
  const auto reference = scan(in, one, ndjson_tuning{1024}, rules);
  config::options many;
  many.workers = 4;
  const auto parallel = scan(in, many, ndjson_tuning{1024}, rules);
  EXPECT_EQ(parallel.out, reference.out);
  EXPECT_EQ(parallel.dlq, reference.dlq);
  EXPECT_EQ(parallel.result.totals.count(verdict::redacted), 1500U);
  EXPECT_EQ(reference.out.find("AKIAZ3MSJV4WWNKWW5FG"), std::string::npos);
}

TEST(NdjsonScan, CrlfLineEndingsAreAcceptedAndOutputUsesLf) {
  const auto s = scan("{\"a\":1}\r\n{\"b\":2}\r\n");
  EXPECT_EQ(s.out, "{\"a\":1}\n{\"b\":2}\n");
}

TEST(NdjsonScan, AByteOrderMarkAtTheStartOfTheStreamIsSkipped) {
  const auto s = scan("\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{\"b\":2}\n");
  const auto out = lines_of(s.out);
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0], "{\"a\":1}");
  // Only the stream's start may carry a BOM; elsewhere it is not JSON.
  EXPECT_EQ(out[1], R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"not_json","line":2}})");
}

TEST(NdjsonScan, TheLastLineNeedsNoTrailingNewline) {
  const auto s = scan("{\"a\":1}\n{\"b\":2}");
  EXPECT_EQ(s.out, "{\"a\":1}\n{\"b\":2}\n");
  EXPECT_EQ(s.result.lines, 2U);
}

TEST(NdjsonScan, AnEmptyLineIsRejectedSoOutputStaysLineAligned) {
  const auto s = scan("{\"a\":1}\n\n{\"b\":2}\n");
  const auto out = lines_of(s.out);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[1], R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"empty","line":2}})");
  EXPECT_EQ(s.dlq, "{\"line\":2,\"reason\":\"empty\",\"raw\":\"\"}\n");
}

TEST(NdjsonScan, EmptyInputGivesEmptyOutput) {
  const auto s = scan("");
  EXPECT_EQ(s.out, "");
  EXPECT_EQ(s.result.lines, 0U);
}

TEST(NdjsonScan, AThreeMegabyteLineIsRejectedWholeIntoTheDeadLetters) {
  const std::string big = R"({"blob":")" + std::string(3 << 20, 'A') + R"("})";
  const auto s = scan("{\"a\":1}\n" + big + "\n{\"b\":2}\n");
  const auto out = lines_of(s.out);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[1], R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"too_large","line":2}})");
  EXPECT_EQ(out[2], "{\"b\":2}");
  EXPECT_NE(s.dlq.find(std::string(3 << 20, 'A')), std::string::npos);
  EXPECT_EQ(s.dlq.find("truncated"), std::string::npos);
}

TEST(NdjsonScan, ALineBeyondTheKeepCapIsCutButCountedAndTheNextLinesSurvive) {
  config::options o;
  o.limits.max_event_bytes = 100; // keeps at most 400 bytes of an over-long line
  const std::string huge(1 << 20, 'z');
  const auto s = scan("{\"a\":1}\n" + huge + "\n{\"b\":2}\n", o);
  const auto out = lines_of(s.out);
  ASSERT_EQ(out.size(), 3U);
  EXPECT_EQ(out[1], R"({"_bulwark":{"v":1,"verdict":"rejected","reason":"too_large","line":2}})");
  EXPECT_EQ(out[2], "{\"b\":2}");
  EXPECT_EQ(s.dlq, R"({"line":2,"reason":"too_large","raw":")" + std::string(400, 'z') +
                       R"(","truncated":true,"bytes":1048576})" + "\n");
  EXPECT_EQ(s.result.bytes_read, 8U + huge.size() + 1 + 8);
}

TEST(NdjsonScan, AWriteFailureIsReportedNamingTheOutput) {
  temp_dir dir;
  write_file(dir.file("in"), numbered_events(100));
  int pipe_fds[2];
  ASSERT_EQ(::pipe(pipe_fds), 0);
  ::close(pipe_fds[0]); // nobody reads: writes fail with EPIPE
  std::signal(SIGPIPE, SIG_IGN);
  ndjson_io io;
  io.in = ::open(dir.file("in").c_str(), O_RDONLY);
  io.out = pipe_fds[1];
  const auto r = run_ndjson(config::options{}, io);
  ::close(io.in);
  ::close(pipe_fds[1]);
  EXPECT_NE(r.error.find("--out"), std::string::npos) << r.error;
}

} // namespace
} // namespace bulwark::pipeline
