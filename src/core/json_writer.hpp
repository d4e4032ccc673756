#pragma once
/// A small JSON text builder for what bulwark writes itself: alert evidence,
/// audit records, summaries. Not for events (the json module splices those).
/// Strings are escaped per RFC 8259; bytes that are not valid UTF-8 become
/// U+FFFD, so whatever a caller passes, the output is valid JSON.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bulwark {

/// Appends `text` as a JSON string literal (with the quotes).
void append_json_string(std::string& out, std::string_view text);

/// Length of the valid UTF-8 sequence at `s[i]` (1 for ASCII; no overlongs,
/// surrogates or code points beyond U+10FFFF), 0 when it is not valid.
std::size_t utf8_length(std::string_view s, std::size_t i) noexcept;

/// Appends a number; NaN and infinities, which JSON cannot hold, become null.
void append_json_number(std::string& out, double value);

/// Builds one JSON object or array incrementally:
///   json_writer w; w.begin_object(); w.key("n").value(3); w.end_object();
/// The caller keeps begin/end balanced; the writer inserts the commas.
class json_writer {
public:
  json_writer() = default;
  /// Writes into `buffer`'s storage (cleared first): a caller that hands back
  /// what take() gave it last time writes without allocating once warm.
  explicit json_writer(std::string&& buffer) : out_(std::move(buffer)) { out_.clear(); }

  json_writer& begin_object() { return open('{'); }
  json_writer& end_object() { return close('}'); }
  json_writer& begin_array() { return open('['); }
  json_writer& end_array() { return close(']'); }

  json_writer& key(std::string_view name) {
    separate();
    append_json_string(out_, name);
    out_ += ':';
    after_key_ = true;
    return *this;
  }
  json_writer& value(std::string_view text) {
    separate();
    append_json_string(out_, text);
    return *this;
  }
  json_writer& value(const char* text) { return value(std::string_view{text}); }
  json_writer& value(const std::string& text) { return value(std::string_view{text}); }
  json_writer& value(double number) {
    separate();
    append_json_number(out_, number);
    return *this;
  }
  json_writer& value(std::int64_t number) {
    separate();
    out_ += std::to_string(number);
    return *this;
  }
  json_writer& value(int number) { return value(std::int64_t{number}); }
  json_writer& value(std::uint64_t number) {
    separate();
    out_ += std::to_string(number);
    return *this;
  }
  json_writer& value(bool flag) {
    separate();
    out_ += flag ? "true" : "false";
    return *this;
  }
  json_writer& null() {
    separate();
    out_ += "null";
    return *this;
  }
  /// Inserts already-valid JSON text (e.g. an object built by another writer).
  json_writer& raw(std::string_view json) {
    separate();
    out_ += json;
    return *this;
  }

  const std::string& str() const noexcept { return out_; }
  std::string take() { return std::move(out_); }

private:
  json_writer& open(char c) {
    separate();
    out_ += c;
    first_ = true;
    return *this;
  }
  json_writer& close(char c) {
    out_ += c;
    first_ = false;
    return *this;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
      first_ = false;
      return;
    }
    if (!first_ && !out_.empty()) out_ += ',';
    first_ = false;
  }

  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

} // namespace bulwark
