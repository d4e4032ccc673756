#include "scan/filter.hpp"

#include "scan/gate.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace bulwark::scan {
namespace {

/// Rounding slack when comparing sums of logarithms.
constexpr double slack = 1e-9;

/// A quantifier without an upper bound.
constexpr std::size_t unbounded = static_cast<std::size_t>(-1);

struct piece;
struct branch {
  std::vector<piece> pieces;
};

/// An atom and its quantifier, as spans of the pattern.
struct piece {
  std::size_t begin = 0;    ///< the atom starts here
  std::size_t inner = 0;    ///< a group's alternation starts here (after its opener)
  std::size_t atom_end = 0; ///< the quantifier (if any) starts here
  std::size_t end = 0;      ///< the piece ends here
  double bits = 0;          ///< selectivity of one occurrence of the atom
  std::size_t min = 1;      ///< the quantifier's minimum count
  std::size_t max = 1;      ///< the quantifier's maximum count (`unbounded`: none)
  /// What the atom is: one byte of `bytes`, an assertion that consumes
  /// nothing (a flag setting too), a group with an alternation inside, or
  /// something flatten() does not follow (a multi-byte character).
  enum class shape : std::uint8_t { one_byte, zero_width, group, other } kind = shape::other;
  byte_set bytes;
  bool quantified = false;
  std::vector<branch> branches;
};

double bits_of(const branch& b) noexcept {
  double sum = 0;
  for (const piece& p : b.pieces)
    sum += static_cast<double>(p.min) * p.bits;
  return sum;
}

/// The selectivity of one byte of `s` at a position of telemetry text:
/// -log2 of the share of such text the bytes of `s` make up (gate.hpp), so a
/// class of the letters and digits ids are made of counts for little and a
/// rare symbol for much.
double bits_of(const byte_set& s) noexcept {
  const double share = text_share(s);
  if (share <= 0) return 0; // never matches; nothing to gain from it
  return share >= 1 ? 0 : -std::log2(share);
}

/// Letters of prose are far more predictable than their frequencies say: a
/// word's first letters nearly fix the rest (Shannon put English at 1-3 bits
/// per letter in context). Without the cap, a phrase rule's verb and the
/// next word ("reveal internal") would pass for selective.
constexpr double letter_bits_cap = 3;

/// One literal byte (either case when `icase`).
double literal_bits(unsigned char c, bool icase) noexcept {
  byte_set s;
  s.add(c);
  const double b = bits_of(icase ? s.case_closed() : s);
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return letter && b > letter_bits_cap ? letter_bits_cap : b;
}

/// A recursive-descent reading of the pattern into pieces; fails (ok_ false)
/// on anything whose extent it cannot be sure of.
class parser {
public:
  parser(std::string_view p, bool caseless) : p_(p), icase_(caseless) {}

  bool run(std::vector<branch>& top) {
    alternation(top);
    return ok_ && i_ == p_.size();
  }

private:
  bool more() const noexcept { return i_ < p_.size(); }
  char peek() const noexcept { return p_[i_]; }
  void fail() noexcept { ok_ = false; }

  void alternation(std::vector<branch>& out) {
    for (;;) {
      out.emplace_back();
      while (ok_ && more() && peek() != '|' && peek() != ')')
        out.back().pieces.push_back(parse_piece());
      if (!ok_ || !more() || peek() != '|') return;
      ++i_;
    }
  }

  piece parse_piece() {
    piece pc;
    pc.begin = i_;
    atom(pc);
    pc.atom_end = i_;
    if (ok_) quantifier(pc);
    pc.end = i_;
    return pc;
  }

