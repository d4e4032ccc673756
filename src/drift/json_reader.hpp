#pragma once
/// A small JSON reader for the files and messages this module writes itself
/// (reference files, pane exchange). Not for events: those reach the module
/// as extracted values. Numbers keep their text so that 64-bit counters and
/// doubles round-trip exactly.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::drift::json {

/// One parsed JSON value.
struct value {
  enum class kind : std::uint8_t { null, boolean, number, string, array, object };
  kind type = kind::null;
  bool flag = false;
  std::string text; ///< a string's decoded text, or a number's literal
  std::vector<value> items;
  std::vector<std::pair<std::string, value>> members;

  // Declared here, defined where `value` is complete: std::pair<…, value>
  // inside `value` needs that with clang and libstdc++ 12.
  value();
  ~value();
  value(const value&);
  value(value&&) noexcept;
  value& operator=(const value&);
  value& operator=(value&&) noexcept;

  /// The member named `name` of an object (the first, if repeated).
  const value* find(std::string_view name) const noexcept;
  /// The number as a double (nothing if not a number or not finite).
  std::optional<double> as_double() const noexcept;
  /// The number as an unsigned integer (nothing if it is not one).
  std::optional<std::uint64_t> as_u64() const noexcept;
  /// The number as a signed integer (nothing if it is not one).
  std::optional<std::int64_t> as_i64() const noexcept;
  /// Type tests.
  bool is_string() const noexcept { return type == kind::string; }
  bool is_array() const noexcept { return type == kind::array; }
  bool is_object() const noexcept { return type == kind::object; }
  bool is_null() const noexcept { return type == kind::null; }
};

/// Parses one JSON document (nested at most `max_depth` deep); on failure the
/// error names the byte offset.
std::variant<value, std::string> parse(std::string_view text, std::size_t max_depth = 16);

} // namespace bulwark::drift::json
