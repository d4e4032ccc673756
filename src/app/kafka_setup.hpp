#pragma once
/// Which topics `run` reads and writes, and making sure they exist.
#include "config/options.hpp"
#include "kafka/client.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::app {

/// Whether `run` keeps per-source integrity state on the changelog topic
/// (kafka.integrity_state_topic): a topic is named, integrity.keys are set
/// (without keys nothing is kept), and the records go through the
/// at-least-once path (not the relay, not exactly_once, whose offsets commit
/// inside transactions the changelog does not join).
bool integrity_state_enabled(const config::options& opts, bool relay);

/// The integrity changelog partitions in `partitions` of `topic`, each read
/// from its start to the high watermark it had when reading began, the last
/// value per key (a null value deletes the key): what a compacted topic
/// keeps, read the same way whether or not the cluster compacts. A consumer
/// assigned to the partitions (no group, nothing committed) does the reading.
/// An error when a partition does not exist or the cluster does not answer
/// within `wait`.
kafka::result<std::map<std::int32_t, std::map<std::string, std::string>>>
read_changelog(const kafka::properties& props, const std::string& topic,
               const std::vector<std::int32_t>& partitions, std::chrono::milliseconds wait);

class topic_plan {
public:
  /// `integrity_state`: the integrity changelog is in use (created with the
  /// others); `relay`: the bare relay, which has no stage and no fold topic.
  explicit topic_plan(const config::kafka_options& opts, bool integrity_state = false,
                      bool relay = false);

  /// Where the records of one input topic go.
  struct route {
    std::string sanitized;        ///< <input><sanitized_suffix>
    int sanitized_partitions = 0; ///< input partition p goes to p % this (0: unknown)
  };
  const route& route_for(const std::string& input) const;

  /// Inputs first, then every output topic.
  std::vector<std::string> all_topics() const;
  /// The output topics only.
  std::vector<std::string> output_topics() const;

  /// On a real cluster: creates the output topics that are missing, each
  /// sanitised topic with its input's partition count, with the topic configs
  /// docs/deployment.md explains, and the fold topics when named. Inputs must
  /// exist already. A missing integrity changelog is not created and not an
  /// error: the plan then runs without it (integrity_state(), state_problem()).
  std::optional<std::string> create_missing(const kafka::properties& props);
  /// Reads the partition counts of the sanitised topics, checks that the
  /// integrity changelog has a partition for every input partition and that
  /// the fold topic and its drift state topic exist with equal counts.
  std::optional<std::string> resolve(kafka::producer& p);

  /// kafka.fold_topic + ".state": the drift state changelog.
  std::string fold_state_topic() const { return opts_.fold_topic + ".state"; }
  /// The fold topic's partition count (after resolve(); 0: no fold topic).
  int fold_partitions() const noexcept { return fold_partitions_; }

  /// Whether the integrity changelog is in use.
  bool integrity_state() const noexcept { return integrity_state_; }
  /// Why it was dropped by create_missing ("" when it was not).
  const std::string& state_problem() const noexcept { return state_problem_; }

private:
  config::kafka_options opts_;
  bool integrity_state_ = false;
  bool relay_ = false;
  int fold_partitions_ = 0;
  std::string state_problem_;
  std::map<std::string, route> routes_;
};

} // namespace bulwark::app
