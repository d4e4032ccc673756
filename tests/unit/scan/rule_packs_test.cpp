// Every built-in pack compiles and every rule's embedded examples hold.
#include "scan/examples.hpp"

#include <gtest/gtest.h>

namespace bulwark::scan {
namespace {

std::shared_ptr<const ruleset> load_pack(const std::string& pack) {
  auto built = load_ruleset(default_rules_dir(), {pack}, {});
  if (auto* err = std::get_if<std::string>(&built)) {
    ADD_FAILURE() << *err;
    return nullptr;
  }
  return std::get<std::shared_ptr<const ruleset>>(built);
}

class RulePack : public ::testing::TestWithParam<const char*> {};

TEST_P(RulePack, CompilesAndEveryExampleHolds) {
  const auto rules = load_pack(GetParam());
  ASSERT_TRUE(rules);
  EXPECT_GT(rules->size(), 0U);
  for (const auto& f : check_examples(rules))
    ADD_FAILURE() << f.where << ": rule " << f.rule << ": " << f.reason;
}

TEST_P(RulePack, EveryRuleHasMatchAndNoMatchExamples) {
  const auto rules = load_pack(GetParam());
  ASSERT_TRUE(rules);
  for (std::size_t i = 0; i < rules->size(); ++i) {
    const auto& spec = rules->rule(i).spec;
    if (spec.pattern.empty()) continue; // built in (system prompts), found by code
    EXPECT_GE(spec.match.size(), 2U) << spec.id;
    EXPECT_GE(spec.no_match.size(), 2U) << spec.id;
  }
}

INSTANTIATE_TEST_SUITE_P(BuiltIn, RulePack,
                         ::testing::Values("secrets", "pii", "injection", "prompt_injection"));

TEST(RulePacks, AllPacksCompileTogetherWithUniqueIds) {
  auto built =
      load_ruleset(default_rules_dir(), {"secrets", "pii", "injection", "prompt_injection"}, {});
  ASSERT_TRUE(std::holds_alternative<std::shared_ptr<const ruleset>>(built))
      << std::get<std::string>(built);
  EXPECT_GE(std::get<std::shared_ptr<const ruleset>>(built)->size(), 40U + 10U);
}

TEST(RulePacks, TheSecretsPackCoversAtLeastFortyFormats) {
  const auto rules = load_pack("secrets");
  ASSERT_TRUE(rules);
  EXPECT_GE(rules->size(), 40U);
}

} // namespace
} // namespace bulwark::scan