  void quantifier(piece& pc) {
    if (!more()) return;
    const char c = peek();
    if (c == '*' || c == '?') {
      pc.min = 0;
      pc.max = c == '*' ? unbounded : 1;
      ++i_;
    } else if (c == '+') {
      pc.max = unbounded;
      ++i_;
    } else if (c == '{') {
      std::size_t j = i_ + 1;
      std::size_t m = 0;
      const std::size_t from = j;
      while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9' && j - from < 6)
        m = m * 10 + static_cast<std::size_t>(p_[j++] - '0');
      if (j == from) return; // a literal '{', read as the next atom
      std::size_t n = m;
      if (j < p_.size() && p_[j] == ',') {
        ++j;
        const std::size_t upper = j;
        n = 0;
        while (j < p_.size() && p_[j] >= '0' && p_[j] <= '9' && j - upper < 6)
          n = n * 10 + static_cast<std::size_t>(p_[j++] - '0');
        if (j == upper) n = unbounded;
      }
      if (j >= p_.size() || p_[j] != '}') return;
      i_ = j + 1;
      pc.min = m;
      pc.max = n;
    } else {
      return;
    }
    pc.quantified = true;
    if (more() && (peek() == '?' || peek() == '+')) ++i_; // lazy / possessive
    if (more() && (peek() == '*' || peek() == '+' || peek() == '?' || peek() == '{')) fail();
  }

  void atom(piece& pc) {
    const char c = peek();
    switch (c) {
    case '(':
      group(pc);
      return;
    case '[':
      ++i_;
      pc.bytes = char_class();
      pc.kind = piece::shape::one_byte;
      pc.bits = bits_of(pc.bytes);
      return;
    case '.':
      ++i_;
      pc.bytes = byte_set{}.inverted();
      pc.kind = piece::shape::one_byte;
      return;
    case '^':
    case '$':
      ++i_;
      pc.kind = piece::shape::zero_width;
      return;
    case '\\':
      ++i_;
      pc.bits = escape(pc);
      return;
    case '*':
    case '+':
    case '?':
      fail();
      return;
    default:
      break;
    }
    const auto u = static_cast<unsigned char>(c);
    ++i_;
    if (u >= 0x80) {
      while (more() && (static_cast<unsigned char>(peek()) & 0xC0) == 0x80)
        ++i_;
      pc.bits = literal_bits(u, icase_);
      return;
    }
    pc.bits = literal_bits(u, icase_);
    one_byte(pc, u);
  }

  /// `pc` is the literal byte `u` (either case under `(?i)`).
  void one_byte(piece& pc, unsigned char u) const noexcept {
    byte_set s;
    s.add(u);
    pc.bytes = icase_ ? s.case_closed() : s;
    pc.kind = piece::shape::one_byte;
  }

  void group(piece& pc) {
    ++i_; // '('
    // Case-insensitivity set inside the group (or by a (?i:…) opener) ends with it.
    const bool outer = icase_;
    if (more() && peek() == '?') {
      ++i_;
      if (!more()) return fail();
      if (peek() == ':') {
        ++i_;
      } else if (peek() == 'P' || peek() == '<') {
        if (peek() == 'P') ++i_;
        if (!more() || peek() != '<' || i_ + 1 >= p_.size() || p_[i_ + 1] == '=' ||
            p_[i_ + 1] == '!')
          return fail(); // look-behind
        while (more() && peek() != '>')
          ++i_;
        if (!more()) return fail();
        ++i_;
      } else {
        // Flags other than i, m, s (x changes what the pattern's bytes mean)
        // and look-ahead are not followed.
        bool on = true;
        bool icase = icase_;
        while (more() && (peek() == 'i' || peek() == 'm' || peek() == 's' || peek() == '-')) {
          if (peek() == '-') on = false;
          if (peek() == 'i') icase = on;
          ++i_;
        }
        if (!more()) return fail();
        if (peek() == ')') {
          ++i_; // a flag setting for the rest of the enclosing group: matches nothing
          icase_ = icase;
          pc.kind = piece::shape::zero_width;
          return;
        }
        if (peek() != ':') return fail();
        ++i_;
        icase_ = icase;
      }
    }
    pc.kind = piece::shape::group;
    pc.inner = i_;
    alternation(pc.branches);
    icase_ = outer;
    if (!ok_ || !more() || peek() != ')') return fail();
    ++i_;
    double least = 0;
    bool first = true;
    for (const branch& b : pc.branches) {
      const double v = bits_of(b);
      if (first || v < least) least = v;
      first = false;
    }
    pc.bits = least;
  }

