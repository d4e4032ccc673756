/// Property tests for walk + splice over generated documents.
///
/// A seeded generator writes random JSON objects (nested objects and arrays,
/// strings with every kind of escape, raw and escaped non-ASCII, huge numbers,
/// awkward and duplicate keys, random whitespace) together with what the
/// walker must report for them. Each document gets its own seed (printed on
/// failure); set BULWARK_PROPERTY_SEED to explore other runs.
#include "json/splice.hpp"
#include "json/walk.hpp"
#include <cstdint>
#include <cstdlib>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::json {
namespace {

constexpr std::uint64_t default_seed = 0x5EEDB01A4C000001ULL;

std::uint64_t base_seed() {
  if (const char* s = std::getenv("BULWARK_PROPERTY_SEED")) return std::strtoull(s, nullptr, 0);
  return default_seed;
}

std::uint64_t document_seed(std::uint64_t base, std::uint64_t index) {
  return base ^ (index * 0x9E3779B97F4A7C15ULL);
}

std::string trace(std::uint64_t base, std::uint64_t index, std::string_view doc) {
  return "BULWARK_PROPERTY_SEED=" + std::to_string(base) + " document #" + std::to_string(index) +
         " (seed " + std::to_string(document_seed(base, index)) + "): " + std::string(doc);
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

/// What the walker must report for one generated value.
struct expected_value {
  std::string pointer;
  value_kind kind;
  std::string text; ///< strings: decoded text
  std::string raw;  ///< scalars: the raw token as generated
};

class generator {
public:
  explicit generator(std::uint64_t seed) : rng_(seed) {}

  /// A JSON object, possibly with whitespace around it.
  std::string document(std::vector<expected_value>& values) {
    std::string out;
    std::string pointer;
    if (chance(20)) ws(out);
    object(out, pointer, 0, values);
    if (chance(20)) ws(out);
    return out;
  }

  /// Decoded (valid UTF-8) text full of things that need escaping.
  std::string replacement() {
    static constexpr std::string_view pieces[] = {"\"",
                                                  "\\",
                                                  "\\u0000",
                                                  "</script>",
                                                  "\xC3\xA9",
                                                  "\xF0\x9F\x98\x80",
                                                  "\xE2\x80\xA8",
                                                  "\xE2\x80\xA9",
                                                  "\xEF\xBF\xBD",
                                                  "\x7F",
                                                  "${jndi:x}",
                                                  "/",
                                                  "~1",
                                                  " ",
                                                  "ok"};
    std::string s;
    const std::uint64_t n = below(16);
    for (std::uint64_t i = 0; i < n; ++i) {
      if (chance(30)) {
        s.push_back(static_cast<char>(below(0x20))); // any control character
      } else if (chance(30)) {
        s.push_back(static_cast<char>(0x20 + below(0x5F))); // printable ASCII
      } else {
        s += pieces[below(std::size(pieces))];
      }
    }
    return s;
  }

  std::uint64_t below(std::uint64_t n) { return rng_() % n; }
  bool chance(std::uint64_t percent) { return below(100) < percent; }

private:
  static constexpr int max_depth = 6;

  void ws(std::string& out) {
    static constexpr char spaces[] = {' ', ' ', ' ', '\t', '\r'};
    const std::uint64_t n = 1 + below(3);
    for (std::uint64_t i = 0; i < n; ++i)
      out.push_back(spaces[below(std::size(spaces))]);
  }
  void maybe_ws(std::string& out) {
    if (chance(25)) ws(out);
  }

  void hex4(std::string& out, std::uint32_t v) {
    static constexpr char lower[] = "0123456789abcdef";
    static constexpr char upper[] = "0123456789ABCDEF";
    const char* digits = chance(50) ? lower : upper;
    for (int shift = 12; shift >= 0; shift -= 4)
      out.push_back(digits[(v >> shift) & 0xF]);
  }

  /// Appends a JSON string literal to `out` and its decoded text to `decoded`.
  void string_literal(std::string& out, std::string& decoded) {
    out.push_back('"');
    const std::uint64_t n = below(10);
    for (std::uint64_t i = 0; i < n; ++i) {
      switch (below(11)) {
      case 0: {
        const auto c = static_cast<char>(0x20 + below(0x5F));
        if (c == '"' || c == '\\') break;
        out.push_back(c);
        decoded.push_back(c);
        break;
      }
      case 1:
        out += "\\\"";
        decoded += '"';
        break;
      case 2:
        out += "\\\\";
        decoded += '\\';
        break;
      case 3:
        out += chance(50) ? "\\/" : "/";
        decoded += '/';
        break;
      case 4: {
        static constexpr std::string_view esc = "bfnrt";
        static constexpr std::string_view dec = "\b\f\n\r\t";
        const std::size_t k = below(esc.size());
        out += '\\';
        out += esc[k];
        decoded += dec[k];
        break;
      }
      case 5: { // a control character (or NUL) as \u00XX
        const auto c = static_cast<std::uint32_t>(chance(20) ? 0 : below(0x20));
        out += "\\u";
        hex4(out, c);
        decoded.push_back(static_cast<char>(c));
        break;
      }
      case 6: { // raw non-ASCII
        static constexpr std::string_view raw[] = {
            "\xC3\xA9",     "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xE4\xB8\xAD", "\xE2\x80\xA8",
            "\xEF\xBF\xBD", "\x7F"};
        const std::string_view r = raw[below(std::size(raw))];
        out += r;
        decoded += r;
        break;
      }
      case 7: { // escaped BMP character
        static constexpr std::uint32_t cps[] = {0x3C,   0x3E,   0x7E,   0x2F,   0x7F,   0x80,
                                                0xE9,   0x7FF,  0x800,  0x2028, 0x2029, 0x4E2D,
                                                0xD7FF, 0xE000, 0xFFFD, 0xFFFF};
        const std::uint32_t cp = cps[below(std::size(cps))];
        out += "\\u";
        hex4(out, cp);
        append_utf8(decoded, cp);
        break;
      }
      case 8: { // escaped supplementary character (surrogate pair)
        const auto cp = static_cast<std::uint32_t>(0x10000 + below(0x100000));
        const std::uint32_t v = cp - 0x10000;
        out += "\\u";
        hex4(out, 0xD800 + (v >> 10));
        out += "\\u";
        hex4(out, 0xDC00 + (v & 0x3FF));
        append_utf8(decoded, cp);
        break;
      }
      case 9: {
        static constexpr std::string_view words[] = {"<script>", "${jndi:", "~", "~1", "/", "~0/"};
        const std::string_view w = words[below(std::size(words))];
        out += w;
        decoded += w;
        break;
      }
      default: {
        const auto c = static_cast<char>('a' + below(26));
        out.push_back(c);
        decoded.push_back(c);
        break;
      }
      }
    }
    out.push_back('"');
  }

  void key_literal(std::string& out, std::string& decoded, const std::vector<std::string>& used,
                   const std::vector<std::string>& used_raw) {
    if (!used.empty() && chance(8)) { // duplicate key
      const std::size_t k = below(used.size());
      out += used_raw[k];
      decoded = used[k];
      return;
    }
    if (chance(30)) {
      static constexpr std::string_view raw[] = {
          R"("")",   R"("~")",      R"("/")",        R"("a/b")", R"("~1")", R"("~0/")",
          R"("\/")", R"("\u007e")", R"("_bulwark")", R"("k")",   R"("0")",  R"("-")"};
      static constexpr std::string_view dec[] = {"",  "~", "/",        "a/b", "~1", "~0/",
                                                 "/", "~", "_bulwark", "k",   "0",  "-"};
      const std::size_t k = below(std::size(raw));
      out += raw[k];
      decoded = dec[k];
      return;
    }
    string_literal(out, decoded);
  }

  void number(std::string& out) {
    if (chance(3)) {
      for (int i = 0; i < 100; ++i)
        out.push_back(static_cast<char>('1' + below(9)));
      return;
    }
    if (chance(30)) out.push_back('-');
    if (chance(20)) {
      out.push_back('0');
    } else {
      out.push_back(static_cast<char>('1' + below(9)));
      const std::uint64_t n = below(chance(10) ? 30 : 6);
      for (std::uint64_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>('0' + below(10)));
    }
    if (chance(30)) {
      out.push_back('.');
      const std::uint64_t n = 1 + below(10);
      for (std::uint64_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>('0' + below(10)));
    }
    if (chance(30)) {
      out.push_back(chance(50) ? 'e' : 'E');
      if (chance(60)) out.push_back(chance(50) ? '+' : '-');
      const std::uint64_t n = 1 + below(3);
      for (std::uint64_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>('0' + below(10)));
    }
  }

  void value(std::string& out, std::string& pointer, int depth,
             std::vector<expected_value>& values) {
    const std::uint64_t pick = below(100);
    if (depth < max_depth && pick < 12) return object(out, pointer, depth, values);
    if (depth < max_depth && pick < 24) return array(out, pointer, depth, values);
    if (pick < 60) {
      std::string decoded;
      const std::size_t begin = out.size();
      string_literal(out, decoded);
      values.push_back({pointer, value_kind::string, decoded, out.substr(begin)});
      return;
    }
    const std::size_t begin = out.size();
    value_kind kind = value_kind::number;
    if (pick < 80) {
      number(out);
    } else if (pick < 87) {
      out += chance(50) ? "true" : "false";
      kind = value_kind::boolean;
    } else {
      out += "null";
      kind = value_kind::null;
    }
    values.push_back({pointer, kind, "", out.substr(begin)});
  }

  void object(std::string& out, std::string& pointer, int depth,
              std::vector<expected_value>& values) {
    values.push_back({pointer, value_kind::object, "", ""});
    out.push_back('{');
    maybe_ws(out);
    const std::uint64_t n = below(depth == 0 ? 12 : 6);
    std::vector<std::string> used;
    std::vector<std::string> used_raw;
    const std::size_t saved = pointer.size();
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i > 0) {
        out.push_back(',');
        maybe_ws(out);
      }
      std::string key;
      const std::size_t key_begin = out.size();
      key_literal(out, key, used, used_raw);
      used.push_back(key);
      used_raw.push_back(out.substr(key_begin));
      maybe_ws(out);
      out.push_back(':');
      maybe_ws(out);
      pointer.resize(saved);
      pointer.push_back('/');
      for (const char c : key) {
        if (c == '~') {
          pointer += "~0";
        } else if (c == '/') {
          pointer += "~1";
        } else {
          pointer.push_back(c);
        }
      }
      value(out, pointer, depth + 1, values);
      maybe_ws(out);
    }
    pointer.resize(saved);
    out.push_back('}');
  }

