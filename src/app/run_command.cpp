// `bulwark run`: Kafka in, Kafka out (SPEC §1, §2 kafka).
//
//   consumer (one per worker, same group) ─▶ processor ─▶ shared idempotent producer
//        ▲                                                      │ delivery reports
//        └── commit the contiguous delivered watermark ◀── partition_tracker
//
// Invariants:
//  1. Every consumed offset ends in exactly one output: <input>.sanitized, the
//     DLQ or the quarantine topic. Its offset is committed only after that
//     output's delivery report succeeded (at-least-once; nothing lost).
//  2. Per-partition order is kept: one worker owns a partition, produces its
//     outputs in order to the same partition number of the sanitised topic,
//     and the idempotent producer keeps them in order.
//  3. A producer queue that is full pauses consumption (no drops, bounded
//     memory); a failed delivery is produced again, never dropped.
//  4. On revoke, the worker waits for the partition's outputs to be delivered
//     and commits before letting go; on SIGINT/SIGTERM, every worker stops
//     consuming, drains, commits and the process exits 0 within a bound.
//  5. With kafka.exactly_once, each worker has its own transactional producer
//     instead: outputs and input offsets commit together in one transaction
//     per batch (send_offsets_to_transaction); an aborted transaction rewinds
//     the worker's partitions to their committed offsets and redoes the batch.
//  6. Metrics (docs/metrics.md): each thread updates its own metrics::writer
//     (lock-free); lag, assignment and readiness are computed at scrape time
//     on the HTTP thread from atomics the workers store, so a scrape never
//     holds up a record. The HTTP endpoint listens before the cluster starts
//     and serves /metrics only once the registry exists.
#include "app/cli.hpp"
#include "app/kafka_setup.hpp"
#include "audit/writer.hpp"
#include "config/load.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/time.hpp"
#include "http/alertmanager_forwarder.hpp"
#include "http/server.hpp"
#include "kafka/client.hpp"
#include "kafka/commit_tracker.hpp"
#include "kafka/embedded.hpp"
#include "kafka/headers.hpp"
#include "loadgen/fleet.hpp"
#include "loadgen/options.hpp"
#include "loadgen/runner.hpp"
#include "metrics/catalog.hpp"
#include "metrics/status_board.hpp"
#include "pipeline/detectors.hpp"
#include "pipeline/fold.hpp"
#include "pipeline/processor.hpp"
#include "pipeline/rules_reloader.hpp"
#include "scan/examples.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <functional>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unistd.h>

namespace bulwark::app {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

std::atomic<bool> stop_requested{false};
/// SIGHUP: reload the rules (the service's main loop passes it on).
std::atomic<bool> reload_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_run_stop_signal(int /*signal*/) {
  stop_requested.store(true);
}

extern "C" void on_run_reload_signal(int /*signal*/) {
  reload_requested.store(true);
}

void install_run_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_run_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  struct sigaction hup {};
  hup.sa_handler = on_run_reload_signal;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);
}

/// How long shutdown may take in all (SPEC §1 says 10 s), and its parts.
constexpr auto drain_budget = 7s;
constexpr auto commit_every = 200ms;
/// At start-up a worker holds its first partitions (paused) until every
/// worker of the instance has joined the group, at most this long.
constexpr auto start_hold_limit = 30s;

/// "telemetry:0-3,7;other:1": the partitions of a rebalance, per topic,
/// consecutive numbers as ranges.
std::string partition_ranges(std::vector<kafka::topic_partition> parts) {
  std::sort(parts.begin(), parts.end(), [](const auto& a, const auto& b) {
    return a.topic != b.topic ? a.topic < b.topic : a.partition < b.partition;
  });
  std::string out;
  for (std::size_t i = 0; i < parts.size();) {
    if (i == 0 || parts[i].topic != parts[i - 1].topic) {
      if (!out.empty()) out += ';';
      out += parts[i].topic + ':';
    } else {
      out += ',';
    }
    std::size_t j = i;
    while (j + 1 < parts.size() && parts[j + 1].topic == parts[i].topic &&
           parts[j + 1].partition == parts[j].partition + 1)
      ++j;
    out += std::to_string(parts[i].partition);
    if (j > i) out += '-' + std::to_string(parts[j].partition);
    i = j + 1;
  }
  return out;
}

/// Rides with each produced record and comes back in its delivery report.
struct delivery_token {
  std::shared_ptr<kafka::partition_tracker> tracker;
  std::int64_t offset = -1;
  clock::time_point consumed;              ///< for bulwark_record_hold_seconds
  clock::time_point queued = clock::now(); ///< for the producer stage's duration
};

/// /readyz answers 503 while this instance's partitions are further behind
/// their high watermarks than this, in all (docs/metrics.md, HTTP endpoint).
constexpr std::int64_t ready_max_lag = 10'000;

/// Positions in metrics::vocabulary::stages.
enum stage_index : std::size_t { reader_stage, worker_stage, writer_stage, producer_stage };

/// Series resolved once at start-up; any thread updates them through its own
/// writer (see bound_writer).
struct run_series {
  std::array<metrics::counter, 4> received, sent, errors;
  std::array<metrics::histogram, 4> took;
  metrics::histogram held; ///< bulwark_record_hold_seconds
  metrics::counter input_bytes, audit_records, audit_checkpoints, commit_refusals;
  std::array<metrics::counter, 5> verdicts, out_records, out_bytes; ///< outputs order
};

/// The writer of the current thread: code that runs on several threads
/// (delivery reports, alert counting) finds it here. Null on a thread
/// without one: its updates are skipped.
thread_local metrics::writer* thread_writer = nullptr;

/// Gives the calling thread a writer for as long as it lives.
class bound_writer {
public:
  explicit bound_writer(metrics::registry* reg) {
    if (reg == nullptr) return;
    w_.emplace(reg->make_writer());
    previous_ = thread_writer;
    thread_writer = &*w_;
  }
  ~bound_writer() {
    if (w_) thread_writer = previous_;
  }
  bound_writer(const bound_writer&) = delete;
  bound_writer& operator=(const bound_writer&) = delete;

private:
  std::optional<metrics::writer> w_;
  metrics::writer* previous_ = nullptr;
};

/// Who holds an input partition and how far it got, for lag and readiness
/// (written by the workers, read at scrape time).
struct partition_slot {
  std::atomic<int> owner{-1};         ///< worker id, -1 when this instance does not hold it
  std::atomic<std::int64_t> next{-1}; ///< next offset to process, -1 before the first record
};

/// What the HTTP endpoint reads; the service plugs itself in once its
/// registry exists and out before it goes.
struct http_state {
  std::mutex mu;
  metrics::registry* registry = nullptr;
  std::function<http::readiness()> ready;
  /// Asks the service for a rule reload (POST /-/reload); empty until it runs.
  std::function<void(std::string_view trigger)> reload;
  std::string address; ///< host:port bound (the real port when 0 was asked); "" if none
  /// The status page's data (/api/status); fed by the service's poller.
  std::shared_ptr<metrics::status_board> board = std::make_shared<metrics::status_board>();
};

double seconds_since(clock::time_point t) {
  return std::chrono::duration<double>(clock::now() - t).count();
}

/// A record whose delivery failed, produced again after a pause.
struct retry_item {
  delivery_token* token = nullptr;
  std::string topic;
  std::int32_t partition = -1;
  std::optional<std::string> key;
  std::string value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  clock::time_point due;
};

/// Totals across workers, for progress lines and the summary.
struct run_counters {
  std::atomic<std::uint64_t> consumed{0}, sanitized{0}, dlq{0}, quarantined{0}, redacted{0},
      flagged{0}, delivered{0}, delivery_failures{0}, committed{0}, commit_failures{0};
  std::array<std::atomic<std::uint64_t>, 4> findings{};
};

/// One record per NDJSON line of `lines` (the stage's alerts or audit records),
/// for `topic` and `partition`; the values view `lines`.
void append_line_records(std::vector<kafka::outgoing>& out, const std::string& lines,
                         const std::string& topic, int partition,
                         std::optional<std::string_view> key = std::nullopt) {
  for (std::size_t pos = 0; pos < lines.size();) {
    const std::size_t nl = lines.find('\n', pos);
    const std::size_t end = nl == std::string::npos ? lines.size() : nl;
    kafka::outgoing o;
    o.topic = topic;
    o.partition = partition;
    o.value = std::string_view(lines).substr(pos, end - pos);
    o.key = key;
    out.push_back(o);
    pos = end + 1;
  }
}

/// Queues one changelog record on `p` (a producer of its own, polled here),
/// waiting while its queue is full. False when the producer refused it
/// (`why` says why): retrying cannot help then.
bool produce_waiting(kafka::producer& p, const kafka::outgoing& o, kafka::error& why) {
  kafka::produce_status st;
  while ((st = p.produce(o, &why)) == kafka::produce_status::queue_full)
    p.poll(5ms);
  return st != kafka::produce_status::failed;
}

/// What `bulwark demo` adds to the service.
struct run_hooks {
  std::chrono::milliseconds progress_every{5000};
  /// Called once the cluster is known, with its bootstrap list.
  std::function<void(const std::string& bootstrap)> on_started;
  /// Records written to the inputs so far (for the lag in progress lines).
  std::function<std::uint64_t()> produced;
  /// The configuration file a reload reads again; empty: the options in
  /// memory (the demo's), so a reload recompiles the same rules.
  std::string config_path;
};

class service;

class worker final : public kafka::rebalance_handler {
public:
  worker(service& s, int id);
  bool start(std::string& why);
  /// `committed` counts down once this worker's final commit is done; the
  /// worker leaves the group only when every worker has committed, so one
  /// member's departure cannot start a rebalance that fails another's commit.
  void run(std::latch& committed);
  void on_assign(const std::vector<kafka::topic_partition>& parts) override;
  void on_revoke(const std::vector<kafka::topic_partition>& parts) override;
  void on_commit_failed(const std::vector<kafka::partition_offset>& refused,
                        const kafka::error& why) override;

private:
  /// What a record brings besides its bytes, from admit() to complete().
  struct record_ctx {
    kafka::topic_partition tp;
    std::shared_ptr<kafka::partition_tracker> tracker;
    std::vector<kafka::header> headers;
    bool bad_headers = false;
    bool admitted = false;      ///< in a batch: admit() said to go on
    clock::time_point consumed; ///< when admit() took it (bulwark_record_hold_seconds)
    clock::time_point started;
    /// In a batch: where its key's (if any) and then its header values'
    /// redactions start in side_out_ (no_side: redacted one by one).
    std::size_t side_from = no_side;
  };
  static constexpr std::size_t no_side = static_cast<std::size_t>(-1);
  void handle(const kafka::message& m);
  /// Takes the records that are ready without waiting after `first`, up to
  /// a batch (processor::batch_records, batch_bytes), and handles them.
  void poll_batch(kafka::message first);
  /// The batch in `batch_`: the values of each run of records the processor
  /// takes as they are are scanned together (processor::prepare), then each
  /// record is finished and sent, in order.
  void handle_batch();
  /// Bookkeeping of a consumed record; false when there is nothing more to
  /// do with it (a consumer error, or relayed as it came).
  bool admit(const kafka::message& m, record_ctx& c);
  /// A record the processor takes as it is (not dead-lettered up front).
  bool batchable(const kafka::message& m, const record_ctx& c) const;
  /// Processes a record on its own: dead letters for bad headers, null
  /// values and oversize records, else the whole pipeline at once.
  verdict process_alone(const kafka::message& m, record_ctx& c, pipeline::record_facts& facts,
                        std::string_view& reason);
  /// After the processor: metrics, the stateful stage, outputs.
  void complete(const kafka::message& m, record_ctx& c, pipeline::record_facts& facts, verdict v,
                std::string_view reason);
  /// Switches to the reloader's newest rules (between batches only).
  void pick_up_rules();
  /// Queues one output on `p`; waits (consumption paused) while the queue is
  /// full. False when the run is stopping and the record could not be queued.
  bool produce(kafka::producer& p, const kafka::outgoing& o);
  /// The bare relay (--relay): the record as it came, to the sanitised topic.
  void relay(const kafka::message& m, const kafka::topic_partition& tp,
             const std::shared_ptr<kafka::partition_tracker>& tracker);
  /// Exactly-once: the loop of transactions, one per batch.
  void run_transactional();
  /// Commits the open transaction with the positions it consumed; on an
  /// abortable error, aborts and rewinds. False on a fatal error.
  bool finish_transaction();
  void commit_moved();
  /// Waits for the outputs of `t` to be delivered, up to `until`.
  void drain(const kafka::partition_tracker& t, clock::time_point until);
  /// Start-up: while some worker of the instance has not joined the group
  /// yet, this one's partitions stay paused. A member that joins late starts
  /// a rebalance that takes them away again, and what was consumed meanwhile
  /// would be consumed twice where the commit on revoke is refused (the
  /// embedded cluster refuses commits while the group rebalances). Resumes
  /// once all have joined, or after start_hold_limit.
  void hold_for_peers();
  bool holding_ = false;
  clock::time_point hold_until_{};

