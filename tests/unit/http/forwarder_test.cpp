// The Alertmanager forwarder against a local server on 127.0.0.1 that answers
// 200, 500 or 400, or never answers: delivery, retry, drop, emit() never
// waiting on the network, and a shutdown that always ends.
#include "http/alertmanager_forwarder.hpp"
#include "unit/alert/mini_json.hpp"
#include "unit/http/test_server.hpp"

#include <atomic>
#include <gtest/gtest.h>

namespace {

using bulwark::severity;
using bulwark::timestamp_ms;
using bulwark::alert::alert;
using bulwark::http::alertmanager_forwarder;
using bulwark::http::forwarder_options;
using bulwark::http::forwarder_stats;
using namespace std::chrono_literals;

constexpr timestamp_ms t0 = 1'800'000'000'000;
constexpr timestamp_ms second = 1'000;

alert make_alert(std::string kind, severity level, std::string source = "srv-1") {
  alert a;
  a.id = "0123456789abcdef-" + std::to_string(t0) + "-1";
  a.ts = t0;
  a.level = level;
  a.kind = std::move(kind);
  a.title = a.kind + " on " + source;
  a.source = std::move(source);
  a.model = "fraud";
  a.fingerprint = "0123456789abcdef";
  a.count = 1;
  a.first_seen = a.last_seen = t0;
  a.authenticated = true;
  a.expires = t0 + 3'600 * second;
  return a;
}

/// Everything the forwarder logged, for checks on state changes.
struct log_lines {
  std::mutex mu;
  std::vector<std::string> lines;
  std::function<void(std::string_view)> sink() {
    return [this](std::string_view l) {
      std::lock_guard lock(mu);
      lines.emplace_back(l);
    };
  }
  std::vector<std::string> get() {
    std::lock_guard lock(mu);
    return lines;
  }
};

struct fixture {
  std::atomic<timestamp_ms> clock{t0};
  log_lines log;

  forwarder_options options(std::uint16_t port, std::string path = "") {
    forwarder_options o;
    o.url = "http://127.0.0.1:" + std::to_string(port) + path;
    o.buffer.generator_url = "http://127.0.0.1:9464/";
    o.buffer.backoff_initial = 10;
    o.buffer.backoff_max = 40;
    o.poll_interval = 10ms;
    o.clock = [this] { return clock.load(); };
    o.log = log.sink();
    return o;
  }
  static std::unique_ptr<alertmanager_forwarder> make(forwarder_options o) {
    auto made = alertmanager_forwarder::make(std::move(o));
    if (auto* e = std::get_if<std::string>(&made)) {
      ADD_FAILURE() << *e;
      return nullptr;
    }
    return std::move(std::get<std::unique_ptr<alertmanager_forwarder>>(made));
  }
};

/// The alerts of one POST body.
std::vector<mini_json::value> alerts_of(const http_test::received& r) {
  return mini_json::parse(r.body).a;
}

TEST(Forwarder, AnEmittedAlertIsPostedToTheV2ApiWithItsLabels) {
  http_test::test_server server(200);
  fixture f;
  auto fwd = fixture::make(f.options(server.port(), "/am/"));
  ASSERT_TRUE(fwd);
  fwd->emit(make_alert("integrity.tamper", severity::critical));
  ASSERT_TRUE(server.wait_for(1));
  const auto got = server.requests();
  EXPECT_EQ(got[0].target, "/am/api/v2/alerts");
  EXPECT_EQ(got[0].content_type, "application/json");
  const auto alerts = alerts_of(got[0]);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0]["labels"]["alertname"].s, "bulwark_integrity_tamper");
  EXPECT_EQ(alerts[0]["labels"]["severity"].s, "critical");
  EXPECT_EQ(alerts[0]["labels"]["source"].s, "srv-1");
  EXPECT_EQ(alerts[0]["generatorURL"].s, "http://127.0.0.1:9464/");
  ASSERT_TRUE(http_test::eventually([&] { return fwd->stats().buffer.posts_ok == 1; }));
  const forwarder_stats s = fwd->stats();
  EXPECT_EQ(s.pending, 0U);
  EXPECT_EQ(s.held, 1U) << "kept for re-sends";
  EXPECT_EQ(s.last_status, 200U);
  EXPECT_TRUE(f.log.get().empty()) << "nothing to report while all goes well";
}

