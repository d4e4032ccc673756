#include "core/log.hpp"

#include "json/walk.hpp"
#include <cmath>
#include <cstdlib>
#include <gtest/gtest.h>
#include <map>
#include <thread>

namespace bulwark::log {
namespace {

using namespace std::chrono_literals;

/// The members of a one-level JSON object line: pointer → (kind, text or raw).
struct parsed {
  bool ok = false;
  std::map<std::string, std::pair<json::value_kind, std::string>> members;
};

parsed parse(std::string_view line) {
  struct collect final : json::visitor {
    std::string_view line;
    parsed* out;
    bool on_value(const json::value_ref& v) override {
      if (v.depth != 1) return true;
      const std::string text = v.kind == json::value_kind::string
                                   ? std::string(v.text)
                                   : std::string(line.substr(v.begin, v.end - v.begin));
      out->members[std::string(v.pointer.substr(1))] = {v.kind, text};
      return true;
    }
  };
  parsed p;
  collect c;
  c.line = line;
  c.out = &p;
  json::walker w(json::limits{1U << 20, 8});
  p.ok = w.walk(line, 0, &c) == json::error::none;
  return p;
}

TEST(Log, LevelsParseAndPrint) {
  for (const level lv : {level::debug, level::info, level::warn, level::error})
    EXPECT_EQ(parse_level(to_string(lv)), lv);
  EXPECT_EQ(parse_level("WARN"), level::warn);
  EXPECT_FALSE(parse_level("warning"));
  EXPECT_FALSE(parse_level(""));
}

TEST(Log, FormatsOneObjectWithTypedFields) {
  const std::string line =
      format_line(1'795'773'600'123, level::warn, "run", "delivery failed",
                  std::vector<field>{{"topic", "telemetry.sanitized"},
                                     {"partition", 7},
                                     {"offset", std::uint64_t{18'446'744'073'709'551'615ULL}},
                                     {"negative", std::int64_t{-5}},
                                     {"seconds", 1.5},
                                     {"nan", std::nan("")},
                                     {"retrying", true}});
  EXPECT_EQ(line, R"({"ts":"2026-11-27T10:00:00.123Z","level":"warn","component":"run",)"
                  R"("msg":"delivery failed","topic":"telemetry.sanitized","partition":7,)"
                  R"("offset":18446744073709551615,"negative":-5,"seconds":1.5,"nan":null,)"
                  R"("retrying":true})");
  EXPECT_TRUE(parse(line).ok);
}

TEST(Log, EscapesEveryControlCharacterAndBadUtf8) {
  // C0 controls, DEL, an ANSI escape sequence, a C1 control (U+009B, CSI),
  // the JavaScript line separators, a forged second line, invalid UTF-8.
  const std::string nasty = std::string("a\nb\r\x1b[31mred\x7f\xc2\x9b\xe2\x80\xa8\xe2\x80\xa9") +
                            "\n{\"level\":\"error\"}\xff\x00z" + std::string(1, '\0');
  const std::string line =
      format_line(0, level::info, "t", nasty, std::vector<field>{{"f", nasty}});
  for (const char c : line)
    EXPECT_GE(static_cast<unsigned char>(c), 0x20) << line;
  EXPECT_EQ(line.find('\x7f'), std::string::npos);
  EXPECT_EQ(line.find("\xc2\x9b"), std::string::npos);
  EXPECT_EQ(line.find("\xe2\x80\xa8"), std::string::npos);
  EXPECT_NE(line.find("\\u009b"), std::string::npos);
  EXPECT_NE(line.find("\\u2028\\u2029"), std::string::npos);
  const parsed p = parse(line);
  ASSERT_TRUE(p.ok) << line;
  EXPECT_EQ(p.members.at("level").second, "info"); // the forged one stays inside msg
  EXPECT_EQ(p.members.at("msg").second.substr(0, 4), "a\nb\r");
  EXPECT_NE(p.members.at("f").second.find("\xef\xbf\xbd"), std::string::npos); // U+FFFD
}

TEST(Log, CutsLongStringsAtACharacterBoundaryAndSaysSo) {
  // Two-byte characters: a cut at an odd byte would split one.
  std::string longer;
  for (std::size_t i = 0; i < max_string_bytes; ++i)
    longer += "\xc3\xa9";
  const std::string line =
      format_line(0, level::error, "t", longer, std::vector<field>{{"short", "ok"}});
  const parsed p = parse(line);
  ASSERT_TRUE(p.ok);
  const std::string& msg = p.members.at("msg").second;
  EXPECT_LE(msg.size(), max_string_bytes + 3);
  EXPECT_EQ(msg.substr(msg.size() - 3), "\xe2\x80\xa6");                 // …
  EXPECT_EQ(msg.find("\xef\xbf\xbd"), std::string::npos);                // no broken character
  EXPECT_EQ(p.members.at("truncated").first, json::value_kind::boolean); // said so
  EXPECT_EQ(p.members.at("short").second, "ok");

  const parsed whole = parse(format_line(0, level::error, "t", "fine", {}));
  EXPECT_EQ(whole.members.count("truncated"), 0U);
}

TEST(Log, ThresholdDropsLowerLevelsAndCaptureSeesTheRest) {
  capture cap(level::warn);
  debug("t", "d");
  info("t", "i");
  warn("t", "w", {{"n", 1}});
  error("t", "e");
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(parse(lines[0]).members.at("msg").second, "w");
  EXPECT_EQ(parse(lines[1]).members.at("level").second, "error");
  EXPECT_FALSE(enabled(level::info));
  EXPECT_TRUE(enabled(level::warn));
}

TEST(Log, ThresholdComesFromTheEnvironment) {
  capture cap(level::debug);
  ::setenv("BULWARK_LOG_LEVEL", "error", 1);
  reread_environment();
  EXPECT_EQ(threshold(), level::error);
  ::setenv("BULWARK_LOG_LEVEL", "Debug", 1);
  reread_environment();
  EXPECT_EQ(threshold(), level::debug);
  ::unsetenv("BULWARK_LOG_LEVEL");
  reread_environment();
  EXPECT_EQ(threshold(), level::info);
  EXPECT_TRUE(cap.lines().empty());
  // An unknown value: the default, and a warning naming the variable.
  ::setenv("BULWARK_LOG_LEVEL", "verbose", 1);
  reread_environment();
  ::unsetenv("BULWARK_LOG_LEVEL");
  EXPECT_EQ(threshold(), level::info);
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 1U);
  const parsed p = parse(lines[0]);
  EXPECT_EQ(p.members.at("level").second, "warn");
  EXPECT_EQ(p.members.at("value").second, "verbose");
  EXPECT_NE(p.members.at("msg").second.find("BULWARK_LOG_LEVEL"), std::string::npos);
}

TEST(Log, CaptureRestoresThePreviousSinkAndThreshold) {
  const level before = threshold();
  {
    capture outer(level::error);
    {
      capture inner(level::debug);
      info("t", "inner");
      EXPECT_EQ(inner.lines().size(), 1U);
    }
    EXPECT_EQ(threshold(), level::error);
    error("t", "outer");
    EXPECT_EQ(outer.lines().size(), 1U);
  }
  EXPECT_EQ(threshold(), before);
}

TEST(Log, LinesFromManyThreadsNeverInterleave) {
  capture cap(level::info);
  constexpr int threads = 8;
  constexpr int per_thread = 500;
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([t] {
      const std::string pad(200, static_cast<char>('a' + t));
      for (int i = 0; i < per_thread; ++i)
        info("t", pad, {{"thread", t}, {"i", i}});
    });
  for (auto& t : ts)
    t.join();
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(threads * per_thread));
  for (const auto& l : lines) {
    const parsed p = parse(l);
    ASSERT_TRUE(p.ok) << l;
    const int t = std::stoi(p.members.at("thread").second);
    EXPECT_EQ(p.members.at("msg").second, std::string(200, static_cast<char>('a' + t)));
  }
}

