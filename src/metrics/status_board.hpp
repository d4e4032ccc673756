#pragma once
/// What the live status page shows (`GET /api/status`): a bounded snapshot of
/// throughput, findings, recent alerts, drift per model and feature and
/// integrity per source.
///
///   poller thread (stage mutex held) ─▶ set_flow / add_alerts / set_stage ─┐
///                                                                          ▼
///   HTTP thread ─▶ render_json ◀──────────────────────── status_board (mutex)
///
/// Invariants:
///  1. Bounded whatever the input: at most `board_limits::alerts` alerts,
///     `sources` source rows and `drift_rows` drift rows; every string kept is
///     clipped to `field_bytes` at a UTF-8 boundary. Alert kinds are counted
///     by the fixed vocabulary (core/alert_request.hpp), the rest as `other`.
///  2. It holds only what bulwark already emits: alert records (sanitised by
///     the alert engine), identifiers and statistics from the stage. Never
///     event text.
///  3. render_json writes valid JSON whatever the strings hold; in strings,
///     `<`, `>`, `&`, U+2028 and U+2029 are written as \u escapes, so the
///     document stays inert even if a client mistook it for HTML or script.
///  4. Thread-safe: one mutex; each call holds it briefly (no I/O under it).
#include "core/time.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::metrics {

struct board_limits {
  std::size_t alerts = 50;      ///< most recent alert records kept
  std::size_t sources = 200;    ///< most recently seen sources kept
  std::size_t drift_rows = 200; ///< (key, feature) rows kept
  std::size_t field_bytes = 256;
};

/// Record totals since the start (set_flow).
struct flow_totals {
  std::uint64_t consumed = 0;
  std::uint64_t delivered = 0;
  std::array<std::uint64_t, 5> verdicts{}; ///< vocabulary::verdicts order
  std::array<std::uint64_t, 4> findings{}; ///< vocabulary::categories order
};

/// One (key, feature) of the drift monitor.
struct drift_row {
  std::string key, model, feature;
  std::string_view state; ///< "idle" | "learning" | "frozen"
  bool alarm = false;
  std::uint64_t windows = 0;
  std::optional<timestamp_ms> window_end; ///< of the last compared window; stats below valid
  std::uint64_t n = 0;
  double psi = 0, js = 0, wasserstein_u = 0, u_shift = 0;
};

/// One source as the integrity checker knows it.
struct source_row {
  std::string source;
  std::optional<timestamp_ms> last_heard;
  bool silent = false;
  bool untrusted = false;
  std::string epoch;
  std::optional<std::uint64_t> last_seq;
};

/// What the stateful stage holds now (set_stage).
struct stage_view {
  bool drift = false; ///< drift configured
  std::size_t drift_keys = 0, drift_frozen = 0, drift_learning = 0, drift_bytes = 0;
  std::vector<drift_row> drift_rows;
  bool keyed = false; ///< integrity keys configured (signatures checked)
  std::size_t sources_tracked = 0, sources_untrusted = 0;
  std::optional<timestamp_ms> watermark;
  std::vector<source_row> sources;
};

class status_board {
public:
  explicit status_board(board_limits l = {});

  /// Totals at wall time `now`; events/s is computed over the last interval
  /// of at least one second.
  void set_flow(const flow_totals& t, timestamp_ms now);
  /// The alert records (NDJSON, one object a line) the stage just emitted.
  /// Lines that are not alert objects are skipped.
  void add_alerts(std::string_view ndjson);
  /// Replaces the drift rows (the first `drift_rows`) and merges the sources
  /// into the source table (most recently seen kept).
  void set_stage(stage_view v);

  /// Appends the /api/status document (docs/status-page.md) at wall time `now`.
  void render_json(std::string& out, timestamp_ms now) const;

  /// Rows held (for tests and bounds).
  std::size_t alert_count() const;
  std::size_t source_count() const;

private:
  struct alert_row {
    std::string id, ts, severity, kind, title, source, model;
    std::uint64_t count = 1;
  };
  /// Per source: the stage's view plus what its integrity alerts reported.
  struct source_entry {
    source_row row;
    bool in_stage = false; ///< in the latest stage snapshot
    timestamp_ms last_seen = 0;
    /// Occurrences by integrity alert kind (source_kinds order).
    std::array<std::uint64_t, 7> counts{};
    /// Per kind, the fingerprint and running count of the last record, so a
    /// repeat with a running count adds only what is new.
    std::array<std::string, 7> last_fp;
    std::array<std::uint64_t, 7> last_count{};
  };
  source_entry& source_slot(std::string_view name, timestamp_ms seen);
  std::string clip(std::string_view s) const;

  board_limits limits_;
  mutable std::mutex mu_;
  flow_totals flow_{};
  double rate_ = 0;
  double rate_interval_s_ = 0;
  std::optional<std::pair<flow_totals, timestamp_ms>> rate_base_;
  std::deque<alert_row> alerts_; ///< newest first
  std::uint64_t alerts_total_ = 0;
  std::vector<std::uint64_t> by_kind_; ///< alert_kinds() order, then other
  stage_view stage_;                   ///< sources moved into sources_
  std::vector<source_entry> sources_;
};

/// Writes `<`, `>`, `&`, U+2028 and U+2029 in JSON text as \u escapes. Only
/// valid inside strings in JSON, so applying it to a whole document keeps
/// its meaning.
void harden_json(std::string& json, std::size_t from = 0);

} // namespace bulwark::metrics
