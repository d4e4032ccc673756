#pragma once
/// Byte gates: which values a rule can match at all, decided before Hyperscan.
///
/// Most bytes of telemetry are prose and identifiers; most rules need a byte
/// that prose seldom has (a digit, '@', '<', '$', a control character). For
/// each rule the pattern is analysed once, at load, for a set of bytes of which
/// every match holds at least one; a value none of whose bytes is in that set
/// cannot hold a match, so it is left out of the buffer the rule's database
/// scans. Rules are grouped by gate into a few databases (scanner.cpp).
///
/// The analysis is conservative: it understands the pattern syntax docs/rules.md
/// allows, and for anything else (look-around, back-references, `\p{…}`, POSIX
/// classes, a parse it does not follow) it returns no gate, so the rule scans
/// every value. A set it returns is a necessary condition for a match of the
/// pattern under RE2 and Hyperscan alike (UTF-8, ASCII `\w\d\s`, `(?i)` ASCII
/// case folding; non-ASCII characters count as "any byte from 0x80").
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace bulwark::scan {

/// A set of byte values.
class byte_set {
public:
  constexpr void add(unsigned char b) noexcept { w_[b >> 6] |= std::uint64_t{1} << (b & 63); }
  constexpr void add_range(unsigned lo, unsigned hi) noexcept {
    for (unsigned b = lo; b <= hi; ++b)
      add(static_cast<unsigned char>(b));
  }
  constexpr bool has(unsigned char b) const noexcept { return (w_[b >> 6] >> (b & 63) & 1U) != 0; }
  constexpr byte_set& operator|=(const byte_set& o) noexcept {
    for (std::size_t i = 0; i < 4; ++i)
      w_[i] |= o.w_[i];
    return *this;
  }
  constexpr bool operator==(const byte_set&) const noexcept = default;
  /// True when every byte of this set is in `o`.
  constexpr bool subset_of(const byte_set& o) const noexcept {
    for (std::size_t i = 0; i < 4; ++i)
      if ((w_[i] & ~o.w_[i]) != 0) return false;
    return true;
  }
  /// Bytes 64·i to 64·i+63, one bit each.
  constexpr std::uint64_t word(std::size_t i) const noexcept { return w_[i]; }
  /// The set with the other ASCII case of each of its letters added.
  byte_set case_closed() const noexcept;
  /// The complement.
  byte_set inverted() const noexcept;

private:
  std::array<std::uint64_t, 4> w_{};
};

/// How much of ordinary telemetry text the bytes of `s` make up, roughly
/// (0 to 1): lower-case letters and blanks most, then upper case, digits and
/// common punctuation, then other symbols and control characters.
double text_share(const byte_set& s) noexcept;

/// A set of bytes at least one of which occurs in every match of `pattern`
/// (Hyperscan/RE2 syntax, as rule files write it), chosen among the candidates
/// the pattern offers as the rarest in ordinary text; nullopt when the
/// analysis finds none it can vouch for.
std::optional<byte_set> required_bytes(std::string_view pattern);

/// The same, restricted to sets inside `within`: nullopt unless every match
/// holds a byte of `within` (and then the returned set is part of it).
std::optional<byte_set> required_bytes(std::string_view pattern, const byte_set& within);

} // namespace bulwark::scan