TEST(Log, WritesWholeLinesToStderr) {
  // Through the real sink: a pipe in place of fd 2.
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const int saved = ::dup(2);
  ::dup2(fds[1], 2);
  const level before = threshold();
  set_threshold(level::info);
  info("t", "to stderr", {{"n", 1}});
  set_threshold(before);
  ::dup2(saved, 2);
  ::close(saved);
  ::close(fds[1]);
  std::string got;
  char buf[512];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;)
    got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got.back(), '\n');
  EXPECT_EQ(got.find('\n'), got.size() - 1);
  EXPECT_TRUE(parse(std::string_view(got).substr(0, got.size() - 1)).ok) << got;
}

TEST(Log, ASecretLookingValueIsEscapedLikeAnyTextNotRecognised) {
  // The logger cannot know what is secret: a planted value passes through as
  // text (escaped, still valid JSON). Keeping it out is the call sites' duty
  // (docs/logging.md); this pins that nothing pretends otherwise.
  capture cap;
  const std::string planted = "AKIAZ3MSJV4WWNKWW5FG";
  warn("t", "key " + planted, {{"value", planted}});
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 1U);
  const parsed p = parse(lines[0]);
  EXPECT_EQ(p.members.at("msg").second, "key " + planted);
  EXPECT_EQ(p.members.at("value").second, planted);
}

