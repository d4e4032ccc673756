#include "core/alert_request.hpp"

#include <array>
#include <utility>

namespace bulwark {

namespace {

constexpr std::array<std::pair<std::string_view, severity>, 18> table{{
    {"integrity.tamper", severity::critical},
    {"integrity.replay", severity::critical},
    {"poisoning", severity::critical},
    {"rollback_guard", severity::critical},
    {"secret", severity::high},
    {"prompt_leak", severity::high},
    {"integrity.gap", severity::high},
    {"integrity.unsigned", severity::high},
    {"integrity.silence", severity::high},
    {"integrity.reset", severity::high},
    {"flood", severity::high},
    {"injection", severity::medium},
    {"pii", severity::medium},
    {"drift", severity::medium},
    {"integrity.skew", severity::medium},
    {"capacity", severity::medium},
    {"config", severity::medium},
    {"dlq", severity::low},
}};

constexpr std::array<std::string_view, table.size()> names = [] {
  std::array<std::string_view, table.size()> out{};
  for (std::size_t i = 0; i < table.size(); ++i)
    out[i] = table[i].first;
  return out;
}();

} // namespace

std::span<const std::string_view> alert_kinds() noexcept {
  return names;
}

severity default_severity(std::string_view kind) noexcept {
  for (const auto& [name, level] : table)
    if (name == kind) return level;
  return severity::medium;
}

} // namespace bulwark
