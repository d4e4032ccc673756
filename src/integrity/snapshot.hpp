#pragma once
/// What the integrity checker keeps for one source, as plain data, and its
/// byte form: the value of a record on the integrity changelog topic
/// (`kafka.integrity_state_topic`, docs/integrity.md "State across instances").
///
///   checker::export_source ─▶ source_snapshot ─▶ encode() ─▶ bytes (the topic)
///   bytes ─▶ decode() (validates) ─▶ source_snapshot ─▶ checker::restore_source
///
/// Invariants:
///  1. The format is versioned (a magic and a version byte first); decode()
///     refuses an unknown version, a truncated or over-long blob, trailing
///     bytes and counts beyond the documented bounds. It never reads past
///     the input and never allocates more than the input's size justifies:
///     the topic can be written by anyone with access to it.
///  2. Replay bitmaps are stored relative to their head (bit i: number
///     head - i was accepted), so a blob written with one `replay_window`
///     restores into a checker with another (the smaller span survives).
///  3. A blob carries its source's name; restoring it under another name is
///     refused (a record copied under the wrong key).
#include "core/time.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bulwark::integrity {

/// One (source, epoch) sequence.
struct stream_snapshot {
  std::string epoch;
  std::uint64_t head = 0; ///< highest number accepted
  /// Bit i (of byte i / 8, bit i % 8) set: number head - i was accepted.
  /// At most the replay window's span and never beyond number 0.
  std::vector<std::uint8_t> seen;
  std::uint64_t next_unjudged = 0;      ///< every number below it was judged
  std::vector<std::uint64_t> accounted; ///< ascending, all >= next_unjudged
  std::optional<std::pair<std::uint64_t, std::uint64_t>> open_run; ///< missing, not reported yet
  std::optional<timestamp_ms> newest_time;
};

/// Everything one source's integrity verdicts depend on (fleet state such as
/// the watermark and the poisoning windows is not per source and not here).
struct source_snapshot {
  std::string source;
  timestamp_ms saved_at = 0; ///< the exporter's clock (`now`) when exported
  // Sequences: streams least recently used first.
  std::string current_epoch;
  std::optional<timestamp_ms> newest_time;
  std::vector<stream_snapshot> streams;
  // Silence (on the exporter's basis).
  bool wall_clock_basis = false;
  std::optional<timestamp_ms> last_heard; ///< absent: not known to the silence monitor
  bool silent = false;                    ///< its silence was reported, not heard since
  // Poisoning.
  std::optional<timestamp_ms> untrusted_until;
};

/// Bounds decode() enforces (a blob within them is still checked against the
/// restoring checker's own caps).
inline constexpr std::size_t max_snapshot_streams = 64;
inline constexpr std::size_t max_snapshot_accounted = 4096;
inline constexpr std::size_t max_snapshot_name = 4096;       ///< source and epoch names
inline constexpr std::size_t max_snapshot_window = 1u << 20; ///< bits per stream
inline constexpr std::uint8_t snapshot_version = 1;

/// How far the state written for one input partition reaches: every record
/// up to `high` was judged before it was written; `replayed` are the offsets
/// (at most max_position_replays, the highest) quarantined as replays, which
/// a new owner re-reading them must quarantine again.
struct partition_position {
  std::int64_t high = -1;
  std::vector<std::int64_t> replayed; ///< ascending
};
inline constexpr std::size_t max_position_replays = 1024;

/// The byte form of `s` (little endian, fixed width).
std::string encode(const source_snapshot& s);

/// Parses and checks a blob; nothing when it is malformed or of another version.
std::optional<source_snapshot> decode(std::string_view bytes);

/// The byte form of a partition position (its own magic and version).
std::string encode(const partition_position& p);
/// Parses and checks one; nothing when malformed.
std::optional<partition_position> decode_position(std::string_view bytes);

} // namespace bulwark::integrity
