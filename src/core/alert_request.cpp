#include "core/alert_request.hpp"

#include <array>
#include <utility>

namespace bulwark {

severity default_severity(std::string_view kind) noexcept {
  static constexpr std::array<std::pair<std::string_view, severity>, 18> table{{
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
  for (const auto& [name, level] : table)
    if (name == kind) return level;
  return severity::medium;
}

} // namespace bulwark
