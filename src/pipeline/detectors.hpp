#pragma once
/// The stateful stage: what must see the whole fleet's events in order.
///
///   record_facts (from a worker) ─▶ integrity (signature, sequence, replay,
///        silence, skew, poisoning) ─▶ quarantine? / integrity / trust
///     ─▶ alerts for findings, rejections, integrity, drift ─▶ alert engine
///     ─▶ drift panes (verified or unkeyed events only)
///     ─▶ audit chain: a receipt per consumed record, audit events, decisions,
///        signed checkpoints
///
/// Invariants:
///  1. One stage sees the records in input order (scan: the writer thread;
///     run: a mutex around observe), so its verdicts are deterministic.
///  2. It never sees raw event text beyond what the detectors read; what it
///     emits (alerts, audit records) holds sanitised events and identifiers only.
///  3. Every output is appended to `outputs` as NDJSON lines; the caller
///     writes them (files in scan, topics in run).
#include "alert/engine.hpp"
#include "audit/writer.hpp"
#include "config/options.hpp"
#include "core/alert_request.hpp"
#include "drift/monitor.hpp"
#include "integrity/checker.hpp"
#include "integrity/state_book.hpp"
#include "pipeline/facts.hpp"
#include "pipeline/processor.hpp"

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::metrics {
struct stage_view;
}

namespace bulwark::pipeline {

/// What the stage decided for one record.
struct stage_decision {
  bool quarantine = false;
  std::string_view reason;                   ///< the alert kind that quarantined it
  std::optional<std::string_view> integrity; ///< `_bulwark.integrity` (keys configured)
  bool untrusted = false;                    ///< `_bulwark.trust: "untrusted"`
  /// Whether the output line of a record with `f` must be (re-)annotated with
  /// the fields above: an event not verified, untrusted, or with findings
  /// while integrity is checked (its annotation then names `integrity`).
  bool reannotate(const record_facts& f) const noexcept {
    if (quarantine || !f.parsed) return false;
    return untrusted || (integrity && (*integrity != "verified" || f.body_size != 0));
  }
};

/// One record for the fold topic (pipeline/fold.hpp), or for its drift
/// state changelog: the partition is fold::partition_of(key).
struct fold_record {
  std::int32_t partition = 0;
  std::string key;
  std::string value;
};

/// NDJSON lines produced by the stage, drained by the caller.
struct stage_outputs {
  std::string alerts;
  std::string audit;
  std::vector<fold_record> fold; ///< options::fold_partitions only
  std::uint64_t alert_count = 0;
  std::uint64_t audit_count = 0;
  void clear() {
    alerts.clear();
    audit.clear();
    fold.clear();
  }
};

class detectors {
public:
  enum class clock_mode : std::uint8_t { event_time, wall_clock };
  struct options {
    clock_mode clock = clock_mode::event_time;
    bool audit = false; ///< write the audit chain (scan --audit, run always)
    /// A further sink every alert record also goes to (the Alertmanager
    /// forwarder); it must not block. Not owned; outlives the stage.
    alert::alert_sink* also = nullptr;
    /// Keep per-source integrity state ready for the changelog (run,
    /// kafka.integrity_state_topic): which partition each source lives on,
    /// which changed (take_state, restore_state, release_partition).
    bool integrity_state = false;
    /// Continue this chain (its last record, from audit::resume_point)
    /// instead of starting a new one. `run` reads it from the audit topic and
    /// then records a `chain_resumed` decision.
    std::optional<audit::chain_head> resume_audit = std::nullopt;
    /// The partition count of the fold topic (kafka.fold_topic; 0: off).
    /// On: the drift values of trusted events and every non-critical alert
    /// occurrence go to outputs().fold instead of this stage's own monitor
    /// and engine; the owner of their fold partition takes them (fold_in).
    std::int32_t fold_partitions = 0;
  };

  /// Builds every detector the configuration enables. An error names the
  /// configuration key and why (exit 2).
  static std::variant<std::unique_ptr<detectors>, std::string>
  make(const config::options& opts, const fact_spec& spec, options o);

