// `bulwark rules check` and `bulwark rules test` (SPEC §1).
#include "app/cli.hpp"
#include "scan/examples.hpp"
#include "scan/redact.hpp"
#include "scan/scanner.hpp"

#include <algorithm>
#include <cstdio>

namespace bulwark::app {

int rules_check_command(const rules_args& args) {
  const auto loaded = load_config_and_rules(args.config);
  if (!loaded) return bad_usage;
  const auto& rules = loaded->rules;
  if (!rules) {
    std::printf("no rules configured (rules.packs and rules.extra are empty)\n");
    return ok;
  }
  const std::vector<std::string> unfit = rules->compile_all();
  for (const auto& e : unfit)
    std::printf("%s\n", e.c_str());
  const auto failures = scan::check_examples(rules);
  std::size_t examples = 0;
  for (std::size_t i = 0; i < rules->size(); ++i)
    examples += rules->rule(i).spec.match.size() + rules->rule(i).spec.no_match.size();
  for (const auto& f : failures)
    std::printf("%s: rule %s: %s\n", f.where.c_str(), f.rule.c_str(), f.reason.c_str());
  std::printf("%zu rules compiled, %zu examples run, %zu failed\n", rules->size(), examples,
              failures.size());
  return failures.empty() && unfit.empty() ? ok : runtime_failure;
}

int rules_test_command(const rules_args& args) {
  const auto loaded = load_config_and_rules(args.config);
  if (!loaded) return bad_usage;
  const auto& rules = loaded->rules;
  if (!rules) {
    std::printf("no rules configured\nredacted: %s\n", args.text.c_str());
    return ok;
  }
  scan::scanner s(rules);
  std::vector<scan::match> all, kept;
  s.candidates(args.text, all);
  s.scan(args.text, kept);
  for (const auto& m : all) {
    const auto& info = rules->rule(m.rule);
    const bool won = std::any_of(kept.begin(), kept.end(), [&](const scan::match& k) {
      return k.rule == m.rule && k.begin == m.begin && k.end == m.end;
    });
    std::printf("%-28s %-12s %-8s %-7s [%u,%u)%s\n", info.spec.id.c_str(),
                std::string(to_string(info.spec.cat)).c_str(),
                std::string(to_string(info.spec.sev)).c_str(),
                std::string(to_string(info.act)).c_str(), m.begin, m.end,
                won ? "" : "  (overlapped by a longer or more severe match)");
  }
  if (all.empty()) std::printf("no rule matches\n");
  std::string out;
  std::vector<action> applied;
  const auto r = scan::rewrite_value(args.text, kept, *rules, std::nullopt, out, applied);
  std::printf("redacted: %s\n", r.drop_member ? "(member dropped)" : out.c_str());
  return ok;
}

} // namespace bulwark::app
