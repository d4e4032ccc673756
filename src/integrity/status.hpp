#pragma once
/// The `_bulwark.integrity` vocabulary of SPEC §3 and small helpers shared by
/// the integrity stages.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::integrity {

/// What the integrity check concluded about one event (SPEC §3 names).
enum class integrity_status : std::uint8_t {
  verified,    ///< a configured key's MAC matched and the sequence number is fresh
  not_signed,  ///< no signature at all (spelled "unsigned")
  invalid,     ///< a signature that is malformed, misplaced or does not match
  replay,      ///< verified, but its sequence number was already seen or is too old
  unknown_key, ///< the key id is not configured, or not valid at the event's time
};

/// The SPEC §3 spelling: verified | unsigned | invalid | replay | unknown_key.
constexpr std::string_view to_string(integrity_status s) noexcept {
  switch (s) {
  case integrity_status::verified:
    return "verified";
  case integrity_status::not_signed:
    return "unsigned";
  case integrity_status::invalid:
    return "invalid";
  case integrity_status::replay:
    return "replay";
  case integrity_status::unknown_key:
    return "unknown_key";
  }
  return "invalid";
}

/// Hash for string-keyed unordered maps that may be searched with a
/// std::string_view (no temporary string per lookup).
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// True when `text` matches `pattern`, where `*` matches any run of bytes
/// (also none) and every other byte matches itself. Linear in practice; the
/// worst case is O(|pattern| * |text|), no recursion.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

/// True when any of `patterns` matches `text`.
bool any_glob_match(const std::vector<std::string>& patterns, std::string_view text) noexcept;

/// `text` cut to at most `max_bytes` bytes, never inside a UTF-8 sequence, so
/// that identifiers copied into alerts stay bounded.
std::string_view clip_identifier(std::string_view text, std::size_t max_bytes = 128) noexcept;

} // namespace bulwark::integrity
