/// walker: simdjson On-Demand underneath, validation on top.
///
/// On-Demand is lazy and lenient in a few places, so this file adds what a
/// strict validator needs (each point is a test in walk_test.cpp):
///  1. Every value is walked and checked (with or without a visitor), so the
///     whole document is validated, not only the parts a caller asks for; after
///     the root object the iterator must be at the end (else trailing_content).
///  2. Scalars are checked from their raw token: numbers against the RFC 8259
///     grammar (simdjson is never asked to convert them, so 1e400 or a
///     100-digit integer passes through), literals exactly.
///  3. simdjson 3.0.1 does not reject raw control bytes inside strings. One
///     pass over the line tells whether any byte < 0x20 exists at all; only then
///     are the raw bytes of each string and key checked (control_character).
///  4. The parser's depth limit is not enforced by On-Demand in 3.0.1, so the
///     recursion checks max_depth itself before it descends: the stack holds at
///     most max_depth frames (the configuration caps max_depth at 1024).
///  5. A root object followed by garbage that does not end in `}` makes
///     simdjson fail up front ("missing } at end"); a slow path re-validates the
///     balanced prefix to report trailing_content instead of not_json.
///  6. Offsets are pointer differences against the parsed buffer; the copy (when
///     the caller cannot promise padding) starts at offset 0, so they index the
///     caller's line either way.
#include "json/walk.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <simdjson.h>
#include <string>
#include <vector>

namespace bulwark::json {

namespace od = simdjson::ondemand;

std::string_view to_string(error e) noexcept {
  switch (e) {
  case error::none:
    return "none";
  case error::empty:
    return "empty";
  case error::too_large:
    return "too_large";
  case error::invalid_utf8:
    return "invalid_utf8";
  case error::not_json:
    return "not_json";
  case error::not_object:
    return "not_object";
  case error::too_deep:
    return "too_deep";
  case error::control_character:
    return "control_character";
  case error::trailing_content:
    return "trailing_content";
  }
  return "unknown";
}

namespace {

constexpr std::size_t npos = static_cast<std::size_t>(-1);

constexpr bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

std::string_view rtrim(std::string_view s) noexcept {
  while (!s.empty() && is_ws(s.back()))
    s.remove_suffix(1);
  return s;
}

/// True when any byte in [p, p + n) is below 0x20. SWAR: a word w has such a
/// byte iff (w - 0x20..20) & ~w & 0x80..80 is non-zero (exact as a boolean).
bool has_control_byte(const char* p, std::size_t n) noexcept {
  constexpr std::uint64_t lows = 0x2020202020202020ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    std::array<std::uint64_t, 4> w{};
    std::memcpy(w.data(), p + i, sizeof w);
    const std::uint64_t acc = ((w[0] - lows) & ~w[0]) | ((w[1] - lows) & ~w[1]) |
                              ((w[2] - lows) & ~w[2]) | ((w[3] - lows) & ~w[3]);
    if ((acc & highs) != 0) return true;
  }
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    if (((w - lows) & ~w & highs) != 0) return true;
  }
  for (; i < n; ++i) {
    if (static_cast<unsigned char>(p[i]) < 0x20) return true;
  }
  return false;
}

/// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i == n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (s[i] >= '1' && s[i] <= '9') {
    while (i < n && is_digit(s[i]))
      ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    const std::size_t start = ++i;
    while (i < n && is_digit(s[i]))
      ++i;
    if (i == start) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    const std::size_t start = i;
    while (i < n && is_digit(s[i]))
      ++i;
    if (i == start) return false;
  }
  return i == n;
}

bool is_json_scalar_token(std::string_view tok) noexcept {
  if (tok.empty()) return false;
  switch (tok.front()) {
  case 't':
    return tok == "true";
  case 'f':
    return tok == "false";
  case 'n':
    return tok == "null";
  default:
    return is_json_number(tok);
  }
}

/// End of the string starting with the quote at `begin`, or npos.
std::size_t string_end(std::string_view s, std::size_t begin) noexcept {
  std::size_t i = begin + 1;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') return i + 1;
    i += (c == '\\') ? 2 : 1;
  }
  return npos;
}

