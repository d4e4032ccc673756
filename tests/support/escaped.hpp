#pragma once
// Test helper: bytes shown printably in failure messages.
#include <string>
#include <string_view>

namespace bulwark::testing {

/// Control bytes, non-ASCII bytes and backslashes as \xNN; the rest as is.
inline std::string escaped(std::string_view s) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '\\') {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace bulwark::testing
