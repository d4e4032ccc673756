#pragma once
/// RAII over librdkafka (the only module that links it).
///
/// One owner per handle type: a client (`rd_kafka_t`) is destroyed by its
/// owner only, a consumer is closed (`rd_kafka_consumer_close`) before it is
/// destroyed, and a consumed message is returned to librdkafka when its
/// `message` goes out of scope. Errors are values (`error`), never exceptions:
/// every call that can fail says what failed and why.
///
/// Fallible construction follows one shape: a private constructor plus
/// `static auto make(...) -> std::variant<T, error>`.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

struct rd_kafka_s;
struct rd_kafka_topic_s;
struct rd_kafka_message_s;
struct rd_kafka_topic_partition_list_s;

namespace bulwark::kafka {

/// What failed, in words an operator can act on.
struct error {
  std::string message;
  int code = -1;                  ///< rd_kafka_resp_err_t
  bool fatal = false;             ///< the client cannot continue (idempotence/transactions)
  bool retriable = false;         ///< the same call may succeed later
  bool abort_transaction = false; ///< the transaction must be aborted and redone
};

template <class T> using result = std::variant<T, error>;

/// librdkafka configuration properties, `kafka.properties` passed through.
using properties = std::map<std::string, std::string>;

/// A topic and partition.
struct topic_partition {
  std::string topic;
  std::int32_t partition = -1;
  auto operator<=>(const topic_partition&) const = default;
};

/// An offset to commit: the next offset to consume, per Kafka convention.
struct partition_offset {
  topic_partition tp;
  std::int64_t offset = -1;
};

/// One record header; `value` is nothing for a null header value.
struct header {
  std::string_view name;
  std::optional<std::string_view> value;
};

struct client_deleter {
  void operator()(rd_kafka_s* rk) const noexcept;
};
struct message_deleter {
  void operator()(rd_kafka_message_s* m) const noexcept;
};

/// A consumed record (or a consumer event carrying an error). The views stay
/// valid while the message lives.
class message {
public:
  explicit message(rd_kafka_message_s* m) noexcept : m_(m) {}

  /// Set when this is not a record but a consumer error or event.
  std::optional<error> failure() const;
  std::string_view topic() const noexcept;
  std::int32_t partition() const noexcept;
  std::int64_t offset() const noexcept;
  /// Nothing for a null key.
  std::optional<std::string_view> key() const noexcept;
  /// Nothing for a null value (a tombstone).
  std::optional<std::string_view> value() const noexcept;
  /// Milliseconds since the epoch, or nothing when the record has none.
  std::optional<std::int64_t> timestamp() const noexcept;
  /// The record's headers, in order; empty when it has none or they are unreadable.
  std::vector<header> headers() const;

private:
  std::unique_ptr<rd_kafka_message_s, message_deleter> m_;
};

/// A record to produce. Views must stay valid during the `produce` call only
/// (librdkafka copies them).
struct outgoing {
  std::string_view topic;
  std::int32_t partition = -1; ///< -1: the partitioner picks (by key)
  std::optional<std::string_view> key;
  std::string_view value; ///< a default-constructed view (null data) sends a null value
  std::span<const header> headers;
  std::optional<std::int64_t> timestamp;
  void* token = nullptr; ///< handed back in the delivery report
};

/// The outcome of one produced record, reported once.
struct delivery {
  void* token = nullptr;
  std::optional<error> failure; ///< nothing: written and acknowledged
  std::string_view topic;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string_view> key;
  std::string_view value;      ///< valid during the callback only (for a retry)
  std::vector<header> headers; ///< valid during the callback only
};

class consumer;

/// Called on the thread that calls `producer::poll` or `flush`.
using delivery_handler = std::function<void(const delivery&)>;

enum class produce_status : std::uint8_t { queued, queue_full, failed };

/// An idempotent producer shared by every worker (thread-safe, as librdkafka is).
class producer {
public:
  /// `props` are applied over bulwark's defaults (idempotence on, acks=all,
  /// infinite message timeout so transient errors are retried, never dropped).
  static result<producer> make(const properties& props, delivery_handler on_delivery);

  /// Queues one record. `queue_full` is backpressure: poll, wait, try again.
  produce_status produce(const outgoing& record, error* why = nullptr);
  /// Serves delivery reports; returns how many were served.
  int poll(std::chrono::milliseconds wait);
  /// Waits until every queued record is reported or `wait` passes; true when all were.
  bool flush(std::chrono::milliseconds wait);
  /// Records queued or in flight.
  int pending() const noexcept;
  /// The fatal error, if the producer has one (idempotence broken).
  std::optional<error> fatal_error() const;
  /// Every topic of the cluster with its partition count.
  result<std::map<std::string, int>> list_topics(std::chrono::milliseconds wait);
  /// The partition count of `topic` from cluster metadata, or an error.
  result<int> partition_count(const std::string& topic, std::chrono::milliseconds wait);

  rd_kafka_s* handle() const noexcept { return rk_.get(); }

  /// Transactions (`transactional.id` set in the properties). Exactly-once
  /// consume-transform-produce: begin, produce, send the consumer's offsets,
  /// commit; on an error with `abort_transaction`, abort and rewind.
  std::optional<error> init_transactions(std::chrono::milliseconds wait);
  std::optional<error> begin_transaction();
  std::optional<error> send_offsets_to_transaction(const consumer& c,
                                                   const std::vector<partition_offset>& offsets,
                                                   std::chrono::milliseconds wait);
  std::optional<error> commit_transaction(std::chrono::milliseconds wait);
  std::optional<error> abort_transaction(std::chrono::milliseconds wait);

