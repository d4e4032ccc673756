#pragma once
/// The fold topic (kafka.fold_topic, docs/deployment.md "Several instances"):
/// what one instance hands to the instance that owns a fleet-wide view.
///
///   stage (any instance) ── drift values of a trusted event, keyed "d/<drift key>"
///                        └─ a non-critical alert occurrence, keyed "a"
///        ─▶ fold topic, partition fold_partition(key)
///        ─▶ the one member of group `<group_id>.fold` holding that partition
///           observes the values / submits the alert, as a single instance would.
///
/// Records are bulwark's own JSON; a record that does not decode is refused
/// with a reason (the topic is internal, but what is read is still checked).
#include "core/alert_request.hpp"
#include "core/time.hpp"
#include "drift/monitor.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::pipeline::fold {

/// The key every alert occurrence is folded under: one partition, so one
/// instance folds, budgets and watches floods for the whole fleet.
inline constexpr std::string_view alert_key = "a";
/// The fold key of a drift key.
std::string drift_fold_key(std::string_view drift_key);
/// The drift key of a fold key made by drift_fold_key, or nothing.
std::optional<std::string_view> drift_key_of(std::string_view fold_key) noexcept;

/// The partition of `key` among `partitions` (> 0): FNV-1a 64 over its bytes.
/// Fixed here, not left to a client's partitioner, so the drift state
/// changelog (same partition count) puts a key where its values go.
std::int32_t partition_of(std::string_view key, std::int32_t partitions) noexcept;

/// The drift inputs of one event, as forwarded.
struct drift_values {
  std::string key;   ///< the joined drift key
  std::string model; ///< its first field
  timestamp_ms at = 0;
  std::uint64_t ref = 0; ///< the stage's input ref id (same input topics everywhere)
  struct feature {
    drift::feature_value::kind type = drift::feature_value::kind::missing;
    double number = 0;
    std::string text;
  };
  std::vector<feature> features;
  /// The values as drift::monitor::observe takes them (views into this).
  void values(std::vector<drift::feature_value>& out) const;
};

std::string encode(std::string_view key, std::string_view model, timestamp_ms at, std::uint64_t ref,
                   std::span<const drift::feature_value> values);
std::string encode(const alert_request& r);

/// A decoded record, or why it was refused. `features`: the configured
/// feature count (a drift record with another count is refused).
std::variant<drift_values, alert_request, std::string> decode(std::string_view value,
                                                              std::size_t features);

} // namespace bulwark::pipeline::fold