  void array(std::string& out, std::string& pointer, int depth,
             std::vector<expected_value>& values) {
    values.push_back({pointer, value_kind::array, "", ""});
    out.push_back('[');
    maybe_ws(out);
    const std::uint64_t n = below(6);
    const std::size_t saved = pointer.size();
    for (std::uint64_t i = 0; i < n; ++i) {
      if (i > 0) {
        out.push_back(',');
        maybe_ws(out);
      }
      pointer.resize(saved);
      pointer += "/" + std::to_string(i);
      value(out, pointer, depth + 1, values);
      maybe_ws(out);
    }
    pointer.resize(saved);
    out.push_back(']');
  }

  std::mt19937_64 rng_;
};

struct seen {
  std::string pointer;
  value_kind kind;
  std::string text;
  std::size_t begin;
  std::size_t end;
  std::size_t member_begin;
  std::uint32_t depth;
  bool in_object;
};

class recorder final : public visitor {
public:
  std::vector<seen> values;
  bool on_value(const value_ref& v) override {
    values.push_back({std::string(v.pointer), v.kind, std::string(v.text), v.begin, v.end,
                      v.member_begin, v.depth, v.in_object});
    return true;
  }
};

bool is_scalar(value_kind k) {
  return k != value_kind::object && k != value_kind::array;
}

