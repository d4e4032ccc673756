#include "loadgen/fleet.hpp"
#include "support.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <string>

namespace bulwark::loadgen {
namespace {

using testing::generate;
using testing::parse;

options demo_options() {
  options o;
  EXPECT_TRUE(apply_preset("demo", o));
  o.clock_rate = 1000;
  return o;
}

TEST(Fleet, TheSameSeedGivesTheSameBytesAndLabels) {
  const options o = demo_options();
  const auto a = generate(o, 12'000);
  const auto b = generate(o, 12'000);
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].rec.value, b[i].rec.value) << "event " << i;
    std::string la;
    std::string lb;
    append_label_lines(la, a[i].truth);
    append_label_lines(lb, b[i].truth);
    ASSERT_EQ(la, lb) << "event " << i;
  }
}

TEST(Fleet, ADifferentSeedGivesADifferentStream) {
  options o = demo_options();
  const auto a = generate(o, 200);
  o.seed = 2;
  const auto b = generate(o, 200);
  std::size_t same = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    same += a[i].rec.value == b[i].rec.value ? 1 : 0;
  EXPECT_EQ(same, 0U);
}

TEST(Fleet, EveryEventIsAJsonObjectWithTheSpecFieldsInOrder) {
  options o = demo_options();
  std::map<std::string, int> types;
  for (const auto& g : generate(o, 15'000)) {
    const auto e = parse(g.rec.value);
    ASSERT_TRUE(e.ok()) << json::to_string(e.err) << ": " << g.rec.value;
    ASSERT_GE(e.top_keys.size(), 8U) << g.rec.value;
    ASSERT_TRUE(parse_rfc3339(e.str("/ts")).has_value()) << g.rec.value;
    EXPECT_EQ(e.top_keys[0], "ts");
    EXPECT_EQ(e.top_keys[1], "source");
    EXPECT_EQ(e.top_keys[2], "seq");
    EXPECT_EQ(e.top_keys[3], "epoch");
    EXPECT_EQ(e.top_keys[4], "type");
    EXPECT_EQ(e.str("/source"), g.rec.key);
    EXPECT_EQ(g.rec.time, *parse_rfc3339(e.str("/ts")));
    EXPECT_GE(e.num("/seq"), 1);
    EXPECT_FALSE(e.str("/epoch").empty());
    EXPECT_EQ(e.str("/request_id").rfind("req_", 0), 0U) << g.rec.value;
    const std::string type = e.str("/type");
    ++types[type];
    const bool edge = g.rec.key.rfind("edge-", 0) == 0;
    if (!edge) {
      EXPECT_TRUE(e.has("/model") && e.has("/model_version")) << g.rec.value;
    }
    if (type == "metric") {
      EXPECT_TRUE(e.numbers.count("/value")) << g.rec.value;
      const std::string name = e.str("/name");
      EXPECT_TRUE(name == "latency_p99_ms" || name == "error_rate" || name == "accuracy");
    } else if (type == "audit") {
      for (const char* f : {"/action", "/actor", "/model", "/version"})
        EXPECT_TRUE(e.strings.count(f)) << f << " in " << g.rec.value;
      if (e.str("/action") == "rollback") {
        EXPECT_FALSE(e.str("/reason").empty());
      }
    } else if (type == "prediction") {
      EXPECT_TRUE(e.strings.count("/input/messages/0/content") || e.numbers.count("/score"))
          << g.rec.value;
    } else {
      ASSERT_EQ(type, "log") << g.rec.value;
      EXPECT_FALSE(e.str("/msg").empty());
    }
    // The signature, when there is one, is the last member.
    if (e.has("/sig/mac")) {
      EXPECT_EQ(e.top_keys.back(), "sig");
    }
  }
  EXPECT_GT(types["prediction"], 0);
  EXPECT_GT(types["log"], 0);
  EXPECT_GT(types["metric"], 0);
  EXPECT_GT(types["audit"], 0);
}

TEST(Fleet, SequenceNumbersCountPerSourceExceptLabelledGapsAndReplays) {
  options o;
  o.mix.gap = 0.02;
  o.mix.replay = 0.02;
  o.mix.tamper = 0.02;
  o.mix.unsigned_events = 0.02;
  const auto events = generate(o, 15'000);
  std::map<std::string, std::uint64_t> last;
  std::size_t gaps = 0;
  std::size_t replays = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& g = events[i];
    const auto e = parse(g.rec.value);
    ASSERT_TRUE(e.ok());
    const auto seq = static_cast<std::uint64_t>(e.num("/seq"));
    const std::string src = e.str("/source");
    ASSERT_EQ(g.truth.seq, seq);
    ASSERT_EQ(g.truth.source, src);
    if (const attack* r = testing::find_attack(g.truth, attack_kind::replay)) {
      ++replays;
      const auto original = static_cast<std::size_t>(testing::detail_number(*r, "original_index"));
      ASSERT_GE(original, 1U);
      ASSERT_LT(original, i + 1);
      EXPECT_EQ(events[original - 1].rec.value, g.rec.value) << "a replay repeats the bytes";
      EXPECT_LE(seq, last[src]);
      continue;
    }
    if (const attack* gap = testing::find_attack(g.truth, attack_kind::gap)) {
      ++gaps;
      const auto missing = static_cast<std::uint64_t>(testing::detail_number(*gap, "missing"));
      EXPECT_EQ(testing::detail_number(*gap, "missing_from"), static_cast<double>(last[src] + 1));
      EXPECT_EQ(testing::detail_number(*gap, "missing_to"),
                static_cast<double>(last[src] + missing));
      EXPECT_GE(missing, 1U);
      EXPECT_LE(missing, 5U);
      EXPECT_EQ(seq, last[src] + missing + 1) << g.rec.value;
    } else {
      EXPECT_EQ(seq, last[src] + 1) << g.rec.value;
    }
    last[src] = seq;
  }
  EXPECT_GT(gaps, 150U);
  EXPECT_GT(replays, 150U);
  EXPECT_EQ(last.size(), 24U);
}

TEST(Fleet, RequestIdsAreUniqueExceptInReplays) {
  options o = demo_options();
  std::set<std::string> seen;
  for (const auto& g : generate(o, 12'000)) {
    if (testing::find_attack(g.truth, attack_kind::replay)) continue;
    EXPECT_TRUE(seen.insert(parse(g.rec.value).str("/request_id")).second);
  }
}

TEST(Fleet, EventTimeAdvancesWithTheSimulatedClock) {
  options o;
  o.clock_rate = 250; // 4 ms per event
  o.start = 1'800'000'000'000;
  const auto events = generate(o, 5'000);
  for (std::size_t i = 0; i < events.size(); ++i)
    ASSERT_EQ(events[i].rec.time, o.start + static_cast<timestamp_ms>(i) * 4);
  EXPECT_EQ(parse(events.back().rec.value).str("/ts"), format_rfc3339(o.start + 4999 * 4));
}

TEST(Fleet, AverageEventSizeIsRealistic) {
  for (const char* preset : {"none", "demo"}) {
    options o;
    ASSERT_TRUE(apply_preset(preset, o));
    std::size_t bytes = 0;
    const auto events = generate(o, 10'000);
    for (const auto& g : events)
      bytes += g.rec.value.size();
    const double mean = static_cast<double>(bytes) / static_cast<double>(events.size());
    EXPECT_GE(mean, 400.0) << preset;
    EXPECT_LE(mean, 600.0) << preset;
  }
}

TEST(Fleet, EveryServerServesOneModelAndReportsAllThreeMetrics) {
  options o;
  o.sources = 9;
  o.metric_interval = 1'000;
  std::map<std::string, std::set<std::string>> models;
  std::map<std::string, std::set<std::string>> metrics;
  for (const auto& g : generate(o, 5'000)) {
    const auto e = parse(g.rec.value);
    models[e.str("/source")].insert(e.str("/model"));
    if (e.str("/type") == "metric") metrics[e.str("/source")].insert(e.str("/name"));
  }
  ASSERT_EQ(models.size(), 9U);
  for (const auto& [src, m] : models)
    EXPECT_EQ(m.size(), 1U) << src;
  EXPECT_EQ(*models["srv-1"].begin(), "support-bot");
  EXPECT_EQ(*models["srv-2"].begin(), "fraud");
  EXPECT_EQ(*models["srv-3"].begin(), "summarizer");
  for (const auto& [src, names] : metrics)
    EXPECT_EQ(names.size(), 3U) << src;
  EXPECT_EQ(metrics.size(), 9U);
}

TEST(Fleet, HonestMetricsStayCloseToTheirModelsLevel) {
  options o;
  o.metric_interval = 1'000;
  std::size_t checked = 0;
  for (const auto& g : generate(o, 10'000)) {
    if (g.rec.value.find(R"("type":"metric")") == std::string::npos) continue;
    const auto e = parse(g.rec.value);
    ASSERT_EQ(e.str("/type"), "metric");
    ++checked;
    const auto all = models();
    const auto m = std::find_if(all.begin(), all.end(),
                                [&](const model_info& mi) { return mi.name == e.str("/model"); });
    ASSERT_NE(m, all.end());
    const double v = e.num("/value");
    if (e.str("/name") == "latency_p99_ms") {
      EXPECT_NEAR(v, m->latency_p99_ms, m->latency_p99_ms * 0.1);
    }
    if (e.str("/name") == "error_rate") {
      EXPECT_NEAR(v, m->error_rate, 0.003);
    }
    if (e.str("/name") == "accuracy") {
      EXPECT_NEAR(v, m->accuracy, 0.03);
    }
  }
  EXPECT_GT(checked, 600U);
}

TEST(Fleet, TheTextOverloadGivesTheSameEvents) {
  options o = demo_options();
  const auto records = generate(o, 2'000);
  auto made = fleet::make(o);
  fleet& f = std::get<fleet>(made);
  std::string text;
  label truth;
  for (const auto& g : records) {
    f.next(text, &truth);
    ASSERT_EQ(text, g.rec.value);
  }
  EXPECT_EQ(f.produced(), 2'000U);
}

TEST(Fleet, InvalidOptionsAreRefusedNamingTheOption) {
  options o;
  o.sources = 0;
  auto made = fleet::make(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_NE(std::get<std::string>(made).find("sources"), std::string::npos);
  o = options{};
  o.key_hex = "abc";
  made = fleet::make(o);
  ASSERT_TRUE(std::holds_alternative<std::string>(made));
  EXPECT_NE(std::get<std::string>(made).find("key"), std::string::npos);
}

TEST(Fleet, SystemPromptsAreThoseOfTheChatModels) {
  const auto prompts = fleet::system_prompts();
  ASSERT_EQ(prompts.size(), 2U);
  EXPECT_EQ(prompts[0].first, "support-bot");
  EXPECT_EQ(prompts[1].first, "summarizer");
  options o;
  bool seen = false;
  for (const auto& g : generate(o, 200)) {
    const auto e = parse(g.rec.value);
    if (e.str("/model") == "support-bot" && e.str("/type") == "prediction") {
      EXPECT_EQ(e.str("/input/messages/0/content"), prompts[0].second);
      EXPECT_EQ(e.str("/input/messages/0/role"), "system");
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
}

} // namespace
} // namespace bulwark::loadgen
