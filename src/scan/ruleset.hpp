#pragma once
/// Compiled rules: Hyperscan block-mode databases per text form (raw,
/// normalized) and byte gate (gate.hpp) that tell which rules occur in a
/// value, and per rule an RE2 program that then finds where (its first
/// capturing group, or the match).
///
/// A ruleset is immutable once built and shared by every worker thread
/// (std::shared_ptr<const ruleset>); each thread scans with its own scanner,
/// which owns the Hyperscan scratch space.
///
/// Start of match, chosen by measurement (docs/design.md): Hyperscan with
/// HS_FLAG_SOM_LEFTMOST scanned the secrets pack at ~77 MB/s, without it at
/// ~560 MB/s, and SOM refuses wide bounded repeats.
/// Clean values, the vast majority, never leave Hyperscan; for a value where
/// some rules hit, RE2 (leftmost-longest) runs those rules alone over that value.
/// Every occurrence is reported (no HS_FLAG_SINGLEMATCH), so the scanner knows
/// which value each rule hit and confirms it there only, not in every value of
/// the event.
/// Hyperscan is given each rule's filter (filter.hpp), a prefix of its pattern
/// that fires wherever the pattern matches; RE2 confirms with the pattern.
#include "config/rules.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::scan {

/// Options that apply to every rule.
struct ruleset_options {
  action default_action = action::tag; ///< rules.action
  std::vector<std::uint8_t> hash_key;  ///< rules.hash_key, loaded; empty: none
  std::string hash_key_problem;        ///< why there is none (for the error when hash is used)
  /// Registered system prompts (name, text): a run of 8+ of their words in any
  /// value is a prompt_leak finding of rule `system-prompt-<name>`.
  std::vector<std::pair<std::string, std::string>> system_prompts;
};

/// One compiled rule.
struct rule_info {
  config::rule_spec spec;
  action act; ///< effective default action: the rule's own, else defuse for
              ///< injections, else rules.action
};

class ruleset {
public:
  ~ruleset();
  ruleset(const ruleset&) = delete;
  ruleset& operator=(const ruleset&) = delete;

  /// Compiles `rules`; on failure returns a message naming the rule's file,
  /// line and id and what is wrong with its pattern.
  static std::variant<std::shared_ptr<const ruleset>, std::string>
  build(std::vector<config::rule_spec> rules, const ruleset_options& opts = {});

  std::size_t size() const noexcept { return rules_.size(); }
  /// The built-in rule `system-prompt` (category prompt_leak): what the
  /// built-in policy reports for a conversation's system message.
  std::uint32_t system_message_rule() const noexcept { return system_message_rule_; }
  /// The key of the hash action (empty when no rule hashes).
  const std::vector<std::uint8_t>& hash_key() const noexcept { return hash_key_; }
  const rule_info& rule(std::size_t i) const noexcept { return rules_[i]; }
  /// Compiles every rule's span extractor now (they compile on first use)
  /// and returns, per rule that does not fit RE2's memory budget, "<file>:
  /// <line>: rule <id>: <why>". `rules check` reports these.
  std::vector<std::string> compile_all() const;

  struct impl;
  const impl& internals() const noexcept { return *impl_; }

private:
  ruleset();
  std::vector<rule_info> rules_;
  std::vector<std::uint8_t> hash_key_;
  std::uint32_t system_message_rule_ = 0;
  std::unique_ptr<impl> impl_;
};

/// Loads the built-in packs named in `packs` from `rules_dir` plus `extra`
/// files, and builds them. Errors name the file.
std::variant<std::shared_ptr<const ruleset>, std::string>
load_ruleset(const std::string& rules_dir, const std::vector<std::string>& packs,
             const std::vector<std::string>& extra, const ruleset_options& opts = {});

/// Where the built-in packs are: $BULWARK_RULES_DIR, else the `configs/rules`
/// directory next to the source tree the binary was built from, else the
/// installed share directory.
std::string default_rules_dir();

/// Whether `content` is, byte for byte, one of the rule packs this build
/// ships (configs/rules/*.yaml, by SHA-256): their one-document check is then
/// known to pass, and load_ruleset skips it.
bool is_shipped_pack(std::string_view content);

} // namespace bulwark::scan
