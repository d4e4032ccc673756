// The alert line of SPEC §6 and the OCSF Detection Finding rendering.
#include "alert/alert.hpp"
#include "unit/alert/mini_json.hpp"
#include "unit/alert/support.hpp"

#include <gtest/gtest.h>

namespace {

using namespace alert_test;
using bulwark::alert::alert_status;
using bulwark::alert::output_format;

alert sample() {
  alert a;
  a.id = "00112233445566ff-1800000000000-7";
  a.ts = t0 + 5'000;
  a.level = severity::critical;
  a.kind = "integrity.tamper";
  a.title = "signature check failed for source srv-4";
  a.source = "srv-4";
  a.model = "fraud";
  a.fingerprint = "00112233445566ff";
  a.count = 3;
  a.first_seen = t0;
  a.last_seen = t0 + 4'000;
  a.evidence = R"({"reason":"bad_mac","seq":12})";
  input_ref line;
  line.line = 17;
  input_ref kafka;
  kafka.topic = "telemetry";
  kafka.partition = 3;
  kafka.offset = 912;
  a.refs = {line, kafka};
  a.rule = "k1";
  a.authenticated = true;
  a.update = 3;
  return a;
}

TEST(AlertRender, TheBulwarkLineHasTheSpecMembersInTheSpecOrder) {
  const auto doc = mini_json::parse(bulwark::alert::render_json(sample()));
  const std::vector<std::string> expected{
      "v",     "id",          "ts",    "severity",   "kind",      "title",    "source",
      "model", "fingerprint", "count", "first_seen", "last_seen", "evidence", "refs"};
  EXPECT_EQ(doc.keys(), expected);
  EXPECT_EQ(doc["v"].i(), 1);
  EXPECT_EQ(doc["id"].s, sample().id);
  EXPECT_EQ(doc["ts"].s, format_rfc3339(t0 + 5'000));
  EXPECT_EQ(doc["severity"].s, "critical");
  EXPECT_EQ(doc["kind"].s, "integrity.tamper");
  EXPECT_EQ(doc["source"].s, "srv-4");
  EXPECT_EQ(doc["model"].s, "fraud");
  EXPECT_EQ(doc["count"].i(), 3);
  EXPECT_EQ(doc["first_seen"].s, format_rfc3339(t0));
  EXPECT_EQ(doc["last_seen"].s, format_rfc3339(t0 + 4'000));
  EXPECT_EQ(doc["evidence"]["reason"].s, "bad_mac");
  EXPECT_EQ(doc["evidence"]["seq"].i(), 12);
}

TEST(AlertRender, RefsAreALineInScanAndTopicPartitionOffsetInRun) {
  const auto doc = mini_json::parse(bulwark::alert::render_json(sample()));
  const auto& refs = doc["refs"].a;
  ASSERT_EQ(refs.size(), 2U);
  EXPECT_EQ(refs[0].keys(), std::vector<std::string>{"line"});
  EXPECT_EQ(refs[0]["line"].i(), 17);
  EXPECT_EQ(refs[1].keys(), (std::vector<std::string>{"topic", "partition", "offset"}));
  EXPECT_EQ(refs[1]["topic"].s, "telemetry");
  EXPECT_EQ(refs[1]["partition"].i(), 3);
  EXPECT_EQ(refs[1]["offset"].i(), 912);
}

TEST(AlertRender, ARefPointingNowhereIsLeftOut) {
  alert a = sample();
  a.refs = {input_ref{}};
  const auto doc = mini_json::parse(bulwark::alert::render_json(a));
  EXPECT_TRUE(doc["refs"].a.empty());
}

TEST(AlertRender, InvalidUtf8AndQuotesInATitleStillGiveValidJson) {
  alert a = sample();
  a.title = std::string("bad \xff byte \"quoted\" \n line");
  const auto doc = mini_json::parse(bulwark::alert::render_json(a));
  EXPECT_NE(doc["title"].s.find("\"quoted\""), std::string::npos);
  EXPECT_EQ(doc["title"].s.find('\xff'), std::string::npos);
}

TEST(AlertRender, OcsfIsADetectionFindingWithTheDocumentedMapping) {
  const alert a = sample();
  const auto doc = mini_json::parse(bulwark::alert::render_ocsf(a, "9.9.9"));
  EXPECT_EQ(doc["class_uid"].i(), 2004);
  EXPECT_EQ(doc["category_uid"].i(), 2);
  EXPECT_EQ(doc["activity_id"].i(), 2); // third record of the alert: an update
  EXPECT_EQ(doc["type_uid"].i(), 200402);
  EXPECT_EQ(doc["severity_id"].i(), 5);
  EXPECT_EQ(doc["severity"].s, "Critical");
  EXPECT_EQ(doc["status_id"].i(), 1);
  EXPECT_EQ(doc["time"].i(), a.ts);
  EXPECT_EQ(doc["count"].i(), 3);
  EXPECT_EQ(doc["start_time"].i(), a.first_seen);
  EXPECT_EQ(doc["end_time"].i(), a.last_seen);
  EXPECT_EQ(doc["message"].s, a.title);
  const auto& info = doc["finding_info"];
  EXPECT_EQ(info["uid"].s, "00112233445566ff-1800000000000"); // the id without its record number
  EXPECT_EQ(info["title"].s, a.title);
  ASSERT_EQ(info["types"].a.size(), 1U);
  EXPECT_EQ(info["types"].a[0].s, "integrity.tamper");
  EXPECT_EQ(info["first_seen_time"].i(), a.first_seen);
  EXPECT_EQ(info["last_seen_time"].i(), a.last_seen);
  EXPECT_EQ(info["analytic"]["name"].s, "k1");
  EXPECT_EQ(doc["metadata"]["product"]["name"].s, "bulwark");
  EXPECT_EQ(doc["metadata"]["product"]["vendor_name"].s, "bulwark");
  EXPECT_EQ(doc["metadata"]["product"]["version"].s, "9.9.9");
  EXPECT_EQ(doc["metadata"]["uid"].s, a.id);
  EXPECT_FALSE(doc["metadata"]["version"].s.empty());
  EXPECT_EQ(doc["evidences"].a.at(0)["data"]["reason"].s, "bad_mac");
  EXPECT_EQ(doc["observables"].a.at(0)["value"].s, "srv-4");
  EXPECT_EQ(doc["observables"].a.at(1)["value"].s, "fraud");
  EXPECT_TRUE(doc["unmapped"]["source_verified"].b);
  EXPECT_EQ(doc["unmapped"]["refs"].a.size(), 2U);
}

TEST(AlertRender, OcsfSeverityIdsFollowOcsfNumbering) {
  alert a = sample();
  const std::pair<severity, int> table[] = {
      {severity::low, 2}, {severity::medium, 3}, {severity::high, 4}, {severity::critical, 5}};
  for (const auto& [level, id] : table) {
    a.level = level;
    EXPECT_EQ(mini_json::parse(bulwark::alert::render_ocsf(a))["severity_id"].i(), id);
  }
}

TEST(AlertRender, OcsfActivityIsCreateThenUpdateThenClose) {
  alert a = sample();
  a.update = 1;
  auto doc = mini_json::parse(bulwark::alert::render_ocsf(a));
  EXPECT_EQ(doc["activity_id"].i(), 1);
  EXPECT_EQ(doc["type_uid"].i(), 200401);
  EXPECT_TRUE(doc["is_alert"].b);
  a.update = 2;
  EXPECT_EQ(mini_json::parse(bulwark::alert::render_ocsf(a))["type_uid"].i(), 200402);
  a.status = alert_status::closed;
  doc = mini_json::parse(bulwark::alert::render_ocsf(a));
  EXPECT_EQ(doc["activity_id"].i(), 3);
  EXPECT_EQ(doc["type_uid"].i(), 200403);
  EXPECT_EQ(doc["status_id"].i(), 4);
  EXPECT_FALSE(doc["is_alert"].b);
}

TEST(AlertRender, TheLineSinkWritesTheConfiguredFormat) {
  std::vector<std::string> lines;
  bulwark::alert::line_sink bulwark_lines(output_format::bulwark,
                                          [&](std::string_view l) { lines.emplace_back(l); });
  bulwark::alert::line_sink ocsf_lines(output_format::ocsf,
                                       [&](std::string_view l) { lines.emplace_back(l); });
  bulwark_lines.emit(sample());
  ocsf_lines.emit(sample());
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(mini_json::parse(lines[0])["v"].i(), 1);
  EXPECT_EQ(mini_json::parse(lines[1])["class_uid"].i(), 2004);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
}

} // namespace
