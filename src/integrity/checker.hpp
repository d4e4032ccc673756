#pragma once
/// The integrity stage as the pipeline sees it: one call per parsed event, one
/// periodic call for silence, one at the end of input. Pure: no I/O, no clock
/// of its own; the caller passes `now` (event time in `scan`, the wall clock
/// in `run`) and the facts it already extracted with simdjson.
///
///   event_facts (raw bytes, bw-sig header, source, seq, epoch, times, metric…)
///     │
///     │  [no keys configured: stages 1-3 are skipped, status is empty]
///     ▼
///   1 signature ── find_signature (no key) ────────── none ─▶ unsigned
///     │                                                        │ source matches
///     │ claim                                                  │ require_signature?
///     ▼                                                        ▼
///   2 sequence check (read-only window lookup)        quarantine + integrity.unsigned
///     ▼                                               (seq accounted for)
///   3 MAC (key ring, rotation window, constant time)
///     ├─ bad MAC / malformed / unknown kid ─▶ quarantine + integrity.tamper (seq accounted)
///     ├─ verified, window said replay ──────▶ quarantine + integrity.replay, status replay
///     └─ verified ─▶ commit: gap ─▶ integrity.gap · reset ─▶ integrity.reset
///                            new epoch ─▶ audit record (epoch_record)
///     ▼ (not quarantined)
///   4 time: event time vs fleet watermark / record timestamp ─▶ integrity.skew;
///           an unskewed verified event moves the watermark and marks its source heard
///     ▼
///   5 metric (type metric): peer windows, impossible values ─▶ poisoning (once per
///           source), untrusted for a while;  audit rollback ─▶ rollback guard
///     ▼
///   result {status, quarantine, untrusted, alerts, audit}
///
///   tick(now)   ─▶ integrity.silence for known sources quiet for silence_after
///               (on event time check() sweeps as well: the clock moves with events)
///   finish(now) ─▶ gaps not yet judged, last poisoning windows
///
/// Invariants:
///  1. An event that fails verification changes no sequence window; its
///     number is only "accounted for" (SPEC §4).
///  2. Sequence, replay and silence state is created by verified events only;
///     unverified input cannot create per-source state except bounded
///     poisoning windows (and then only under a name never seen verified).
///  3. Every table keyed by event values is capped; hitting a cap evicts per
///     the documented policy and yields a rate-limited `capacity` alert.
///  4. Alerts carry no event text beyond clipped source, model, metric and
///     epoch names (and a key id only when it names a configured key).
///  5. Not thread-safe: one checker sees the whole fleet's events in order
///     (the caller serialises access).
#include "core/alert_request.hpp"
#include "core/time.hpp"
#include "integrity/poisoning.hpp"
#include "integrity/sequence.hpp"
#include "integrity/signature.hpp"
#include "integrity/status.hpp"
#include "integrity/timing.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::config {
struct integrity_options;
}

namespace bulwark::integrity {

/// Which clock silence runs on.
enum class time_basis : std::uint8_t {
  event_time, ///< silence relative to the fleet watermark (`scan`)
  wall_clock, ///< silence relative to `now` (`run`)
};

/// Everything the checker can be told (documented defaults in brackets). The
/// first block mirrors SPEC §2 `integrity:`; the rest are additions.
struct checker_settings {
  std::vector<std::string> require_signature; ///< source patterns, `*` wildcard [none]
  timestamp_ms silence_after = 300'000;       ///< [5m]
  timestamp_ms max_skew = 120'000;            ///< [2m]
  std::size_t replay_window = 1024;           ///< sequence numbers tracked per stream [1024]

