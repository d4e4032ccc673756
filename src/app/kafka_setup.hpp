#pragma once
/// Which topics `run` reads and writes, and making sure they exist.
#include "config/options.hpp"
#include "kafka/client.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace bulwark::app {

class topic_plan {
public:
  explicit topic_plan(const config::kafka_options& opts);

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
  /// docs/deployment.md explains. Inputs must exist already.
  std::optional<std::string> create_missing(const kafka::properties& props);
  /// Reads the partition counts of the sanitised topics.
  std::optional<std::string> resolve(kafka::producer& p);

private:
  config::kafka_options opts_;
  std::map<std::string, route> routes_;
};

} // namespace bulwark::app
