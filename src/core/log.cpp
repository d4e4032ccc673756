#include "core/log.hpp"

#include "core/json_writer.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <unistd.h>

namespace bulwark::log {
namespace {

constexpr std::string_view ellipsis = "\xE2\x80\xA6"; // …

/// Lives until the process ends: librdkafka's threads may log during static
/// destruction, so nothing here is ever destroyed.
struct logger_state {
  std::mutex mu;
  sink out;
};

logger_state& state() {
  static logger_state* s = new logger_state;
  return *s;
}

constexpr level default_threshold = level::info;
constexpr std::uint8_t unset = 0xFF;
std::atomic<std::uint8_t> threshold_value{unset};

void write_stderr(std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(2, text.data(), text.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return; // nowhere left to say it
    }
    text.remove_prefix(static_cast<std::size_t>(n));
  }
}

void emit(std::string line) {
  logger_state& s = state();
  std::lock_guard lock(s.mu);
  if (s.out) {
    s.out(line);
    return;
  }
  line += '\n';
  write_stderr(line);
}

/// The longest prefix of `text` of at most `limit` bytes that does not end
/// inside a UTF-8 sequence.
std::string_view cut(std::string_view text, std::size_t limit) {
  if (text.size() <= limit) return text;
  std::size_t end = limit;
  // Back up over continuation bytes to the lead byte of the cut character.
  std::size_t back = 0;
  while (end > 0 && back < 4 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) {
    --end;
    ++back;
  }
  return text.substr(0, end);
}

/// A JSON string literal of `text` with the control characters JSON lets
/// through escaped too (C1 and the JavaScript line separators), so a log line
/// cannot move a terminal's cursor or be split by a careless reader.
void append_string(std::string& out, std::string_view text, bool& truncated) {
  const std::string_view kept = cut(text, max_string_bytes);
  std::string literal;
  append_json_string(literal, kept);
  if (kept.size() < text.size()) {
    truncated = true;
    literal.insert(literal.size() - 1, ellipsis);
  }
  // append_json_string leaves valid UTF-8: C1 controls are C2 80..C2 9F,
  // U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
  static constexpr char hex[] = "0123456789abcdef";
  out.reserve(out.size() + literal.size());
  for (std::size_t i = 0; i < literal.size(); ++i) {
    const auto c = static_cast<unsigned char>(literal[i]);
    const auto next = i + 1 < literal.size() ? static_cast<unsigned char>(literal[i + 1]) : 0;
    if (c == 0xC2 && next >= 0x80 && next <= 0x9F) {
      out += "\\u00";
      out += hex[next >> 4];
      out += hex[next & 0xF];
      ++i;
    } else if (c == 0xE2 && next == 0x80 && i + 2 < literal.size() &&
               (static_cast<unsigned char>(literal[i + 2]) == 0xA8 ||
                static_cast<unsigned char>(literal[i + 2]) == 0xA9)) {
      out += static_cast<unsigned char>(literal[i + 2]) == 0xA8 ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
}

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

} // namespace

std::string_view to_string(level lv) noexcept {
  switch (lv) {
  case level::debug:
    return "debug";
  case level::info:
    return "info";
  case level::warn:
    return "warn";
  case level::error:
    return "error";
  }
  return "error";
}

std::optional<level> parse_level(std::string_view text) noexcept {
  for (const level lv : {level::debug, level::info, level::warn, level::error}) {
    const std::string_view name = to_string(lv);
    if (name.size() != text.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < name.size() && same; ++i)
      same = lower(text[i]) == name[i];
    if (same) return lv;
  }
  return std::nullopt;
}

level threshold() noexcept {
  std::uint8_t v = threshold_value.load(std::memory_order_relaxed);
  if (v != unset) return static_cast<level>(v);
  level lv = default_threshold;
  const char* env = std::getenv("BULWARK_LOG_LEVEL");
  const bool bad = env != nullptr && *env != '\0' && !parse_level(env);
  if (env != nullptr && !bad && *env != '\0') lv = *parse_level(env);
  std::uint8_t expected = unset;
  if (threshold_value.compare_exchange_strong(expected, static_cast<std::uint8_t>(lv)) && bad)
    // Once, by whichever thread won: the variable is the operator's own text.
    write(level::warn, "log", "BULWARK_LOG_LEVEL is not debug, info, warn or error; using info",
          {field{"value", std::string_view(env)}});
  return static_cast<level>(threshold_value.load(std::memory_order_relaxed));
}

void set_threshold(level lv) noexcept {
  threshold_value.store(static_cast<std::uint8_t>(lv), std::memory_order_relaxed);
}

void reread_environment() noexcept {
  threshold_value.store(unset, std::memory_order_relaxed);
  (void)threshold();
}

std::string format_line(timestamp_ms ts, level lv, std::string_view component, std::string_view msg,
                        fields fs) {
  std::string out;
  out.reserve(96 + msg.size() + fs.size() * 24);
  bool truncated = false;
  out += "{\"ts\":\"";
  out += format_rfc3339(ts);
  out += "\",\"level\":\"";
  out += to_string(lv);
  out += "\",\"component\":";
  append_string(out, component, truncated);
  out += ",\"msg\":";
  append_string(out, msg, truncated);
  for (const field& f : fs) {
    out += ',';
    append_string(out, f.key, truncated);
    out += ':';
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, std::string_view>) {
            append_string(out, v, truncated);
          } else if constexpr (std::is_same_v<T, bool>) {
            out += v ? "true" : "false";
          } else if constexpr (std::is_same_v<T, double>) {
            append_json_number(out, v);
          } else {
            out += std::to_string(v);
          }
        },
        f.value);
  }
  if (truncated) out += ",\"truncated\":true";
  out += '}';
  return out;
}

