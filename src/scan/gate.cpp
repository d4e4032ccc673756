#include "scan/gate.hpp"

#include <array>
#include <bit>
#include <limits>

namespace bulwark::scan {

byte_set byte_set::case_closed() const noexcept {
  // 'A'-'Z' are bits 1-26 of the second word, 'a'-'z' the same 32 bits higher.
  constexpr std::uint64_t upper = ((std::uint64_t{1} << 26) - 1) << 1;
  byte_set out = *this;
  const std::uint64_t w = w_[1];
  out.w_[1] = w | ((w >> 32) & upper) | ((w & upper) << 32);
  return out;
}

byte_set byte_set::inverted() const noexcept {
  byte_set out;
  for (std::size_t i = 0; i < 4; ++i)
    out.w_[i] = ~w_[i];
  return out;
}

namespace {

/// How often a byte occurs in telemetry text, roughly (relative units): the
/// analysis prefers the requirement whose bytes are rarest, since a gate only
/// saves work on values that lack all of its bytes.
double weight(unsigned char b) noexcept {
  if (b >= 'a' && b <= 'z') return 6;
  if (b == ' ') return 15;
  if (b >= 'A' && b <= 'Z') return 1;
  if (b >= '0' && b <= '9') return 1;
  switch (b) {
  case '.':
  case ',':
  case '-':
  case '_':
  case ':':
  case '/':
  case '"':
    return 0.6;
  case '\'':
  case '(':
  case ')':
  case '=':
    return 0.2;
  default:
    break;
  }
  if (b >= 0x80) return 0.3;
  return 0.05; // other punctuation and control characters
}

/// The sum of the weights of the bytes of `s`, in ascending byte order.
/// Called for every atom of every pattern, once per gate class, at load.
double weight(const byte_set& s) noexcept {
  static const std::array<double, 256> table = [] {
    std::array<double, 256> t{};
    for (unsigned b = 0; b < 256; ++b)
      t[b] = weight(static_cast<unsigned char>(b));
    return t;
  }();
  double w = 0;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::uint64_t bits = s.word(i); bits != 0; bits &= bits - 1)
      w += table[i * 64 + static_cast<std::size_t>(std::countr_zero(bits))];
  return w;
}

double total_weight() noexcept {
  static const double total = [] {
    double w = 0;
    for (unsigned b = 0; b < 256; ++b)
      w += weight(static_cast<unsigned char>(b));
    return w;
  }();
  return total;
}

byte_set high_bytes() noexcept {
  byte_set s;
  s.add_range(0x80, 0xFF);
  return s;
}

byte_set digits() noexcept {
  byte_set s;
  s.add_range('0', '9');
  return s;
}

byte_set word_chars() noexcept {
  byte_set s = digits();
  s.add_range('a', 'z');
  s.add_range('A', 'Z');
  s.add('_');
  return s;
}

byte_set space_chars() noexcept {
  byte_set s;
  s.add_range('\t', '\r'); // \t \n \v \f \r
  s.add(' ');
  return s;
}

/// A recursive-descent reading of the pattern. `req` is the requirement of a
/// piece: nullopt when the piece can match without any particular byte (it may
/// match empty), else a set one byte of which every match of the piece holds.
class analyser {
public:
  analyser(std::string_view p, const byte_set& within) : p_(p), within_(within) {}

  std::optional<byte_set> run() {
    bool icase = false;
    const std::optional<byte_set> r = alternation(icase);
    if (!ok_ || i_ != p_.size()) return std::nullopt;
    return r;
  }

private:
  using req = std::optional<byte_set>;

  bool more() const noexcept { return i_ < p_.size(); }
  char peek() const noexcept { return p_[i_]; }
  bool fail() noexcept {
    ok_ = false;
    return false;
  }

  /// a|b|c: every branch must hold a byte of the union.
  req alternation(bool& icase) {
    bool unconstrained = false;
    byte_set all;
    for (;;) {
      const req r = sequence(icase);
      if (!ok_) return std::nullopt;
      if (r) {
        all |= *r;
      } else {
        unconstrained = true;
      }
      if (more() && peek() == '|') {
        ++i_;
        continue;
      }
      break;
    }
    if (unconstrained) return std::nullopt;
    return all;
  }

