#include "scan/examples.hpp"

#include "scan/scanner.hpp"

#include <algorithm>

namespace bulwark::scan {

std::vector<example_failure> check_examples(const std::shared_ptr<const ruleset>& rules) {
  std::vector<example_failure> failures;
  scanner s(rules);
  std::vector<match> found;
  for (std::uint32_t i = 0; i < rules->size(); ++i) {
    const config::rule_spec& spec = rules->rule(i).spec;
    const auto where = [&](const config::rule_example& ex) {
      return spec.file + ":" + std::to_string(ex.line);
    };
    for (const auto& ex : spec.match) {
      s.candidates(ex.text, found);
      std::vector<std::string_view> spans;
      for (const match& m : found)
        if (m.rule == i)
          spans.push_back(std::string_view(ex.text).substr(m.begin, m.end - m.begin));
      if (spans.empty()) {
        failures.push_back({where(ex), spec.id, "match example not found"});
      } else if (ex.span && std::find(spans.begin(), spans.end(), *ex.span) == spans.end()) {
        std::string got;
        for (auto sp : spans)
          got += (got.empty() ? "\"" : ", \"") + std::string(sp) + "\"";
        failures.push_back(
            {where(ex), spec.id, "span " + got + " found, expected \"" + *ex.span + "\""});
      }
    }
    for (const auto& ex : spec.no_match) {
      s.candidates(ex.text, found);
      if (std::any_of(found.begin(), found.end(), [&](const match& m) { return m.rule == i; }))
        failures.push_back({where(ex), spec.id, "no_match example matched"});
    }
  }
  return failures;
}

} // namespace bulwark::scan
