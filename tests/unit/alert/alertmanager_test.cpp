// The Alertmanager v2 payload and the bounded retry buffer (no network: the
// transport is a callback the test controls).
#include "alert/alertmanager.hpp"
#include "unit/alert/mini_json.hpp"
#include "unit/alert/support.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <set>

namespace {

using namespace alert_test;
using bulwark::alert::alert_status;
using bulwark::alert::alertmanager_buffer;
using bulwark::alert::alertmanager_settings;
using bulwark::alert::post_outcome;

constexpr timestamp_ms second = 1'000;

alert make_alert(std::string kind, severity level, timestamp_ms ts, std::string source = "srv-1") {
  alert a;
  a.id = "ffeeddccbbaa9988-" + std::to_string(ts) + "-1";
  a.ts = ts;
  a.level = level;
  a.kind = std::move(kind);
  a.title = a.kind + " on " + source;
  a.source = std::move(source);
  a.model = "fraud";
  a.rule = "rule-1";
  a.fingerprint = "ffeeddccbbaa9988";
  a.count = 3;
  a.first_seen = ts - 5 * second;
  a.last_seen = ts;
  a.evidence = R"({"psi":0.4})";
  a.authenticated = true;
  a.expires = ts + 3'600 * second;
  return a;
}

alertmanager_buffer make_buffer(alertmanager_settings s = {}) {
  auto made = alertmanager_buffer::make(std::move(s));
  return std::move(std::get<alertmanager_buffer>(made));
}

/// A transport that records bodies and answers as told.
struct fake_transport {
  bool up = true;
  std::vector<mini_json::value> posts;
  bool operator()(std::string_view body) {
    posts.push_back(mini_json::parse(body));
    return up;
  }
};

TEST(Alertmanager, ThePayloadIsAPostableAlertWithLabelsAnnotationsAndTimes) {
  const alert a = make_alert("integrity.tamper", severity::critical, t0);
  const auto doc = mini_json::parse(
      bulwark::alert::render_alertmanager(a, t0 + 240 * second, "http://bulwark:9464/"));
  const auto& labels = doc["labels"];
  EXPECT_EQ(labels["alertname"].s, "bulwark_integrity_tamper");
  EXPECT_EQ(labels["severity"].s, "critical");
  EXPECT_EQ(labels["kind"].s, "integrity.tamper");
  EXPECT_EQ(labels["source"].s, "srv-1");
  EXPECT_EQ(labels["model"].s, "fraud");
  EXPECT_EQ(labels["rule"].s, "rule-1");
  const auto& ann = doc["annotations"];
  EXPECT_EQ(ann["summary"].s, a.title);
  EXPECT_EQ(ann["count"].s, "3");
  EXPECT_EQ(ann["bulwark_id"].s, a.id);
  EXPECT_EQ(mini_json::parse(ann["evidence"].s)["psi"].n, 0.4);
  EXPECT_EQ(doc["startsAt"].s, format_rfc3339(a.first_seen));
  EXPECT_EQ(doc["endsAt"].s, format_rfc3339(t0 + 240 * second));
  EXPECT_EQ(doc["generatorURL"].s, "http://bulwark:9464/");
}

TEST(Alertmanager, EmptyLabelsAndAnEmptyGeneratorUrlAreLeftOutAndEndsAtNeverPrecedesStartsAt) {
  alert a = make_alert("flood", severity::high, t0, "");
  a.model.clear();
  const auto doc = mini_json::parse(bulwark::alert::render_alertmanager(a, a.first_seen - 1, ""));
  EXPECT_FALSE(doc["labels"].has("source"));
  EXPECT_FALSE(doc["labels"].has("model"));
  EXPECT_FALSE(doc.has("generatorURL"));
  EXPECT_EQ(doc["endsAt"].s, doc["startsAt"].s);
}

TEST(Alertmanager, AnActiveAlertIsReSentBeforeItsEndsAtAndEachReSendPushesEndsAtOn) {
  auto buf = make_buffer();
  fake_transport am;
  buf.emit(make_alert("secret", severity::high, t0));
  EXPECT_TRUE(buf.pump(t0, std::ref(am)));
  ASSERT_EQ(am.posts.size(), 1U);
  timestamp_ms previous_end = *parse_rfc3339(am.posts[0].a.at(0)["endsAt"].s);
  EXPECT_EQ(previous_end, t0 + 240 * second);
  EXPECT_FALSE(buf.pump(t0 + 59 * second, std::ref(am)));
  for (int k = 1; k <= 3; ++k) {
    const timestamp_ms now = t0 + k * 60 * second;
    EXPECT_TRUE(buf.pump(now, std::ref(am)));
    const timestamp_ms end = *parse_rfc3339(am.posts.back().a.at(0)["endsAt"].s);
    EXPECT_LT(now, previous_end) << "re-sent before Alertmanager would resolve it";
    EXPECT_GT(end, previous_end);
    previous_end = end;
  }
}

TEST(Alertmanager, AnExpiredAlertIsSentResolvedOnceAndForgotten) {
  auto buf = make_buffer();
  fake_transport am;
  alert a = make_alert("secret", severity::high, t0);
  a.expires = t0 + 100 * second;
  buf.emit(a);
  buf.pump(t0, std::ref(am));
  EXPECT_EQ(*parse_rfc3339(am.posts[0].a.at(0)["endsAt"].s), t0 + 100 * second);
  EXPECT_TRUE(buf.pump(t0 + 100 * second, std::ref(am)));
  EXPECT_EQ(*parse_rfc3339(am.posts[1].a.at(0)["endsAt"].s), t0 + 100 * second);
  EXPECT_EQ(buf.size(), 0U);
  EXPECT_EQ(buf.stats().resolved, 1U);
  EXPECT_FALSE(buf.pump(t0 + 1'000 * second, std::ref(am)));
}

TEST(Alertmanager, AClosedFloodEndsAtItsCloseTime) {
  auto buf = make_buffer();
  fake_transport am;
  alert a = make_alert("flood", severity::high, t0, "");
  buf.emit(a);
  buf.pump(t0, std::ref(am));
  a.status = alert_status::closed;
  a.ts = a.expires = t0 + 90 * second;
  buf.emit(a);
  buf.pump(t0 + 90 * second, std::ref(am));
  ASSERT_EQ(am.posts.size(), 2U);
  EXPECT_EQ(*parse_rfc3339(am.posts[1].a.at(0)["endsAt"].s), t0 + 90 * second);
  EXPECT_EQ(buf.size(), 0U);
}

TEST(Alertmanager, AFailedPostIsRetriedWithExponentialBackoffUpToTheMaximum) {
  alertmanager_settings s;
  s.backoff_initial = second;
  s.backoff_max = 8 * second;
  auto buf = make_buffer(s);
  fake_transport am;
  am.up = false;
  buf.emit(make_alert("secret", severity::high, t0));
  timestamp_ms now = t0;
  EXPECT_TRUE(buf.pump(now, std::ref(am)));
  for (const timestamp_ms wait : {1, 2, 4, 8, 8, 8}) {
    EXPECT_FALSE(buf.pump(now + wait * second - 1, std::ref(am))) << "during backoff";
    now += wait * second;
    EXPECT_TRUE(buf.pump(now, std::ref(am)));
  }
  EXPECT_EQ(buf.stats().posts_failed, 7U);
  am.up = true;
  now += 8 * second;
  EXPECT_TRUE(buf.pump(now, std::ref(am)));
  EXPECT_EQ(buf.stats().posts_ok, 1U);
  // Back to normal: the next batch does not wait for a backoff.
  buf.emit(make_alert("pii", severity::medium, now));
  EXPECT_TRUE(buf.pump(now, std::ref(am)));
}

TEST(Alertmanager, ADownAlertmanagerNeverBlocksAndTheBufferStaysBounded) {
  alertmanager_settings s;
  s.max_alerts = 100;
  auto buf = make_buffer(s);
  fake_transport am;
  am.up = false;
  for (int i = 0; i < 10'000; ++i) {
    buf.emit(make_alert("injection", i % 200 == 0 ? severity::critical : severity::medium, t0 + i,
                        "src-" + std::to_string(i)));
    buf.pump(t0 + i, std::ref(am));
  }
  EXPECT_EQ(buf.size(), 100U);
  EXPECT_EQ(buf.stats().received, 10'000U);
  EXPECT_EQ(buf.stats().dropped[1] + buf.stats().dropped[3], 10'000U - 100U);
  EXPECT_LT(am.posts.size(), 100U) << "backoff spaces the attempts";
  // The criticals were kept in preference to the mediums.
  EXPECT_EQ(buf.stats().dropped[3], 0U);
  std::cout << "alertmanager buffer, 100 alerts held: " << buf.memory_bytes() << " bytes\n";
}

TEST(Alertmanager, WhenFullTheOldestLowestSeverityAlertIsDroppedFirst) {
  alertmanager_settings s;
  s.max_alerts = 3;
  auto buf = make_buffer(s);
  buf.emit(make_alert("dlq", severity::low, t0 + 1, "a"));
  buf.emit(make_alert("pii", severity::medium, t0 + 2, "b"));
  buf.emit(make_alert("dlq", severity::low, t0 + 3, "c"));
  buf.emit(make_alert("poisoning", severity::critical, t0 + 4, "d")); // drops a (low, oldest)
  buf.emit(make_alert("secret", severity::high, t0 + 5, "e"));        // drops c (low)
  buf.emit(make_alert("dlq", severity::low, t0 + 6, "f"));            // itself: lowest of all
  EXPECT_EQ(buf.stats().dropped[0], 3U);
  fake_transport am;
  buf.pump(t0 + 10, std::ref(am));
  std::set<std::string> sources;
  for (const auto& x : am.posts.at(0).a)
    sources.insert(x["labels"]["source"].s);
  EXPECT_EQ(sources, (std::set<std::string>{"b", "d", "e"}));
}

TEST(Alertmanager, BatchesAreBoundedAndCarryTheMostSevereFirst) {
  alertmanager_settings s;
  s.max_batch = 2;
  auto buf = make_buffer(s);
  buf.emit(make_alert("dlq", severity::low, t0, "a"));
  buf.emit(make_alert("secret", severity::high, t0, "b"));
  buf.emit(make_alert("poisoning", severity::critical, t0, "c"));
  fake_transport am;
  buf.pump(t0, std::ref(am));
  ASSERT_EQ(am.posts.at(0).a.size(), 2U);
  EXPECT_EQ(am.posts[0].a[0]["labels"]["severity"].s, "critical");
  EXPECT_EQ(am.posts[0].a[1]["labels"]["severity"].s, "high");
  buf.pump(t0, std::ref(am));
  ASSERT_EQ(am.posts.at(1).a.size(), 1U);
  EXPECT_EQ(am.posts[1].a[0]["labels"]["severity"].s, "low");
}

TEST(Alertmanager, AnUpdateArrivingDuringAPostIsNotLost) {
  auto buf = make_buffer();
  alert a = make_alert("secret", severity::high, t0);
  buf.emit(a);
  const auto batch = buf.take_batch(t0);
  ASSERT_TRUE(batch);
  EXPECT_FALSE(buf.take_batch(t0)) << "one batch in flight at a time";
  a.count = 4;
  buf.emit(a);
  buf.complete(batch->id, post_outcome::delivered, t0 + 1);
  const auto next = buf.take_batch(t0 + 2);
  ASSERT_TRUE(next);
  EXPECT_EQ(mini_json::parse(next->body).a.at(0)["annotations"]["count"].s, "4");
}

TEST(Alertmanager, ARejectedBatchIsDroppedNotRetriedForever) {
  auto buf = make_buffer();
  buf.emit(make_alert("secret", severity::high, t0));
  const auto batch = buf.take_batch(t0);
  ASSERT_TRUE(batch);
  buf.complete(batch->id, post_outcome::rejected, t0);
  EXPECT_EQ(buf.size(), 0U);
  EXPECT_EQ(buf.stats().posts_rejected, 1U);
  EXPECT_EQ(buf.stats().dropped[2], 1U);
  EXPECT_FALSE(buf.take_batch(t0 + 1));
}

TEST(Alertmanager, TheEngineFeedsTheBufferDirectly) {
  auto buf = make_buffer();
  engine e = make_engine();
  e.submit(request("integrity.tamper", "srv-1", true, t0), t0, buf);
  e.submit(request("integrity.tamper", "srv-1", true, t0 + 1), t0 + 1, buf);
  fake_transport am;
  EXPECT_TRUE(buf.pump(t0 + 2, std::ref(am)));
  ASSERT_EQ(am.posts.at(0).a.size(), 1U); // two records of one alert: one Alertmanager alert
  EXPECT_EQ(am.posts[0].a[0]["annotations"]["count"].s, "2");
  EXPECT_EQ(am.posts[0].a[0]["labels"]["alertname"].s, "bulwark_integrity_tamper");
}

} // namespace