  /// The selectivity of an escape outside a class (0 for an assertion);
  /// records what it matches in `pc`.
  double escape(piece& pc) {
    if (!more()) {
      fail();
      return 0;
    }
    const char c = p_[i_++];
    byte_set s;
    const auto control = [&](unsigned char b) {
      s.add(b);
      pc.bytes = s;
      pc.kind = piece::shape::one_byte;
      return literal_bits(b < 0x20 && b != '\n' && b != '\r' && b != '\t' ? 0x01 : b, false);
    };
    switch (c) {
    case 'b':
    case 'B':
    case 'A':
    case 'z':
    case 'Z':
      pc.kind = piece::shape::zero_width;
      return 0;
    case 'x': {
      const std::size_t from = i_;
      hex();
      const unsigned long cp = code_point(p_.substr(from, i_ - from));
      if (cp < 0x80) one_byte(pc, static_cast<unsigned char>(cp));
      return literal_bits(cp >= 0x80 ? 0x80 : static_cast<unsigned char>(cp), icase_);
    }
    case 'n':
      return control('\n');
    case 'r':
      return control('\r');
    case 't':
      return control('\t');
    case 'f': // control characters: all equally rare
      return control('\f');
    case 'v':
      return control('\v');
    case 'e':
      return control(0x1B);
    case 'a':
      return control(0x07);
    default:
      break;
    }
    if (class_escape(c, s)) {
      pc.bytes = s;
      pc.kind = piece::shape::one_byte;
      return bits_of(s);
    }
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || u >= 0x80) {
      fail(); // \p, \Q, back-references, ...
      return 0;
    }
    one_byte(pc, u);
    return literal_bits(u, icase_);
  }

  /// The code point of the digits after "\x" (`HH` or `{H…}`).
  static unsigned long code_point(std::string_view digits) noexcept {
    unsigned long cp = 0;
    for (const char h : digits) {
      if (h == '{' || h == '}') continue;
      cp = cp * 16 + static_cast<unsigned long>(h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10);
    }
    return cp;
  }

  /// \d \w \s and their complements into `s`.
  static bool class_escape(char c, byte_set& s) noexcept {
    byte_set base;
    switch (c) {
    case 'd':
    case 'D':
      base.add_range('0', '9');
      break;
    case 'w':
    case 'W':
      base.add_range('0', '9');
      base.add_range('a', 'z');
      base.add_range('A', 'Z');
      base.add('_');
      break;
    case 's':
    case 'S':
      base.add_range('\t', '\r');
      base.add(' ');
      break;
    default:
      return false;
    }
    s |= (c >= 'A' && c <= 'Z') ? base.inverted() : base;
    return true;
  }

  /// After "\x": `{H…}` or `HH`.
  void hex() {
    const auto is_hex = [](char h) {
      return (h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F');
    };
    if (more() && peek() == '{') {
      ++i_;
      std::size_t n = 0;
      while (more() && peek() != '}') {
        if (!is_hex(peek()) || ++n > 6) return fail();
        ++i_;
      }
      if (!more() || n == 0) return fail();
      ++i_;
      return;
    }
    for (int k = 0; k < 2; ++k) {
      if (!more() || !is_hex(peek())) return fail();
      ++i_;
    }
  }

  /// One member of a class (after '[' and '^'): its byte, when a single ASCII
  /// one, for ranges; non-ASCII members count as every byte from 0x80.
  std::optional<unsigned char> class_member(byte_set& s) {
    const char c = peek();
    if (c == '[' && i_ + 1 < p_.size() &&
        (p_[i_ + 1] == ':' || p_[i_ + 1] == '=' || p_[i_ + 1] == '.')) {
      fail(); // POSIX classes
      return std::nullopt;
    }
    const auto u = static_cast<unsigned char>(c);
    ++i_;
    if (u >= 0x80) {
      while (more() && (static_cast<unsigned char>(peek()) & 0xC0) == 0x80)
        ++i_;
      s.add_range(0x80, 0xFF);
      return std::nullopt;
    }
    if (c != '\\') {
      s.add(u);
      return u;
    }
    if (!more()) {
      fail();
      return std::nullopt;
    }
    const char e = p_[i_++];
    if (class_escape(e, s)) return std::nullopt;
    unsigned char single = 0;
    switch (e) {
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
      single = 0x08;
      break;
    case 'x': {
      // Any code point: counted as every byte from 0x80 when above ASCII.
      const std::size_t from = i_;
      hex();
      if (!ok_) return std::nullopt;
      const unsigned long cp = code_point(p_.substr(from, i_ - from));
      if (cp >= 0x80) {
        s.add_range(0x80, 0xFF);
        return std::nullopt;
      }
      single = static_cast<unsigned char>(cp);
      break;
    }
    default:
      if ((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') || (e >= '0' && e <= '9') ||
          static_cast<unsigned char>(e) >= 0x80) {
        fail();
        return std::nullopt;
      }
      single = static_cast<unsigned char>(e);
    }
    s.add(single);
    return single;
  }

  /// A class after its '[': the bytes it admits, in either case (non-ASCII
  /// members count as every byte from 0x80).
  byte_set char_class() {
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
        return {};
      }
      if (peek() == ']' && !first) {
        ++i_;
        break;
      }
      first = false;
      const std::optional<unsigned char> lo = class_member(s);
      if (!ok_) return {};
      if (i_ + 1 < p_.size() && peek() == '-' && p_[i_ + 1] != ']') {
        ++i_;
        byte_set ignored;
        const std::optional<unsigned char> hi = class_member(ignored);
        if (!ok_) return {};
        if (!lo) {
          fail();
          return {};
        }
        if (hi) {
          if (*hi < *lo) {
            fail();
            return {};
          }
          s.add_range(*lo, *hi);
        } else {
          s.add_range(*lo, 0xFF); // up to a non-ASCII character
        }
      }
    }
    if (!negated) return icase_ ? s.case_closed() : s;
    byte_set out = s.inverted();
    out.add_range(0x80, 0xFF);
    return out;
  }

