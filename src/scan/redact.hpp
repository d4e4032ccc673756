#pragma once
/// Actions on one decoded string value (SPEC §3): each confirmed match is
/// replaced per its action, and a value that carries an injection is defused
/// as a whole, so that neither the payload nor anything around it can attack
/// a viewer.
///
///   tag    -> [REDACTED:<rule>]
///   mask   -> every letter and digit but the last four becomes '*' (separators kept)
///   defuse -> the span's defused form (scan/defuse.hpp)
///   drop   -> the whole member is removed (the caller removes it)
///   hash   -> [<rule>:<first 12 hex digits of HMAC-SHA256(rules.hash_key, span)>]
#include "scan/ruleset.hpp"
#include "scan/scanner.hpp"

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::scan {

struct rewrite_result {
  bool drop_member = false; ///< a match's action is drop: remove the member
  bool any_injection = false;
};

/// Writes the rewritten `text` to `out` (cleared first). `applied[i]` receives
/// the action used for `matches[i]`: `override_action` (a policy) when set,
/// else the rule's.
rewrite_result rewrite_value(std::string_view text, std::span<const match> matches,
                             const ruleset& rules, std::optional<action> override_action,
                             std::string& out, std::vector<action>& applied);

} // namespace bulwark::scan
