#pragma once
/// Space-Saving heavy hitters (Metwally, Agrawal, El Abbadi 2005): the top
/// keys of a stream in fixed memory, whatever the number of distinct keys an
/// attacker sends. With capacity k over a stream of N additions, every key
/// seen more than N/k times is held, and each held count c with error e
/// brackets the true count t as c - e <= t <= c.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bulwark::alert {

/// Fixed-capacity heavy-hitter counter over string keys.
class space_saving {
public:
  /// One tracked key: `count` overestimates the true count by at most `error`.
  struct item {
    std::string key;
    std::uint64_t count = 0;
    std::uint64_t error = 0;
  };

  /// Holds at most `capacity` keys (at least 1); keys longer than `max_key_bytes`
  /// must not be added (the caller bounds them), so memory is fixed.
  explicit space_saving(std::size_t capacity, std::size_t max_key_bytes = 80);

  /// Counts `n` more occurrences of `key`. When the table is full and `key`
  /// is new, it replaces the key with the smallest count and inherits that
  /// count as its error.
  void add(std::string_view key, std::uint64_t n = 1);

  /// Adds every item of `other` (counts and errors), e.g. to join two windows.
  void merge(const space_saving& other);

  /// The `n` largest counts, largest first; ties by key for a stable order.
  std::vector<item> top(std::size_t n) const;

  /// Occurrences added since the last clear (exact).
  std::uint64_t total() const noexcept { return total_; }
  /// Whether a key was ever replaced, i.e. counts may be overestimates.
  bool saturated() const noexcept { return saturated_; }
  std::size_t size() const noexcept { return items_.size(); }
  std::size_t capacity() const noexcept { return capacity_; }

  void clear();

  /// Bytes held, counting reserved capacity (constant after construction).
  std::size_t memory_bytes() const noexcept;

private:
  void sift_up(std::size_t at) noexcept;
  void sift_down(std::size_t at) noexcept;
  void swap_heap(std::size_t a, std::size_t b) noexcept;
  bool less(std::size_t a, std::size_t b) const noexcept {
    return items_[heap_[a]].count < items_[heap_[b]].count;
  }

  std::size_t capacity_;
  std::size_t max_key_bytes_;
  std::vector<item> items_;         ///< slots; a slot keeps its place while its key changes
  std::vector<std::uint32_t> heap_; ///< slots as a min-heap by count: the victim is heap_[0]
  std::vector<std::uint32_t> pos_;  ///< slot → its position in heap_
  /// Transparent hash so lookups by string_view do not allocate.
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const noexcept {
      return std::hash<std::string_view>{}(k);
    }
  };
  std::unordered_map<std::string, std::uint32_t, key_hash, std::equal_to<>> index_; ///< key → slot
  std::uint64_t total_ = 0;
  bool saturated_ = false;
};

} // namespace bulwark::alert
