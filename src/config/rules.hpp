#pragma once
/// Rule files (docs/rules.md) -> typed rule specifications. The scan module
/// compiles them; this module only reads and checks the YAML.
#include "config/load.hpp"
#include "core/verdict.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::config {

/// Which text a rule's pattern runs on.
enum class text_form : std::uint8_t { raw, normalized };

/// A confirmation step after a pattern match.
enum class validator_kind : std::uint8_t {
  none,
  luhn,
  iban_mod97,
  us_ssn,
  jwt,
  github_crc32,
  entropy
};

struct rule_example {
  std::string text;
  std::optional<std::string> span; ///< the redacted span it must produce, when pinned
  int line = 0;
};

struct rule_spec {
  std::string id;
  category cat = category::secret;
  bulwark::severity sev = bulwark::severity::high;
  std::string pattern;
  text_form form = text_form::raw;
  std::vector<std::string> keywords; ///< lower-cased
  std::size_t keyword_window = 64;
  validator_kind validator = validator_kind::none;
  double entropy_min = 0; ///< with validator_kind::entropy
  std::vector<std::string> allow;
  std::optional<action> act; ///< the rule's own action; unset: rules.action
  std::vector<rule_example> match;
  std::vector<rule_example> no_match;
  std::string file; ///< where the rule was defined, for errors
  int line = 0;
};

using rules_result = std::variant<std::vector<rule_spec>, load_error>;

/// Reads one rule file. Every rule must carry examples (at least one `match`).
rules_result load_rule_file(const std::string& path);
/// load_rule_file, but the one-document check is skipped for content that
/// `known_single` recognises as checked already (the shipped packs, by digest:
/// that check reads the whole file through yaml-cpp a second time).
rules_result load_rule_file(const std::string& path,
                            const std::function<bool(std::string_view)>& known_single);
rules_result load_rule_string(std::string_view yaml, std::string_view name = "<string>");

/// The default severity of a category when a rule names none.
bulwark::severity default_severity(category c) noexcept;

} // namespace bulwark::config
