#pragma once
/// The `normalized` text form that injection and prompt-injection rules run on,
/// with a map back to the original bytes so redaction and defusing always cut
/// the original.
///
/// Steps, in this order, each undoing one way attackers hide a payload:
///  1. percent-decoding (`%3C` -> `<`, `%24%7B` -> `${`), one level;
///  2. HTML character references (`&lt;` `&#60;` `&#x3c;`, with or without `;`);
///  3. removal of zero-width and invisible format characters (U+200B..U+200D,
///     U+2060, U+FEFF, U+00AD, U+180E);
///  4. folding of full-width ASCII (U+FF01..U+FF5E), mathematical alphanumerics
///     (U+1D400..U+1D7FF) and common Cyrillic/Greek confusables to ASCII;
///  5. ASCII lower-casing (after folding, so `ＩＧＮＯＲＥ` becomes `ignore`);
///  6. collapsing Log4j lookups that evaluate to their default or argument
///     (`${lower:J}` `${upper:j}` `${::-j}` `${env:X:-j}` `${date:'j'}` -> `j`),
///     repeatedly, innermost first, so `${${lower:j}ndi:` becomes `${jndi:`;
///  7. collapsing every run of spaces and tabs to its first character, so rules can use
///     short bounded gaps between words (cheap to compile) that padding cannot
///     stretch.
/// Bytes that no step touches are copied unchanged (non-ASCII included).
///
/// Details of each step (normalize.cpp has the tables):
///  1. only valid `%XX` pairs, one level (`%253C` -> `%3C`). A byte below 0x80
///     is decoded (controls too: `%00`, `%0d%0a`); bytes from 0x80 only when
///     the `%XX` triples spell one complete, valid UTF-8 sequence (`%C2%A0`,
///     `%EF%BC%9C`), otherwise they stay `%XX` literally, so the result is
///     always valid UTF-8.
///  2. runs on step 1's output (`%26lt;` -> `<`), not the reverse (`&#37;3C`
///     stays `%3C`). Numeric references decode to any code point except 0,
///     surrogates and values above U+10FFFF (those stay as written), and the
///     result goes through steps 3-5 (`&#xff29;` -> `i`). Named references
///     are the markup and punctuation ones payloads use (`&lt;` `&colon;`
///     `&lpar;` `&dollar;` `&lcub;` `&Tab;` `&NewLine;` `&nbsp;` `&zwj;` ...),
///     with ';'; the HTML legacy names (amp lt gt quot nbsp shy) also without.
///  3. also removes U+034F, U+061C, U+200E/U+200F, the bidi controls
///     U+202A..U+202E and U+2066..U+2069, U+2061..U+2064, U+206A..U+206F,
///     variation selectors and the tag characters U+E0001/U+E007F.
///  4. also Unicode spaces (U+00A0, U+1680, U+2000..U+200A, U+202F, U+205F,
///     U+3000) -> ' ', Latin small capitals, modifier and super/subscript
///     letters and digits, circled letters, letterlike symbols, ligatures
///     (U+FB00..U+FB06), and tag characters U+E0020..U+E007E -> the ASCII they
///     shadow. C1 controls, U+2028/U+2029 and letters with diacritics are kept.
///  6. never collapses `${jndi:…}` (or a URL-scheme lookup), nor a lookup
///     whose discarded part holds a nested lookup (`${env:${jndi:x}:-j}`).
///     The characters a lookup collapses to map to the whole lookup.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark::scan {

/// Reusable output of normalize(); one per worker thread.
class normalized_text {
public:
  std::string text; ///< the normalised bytes
  /// For output byte i, the original bytes [begin[i], end[i]) it came from
  /// (a decoded `%3C` maps to all three bytes; a collapsed `${lower:j}` maps
  /// its `j` to the whole lookup).
  std::vector<std::uint32_t> begin;
  std::vector<std::uint32_t> end;

  /// The original span covering normalised bytes [b, e) (e > b).
  std::pair<std::size_t, std::size_t> to_original(std::size_t b, std::size_t e) const noexcept {
    return {begin[b], end[e - 1]};
  }
  void clear() noexcept {
    text.clear();
    begin.clear();
    end.clear();
  }
};

/// True when normalize() would change more than ASCII letter case: the input
/// has a '%', '&', "${", two blanks (space or tab) in a row or a non-ASCII byte. When false, rules
/// compiled case-insensitively can scan the original text directly.
bool needs_normalization(std::string_view original) noexcept;

/// needs_normalization() for a caller that already reads every byte of the
/// text (the scanner, computing its gates): add() each byte's kind, then ask
/// needed() with the same text.
class normalization_probe {
public:
  /// What a byte is to the probe: 0 for most, else a kind bit.
  static std::uint8_t kind(unsigned char b) noexcept { return table()[b]; }
  void add(std::uint8_t k) noexcept {
    kinds_ |= k;
    pairs_ |= prev_ & k;
    prev_ = k;
  }
  bool needed(std::string_view text) const noexcept {
    if ((kinds_ & decode) != 0 || (pairs_ & blank) != 0) return true;
    return (kinds_ & dollar) != 0 && text.find("${") != std::string_view::npos;
  }

private:
  // '%', '&' and non-ASCII bytes need decoding; "${" may open a lookup; two
  // blanks (space or tab) in a row collapse.
  enum : std::uint8_t { decode = 1, dollar = 2, blank = 4 };
  static const std::array<std::uint8_t, 256>& table() noexcept {
    static constexpr std::array<std::uint8_t, 256> t = [] {
      std::array<std::uint8_t, 256> k{};
      k['%'] = k['&'] = decode;
      for (std::size_t b = 0x80; b < 256; ++b)
        k[b] = decode;
      k['$'] = dollar;
      k[' '] = k['\t'] = blank;
      return k;
    }();
    return t;
  }
  unsigned kinds_ = 0;
  unsigned prev_ = 0;
  unsigned pairs_ = 0; ///< a blank right after a blank
};

/// Normalises `original` (valid UTF-8) into `out` (cleared first). No heap
/// allocation once `out` has grown to the largest input seen.
void normalize(std::string_view original, normalized_text& out);

} // namespace bulwark::scan
