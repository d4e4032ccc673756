#pragma once
// Ref ids as the drift hand-over tests and the drift_key fuzz target pass
// them between monitors (monitor::export_key / import_key): "ev-<id>", and
// back to the same id, so that alerts' ref_id compare across monitors. Ids of
// more than 17 digits, or anything else, are texts the receiver cannot map.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::test {

inline std::string ref_text(std::uint64_t id) {
  return "ev-" + std::to_string(id);
}

inline std::optional<std::uint64_t> ref_id(std::string_view text) {
  if (text.size() < 4 || text.size() > 20 || text.substr(0, 3) != "ev-") return std::nullopt;
  std::uint64_t id = 0;
  for (const char c : text.substr(3)) {
    if (c < '0' || c > '9') return std::nullopt;
    id = id * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return id;
}

} // namespace bulwark::test