  std::string_view p_;
  bool icase_;
  std::size_t i_ = 0;
  bool ok_ = true;
};

/// Writes the prefix of `b` that keeps `budget` bits to `out`; true when the
/// budget was reached (the rest of the enclosing sequence is then dropped).
bool cut(std::string_view p, const branch& b, double budget, std::string& out) {
  double acc = 0;
  for (const piece& pc : b.pieces) {
    const double total = static_cast<double>(pc.min) * pc.bits;
    if (acc + total + slack < budget) {
      out.append(p.substr(pc.begin, pc.end - pc.begin));
      acc += total;
      continue;
    }
    const double need = budget - acc;
    if (!pc.quantified) {
      if (pc.kind != piece::shape::group) {
        out.append(p.substr(pc.begin, pc.end - pc.begin));
        return true;
      }
      // Every branch holds at least `need` bits (the group's bits are their
      // least), so every one of them is cut: none runs on into what follows.
      out.append(p.substr(pc.begin, pc.inner - pc.begin));
      for (std::size_t k = 0; k < pc.branches.size(); ++k) {
        if (k > 0) out += '|';
        cut(p, pc.branches[k], need, out);
      }
      out += ')';
      return true;
    }
    // The first `count` repetitions of the atom start every match of the piece.
    auto count = static_cast<std::size_t>(std::ceil(need / pc.bits - slack));
    if (count < 1) count = 1;
    if (count > pc.min) count = pc.min;
    out.append(p.substr(pc.begin, pc.atom_end - pc.begin));
    if (count > 1) out += '{' + std::to_string(count) + '}';
    return true;
  }
  return acc + slack >= budget;
}

// Flattening: an alternation of byte-class sequences without letters (a
// card's issuer prefixes, a phone's national formats) is a large automaton
// for Hyperscan, ~5x slower per byte than one class sequence of the same
// length. Each offset of its first bytes, over every branch, admits the union
// of the classes found there: "(?:4\d{3}|5[1-5]\d{2}|3[47]\d{2}[ -]?)\d{4}"
// starts with "[345]\d{3}[ -0-9]\d{3}". A looser filter, and a far cheaper one.

/// The offsets a match can have reached, one bit each; bit `window` is "at or
/// past the window".
using offsets = std::uint64_t;

/// The longest window flatten() looks at.
constexpr std::size_t max_window = 32;

