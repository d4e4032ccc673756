#include "integrity/status.hpp"

namespace bulwark::integrity {

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Classic two-pointer wildcard match: on a mismatch, retry from the last `*`
  // with one more byte absorbed by it.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

bool any_glob_match(const std::vector<std::string>& patterns, std::string_view text) noexcept {
  for (const auto& p : patterns)
    if (glob_match(p, text)) return true;
  return false;
}

std::string_view clip_identifier(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text;
  std::size_t n = max_bytes;
  // Step back over continuation bytes (10xxxxxx) so a multi-byte character is
  // either whole or gone.
  while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0U) == 0x80U)
    --n;
  return text.substr(0, n);
}

} // namespace bulwark::integrity
