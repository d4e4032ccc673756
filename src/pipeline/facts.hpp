#pragma once
/// The fields of an event that the stateful detectors (integrity, drift,
/// alerts, audit) need, captured during the walk the processor makes anyway,
/// and owned, so a later stage can use them after the worker moved on.
#include "config/options.hpp"
#include "core/verdict.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::pipeline {

/// Which JSON pointers to capture: SPEC §3 fields at fixed slots, then the
/// configured drift key and feature pointers.
class fact_spec {
public:
  enum slot : std::uint8_t {
    integrity_time, ///< integrity.event_time
    drift_time,     ///< drift.event_time
    source,
    seq,
    epoch,
    type,
    model,
    model_version,
    name,
    value,
    action,
    actor,
    version,
    reason,
    request_id,
    fixed_slots
  };
  explicit fact_spec(const config::options& opts);

  std::size_t size() const noexcept { return pointers_.size(); }
  /// The slots a pointer fills (one pointer may feed several: /ts is both times).
  const std::vector<std::uint16_t>* slots_for(std::string_view pointer) const;
  std::size_t drift_key_slot(std::size_t i) const noexcept { return drift_key_begin_ + i; }
  /// True when integrity and drift read their event time from the same
  /// pointer (the default, /ts): then the two slots always hold the same value.
  bool one_event_time() const noexcept { return one_event_time_; }
  std::size_t drift_feature_slot(std::size_t i) const noexcept { return drift_feature_begin_ + i; }

private:
  struct wanted {
    std::string pointer;
    std::vector<std::uint16_t> slots;
    std::uint64_t tail = 0; ///< its last (up to) 8 bytes: most misses differ there
  };
  /// The last (up to) 8 bytes of `s` as one word.
  static std::uint64_t tail_of(std::string_view s) noexcept;
  std::vector<std::string> pointers_;
  /// The wanted pointers by length (the last bucket: 63 bytes and longer). A
  /// handful per length, so a lookup is a few compares and no hashing: it
  /// runs for every value of every event.
  std::array<std::vector<wanted>, 64> by_length_;
  std::uint64_t lengths_ = 0; ///< bit n: some wanted pointer has length n (n < 63); bit 63: longer
  bool one_event_time_ = false;
  std::size_t drift_key_begin_ = 0;
  std::size_t drift_feature_begin_ = 0;
};

/// One captured value.
struct fact {
  enum class kind : std::uint8_t { absent, string, number, boolean, null, other } k = kind::absent;
  std::string text; ///< a string's unescaped text, a number's literal
  bool flag = false;
  bool is_string() const noexcept { return k == kind::string; }
  bool is_number() const noexcept { return k == kind::number; }
};

/// A finding as alerts see it.
struct finding_summary {
  std::string_view rule; ///< the rule id (owned by the ruleset, which outlives the run)
  category cat;
  std::uint32_t count;
};

/// What the worker hands to the stateful stage for one record.
struct record_facts {
  bool parsed = false; ///< a JSON object was walked (not rejected)
  verdict v = verdict::clean;
  std::string_view reason;  ///< rejection reason
  std::vector<fact> fields; ///< indexed by fact_spec slots
  std::vector<finding_summary> findings;
  std::string findings_json; ///< the `"findings":[…]` array body, for a re-annotation
  std::size_t body_size = 0; ///< output bytes before `,"_bulwark"` (0: no annotation)

  void reset(std::size_t slots) {
    parsed = false;
    v = verdict::clean;
    reason = {};
    fields.resize(slots);
    for (auto& f : fields) {
      f.k = fact::kind::absent;
      f.text.clear();
    }
    findings.clear();
    findings_json.clear();
    body_size = 0;
  }
  const fact& at(std::size_t slot) const { return fields[slot]; }
};

} // namespace bulwark::pipeline
