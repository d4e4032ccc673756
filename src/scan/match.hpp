#pragma once
#include <cstdint>

namespace bulwark::scan {

/// A confirmed match: rule index and the span in the original text.
struct match {
  std::uint32_t rule;
  std::uint32_t begin;
  std::uint32_t end;
};

} // namespace bulwark::scan
