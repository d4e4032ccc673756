#include "scan/normalize.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <optional>

// Implementation notes
//
// normalize() runs the header's six steps as passes over `out`: step 1 copies
// the original into `out`, percent-decoding on the way; every later step
// rewrites `out` in place (steps 3-5 share one pass). In-place works because no
// step ever writes more bytes than it reads (a percent triple or a character
// reference is longer than what it decodes to, a fold never grows, a collapsed
// lookup is shorter than the lookup), so the write index never overtakes the
// read index. Each output byte carries the original span [begin, end) it came
// from; a step that merges bytes gives every byte it writes the span from the
// first merged byte's begin to the last one's end. Merged groups are
// consecutive, so begin and end both stay non-decreasing and to_original() is
// the smallest covering span.

namespace bulwark::scan {
namespace {

using u32 = std::uint32_t;

constexpr unsigned byte_of(char c) noexcept {
  return static_cast<unsigned char>(c);
}
constexpr char ascii_lower(char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + ('a' - 'A')) : c;
}
constexpr bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes the UTF-8 sequence at s[0]; returns its length, 0 when malformed
/// (valid input never is; the caller then treats the byte as opaque).
std::size_t decode_utf8(const char* s, std::size_t avail, char32_t& cp) noexcept {
  const unsigned c = byte_of(s[0]);
  std::size_t len = 0;
  char32_t v = 0;
  if (c < 0x80) {
    cp = c;
    return 1;
  }
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    v = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    v = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    v = c & 0x07;
  } else {
    return 0;
  }
  if (avail < len) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const unsigned d = byte_of(s[k]);
    if ((d & 0xC0) != 0x80) return 0;
    v = (v << 6) | (d & 0x3F);
  }
  if ((len == 3 && v < 0x800) || (len == 4 && (v < 0x10000 || v > 0x10FFFF)) ||
      (v >= 0xD800 && v <= 0xDFFF))
    return 0;
  cp = v;
  return len;
}

