#include "drift/json_reader.hpp"
#include "pipeline/detectors.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/processor.hpp"

#include <array>
#include <cstdio>
#include <gtest/gtest.h>
#include <map>
#include <set>

namespace bulwark::pipeline {
namespace {

// ------------------------------------------------------------------ codec

TEST(FoldCodec, DriftValuesComeBackAsTheyWent) {
  const std::array<drift::feature_value, 4> values{
      drift::feature_value::of(0.1 + 0.2), drift::feature_value::of(std::string_view("gold \"x\"")),
      drift::feature_value::missing(), drift::feature_value::of(-1e-300)};
  const std::string text = fold::encode("fraud\x1fv2", "fraud", 1'700'000'000'123, 77, values);
  auto decoded = fold::decode(text, values.size());
  ASSERT_TRUE(std::holds_alternative<fold::drift_values>(decoded))
      << std::get<std::string>(decoded);
  const auto& d = std::get<fold::drift_values>(decoded);
  EXPECT_EQ(d.key, "fraud\x1fv2");
  EXPECT_EQ(d.model, "fraud");
  EXPECT_EQ(d.at, 1'700'000'000'123);
  EXPECT_EQ(d.ref, 77u);
  std::vector<drift::feature_value> back;
  d.values(back);
  ASSERT_EQ(back.size(), values.size());
  EXPECT_EQ(back[0].type, drift::feature_value::kind::number);
  EXPECT_EQ(back[0].number, 0.1 + 0.2) << "bit for bit";
  EXPECT_EQ(back[1].type, drift::feature_value::kind::text);
  EXPECT_EQ(back[1].text, "gold \"x\"");
  EXPECT_EQ(back[2].type, drift::feature_value::kind::missing);
  EXPECT_EQ(back[3].number, -1e-300);
}

TEST(FoldCodec, AnAlertOccurrenceComesBackAsItWent) {
  alert_request r;
  r.kind = "integrity.gap";
  r.level = severity::high;
  r.source = "srv-1";
  r.authenticated = true;
  r.model = "chat";
  r.rule = "seq";
  r.title = "a gap";
  r.evidence = R"({"missing":3,"after":17})";
  r.at = 1234;
  r.ref.topic = "telemetry";
  r.ref.partition = 5;
  r.ref.offset = 99;
  auto decoded = fold::decode(fold::encode(r), 1);
  ASSERT_TRUE(std::holds_alternative<alert_request>(decoded)) << std::get<std::string>(decoded);
  const auto& b = std::get<alert_request>(decoded);
  EXPECT_EQ(b.kind, r.kind);
  EXPECT_EQ(b.level, r.level);
  EXPECT_EQ(b.source, r.source);
  EXPECT_TRUE(b.authenticated);
  EXPECT_EQ(b.model, r.model);
  EXPECT_EQ(b.rule, r.rule);
  EXPECT_EQ(b.title, r.title);
  EXPECT_EQ(b.evidence, r.evidence);
  EXPECT_EQ(b.at, 1234);
  EXPECT_EQ(b.ref.topic, "telemetry");
  EXPECT_EQ(b.ref.partition, 5);
  EXPECT_EQ(b.ref.offset, 99);
  EXPECT_EQ(b.ref.line, 0);
}

TEST(FoldCodec, WhatDoesNotDecodeIsRefusedWithAReason) {
  const std::array<drift::feature_value, 1> one{drift::feature_value::of(1.0)};
  const std::string good = fold::encode("k", "k", 1, 1, one);
  alert_request r;
  r.kind = "pii";
  r.evidence = "{}";
  const std::string alert = fold::encode(r);
  const auto refused = [](std::string_view text, std::size_t features) {
    auto d = fold::decode(text, features);
    return std::holds_alternative<std::string>(d) ? std::get<std::string>(d) : std::string();
  };
  EXPECT_NE(refused(good, 2), "") << "another feature count";
  EXPECT_NE(refused(good.substr(0, good.size() - 1), 1), "") << "truncated";
  EXPECT_NE(refused("[]", 1), "");
  EXPECT_NE(refused("not json", 1), "");
  std::string other_version = good;
  other_version.replace(other_version.find("\"v\":1"), 5, "\"v\":2");
  EXPECT_NE(refused(other_version, 1), "");
  std::string bad_severity = alert;
  bad_severity.replace(bad_severity.find("\"medium\""), 8, "\"urgent\"");
  EXPECT_NE(refused(bad_severity, 1), "");
  std::string bad_evidence = alert;
  bad_evidence.replace(bad_evidence.find("\"evidence\":\"{}\""), 15, "\"evidence\":\"[1]\"");
  EXPECT_EQ(refused(bad_evidence, 1), "alert: evidence is not a JSON object");
  std::string bad_value = good;
  bad_value.replace(bad_value.find("[1]"), 3, "[true]");
  EXPECT_NE(refused(bad_value, 1), "");
  EXPECT_EQ(refused(good, 1), "");
  EXPECT_EQ(refused(alert, 1), "");
}

TEST(FoldCodec, PartitionsAreFnv1aOfTheKey) {
  // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c: tools outside bulwark (the
  // scale test) compute the same partition.
  EXPECT_EQ(fold::partition_of("a", 1000), static_cast<std::int32_t>(0xaf63dc4c8601ec8cULL % 1000));
  EXPECT_EQ(fold::partition_of("", 7), static_cast<std::int32_t>(14695981039346656037ULL % 7));
  std::set<std::int32_t> seen;
  for (int i = 0; i < 200; ++i) {
    const std::int32_t p = fold::partition_of(fold::drift_fold_key("m" + std::to_string(i)), 8);
    ASSERT_GE(p, 0);
    ASSERT_LT(p, 8);
    seen.insert(p);
  }
  EXPECT_EQ(seen.size(), 8u);
  EXPECT_EQ(fold::drift_key_of(fold::drift_fold_key("x/y")),
            std::optional<std::string_view>("x/y"));
  EXPECT_FALSE(fold::drift_key_of("a"));
}

// ------------------------------------------------ stages that fold together

config::options drift_options() {
  config::options o;
  o.drift.features.push_back({"/features/amount", config::drift_feature::type::numeric});
  o.drift.window = std::chrono::minutes(1);
  o.drift.reference_windows = 6;
  o.drift.allowed_lateness = std::chrono::minutes(1);
  o.drift.min_window_events = 50;
  o.drift.min_pane_events = 20;
  o.drift.scales = {{4, 1}};
  return o;
}

/// One stage fed the way `run` feeds it, with its fold records collected.
struct instance {
  config::options opts = drift_options();
  fact_spec spec{opts};
  processor proc{opts};
  std::unique_ptr<detectors> stage;
  record_facts facts;
  std::string out, dlq, alerts;