TEST(RateLimiter, AllowsABurstPerKeyThenCountsAndReportsTheRest) {
  capture cap;
  rate_limiter rl(3, 10s);
  const auto t0 = rate_limiter::clock::time_point{} + 100s;
  int written = 0;
  for (int i = 0; i < 50; ++i)
    written += rl.write(level::warn, "run", "delivery:a", "delivery failed", {{"i", i}},
                        t0 + std::chrono::milliseconds(i))
                   ? 1
                   : 0;
  // Another key has a budget of its own.
  EXPECT_TRUE(rl.write(level::warn, "run", "delivery:b", "delivery failed", {}, t0));
  EXPECT_EQ(written, 3);
  EXPECT_EQ(cap.lines().size(), 4U);

  rl.flush(t0 + 5s); // the interval is not over: nothing yet
  EXPECT_EQ(cap.lines().size(), 4U);

  // The next line after the interval first reports what was suppressed.
  EXPECT_TRUE(rl.write(level::warn, "run", "delivery:a", "delivery failed", {}, t0 + 11s));
  auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 6U);
  const parsed report = parse(lines[4]);
  EXPECT_EQ(report.members.at("msg").second, "suppressed");
  EXPECT_EQ(report.members.at("key").second, "delivery:a");
  EXPECT_EQ(report.members.at("suppressed").second, "47");
  EXPECT_EQ(report.members.at("interval_ms").second, "10000");
  EXPECT_EQ(report.members.at("component").second, "run");
  EXPECT_EQ(report.members.at("level").second, "warn");
  EXPECT_EQ(parse(lines[5]).members.at("msg").second, "delivery failed");
}

TEST(RateLimiter, FlushReportsEndedFloodsAndForgetsIdleKeys) {
  capture cap;
  rate_limiter rl(1, 1s);
  const auto t0 = rate_limiter::clock::time_point{} + 100s;
  for (int i = 0; i < 5; ++i)
    rl.write(level::error, "kafka", "k", "boom", {}, t0);
  rl.write(level::error, "kafka", "quiet", "once", {}, t0);
  EXPECT_EQ(rl.tracked(), 2U);
  rl.flush(t0 + 2s);
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 3U); // boom, once, then the report for k only
  const parsed report = parse(lines[2]);
  EXPECT_EQ(report.members.at("key").second, "k");
  EXPECT_EQ(report.members.at("suppressed").second, "4");
  EXPECT_EQ(rl.tracked(), 0U);
}

TEST(RateLimiter, FlushAllReportsPendingCountsAtOnce) {
  capture cap;
  rate_limiter rl(2, 1h);
  for (int i = 0; i < 10; ++i)
    rl.write(level::warn, "run", "k", "again", {});
  rl.flush_all();
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 3U);
  EXPECT_EQ(parse(lines[2]).members.at("suppressed").second, "8");
  rl.flush_all(); // nothing left to report
  EXPECT_EQ(cap.lines().size(), 3U);
}

TEST(RateLimiter, LinesBelowTheThresholdAreNotCounted) {
  capture cap(level::error);
  rate_limiter rl(1, 1h);
  for (int i = 0; i < 10; ++i)
    rl.write(level::warn, "run", "k", "dropped by level", {});
  rl.flush_all();
  EXPECT_TRUE(cap.lines().empty());
}

TEST(RateLimiter, ManyThreadsShareOneBudget) {
  capture cap;
  rate_limiter rl(10, 1h);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&rl] {
      for (int i = 0; i < 1000; ++i)
        rl.write(level::warn, "run", "shared", "x", {});
    });
  for (auto& t : ts)
    t.join();
  rl.flush_all();
  const auto lines = cap.lines();
  ASSERT_EQ(lines.size(), 11U);
  EXPECT_EQ(parse(lines.back()).members.at("suppressed").second, "3990");
}

} // namespace
} // namespace bulwark::log
