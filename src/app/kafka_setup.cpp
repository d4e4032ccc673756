#include "app/kafka_setup.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

namespace bulwark::app {

using namespace std::chrono_literals;

bool integrity_state_enabled(const config::options& opts, bool relay) {
  return !relay && !opts.kafka.exactly_once && !opts.kafka.integrity_state_topic.empty() &&
         !opts.integrity.keys.empty();
}

kafka::result<std::map<std::int32_t, std::map<std::string, std::string>>>
read_changelog(const kafka::properties& props, const std::string& topic,
               const std::vector<std::int32_t>& partitions, std::chrono::milliseconds wait) {
  kafka::properties p = props;
  p.try_emplace("log_level", "3"); // producer-only properties are ignored with a notice
  return kafka::read_compacted(p, topic, partitions, wait);
}

topic_plan::topic_plan(const config::kafka_options& opts, bool integrity_state, bool relay)
    : opts_(opts), integrity_state_(integrity_state), relay_(relay) {
  for (const auto& in : opts_.inputs)
    routes_[in] = route{in + opts_.sanitized_suffix, 0};
}

const topic_plan::route& topic_plan::route_for(const std::string& input) const {
  static const route none{};
  const auto it = routes_.find(input);
  return it == routes_.end() ? none : it->second;
}

std::vector<std::string> topic_plan::output_topics() const {
  std::vector<std::string> out;
  for (const auto& [in, r] : routes_)
    out.push_back(r.sanitized);
  for (const auto* t :
       {&opts_.alerts_topic, &opts_.audit_topic, &opts_.dlq_topic, &opts_.quarantine_topic})
    out.push_back(*t);
  if (integrity_state_) out.push_back(opts_.integrity_state_topic);
  if (!relay_ && !opts_.fold_topic.empty()) {
    out.push_back(opts_.fold_topic);
    out.push_back(fold_state_topic());
  }
  return out;
}

std::vector<std::string> topic_plan::all_topics() const {
  std::vector<std::string> out = opts_.inputs;
  for (auto& t : output_topics())
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(std::move(t));
  return out;
}

std::optional<std::string> topic_plan::create_missing(const kafka::properties& props) {
  auto p = kafka::producer::make(props, nullptr);
  if (auto* e = std::get_if<kafka::error>(&p)) return e->message;
  auto listed = std::get<kafka::producer>(p).list_topics(15s);
  if (auto* e = std::get_if<kafka::error>(&listed)) return e->message;
  const auto& existing = std::get<std::map<std::string, int>>(listed);
  int widest = 1;
  for (auto& [in, r] : routes_) {
    const auto it = existing.find(in);
    if (it == existing.end())
      return "input topic " + in + " does not exist; bulwark creates its outputs, never its inputs";
    widest = std::max(widest, it->second);
    // -1: the broker's default replication factor.
    if (!existing.contains(r.sanitized))
      if (auto err = kafka::create_topics(props, {r.sanitized}, it->second, -1, {}, 30s))
        return err->message;
  }
  // Records that must survive an insider: audit kept forever, DLQ and
  // quarantine long enough to investigate, alerts a month.
  const std::pair<const std::string*, std::map<std::string, std::string>> others[] = {
      {&opts_.audit_topic, {{"retention.ms", "-1"}, {"cleanup.policy", "delete"}}},
      {&opts_.dlq_topic, {{"retention.ms", "1209600000"}}},
      {&opts_.quarantine_topic, {{"retention.ms", "1209600000"}}},
      {&opts_.alerts_topic, {{"retention.ms", "2592000000"}}},
  };
  for (const auto& [topic, configs] : others)
    if (!existing.contains(*topic))
      if (auto err = kafka::create_topics(props, {*topic}, widest, -1, configs, 30s))
        return err->message;
  // The fold topic is named on purpose (several instances): made when
  // missing, with as many partitions as the widest input so that its keys
  // spread over as many instances as the inputs can. Its records matter
  // only until their owner has taken them; the drift state is compacted.
  if (!relay_ && !opts_.fold_topic.empty()) {
    const std::string state = fold_state_topic();
    const bool have_fold = existing.contains(opts_.fold_topic);
    const bool have_state = existing.contains(state);
    int fold_partitions = widest;
    if (have_fold)
      fold_partitions = existing.at(opts_.fold_topic);
    else if (have_state)
      fold_partitions = existing.at(state);
    if (!have_fold)
      if (auto err = kafka::create_topics(props, {opts_.fold_topic}, fold_partitions, -1,
                                          {{"retention.ms", "86400000"}}, 30s))
        return err->message;
    if (!have_state)
      if (auto err = kafka::create_topics(props, {state}, fold_partitions, -1,
                                          {{"cleanup.policy", "compact"}}, 30s))
        return err->message;
  }
  // The integrity changelog is not created here: a cluster that does not
  // answer CreateTopics (`bulwark broker`, the librdkafka mock) would hold the
  // start-up for the whole wait. Without it the service runs as before
  // (docs/deployment.md §5) and says so; the operator creates it compacted,
  // with one partition per input partition.
  if (integrity_state_ && !existing.contains(opts_.integrity_state_topic)) {
    integrity_state_ = false;
    state_problem_ = "the topic does not exist";
  }
  return std::nullopt;
}

std::optional<std::string> topic_plan::resolve(kafka::producer& p) {
  for (auto& [in, r] : routes_) {
    auto count = p.partition_count(r.sanitized, 10s);
    if (auto* e = std::get_if<kafka::error>(&count))
      return "output topic " + r.sanitized + ": " + e->message;
    r.sanitized_partitions = std::get<int>(count);
  }
  if (!relay_ && !opts_.fold_topic.empty()) {
    auto fold = p.partition_count(opts_.fold_topic, 10s);
    if (auto* e = std::get_if<kafka::error>(&fold))
      return "fold topic " + opts_.fold_topic + " (kafka.fold_topic): " + e->message;
    const std::string state_topic = fold_state_topic();
    auto state = p.partition_count(state_topic, 10s);
    if (auto* e = std::get_if<kafka::error>(&state))
      return "drift state topic " + state_topic + " (kafka.fold_topic + .state): " + e->message;
    if (std::get<int>(state) != std::get<int>(fold))
      return "drift state topic " + state_topic + " has " + std::to_string(std::get<int>(state)) +
             " partitions and fold topic " + opts_.fold_topic + " " +
             std::to_string(std::get<int>(fold)) +
             ": give them the same count (a key's state lives in the partition of its values)";
    fold_partitions_ = std::get<int>(fold);
  }
  if (!integrity_state_) return std::nullopt;
  auto state = p.partition_count(opts_.integrity_state_topic, 10s);
  if (auto* e = std::get_if<kafka::error>(&state))
    return "integrity state topic " + opts_.integrity_state_topic + ": " + e->message;
  for (const auto& in : opts_.inputs) {
    auto count = p.partition_count(in, 10s);
    if (auto* e = std::get_if<kafka::error>(&count)) return "input topic " + in + ": " + e->message;
    if (std::get<int>(count) > std::get<int>(state))
      return "integrity state topic " + opts_.integrity_state_topic + " has " +
             std::to_string(std::get<int>(state)) + " partitions, fewer than input " + in + " (" +
             std::to_string(std::get<int>(count)) +
             "): give it as many, or set kafka.integrity_state_topic to a new topic";
  }
  return std::nullopt;
}

} // namespace bulwark::app
