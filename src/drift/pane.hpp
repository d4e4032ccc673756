#pragma once
/// The state of one (key, feature) over one event-time pane, or over any union
/// of panes: counts per reference slot, and integer sums of the quantised u and
/// u². Everything is an integer, so merging is exact, associative and
/// commutative: two workers' panes merged equal the single-stream pane, and a
/// window at any scale is the sum of its panes.
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "drift/json_reader.hpp"
#include "drift/settings.hpp"

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bulwark::drift {

/// Bottom-k sketch of the distinct values seen outside a categorical table:
/// the k smallest 64-bit hashes (the first 8 bytes of their SHA-256). The
/// union of two sketches' bottom k is the bottom k of the union, so merging
/// is exact, and the k-th smallest hash estimates how many distinct values
/// there were once there are more than k.
class category_sketch {
public:
  static constexpr std::size_t k = 8;

  /// Adds one hash (repeats change nothing).
  void add(std::uint64_t hash) noexcept;
  /// The bottom k of both sketches together.
  void merge(const category_sketch& other) noexcept;
  /// Forgets every hash.
  void clear() noexcept { size_ = 0; }
  /// How many hashes are kept (at most k).
  std::size_t size() const noexcept { return size_; }
  /// The i-th smallest hash kept.
  std::uint64_t operator[](std::size_t i) const noexcept { return hashes_[i]; }
  /// Exact below k values; the KMV estimate (k - 1) / (h_k / 2^64) from k on.
  double distinct() const noexcept;
  /// True once k hashes are kept: distinct() is an estimate.
  bool saturated() const noexcept { return size_ == k; }
  /// Same hashes kept.
  bool operator==(const category_sketch& o) const noexcept;

private:
  std::array<std::uint64_t, k> hashes_{};
  std::size_t size_ = 0;
};

/// The 64-bit sketch hash of a category (first 8 bytes of SHA-256, big endian).
std::uint64_t category_hash(std::string_view category);

/// Pane state (see the file comment).
struct pane {
  std::vector<std::uint64_t> slots; ///< counts per reference slot
  std::uint64_t u_n = 0;            ///< values with a u
  std::uint64_t u_sum = 0;          ///< Σ u, in units of 1/u_scale
  std::uint64_t u_sum_sq = 0;       ///< Σ u², in units of 1/u_scale²
  /// The event with the greatest (event time, ref id): "the last event".
  timestamp_ms last_time = std::numeric_limits<timestamp_ms>::min();
  std::uint64_t last_ref = 0;
  category_sketch novel; ///< categorical: values outside the table

  /// An empty pane without slots (a placeholder before activation).
  pane() = default;
  /// An empty pane for a reference with `slot_count` slots.
  explicit pane(std::size_t slot_count) : slots(slot_count, 0) {}

  /// Values in the pane, nulls included.
  std::uint64_t total() const noexcept;
  /// No values at all.
  bool empty() const noexcept { return total() == 0; }
  /// Back to empty, keeping the slot count (no allocation).
  void clear() noexcept;
  /// Adds `other` (same slot count) into this pane.
  void merge(const pane& other) noexcept;
  /// Remembers (t, ref) if it is later than the last event noted.
  void note(timestamp_ms t, std::uint64_t ref) noexcept;
  /// Heap and inline bytes this pane occupies.
  std::size_t bytes() const noexcept;
  /// Identical state, field by field.
  bool operator==(const pane& o) const noexcept;
};

/// Writes a pane as one JSON object (counters as exact integers).
void write_pane(json_writer& w, const pane& p);

/// Reads what write_pane wrote; the slot count must be `slot_count`.
std::variant<pane, error> read_pane(const json::value& v, std::size_t slot_count);

} // namespace bulwark::drift
