#pragma once
/// Sequence numbers per (source, epoch): anti-replay, gaps, resets, epochs
/// (SPEC §4).
///
///   check(id, seq, time)  ── read-only: would this number be fresh? ──┐
///                                                                    MAC
///   commit(id, seq, time) ◀── only after the MAC verified ───────────┤
///   account(id, seq)      ◀── the event failed verification ─────────┘
///
/// Invariants:
///  1. Only commit() moves a window, so an event that fails verification can
///     neither advance the head nor mark a number seen (forged events cannot
///     make later genuine ones look like replays).
///  2. A number is accepted at most once: the replay window (IPsec-style
///     sliding bitmap, RFC 4303 §3.4.3) remembers the last `window_bits`
///     numbers below the head; anything below the window counts as a replay.
///  3. A number is judged (seen, accounted for, or missing) exactly once, when
///     the head has moved more than `reorder_tolerance` past it, or at
///     finish(); so reordering by up to that many numbers raises nothing, and
///     a late arrival after its number was judged is not reported again.
///     Consecutive missing numbers form one run, reported once the first
///     number after it is judged present (or at finish), so a burst of losses
///     is one gap report, not one per number.
///  4. Memory is bounded: `max_streams` streams in all, `max_epochs_per_source`
///     per source, `max_accounted` pending accounted numbers per stream.
#include "core/time.hpp"
#include "integrity/snapshot.hpp"
#include "integrity/status.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::integrity {

/// A sliding anti-replay bitmap over the `size()` numbers ending at the
/// highest number accepted so far. Stored as a ring (bit `seq % size()`), so
/// advancing the head clears bits instead of shifting words.
class replay_window {
public:
  /// Where a number falls relative to the window.
  enum class position : std::uint8_t {
    empty,         ///< nothing accepted yet
    ahead,         ///< above the head
    inside_unseen, ///< inside the window, not accepted yet
    inside_seen,   ///< inside the window, already accepted (a replay)
    below,         ///< older than the window can tell (counts as a replay)
  };

  /// Tracks `bits` numbers, rounded up to a multiple of 64 (at least 64).
  explicit replay_window(std::size_t bits);

  /// Where `seq` falls; changes nothing.
  position locate(std::uint64_t seq) const noexcept;

  /// Accepts `seq` when it is fresh (empty, ahead or inside_unseen) and
  /// returns true; returns false, changing nothing, for a replay.
  bool accept(std::uint64_t seq) noexcept;

  /// Whether `seq` (which must be inside the window) was accepted.
  bool seen(std::uint64_t seq) const noexcept;

  /// Nothing accepted yet.
  bool empty() const noexcept { return empty_; }
  /// The highest number accepted (meaningless while empty).
  std::uint64_t head() const noexcept { return head_; }
  /// How many numbers the window covers (bits).
  std::size_t size() const noexcept { return words_.size() * 64; }

  /// The accepted numbers relative to the head (stream_snapshot::seen):
  /// min(size(), head + 1) bits. Empty while nothing was accepted.
  std::vector<std::uint8_t> relative_bits() const;
  /// Makes this window hold `head` and the numbers `bits` marks (bit i:
  /// head - i), as far as size() reaches; what was held before is dropped.
  void restore(std::uint64_t head, const std::vector<std::uint8_t>& bits) noexcept;

private:
  void clear_ring(std::uint64_t first_seq, std::uint64_t count) noexcept;

  std::vector<std::uint64_t> words_;
  std::uint64_t head_ = 0;
  bool empty_ = true;
};

/// Which sequence a number belongs to. Views; the tracker copies what it keeps.
struct stream_id {
  std::string_view source;
  std::string_view epoch; ///< "" when the event has no `epoch`
};

/// What a sequence number means for its stream.
enum class seq_verdict : std::uint8_t {
  first,       ///< the first number of a (source, epoch) not tracked before
  advance,     ///< above the highest number seen
  late,        ///< inside the window and not seen: reordered, accepted
  replay,      ///< seen before, or below the window
  reset,       ///< a low number far behind the head with a newer event time than any before:
               ///< the sender restarted its sequence without a new epoch
  stale_epoch, ///< a new epoch whose event time is older than the source's newest event by
               ///< more than the staleness margin: an old epoch replayed (counts as a replay)
};

/// Stable name of a verdict.
std::string_view to_string(seq_verdict v) noexcept;

/// Numbers that went missing in one stream (inclusive ranges, ascending).
struct gap_report {
  std::string source;
  std::string epoch;
  std::uint64_t missing = 0;                                   ///< how many numbers in all
  std::uint64_t first = 0, last = 0;                           ///< lowest and highest missing
  std::vector<std::pair<std::uint64_t, std::uint64_t>> ranges; ///< the first `max_gap_ranges`
  bool ranges_truncated = false; ///< there were more ranges than listed
};

/// A (source, epoch) that started while the source had another epoch: a
/// restart, recorded on the audit chain by the caller.
struct epoch_change {
  std::string source;
  std::string previous_epoch; ///< the source's most recent epoch before this one
  std::string epoch;
  std::uint64_t first_seq = 0;
};