TEST(Forwarder, AnActiveAlertIsReSentWhenTheClockPassesTheResendInterval) {
  http_test::test_server server(200);
  fixture f;
  auto fwd = fixture::make(f.options(server.port()));
  fwd->emit(make_alert("secret", severity::high));
  ASSERT_TRUE(http_test::eventually([&] { return fwd->stats().buffer.posts_ok == 1; }));
  f.clock += 60 * second; // the default resend_interval
  ASSERT_TRUE(server.wait_for(2));
  const auto got = server.requests();
  const auto first = alerts_of(got[0]), second_post = alerts_of(got[1]);
  EXPECT_EQ(second_post.at(0)["labels"]["kind"].s, "secret");
  EXPECT_GT(*bulwark::parse_rfc3339(second_post.at(0)["endsAt"].s),
            *bulwark::parse_rfc3339(first.at(0)["endsAt"].s));
}

TEST(Forwarder, AFailedPostIsRetriedAfterBackoffUntilAlertmanagerAcceptsIt) {
  http_test::test_server server(500);
  fixture f;
  auto fwd = fixture::make(f.options(server.port()));
  fwd->emit(make_alert("integrity.replay", severity::critical));
  ASSERT_TRUE(server.wait_for(1));
  ASSERT_TRUE(http_test::eventually([&] { return fwd->stats().buffer.posts_failed >= 1; }));
  EXPECT_FALSE(fwd->stats().up);
  EXPECT_EQ(fwd->stats().pending, 1U);
  server.answer(200);
  // Backoff is measured on the injected clock.
  ASSERT_TRUE(http_test::eventually([&] {
    f.clock += 10;
    return fwd->stats().buffer.posts_ok == 1;
  }));
  const forwarder_stats s = fwd->stats();
  EXPECT_EQ(s.pending, 0U);
  EXPECT_GE(s.http_errors, 1U);
  EXPECT_TRUE(s.up);
  const auto got = server.requests();
  EXPECT_EQ(alerts_of(got.back()).at(0)["labels"]["kind"].s, "integrity.replay");
  // The forwarder writes its log line after the buffer counts the post: wait for it.
  http_test::eventually([&] { return f.log.get().size() >= 2; });
  const auto lines = f.log.get();
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_NE(lines[0].find("failed (HTTP 500)"), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("accepts alerts again"), std::string::npos) << lines[1];
}

TEST(Forwarder, ARejectedBatchIsDroppedAndNotSentAgain) {
  http_test::test_server server(400);
  fixture f;
  auto fwd = fixture::make(f.options(server.port()));
  fwd->emit(make_alert("secret", severity::high, "srv-1"));
  ASSERT_TRUE(http_test::eventually([&] { return fwd->stats().buffer.posts_rejected == 1; }));
  forwarder_stats s = fwd->stats();
  EXPECT_EQ(s.held, 0U);
  EXPECT_EQ(s.buffer.dropped[static_cast<std::size_t>(severity::high)], 1U);
  // Time passes well beyond every backoff and re-send; only the next alert goes.
  server.answer(200);
  f.clock += 3'600 * second;
  fwd->emit(make_alert("secret", severity::high, "srv-2"));
  ASSERT_TRUE(http_test::eventually([&] { return fwd->stats().buffer.posts_ok == 1; }));
  const auto got = server.requests();
  ASSERT_EQ(got.size(), 2U);
  const auto alerts = alerts_of(got[1]);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0]["labels"]["source"].s, "srv-2");
  const auto lines = f.log.get();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find("rejected a batch of 1 alerts (HTTP 400)"), std::string::npos)
      << lines[0];
}