/// End of the value at `begin` by bracket counting (strings skipped, bracket
/// kinds not matched), or npos when the text ends first. Iterative, so any
/// nesting depth is safe.
std::size_t scan_value_end(std::string_view s, std::size_t begin) noexcept {
  if (begin >= s.size()) return npos;
  const char first = s[begin];
  if (first == '"') return string_end(s, begin);
  if (first != '{' && first != '[') {
    std::size_t i = begin;
    while (i < s.size() && !is_ws(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']')
      ++i;
    return i;
  }
  std::size_t depth = 0;
  std::size_t i = begin;
  while (i < s.size()) {
    const char c = s[i];
    if (c == '"') {
      i = string_end(s, i);
      if (i == npos) return npos;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return i + 1;
    }
    ++i;
  }
  return npos;
}

error from_simdjson(simdjson::error_code e) noexcept {
  switch (e) {
  case simdjson::SUCCESS:
    return error::none;
  case simdjson::UTF8_ERROR:
    return error::invalid_utf8;
  case simdjson::DEPTH_ERROR:
    return error::too_deep;
  case simdjson::UNESCAPED_CHARS:
    return error::control_character;
  default:
    return error::not_json;
  }
}

void append_pointer_segment(std::string& ptr, std::string_view key) {
  ptr.push_back('/');
  bool plain = true;
  for (const char c : key)
    plain &= (c != '~') & (c != '/');
  if (plain) {
    ptr.append(key);
    return;
  }
  for (const char c : key) {
    if (c == '~') {
      ptr.append("~0");
    } else if (c == '/') {
      ptr.append("~1");
    } else {
      ptr.push_back(c);
    }
  }
}

void append_index_segment(std::string& ptr, std::size_t index) {
  std::array<char, 24> digits{};
  const auto res = std::to_chars(digits.data(), digits.data() + digits.size(), index);
  ptr.push_back('/');
  ptr.append(digits.data(), res.ptr);
}

} // namespace

struct walker::impl {
  explicit impl(limits l) : lim(l) {
    // Headroom over our own limit: the recursion below stops at max_depth, and
    // simdjson's development checks index an array by depth in debug builds.
    // (The configuration caps max_depth at 1024; the clamp only guards the sum.)
    parser_depth = std::min<std::size_t>(lim.max_depth, std::size_t{1} << 20) + 4;
    parser_capacity = std::min<std::size_t>(lim.max_event_bytes, std::size_t{64} << 10);
    if (parser.allocate(parser_capacity, parser_depth) != simdjson::SUCCESS) parser_capacity = 0;
    ptr.reserve(256);
  }

  limits lim;
  od::parser parser;
  std::size_t parser_capacity = 0;
  std::size_t parser_depth = 0;
  std::vector<char> copy; ///< padded copy of lines the caller cannot pad
  std::size_t copy_capacity = 0;
  std::string ptr; ///< current JSON pointer, grown and truncated as the walk moves

  // Per-walk state.
  const char* base = nullptr; ///< start of the parsed buffer: offsets are relative to it
  visitor* vis = nullptr;     ///< null when only validating (or after the visitor stopped)
  bool check_ctl = false;     ///< the line has a byte < 0x20 somewhere

  bool reserve_parser(std::size_t len) {
    if (len <= parser_capacity) return true;
    const std::size_t grown = std::max(len, std::min(parser_capacity * 2, lim.max_event_bytes));
    if (parser.allocate(grown, parser_depth) != simdjson::SUCCESS) {
      parser_capacity = 0;
      return false;
    }
    parser_capacity = grown;
    return true;
  }

  char* reserve_copy(std::size_t len) {
    const std::size_t need = len + simdjson::SIMDJSON_PADDING;
    if (need > copy_capacity) {
      const std::size_t grown = std::max(
          need, std::min(copy_capacity * 2, lim.max_event_bytes + simdjson::SIMDJSON_PADDING));
      copy.resize(grown);
      copy_capacity = grown;
    }
    return copy.data();
  }

  void emit(value_kind kind, std::string_view text, std::size_t begin, std::size_t end,
            std::size_t member_begin, std::uint32_t depth, bool in_object) {
    if (vis == nullptr) return;
    const value_ref ref{ptr, kind, text, begin, end, member_begin, depth, in_object};
    if (!vis->on_value(ref)) vis = nullptr; // stop visiting, keep validating
  }

  std::size_t offset(const char* p) const noexcept { return static_cast<std::size_t>(p - base); }

