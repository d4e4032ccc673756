#pragma once
/// The drift monitor: per (key, feature) it learns or loads a frozen
/// reference, accumulates event-time panes against it, and when panes close
/// runs three detectors side by side — the window vs the reference (abrupt
/// change), longer scales vs the reference (cumulative displacement) and a
/// CUSUM of per-pane u-mean scores (small persistent shifts) — raising
/// calibrated `drift` alerts (SPEC §6).
///
/// Pure and time-injected: the caller extracts values and event times from
/// events and drives time with advance(watermark). No threads, no I/O.
///
/// Stage diagram of one (key, feature):
///
///   observe ─▶ learning (reservoir / space-saving) ──freeze after
///              `reference_windows` windows──▶ frozen reference (never moves)
///   observe ─▶ open panes (ring of lateness + 1 + future windows)
///   advance ─▶ close pane p ─▶ window detector, scale rings, CUSUM ─▶ alert
///
/// Invariants:
///  1. A frozen reference changes only through load_reference(), relearn() or
///     forget(), each of which returns audit records for the caller to chain.
///  2. Every observed event is counted in exactly one of the `counters`.
///  3. State per (key, feature) has a size fixed by the settings; the number of
///     keys is capped, and keys are never evicted (evicting under attacker
///     pressure would silently re-baseline a model).
///  4. Pane state is integer-only; panes merged from several monitors give
///     exactly the single-monitor state.
#include "core/alert_request.hpp"
#include "drift/settings.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::drift {

/// One feature's value in one event, as the caller extracted it: missing (or
/// JSON null), a number, or a text (categorical; pass booleans as "true" /
/// "false"). A number given for a categorical feature is binned by its
/// shortest decimal text; a text (or a non-finite number) given for a
/// numeric feature counts as null.
struct feature_value {
  enum class kind : std::uint8_t { missing, number, text };
  kind type = kind::missing;
  double number = 0;
  std::string_view text;

  /// No value (absent, or JSON null).
  static feature_value missing() noexcept { return {}; }
  /// A number.
  static feature_value of(double v) noexcept { return {kind::number, v, {}}; }
  /// A text (a category); the view must outlive the observe() call only.
  static feature_value of(std::string_view v) noexcept { return {kind::text, 0, v}; }
};

/// What observe() did with an event.
enum class observe_result : std::uint8_t {
  applied,        ///< added to open panes of at least one monitored feature
  learning,       ///< added to the reference being learned
  late,           ///< its window already closed (more than allowed_lateness late)
  future,         ///< further ahead of the watermark than max_future_windows
  untracked,      ///< a new key beyond max_keys
  unreferenced,   ///< a key with no reference while learning is off
  reference_late, ///< belongs to a reference window that froze already
};

/// Counters of every event observe() saw (each in exactly one of the last
/// seven) and of pane data discarded by explicit reference changes.
struct counters {
  std::uint64_t observed = 0;
  std::uint64_t applied = 0;
  std::uint64_t learning = 0;
  std::uint64_t late = 0;
  std::uint64_t future = 0;
  std::uint64_t untracked = 0;
  std::uint64_t unreferenced = 0;
  std::uint64_t reference_late = 0;
  std::uint64_t discarded_by_replacement = 0; ///< values in open panes when a reference changed
  std::uint64_t merged_late = 0;              ///< values in merged panes that had closed already
};

/// A drift or capacity alert, with the `ref_id` of the event its refs[0]
/// should point at (the last event of the window that tripped it; for
/// `capacity`, the event that hit the cap). The caller maps the id back to a
/// line or topic/partition/offset and fills request.ref.
struct raised_alert {
  alert_request request;
  std::optional<std::uint64_t> ref_id;
};

/// A record for the audit chain (SPEC §5): a reference frozen, loaded,
/// replaced or reset for relearning. `json` is one JSON object.
struct audit_record {
  std::string json;
};

/// Where the monitor's time stands and what it holds.
struct monitor_state {
  std::size_t keys = 0;
  std::size_t frozen = 0;                    ///< (key, feature) pairs with a frozen reference
  std::size_t learning = 0;                  ///< (key, feature) pairs still learning
  std::size_t bytes = 0;                     ///< heap + inline bytes of all per-key state
  std::optional<timestamp_ms> closed_before; ///< every window ending at or before this closed
};

/// Where a (key, feature) reference stands.
enum class reference_phase : std::uint8_t { idle, learning, frozen };

/// One (key, feature) as a status display shows it (monitor::for_each_feature).
/// The statistics are those of the last window compared with the current
/// reference; they are meaningful only when `window_end` is set.
struct feature_status {
  std::string_view key, model;
  std::size_t feature = 0; ///< index in settings::features
  reference_phase state = reference_phase::idle;
  bool alarm = false;        ///< some detector judges it drifted now
  std::uint64_t windows = 0; ///< windows compared with the current reference
  std::optional<timestamp_ms> window_end;
  std::uint64_t n = 0; ///< values in that window
  double psi = 0;
  double js = 0;            ///< Jensen–Shannon distance
  double wasserstein_u = 0; ///< NaN for categorical features
  double u_shift = 0;       ///< mean u of the window minus the reference's
};

/// The drift monitor (see the file comment).
class monitor {
public:
  /// Validates the settings and derives the calibration.
  static std::variant<monitor, error> make(settings s);

  /// Movable, not copyable (the state is large).
  monitor(monitor&&) noexcept;
  monitor& operator=(monitor&&) noexcept;
  ~monitor();