  service& s_;
  int id_;
  std::optional<kafka::consumer> consumer_;
  std::optional<kafka::producer> txn_producer_; ///< exactly-once only
  bool txn_open_ = false;
  std::map<kafka::topic_partition, std::int64_t> txn_positions_; ///< next offsets in the open txn
  pipeline::processor proc_;
  std::uint64_t rules_generation_ = 1; ///< the rules_reloader generation proc_ uses
  std::map<kafka::topic_partition, std::shared_ptr<kafka::partition_tracker>> trackers_;
  std::map<kafka::topic_partition, std::int64_t> committed_at_; ///< with integrity state only
  std::string out_, dlq_, key_, reannotated_, side_alerts_, side_audit_;
  std::vector<pipeline::fold_record> side_fold_;
  pipeline::record_facts facts_;
  /// The batch being handled: its records, their contexts and facts.
  std::vector<kafka::message> batch_;
  std::vector<record_ctx> batch_ctx_;
  std::vector<pipeline::record_facts> batch_facts_;
  std::vector<std::string> header_values_;
  /// The batch's keys and header values, redacted together before its records.
  std::vector<std::string_view> side_texts_;
  std::vector<std::string> side_out_;
  std::vector<std::uint8_t> side_changed_;
  pipeline::stats last_{};
  /// This worker's partition slot for `tp`, or null (not a configured input,
  /// or a partition added after start-up).
  partition_slot* slot_for(const kafka::topic_partition& tp) const;
  /// Counts what one record produced: verdict, dead letter or quarantine reason.
  void count_record(verdict v, std::string_view reason, const pipeline::stage_decision& d);

  /// Set once the group gave this worker its first assignment (maybe empty).
  bool joined_ = false;

public:
  const kafka::consumer* consumer() const noexcept { return consumer_ ? &*consumer_ : nullptr; }
};

/// This instance's member of group `<group_id>.fold` (kafka.fold_topic,
/// pipeline/fold.hpp): takes the drift values and alert occurrences of the
/// fold partitions it holds into the stage, writes the drift state of their
/// keys to `<fold_topic>.state` and commits only what delivered state covers.
/// A partition that arrives is restored from that changelog before its first
/// record; one that leaves is written out in full first, then released.
class fold_member final : public kafka::rebalance_handler {
public:
  explicit fold_member(service& s) : s_(s) {}
  bool start(std::string& why);
  /// Until `stop` is set; then writes out, commits and leaves the group.
  void run(const std::atomic<bool>& stop);
  void on_assign(const std::vector<kafka::topic_partition>& parts) override;
  void on_revoke(const std::vector<kafka::topic_partition>& parts) override;

private:
  void handle(const kafka::message& m);
  /// Writes the drift state of `parts` (all of it with `all`) and waits for
  /// it; then commits what it covers. False when the state was not delivered.
  bool checkpoint(const std::set<std::int32_t>& parts, bool all);
  static std::string listed(const std::vector<kafka::topic_partition>& parts);

  service& s_;
  std::optional<kafka::consumer> consumer_;
  std::optional<kafka::producer> state_producer_;
  std::atomic<std::uint64_t> state_failures_{0};
  std::set<std::int32_t> held_;
  std::map<std::int32_t, std::int64_t> next_;      ///< next offset per held partition
  std::map<std::int32_t, std::int64_t> committed_; ///< last committed per held partition
  /// Per held partition, the offset the restored state covers: records
  /// below it are in that state already (a commit can fail in a rebalance
  /// after the state went out), so they are skipped, not counted twice.
  std::map<std::int32_t, std::int64_t> covered_;
  /// The changelog key of a partition's position record (no drift key
  /// starts with '#': theirs start with "d/").
  static constexpr std::string_view position_key = "#position";
  bool rewrite_all_ = false; ///< a checkpoint failed: the next writes every key
  std::uint64_t taken_ = 0, refused_ = 0, skipped_ = 0, state_records_ = 0;
};

class service {
public:
  service(const loaded_config& cfg, kafka::properties props, topic_plan plan, bool relay,
          run_hooks hooks, http_state* http, std::chrono::system_clock::time_point started)
      : cfg_(cfg), props_(std::move(props)), plan_(std::move(plan)), relay_(relay),
        hooks_(std::move(hooks)), http_(http), process_started_(started) {}

  int run();

  const loaded_config& cfg_;
  kafka::properties props_;
  topic_plan plan_;
  bool relay_ = false;
  run_hooks hooks_;
  pipeline::fact_spec spec_{cfg_.opts};
  std::map<std::string, std::uint64_t> alert_kinds_; ///< guarded by stage_mutex_
  /// Counts alerts by kind, and by kind and severity in the metrics (call
  /// with stage_mutex_ held). Both are bulwark's own words, written before
  /// any evidence in the line; unknown values fall to `other` anyway.
  void count_alert_kinds(const std::string& lines) {
    if (http_ != nullptr && !lines.empty()) http_->board->add_alerts(lines);
    static constexpr std::string_view tag = "\"kind\":\"";
    static constexpr std::string_view sev_tag = "\"severity\":\"";
    std::size_t line_start = 0;
    for (std::size_t pos = lines.find(tag); pos != std::string::npos; pos = lines.find(tag, pos)) {
      pos += tag.size();
      const std::size_t end = lines.find('"', pos);
      if (end == std::string::npos) break;
      const std::string_view kind = std::string_view(lines).substr(pos, end - pos);
      ++alert_kinds_[std::string(kind)];
      if (thread_writer != nullptr) {
        std::string_view sev;
        const std::size_t s =
            std::string_view(lines).substr(line_start, pos - line_start).find(sev_tag);
        if (s != std::string_view::npos) {
          const std::size_t from = line_start + s + sev_tag.size();
          const std::size_t to = lines.find('"', from);
          if (to != std::string::npos) sev = std::string_view(lines).substr(from, to - from);
        }
        thread_writer->add(cat_.alerts, {kind, sev});
      }
      pos = lines.find('\n', end);
      if (pos == std::string::npos) break;
      line_start = ++pos;
    }
  }
  std::unique_ptr<pipeline::detectors> stage_; ///< guarded by stage_mutex_
  /// The key of this instance's audit records: its chain among the writers
  /// sharing the audit topic (kafka.audit_writer, else the host name).
  std::string audit_writer_;
  std::mutex stage_mutex_;
  /// Hot reload (SIGHUP, POST /-/reload); null in relay mode.
  std::unique_ptr<pipeline::rules_reloader> reloader_;
  /// Reads the configuration again and compiles its rules (reload thread).
  std::variant<pipeline::rule_generation, std::string> compile_generation() const;
  /// Turns finished reloads into audit records, `config` alerts, log lines
  /// and metrics (poller thread).
  void serve_reloads();
  /// Produces what the stage emitted outside a record (timers, the end).
  /// Sends the stage's alert and audit lines. What the producer cannot take
  /// now waits in stage_backlog_ for the next call, never dropped; `final`
  /// (shutdown) keeps trying for a bounded time, then counts what is left.
  void produce_stage_outputs(bool final = false);
  struct stage_record {
    std::string topic;
    std::int32_t partition;
    std::string value;
    bool audit = false; ///< keyed by audit_writer_
    std::string key;    ///< a fold record's key
  };
  /// kafka.fold_topic: the fold partitions this instance holds.
  std::atomic<int> fold_held_{0};
  std::deque<stage_record> stage_backlog_; ///< poller thread and shutdown only
  std::optional<kafka::producer> producer_;

  // Integrity state across instances (docs/integrity.md, "State across
  // instances"): a changed source's state goes to the changelog partition
  // numbered like its input partition, then that partition's position; an
  // input offset is committed only once a position at or past it was
  // delivered, so a restored state is never older than the committed offset
  // (records between the two are redeliveries to the new owner).
  bool integrity_state_ = false;
  std::optional<kafka::producer> state_producer_; ///< its own: a flush waits for these only
  std::atomic<std::uint64_t> state_failures_{0};
  std::mutex checkpoint_mutex_; ///< one checkpoint at a time (poller, revoking workers)
  std::mutex covered_mutex_;
  std::map<kafka::topic_partition, std::int64_t> covered_; ///< next offset a position covers
  /// Writes the state changed in `only` (null: every partition), waits up
  /// to `wait` for it; `release` then drops those partitions' sources here.
  void checkpoint_state(const std::vector<kafka::topic_partition>* only, bool release,
                        std::chrono::milliseconds wait);
  /// Reads the changelog of newly assigned partitions into the stage.
  void restore_state(const std::vector<kafka::topic_partition>& parts);
  /// `offset` (the delivered watermark of `tp`), limited to what the
  /// checkpointed state covers; -1 when nothing is covered yet.
  std::int64_t covered(const kafka::topic_partition& tp, std::int64_t offset) {
    if (!integrity_state_) return offset;
    std::lock_guard lock(covered_mutex_);
    const auto it = covered_.find(tp);
    return it == covered_.end() ? -1 : std::min(offset, it->second);
  }
  run_counters counters_;

  // Metrics (docs/metrics.md). Declared before the workers exist, destroyed
  // after them (writers must go before the registry).
  std::unique_ptr<metrics::registry> metrics_;
  metrics::catalog cat_{};
  run_series series_{};
  http_state* http_ = nullptr;
  std::chrono::system_clock::time_point process_started_;
  /// [input index][partition]: sized from the partition counts at start-up.
  std::vector<std::unique_ptr<partition_slot[]>> slots_;
  std::vector<std::size_t> slot_counts_;
  std::atomic<int> paused_workers_{0};
  std::vector<std::unique_ptr<worker>>* workers_ = nullptr; ///< for scrapes; set during run()
  /// Workers that have had their first assignment (maybe empty), of
  /// `worker_count_`. Until all have, none consumes (worker::hold_for_peers).
  std::atomic<int> joined_workers_{0};
  int worker_count_ = 0;
  bool all_workers_joined() const noexcept {
    return joined_workers_.load(std::memory_order_acquire) >= worker_count_;
  }

  /// Declares the catalogue; false (after printing why) when it is refused.
  bool make_metrics();
  /// Lag of the partitions this instance holds, assignment, readiness: at scrape time.
  void on_scrape(metrics::registry& r);
  http::readiness readiness() const;
  /// Sums the lag of held partitions whose position and high watermark are known.
  std::int64_t
  held_lag(const std::function<void(std::size_t, std::size_t, std::int64_t)>& each) const;
  /// Index of input `topic`, or SIZE_MAX.
  std::size_t input_index(std::string_view topic) const noexcept {
    const auto& in = cfg_.opts.kafka.inputs;
    for (std::size_t i = 0; i < in.size(); ++i)
      if (in[i] == topic) return i;
    return SIZE_MAX;
  }
  /// Position in metrics::vocabulary::outputs of a topic bulwark writes.
  std::size_t output_index(std::string_view topic) const noexcept {
    const auto& k = cfg_.opts.kafka;
    if (topic == k.dlq_topic) return 1;
    if (topic == k.quarantine_topic) return 2;
    if (topic == k.alerts_topic) return 3;
    if (topic == k.audit_topic) return 4;
    return 0;
  }
  // What the stage and the Alertmanager forwarder counted, as of the last
  // sync: the poller thread (then the main thread, after it) adds the deltas.
  alert::engine_stats last_alert_stats_{};
  drift::counters last_drift_{};
  alert::alertmanager_stats last_posts_{};
  /// Adds the stage's new alert outcomes and drift observations (stage_mutex_ held).
  void count_stage_stats() {
    metrics::writer* const w = thread_writer;
    if (w == nullptr) return;
    const alert::engine_stats& a = stage_->alert_stats();
    const std::array<std::uint64_t, 7> now{a.folded,         a.over_budget,     a.deferred,
                                           a.absorbed,       a.dropped_pending, a.evicted_folds,
                                           a.evicted_budgets};
    const std::array<std::uint64_t, 7> was{
        last_alert_stats_.folded,          last_alert_stats_.over_budget,
        last_alert_stats_.deferred,        last_alert_stats_.absorbed,
        last_alert_stats_.dropped_pending, last_alert_stats_.evicted_folds,
        last_alert_stats_.evicted_budgets};
    for (std::size_t i = 0; i < now.size(); ++i)
      if (now[i] > was[i]) w->add(cat_.alert_outcomes, {metrics::at{i}}, now[i] - was[i]);
    last_alert_stats_ = a;
    if (const drift::counters* d = stage_->drift_stats()) {
      const std::array<std::uint64_t, 7> dn{d->applied,       d->learning,  d->late,
                                            d->future,        d->untracked, d->unreferenced,
                                            d->reference_late};
      const std::array<std::uint64_t, 7> dw{last_drift_.applied,       last_drift_.learning,
                                            last_drift_.late,          last_drift_.future,
                                            last_drift_.untracked,     last_drift_.unreferenced,
                                            last_drift_.reference_late};
      for (std::size_t i = 0; i < dn.size(); ++i)
        if (dn[i] > dw[i]) w->add(cat_.drift_observations, {metrics::at{i}}, dn[i] - dw[i]);
      last_drift_ = *d;
    }
    const std::vector<std::uint64_t>& req = stage_->alert_requests();
    last_requests_.resize(req.size());
    for (std::size_t i = 0; i < req.size(); ++i)
      if (req[i] > last_requests_[i]) {
        w->add(cat_.alert_requests, {metrics::at{i}}, req[i] - last_requests_[i]);
        last_requests_[i] = req[i];
      }
  }
  std::vector<std::uint64_t> last_requests_;
  /// Feeds the status board and the drift/integrity gauges from the stage
  /// (stage_mutex_ held; poller thread, then the main thread after it).
  void feed_status(bool now_anyway);
  clock::time_point next_status_{};
  std::map<std::string, std::uint64_t> last_windows_; ///< drift windows by feature, `other` model
  void count_alertmanager_posts(const http::forwarder_stats& st) {
    metrics::writer* const w = thread_writer;
    if (w == nullptr) return;
    const alert::alertmanager_stats& b = st.buffer;
    if (b.posts_ok > last_posts_.posts_ok)
      w->add(cat_.alertmanager_posts, {metrics::at{0}}, b.posts_ok - last_posts_.posts_ok);
    const std::uint64_t failed = b.posts_failed + b.posts_rejected;
    const std::uint64_t failed_before = last_posts_.posts_failed + last_posts_.posts_rejected;
    if (failed > failed_before)
      w->add(cat_.alertmanager_posts, {metrics::at{1}}, failed - failed_before);
    last_posts_ = b;
  }

