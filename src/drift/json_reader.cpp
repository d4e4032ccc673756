#include "drift/json_reader.hpp"

#include "core/json_writer.hpp"

#include <charconv>
#include <cmath>

namespace bulwark::drift::json {

value::value() = default;
value::~value() = default;
value::value(const value&) = default;
value::value(value&&) noexcept = default;
value& value::operator=(const value&) = default;
value& value::operator=(value&&) noexcept = default;

const value* value::find(std::string_view name) const noexcept {
  for (const auto& [k, v] : members)
    if (k == name) return &v;
  return nullptr;
}

std::optional<double> value::as_double() const noexcept {
  if (type != kind::number) return std::nullopt;
  double d = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(d))
    return std::nullopt;
  return d;
}

std::optional<std::uint64_t> value::as_u64() const noexcept {
  if (type != kind::number) return std::nullopt;
  std::uint64_t u = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), u);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return u;
}

std::optional<std::int64_t> value::as_i64() const noexcept {
  if (type != kind::number) return std::nullopt;
  std::int64_t i = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), i);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return i;
}

namespace {

class parser {
public:
  parser(std::string_view text, std::size_t max_depth) : s_(text), max_depth_(max_depth) {}

  std::variant<value, std::string> run() {
    value v;
    if (!parse_value(v, 0)) return error_;
    skip_space();
    if (pos_ != s_.size()) {
      fail("trailing content");
      return error_;
    }
    return v;
  }

private:
  /// Records the first error; returns false so that callers can `return fail(…)`.
  bool fail(std::string_view what) {
    error_ = std::string(what) + " at byte " + std::to_string(pos_);
    return false;
  }

  void skip_space() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }

  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  bool parse_value(value& v, std::size_t depth) {
    skip_space();
    if (pos_ >= s_.size()) return fail("unexpected end");
    const char c = s_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= max_depth_) return fail("nested too deep");
      return c == '{' ? parse_object(v, depth) : parse_array(v, depth);
    }
    if (c == '"') {
      v.type = value::kind::string;
      return parse_string(v.text);
    }
    if (literal("true")) {
      v.type = value::kind::boolean;
      v.flag = true;
      return true;
    }
    if (literal("false")) {
      v.type = value::kind::boolean;
      return true;
    }
    if (literal("null")) return true;
    return parse_number(v);
  }

  bool parse_object(value& v, std::size_t depth) {
    v.type = value::kind::object;
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a member name");
      std::string name;
      if (!parse_string(name)) return false;
      skip_space();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected ':'");
      ++pos_;
      value member;
      if (!parse_value(member, depth + 1)) return false;
      v.members.emplace_back(std::move(name), std::move(member));
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parse_array(value& v, std::size_t depth) {
    v.type = value::kind::array;
    ++pos_;
    skip_space();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      value item;
      if (!parse_value(item, depth + 1)) return false;
      v.items.push_back(std::move(item));
      skip_space();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  bool hex4(std::uint32_t& out) {
    if (pos_ + 4 > s_.size()) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<std::uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }

  bool parse_string(std::string& out) {
    ++pos_; // opening quote
    while (pos_ < s_.size()) {
      const char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        // JSON text is UTF-8 (RFC 8259): a string that is not would be
        // written back differently (json_writer replaces such bytes).
        const std::size_t n = utf8_length(s_, pos_ - 1);
        if (n == 0) return fail("invalid UTF-8 in string");
        out.append(s_.substr(pos_ - 1, n));
        pos_ += n - 1;
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      const char e = s_[pos_++];
      switch (e) {
      case '"':
      case '\\':
      case '/':
        out += e;
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'u': {
        std::uint32_t cp = 0;
        if (!hex4(cp)) return fail("bad \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          std::uint32_t lo = 0;
          if (!literal("\\u") || !hex4(lo) || lo < 0xDC00 || lo > 0xDFFF)
            return fail("unpaired surrogate");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
          return fail("unpaired surrogate");
        }
        append_utf8(out, cp);
        break;
      }
      default:
        return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }

  bool parse_number(value& v) {
    const std::size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') ++pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9')
        ++pos_;
      return pos_ - from;
    };
    const std::size_t int_start = pos_;
    if (digits() == 0) return fail("unexpected character");
    if (s_[int_start] == '0' && pos_ - int_start > 1) return fail("leading zero");
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) return fail("bad number");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) return fail("bad number");
    }
    v.type = value::kind::number;
    v.text.assign(s_.substr(start, pos_ - start));
    return true;
  }

  std::string_view s_;
  std::size_t max_depth_;
  std::size_t pos_ = 0;
  std::string error_;
};

} // namespace

std::variant<value, std::string> parse(std::string_view text, std::size_t max_depth) {
  return parser(text, max_depth).run();
}

} // namespace bulwark::drift::json
