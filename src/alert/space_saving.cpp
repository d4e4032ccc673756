#include "alert/space_saving.hpp"

#include <algorithm>
#include <cassert>

namespace bulwark::alert {

space_saving::space_saving(std::size_t capacity, std::size_t max_key_bytes)
    : capacity_(std::max<std::size_t>(capacity, 1)), max_key_bytes_(max_key_bytes) {
  items_.reserve(capacity_);
  heap_.reserve(capacity_);
  pos_.reserve(capacity_);
  index_.reserve(capacity_);
}

void space_saving::swap_heap(std::size_t a, std::size_t b) noexcept {
  std::swap(heap_[a], heap_[b]);
  pos_[heap_[a]] = static_cast<std::uint32_t>(a);
  pos_[heap_[b]] = static_cast<std::uint32_t>(b);
}

void space_saving::sift_up(std::size_t at) noexcept {
  while (at > 0) {
    const std::size_t parent = (at - 1) / 2;
    if (!less(at, parent)) return;
    swap_heap(at, parent);
    at = parent;
  }
}

void space_saving::sift_down(std::size_t at) noexcept {
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t l = 2 * at + 1;
    const std::size_t r = l + 1;
    std::size_t smallest = at;
    if (l < n && less(l, smallest)) smallest = l;
    if (r < n && less(r, smallest)) smallest = r;
    if (smallest == at) return;
    swap_heap(at, smallest);
    at = smallest;
  }
}

void space_saving::add(std::string_view key, std::uint64_t n) {
  assert(key.size() <= max_key_bytes_);
  total_ += n;
  if (const auto it = index_.find(key); it != index_.end()) {
    items_[it->second].count += n;
    sift_down(pos_[it->second]); // a larger count moves away from the root
    return;
  }
  if (items_.size() < capacity_) {
    const auto slot = static_cast<std::uint32_t>(items_.size());
    items_.push_back(item{std::string(key), n, 0});
    index_.emplace(std::string(key), slot);
    heap_.push_back(slot);
    pos_.push_back(static_cast<std::uint32_t>(heap_.size() - 1));
    sift_up(heap_.size() - 1);
    return;
  }
  // Full: the key with the smallest count (the heap's root) gives up its
  // slot; the newcomer inherits that count as its possible overestimate.
  const std::uint32_t slot = heap_[0];
  item& victim = items_[slot];
  index_.erase(victim.key);
  saturated_ = true;
  victim.error = victim.count;
  victim.count += n;
  victim.key.assign(key);
  index_.emplace(victim.key, slot);
  sift_down(0);
}

void space_saving::merge(const space_saving& other) {
  for (const item& it : other.items_) {
    add(it.key, it.count);
    // The added count may itself be an overestimate by other's error.
    if (const auto found = index_.find(std::string_view{it.key}); found != index_.end())
      items_[found->second].error += it.error;
  }
  // Counts in a Space-Saving table sum to its total, so total_ has grown by
  // exactly other.total() through add().
  saturated_ = saturated_ || other.saturated_;
}

std::vector<space_saving::item> space_saving::top(std::size_t n) const {
  std::vector<item> out = items_;
  const auto order = [](const item& a, const item& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  };
  const std::size_t k = std::min(n, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(k), out.end(), order);
  out.resize(k);
  return out;
}

void space_saving::clear() {
  items_.clear();
  heap_.clear();
  pos_.clear();
  index_.clear();
  total_ = 0;
  saturated_ = false;
}

std::size_t space_saving::memory_bytes() const noexcept {
  // Slots are reserved up front; each key may hold up to max_key_bytes_ of
  // heap beyond the small-string buffer, twice (slot and index).
  const std::size_t per_key = 2 * (max_key_bytes_ + 1);
  const std::size_t map_node =
      sizeof(void*) + sizeof(std::string) + sizeof(std::uint32_t) + sizeof(std::size_t);
  return sizeof(*this) + capacity_ * (sizeof(item) + 2 * sizeof(std::uint32_t) + map_node +
                                      sizeof(void*) + per_key);
}

} // namespace bulwark::alert