  /// Counts the audit records in `lines` and their checkpoints.
  void count_audit(const std::string& lines) {
    if (thread_writer == nullptr || lines.empty()) return;
    std::uint64_t n = 0, checkpoints = 0;
    for (std::size_t pos = 0; pos < lines.size();) {
      std::size_t nl = lines.find('\n', pos);
      if (nl == std::string::npos) nl = lines.size();
      const std::string_view line = std::string_view(lines).substr(pos, nl - pos);
      if (!line.empty()) {
        ++n;
        if (line.find("\"type\":\"checkpoint\"") != std::string_view::npos) ++checkpoints;
      }
      pos = nl + 1;
    }
    thread_writer->add(series_.audit_records, n);
    thread_writer->add(series_.audit_checkpoints, checkpoints);
  }
  std::atomic<bool> fatal_{false};
  std::string fatal_reason_;
  std::mutex fatal_mutex_;

  void fail(const std::string& why) {
    std::lock_guard lock(fatal_mutex_);
    if (!fatal_.exchange(true)) fatal_reason_ = why;
    stop_requested.store(true);
  }
  bool stopping() const noexcept { return stop_requested.load(); }

  void on_delivery(const kafka::delivery& d);
  void serve_retries();

private:
  std::mutex retry_mutex_;
  std::deque<retry_item> retries_;
};

// ---------------------------------------------------------------- service

void service::on_delivery(const kafka::delivery& d) {
  auto* token = static_cast<delivery_token*>(d.token);
  if (metrics::writer* w = thread_writer) {
    if (d.failure) {
      w->add(series_.errors[producer_stage]);
    } else {
      w->add(series_.sent[producer_stage]);
      const std::size_t out = output_index(d.topic);
      w->add(series_.out_records[out]);
      w->add(series_.out_bytes[out], d.value.size());
      if (token != nullptr) {
        w->observe(series_.took[producer_stage], seconds_since(token->queued));
        w->observe(series_.held, seconds_since(token->consumed));
      }
    }
  }
  if (!d.failure) {
    counters_.delivered.fetch_add(1, std::memory_order_relaxed);
    if (token != nullptr) {
      token->tracker->delivered(token->offset);
      delete token;
    }
    return;
  }
  // Permanent for librdkafka (it retries transient errors itself, with no
  // time limit): produce it again after a pause rather than lose it.
  counters_.delivery_failures.fetch_add(1, std::memory_order_relaxed);
  log::limited().write(log::level::warn, "run", "delivery failed:" + std::string(d.topic),
                       "delivery failed; producing it again",
                       {{"topic", d.topic},
                        {"partition", d.partition},
                        {"error", d.failure->message},
                        {"code", d.failure->code}});
  retry_item item;
  item.token = token;
  item.topic = std::string(d.topic);
  item.partition = d.partition;
  if (d.key) item.key = std::string(*d.key);
  item.value = std::string(d.value);
  for (const auto& h : d.headers)
    item.headers.emplace_back(std::string(h.name),
                              h.value ? std::optional<std::string>(std::string(*h.value))
                                      : std::nullopt);
  item.due = clock::now() + 1s;
  std::lock_guard lock(retry_mutex_);
  retries_.push_back(std::move(item));
}

void service::serve_retries() {
  std::deque<retry_item> due;
  {
    std::lock_guard lock(retry_mutex_);
    const auto now = clock::now();
    while (!retries_.empty() && retries_.front().due <= now) {
      due.push_back(std::move(retries_.front()));
      retries_.pop_front();
    }
  }
  for (auto& item : due) {
    std::vector<kafka::header> hdrs;
    for (const auto& [name, value] : item.headers)
      hdrs.push_back({name, value ? std::optional<std::string_view>(*value) : std::nullopt});
    kafka::outgoing o;
    o.topic = item.topic;
    o.partition = item.partition;
    if (item.key) o.key = *item.key;
    o.value = item.value;
    o.headers = hdrs;
    o.token = item.token;
    kafka::error why;
    if (producer_->produce(o, &why) != kafka::produce_status::queued) {
      item.due = clock::now() + 1s;
      std::lock_guard lock(retry_mutex_);
      retries_.push_back(std::move(item));
    }
  }
}

// ---------------------------------------------------------------- worker

worker::worker(service& s, int id) : s_(s), id_(id), proc_(s.cfg_.opts, s.cfg_.rules) {}

bool worker::start(std::string& why) {
  kafka::properties props = s_.props_;
  props["group.id"] = s_.cfg_.opts.kafka.group_id;
  auto c = kafka::consumer::make(props, s_.cfg_.opts.kafka.inputs, this);
  if (auto* e = std::get_if<kafka::error>(&c)) {
    why = e->message;
    return false;
  }
  consumer_.emplace(std::move(std::get<kafka::consumer>(c)));
  if (!s_.cfg_.opts.kafka.exactly_once) return true;
  // One transactional producer per consumer (KIP-447): fencing comes from the
  // group generation, so the id only has to be unique.
  kafka::properties pp = s_.props_;
  pp["transactional.id"] =
      s_.cfg_.opts.kafka.group_id + "-" + std::to_string(::getpid()) + "-" + std::to_string(id_);
  auto p = kafka::producer::make(pp, [this](const kafka::delivery& d) { s_.on_delivery(d); });
  if (auto* e = std::get_if<kafka::error>(&p)) {
    why = e->message;
    return false;
  }
  txn_producer_.emplace(std::move(std::get<kafka::producer>(p)));
  if (auto err = txn_producer_->init_transactions(30s)) {
    why = err->message;
    return false;
  }
  return true;
}

void worker::on_assign(const std::vector<kafka::topic_partition>& parts) {
  // Before any record of these partitions reaches the stage.
  s_.restore_state(parts);
  for (const auto& tp : parts) {
    committed_at_.erase(tp);
    trackers_[tp] = std::make_shared<kafka::partition_tracker>();
    if (partition_slot* slot = slot_for(tp)) {
      slot->next.store(-1, std::memory_order_relaxed);
      slot->owner.store(id_, std::memory_order_release);
    }
  }
  if (!joined_) {
    joined_ = true;
    s_.joined_workers_.fetch_add(1, std::memory_order_acq_rel);
    if (!s_.all_workers_joined()) {
      holding_ = true;
      hold_until_ = clock::now() + start_hold_limit;
    }
  }
  if (holding_)
    consumer_->pause_all(); // the whole assignment: parts and what it kept
  else
    consumer_->resume(parts); // paused by a hold while this worker had them before
  log::info("run", "partitions assigned",
            {{"worker", id_},
             {"count", static_cast<std::uint64_t>(parts.size())},
             {"partitions", partition_ranges(parts)},
             {"held_until_all_workers_join", holding_}});
}

void worker::hold_for_peers() {
  const bool all = s_.all_workers_joined();
  if (!all && clock::now() < hold_until_) return;
  holding_ = false;
  consumer_->resume_all();
  if (all)
    log::info("run", "every worker joined the group: consuming", {{"worker", id_}});
  else
    log::warn("run", "not every worker joined the group in time: consuming anyway",
              {{"worker", id_},
               {"joined", s_.joined_workers_.load(std::memory_order_acquire)},
               {"workers", s_.worker_count_},
               {"waited_s", static_cast<std::int64_t>(start_hold_limit.count())}});
}

partition_slot* worker::slot_for(const kafka::topic_partition& tp) const {
  const std::size_t i = s_.input_index(tp.topic);
  if (i == SIZE_MAX || tp.partition < 0 ||
      static_cast<std::size_t>(tp.partition) >= s_.slot_counts_[i])
    return nullptr;
  return &s_.slots_[i][static_cast<std::size_t>(tp.partition)];
}

void worker::drain(const kafka::partition_tracker& t, clock::time_point until) {
  while (t.in_flight() != 0 && clock::now() < until)
    std::this_thread::sleep_for(2ms);
}

void worker::on_revoke(const std::vector<kafka::topic_partition>& parts) {
  if (!parts.empty())
    log::info("run", "partitions revoked",
              {{"worker", id_},
               {"count", static_cast<std::uint64_t>(parts.size())},
               {"partitions", partition_ranges(parts)}});
  // Served by a poll that was gathering a batch: its records were consumed
  // from these partitions too, so they are handled before anything is drained.
  handle_batch();
  for (const auto& tp : parts)
    if (partition_slot* slot = slot_for(tp)) {
      int mine = id_;
      slot->owner.compare_exchange_strong(mine, -1, std::memory_order_acq_rel);
    }
  if (txn_producer_) {
    // The open transaction holds these partitions' outputs and offsets.
    if (txn_open_) finish_transaction();
    return;
  }
  // Finish and commit before the partitions go to another member.
  const auto until = clock::now() + drain_budget;
  std::vector<kafka::partition_offset> final_offsets;
  for (const auto& tp : parts) {
    auto it = trackers_.find(tp);
    if (it == trackers_.end()) continue;
    drain(*it->second, until);
  }
  // The state of what was judged goes out before the offsets that cover it.
  s_.checkpoint_state(&parts, true, 5s);
  for (const auto& tp : parts) {
    auto it = trackers_.find(tp);
    if (it == trackers_.end()) continue;
    if (auto w = it->second->watermark())
      if (const std::int64_t c = s_.covered(tp, *w); c >= 0) final_offsets.push_back({tp, c});
    trackers_.erase(it);
    committed_at_.erase(tp);
  }
  if (auto err = consumer_->commit(final_offsets, false))
    log::warn("run", "final commit on revoke failed", {{"worker", id_}, {"error", err->message}});
  else
    s_.counters_.committed.fetch_add(final_offsets.size(), std::memory_order_relaxed);
}

void worker::on_commit_failed(const std::vector<kafka::partition_offset>& refused,
                              const kafka::error& why) {
  s_.counters_.commit_failures.fetch_add(refused.size(), std::memory_order_relaxed);
  if (thread_writer != nullptr) thread_writer->add(s_.series_.commit_refusals, refused.size());
  log::limited().write(log::level::warn, "run", "commit refused",
                       "commit refused by the broker; offered again while the partition is held",
                       {{"worker", id_},
                        {"partitions", static_cast<std::uint64_t>(refused.size())},
                        {"error", why.message}});
  // Offered again by the next commit_moved() even if the partition is quiet
  // now: a refused commit would otherwise be redone only when more input
  // arrives, and a restart until then reads everything since the last one.
  for (const kafka::partition_offset& o : refused) {
    auto it = trackers_.find(o.tp);
    if (it == trackers_.end()) continue; // released since: its new owner commits
    it->second->refused(o.offset);
    if (auto at = committed_at_.find(o.tp); at != committed_at_.end() && at->second == o.offset)
      at->second = o.offset - 1;
  }
}

bool worker::produce(kafka::producer& p, const kafka::outgoing& o) {
  bool paused = false;
  const auto unpause = [this] {
    if (!holding_) consumer_->resume_all(); // a start-up hold outlasts the backpressure
    s_.paused_workers_.fetch_sub(1, std::memory_order_relaxed);
  };
  auto stop_deadline = clock::time_point::max();
  for (;;) {
    kafka::error why;
    const kafka::produce_status st = p.produce(o, &why);
    if (st == kafka::produce_status::queued) {
      if (thread_writer != nullptr) thread_writer->add(s_.series_.received[producer_stage]);
      break;
    }
    if (st == kafka::produce_status::failed) {
      if (why.fatal) {
        s_.fail(why.message);
        return false;
      }
      log::limited().write(log::level::warn, "run", "produce failed",
                           "produce failed; trying again",
                           {{"worker", id_}, {"error", why.message}, {"code", why.code}});
      std::this_thread::sleep_for(100ms);
    } else {
      // Backpressure: the producer queue is full. Stop fetching until it drains.
      if (!paused) {
        consumer_->pause_all();
        paused = true;
        s_.paused_workers_.fetch_add(1, std::memory_order_relaxed);
      }
      if (&p == &*s_.producer_)
        std::this_thread::sleep_for(1ms); // the poller thread serves its reports
      else
        p.poll(1ms);
    }
    if (s_.stopping()) {
      if (stop_deadline == clock::time_point::max()) stop_deadline = clock::now() + drain_budget;
      if (clock::now() > stop_deadline || s_.fatal_.load()) {
        if (paused) unpause();
        return false;
      }
    }
  }
  if (paused) unpause();
  return true;
}

