#include "kafka/commit_tracker.hpp"

#include <algorithm>
#include <cassert>

namespace bulwark::kafka {

void partition_tracker::begin(std::int64_t offset, std::uint32_t outputs) {
  assert(outputs >= 1);
  std::lock_guard lock(mutex_);
  assert(offset > last_begun_);
  last_begun_ = offset;
  entries_.push_back({offset, outputs});
}

bool partition_tracker::delivered(std::int64_t offset) {
  std::lock_guard lock(mutex_);
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), offset,
                                   [](const entry& e, std::int64_t o) { return e.offset < o; });
  if (it == entries_.end() || it->offset != offset || it->remaining == 0) return false;
  --it->remaining;
  while (!entries_.empty() && entries_.front().remaining == 0) {
    watermark_ = entries_.front().offset + 1;
    entries_.pop_front();
  }
  return true;
}

std::optional<std::int64_t> partition_tracker::committable() {
  std::lock_guard lock(mutex_);
  if (!watermark_ || watermark_ == last_reported_) return std::nullopt;
  last_reported_ = watermark_;
  return watermark_;
}

void partition_tracker::refused(std::int64_t offset) {
  std::lock_guard lock(mutex_);
  // A later commit, sent already, supersedes a refused earlier one.
  if (last_reported_ && *last_reported_ <= offset) last_reported_.reset();
}

std::optional<std::int64_t> partition_tracker::watermark() const {
  std::lock_guard lock(mutex_);
  return watermark_;
}

std::size_t partition_tracker::in_flight() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

} // namespace bulwark::kafka
