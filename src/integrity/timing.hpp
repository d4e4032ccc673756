#pragma once
/// Time checks: the fleet watermark and skew, and silence of known sources.
///
/// The watermark is the highest event time among events that lay within
/// `max_skew` of it; an event further away is skewed and neither moves it nor
/// keeps its source alive. Only trusted events (verified, or every event when
/// no keys are configured) may move it, so unsigned input cannot drag the
/// fleet's clock. If the watermark itself is wrong (a first event far in the
/// future, a pause in a replayed file), a quorum of distinct sources agreeing
/// on a time outside the band re-anchors it there.
///
/// Silence: a known source (one that sent a verified event) that has not been
/// heard for `silence_after` of the reference clock — the watermark on the
/// event-time basis, the wall clock on the wall-clock basis (`run`) — is
/// reported once per episode; the episode ends when it is heard again.
#include "core/time.hpp"
#include "integrity/status.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace bulwark::integrity {

/// Tunables of the watermark.
struct clock_settings {
  timestamp_ms max_skew = 120'000; ///< `integrity.max_skew` [2m]
  std::size_t quorum =
      3; ///< distinct sources that must agree to re-anchor [3]; fewer when
         ///< fewer distinct sources have been seen (a lone source re-anchors alone)
  std::size_t max_outliers = 64; ///< outlying observations remembered for the quorum [64]
};

/// How one event's time relates to the watermark.
struct time_observation {
  bool first = false;      ///< this event set the watermark
  bool skewed = false;     ///< further than max_skew from the watermark
  timestamp_ms offset = 0; ///< event time minus the watermark it was compared with
  bool reanchored = false; ///< this event completed a quorum that moved the watermark
};

/// The fleet watermark. Not thread-safe.
class fleet_clock {
public:
  /// A clock with no watermark yet.
  explicit fleet_clock(clock_settings s) : settings_(s) {}

  /// Places `t` (the event time of `source`) against the watermark.
  /// `may_move`: the event is trusted to move it.
  time_observation observe(std::string_view source, timestamp_ms t, bool may_move);

  /// The watermark, once a trusted event has set it.
  std::optional<timestamp_ms> watermark() const noexcept { return watermark_; }
  /// The settings in force.
  const clock_settings& settings() const noexcept { return settings_; }

private:
  struct outlier {
    std::string source;
    timestamp_ms t;
  };

  clock_settings settings_;
  std::optional<timestamp_ms> watermark_;
  std::vector<outlier> outliers_;
  std::vector<std::string> distinct_; ///< up to `quorum` names of trusted sources seen
};

/// Whether `event_time` is further than `max_skew` from `reference` (e.g. the
/// Kafka record timestamp).
constexpr bool skewed_from(timestamp_ms event_time, timestamp_ms reference,
                           timestamp_ms max_skew) noexcept {
  const timestamp_ms d = event_time - reference;
  return d > max_skew || d < -max_skew;
}

/// Tunables of silence detection.
struct silence_settings {
  timestamp_ms silence_after = 300'000; ///< `integrity.silence_after` [5m]
  std::size_t max_sources = 16384;      ///< known sources tracked [16384]
};

/// A source that just fell silent.
struct silent_source {
  std::string source;
  timestamp_ms last_heard = 0; ///< on the monitor's time basis
  timestamp_ms silent_for = 0; ///< reference minus last_heard at the sweep
};

/// What hearing from a source changed.
struct heard_outcome {
  bool resumed = false;      ///< it was silent: that episode is over
  bool capacity_hit = false; ///< the cap forced known sources out
};

/// Known sources and when each was last heard. Not thread-safe.
class silence_monitor {
public:
  /// A monitor that knows no source yet.
  explicit silence_monitor(silence_settings s) : settings_(s) {}

  /// `source` spoke at `at` (event time or wall time, per the caller's basis).
  heard_outcome heard(std::string_view source, timestamp_ms at);

  /// Sources silent for `silence_after` at `reference` that were not yet
  /// reported in this episode, by name.
  std::vector<silent_source> sweep(timestamp_ms reference);

  /// Whether `source` is known (was heard and not evicted).
  bool knows(std::string_view source) const noexcept;
  /// When `source` was last heard and whether its silence was reported;
  /// nothing when it is not known.
  std::optional<std::pair<timestamp_ms, bool>> state_of(std::string_view source) const;
  /// Makes `source` known as last heard at `last_heard`, its silence already
  /// reported when `silent` (a restored state; replaces what was known).
  heard_outcome restore(std::string_view source, timestamp_ms last_heard, bool silent);
  /// Forgets `source` (no silence will be reported for it).
  void forget(std::string_view source) { sources_.erase(std::string(source)); }
  /// Entries in the deadline queue (bounded by about twice the known sources).
  std::size_t queued() const noexcept { return queue_.size(); }
  /// Known sources.
  std::size_t size() const noexcept { return sources_.size(); }
  /// Calls `fn(source, last_heard, silent)` for every known source, in no
  /// particular order (for status displays; O(known sources)).
  template <class Fn> void for_each(Fn&& fn) const {
    for (const auto& [name, st] : sources_)
      fn(std::string_view(name), st.last_heard, st.silent);
  }

private:
  struct state {
    timestamp_ms last_heard = 0;
    bool silent = false;
    timestamp_ms queued_at = 0; ///< last_heard when its live queue entry was made
  };
  /// A source's silence deadline is `at + silence_after`. Entries are not
  /// updated when a source speaks (that would cost a heap operation per
  /// event): a popped entry whose source spoke since is queued again with
  /// the newer time, and one whose source is gone, silent or re-queued
  /// (`queued_at` differs) is dropped. So a sweep costs the entries that fell
  /// due, not a pass over every known source (which took 75% of `scan`'s CPU
  /// with 100k sources replayed from a backlog).
  struct due {
    timestamp_ms at;
    std::string source;
  };
  void enqueue(const std::string& name, state& st);
  void rebuild_queue();
  silence_settings settings_;
  std::unordered_map<std::string, state, string_hash, std::equal_to<>> sources_;
  std::vector<due> queue_; ///< min-heap on `at`
};

} // namespace bulwark::integrity