bool worker::admit(const kafka::message& m, record_ctx& c) {
  metrics::writer* const w = thread_writer;
  const run_series& ser = s_.series_;
  if (auto err = m.failure()) {
    log::limited().write(log::level::warn, "run", "consumer error", "consumer error",
                         {{"worker", id_}, {"error", err->message}, {"code", err->code}});
    if (w != nullptr) w->add(ser.errors[reader_stage]);
    return false;
  }
  s_.counters_.consumed.fetch_add(1, std::memory_order_relaxed);
  c.tp = kafka::topic_partition{std::string(m.topic()), m.partition()};
  auto it = trackers_.find(c.tp);
  if (it == trackers_.end())
    it = trackers_.emplace(c.tp, std::make_shared<kafka::partition_tracker>()).first;
  c.tracker = it->second;
  if (partition_slot* slot = slot_for(c.tp))
    slot->next.store(m.offset() + 1, std::memory_order_relaxed);
  // Where consumption resumed was committed already: commits only move on.
  if (s_.integrity_state_) committed_at_.try_emplace(c.tp, m.offset());
  if (w != nullptr) {
    w->add(ser.received[reader_stage]);
    w->add(ser.sent[reader_stage]);
    w->add(ser.input_bytes, m.value() ? m.value()->size() : 0);
  }
  if (s_.relay_) {
    relay(m, c.tp, c.tracker);
    return false;
  }
  c.started = clock::now();
  c.consumed = c.started;
  c.headers = m.headers();
  kafka::header_limits header_limits;
  header_limits.max_total_bytes = s_.cfg_.opts.limits.max_event_bytes;
  c.bad_headers = kafka::header_problem(c.headers, header_limits).has_value();
  return true;
}

bool worker::batchable(const kafka::message& m, const record_ctx& c) const {
  const std::optional<std::string_view> value = m.value();
  return !c.bad_headers && value && value->size() <= s_.cfg_.opts.limits.max_event_bytes;
}

void worker::pick_up_rules() {
  // Between records only: a record, its key and its headers all see one
  // generation of the rules.
  if (s_.reloader_ && s_.reloader_->generation() != rules_generation_) {
    const auto g = s_.reloader_->current();
    proc_.use_rules(g->rules, g->policies);
    rules_generation_ = g->id;
  }
}

verdict worker::process_alone(const kafka::message& m, record_ctx& c, pipeline::record_facts& facts,
                              std::string_view& reason) {
  out_.clear();
  dlq_.clear();
  const pipeline::origin from = pipeline::origin::record(m.topic(), m.partition(), m.offset());
  const std::optional<std::string_view> value = m.value();
  const std::size_t max_bytes = s_.cfg_.opts.limits.max_event_bytes;
  verdict v = verdict::rejected;
  if (c.bad_headers) {
    // Headers that cannot travel (kafka/headers.hpp): the record goes to the
    // DLQ without them; its value, redacted, is kept (a prefix when large).
    reason = "bad_headers";
    const std::string_view raw = value.value_or(std::string_view{});
    const std::size_t keep = std::min<std::size_t>(raw.size(), 64 * 1024);
    std::string redacted;
    if (!proc_.redact_side_text(raw.substr(0, keep), redacted))
      redacted.assign(raw.substr(0, keep));
    pipeline::append_dead_letter(dlq_, reason, redacted,
                                 pipeline::raw_info{0, raw.size(), keep < raw.size()}, from);
    c.headers.clear();
  } else if (!value) {
    reason = "null_value";
    pipeline::append_dead_letter(dlq_, reason, "", pipeline::raw_info{}, from);
  } else if (value->size() > max_bytes) {
    // Too large: only a prefix goes to the DLQ, so the DLQ record itself fits
    // any broker's message size limit.
    const std::size_t keep = std::min<std::size_t>(value->size(), 64 * 1024);
    v = proc_.process(value->substr(0, keep), pipeline::raw_info{0, value->size(), true}, from,
                      out_, dlq_);
    reason = proc_.last_reason();
  } else {
    v = proc_.process(*value, pipeline::raw_info{}, from, out_, dlq_, s_.spec_, facts);
    reason = proc_.last_reason();
  }
  return v;
}

void worker::handle(const kafka::message& m) {
  record_ctx c;
  if (!admit(m, c)) return;
  pick_up_rules();
  std::string_view reason;
  const verdict v = process_alone(m, c, facts_, reason);
  complete(m, c, facts_, v, reason);
}

void worker::poll_batch(kafka::message first) {
  std::size_t bytes = first.value() ? first.value()->size() : 0;
  batch_.push_back(std::move(first));
  // Only what is already fetched: a batch never waits for more. A rebalance
  // served by one of these polls handles the batch first (on_revoke).
  while (batch_.size() < pipeline::processor::batch_records &&
         bytes < pipeline::processor::batch_bytes && !s_.stopping()) {
    std::optional<kafka::message> m = consumer_->poll(0ms);
    if (!m) break;
    bytes += m->value() ? m->value()->size() : 0;
    batch_.push_back(std::move(*m));
  }
  handle_batch();
}

void worker::handle_batch() {
  const std::size_t n = batch_.size();
  if (n == 0) return;
  pick_up_rules();
  if (batch_ctx_.size() < n) batch_ctx_.resize(n);
  if (batch_facts_.size() < n) batch_facts_.resize(n);
  for (std::size_t i = 0; i < n; ++i)
    batch_ctx_[i].admitted = admit(batch_[i], batch_ctx_[i]);
  // Keys and header values travel with their records: redacted like values,
  // all of the batch's in one scan (a header unique per record, a trace id
  // say, costs one Hyperscan call per batch instead of one per record).
  side_texts_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    record_ctx& c = batch_ctx_[i];
    c.side_from = no_side;
    if (!c.admitted) continue;
    c.side_from = side_texts_.size();
    if (const auto key = batch_[i].key()) side_texts_.push_back(*key);
    if (c.bad_headers) continue; // dropped with the record (process_alone)
    for (const kafka::header& h : c.headers)
      if (h.value) side_texts_.push_back(*h.value);
  }
  if (!side_texts_.empty()) proc_.redact_side_texts(side_texts_, side_out_, side_changed_);
  std::string_view reason;
  for (std::size_t i = 0; i < n;) {
    if (!batch_ctx_[i].admitted) {
      ++i;
      continue;
    }
    if (!batchable(batch_[i], batch_ctx_[i])) {
      const verdict v = process_alone(batch_[i], batch_ctx_[i], batch_facts_[i], reason);
      complete(batch_[i], batch_ctx_[i], batch_facts_[i], v, reason);
      ++i;
      continue;
    }
    // A run of records the processor takes as they are: their values are
    // scanned together, then each is finished and sent, in order.
    std::size_t end = i;
    for (; end < n && (!batch_ctx_[end].admitted || batchable(batch_[end], batch_ctx_[end]));
         ++end) {
      if (!batch_ctx_[end].admitted) continue;
      const kafka::message& m = batch_[end];
      batch_ctx_[end].started = clock::now();
      proc_.prepare(*m.value(), pipeline::raw_info{},
                    pipeline::origin::record(m.topic(), m.partition(), m.offset()), s_.spec_,
                    batch_facts_[end]);
    }
    for (; i < end; ++i) {
      if (!batch_ctx_[i].admitted) continue;
      out_.clear();
      dlq_.clear();
      const verdict v = proc_.finish(out_, dlq_);
      reason = proc_.last_reason();
      complete(batch_[i], batch_ctx_[i], batch_facts_[i], v, reason);
    }
  }
  batch_.clear();
}

void worker::complete(const kafka::message& m, record_ctx& c, pipeline::record_facts& facts,
                      verdict v, std::string_view reason) {
  metrics::writer* const w = thread_writer;
  const run_series& ser = s_.series_;
  const std::optional<std::string_view> value = m.value();
  const pipeline::origin from = pipeline::origin::record(m.topic(), m.partition(), m.offset());
  if (w != nullptr) {
    // Before redact_side_text() below reuses the scanner.
    if (v == verdict::redacted || v == verdict::flagged)
      proc_.for_each_last_finding([&](const pipeline::processor::finding_count& f) {
        w->add(s_.cat_.findings,
               {metrics::at{static_cast<std::size_t>(f.cat)},
                metrics::at{static_cast<std::size_t>(f.act)}},
               f.count);
        w->add(s_.cat_.rule_findings, {f.rule}, f.count);
      });
    w->add(ser.received[worker_stage]);
    w->add(ser.sent[worker_stage]);
    w->observe(ser.took[worker_stage], seconds_since(c.started));
  }

  // The stateful stage sees every record, one at a time across workers.
  std::optional<std::string_view> sig_header;
  for (const auto& h : c.headers)
    if (h.name == "bw-sig" && h.value) sig_header = h.value;
  if (!batchable(m, c)) facts.reset(s_.spec_.size()), facts.reason = reason;
  pipeline::stage_decision decision;
  side_alerts_.clear();
  side_audit_.clear();
  side_fold_.clear();
  {
    std::lock_guard lock(s_.stage_mutex_);
    input_ref ref;
    ref.topic = c.tp.topic;
    ref.partition = m.partition();
    ref.offset = m.offset();
    const auto writer_started = clock::now();
    decision = s_.stage_->observe(facts, value.value_or(std::string_view{}), out_, ref, sig_header,
                                  m.timestamp(), wall_clock_now());
    if (w != nullptr) w->observe(ser.took[writer_stage], seconds_since(writer_started));
    side_alerts_.swap(s_.stage_->outputs().alerts);
    s_.count_alert_kinds(side_alerts_);
    if (decision.quarantine) ++s_.alert_kinds_["quarantine." + std::string(decision.reason)];
    side_audit_.swap(s_.stage_->outputs().audit);
    side_fold_.swap(s_.stage_->outputs().fold);
    s_.stage_->outputs().clear();
  }
  s_.count_audit(side_audit_);
  if (decision.quarantine) {
    v = verdict::quarantined;
    reason = decision.reason;
    dlq_.clear();
    std::string redacted;
    // Unchanged text is not copied into `redacted` (with no rules loaded).
    if (!proc_.redact_side_text(*value, redacted)) redacted.assign(*value);
    pipeline::append_dead_letter(dlq_, reason, redacted, pipeline::raw_info{}, from);
  } else if (decision.reannotate(facts)) {
    reannotated_.clear();
    pipeline::reannotate(reannotated_, out_, facts, decision);
    out_.swap(reannotated_);
  }

  kafka::outgoing o;
  o.timestamp = m.timestamp();
  // Keys and header values travel with the record: they are redacted like
  // its values (a key may be an e-mail address, a header a bearer token).
  o.key = m.key();
  std::size_t side = c.side_from;
  const auto redact = [&](std::optional<std::string_view>& text, std::string& own) {
    if (!text) return;
    if (side == no_side) {
      if (proc_.redact_side_text(*text, own)) text = own;
      return;
    }
    if (side_changed_[side] != 0) text = side_out_[side];
    ++side;
  };
  redact(o.key, key_);
  header_values_.resize(c.headers.size());
  for (std::size_t i = 0; i < c.headers.size(); ++i)
    redact(c.headers[i].value, header_values_[i]);
  std::vector<kafka::header> hdrs;
  const topic_plan::route& route = s_.plan_.route_for(c.tp.topic);
  if (v == verdict::rejected || v == verdict::quarantined) {
    const bool q = v == verdict::quarantined;
    o.topic = q ? s_.cfg_.opts.kafka.quarantine_topic : s_.cfg_.opts.kafka.dlq_topic;
    o.value = dlq_;
    hdrs.push_back({"bw-reason", reason});
    o.headers = hdrs;
    (q ? s_.counters_.quarantined : s_.counters_.dlq).fetch_add(1, std::memory_order_relaxed);
  } else {
    o.topic = route.sanitized;
    o.partition = route.sanitized_partitions > 0 ? m.partition() % route.sanitized_partitions : -1;
    o.value = out_;
    o.headers = c.headers;
    s_.counters_.sanitized.fetch_add(1, std::memory_order_relaxed);
    if (v == verdict::redacted) s_.counters_.redacted.fetch_add(1, std::memory_order_relaxed);
    if (v == verdict::flagged) s_.counters_.flagged.fetch_add(1, std::memory_order_relaxed);
  }
  count_record(v, reason, decision);
  // Findings per category, from the processor's own counters.
  const pipeline::stats& now = proc_.counters();
  for (std::size_t k = 0; k < 4; ++k)
    if (const auto d = now.findings_by_category[k] - last_.findings_by_category[k]; d != 0)
      s_.counters_.findings[k].fetch_add(d, std::memory_order_relaxed);
  last_ = now;

  // Alerts and audit records this record raised are its outputs too.
  std::vector<kafka::outgoing> extra;
  append_line_records(extra, side_alerts_, s_.cfg_.opts.kafka.alerts_topic, -1);
  // The chain is one ordered sequence: partition 0 of the audit topic.
  append_line_records(extra, side_audit_, s_.cfg_.opts.kafka.audit_topic, 0, s_.audit_writer_);
  // Its drift values and alert occurrences for their owners (kafka.fold_topic):
  // committed, like the rest, only once delivered.
  for (const pipeline::fold_record& f : side_fold_) {
    kafka::outgoing& e = extra.emplace_back();
    e.topic = s_.cfg_.opts.kafka.fold_topic;
    e.partition = f.partition;
    e.key = f.key;
    e.value = f.value;
  }

  if (txn_producer_) {
    if (!txn_open_) {
      if (auto err = txn_producer_->begin_transaction()) {
        s_.fail(err->message);
        return;
      }
      txn_open_ = true;
    }
    bool queued = produce(*txn_producer_, o);
    for (const auto& e : extra)
      queued = queued && produce(*txn_producer_, e);
    if (queued) txn_positions_[c.tp] = m.offset() + 1;
    return;
  }
  c.tracker->begin(m.offset(), static_cast<std::uint32_t>(1 + extra.size()));
  o.token = new delivery_token{c.tracker, m.offset(), c.consumed};
  // A record that is not queued stays in flight: never committed, consumed again later.
  if (!produce(*s_.producer_, o)) {
    delete static_cast<delivery_token*>(o.token);
    return;
  }
  for (auto& e : extra) {
    e.token = new delivery_token{c.tracker, m.offset(), c.consumed};
    if (!produce(*s_.producer_, e)) {
      delete static_cast<delivery_token*>(e.token);
      return;
    }
  }
}