  /// One event: `key` is the joined values of `drift.key` (any injective
  /// joining; longer than 512 bytes it is kept as its SHA-256), `model` the
  /// first of them (longer than 128 bytes: its SHA-256), `values` one per configured feature
  /// in order (missing ones may be left off the end), `ref_id` the caller's
  /// handle of the event (its line in scan). Call advance() first with a
  /// watermark that accounts for this event.
  observe_result observe(std::string_view key, std::string_view model,
                         std::span<const feature_value> values, timestamp_ms event_time,
                         std::uint64_t ref_id);

  /// Moves event time: closes every window ending at or before
  /// watermark - allowed_lateness, freezes references whose learning windows
  /// closed, and returns the alerts raised (plus any capacity alert).
  std::vector<raised_alert> advance(timestamp_ms watermark);

  /// End of input: closes every window that holds data and returns the
  /// alerts. Events observed afterwards are late.
  std::vector<raised_alert> finish();

  /// The frozen references as a reference file (docs/drift.md, version 1).
  std::string export_reference() const;

  /// Loads a reference file (all entries or none). Each (key, feature) it
  /// names is frozen to the loaded reference from now on; one record per
  /// entry says whether it was loaded fresh or replaced an earlier reference.
  std::variant<std::vector<audit_record>, error> load_reference(std::string_view text,
                                                                timestamp_ms at);

  /// Throws away the frozen references of `key` and learns new ones from the
  /// next `reference_windows` windows: an explicit act, one record per feature.
  std::vector<audit_record> relearn(std::string_view key, timestamp_ms at);

  /// Stops tracking `key` altogether (its references and state), freeing its
  /// slot under max_keys: an explicit act with one record; nothing if the key
  /// is not tracked.
  std::optional<audit_record> forget(std::string_view key, timestamp_ms at);

  /// Records of references that froze after learning (and of keys evicted
  /// when idle, if enabled), since the last call.
  std::vector<audit_record> take_audit_records();

  /// The open (not yet closed) panes of frozen features, for inspection or
  /// another instance's merge_panes().
  std::string export_panes() const;

  /// export_panes(), then empties those panes: hands them over to the
  /// instance that merges them (so that no value is counted twice).
  std::string take_panes();

  /// Adds panes exported by another monitor with the same references. Panes
  /// whose window closed here already are counted in merged_late.
  std::optional<error> merge_panes(std::string_view text);

  /// The keys tracked now, sorted.
  std::vector<std::string> tracked_keys() const;

  /// Everything this monitor holds for `key` — references, learning state,
  /// open panes, longer-scale rings, CUSUMs, alarm and repeat state — as one
  /// JSON object (format "bulwark.drift.key"), so that another monitor with
  /// the same settings carries on with the key exactly where this one stood
  /// (the hand-over when another instance becomes the key's owner). Nothing
  /// when the key is not tracked. `ref_text` turns the ref ids the state
  /// holds (the last event of each pane) into text that names the same event
  /// on the other side.
  std::optional<std::string>
  export_key(std::string_view key, const std::function<std::string(std::uint64_t)>& ref_text) const;

  /// Takes over a key written by export_key() on a monitor with the same
  /// window, features, bins, sample, categories, scales, lateness and future
  /// windows, replacing any state of that key here. A fresh monitor adopts
  /// the exporter's closed-window horizon; windows this monitor closed
  /// already are closed for the key at once (their alerts come with the next
  /// advance()), and open panes beyond this monitor's horizon are counted in
  /// counters.merged_late. `ref_id` maps the texts back to this side's ref
  /// ids. On error (a malformed or foreign snapshot, or a new key beyond
  /// max_keys) nothing changes.
  std::optional<error>
  import_key(std::string_view text,
             const std::function<std::optional<std::uint64_t>(std::string_view)>& ref_id);

  /// Drops `key` and its state without an audit record: it was handed over
  /// (export_key) to the monitor that owns it now. False when not tracked.
  bool release_key(std::string_view key);

  /// What happened to every observed event so far.
  const counters& stats() const noexcept;
  /// The significance levels and CUSUM threshold derived from the budget.
  const calibration& calib() const noexcept;
  /// The settings the monitor runs with.
  const settings& config() const noexcept;
  /// Keys, references and bytes held, and the closed-window horizon.
  monitor_state state() const;

  /// Calls `fn` for every tracked (key, feature), in no particular order; the
  /// views last until the next non-const call. O(keys × features): for
  /// status displays, not per event.
  void for_each_feature(const std::function<void(const feature_status&)>& fn) const;

  /// Bytes of state of one (key, feature), or nothing if not tracked.
  std::optional<std::size_t> feature_bytes(std::string_view key, std::size_t feature) const;

private:
  struct impl;
  explicit monitor(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

/// Builds a reference file from a stream of events (`bulwark drift baseline`):
/// every event of each key goes into its references (no windows): the first
/// `reference_sample` values of a (key, feature) place its cuts or table, all
/// later ones are counted against them. Keys beyond max_keys are counted, not
/// kept.
class baseline_builder {
public:
  /// Validates the settings (learning is implied).
  static std::variant<baseline_builder, error> make(settings s);

  /// Movable, not copyable.
  baseline_builder(baseline_builder&&) noexcept;
  baseline_builder& operator=(baseline_builder&&) noexcept;
  ~baseline_builder();

  /// Adds one event's values (see monitor::observe for the arguments).
  void add(std::string_view key, std::string_view model, std::span<const feature_value> values);
  /// Events dropped because of the key cap.
  std::uint64_t untracked() const noexcept;
  /// The reference file (same format as monitor::export_reference).
  std::string finish() const;

private:
  struct impl;
  explicit baseline_builder(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace bulwark::drift