  /// One record, in input order. `raw` is the record's bytes as received;
  /// `line` its output as the worker produced it (the sanitised event, or a
  /// placeholder when rejected); `now` the wall clock in `run` (ignored with
  /// event time). `sig_header`/`record_time`: the Kafka `bw-sig` header and
  /// record timestamp (run only).
  stage_decision observe(const record_facts& f, std::string_view raw, std::string_view line,
                         const input_ref& ref, std::optional<std::string_view> sig_header,
                         std::optional<timestamp_ms> record_time, timestamp_ms now);

  /// Timers (silence, alert grouping, drift windows, audit checkpoints).
  void tick(timestamp_ms now);
  /// End of input: open windows close, pending alerts go out, a final checkpoint.
  void finish(timestamp_ms now);

  /// bulwark's own decision (e.g. `rules_reloaded`, SPEC §5): a `decision`
  /// record on the audit chain when the chain is on; `json` is an object of
  /// identifiers and digests, never event content.
  void decision(timestamp_ms now, std::string_view name, const std::string& json);
  /// An alert bulwark raises about itself (kind `config`, `capacity`), through
  /// the same engine as every other alert.
  void raise(alert_request r, timestamp_ms now);

  stage_outputs& outputs() noexcept { return out_; }
  /// The current time of the stage (event time in scan).
  timestamp_ms now() const noexcept { return now_; }
  const alert::engine_stats& alert_stats() const;
  /// What the drift monitor did with the events it saw; null without drift.
  const drift::counters* drift_stats() const noexcept;

  // --- the status page and the gauges fed from it (run) ---
  /// The drift rows and integrity sources as they stand at `now` (wall or
  /// event time, as the stage runs); O(drift keys × features + sources).
  void snapshot(metrics::stage_view& out, timestamp_ms now) const;
  /// Alert requests handed to the engine so far, by kind: alert_kinds()
  /// order, then one for any other kind.
  const std::vector<std::uint64_t>& alert_requests() const noexcept { return requests_; }

  ~detectors();
  detectors(const detectors&) = delete;
  detectors& operator=(const detectors&) = delete;

  // --- integrity state across instances (run; docs/integrity.md) ---
  /// One record of the integrity changelog, for the changelog partition
  /// numbered like the input partition its source's records come from.
  struct state_record {
    std::int32_t partition = -1;
    std::string key;                  ///< state_key(): input topic, NUL, source ("" = position)
    std::optional<std::string> value; ///< nothing: a tombstone (no state kept any more)
  };
  /// The records that bring the changelog up to date for the partitions in
  /// `only` (null: every partition with new records since its last
  /// position): the state of each source changed since it was last written,
  /// then, last in each partition, its position (integrity::partition_position).
  /// `positions` receives, per partition written, the highest offset covered.
  std::vector<state_record> take_state(const std::set<integrity::home>* only, timestamp_ms now,
                                       std::map<integrity::home, std::int64_t>& positions);
  /// One record read back from the changelog partition of `h` (the last
  /// value of its key); records of other input topics are skipped. For a
  /// position record, the highest offset it covers.
  std::optional<std::int64_t> restore_state(const integrity::home& h, std::string_view key,
                                            std::string_view value, timestamp_ms now);
  /// `h` went to another instance: its sources' state is dropped here, so
  /// this instance neither reports them silent nor judges stale windows if
  /// the partition comes back (it is restored from the changelog then).
  void release_partition(const integrity::home& h);
  /// Changelog records whose state the checker refused (malformed, another version).
  std::uint64_t integrity_restores_refused() const noexcept {
    return integrity_->restores_refused();
  }
  /// The changelog key of `source` of input `topic`.
  static std::string state_key(std::string_view topic, std::string_view source);

