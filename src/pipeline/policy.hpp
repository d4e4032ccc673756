#pragma once
/// Policies (SPEC §2 `policies`): per JSON pointer, the action for findings at
/// that path, winning over a rule's own action and rules.action. A `*` segment
/// matches any one segment; the first policy that matches a value wins.
///
/// Built in, and overridden by a user policy on the same path: a conversation's
/// system message (`/input/messages/*/content` whose sibling `role` is
/// "system") is itself a prompt leak and is replaced whole (`tag`).
#include "config/options.hpp"
#include "core/verdict.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::pipeline {

class policy_set {
public:
  explicit policy_set(const std::vector<config::policy>& policies);

  /// The action of the first policy whose path matches `pointer`.
  std::optional<action> action_for(std::string_view pointer) const noexcept;

  /// True when `pointer` names a message's content, e.g. "/input/messages/3/content";
  /// `message` is then set to its message object's pointer ("/input/messages/3").
  static bool is_message_content(std::string_view pointer, std::string_view& message) noexcept;
  /// True when `pointer` names a message's role; `message` as above.
  static bool is_message_role(std::string_view pointer, std::string_view& message) noexcept;

  /// RFC 6901 pointer `pointer` against `pattern` (segments, `*` = any one).
  static bool matches(std::string_view pattern, std::string_view pointer) noexcept;

private:
  struct entry {
    std::string path;
    action act;
  };
  std::vector<entry> entries_;
};

} // namespace bulwark::pipeline