  /// Visits `val` (depth `depth`, i.e. nesting depth + 1 if it is a container)
  /// and everything below it.
  error visit(od::value& val, std::uint32_t depth, std::size_t member_begin, bool in_object) {
    const std::string_view raw = val.raw_json_token();
    if (raw.empty()) return error::not_json;
    const std::size_t begin = offset(raw.data());
    if (member_begin == npos) member_begin = begin;
    switch (raw.front()) {
    case '{': {
      if (std::size_t{depth} + 1 > lim.max_depth) return error::too_deep;
      od::object obj;
      if (const auto e = val.get_object().get(obj)) return from_simdjson(e);
      emit(value_kind::object, {}, begin, begin, member_begin, depth, in_object);
      return walk_object(obj, depth + 1);
    }
    case '[': {
      if (std::size_t{depth} + 1 > lim.max_depth) return error::too_deep;
      od::array arr;
      if (const auto e = val.get_array().get(arr)) return from_simdjson(e);
      emit(value_kind::array, {}, begin, begin, member_begin, depth, in_object);
      return walk_array(arr, depth + 1);
    }
    case '"': {
      // The token runs to the next structural character: trailing whitespace
      // is included, the closing quote is the last other byte.
      const std::string_view tok = rtrim(raw);
      if (tok.size() < 2 || tok.back() != '"') return error::not_json;
      if (check_ctl && has_control_byte(tok.data() + 1, tok.size() - 2)) {
        return error::control_character;
      }
      std::string_view text;
      if (const auto e = val.get_string().get(text)) return from_simdjson(e);
      emit(value_kind::string, text, begin, begin + tok.size(), member_begin, depth, in_object);
      return error::none;
    }
    default: {
      // Not consumed through simdjson: the parent's iterator skips the token.
      const std::string_view tok = rtrim(raw);
      if (!is_json_scalar_token(tok)) return error::not_json;
      const value_kind kind = raw.front() == 't' || raw.front() == 'f' ? value_kind::boolean
                              : raw.front() == 'n'                     ? value_kind::null
                                                                       : value_kind::number;
      emit(kind, {}, begin, begin + tok.size(), member_begin, depth, in_object);
      return error::none;
    }
    }
  }

  error walk_object(od::object& obj, std::uint32_t depth) {
    const std::size_t saved = ptr.size();
    for (auto result : obj) {
      if (const auto e = result.error()) return from_simdjson(e);
      od::field& field = result.value_unsafe();
      const char* key_raw = field.key().raw(); // first byte after the opening quote
      od::value& val = field.value();
      // Between the key's closing quote and the value only whitespace and the
      // colon can occur (anything else is a token simdjson rejected), so the
      // closing quote is found by stepping back from the value.
      const char* q = val.raw_json_token().data() - 1;
      while (q > key_raw && *q != ':')
        --q;
      --q;
      while (q > key_raw && is_ws(*q))
        --q;
      std::string_view key{key_raw, static_cast<std::size_t>(q - key_raw)};
      if (check_ctl && has_control_byte(key.data(), key.size())) return error::control_character;
      // Most keys have no escapes: then the raw bytes are the key.
      bool escaped = false;
      for (const char c : key)
        escaped |= (c == '\\');
      if (escaped) {
        if (const auto e = field.unescaped_key().get(key)) return from_simdjson(e);
      }
      if (vis != nullptr) {
        ptr.resize(saved);
        append_pointer_segment(ptr, key);
      }
      if (const error e = visit(val, depth, offset(key_raw - 1), true); e != error::none) return e;
    }
    ptr.resize(saved);
    return error::none;
  }

  error walk_array(od::array& arr, std::uint32_t depth) {
    const std::size_t saved = ptr.size();
    std::size_t index = 0;
    for (auto result : arr) {
      if (const auto e = result.error()) return from_simdjson(e);
      od::value& val = result.value_unsafe();
      if (vis != nullptr) {
        ptr.resize(saved);
        append_index_segment(ptr, index);
      }
      if (const error e = visit(val, depth, npos, false); e != error::none) return e;
      ++index;
    }
    ptr.resize(saved);
    return error::none;
  }

