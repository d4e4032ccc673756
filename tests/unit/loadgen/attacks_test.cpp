#include "loadgen/fleet.hpp"
#include "support.hpp"

#include <cmath>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <string>

namespace bulwark::loadgen {
namespace {

using testing::detail_number;
using testing::find_attack;
using testing::generate;
using testing::parse;

/// Events that are drawn (the denominator of the rates): not the periodic
/// metrics, not flood junk, not the rollback that ends a poisoning.
bool drawn(const testing::generated& g) {
  if (find_attack(g.truth, attack_kind::replay)) return true; // may repeat a metric
  return g.rec.value.find(R"("type":"metric")") == std::string::npos &&
         !find_attack(g.truth, attack_kind::flood) &&
         !find_attack(g.truth, attack_kind::rollback_guard);
}

TEST(Attacks, EachDrawnAttackAppearsAtItsConfiguredRate) {
  options o;
  o.mix.secret = 0.02;
  o.mix.pii = 0.03;
  o.mix.injection = 0.025;
  o.mix.prompt_leak = 0.01;
  o.mix.tamper = 0.01;
  o.mix.replay = 0.015;
  o.mix.gap = 0.01;
  o.mix.unsigned_events = 0.005;
  const std::map<attack_kind, double> want{
      {attack_kind::secret, 0.02},     {attack_kind::pii, 0.03},
      {attack_kind::injection, 0.025}, {attack_kind::prompt_leak, 0.01},
      {attack_kind::tamper, 0.01},     {attack_kind::replay, 0.015},
      {attack_kind::gap, 0.01},        {attack_kind::unsigned_event, 0.005}};
  std::map<attack_kind, double> seen;
  double n = 0;
  for (const auto& g : generate(o, 30'000)) {
    if (!drawn(g)) continue;
    n += 1;
    ASSERT_LE(g.truth.attacks.size(), 1U) << "one drawn attack per event";
    for (const attack& a : g.truth.attacks)
      seen[a.kind] += 1;
  }
  ASSERT_GT(n, 25'000);
  for (const auto& [kind, rate] : want) {
    const double sd = std::sqrt(n * rate * (1 - rate));
    EXPECT_NEAR(seen[kind], n * rate, 4.5 * sd) << to_string(kind);
  }
  EXPECT_EQ(seen.size(), want.size()) << "nothing else is planted";
}

TEST(Attacks, NothingIsPlantedByDefault) {
  for (const auto& g : generate(options{}, 5'000))
    EXPECT_TRUE(g.truth.clean());
}

TEST(Attacks, PlantedValuesSitAtTheLabelledPath) {
  options o;
  o.mix.secret = 0.1;
  o.mix.pii = 0.1;
  o.mix.injection = 0.1;
  o.mix.prompt_leak = 0.05;
  std::map<std::string, int> variants;
  for (const auto& g : generate(o, 10'000)) {
    for (const attack& a : g.truth.attacks) {
      const auto e = parse(g.rec.value);
      ASSERT_TRUE(e.ok());
      ASSERT_TRUE(e.strings.count(a.path)) << a.path << " in " << g.rec.value;
      ASSERT_FALSE(a.canaries.empty());
      for (const std::string& c : a.canaries)
        EXPECT_NE(e.str(a.path).find(c), std::string::npos) << a.variant;
      ++variants[std::string(to_string(a.kind)) + "/" + a.variant];
      // Where a payload goes decides the server: chats to chat models,
      // notes to the fraud model.
      if (a.path == "/features/note") {
        EXPECT_EQ(e.str("/model"), "fraud");
      }
      if (a.path.rfind("/input", 0) == 0 || a.path.rfind("/output", 0) == 0) {
        EXPECT_NE(e.str("/model"), "fraud");
      }
    }
  }
  for (const char* v :
       {"secret/aws_access_key", "secret/github_token", "secret/password", "secret/pem_private_key",
        "pii/email", "pii/phone", "pii/card", "pii/iban", "pii/ssn", "injection/script_tag",
        "injection/log_forging", "injection/terminal_escape", "injection/jndi_lookup",
        "injection/prompt_injection", "prompt_leak/system_prompt_echo"})
    EXPECT_GT(variants[v], 10) << v;
}

TEST(Attacks, APromptLeakEchoesTheServedModelsSystemPrompt) {
  options o;
  o.mix.prompt_leak = 0.2;
  for (const auto& g : generate(o, 3'000)) {
    const attack* a = find_attack(g.truth, attack_kind::prompt_leak);
    if (a == nullptr) continue;
    const auto e = parse(g.rec.value);
    EXPECT_NE(e.str("/output/content").find(e.str("/input/messages/0/content")), std::string::npos);
  }
}

TEST(Attacks, ASilencedSourceSendsNothingDuringItsEpisodeAndItsReturnIsLabelled) {
  options o;
  o.clock_rate = 1000;
  o.metric_interval = 1'000;
  o.mix.silence = {2, 5'000, 15'000, 6'000};
  const auto events = generate(o, 30'000);
  std::vector<const testing::generated*> returns;
  for (const auto& g : events)
    if (find_attack(g.truth, attack_kind::silence)) returns.push_back(&g);
  ASSERT_EQ(returns.size(), 2U);
  for (int k = 0; k < 2; ++k) {
    const auto& back = *returns[static_cast<std::size_t>(k)];
    const timestamp_ms from = o.start + 5'000 + k * 15'000;
    const timestamp_ms to = from + 6'000;
    const attack& a = *find_attack(back.truth, attack_kind::silence);
    EXPECT_GE(back.rec.time, to);
    EXPECT_GE(detail_number(a, "silent_ms"), 6'000);
    const timestamp_ms last_seen = *parse_rfc3339(testing::detail_string(a, "last_seen"));
    EXPECT_LT(last_seen, from);
    EXPECT_EQ(back.rec.time - last_seen, static_cast<timestamp_ms>(detail_number(a, "silent_ms")));
    // Nothing at all from that source in between, metrics included.
    for (const auto& g : events) {
      if (g.rec.key == back.rec.key) {
        EXPECT_FALSE(g.rec.time > last_seen && g.rec.time < back.rec.time) << g.rec.value;
      }
    }
  }
  // Every other source keeps talking: no other silence is labelled and the
  // longest pause of any other source is short.
  std::map<std::string, timestamp_ms> last;
  timestamp_ms longest = 0;
  for (const auto& g : events) {
    if (g.rec.key == returns[0]->rec.key || g.rec.key == returns[1]->rec.key) continue;
    if (last.count(g.rec.key)) longest = std::max(longest, g.rec.time - last[g.rec.key]);
    last[g.rec.key] = g.rec.time;
  }
  EXPECT_LT(longest, 2'000);
}

TEST(Attacks, APoisonedSourceReportsImpossibleOrOutlyingMetricsThenARollbackFollows) {
  options o;
  o.clock_rate = 1000;
  o.metric_interval = 1'000;
  o.mix.poisoning.when = {1, 5'000, 0, 30'000};
  std::set<std::string> liars;
  std::size_t impossible = 0;
  std::size_t outlier = 0;
  const testing::generated* rollback = nullptr;
  std::string liar_model;
  for (const auto& g : generate(o, 40'000)) {
    const bool metric = g.rec.value.find(R"("type":"metric")") != std::string::npos;
    if (!metric && g.truth.clean()) continue;
    const auto e = parse(g.rec.value);
    if (const attack* a = find_attack(g.truth, attack_kind::poisoning)) {
      liars.insert(g.rec.key);
      liar_model = e.str("/model");
      EXPECT_EQ(e.str("/type"), "metric");
      EXPECT_GE(g.rec.time, o.start + 5'000);
      EXPECT_LT(g.rec.time, o.start + 35'000);
      const double v = e.num("/value");
      const std::string name = e.str("/name");
      EXPECT_EQ(testing::detail_string(*a, "metric"), name);
      EXPECT_EQ(detail_number(*a, "reported"), v);
      const double honest = detail_number(*a, "honest");
      if (a->variant == "impossible") {
        ++impossible;
        if (name == "latency_p99_ms") {
          EXPECT_LT(v, 0);
        } else {
          EXPECT_GT(v, 1.0) << name;
        }
      } else {
        ASSERT_EQ(a->variant, "outlier");
        ++outlier;
        if (name == "latency_p99_ms") {
          EXPECT_GT(v, 2.4 * honest);
        }
        if (name == "error_rate") {
          EXPECT_GT(v, honest + 0.14);
        }
        if (name == "accuracy") {
          EXPECT_LT(v, honest - 0.24);
        }
      }
    } else if (e.str("/type") == "metric" && liars.count(g.rec.key) &&
               g.rec.time >= o.start + 5'000 && g.rec.time < o.start + 35'000) {
      ADD_FAILURE() << "an unlabelled metric from the liar during its episode: " << g.rec.value;
    }
    if (const attack* r = find_attack(g.truth, attack_kind::rollback_guard)) {
      ASSERT_EQ(rollback, nullptr) << "one rollback per episode";
      rollback = &g;
      EXPECT_EQ(e.str("/type"), "audit");
      EXPECT_EQ(e.str("/action"), "rollback");
      EXPECT_FALSE(e.str("/reason").empty());
      EXPECT_GE(g.rec.time, o.start + 35'000);
      EXPECT_LT(g.rec.time, o.start + 35'010);
      EXPECT_EQ(e.str("/model"), liar_model);
      EXPECT_EQ(testing::detail_string(*r, "poisoned_source"), *liars.begin());
    }
  }
  ASSERT_EQ(liars.size(), 1U);
  EXPECT_NE(rollback, nullptr);
  // 30 s × 3 metrics per second, a quarter of them impossible.
  EXPECT_NEAR(static_cast<double>(impossible + outlier), 90, 3);
  EXPECT_GT(impossible, 10U);
  EXPECT_GT(outlier, 45U);
}

TEST(Attacks, AFloodBurstsFromManyUnsignedEdgeSourcesOnlyDuringItsEpisode) {
  options o;
  o.clock_rate = 1000;
  o.mix.flood.when = {1, 5'000, 0, 10'000};
  o.mix.flood.share = 0.6;
  o.mix.flood.sources = 150;
  std::set<std::string> sources;
  double in_window = 0;
  double junk = 0;
  for (const auto& g : generate(o, 16'000)) {
    const bool during = g.rec.time >= o.start + 5'000 && g.rec.time < o.start + 15'000;
    in_window += during ? 1 : 0;
    const attack* a = find_attack(g.truth, attack_kind::flood);
    if (a == nullptr) continue;
    junk += 1;
    EXPECT_TRUE(during);
    sources.insert(g.rec.key);
    const auto e = parse(g.rec.value);
    EXPECT_FALSE(e.has("/sig/mac"));
    EXPECT_EQ(g.rec.key.rfind("edge-", 0), 0U);
    EXPECT_NE(e.str(a->path).find(a->canaries.at(0)), std::string::npos);
  }
  EXPECT_NEAR(junk / in_window, 0.6, 0.03);
  EXPECT_GT(sources.size(), 140U);
}

TEST(Attacks, AFloodFromTheFleetIsSignedByItsServers) {
  options o;
  o.clock_rate = 1000;
  o.mix.flood.when = {1, 1'000, 0, 5'000};
  std::set<std::string> sources;
  for (const auto& g : generate(o, 7'000)) {
    if (!find_attack(g.truth, attack_kind::flood)) continue;
    sources.insert(g.rec.key);
    EXPECT_TRUE(parse(g.rec.value).has("/sig/mac"));
  }
  EXPECT_EQ(sources.size(), 24U);
}

TEST(Attacks, DriftMovesTheAmountMeanByTheConfiguredStepPerWindow) {
  options clean;
  clean.clock_rate = 1000;
  options drifted = clean;
  drifted.mix.drift = {0.05, 1'000, 3};
  const auto a = generate(clean, 10'000);
  const auto b = generate(drifted, 10'000);
  const double step = 0.05 * amount_reference_sd();
  std::map<std::int64_t, double> diff_sum;
  std::map<std::int64_t, double> count;
  std::set<std::int64_t> labelled;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::int64_t w = (a[i].rec.time - clean.start) / 1'000;
    if (const attack* d = find_attack(b[i].truth, attack_kind::drift)) {
      EXPECT_TRUE(labelled.insert(w).second) << "one label per window";
      EXPECT_EQ(detail_number(*d, "window"), static_cast<double>(w));
      EXPECT_NEAR(detail_number(*d, "shift"), step * static_cast<double>(w - 2), 1e-9);
      EXPECT_EQ(d->path, "/features/amount");
    }
    if (a[i].rec.value.find(R"("amount":)") == std::string::npos) {
      ASSERT_EQ(a[i].rec.value, b[i].rec.value);
      continue;
    }
    const auto ea = parse(a[i].rec.value);
    const auto eb = parse(b[i].rec.value);
    diff_sum[w] += eb.num("/features/amount") - ea.num("/features/amount");
    count[w] += 1;
    // Nothing else changes: same score, same note, same source.
    EXPECT_EQ(ea.num("/score"), eb.num("/score"));
    EXPECT_EQ(ea.str("/features/note"), eb.str("/features/note"));
  }
  ASSERT_EQ(count.size(), 10U);
  for (const auto& [w, n] : count) {
    const double expected = w < 3 ? 0.0 : step * static_cast<double>(w - 2);
    EXPECT_NEAR(diff_sum[w] / n, expected, 0.006) << "window " << w;
    EXPECT_EQ(labelled.count(w), w < 3 ? 0U : 1U) << "window " << w;
  }
}

TEST(Attacks, TheDemoPresetPlantsEveryKindWithLabelsNamedAfterSpecAlerts) {
  options o;
  ASSERT_TRUE(apply_preset("demo", o));
  o.clock_rate = 1000;
  std::set<std::string> kinds;
  for (const auto& g : generate(o, 20'000)) {
    std::string lines;
    append_label_lines(lines, g.truth);
    std::size_t start = 0;
    std::size_t n = 0;
    while (start < lines.size()) {
      const std::size_t nl = lines.find('\n', start);
      ASSERT_NE(nl, std::string::npos);
      const auto e = parse(std::string_view(lines).substr(start, nl - start));
      ASSERT_TRUE(e.ok()) << lines;
      EXPECT_EQ(e.num("/index"), static_cast<double>(g.truth.index));
      EXPECT_EQ(e.str("/source"), g.rec.key);
      EXPECT_EQ(e.str("/ts"), format_rfc3339(g.truth.ts));
      kinds.insert(e.str("/kind"));
      start = nl + 1;
      ++n;
    }
    EXPECT_EQ(n, g.truth.attacks.size());
    // Ground truth never travels inside the event.
    EXPECT_EQ(g.rec.value.find("\"kind\""), std::string::npos);
  }
  const std::set<std::string> spec{"secret",
                                   "pii",
                                   "injection",
                                   "prompt_leak",
                                   "integrity.tamper",
                                   "integrity.replay",
                                   "integrity.gap",
                                   "integrity.silence",
                                   "integrity.unsigned",
                                   "poisoning",
                                   "rollback_guard",
                                   "drift",
                                   "flood"};
  EXPECT_EQ(kinds, spec);
}

} // namespace
} // namespace bulwark::loadgen