void worker::count_record(verdict v, std::string_view reason, const pipeline::stage_decision& d) {
  metrics::writer* const w = thread_writer;
  if (w == nullptr) return;
  const run_series& ser = s_.series_;
  w->add(ser.received[writer_stage]);
  w->add(ser.sent[writer_stage]);
  w->add(ser.verdicts[static_cast<std::size_t>(v)]);
  if (v == verdict::rejected) w->add(s_.cat_.dead_letters, {reason});
  if (v == verdict::quarantined) w->add(s_.cat_.quarantined, {reason});
  if (d.integrity) w->add(s_.cat_.integrity_events, {*d.integrity});
}

void worker::relay(const kafka::message& m, const kafka::topic_partition& tp,
                   const std::shared_ptr<kafka::partition_tracker>& tracker) {
  kafka::outgoing o;
  o.timestamp = m.timestamp();
  o.key = m.key();
  const std::vector<kafka::header> hdrs = m.headers();
  o.headers = hdrs;
  o.value = m.value().value_or(std::string_view{});
  const topic_plan::route& route = s_.plan_.route_for(tp.topic);
  o.topic = route.sanitized;
  o.partition = route.sanitized_partitions > 0 ? m.partition() % route.sanitized_partitions : -1;
  s_.counters_.sanitized.fetch_add(1, std::memory_order_relaxed);
  const clock::time_point now = clock::now();
  auto* token = new delivery_token{tracker, m.offset(), now, now};
  tracker->begin(m.offset(), 1);
  o.token = token;
  if (!produce(*s_.producer_, o)) delete token;
}

bool worker::finish_transaction() {
  std::vector<kafka::partition_offset> offsets;
  for (const auto& [tp, next] : txn_positions_)
    offsets.push_back({tp, next});
  std::optional<kafka::error> err =
      txn_producer_->send_offsets_to_transaction(*consumer_, offsets, 30s);
  if (!err) err = txn_producer_->commit_transaction(30s);
  txn_open_ = false;
  std::vector<kafka::topic_partition> touched;
  for (const auto& [tp, next] : txn_positions_)
    touched.push_back(tp);
  txn_positions_.clear();
  if (!err) {
    s_.counters_.committed.fetch_add(offsets.size(), std::memory_order_relaxed);
    return true;
  }
  if (err->fatal || !err->abort_transaction) {
    if (err->fatal) {
      s_.fail(err->message);
      return false;
    }
  }
  log::warn("run", "transaction failed; aborting and redoing the batch",
            {{"worker", id_}, {"error", err->message}});
  if (auto abort = txn_producer_->abort_transaction(30s)) {
    s_.fail(abort->message);
    return false;
  }
  if (auto seek = consumer_->seek_to_committed(touched, 10s))
    log::error("run", "rewind to the committed offsets failed",
               {{"worker", id_}, {"error", seek->message}});
  return true;
}

void worker::run_transactional() {
  constexpr auto batch_time = 100ms;
  constexpr std::size_t batch_records = 2000;
  while (!s_.stopping()) {
    const auto until = clock::now() + batch_time;
    std::size_t n = 0;
    while (!s_.stopping() && clock::now() < until && n < batch_records) {
      if (holding_) hold_for_peers();
      if (auto m = consumer_->poll(20ms)) {
        handle(*m);
        ++n;
      }
    }
    if (txn_open_ && !finish_transaction()) break;
  }
  if (txn_open_) finish_transaction();
}

void worker::commit_moved() {
  std::vector<kafka::partition_offset> offsets;
  for (const auto& [tp, t] : trackers_) {
    if (!s_.integrity_state_) {
      if (auto off = t->committable()) offsets.push_back({tp, *off});
      continue;
    }
    // Never past the checkpointed integrity state of the partition.
    if (auto off = t->watermark()) {
      const std::int64_t c = s_.covered(tp, *off);
      std::int64_t& last = committed_at_[tp];
      if (c > last) {
        offsets.push_back({tp, c});
        last = c;
      }
    }
  }
  if (offsets.empty()) return;
  if (auto err = consumer_->commit(offsets, true))
    log::limited().write(log::level::warn, "run", "commit failed", "commit failed",
                         {{"worker", id_}, {"error", err->message}});
  else
    s_.counters_.committed.fetch_add(offsets.size(), std::memory_order_relaxed);
}

void worker::run(std::latch& committed) {
  const bound_writer metrics_writer(s_.metrics_.get());
  if (txn_producer_) {
    run_transactional();
    committed.arrive_and_wait();
    consumer_->close();
    txn_producer_.reset();
    return;
  }
  auto next_commit = clock::now() + commit_every;
  while (!s_.stopping()) {
    if (holding_) hold_for_peers();
    if (auto m = consumer_->poll(50ms)) poll_batch(std::move(*m));
    if (clock::now() >= next_commit) {
      commit_moved();
      next_commit = clock::now() + commit_every;
    }
  }
  // Stopping: drain what was produced, commit it, leave the group.
  const auto until = clock::now() + drain_budget;
  std::vector<kafka::partition_offset> offsets;
  std::vector<kafka::topic_partition> held;
  for (const auto& [tp, t] : trackers_) {
    drain(*t, until);
    held.push_back(tp);
  }
  s_.checkpoint_state(&held, false, 2s);
  for (const auto& [tp, t] : trackers_)
    if (auto w = t->watermark())
      if (const std::int64_t c = s_.covered(tp, *w); c >= 0) offsets.push_back({tp, c});
  if (auto err = consumer_->commit(offsets, false))
    log::warn("run", "final commit failed", {{"worker", id_}, {"error", err->message}});
  trackers_.clear(); // nothing left to commit on the revoke that close() triggers
  committed.arrive_and_wait();
  consumer_->close();
}

void print_progress(const run_counters& c, double seconds, bool final,
                    std::optional<std::uint64_t> produced,
                    const std::map<std::string, std::uint64_t>& alert_kinds) {
  std::vector<log::field> fields;
  fields.emplace_back("seconds", std::round(seconds * 10) / 10);
  const auto add = [&fields](const char* key, std::uint64_t v) { fields.emplace_back(key, v); };
  const std::uint64_t consumed = c.consumed.load();
  add("consumed", consumed);
  if (seconds > 0)
    add("events_per_s", static_cast<std::uint64_t>(static_cast<double>(consumed) / seconds));
  if (produced) add("lag", *produced > consumed ? *produced - consumed : 0);
  add("sanitized", c.sanitized.load());
  add("redacted", c.redacted.load());
  add("flagged", c.flagged.load());
  add("dlq", c.dlq.load());
  add("quarantined", c.quarantined.load());
  add("delivered", c.delivered.load());
  add("delivery_failures", c.delivery_failures.load());
  add("commit_failures", c.commit_failures.load());
  add("findings.secret", c.findings[0].load());
  add("findings.pii", c.findings[1].load());
  add("findings.prompt_leak", c.findings[2].load());
  add("findings.injection", c.findings[3].load());
  std::vector<std::string> kind_keys; // the fields' keys view these
  kind_keys.reserve(alert_kinds.size());
  for (const auto& kind : alert_kinds)
    kind_keys.push_back("alerts." + kind.first);
  std::size_t k = 0;
  for (const auto& [kind, n] : alert_kinds)
    fields.emplace_back(kind_keys[k++], n);
  log::write(log::level::info, "run", final ? "stopped" : "progress", fields);
}

void service::checkpoint_state(const std::vector<kafka::topic_partition>* only, bool release,
                               std::chrono::milliseconds wait) {
  if (!integrity_state_) return;
  std::lock_guard order(checkpoint_mutex_);
  std::set<integrity::home> homes;
  if (only != nullptr)
    for (const auto& tp : *only)
      homes.insert(integrity::home{tp.topic, tp.partition});
  std::map<integrity::home, std::int64_t> positions;
  std::vector<pipeline::detectors::state_record> records;
  {
    std::lock_guard lock(stage_mutex_);
    records = stage_->take_state(only != nullptr ? &homes : nullptr, wall_clock_now(), positions);
    if (release)
      for (const auto& h : homes)
        stage_->release_partition(h);
  }
  if (records.empty()) return;
  const std::uint64_t failures_before = state_failures_.load();
  const std::string& topic = cfg_.opts.kafka.integrity_state_topic;
  for (const auto& r : records) {
    kafka::outgoing o;
    o.topic = topic;
    o.partition = r.partition;
    o.key = r.key;
    if (r.value) o.value = *r.value; // else a null value: a tombstone
    kafka::error why;
    if (!produce_waiting(*state_producer_, o, why)) {
      log::limited().write(log::level::error, "run", "integrity state refused",
                           "an integrity state record was refused by the producer",
                           {{"topic", topic}, {"error", why.message}});
      state_failures_.fetch_add(1);
    }
  }
  // Positions count only once everything before them was delivered.
  if (!state_producer_->flush(wait) || state_failures_.load() != failures_before) {
    log::limited().write(log::level::warn, "run", "integrity state not delivered",
                         "integrity state not delivered in time; offsets wait for it",
                         {{"topic", topic}, {"records", records.size()}});
    return;
  }
  std::lock_guard lock(covered_mutex_);
  for (const auto& [h, high] : positions) {
    std::int64_t& c = covered_[kafka::topic_partition{h.topic, h.partition}];
    c = std::max(c, high + 1);
  }
}

void service::restore_state(const std::vector<kafka::topic_partition>& parts) {
  if (!integrity_state_ || parts.empty()) return;
  {
    std::lock_guard lock(covered_mutex_);
    for (const auto& tp : parts)
      covered_.erase(tp);
  }
  std::vector<std::int32_t> numbers;
  for (const auto& tp : parts)
    if (std::find(numbers.begin(), numbers.end(), tp.partition) == numbers.end())
      numbers.push_back(tp.partition);
  const std::string& topic = cfg_.opts.kafka.integrity_state_topic;
  auto read = read_changelog(props_, topic, numbers, 30s);
  if (auto* e = std::get_if<kafka::error>(&read)) {
    // As without the changelog: the sources of these partitions start afresh.
    log::error("run", "cannot read the integrity state of assigned partitions",
               {{"topic", topic}, {"error", e->message}});
    return;
  }
  const auto& state = std::get<std::map<std::int32_t, std::map<std::string, std::string>>>(read);
  std::size_t records = 0;
  std::uint64_t refused = 0;
  {
    const timestamp_ms now = wall_clock_now();
    std::lock_guard lock(stage_mutex_);
    const std::uint64_t refused_before = stage_->integrity_restores_refused();
    for (const auto& tp : parts) {
      const auto it = state.find(tp.partition);
      if (it == state.end()) continue;
      for (const auto& [key, value] : it->second) {
        const auto high =
            stage_->restore_state(integrity::home{tp.topic, tp.partition}, key, value, now);
        ++records;
        // What an earlier holding of this partition covered here is stale.
        std::lock_guard covered_lock(covered_mutex_);
        if (high) covered_[tp] = *high + 1;
      }
    }
    refused = stage_->integrity_restores_refused() - refused_before;
  }
  log::info("run", "integrity state restored",
            {{"partitions", parts.size()}, {"records", records}, {"refused", refused}});
  if (refused != 0)
    log::warn("run", "integrity state records refused (malformed or of another version)",
              {{"topic", topic}, {"refused", refused}});
}

// ---------------------------------------------------------------- fold member

bool fold_member::start(std::string& why) {
  kafka::properties props = s_.props_;
  props["group.id"] = s_.cfg_.opts.kafka.group_id + ".fold";
  auto c = kafka::consumer::make(props, {s_.cfg_.opts.kafka.fold_topic}, this);
  if (auto* e = std::get_if<kafka::error>(&c)) {
    why = e->message;
    return false;
  }
  consumer_.emplace(std::move(std::get<kafka::consumer>(c)));
  auto p = kafka::producer::make(s_.props_, [this](const kafka::delivery& d) {
    if (d.failure) state_failures_.fetch_add(1);
  });
  if (auto* e = std::get_if<kafka::error>(&p)) {
    why = e->message;
    return false;
  }
  state_producer_.emplace(std::move(std::get<kafka::producer>(p)));
  return true;
}

std::string fold_member::listed(const std::vector<kafka::topic_partition>& parts) {
  std::vector<std::int32_t> numbers;
  for (const auto& tp : parts)
    numbers.push_back(tp.partition);
  std::sort(numbers.begin(), numbers.end());
  std::string out;
  for (const std::int32_t n : numbers) {
    if (!out.empty()) out += ',';
    out += std::to_string(n);
  }
  return out;
}

