#include "alert/sanitize.hpp"

#include "core/json_writer.hpp"

namespace bulwark::alert {
namespace {

constexpr bool is_identifier_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '/' || c == '-';
}

/// Recursive-descent validator. Depth is bounded by the caller's limit, so an
/// attacker cannot exhaust the stack with `[[[[…`.
class validator {
public:
  validator(std::string_view text, std::size_t max_depth) : s_(text), max_depth_(max_depth) {}

  bool object_document() {
    skip_ws();
    if (!peek('{')) return false;
    if (!value(0)) return false;
    skip_ws();
    return i_ == s_.size();
  }

private:
  bool peek(char c) const noexcept { return i_ < s_.size() && s_[i_] == c; }
  void skip_ws() noexcept {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r'))
      ++i_;
  }
  bool literal(std::string_view word) noexcept {
    if (s_.substr(i_, word.size()) != word) return false;
    i_ += word.size();
    return true;
  }

  bool value(std::size_t depth) {
    skip_ws();
    if (i_ >= s_.size()) return false;
    switch (s_[i_]) {
    case '{':
      return object(depth + 1);
    case '[':
      return array(depth + 1);
    case '"':
      return string();
    case 't':
      return literal("true");
    case 'f':
      return literal("false");
    case 'n':
      return literal("null");
    default:
      return number();
    }
  }

  bool object(std::size_t depth) {
    if (depth > max_depth_) return false;
    ++i_; // '{'
    skip_ws();
    if (peek('}')) {
      ++i_;
      return true;
    }
    for (;;) {
      skip_ws();
      if (!peek('"') || !string()) return false;
      skip_ws();
      if (!peek(':')) return false;
      ++i_;
      if (!value(depth)) return false;
      skip_ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (peek('}')) {
        ++i_;
        return true;
      }
      return false;
    }
  }

  bool array(std::size_t depth) {
    if (depth > max_depth_) return false;
    ++i_; // '['
    skip_ws();
    if (peek(']')) {
      ++i_;
      return true;
    }
    for (;;) {
      if (!value(depth)) return false;
      skip_ws();
      if (peek(',')) {
        ++i_;
        continue;
      }
      if (peek(']')) {
        ++i_;
        return true;
      }
      return false;
    }
  }

  static bool is_hex(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
  }

  bool string() {
    ++i_; // '"'
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c == '\\') {
        if (++i_ >= s_.size()) return false;
        const char e = s_[i_];
        if (e == 'u') {
          for (int k = 1; k <= 4; ++k)
            if (i_ + k >= s_.size() || !is_hex(s_[i_ + k])) return false;
          i_ += 5;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' ||
                   e == 'r' || e == 't') {
          ++i_;
        } else {
          return false;
        }
        continue;
      }
      if (c < 0x80) {
        ++i_;
        continue;
      }
      const std::size_t n = utf8_length(s_, i_);
      if (n == 0) return false;
      i_ += n;
    }
    return false;
  }

  bool digits() noexcept {
    const std::size_t start = i_;
    while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9')
      ++i_;
    return i_ > start;
  }

  bool number() noexcept {
    if (peek('-')) ++i_;
    if (peek('0')) {
      ++i_;
    } else if (!digits()) {
      return false;
    }
    if (peek('.')) {
      ++i_;
      if (!digits()) return false;
    }
    if (peek('e') || peek('E')) {
      ++i_;
      if (peek('+') || peek('-')) ++i_;
      if (!digits()) return false;
    }
    return true;
  }

  std::string_view s_;
  std::size_t max_depth_;
  std::size_t i_ = 0;
};

} // namespace

std::uint64_t hash64(std::string_view bytes) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  // splitmix64 finaliser: FNV's low bits mix poorly on short inputs.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

std::string hex64(std::uint64_t value) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = digits[value & 0xF];
    value >>= 4;
  }
  return out;
}

bool is_plain_identifier(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() > max_bytes) return false;
  for (const char c : text)
    if (!is_identifier_char(c)) return false;
  return true;
}

std::string safe_identifier(std::string_view text, std::size_t max_bytes) {
  if (is_plain_identifier(text, max_bytes)) return std::string(text);
  return "~" + hex64(hash64(text));
}

std::string_view clip_utf8(std::string_view text, std::size_t max_bytes) noexcept {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  // Step back over continuation bytes so a multi-byte character is not split.
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
    --end;
  return text.substr(0, end);
}

bool is_json_object(std::string_view text, std::size_t max_depth) noexcept {
  validator v(text, max_depth);
  return v.object_document();
}

std::string checked_evidence(std::string_view text, std::size_t max_bytes, evidence_check* why) {
  const auto report = [&](evidence_check c) {
    if (why != nullptr) *why = c;
  };
  if (text.empty()) {
    report(evidence_check::empty);
    return "{}";
  }
  if (text.size() > max_bytes) {
    report(evidence_check::oversize);
    json_writer w;
    w.begin_object().key("omitted").value("oversize");
    w.key("limit").value(static_cast<std::uint64_t>(max_bytes)).end_object();
    return w.take();
  }
  if (!is_json_object(text)) {
    report(evidence_check::invalid);
    return R"({"omitted":"invalid"})";
  }
  report(evidence_check::ok);
  return std::string(text);
}

} // namespace bulwark::alert