void write(level lv, std::string_view component, std::string_view msg, fields fs) {
  if (!enabled(lv)) return;
  emit(format_line(wall_clock_now(), lv, component, msg, fs));
}

sink set_sink(sink s) {
  logger_state& st = state();
  std::lock_guard lock(st.mu);
  std::swap(st.out, s);
  return s;
}

capture::capture(level lv) : previous_threshold_(threshold()) {
  previous_ = set_sink([this](std::string_view line) {
    std::lock_guard lock(mu_);
    lines_.emplace_back(line);
  });
  set_threshold(lv);
}

capture::~capture() {
  set_threshold(previous_threshold_);
  set_sink(std::move(previous_));
}

std::vector<std::string> capture::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

// ---------------------------------------------------------------- rate_limiter

rate_limiter::rate_limiter(std::uint32_t burst, clock::duration interval)
    : burst_(burst), interval_(interval) {}

void rate_limiter::take(const std::string& key, state& st, std::vector<report>& out) {
  if (st.suppressed == 0) return;
  out.push_back({st.lv, st.component, key, st.suppressed});
  st.suppressed = 0;
}

void rate_limiter::emit(const std::vector<report>& reports) const {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(interval_).count();
  for (const report& r : reports)
    log::write(r.lv, r.component, "suppressed",
               {{"key", r.key},
                {"suppressed", r.suppressed},
                {"interval_ms", static_cast<std::int64_t>(ms)}});
}

bool rate_limiter::write(level lv, std::string_view component, std::string_view key,
                         std::string_view msg, fields fs, clock::time_point now) {
  if (!enabled(lv)) return true;
  std::vector<report> ended;
  {
    std::lock_guard lock(mu_);
    auto it = keys_.find(key);
    if (it == keys_.end()) {
      it = keys_.emplace(std::string(key), state{}).first;
      it->second.start = now;
    } else if (now - it->second.start >= interval_) {
      take(it->first, it->second, ended);
      it->second.start = now;
      it->second.written = 0;
    }
    state& st = it->second;
    st.lv = lv;
    if (st.component != component) st.component = std::string(component);
    if (st.written >= burst_) {
      ++st.suppressed;
      return false; // nothing ended: a key's window only ends on the branch above
    }
    ++st.written;
  }
  emit(ended); // the count of the window that ended comes before this line
  log::write(lv, component, msg, fs);
  return true;
}

void rate_limiter::flush(clock::time_point now) {
  std::vector<report> ended;
  {
    std::lock_guard lock(mu_);
    for (auto it = keys_.begin(); it != keys_.end();) {
      if (now - it->second.start < interval_) {
        ++it;
        continue;
      }
      take(it->first, it->second, ended);
      it = keys_.erase(it);
    }
  }
  emit(ended);
}

void rate_limiter::flush_all() {
  std::vector<report> pending;
  {
    std::lock_guard lock(mu_);
    for (auto& [key, st] : keys_)
      take(key, st, pending);
    keys_.clear();
  }
  emit(pending);
}

std::size_t rate_limiter::tracked() const {
  std::lock_guard lock(mu_);
  return keys_.size();
}

rate_limiter& limited() {
  static rate_limiter* r = new rate_limiter(5, std::chrono::seconds(10));
  return *r;
}

} // namespace bulwark::log