/// What commit() did.
struct commit_outcome {
  seq_verdict verdict = seq_verdict::first; ///< replay/stale_epoch: nothing was changed
  std::optional<gap_report> gap;            ///< numbers judged missing by this commit
  std::optional<epoch_change> epoch;        ///< a new epoch of a known source
  std::uint64_t reset_from = 0;             ///< verdict reset: the head before the reset
  bool capacity_hit = false;                ///< a cap forced an eviction to make room
};

/// Tunables (defaults in brackets are the documented defaults).
struct sequence_settings {
  std::size_t window_bits = 1024;           ///< `integrity.replay_window` [1024]; 64 ... 1,048,576
  std::uint64_t reorder_tolerance = 64;     ///< a number is missing once the head is this far past
                                            ///< it [64]; must be below window_bits
  std::uint64_t reset_max_seq = 16;         ///< a reset must restart at or below this number [16]
  timestamp_ms stale_epoch_after = 120'000; ///< staleness margin of a new epoch [= max_skew, 2m]
  std::size_t max_streams = 16384;          ///< (source, epoch) streams in all [16384]
  std::size_t max_epochs_per_source = 4;    ///< streams kept per source [4]
  std::size_t max_accounted = 32;           ///< accounted-for numbers pending per stream [32]
  std::size_t max_gap_ranges = 8;           ///< ranges listed per gap report [8]
};

/// Why settings were refused.
struct settings_error {
  std::string reason;
};

/// Tracks every (source, epoch) sequence. Not thread-safe.
class sequence_tracker {
public:
  /// A tracker, or why the settings are unusable.
  static std::variant<sequence_tracker, settings_error> make(const sequence_settings& s);

  /// What `seq` would mean, without changing anything. `event_time` is the
  /// event's (signed) time, used to tell a reset or a stale epoch from a replay.
  seq_verdict check(stream_id id, std::uint64_t seq, std::optional<timestamp_ms> event_time) const;

  /// Applies a number from a verified event: re-checks, and unless it is a
  /// replay, marks it seen, advances the head, judges numbers left behind and
  /// creates the stream if needed.
  commit_outcome commit(stream_id id, std::uint64_t seq, std::optional<timestamp_ms> event_time);

  /// Records a number carried by an event that failed verification, so that
  /// it is not reported again as a gap. Never creates a stream, never marks a
  /// number seen, never moves the head.
  void account(stream_id id, std::uint64_t seq);

  /// End of input: judges every number not judged yet (all streams).
  std::vector<gap_report> finish();

  /// Fills the sequence part of `out` (current epoch, newest time, streams
  /// least recently used first); false when `source` has no stream.
  bool export_source(std::string_view source, source_snapshot& out) const;
  /// Replaces the streams of `out.source` with the snapshot's, fitted to
  /// these settings: the most recent max_epochs_per_source streams, the
  /// window span and judged numbers within replay_window, the lowest
  /// max_accounted accounted numbers. A snapshot without streams only drops
  /// the source's. True when a cap forced other sources out.
  bool restore_source(const source_snapshot& s);
  /// Drops every stream of `source`.
  void forget(std::string_view source);

  /// Streams currently tracked.
  std::size_t stream_count() const noexcept { return streams_; }
  /// The highest number accepted in a stream, if it is tracked.
  std::optional<std::uint64_t> head(stream_id id) const noexcept;
  /// Whether `source` has any tracked stream.
  bool knows(std::string_view source) const noexcept;
  /// The epoch of `source`'s most recently started stream and the highest
  /// number accepted in it; nothing when the source is not tracked.
  std::optional<std::pair<std::string_view, std::uint64_t>>
  current(std::string_view source) const noexcept;

private:
  struct stream {
    std::string epoch;
    replay_window window;
    std::uint64_t next_unjudged = 0;      ///< every number below it has been judged
    std::vector<std::uint64_t> accounted; ///< sorted, all >= next_unjudged
    /// Missing numbers judged but not reported yet: the run may go on.
    std::optional<std::pair<std::uint64_t, std::uint64_t>> open_run;
    std::optional<timestamp_ms> newest_time;
    std::uint64_t touched = 0;
  };
  struct source_state {
    std::vector<stream> streams;
    std::string current_epoch; ///< the epoch of the most recently started stream
    std::optional<timestamp_ms> newest_time;
    std::uint64_t touched = 0;
  };

  explicit sequence_tracker(const sequence_settings& s) : settings_(s) {}

  const stream* find(stream_id id) const noexcept;
  /// Judges numbers in [s.next_unjudged, upto) and reports the closed runs of
  /// missing ones; `final` also reports a run still open at the end.
  std::optional<gap_report> judge(std::string_view source, stream& s, std::uint64_t upto,
                                  bool final = false) const;
  /// Makes room for one more stream; true when something had to go.
  bool make_room(std::string_view keep_source);

  sequence_settings settings_;
  std::unordered_map<std::string, source_state, string_hash, std::equal_to<>> sources_;
  std::size_t streams_ = 0;
  std::uint64_t clock_ = 0; ///< touch counter for least-recently-used eviction
};

} // namespace bulwark::integrity