  // --- the fold topic (run, kafka.fold_topic; pipeline/fold.hpp) ---
  /// One record of a fold partition this instance holds: drift values are
  /// observed by this stage's monitor, an alert occurrence goes to its
  /// engine. Why it was refused otherwise (nothing changes then).
  std::optional<std::string> fold_in(std::string_view value, timestamp_ms now);
  /// Drift state records for the changelog of the fold partitions in
  /// `parts` (keyed like the fold topic, values from drift::monitor::export_key):
  /// every key there with `all`, else the keys that took values since they
  /// were last written, or every key when a window closed since then.
  std::vector<fold_record> take_drift_state(const std::set<std::int32_t>& parts, bool all);
  /// One record read back from the drift state changelog (the last value of
  /// its key); why it was refused otherwise.
  std::optional<std::string> restore_drift(std::string_view key, std::string_view value);
  /// The fold partitions `parts` went to another instance: their drift keys
  /// are dropped here (their state was written by take_drift_state first),
  /// and folded alerts still pending go out when the alert partition is one
  /// of them.
  void release_fold_partitions(const std::set<std::int32_t>& parts, timestamp_ms now);

  /// Records Kafka delivered again after this stage had judged them (a
  /// rebalance or rewind re-reads what was not yet committed): judged again
  /// by signature and remembered replays only, counted here.
  std::uint64_t redelivered() const noexcept { return redelivered_; }

private:
  detectors() = default;
  /// Whether `ref` is at or below the highest offset seen for its partition
  /// (run only; updates that offset otherwise).
  bool redelivered(const input_ref& ref);
  void remember_replay(const input_ref& ref);
  stage_decision observe_again(const record_facts& f, std::string_view raw, const input_ref& ref,
                               std::optional<std::string_view> sig_header,
                               std::optional<timestamp_ms> event_time,
                               std::optional<timestamp_ms> record_time);
  /// `r` to this stage's engine, or to the fold topic when folding and not critical.
  void submit(alert_request r, timestamp_ms at) { submit_at(r, at); }
  /// submit, leaving `r`'s strings to the caller (to reuse their storage).
  void submit_at(alert_request& r, timestamp_ms at);
  void drift_alerts(std::vector<drift::raised_alert> raised);
  void audit_line(std::string line);

  const fact_spec* spec_ = nullptr;
  options options_;
  alert_request finding_request_; ///< observe()'s per-finding request, reused
  std::optional<integrity::checker> integrity_;
  std::optional<alert::engine> alerts_;
  std::unique_ptr<alert::alert_sink> sink_;
  std::optional<drift::monitor> drift_;
  std::optional<audit::chain_writer> chain_;
  std::vector<std::string> input_topics_; ///< for drift refs in run
  std::string drift_key_;
  std::vector<drift::feature_value> drift_values_;
  timestamp_ms now_ = 0;
  bool started_ = false;
  stage_outputs out_;

  using offset_key = std::tuple<std::string, std::int32_t, std::int64_t>;
  /// Per topic, the highest offset seen per partition (-1: none yet).
  std::map<std::string, std::vector<std::int64_t>, std::less<>> high_offsets_;
  std::set<offset_key> replayed_;         ///< quarantined as replays (bounded)
  std::deque<offset_key> replayed_order_; ///< eviction order of replayed_
  std::uint64_t redelivered_ = 0;
  std::optional<integrity::state_book> book_;            ///< options::integrity_state
  std::map<integrity::home, std::int64_t> written_high_; ///< last position written per partition
  std::vector<std::uint64_t> requests_ = std::vector<std::uint64_t>(alert_kinds().size() + 1);
  // The fold topic (options::fold_partitions).
  std::set<std::string, std::less<>> drift_dirty_;            ///< drift keys changed since written
  std::map<std::int32_t, timestamp_ms> drift_written_window_; ///< per fold partition
  std::vector<drift::feature_value> fold_values_;
};

/// The drift inputs of one event: its joined key, the first key field (the
/// model) and one value per configured feature. `key` and `values` are reused
/// buffers; views point into `f`.
void drift_inputs(const record_facts& f, const fact_spec& spec, std::string& key,
                  std::string_view& model, std::vector<drift::feature_value>& values);

/// Rewrites `line` (a sanitised event as the worker emitted it) with the
/// stage's integrity/trust fields in its `_bulwark` member.
void reannotate(std::string& out, std::string_view line, const record_facts& f,
                const stage_decision& d);

} // namespace bulwark::pipeline
