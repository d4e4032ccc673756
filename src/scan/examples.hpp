#pragma once
/// Runs every rule's embedded examples against the compiled ruleset: what
/// `bulwark rules check` and the unit tests do.
#include "scan/ruleset.hpp"

#include <memory>
#include <string>
#include <vector>

namespace bulwark::scan {

struct example_failure {
  std::string where; ///< file:line of the example
  std::string rule;
  std::string reason; ///< e.g. "match example not found", "span is \"…\", expected \"…\""
};

/// Checks each rule in isolation: a `match` example must yield a candidate of
/// that rule (with the pinned span, when given); a `no_match` example must not.
std::vector<example_failure> check_examples(const std::shared_ptr<const ruleset>& rules);

} // namespace bulwark::scan
