#include "kafka/embedded.hpp"

#include "kafka/logging.hpp"

#include <algorithm>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace bulwark::kafka {

/// The mock cluster needs a client instance for its book-keeping; it is
/// destroyed after the cluster.
struct embedded_cluster::owner {
  std::unique_ptr<rd_kafka_s, client_deleter> rk;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~owner() {
    if (cluster != nullptr) rd_kafka_mock_cluster_destroy(cluster);
  }
};

embedded_cluster::embedded_cluster(std::unique_ptr<owner> o, std::string bootstrap, int brokers)
    : owner_(std::move(o)), bootstrap_(std::move(bootstrap)), brokers_(brokers) {}
embedded_cluster::embedded_cluster(embedded_cluster&&) noexcept = default;
embedded_cluster& embedded_cluster::operator=(embedded_cluster&&) noexcept = default;
embedded_cluster::~embedded_cluster() = default;

result<embedded_cluster> embedded_cluster::make(int brokers) {
  if (brokers < 1) return error{"embedded cluster: at least one broker"};
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  route_logs(conf); // the mock brokers log through this handle
  char reason[512];
  // The book-keeping client must not try to reach any broker by itself.
  rd_kafka_conf_set(conf, "bootstrap.servers", "", reason, sizeof reason);
  rd_kafka_conf_set(conf, "log_level", "3", reason, sizeof reason);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return error{std::string("embedded cluster: ") + reason};
  }
  auto o = std::make_unique<owner>();
  o->rk.reset(rk);
  o->cluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (o->cluster == nullptr) return error{"embedded cluster: could not start the mock brokers"};
  std::string bootstrap = rd_kafka_mock_cluster_bootstraps(o->cluster);
  return embedded_cluster(std::move(o), std::move(bootstrap), brokers);
}

std::optional<error> embedded_cluster::create_topic(const std::string& topic, int partitions) {
  const int replication = std::min(3, brokers_);
  const rd_kafka_resp_err_t code =
      rd_kafka_mock_topic_create(owner_->cluster, topic.c_str(), partitions, replication);
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR && code != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
    return error{"embedded cluster: create topic " + topic + ": " + rd_kafka_err2str(code), code};
  return std::nullopt;
}

std::optional<error> embedded_cluster::set_down(int id) {
  const rd_kafka_resp_err_t code = rd_kafka_mock_broker_set_down(owner_->cluster, id);
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
    return error{"broker " + std::to_string(id) + " down: " + rd_kafka_err2str(code), code};
  return std::nullopt;
}

std::optional<error> embedded_cluster::set_rtt(int id, int rtt_ms) {
  const rd_kafka_resp_err_t code = rd_kafka_mock_broker_set_rtt(owner_->cluster, id, rtt_ms);
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
    return error{"broker " + std::to_string(id) + " rtt: " + rd_kafka_err2str(code), code};
  return std::nullopt;
}

std::optional<error> embedded_cluster::set_up(int id) {
  const rd_kafka_resp_err_t code = rd_kafka_mock_broker_set_up(owner_->cluster, id);
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR)
    return error{"broker " + std::to_string(id) + " up: " + rd_kafka_err2str(code), code};
  return std::nullopt;
}

void embedded_cluster::fail_produce_requests(std::size_t count, int code) {
  std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(code));
  rd_kafka_mock_push_request_errors_array(owner_->cluster, 0 /* Produce */, count, errors.data());
}

void embedded_cluster::fail_offset_commits(std::size_t count, int code) {
  std::vector<rd_kafka_resp_err_t> errors(count, static_cast<rd_kafka_resp_err_t>(code));
  rd_kafka_mock_push_request_errors_array(owner_->cluster, 8 /* OffsetCommit */, count,
                                          errors.data());
}

} // namespace bulwark::kafka
