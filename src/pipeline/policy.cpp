#include "pipeline/policy.hpp"

namespace bulwark::pipeline {
namespace {

/// Splits off the next segment of a pointer ("/a/b" -> "a", rest "/b").
std::string_view next_segment(std::string_view& p) noexcept {
  p.remove_prefix(1); // the '/'
  const std::size_t slash = p.find('/');
  const std::string_view seg = p.substr(0, slash);
  p.remove_prefix(slash == std::string_view::npos ? p.size() : slash);
  return seg;
}

/// "/input/messages/<n>/<leaf>" -> the message pointer "/input/messages/<n>".
bool is_message_member(std::string_view pointer, std::string_view leaf,
                       std::string_view& message) noexcept {
  constexpr std::string_view prefix = "/input/messages/";
  if (pointer.substr(0, prefix.size()) != prefix) return false;
  const std::string_view rest = pointer.substr(prefix.size());
  const std::size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || rest.substr(slash + 1) != leaf) return false;
  message = pointer.substr(0, prefix.size() + slash);
  return true;
}

} // namespace

policy_set::policy_set(const std::vector<config::policy>& policies) {
  for (const auto& p : policies)
    if (const auto a = action_from_string(p.action)) entries_.push_back({p.path, *a});
}

bool policy_set::matches(std::string_view pattern, std::string_view pointer) noexcept {
  while (!pattern.empty() && !pointer.empty()) {
    if (pattern.front() != '/' || pointer.front() != '/') return false;
    const std::string_view want = next_segment(pattern);
    const std::string_view have = next_segment(pointer);
    if (want != "*" && want != have) return false;
  }
  return pattern.empty() && pointer.empty();
}

std::optional<action> policy_set::action_for(std::string_view pointer) const noexcept {
  for (const auto& e : entries_)
    if (matches(e.path, pointer)) return e.act;
  return std::nullopt;
}

bool policy_set::is_message_content(std::string_view pointer, std::string_view& message) noexcept {
  return is_message_member(pointer, "content", message);
}

bool policy_set::is_message_role(std::string_view pointer, std::string_view& message) noexcept {
  return is_message_member(pointer, "role", message);
}

} // namespace bulwark::pipeline
