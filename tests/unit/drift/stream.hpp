#pragma once
// Generated event streams for the drift scenario tests: one event-time window
// per hour from 2026-01-01T00:00:00Z, events spread evenly over each window,
// the watermark advanced to each event's time before it is observed.
#include "drift/json_reader.hpp"
#include "drift/monitor.hpp"

#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bulwark::drift::streams {

inline constexpr timestamp_ms t0 = 1'767'225'600'000; // 2026-01-01T00:00:00Z
inline constexpr timestamp_ms hour = 3'600'000;

/// Feeds a monitor and keeps what it raised.
struct driver {
  monitor& m;
  std::uint64_t next_ref = 1;
  std::vector<raised_alert> alerts;
  std::map<std::int64_t, std::uint64_t> last_ref; ///< per window: the ref of its last event

  explicit driver(monitor& mon) : m(mon) {}

  void take(std::vector<raised_alert> more) {
    for (auto& a : more)
      alerts.push_back(std::move(a));
  }

  /// `n` events in window `w`; values(i) gives the i-th event's values.
  template <class F>
  void window(std::int64_t w, int n, F&& values, std::string_view key = "fraud") {
    for (int i = 0; i < n; ++i) {
      const timestamp_ms t = t0 + w * hour + hour * i / n;
      take(m.advance(t));
      const std::vector<feature_value> v = values(i);
      m.observe(key, key, v, t, next_ref);
      last_ref[w] = next_ref++;
    }
  }

  void finish() { take(m.finish()); }

  std::vector<const raised_alert*> of_kind(std::string_view kind) const {
    std::vector<const raised_alert*> out;
    for (const auto& a : alerts)
      if (a.request.kind == kind) out.push_back(&a);
    return out;
  }
};

/// An alert's evidence, parsed.
inline json::value evidence(const raised_alert& a) {
  return std::get<json::value>(json::parse(a.request.evidence));
}

inline std::string field(const json::value& v, std::string_view name) {
  const auto* f = v.find(name);
  return f != nullptr && f->is_string() ? f->text : std::string();
}

inline double number(const json::value& v, std::string_view a, std::string_view b = {}) {
  const auto* f = v.find(a);
  if (f != nullptr && !b.empty()) f = f->find(b);
  return f != nullptr && f->as_double() ? *f->as_double() : std::nan("");
}

/// The index of the last window an alert's evidence covers.
inline std::int64_t last_window(const raised_alert& a) {
  const auto end = parse_rfc3339(field(evidence(a), "window_end"));
  return end ? (*end - t0) / hour - 1 : -1;
}

inline std::int64_t first_window(const raised_alert& a) {
  const auto start = parse_rfc3339(field(evidence(a), "window_start"));
  return start ? (*start - t0) / hour : -1;
}

} // namespace bulwark::drift::streams
