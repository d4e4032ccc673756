// The status page's board: bounds, alert parsing, per-source integrity counts
// from running alert counts, events/s, and a hardened JSON document.
#include "metrics/status_board.hpp"

#include <gtest/gtest.h>
#include <string>

namespace {

using bulwark::metrics::board_limits;
using bulwark::metrics::harden_json;
using bulwark::metrics::stage_view;
using bulwark::metrics::status_board;

std::string alert(const std::string& kind, const std::string& source, int count,
                  const std::string& fp = "f1", const std::string& title = "t") {
  return R"({"v":1,"id":"a","ts":"2026-11-27T00:00:01Z","severity":"critical","kind":")" + kind +
         R"(","title":")" + title + R"(","source":")" + source +
         R"(","model":"m","fingerprint":")" + fp + R"(","count":)" + std::to_string(count) + "}\n";
}

std::string render(const status_board& b) {
  std::string out;
  b.render_json(out, 0);
  return out;
}

TEST(StatusBoard, KeepsTheNewestAlertsAndCountsKindsIncludingOther) {
  status_board b(board_limits{.alerts = 3, .sources = 10, .drift_rows = 10, .field_bytes = 64});
  std::string lines;
  for (int i = 0; i < 5; ++i)
    lines += alert("secret", "", 1, "f" + std::to_string(i), "n" + std::to_string(i));
  lines += "not json\n{\"no\":\"kind\"}\n" + alert("made.up", "", 1);
  b.add_alerts(lines);
  EXPECT_EQ(b.alert_count(), 3u);
  const std::string j = render(b);
  EXPECT_NE(j.find(R"("total":6)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("secret":5)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("other":1)"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("title":"n4")"), std::string::npos); // newest first, oldest gone
  EXPECT_EQ(j.find(R"("title":"n1")"), std::string::npos);
}

TEST(StatusBoard, RunningCountsOfARepeatedAlertAddOnlyWhatIsNew) {
  status_board b;
  b.add_alerts(alert("integrity.tamper", "srv-1", 1) + alert("integrity.tamper", "srv-1", 2) +
               alert("integrity.tamper", "srv-1", 5) + alert("integrity.tamper", "srv-1", 1, "f2") +
               alert("integrity.gap", "srv-1", 3));
  const std::string j = render(b);
  EXPECT_NE(j.find(R"("source":"srv-1","state":"alerts only")"), std::string::npos) << j;
  EXPECT_NE(j.find(R"("gaps":3,"replays":0,"tamper":6)"), std::string::npos) << j;
}

TEST(StatusBoard, SourcesAreBoundedKeepingTheMostRecentlySeen) {
  status_board b(board_limits{.alerts = 5, .sources = 3, .drift_rows = 2, .field_bytes = 64});
  stage_view v;
  for (int i = 0; i < 10; ++i) {
    auto& r = v.sources.emplace_back();
    r.source = "s" + std::to_string(i);
    r.last_heard = 1000 * i;
    r.last_seq = static_cast<std::uint64_t>(i);
  }
  for (int i = 0; i < 5; ++i) {
    auto& d = v.drift_rows.emplace_back();
    d.key = d.model = "m" + std::to_string(i);
    d.state = "frozen";
    d.alarm = i == 1;
  }
  b.set_stage(std::move(v));
  EXPECT_EQ(b.source_count(), 3u);
  const std::string j = render(b);
  for (const char* kept : {"\"s9\"", "\"s8\"", "\"s7\""})
    EXPECT_NE(j.find(kept), std::string::npos) << kept;
  EXPECT_EQ(j.find("\"s6\""), std::string::npos);
  EXPECT_NE(j.find(R"("key":"m1")"), std::string::npos); // the row in alarm stays
  EXPECT_EQ(j.find(R"("key":"m4")"), std::string::npos) << j;
}

TEST(StatusBoard, EventsPerSecondOverIntervalsOfAtLeastASecond) {
  status_board b;
  bulwark::metrics::flow_totals t;
  t.consumed = 100;
  b.set_flow(t, 10'000);
  t.consumed = 150;
  b.set_flow(t, 10'500); // too soon: no rate yet
  EXPECT_NE(render(b).find(R"("events_per_s":0,)"), std::string::npos);
  t.consumed = 300;
  b.set_flow(t, 12'000);
  EXPECT_NE(render(b).find(R"("events_per_s":100,"interval_s":2,"consumed":300)"),
            std::string::npos)
      << render(b);
}

TEST(StatusBoard, StringsAreEscapedClippedAndHardened) {
  status_board b(board_limits{.alerts = 5, .sources = 5, .drift_rows = 5, .field_bytes = 40});
  const std::string payload = "<script>alert(1)</script>&\\u2028";
  b.add_alerts(alert("integrity.replay", payload, 1, "f", payload + std::string(100, 'x')));
  const std::string j = render(b);
  for (const char c : {'<', '>', '&'})
    EXPECT_EQ(j.find(c), std::string::npos) << c << " in " << j;
  EXPECT_EQ(j.find("\xE2\x80\xA8"), std::string::npos);
  EXPECT_NE(j.find(R"(\u003cscript\u003ealert(1)\u003c/script\u003e\u0026\u2028)"),
            std::string::npos)
      << j;
  EXPECT_EQ(j.find(std::string(41, 'x')), std::string::npos); // clipped
}

TEST(StatusBoard, HardenJsonRewritesOnlyTheUnsafeCharacters) {
  std::string s = "{\"a\":\"<b>&\xE2\x80\xA9\xE2\x80\xA7\"}";
  harden_json(s);
  EXPECT_EQ(s, "{\"a\":\"\\u003cb\\u003e\\u0026\\u2029\xE2\x80\xA7\"}");
  std::string prefix = "<keep>{\"x\":\"<\"}";
  harden_json(prefix, 6);
  EXPECT_EQ(prefix, "<keep>{\"x\":\"\\u003c\"}");
}

} // namespace