  /// abc: any piece's requirement holds for the whole; keep the rarest.
  req sequence(bool& icase) {
    req best;
    double best_w = std::numeric_limits<double>::infinity();
    while (ok_ && more() && peek() != '|' && peek() != ')') {
      req a = atom(icase);
      if (!ok_) return std::nullopt;
      std::size_t min = 1;
      if (!quantifier(min)) return std::nullopt;
      if (min == 0 || (a && !a->subset_of(within_))) a.reset();
      if (a) {
        const double w = weight(*a);
        if (w < best_w) {
          best_w = w;
          best = a;
        }
      }
    }
    return best;
  }

  /// Reads a quantifier after an atom (if any): its minimum count in `min`.
  bool quantifier(std::size_t& min) {
    if (!more()) return true;
    const char c = peek();
    if (c == '*' || c == '?') {
      min = 0;
      ++i_;
    } else if (c == '+') {
      ++i_;
    } else if (c == '{') {
      // {m}, {m,}, {m,n}; anything else is a literal '{' (PCRE), read as an atom next.
      std::size_t j = i_ + 1;
      std::size_t m = 0;
      const std::size_t digits_from = j;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9')
        m = m * 10 + static_cast<std::size_t>(p_[j++] - '0');
      if (j == digits_from) return true;
      if (j < p_.size() && p_[j] == ',') {
        ++j;
        while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9')
          ++j;
      }
      if (j >= p_.size() || p_[j] != '}') return true;
      i_ = j + 1;
      min = m;
    } else {
      return true;
    }
    if (more() && (peek() == '?' || peek() == '+')) ++i_; // lazy / possessive
    if (more() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{'))
      return fail(); // a quantified quantifier: not something the rules write
    return true;
  }

  /// The byte a UTF-8 sequence starting at i_ begins with; consumes it.
  unsigned char utf8_char() {
    const auto lead = static_cast<unsigned char>(p_[i_++]);
    while (more() && (static_cast<unsigned char>(peek()) & 0xC0) == 0x80)
      ++i_;
    return lead;
  }

  static byte_set literal(unsigned char c, bool icase) {
    byte_set s;
    if (c >= 0x80) {
      // Case-insensitive non-ASCII letters fold to other byte sequences.
      if (icase) return high_bytes();
      s.add(c);
      return s;
    }
    s.add(c);
    return icase ? s.case_closed() : s;
  }

  /// An escape outside a class: its set, or nullopt for an assertion. Sets ok_
  /// false for escapes the analysis does not know.
  req escape(bool icase, bool& assertion) {
    assertion = false;
    if (!more()) {
      fail();
      return std::nullopt;
    }
    const char c = p_[i_++];
    switch (c) {
    case 'd':
      return digits();
    case 'D':
      return digits().inverted();
    case 'w':
      return word_chars();
    case 'W':
      return word_chars().inverted();
    case 's':
      return space_chars();
    case 'S':
      return space_chars().inverted();
    case 'b':
    case 'B':
    case 'A':
    case 'z':
    case 'Z':
      assertion = true;
      return std::nullopt;
    case 'n':
      return literal('\n', false);
    case 'r':
      return literal('\r', false);
    case 't':
      return literal('\t', false);
    case 'f':
      return literal('\f', false);
    case 'v':
      return literal('\v', false);
    case 'e':
      return literal(0x1B, false);
    case 'a':
      return literal(0x07, false);
    case 'x': {
      char32_t cp = 0;
      if (!hex_escape(cp)) {
        fail();
        return std::nullopt;
      }
      if (cp >= 0x80) return icase ? high_bytes() : literal(lead_byte(cp), false);
      return literal(static_cast<unsigned char>(cp), icase);
    }
    default:
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || u >= 0x80) {
      fail(); // \p, \Q, back-references, ...: not analysed
      return std::nullopt;
    }
    return literal(u, icase);
  }

  static unsigned char lead_byte(char32_t cp) noexcept {
    if (cp < 0x800) return static_cast<unsigned char>(0xC0 | (cp >> 6));
    if (cp < 0x10000) return static_cast<unsigned char>(0xE0 | (cp >> 12));
    return static_cast<unsigned char>(0xF0 | (cp >> 18));
  }

  /// After "\x": `{H…}` or `HH`.
  bool hex_escape(char32_t& cp) {
    const auto hex = [](char h) -> int {
      if (h >= '0' && h <= '9') return h - '0';
      if (h >= 'a' && h <= 'f') return h - 'a' + 10;
      if (h >= 'A' && h <= 'F') return h - 'A' + 10;
      return -1;
    };
    cp = 0;
    if (more() && peek() == '{') {
      ++i_;
      std::size_t n = 0;
      while (more() && peek() != '}') {
        const int d = hex(p_[i_++]);
        if (d < 0 || ++n > 6) return false;
        cp = cp * 16 + static_cast<char32_t>(d);
      }
      if (!more() || n == 0) return false;
      ++i_;
      return cp <= 0x10FFFF;
    }
    for (int k = 0; k < 2; ++k) {
      if (!more()) return false;
      const int d = hex(p_[i_++]);
      if (d < 0) return false;
      cp = cp * 16 + static_cast<char32_t>(d);
    }
    return true;
  }

  req atom(bool& icase) {
    const char c = p_[i_];
    switch (c) {
    case '(':
      return group(icase);
    case '[':
      ++i_;
      return char_class(icase);
    case '.': {
      ++i_;
      byte_set s;
      s = s.inverted();
      return s;
    }
    case '^':
    case '$':
      ++i_;
      return std::nullopt;
    case '\\': {
      ++i_;
      bool assertion = false;
      return escape(icase, assertion);
    }
    case '*':
    case '+':
    case '?':
      fail(); // a quantifier with nothing to repeat
      return std::nullopt;
    default:
      break;
    }
    if (static_cast<unsigned char>(c) >= 0x80) return literal(utf8_char(), icase);
    ++i_;
    return literal(static_cast<unsigned char>(c), icase);
  }

  req group(bool& icase) {
    ++i_; // '('
    bool inner = icase;
    if (more() && peek() == '?') {
      ++i_;
      if (!more()) {
        fail();
        return std::nullopt;
      }
      if (peek() == ':') {
        ++i_;
      } else if (peek() == 'P' || peek() == '<') {
        // (?P<name>…) or (?<name>…); (?<= and (?<! are look-behind.
        if (peek() == 'P') ++i_;
        if (!more() || peek() != '<' || i_ + 1 >= p_.size() || p_[i_ + 1] == '=' ||
            p_[i_ + 1] == '!') {
          fail();
          return std::nullopt;
        }
        while (more() && peek() != '>')
          ++i_;
        if (!more()) {
          fail();
          return std::nullopt;
        }
        ++i_;
      } else {
        // Flags: (?i) (?-i) (?i:…) (?-i:…); other flags are not analysed.
        bool on = true;
        bool value = icase;
        while (more() && (peek() == 'i' || peek() == '-')) {
          if (peek() == '-') {
            on = false;
          } else {
            value = on;
          }
          ++i_;
        }
        if (!more()) {
          fail();
          return std::nullopt;
        }
        if (peek() == ')') {
          ++i_;
          icase = value; // the rest of the enclosing group
          return std::nullopt;
        }
        if (peek() != ':') {
          fail();
          return std::nullopt;
        }
        ++i_;
        inner = value;
      }
    }
    const req r = alternation(inner);
    if (!ok_ || !more() || peek() != ')') {
      fail();
      return std::nullopt;
    }
    ++i_;
    return r;
  }

  /// One member of a class at i_ (after '[' and '^'): adds it to `s`; `single`
  /// receives its code point when it is a single character (for ranges).
  bool class_member(byte_set& s, bool icase, std::optional<char32_t>& single) {
    single.reset();
    const char c = peek();
    if (c == '[' && i_ + 1 < p_.size() &&
        (p_[i_ + 1] == ':' || p_[i_ + 1] == '=' || p_[i_ + 1] == '.'))
      return fail(); // POSIX classes are not analysed
    if (static_cast<unsigned char>(c) >= 0x80) {
      const std::size_t from = i_;
      utf8_char();
      char32_t cp = 0;
      if (!decode(p_.substr(from, i_ - from), cp)) return fail();
      single = cp;
      s |= high_bytes();
      return true;
    }
    if (c != '\\') {
      ++i_;
      single = static_cast<unsigned char>(c);
      s |= literal(static_cast<unsigned char>(c), icase);
      return true;
    }
    ++i_;
    if (!more()) return fail();
    const char e = p_[i_++];
    switch (e) {
    case 'd':
      s |= digits();
      return true;
    case 'D':
      s |= digits().inverted();
      return true;
    case 'w':
      s |= word_chars();
      return true;
    case 'W':
      s |= word_chars().inverted();
      return true;
    case 's':
      s |= space_chars();
      return true;
    case 'S':
      s |= space_chars().inverted();
      return true;
    case 'n':
      single = '\n';
      break;
    case 'r':
      single = '\r';
      break;
    case 't':
      single = '\t';
      break;
    case 'f':
      single = '\f';
      break;
    case 'v':
      single = '\v';
      break;
    case 'e':
      single = 0x1B;
      break;
    case 'a':
      single = 0x07;
      break;
    case 'b':
      single = 0x08; // backspace inside a class
      break;
    case 'x': {
      char32_t cp = 0;
      if (!hex_escape(cp)) return fail();
      single = cp;
      break;
    }
    default:
      if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9') ||
          static_cast<unsigned char>(e) >= 0x80)
        return fail();
      single = static_cast<unsigned char>(e);
    }
    if (*single >= 0x80) {
      s |= high_bytes();
    } else {
      s |= literal(static_cast<unsigned char>(*single), icase);
    }
    return true;
  }

  static bool decode(std::string_view u, char32_t& cp) noexcept {
    const auto b0 = static_cast<unsigned char>(u[0]);
    std::size_t len = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      len = 2;
      cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      len = 3;
      cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      len = 4;
      cp = b0 & 0x07;
    } else {
      return false;
    }
    if (u.size() != len) return false;
    for (std::size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(u[k]) & 0x3F);
    return true;
  }

