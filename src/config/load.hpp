#pragma once
/// YAML -> options, with validation. Errors name the file, the line, the key
/// and the reason: `bulwark.yaml:7: kafka.embedded_partitions: must be between 1 and 1000`.
#include "config/options.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace bulwark::config {

/// Why a configuration was refused. Never carries key material: the loader
/// does not echo hex key values, property values or long hex-looking strings.
struct load_error {
  std::string file;
  int line = 0;    ///< 1-based; 0 when the error is not tied to a line
  std::string key; ///< dotted path, e.g. "kafka.inputs[2]"; empty for file-level errors
  std::string reason;
  /// "file:line: key: reason" (parts that are unknown are left out).
  std::string message() const;
};

/// Either the options or the first error found.
using load_result = std::variant<options, load_error>;

/// Loads and validates a configuration file. An empty file yields the defaults.
load_result load_file(const std::string& path);

/// Same, from text; `name` stands in for the file name in errors.
load_result load_string(std::string_view yaml, std::string_view name = "<string>");

/// Parses a duration: an integer followed by ms, s, m, h or d ("90s", "5m",
/// "1h", "1d"). A bare integer is an error (the unit must be explicit).
std::optional<duration> parse_duration(std::string_view text);

/// Parses a byte count: an integer, optionally followed by B, KiB, MiB or GiB
/// ("1048576", "512KiB", "1MiB"). Decimal units (KB, MB) are rejected because
/// operators read them both ways.
std::optional<std::uint64_t> parse_byte_size(std::string_view text);

} // namespace bulwark::config
