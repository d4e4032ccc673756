#pragma once
/// The simulated fleet: N model servers, each serving one model, writing
/// signed telemetry (SPEC §3, §4) with a configurable attack mix and the
/// ground truth of every attack kept out of band (label.hpp).
///
///   simulated clock: event i has ts = start + ⌊i·1000 / clock_rate⌋ ms
///        │
///        ▼   in this order, one event per call:
///   1. a rollback audit that ends a poisoning episode, when due
///   2. a server's periodic metric, when due (every metric_interval, 3 names)
///   3. flood junk, with probability flood.share while a flood burst lasts
///   4. a drawn event: one uniform draw picks an attack by the rates (or none),
///      then a server that can carry it (not one that is silent), then the
///      event type (prediction, log, audit) and its content
///        │
///        ▼
///   sign (body or header) ─▶ tamper after signing, or leave unsigned ─▶ out
///
/// Invariants:
///  1. Deterministic: the same options (seed included) give the same bytes.
///     Drift consumes no randomness, so a drifted stream differs from its
///     clean twin only in `/features/amount`.
///  2. `seq` counts 1, 2, 3… per source; only a labelled gap skips numbers, and
///     only a labelled replay repeats one (with its original bytes).
///  3. `request_id` is unique except in replays (a bijection of a counter).
///  4. Memory is bounded: per-server state is fixed size and the replay memory
///     holds at most `replay_memory` events.
#include "core/time.hpp"
#include "loadgen/label.hpp"
#include "loadgen/options.hpp"
#include "loadgen/random.hpp"

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::loadgen {

class event_json;

/// One generated Kafka-ready record.
struct record {
  std::string value;      ///< the event (one JSON object, no newline)
  std::string key;        ///< the source: records of one source share a partition
  std::string sig_header; ///< `bw-sig` value in the header form; empty otherwise
  timestamp_ms time = 0;  ///< the event's `ts`
};

/// A model the fleet serves.
struct model_info {
  std::string_view name;
  std::string_view version;          ///< deployed now
  std::string_view previous_version; ///< what a rollback returns to
  bool chat = false;                 ///< LLM chat (else tabular fraud scoring)
  std::string_view system_prompt;    ///< chat models only
  double latency_p99_ms = 0;         ///< healthy metric levels
  double error_rate = 0;
  double accuracy = 0;
};

/// The models, in the order servers are assigned to them (srv-i serves
/// models()[(i-1) mod size]).
std::span<const model_info> models() noexcept;

/// The reference standard deviation of `/features/amount` (log-normal), the
/// unit of `drift_plan::step_sd`.
double amount_reference_sd() noexcept;

/// The fleet simulator. Not thread-safe; one per producing thread.
class fleet {
public:
  /// Validates `opts` (see `validate`); the error names the option.
  static std::variant<fleet, std::string> make(const options& opts);

  /// Generates the next event into `out` (its buffers are reused) and, when
  /// `truth` is not null, what was planted in it.
  void next(record& out, label* truth);

  /// The same, the event text only (the header form's signature is lost: use
  /// the record overload with `signing::header`).
  void next(std::string& event, label* truth);

  /// Events generated so far.
  std::uint64_t produced() const noexcept { return produced_; }
  /// The simulated clock: the `ts` the next drawn event will carry.
  timestamp_ms now() const noexcept;
  const options& settings() const noexcept { return opts_; }
  /// The name of server `i` (0-based): `srv-<i+1>`.
  static std::string server_name(std::size_t i);

  /// The chat models' system prompts as (model name, text), for
  /// `rules.system_prompts` so that prompt leaks can be recognised.
  static std::vector<std::pair<std::string, std::string>> system_prompts();

  fleet(fleet&&) noexcept;
  fleet& operator=(fleet&&) noexcept;
  ~fleet();

private:
  struct server {
    std::string name;
    std::size_t model = 0;
    std::string epoch;
    std::uint64_t seq = 0;
    timestamp_ms last_ts = -1; ///< its latest event, -1 before the first
    bool silenced = false;     ///< inside a silence episode
    bool resume_label = false; ///< the next event ends a silence
    int metric_slot = 0;       ///< which of the 3 metric names is next
    timestamp_ms next_metric = 0;
  };
  struct edge_source {
    std::string name;
    std::string epoch;
    std::uint64_t seq = 0;
  };
  struct remembered {
    record rec;
    label truth; ///< without attacks: only clean events are replayed
  };
  enum class host : std::uint8_t;
  struct plant;

  explicit fleet(const options& opts);

  void update_episodes(timestamp_ms now);
  std::optional<int> active_episode(const episode_plan& e, timestamp_ms now) const;
  std::optional<std::size_t> silence_victim(int episode) const;
  std::size_t poison_victim(int episode) const;
  /// A server that is not silent, from `among` (null: all).
  std::optional<std::size_t> pick_server(const std::vector<std::size_t>* among);
  bool metric_due(timestamp_ms now);
  double drift_shift(timestamp_ms now, std::int64_t* window) const;
  std::string next_request_id();
  plant make_plant(attack_kind kind, timestamp_ms now);

  void draw_event(record& out, label& truth, timestamp_ms now);
  void metric_event(record& out, label& truth, std::size_t server_index, timestamp_ms now);
  void rollback_event(record& out, label& truth, timestamp_ms now);
  void flood_event(record& out, label& truth, timestamp_ms now);
  void build(std::string& out, label& truth, std::size_t server_index, timestamp_ms now,
             const plant* p);
  void head(event_json& j, server& s, std::string_view type, timestamp_ms now, label& truth);
  void finish(record& out, label& truth, bool sign, bool tamper);

  options opts_;
  std::vector<std::uint8_t> key_;
  rng rng_;
  std::vector<server> servers_;
  std::vector<std::size_t> chat_servers_;
  std::vector<std::size_t> fraud_servers_;
  std::vector<edge_source> edges_;
  /// Metric schedule: (due time, server), earliest first.
  std::priority_queue<std::pair<timestamp_ms, std::size_t>,
                      std::vector<std::pair<timestamp_ms, std::size_t>>, std::greater<>>
      metric_due_;
  std::deque<remembered> memory_; ///< recent clean signed events, for replays
  std::uint64_t produced_ = 0;
  std::uint64_t request_counter_ = 0;
  bool last_was_metric_ = false;
  int silence_episode_ = -1; ///< the active silence episode, -1: none
  std::optional<std::size_t> silenced_server_;
  int poison_episode_ = -1; ///< the active poisoning episode, -1: none
  std::size_t poisoned_server_ = 0;
  std::optional<std::pair<std::size_t, int>> pending_rollback_; ///< (victim, episode)
  std::int64_t last_drift_window_ = -1; ///< the latest drifted window already labelled
  std::string_view tamper_key_;         ///< the member a tamper edits in this event
  record rec_;                          ///< buffer of the text-only `next`
  label scratch_label_;                 ///< truth nobody asked for
};

} // namespace bulwark::loadgen
