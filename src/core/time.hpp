#pragma once
/// Time as the domain modules see it: milliseconds since the Unix epoch, passed
/// in explicitly (event time in `scan`, the wall clock in `run`), so that every
/// detector is a pure function of its inputs and tests drive it with any clock.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark {

/// Milliseconds since 1970-01-01T00:00:00Z (UTC).
using timestamp_ms = std::int64_t;

/// Parses an RFC 3339 date-time (`2026-11-27T10:15:00Z`, `…T10:15:00.123+02:00`,
/// `t`/`z` and a space separator accepted). Fractions beyond milliseconds are
/// truncated. Nothing when the text is not a valid RFC 3339 date-time.
std::optional<timestamp_ms> parse_rfc3339(std::string_view text) noexcept;

/// `2026-11-27T10:15:00.123Z` (always UTC, always milliseconds).
std::string format_rfc3339(timestamp_ms t);

/// The current wall-clock time.
timestamp_ms wall_clock_now() noexcept;

} // namespace bulwark