/// The fewest bytes any match of the piece (or branch) consumes.
std::size_t min_length(const piece& pc);
std::size_t min_length(const branch& b) {
  std::size_t n = 0;
  for (const piece& pc : b.pieces)
    n = std::min(n + min_length(pc), std::size_t{1} << 20);
  return n;
}
std::size_t min_length(const piece& pc) {
  std::size_t one = 0;
  switch (pc.kind) {
  case piece::shape::zero_width:
    return 0;
  case piece::shape::one_byte:
    one = 1;
    break;
  case piece::shape::group: {
    one = std::size_t{1} << 20;
    for (const branch& b : pc.branches)
      one = std::min(one, min_length(b));
    break;
  }
  case piece::shape::other:
    return 0;
  }
  return std::min(one * std::min(pc.min, std::size_t{1} << 20), std::size_t{1} << 20);
}

/// True when every byte the piece can match is an ASCII non-letter one (and
/// the piece is made of things flatten() follows). ASCII only: in a pattern
/// Hyperscan reads as UTF-8, a class that admits non-ASCII characters matches
/// one code point of several bytes, which offsets counted in bytes misplace.
bool letter_free(const piece& pc) {
  static constexpr byte_set excluded = [] {
    byte_set s;
    s.add_range('a', 'z');
    s.add_range('A', 'Z');
    s.add_range(0x80, 0xFF);
    return s;
  }();
  switch (pc.kind) {
  case piece::shape::zero_width:
    return true;
  case piece::shape::one_byte: {
    for (std::size_t i = 0; i < 4; ++i)
      if ((pc.bytes.word(i) & excluded.word(i)) != 0) return false;
    return true;
  }
  case piece::shape::group:
    for (const branch& b : pc.branches)
      for (const piece& q : b.pieces)
        if (!letter_free(q)) return false;
    return true;
  case piece::shape::other:
    return false;
  }
  return false;
}

offsets place(const branch& b, offsets from, std::vector<byte_set>& at);

/// One occurrence of the piece's atom from each offset of `from`: adds the
/// bytes it may put at each offset to `at`, returns where it may end.
offsets place_once(const piece& pc, offsets from, std::vector<byte_set>& at) {
  const std::size_t window = at.size();
  switch (pc.kind) {
  case piece::shape::zero_width:
    return from;
  case piece::shape::one_byte: {
    offsets to = 0;
    for (std::size_t o = 0; o <= window; ++o) {
      if ((from >> o & 1U) == 0) continue;
      if (o < window) at[o] |= pc.bytes;
      to |= offsets{1} << std::min(o + 1, window);
    }
    return to;
  }
  case piece::shape::group: {
    offsets to = 0;
    for (const branch& b : pc.branches)
      to |= place(b, from, at);
    return to;
  }
  case piece::shape::other:
    break;
  }
  return from;
}

/// The piece with its quantifier.
offsets place(const piece& pc, offsets from, std::vector<byte_set>& at) {
  const offsets past = offsets{1} << at.size();
  offsets cur = from;
  for (std::size_t k = 0; k < pc.min && cur != past; ++k)
    cur = place_once(pc, cur, at);
  if (pc.max == pc.min) return cur;
  // Optional repetitions: each adds its ends. A window's worth is enough,
  // since every one that consumes a byte moves on by at least one offset.
  offsets all = cur;
  const std::size_t extra =
      pc.max == unbounded ? at.size() + 1 : std::min(pc.max - pc.min, at.size() + 1);
  for (std::size_t k = 0; k < extra && cur != 0; ++k) {
    cur = place_once(pc, cur, at);
    all |= cur;
  }
  return all;
}

offsets place(const branch& b, offsets from, std::vector<byte_set>& at) {
  for (const piece& pc : b.pieces)
    from = place(pc, from, at);
  return from;
}

/// `s` as one Hyperscan atom.
std::string class_pattern(const byte_set& s) {
  static constexpr char hex[] = "0123456789abcdef";
  const auto one = [](unsigned b) {
    const char c = static_cast<char>(b);
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
      return std::string(1, c);
    return std::string{'\\', 'x', hex[b >> 4], hex[b & 15]};
  };
  std::string out = "[";
  unsigned members = 0;
  for (unsigned b = 0; b < 256;) {
    if (!s.has(static_cast<unsigned char>(b))) {
      ++b;
      continue;
    }
    unsigned e = b;
    while (e + 1 < 256 && s.has(static_cast<unsigned char>(e + 1)))
      ++e;
    out += one(b);
    if (e > b + 1) out += '-';
    if (e > b) out += one(e);
    members += e - b + 1;
    b = e + 1;
  }
  if (members == 1) return out.substr(1);
  return out + "]";
}