constexpr std::size_t utf8_length(char32_t cp) noexcept {
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

std::size_t encode_utf8(char32_t cp, std::array<char, 4>& out) noexcept {
  if (cp < 0x80) {
    out[0] = static_cast<char>(cp);
    return 1;
  }
  if (cp < 0x800) {
    out[0] = static_cast<char>(0xC0 | (cp >> 6));
    out[1] = static_cast<char>(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    out[0] = static_cast<char>(0xE0 | (cp >> 12));
    out[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out[2] = static_cast<char>(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = static_cast<char>(0xF0 | (cp >> 18));
  out[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
  out[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
  out[3] = static_cast<char>(0x80 | (cp & 0x3F));
  return 4;
}

/// Raw views of `out` for the passes (the vectors are sized up front).
struct buffers {
  char* t;
  u32* b;
  u32* e;

  /// Moves the untouched run [r, r + len) down to w.
  void move_run(std::size_t w, std::size_t r, std::size_t len) const noexcept {
    if (w == r || len == 0) return;
    std::memmove(t + w, t + r, len);
    std::memmove(b + w, b + r, len * sizeof(u32));
    std::memmove(e + w, e + r, len * sizeof(u32));
  }
  /// Writes `len` bytes at w, all mapping to [begin, end).
  void put(std::size_t w, const char* s, std::size_t len, u32 begin, u32 end) const noexcept {
    for (std::size_t k = 0; k < len; ++k) {
      t[w + k] = s[k];
      b[w + k] = begin;
      e[w + k] = end;
    }
  }
};

// ---------------------------------------------------------------- step 1

/// Decodes the percent-encoding at in[r] into `bytes`; returns how many bytes
/// it decodes to (each from one %XX triple), 0 to keep the '%' literally.
/// Decoded are one %XX below 0x80 (controls included: %00, %0d%0a), or the
/// triples of one complete, valid, shortest-form UTF-8 sequence (%C2%A0,
/// %E2%80%8B, %EF%BC%9C). A lone or invalid non-ASCII byte (%FF, %C3 without
/// its continuation, the overlong %C0%BC) stays literal, so the normalised
/// text is always valid UTF-8.
std::size_t percent_sequence(std::string_view in, std::size_t r,
                             std::array<char, 4>& bytes) noexcept {
  auto triple = [&](std::size_t at) -> int {
    if (at + 3 > in.size() || in[at] != '%') return -1;
    const int hi = hex_value(in[at + 1]);
    const int lo = hex_value(in[at + 2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
  };
  const int lead = triple(r);
  if (lead < 0) return 0;
  bytes[0] = static_cast<char>(lead);
  if (lead < 0x80) return 1;
  const std::size_t len = lead >= 0xC2 && lead <= 0xDF   ? 2
                          : lead >= 0xE0 && lead <= 0xEF ? 3
                          : lead >= 0xF0 && lead <= 0xF4 ? 4
                                                         : 0;
  if (len == 0) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    const int d = triple(r + 3 * k);
    if (d < 0x80 || d > 0xBF) return 0;
    if (k == 1 && ((lead == 0xE0 && d < 0xA0) || (lead == 0xED && d > 0x9F) ||
                   (lead == 0xF0 && d < 0x90) || (lead == 0xF4 && d > 0x8F)))
      return 0;
    bytes[k] = static_cast<char>(d);
  }
  return len;
}

/// Step 1: copies `in` into `buf`, decoding one level of percent-encoding.
std::size_t percent_decode(std::string_view in, const buffers& buf) noexcept {
  std::size_t w = 0;
  std::size_t r = 0;
  const std::size_t n = in.size();
  while (r < n) {
    const void* hit = std::memchr(in.data() + r, '%', n - r);
    const std::size_t stop =
        hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - in.data()) : n;
    std::memcpy(buf.t + w, in.data() + r, stop - r);
    for (; r < stop; ++r, ++w) {
      buf.b[w] = static_cast<u32>(r);
      buf.e[w] = static_cast<u32>(r + 1);
    }
    if (r == n) break;
    std::array<char, 4> bytes{};
    const std::size_t len = percent_sequence(in, r, bytes);
    if (len == 0) {
      buf.put(w++, "%", 1, static_cast<u32>(r), static_cast<u32>(r + 1));
      ++r;
      continue;
    }
    for (std::size_t k = 0; k < len; ++k, ++w, r += 3)
      buf.put(w, &bytes[k], 1, static_cast<u32>(r), static_cast<u32>(r + 3));
  }
  return w;
}

// ---------------------------------------------------------------- step 2

struct named_reference {
  std::string_view name;
  char32_t cp;
  bool legacy; ///< HTML also accepts it without the ';'
};

/// HTML named character references: the markup characters, the ASCII
/// punctuation payloads are spelt with (`javascript&colon;`, `&lpar;`,
/// `&dollar;&lcub;`), the spaces and the invisible characters (which steps 3-4
/// then fold or remove). Case-sensitive as in HTML (`&Tab;` `&NewLine;`); the
/// lower-case `&tab;` `&newline;` are accepted as well. Sorted by name.
constexpr auto kNamed = std::to_array<named_reference>({
    {"AMP", 0x26, true},
    {"ApplyFunction", 0x2061, false},
    {"GT", 0x3E, true},
    {"Hat", 0x5E, false},
    {"InvisibleComma", 0x2063, false},
    {"InvisibleTimes", 0x2062, false},
    {"LT", 0x3C, true},
    {"NewLine", 0x0A, false},
    {"NoBreak", 0x2060, false},
    {"NonBreakingSpace", 0xA0, false},
    {"QUOT", 0x22, true},
    {"Tab", 0x09, false},
    {"UnderBar", 0x5F, false},
    {"ZeroWidthSpace", 0x200B, false},
    {"af", 0x2061, false},
    {"amp", 0x26, true},
    {"apos", 0x27, false},
    {"ast", 0x2A, false},
    {"bsol", 0x5C, false},
    {"colon", 0x3A, false},
    {"comma", 0x2C, false},
    {"commat", 0x40, false},
    {"dollar", 0x24, false},
    {"emsp", 0x2003, false},
    {"ensp", 0x2002, false},
    {"equals", 0x3D, false},
    {"excl", 0x21, false},
    {"grave", 0x60, false},
    {"gt", 0x3E, true},
    {"hairsp", 0x200A, false},
    {"ic", 0x2063, false},
    {"it", 0x2062, false},
    {"lbrace", 0x7B, false},
    {"lbrack", 0x5B, false},
    {"lcub", 0x7B, false},
    {"lowbar", 0x5F, false},
    {"lpar", 0x28, false},
    {"lrm", 0x200E, false},
    {"lsqb", 0x5B, false},
    {"lt", 0x3C, true},
    {"midast", 0x2A, false},
    {"nbsp", 0xA0, true},
    {"newline", 0x0A, false},
    {"num", 0x23, false},
    {"percnt", 0x25, false},
    {"period", 0x2E, false},
    {"plus", 0x2B, false},
    {"quest", 0x3F, false},
    {"quot", 0x22, true},
    {"rbrace", 0x7D, false},
    {"rbrack", 0x5D, false},
    {"rcub", 0x7D, false},
    {"rlm", 0x200F, false},
    {"rpar", 0x29, false},
    {"rsqb", 0x5D, false},
    {"semi", 0x3B, false},
    {"shy", 0xAD, true},
    {"sol", 0x2F, false},
    {"tab", 0x09, false},
    {"thinsp", 0x2009, false},
    {"verbar", 0x7C, false},
    {"vert", 0x7C, false},
    {"zwj", 0x200D, false},
    {"zwnj", 0x200C, false},
});
static_assert(std::is_sorted(kNamed.begin(), kNamed.end(),
                             [](const named_reference& a, const named_reference& b) {
                               return a.name < b.name;
                             }));
// Every name is at least as long as its UTF-8 encoding, so decoding shrinks.
static_assert(std::all_of(kNamed.begin(), kNamed.end(), [](const named_reference& r) {
  return r.name.size() + 1 >= utf8_length(r.cp);
}));

constexpr std::size_t kMaxName = 16; // longest name in kNamed

const named_reference* find_named(std::string_view name) noexcept {
  const auto* it =
      std::lower_bound(kNamed.begin(), kNamed.end(), name,
                       [](const named_reference& r, std::string_view key) { return r.name < key; });
  return it != kNamed.end() && it->name == name ? it : nullptr;
}

/// Parses the character reference starting with the '&' at s[0]; returns the
/// bytes it spans (0: not a reference we decode) and its code point.
///  - `&#60;` `&#0000060;` `&#x3c;` `&#X3C;`, the ';' optional as browsers
///    allow; code point 0, surrogates and values above U+10FFFF are invalid and
///    the reference stays as it is. C1 values (`&#x9b;`) decode to the C1
///    character, not to the Windows-1252 letter a browser would show: what
///    matters here is what a non-browser consumer of the text receives.
///  - a name of kNamed followed by ';'; without ';' only the legacy names
///    (amp lt gt quot nbsp shy, as HTML), longest prefix first (`&ltscript`).
std::size_t parse_reference(const char* s, std::size_t avail, char32_t& cp) noexcept {
  if (avail < 3) return 0;
  if (s[1] == '#') {
    const bool hex = s[2] == 'x' || s[2] == 'X';
    std::size_t i = hex ? 3 : 2;
    const std::size_t first = i;
    char32_t v = 0;
    for (; i < avail; ++i) {
      const int d = hex ? hex_value(s[i]) : (s[i] >= '0' && s[i] <= '9' ? s[i] - '0' : -1);
      if (d < 0) break;
      if (v <= 0x10FFFF) v = v * (hex ? 16 : 10) + static_cast<char32_t>(d);
    }
    if (i == first || v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    if (i < avail && s[i] == ';') ++i;
    cp = v;
    return i;
  }
  std::size_t i = 1;
  while (i < avail && i <= kMaxName + 1 && is_alnum(s[i]))
    ++i;
  const std::string_view run(s + 1, i - 1);
  if (run.empty()) return 0;
  if (i < avail && s[i] == ';' && run.size() <= kMaxName) {
    if (const auto* ref = find_named(run)) {
      cp = ref->cp;
      return i + 1;
    }
  }
  for (std::size_t len = std::min<std::size_t>(run.size(), 4); len >= 2; --len) {
    const auto* ref = find_named(run.substr(0, len));
    if (ref != nullptr && ref->legacy) {
      cp = ref->cp;
      return len + 1;
    }
  }
  return 0;
}

/// Step 2, in place over [0, m): decodes HTML character references.
std::size_t decode_references(const buffers& buf, std::size_t m) noexcept {
  std::size_t w = 0;
  std::size_t r = 0;
  while (r < m) {
    const void* hit = std::memchr(buf.t + r, '&', m - r);
    const std::size_t stop =
        hit ? static_cast<std::size_t>(static_cast<const char*>(hit) - buf.t) : m;
    buf.move_run(w, r, stop - r);
    w += stop - r;
    r = stop;
    if (r == m) break;
    char32_t cp = 0;
    const std::size_t len = parse_reference(buf.t + r, m - r, cp);
    if (len == 0 || utf8_length(cp) > len) {
      buf.move_run(w++, r++, 1);
      continue;
    }
    std::array<char, 4> bytes{};
    const std::size_t k = encode_utf8(cp, bytes);
    buf.put(w, bytes.data(), k, buf.b[r], buf.e[r + len - 1]);
    w += k;
    r += len;
  }
  return w;
}

// ---------------------------------------------------------------- steps 3-5

/// Step 3: zero-width and invisible format characters, removed. Beyond the
/// header's list: U+034F (combining grapheme joiner), U+061C, U+200E/U+200F
/// (direction marks), U+202A..U+202E and U+2066..U+2069 (bidi embeddings,
/// overrides, isolates), U+2061..U+2064 (invisible operators), U+206A..U+206F,
/// the variation selectors U+FE00..U+FE0F and U+E0100..U+E01EF, and the tag
/// characters U+E0001/U+E007F. Every one of them renders as nothing and can be
/// put inside a word to break a pattern.
constexpr bool is_invisible(char32_t cp) noexcept {
  return cp == 0xAD || cp == 0x34F || cp == 0x61C || cp == 0x180E ||
         (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x206F) ||
         (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xE0001 || cp == 0xE007F ||
         (cp >= 0xE0100 && cp <= 0xE01EF);
}

struct fold_entry {
  char32_t cp;
  std::string_view to; ///< 1..3 ASCII characters
};

/// Step 4: look-alikes of ASCII, outside the ranges fold_range() computes.
/// Sources (from knowledge of the published data, nothing downloaded):
/// Unicode confusables.txt (UTS #39 / TR39, "MA" table) for Latin small
/// capitals, IPA, Greek, Cyrillic, Armenian and letterlike symbols, and the
/// NFKC compatibility decompositions (UnicodeData.txt) for super/subscripts,
/// modifier letters, the letterlike holes of the math block (ℎ ℬ ℭ ...), Roman
/// numerals, ligatures and spaces. Only characters whose glyph is read as one
/// ASCII character (or a short ligature) are listed: the aim is to undo
/// deliberate disguise, not to transliterate. Both cases map to the lower-case
/// letter since step 5 lower-cases anyway; uppercase palochka Ӏ reads as "I"
/// and maps to i, lowercase ӏ as "l". Sorted by code point.
constexpr auto kFold = std::to_array<fold_entry>({
    {0x00A0, " "},   {0x00AA, "a"},   {0x00B2, "2"},  {0x00B3, "3"},  {0x00B9, "1"},
    {0x00BA, "o"},   {0x0131, "i"},   {0x017F, "s"},  {0x01C3, "!"},  {0x0237, "j"},
    {0x0261, "g"},   {0x0262, "g"},   {0x026A, "i"},  {0x0274, "n"},  {0x0280, "r"},
    {0x028F, "y"},   {0x0299, "b"},   {0x029C, "h"},  {0x029F, "l"},  {0x02B0, "h"},
    {0x02B2, "j"},   {0x02B3, "r"},   {0x02B7, "w"},  {0x02B8, "y"},  {0x02E1, "l"},
    {0x02E2, "s"},   {0x02E3, "x"},   {0x037E, ";"},  {0x037F, "j"},  {0x0391, "a"},
    {0x0392, "b"},   {0x0395, "e"},   {0x0396, "z"},  {0x0397, "h"},  {0x0399, "i"},
    {0x039A, "k"},   {0x039C, "m"},   {0x039D, "n"},  {0x039F, "o"},  {0x03A1, "p"},
    {0x03A4, "t"},   {0x03A5, "y"},   {0x03A7, "x"},  {0x03B1, "a"},  {0x03B2, "b"},
    {0x03B3, "y"},   {0x03B5, "e"},   {0x03B9, "i"},  {0x03BA, "k"},  {0x03BD, "v"},
    {0x03BF, "o"},   {0x03C1, "p"},   {0x03C4, "t"},  {0x03C5, "u"},  {0x03C7, "x"},
    {0x03F2, "c"},   {0x03F3, "j"},   {0x03F5, "e"},  {0x03F9, "c"},  {0x0405, "s"},
    {0x0406, "i"},   {0x0408, "j"},   {0x0410, "a"},  {0x0412, "b"},  {0x0415, "e"},
    {0x041A, "k"},   {0x041C, "m"},   {0x041D, "h"},  {0x041E, "o"},  {0x0420, "p"},
    {0x0421, "c"},   {0x0422, "t"},   {0x0423, "y"},  {0x0425, "x"},  {0x0430, "a"},
    {0x0432, "b"},   {0x0435, "e"},   {0x043A, "k"},  {0x043C, "m"},  {0x043D, "h"},
    {0x043E, "o"},   {0x0440, "p"},   {0x0441, "c"},  {0x0442, "t"},  {0x0443, "y"},
    {0x0445, "x"},   {0x0455, "s"},   {0x0456, "i"},  {0x0458, "j"},  {0x0474, "v"},
    {0x0475, "v"},   {0x04AE, "y"},   {0x04AF, "y"},  {0x04BA, "h"},  {0x04BB, "h"},
    {0x04C0, "i"},   {0x04CF, "l"},   {0x0500, "d"},  {0x0501, "d"},  {0x051A, "q"},
    {0x051B, "q"},   {0x051C, "w"},   {0x051D, "w"},  {0x0570, "h"},  {0x0578, "n"},
    {0x057D, "u"},   {0x0585, "o"},   {0x1680, " "},  {0x1D00, "a"},  {0x1D04, "c"},
    {0x1D05, "d"},   {0x1D07, "e"},   {0x1D0A, "j"},  {0x1D0B, "k"},  {0x1D0D, "m"},
    {0x1D0F, "o"},   {0x1D18, "p"},   {0x1D1B, "t"},  {0x1D1C, "u"},  {0x1D20, "v"},
    {0x1D21, "w"},   {0x1D22, "z"},   {0x1D2C, "a"},  {0x1D2E, "b"},  {0x1D30, "d"},
    {0x1D31, "e"},   {0x1D33, "g"},   {0x1D34, "h"},  {0x1D35, "i"},  {0x1D36, "j"},
    {0x1D37, "k"},   {0x1D38, "l"},   {0x1D39, "m"},  {0x1D3A, "n"},  {0x1D3C, "o"},
    {0x1D3E, "p"},   {0x1D3F, "r"},   {0x1D40, "t"},  {0x1D41, "u"},  {0x1D42, "w"},
    {0x1D43, "a"},   {0x1D47, "b"},   {0x1D48, "d"},  {0x1D49, "e"},  {0x1D4D, "g"},
    {0x1D4F, "k"},   {0x1D50, "m"},   {0x1D52, "o"},  {0x1D56, "p"},  {0x1D57, "t"},
    {0x1D58, "u"},   {0x1D5B, "v"},   {0x1D62, "i"},  {0x1D63, "r"},  {0x1D64, "u"},
    {0x1D65, "v"},   {0x1D9C, "c"},   {0x1DA0, "f"},  {0x1DBB, "z"},  {0x202F, " "},
    {0x205F, " "},   {0x2070, "0"},   {0x2071, "i"},  {0x207F, "n"},  {0x2090, "a"},
    {0x2091, "e"},   {0x2092, "o"},   {0x2093, "x"},  {0x2095, "h"},  {0x2096, "k"},
    {0x2097, "l"},   {0x2098, "m"},   {0x2099, "n"},  {0x209A, "p"},  {0x209B, "s"},
    {0x209C, "t"},   {0x2102, "c"},   {0x210A, "g"},  {0x210B, "h"},  {0x210C, "h"},
    {0x210D, "h"},   {0x210E, "h"},   {0x2110, "i"},  {0x2111, "i"},  {0x2112, "l"},
    {0x2113, "l"},   {0x2115, "n"},   {0x2119, "p"},  {0x211A, "q"},  {0x211B, "r"},
    {0x211C, "r"},   {0x211D, "r"},   {0x2124, "z"},  {0x2128, "z"},  {0x212A, "k"},
    {0x212C, "b"},   {0x212D, "c"},   {0x212F, "e"},  {0x2130, "e"},  {0x2131, "f"},
    {0x2133, "m"},   {0x2134, "o"},   {0x2139, "i"},  {0x2160, "i"},  {0x2164, "v"},
    {0x2169, "x"},   {0x216C, "l"},   {0x216D, "c"},  {0x216E, "d"},  {0x216F, "m"},
    {0x2170, "i"},   {0x2174, "v"},   {0x2179, "x"},  {0x217C, "l"},  {0x217D, "c"},
    {0x217E, "d"},   {0x217F, "m"},   {0x2C7D, "v"},  {0x3000, " "},  {0xA730, "f"},
    {0xA731, "s"},   {0xA7AF, "q"},   {0xFB00, "ff"}, {0xFB01, "fi"}, {0xFB02, "fl"},
    {0xFB03, "ffi"}, {0xFB04, "ffl"}, {0xFB05, "st"}, {0xFB06, "st"},
});
static_assert(std::is_sorted(kFold.begin(), kFold.end(),
                             [](const fold_entry& a, const fold_entry& b) { return a.cp < b.cp; }));
static_assert(std::all_of(kFold.begin(), kFold.end(), [](const fold_entry& f) {
  return !f.to.empty() && f.to.size() <= utf8_length(f.cp);
}));

/// Mathematical alphanumerics U+1D400..U+1D7FF: 13 alphabets of 52 Latin
/// letters (bold, italic, bold italic, script, bold script, fraktur,
/// double-struck, bold fraktur, sans-serif and its bold/italic/bold italic,
/// monospace; the reserved holes of script/fraktur/double-struck fold too, they
/// never occur), dotless ı ȷ, 5 Greek alphabets of 58 (folded through kFold's
/// Greek look-alikes) and 5 digit sets.
char32_t fold_math(char32_t cp) noexcept {
  if (cp < 0x1D400) return 0;
  if (cp < 0x1D6A4) {
    const char32_t k = (cp - 0x1D400) % 52;
    return k < 26 ? U'a' + k : U'a' + (k - 26);
  }
  if (cp == 0x1D6A4) return U'i';
  if (cp == 0x1D6A5) return U'j';
  if (cp >= 0x1D6A8 && cp < 0x1D7CA) {
    const char32_t k = (cp - 0x1D6A8) % 58;
    if (k < 25) return 0x391 + k; // capital Alpha..Omega (k 17 is ϴ, unmapped)
    if (k >= 26 && k < 51) return 0x3B1 + (k - 26);
    if (k == 52) return 0x3F5; // ϵ
    if (k == 54) return 0x3BA; // ϰ reads as κ
    if (k == 56) return 0x3C1; // ϱ reads as ρ
    return 0;
  }
  if (cp >= 0x1D7CE && cp <= 0x1D7FF) return U'0' + (cp - 0x1D7CE) % 10;
  return 0;
}

/// Folds `cp` to 1..3 ASCII characters written to `to`; returns how many (0:
/// not a look-alike).
std::size_t fold(char32_t cp, std::array<char, 4>& to) noexcept {
  char32_t ascii = 0;
  if (cp >= 0xFF01 && cp <= 0xFF5E) {
    ascii = cp - 0xFEE0; // full-width ASCII
  } else if ((cp >= 0x2000 && cp <= 0x200A)) {
    ascii = U' '; // en quad .. hair space
  } else if (cp >= 0x2074 && cp <= 0x2079) {
    ascii = U'4' + (cp - 0x2074); // superscript digits
  } else if (cp >= 0x2080 && cp <= 0x2089) {
    ascii = U'0' + (cp - 0x2080); // subscript digits
  } else if (cp >= 0x24B6 && cp <= 0x24E9) {
    ascii = U'a' + (cp - 0x24B6) % 26; // circled letters
  } else if (cp >= 0xE0020 && cp <= 0xE007E) {
    ascii = cp - 0xE0000; // tag characters: "ASCII smuggling" of hidden text
  } else if (cp >= 0x1D400 && cp <= 0x1D7FF) {
    ascii = fold_math(cp);
    if (ascii >= 0x80) return fold(ascii, to);
  } else {
    const auto* it = std::lower_bound(kFold.begin(), kFold.end(), cp,
                                      [](const fold_entry& f, char32_t key) { return f.cp < key; });
    if (it == kFold.end() || it->cp != cp) return 0;
    std::copy(it->to.begin(), it->to.end(), to.begin());
    return it->to.size();
  }
  if (ascii == 0) return 0;
  to[0] = static_cast<char>(ascii);
  return 1;
}

/// Steps 3-5, in place over [0, m): removal, folding, ASCII lower-casing.
std::size_t fold_and_lower(const buffers& buf, std::size_t m) noexcept {
  std::size_t w = 0;
  std::size_t r = 0;
  while (r < m) {
    if (byte_of(buf.t[r]) < 0x80) {
      buf.t[w] = ascii_lower(buf.t[r]);
      buf.b[w] = buf.b[r];
      buf.e[w] = buf.e[r];
      ++w;
      ++r;
      continue;
    }
    char32_t cp = 0;
    const std::size_t len = decode_utf8(buf.t + r, m - r, cp);
    if (len == 0) { // not reached with valid input: keep the byte
      buf.move_run(w++, r++, 1);
      continue;
    }
    if (is_invisible(cp)) {
      r += len;
      continue;
    }
    std::array<char, 4> to{};
    const std::size_t k = fold(cp, to);
    if (k == 0) {
      buf.move_run(w, r, len);
      w += len;
      r += len;
      continue;
    }
    const u32 begin = buf.b[r];
    const u32 end = buf.e[r + len - 1];
    for (std::size_t j = 0; j < k; ++j)
      to[j] = ascii_lower(to[j]);
    buf.put(w, to.data(), k, begin, end);
    w += k;
    r += len;
  }
  return w;
}

// ---------------------------------------------------------------- step 6

/// The part of a lookup body (the text between "${" and "}", already
/// lower-cased) a Log4j lookup evaluates to when that is a fixed text, as
/// {offset, length} within the body:
///  - `lower:X` / `upper:X` -> X (lower-case already); X ends at a ":-";
///  - `date:'X'` -> X (a quoted SimpleDateFormat literal);
///  - `anything:-X` (`::-X`, `env:NAME:-X`, `sys:x:-X`) -> X, the default an
///    unset variable falls back to.
/// Never collapsed: `jndi:` and URL-scheme lookups (they are the payload), and
/// bodies where a nested lookup would be discarded (`${env:${jndi:x}:-j}`
/// evaluates the jndi lookup while resolving the name).
std::optional<std::pair<std::size_t, std::size_t>> lookup_value(std::string_view body) noexcept {
  static constexpr std::array<std::string_view, 11> kKeep = {
      "jndi:", "ldap:",  "ldaps:", "rmi:", "dns:", "iiop:",
      "http:", "https:", "corba:", "nds:", "nis:"};
  for (const std::string_view prefix : kKeep)
    if (body.starts_with(prefix)) return std::nullopt;
  std::size_t off = 0;
  std::size_t len = 0;
  if (body.starts_with("lower:") || body.starts_with("upper:")) {
    off = 6;
    len = std::min(body.find(":-", off), body.size()) - off;
  } else if (body.starts_with("date:'") && body.size() >= 7 && body.back() == '\'' &&
             body.find('\'', 6) == body.size() - 1) {
    off = 6;
    len = body.size() - 7;
  } else if (const std::size_t d = body.find(":-"); d != std::string_view::npos) {
    off = d + 2;
    len = body.size() - off;
  } else {
    return std::nullopt;
  }
  for (std::size_t q = body.find("${"); q != std::string_view::npos; q = body.find("${", q + 1))
    if (q < off || q + 2 > off + len) return std::nullopt;
  return std::pair{off, len};
}

/// Step 6, in place over [0, m): collapses fixed-text lookups, innermost
/// first. One left-to-right pass with a stack of open "${" does what repeated
/// innermost-first rounds would: when a '}' closes the most recent open
/// lookup, everything inside it has already been collapsed. A collapse can
/// form a new "${" at its edges (`$${::-{}`, `${::-$}{`); it is pushed as if it
/// had been there. The stack holds the 64 innermost opens; deeper nesting
/// loses the outermost ones (they then stay as they are).
std::size_t collapse_lookups(const buffers& buf, std::size_t m) noexcept {
  constexpr std::size_t kDepth = 64;
  std::array<u32, kDepth> stack{};
  std::size_t pushes = 0;
  std::size_t depth = 0;
  auto push = [&](std::size_t pos) {
    stack[pushes++ % kDepth] = static_cast<u32>(pos);
    depth = std::min(depth + 1, kDepth);
  };
  std::size_t w = 0;
  for (std::size_t r = 0; r < m; ++r) {
    const char c = buf.t[r];
    if (c == '}' && depth > 0) {
      const std::size_t p = stack[--pushes % kDepth];
      --depth;
      const std::string_view body(buf.t + p + 2, w - p - 2);
      if (const auto value = lookup_value(body)) {
        const auto [off, len] = *value;
        const u32 begin = buf.b[p];
        const u32 end = buf.e[r];
        std::memmove(buf.t + p, buf.t + p + 2 + off, len);
        for (std::size_t k = p; k < p + len; ++k) {
          buf.b[k] = begin;
          buf.e[k] = end;
        }
        w = p + len;
        if (len > 0 && p > 0 && buf.t[p] == '{' && buf.t[p - 1] == '$') push(p - 1);
        continue;
      }
    }
    buf.move_run(w, r, 1);
    if (c == '{' && w > 0 && buf.t[w - 1] == '$') push(w - 1);
    ++w;
  }
  return w;
}

} // namespace

bool needs_normalization(std::string_view original) noexcept {
  // One table-driven pass, no branch per byte: which kinds of byte occur and
  // whether two blanks follow each other; "${" is looked for only when a '$'
  // is there. Most values are plain ASCII with single spaces.
  normalization_probe probe;
  for (const char c : original)
    probe.add(normalization_probe::kind(byte_of(c)));
  return probe.needed(original);
}

/// Step 7, in place over [0, m): a run of spaces and tabs becomes its first
/// character, so padding words apart cannot stretch a phrase past a rule's
/// bounded gaps (and a tab that a rule looks for stays a tab).
std::size_t collapse_blanks(const buffers& buf, std::size_t m) noexcept {
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  std::size_t w = 0;
  std::size_t r = 0;
  while (r < m) {
    if (!blank(buf.t[r])) {
      buf.t[w] = buf.t[r];
      buf.b[w] = buf.b[r];
      buf.e[w++] = buf.e[r++];
      continue;
    }
    const std::size_t first = r;
    while (r < m && blank(buf.t[r]))
      ++r;
    const char kept = buf.t[first];
    buf.put(w++, &kept, 1, buf.b[first], buf.e[r - 1]);
  }
  return w;
}

void normalize(std::string_view original, normalized_text& out) {
  assert(original.size() < UINT32_MAX);
  const std::size_t n = original.size();
  out.text.resize(n);
  out.begin.resize(n);
  out.end.resize(n);
  const buffers buf{out.text.data(), out.begin.data(), out.end.data()};
  if (!needs_normalization(original)) {
    for (std::size_t i = 0; i < n; ++i) {
      buf.t[i] = ascii_lower(original[i]);
      buf.b[i] = static_cast<u32>(i);
      buf.e[i] = static_cast<u32>(i + 1);
    }
    return;
  }
  std::size_t m = percent_decode(original, buf);
  if (std::memchr(buf.t, '&', m) != nullptr) m = decode_references(buf, m);
  m = fold_and_lower(buf, m);
  if (std::string_view(buf.t, m).find("${") != std::string_view::npos) m = collapse_lookups(buf, m);
  m = collapse_blanks(buf, m);
  out.text.resize(m);
  out.begin.resize(m);
  out.end.resize(m);
}

} // namespace bulwark::scan
