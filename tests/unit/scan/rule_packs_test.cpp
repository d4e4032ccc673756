// Every built-in pack compiles and every rule's embedded examples hold.
#include "config/rules.hpp"
#include "scan/examples.hpp"
#include "support/temp_dir.hpp"

#include <filesystem>
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

// Loading skips the one-document check for the shipped packs, by digest:
// every pack file in the tree must be one of them and must pass that check.
TEST(ShippedPacks, EveryPackInTheTreeIsRecognisedAndHoldsOneDocument) {
  const std::filesystem::path dir = std::filesystem::path(BULWARK_SOURCE_DIR) / "configs/rules";
  std::size_t packs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    ++packs;
    const std::string content = bulwark::testing::read_file(entry.path().string());
    EXPECT_TRUE(is_shipped_pack(content)) << entry.path();
    // The full check (no digest given): one document, valid rules.
    const auto loaded = config::load_rule_file(entry.path().string());
    EXPECT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(loaded))
        << std::get<config::load_error>(loaded).message();
  }
  EXPECT_EQ(packs, 4U);
}

TEST(ShippedPacks, ContentThatDiffersByAByteIsNotRecognised) {
  const std::string pii =
      bulwark::testing::read_file(std::string(BULWARK_SOURCE_DIR) + "/configs/rules/pii.yaml");
  ASSERT_TRUE(is_shipped_pack(pii));
  EXPECT_FALSE(is_shipped_pack(pii + "\n"));
  std::string flipped = pii;
  flipped[flipped.size() / 2] ^= 0x01;
  EXPECT_FALSE(is_shipped_pack(flipped));
  EXPECT_FALSE(is_shipped_pack(""));
}

// A pack file under a shipped name but with a second document appended is not
// the shipped content: it is checked in full and refused.
TEST(ShippedPacks, AnEditedPackWithASecondDocumentIsRefused) {
  const bulwark::testing::temp_dir dir;
  const std::string pii =
      bulwark::testing::read_file(std::string(BULWARK_SOURCE_DIR) + "/configs/rules/pii.yaml");
  bulwark::testing::write_file(dir.file("pii.yaml"), pii + "---\npack: more\nrules: []\n");
  auto built = load_ruleset(dir.path().string(), {"pii"}, {});
  ASSERT_TRUE(std::holds_alternative<std::string>(built));
  EXPECT_NE(std::get<std::string>(built).find("more than one YAML document"), std::string::npos)
      << std::get<std::string>(built);
  // The shipped content itself, from the same place, loads.
  bulwark::testing::write_file(dir.file("pii.yaml"), pii);
  built = load_ruleset(dir.path().string(), {"pii"}, {});
  EXPECT_TRUE(std::holds_alternative<std::shared_ptr<const ruleset>>(built))
      << std::get<std::string>(built);
}

// The digest is what decides: content vouched for skips the check (so only
// checked content may be vouched for), anything else gets it.
TEST(ShippedPacks, OnlyVouchedContentSkipsTheOneDocumentCheck) {
  const bulwark::testing::temp_dir dir;
  const std::string two = "pack: a\nrules: []\n---\npack: b\nrules: []\n";
  bulwark::testing::write_file(dir.file("two.yaml"), two);
  const auto refused = config::load_rule_file(dir.file("two.yaml"), is_shipped_pack);
  ASSERT_TRUE(std::holds_alternative<config::load_error>(refused));
  const auto vouched =
      config::load_rule_file(dir.file("two.yaml"), [&](std::string_view c) { return c == two; });
  EXPECT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(vouched));
  const auto unreadable = config::load_rule_file(dir.file("missing.yaml"), is_shipped_pack);
  ASSERT_TRUE(std::holds_alternative<config::load_error>(unreadable));
  EXPECT_NE(std::get<config::load_error>(unreadable).message().find("cannot read"),
            std::string::npos);
}

} // namespace
} // namespace bulwark::scan