TEST(Forwarder, EmitGoesOnWhileAlertmanagerHoldsAPostWithoutAnswering) {
  http_test::test_server server(0);
  fixture f;
  forwarder_options o = f.options(server.port());
  o.client.request_timeout = std::chrono::hours(1);
  o.buffer.max_alerts = 100;
  auto fwd = fixture::make(std::move(o));
  fwd->emit(make_alert("integrity.tamper", severity::critical));
  ASSERT_TRUE(server.wait_for(1)) << "a POST is now in flight and will not be answered";
  for (int i = 0; i < 5'000; ++i)
    fwd->emit(make_alert("secret", severity::medium, "srv-" + std::to_string(i)));
  const forwarder_stats s = fwd->stats();
  EXPECT_EQ(s.buffer.received, 5'001U);
  EXPECT_EQ(s.buffer.posts_ok + s.buffer.posts_failed, 0U) << "the POST is still in flight";
  EXPECT_EQ(s.held, 100U) << "bounded by max_alerts";
  EXPECT_EQ(server.count(), 1U);
}

TEST(Forwarder, StopCancelsAPostThatAlertmanagerNeverAnswers) {
  http_test::test_server server(0);
  fixture f;
  forwarder_options o = f.options(server.port());
  o.client.request_timeout = std::chrono::hours(1); // only the stop can end it
  auto fwd = fixture::make(std::move(o));
  fwd->emit(make_alert("integrity.tamper", severity::critical));
  ASSERT_TRUE(server.wait_for(1));
  fwd->stop(50ms);
  const forwarder_stats s = fwd->stats();
  EXPECT_EQ(s.buffer.posts_failed, 1U);
  EXPECT_EQ(s.timeouts, 0U) << "ended by the stop, not by the request timeout";
  EXPECT_EQ(s.pending, 1U);
}

TEST(Forwarder, StopDeliversWhatIsStillDueBeforeItReturns) {
  http_test::test_server server(200);
  fixture f;
  auto fwd = fixture::make(f.options(server.port()));
  for (int i = 0; i < 150; ++i) // three batches of at most 64
    fwd->emit(make_alert("secret", severity::high, "srv-" + std::to_string(i)));
  fwd->stop(30s);
  const forwarder_stats s = fwd->stats();
  EXPECT_EQ(s.pending, 0U);
  EXPECT_EQ(s.buffer.alerts_sent, 150U);
  std::size_t posted = 0;
  for (const auto& r : server.requests())
    posted += alerts_of(r).size();
  EXPECT_EQ(posted, 150U);
}

TEST(Forwarder, StopGivesUpWhenAlertmanagerIsDownAndTheNextRetryIsPastTheDeadline) {
  fixture f;
  forwarder_options o = f.options(http_test::closed_port());
  o.buffer.backoff_initial = 3'600 * second;
  o.buffer.backoff_max = 3'600 * second;
  auto fwd = fixture::make(std::move(o));
  fwd->emit(make_alert("integrity.tamper", severity::critical));
  ASSERT_TRUE(http_test::eventually([&] { return fwd->stats().buffer.posts_failed == 1; }));
  EXPECT_EQ(fwd->stats().connect_errors, 1U);
  // The flush would have to wait an hour of backoff: it must not wait at all
  // (were it to wait for the deadline, this test would time out).
  fwd->stop(std::chrono::minutes(30));
  EXPECT_EQ(fwd->stats().pending, 1U);
  EXPECT_EQ(fwd->stats().buffer.posts_failed, 1U);
  const auto lines = f.log.get();
  ASSERT_EQ(lines.size(), 1U);
  EXPECT_NE(lines[0].find("failed (connect: "), std::string::npos) << lines[0];
}

TEST(Forwarder, StopRetriesWithinTheDeadlineWhenTheBackoffAllows) {
  fixture f;
  forwarder_options o = f.options(http_test::closed_port());
  o.clock = {}; // the wall clock: backoff has to pass for real here
  o.buffer.backoff_initial = 1;
  o.buffer.backoff_max = 1;
  auto fwd = fixture::make(std::move(o));
  fwd->emit(make_alert("integrity.tamper", severity::critical));
  fwd->stop(1s);
  EXPECT_GE(fwd->stats().buffer.posts_failed, 2U);
  EXPECT_EQ(fwd->stats().pending, 1U);
}

TEST(Forwarder, EmitAfterStopIsHeldButNothingIsSent) {
  http_test::test_server server(200);
  fixture f;
  auto fwd = fixture::make(f.options(server.port()));
  fwd->stop(0ms);
  fwd->emit(make_alert("secret", severity::high));
  fwd->stop(1s);
  EXPECT_EQ(fwd->stats().buffer.received, 1U);
  EXPECT_EQ(fwd->stats().pending, 1U);
  EXPECT_EQ(server.count(), 0U);
}

TEST(Forwarder, MakeRefusesABadUrlOrBadBufferSettingsNamingTheKey) {
  forwarder_options o;
  o.url = "https://127.0.0.1:9093";
  auto made = alertmanager_forwarder::make(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_EQ(std::get<std::string>(made).rfind("alerts.alertmanager: https is not supported", 0),
            0U);
  o.url = "http://127.0.0.1:9093";
  o.buffer.max_batch = 0;
  made = alertmanager_forwarder::make(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_EQ(std::get<std::string>(made).rfind("alerts.alertmanager.max_batch", 0), 0U);
}

} // namespace
