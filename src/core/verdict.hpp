#pragma once
/// Verdicts, finding categories and actions: the vocabulary of SPEC §3.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bulwark {

/// What happened to one input record. Exactly one per record.
enum class verdict : std::uint8_t { clean, redacted, flagged, quarantined, rejected };

/// What kind of sensitive or hostile content a finding is.
enum class category : std::uint8_t { secret, pii, prompt_leak, injection };

/// How urgent a finding or an alert is (SPEC §6).
enum class severity : std::uint8_t { low, medium, high, critical };

/// What was done to a matched span.
enum class action : std::uint8_t { tag, hash, mask, drop, defuse };

constexpr std::string_view to_string(verdict v) noexcept {
  switch (v) {
  case verdict::clean:
    return "clean";
  case verdict::redacted:
    return "redacted";
  case verdict::flagged:
    return "flagged";
  case verdict::quarantined:
    return "quarantined";
  case verdict::rejected:
    return "rejected";
  }
  return "unknown";
}

constexpr std::string_view to_string(category c) noexcept {
  switch (c) {
  case category::secret:
    return "secret";
  case category::pii:
    return "pii";
  case category::prompt_leak:
    return "prompt_leak";
  case category::injection:
    return "injection";
  }
  return "unknown";
}

constexpr std::string_view to_string(severity s) noexcept {
  switch (s) {
  case severity::low:
    return "low";
  case severity::medium:
    return "medium";
  case severity::high:
    return "high";
  case severity::critical:
    return "critical";
  }
  return "unknown";
}

constexpr std::string_view to_string(action a) noexcept {
  switch (a) {
  case action::tag:
    return "tag";
  case action::hash:
    return "hash";
  case action::mask:
    return "mask";
  case action::drop:
    return "drop";
  case action::defuse:
    return "defuse";
  }
  return "unknown";
}

inline constexpr std::array<action, 5> all_actions{action::tag, action::hash, action::mask,
                                                   action::drop, action::defuse};

/// The action named `name` (as to_string spells it), if any.
constexpr std::optional<action> action_from_string(std::string_view name) noexcept {
  for (const action a : all_actions)
    if (to_string(a) == name) return a;
  return std::nullopt;
}

} // namespace bulwark
