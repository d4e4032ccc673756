#pragma once
/// Splice replacement values into the raw bytes of an event, leaving every
/// other byte untouched, and append the `_bulwark` annotation member.
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::json {

/// Replace line[begin, end) with `replacement`, which is raw JSON text (for a
/// string: quotes included, already escaped; see append_string). An empty
/// replacement with `remove_member` set removes an object member and one
/// adjacent comma so the result stays valid JSON: [begin, end) is the member
/// (key's opening quote to the end of its value); the comma after it is
/// removed with the whitespace before that comma, or, for the last member, the
/// comma before it (possibly already in the output after earlier edits).
struct edit {
  std::size_t begin;
  std::size_t end;
  std::string_view replacement;
  bool remove_member = false;
};

/// Appends `input` with the edits applied to `out`. Edits must be sorted by
/// `begin` and must not overlap (asserted).
void apply_edits(std::string_view input, std::span<const edit> edits, std::string& out);

/// Appends `utf8` as a JSON string literal (with quotes): `"` `\` and control
/// characters are escaped (\n \t \r \b \f, others as \u00XX); U+2028/U+2029 as
/// \u2028/\u2029; all other UTF-8 is copied as is. The input must be valid UTF-8.
void append_string(std::string& out, std::string_view utf8);

/// Like append_string, for bytes that may not be valid UTF-8: every invalid
/// sequence becomes U+FFFD (the "maximal subpart" rule of Unicode §3.9).
void append_string_lossy(std::string& out, std::string_view bytes);

/// Appends `bytes` with every invalid UTF-8 sequence replaced by U+FFFD (no
/// quoting, no escaping): raw bytes made safe for UTF-8 text processing.
void append_utf8_lossy(std::string& out, std::string_view bytes);

/// True when `bytes` is valid UTF-8.
bool is_valid_utf8(std::string_view bytes) noexcept;

/// Appends `object` (the raw text of a JSON object accepted by walker::walk,
/// possibly with surrounding whitespace) to `out` with one more member
/// `"key": raw_value` inserted as the last member, before the closing brace.
/// The key is escaped with append_string; no comma is added to an empty object.
/// Whitespace before the closing brace is kept, whitespace after it dropped.
void append_with_member(std::string& out, std::string_view object, std::string_view key,
                        std::string_view raw_value);

} // namespace bulwark::json