std::string_view raw_of(std::string_view line, const seen& s) {
  return line.substr(s.begin, s.end - s.begin);
}

/// Walks `line` in place half of the time and from a copy otherwise.
error walk_line(walker& w, std::string_view line, visitor* v, bool in_place) {
  if (!in_place) return w.walk(line, 0, v);
  std::string padded(line);
  padded.append(walker::required_padding(), '}');
  return w.walk(std::string_view(padded.data(), line.size()), walker::required_padding(), v);
}

TEST(SpliceProperty, WalkerReportsWhatTheGeneratorWrote) {
  const std::uint64_t base = base_seed();
  walker w({});
  for (std::uint64_t i = 0; i < 3000; ++i) {
    generator g(document_seed(base, i));
    std::vector<expected_value> expected;
    const std::string doc = g.document(expected);
    SCOPED_TRACE(trace(base, i, doc));
    recorder r;
    ASSERT_EQ(walk_line(w, doc, &r, i % 2 == 0), error::none);
    ASSERT_EQ(r.values.size(), expected.size());
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const seen& s = r.values[k];
      ASSERT_EQ(s.pointer, expected[k].pointer) << k;
      ASSERT_EQ(s.kind, expected[k].kind) << s.pointer;
      ASSERT_EQ(s.text, expected[k].text) << s.pointer;
      if (is_scalar(s.kind)) {
        ASSERT_EQ(raw_of(doc, s), expected[k].raw) << s.pointer;
      }
    }
  }
}

