#pragma once
/// The embedded Kafka cluster: librdkafka's mock cluster (rdkafka_mock.h),
/// in-process, reachable by outside clients on 127.0.0.1 through its bootstrap
/// list. It backs `kafka.brokers: embedded` (the default) and `bulwark broker`.
///
/// Limits of the mock (librdkafka 2.0.2), which callers must respect:
///  - CreateTopics never completes: topics are created here, up front.
///  - Each partition keeps only a few MB; older records are dropped.
///  - Broker down/up works only inside this process (hence `bulwark broker`).
#include "kafka/client.hpp"

#include <memory>
#include <string>
#include <vector>

struct rd_kafka_mock_cluster_s;

namespace bulwark::kafka {

class embedded_cluster {
public:
  /// Starts `brokers` brokers (ids 1..brokers) on ephemeral loopback ports.
  static result<embedded_cluster> make(int brokers);

  /// "127.0.0.1:port,127.0.0.1:port,…"
  const std::string& bootstrap() const noexcept { return bootstrap_; }
  int brokers() const noexcept { return brokers_; }

  /// Creates `topic` with `partitions` partitions (replication = min(3, brokers)).
  /// Creating an existing topic is not an error.
  std::optional<error> create_topic(const std::string& topic, int partitions);
  /// Takes broker `id` (1-based) down / up; -1 means every broker.
  std::optional<error> set_down(int id);
  std::optional<error> set_up(int id);
  /// Delays every response of broker `id` by `rtt_ms` (0: none): a slow broker.
  std::optional<error> set_rtt(int id, int rtt_ms);
  /// The next `count` Produce requests fail with `code` (an rd_kafka_resp_err_t),
  /// retriable codes exercise the producer's retries.
  void fail_produce_requests(std::size_t count, int code);
  /// The next `count` OffsetCommit requests fail with `code`.
  void fail_offset_commits(std::size_t count, int code);

private:
  struct owner;
  embedded_cluster(std::unique_ptr<owner> o, std::string bootstrap, int brokers);
  std::unique_ptr<owner> owner_;
  std::string bootstrap_;
  int brokers_ = 0;

public:
  embedded_cluster(embedded_cluster&&) noexcept;
  embedded_cluster& operator=(embedded_cluster&&) noexcept;
  ~embedded_cluster();
};

} // namespace bulwark::kafka
