#pragma once
/// The alert engine: alert_requests in, alert records out (SPEC §6). Pure and
/// single-threaded; time is passed in (event time in `scan`, the wall clock in
/// `run`), so tests drive it with a fake clock.
///
///   request ─▶ sanitise (identifiers, title, evidence) ─▶ fingerprint
///      │
///      ├─ critical ─▶ fold ─▶ emitted during submit(), every occurrence,
///      │                      with the running count
///      ├─ high ─────▶ fold ─▶ group_wait / group_interval / repeat_interval
///      │                      (no budget, no flood, own table)
///      └─ low/medium
///           ├─ flood active ─▶ absorbed: counted in the flood alert
///           ├─ known fold ───▶ folded (noise) ─▶ timers ─▶ source + global token
///           └─ new fold ─────▶ source + global token? open (token prepaid)
///                                             : over budget (noise, counted)
///      noise rate over flood.window ≥ enter_count ─▶ one `flood` alert (high),
///      updated at most every update_interval, closed after quiet_for below
///      exit_count.
///
/// Invariants:
///  1. A critical request is emitted before submit() returns; nothing a low or
///     medium request does (budgets, floods, table evictions) touches the
///     high/critical table or delays it.
///  2. Fingerprints and budgets use authenticated fields only: an unverified
///     request's claimed source enters neither (it is shown as
///     evidence.claimed_source), and all unverified requests share one budget.
///     Authenticated and unverified requests never share a fold.
///  3. Memory is bounded by the caps in `limits` and the fixed sketch sizes,
///     whatever the number of distinct sources, models or rules.
///  4. Every emitted string passed sanitize.hpp: identifiers are plain or
///     hashed, titles clipped, evidence a checked JSON object of bounded size.
#include "alert/alert.hpp"
#include "alert/settings.hpp"
#include "core/alert_request.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <memory>
#include <variant>

namespace bulwark::alert {

/// What the engine did, for metrics (`bulwark_alerts_*`).
struct engine_stats {
  std::array<std::uint64_t, 4> received{}; ///< requests, by severity (low … critical)
  std::array<std::uint64_t, 4> emitted{};  ///< records, by severity (flood records are high)
  std::uint64_t folded = 0;                ///< occurrences folded into an existing alert
  std::uint64_t over_budget = 0;        ///< low/medium occurrences refused a new alert by a budget
  std::uint64_t deferred = 0;           ///< records postponed for lack of a token
  std::uint64_t absorbed = 0;           ///< low/medium occurrences absorbed by an active flood
  std::uint64_t dropped_pending = 0;    ///< unemitted occurrences lost to eviction or a flood
  std::uint64_t floods = 0;             ///< flood episodes started
  std::uint64_t evicted_folds = 0;      ///< alerts forgotten because their table was full
  std::uint64_t evicted_budgets = 0;    ///< source buckets forgotten because the table was full
  std::uint64_t evidence_replaced = 0;  ///< evidence oversize or not a JSON object
  std::uint64_t identifiers_hashed = 0; ///< source/model/rule/kind names shown hashed

  /// All records emitted.
  std::uint64_t records() const noexcept {
    return emitted[0] + emitted[1] + emitted[2] + emitted[3];
  }
};

/// Folds, budgets, prioritises and floods alerts. Build with make().
///
///   auto made = alert::engine::make(settings);
///   auto& eng = std::get<alert::engine>(made);
///   eng.submit(request, now, sink);  // per detector request
///   eng.tick(now, sink);             // timers (run: every ~100 ms; scan: optional)
///   eng.flush(now, sink);            // end of input
class engine {
public:
  /// Validates `s` (see validate()) and builds an engine.
  static std::variant<engine, error> make(engine_settings s);

  engine(engine&&) noexcept;
  engine& operator=(engine&&) noexcept;
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;
  ~engine();

  /// Takes one request at time `now`. Runs due timers first, so in `scan`
  /// no tick() is needed between requests. A critical request is emitted to
  /// `sink` before this returns.
  void submit(const alert_request& request, timestamp_ms now, alert_sink& sink);

  /// Fires timers due at `now`: group_wait / group_interval / repeat_interval,
  /// deferred records whose token arrived, flood updates and the flood's end.
  void tick(timestamp_ms now, alert_sink& sink);

  /// End of input: fires due timers, closes an open flood and emits every
  /// alert with occurrences not yet emitted, whatever its timers and budget.
  void flush(timestamp_ms now, alert_sink& sink);

  /// When tick() next has work (timers, flood update or end check);
  /// max() when nothing is pending.
  timestamp_ms next_deadline() const noexcept;

  const engine_stats& stats() const noexcept;
  const engine_settings& settings() const noexcept;
  /// Whether a flood is in progress.
  bool flood_active() const noexcept;
  /// Alerts tracked (both tables).
  std::size_t tracked() const noexcept;
  /// Bytes held by the engine's tables, sketches and buckets (capacities and
  /// node overheads estimated from libstdc++'s layouts).
  std::size_t memory_bytes() const noexcept;
  /// An upper bound of memory_bytes() implied by the settings' caps.
  static std::size_t memory_bound(const engine_settings& s) noexcept;

private:
  struct state;
  explicit engine(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

} // namespace bulwark::alert