void fold_member::on_assign(const std::vector<kafka::topic_partition>& parts) {
  if (parts.empty()) return;
  const std::string state_topic = s_.plan_.fold_state_topic();
  std::vector<std::int32_t> numbers;
  for (const auto& tp : parts)
    numbers.push_back(tp.partition);
  // Before any value of these partitions: the keys' state as last written.
  auto read = read_changelog(s_.props_, state_topic, numbers, 30s);
  std::size_t restored = 0;
  std::uint64_t refused = 0;
  if (auto* e = std::get_if<kafka::error>(&read)) {
    log::error("run",
               "cannot read the drift state of assigned fold partitions; their keys start "
               "afresh",
               {{"topic", state_topic}, {"error", e->message}});
  } else {
    const auto& state = std::get<std::map<std::int32_t, std::map<std::string, std::string>>>(read);
    std::lock_guard lock(s_.stage_mutex_);
    for (const auto& [partition, keys] : state)
      for (const auto& [key, value] : keys) {
        if (key == position_key) {
          std::int64_t at = -1;
          const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), at);
          if (ec == std::errc{} && end == value.data() + value.size() && at >= 0)
            covered_[partition] = at;
          else
            ++refused;
          continue;
        }
        if (auto why = s_.stage_->restore_drift(key, value)) {
          ++refused;
          log::limited().write(log::level::warn, "run", "drift state refused",
                               "a drift state record was refused",
                               {{"topic", state_topic}, {"partition", partition}, {"error", *why}});
          continue;
        }
        ++restored;
      }
  }
  s_.fold_held_.fetch_add(static_cast<int>(numbers.size()));
  for (const std::int32_t n : numbers) {
    held_.insert(n);
    next_.erase(n);
    committed_.erase(n);
    if (read.index() != 0) covered_.erase(n);
  }
  log::info("run", "fold partitions assigned",
            {{"partitions", listed(parts)}, {"keys_restored", restored}, {"refused", refused}});
}

void fold_member::on_revoke(const std::vector<kafka::topic_partition>& parts) {
  if (parts.empty()) return;
  std::set<std::int32_t> leaving;
  for (const auto& tp : parts)
    leaving.insert(tp.partition);
  // Everything the next owner needs, before the partitions go.
  if (!checkpoint(leaving, true))
    log::warn("run",
              "drift state of revoked fold partitions not delivered; their next owner "
              "starts from an older state",
              {{"partitions", listed(parts)}});
  {
    std::lock_guard lock(s_.stage_mutex_);
    s_.stage_->release_fold_partitions(leaving, wall_clock_now());
  }
  s_.fold_held_.fetch_sub(static_cast<int>(leaving.size()));
  for (const std::int32_t n : leaving) {
    held_.erase(n);
    next_.erase(n);
    committed_.erase(n);
    covered_.erase(n);
  }
  log::info("run", "fold partitions revoked", {{"partitions", listed(parts)}});
}

void fold_member::handle(const kafka::message& m) {
  if (auto err = m.failure()) {
    log::limited().write(log::level::warn, "run", "fold consumer error", "fold consumer error",
                         {{"error", err->message}, {"code", err->code}});
    return;
  }
  if (const auto c = covered_.find(m.partition()); c != covered_.end() && m.offset() < c->second) {
    ++skipped_;
    if (thread_writer != nullptr) thread_writer->add(s_.cat_.fold_records, {metrics::at{1U}});
    return;
  }
  std::optional<std::string> why;
  if (!m.value()) {
    why = "a null value";
  } else {
    std::lock_guard lock(s_.stage_mutex_);
    why = s_.stage_->fold_in(*m.value(), wall_clock_now());
  }
  next_[m.partition()] = m.offset() + 1;
  if (thread_writer != nullptr)
    thread_writer->add(s_.cat_.fold_records, {metrics::at{why ? 2U : 0U}});
  if (!why) {
    ++taken_;
    return;
  }
  // Written by bulwark only; something else writes to the topic. Named by
  // position, never by content.
  ++refused_;
  log::limited().write(log::level::warn, "run", "fold record refused", "a fold record was refused",
                       {{"topic", s_.cfg_.opts.kafka.fold_topic},
                        {"partition", m.partition()},
                        {"offset", m.offset()},
                        {"error", *why}});
}

bool fold_member::checkpoint(const std::set<std::int32_t>& parts, bool all) {
  std::vector<pipeline::fold_record> records;
  std::vector<kafka::partition_offset> offsets;
  {
    std::lock_guard lock(s_.stage_mutex_);
    records = s_.stage_->take_drift_state(parts, all || rewrite_all_);
  }
  for (const std::int32_t p : parts) {
    const auto it = next_.find(p);
    if (it == next_.end()) continue;
    const auto done = committed_.find(p);
    if (done != committed_.end() && done->second >= it->second) continue;
    offsets.push_back({{s_.cfg_.opts.kafka.fold_topic, p}, it->second});
    // Last in its partition: what the state before it covers.
    records.push_back({p, std::string(position_key), std::to_string(it->second)});
  }
  if (!records.empty()) {
    const std::uint64_t failures_before = state_failures_.load();
    const std::string state_topic = s_.plan_.fold_state_topic();
    for (const auto& r : records) {
      kafka::outgoing o;
      o.topic = state_topic;
      o.partition = r.partition;
      o.key = r.key;
      o.value = r.value;
      kafka::error why;
      if (!produce_waiting(*state_producer_, o, why)) state_failures_.fetch_add(1);
    }
    state_records_ += records.size();
    if (thread_writer != nullptr)
      thread_writer->add(s_.cat_.drift_state_writes, {}, records.size());
    if (!state_producer_->flush(10s) || state_failures_.load() != failures_before) {
      rewrite_all_ = true;
      log::limited().write(log::level::warn, "run", "drift state not delivered",
                           "drift state not delivered in time; fold offsets wait for it",
                           {{"topic", state_topic}, {"records", records.size()}});
      return false;
    }
    rewrite_all_ = false;
  }
  if (offsets.empty()) return true;
  if (auto err = consumer_->commit(offsets, false)) {
    log::limited().write(log::level::warn, "run", "fold commit failed", "fold commit failed",
                         {{"error", err->message}});
    return true; // the state is out; a later commit covers it
  }
  for (const auto& o : offsets)
    committed_[o.tp.partition] = o.offset;
  return true;
}

void fold_member::run(const std::atomic<bool>& stop) {
  const bound_writer metrics_writer(s_.metrics_.get());
  auto next_checkpoint = clock::now() + 2s;
  while (!stop.load()) {
    if (auto m = consumer_->poll(50ms)) handle(*m);
    if (clock::now() >= next_checkpoint) {
      checkpoint(held_, false);
      next_checkpoint = clock::now() + 2s;
    }
  }
  consumer_->close(); // revokes what it holds: written out, committed, released
  log::info("run", "fold member stopped",
            {{"taken", taken_},
             {"skipped", skipped_},
             {"refused", refused_},
             {"state_records", state_records_}});
}

void service::produce_stage_outputs(bool final) {
  std::string alerts, audit;
  std::vector<pipeline::fold_record> fold;
  {
    std::lock_guard lock(stage_mutex_);
    alerts.swap(stage_->outputs().alerts);
    audit.swap(stage_->outputs().audit);
    fold.swap(stage_->outputs().fold);
    stage_->outputs().clear();
    count_alert_kinds(alerts);
  }
  count_audit(audit);
  std::vector<kafka::outgoing> records;
  append_line_records(records, alerts, cfg_.opts.kafka.alerts_topic, -1);
  append_line_records(records, audit, cfg_.opts.kafka.audit_topic, 0, audit_writer_);
  for (const auto& o : records)
    stage_backlog_.push_back(
        {std::string(o.topic), o.partition, std::string(o.value), o.key.has_value(), {}});
  for (auto& f : fold)
    stage_backlog_.push_back(
        {cfg_.opts.kafka.fold_topic, f.partition, std::move(f.value), false, std::move(f.key)});
  // A full queue (a slow broker) holds them back, in order; the audit chain
  // must stay one ordered sequence, so nothing overtakes a waiting record.
  const auto give_up = clock::now() + (final ? 5s : 50ms);
  while (!stage_backlog_.empty()) {
    const stage_record& r = stage_backlog_.front();
    kafka::outgoing o;
    o.topic = r.topic;
    o.partition = r.partition;
    o.value = r.value;
    if (r.audit)
      o.key = audit_writer_;
    else if (!r.key.empty())
      o.key = r.key;
    const kafka::produce_status st = producer_->produce(o);
    if (st == kafka::produce_status::queued) {
      stage_backlog_.pop_front();
      continue;
    }
    if (st == kafka::produce_status::failed) {
      // Refused outright (a record over the broker's size limit, a topic that
      // cannot exist): retrying cannot help, and it must not block the rest.
      log::limited().write(log::level::error, "run", "refused:" + r.topic,
                           "a record was refused by the producer; dropped", {{"topic", r.topic}});
      stage_backlog_.pop_front();
      continue;
    }
    if (clock::now() >= give_up) break;
    producer_->poll(5ms);
  }
  if (final && !stage_backlog_.empty()) {
    log::error("run",
               "alert and audit records not handed to the producer before shutdown (producer "
               "queue full)",
               {{"records", stage_backlog_.size()}});
    stage_backlog_.clear();
  }
}

std::variant<pipeline::rule_generation, std::string> service::compile_generation() const {
  config::options o;
  if (hooks_.config_path.empty()) {
    o = cfg_.opts;
  } else {
    auto loaded = config::load_file(hooks_.config_path);
    if (auto* err = std::get_if<config::load_error>(&loaded)) return err->message();
    o = std::get<config::options>(std::move(loaded));
  }
  auto built = try_compile_rules(std::move(o));
  if (auto* err = std::get_if<std::string>(&built)) return std::move(*err);
  auto& lc = std::get<loaded_config>(built);
  // A rule set whose own examples fail is broken (`bulwark rules check`
  // says the same): it never replaces one that works. The reason is
  // named without the example's text.
  if (lc.rules)
    if (const auto failed = scan::check_examples(lc.rules); !failed.empty())
      return failed.front().where + ": rule " + failed.front().rule +
             ": an example fails (see `bulwark rules check`)" +
             (failed.size() > 1 ? " and " + std::to_string(failed.size() - 1) + " more" : "");
  pipeline::rule_generation g;
  g.rules = std::move(lc.rules);
  g.policies = lc.opts.policies;
  g.inputs_json = rule_inputs_json(lc.opts);
  return g;
}

void service::serve_reloads() {
  if (!reloader_) return;
  auto outcomes = reloader_->take_outcomes();
  if (outcomes.empty()) return;
  const timestamp_ms now = wall_clock_now();
  for (const auto& o : outcomes) {
    json_writer j;
    j.begin_object();
    j.key("generation").value(o.generation);
    j.key("trigger").value(o.trigger);
    j.key("requests").value(o.requests);
    j.key("rules").value(static_cast<std::uint64_t>(o.rules));
    j.key("inputs").raw(o.inputs_json);
    if (!o.ok) j.key("error").value(std::string_view(o.error).substr(0, 400));
    j.end_object();
    {
      std::lock_guard lock(stage_mutex_);
      stage_->decision(now, o.ok ? "rules_reloaded" : "rules_reload_failed", j.str());
      if (!o.ok) {
        alert_request a;
        a.kind = "config";
        a.level = default_severity("config");
        a.rule = "rules.reload";
        a.title = "rule reload failed; the previous rules stay in force";
        a.evidence = j.str();
        stage_->raise(std::move(a), now);
      }
    }
    if (thread_writer != nullptr)
      thread_writer->add(cat_.rule_reloads, {metrics::at{o.ok ? 0U : 1U}});
    if (o.ok) {
      metrics_->set(cat_.rules_loaded, {}, static_cast<double>(o.rules));
      metrics_->set(cat_.rules_loaded_timestamp, {},
                    std::chrono::duration<double>(o.at.time_since_epoch()).count());
      log::info("run", "rules reloaded",
                {{"trigger", o.trigger}, {"generation", o.generation}, {"rules", o.rules}});
    } else {
      log::error("run", "rule reload failed; the current generation stays",
                 {{"trigger", o.trigger}, {"generation", o.generation}, {"error", o.error}});
    }
  }
}

bool service::make_metrics() {
  const config::options& o = cfg_.opts;
  metrics::catalog_inputs in;
  if (cfg_.rules)
    for (std::size_t i = 0; i < cfg_.rules->size(); ++i)
      in.rules.push_back(cfg_.rules->rule(i).spec.id);
  // Partition labels and lag slots come from the partition counts now; a
  // partition added later is counted under `other` and has no lag series.
  for (const std::string& topic : o.kafka.inputs) {
    std::size_t n = 0;
    if (o.kafka.brokers == "embedded") {
      n = static_cast<std::size_t>(std::max(0, o.kafka.embedded_partitions));
    } else {
      auto count = producer_->partition_count(topic, 10s);
      if (const int* c = std::get_if<int>(&count)) n = static_cast<std::size_t>(std::max(0, *c));
    }
    in.inputs.push_back({topic, n});
    slot_counts_.push_back(n);
    slots_.push_back(std::make_unique<partition_slot[]>(n));
  }
  for (const auto& f : o.drift.features)
    in.features.push_back(f.path);
  for (const auto& [kid, source] : o.integrity.keys)
    in.key_ids.push_back(kid);
  in.version = "0.1.0";
  metrics::builder b;
  cat_ = metrics::declare_catalog(b, in);
  auto made = metrics::registry::make(std::move(b));
  if (auto* e = std::get_if<metrics::error>(&made)) {
    log::error("run", "cannot build the metrics registry", {{"error", e->message}});
    return false;
  }
  metrics_ = std::move(std::get<std::unique_ptr<metrics::registry>>(made));
  metrics::registry& r = *metrics_;
  for (std::size_t st = 0; st < 4; ++st) {
    series_.received[st] = r.series(cat_.records_received, {metrics::at{st}});
    series_.sent[st] = r.series(cat_.records_sent, {metrics::at{st}});
    series_.errors[st] = r.series(cat_.errors, {metrics::at{st}});
    series_.took[st] = r.series(cat_.stage_duration, {metrics::at{st}});
  }
  series_.input_bytes = r.series(cat_.input_bytes);
  series_.audit_records = r.series(cat_.audit_records);
  series_.audit_checkpoints = r.series(cat_.audit_checkpoints);
  series_.commit_refusals = r.series(cat_.commit_refusals);
  series_.held = r.series(cat_.record_hold);
  for (std::size_t i = 0; i < 5; ++i) {
    series_.verdicts[i] = r.series(cat_.verdicts, {metrics::at{i}});
    series_.out_records[i] = r.series(cat_.output_records, {metrics::at{i}});
    series_.out_bytes[i] = r.series(cat_.output_bytes, {metrics::at{i}});
  }
  const double started = std::chrono::duration<double>(process_started_.time_since_epoch()).count();
  r.set(cat_.build_info, {in.version}, 1);
  r.set(cat_.start_time, {}, started);
  r.set(cat_.workers, {}, o.effective_workers());
  r.set(cat_.rules_loaded, {}, static_cast<double>(in.rules.size()));
  r.set(cat_.rules_loaded_timestamp, {}, started);
  return true;
}