TEST(SpliceProperty, ReplacedStringsReadBackAndEveryOtherByteIsUnchanged) {
  const std::uint64_t base = base_seed() + 1;
  walker w({});
  std::size_t total_edits = 0;
  for (std::uint64_t i = 0; i < 4000; ++i) {
    generator g(document_seed(base, i));
    std::vector<expected_value> expected;
    const std::string doc = g.document(expected);
    SCOPED_TRACE(trace(base, i, doc));

    recorder before;
    ASSERT_EQ(walk_line(w, doc, &before, i % 2 == 1), error::none);

    // An edit-free splice is the identity.
    std::string same;
    apply_edits(doc, {}, same);
    ASSERT_EQ(same, doc);

    std::vector<std::string> decoded(before.values.size());
    std::vector<std::string> encoded(before.values.size());
    std::vector<bool> replaced(before.values.size(), false);
    std::vector<edit> edits;
    for (std::size_t k = 0; k < before.values.size(); ++k) {
      const seen& s = before.values[k];
      if (s.kind != value_kind::string || !g.chance(35)) continue;
      decoded[k] = g.replacement();
      append_string(encoded[k], decoded[k]);
      replaced[k] = true;
      edits.push_back({s.begin, s.end, encoded[k]});
    }
    total_edits += edits.size();
    std::string out;
    apply_edits(doc, edits, out);

    // Outside the edits the output is the input, byte for byte.
    std::size_t in_pos = 0;
    std::size_t out_pos = 0;
    for (const edit& e : edits) {
      ASSERT_EQ(out.substr(out_pos, e.begin - in_pos), doc.substr(in_pos, e.begin - in_pos));
      out_pos += e.begin - in_pos;
      ASSERT_EQ(out.substr(out_pos, e.replacement.size()), e.replacement);
      out_pos += e.replacement.size();
      in_pos = e.end;
    }
    ASSERT_EQ(out.substr(out_pos), doc.substr(in_pos));

    recorder after;
    ASSERT_EQ(walk_line(w, out, &after, i % 3 == 0), error::none) << out;
    ASSERT_EQ(after.values.size(), before.values.size()) << out;
    for (std::size_t k = 0; k < before.values.size(); ++k) {
      const seen& a = before.values[k];
      const seen& b = after.values[k];
      ASSERT_EQ(b.pointer, a.pointer);
      ASSERT_EQ(b.kind, a.kind) << a.pointer;
      ASSERT_EQ(out.substr(b.member_begin, b.begin - b.member_begin),
                doc.substr(a.member_begin, a.begin - a.member_begin))
          << a.pointer;
      if (replaced[k]) {
        ASSERT_EQ(b.text, decoded[k]) << a.pointer;
        ASSERT_EQ(raw_of(out, b), encoded[k]) << a.pointer;
      } else if (is_scalar(a.kind)) {
        ASSERT_EQ(raw_of(out, b), raw_of(doc, a)) << a.pointer;
        ASSERT_EQ(b.text, a.text) << a.pointer;
      }
    }
  }
  EXPECT_GT(total_edits, 5000U); // the generator does produce strings to replace
}

