#pragma once
// Shared by the processor targets: the canary secrets a harness plants, and a
// small recorder of the string values of a line.
#include "check.hpp"

#include "json/walk.hpp"
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::fuzz {

/// Canaries the built-in packs must catch wherever they stand between spaces:
/// an AWS access key id (not one of the documented examples the rule allows)
/// and a Luhn-valid card number, grouped and plain.
inline constexpr std::array<std::string_view, 3> canaries{
    "AKIAZ3MSJV4WWNKWW5FG", "4539 5787 6362 1486", "4111111111111111"};

/// The string values of an accepted line, in document order.
class string_values final : public json::visitor {
public:
  struct value {
    std::size_t begin, end;
    std::string text;
  };
  bool on_value(const json::value_ref& v) override {
    if (v.kind == json::value_kind::string) values.push_back({v.begin, v.end, std::string(v.text)});
    return true;
  }
  std::vector<value> values;
};

/// The largest UTF-8 character boundary of `text` not after `at`.
inline std::size_t char_boundary(std::string_view text, std::size_t at) {
  if (at > text.size()) at = text.size();
  while (at > 0 && at < text.size() && (static_cast<unsigned char>(text[at]) & 0xC0) == 0x80)
    --at;
  return at;
}

/// `text` with ` canary ` inserted at a character boundary near `at`.
inline std::string plant(std::string_view text, std::size_t at, std::string_view canary) {
  const std::size_t cut = char_boundary(text, at);
  std::string planted(text.substr(0, cut));
  planted += ' ';
  planted += canary;
  planted += ' ';
  planted += text.substr(cut);
  return planted;
}

/// The canary appears in `s` as written (JSON escaping leaves its characters alone).
inline bool contains(std::string_view s, std::string_view canary) {
  return s.find(canary) != std::string_view::npos;
}

} // namespace bulwark::fuzz