std::int64_t
service::held_lag(const std::function<void(std::size_t, std::size_t, std::int64_t)>& each) const {
  std::int64_t total = 0;
  for (std::size_t t = 0; t < slots_.size(); ++t)
    for (std::size_t p = 0; p < slot_counts_[t]; ++p) {
      const partition_slot& slot = slots_[t][p];
      const int owner = slot.owner.load(std::memory_order_acquire);
      std::int64_t lag = 0;
      if (owner >= 0 && workers_ != nullptr && static_cast<std::size_t>(owner) < workers_->size()) {
        // The high watermark librdkafka cached from its last fetch response:
        // a local read, no broker round trip. Unknown (no fetch answered yet)
        // or no record processed yet: the partition is not counted.
        const kafka::consumer* c = (*workers_)[static_cast<std::size_t>(owner)]->consumer();
        const std::int64_t next = slot.next.load(std::memory_order_relaxed);
        if (c != nullptr && next >= 0)
          if (const auto high =
                  c->cached_high_watermark(cfg_.opts.kafka.inputs[t], static_cast<std::int32_t>(p)))
            lag = std::max<std::int64_t>(0, *high - next);
      }
      total += lag;
      if (each) each(t, p, owner >= 0 ? lag : -1);
    }
  return total;
}

http::readiness service::readiness() const {
  if (stopping()) return {false, "stopping"};
  if (workers_ == nullptr) return {false, "starting"};
  if (!all_workers_joined())
    return {false, "waiting for partition assignment (" +
                       std::to_string(joined_workers_.load(std::memory_order_acquire)) + " of " +
                       std::to_string(worker_count_) + " workers assigned)"};
  const std::int64_t lag = held_lag({});
  if (lag > ready_max_lag)
    return {false, "consumer lag " + std::to_string(lag) + " above " +
                       std::to_string(ready_max_lag) + " records"};
  return {true, ""};
}

void service::feed_status(bool now_anyway) {
  // Once a second: a snapshot walks every drift key and known source.
  if (!now_anyway && clock::now() < next_status_) return;
  next_status_ = clock::now() + 1s;
  const timestamp_ms now = wall_clock_now();
  metrics::stage_view v;
  stage_->snapshot(v, now);
  if (metrics_) {
    metrics::registry& r = *metrics_;
    r.set(cat_.drift_keys, {}, static_cast<double>(v.drift_keys));
    r.set(cat_.drift_references, {metrics::at{0}}, static_cast<double>(v.drift_frozen));
    r.set(cat_.drift_references, {metrics::at{1}}, static_cast<double>(v.drift_learning));
    r.set(cat_.drift_state_bytes, {}, static_cast<double>(v.drift_bytes));
    // run declares no model names (they come from events), so every model
    // shares the `other` series: the largest value among them, per feature.
    std::map<std::string, std::array<double, 3>> worst;
    std::map<std::string, std::uint64_t> windows;
    for (const metrics::drift_row& d : v.drift_rows) {
      windows[d.feature] += d.windows;
      if (!d.window_end) continue;
      auto [it, fresh] = worst.try_emplace(d.feature, std::array<double, 3>{0, 0, 0});
      it->second[0] = std::max(it->second[0], d.psi);
      it->second[1] = std::max(it->second[1], d.js);
      if (!std::isnan(d.wasserstein_u)) it->second[2] = std::max(it->second[2], d.wasserstein_u);
    }
    for (const auto& [feature, m] : worst) {
      r.set(cat_.drift_psi, {"other", feature}, m[0]);
      r.set(cat_.drift_js_distance, {"other", feature}, m[1]);
      r.set(cat_.drift_wasserstein_u, {"other", feature}, m[2]);
    }
    for (const auto& [feature, n] : windows) {
      std::uint64_t& was = last_windows_[feature];
      if (n > was && thread_writer != nullptr)
        thread_writer->add(cat_.drift_windows, {"other", feature}, n - was);
      was = n; // a replaced reference restarts its count
    }
    r.set(cat_.integrity_sources, {metrics::at{0}}, static_cast<double>(v.sources_tracked));
    r.set(cat_.integrity_sources, {metrics::at{1}}, static_cast<double>(v.sources_untrusted));
    if (v.watermark)
      r.set(cat_.integrity_watermark, {}, static_cast<double>(*v.watermark) / 1000.0);
  }
  if (http_ == nullptr) return;
  metrics::flow_totals t;
  const run_counters& c = counters_;
  t.consumed = c.consumed.load();
  t.delivered = c.delivered.load();
  const std::uint64_t sanitized = c.sanitized.load(), redacted = c.redacted.load(),
                      flagged = c.flagged.load();
  t.verdicts = {sanitized > redacted + flagged ? sanitized - redacted - flagged : 0, redacted,
                flagged, c.quarantined.load(), c.dlq.load()};
  for (std::size_t i = 0; i < t.findings.size(); ++i)
    t.findings[i] = c.findings[i].load();
  http_->board->set_flow(t, now);
  http_->board->set_stage(std::move(v));
}

void service::on_scrape(metrics::registry& r) {
  held_lag([&](std::size_t t, std::size_t p, std::int64_t lag) {
    const std::string& topic = cfg_.opts.kafka.inputs[t];
    r.set(cat_.partition_assigned, {topic, metrics::at{p}}, lag >= 0 ? 1 : 0);
    r.set(cat_.consumer_lag, {topic, metrics::at{p}},
          static_cast<double>(std::max<std::int64_t>(0, lag)));
  });
  r.set(cat_.consumption_paused, {}, paused_workers_.load(std::memory_order_relaxed) > 0 ? 1 : 0);
  r.set(cat_.fold_partitions, {}, static_cast<double>(fold_held_.load(std::memory_order_relaxed)));
  r.set(cat_.ready, {}, readiness().ready ? 1 : 0);
}

int service::run() {
  auto p = kafka::producer::make(props_, [this](const kafka::delivery& d) { on_delivery(d); });
  if (auto* e = std::get_if<kafka::error>(&p)) {
    log::error("run", "cannot create the producer", {{"error", e->message}});
    return bad_usage;
  }
  producer_.emplace(std::move(std::get<kafka::producer>(p)));
  if (auto err = plan_.resolve(*producer_)) {
    log::error("run", "cannot resolve the output topics", {{"error", *err}});
    return runtime_failure;
  }
  if (!make_metrics()) return bad_usage;
  // This thread's writer: deliveries served by the final flush, the stage's
  // last outputs.
  const bound_writer main_writer(metrics_.get());

  // The stateful stage; the audit chain needs a key to sign its checkpoints.
  pipeline::detectors::options dopts;
  dopts.clock = pipeline::detectors::clock_mode::wall_clock;
  integrity_state_ = integrity_state_enabled(cfg_.opts, relay_) && plan_.integrity_state();
  dopts.integrity_state = integrity_state_;
  if (integrity_state_) {
    auto sp = kafka::producer::make(props_, [this](const kafka::delivery& d) {
      if (d.failure) state_failures_.fetch_add(1);
    });
    if (auto* e = std::get_if<kafka::error>(&sp)) {
      log::error("run", "cannot create the integrity state producer", {{"error", e->message}});
      return bad_usage;
    }
    state_producer_.emplace(std::move(std::get<kafka::producer>(sp)));
  } else if (cfg_.opts.kafka.exactly_once && !cfg_.opts.kafka.integrity_state_topic.empty() &&
             !cfg_.opts.integrity.keys.empty()) {
    log::warn("run", "integrity state is not kept across instances with kafka.exactly_once");
  }
  dopts.audit = !cfg_.opts.integrity.audit_key.empty() ||
                cfg_.opts.integrity.audit_signing_key.from != config::key_source::kind::none;
  if (!dopts.audit)
    log::warn("run", "the audit chain is off: it needs integrity.keys or "
                     "integrity.audit_signing_key to sign its checkpoints");
  // One chain per writer: a restarted instance continues the chain it left
  // on the topic (docs/audit.md, Resuming) instead of starting a second one
  // at index 0, which no verifier could accept. Its records are keyed by its
  // writer id, so instances sharing the topic keep apart chains.
  if (dopts.audit) {
    const std::string& topic = cfg_.opts.kafka.audit_topic;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    audit_writer_ = config::audit_writer_id(cfg_.opts.kafka, host);
    auto last = kafka::read_last_record(props_, topic, 0, 30s, audit_writer_);
    if (auto* e = std::get_if<kafka::error>(&last)) {
      log::error("run", "cannot read the end of the audit topic to continue its chain",
                 {{"topic", topic}, {"writer", audit_writer_}, {"error", e->message}});
      return runtime_failure;
    }
    if (const auto& line = std::get<std::optional<std::string>>(last)) {
      auto head = audit::resume_point(*line);
      if (auto* e = std::get_if<audit::audit_error>(&head)) {
        log::error("run",
                   "this writer's last record on the audit topic cannot be continued; bulwark "
                   "does not start a second chain under its writer id (set kafka.audit_writer "
                   "to a new id, or point kafka.audit_topic at a new topic, and keep the old "
                   "chain as evidence)",
                   {{"topic", topic}, {"writer", audit_writer_}, {"error", e->reason}});
        return runtime_failure;
      }
      dopts.resume_audit = std::get<audit::chain_head>(head);
    }
  }
  // Alertmanager: alerts also go to a bounded buffer that its own thread
  // posts from, so a slow or absent Alertmanager never holds up the stage.
  std::unique_ptr<http::alertmanager_forwarder> alertmanager;
  // Alertmanager links back to where bulwark really listens.
  const std::string listen =
      http_ != nullptr && !http_->address.empty() ? http_->address : cfg_.opts.http.listen;
  if (!make_alertmanager(cfg_.opts, listen, "bulwark run", alertmanager)) return bad_usage;
  dopts.also = alertmanager.get();
  dopts.fold_partitions = plan_.fold_partitions(); // 0 in the relay
  auto made = pipeline::detectors::make(cfg_.opts, spec_, dopts);
  if (auto* e = std::get_if<std::string>(&made)) {
    log::error("run", "cannot set up the detectors", {{"error", *e}});
    return bad_usage;
  }
  stage_ = std::move(std::get<std::unique_ptr<pipeline::detectors>>(made));
  if (dopts.resume_audit) {
    json_writer w;
    w.begin_object();
    w.key("after_index").value(dopts.resume_audit->next_index - 1);
    w.key("writer").value(audit_writer_);
    w.end_object();
    stage_->decision(wall_clock_now(), "chain_resumed", w.str());
    log::info("run", "audit chain continued",
              {{"topic", cfg_.opts.kafka.audit_topic},
               {"writer", audit_writer_},
               {"next_index", dopts.resume_audit->next_index}});
  } else if (dopts.audit) {
    log::info("run", "audit chain started",
              {{"topic", cfg_.opts.kafka.audit_topic}, {"writer", audit_writer_}});
  }
  if (!relay_) {
    pipeline::rule_generation first;
    first.rules = cfg_.rules;
    first.policies = cfg_.opts.policies;
    first.inputs_json = rule_inputs_json(cfg_.opts);
    reloader_ = std::make_unique<pipeline::rules_reloader>(std::move(first),
                                                           [this] { return compile_generation(); });
  }

  const int n = cfg_.opts.effective_workers();
  worker_count_ = n;
  std::vector<std::unique_ptr<worker>> workers;
  // A testing hook (docs/kafka.md): every worker after the first starts this
  // much later, as on a loaded machine, to show the start-up hold.
  std::chrono::milliseconds stagger{0};
  if (const char* d = std::getenv("BULWARK_TEST_WORKER_STAGGER_MS"); d != nullptr)
    stagger = std::chrono::milliseconds(std::strtol(d, nullptr, 10));
  for (int i = 0; i < n; ++i) {
    if (i > 0 && stagger.count() > 0) std::this_thread::sleep_for(stagger);
    workers.push_back(std::make_unique<worker>(*this, i));
    std::string why;
    if (!workers.back()->start(why)) {
      log::error("run", "cannot start a worker", {{"worker", i}, {"error", why}});
      return bad_usage;
    }
  }
  // Several instances (kafka.fold_topic): the fold topic's member.
  std::unique_ptr<fold_member> fold;
  if (plan_.fold_partitions() > 0) {
    fold = std::make_unique<fold_member>(*this);
    std::string why;
    if (!fold->start(why)) {
      log::error("run", "cannot start the fold consumer",
                 {{"topic", cfg_.opts.kafka.fold_topic}, {"error", why}});
      return bad_usage;
    }
    log::info("run", "fold topic in use",
              {{"topic", cfg_.opts.kafka.fold_topic},
               {"partitions", plan_.fold_partitions()},
               {"group", cfg_.opts.kafka.group_id + ".fold"}});
  }
  // From here the endpoint serves this service; it lets go (under the lock,
  // so no scrape is running) before the workers and the registry go.
  workers_ = &workers;
  metrics::scrape_callback scrape =
      metrics_->on_scrape([this](metrics::registry& r) { on_scrape(r); });
  struct unplug {
    service& s;
    metrics::scrape_callback& cb;
    ~unplug() {
      if (s.http_ != nullptr) {
        std::lock_guard lock(s.http_->mu);
        s.http_->registry = nullptr;
        s.http_->ready = nullptr;
        s.http_->reload = nullptr;
      }
      cb = {};
      s.workers_ = nullptr;
    }
  } unplug_at_exit{*this, scrape};
  if (http_ != nullptr) {
    std::lock_guard lock(http_->mu);
    http_->registry = metrics_.get();
    http_->ready = [this] { return readiness(); };
    if (reloader_) http_->reload = [this](std::string_view why) { reloader_->request(why); };
  }
  std::atomic<bool> workers_done{false};
  std::thread poller([&] {
    const bound_writer poller_writer(metrics_.get());
    auto next_tick = clock::now();
    auto next_checkpoint = clock::now() + 1s;
    while (!workers_done.load()) {
      if (clock::now() >= next_checkpoint) {
        checkpoint_state(nullptr, false, 1s);
        next_checkpoint = clock::now() + 1s;
      }
      producer_->poll(20ms);
      serve_retries();
      if (auto f = producer_->fatal_error()) fail(f->message);
      if (clock::now() >= next_tick) { // silence, alert timers, audit checkpoints
        {
          std::lock_guard lock(stage_mutex_);
          stage_->tick(wall_clock_now());
          count_stage_stats();
          feed_status(false);
        }
        serve_reloads();
        produce_stage_outputs();
        if (alertmanager) count_alertmanager_posts(alertmanager->stats());
        log::limited().flush(); // floods that ended say how much they held back
        next_tick = clock::now() + 200ms;
      }
    }
  });
  std::latch committed(static_cast<std::ptrdiff_t>(workers.size()));
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&w, &committed] { w->run(committed); });
  std::atomic<bool> fold_stop{false};
  std::thread fold_thread;
  if (fold) fold_thread = std::thread([&] { fold->run(fold_stop); });

  const auto started = clock::now();
  auto next_progress = started + hooks_.progress_every;
  const auto progress = [&](bool final) {
    std::map<std::string, std::uint64_t> kinds;
    {
      std::lock_guard lock(stage_mutex_);
      kinds = alert_kinds_;
    }
    std::optional<std::uint64_t> produced;
    if (hooks_.produced) produced = hooks_.produced();
    print_progress(counters_, std::chrono::duration<double>(clock::now() - started).count(), final,
                   produced, kinds);
  };
  while (!stopping()) {
    std::this_thread::sleep_for(50ms);
    if (reload_requested.exchange(false)) {
      if (reloader_)
        reloader_->request("SIGHUP");
      else
        log::warn("run", "SIGHUP ignored: the relay has no rules");
    }
    if (clock::now() >= next_progress) {
      progress(false);
      next_progress += hooks_.progress_every;
    }
  }
  for (auto& t : threads)
    t.join();
  // Before the stage finishes: the keys it holds for the fold partitions go
  // to their next owner with their windows open, not closed here.
  if (fold_thread.joinable()) {
    fold_stop.store(true);
    fold_thread.join();
  }
  workers_done.store(true);
  poller.join();
  serve_reloads();
  {
    std::lock_guard lock(stage_mutex_);
    stage_->finish(wall_clock_now());
    count_stage_stats();
    feed_status(true);
  }
  produce_stage_outputs(true);
  producer_->flush(2s);
  // Within SPEC's 10 s shutdown bound; what is left is counted and lost.
  if (alertmanager) {
    alertmanager->stop(2s);
    count_alertmanager_posts(alertmanager->stats());
  }
  log::limited().flush_all();
  progress(true);
  if (fatal_.load()) {
    log::error("run", "stopped on a fatal error", {{"error", fatal_reason_}});
    return runtime_failure;
  }
  return ok;
}