TEST(SpliceProperty, RemovedMembersDisappearAndTheRestStaysValid) {
  const std::uint64_t base = base_seed() + 2;
  walker w({});
  std::size_t total_removed = 0;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    generator g(document_seed(base, i));
    std::vector<expected_value> expected;
    const std::string doc = g.document(expected);
    SCOPED_TRACE(trace(base, i, doc));

    recorder before;
    ASSERT_EQ(walk_line(w, doc, &before, false), error::none);

    std::vector<std::string> encoded(before.values.size());
    std::vector<seen> remaining; // what the output must contain, in order
    std::vector<edit> edits;
    for (std::size_t k = 0; k < before.values.size(); ++k) {
      const seen& s = before.values[k];
      if (s.in_object && g.chance(15)) {
        const std::size_t end = is_scalar(s.kind) ? s.end : value_end(doc, s.begin);
        edits.push_back({s.member_begin, end, "", true});
        ++total_removed;
        while (k + 1 < before.values.size() && before.values[k + 1].depth > s.depth)
          ++k;
        continue;
      }
      seen keep = s;
      if (s.kind == value_kind::string && g.chance(30)) {
        keep.text = g.replacement();
        append_string(encoded[k], keep.text);
        edits.push_back({s.begin, s.end, encoded[k]});
      }
      remaining.push_back(keep);
    }
    std::string out;
    apply_edits(doc, edits, out);

    recorder after;
    ASSERT_EQ(walk_line(w, out, &after, true), error::none) << out;
    ASSERT_EQ(after.values.size(), remaining.size()) << out;
    for (std::size_t k = 0; k < remaining.size(); ++k) {
      ASSERT_EQ(after.values[k].pointer, remaining[k].pointer) << out;
      ASSERT_EQ(after.values[k].kind, remaining[k].kind) << remaining[k].pointer;
      ASSERT_EQ(after.values[k].text, remaining[k].text) << remaining[k].pointer;
    }
  }
  EXPECT_GT(total_removed, 1000U);
}

TEST(SpliceProperty, EveryTruncationIsNotJson) {
  const std::uint64_t base = base_seed() + 4;
  walker w({});
  for (std::uint64_t i = 0; i < 3000; ++i) {
    generator g(document_seed(base, i));
    std::vector<expected_value> expected;
    const std::string doc = g.document(expected);
    SCOPED_TRACE(trace(base, i, doc));
    std::size_t last = doc.size();
    while (last > 0 && (doc[last - 1] == ' ' || doc[last - 1] == '\t' || doc[last - 1] == '\r')) {
      --last;
    }
    for (int cut = 0; cut < 4; ++cut) {
      const std::string_view prefix(doc.data(), g.below(last));
      const bool blank = prefix.find_first_not_of(" \t\r") == std::string_view::npos;
      // A cut inside a multi-byte character leaves invalid UTF-8, which ranks first.
      const error want = blank                    ? error::empty
                         : !is_valid_utf8(prefix) ? error::invalid_utf8
                                                  : error::not_json;
      ASSERT_EQ(walk_line(w, prefix, nullptr, false), want) << prefix;
      ASSERT_EQ(walk_line(w, prefix, nullptr, true), want) << prefix;
    }
  }
}

