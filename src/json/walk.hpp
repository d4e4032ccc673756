#pragma once
/// Parse one NDJSON line with simdjson On-Demand and visit every value with its
/// JSON pointer and raw byte span. The walker validates the whole document (it
/// visits every value), so a successful walk means the line is one valid JSON
/// object within the configured limits.
///
/// Invariants:
///  1. Offsets (`begin`, `end`, `member_begin`) index the caller's `line`, never a copy.
///  2. String values reach the visitor unescaped (`\u003cscript` arrives as `<script`).
///  3. No heap allocation per record once the walker has warmed up (parser,
///     padded copy buffer, pointer and text buffers are reused).
///  4. simdjson does not leak out of this module: it is linked PRIVATE.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

namespace bulwark::json {

/// Why a line is not an acceptable event. `to_string` gives the machine-readable
/// reason used in placeholders and DLQ records.
enum class error : std::uint8_t {
  none,
  empty,             ///< the line is empty (or only whitespace)
  too_large,         ///< longer than limits.max_event_bytes
  invalid_utf8,      ///< not valid UTF-8
  not_json,          ///< not valid JSON (truncated, bad token, ...)
  not_object,        ///< valid JSON, but the root is not an object
  too_deep,          ///< nesting deeper than limits.max_depth
  control_character, ///< a raw control byte (< 0x20) inside a string: invalid JSON
  trailing_content,  ///< something after the root object
};

std::string_view to_string(error e) noexcept;

enum class value_kind : std::uint8_t { string, number, boolean, null, object, array };

/// One value as the visitor sees it. Views are valid only during the callback.
struct value_ref {
  std::string_view pointer; ///< RFC 6901 pointer, e.g. "/input/messages/0/content"; "" is the root
  value_kind kind;
  std::string_view text;    ///< strings: the unescaped UTF-8 text; other kinds: empty
  std::size_t begin;        ///< offset of the raw value in the line (a string's opening quote)
  std::size_t end;          ///< one past the raw value for scalars; for containers equal to begin
                            ///< (call value_end to find their end)
  std::size_t member_begin; ///< object member: offset of the key's opening quote; else == begin
  std::uint32_t depth;      ///< 1 for members of the root object
  bool in_object;           ///< true when the value is an object member (has a key)
};

/// Receives the values of one document in document order. Containers are
/// reported before their children.
class visitor {
public:
  virtual ~visitor() = default;
  /// Return false to stop the walk early (walk() then still reports success
  /// only if everything visited so far was valid; see walker::walk).
  virtual bool on_value(const value_ref& v) = 0;
};

struct limits {
  std::size_t max_event_bytes = 1U << 20;
  std::size_t max_depth = 64;
};

/// Reusable per-thread parser. Not thread-safe; one per worker.
class walker {
public:
  explicit walker(limits lim);
  ~walker();
  walker(walker&&) noexcept;
  walker& operator=(walker&&) noexcept;
  walker(const walker&) = delete;
  walker& operator=(const walker&) = delete;

  /// Validates `line` as one JSON object and visits every value.
  /// `readable_after` is how many bytes after `line.end()` may be read (not
  /// written); with at least `required_padding()` the line is parsed in place,
  /// otherwise it is copied into an internal padded buffer.
  /// A visitor may be null: then the line is only validated.
  ///
  /// Errors rank: empty, too_large, invalid_utf8, then the first problem met
  /// in document order. A root array is not_object whatever it contains; a
  /// root scalar is not_object when it is a valid JSON scalar, else not_json.
  /// When the visitor returns false no further values are visited, but the
  /// rest of the line is still validated, so the result is the same as with
  /// no visitor. On error the visitor may already have seen some values.
  error walk(std::string_view line, std::size_t readable_after, visitor* v);

  /// Bytes simdjson needs readable after the input to parse in place.
  static std::size_t required_padding() noexcept;

  const limits& get_limits() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One past the end of the JSON value (scalar or container) starting at `begin`
/// in a line that walk() accepted (line.size() if the value does not end).
std::size_t value_end(std::string_view line, std::size_t begin) noexcept;

} // namespace bulwark::json