  /// Parses base[0, len) (readable up to len + SIMDJSON_PADDING); `first` is
  /// the offset of the first non-whitespace byte.
  error run(std::size_t len, std::size_t first) {
    if (!reserve_parser(len)) return error::too_large; // out of memory for a line this long
    const char c = base[first];
    od::document doc;
    if (const auto e = parser.iterate(base, len, len + simdjson::SIMDJSON_PADDING).get(doc)) {
      // A root array is not an object whatever is wrong inside it (walk()
      // still ranks invalid UTF-8 first).
      return c == '[' && e != simdjson::UTF8_ERROR ? error::not_object : from_simdjson(e);
    }
    if (c == '[') return error::not_object;
    if (c != '{') return scalar_root(doc, len);

    if (lim.max_depth < 1) return error::too_deep;
    od::object obj;
    if (const auto e = doc.get_object().get(obj)) return root_object_failed(e, len, first);
    emit(value_kind::object, {}, first, first, first, 0, false);
    if (const error e = walk_object(obj, 1); e != error::none) return e;
    // Still alive and not at the end: another token follows the root object.
    if (!doc.current_location().error()) return error::trailing_content;
    return error::none;
  }

  /// A root that is a valid scalar is not_object; anything else is not_json.
  error scalar_root(od::document& doc, std::size_t len) {
    std::string_view raw;
    if (doc.raw_json_token().get(raw)) return error::not_json;
    const std::string_view tok = rtrim(raw);
    // One token only: it must reach the last non-whitespace byte of the line.
    if (tok.empty() || tok.data() + tok.size() != rtrim({base, len}).end()) return error::not_json;
    if (tok.front() == '"') {
      if (tok.size() < 2 || tok.back() != '"') return error::not_json;
      if (check_ctl && has_control_byte(tok.data() + 1, tok.size() - 2)) return error::not_json;
      std::string_view text;
      if (doc.get_string().get(text)) return error::not_json;
      return error::not_object;
    }
    return is_json_scalar_token(tok) ? error::not_object : error::not_json;
  }

  /// simdjson refuses a root object whose last token is not `}`. If a balanced
  /// object is followed by other bytes, validate it alone: then the error is
  /// trailing_content (or whatever is wrong inside the object).
  error root_object_failed(simdjson::error_code e, std::size_t len, std::size_t first) {
    const std::string_view text{base, len};
    const std::size_t end = scan_value_end(text, first);
    if (end == npos || rtrim(text.substr(end)).empty()) return from_simdjson(e);
    visitor* const saved = vis;
    vis = nullptr;
    const error prefix = run(end, first);
    vis = saved;
    return prefix == error::none ? error::trailing_content : prefix;
  }
};

walker::walker(limits lim) : impl_(std::make_unique<impl>(lim)) {}
walker::~walker() = default;
walker::walker(walker&&) noexcept = default;
walker& walker::operator=(walker&&) noexcept = default;

std::size_t walker::required_padding() noexcept {
  return simdjson::SIMDJSON_PADDING;
}

const limits& walker::get_limits() const noexcept {
  return impl_->lim;
}

/// Early stop: when the visitor returns false, no further values are visited
/// but the rest of the line is still validated, so the result is the same as
/// for a full walk. On error the visitor may have seen a prefix of the values.
error walker::walk(std::string_view line, std::size_t readable_after, visitor* v) {
  impl& s = *impl_;
  std::size_t first = 0;
  while (first < line.size() && is_ws(line[first]))
    ++first;
  if (first == line.size()) return error::empty;
  if (line.size() > s.lim.max_event_bytes) return error::too_large;

  if (readable_after >= simdjson::SIMDJSON_PADDING) {
    s.base = line.data();
  } else {
    char* buf = s.reserve_copy(line.size());
    std::memcpy(buf, line.data(), line.size());
    std::memset(buf + line.size(), 0, simdjson::SIMDJSON_PADDING);
    s.base = buf;
  }
  s.vis = v;
  s.ptr.clear();
  s.check_ctl = has_control_byte(line.data(), line.size());

  error e = s.run(line.size(), first);
  // Stage 1 may report another error (an unclosed string) before it finishes
  // UTF-8 validation, and the checks above stop at the first problem: invalid
  // UTF-8 outranks them all.
  if (e != error::none && e != error::invalid_utf8 && !simdjson::validate_utf8(line)) {
    e = error::invalid_utf8;
  }
  s.vis = nullptr;
  s.base = nullptr;
  return e;
}

std::size_t value_end(std::string_view line, std::size_t begin) noexcept {
  const std::size_t end = scan_value_end(line, begin);
  return end == npos ? line.size() : end;
}

} // namespace bulwark::json