  req char_class(bool icase) {
    bool negated = false;
    if (more() && peek() == '^') {
      negated = true;
      ++i_;
    }
    byte_set s;
    bool first = true;
    while (ok_) {
      if (!more()) {
        fail();
        return std::nullopt;
      }
      if (peek() == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      std::optional<char32_t> lo;
      if (!class_member(s, icase, lo)) return std::nullopt;
      // A range: lo-hi (a '-' before ']' is literal).
      if (lo && i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        std::optional<char32_t> hi;
        byte_set ignored;
        if (!class_member(ignored, icase, hi)) return std::nullopt;
        if (!hi || *hi < *lo) {
          fail();
          return std::nullopt;
        }
        if (*lo < 0x80) {
          byte_set range;
          range.add_range(static_cast<unsigned>(*lo), *hi < 0x80 ? *hi : 0x7F);
          s |= icase ? range.case_closed() : range;
        }
        if (*hi >= 0x80) s |= high_bytes();
      }
    }
    if (!negated) return s;
    // A negated class matches any character it does not list: every byte not
    // in it, and any non-ASCII character (whatever it listed of them).
    byte_set out = s.inverted();
    out |= high_bytes();
    return out;
  }

  std::string_view p_;
  byte_set within_;
  std::size_t i_ = 0;
  bool ok_ = true;
};

} // namespace

double text_share(const byte_set& s) noexcept {
  // Called for every atom of every pattern at load (filter.hpp): a table.
  static const std::array<double, 256> share = [] {
    std::array<double, 256> t{};
    for (unsigned b = 0; b < 256; ++b)
      t[b] = weight(static_cast<unsigned char>(b)) / total_weight();
    return t;
  }();
  double sum = 0;
  for (std::size_t i = 0; i < 4; ++i)
    for (std::uint64_t w = s.word(i); w != 0; w &= w - 1)
      sum += share[i * 64 + static_cast<std::size_t>(std::countr_zero(w))];
  return sum;
}

std::optional<byte_set> required_bytes(std::string_view pattern, const byte_set& within) {
  return analyser(pattern, within).run();
}

std::optional<byte_set> required_bytes(std::string_view pattern) {
  return required_bytes(pattern, byte_set{}.inverted());
}

} // namespace bulwark::scan
