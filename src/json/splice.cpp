#include "json/splice.hpp"

#include <array>
#include <cassert>
#include <cstdint>
#include <cstring>

namespace bulwark::json {

namespace {

constexpr bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// 1 for bytes that end a fast-path run in append_string: `"`, `\`, controls,
/// and 0xE2 (the lead byte of U+2028/U+2029, checked further when seen).
constexpr std::array<std::uint8_t, 256> special_bytes = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 0x20; ++c)
    t[static_cast<std::size_t>(c)] = 1;
  t['"'] = 1;
  t['\\'] = 1;
  t[0xE2] = 1;
  return t;
}();

/// True when the 8 bytes of `w` contain a special byte (see above). Each term
/// is the exact "has a zero byte" / "has a byte below n" SWAR test.
constexpr bool word_has_special(std::uint64_t w) noexcept {
  constexpr std::uint64_t ones = 0x0101010101010101ULL;
  constexpr std::uint64_t highs = 0x8080808080808080ULL;
  const std::uint64_t quote = w ^ (ones * '"');
  const std::uint64_t backslash = w ^ (ones * '\\');
  const std::uint64_t e2 = w ^ (ones * 0xE2);
  const std::uint64_t hits = ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                             ((backslash - ones) & ~backslash) | ((e2 - ones) & ~e2);
  return (hits & highs) != 0;
}

constexpr std::string_view hex_digits = "0123456789abcdef";

/// Escapes valid UTF-8 (no quotes added).
void escape_into(std::string& out, std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t run = 0; // start of the pending run of bytes copied verbatim
  for (std::size_t i = 0; i < n; ++i) {
    // Skip 8 plain bytes at a time; the byte loop handles the word with the hit.
    while (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, sizeof w);
      if (word_has_special(w)) break;
      i += 8;
    }
    if (i == n) break;
    const unsigned char c = p[i];
    if (special_bytes[c] == 0) continue;
    if (c == 0xE2) {
      // U+2028 / U+2029 are valid in JSON but break JavaScript string literals.
      if (i + 2 < n && p[i + 1] == 0x80 && (p[i + 2] == 0xA8 || p[i + 2] == 0xA9)) {
        out.append(s.data() + run, i - run);
        out.append(p[i + 2] == 0xA8 ? "\\u2028" : "\\u2029");
        i += 2;
        run = i + 1;
      }
      continue;
    }
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
    case '"':
      out.append("\\\"");
      break;
    case '\\':
      out.append("\\\\");
      break;
    case '\n':
      out.append("\\n");
      break;
    case '\t':
      out.append("\\t");
      break;
    case '\r':
      out.append("\\r");
      break;
    case '\b':
      out.append("\\b");
      break;
    case '\f':
      out.append("\\f");
      break;
    default: {
      const std::array<char, 6> esc{'\\', 'u', '0', '0', hex_digits[c >> 4], hex_digits[c & 0xF]};
      out.append(esc.data(), esc.size());
    }
    }
  }
  out.append(s.data() + run, n - run);
}

/// Length of the valid UTF-8 sequence at p[0..n) (n >= 1), or 0 when it is
/// invalid; then `bad` is the length of its maximal subpart (>= 1), the bytes
/// one U+FFFD replaces (Unicode §3.9, Table 3-7).
std::size_t utf8_sequence(const unsigned char* p, std::size_t n, std::size_t& bad) noexcept {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  std::size_t len = 0;
  unsigned char lo = 0x80;
  unsigned char hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0; // overlong
    if (c == 0xED) hi = 0x9F; // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90; // overlong
    if (c == 0xF4) hi = 0x8F; // > U+10FFFF
  } else {
    bad = 1; // continuation byte, C0/C1 (overlong) or F5..FF
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (k >= n || p[k] < lo || p[k] > hi) {
      bad = k;
      return 0;
    }
    lo = 0x80;
    hi = 0xBF;
  }
  return len;
}

/// Offset of the first invalid sequence, or s.size() when `s` is valid UTF-8.
std::size_t first_invalid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    // ASCII fast path, 8 bytes at a time.
    if (i + 8 <= n) {
      std::uint64_t w;
      std::memcpy(&w, p + i, sizeof w);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    std::size_t bad = 0;
    const std::size_t len = utf8_sequence(p + i, n - i, bad);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

constexpr std::string_view replacement_character = "\xEF\xBF\xBD";

} // namespace

