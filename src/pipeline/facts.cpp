#include "pipeline/facts.hpp"

#include <algorithm>
#include <cstring>

namespace bulwark::pipeline {

fact_spec::fact_spec(const config::options& opts) {
  const auto add = [this](const std::string& pointer, std::size_t index) {
    const std::size_t len = std::min<std::size_t>(pointer.size(), 63);
    lengths_ |= std::uint64_t{1} << len;
    std::vector<wanted>& bucket = by_length_[len];
    auto it = std::find_if(bucket.begin(), bucket.end(),
                           [&](const wanted& w) { return w.pointer == pointer; });
    if (it == bucket.end()) it = bucket.insert(bucket.end(), wanted{pointer, {}, tail_of(pointer)});
    it->slots.push_back(static_cast<std::uint16_t>(index));
  };
  pointers_.resize(fixed_slots);
  add(opts.integrity.event_time, integrity_time);
  add(opts.drift.event_time, drift_time);
  one_event_time_ = opts.integrity.event_time == opts.drift.event_time;
  const std::pair<slot, const char*> fixed[] = {{source, "/source"},
                                                {seq, "/seq"},
                                                {epoch, "/epoch"},
                                                {type, "/type"},
                                                {model, "/model"},
                                                {model_version, "/model_version"},
                                                {name, "/name"},
                                                {value, "/value"},
                                                {action, "/action"},
                                                {actor, "/actor"},
                                                {version, "/version"},
                                                {reason, "/reason"},
                                                {request_id, "/request_id"}};
  for (const auto& [s, p] : fixed) {
    pointers_[s] = p;
    add(p, s);
  }
  drift_key_begin_ = pointers_.size();
  for (const auto& k : opts.drift.key) {
    add(k, pointers_.size());
    pointers_.push_back(k);
  }
  drift_feature_begin_ = pointers_.size();
  for (const auto& f : opts.drift.features) {
    add(f.path, pointers_.size());
    pointers_.push_back(f.path);
  }
}

std::uint64_t fact_spec::tail_of(std::string_view s) noexcept {
  const std::size_t n = std::min<std::size_t>(s.size(), 8);
  std::uint64_t t = 0;
  if (n > 0) std::memcpy(&t, s.data() + s.size() - n, n);
  return t;
}

const std::vector<std::uint16_t>* fact_spec::slots_for(std::string_view pointer) const {
  // Most values are not wanted: their pointer's length already says so, and
  // else, mostly, its last bytes ("/messages/0/content" and "/output/content"
  // share a length with some wanted pointers, not an ending).
  if ((lengths_ & (std::uint64_t{1} << std::min<std::size_t>(pointer.size(), 63))) == 0)
    return nullptr;
  const std::uint64_t tail = tail_of(pointer);
  for (const wanted& w : by_length_[std::min<std::size_t>(pointer.size(), 63)])
    if (w.tail == tail && w.pointer == pointer) return &w.slots;
  return nullptr;
}

} // namespace bulwark::pipeline