  time_basis silence_basis = time_basis::event_time; ///< [event_time]; `run` uses wall_clock
  timestamp_ms silence_sweep_interval = 1'000;       ///< tick() sweeps at most this often [1s]
  std::uint64_t reorder_tolerance = 64;              ///< see sequence_settings [64]
  std::uint64_t reset_max_seq = 16;                  ///< see sequence_settings [16]
  std::size_t watermark_quorum = 3;                  ///< see clock_settings [3]
  std::size_t max_sources = 16384;                   ///< known sources (silence) [16384]
  std::size_t max_streams = 16384;                   ///< (source, epoch) streams [16384]
  std::size_t max_epochs_per_source = 4;             ///< [4]
  timestamp_ms capacity_alert_interval = 60'000;     ///< one `capacity` alert per table per [1m]
  poisoning_settings poisoning;
};

/// The SPEC §2 keys taken from the loaded configuration; everything else at
/// its default.
checker_settings settings_from(const config::integrity_options& opts);

/// What the pipeline extracted from one event. Views must outlive check().
struct event_facts {
  std::string_view raw;                       ///< the record's bytes exactly as received
  std::optional<std::string_view> sig_header; ///< Kafka header `bw-sig`, when present
  std::optional<timestamp_ms> event_time;     ///< `integrity.event_time`, parsed
  std::optional<timestamp_ms> record_time;    ///< the Kafka record timestamp (run)
  std::string_view source;                    ///< `source` ("" when absent or not a string)
  std::optional<std::uint64_t> seq;           ///< `seq` when a non-negative integer
  std::string_view epoch;                     ///< `epoch` ("" when absent)
  std::string_view type;                      ///< `type`
  std::string_view model;                     ///< `model`
  std::string_view name;                      ///< metric `name`
  std::optional<double> value;                ///< metric `value` when numeric
  std::string_view action;                    ///< audit `action`
};

/// A record for the audit chain: a known source started a new epoch.
struct epoch_record {
  epoch_change change;
  timestamp_ms at = 0;
  bool authenticated = true; ///< always: only verified events start epochs
  /// `{"kind":"integrity.epoch","source":…,"previous_epoch":…,"epoch":…,"seq":…,"ts":…}`
  std::string to_json() const;
};

/// The integrity outcome of one event.
struct check_result {
  /// `_bulwark.integrity`; empty when no keys are configured (SPEC §3).
  std::optional<integrity_status> status;
  bool quarantine = false;
  std::string_view quarantine_reason; ///< the alert kind that quarantined it ("" when not)
  bool untrusted = false;             ///< `_bulwark.trust: "untrusted"`
  std::vector<alert_request> alerts;  ///< `ref` left for the caller to fill
  std::optional<epoch_record> audit;  ///< to append to the audit chain
};

/// One source as a status display shows it (checker::for_each_source).
struct source_view {
  std::string_view source;
  std::optional<timestamp_ms> last_heard; ///< last verified event, on the silence basis
  bool silent = false;                    ///< reported silent, not heard since
  bool untrusted = false;                 ///< under a poisoning alert now
  std::string_view epoch;                 ///< of its most recent stream ("" when none)
  std::optional<std::uint64_t> last_seq;  ///< highest number accepted in that stream
};

/// How many sources the checker knows, by state (bulwark_integrity_sources).
struct source_counts {
  std::size_t tracked = 0;   ///< heard verified and not evicted (silence tracking)
  std::size_t untrusted = 0; ///< under a poisoning alert now
};

/// The integrity stage. Build with make(); see the diagram above.
class checker {
public:
  /// Validates the settings. An empty key ring turns signatures, sequences
  /// and silence off (SPEC §3: with no keys, integrity is neither checked nor
  /// annotated); skew and poisoning still run.
  static std::variant<checker, settings_error> make(checker_settings s, key_ring keys);

  /// One event. `now` is the caller's clock (alerts' `at`, untrust expiry,
  /// silence on the wall-clock basis).
  check_result check(const event_facts& e, timestamp_ms now);

  /// The signature step alone (find + MAC), for a worker thread that still
  /// holds the raw bytes. Const and touches only the immutable key ring, so
  /// workers may call it concurrently with each other and with check().
  verification verify_only(const event_facts& e, timestamp_ms now) const;

  /// A record this process has judged already, delivered again by Kafka
  /// (at-least-once: a rebalance or a rewind re-reads what was not yet
  /// committed). Its signature is verified and the signing policy applied as
  /// the first time, so tampered and unsigned records are quarantined again;
  /// sequences, the clock, silence and poisoning are left alone (the first
  /// delivery moved them; seeing its sequence number again is not a replay)
  /// and no alert is raised again. A record the first delivery quarantined
  /// as a replay must be remembered by the caller (pipeline::detectors).
  check_result recheck(const event_facts& e, timestamp_ms now) const;

  /// check() with the signature already verified by verify_only(); `e.raw`
  /// and `e.sig_header` are not read. The sequence window is still changed
  /// only for a verified event, after its verification.
  check_result check(const event_facts& e, const verification& v, timestamp_ms now);