int run_service(const loaded_config& loaded_cfg, bool relay, run_hooks hooks) {
  const loaded_config* loaded = &loaded_cfg;
  const config::options& opts = loaded->opts;
  install_run_stop_handlers();
  // A bad Alertmanager URL is a configuration error: exit 2 before any cluster starts.
  if (!opts.alerts.alertmanager.empty())
    if (auto bad = http::parse_url(opts.alerts.alertmanager, "alerts.alertmanager");
        std::holds_alternative<std::string>(bad)) {
      std::fprintf(stderr, "bulwark run: %s\n", std::get<std::string>(bad).c_str());
      return bad_usage;
    }

  // The endpoint comes up first: /healthz answers while the cluster starts,
  // and a port already in use is a configuration error found at once.
  const auto process_started = std::chrono::system_clock::now();
  auto endpoint_state = std::make_shared<http_state>();
  http::endpoints eps;
  eps.metrics = [endpoint_state](std::string& out) {
    std::lock_guard lock(endpoint_state->mu);
    if (endpoint_state->registry == nullptr) return false;
    endpoint_state->registry->render(out);
    return true;
  };
  eps.ready = [endpoint_state] {
    std::lock_guard lock(endpoint_state->mu);
    if (!endpoint_state->ready) return http::readiness{false, "starting"};
    return endpoint_state->ready();
  };
  eps.status = [board = endpoint_state->board](std::string& out) {
    board->render_json(out, wall_clock_now());
    return true;
  };
  // The compile runs on the reload thread; the answer only says it was
  // asked for. Its outcome is an audit record, a log line, a metric
  // (bulwark_rule_reloads_total) and, when it failed, a `config` alert.
  eps.reload = [endpoint_state] {
    std::lock_guard lock(endpoint_state->mu);
    http::response r;
    if (!endpoint_state->reload) {
      r.status = 503;
      r.body = "no rules to reload yet\n";
      return r;
    }
    endpoint_state->reload("http");
    r.status = 202;
    r.body = "reload requested\n";
    return r;
  };
  http::server_options so;
  so.listen = opts.http.listen;
  auto listening = http::server::start(so, std::move(eps));
  std::unique_ptr<http::server> endpoint;
  if (auto* e = std::get_if<std::string>(&listening)) {
    // The address itself was checked with the configuration; what fails here
    // is the system (a port in use, e.g. a second instance on one host). The
    // pipeline runs on without the endpoint; an orchestrator's readiness
    // probe then never passes, so it does not go unnoticed.
    log::warn("run", "the HTTP endpoint cannot listen; running without the HTTP endpoint",
              {{"error", *e}});
  } else {
    endpoint = std::move(std::get<std::unique_ptr<http::server>>(listening));
    endpoint_state->address = endpoint->address();
    std::printf("bulwark run: http listening on %s\n", endpoint->address().c_str());
    std::fflush(stdout);
  }

  std::optional<kafka::embedded_cluster> cluster;
  kafka::properties props = opts.kafka.properties;
  topic_plan plan(opts.kafka, integrity_state_enabled(opts, relay), relay);
  if (opts.kafka.brokers == "embedded") {
    auto c = kafka::embedded_cluster::make(3);
    if (auto* e = std::get_if<kafka::error>(&c)) {
      log::error("run", "cannot start the embedded cluster", {{"error", e->message}});
      return runtime_failure;
    }
    cluster.emplace(std::move(std::get<kafka::embedded_cluster>(c)));
    for (const auto& topic : plan.all_topics())
      if (auto err = cluster->create_topic(topic, opts.kafka.embedded_partitions)) {
        log::error("run", "cannot create a topic on the embedded cluster",
                   {{"topic", topic}, {"error", err->message}});
        return runtime_failure;
      }
    props["bootstrap.servers"] = cluster->bootstrap();
    std::printf("bulwark run: embedded cluster bootstrap %s\n", cluster->bootstrap().c_str());
    std::fflush(stdout);
  } else {
    props["bootstrap.servers"] = opts.kafka.brokers;
    if (auto err = plan.create_missing(props)) {
      log::error("run", "cannot prepare the topics", {{"error", *err}});
      return runtime_failure;
    }
    if (!plan.state_problem().empty())
      log::warn("run",
                "integrity state is not kept across instances: create its topic, compacted, "
                "with one partition per input partition",
                {{"topic", opts.kafka.integrity_state_topic}, {"error", plan.state_problem()}});
  }
  if (hooks.on_started) hooks.on_started(props["bootstrap.servers"]);
  service s(*loaded, std::move(props), std::move(plan), relay, std::move(hooks),
            endpoint_state.get(), process_started);
  return s.run();
}

} // namespace

int run_command(const run_args& args) {
  const auto loaded = load_config_and_rules(args.config);
  if (!loaded) return bad_usage;
  // Inline keys work, but they sit in a file that gets copied, versioned and
  // shown around (docs/configuration.md, Keys). Named, never printed.
  for (const std::string& where : config::inline_keys(loaded->opts))
    log::warn("run", "inline key in the configuration; prefer {file: …} (mode 0600) or {env: …}",
              {{"key", where}});
  run_hooks hooks;
  hooks.config_path = args.config;
  return run_service(*loaded, args.relay, std::move(hooks));
}

} // namespace bulwark::app

namespace bulwark::app {

int demo_command(const demo_args& args) {
  if (args.seconds < 1 || args.rate <= 0) {
    std::fprintf(stderr, "bulwark demo: --seconds must be at least 1 and --rate above 0\n");
    return bad_usage;
  }
  // The configuration the demo fleet matches (docs/loadgen.md): its signing
  // key, its system prompts, short windows so that a 30 s run shows drift.
  config::options o;
  o.kafka.properties = {{"session.timeout.ms", "6000"},
                        {"heartbeat.interval.ms", "500"},
                        {"log_level", "3"},
                        {"fetch.wait.max.ms", "10"}};
  o.integrity.keys["k1"] = {config::key_source::kind::hex, std::string(loadgen::demo_key_hex)};
  o.integrity.audit_key = "k1";
  o.integrity.require_signature = {"srv-*"};
  o.integrity.silence_after = std::chrono::seconds(8);
  o.drift.key = {"/model"};
  o.drift.window = std::chrono::seconds(2);
  o.drift.reference_windows = 3;
  o.drift.features = {{"/features/amount", config::drift_feature::type::numeric}};
  for (auto& [name, text] : loadgen::fleet::system_prompts())
    o.rules.system_prompts.push_back({name, "", text});
  const auto loaded = compile_rules(std::move(o));
  if (!loaded) return runtime_failure;

  loadgen::run_options run;
  loadgen::apply_preset("demo", run.fleet);
  run.fleet.start = wall_clock_now();
  run.rate = args.rate;
  run.seconds = args.seconds;
  std::atomic<std::uint64_t> produced{0};
  std::atomic<bool> generator_stop{false};
  std::thread generator, timer;
  std::optional<std::string> generator_error;

  run_hooks hooks;
  hooks.progress_every = 1s;
  hooks.produced = [&produced] { return produced.load(); };
  hooks.on_started = [&](const std::string& bootstrap) {
    generator = std::thread([&, bootstrap] {
      auto p =
          kafka::producer::make({{"bootstrap.servers", bootstrap}, {"log_level", "3"}}, nullptr);
      if (auto* e = std::get_if<kafka::error>(&p)) {
        generator_error = e->message;
        return;
      }
      const auto out = loadgen::run_to_kafka(
          run, std::get<kafka::producer>(p), generator_stop, {},
          [&produced](const loadgen::run_stats& st) { produced.store(st.events); });
      produced.store(out.stats.events);
      if (out.error) generator_error = out.error;
    });
    // The run ends a few seconds after the fleet stops, once the rest drained.
    timer = std::thread([&, seconds = args.seconds] {
      const auto until = clock::now() + std::chrono::seconds(seconds + 4);
      while (clock::now() < until && !stop_requested.load())
        std::this_thread::sleep_for(50ms);
      stop_requested.store(true);
    });
  };
  std::printf("bulwark demo: a simulated fleet at %.0f events/s for %d s, with every attack "
              "of SPEC §6 mixed in\n",
              args.rate, args.seconds);
  std::fflush(stdout);
  const int rc = run_service(*loaded, false, std::move(hooks));
  generator_stop.store(true);
  stop_requested.store(true);
  if (generator.joinable()) generator.join();
  if (timer.joinable()) timer.join();
  if (generator_error) {
    log::error("demo", "the fleet simulator failed", {{"error", *generator_error}});
    return runtime_failure;
  }
  log::info("demo", "the fleet is done; the summary is the \"stopped\" line above",
            {{"events_sent", produced.load()}});
  return rc;
}

} // namespace bulwark::app