void apply_edits(std::string_view input, std::span<const edit> edits, std::string& out) {
  std::size_t extra = 0;
  for (const edit& e : edits)
    extra += e.replacement.size();
  out.reserve(out.size() + input.size() + extra);
  const std::size_t out_start = out.size();

  std::size_t pos = 0; // input[0, pos) has been handled
  for (const edit& e : edits) {
    assert(e.begin >= pos && "edits must be sorted and must not overlap");
    assert(e.begin <= e.end && e.end <= input.size());
    out.append(input.substr(pos, e.begin - pos));
    pos = e.end;
    if (!e.remove_member) {
      out.append(e.replacement);
      continue;
    }
    assert(e.replacement.empty());
    // Prefer the comma after the member: `{"a":1, "b":2}` -> `{ "b":2}`.
    std::size_t after = e.end;
    while (after < input.size() && is_ws(input[after]))
      ++after;
    if (after < input.size() && input[after] == ',') {
      pos = after + 1;
      continue;
    }
    // Last member: drop the comma before it, which is already in `out` (it may
    // follow a replaced value, or a member removed just before).
    std::size_t back = out.size();
    while (back > out_start && is_ws(out[back - 1]))
      --back;
    if (back > out_start && out[back - 1] == ',') out.erase(back - 1, 1);
  }
  out.append(input.substr(pos));
}

void append_string(std::string& out, std::string_view utf8) {
  out.reserve(out.size() + utf8.size() + 2);
  out.push_back('"');
  escape_into(out, utf8);
  out.push_back('"');
}

namespace {

/// Calls copy(run) for each valid UTF-8 run of `bytes` and appends U+FFFD to
/// `out` for each maximal invalid subpart between them.
template <class Copy>
void repair_utf8(std::string& out, std::string_view bytes, std::size_t bad_at, Copy copy) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t i = 0;
  while (i < bytes.size()) {
    copy(bytes.substr(i, bad_at - i));
    i = bad_at;
    if (i == bytes.size()) break;
    std::size_t bad = 1;
    [[maybe_unused]] const std::size_t len = utf8_sequence(p + i, bytes.size() - i, bad);
    assert(len == 0);
    out.append(replacement_character);
    i += bad;
    bad_at = i + first_invalid_utf8(bytes.substr(i));
  }
}

} // namespace

void append_string_lossy(std::string& out, std::string_view bytes) {
  const std::size_t bad_at = first_invalid_utf8(bytes);
  if (bad_at == bytes.size()) {
    append_string(out, bytes);
    return;
  }
  out.reserve(out.size() + bytes.size() + 8);
  out.push_back('"');
  repair_utf8(out, bytes, bad_at, [&](std::string_view run) { escape_into(out, run); });
  out.push_back('"');
}

void append_utf8_lossy(std::string& out, std::string_view bytes) {
  repair_utf8(out, bytes, first_invalid_utf8(bytes),
              [&](std::string_view run) { out.append(run); });
}

bool is_valid_utf8(std::string_view bytes) noexcept {
  return first_invalid_utf8(bytes) == bytes.size();
}

/// Whitespace after the closing brace is dropped (the caller ends the line);
/// whitespace before the object and inside it is kept.
void append_with_member(std::string& out, std::string_view object, std::string_view key,
                        std::string_view raw_value) {
  std::size_t close = object.size();
  while (close > 0 && is_ws(object[close - 1]))
    --close;
  assert(close > 0 && object[close - 1] == '}');
  --close; // index of the final '}'
  std::size_t last = close;
  while (last > 0 && is_ws(object[last - 1]))
    --last;
  assert(last > 0);
  const bool empty = object[last - 1] == '{';

  out.reserve(out.size() + object.size() + key.size() + raw_value.size() + 8);
  out.append(object.substr(0, close));
  if (!empty) out.push_back(',');
  append_string(out, key);
  out.push_back(':');
  out.append(raw_value);
  out.push_back('}');
}

} // namespace bulwark::json