TEST(SpliceProperty, CorruptedDocumentsGetTheSameVerdictInPlaceAndCopied) {
  const std::uint64_t base = base_seed() + 5;
  walker w({});
  static constexpr char nasty[] = {'{', '}', '[', ']', '"', '\\', ',', ':',  '\x01', '\xFF',
                                   '0', 'e', '-', '.', ' ', '\n', 't', '\0', '\xC3', '\x80'};
  std::size_t accepted = 0;
  for (std::uint64_t i = 0; i < 3000; ++i) {
    generator g(document_seed(base, i));
    std::vector<expected_value> expected;
    std::string doc = g.document(expected);
    const std::uint64_t flips = 1 + g.below(3);
    for (std::uint64_t f = 0; f < flips; ++f) {
      if (doc.empty()) break;
      const std::size_t at = g.below(doc.size());
      if (g.chance(50)) {
        doc[at] = nasty[g.below(std::size(nasty))];
      } else if (g.chance(50)) {
        doc.erase(at, 1 + g.below(3));
      } else {
        doc.insert(at, 1, nasty[g.below(std::size(nasty))]);
      }
    }
    SCOPED_TRACE(trace(base, i, doc));
    recorder copied;
    recorder in_place;
    const error a = walk_line(w, doc, &copied, false);
    const error b = walk_line(w, doc, &in_place, true);
    ASSERT_EQ(a, b);
    if (a == error::none) {
      ++accepted;
      ASSERT_EQ(copied.values.size(), in_place.values.size());
      for (std::size_t k = 0; k < copied.values.size(); ++k) {
        ASSERT_EQ(copied.values[k].pointer, in_place.values[k].pointer);
        ASSERT_EQ(copied.values[k].text, in_place.values[k].text);
        ASSERT_EQ(copied.values[k].begin, in_place.values[k].begin);
        ASSERT_EQ(copied.values[k].end, in_place.values[k].end);
      }
    }
  }
  EXPECT_LT(accepted, 3000U);
}

TEST(SpliceProperty, TheAnnotationMemberIsAlwaysLastAndValid) {
  const std::uint64_t base = base_seed() + 3;
  walker w({});
  for (std::uint64_t i = 0; i < 3000; ++i) {
    generator g(document_seed(base, i));
    std::vector<expected_value> expected;
    const std::string doc = g.document(expected);
    SCOPED_TRACE(trace(base, i, doc));
    std::string out;
    append_with_member(out, doc, "_bulwark", R"({"v":1,"verdict":"clean"})");
    recorder r;
    ASSERT_EQ(walk_line(w, out, &r, false), error::none) << out;
    ASSERT_EQ(r.values.size(), expected.size() + 3) << out;
    // The new member's subtree comes last: /_bulwark, /_bulwark/v, /_bulwark/verdict.
    const seen& member = r.values[expected.size()];
    EXPECT_EQ(member.pointer, "/_bulwark");
    EXPECT_EQ(member.depth, 1U);
    EXPECT_EQ(out.substr(member.begin), R"({"v":1,"verdict":"clean"}})");
    // Everything before the insertion point is unchanged.
    EXPECT_EQ(out.substr(0, member.member_begin - 1), doc.substr(0, member.member_begin - 1));
  }
}

} // namespace
} // namespace bulwark::json
