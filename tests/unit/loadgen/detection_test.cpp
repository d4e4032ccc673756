// The generator and the built-in rule packs agree: every planted secret, PII
// value, injection and prompt leak is found by the scanner, in the labelled
// member and of the labelled category, and clean traffic is left alone.
#include "loadgen/fleet.hpp"
#include "scan/ruleset.hpp"
#include "scan/scanner.hpp"
#include "support.hpp"

#include <gtest/gtest.h>
#include <map>
#include <memory>
#include <string>

namespace bulwark::loadgen {
namespace {

std::shared_ptr<const scan::ruleset> built_in_rules() {
  static const std::shared_ptr<const scan::ruleset> rules = [] {
    scan::ruleset_options opts;
    opts.system_prompts = fleet::system_prompts();
    auto built = scan::load_ruleset(scan::default_rules_dir(),
                                    {"secrets", "pii", "injection", "prompt_injection"}, {}, opts);
    if (auto* e = std::get_if<std::string>(&built)) {
      ADD_FAILURE() << *e;
      return std::shared_ptr<const scan::ruleset>{};
    }
    return std::get<std::shared_ptr<const scan::ruleset>>(built);
  }();
  return rules;
}

std::string_view expected_category(attack_kind k) {
  switch (k) {
  case attack_kind::secret:
    return "secret";
  case attack_kind::pii:
    return "pii";
  case attack_kind::prompt_leak:
    return "prompt_leak";
  default:
    return "injection";
  }
}

TEST(Detection, TheBuiltInPacksFindEveryPlantedValueWhereTheLabelSays) {
  const auto rules = built_in_rules();
  ASSERT_TRUE(rules);
  scan::scanner sc(rules);
  options o;
  o.mix.secret = 0.05;
  o.mix.pii = 0.05;
  o.mix.injection = 0.05;
  o.mix.prompt_leak = 0.02;
  o.mix.flood.when = {1, 1'000, 0, 1'000};
  std::map<std::string, int> missed;
  std::map<std::string, int> found;
  std::vector<scan::match> matches;
  for (const auto& g : testing::generate(o, 8'000)) {
    for (const attack& a : g.truth.attacks) {
      const auto e = testing::parse(g.rec.value);
      const std::string text = e.str(a.path);
      matches.clear();
      sc.scan(text, matches);
      const std::string key = std::string(to_string(a.kind)) + "/" + a.variant;
      for (const std::string& canary : a.canaries) {
        const std::size_t at = text.find(canary);
        ASSERT_NE(at, std::string::npos);
        bool hit = false;
        for (const scan::match& m : matches) {
          const auto cat = bulwark::to_string(rules->rule(m.rule).spec.cat);
          if (m.begin < at + canary.size() && m.end > at && cat == expected_category(a.kind))
            hit = true;
        }
        ++(hit ? found : missed)[key];
      }
    }
  }
  for (const auto& [key, n] : missed)
    ADD_FAILURE() << key << ": " << n << " planted values missed";
  EXPECT_GE(found.size(), 19U) << "every variant was planted and found";
}

TEST(Detection, CleanTrafficRaisesNoFinding) {
  const auto rules = built_in_rules();
  ASSERT_TRUE(rules);
  scan::scanner sc(rules);
  std::vector<scan::match> matches;
  std::map<std::string, int> findings;
  for (const auto& g : testing::generate(options{}, 8'000)) {
    const auto e = testing::parse(g.rec.value);
    for (const auto& [pointer, text] : e.strings) {
      // The system message is the registered prompt itself: a finding there is
      // the policy's job (SPEC §2, the built-in system-message policy).
      if (pointer == "/input/messages/0/content") continue;
      matches.clear();
      sc.scan(text, matches);
      for (const scan::match& m : matches)
        ++findings[rules->rule(m.rule).spec.id + " at " + pointer + ": " +
                   text.substr(m.begin, m.end - m.begin)];
    }
  }
  for (const auto& [what, n] : findings)
    ADD_FAILURE() << n << "× " << what;
}

} // namespace
} // namespace bulwark::loadgen
