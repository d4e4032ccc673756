#pragma once
// A tiny JSON reader for the alert tests: parses bulwark's own output into a
// tree so tests check fields, order and types instead of substrings. Written
// independently of src/alert/sanitize.cpp's validator, so each checks the other.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mini_json {

struct value;
using members = std::vector<std::pair<std::string, value>>; // keeps member order

struct value {
  enum class type { null, boolean, number, string, array, object } t = type::null;
  bool b = false;
  double n = 0;
  std::string s;
  std::vector<value> a;
  members o;

  bool is_object() const { return t == type::object; }
  /// Member `k` of an object; throws when absent (a test then fails loudly).
  const value& operator[](std::string_view k) const {
    for (const auto& [key, v] : o)
      if (key == k) return v;
    throw std::runtime_error("no member " + std::string(k));
  }
  bool has(std::string_view k) const {
    for (const auto& [key, v] : o)
      if (key == k) return true;
    return false;
  }
  std::vector<std::string> keys() const {
    std::vector<std::string> out;
    for (const auto& [key, v] : o)
      out.push_back(key);
    return out;
  }
  std::int64_t i() const { return static_cast<std::int64_t>(n); }
};

class parser {
public:
  explicit parser(std::string_view s) : s_(s) {}
  value parse() {
    value v = any();
    ws();
    if (i_ != s_.size()) fail("trailing text");
    return v;
  }

private:
  [[noreturn]] void fail(const char* why) {
    throw std::runtime_error(std::string("json: ") + why + " at " + std::to_string(i_));
  }
  void ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r'))
      ++i_;
  }
  char peek() { return i_ < s_.size() ? s_[i_] : '\0'; }
  void expect(char c) {
    if (peek() != c) fail("unexpected character");
    ++i_;
  }
  value any() {
    ws();
    value v;
    const char c = peek();
    if (c == '{') {
      v.t = value::type::object;
      ++i_;
      ws();
      if (peek() == '}') {
        ++i_;
        return v;
      }
      for (;;) {
        ws();
        std::string k = str();
        ws();
        expect(':');
        v.o.emplace_back(std::move(k), any());
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect('}');
        return v;
      }
    }
    if (c == '[') {
      v.t = value::type::array;
      ++i_;
      ws();
      if (peek() == ']') {
        ++i_;
        return v;
      }
      for (;;) {
        v.a.push_back(any());
        ws();
        if (peek() == ',') {
          ++i_;
          continue;
        }
        expect(']');
        return v;
      }
    }
    if (c == '"') {
      v.t = value::type::string;
      v.s = str();
      return v;
    }
    if (s_.substr(i_, 4) == "true") {
      i_ += 4;
      v.t = value::type::boolean;
      v.b = true;
      return v;
    }
    if (s_.substr(i_, 5) == "false") {
      i_ += 5;
      v.t = value::type::boolean;
      return v;
    }
    if (s_.substr(i_, 4) == "null") {
      i_ += 4;
      return v;
    }
    const std::size_t start = i_;
    while (i_ < s_.size() &&
           std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos)
      ++i_;
    if (start == i_) fail("bad value");
    v.t = value::type::number;
    v.n = std::stod(std::string(s_.substr(start, i_ - start)));
    return v;
  }
  std::string str() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      const char c = s_[i_++];
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      const char e = s_.at(i_++);
      switch (e) {
      case 'n':
        out += '\n';
        break;
      case 't':
        out += '\t';
        break;
      case 'r':
        out += '\r';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'u': {
        const unsigned cp =
            static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
        i_ += 4;
        if (cp < 0x80) {
          out += static_cast<char>(cp);
        } else {
          out += '?'; // the tests never need the exact non-ASCII escapes
        }
        break;
      }
      default:
        out += e;
      }
    }
    expect('"');
    return out;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

inline value parse(std::string_view text) {
  return parser(text).parse();
}

/// Every string (keys and values) in a tree, for leak checks.
inline void collect_strings(const value& v, std::vector<std::string>& out) {
  switch (v.t) {
  case value::type::string:
    out.push_back(v.s);
    break;
  case value::type::array:
    for (const auto& x : v.a)
      collect_strings(x, out);
    break;
  case value::type::object:
    for (const auto& [k, x] : v.o) {
      out.push_back(k);
      collect_strings(x, out);
    }
    break;
  default:
    break;
  }
}

} // namespace mini_json