  explicit instance(std::int32_t fold_partitions) {
    detectors::options d;
    d.clock = detectors::clock_mode::event_time;
    d.fold_partitions = fold_partitions;
    auto made = detectors::make(opts, spec, d);
    stage = std::move(std::get<std::unique_ptr<detectors>>(made));
  }
  void feed(const std::string& raw, std::int64_t line) {
    out.clear();
    dlq.clear();
    proc.process(raw, raw_info{}, origin(static_cast<std::uint64_t>(line)), out, dlq, spec, facts);
    input_ref ref;
    ref.line = line;
    stage->observe(facts, raw, out, ref, std::nullopt, std::nullopt, 0);
  }
  std::vector<fold_record> take_fold() {
    std::vector<fold_record> f;
    f.swap(stage->outputs().fold);
    alerts += stage->outputs().alerts;
    stage->outputs().clear();
    return f;
  }
};

/// Three models, 100 events per minute each for 16 minutes; model m1's
/// amount moves by 3 SD from minute 9.
std::vector<std::string> fleet_events() {
  std::vector<std::string> lines;
  std::uint64_t state = 42;
  const auto uniform = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0;
  };
  for (int minute = 0; minute < 16; ++minute)
    for (int i = 0; i < 100; ++i)
      for (int m = 0; m < 3; ++m) {
        double amount = 100 + 20 * (uniform() + uniform() + uniform() - 1.5);
        if (m == 1 && minute >= 9) amount += 60;
        char ts[64];
        std::snprintf(ts, sizeof ts, "2026-11-27T10:%02d:%02d.%03dZ", minute, i * 60 / 100,
                      (i * 600) % 1000);
        char line[256];
        std::snprintf(line, sizeof line,
                      R"({"ts":"%s","source":"srv-%d","model":"m%d","features":{"amount":%.4f}})",
                      ts, i % 10, m, amount);
        lines.emplace_back(line);
      }
  return lines;
}

/// A value as text, members and items included.
std::string flat(const drift::json::value& v) {
  std::string s = v.text;
  for (const auto& item : v.items)
    s += "[" + flat(item) + "]";
  for (const auto& [name, member] : v.members)
    s += " " + name + "=" + flat(member);
  return s;
}

/// Drift alert lines without what depends on when the engine saw them.
std::multiset<std::string> drift_alerts(const std::string& lines) {
  std::multiset<std::string> out;
  for (std::size_t pos = 0; pos < lines.size();) {
    const std::size_t nl = lines.find('\n', pos);
    const std::string_view line = std::string_view(lines).substr(pos, nl - pos);
    pos = nl + 1;
    auto parsed = drift::json::parse(line, 16);
    if (!std::holds_alternative<drift::json::value>(parsed)) {
      ADD_FAILURE() << "not JSON: " << line;
      continue;
    }
    const auto& v = std::get<drift::json::value>(parsed);
    const auto* kind = v.find("kind");
    if (kind == nullptr || kind->text != "drift") continue;
    std::string key = v.find("model")->text + " " + v.find("fingerprint")->text + " count " +
                      v.find("count")->text + " evidence:";
    key += flat(*v.find("evidence"));
    for (const auto& ref : v.find("refs")->items)
      key += " ref line " + ref.find("line")->text;
    out.insert(key);
  }
  return out;
}

TEST(FoldStages, TwoInstancesThatFoldRaiseExactlyTheDriftAlertsOfOne) {
  const std::vector<std::string> events = fleet_events();
  instance single(0);
  for (std::size_t i = 0; i < events.size(); ++i)
    single.feed(events[i], static_cast<std::int64_t>(i + 1));
  single.stage->finish(0);
  single.take_fold();
  const auto expected = drift_alerts(single.alerts);
  ASSERT_GE(expected.size(), 1u) << single.alerts;
  for (const auto& a : expected)
    EXPECT_EQ(a.rfind("m1 ", 0), 0u) << "only m1 moved: " << a;

  constexpr std::int32_t partitions = 4;
  std::array<instance, 2> fleet{instance(partitions), instance(partitions)};
  std::array<int, partitions> owner{0, 1, 0, 1};
  std::uint64_t moved = 0;
  const auto route = [&] {
    for (bool any = true; any;) {
      any = false;
      for (auto& from : fleet)
        for (const fold_record& r : from.take_fold()) {
          any = true;
          auto err = fleet[static_cast<std::size_t>(owner[static_cast<std::size_t>(r.partition)])]
                         .stage->fold_in(r.value, 0);
          ASSERT_FALSE(err) << *err;
        }
    }
  };
  // Every partition moves to the other instance: its state through the
  // changelog records, as run does on a rebalance.
  const auto move_all = [&] {
    for (std::int32_t p = 0; p < partitions; ++p) {
      instance& from = fleet[static_cast<std::size_t>(owner[static_cast<std::size_t>(p)])];
      instance& to = fleet[static_cast<std::size_t>(1 - owner[static_cast<std::size_t>(p)])];
      const std::set<std::int32_t> one{p};
      auto records = from.stage->take_drift_state(one, true);
      from.stage->release_fold_partitions(one, 0);
      for (const auto& r : records) {
        EXPECT_EQ(r.partition, p);
        auto err = to.stage->restore_drift(r.key, r.value);
        ASSERT_FALSE(err) << *err;
        ++moved;
      }
      owner[static_cast<std::size_t>(p)] = 1 - owner[static_cast<std::size_t>(p)];
    }
    route();
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    fleet[i % 2].feed(events[i], static_cast<std::int64_t>(i + 1));
    route();
    // While learning, just after the reference froze, and in alarm.
    if (i == 1'000 || i == 2'000 || i == 3'100 || i == 3'900) move_all();
  }
  EXPECT_GT(moved, 0u);
  // The end, as run stops: each instance finishes; the alert partition's
  // owner folds what the others raised last, then lets it go.
  const std::size_t alert_owner = static_cast<std::size_t>(
      owner[static_cast<std::size_t>(fold::partition_of("a", partitions))]);
  fleet[1 - alert_owner].stage->finish(0);
  route();
  fleet[alert_owner].stage->finish(0);
  route();
  fleet[alert_owner].stage->release_fold_partitions(
      {fold::partition_of(fold::alert_key, partitions)}, 0);
  route();

  // Equal as multisets: nothing missing, nothing twice.
  EXPECT_EQ(drift_alerts(fleet[0].alerts + fleet[1].alerts), expected);
}

TEST(FoldStages, ACriticalAlertIsEmittedWhereItIsSeenAndTheRestIsForwarded) {
  instance a(4);
  alert_request crit;
  crit.kind = "integrity.tamper";
  crit.level = severity::critical;
  crit.source = "srv-1";
  a.stage->raise(crit, 0);
  alert_request high;
  high.kind = "config";
  high.level = severity::medium;
  a.stage->raise(high, 0);
  const auto fold = a.take_fold();
  ASSERT_EQ(fold.size(), 1u);
  EXPECT_EQ(fold[0].key, "a");
  EXPECT_EQ(fold[0].partition, fold::partition_of("a", 4));
  EXPECT_NE(a.alerts.find("integrity.tamper"), std::string::npos) << "critical: at once, here";
  EXPECT_EQ(a.alerts.find("\"config\""), std::string::npos);
  instance b(4);
  ASSERT_FALSE(b.stage->fold_in(fold[0].value, 0));
  b.stage->release_fold_partitions({fold[0].partition}, 0);
  b.take_fold();
  EXPECT_NE(b.alerts.find("\"kind\":\"config\""), std::string::npos) << b.alerts;
}

TEST(FoldStages, RefusedRecordsChangeNothing) {
  instance a(4);
  EXPECT_TRUE(a.stage->fold_in("{}", 0));
  EXPECT_TRUE(a.stage->restore_drift("a", "{}")) << "not a drift key";
  EXPECT_TRUE(a.stage->restore_drift("d/m1", "{\"format\":\"other\"}"));
  EXPECT_TRUE(a.take_fold().empty());
  EXPECT_TRUE(a.alerts.empty());
}

} // namespace
} // namespace bulwark::pipeline
