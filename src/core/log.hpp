#pragma once
/// bulwark's own log: one JSON object per line on stderr (docs/logging.md).
///
///   {"ts":"2026-11-27T10:00:00.123Z","level":"warn","component":"run","msg":"…",<fields>}
///
/// Contract:
///  - Thread-safe. Each line is formatted completely, then written with one
///    write(2) under a mutex, so lines from different threads never interleave.
///  - The output is always valid JSON whatever the caller passes: strings are
///    escaped (every control character, C0 and C1, and U+2028/U+2029 as \uXXXX),
///    bytes that are not UTF-8 become U+FFFD, NaN and infinities become null.
///  - `msg` and every string field value are cut to `max_string_bytes` (at a
///    character boundary, marked with "…"); a cut line carries "truncated":true.
///  - Lines below the threshold are not formatted at all. The threshold comes
///    from the environment variable BULWARK_LOG_LEVEL (debug, info, warn,
///    error; default info), read on first use.
///  - The logger cannot tell a secret from any other text: it is the caller's
///    duty never to pass event content (record values, keys, header values,
///    matched text). Pass names, counts, offsets and error descriptions.
#include "core/time.hpp"

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::log {

enum class level : std::uint8_t { debug, info, warn, error };

/// "debug", "info", "warn", "error".
std::string_view to_string(level lv) noexcept;
/// The inverse of to_string (case-insensitive); nothing for anything else.
std::optional<level> parse_level(std::string_view text) noexcept;

/// msg and string field values longer than this are cut.
inline constexpr std::size_t max_string_bytes = 1024;

/// One typed key/value. Views must stay valid for the duration of the call.
struct field {
  using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

  field(std::string_view k, std::string_view v) : key(k), value(v) {}
  field(std::string_view k, const char* v) : key(k), value(std::string_view{v}) {}
  field(std::string_view k, const std::string& v) : key(k), value(std::string_view{v}) {}
  field(std::string_view k, bool v) : key(k), value(v) {}
  field(std::string_view k, double v) : key(k), value(v) {}
  template <std::signed_integral T>
  requires(!std::same_as<T, bool>) field(std::string_view k, T v)
      : key(k), value(static_cast<std::int64_t>(v)) {}
  template <std::unsigned_integral T>
  requires(!std::same_as<T, bool>) field(std::string_view k, T v)
      : key(k), value(static_cast<std::uint64_t>(v)) {}

  std::string_view key;
  value_type value;
};

using fields = std::span<const field>;

/// The threshold: lines below it are dropped.
level threshold() noexcept;
void set_threshold(level lv) noexcept;
/// Reads BULWARK_LOG_LEVEL again (e.g. on a reload); an unknown value keeps
/// info and says so in a warn line.
void reread_environment() noexcept;
inline bool enabled(level lv) noexcept {
  return lv >= threshold();
}

/// The line `write` would emit at time `ts`, without the newline. Field keys
/// are written as given: callers do not reuse ts, level, component or msg.
std::string format_line(timestamp_ms ts, level lv, std::string_view component, std::string_view msg,
                        fields fs);

/// Formats and writes one line if `lv` is enabled.
void write(level lv, std::string_view component, std::string_view msg, fields fs = {});
inline void write(level lv, std::string_view component, std::string_view msg,
                  std::initializer_list<field> fs) {
  write(lv, component, msg, fields(fs.begin(), fs.size()));
}

inline void debug(std::string_view component, std::string_view msg,
                  std::initializer_list<field> fs = {}) {
  write(level::debug, component, msg, fs);
}
inline void info(std::string_view component, std::string_view msg,
                 std::initializer_list<field> fs = {}) {
  write(level::info, component, msg, fs);
}
inline void warn(std::string_view component, std::string_view msg,
                 std::initializer_list<field> fs = {}) {
  write(level::warn, component, msg, fs);
}
inline void error(std::string_view component, std::string_view msg,
                  std::initializer_list<field> fs = {}) {
  write(level::error, component, msg, fs);
}

/// Where finished lines go (without the newline). Empty: stderr.
using sink = std::function<void(std::string_view line)>;
/// Replaces the sink, returns the previous one. Called under the logger's
/// mutex, so a sink sees one line at a time.
sink set_sink(sink s);

/// Test hook: captures every line (and sets the threshold) while it lives.
class capture {
public:
  explicit capture(level threshold = level::debug);
  ~capture();
  capture(const capture&) = delete;
  capture& operator=(const capture&) = delete;

  std::vector<std::string> lines() const;

private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
  sink previous_;
  level previous_threshold_;
};

/// Keeps repeated warnings (e.g. one per failed delivery) from flooding the
/// log: at most `burst` lines per key per interval; the rest are counted, and
/// once the interval is over one line says how many were suppressed:
///   {"level":<theirs>,"component":<theirs>,"msg":"suppressed","key":K,"suppressed":N,"interval_ms":I}
/// Keys must come from a small fixed set (a message kind, a topic name):
/// never from record content. Thread-safe.
class rate_limiter {
public:
  using clock = std::chrono::steady_clock;

  rate_limiter(std::uint32_t burst, clock::duration interval);

  /// Logs the line unless `key` has used its budget for the current interval.
  /// Returns whether it was written (or would have been, below the threshold).
  bool write(level lv, std::string_view component, std::string_view key, std::string_view msg,
             fields fs, clock::time_point now = clock::now());
  bool write(level lv, std::string_view component, std::string_view key, std::string_view msg,
             std::initializer_list<field> fs, clock::time_point now = clock::now()) {
    return write(lv, component, key, msg, fields(fs.begin(), fs.size()), now);
  }

  /// Writes the "suppressed" line of every key whose interval has ended, and
  /// forgets idle keys. Call it now and then (write() does too, for its key).
  void flush(clock::time_point now = clock::now());
  /// Writes every pending "suppressed" line at once (at shutdown).
  void flush_all();

  /// Keys currently tracked (for tests).
  std::size_t tracked() const;

private:
  struct state {
    clock::time_point start;
    std::uint32_t written = 0;
    std::uint64_t suppressed = 0;
    level lv = level::warn;
    std::string component;
  };
  struct report {
    level lv;
    std::string component, key;
    std::uint64_t suppressed;
  };
  /// Under the mutex: moves a key's pending count into `out`.
  static void take(const std::string& key, state& st, std::vector<report>& out);
  /// Without the mutex: the limiter's lock never nests with the logger's.
  void emit(const std::vector<report>& reports) const;

  std::uint32_t burst_;
  clock::duration interval_;
  mutable std::mutex mu_;
  std::map<std::string, state, std::less<>> keys_;
};

/// The process-wide limiter (5 lines per key per 10 s) that bulwark's own
/// repeated warnings go through.
rate_limiter& limited();

} // namespace bulwark::log
