#include "scan/defuse.hpp"

#include <array>

// One scanner, two uses: run<true> appends the defused text, run<false> stops
// at the first replacement, so needs_defuse(x) is exactly "defuse(x) would
// change x" by construction (every replacement writes a token that differs
// from what it replaces).
//
// Idempotence: every token starts with '[' and ends with ']' and holds only
// letters, digits, '-' and, in "[:]" and "[{]", a ':' or '{' right after the
// '['. So the output of defuse() contains no control character, no `<` before
// a tag character, no ':' ending a scheme word (the word is now followed by
// '[') and no '{' after a '$' and blanks; a second pass finds nothing.

namespace bulwark::scan {
namespace {

constexpr std::size_t npos = std::string_view::npos;

constexpr unsigned byte_of(char c) noexcept {
  return static_cast<unsigned char>(c);
}
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
constexpr bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/// Length of the blank, invisible or control character at s[i], 0 if it is
/// none. These may sit inside a scheme word or between `$` and `{` without
/// breaking the construct for some consumer (URL parsers drop tab/CR/LF and
/// leading controls; other tools strip zero-width or bidi characters):
/// ASCII 0x00..0x20 and DEL, C1 controls and NBSP (U+0080..U+00A0), soft
/// hyphen, U+1680, U+180E, U+2000..U+200F, U+2028..U+202F, U+205F..U+2064,
/// U+2066..U+206F, U+3000, U+FEFF.
std::size_t gap_length(std::string_view s, std::size_t i) noexcept {
  const unsigned c = byte_of(s[i]);
  if (c <= 0x20 || c == 0x7F) return 1;
  if (c < 0xC2) return 0;
  const std::size_t n = s.size();
  if (c == 0xC2) {
    if (i + 1 >= n) return 0;
    const unsigned d = byte_of(s[i + 1]);
    return (d >= 0x80 && d <= 0xA0) || d == 0xAD ? 2 : 0;
  }
  if (i + 2 >= n) return 0;
  const unsigned d = byte_of(s[i + 1]);
  const unsigned e = byte_of(s[i + 2]);
  switch (c) {
  case 0xE1:
    return (d == 0x9A && e == 0x80) || (d == 0xA0 && e == 0x8E) ? 3 : 0;
  case 0xE2:
    if (d == 0x80) return (e >= 0x80 && e <= 0x8F) || (e >= 0xA8 && e <= 0xAF) ? 3 : 0;
    if (d == 0x81) return e >= 0x9F && e <= 0xAF && e != 0xA5 ? 3 : 0;
    return 0;
  case 0xE3:
    return d == 0x80 && e == 0x80 ? 3 : 0;
  case 0xEF:
    return d == 0xBB && e == 0xBF ? 3 : 0;
  default:
    return 0;
  }
}

std::size_t skip_gaps(std::string_view s, std::size_t i) noexcept {
  while (i < s.size()) {
    const std::size_t g = gap_length(s, i);
    if (g == 0) break;
    i += g;
  }
  return i;
}

/// Matches `word` (lower case) at s[i], ASCII case-insensitively, allowing
/// gaps between its characters; returns the index after it or npos.
std::size_t match_spread(std::string_view s, std::size_t i, std::string_view word) noexcept {
  for (std::size_t k = 0; k < word.size(); ++k) {
    if (k > 0) i = skip_gaps(s, i);
    if (i >= s.size() || ascii_lower(s[i]) != word[k]) return npos;
    ++i;
  }
  return i;
}

/// Media types a browser renders as a document or runs as script, for `data:`.
constexpr auto kActiveMediaTypes = std::to_array<std::string_view>({
    "text/html",
    "text/xml",
    "text/javascript",
    "text/ecmascript",
    "text/jscript",
    "text/vbscript",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/xhtml+xml",
    "application/xml",
    "image/svg+xml",
});

/// When a `javascript:`, `vbscript:` or active `data:` scheme starts at s[i]
/// (a j, v or d), the index of its ':'; else npos.
std::size_t scheme_colon(std::string_view s, std::size_t i) noexcept {
  const char c = ascii_lower(s[i]);
  const std::string_view word = c == 'j' ? "javascript" : c == 'v' ? "vbscript" : "data";
  std::size_t j = match_spread(s, i, word);
  if (j == npos) return npos;
  j = skip_gaps(s, j);
  if (j >= s.size() || s[j] != ':') return npos;
  if (c != 'd') return j;
  const std::size_t k = skip_gaps(s, j + 1);
  for (const std::string_view type : kActiveMediaTypes)
    if (match_spread(s, k, type) != npos) return j;
  return npos;
}

/// Bytes that may start something to replace; the rest is copied in runs.
constexpr std::array<bool, 256> kInteresting = [] {
  std::array<bool, 256> t{};
  for (unsigned c = 0; c < 0x20; ++c)
    t[c] = c != '\t' && c != '\n';
  for (const char c : {'<', '$', '{', ':', 'j', 'J', 'v', 'V', 'd', 'D', '\x7f'})
    t[byte_of(c)] = true;
  t[0xC2] = t[0xE2] = true;
  return t;
}();

constexpr std::string_view kHex = "0123456789ABCDEF";

template <bool Write> std::size_t run(std::string_view s, std::string* out) {
  std::size_t count = 0;
  std::size_t copied = 0;      // s[copied, i) is pending copy
  std::size_t colon_at = npos; // ':' of a scheme found ahead
  std::size_t brace_at = npos; // '{' of a "$…{" found ahead
  const std::size_t n = s.size();
  std::size_t i = 0;
  // Replaces s[i, i + len) by `token`; with Write false, says "changed" instead.
  auto replace = [&](std::size_t len, std::string_view token) {
    if constexpr (Write) {
      out->append(s.data() + copied, i - copied);
      out->append(token);
    }
    i += len;
    copied = i;
    ++count;
  };
  while (i < n) {
    const char c = s[i];
    const unsigned u = byte_of(c);
    if (!kInteresting[u]) {
      ++i;
      continue;
    }
    if (u < 0x20 || u == 0x7F) {
      switch (u) {
      case 0x00:
        replace(1, "[NUL]");
        break;
      case 0x07:
        replace(1, "[BEL]");
        break;
      case 0x08:
        replace(1, "[BS]");
        break;
      case 0x0B:
        replace(1, "[VT]");
        break;
      case 0x0C:
        replace(1, "[FF]");
        break;
      case 0x0D:
        replace(1, "[CR]");
        break;
      case 0x1B:
        replace(1, "[ESC]");
        break;
      case 0x7F:
        replace(1, "[DEL]");
        break;
      default: {
        const std::array token{'[', 'C', 'T', 'R', 'L', '-', kHex[u >> 4], kHex[u & 0xF], ']'};
        replace(1, std::string_view(token.data(), token.size()));
      }
      }
    } else if (c == '<') {
      if (i + 1 < n &&
          (is_alpha(s[i + 1]) || s[i + 1] == '/' || s[i + 1] == '!' || s[i + 1] == '?'))
        replace(1, "[LT]");
      else
        ++i;
    } else if (c == '$') {
      // No '$' can sit between another '$' and its '{' ('$' is no gap).
      const std::size_t j = skip_gaps(s, i + 1);
      if (j < n && s[j] == '{') brace_at = j;
      ++i;
    } else if (c == '{') {
      if (i == brace_at) {
        brace_at = npos;
        replace(1, "[{]");
      } else {
        ++i;
      }
    } else if (c == ':') {
      if (i == colon_at) {
        colon_at = npos;
        replace(1, "[:]");
      } else {
        ++i;
      }
    } else if (u == 0xC2) {
      const unsigned d = i + 1 < n ? byte_of(s[i + 1]) : 0;
      if (d >= 0x80 && d <= 0x9F) {
        const std::array token{'[', 'C', '1', '-', kHex[d >> 4], kHex[d & 0xF], ']'};
        replace(2, std::string_view(token.data(), token.size()));
      } else {
        ++i;
      }
    } else if (u == 0xE2) {
      const unsigned d = i + 2 < n ? byte_of(s[i + 1]) : 0;
      const unsigned e = i + 2 < n ? byte_of(s[i + 2]) : 0;
      if (d == 0x80 && e == 0xA8)
        replace(3, "[LS]");
      else if (d == 0x80 && e == 0xA9)
        replace(3, "[PS]");
      else if ((d == 0x80 && e >= 0xAA && e <= 0xAE) || (d == 0x81 && e >= 0xA6 && e <= 0xA9))
        replace(3, "[BIDI]");
      else
        ++i;
    } else { // j, v or d
      // A scheme found earlier ends at colon_at; no other one can start
      // before it (its word would have to run through that same ':').
      if (colon_at == npos) colon_at = scheme_colon(s, i);
      ++i;
    }
    if constexpr (!Write) {
      if (count > 0) return count;
    }
  }
  if constexpr (Write) out->append(s.data() + copied, n - copied);
  return count;
}

} // namespace

bool needs_defuse(std::string_view text) noexcept {
  return run<false>(text, nullptr) > 0;
}

std::size_t defuse(std::string_view text, std::string& out) {
  return run<true>(text, &out);
}

} // namespace bulwark::scan