  struct state; ///< internal: what librdkafka's callbacks reach

private:
  producer(std::unique_ptr<state> s, std::unique_ptr<rd_kafka_s, client_deleter> rk);
  /// The handle of `topic`, made on first use and kept; null if none can be made.
  rd_kafka_topic_s* topic_handle(std::string_view topic);
  std::unique_ptr<state> state_; ///< must outlive rk_ (callbacks reference it)
  std::unique_ptr<rd_kafka_s, client_deleter> rk_;

public:
  producer(producer&&) noexcept;
  producer& operator=(producer&&) noexcept;
  ~producer();
};

/// What a consumer tells its owner about partition ownership. Both are called
/// inside `consumer::poll`, on the owner's thread, before ownership changes:
/// `on_revoke` must finish and commit the work of the partitions it loses.
struct rebalance_handler {
  virtual ~rebalance_handler() = default;
  virtual void on_assign(const std::vector<topic_partition>& partitions) = 0;
  virtual void on_revoke(const std::vector<topic_partition>& partitions) = 0;
  /// The broker's answer to an asynchronous commit, inside `consumer::poll`:
  /// the offsets it refused (a whole request that failed refuses all of
  /// them) with the first reason. Not called when every offset was stored.
  /// An asynchronous commit returns before the broker answers, so this is
  /// the only place its failure shows.
  virtual void on_commit_failed(const std::vector<partition_offset>& refused, const error& why) {
    (void)refused;
    (void)why;
  }
};

/// A member of a consumer group (one per worker thread).
class consumer {
public:
  /// Subscribes to `topics`. `handler` (may be null) must outlive the consumer.
  /// Auto-commit and auto offset store are off: bulwark commits what was delivered.
  static result<consumer> make(const properties& props, const std::vector<std::string>& topics,
                               rebalance_handler* handler);

  /// The next record or event, or nothing after `wait`.
  std::optional<message> poll(std::chrono::milliseconds wait);
  /// Commits the offsets (the next offsets to consume). Synchronous unless `async`.
  std::optional<error> commit(const std::vector<partition_offset>& offsets, bool async);
  /// Stops / restarts fetching for every assigned partition (backpressure).
  void pause_all();
  void resume_all();
  /// Restarts fetching for `partitions` (no effect on one that is not
  /// paused). librdkafka keeps a partition's pause across a revoke and a
  /// later assignment, so a handler resumes what it did not mean to keep paused.
  void resume(const std::vector<topic_partition>& partitions);
  std::vector<topic_partition> assignment() const;
  /// Moves the fetch positions of `partitions` back to their committed offsets
  /// (after an aborted transaction).
  std::optional<error> seek_to_committed(const std::vector<topic_partition>& partitions,
                                         std::chrono::milliseconds wait);
  /// Leaves the group (revoking what it owns); called by the destructor if not before.
  void close();
  /// The high watermark librdkafka cached from its last fetch response for
  /// the partition: a local read, no broker round trip (for lag gauges).
  /// Nothing before a fetch has answered. Safe from any thread.
  std::optional<std::int64_t> cached_high_watermark(const std::string& topic,
                                                    std::int32_t partition) const noexcept;

  rd_kafka_s* handle() const noexcept { return rk_.get(); }

  struct state; ///< internal: what librdkafka's callbacks reach

private:
  consumer(std::unique_ptr<state> s, std::unique_ptr<rd_kafka_s, client_deleter> rk);
  std::unique_ptr<state> state_;
  std::unique_ptr<rd_kafka_s, client_deleter> rk_;
  bool closed_ = false;

public:
  consumer(consumer&&) noexcept;
  consumer& operator=(consumer&&) noexcept;
  ~consumer();
};

/// Creates the topics that do not exist yet through the admin API (real
/// clusters). `configs` are topic configs applied to every new topic.
std::optional<error> create_topics(const properties& props, const std::vector<std::string>& topics,
                                   int partitions, int replication_factor,
                                   const std::map<std::string, std::string>& configs,
                                   std::chrono::milliseconds wait);

/// The value of the last data record of `topic`/`partition` (none when the
/// partition holds no record), read by a consumer that joins no group and
/// commits nothing. Reads from a few offsets before the end, so a trailing
/// transaction marker does not hide the last record. With `key`, the last
/// record with that key: the reader goes back from the end in growing steps
/// (64, 512, 4096, ... records) until it finds one or reaches the start. An
/// error when the cluster does not answer within `wait`.
result<std::optional<std::string>>
read_last_record(const properties& props, const std::string& topic, std::int32_t partition,
                 std::chrono::milliseconds wait,
                 std::optional<std::string_view> key = std::nullopt);

/// Partitions `partitions` of `topic`, each read from its start to the high
/// watermark it had when reading began, keeping the last value per key (a
/// null value deletes the key): what a compacted topic holds, read the same
/// way whether or not the cluster compacts. A consumer assigned to the
/// partitions (no group, nothing committed) does the reading. An error when a
/// partition does not exist or the cluster does not answer within `wait`.
result<std::map<std::int32_t, std::map<std::string, std::string>>>
read_compacted(const properties& props, const std::string& topic,
               const std::vector<std::int32_t>& partitions, std::chrono::milliseconds wait);

/// librdkafka's version string, e.g. "2.0.2".
std::string_view library_version() noexcept;

} // namespace bulwark::kafka