/// `filter` (a cut pattern) with, in each top-level branch, the first
/// alternation of letter-free byte sequences that can stand for the rest
/// replaced by its flattened first bytes, and the rest of the branch dropped:
/// every match of the branch starts with the pieces before the group and then
/// bytes of those classes. Only where the classes keep three quarters of
/// the selectivity `bits` asks for.
std::string flatten(const std::string& filter, bool caseless, double bits) {
  std::vector<branch> top;
  if (!parser(filter, caseless).run(top)) return filter;
  std::string out;
  for (std::size_t k = 0; k < top.size(); ++k) {
    if (k > 0) out += '|';
    double before = 0;
    std::string kept;
    for (const piece& pc : top[k].pieces) {
      if (pc.kind == piece::shape::group && pc.branches.size() >= 2 && pc.min == 1 && pc.max == 1 &&
          letter_free(pc)) {
        const std::size_t window = std::min(min_length(pc), max_window);
        if (window >= 4) {
          std::vector<byte_set> at(window);
          place(pc, 1, at);
          double acc = before;
          std::string seq;
          for (std::size_t i = 0; i < at.size() && acc + slack < bits;) {
            std::size_t n = 1;
            while (i + n < at.size() && at[i + n] == at[i] &&
                   acc + n * bits_of(at[i]) + slack < bits)
              ++n;
            seq += class_pattern(at[i]);
            if (n > 1) seq += '{' + std::to_string(n) + '}';
            acc += static_cast<double>(n) * bits_of(at[i]);
            i += n;
          }
          if (acc + slack >= 0.75 * bits) {
            kept += seq;
            break;
          }
        }
      }
      kept.append(filter, pc.begin, pc.end - pc.begin);
      before += static_cast<double>(pc.min) * pc.bits;
    }
    out += kept;
  }
  return out;
}

/// The longest run of literal bytes (a byte, or a letter in either case)
/// that every match of the branch holds.
std::size_t literal_run(const branch& b);
/// The same for an alternation: its branches' least (0 for none).
std::size_t literal_run(const std::vector<branch>& alternatives) {
  std::size_t least = static_cast<std::size_t>(-1);
  for (const branch& b : alternatives)
    least = std::min(least, literal_run(b));
  return least == static_cast<std::size_t>(-1) ? 0 : least;
}
std::size_t literal_run(const piece& pc) {
  return pc.kind == piece::shape::group && pc.min > 0 ? literal_run(pc.branches) : 0;
}
std::size_t literal_run(const branch& b) {
  std::size_t best = 0;
  std::size_t run = 0;
  for (const piece& pc : b.pieces) {
    if (pc.kind == piece::shape::zero_width) continue;
    std::size_t members = 0;
    for (std::size_t i = 0; i < 4; ++i)
      members += static_cast<std::size_t>(std::popcount(pc.bytes.word(i)));
    const bool literal = pc.kind == piece::shape::one_byte && members >= 1 &&
                         (members == 1 || (members == 2 && pc.bytes == pc.bytes.case_closed() &&
                                           (pc.bytes.word(1) & 0x07FFFFFE07FFFFFEULL) != 0));
    if (literal && pc.min >= 1) {
      run += pc.min;
      best = std::max(best, run);
      if (pc.max != pc.min) run = 0;
      continue;
    }
    run = 0;
    best = std::max(best, literal_run(pc));
  }
  return best;
}

} // namespace

std::size_t required_literal(std::string_view pattern, bool caseless) {
  std::vector<branch> top;
  if (!parser(pattern, caseless).run(top)) return 0;
  return literal_run(top);
}

std::optional<std::string> hyperscan_filter(std::string_view pattern, bool caseless, double bits) {
  std::vector<branch> top;
  if (!parser(pattern, caseless).run(top)) return std::nullopt;
  std::string out;
  for (std::size_t k = 0; k < top.size(); ++k) {
    if (k > 0) out += '|';
    cut(pattern, top[k], bits, out);
  }
  out = flatten(out, caseless, bits);
  if (out == pattern) return std::nullopt;
  return out;
}

} // namespace bulwark::scan
