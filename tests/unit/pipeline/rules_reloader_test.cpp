#include "pipeline/processor.hpp"
#include "pipeline/rules_reloader.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <thread>
#include <unistd.h>

namespace bulwark::pipeline {
namespace {

using namespace std::chrono_literals;

/// Waits until the reloader has answered every request so far.
void settle(const rules_reloader& r) {
  for (int i = 0; i < 2000 && r.busy(); ++i)
    std::this_thread::sleep_for(5ms);
  ASSERT_FALSE(r.busy()) << "the reload thread did not finish in 10 s";
}

/// A generation whose every part says which compile made it, so a reader can
/// tell a torn or half-built one apart.
rule_generation marked(std::uint64_t n) {
  rule_generation g;
  g.policies.resize(n);
  g.inputs_json = "{\"n\":" + std::to_string(n) + "}";
  return g;
}

TEST(RulesReloader, StartsAtGenerationOneAndPublishesEachGoodCompile) {
  std::atomic<std::uint64_t> compiles{0};
  rules_reloader r(marked(0), [&]() -> std::variant<rule_generation, std::string> {
    return marked(++compiles);
  });
  EXPECT_EQ(r.generation(), 1U);
  EXPECT_EQ(r.current()->id, 1U);
  r.request("SIGHUP");
  settle(r);
  EXPECT_EQ(r.generation(), 2U);
  EXPECT_EQ(r.current()->policies.size(), 1U);
  const auto outcomes = r.take_outcomes();
  ASSERT_EQ(outcomes.size(), 1U);
  EXPECT_TRUE(outcomes[0].ok);
  EXPECT_EQ(outcomes[0].generation, 2U);
  EXPECT_EQ(outcomes[0].trigger, "SIGHUP");
  EXPECT_EQ(outcomes[0].requests, 1U);
  EXPECT_EQ(outcomes[0].inputs_json, "{\"n\":1}");
  EXPECT_TRUE(r.take_outcomes().empty()) << "an outcome is reported once";
}

TEST(RulesReloader, AFailedCompileKeepsThePublishedGenerationAndSaysWhy) {
  bool fail = false;
  std::mutex m;
  rules_reloader r(marked(0), [&]() -> std::variant<rule_generation, std::string> {
    std::lock_guard lock(m);
    if (fail) return std::string("extra.yaml:3: rule x: bad pattern");
    return marked(7);
  });
  r.request("http");
  settle(r);
  ASSERT_EQ(r.generation(), 2U);
  {
    std::lock_guard lock(m);
    fail = true;
  }
  r.request("http");
  settle(r);
  EXPECT_EQ(r.generation(), 2U) << "the old rules stay";
  EXPECT_EQ(r.current()->policies.size(), 7U);
  const auto outcomes = r.take_outcomes();
  ASSERT_EQ(outcomes.size(), 2U);
  EXPECT_TRUE(outcomes[0].ok);
  EXPECT_FALSE(outcomes[1].ok);
  EXPECT_EQ(outcomes[1].generation, 2U) << "names the generation kept";
  EXPECT_EQ(outcomes[1].error, "extra.yaml:3: rule x: bad pattern");
}

TEST(RulesReloader, RequestsDuringACompileFoldIntoOneMoreCompileAndNoneIsLost) {
  std::atomic<bool> release{false};
  std::atomic<int> compiles{0};
  rules_reloader r(marked(0), [&]() -> std::variant<rule_generation, std::string> {
    ++compiles;
    while (!release.load())
      std::this_thread::sleep_for(1ms);
    return marked(1);
  });
  r.request("SIGHUP");
  while (compiles.load() == 0)
    std::this_thread::sleep_for(1ms);
  for (int i = 0; i < 5; ++i)
    r.request("http");
  EXPECT_TRUE(r.busy());
  release.store(true);
  settle(r);
  EXPECT_EQ(compiles.load(), 2) << "one compile for the first request, one for the five after it";
  const auto outcomes = r.take_outcomes();
  ASSERT_EQ(outcomes.size(), 2U);
  EXPECT_EQ(outcomes[0].requests + outcomes[1].requests, 6U);
  EXPECT_EQ(outcomes[0].trigger, "SIGHUP");
  EXPECT_EQ(outcomes[1].trigger, "http");
  EXPECT_EQ(r.generation(), 3U);
}

TEST(RulesReloader, OutcomesAreBoundedWhenNobodyTakesThem) {
  std::atomic<std::uint64_t> n{0};
  rules_reloader r(marked(0),
                   [&]() -> std::variant<rule_generation, std::string> { return marked(++n); });
  const std::size_t asked = rules_reloader::max_pending_outcomes + 10;
  for (std::size_t i = 0; i < asked; ++i) {
    r.request("http");
    settle(r);
  }
  EXPECT_EQ(r.take_outcomes().size(), rules_reloader::max_pending_outcomes);
  EXPECT_EQ(r.dropped_outcomes(), 10U);
}

// Readers swap between "records" the way workers do while reloads keep
// coming: every generation a reader sees is whole (its parts agree with its
// id) and ids only move forward. Run under TSan by scripts/test.
TEST(RulesReloaderConcurrency, ReadersOnlyEverSeeWholeGenerationsInOrder) {
  std::atomic<std::uint64_t> compiles{0};
  rules_reloader r(marked(0), [&]() -> std::variant<rule_generation, std::string> {
    const std::uint64_t k = ++compiles;
    if (k % 5 == 0) return std::string("every fifth compile fails");
    return marked(k);
  });
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, backwards{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t)
    readers.emplace_back([&] {
      std::uint64_t seen = 0;
      std::shared_ptr<const rule_generation> mine;
      while (!done.load()) {
        if (r.generation() != seen) {
          mine = r.current();
          if (mine->id < seen) ++backwards;
          seen = mine->id;
        }
        // The "record": everything about the generation must agree.
        const std::string expect = "{\"n\":" + std::to_string(mine->policies.size()) + "}";
        if (mine->inputs_json != expect) ++torn;
      }
    });
  std::uint64_t answered = 0, ok = 0;
  const auto tally = [&] {
    for (const auto& o : r.take_outcomes()) {
      answered += o.requests;
      ok += o.ok ? 1 : 0;
    }
  };
  for (int i = 0; i < 200; ++i) {
    r.request(i % 2 ? "SIGHUP" : "http");
    if (i % 10 == 0) {
      std::this_thread::sleep_for(1ms);
      tally();
    }
  }
  settle(r);
  done.store(true);
  for (auto& t : readers)
    t.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_EQ(backwards.load(), 0);
  tally();
  EXPECT_EQ(r.dropped_outcomes(), 0U);
  EXPECT_EQ(answered, 200U) << "every request was answered by some compile";
  EXPECT_EQ(r.generation(), 1 + ok) << "one generation per good compile";
}

std::shared_ptr<const scan::ruleset> rules_from(const std::string& yaml) {
  const auto file = std::filesystem::temp_directory_path() /
                    ("bulwark_reload_" + std::to_string(::getpid()) + ".yaml");
  std::ofstream(file) << yaml;
  auto built = scan::load_ruleset(scan::default_rules_dir(), {}, {file.string()});
  std::filesystem::remove(file);
  if (auto* e = std::get_if<std::string>(&built)) ADD_FAILURE() << *e;
  return std::get<std::shared_ptr<const scan::ruleset>>(built);
}

std::string rule_file(const std::string& id, const std::string& token) {
  return "rules:\n"
         "  - id: " +
         id +
         "\n"
         "    category: secret\n"
         "    action: mask\n"
         "    pattern: '(" +
         token +
         "[0-9]{4})'\n"
         "    examples:\n"
         "      match: ['x " +
         token +
         "1234 y']\n"
         "      no_match: ['x " +
         token + " y']\n";
}

TEST(RulesReloader, AProcessorSwapsRulesBetweenRecords) {
  processor p(config::options{}, rules_from(rule_file("token-a", "AAA")));
  std::string out, dlq;
  const std::string line = R"({"t":"AAA1234 BBB5678"})";
  p.process(line, raw_info{}, origin{1}, out, dlq);
  EXPECT_NE(out.find("token-a"), std::string::npos) << out;
  EXPECT_NE(out.find("BBB5678"), std::string::npos) << out;
  EXPECT_EQ(out.find("AAA1234"), std::string::npos) << out;

  p.use_rules(rules_from(rule_file("token-b", "BBB")), {});
  out.clear();
  p.process(line, raw_info{}, origin{2}, out, dlq);
  EXPECT_EQ(out.find("token-a"), std::string::npos) << out;
  EXPECT_NE(out.find("token-b"), std::string::npos) << out;
  EXPECT_NE(out.find("AAA1234"), std::string::npos) << out;
  EXPECT_EQ(out.find("BBB5678"), std::string::npos) << out;

  p.use_rules(nullptr, {});
  out.clear();
  p.process(line, raw_info{}, origin{3}, out, dlq);
  EXPECT_EQ(out, line) << "without rules, events pass through";
}

} // namespace
} // namespace bulwark::pipeline