  /// Periodic work: silence (at most once per silence_sweep_interval of the
  /// reference clock) and closing poisoning windows. Call it every second in
  /// `run`, and in `scan` after each event or batch (cheap when nothing is due).
  /// On the event-time basis check() sweeps too, as each event moves the
  /// clock, so what silence reports does not depend on how often tick() runs.
  std::vector<alert_request> tick(timestamp_ms now);

  /// End of input (`scan`): gaps not yet judged and the last open windows.
  std::vector<alert_request> finish(timestamp_ms now);

  /// The fleet watermark (event time), when one exists.
  std::optional<timestamp_ms> watermark() const noexcept { return clock_.watermark(); }
  /// Whether signatures are checked (some key is configured).
  bool keyed() const noexcept { return !verifier_.ring().empty(); }
  /// The settings in force.
  const checker_settings& settings() const noexcept { return settings_; }

  // --- state across instances (docs/integrity.md, "State across instances") ---
  /// Everything kept for `source` — its sequence windows per epoch (head,
  /// replay bitmap, pending gaps and accounted numbers), when it was last
  /// heard and whether its silence was reported, until when it is untrusted —
  /// as a versioned blob (snapshot.hpp) stamped with `now`. Nothing when no
  /// key is configured or nothing is kept for the source.
  std::optional<std::string> export_source(std::string_view source, timestamp_ms now) const;
  /// Replaces what is kept for `source` with `blob` (from export_source,
  /// perhaps in another process). On the wall-clock basis the silence clock
  /// stops while nobody held the source: its last-heard time moves forward by
  /// `now` minus the blob's time. A blob that is malformed, of an unknown
  /// version or for another source changes nothing, is counted
  /// (restores_refused) and returns false; so does any blob without keys.
  /// Caps apply as to new sources (their `capacity` alerts come with the
  /// next tick()).
  bool restore_source(std::string_view source, std::string_view blob, timestamp_ms now);
  /// Drops the sequence and silence state of `source` (another instance
  /// holds it now, so this one must neither judge its numbers nor report
  /// it silent). Untrust is kept: it expires by itself.
  void forget_source(std::string_view source);
  /// Blobs restore_source refused.
  std::uint64_t restores_refused() const noexcept { return restores_refused_; }

  /// Sources known now, by state.
  source_counts sources(timestamp_ms now) const;
  /// Calls `fn` once per source that is tracked or untrusted at `now`, in no
  /// particular order; the views last until the next non-const call. Costs
  /// O(tracked + untrusted sources): for status displays, not per event.
  void for_each_source(timestamp_ms now, const std::function<void(const source_view&)>& fn) const;

private:
  checker(checker_settings s, key_ring keys, sequence_tracker seq);

  /// The stages after the MAC; `pre` is the window's verdict looked up
  /// before it (computed here when absent).
  check_result check_verified(const event_facts& e, const verification& v,
                              std::optional<seq_verdict> pre, timestamp_ms now);
  void on_unsigned(const event_facts& e, timestamp_ms now, check_result& r);
  void on_failed(const event_facts& e, const verification& v, timestamp_ms now, check_result& r);
  void on_verified(const event_facts& e, seq_verdict pre, timestamp_ms now, check_result& r);
  void check_time(const event_facts& e, bool may_move, timestamp_ms now, check_result& r,
                  bool& skewed);
  void check_metric(const event_facts& e, bool authenticated, timestamp_ms now, check_result& r);
  void check_rollback(const event_facts& e, bool authenticated, timestamp_ms now, check_result& r);
  void poisoning_alerts(std::vector<poisoning_finding>& found, timestamp_ms now,
                        std::vector<alert_request>& out);
  void capacity(std::string_view table, std::size_t cap, timestamp_ms now,
                std::vector<alert_request>& out);
  /// integrity.silence for known sources quiet at `reference`, at most once
  /// per silence_sweep_interval of that clock.
  void sweep_silence(timestamp_ms reference, timestamp_ms now, std::vector<alert_request>& out);

  checker_settings settings_;
  verifier verifier_;
  sequence_tracker sequences_;
  fleet_clock clock_;
  silence_monitor silence_;
  peer_monitor peers_;
  std::size_t window_bits_ = 0; ///< replay_window rounded as the bitmap holds it
  std::optional<timestamp_ms> last_sweep_;
  std::map<std::string, timestamp_ms, std::less<>> capacity_alerted_;
  std::vector<poisoning_finding> found_; ///< scratch
  std::vector<alert_request> pending_;   ///< raised outside check() (restores), for tick()
  std::uint64_t restores_refused_ = 0;
};

} // namespace bulwark::integrity
